/* video_cache.h — the cached bytes of each video: a sparse file and a map.
 *
 *   $ ls STATE_DIR/videos/          # cgt-....mp4, sparse until complete
 *
 * Each video is STATE_DIR/videos/<id>.mp4 plus a bitmap of the granules
 * (VIDEO_GRANULE bytes) on disk. The bitmap is kept in the store and
 * committed only after the file is fdatasync'd, so after a crash the map
 * never claims bytes that are not there. Maps saved with another unit (the
 * 1 MiB blocks of schema 2) are converted on load. The cache decides itself
 * when a map is due a commit (every COMMIT_BYTES, and when a video turns
 * complete) and, with cache_max set, evicts the unused videos least
 * recently read or completed after each commit.
 *
 * The cache knows nothing of fetching: what is being fetched, read-ahead
 * and failures are the fetch side's (stream.c), kept per video in a state
 * the cache only stores and frees (video_state). Locking: the cache has its
 * own mutex, taken inside each call and never held when a call returns; a
 * caller may hold its own lock across calls (the cache never calls out
 * with its lock held, except `make` and `free_state`, which only allocate
 * and free; and, out of memory in a removal, one store delete).
 */
#ifndef SEEDANCEFS_VIDEO_CACHE_H
#define SEEDANCEFS_VIDEO_CACHE_H

#include "store.h"

#include <stdbool.h>
#include <sys/types.h>

/* Small enough that a random 4 KiB read fetches little; a 1 GiB video's
 * map is 4 KiB. */
#define VIDEO_GRANULE (32u << 10)

typedef struct video_cache video_cache;
struct video;

/* `state_dir`/videos is created. `cache_max` bytes (0 = no limit).
 * `free_state` frees what video_state made, when the video is freed (with
 * the cache's lock held: it must not call back into the cache). */
video_cache *video_cache_new(store *st, const char *state_dir, size_t cache_max,
                             void (*free_state)(void *state));
void video_cache_free(video_cache *c);

/* A free-space floor under state_dir: `bytes`, or (pct > 0) that many
 * percent of the file system, at most `cap` bytes (0 = no cap). Below it,
 * eviction takes unused videos even under cache_max, and video_write
 * refuses (-ENOSPC): cached videos never fill the disk the store needs.
 * Before any write. */
void video_cache_set_floor(video_cache *c, size_t bytes, unsigned pct, size_t cap);

/* The floor in bytes now, and in *avail what is free under state_dir
 * (SIZE_MAX when statvfs fails; the floor is then 0). */
size_t video_cache_floor(video_cache *c, size_t *avail);

/* Loads the maps from the store. */
int video_cache_restore(video_cache *c);

/* The committer thread. Stop commits what is queued, then returns. */
int video_cache_start(video_cache *c);
void video_cache_stop(video_cache *c);

/* Saves every map with bytes it does not list yet (at shutdown: no thread
 * may use the cache meanwhile). */
void video_cache_commit_all(video_cache *c);

/* The bytes cached, over all videos (what cache_max bounds), and that
 * bound (0 = none). */
size_t video_cache_used(video_cache *c);
size_t video_cache_max(const video_cache *c);

/* Puts the complete cache file of `id` at `dest` (export_dir, created):
 * a reflink where the file system can (1), else, when `link_ok`, a hard
 * link (2; the shared inode turns mode 0444), and makes it durable.
 * -EAGAIN when the video is not complete here, -EXDEV when neither works
 * (another file system, no reflink and no link wanted), or -errno. The
 * video is held meanwhile, not under the cache's lock. The cache never
 * writes into a file that has other links (video_get starts a new one). */
int video_cache_export(video_cache *c, const char *id, const char *dest, bool link_ok);

/* How many bytes of `id`'s video are on disk (0 for an unknown id). */
off_t video_cache_cached(video_cache *c, const char *id);

/* True when every byte of `id`'s video is on disk. */
bool video_cache_complete(video_cache *c, const char *id);

/* ---- one video, used through a counted handle ---- */

/* The video of `id` with a use taken, opened (sparse) if needed; a cached
 * copy of another size is removed, file and map (its users keep it, and
 * its bytes, in the unlinked file until they let go).
 * A video being evicted or forgotten is waited for, then opened afresh.
 * NULL on an error (logged). video_hold takes one more use; video_put lets
 * one go. */
struct video *video_get(video_cache *c, const char *id, off_t size);
void video_hold(video_cache *c, struct video *v);
void video_put(video_cache *c, struct video *v);

/* The version of the file at the server the video's bytes are of (an ETag
 * or Last-Modified; "" until known), into tag[size]. It is set once, by
 * video_learn_tag, from "" to a value: a video's bytes never change
 * version (another version is another video: video_cache_forget first). */
#define VIDEO_TAG_MAX 96
void video_tag(video_cache *c, struct video *v, char *tag, size_t size);
void video_learn_tag(video_cache *c, struct video *v, const char *tag);

/* True once `v` was taken out of the cache (forgotten, evicted or
 * replaced): nothing should be fetched into it any more. */
bool video_dropped(video_cache *c, struct video *v);

/* Fixed for the handle's life: no lock. */
const char *video_id(const struct video *v);
off_t video_size(const struct video *v);
size_t video_granules(const struct video *v);
off_t video_granule_end(const struct video *v, size_t g);     /* byte just past g */

/* The fetch side's state of `v`: made by `make(v)` on first call (under
 * the cache's lock: it must only allocate), then the same pointer until
 * the video is freed. NULL when `make` failed. */
void *video_state(video_cache *c, struct video *v, void *(*make)(struct video *v));

/* The first granule in [from, end) not on disk, and the first one on
 * disk; when there is none, `end` clamped to video_granules (or `from`
 * if that is beyond it): never below `from`. */
size_t video_first_missing(video_cache *c, struct video *v, size_t from, size_t end);
size_t video_first_present(video_cache *c, struct video *v, size_t from, size_t end);
bool video_complete(video_cache *c, struct video *v);

/* The cache file to read bytes the caller saw present from (pread,
 * splice): open, and those bytes final, for as long as `v` is held.
 * Counts as a read for eviction. */
int video_read_fd(video_cache *c, struct video *v);

/* Writes bytes at `at` of the cache file, one writer per video at a time:
 * parallel pwrites of one file queue on its inode lock, where the kernel
 * spins (a whole core, on a 2-core machine) instead of sleeping. 0, -EIO,
 * or -ENOSPC (the disk is full, or free space is below the floor). */
int video_write(struct video *v, const char *data, size_t len, off_t at);

/* A hint before writing [at, at + len): allocates its blocks in one go.
 * Writing into a hole of a sparse file makes ext4 allocate per page, which
 * cost ten times the CPU of the copy itself here. Failures are ignored (a
 * file system without fallocate, or too little room for the whole range):
 * the writes report their own errors. */
void video_reserve(struct video *v, off_t at, off_t len);

/* Marks granules [first, end) present (their bytes are written); queues a
 * commit when one is due. */
void video_arrived(video_cache *c, struct video *v, size_t first, size_t end);

/* Makes the bytes written so far durable and saves the map now, then
 * evicts if the cache is over cache_max. */
void video_commit(video_cache *c, struct video *v);

/* Evicts unused videos, least recently read first, while the cache is over
 * cache_max or free space is short of `need` bytes above the floor (and
 * evicting can make them). Never the video `keep`. video_commit (need 0)
 * and video_write (the bytes it writes) call it. */
void video_cache_evict(video_cache *c, const char *keep, size_t need);

/* The task is gone (rmdir): its file and map are deleted now; readers
 * still holding it keep their bytes until they let go. */
void video_cache_forget(video_cache *c, const char *id);

#endif
