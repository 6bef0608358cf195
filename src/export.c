/* export.c — finished videos into export_dir, exactly once; see export.h. */
#include "export.h"
#include "clock.h"
#include "log.h"
#include "names.h"
#include "strmap.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define RETRY_SECS 30.0

/* A task's row in the store, as kept in memory: state is one of the
 * static strings, base the name its files got (NULL for "before"). */
static const char ST_BEFORE[] = "before", ST_RENAMING[] = "renaming", ST_DONE[] = "done";

struct row {
    const char *state;
    char *base;
};

struct job {
    char *id;
    double due;                     /* clock_mono() */
    int tries;                      /* the first waits for the cache, to link */
};

struct exporter {
    char *dir;
    bool by_id;
    tasks *tasks;
    stream *stream;
    store *store;
    pthread_mutex_t lock;           /* rows, jobs, running */
    pthread_cond_t wake;
    strmap *rows;                   /* id -> struct row */
    char *real;                     /* dir, resolved (what "the same folder" means) */
    bool link;                      /* export_link: hard links allowed */
    struct job *jobs;
    size_t njobs, cap;
    bool running, started;
    atomic_bool stop;               /* ends a copy in progress */
    pthread_t thread;
};

exporter *export_new(const char *dir, bool by_id, bool link, tasks *t, stream *s, store *st)
{
    exporter *e = calloc(1, sizeof *e);

    if (!e || !(e->dir = strdup(dir)) || !(e->rows = strmap_new())) {
        if (e)
            free(e->dir);
        free(e);
        return NULL;
    }
    e->by_id = by_id;
    e->link = link;
    e->tasks = t;
    e->stream = s;
    e->store = st;
    pthread_mutex_init(&e->lock, NULL);
    pthread_cond_init(&e->wake, NULL);
    return e;
}

static void free_row(const char *key, void *value, void *arg)
{
    struct row *r = value;
    (void)key; (void)arg;

    free(r->base);
    free(r);
}

void export_free(exporter *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->njobs; i++)
        free(e->jobs[i].id);
    free(e->jobs);
    strmap_each(e->rows, free_row, NULL);
    strmap_free(e->rows);
    free(e->real);
    pthread_mutex_destroy(&e->lock);
    pthread_cond_destroy(&e->wake);
    free(e->dir);
    free(e);
}

/* Lock held. A job for `id` due at `due` (an earlier one if queued). */
static void queue(exporter *e, const char *id, double due, int tries)
{
    struct job *grown;

    for (size_t i = 0; i < e->njobs; i++)
        if (!strcmp(e->jobs[i].id, id)) {
            if (due < e->jobs[i].due) {
                e->jobs[i].due = due;
                pthread_cond_signal(&e->wake);
            }
            return;
        }
    if (e->njobs == e->cap) {
        if (!(grown = realloc(e->jobs, (e->cap * 2 + 16) * sizeof *grown)))
            return;
        e->jobs = grown;
        e->cap = e->cap * 2 + 16;
    }
    if ((e->jobs[e->njobs].id = strdup(id))) {
        e->jobs[e->njobs].due = due;
        e->jobs[e->njobs].tries = tries;
        e->njobs++;
        pthread_cond_signal(&e->wake);
    }
}

/* Lock held. The row of `id` says `state` (and `base`, copied) from now on. */
static int set_row_locked(exporter *e, const char *id, const char *state, const char *base)
{
    struct row *r = strmap_get(e->rows, id);
    char *copy = base ? strdup(base) : NULL;

    if (base && !copy)
        return -ENOMEM;
    if (!r) {
        if (!(r = calloc(1, sizeof *r)) || strmap_put(e->rows, id, r)) {
            free(r);
            free(copy);
            return -ENOMEM;
        }
    }
    free(r->base);
    r->state = state;
    r->base = copy;
    return 0;
}

static const char *state_of(exporter *e, const char *id)
{
    struct row *r = strmap_get(e->rows, id);
    return r ? r->state : NULL;
}

void export_want(const char *id, void *exporter_arg)
{
    exporter *e = exporter_arg;
    const char *state;

    pthread_mutex_lock(&e->lock);
    state = state_of(e, id);
    if (state != ST_DONE && state != ST_BEFORE)
        queue(e, id, 0, 0);
    pthread_mutex_unlock(&e->lock);
}

static void load_row(const char *id, const char *state, const char *base, void *arg)
{
    exporter *e = arg;

    set_row_locked(e, id, !strcmp(state, ST_DONE) ? ST_DONE :
                          !strcmp(state, ST_BEFORE) ? ST_BEFORE : ST_RENAMING, base);
}

/* The tasks of ours that are final, and not handled yet. */
struct final_walk {
    exporter *e;
    char **ids;
    size_t n, cap;
};

static void collect_final(const char *id, const char *name, void *arg)
{
    struct final_walk *w = arg;
    char **grown;

    if (!name || strmap_get(w->e->rows, id))       /* tasks' lock, not ours: restore only */
        return;
    if (w->n == w->cap) {
        if (!(grown = realloc(w->ids, (w->cap * 2 + 16) * sizeof *grown)))
            return;
        w->ids = grown;
        w->cap = w->cap * 2 + 16;
    }
    if ((w->ids[w->n] = strdup(id)))
        w->n++;
}

static int make_dir(const char *dir)
{
    char *copy = strdup(dir);
    int rc = 0;

    if (!copy)
        return -ENOMEM;
    for (char *p = copy + 1; ; p++) {
        if (*p == '/' || !*p) {
            char saved = *p;
            *p = '\0';
            if (mkdir(copy, 0755) && errno != EEXIST) {
                rc = -errno;
                break;
            }
            if (!(*p = saved))
                break;
        }
    }
    free(copy);
    return rc;
}

static void queue_renaming(const char *id, void *value, void *arg)
{
    if (((struct row *)value)->state == ST_RENAMING)
        queue(arg, id, 0, 0);
}

int export_restore(exporter *e)
{
    struct final_walk w = {e, NULL, 0, 0};
    struct task_stat ts;
    size_t final = 0;
    char *last = NULL;
    bool first;
    int rc;

    if ((rc = make_dir(e->dir)) || (!(e->real = realpath(e->dir, NULL)) && (rc = -errno))) {
        log_error("export_dir %s: %s", e->dir, strerror(-rc));
        return rc;
    }
    pthread_mutex_lock(&e->lock);
    rc = store_exports_load(e->store, load_row, e);
    pthread_mutex_unlock(&e->lock);
    if (rc || (rc = store_setting_get(e->store, "export_dir", &last)))
        return rc;
    /* The same folder by its resolved path ("dir/" and "dir" are one). */
    first = !last || strcmp(last, e->real);
    free(last);
    tasks_each(e->tasks, collect_final, &w);        /* under the tasks' lock: ids only */
    for (size_t i = 0; i < w.n; i++) {
        if (!tasks_stat(e->tasks, w.ids[i], &ts) && status_final(&ts.status))
            w.ids[final++] = w.ids[i];
        else
            free(w.ids[i]);
    }
    pthread_mutex_lock(&e->lock);
    if (first) {
        /* A new folder starts with what finishes from now on. */
        rc = store_exports_put_many(e->store, w.ids, final, ST_BEFORE, "export_dir", e->real);
        for (size_t i = 0; !rc && i < final; i++)
            set_row_locked(e, w.ids[i], ST_BEFORE, NULL);
        if (!rc && final)
            log_info("export %s: new folder; %zu task(s) that finished before it are not"
                     " exported", e->dir, final);
    } else {
        for (size_t i = 0; i < final; i++)
            queue(e, w.ids[i], 0, 0);      /* finished while we were down */
    }
    strmap_each(e->rows, queue_renaming, e);        /* cut short by a crash */
    pthread_mutex_unlock(&e->lock);
    for (size_t i = 0; i < final; i++)
        free(w.ids[i]);
    free(w.ids);
    return rc;
}

/* ---- one task's files ---- */

/* What a task leaves in the folder. */
static const char *const suffixes[] = {".mp4", ".last_frame.png", ".failed", NULL};

/* DIR/BASE+suffix, or its temporary DIR/.BASE+suffix.tmp. */
static int file_path(const exporter *e, const char *base, const char *suffix, bool tmp,
                     char *out, size_t size)
{
    int n = snprintf(out, size, tmp ? "%s/.%s%s.tmp" : "%s/%s%s", e->dir, base, suffix);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Writes `data` to a new `path` (mode 0444) and makes it durable. */
static int write_file(const char *path, const char *data, size_t len)
{
    int fd, rc = 0;

    if (unlink(path) && errno != ENOENT)
        return -errno;
    if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444)) < 0)
        return -errno;
    for (size_t done = 0; !rc && done < len; ) {
        ssize_t w = write(fd, data + done, len - done);
        if (w < 0 && errno != EINTR)
            rc = -errno;
        done += w > 0 ? (size_t)w : 0;
    }
    if (!rc && fsync(fd))
        rc = -errno;
    close(fd);
    if (rc)
        unlink(path);
    return rc;
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

    if (fd < 0)
        return -errno;
    if (fsync(fd))
        rc = -errno;
    close(fd);
    return rc;
}

/* Removes the temporary files of `base` (a task gone, or a failed write). */
static void remove_tmp(const exporter *e, const char *base)
{
    char path[4096];

    for (int i = 0; suffixes[i]; i++)
        if (!file_path(e, base, suffixes[i], true, path, sizeof path))
            unlink(path);
}

/* The name a task's files get: NAME (or the id), unless a file of that
 * name is there already (an earlier task of the same name, or the user's):
 * then NAME.<id>, so nothing in the folder is ever replaced. */
static int choose_base(const exporter *e, const char *id, const char *name, char *base,
                       size_t size)
{
    char path[4096];
    bool taken = false;

    snprintf(base, size, "%s", e->by_id ? id : name);
    for (int i = 0; suffixes[i] && !taken; i++)
        taken = !file_path(e, base, suffixes[i], false, path, sizeof path) && !access(path, F_OK);
    if (taken && (size_t)snprintf(base, size, "%s.%s", name, id) >= size)
        return -ENAMETOOLONG;
    return 0;
}

/* The temporary files of a task, written and durable: the video (and last
 * frame), or a .failed file with the status, the API's error or why the
 * video cannot be had. */
static int write_files(exporter *e, const char *id, const char *base,
                       const struct task_stat *ts, bool wait_for_cache)
{
    char path[4096], *data = NULL, *why = NULL;
    size_t len = 0, why_len = 0;
    bool video = ts->status.code == STATUS_SUCCEEDED && !ts->size[TASK_VIDEO_ERROR];
    int rc;

    if (video) {
        if ((rc = file_path(e, base, ".mp4", true, path, sizeof path)))
            return rc;
        if ((rc = stream_export(e->stream, id, path, e->link, wait_for_cache, &e->stop)) < 0)
            return rc;
        if (!tasks_read_file(e->tasks, id, TASK_LAST_FRAME, &data, &len) && len) {
            if (!(rc = file_path(e, base, ".last_frame.png", true, path, sizeof path)))
                rc = write_file(path, data, len);
            free(data);
            return rc;
        }
        return 0;
    }
    tasks_read_file(e->tasks, id, ts->status.code == STATUS_SUCCEEDED ? TASK_VIDEO_ERROR
                                                                        : TASK_ERROR,
                    &why, &why_len);
    if (asprintf(&data, "%s\n%.*s%s", status_name(&ts->status), (int)why_len, why ? why : "",
                 why_len && why[why_len - 1] != '\n' ? "\n" : "") < 0)
        data = NULL;
    free(why);
    if (!data)
        return -ENOMEM;
    if (!(rc = file_path(e, base, ".failed", true, path, sizeof path)))
        rc = write_file(path, data, strlen(data));
    free(data);
    return rc;
}

/* Renames every temporary file of `base` still there onto its final name,
 * never replacing a file (one that appeared meanwhile keeps its place and
 * the temporary file goes). A temporary name that is gone was renamed
 * before a crash. */
static int rename_files(exporter *e, const char *base)
{
    char from[4096], to[4096];
    int rc = 0;

    for (int i = 0; suffixes[i] && !rc; i++) {
        if ((rc = file_path(e, base, suffixes[i], true, from, sizeof from)) ||
            (rc = file_path(e, base, suffixes[i], false, to, sizeof to)))
            break;
        if (!renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) || errno == ENOENT)
            continue;
        if (errno != EEXIST) {
            rc = -errno;
            break;
        }
        log_error("export %s: appeared meanwhile; not replaced", to);
        unlink(from);
    }
    return rc ? rc : sync_dir(e->dir);
}

static int set_row(exporter *e, const char *id, const char *state, const char *base)
{
    int rc = store_export_put(e->store, id, state, base);

    pthread_mutex_lock(&e->lock);
    if (!rc)
        rc = set_row_locked(e, id, state, base);
    pthread_mutex_unlock(&e->lock);
    return rc;
}

/* One task: 0 when it is handled (or there is nothing to do), else try
 * again later. */
static int export_one(exporter *e, const char *id, bool wait_for_cache)
{
    char name[NAMES_MAX_KEY + 1], model[256], base[2 * NAMES_MAX_KEY + 2];
    struct task_stat ts;
    struct row *r;
    const char *state;
    int rc;

    pthread_mutex_lock(&e->lock);
    r = strmap_get(e->rows, id);
    state = r ? r->state : NULL;
    snprintf(base, sizeof base, "%s", r && r->base ? r->base : "");
    pthread_mutex_unlock(&e->lock);
    if (state == ST_DONE || state == ST_BEFORE)
        return 0;
    if (tasks_stat(e->tasks, id, &ts) ||
        tasks_describe(e->tasks, id, name, model, sizeof name) || !name[0]) {
        if (state == ST_RENAMING) {     /* gone before its renames: nothing to show */
            remove_tmp(e, base);
            return set_row(e, id, ST_DONE, base);
        }
        return 0;                       /* gone, or not ours */
    }
    if (!status_final(&ts.status))
        return 0;
    if (state != ST_RENAMING) {
        if ((rc = choose_base(e, id, name, base, sizeof base)))
            return rc;
        if ((rc = write_files(e, id, base, &ts, wait_for_cache))) {
            remove_tmp(e, base);
            return rc;
        }
        /* The temporary names are durable; from here a restart renames
         * what is left (under this base) instead of writing again. */
        if ((rc = sync_dir(e->dir)) || (rc = set_row(e, id, ST_RENAMING, base)))
            return rc;
    }
    if ((rc = rename_files(e, base)) || (rc = set_row(e, id, ST_DONE, base)))
        return rc;
    log_info("export %s: %s%s in %s", id, base,
             ts.status.code == STATUS_SUCCEEDED && !ts.size[TASK_VIDEO_ERROR] ? ".mp4" : ".failed",
             e->dir);
    return 0;
}

static void *export_main(void *arg)
{
    exporter *e = arg;

    pthread_mutex_lock(&e->lock);
    while (e->running) {
        double now = clock_mono(), earliest = -1;
        size_t pick = e->njobs;
        for (size_t i = 0; i < e->njobs; i++) {
            if (e->jobs[i].due <= now) {
                pick = i;
                break;
            }
            if (earliest < 0 || e->jobs[i].due < earliest)
                earliest = e->jobs[i].due;
        }
        if (pick == e->njobs) {
            struct timespec until;
            if (earliest < 0)
                pthread_cond_wait(&e->wake, &e->lock);
            else {
                clock_deadline(&until, earliest - now);
                pthread_cond_timedwait(&e->wake, &e->lock, &until);
            }
            continue;
        }
        char *id = e->jobs[pick].id;
        int tries = e->jobs[pick].tries;
        e->jobs[pick] = e->jobs[--e->njobs];
        pthread_mutex_unlock(&e->lock);
        int rc = export_one(e, id, tries == 0);
        pthread_mutex_lock(&e->lock);
        if (rc && e->running) {
            /* Not all cached yet: the download's end (export_want) or, if
             * it stalls, the retry brings it back, then as a copy. */
            if (rc != -EAGAIN || tries)
                log_error("export %s: %s; trying again in %.0f s", id, strerror(-rc),
                          RETRY_SECS);
            queue(e, id, clock_mono() + RETRY_SECS, tries + 1);
        }
        free(id);
    }
    pthread_mutex_unlock(&e->lock);
    return NULL;
}

int export_start(exporter *e)
{
    int rc;

    e->running = true;
    if ((rc = pthread_create(&e->thread, NULL, export_main, e))) {
        e->running = false;
        return -rc;
    }
    e->started = true;
    return 0;
}

void export_stop(exporter *e)
{
    if (!e->started)
        return;
    pthread_mutex_lock(&e->lock);
    e->running = false;
    atomic_store(&e->stop, true);
    pthread_cond_broadcast(&e->wake);
    pthread_mutex_unlock(&e->lock);
    stream_wake_readers(e->stream);     /* a copy waiting for bytes looks at e->stop */
    pthread_join(e->thread, NULL);
    e->started = false;
}
