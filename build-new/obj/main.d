build-new/seedancefs: src/main.c include/api.h include/config.h \
 include/http.h include/status.h include/assets.h include/api.h \
 include/profile.h include/store.h include/clock.h include/config.h \
 include/daemon.h include/export.h include/stream.h include/tasks.h \
 include/fs.h include/tree.h include/assets.h include/inbox.h \
 include/outbox.h include/task_body.h include/report.h include/http.h \
 include/hup.h include/inbox.h include/log.h include/outbox.h \
 include/secret.h include/service.h include/store.h include/stream.h \
 include/tasks.h
include/api.h:
include/config.h:
include/http.h:
include/status.h:
include/assets.h:
include/api.h:
include/profile.h:
include/store.h:
include/clock.h:
include/config.h:
include/daemon.h:
include/export.h:
include/stream.h:
include/tasks.h:
include/fs.h:
include/tree.h:
include/assets.h:
include/inbox.h:
include/outbox.h:
include/task_body.h:
include/report.h:
include/http.h:
include/hup.h:
include/inbox.h:
include/log.h:
include/outbox.h:
include/secret.h:
include/service.h:
include/store.h:
include/stream.h:
include/tasks.h:
