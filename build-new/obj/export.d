build-new/obj/export.o: src/export.c include/export.h include/store.h \
 include/stream.h include/tasks.h include/api.h include/config.h \
 include/http.h include/status.h include/clock.h include/log.h \
 include/names.h include/strmap.h
include/export.h:
include/store.h:
include/stream.h:
include/tasks.h:
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/clock.h:
include/log.h:
include/names.h:
include/strmap.h:
