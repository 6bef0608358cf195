/* tree.h — the tree users see, by path: what exists, what it holds, and
 * what writes to it do. No FUSE types: fs.c adapts these to the kernel.
 * Every function returns 0 (or a byte count) or a negative errno.
 */
#ifndef SEEDANCEFS_TREE_H
#define SEEDANCEFS_TREE_H

#include "assets.h"
#include "config.h"
#include "inbox.h"
#include "outbox.h"
#include "report.h"
#include "stream.h"
#include "tasks.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>

/* What the tree is built from. */
struct fs_context {
    const struct config *cfg;
    tasks *tasks;
    inbox *inbox;
    outbox *outbox;
    stream *stream;
    assets *assets;
    report *report;             /* the STATUS file */
    time_t mount_time;
    /* Set by main.c, which owns the background threads; fs.c calls them
     * once the kernel is connected (after the fork) and at unmount.
     * start returns 0 or -errno: a failure ends the session (exit 1). */
    int (*start_threads)(struct fs_context *c);
    void (*stop_threads)(struct fs_context *c);
};

/* How an opened file must be served. */
enum tree_open_kind {
    TREE_OPEN_DIRECT,       /* changes under the reader: no page cache */
    TREE_OPEN_KEEP,         /* immutable: keep the page cache across opens */
    TREE_OPEN_WAIT,         /* tasks/<id>/wait, pending/NAME/wait: read blocks until final */
    TREE_OPEN_EVENTS,       /* events: a stream of lines from open on */
};

typedef void (*tree_add_fn)(const char *name, mode_t type, void *arg);

void tree_init(struct fs_context *c);

/* *stable: the answer cannot change without an explicit invalidation, so
 * the kernel may cache it long (finished tasks, README). -EINPROGRESS for
 * the video.mp4 of a task made elsewhere while its size is being learned
 * (never waits: the caller parks the lookup until the tasks' sized hook,
 * then asks again); -EIO (once) when that probe failed. */
int tree_getattr(const char *path, struct stat *st, bool *stable);

/* What df shows: the video cache (size = cache_max, or less when the disk
 * under state_dir has less room above the free-space floor,
 * cache_min_free; used = bytes cached) and, as files, the tasks. When
 * statvfs of state_dir fails, size = cache_max (or used, with no bound). */
int tree_statfs(struct statvfs *sv);

/* user.seedance.* attributes (tree_xattr.c), read-only. listxattr: the
 * names, each NUL-terminated, into buf; getxattr: the value. Both return
 * the length (size 0: only the length), -ERANGE when `size` is too small,
 * getxattr -ENODATA for an attribute the file does not have. */
int tree_listxattr(const char *path, char *buf, size_t size);
int tree_getxattr(const char *path, const char *name, char *buf, size_t size);

/* Whether attributes named `name` can exist here at all (the user.
 * namespace): getxattr of any other name is -ENOTSUP on every file, which
 * ls -l and libacl remember instead of asking for each entry. */
bool tree_xattr_supported(const char *name);
int tree_readdir(const char *path, tree_add_fn add, void *arg);
int tree_readlink(const char *path, char *buf, size_t size);

/* `id` (may be NULL; NAMES_MAX_KEY + 1 bytes) receives the task id of a
 * file under tasks/<id>/, or the request name of one under pending/NAME/
 * (then *by_name, may be NULL, is true). */
int tree_open(const char *path, int flags, enum tree_open_kind *kind, char *id, bool *by_name);

/* What a `wait` read returns now: the final status line, "rejected\n",
 * "deleted\n", or 0 bytes while the task (or request) is still going. */
size_t tree_wait_answer(const char *id, bool by_name, char *buf, size_t size);
/* Bytes of a file. A read of video.mp4 may wait for bytes in flight: it
 * ends with -EINTR as soon as *cancel turns true and tree_wake_readers is
 * called (`cancel` may be NULL). */
int tree_read(const char *path, char *buf, size_t size, off_t off, const atomic_bool *cancel);

/* tree_read of a video.mp4 with its bytes handed to `deliver` as a range
 * of the cache file instead of copied (stream_read_to: the FUSE glue
 * splices them to the kernel). -ENOTSUP for any other file (use tree_read),
 * the errors of tree_read for a path that is none. */
int tree_read_video(const char *path, size_t size, off_t off, const atomic_bool *cancel,
                    stream_deliver_fn deliver, void *arg);

/* Wakes every read waiting for video bytes so it looks at its cancel flag
 * (from a FUSE interrupt callback: takes only the stream's lock). */
void tree_wake_readers(void);

/* Files that can be written: requests/ and assets/KIND/NAME/ (the asset
 * tree's own rules, assets.h). */
int tree_create(const char *path);
int tree_write(const char *path, const char *buf, size_t size, off_t off);
int tree_truncate(const char *path, off_t size);
int tree_touch(const char *path);
int tree_flush(const char *path);
int tree_unlink(const char *path);
int tree_rename(const char *from, const char *to, unsigned int flags);

/* tasks/<id>: cancel or delete; assets/KIND/NAME: forget the asset. */
int tree_rmdir(const char *path);

/* assets/KIND/NAME only. */
int tree_mkdir(const char *path);

#endif
