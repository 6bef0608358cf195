build-new/obj/report.o: src/report.c include/report.h include/outbox.h \
 include/api.h include/config.h include/http.h include/status.h \
 include/store.h include/tasks.h include/stream.h include/api.h
include/report.h:
include/outbox.h:
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/store.h:
include/tasks.h:
include/stream.h:
include/api.h:
