build-new/obj/tasks.o: src/tasks.c src/tasks_internal.h \
 include/id_queue.h include/strmap.h include/tasks.h include/api.h \
 include/config.h include/http.h include/status.h include/store.h \
 include/clock.h include/names.h include/log.h include/store.h
src/tasks_internal.h:
include/id_queue.h:
include/strmap.h:
include/tasks.h:
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/store.h:
include/clock.h:
include/names.h:
include/log.h:
include/store.h:
