build-new/obj/fs.o: src/fs.c src/fs_internal.h include/events.h \
 include/status.h include/fs.h include/tree.h include/assets.h \
 include/api.h include/config.h include/http.h include/profile.h \
 include/store.h include/inbox.h include/outbox.h include/tasks.h \
 include/task_body.h include/report.h include/stream.h include/id_queue.h \
 include/names.h include/nodes.h /usr/include/fuse3/fuse_lowlevel.h \
 /usr/include/fuse3/fuse_common.h /usr/include/fuse3/libfuse_config.h \
 /usr/include/fuse3/fuse_opt.h /usr/include/fuse3/fuse_log.h \
 include/log.h include/mount_tune.h
src/fs_internal.h:
include/events.h:
include/status.h:
include/fs.h:
include/tree.h:
include/assets.h:
include/api.h:
include/config.h:
include/http.h:
include/profile.h:
include/store.h:
include/inbox.h:
include/outbox.h:
include/tasks.h:
include/task_body.h:
include/report.h:
include/stream.h:
include/id_queue.h:
include/names.h:
include/nodes.h:
/usr/include/fuse3/fuse_lowlevel.h:
/usr/include/fuse3/fuse_common.h:
/usr/include/fuse3/libfuse_config.h:
/usr/include/fuse3/fuse_opt.h:
/usr/include/fuse3/fuse_log.h:
include/log.h:
include/mount_tune.h:
