/* fs.h — the kernel side: the FUSE low-level session.
 *
 * Adapts tree.h (path-based) to inode numbers (nodes.h), answers `wait`
 * and `events` reads later from worker threads instead of pinning a FUSE
 * thread per waiter, supports poll() on `events`, and tells the kernel when
 * cached attributes or directory entries became stale.
 */
#ifndef SEEDANCEFS_FS_H
#define SEEDANCEFS_FS_H

#include "tree.h"

/* Mounts, daemonizes (unless -f), serves until unmounted or signalled.
 * `argv` holds what config_parse left for libfuse. Starts the poller,
 * submitter and downloader after daemonizing and stops them before return.
 * Returns 0 after a clean unmount, 1 on any error (one line on stderr). */
int fs_main(int argc, char **argv, struct fs_context *c);

/* A task's status word changed (a tasks hook: called on the poller thread). */
void fs_on_status(const char *id, const char *name, const struct task_status *from,
                  const struct task_status *to, void *arg);

/* A task's progress changed (tasks_set_progress_hook): the kernel drops
 * what it cached of the task's files, and `progress` >= 0 (a step worth
 * telling) makes an events line. */
void fs_on_progress(const char *id, const char *name, const struct task_status *status,
                    int progress, void *arg);

/* What the kernel caches of tasks/<id>/ and its files is stale (told
 * from the notifier thread; safe to call anywhere). */
void fs_invalidate_task(const char *id);

/* Something a parked `wait` read or lookup may be waiting for changed
 * outside the status hook (a pending request was rejected, a video's size
 * was learned): answer what can be. */
void fs_wake_waiters(void);

#endif
