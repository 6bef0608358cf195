/* video_cache.c — cache files and their maps; see video_cache.h. */
#include "video_cache.h"
#include "bitmap.h"
#include "clock.h"
#include "log.h"
#include "strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>         /* FICLONE */
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#define G VIDEO_GRANULE
#define COMMIT_BYTES (256u << 20)     /* written between map commits (a crash refetches these) */

struct video {
    char *id;
    int fd;
    off_t size;
    size_t ngranules, present;
    unsigned char *have;            /* bitmap of the granules on disk */
    long long last_read;            /* wall seconds, for eviction */
    size_t unsaved;                 /* bytes on disk the stored map does not list */
    int users;
    bool orphan;                    /* replaced or removed: freed by its last user */
    bool commit_queued;             /* waiting for the committer thread */
    int saving;                     /* commits storing its map (removal waits) */
    void *state;                    /* the fetch side's (video_state) */
    pthread_mutex_t write_lock;     /* one writer at a time (video_write) */
    bool shared;                    /* its blocks are also export_dir's: evicting frees none */
    char tag[VIDEO_TAG_MAX];        /* the version its bytes are of ("" unknown): video_tag */
    struct video_cache *cache;
};

struct video_cache {
    store *store;
    char *dir;
    size_t cache_max;
    void (*free_state)(void *state);
    pthread_mutex_t lock;
    strmap *videos;                 /* id -> struct video */
    strmap *removing;               /* id -> video whose file is being deleted */
    pthread_cond_t removed;         /* an id left `removing` */
    unsigned long removals;         /* counts removals, for video_get's open */
    pthread_cond_t commit_work;
    struct video **commits;         /* queued for the committer, each with a use */
    size_t ncommits, commits_cap;
    pthread_t committer;
    bool committing;                /* the committer thread runs */
    /* The free-space floor under dir (video_cache_set_floor): bytes, or a
     * percentage of the file system capped at floor_cap; 0/0 = none. */
    size_t floor_bytes, floor_cap;
    unsigned floor_pct;
    _Atomic double room_checked;    /* when room above the floor was last learned */
    _Atomic size_t room;            /* free bytes above the floor then */
    _Atomic size_t written;         /* bytes written since (counted against room) */
    _Atomic double full_logged;
};

static char *video_path(video_cache *c, const char *id)
{
    char *path = NULL;
    return asprintf(&path, "%s/%s.mp4", c->dir, id) < 0 ? NULL : path;
}

static void video_free(video_cache *c, struct video *v)
{
    if (!v)
        return;
    if (v->fd >= 0)
        close(v->fd);
    if (v->state)
        c->free_state(v->state);
    pthread_mutex_destroy(&v->write_lock);
    free(v->id);
    free(v->have);
    free(v);
}

/* Takes a stored map, converting it when it counts other units. */
static void load_map(struct video *v, const struct stored_cache *sc)
{
    long long unit = sc->block_size;
    size_t units;

    if (sc->size != v->size || unit <= 0)
        return;
    units = (size_t)((v->size + unit - 1) / unit);
    if (sc->bitmap_len != bitmap_bytes(units))
        return;
    for (size_t g = 0; g < v->ngranules; g++) {
        size_t from = (size_t)((off_t)g * G / unit);
        size_t to = (size_t)((video_granule_end(v, g) - 1) / unit);
        bool all = true;
        for (size_t u = from; u <= to && all; u++)
            all = bit(sc->bitmap, u);
        if (all) {
            set_bit(v->have, g);
            v->present++;
        }
    }
    if (unit != G && v->present)
        v->unsaved = 1;             /* save it in today's unit */
}

/* Opens (creating, sparse) the cache file of a video. `sc` may be NULL. */
static struct video *video_open(video_cache *c, const char *id, off_t size,
                                const struct stored_cache *sc)
{
    struct video *v = calloc(1, sizeof *v);
    char *path = video_path(c, id);
    struct stat st;

    if (!v || !path)
        goto fail;
    v->fd = -1;
    v->cache = c;
    pthread_mutex_init(&v->write_lock, NULL);
    v->id = strdup(id);
    v->size = size;
    v->ngranules = (size_t)((size + G - 1) / G);
    v->have = calloc(bitmap_bytes(v->ngranules) + 1, 1);
    if (!v->id || !v->have)
        goto fail;
    v->fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (v->fd < 0 || fstat(v->fd, &st) || (st.st_size != size && st.st_nlink == 1 &&
                                            ftruncate(v->fd, size))) {
        log_error("cache %s: %s: %s", id, path, strerror(errno));
        goto fail;
    }
    /* A map is trusted only for a file of the right size. */
    if (sc && st.st_size == size)
        load_map(v, sc);
    v->shared = st.st_nlink > 1;
    /* A file hard-linked into export_dir is never written again: unless it
     * is complete as it is, the cache starts a new file and the exported
     * one stays as it was. */
    if (st.st_nlink > 1 && (st.st_size != size || v->present != v->ngranules)) {
        close(v->fd);
        memset(v->have, 0, bitmap_bytes(v->ngranules) + 1);
        v->present = 0;
        v->shared = false;
        v->fd = unlink(path) && errno != ENOENT
                    ? -1 : open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (v->fd < 0 || ftruncate(v->fd, size)) {
            log_error("cache %s: %s: %s", id, path, strerror(errno));
            goto fail;
        }
    }
    free(path);
    return v;
fail:
    free(path);
    video_free(c, v);
    return NULL;
}

video_cache *video_cache_new(store *st, const char *state_dir, size_t cache_max,
                             void (*free_state)(void *state))
{
    video_cache *c = calloc(1, sizeof *c);

    if (!c)
        return NULL;
    c->store = st;
    c->cache_max = cache_max;
    c->free_state = free_state;
    if (asprintf(&c->dir, "%s/videos", state_dir) < 0)
        c->dir = NULL;
    if (!c->dir || !(c->videos = strmap_new()) || !(c->removing = strmap_new())) {
        strmap_free(c->videos);
        free(c->dir);
        free(c);
        return NULL;
    }
    if (mkdir(c->dir, 0700) && errno != EEXIST)
        log_error("cache: %s: %s", c->dir, strerror(errno));
    pthread_mutex_init(&c->lock, NULL);
    pthread_cond_init(&c->commit_work, NULL);
    pthread_cond_init(&c->removed, NULL);
    return c;
}

static void free_video_cb(const char *key, void *value, void *arg)
{
    (void)key;
    video_free(arg, value);
}

void video_cache_free(video_cache *c)
{
    if (!c)
        return;
    video_cache_stop(c);
    strmap_each(c->videos, free_video_cb, c);
    strmap_free(c->videos);
    strmap_free(c->removing);
    free(c->commits);
    free(c->dir);
    pthread_cond_destroy(&c->commit_work);
    pthread_cond_destroy(&c->removed);
    pthread_mutex_destroy(&c->lock);
    free(c);
}

static void restore_row(const struct stored_cache *sc, void *arg)
{
    video_cache *c = arg;
    struct video *v = video_open(c, sc->id, sc->size, sc);

    if (!v)
        return;
    v->last_read = sc->last_read;
    if (strmap_put(c->videos, v->id, v))
        video_free(c, v);
}

int video_cache_restore(video_cache *c)
{
    return store_cache_load(c->store, restore_row, c);
}

bool video_cache_complete(video_cache *c, const char *id)
{
    struct video *v;
    bool complete;

    pthread_mutex_lock(&c->lock);
    v = strmap_get(c->videos, id);
    complete = v && v->present == v->ngranules;
    pthread_mutex_unlock(&c->lock);
    return complete;
}

int video_cache_export(video_cache *c, const char *id, const char *dest, bool link_ok)
{
    struct video *v;
    char *path = video_path(c, id);
    int src = -1, out = -1, rc = -EAGAIN;

    if (!path)
        return -ENOMEM;
    /* A use keeps it from eviction; the copy or link itself runs unlocked
     * (export_dir may be slow: reads must not wait for it). */
    pthread_mutex_lock(&c->lock);
    if ((v = strmap_get(c->videos, id)) && v->present == v->ngranules && !v->orphan)
        v->users++;
    else
        v = NULL;
    pthread_mutex_unlock(&c->lock);
    if (!v) {
        free(path);
        return -EAGAIN;
    }
    /* A reflink (btrfs, XFS) is an independent file sharing the blocks. */
    if ((src = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
        (out = open(dest, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444)) < 0)
        rc = -errno;
    else if (!ioctl(out, FICLONE, src))
        rc = fsync(out) ? -errno : 1;
    else {
        close(out);
        out = -1;
        unlink(dest);
        rc = -EXDEV;
        /* Else a hard link: the same inode as the cache's, made read-only
         * for everyone so that nothing edits it in place by accident. */
        if (link_ok) {
            if (link(path, dest))
                rc = -errno;
            else if (fchmod(src, 0444) || fsync(src))
                rc = -errno;
            else
                rc = 2;
            if (rc < 0)
                unlink(dest);
        }
    }
    if (out >= 0)
        close(out);
    if (src >= 0)
        close(src);
    if (rc < 0 && rc != -EXDEV && out >= 0)
        unlink(dest);
    free(path);
    if (rc > 0) {                       /* a reflink or a link: the blocks stay if evicted */
        pthread_mutex_lock(&c->lock);
        v->shared = true;
        pthread_mutex_unlock(&c->lock);
    }
    video_put(c, v);
    return rc;
}

off_t video_cache_cached(video_cache *c, const char *id)
{
    struct video *v;
    off_t bytes = 0;

    pthread_mutex_lock(&c->lock);
    if ((v = strmap_get(c->videos, id))) {
        bytes = (off_t)v->present * G;
        if (bytes > v->size)
            bytes = v->size;            /* the last granule is short */
    }
    pthread_mutex_unlock(&c->lock);
    return bytes;
}

/* Takes `v` out of the cache for good: its file and its stored map go.
 * Called and returns with the lock held, dropped meanwhile; until the file
 * is gone video_get waits for the id (a reader must not open the file
 * being deleted: its bytes would land in an unlinked inode and the map
 * would claim them). Freed now if unused, else by its last user. */
static void video_remove(video_cache *c, struct video *v)
{
    char *path = video_path(c, v->id), *id = strdup(v->id);
    bool listed;

    strmap_del(c->videos, v->id);
    v->orphan = true;               /* no commit saves its map again... */
    c->removals++;
    /* Readers of the id wait from now on, also while we wait below. */
    listed = id && !strmap_put(c->removing, id, (void *)1);
    v->users++;                     /* ours across the waits */
    while (v->saving)               /* ...nor one under way after we delete it */
        pthread_cond_wait(&c->removed, &c->lock);
    if (!listed) {
        /* ENOMEM: delete under the lock rather than race a reader. */
        if (path)
            unlink(path);
        store_cache_delete(c->store, v->id);
    }
    if (--v->users == 0)            /* else its last user frees it (orphan) */
        video_free(c, v);
    if (listed) {
        pthread_mutex_unlock(&c->lock);
        if (path)
            unlink(path);
        store_cache_delete(c->store, id);
        pthread_mutex_lock(&c->lock);
        strmap_del(c->removing, id);
        pthread_cond_broadcast(&c->removed);
    }
    free(path);
    free(id);
}

struct video *video_get(video_cache *c, const char *id, off_t size)
{
    struct video *v, *fresh;
    unsigned long removals;

    pthread_mutex_lock(&c->lock);
again:
    while (strmap_get(c->removing, id))
        pthread_cond_wait(&c->removed, &c->lock);
    v = strmap_get(c->videos, id);
    if (v && v->size == size) {
        v->users++;
        pthread_mutex_unlock(&c->lock);
        return v;
    }
    if (v) {
        /* Another version: its file goes, so that the new one is another
         * inode and a user still holding the old video (a read between its
         * check and its copy, a fill under way) keeps the old bytes,
         * neither serving the new ones nor writing into them. */
        log_info("cache %s: size changed from %lld to %lld, starting over", id,
                 (long long)v->size, (long long)size);
        video_remove(c, v);
        goto again;
    }
    removals = c->removals;
    pthread_mutex_unlock(&c->lock);
    if (!(fresh = video_open(c, id, size, NULL)))
        return NULL;
    pthread_mutex_lock(&c->lock);
    if (c->removals != removals) {
        video_free(c, fresh);           /* maybe opened a file being deleted */
        goto again;
    }
    if (strmap_get(c->videos, id)) {
        video_free(c, fresh);           /* another thread opened it first */
        goto again;
    }
    v = fresh;
    if (strmap_put(c->videos, v->id, v)) {
        pthread_mutex_unlock(&c->lock);
        video_free(c, v);
        return NULL;
    }
    v->users++;
    pthread_mutex_unlock(&c->lock);
    return v;
}

void video_hold(video_cache *c, struct video *v)
{
    pthread_mutex_lock(&c->lock);
    v->users++;
    pthread_mutex_unlock(&c->lock);
}

void video_put(video_cache *c, struct video *v)
{
    pthread_mutex_lock(&c->lock);
    if (--v->users == 0 && v->orphan)
        video_free(c, v);
    pthread_mutex_unlock(&c->lock);
}

const char *video_id(const struct video *v) { return v->id; }
off_t video_size(const struct video *v) { return v->size; }
size_t video_granules(const struct video *v) { return v->ngranules; }

off_t video_granule_end(const struct video *v, size_t g)
{
    off_t end = (off_t)(g + 1) * G;
    return end < v->size ? end : v->size;
}

void *video_state(video_cache *c, struct video *v, void *(*make)(struct video *v))
{
    void *state;

    pthread_mutex_lock(&c->lock);
    if (!v->state)
        v->state = make(v);
    state = v->state;
    pthread_mutex_unlock(&c->lock);
    return state;
}

/* The first granule in [from, end) whose presence is `want`. */
static size_t first_with(video_cache *c, struct video *v, size_t from, size_t end, bool want)
{
    size_t g = from;

    pthread_mutex_lock(&c->lock);
    if (end > v->ngranules)
        end = v->ngranules;
    while (g < end && bit(v->have, g) != want)
        g++;
    pthread_mutex_unlock(&c->lock);
    return g;                           /* never below `from`: callers loop on it */
}

size_t video_first_missing(video_cache *c, struct video *v, size_t from, size_t end)
{
    return first_with(c, v, from, end, false);
}

size_t video_first_present(video_cache *c, struct video *v, size_t from, size_t end)
{
    return first_with(c, v, from, end, true);
}

void video_tag(video_cache *c, struct video *v, char *tag, size_t size)
{
    pthread_mutex_lock(&c->lock);
    snprintf(tag, size, "%s", v->tag);
    pthread_mutex_unlock(&c->lock);
}

void video_learn_tag(video_cache *c, struct video *v, const char *tag)
{
    pthread_mutex_lock(&c->lock);
    if (!v->tag[0])
        snprintf(v->tag, sizeof v->tag, "%s", tag);
    pthread_mutex_unlock(&c->lock);
}

bool video_dropped(video_cache *c, struct video *v)
{
    pthread_mutex_lock(&c->lock);
    bool dropped = v->orphan;
    pthread_mutex_unlock(&c->lock);
    return dropped;
}

bool video_complete(video_cache *c, struct video *v)
{
    bool complete;

    pthread_mutex_lock(&c->lock);
    complete = v->present == v->ngranules;
    pthread_mutex_unlock(&c->lock);
    return complete;
}

int video_read_fd(video_cache *c, struct video *v)
{
    pthread_mutex_lock(&c->lock);
    v->last_read = time(NULL);
    pthread_mutex_unlock(&c->lock);
    return v->fd;
}

void video_cache_set_floor(video_cache *c, size_t bytes, unsigned pct, size_t cap)
{
    c->floor_bytes = bytes;
    c->floor_pct = pct;
    c->floor_cap = cap;
    atomic_store(&c->room_checked, -1.0);
}

/* The floor in bytes for a file system, and what is free there. */
static size_t floor_of(const video_cache *c, const struct statvfs *fs)
{
    size_t floor = c->floor_bytes;

    if (c->floor_pct) {
        floor = (size_t)((unsigned long long)fs->f_blocks * fs->f_frsize / 100 * c->floor_pct);
        if (c->floor_cap && floor > c->floor_cap)
            floor = c->floor_cap;
    }
    return floor;
}

size_t video_cache_floor(video_cache *c, size_t *avail)
{
    struct statvfs fs;

    *avail = SIZE_MAX;
    if (statvfs(c->dir, &fs))
        return 0;
    *avail = (size_t)((unsigned long long)fs.f_bavail * fs.f_frsize);
    return floor_of(c, &fs);
}

/* Whether `len` more bytes fit above the floor. statvfs runs at most every
 * 0.25 s (one per 128 KiB write would show); in between, the bytes written
 * since are counted against the room it found, so the floor holds however
 * fast the cache writes. Others' writes in those 0.25 s are not counted. */
static bool room_left(video_cache *c, size_t len, bool fresh)
{
    double now = clock_mono();
    size_t avail, floor, written;

    if (!c->floor_bytes && !c->floor_pct)
        return true;
    written = atomic_fetch_add(&c->written, len) + len;
    if (!fresh && now - atomic_load(&c->room_checked) < 0.25 &&
        written <= atomic_load(&c->room))
        return true;
    floor = video_cache_floor(c, &avail);
    if (avail == SIZE_MAX)                  /* statvfs failed: no floor to keep */
        return true;
    atomic_store(&c->room, avail > floor ? avail - floor : 0);
    atomic_store(&c->written, len);
    atomic_store(&c->room_checked, now);
    return avail >= floor && len <= avail - floor;
}

void video_reserve(struct video *v, off_t at, off_t len)
{
    if (len <= 0 || at < 0 || at >= v->size)
        return;
    if (len > v->size - at)
        len = v->size - at;
    /* Not below the floor: there only the writes themselves may go, and
     * they check first. */
    if (room_left(v->cache, (size_t)len, false))
        (void)fallocate(v->fd, FALLOC_FL_KEEP_SIZE, at, len);
}

int video_write(struct video *v, const char *data, size_t len, off_t at)
{
    int rc = 0;

    /* Below the floor the cache takes no more, once eviction of the other
     * unused videos made what room it could: submissions (the store) keep
     * their room. */
    if (!room_left(v->cache, len, false) && (video_cache_evict(v->cache, v->id, len),
                                             !room_left(v->cache, len, true))) {
        double now = clock_mono();
        if (now - atomic_load(&v->cache->full_logged) > 10) {
            atomic_store(&v->cache->full_logged, now);
            log_error("cache %s: free space under %s is below the floor (cache_min_free);"
                      " not caching more", v->id, v->cache->dir);
        }
        return -ENOSPC;
    }
    pthread_mutex_lock(&v->write_lock);
    for (size_t done = 0; done < len; ) {
        ssize_t n = pwrite(v->fd, data + done, len - done, at + (off_t)done);
        if (n < 0) {
            log_error("cache %s: write: %s", v->id, strerror(errno));
            rc = errno == ENOSPC ? -ENOSPC : -EIO;
            break;
        }
        done += (size_t)n;
    }
    pthread_mutex_unlock(&v->write_lock);
    return rc;
}

/* Has the committer thread commit `v` soon: fdatasync of tens of MiB takes
 * long enough to stall the fetch that would wait for it. Lock held. */
static void queue_commit(video_cache *c, struct video *v)
{
    if (v->commit_queued || !c->committing)
        return;                         /* the next due commit, or stop, saves it */
    if (c->ncommits == c->commits_cap) {
        size_t cap = c->commits_cap ? c->commits_cap * 2 : 8;
        struct video **q = realloc(c->commits, cap * sizeof *q);
        if (!q)
            return;
        c->commits = q;
        c->commits_cap = cap;
    }
    v->commit_queued = true;
    v->users++;
    c->commits[c->ncommits++] = v;
    pthread_cond_signal(&c->commit_work);
}

void video_arrived(video_cache *c, struct video *v, size_t first, size_t end)
{
    pthread_mutex_lock(&c->lock);
    for (size_t g = first; g < end; g++)
        if (!bit(v->have, g)) {
            set_bit(v->have, g);
            v->present++;
            v->unsaved += (size_t)(video_granule_end(v, g) - (off_t)g * G);
        }
    if (v->present == v->ngranules)
        v->last_read = time(NULL);      /* just completed: not the first to evict */
    if (v->unsaved >= COMMIT_BYTES || (v->present == v->ngranules && v->unsaved))
        queue_commit(c, v);
    pthread_mutex_unlock(&c->lock);
}

/* fdatasync, then the map into the store. Lock not held. */
static void commit_map(video_cache *c, struct video *v)
{
    struct stored_cache sc;
    unsigned char *copy;
    size_t len = bitmap_bytes(v->ngranules);

    if (fdatasync(v->fd))
        log_error("cache %s: fdatasync: %s", v->id, strerror(errno));
    pthread_mutex_lock(&c->lock);
    if (v->orphan) {                    /* replaced or removed: its map is not the id's */
        pthread_mutex_unlock(&c->lock);
        return;
    }
    if ((copy = malloc(len + 1)))
        memcpy(copy, v->have, len);
    sc = (struct stored_cache){v->id, v->size, copy, len, v->last_read, G};
    v->unsaved = 0;
    v->saving++;
    pthread_mutex_unlock(&c->lock);
    if (copy && store_cache_put(c->store, &sc))
        log_error("cache %s: cannot save the block map", v->id);
    free(copy);
    pthread_mutex_lock(&c->lock);
    v->saving--;
    pthread_cond_broadcast(&c->removed);
    pthread_mutex_unlock(&c->lock);
}

void video_commit(video_cache *c, struct video *v)
{
    commit_map(c, v);
    video_cache_evict(c, v->id, 0);
}

/* Commits queued maps until stopped, then what is still queued. */
static void *committer_main(void *arg)
{
    video_cache *c = arg;

    pthread_mutex_lock(&c->lock);
    for (;;) {
        struct video *v;
        if (!c->ncommits) {
            if (!c->committing)
                break;
            pthread_cond_wait(&c->commit_work, &c->lock);
            continue;
        }
        v = c->commits[0];
        memmove(c->commits, c->commits + 1, --c->ncommits * sizeof *c->commits);
        v->commit_queued = false;
        pthread_mutex_unlock(&c->lock);
        video_commit(c, v);
        video_put(c, v);
        pthread_mutex_lock(&c->lock);
    }
    pthread_mutex_unlock(&c->lock);
    return NULL;
}

int video_cache_start(video_cache *c)
{
    int rc;

    c->committing = true;
    if ((rc = pthread_create(&c->committer, NULL, committer_main, c))) {
        c->committing = false;
        return -rc;
    }
    return 0;
}

void video_cache_stop(video_cache *c)
{
    pthread_mutex_lock(&c->lock);
    bool was = c->committing;
    c->committing = false;
    pthread_cond_signal(&c->commit_work);
    pthread_mutex_unlock(&c->lock);
    if (was)
        pthread_join(c->committer, NULL);
}

static void commit_if_unsaved(const char *key, void *value, void *arg)
{
    struct video *v = value;
    (void)key;
    if (v->unsaved)
        commit_map(arg, v);
}

void video_cache_commit_all(video_cache *c)
{
    strmap_each(c->videos, commit_if_unsaved, c);
}

/* Picks the least recently read unused video other than `keep` (for
 * cache_max), the same among those whose eviction frees blocks (for the
 * floor), and sums what is cached and what eviction could free. */
struct lru {
    const char *keep;
    struct video *victim, *freeing;
    size_t total, freeable;
};

static void pick_victim(const char *key, void *value, void *arg)
{
    struct lru *l = arg;
    struct video *v = value;
    size_t bytes = v->present * (size_t)G;
    (void)key;

    l->total += bytes;
    if (v->users || !strcmp(v->id, l->keep))
        return;
    if (!l->victim || v->last_read < l->victim->last_read)
        l->victim = v;
    if (!v->shared) {
        l->freeable += bytes;
        if (!l->freeing || v->last_read < l->freeing->last_read)
            l->freeing = v;
    }
}

/* What eviction should take now: for cache_max, else for `need` bytes
 * above the floor if evicting everything it could would make them (else
 * nothing: emptying the cache for room it cannot make helps nobody).
 * Lock held. */
static struct video *victim_for(video_cache *c, const struct lru *l, size_t need,
                                const char **why)
{
    size_t avail, floor;

    if (c->cache_max && l->total > c->cache_max) {
        *why = "cache over cache_max";
        return l->victim;
    }
    if (!c->floor_bytes && !c->floor_pct)
        return NULL;
    floor = video_cache_floor(c, &avail);
    if (avail == SIZE_MAX || floor > SIZE_MAX - need)
        return NULL;
    floor += need;
    if (avail >= floor || avail + l->freeable < floor)
        return NULL;
    *why = "free space below the floor";
    return l->freeing;
}

static void add_present(const char *key, void *value, void *arg)
{
    struct video *v = value;
    (void)key;

    *(size_t *)arg += v->present * (size_t)G;
}

size_t video_cache_used(video_cache *c)
{
    size_t used = 0;

    pthread_mutex_lock(&c->lock);
    strmap_each(c->videos, add_present, &used);
    pthread_mutex_unlock(&c->lock);
    return used;
}

size_t video_cache_max(const video_cache *c)
{
    return c->cache_max;
}

void video_cache_evict(video_cache *c, const char *keep, size_t need)
{
    for (;;) {
        struct lru l = {keep, NULL, NULL, 0, 0};
        struct video *victim;
        const char *why = NULL;

        if (!c->cache_max && !c->floor_bytes && !c->floor_pct)
            return;
        pthread_mutex_lock(&c->lock);
        strmap_each(c->videos, pick_victim, &l);
        if (!(victim = victim_for(c, &l, need, &why))) {
            pthread_mutex_unlock(&c->lock);
            return;
        }
        log_info("cache %s: evicted (%s)", victim->id, why);
        video_remove(c, victim);
        pthread_mutex_unlock(&c->lock);
    }
}

void video_cache_forget(video_cache *c, const char *id)
{
    struct video *v;

    pthread_mutex_lock(&c->lock);
    if ((v = strmap_get(c->videos, id)))
        video_remove(c, v);
    pthread_mutex_unlock(&c->lock);
}
