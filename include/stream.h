/* stream.h — tasks/<id>/video.mp4: an on-disk cache in front of HTTP ranges.
 *
 *   $ ffprobe mnt/tasks/cgt-.../video.mp4      # reads the end (moov), then the start
 *   $ ls STATE_DIR/videos/                     # cgt-....mp4, sparse until complete
 *
 * Each video is a sparse file STATE_DIR/videos/<id>.mp4 plus a bitmap of the
 * 1 MiB blocks on disk (kept in the store, committed only after the file is
 * fdatasync'd, so after a crash the map never claims bytes that are not
 * there). A reader is served from disk; a missing block is fetched with one
 * range request, and concurrent readers of the same block share that fetch.
 * When a task succeeds (or on mount, for videos not complete yet) a
 * background downloader streams the rest in order, resuming with Range from
 * the first missing block, checking the size against the server's
 * Content-Range/Content-Length. A 401/403 (an expired signed URL) makes it
 * ask the API for a fresh URL once, then EIO. With cache_max set, complete
 * videos least recently read are evicted and fetched again on demand.
 */
#ifndef SEEDANCEFS_STREAM_H
#define SEEDANCEFS_STREAM_H

#include "store.h"
#include "tasks.h"

#include <sys/types.h>

typedef struct stream stream;

/* `state_dir`/videos is created. `cache_max` bytes (0 = no limit). */
stream *stream_new(tasks *t, http *h, store *st, const char *state_dir, size_t cache_max);
void stream_free(stream *s);

/* Loads the cache map from the store and queues unfinished downloads. */
int stream_restore(stream *s);

int stream_start(stream *s);
void stream_stop(stream *s);

/* Queues a background download of the task's video (a tasks_hook_fn). */
void stream_want(const char *id, void *stream_arg);

/* Reads up to `size` bytes at `off` of the task's video. Returns the byte
 * count (0 at end of file), -ENOENT when the task has no video, or -EIO. */
ssize_t stream_read(stream *s, const char *id, char *buf, size_t size, off_t off);

#endif
