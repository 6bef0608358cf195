/* stream_internal.h — what stream.c (readers, fetchers, the downloader)
 * and stream_fill.c (one range request into the cache) share. */
#ifndef SEEDANCEFS_STREAM_INTERNAL_H
#define SEEDANCEFS_STREAM_INTERNAL_H

#include "stream.h"
#include "id_queue.h"
#include "readahead.h"
#include "video_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define G VIDEO_GRANULE
#define FETCHERS 12                 /* parallel range requests, all readers together */
#define CHUNK (4u << 20)            /* most one range request asks for */
#define PER_VIDEO 4                 /* range requests in flight for one video: enough to
                                     * hide a round trip, few enough that its writers do
                                     * not queue on the file's inode lock */
#define FETCH_ATTEMPTS 3            /* tries without progress before a fetch fails */
#define DOWNLOAD_ATTEMPTS 6
#define BG_AHEAD (256u << 10)       /* a background fetch claims this far past what it wrote */
#define BG_SKIP_PRESENT (1u << 20)  /* it reads over a cached run this short (cheaper than a
                                     * new request), and ends at a longer one */
#define STAGE (256u << 10)          /* a fill writes the cache file in runs this long (see
                                     * struct fill); no longer than BG_AHEAD */
#define FILL_BURST_GAP_SECS 0.002  /* a gap this long between pieces parts two bursts */
#define FILL_BURST_PIECES 64        /* a stream is bursty this many pieces after a gap */
#define RESERVE_STEP (4 << 20)      /* a fill allocates its file's blocks this far ahead */
#define BG_PAUSE_SECS 2.0           /* longest one pause for a waiting reader (the stall
                                     * limit of the connection is 10 s) */

/* What the fetch side knows of one video, kept with it by the cache
 * (video_state) and freed with it. Guarded by the stream's lock; used only
 * while holding a use of `v`. */
struct vfetch {
    struct video *v;
    unsigned char *busy;            /* bitmap: granules being fetched */
    unsigned char *wanted;          /* bitmap: granules a reader waits for (set by it,
                                     * cleared as they are written) */
    struct readahead ra;
    int fetching;                   /* range requests in flight */
    bool ranges_ignored;            /* the server answers Range with the whole file */
    bool whole_active;              /* a request is taking the whole file in order */
    bool announced;                 /* "complete" was logged */
    unsigned fail_gen;              /* counts failed fetches */
    int last_error;
    struct fill *background;        /* the downloader's fetch of this video, or NULL */
};

/* One range request waiting for a fetcher: granules [first, end) of vf,
 * with a use of its video. */
struct job {
    struct job *next;
    struct vfetch *vf;
    size_t first, end;
};

struct job_list {
    struct job *head, *tail;
};

struct stream {
    tasks *tasks;
    http *http;
    video_cache *cache;
    pthread_mutex_t lock;           /* jobs, queue, every vfetch; taken before the cache's */
    pthread_cond_t arrived;         /* bytes landed, or a fetch ended */
    pthread_cond_t work;            /* jobs or download ids queued; stopping */
    struct job_list urgent;         /* a reader waits for these bytes */
    struct job_list ahead;          /* read-ahead */
    struct id_queue queue;          /* ids waiting for the background downloader */
    pthread_t fetchers[FETCHERS], downloader;
    int nfetchers;
    double read_timeout;            /* seconds a reader waits in all (stream_set_read_timeout) */
    bool downloading;               /* the downloader thread runs */
    int readers_waiting;            /* reads waiting for bytes no background fetch brings */
    int readers_behind;             /* reads waiting for bytes a background fetch brings */
    atomic_bool running;             /* read without the lock by loops and sinks */
    bool started;
    tasks_hook_fn on_complete;      /* a download finished (export_dir links it) */
    void *on_complete_arg;
};

/* Where one range request has got to. Bytes are staged and go to the cache
 * file STAGE at a time, in whole pages: ext4 pays per call and per folio,
 * and the 4-128 KiB pieces curl hands over (each split at a page) cost the
 * daemon about three times the CPU of 256 KiB writes. A reader waiting for
 * a granule the stage holds has it written at once (stage_wanted); so do
 * the whole granules staged when a burst of a slow link ends (burst_ends),
 * the end of the request and the end of the file. */
#define PAGE 4096
_Static_assert(STAGE % G == 0 && STAGE <= BG_AHEAD, "a stage is whole granules within the claims");
struct fill {
    stream *s;
    struct vfetch *vf;
    off_t pos;                      /* next byte expected */
    off_t written;                  /* bytes before this are in the file (page-aligned) */
    off_t reserved;                 /* blocks are allocated up to here (reserve_ahead) */
    char *stage;                    /* the thread's STAGE bytes: written..pos, not yet in
                                     * the file */
    bool whole;                     /* the server ignored Range: taking the whole file */
    int error;
    /* A background fetch asks for a long run but claims granules only as
     * it gets near them (BG_AHEAD), so that a reader wanting bytes further
     * on fetches them itself at once; the background fetch then reads over
     * them without writing (they are not `mine`). */
    unsigned char *mine;            /* background: granules it claimed; NULL otherwise */
    size_t claimed;                 /* granules before this were looked at */
    size_t stop;                    /* it ends before this granule */
    /* burst_ends' view of how the bytes come; the fill's thread alone. */
    double piece_at;                /* clock_mono() when the last piece was handled, 0 = none
                                     * in this attempt */
    int since_gap;                  /* pieces since a gap, at most FILL_BURST_PIECES */
};


/* Fetches granules [first, end) of vf with one range request and writes
 * them into the cache, staged in `stage` (the calling thread's,
 * stream_stage_new): a foreground fetch (the caller claimed the
 * granules) or the background download's (it claims them as it goes, and
 * pauses while a reader waits). Lock not held. 0 or -errno (-ESTALE: the
 * video is of a version the server no longer has, or was dropped; its
 * readers get -EIO); the readers waiting on those granules are woken
 * either way. */
int stream_fetch_range(stream *s, struct vfetch *vf, size_t first, size_t end, bool background,
                       char *stage);

/* A fetching thread's stage for stream_fetch_range: STAGE bytes, page-aligned,
 * kept for the thread's life (per fill, freed chunks would stay in each
 * thread's malloc arena). NULL if out of memory. */
char *stream_stage_new(void);

/* Sleeps up to `seconds` unless the stream is stopping. Never on a FUSE
 * thread: only fetchers and the downloader back off. Lock not held. */
void stream_backoff(stream *s, double seconds);

#endif
