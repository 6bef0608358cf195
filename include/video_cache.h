/* video_cache.h — the cached bytes of each video: a sparse file and a map.
 *
 *   $ ls STATE_DIR/videos/          # cgt-....mp4, sparse until complete
 *
 * Each video is STATE_DIR/videos/<id>.mp4 plus a bitmap of the granules
 * (VIDEO_GRANULE bytes) on disk. The bitmap is kept in the store and
 * committed only after the file is fdatasync'd, so after a crash the map
 * never claims bytes that are not there. Maps saved with another unit (the
 * 1 MiB blocks of schema 2) are converted on load. With cache_max set,
 * complete videos least recently read are evicted.
 *
 * One mutex (video_cache_lock) guards the maps and the fields of struct
 * video below; stream.c, which fetches and reads, holds it too.
 */
#ifndef SEEDANCEFS_VIDEO_CACHE_H
#define SEEDANCEFS_VIDEO_CACHE_H

#include "store.h"

#include <pthread.h>
#include <stdbool.h>
#include <sys/types.h>

/* Small enough that a random 4 KiB read fetches little; a 1 GiB video's
 * map is 4 KiB. */
#define VIDEO_GRANULE (32u << 10)
#define VIDEO_CURSORS 4

/* One sequential reader of a video, as far as read-ahead can tell. */
struct cursor {
    off_t start;                /* where its sequential run began */
    off_t next;                 /* where it is expected to read next */
    off_t ahead;                /* read-ahead queued up to here */
    size_t window;              /* read-ahead size; 0 = random access */
    long long used;             /* last use, for recycling */
};

struct video {
    char *id;
    int fd;
    off_t size;
    size_t ngranules, present;
    unsigned char *have, *busy;     /* bitmaps: on disk; being fetched */
    struct cursor cursors[VIDEO_CURSORS];
    long long last_read;            /* wall seconds, for eviction */
    size_t unsaved;                 /* bytes on disk the stored map does not list */
    int users;
    int fetching;                   /* range requests in flight (stream.c) */
    bool orphan;                    /* replaced (size changed): freed by its last user */
    bool ranges_ignored;            /* the server answers Range with the whole file */
    bool whole_active;              /* a request is taking the whole file in order */
    bool announced;                 /* "complete" was logged */
    bool commit_queued;             /* waiting for the committer thread */
    int saving;                     /* video_commits storing its map (removal waits) */
    unsigned fail_gen;              /* counts failed fetches */
    int last_error;
    double arrived_at;              /* monotonic time bytes last landed */
    pthread_mutex_t write_lock;     /* one writer at a time (video_write) */
};

typedef struct video_cache video_cache;

static inline bool bit(const unsigned char *map, size_t i) { return map[i / 8] >> (i % 8) & 1; }
static inline void set_bit(unsigned char *map, size_t i) { map[i / 8] |= (unsigned char)(1u << (i % 8)); }
static inline void clear_bit(unsigned char *map, size_t i) { map[i / 8] &= (unsigned char)~(1u << (i % 8)); }

/* `state_dir`/videos is created. `cache_max` bytes (0 = no limit). */
video_cache *video_cache_new(store *st, const char *state_dir, size_t cache_max);
void video_cache_free(video_cache *c);
pthread_mutex_t *video_cache_lock(video_cache *c);

/* Loads the maps from the store. */
int video_cache_restore(video_cache *c);

/* True when every byte of `id`'s video is on disk. */
bool video_cache_complete(video_cache *c, const char *id);

/* The video of `id` with a use count taken, opened (sparse) if needed; a
 * cached copy of another size is dropped. video_put returns the count.
 * Lock not held. */
struct video *video_get(video_cache *c, const char *id, off_t size);
void video_put(video_cache *c, struct video *v);

/* Byte just past granule `g`. */
off_t video_granule_end(const struct video *v, size_t g);

/* Writes bytes at `at` of the cache file, one writer per video at a time:
 * parallel pwrites of one file queue on its inode lock, where the kernel
 * spins (a whole core, on a 2-core machine) instead of sleeping. 0 or -EIO. */
int video_write(struct video *v, const char *data, size_t len, off_t at);

/* Marks granules [first, end) present (their bytes are written). Returns
 * true when the map is due a commit. Lock not held. */
bool video_arrived(video_cache *c, struct video *v, size_t first, size_t end);

/* Makes the bytes written so far durable, then saves the map. Lock not held. */
void video_commit(video_cache *c, struct video *v);
void video_cache_commit_all(video_cache *c);

/* Has the committer thread run video_commit for `v` soon: fdatasync of tens
 * of MiB takes long enough to stall the fetch that would wait for it. */
void video_commit_soon(video_cache *c, struct video *v);

/* The committer thread. Stop commits what is queued, then returns. */
int video_cache_start(video_cache *c);
void video_cache_stop(video_cache *c);

/* Evicts unused videos, least recently read first, while the cache is over
 * cache_max. Never the video `keep`. A reader that asks for a video being
 * evicted waits until its file is gone (video_get), then starts afresh. */
void video_cache_evict(video_cache *c, const char *keep);

/* The task is gone (rmdir): its file and map are deleted now; readers
 * still holding it keep their bytes until they let go. Lock not held. */
void video_cache_forget(video_cache *c, const char *id);

#endif
