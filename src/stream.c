/* stream.c — video.mp4 through an on-disk cache: reads, read-ahead, the
 * fetchers and the background downloader; see stream.h. One range request
 * into the cache is stream_fill.c, the cache file and its map
 * video_cache.c, the read-ahead rule readahead.c. */
#include "stream_internal.h"
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

static void *vfetch_new(struct video *v)
{
    struct vfetch *vf = calloc(1, sizeof *vf);

    if (vf && (!(vf->busy = calloc(bitmap_bytes(video_granules(v)) + 1, 1)) ||
               !(vf->wanted = calloc(bitmap_bytes(video_granules(v)) + 1, 1)))) {
        free(vf->busy);
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
    free(vf->wanted);
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
    s->read_timeout = 60;
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

void stream_cache_usage(stream *s, size_t *used, size_t *max, size_t *floor, size_t *avail)
{
    *used = video_cache_used(s->cache);
    *max = video_cache_max(s->cache);
    *floor = video_cache_floor(s->cache, avail);
}

void stream_set_read_timeout(stream *s, double seconds)
{
    s->read_timeout = seconds;
}

void stream_set_cache_floor(stream *s, size_t bytes, unsigned pct, size_t cap)
{
    video_cache_set_floor(s->cache, bytes, pct, cap);
}

int stream_restore(stream *s)
{
    int rc = video_cache_restore(s->cache);

    tasks_each_video(s->tasks, queue_if_incomplete, s);
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
    char *stage = NULL;             /* allocated at the first job (retried if it failed) */

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
        if (!stage && !(stage = stream_stage_new()))
            log_error("fetch: out of memory for a stage; this fetch fails");
        stream_fetch_range(s, j->vf, j->first, j->end, false, stage);
        pthread_mutex_lock(&s->lock);
        j->vf->fetching--;
        pthread_cond_broadcast(&s->work);       /* its next job may go now */
        pthread_mutex_unlock(&s->lock);
        video_put(s->cache, j->vf->v);
        free(j);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    free(stage);
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
     * it stop and start over. A reader ahead of it reads ahead as usual; a
     * read that asks for its own bytes with its read-ahead keeps those. */
    if (vf->background) {
        size_t at = (size_t)(vf->background->written / G);
        size_t keep = p.with_read ? (size_t)((off + (off_t)size + G - 1) / G) : 0;
        size_t stop = keep > at ? keep : at;
        if ((size_t)(p.from / G) < at && to > stop)
            to = stop;
        if ((size_t)(p.tail_from / G) < at && tail_end > at)
            tail_end = at;
    }
    /* A read that read-ahead continues right where it ends, with its own
     * bytes missing and unclaimed, goes in one urgent request with its
     * read-ahead: as two, the read-ahead may take the warm connection and
     * leave the waiting reader a cold one (a connect and a slow start). */
    if (!p.with_read && p.from == off + (off_t)size && to > (size_t)(p.from / G)) {
        size_t read_end = (size_t)((p.from + G - 1) / G);
        if (next_unclaimed(s, vf, (size_t)(off / G), read_end) < read_end) {
            p.from = off;
            p.with_read = true;
        }
    }
    if (to > (size_t)(p.from / G)) {
        /* The urgent part is what a reader waits for and a chunk after it;
         * the rest of a long window stays read-ahead, behind other readers. */
        size_t from = (size_t)(p.from / G), urgent = p.with_read ? from + CHUNK / G : from;
        if (urgent > to)
            urgent = to;
        if (urgent > from)
            schedule(s, vf, from, urgent, true);
        if (to > urgent)
            schedule(s, vf, urgent, to, false);
    }
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
        if (clock_mono() - since > s->read_timeout) {
            log_error("read %s: the bytes did not come within read_timeout=%g s, giving up",
                      video_id(vf->v), s->read_timeout);
            return -EIO;
        }
        set_bit(vf->wanted, g);         /* a fill holding it staged writes it now */
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

/* The cached video of `id` in the task's version, with a use, in *out
 * (*size its size). 0, the errors of tasks_video (no video now), or -EIO. */
static int current_video(stream *s, const char *id, off_t *size, struct video **out)
{
    char tag[VIDEO_TAG_MAX], held[VIDEO_TAG_MAX];
    int rc;

    for (int tries = 0; tries < 3; tries++) {
        struct video *v;
        if ((rc = tasks_video(s->tasks, id, NULL, NULL, size)) ||
            (rc = tasks_video_tag(s->tasks, id, tag, sizeof tag)))
            return rc;
        if (!(v = video_get(s->cache, id, *size)))
            return -EIO;
        video_learn_tag(s->cache, v, tag);
        video_tag(s->cache, v, held, sizeof held);
        if (!tag[0] || !strcmp(tag, held)) {
            *out = v;
            return 0;
        }
        /* Cached bytes of another version than the task's (opened by a
         * reader that looked just before a change): not to be fetched
         * into, nor served. */
        video_put(s->cache, v);
        video_cache_forget(s->cache, id);
    }
    return -EIO;
}

ssize_t stream_read_to(stream *s, const char *id, size_t size, off_t off,
                       const atomic_bool *cancel, stream_deliver_fn deliver, void *arg)
{
    bool want_whole = false;
    off_t total;
    struct video *v;
    struct vfetch *vf;
    ssize_t n;
    int rc = current_video(s, id, &total, &v);

    if (rc)
        return rc;
    if (off >= total)
        size = 0;
    else if ((off_t)size > total - off)
        size = (size_t)(total - off);
    if (size && !video_complete(s->cache, v)) {
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
    n = rc ? rc : deliver(arg, video_read_fd(s->cache, v), off, size);
    video_put(s->cache, v);
    if (want_whole)
        stream_want(id, s);     /* a video being watched gets cached whole */
    return n;
}

static ssize_t copy_out(void *buf, int fd, off_t off, size_t n)
{
    ssize_t got = n ? pread(fd, buf, n, off) : 0;

    return got < 0 ? -EIO : got;
}

ssize_t stream_read(stream *s, const char *id, char *buf, size_t size, off_t off,
                    const atomic_bool *cancel)
{
    return stream_read_to(s, id, size, off, cancel, copy_out, buf);
}

void stream_set_complete_hook(stream *s, tasks_hook_fn fn, void *arg)
{
    s->on_complete = fn;
    s->on_complete_arg = arg;
}

int stream_export(stream *s, const char *id, const char *dest, bool link_ok,
                  bool wait_for_cache, const atomic_bool *cancel)
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
    if ((rc = video_cache_export(s->cache, id, dest, link_ok)) > 0)
        return rc;
    if (rc == -EAGAIN && wait_for_cache)
        return rc;                  /* the download will finish: link it then */
    rc = 0;
    if ((rc = current_video(s, id, &total, &v)) || !(buf = malloc(chunk)))
        rc = rc ? rc : -ENOMEM;
    else if ((fd = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444)) < 0)
        rc = -errno;
    while (!rc && off < total) {
        ssize_t n = stream_read(s, id, buf, chunk, off, cancel);
        if (video_dropped(s->cache, v)) {
            rc = -EAGAIN;           /* another version at the server: no copy of two */
            break;
        }
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
static void download(stream *s, const char *id, char *stage)
{
    bool complete = false, announce, requeue = false;
    off_t size;
    struct video *v;
    struct vfetch *vf;
    int failures = 0;

    if (current_video(s, id, &size, &v))
        return;
    if (!(vf = video_state(s->cache, v, vfetch_new))) {
        video_put(s->cache, v);
        return;
    }
    pthread_mutex_lock(&s->lock);
    /* Players and probes read a moov-at-end MP4's index first: its end comes
     * now, beside the download, not after it (nor after their first read). */
    if (size > (off_t)READAHEAD_TAIL)
        schedule(s, vf, (size_t)((size - (off_t)READAHEAD_TAIL) / G), video_granules(v), false);
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
        int rc = stream_fetch_range(s, vf, g, end, !ignored, stage);
        if (rc == -ESTALE) {
            /* Another version at the server: this video is dropped; the
             * new one is downloaded afresh. */
            requeue = true;
            pthread_mutex_lock(&s->lock);
            break;
        }
        if (rc) {
            failures++;
            stream_backoff(s, 1 << failures);          /* 2, 4, 8 ... s, then resume */
        }
        pthread_mutex_lock(&s->lock);
    }
    if ((announce = complete && !vf->announced && !video_dropped(s->cache, v)))
        vf->announced = true;
    pthread_mutex_unlock(&s->lock);
    if (announce) {
        video_commit(s->cache, v);              /* durable before it is said */
        log_info("download %s: complete, %lld bytes cached", id, (long long)size);
        if (s->on_complete)
            s->on_complete(id, s->on_complete_arg);
    } else if (!complete && s->running && !requeue) {
        log_info("download %s: incomplete for now; reads fetch what they need", id);
    }
    video_put(s->cache, v);
    if (requeue && s->running)
        stream_want(id, s);
}

static void *downloader_main(void *arg)
{
    stream *s = arg;
    char *stage = NULL;             /* allocated at the first download (retried if it failed) */

    pthread_mutex_lock(&s->lock);
    while (s->running) {
        char *id = id_queue_pop(&s->queue);
        if (!id) {
            pthread_cond_wait(&s->work, &s->lock);
            continue;
        }
        pthread_mutex_unlock(&s->lock);
        if (!stage && !(stage = stream_stage_new()))
            log_error("download %s: out of memory for a stage; it fails", id);
        download(s, id, stage);
        free(id);
        pthread_mutex_lock(&s->lock);
    }
    pthread_mutex_unlock(&s->lock);
    free(stage);
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
