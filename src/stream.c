/* stream.c — video.mp4 through an on-disk block cache; see stream.h. */
#include "stream.h"
#include "clock.h"
#include "log.h"
#include "strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BLOCK STORE_BLOCK
#define COMMIT_EVERY 16             /* blocks written between map commits */
#define WAIT_SECS 60                /* longest a reader waits for another's fetch */
#define DOWNLOAD_ATTEMPTS 6

struct video {
    char *id;
    int fd;
    off_t size;
    size_t nblocks, present;
    unsigned char *have, *busy;     /* bitmaps: on disk; being fetched */
    long long last_read;
    int users, unsaved;
    bool queued;
};

struct stream {
    tasks *tasks;
    http *http;
    store *store;
    char *dir;
    size_t cache_max;
    pthread_mutex_t lock;
    pthread_cond_t arrived, work;
    strmap *videos;                 /* id -> struct video */
    char **queue;                   /* ids waiting for the downloader */
    size_t queued, queue_cap;
    pthread_t thread;
    bool running, started;
};

static bool bit(const unsigned char *map, size_t i) { return map[i / 8] >> (i % 8) & 1; }
static void set_bit(unsigned char *map, size_t i) { map[i / 8] |= (unsigned char)(1u << (i % 8)); }
static void clear_bit(unsigned char *map, size_t i) { map[i / 8] &= (unsigned char)~(1u << (i % 8)); }

static size_t map_bytes(size_t nblocks) { return (nblocks + 7) / 8; }

static char *video_path(stream *s, const char *id)
{
    char *path = NULL;
    return asprintf(&path, "%s/%s.mp4", s->dir, id) < 0 ? NULL : path;
}

static void video_free(struct video *v)
{
    if (!v)
        return;
    if (v->fd >= 0)
        close(v->fd);
    free(v->id);
    free(v->have);
    free(v->busy);
    free(v);
}

/* Opens (creating, sparse) the cache file of a video. `have` may be NULL. */
static struct video *video_open(stream *s, const char *id, off_t size, const unsigned char *have,
                                size_t have_len)
{
    struct video *v = calloc(1, sizeof *v);
    char *path = video_path(s, id);
    struct stat st;

    if (!v || !path)
        goto fail;
    v->fd = -1;
    v->id = strdup(id);
    v->size = size;
    v->nblocks = (size_t)((size + BLOCK - 1) / BLOCK);
    v->have = calloc(map_bytes(v->nblocks) + 1, 1);
    v->busy = calloc(map_bytes(v->nblocks) + 1, 1);
    if (!v->id || !v->have || !v->busy)
        goto fail;
    v->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (v->fd < 0 || fstat(v->fd, &st) || (st.st_size != size && ftruncate(v->fd, size))) {
        log_info("cache %s: %s: %s", id, path, strerror(errno));
        goto fail;
    }
    /* A map is trusted only for a file of the right size. */
    if (have && have_len == map_bytes(v->nblocks) && st.st_size == size) {
        memcpy(v->have, have, have_len);
        for (size_t i = 0; i < v->nblocks; i++)
            v->present += bit(v->have, i);
    }
    free(path);
    return v;
fail:
    free(path);
    video_free(v);
    return NULL;
}

stream *stream_new(tasks *t, http *h, store *st, const char *state_dir, size_t cache_max)
{
    stream *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->tasks = t;
    s->http = h;
    s->store = st;
    s->cache_max = cache_max;
    if (asprintf(&s->dir, "%s/videos", state_dir) < 0 || !(s->videos = strmap_new())) {
        free(s);
        return NULL;
    }
    if (mkdir(s->dir, 0700) && errno != EEXIST)
        log_info("cache: %s: %s", s->dir, strerror(errno));
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->arrived, NULL);
    pthread_cond_init(&s->work, NULL);
    return s;
}

static void free_video_cb(const char *key, void *value, void *arg)
{
    (void)key; (void)arg;
    video_free(value);
}

void stream_free(stream *s)
{
    if (!s)
        return;
    stream_stop(s);
    strmap_each(s->videos, free_video_cb, NULL);
    strmap_free(s->videos);
    for (size_t i = 0; i < s->queued; i++)
        free(s->queue[i]);
    free(s->queue);
    free(s->dir);
    pthread_cond_destroy(&s->arrived);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- the map in the store ---- */

/* Makes the blocks written so far durable, then records them. */
static void commit_map(stream *s, struct video *v)
{
    struct stored_cache c;
    unsigned char *copy;
    size_t len = map_bytes(v->nblocks);

    if (fdatasync(v->fd))
        log_info("cache %s: fdatasync: %s", v->id, strerror(errno));
    pthread_mutex_lock(&s->lock);
    copy = malloc(len + 1);
    if (copy)
        memcpy(copy, v->have, len);
    c = (struct stored_cache){v->id, v->size, copy, len, v->last_read};
    v->unsaved = 0;
    pthread_mutex_unlock(&s->lock);
    if (copy && store_cache_put(s->store, &c))
        log_info("cache %s: cannot save the block map", v->id);
    free(copy);
}

static void restore_row(const struct stored_cache *c, void *arg)
{
    stream *s = arg;
    struct video *v = video_open(s, c->id, c->size, c->bitmap, c->bitmap_len);

    if (!v)
        return;
    v->last_read = c->last_read;
    if (strmap_put(s->videos, v->id, v))
        video_free(v);
}

static void queue_if_incomplete(const char *id, void *arg)
{
    stream *s = arg;
    struct video *v;
    bool complete;

    pthread_mutex_lock(&s->lock);
    v = strmap_get(s->videos, id);
    complete = v && v->present == v->nblocks;
    pthread_mutex_unlock(&s->lock);
    if (!complete)
        stream_want(id, s);
}

int stream_restore(stream *s)
{
    int rc = store_cache_load(s->store, restore_row, s);

    tasks_each_video(s->tasks, queue_if_incomplete, s);
    return rc;
}

/* ---- getting a video and its blocks ---- */

/* The video of `id` with a use count taken, opened if needed. Lock not held. */
static struct video *video_get(stream *s, const char *id, off_t size)
{
    struct video *v, *fresh = NULL;

    pthread_mutex_lock(&s->lock);
    v = strmap_get(s->videos, id);
    if (v && v->size != size) {
        log_info("cache %s: size changed from %lld to %lld, starting over", id,
                 (long long)v->size, (long long)size);
        v = NULL;       /* the old entry stays until unused; rare */
    }
    if (v) {
        v->users++;
        pthread_mutex_unlock(&s->lock);
        return v;
    }
    pthread_mutex_unlock(&s->lock);
    if (!(fresh = video_open(s, id, size, NULL, 0)))
        return NULL;
    pthread_mutex_lock(&s->lock);
    if ((v = strmap_get(s->videos, id)) && v->size == size) {
        video_free(fresh);              /* another thread opened it first */
    } else {
        if (v) {
            strmap_del(s->videos, id);
            video_free(v);
        }
        v = fresh;
        if (strmap_put(s->videos, v->id, v)) {
            pthread_mutex_unlock(&s->lock);
            video_free(v);
            return NULL;
        }
    }
    v->users++;
    pthread_mutex_unlock(&s->lock);
    return v;
}

static void video_put(stream *s, struct video *v)
{
    pthread_mutex_lock(&s->lock);
    v->users--;
    pthread_mutex_unlock(&s->lock);
}

/* Marks block `b` present (its bytes are written). Commits the map now and
 * then. Lock not held. */
static void block_written(stream *s, struct video *v, size_t b)
{
    bool commit;

    pthread_mutex_lock(&s->lock);
    if (!bit(v->have, b)) {
        set_bit(v->have, b);
        v->present++;
        v->unsaved++;
    }
    commit = v->unsaved >= COMMIT_EVERY || (v->present == v->nblocks && v->unsaved);
    pthread_cond_broadcast(&s->arrived);
    pthread_mutex_unlock(&s->lock);
    if (commit)
        commit_map(s, v);
}

static int write_block(struct video *v, size_t b, const char *data, size_t len)
{
    off_t at = (off_t)b * BLOCK;

    for (size_t done = 0; done < len; ) {
        ssize_t n = pwrite(v->fd, data + done, len - done, at + (off_t)done);
        if (n < 0) {
            log_info("cache %s: write: %s", v->id, strerror(errno));
            return -EIO;
        }
        done += (size_t)n;
    }
    return 0;
}

static size_t block_len(const struct video *v, size_t b)
{
    off_t left = v->size - (off_t)b * BLOCK;
    return left < BLOCK ? (size_t)left : BLOCK;
}

/* Reads block `b` from the server into the cache file. An expired URL
 * (401/403) is refreshed from the API once. */
static int fetch_block(stream *s, struct video *v, size_t b)
{
    size_t len = block_len(v, b);
    char *data = malloc(len), *url = NULL;
    off_t total = -1, size;
    bool auth;
    ssize_t got = -EIO;
    int rc = 0;

    if (!data)
        return -ENOMEM;
    for (int attempt = 0; attempt < 2; attempt++) {
        if ((rc = tasks_video(s->tasks, v->id, &url, &auth, &size)))
            break;
        got = http_get_range(s->http, url, auth, (off_t)b * BLOCK, len, data, &total);
        free(url);
        url = NULL;
        if (got != -EACCES || attempt)
            break;
        log_info("read %s: the video URL was refused, asking the API for a fresh one", v->id);
        if (tasks_refresh_video_url(s->tasks, v->id))
            break;
    }
    if (!rc && total >= 0 && total != v->size) {
        log_info("read %s: server says %lld bytes, expected %lld", v->id, (long long)total,
                 (long long)v->size);
        rc = -EIO;
    } else if (!rc && got != (ssize_t)len) {
        rc = -EIO;
    } else if (!rc) {
        rc = write_block(v, b, data, len);
    }
    free(data);
    if (!rc)
        block_written(s, v, b);
    return rc == -ENOENT ? -EIO : rc;
}

/* Returns once block `b` is on disk: already there, fetched here, or
 * fetched by another reader meanwhile (shared, not repeated). */
static int ensure_block(stream *s, struct video *v, size_t b)
{
    struct timespec until;
    int rc = 0;

    clock_deadline(&until, WAIT_SECS);
    pthread_mutex_lock(&s->lock);
    while (!bit(v->have, b) && bit(v->busy, b))
        if (pthread_cond_timedwait(&s->arrived, &s->lock, &until) == ETIMEDOUT) {
            rc = -EIO;
            break;
        }
    if (rc || bit(v->have, b)) {
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    set_bit(v->busy, b);
    pthread_mutex_unlock(&s->lock);

    rc = fetch_block(s, v, b);

    pthread_mutex_lock(&s->lock);
    clear_bit(v->busy, b);
    pthread_cond_broadcast(&s->arrived);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

ssize_t stream_read(stream *s, const char *id, char *buf, size_t size, off_t off)
{
    char *url = NULL;
    bool auth, complete;
    off_t total;
    struct video *v;
    ssize_t n;
    int rc = tasks_video(s->tasks, id, &url, &auth, &total);

    free(url);
    if (rc)
        return rc;
    if (off >= total || size == 0)
        return 0;
    if ((off_t)size > total - off)
        size = (size_t)(total - off);
    if (!(v = video_get(s, id, total)))
        return -EIO;
    for (size_t b = (size_t)(off / BLOCK); b <= (size_t)((off + (off_t)size - 1) / BLOCK); b++)
        if ((rc = ensure_block(s, v, b))) {
            video_put(s, v);
            return rc;
        }
    n = pread(v->fd, buf, size, off);
    pthread_mutex_lock(&s->lock);
    v->last_read = time(NULL);
    complete = v->present == v->nblocks;
    pthread_mutex_unlock(&s->lock);
    video_put(s, v);
    if (!complete)
        stream_want(id, s);     /* a video being watched gets cached whole */
    return n < 0 ? -EIO : n;
}

/* ---- the background downloader ---- */

void stream_want(const char *id, void *stream_arg)
{
    stream *s = stream_arg;
    char *copy;

    pthread_mutex_lock(&s->lock);
    for (size_t i = 0; i < s->queued; i++)
        if (!strcmp(s->queue[i], id))
            goto out;
    if (s->queued == s->queue_cap) {
        size_t cap = s->queue_cap ? s->queue_cap * 2 : 16;
        char **q = realloc(s->queue, cap * sizeof *q);
        if (!q)
            goto out;
        s->queue = q;
        s->queue_cap = cap;
    }
    if ((copy = strdup(id))) {
        s->queue[s->queued++] = copy;
        pthread_cond_signal(&s->work);
    }
out:
    pthread_mutex_unlock(&s->lock);
}

/* Collects the streamed body into whole blocks and writes the missing ones. */
struct download {
    stream *s;
    struct video *v;
    size_t block;               /* block being assembled */
    char *buf;
    size_t fill;
    int error;
};

static int download_sink(const char *data, size_t len, void *arg)
{
    struct download *d = arg;

    while (len) {
        size_t want = block_len(d->v, d->block) - d->fill, n = len < want ? len : want;
        bool need;
        memcpy(d->buf + d->fill, data, n);
        d->fill += n;
        data += n;
        len -= n;
        if (d->fill < block_len(d->v, d->block))
            continue;
        pthread_mutex_lock(&d->s->lock);
        need = !bit(d->v->have, d->block);
        bool stop = !d->s->running;
        pthread_mutex_unlock(&d->s->lock);
        if (stop)
            return 1;
        if (need) {
            if ((d->error = write_block(d->v, d->block, d->buf, d->fill)))
                return 1;
            block_written(d->s, d->v, d->block);
        }
        d->fill = 0;
        if (++d->block == d->v->nblocks)
            return 1;
    }
    return 0;
}

static size_t first_missing(stream *s, struct video *v)
{
    size_t b;

    pthread_mutex_lock(&s->lock);
    for (b = 0; b < v->nblocks && bit(v->have, b); b++)
        ;
    pthread_mutex_unlock(&s->lock);
    return b;
}

/* Picks the least recently read unused video other than `keep`, and sums
 * what is cached. */
struct lru {
    const char *keep;
    struct video *victim;
    size_t total;
};

static void pick_victim(const char *key, void *value, void *arg)
{
    struct lru *l = arg;
    struct video *v = value;
    (void)key;

    l->total += v->present * (size_t)BLOCK;
    if (!v->users && strcmp(v->id, l->keep) &&
        (!l->victim || v->last_read < l->victim->last_read))
        l->victim = v;
}

/* Evicts unused videos, least recently read first, while the cache is over
 * cache_max. Never the video `keep`. */
static void evict(stream *s, const char *keep)
{
    for (;;) {
        struct lru l = {keep, NULL, 0};
        char *path;

        if (!s->cache_max)
            return;
        pthread_mutex_lock(&s->lock);
        strmap_each(s->videos, pick_victim, &l);
        if (l.total <= s->cache_max || !l.victim) {
            pthread_mutex_unlock(&s->lock);
            return;
        }
        strmap_del(s->videos, l.victim->id);
        pthread_mutex_unlock(&s->lock);
        log_info("cache %s: evicted (cache over %zu bytes)", l.victim->id, s->cache_max);
        if ((path = video_path(s, l.victim->id)))
            unlink(path);
        free(path);
        store_cache_delete(s->store, l.victim->id);
        video_free(l.victim);
    }
}

/* Sleeps up to `seconds` unless the stream is stopping. Lock not held. */
static void pause_downloader(stream *s, double seconds)
{
    struct timespec until;

    clock_deadline(&until, seconds);
    pthread_mutex_lock(&s->lock);
    if (s->running)
        pthread_cond_timedwait(&s->work, &s->lock, &until);
    pthread_mutex_unlock(&s->lock);
}

/* Downloads the rest of one video, resuming from its first missing block. */
static void download(stream *s, const char *id)
{
    char *url = NULL;
    bool auth, refreshed = false;
    off_t size, total = -1;
    struct video *v;
    struct download d = { .s = s };

    if (tasks_video(s->tasks, id, &url, &auth, &size))
        return;
    free(url);
    if (!(v = video_get(s, id, size)) || !(d.buf = malloc(BLOCK))) {
        if (v)
            video_put(s, v);
        return;
    }
    d.v = v;
    for (int attempt = 0; attempt < DOWNLOAD_ATTEMPTS && s->running; attempt++) {
        int rc;
        d.block = first_missing(s, v);
        d.fill = 0;
        d.error = 0;
        if (d.block == v->nblocks)
            break;
        if (tasks_video(s->tasks, id, &url, &auth, &size))
            break;
        rc = http_get_stream(s->http, url, auth, (off_t)d.block * BLOCK, download_sink, &d,
                             &total);
        free(url);
        url = NULL;
        if (!rc && total >= 0 && total != v->size) {
            log_info("download %s: server says %lld bytes, expected %lld", id,
                     (long long)total, (long long)v->size);
            break;
        }
        if (rc == -EACCES && !refreshed) {
            refreshed = true;
            log_info("download %s: the video URL was refused, asking the API again", id);
            if (!tasks_refresh_video_url(s->tasks, id))
                continue;
        }
        if (first_missing(s, v) == v->nblocks)
            break;
        if (rc || d.error)
            pause_downloader(s, 1 << attempt);   /* 1, 2, 4 ... s: resume with Range */
    }
    if (first_missing(s, v) == v->nblocks) {
        commit_map(s, v);
        log_info("download %s: complete, %lld bytes cached", id, (long long)v->size);
    } else if (s->running) {
        log_info("download %s: incomplete for now; reads fetch what they need", id);
    }
    free(d.buf);
    video_put(s, v);
    evict(s, id);
}

static void *downloader_main(void *arg)
{
    stream *s = arg;

    pthread_mutex_lock(&s->lock);
    while (s->running) {
        char *id;
        if (!s->queued) {
            pthread_cond_wait(&s->work, &s->lock);
            continue;
        }
        id = s->queue[0];
        memmove(s->queue, s->queue + 1, --s->queued * sizeof *s->queue);
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
    if ((rc = pthread_create(&s->thread, NULL, downloader_main, s)))
        return -rc;
    s->started = true;
    return 0;
}

static void commit_if_unsaved(const char *key, void *value, void *arg)
{
    struct video *v = value;
    (void)key;
    if (v->unsaved)
        commit_map(arg, v);
}

void stream_stop(stream *s)
{
    if (!s->started)
        return;
    pthread_mutex_lock(&s->lock);
    s->running = false;
    pthread_cond_broadcast(&s->work);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->started = false;
    /* FUSE is done too: save what readers fetched since the last commit. */
    strmap_each(s->videos, commit_if_unsaved, s);
}
