/* stream.h — tasks/<id>/video.mp4: an on-disk cache in front of HTTP ranges.
 *
 *   $ ffprobe mnt/tasks/cgt-.../video.mp4      # reads the end (moov), then the start
 *   $ ls STATE_DIR/videos/                     # cgt-....mp4, sparse until complete
 *
 * The bytes live in video_cache.h's sparse files. A read is served from
 * disk; missing bytes are fetched by a pool of fetcher threads with range
 * requests of up to 4 MiB, several in parallel, each streamed into the cache
 * file so a waiting reader wakes as soon as its bytes land (FUSE threads
 * only wait for bytes, never sleep on a retry). Concurrent readers of the
 * same range share one fetch. Read-ahead follows each sequential reader
 * (up to 4 per video): twice what the reader has read in a row, at least
 * 256 KiB, at most 32 MiB; it stays off for random reads, which fetch only
 * the 32 KiB granules they touch. While a video is not complete it is
 * opened with direct I/O (one page cache fewer to fill, see tree.c). A server that ignores Range
 * (200 with the whole file) gets one request that fills the cache in order.
 * When a task succeeds (or on mount, for videos not complete yet), or once
 * a reader has read 8 MiB sequentially, a background downloader fetches the
 * rest in order, in one request per missing run, claiming bytes only
 * 256 KiB ahead of what it wrote; while any reader waits for bytes it does
 * not bring, it pauses, with about one bandwidth-delay product in flight
 * (HTTP_BACKGROUND in http.h), so that readers are served first. A 401/403 (an expired signed URL) makes a fetch ask the API
 * for a fresh URL once, then EIO.
 *
 * Locking: the stream's mutex guards its queues and the fetch state of each
 * video; it is taken before the cache's (video_cache.h), never the other
 * way: nothing but the cache is called with it held, and callers of this
 * header never hold it.
 */
#ifndef SEEDANCEFS_STREAM_H
#define SEEDANCEFS_STREAM_H

#include "store.h"
#include "tasks.h"

#include <stdatomic.h>
#include <sys/types.h>

typedef struct stream stream;

/* `state_dir`/videos is created. `cache_max` bytes (0 = no limit). */
stream *stream_new(tasks *t, http *h, store *st, const char *state_dir, size_t cache_max);
void stream_free(stream *s);

/* Loads the cache map from the store and queues unfinished downloads. */
int stream_restore(stream *s);

int stream_start(stream *s);
void stream_stop(stream *s);

/* True when every byte of the task's video is in the cache. */
bool stream_complete(stream *s, const char *id);

/* How many bytes of `id`'s video are cached here. */
off_t stream_cached_bytes(stream *s, const char *id);

/* What `df` shows of the cache: bytes cached, the bound (0 = none), the
 * free-space floor and what is free under state_dir (SIZE_MAX: unknown,
 * statvfs failed). */
void stream_cache_usage(stream *s, size_t *used, size_t *max, size_t *floor, size_t *avail);

/* The free-space floor (video_cache_set_floor). Before stream_start. */
void stream_set_cache_floor(stream *s, size_t bytes, unsigned pct, size_t cap);

/* The longest a stream_read waits for its bytes, in all, before -EIO
 * (default 60 s). Before stream_start. */
void stream_set_read_timeout(stream *s, double seconds);

/* Queues a background download of the task's video (a tasks_hook_fn). */
void stream_want(const char *id, void *stream_arg);

/* The task is gone: its cached video is deleted (a tasks_hook_fn). */
void stream_forget(const char *id, void *stream_arg);

/* Reads up to `size` bytes at `off` of the task's video. Returns the byte
 * count (0 at end of file), -ENOENT when the task has no video, -EIO (also
 * when the bytes did not come within the read timeout), or
 * -EINTR once *cancel (may be NULL) is true and stream_wake_readers ran
 * (or within a second without it): a Ctrl-C never waits for the server. */
ssize_t stream_read(stream *s, const char *id, char *buf, size_t size, off_t off,
                    const atomic_bool *cancel);

/* Where stream_read_to hands a read's bytes: `n` of them (0 at end of
 * file) at `off` of the cache file `fd`, valid only during the call (the
 * video is held: not evicted, those bytes final). No lock held. Returns
 * what stream_read_to is to return: the byte count, or -errno. */
typedef ssize_t (*stream_deliver_fn)(void *arg, int fd, off_t off, size_t n);

/* stream_read without the copy: once the bytes are on disk, `deliver`
 * gets them as a range of the cache file (the FUSE glue splices them to
 * the kernel) and its result is returned. On an error (those of
 * stream_read) `deliver` is not called. */
ssize_t stream_read_to(stream *s, const char *id, size_t size, off_t off,
                       const atomic_bool *cancel, stream_deliver_fn deliver, void *arg);

/* Puts the task's whole video at `dest` (replaced), mode 0444 and
 * durable: a reflink of the complete cache file where the file system
 * can, else (`link_ok`) a hard link to it, else a copy read through
 * stream_read (fetching what is missing) with the video held in the cache
 * meanwhile (not evicted). `wait_for_cache`: -EAGAIN rather than a copy
 * while the video is not all cached yet (the complete hook says when).
 * Returns 1 reflinked, 2 linked, 0 copied, or the errors of stream_read
 * and of writing `dest`. */
int stream_export(stream *s, const char *id, const char *dest, bool link_ok,
                  bool wait_for_cache, const atomic_bool *cancel);

/* `fn(id)` runs on the downloader thread, no lock held, each time a
 * background download completes a video. Set before stream_start. */
void stream_set_complete_hook(stream *s, tasks_hook_fn fn, void *arg);

/* Wakes the reads waiting for bytes (they look at their cancel flags). */
void stream_wake_readers(stream *s);


#endif
