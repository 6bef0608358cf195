/* stream.c — video.mp4 through an on-disk cache: reads, read-ahead and the
 * fetchers that fill it; see stream.h. The cache file and its map live in
 * video_cache.c, the read-ahead rule in readahead.c. */
#include "stream.h"
#include "bitmap.h"
#include "clock.h"
#include "id_queue.h"
#include "log.h"
#include "readahead.h"
#include "video_cache.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <fcntl.h>
#include <unistd.h>

#define G VIDEO_GRANULE
#define FETCHERS 12                 /* parallel range requests, all readers together */
#define CHUNK (4u << 20)            /* most one range request asks for */
#define PER_VIDEO 4                 /* range requests in flight for one video: enough to
                                     * hide a round trip, few enough that its writers do
                                     * not queue on the file's inode lock */
#define STALL_SECS 60               /* a reader gives up when no byte came for this long */
#define FETCH_ATTEMPTS 3            /* tries without progress before a fetch fails */
#define DOWNLOAD_ATTEMPTS 6
#define BG_AHEAD (256u << 10)       /* a background fetch claims this far past what it wrote */
#define BG_SKIP_PRESENT (1u << 20)  /* it reads over a cached run this short (cheaper than a
                                     * new request), and ends at a longer one */
#define BG_PAUSE_SECS 2.0           /* longest one pause for a waiting reader (the stall
                                     * limit of the connection is 10 s) */

/* What the fetch side knows of one video, kept with it by the cache
 * (video_state) and freed with it. Guarded by the stream's lock; used only
 * while holding a use of `v`. */
struct vfetch {
    struct video *v;
    unsigned char *busy;            /* bitmap: granules being fetched */
    struct readahead ra;
    int fetching;                   /* range requests in flight */
    bool ranges_ignored;            /* the server answers Range with the whole file */
    bool whole_active;              /* a request is taking the whole file in order */
    bool announced;                 /* "complete" was logged */
    unsigned fail_gen;              /* counts failed fetches */
    int last_error;
    double arrived_at;              /* monotonic time bytes last landed */
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
    bool downloading;               /* the downloader thread runs */
    int readers_waiting;            /* reads waiting for bytes no background fetch brings */
    int readers_behind;             /* reads waiting for bytes a background fetch brings */
    atomic_bool running;             /* read without the lock by loops and sinks */
    bool started;
    tasks_hook_fn on_complete;      /* a download finished (export_dir links it) */
    void *on_complete_arg;
};

static void *vfetch_new(struct video *v)
{
    struct vfetch *vf = calloc(1, sizeof *vf);

    if (vf && !(vf->busy = calloc(bitmap_bytes(video_granules(v)) + 1, 1))) {
        free(vf);
        return NULL;
    }
    if (vf)
        vf->v = v;
    return vf;
}

static void vfetch_free(void *arg)
{
    struct vfetch *vf = arg;

    free(vf->busy);
    free(vf);
}

stream *stream_new(tasks *t, http *h, store *st, const char *state_dir, size_t cache_max)
{
    stream *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->tasks = t;
    s->http = h;
    if (!(s->cache = video_cache_new(st, state_dir, cache_max, vfetch_free))) {
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->arrived, NULL);
    pthread_cond_init(&s->work, NULL);
    return s;
}

void stream_free(stream *s)
{
    if (!s)
        return;
    stream_stop(s);
    id_queue_clear(&s->queue);
    video_cache_free(s->cache);
    pthread_cond_destroy(&s->arrived);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static void queue_if_incomplete(const char *id, void *arg)
{
    stream *s = arg;

    if (!video_cache_complete(s->cache, id))
        stream_want(id, s);
}

bool stream_complete(stream *s, const char *id)
{
    return video_cache_complete(s->cache, id);
}

off_t stream_cached_bytes(stream *s, const char *id)
{
    return video_cache_cached(s->cache, id);
}

void stream_cache_usage(stream *s, size_t *used, size_t *max)
{
    *used = video_cache_used(s->cache);
    *max = video_cache_max(s->cache);
}

int stream_restore(stream *s)
{
    int rc = video_cache_restore(s->cache);

    tasks_each_video(s->tasks, queue_if_incomplete, s);
    return rc;
}

/* ---- fetching ranges into the cache ---- */

/* Where one range request has got to. Bytes go to the cache file in whole
 * pages straight from curl's buffer; only a page's worth is held back when
 * a piece ends mid-page (partial-page writes made the kernel zero and lock
 * far more than it copied). */
#define PAGE 4096
struct fill {
    stream *s;
    struct vfetch *vf;
    off_t pos;                      /* next byte expected */
    off_t written;                  /* bytes before this are in the file */
    char tail[PAGE];                /* bytes written..pos, less than a page */
    bool whole;                     /* the server ignored Range: taking the whole file */
    int error;
    /* A background fetch asks for a long run but claims granules only as
     * it gets near them (BG_AHEAD), so that a reader wanting bytes further
     * on fetches them itself at once; the background fetch then reads over
     * them without writing (they are not `mine`). */
    unsigned char *mine;            /* background: granules it claimed; NULL otherwise */
    size_t claimed;                 /* granules before this were looked at */
    size_t stop;                    /* it ends before this granule */
};

static bool owns(const struct fill *f, size_t g)
{
    return !f->mine || f->whole || bit(f->mine, g);
}

/* The first granule from `g` on, before `end`, whose owner differs from
 * g's (`end` if none): the runs fill_write writes or skips at once. */
static size_t owner_run_end(const struct fill *f, size_t g, size_t end)
{
    bool mine = owns(f, g);

    if (!f->mine || f->whole)
        return end;
    while (++g < end && owns(f, g) == mine)
        ;
    return g;
}

/* The last byte the fill may ask for: before granule f->stop. Only the
 * fill's own thread moves stop, so it reads it without the lock. */
static off_t fill_last(const struct fill *f)
{
    return f->stop ? video_granule_end(f->vf->v, f->stop - 1) - 1 : -1;
}

/* The end of the run from `g` of granules a background fetch need not
 * bring (cached, or a reader's fetch brings them), looked at up to
 * `limit`. Lock held. */
static size_t not_needed_run(stream *s, struct vfetch *vf, size_t g, size_t end, size_t limit)
{
    while (g < end && g < limit) {
        size_t present_end;
        if (bit(vf->busy, g))
            g++;
        else if ((present_end = video_first_missing(s->cache, vf->v, g, end)) > g)
            g = present_end;
        else
            break;
    }
    return g;
}

/* A background fetch claims the granules up to BG_AHEAD past what it wrote
 * that nobody fetches and the cache lacks. It reads over a run of others
 * up to BG_SKIP_PRESENT long (cheaper than a new request) and ends at a
 * longer one. Lock held. */
static void claim_ahead(struct fill *f)
{
    stream *s = f->s;
    struct vfetch *vf = f->vf;
    size_t want = (size_t)((f->written + BG_AHEAD) / G) + 1, skip = BG_SKIP_PRESENT / G;

    if (want > f->stop)
        want = f->stop;
    while (f->claimed < want) {
        size_t g = f->claimed, run_end = not_needed_run(s, vf, g, f->stop, g + skip + 1);
        if (run_end - g > skip) {
            f->stop = g;
            return;
        }
        if (run_end > g) {
            f->claimed = run_end;
            continue;
        }
        set_bit(vf->busy, g);
        set_bit(f->mine, g);
        f->claimed++;
    }
}

/* Writes `len` bytes at f->written (only into the granules this fetch
 * owns) and marks the granules now complete. */
static int fill_write(struct fill *f, const char *data, size_t len)
{
    struct video *v = f->vf->v;
    off_t at = f->written, end = at + (off_t)len;
    size_t first = (size_t)(at / G), done;

    for (size_t g = first, last = (size_t)((end - 1) / G) + 1; at < end; ) {
        size_t run_end = owner_run_end(f, g, last);
        off_t piece_end = video_granule_end(v, run_end - 1);
        if (piece_end > end)
            piece_end = end;
        if (owns(f, g) && video_write(v, data + (at - f->written), (size_t)(piece_end - at), at))
            return f->error = -EIO;
        at = piece_end;
        g = run_end;
    }
    done = end >= video_size(v) ? video_granules(v) : (size_t)(end / G);
    for (size_t g = first; g < done; ) {        /* the complete granules it wrote */
        size_t run_end = owner_run_end(f, g, done);
        if (owns(f, g))
            video_arrived(f->s->cache, v, g, run_end);
        g = run_end;
    }
    pthread_mutex_lock(&f->s->lock);
    f->written = end;                           /* read_ahead looks at it */
    if (done > first) {
        f->vf->arrived_at = clock_mono();
        pthread_cond_broadcast(&f->s->arrived);
    }
    if (f->mine && !f->whole)
        claim_ahead(f);
    pthread_mutex_unlock(&f->s->lock);
    return 0;
}

/* A background fetch waits while a reader waits for bytes it does not
 * bring (and none for bytes it brings: that one would wait behind the
 * pause), at most BG_PAUSE_SECS at a time: what it has in flight is about
 * one round trip of the link (http.h), so the reader's reply soon has the
 * link to itself. */
static void background_pause(stream *s)
{
    struct timespec until;

    pthread_mutex_lock(&s->lock);
    if (s->readers_waiting > 0 && !s->readers_behind && s->running) {
        clock_deadline(&until, BG_PAUSE_SECS);
        while (s->readers_waiting > 0 && !s->readers_behind && s->running &&
               pthread_cond_timedwait(&s->arrived, &s->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->lock);
}

static int fill_sink(off_t at, const char *data, size_t len, void *arg)
{
    struct fill *f = arg;
    struct vfetch *vf = f->vf;
    off_t size = video_size(vf->v);
    size_t held = (size_t)(f->pos - f->written), n;

    if (at != f->pos) {
        bool mine;
        if (at != 0)
            return f->error = -EIO, HTTP_SINK_CLOSE;
        /* Range ignored (200, whole file from byte 0): one request fills the
         * cache in order; readers wait only for the bytes they need. */
        pthread_mutex_lock(&f->s->lock);
        mine = f->whole || !vf->whole_active;
        vf->whole_active = vf->ranges_ignored = true;
        if (vf->background == f)
            vf->background = NULL;              /* in order from 0: nothing to skip */
        pthread_mutex_unlock(&f->s->lock);
        if (!mine)
            return f->error = -EAGAIN, HTTP_SINK_CLOSE;       /* another request is taking it all */
        if (!f->whole)
            log_info("read %s: the server ignores Range; taking the whole file in order",
                     video_id(vf->v));
        f->whole = true;
        f->pos = f->written = 0;
        held = 0;
    }
    if (f->mine && !f->whole) {
        if (f->pos >= (off_t)f->stop * G)
            return HTTP_SINK_CLOSE;             /* reached what it must not fetch */
        if (f->pos + (off_t)len > (off_t)f->stop * G)
            len = (size_t)((off_t)f->stop * G - f->pos);
        background_pause(f->s);
    }
    f->pos += (off_t)len;
    if (held) {                                 /* complete the held page first */
        n = PAGE - held < len ? PAGE - held : len;
        memcpy(f->tail + held, data, n);
        held += n;
        data += n;
        len -= n;
        if (held == PAGE || f->pos >= size) {
            if (fill_write(f, f->tail, held))
                return HTTP_SINK_CLOSE;
            held = 0;
        }
    }
    if ((n = f->pos >= size ? len : len / PAGE * PAGE) && !held) {
        if (fill_write(f, data, n))
            return HTTP_SINK_CLOSE;
        data += n;
        len -= n;
    }
    memcpy(f->tail + held, data, len);          /* less than a page */
    return f->s->running ? 0 : HTTP_SINK_CLOSE;
}

/* Sleeps up to `seconds` unless the stream is stopping. Never on a FUSE
 * thread: only fetchers and the downloader back off. Lock not held. */
static void backoff(stream *s, double seconds)
{
    struct timespec until;

    clock_deadline(&until, seconds);
    pthread_mutex_lock(&s->lock);
    while (s->running && pthread_cond_timedwait(&s->work, &s->lock, &until) != ETIMEDOUT)
        ;                           /* woken for new jobs: keep backing off */
    pthread_mutex_unlock(&s->lock);
}

/* A fill for granules [first, end) of vf; a background one claims its
 * first granules (the caller claims a foreground one's). */
static struct fill *fill_new(stream *s, struct vfetch *vf, size_t first, size_t end,
                             bool background)
{
    struct fill *f = malloc(sizeof *f);

    if (!f)
        return NULL;
    *f = (struct fill){ .s = s, .vf = vf, .pos = (off_t)first * G, .written = (off_t)first * G,
                        .claimed = first, .stop = end };
    if (background) {
        if (!(f->mine = calloc(bitmap_bytes(video_granules(vf->v)), 1))) {
            free(f);
            return NULL;
        }
        pthread_mutex_lock(&s->lock);
        claim_ahead(f);
        vf->background = f;
        pthread_mutex_unlock(&s->lock);
    }
    return f;
}

/* Gives up the fill's claims. Lock held. */
static void fill_release(struct fill *f, size_t first, size_t end)
{
    for (size_t g = first; g < (f->mine ? f->claimed : end); g++)
        if (!f->mine || bit(f->mine, g))
            clear_bit(f->vf->busy, g);
    if (f->vf->background == f)
        f->vf->background = NULL;
}

/* Fetches granules [first, end) of `vf` with one streamed range request
 * (resumed on a cut, the URL refreshed once on 401/403). A foreground fetch
 * takes the granules the caller marked busy; a background one claims them
 * as it goes (struct fill) and may end early, at a long cached run. Busy
 * is cleared at the end; a failure is recorded for the waiting readers. */
static int fetch_range(stream *s, struct vfetch *vf, size_t first, size_t end, bool background)
{
    const char *id = video_id(vf->v);
    off_t expected = video_size(vf->v);
    struct fill *f = fill_new(s, vf, first, end, background);
    bool refreshed = false, fresh = false, whole = false;
    int rc = f ? 0 : -ENOMEM;

    if (!f) {
        pthread_mutex_lock(&s->lock);
        if (!background) {                      /* a background one claimed nothing */
            for (size_t g = first; g < end; g++)
                clear_bit(vf->busy, g);
            vf->fail_gen++;
            vf->last_error = -EIO;
        }
        pthread_cond_broadcast(&s->arrived);
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    for (int failures = 0; failures < FETCH_ATTEMPTS && s->running; ) {
        off_t total = -1, size, from, last;
        char *url = NULL;
        bool auth;
        if ((rc = tasks_video(s->tasks, id, &url, &auth, &size)))
            break;
        f->error = 0;
        from = f->pos;
        if (f->pos > (last = fill_last(f)) && !f->whole) {
            free(url);
            break;                              /* a background fetch that ended early */
        }
        rc = http_get_stream(s->http, url, auth, f->pos, f->whole ? -1 : last, expected,
                             background ? HTTP_BACKGROUND : HTTP_FOREGROUND, fill_sink, f,
                             &total);
        free(url);
        if (!rc && total >= 0 && total != expected) {
            log_error("read %s: server says %lld bytes, expected %lld", id,
                     (long long)total, (long long)expected);
            rc = -EIO;
            break;
        }
        if (f->error == -EAGAIN) {
            rc = 0;
            break;
        }
        if (!rc)
            rc = f->error;
        last = fill_last(f);                    /* a background fetch may have ended early */
        if (!rc && f->pos <= (f->whole ? expected - 1 : last) && s->running)
            rc = -EIO;                          /* the body ended early */
        if (!rc || !s->running)
            break;
        if ((rc == -EACCES || rc == -ENOENT) && !refreshed) {
            refreshed = true;
            log_info("read %s: the video URL was %s, asking the API for a fresh one", id,
                     rc == -EACCES ? "refused" : "not found");
            if (!tasks_refresh_video_url(s->tasks, id)) {
                fresh = true;
                continue;
            }
        }
        if (rc == -ENOENT && fresh)     /* a failed refresh proves nothing */
            tasks_video_gone(s->tasks, id, "the provider no longer has this video (HTTP 404/410"
                             " with a fresh URL); its URLs live about 24 hours");
        if (rc == -EACCES || rc == -ENOENT)
            break;
        failures = f->pos > from ? 0 : failures + 1;     /* progress resets the count */
        if (failures < FETCH_ATTEMPTS)
            backoff(s, 0.2 * (1 << (2 * failures)));    /* 0.2, 0.8 s */
    }
    whole = f->whole;
    pthread_mutex_lock(&s->lock);
    fill_release(f, first, end);
    if (whole)
        vf->whole_active = false;
    if (rc) {
        vf->fail_gen++;
        vf->last_error = rc == -EACCES || rc == -ENOENT ? -EIO : rc;
    }
    pthread_cond_broadcast(&s->arrived);
    pthread_mutex_unlock(&s->lock);
    free(f->mine);
    free(f);
    return rc;
}

static void job_push(struct job_list *l, struct job *j)
{
    j->next = NULL;
    if (l->tail)
        l->tail->next = j;
    else
        l->head = j;
    l->tail = j;
}

/* Takes `j` (after `prev`, NULL at the head) out of `l`. */
static struct job *job_unlink(struct job_list *l, struct job *prev, struct job *j)
{
    if (prev)
        prev->next = j->next;
    else
        l->head = j->next;
    if (l->tail == j)
        l->tail = prev;
    return j;
}

/* The first job whose video has fewer than `most` requests in flight
 * (parallel writers of one file contend on its inode lock). Lock held. */
static struct job *job_take(struct job_list *l, int most)
{
    struct job *prev = NULL, *j;

    for (j = l->head; j && j->vf->fetching >= most; j = j->next)
        prev = j;
    return j ? job_unlink(l, prev, j) : NULL;
}

static struct job *job_pop(struct job_list *l)
{
    return job_take(l, 1 << 30);
}

/* The first granule from `g` on, before `end`, that is neither on disk nor
 * being fetched (`end` if none). Lock held. */
static size_t next_unclaimed(stream *s, struct vfetch *vf, size_t g, size_t end)
{
    for (;;) {
        size_t missing;
        while (g < end && bit(vf->busy, g))
            g++;
        if (g == end || (missing = video_first_missing(s->cache, vf->v, g, end)) == g)
            return g;
        g = missing;
    }
}

/* Marks busy the run of missing granules nobody fetches that starts at `g`
 * (one of them), up to `end` and at most CHUNK long (no limit once the
 * server is known to ignore Range: one request brings the rest anyway).
 * Returns the end of the run. Lock held. */
static size_t claim_run(stream *s, struct vfetch *vf, size_t g, size_t end)
{
    size_t most = vf->ranges_ignored ? video_granules(vf->v) : CHUNK / G, run;
    size_t limit = video_first_present(s->cache, vf->v, g, end - g > most ? g + most : end);

    for (run = g; run < limit && !bit(vf->busy, run); run++)
        set_bit(vf->busy, run);
    return run;
}

/* Claims the missing granules in [first, end) that nobody fetches and
 * queues them as range requests (claim_run). Lock held. */
static void schedule(stream *s, struct vfetch *vf, size_t first, size_t end, bool urgent)
{
    if (vf->whole_active || !s->running)
        return;
    if (vf->ranges_ignored)
        end = video_granules(vf->v);
    for (size_t g = first; (g = next_unclaimed(s, vf, g, end)) < end; ) {
        struct job *j;
        size_t run = claim_run(s, vf, g, end);
        if (run == g) {                 /* landed since next_unclaimed looked */
            g++;
            continue;
        }
        if (!(j = malloc(sizeof *j))) {
            for (size_t b = g; b < run; b++)
                clear_bit(vf->busy, b);
            return;
        }
        *j = (struct job){ .vf = vf, .first = g, .end = run };
        log_debug("fetch %s: bytes %lld.. (%zu KiB)%s", video_id(vf->v), (long long)g * G,
                  (run - g) * G / 1024, urgent ? ", a reader waits" : "");
        video_hold(s->cache, vf->v);
        job_push(urgent ? &s->urgent : &s->ahead, j);
        pthread_cond_broadcast(&s->work);
        g = run;
    }
}

static void *fetcher_main(void *arg)
{
    stream *s = arg;

    pthread_mutex_lock(&s->lock);
    while (s->running) {
        struct job *j = job_take(&s->urgent, PER_VIDEO);
        if (!j)
            j = job_take(&s->ahead, PER_VIDEO);
        if (!j) {
            pthread_cond_wait(&s->work, &s->lock);
            continue;
        }
        j->vf->fetching++;
        pthread_mutex_unlock(&s->lock);
        fetch_range(s, j->vf, j->first, j->end, false);
        pthread_mutex_lock(&s->lock);
        j->vf->fetching--;
        pthread_cond_broadcast(&s->work);       /* its next job may go now */
        pthread_mutex_unlock(&s->lock);
        video_put(s->cache, j->vf->v);
        free(j);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

/* ---- reading ---- */

/* Notes the read with the read-ahead rule and queues what it plans.
 * Returns true for a long sequential reader. Lock held. */
static bool read_ahead(stream *s, struct vfetch *vf, off_t off, size_t size)
{
    off_t total = video_size(vf->v);
    struct readahead_plan p = readahead_note(&vf->ra, total, off, size);
    size_t to = (size_t)((p.to + G - 1) / G), tail_end = video_granules(vf->v);

    /* A reader behind a background download: what lies past the download's
     * position is its to bring, in order; read-ahead there would only make
     * it stop and start over. A reader ahead of it reads ahead as usual. */
    if (vf->background && !p.with_read) {
        size_t at = (size_t)(vf->background->written / G);
        if ((size_t)(p.from / G) < at && to > at)
            to = at;
        if ((size_t)(p.tail_from / G) < at && tail_end > at)
            tail_end = at;
    }
    if (to > (size_t)(p.from / G))
        schedule(s, vf, (size_t)(p.from / G), to, p.with_read);
    if (p.tail_from < total)
        schedule(s, vf, (size_t)(p.tail_from / G), tail_end, false);
    return p.long_run;
}

/* Moves the queued read-ahead job of `v` that holds granule `g` to the
 * urgent list: a reader now waits for it, and with many readers urgent jobs
 * would keep it waiting. Lock held. */
static void promote(stream *s, struct vfetch *vf, size_t g)
{
    struct job *prev = NULL;

    for (struct job *j = s->ahead.head; j; prev = j, j = j->next)
        if (j->vf == vf && g >= j->first && g < j->end) {
            job_push(&s->urgent, job_unlink(&s->ahead, prev, j));
            return;
        }
}

/* Returns once granules [first, end) are on disk, fetching what nobody
 * fetches; woken as bytes land. Lock held. */
static int wait_granules(stream *s, struct vfetch *vf, size_t first, size_t end,
                         const atomic_bool *cancel)
{
    unsigned gen = vf->fail_gen;
    int tries = 1;
    double since = clock_mono();

    schedule(s, vf, first, end, true);
    for (size_t g = first; g < end; g++)
        if (bit(vf->busy, g))           /* queued or in flight; promote finds the queued */
            promote(s, vf, g);
    for (;;) {
        struct timespec tick;
        bool foreground;
        size_t g = video_first_missing(s->cache, vf->v, first, end);
        if (g == end)
            return 0;
        if (cancel && atomic_load(cancel))
            return -EINTR;              /* the fetch goes on for whoever reads next */
        if (!bit(vf->busy, g) && !vf->whole_active) {
            /* Nobody fetches it: the fetch failed, or we are stopping. */
            if (vf->fail_gen != gen)
                return vf->last_error ? vf->last_error : -EIO;
            if (!s->running || ++tries > FETCH_ATTEMPTS)
                return -EIO;
            schedule(s, vf, first, end, true);
            continue;
        }
        if (clock_mono() - (vf->arrived_at > since ? vf->arrived_at : since) > STALL_SECS) {
            log_error("read %s: no bytes for %d s, giving up", video_id(vf->v), STALL_SECS);
            return -EIO;
        }
        /* Unless the downloader itself brings g, it pauses meanwhile. */
        foreground = !vf->background || !bit(vf->background->mine, g);
        if (foreground)
            s->readers_waiting++;
        else if (s->readers_behind++ == 0)
            pthread_cond_broadcast(&s->arrived);        /* a paused download goes on */
        clock_deadline(&tick, 1);
        pthread_cond_timedwait(&s->arrived, &s->lock, &tick);
        if (foreground && --s->readers_waiting == 0)
            pthread_cond_broadcast(&s->arrived);        /* a paused download goes on */
        else if (!foreground)
            s->readers_behind--;
    }
}

void stream_wake_readers(stream *s)
{
    pthread_mutex_lock(&s->lock);
    pthread_cond_broadcast(&s->arrived);
    pthread_mutex_unlock(&s->lock);
}

ssize_t stream_read(stream *s, const char *id, char *buf, size_t size, off_t off,
                    const atomic_bool *cancel)
{
    bool want_whole = false;
    off_t total;
    struct video *v;
    struct vfetch *vf;
    ssize_t n;
    int rc = tasks_video(s->tasks, id, NULL, NULL, &total);

    if (rc)
        return rc;
    if (off >= total || size == 0)
        return 0;
    if ((off_t)size > total - off)
        size = (size_t)(total - off);
    if (!(v = video_get(s->cache, id, total)))
        return -EIO;
    if (!video_complete(s->cache, v)) {
        if (!(vf = video_state(s->cache, v, vfetch_new))) {
            video_put(s->cache, v);
            return -EIO;
        }
        pthread_mutex_lock(&s->lock);
        want_whole = read_ahead(s, vf, off, size);
        rc = wait_granules(s, vf, (size_t)(off / G), (size_t)((off + (off_t)size - 1) / G) + 1,
                           cancel);
        pthread_mutex_unlock(&s->lock);
    }
    n = rc ? rc : video_read(s->cache, v, buf, size, off);
    video_put(s->cache, v);
    if (want_whole)
        stream_want(id, s);     /* a video being watched gets cached whole */
    return n;
}

void stream_set_complete_hook(stream *s, tasks_hook_fn fn, void *arg)
{
    s->on_complete = fn;
    s->on_complete_arg = arg;
}

int stream_export(stream *s, const char *id, const char *dest, bool wait_for_cache,
                  const atomic_bool *cancel)
{
    size_t chunk = 1u << 20;
    char *buf = NULL;
    struct video *v = NULL;
    off_t total, off = 0;
    int fd = -1, rc;

    if ((rc = tasks_video(s->tasks, id, NULL, NULL, &total)))
        return rc;
    if (unlink(dest) && errno != ENOENT)
        return -errno;
    if (!(rc = video_cache_link(s->cache, id, dest)))
        return 1;
    if (rc == -EAGAIN && wait_for_cache)
        return rc;                  /* the download will finish: link it then */
    rc = 0;
    if (!(v = video_get(s->cache, id, total)) || !(buf = malloc(chunk)))
        rc = -ENOMEM;
    else if ((fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
        rc = -errno;
    while (!rc && off < total) {
        ssize_t n = stream_read(s, id, buf, chunk, off, cancel);
        if (n <= 0) {
            rc = n ? (int)n : -EIO;
            break;
        }
        for (ssize_t done = 0; !rc && done < n; ) {
            ssize_t w = pwrite(fd, buf + done, (size_t)(n - done), off + done);
            if (w < 0 && errno != EINTR)
                rc = -errno;
            done += w > 0 ? w : 0;
        }
        off += n;
    }
    if (!rc && fsync(fd))
        rc = -errno;
    if (fd >= 0)
        close(fd);
    if (rc && fd >= 0)
        unlink(dest);
    free(buf);
    if (v)
        video_put(s->cache, v);
    return rc;
}

/* ---- the background downloader ---- */

void stream_forget(const char *id, void *stream_arg)
{
    stream *s = stream_arg;

    video_cache_forget(s->cache, id);
}

void stream_want(const char *id, void *stream_arg)
{
    stream *s = stream_arg;

    pthread_mutex_lock(&s->lock);
    if (!id_queue_has(&s->queue, id) && !id_queue_push(&s->queue, id))
        pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->lock);
}

/* Fetches the rest of one video in order: one background fetch per
 * missing run (fetch_range), skipping what readers are fetching. */
static void download(stream *s, const char *id)
{
    bool complete = false, announce;
    off_t size;
    struct video *v;
    struct vfetch *vf;
    int failures = 0;

    if (tasks_video(s->tasks, id, NULL, NULL, &size))
        return;
    if (!(v = video_get(s->cache, id, size)))
        return;
    if (!(vf = video_state(s->cache, v, vfetch_new))) {
        video_put(s->cache, v);
        return;
    }
    pthread_mutex_lock(&s->lock);
    while (s->running && failures < DOWNLOAD_ATTEMPTS) {
        struct timespec tick;
        bool ignored;
        size_t n = video_granules(v), g = next_unclaimed(s, vf, 0, n), end;
        if ((complete = video_complete(s->cache, v)))
            break;
        if (g == n || vf->whole_active) {
            clock_deadline(&tick, 1);           /* the rest is on its way: wait for it */
            pthread_cond_timedwait(&s->arrived, &s->lock, &tick);
            continue;
        }
        /* To the next granule a reader fetches (it stops at long cached runs
         * itself); with Range ignored, claim_run takes the rest at once. */
        if ((ignored = vf->ranges_ignored)) {
            if ((end = claim_run(s, vf, g, n)) == g)
                continue;                       /* landed meanwhile: look again */
        } else {
            end = n;
        }
        pthread_mutex_unlock(&s->lock);
        if (fetch_range(s, vf, g, end, !ignored)) {
            failures++;
            backoff(s, 1 << failures);          /* 2, 4, 8 ... s, then resume */
        }
        pthread_mutex_lock(&s->lock);
    }
    if ((announce = complete && !vf->announced))
        vf->announced = true;
    pthread_mutex_unlock(&s->lock);
    if (announce) {
        video_commit(s->cache, v);              /* durable before it is said */
        log_info("download %s: complete, %lld bytes cached", id, (long long)size);
        if (s->on_complete)
            s->on_complete(id, s->on_complete_arg);
    } else if (!complete && s->running) {
        log_info("download %s: incomplete for now; reads fetch what they need", id);
    }
    video_put(s->cache, v);
}

static void *downloader_main(void *arg)
{
    stream *s = arg;

    pthread_mutex_lock(&s->lock);
    while (s->running) {
        char *id = id_queue_pop(&s->queue);
        if (!id) {
            pthread_cond_wait(&s->work, &s->lock);
            continue;
        }
        pthread_mutex_unlock(&s->lock);
        download(s, id);
        free(id);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

int stream_start(stream *s)
{
    int rc;

    s->running = true;
    s->started = true;
    if ((rc = -video_cache_start(s->cache)) ||
        (rc = pthread_create(&s->downloader, NULL, downloader_main, s)))
        goto fail;
    s->downloading = true;
    for (; s->nfetchers < FETCHERS; s->nfetchers++)
        if ((rc = pthread_create(&s->fetchers[s->nfetchers], NULL, fetcher_main, s)))
            goto fail;
    return 0;
fail:
    stream_stop(s);
    return -rc;
}

/* Drops the queued jobs of a stopping stream. */
static void drop_jobs(stream *s, struct job_list *l)
{
    for (;;) {
        struct job *j;
        pthread_mutex_lock(&s->lock);
        if ((j = job_pop(l)))
            for (size_t g = j->first; g < j->end; g++)
                clear_bit(j->vf->busy, g);
        pthread_mutex_unlock(&s->lock);
        if (!j)
            return;
        video_put(s->cache, j->vf->v);
        free(j);
    }
}

void stream_stop(stream *s)
{
    if (!s->started)
        return;
    pthread_mutex_lock(&s->lock);
    s->running = false;
    pthread_cond_broadcast(&s->work);
    pthread_cond_broadcast(&s->arrived);
    pthread_mutex_unlock(&s->lock);
    if (s->downloading)
        pthread_join(s->downloader, NULL);
    s->downloading = false;
    for (int i = 0; i < s->nfetchers; i++)
        pthread_join(s->fetchers[i], NULL);
    s->nfetchers = 0;
    s->started = false;
    drop_jobs(s, &s->urgent);
    drop_jobs(s, &s->ahead);
    video_cache_stop(s->cache);         /* after the fetchers: commits what they queued */
    /* FUSE is done too: save what readers fetched since the last commit. */
    video_cache_commit_all(s->cache);
}
