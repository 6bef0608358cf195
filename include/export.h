/* export.h — finished videos appear in a local folder (-o export_dir=DIR),
 * for watch-folder tools: inotify does not see what the daemon changes
 * inside the mount, but it sees a rename into a local directory.
 *
 *   $ seedancefs mnt -o api_url=...,export_dir=~/videos
 *   $ inotifywait -m -e moved_to ~/videos
 *   ~/videos/ MOVED_TO fox.mp4
 *
 * For each task submitted through this mount that ends:
 *   NAME.mp4                 succeeded: the video (on state_dir's file system
 *                            a reflink, else a hard link to the cache file
 *                            unless export_link=0; elsewhere a copy)
 *   NAME.last_frame.png      succeeded, when the request asked for it
 *   NAME.failed              failed, cancelled or expired: the status word,
 *                            then the API's error (or why the video is gone)
 * (<id> instead of NAME with export_by=id; NAME.<id> when a file of that
 * name is in the folder already: nothing there is replaced). Mode 0444.
 * Each file is written under a
 * hidden temporary name (.NAME.mp4.tmp), fsync'd and renamed: a watcher
 * sees one IN_MOVED_TO per file and never a partial file under the final
 * name. Exactly once, across restarts and kill -9: the store records that
 * the files are written before the renames and that they are done after
 * (a restart finishes the renames whose temporary files are still there).
 * The name chosen is stored with "renaming", so a restart with other
 * options renames the same files.
 * Tasks that were final before export_dir was first set (or changed) are
 * not exported; tasks made elsewhere are not either (their videos would
 * all be downloaded).
 *
 * One thread does the work; a video that cannot be had now is tried again
 * every 30 s while the task exists.
 */
#ifndef SEEDANCEFS_EXPORT_H
#define SEEDANCEFS_EXPORT_H

#include "store.h"
#include "stream.h"
#include "tasks.h"

#include <stdbool.h>

typedef struct exporter exporter;

/* `dir` is created if missing (0755). NULL on ENOMEM. */
/* `link`: a hard link to the cache file is allowed (export_link=1). */
exporter *export_new(const char *dir, bool by_id, bool link, tasks *t, stream *s, store *st);
void export_free(exporter *e);

/* After tasks_restore: reads what was exported, marks the final tasks of
 * a folder set for the first time as "before", and queues the rest.
 * 0 or -errno (the folder cannot be made, the store failed). */
int export_restore(exporter *e);

int export_start(exporter *e);
void export_stop(exporter *e);

/* A task of ours reached a final status (a tasks_hook_fn): it is queued. */
void export_want(const char *id, void *exporter_arg);

#endif
