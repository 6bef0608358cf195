build-new/obj/tasks_import.o: src/tasks_import.c src/tasks_internal.h \
 include/id_queue.h include/strmap.h include/tasks.h include/api.h \
 include/config.h include/http.h include/status.h include/store.h \
 include/log.h
src/tasks_internal.h:
include/id_queue.h:
include/strmap.h:
include/tasks.h:
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/store.h:
include/log.h:
