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
    atomic_bool running;             /* read without the lock by loops and sinks */
    bool started;
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
};

/* Writes `len` bytes at f->written and marks the granules now complete. */
static int fill_write(struct fill *f, const char *data, size_t len)
{
    struct video *v = f->vf->v;
    size_t first = (size_t)(f->written / G), done;

    if (video_write(v, data, len, f->written))
        return f->error = -EIO;
    f->written += (off_t)len;
    done = f->written >= video_size(v) ? video_granules(v) : (size_t)(f->written / G);
    if (done > first) {
        video_arrived(f->s->cache, v, first, done);
        pthread_mutex_lock(&f->s->lock);
        f->vf->arrived_at = clock_mono();
        pthread_cond_broadcast(&f->s->arrived);
        pthread_mutex_unlock(&f->s->lock);
    }
    return 0;
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
            return f->error = -EIO, 1;
        /* Range ignored (200, whole file from byte 0): one request fills the
         * cache in order; readers wait only for the bytes they need. */
        pthread_mutex_lock(&f->s->lock);
        mine = f->whole || !vf->whole_active;
        vf->whole_active = vf->ranges_ignored = true;
        pthread_mutex_unlock(&f->s->lock);
        if (!mine)
            return f->error = -EAGAIN, 1;       /* another request is taking it all */
        if (!f->whole)
            log_info("read %s: the server ignores Range; taking the whole file in order",
                     video_id(vf->v));
        f->whole = true;
        f->pos = f->written = 0;
        held = 0;
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
                return 1;
            held = 0;
        }
    }
    if ((n = f->pos >= size ? len : len / PAGE * PAGE) && !held) {
        if (fill_write(f, data, n))
            return 1;
        data += n;
        len -= n;
    }
    memcpy(f->tail + held, data, len);          /* less than a page */
    return !f->s->running;
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

/* Fetches granules [first, end) of `vf`, which the caller marked busy, with
 * one streamed range request (resumed on a cut, the URL refreshed once on
 * 401/403), then clears busy. A failure is recorded for the waiting readers. */
static int fetch_range(stream *s, struct vfetch *vf, size_t first, size_t end)
{
    const char *id = video_id(vf->v);
    off_t last = video_granule_end(vf->v, end - 1) - 1, expected = video_size(vf->v);
    struct fill *f = malloc(sizeof *f);
    bool refreshed = false, fresh = false, whole = false;
    int rc = f ? 0 : -ENOMEM;

    if (f)
        *f = (struct fill){ .s = s, .vf = vf, .pos = (off_t)first * G, .written = (off_t)first * G };
    for (int failures = 0; f && failures < FETCH_ATTEMPTS && s->running; ) {
        off_t total = -1, size, from;
        char *url = NULL;
        bool auth;
        if ((rc = tasks_video(s->tasks, id, &url, &auth, &size)))
            break;
        f->error = 0;
        from = f->pos;
        rc = http_get_stream(s->http, url, auth, f->pos, f->whole ? -1 : last, expected,
                             fill_sink, f, &total);
        free(url);
        if (!rc && total >= 0 && total != expected) {
            log_info("read %s: server says %lld bytes, expected %lld", id,
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
    whole = f && f->whole;
    free(f);
    pthread_mutex_lock(&s->lock);
    for (size_t g = first; g < end; g++)
        clear_bit(vf->busy, g);
    if (whole)
        vf->whole_active = false;
    if (rc) {
        vf->fail_gen++;
        vf->last_error = rc == -EACCES || rc == -ENOENT ? -EIO : rc;
    }
    pthread_cond_broadcast(&s->arrived);
    pthread_mutex_unlock(&s->lock);
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
        fetch_range(s, j->vf, j->first, j->end);
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

    if (p.to > p.from)
        schedule(s, vf, (size_t)(p.from / G), (size_t)((p.to + G - 1) / G), p.with_read);
    if (p.tail_from < total)
        schedule(s, vf, (size_t)(p.tail_from / G), video_granules(vf->v), false);
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
            log_info("read %s: no bytes for %d s, giving up", video_id(vf->v), STALL_SECS);
            return -EIO;
        }
        clock_deadline(&tick, 1);
        pthread_cond_timedwait(&s->arrived, &s->lock, &tick);
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

/* Fetches the rest of one video chunk by chunk, in order, skipping what
 * readers are fetching. */
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
        size_t n = video_granules(v), g = next_unclaimed(s, vf, 0, n), end;
        if ((complete = video_complete(s->cache, v)))
            break;
        if (g == n || vf->whole_active) {
            clock_deadline(&tick, 1);           /* the rest is on its way: wait for it */
            pthread_cond_timedwait(&s->arrived, &s->lock, &tick);
            continue;
        }
        if ((end = claim_run(s, vf, g, n)) == g)
            continue;                           /* landed meanwhile: look again */
        pthread_mutex_unlock(&s->lock);
        if (fetch_range(s, vf, g, end)) {
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
