build-new/obj/tree.o: src/tree.c include/tree.h include/assets.h \
 include/api.h include/config.h include/http.h include/status.h \
 include/profile.h include/store.h include/inbox.h include/outbox.h \
 include/tasks.h include/task_body.h include/report.h include/stream.h \
 src/tree_internal.h include/names.h include/log.h
include/tree.h:
include/assets.h:
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/profile.h:
include/store.h:
include/inbox.h:
include/outbox.h:
include/tasks.h:
include/task_body.h:
include/report.h:
include/stream.h:
src/tree_internal.h:
include/names.h:
include/log.h:
