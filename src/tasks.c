/* tasks.c — task table and poller thread; see tasks.h. */
#include "tasks.h"
#include "clock.h"
#include "ids.h"
#include "log.h"
#include "store.h"
#include "strmap.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLLS_FAST 5            /* the first polls after submit ... */
#define POLL_FAST_SECS 0.5      /* ... come this soon */
#define POLL_BATCH 500          /* tasks polled per wake-up */
#define LIST_PAGE 100           /* ids per list call */
#define LAST_FRAME_ATTEMPTS 3
#define LAST_FRAME_MAX (32u << 20)

struct task {
    char *id, *name;
    char *status;               /* shown: held at "running" until the video is sized */
    char *api_status;           /* as the API last said (normalised) */
    char *task_json, *request_json, *error, *video_url, *last_frame_url;
    char *last_frame;
    size_t last_frame_len;
    int last_frame_failures;
    bool wants_last_frame;
    long long created_at, updated_at;
    off_t video_size;
    double next_poll;           /* monotonic seconds */
    int polls;
    bool polling;               /* a poll of this task is in flight */
};

struct tasks {
    api *api;
    store *store;
    tasks_status_fn on_status;  /* called when a status word changes */
    void *on_status_arg;
    double poll_interval;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    strmap *by_id, *by_name;
    pthread_t poller;
    bool running, started;
    int list_mode;              /* 0 untried, 1 works, -1 broken: one GET per task */
};

static void task_free(struct task *k)
{
    free(k->id); free(k->name); free(k->status); free(k->api_status);
    free(k->task_json); free(k->request_json); free(k->error); free(k->video_url);
    free(k->last_frame_url); free(k->last_frame);
    free(k);
}

tasks *tasks_new(api *a, store *st, double poll_interval)
{
    tasks *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    t->api = a;
    t->store = st;
    t->poll_interval = poll_interval;
    t->by_id = strmap_new();
    t->by_name = strmap_new();
    if (!t->by_id || !t->by_name) {
        strmap_free(t->by_id);
        strmap_free(t->by_name);
        free(t);
        return NULL;
    }
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->wake, NULL);
    return t;
}

static void free_task_entry(const char *key, void *value, void *arg)
{
    (void)key; (void)arg;
    task_free(value);
}

void tasks_free(tasks *t)
{
    if (!t)
        return;
    tasks_stop(t);
    strmap_each(t->by_id, free_task_entry, NULL);
    strmap_free(t->by_id);
    strmap_free(t->by_name);
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- persistence: snapshot under the lock, write after it ---- */

static struct stored_task *snapshot(const struct task *k)
{
    struct stored_task *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->id = dup_or_null(k->id);
    s->name = dup_or_null(k->name);
    s->status = dup_or_null(k->status);
    s->api_status = dup_or_null(k->api_status);
    s->task_json = dup_or_null(k->task_json);
    s->request_json = dup_or_null(k->request_json);
    s->error = dup_or_null(k->error);
    s->video_url = dup_or_null(k->video_url);
    if (k->last_frame && (s->last_frame = malloc(k->last_frame_len))) {
        memcpy((void *)s->last_frame, k->last_frame, k->last_frame_len);
        s->last_frame_len = k->last_frame_len;
    }
    s->wants_last_frame = k->wants_last_frame;
    s->created_at = k->created_at;
    s->updated_at = k->updated_at;
    s->video_size = k->video_size;
    return s;
}

static void snapshot_free(struct stored_task *s)
{
    if (!s)
        return;
    free((char *)s->id); free((char *)s->name); free((char *)s->status);
    free((char *)s->api_status); free((char *)s->task_json); free((char *)s->request_json);
    free((char *)s->error); free((char *)s->video_url); free((void *)s->last_frame);
    free(s);
}

static void persist(tasks *t, struct stored_task *s)
{
    if (s && t->store && store_task_put(t->store, s))
        log_info("task %s: cannot save its state", s->id);
    snapshot_free(s);
}

/* Puts a filled task into both indexes. Frees it on failure. */
static int insert_task(tasks *t, struct task *k)
{
    const char *id = k->id, *name = k->name;
    int rc;

    if (!k->id || !k->status || !k->api_status) {
        task_free(k);
        return -ENOMEM;
    }
    pthread_mutex_lock(&t->lock);
    if (strmap_get(t->by_id, id) || (name && strmap_get(t->by_name, name))) {
        rc = -EEXIST;
    } else if (!(rc = strmap_put(t->by_id, id, k)) && name &&
               (rc = strmap_put(t->by_name, name, k))) {
        strmap_del(t->by_id, id);
    }
    if (!rc) {
        k->next_poll = clock_mono() + POLL_FAST_SECS;
        pthread_cond_signal(&t->wake);
    }
    pthread_mutex_unlock(&t->lock);
    if (rc)
        task_free(k);
    return rc;
}

/* An imported (nameless) task turns out to be ours: give it its name. */
static int claim(tasks *t, const char *id, const char *name, const char *request_json,
                 bool wants_last_frame)
{
    struct task *k;
    int rc = -EEXIST;

    pthread_mutex_lock(&t->lock);
    k = strmap_get(t->by_id, id);
    if (k && !k->name && name && !strmap_get(t->by_name, name) && (k->name = strdup(name))) {
        if ((rc = strmap_put(t->by_name, name, k))) {
            free(k->name);
            k->name = NULL;
        } else {
            free(k->request_json);
            k->request_json = dup_or_null(request_json);
            k->wants_last_frame = wants_last_frame;
        }
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int tasks_add(tasks *t, const char *id, const char *name, const char *request_json,
              bool wants_last_frame)
{
    struct task *k;
    int rc;

    if (!claim(t, id, name, request_json, wants_last_frame))
        return 0;
    if (!(k = calloc(1, sizeof *k)))
        return -ENOMEM;
    k->id = strdup(id);
    k->name = dup_or_null(name);
    k->status = strdup("queued");
    k->api_status = strdup("queued");
    k->request_json = dup_or_null(request_json);
    k->wants_last_frame = wants_last_frame;
    k->created_at = k->updated_at = time(NULL);
    k->video_size = -1;
    if (!(rc = insert_task(t, k)) && t->on_status)
        t->on_status(id, name, "-", "queued", t->on_status_arg);
    return rc;
}

static void restore_one(const struct stored_task *s, void *arg)
{
    tasks *t = arg;
    struct task *k = calloc(1, sizeof *k);

    if (!k)
        return;
    k->id = dup_or_null(s->id);
    k->name = dup_or_null(s->name);
    k->status = dup_or_null(s->status);
    k->api_status = dup_or_null(s->api_status);
    k->task_json = dup_or_null(s->task_json);
    k->request_json = dup_or_null(s->request_json);
    k->error = dup_or_null(s->error);
    k->video_url = dup_or_null(s->video_url);
    if (s->last_frame && s->last_frame_len && (k->last_frame = malloc(s->last_frame_len))) {
        memcpy(k->last_frame, s->last_frame, s->last_frame_len);
        k->last_frame_len = s->last_frame_len;
    }
    k->wants_last_frame = s->wants_last_frame;
    k->created_at = s->created_at;
    k->updated_at = s->updated_at;
    k->video_size = s->video_size;
    if (insert_task(t, k))
        log_info("restore %s: cannot add it to the table", s->id);
}

int tasks_restore(tasks *t)
{
    return t->store ? store_tasks_load(t->store, restore_one, t) : 0;
}

void tasks_set_status_hook(tasks *t, tasks_status_fn fn, void *arg)
{
    t->on_status = fn;
    t->on_status_arg = arg;
}

bool tasks_unclaimed(tasks *t, const char *id)
{
    struct task *k;
    bool unclaimed;

    pthread_mutex_lock(&t->lock);
    k = strmap_get(t->by_id, id);
    unclaimed = k && !k->name;
    pthread_mutex_unlock(&t->lock);
    return unclaimed;
}

int tasks_import(tasks *t, const struct task_info *info)
{
    struct task *k;
    struct stored_task *snap;
    int rc;

    if (tasks_known(t, info->id) || !(k = calloc(1, sizeof *k)))
        return -EEXIST;
    k->id = strdup(info->id);
    k->api_status = strdup(info->status);
    /* "succeeded" waits for the size probe, as for our own tasks. */
    k->status = strdup(strcmp(info->status, "succeeded") ? info->status : "running");
    k->task_json = dup_or_null(info->json);
    if (info->error && asprintf(&k->error, "%s\n", info->error) < 0)
        k->error = NULL;
    k->video_url = dup_or_null(info->video_url);
    k->created_at = info->created_at ? info->created_at : time(NULL);
    k->updated_at = info->updated_at ? info->updated_at : k->created_at;
    k->video_size = -1;
    snap = snapshot(k);
    if ((rc = insert_task(t, k))) {
        snapshot_free(snap);
        return rc;
    }
    persist(t, snap);
    if (t->on_status)
        t->on_status(info->id, NULL, "-", info->status, t->on_status_arg);
    return 0;
}

bool tasks_known(tasks *t, const char *id)
{
    bool known;

    pthread_mutex_lock(&t->lock);
    known = strmap_get(t->by_id, id) != NULL;
    pthread_mutex_unlock(&t->lock);
    return known;
}

struct id_list {
    char **ids;
    size_t n, cap;
};

static void collect_video(const char *key, void *value, void *arg)
{
    struct id_list *l = arg;
    struct task *k = value;

    if (l->n < l->cap && k->name && !strcmp(k->status, "succeeded") && k->video_size >= 0 &&
        (l->ids[l->n] = strdup(key)))
        l->n++;
}

void tasks_each_video(tasks *t, tasks_hook_fn fn, void *arg)
{
    struct id_list l = {0};

    /* Collect under the lock, call without it: fn may call back into the table. */
    pthread_mutex_lock(&t->lock);
    l.cap = strmap_count(t->by_id);
    if ((l.ids = calloc(l.cap ? l.cap : 1, sizeof *l.ids)))
        strmap_each(t->by_id, collect_video, &l);
    pthread_mutex_unlock(&t->lock);
    for (size_t i = 0; i < l.n; i++) {
        fn(l.ids[i], arg);
        free(l.ids[i]);
    }
    free(l.ids);
}

/* The bytes of one file of `k`; `line` is scratch space for the status line. */
static const char *file_bytes(const struct task *k, enum task_file f, size_t *len,
                              char line[static 40])
{
    const char *p = NULL;

    switch (f) {
    case TASK_STATUS:
        snprintf(line, 40, "%s\n", k->status);
        p = line;
        break;
    case TASK_JSON: p = k->task_json; break;
    case TASK_REQUEST: p = k->request_json; break;
    case TASK_ERROR: p = k->error; break;
    case TASK_LAST_FRAME:
        /* Shown together with the final status, not before. */
        *len = strcmp(k->status, "succeeded") ? 0 : k->last_frame_len;
        return *len ? k->last_frame : NULL;
    }
    *len = p ? strlen(p) : 0;
    return p;
}

int tasks_stat(tasks *t, const char *id, struct task_stat *out)
{
    char line[40];
    struct task *k;
    int rc = -ENOENT;

    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id))) {
        snprintf(out->status, sizeof out->status, "%s", k->status);
        out->created_at = k->created_at;
        out->updated_at = k->updated_at;
        out->video_size = strcmp(k->status, "succeeded") ? -1 : k->video_size;
        for (int f = TASK_STATUS; f <= TASK_LAST_FRAME; f++)
            file_bytes(k, f, &out->size[f], line);
        rc = 0;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int tasks_read_file(tasks *t, const char *id, enum task_file f, char **data, size_t *len)
{
    struct task *k;
    const char *src;
    char line[40];
    int rc = -ENOENT;

    *data = NULL;
    *len = 0;
    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id)) && (src = file_bytes(k, f, len, line)) && *len) {
        rc = (*data = malloc(*len)) ? 0 : -ENOMEM;
        if (!rc)
            memcpy(*data, src, *len);
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

struct each_ctx {
    void (*fn)(const char *id, const char *name, void *arg);
    void *arg;
};

static void each_entry(const char *key, void *value, void *arg)
{
    struct each_ctx *c = arg;
    struct task *k = value;
    c->fn(key, k->name, c->arg);
}

void tasks_each(tasks *t, void (*fn)(const char *id, const char *name, void *arg), void *arg)
{
    struct each_ctx c = {fn, arg};

    pthread_mutex_lock(&t->lock);
    strmap_each(t->by_id, each_entry, &c);
    pthread_mutex_unlock(&t->lock);
}

int tasks_id_by_name(tasks *t, const char *name, char *id)
{
    struct task *k;
    int rc = -ENOENT;

    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_name, name))) {
        snprintf(id, IDS_MAX_TASK_ID + 1, "%s", k->id);
        rc = 0;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

int tasks_video(tasks *t, const char *id, char **url, bool *auth, off_t *size)
{
    struct task *k;
    int rc = -ENOENT;

    if (url)
        *url = NULL;
    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id)) && !strcmp(k->status, "succeeded") && k->video_size >= 0) {
        *size = k->video_size;
        rc = url ? api_video_source(t->api, k->id, k->video_url, url, auth) : 0;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

static void unlink_task(tasks *t, struct task *k)
{
    strmap_del(t->by_id, k->id);
    if (k->name)
        strmap_del(t->by_name, k->name);
    task_free(k);
}

int tasks_remove(tasks *t, const char *id, char *why, size_t why_len)
{
    struct task *k;
    int rc;

    pthread_mutex_lock(&t->lock);
    k = strmap_get(t->by_id, id);
    pthread_mutex_unlock(&t->lock);
    if (!k)
        return -ENOENT;
    struct stored_task *snap = NULL;
    bool deleted = false, cancelled = false;
    char from[API_MAX_STATUS + 1] = "", *name = NULL;

    rc = api_delete_task(t->api, id, why, why_len);
    if (rc && rc != -ENOENT)
        return rc;
    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id))) {
        if (!rc && !api_status_terminal(k->api_status)) {
            /* The API cancelled it; the record stays until deleted. */
            snprintf(from, sizeof from, "%s", k->status);
            name = dup_or_null(k->name);
            cancelled = true;
            free(k->status);
            k->status = strdup("cancelled");
            k->next_poll = clock_mono();
            pthread_cond_signal(&t->wake);
            snap = snapshot(k);
        } else {
            unlink_task(t, k);
            deleted = true;
        }
    }
    pthread_mutex_unlock(&t->lock);
    persist(t, snap);
    if (deleted && t->store)
        store_task_delete(t->store, id);
    if (cancelled && t->on_status)
        t->on_status(id, name, from, "cancelled", t->on_status_arg);
    free(name);
    log_info("rmdir %s: %s", id, rc ? "already gone at the API" : "done");
    return 0;
}

/* ---- the poller ---- */

/* What one poll learned, applied to the table in one step. */
struct poll_result {
    struct task_info info;
    off_t video_size;
    char *last_frame;
    size_t last_frame_len;
    bool last_frame_failed;
    int rc;
};

static bool wants_poll(const struct task *k)
{
    if (!api_status_terminal(k->api_status))
        return true;
    /* Succeeded at the API but not yet shown: video size or frame missing. */
    return !strcmp(k->api_status, "succeeded") && strcmp(k->status, "succeeded");
}

/* Learns the video size with a one-byte range read. */
static off_t probe_video_size(tasks *t, const struct task_info *info)
{
    char *url;
    bool auth;
    char byte;
    off_t total = -1;
    ssize_t got;

    if (api_video_source(t->api, info->id, info->video_url, &url, &auth))
        return -1;
    got = http_get_range(api_http(t->api), url, auth, 0, 1, &byte, &total);
    free(url);
    if (got < 0 || total <= 0)
        log_info("poll %s: succeeded, but the video size is not known yet", info->id);
    return got < 0 ? -1 : total;
}

static void fetch_last_frame(tasks *t, const char *url, struct poll_result *r)
{
    struct http_reply reply;

    if (http_call(api_http(t->api), "GET", url, NULL, false, &reply)) {
        r->last_frame_failed = true;
        return;
    }
    if (reply.status == 200 && reply.len > 0 && reply.len <= LAST_FRAME_MAX) {
        r->last_frame = reply.body;
        r->last_frame_len = reply.len;
        reply.body = NULL;
    } else {
        r->last_frame_failed = true;
    }
    http_reply_free(&reply);
}

/* After the task object is known: the size probe and the last frame of a
 * task that succeeded (per task; they read from the CDN, not the API). */
static void finish_poll(tasks *t, off_t known_size, bool need_frame, struct poll_result *r)
{
    r->video_size = known_size;
    if (r->rc || strcmp(r->info.status, "succeeded"))
        return;
    if (r->video_size < 0)
        r->video_size = probe_video_size(t, &r->info);
    if (need_frame && r->info.last_frame_url)
        fetch_last_frame(t, r->info.last_frame_url, r);
    else if (need_frame)
        r->last_frame_failed = true;
}

/* Fills r[i] for ids[0..n) with list calls of LIST_PAGE ids. Returns the
 * number of ids covered; the rest need one GET each. */
static int poll_by_list(tasks *t, char **ids, int n, struct poll_result *r, bool *covered)
{
    int done = 0;

    for (int start = 0; start < n && t->list_mode >= 0; start += LIST_PAGE) {
        int chunk = n - start < LIST_PAGE ? n - start : LIST_PAGE, count, rc;
        struct task_info *items;
        char why[512];

        rc = api_list_by_ids(t->api, ids + start, chunk, &items, &count, why, sizeof why);
        if (rc == -EPROTO) {
            log_info("poll: %s; polling one task at a time from now on", why);
            t->list_mode = -1;
            break;
        }
        if (rc) {
            /* Down or rate limited: these tasks wait for the next cycle. */
            log_info("poll: %s", why);
            for (int i = start; i < start + chunk; i++) {
                r[i].rc = rc;
                covered[i] = true;
            }
            done += chunk;
            continue;
        }
        t->list_mode = 1;
        for (int k = 0; k < count; k++)
            for (int i = start; i < start + chunk; i++)
                if (!covered[i] && !strcmp(items[k].id, ids[i])) {
                    r[i].info = items[k];
                    memset(&items[k], 0, sizeof items[k]);
                    covered[i] = true;
                    done++;
                    break;
                }
        api_task_list_free(items, count);
    }
    return done;
}

/* Polls ids[0..n): by list where it works, else (or for ids the list did
 * not return) one GET each. */
static void poll_many(tasks *t, char **ids, int n, const off_t *sizes, const bool *frames,
                      struct poll_result *r)
{
    bool *covered = calloc((size_t)n, sizeof *covered);

    for (int i = 0; i < n; i++)
        memset(&r[i], 0, sizeof r[i]);
    if (covered && (n > 1 || t->list_mode > 0) && t->list_mode >= 0)
        poll_by_list(t, ids, n, r, covered);
    for (int i = 0; i < n && t->running; i++) {
        char why[512];
        if (covered && covered[i])
            continue;
        r[i].rc = api_get_task(t->api, ids[i], &r[i].info, why, sizeof why);
        if (r[i].rc)
            log_info("poll %s: %s", ids[i], why);
    }
    for (int i = 0; i < n; i++)
        finish_poll(t, sizes[i], frames[i], &r[i]);
    free(covered);
}

/* Seconds until the next poll: fast after submit, slower for long runs. */
static double poll_interval_for(const tasks *t, const struct task *k)
{
    long long age = (long long)time(NULL) - k->created_at;

    if (k->polls < POLLS_FAST)
        return POLL_FAST_SECS;
    if (age > 600)
        return 4 * t->poll_interval;
    if (age > 60)
        return 2 * t->poll_interval;
    return t->poll_interval;
}

static void replace(char **field, char **value)
{
    free(*field);
    *field = *value;
    *value = NULL;
}

/* Applies one poll to the task. Returns a snapshot to persist when
 * something durable changed (NULL otherwise). `from` (API_MAX_STATUS + 1
 * bytes) receives the old status word when it changed, else "". */
static struct stored_task *apply_result(tasks *t, struct task *k, struct poll_result *r,
                                        char *from)
{
    struct task_info *i = &r->info;
    bool frame_pending, changed = false;
    const char *shown;

    k->polls++;
    k->polling = false;
    k->next_poll = clock_mono() + poll_interval_for(t, k);
    if (r->rc == -ENOENT && !api_status_terminal(k->api_status)) {
        free(k->api_status);
        k->api_status = strdup("expired");
        free(k->error);
        k->error = strdup("NotFound: the API no longer knows this task\n");
    }
    from[0] = '\0';
    if (r->rc == 0) {
        changed = strcmp(k->api_status, i->status) || k->video_size != r->video_size ||
                  (r->last_frame && !k->last_frame) || !k->task_json;
        replace(&k->api_status, &i->status);
        replace(&k->task_json, &i->json);
        replace(&k->video_url, &i->video_url);
        replace(&k->last_frame_url, &i->last_frame_url);
        if (i->error) {
            char *line = NULL;
            if (asprintf(&line, "%s\n", i->error) > 0)
                replace(&k->error, &line);
        }
        if (i->created_at)
            k->created_at = i->created_at;
        if (i->updated_at)
            k->updated_at = i->updated_at;
        k->video_size = r->video_size;
        if (r->last_frame) {
            free(k->last_frame);
            k->last_frame = r->last_frame;
            k->last_frame_len = r->last_frame_len;
            r->last_frame = NULL;
        }
        k->last_frame_failures += r->last_frame_failed;
    }
    if (!k->api_status)
        k->api_status = strdup("unknown");
    /* Hold "succeeded" back until what it promises is there. */
    frame_pending = k->wants_last_frame && !k->last_frame &&
                    k->last_frame_failures < LAST_FRAME_ATTEMPTS;
    shown = k->api_status;
    if (!strcmp(shown, "succeeded") && (k->video_size < 0 || frame_pending))
        shown = "running";
    if (strcmp(k->status, shown)) {
        log_info("task %s%s%s: %s -> %s", k->id, k->name ? " " : "", k->name ? k->name : "",
                 k->status, shown);
        snprintf(from, API_MAX_STATUS + 1, "%s", k->status);
        free(k->status);
        k->status = strdup(shown);
        changed = true;
    }
    return changed ? snapshot(k) : NULL;
}

struct due_ctx {
    double now, until, earliest;    /* poll what is due by `until` */
    char *ids[POLL_BATCH];
    off_t sizes[POLL_BATCH];
    bool frames[POLL_BATCH];
    int n;
};

static void find_earliest(const char *key, void *value, void *arg)
{
    struct due_ctx *d = arg;
    struct task *k = value;
    (void)key;

    if (wants_poll(k) && !k->polling && k->next_poll < d->earliest)
        d->earliest = k->next_poll;
}

static void collect_due(const char *key, void *value, void *arg)
{
    struct due_ctx *d = arg;
    struct task *k = value;
    (void)key;

    if (!wants_poll(k) || k->polling || k->next_poll > d->until || d->n == POLL_BATCH)
        return;
    if ((d->ids[d->n] = strdup(k->id))) {
        d->sizes[d->n] = k->video_size;
        d->frames[d->n] = k->wants_last_frame && !k->last_frame;
        d->n++;
        k->polling = true;
    }
}

/* Applies one result, then saves and reports outside the lock. Lock held. */
static void apply_and_report(tasks *t, const char *id, struct poll_result *r)
{
    struct stored_task *snap = NULL;
    char from[API_MAX_STATUS + 1] = "", to[API_MAX_STATUS + 1] = "", *name = NULL;
    struct task *k = strmap_get(t->by_id, id);

    if (k) {
        snap = apply_result(t, k, r, from);
        snprintf(to, sizeof to, "%s", k->status);
        name = dup_or_null(k->name);
    }
    pthread_mutex_unlock(&t->lock);
    persist(t, snap);
    if (from[0] && t->on_status)
        t->on_status(id, name, from, to, t->on_status_arg);
    free(name);
    free(r->last_frame);
    api_task_info_free(&r->info);
    pthread_mutex_lock(&t->lock);
}

static void *poller_main(void *arg)
{
    tasks *t = arg;
    struct due_ctx *d = malloc(sizeof *d);
    struct poll_result *results = calloc(POLL_BATCH, sizeof *results);

    pthread_mutex_lock(&t->lock);
    while (t->running && d && results) {
        d->now = clock_mono();
        d->earliest = d->now + t->poll_interval;
        d->n = 0;
        strmap_each(t->by_id, find_earliest, d);
        if (d->earliest > d->now) {
            struct timespec until;
            clock_deadline(&until, d->earliest - d->now);
            pthread_cond_timedwait(&t->wake, &t->lock, &until);
            continue;
        }
        /* Something is due: take along whatever falls due before the next
         * cycle, so one list call serves them all. */
        d->until = d->now + t->poll_interval;
        strmap_each(t->by_id, collect_due, d);
        pthread_mutex_unlock(&t->lock);
        poll_many(t, d->ids, d->n, d->sizes, d->frames, results);
        pthread_mutex_lock(&t->lock);
        for (int i = 0; i < d->n; i++) {
            struct task *k = strmap_get(t->by_id, d->ids[i]);
            if (k && (results[i].rc == 0 || results[i].rc == -ENOENT)) {
                apply_and_report(t, d->ids[i], &results[i]);    /* frees the result */
            } else {
                if (k) {                    /* down or rate limited: next cycle */
                    k->polling = false;
                    k->next_poll = clock_mono() + t->poll_interval;
                }
                free(results[i].last_frame);
                api_task_info_free(&results[i].info);
            }
            free(d->ids[i]);
        }
    }
    pthread_mutex_unlock(&t->lock);
    free(d);
    free(results);
    return NULL;
}

int tasks_refresh_video_url(tasks *t, const char *id)
{
    struct task_info info;
    struct task *k;
    char why[512];
    int rc = api_get_task(t->api, id, &info, why, sizeof why);

    if (rc) {
        log_info("refresh %s: %s", id, why);
        return rc;
    }
    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id)) && info.video_url)
        replace(&k->video_url, &info.video_url);
    pthread_mutex_unlock(&t->lock);
    api_task_info_free(&info);
    return 0;
}

int tasks_start(tasks *t)
{
    int rc;

    pthread_mutex_lock(&t->lock);
    t->running = true;
    pthread_mutex_unlock(&t->lock);
    rc = pthread_create(&t->poller, NULL, poller_main, t);
    if (rc)
        return -rc;
    t->started = true;
    return 0;
}

void tasks_stop(tasks *t)
{
    if (!t->started)
        return;
    pthread_mutex_lock(&t->lock);
    t->running = false;
    pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->lock);
    pthread_join(t->poller, NULL);
    t->started = false;
}
