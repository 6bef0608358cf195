build-new/obj/outbox.o: src/outbox.c include/outbox.h include/api.h \
 include/config.h include/http.h include/status.h include/store.h \
 include/tasks.h include/clock.h include/log.h include/strmap.h
include/outbox.h:
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/store.h:
include/tasks.h:
include/clock.h:
include/log.h:
include/strmap.h:
