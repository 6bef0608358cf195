/* fs.h — the FUSE operations: path -> object, errno mapping, nothing else.
 *
 * No HTTP and no JSON field names here: every answer comes from tasks.h,
 * inbox.h or stream.h. See README.md for the tree.
 */
#ifndef SEEDANCEFS_FS_H
#define SEEDANCEFS_FS_H

#include "config.h"
#include "inbox.h"
#include "outbox.h"
#include "stream.h"
#include "tasks.h"

#include <fuse.h>

/* What the handlers reach through fuse_get_context()->private_data. */
struct fs_context {
    const struct config *cfg;
    tasks *tasks;
    inbox *inbox;
    outbox *outbox;
    stream *stream;
    time_t mount_time;
};

/* The operation table to hand to fuse_main with a struct fs_context. The
 * poller, submitter and downloader start in init (after libfuse has
 * daemonized) and stop in destroy. */
const struct fuse_operations *fs_operations(void);

#endif
