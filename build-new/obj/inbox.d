build-new/obj/inbox.o: src/inbox.c include/inbox.h include/outbox.h \
 include/api.h include/config.h include/http.h include/status.h \
 include/store.h include/tasks.h include/task_body.h include/names.h \
 include/log.h include/strmap.h
include/inbox.h:
include/outbox.h:
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/store.h:
include/tasks.h:
include/task_body.h:
include/names.h:
include/log.h:
include/strmap.h:
