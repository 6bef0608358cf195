/* tasks.c — the task table: its indexes, accessors and persistence; see tasks.h.
 * The poller that keeps it fresh is tasks_poller.c. */
#include "tasks_internal.h"
#include "clock.h"
#include "names.h"
#include "log.h"
#include "store.h"
#include "strmap.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void task_free(struct task *k)
{
    free(k->id); free(k->name);
    free(k->task_json); free(k->request_json); free(k->error); free(k->video_url);
    free(k->last_frame_url); free(k->last_frame); free(k->video_error); free(k->size_gave_up);
    free(k->video_tag);
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
    t->max_tasks = 100000;
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
    pthread_cond_init(&t->size_work, NULL);
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
    strmap_free(t->removed_in_listing);
    id_queue_clear(&t->size_queue);
    pthread_cond_destroy(&t->wake);
    pthread_cond_destroy(&t->size_work);
    pthread_mutex_destroy(&t->lock);
    free(t);
}

char *tasks_dup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* ---- persistence: snapshot under the lock, write after it ---- */

struct stored_task *tasks_snapshot(const struct task *k)
{
    struct stored_task *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->id = tasks_dup(k->id);
    s->name = tasks_dup(k->name);
    /* The store keeps the words; status_from_name reads them back. */
    s->status = strdup(status_name(&k->status));
    s->api_status = strdup(status_name(&k->api_status));
    s->task_json = tasks_dup(k->task_json);
    s->request_json = tasks_dup(k->request_json);
    s->error = tasks_dup(k->error);
    s->video_url = tasks_dup(k->video_url);
    if (k->last_frame && (s->last_frame = malloc(k->last_frame_len))) {
        memcpy((void *)s->last_frame, k->last_frame, k->last_frame_len);
        s->last_frame_len = k->last_frame_len;
    }
    s->wants_last_frame = k->wants_last_frame;
    s->created_at = k->created_at;
    s->updated_at = k->updated_at;
    s->video_size = k->video_size;
    s->video_error = tasks_dup(k->video_error);
    s->video_tag = tasks_dup(k->video_tag);
    return s;
}

static void snapshot_free(struct stored_task *s)
{
    if (!s)
        return;
    free((char *)s->id); free((char *)s->name); free((char *)s->status);
    free((char *)s->api_status); free((char *)s->task_json); free((char *)s->request_json);
    free((char *)s->error); free((char *)s->video_url); free((void *)s->last_frame);
    free((char *)s->video_error); free((char *)s->video_tag);
    free(s);
}

void tasks_persist(tasks *t, struct stored_task *s)
{
    if (s && t->store && store_task_put(t->store, s))
        log_error("task %s: cannot save its state", s->id);
    snapshot_free(s);
}

/* Puts a filled task into both indexes. Frees it on failure. */
static int insert_task(tasks *t, struct task *k)
{
    const char *id = k->id, *name = k->name;
    int rc;

    if (!k->id) {
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
            k->request_json = tasks_dup(request_json);
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
    k->name = tasks_dup(name);
    k->status = k->api_status = status_make(STATUS_QUEUED);
    k->request_json = tasks_dup(request_json);
    k->wants_last_frame = wants_last_frame;
    k->created_at = k->updated_at = time(NULL);
    k->video_size = -1;
    k->progress = -1;
    k->progress_told = -100;
    struct task_status queued = status_make(STATUS_QUEUED);
    if (!(rc = insert_task(t, k)) && t->on_status)
        t->on_status(id, name, NULL, &queued, t->on_status_arg);
    return rc;
}

static void restore_one(const struct stored_task *s, void *arg)
{
    tasks *t = arg;
    struct task *k = calloc(1, sizeof *k);

    if (!k)
        return;
    k->id = tasks_dup(s->id);
    k->name = tasks_dup(s->name);
    k->status = status_from_name(s->status ? s->status : "queued");
    k->api_status = status_from_name(s->api_status ? s->api_status : "queued");
    k->task_json = tasks_dup(s->task_json);
    k->request_json = tasks_dup(s->request_json);
    k->error = tasks_dup(s->error);
    k->video_url = tasks_dup(s->video_url);
    if (s->last_frame && s->last_frame_len && (k->last_frame = malloc(s->last_frame_len))) {
        memcpy(k->last_frame, s->last_frame, s->last_frame_len);
        k->last_frame_len = s->last_frame_len;
    }
    k->wants_last_frame = s->wants_last_frame;
    k->created_at = s->created_at;
    k->updated_at = s->updated_at;
    k->video_size = s->video_size;
    k->video_error = tasks_dup(s->video_error);
    k->video_tag = tasks_dup(s->video_tag);
    k->progress = -1;               /* not saved: the next poll says it again */
    k->progress_told = -100;
    /* Imports of older versions were held at "running" until sized. */
    if (!k->name && k->api_status.code == STATUS_SUCCEEDED)
        k->status = k->api_status;
    if (insert_task(t, k))
        log_error("restore %s: cannot add it to the table", s->id);
}

int tasks_restore(tasks *t)
{
    return t->store ? store_tasks_load(t->store, restore_one, t) : 0;
}

void tasks_set_progress_hook(tasks *t, tasks_progress_fn fn, void *arg)
{
    t->on_progress = fn;
    t->on_progress_arg = arg;
}

void tasks_set_status_hook(tasks *t, tasks_status_fn fn, void *arg)
{
    t->on_status = fn;
    t->on_status_arg = arg;
}

void tasks_set_removed_hook(tasks *t, tasks_hook_fn fn, void *arg)
{
    t->on_removed = fn;
    t->on_removed_arg = arg;
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

    pthread_mutex_lock(&t->lock);
    bool known = strmap_get(t->by_id, info->id) != NULL;
    bool removed = t->removed_in_listing && strmap_get(t->removed_in_listing, info->id);
    pthread_mutex_unlock(&t->lock);
    if (known)
        return -EEXIST;
    if (removed)
        return -ENOENT;
    if (tasks_count(t) >= t->max_tasks)
        return -EDQUOT;
    if (!(k = calloc(1, sizeof *k)))
        return -ENOMEM;
    k->id = strdup(info->id);
    /* Shown as the API says: its video is sized when someone looks at it
     * (tasks_size_video), so an import costs the gateway nothing per task. */
    k->api_status = k->status = info->status;
    struct task_status shown = k->status;
    k->task_json = tasks_dup(info->json);
    if (info->error && asprintf(&k->error, "%s\n", info->error) < 0)
        k->error = NULL;
    k->video_url = tasks_dup(info->video_url);
    k->created_at = info->created_at ? info->created_at : time(NULL);
    k->updated_at = info->updated_at ? info->updated_at : k->created_at;
    k->video_size = -1;
    k->progress = info->progress;
    k->progress_told = info->progress;
    snap = tasks_snapshot(k);
    if ((rc = insert_task(t, k))) {
        snapshot_free(snap);
        return rc;
    }
    tasks_persist(t, snap);
    if (t->on_status)
        t->on_status(info->id, NULL, NULL, &shown, t->on_status_arg);
    return 0;
}

int tasks_listing_begin(tasks *t)
{
    strmap *m = strmap_new();

    if (!m)
        return -ENOMEM;
    pthread_mutex_lock(&t->lock);
    strmap_free(t->removed_in_listing);
    t->removed_in_listing = m;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

void tasks_listing_end(tasks *t)
{
    pthread_mutex_lock(&t->lock);
    strmap_free(t->removed_in_listing);
    t->removed_in_listing = NULL;
    pthread_mutex_unlock(&t->lock);
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

    if (l->n < l->cap && k->name && k->status.code == STATUS_SUCCEEDED && k->video_size >= 0 &&
        !k->video_error && (l->ids[l->n] = strdup(key)))
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
static const char *file_bytes(const struct task *k, bool thumbnails, enum task_file f,
                              size_t *len,
                              char line[static 40])
{
    const char *p = NULL;

    switch (f) {
    case TASK_STATUS:
        snprintf(line, 40, "%s\n", status_name(&k->status));
        p = line;
        break;
    case TASK_JSON: p = k->task_json; break;
    case TASK_REQUEST: p = k->request_json; break;
    case TASK_ERROR: p = k->error; break;
    case TASK_VIDEO_ERROR: p = k->video_error ? k->video_error : k->size_gave_up; break;
    case TASK_FILES: break;
    case TASK_PROGRESS:
        if (k->progress < 0)
            break;
        snprintf(line, 40, "%d\n", k->progress);
        p = line;
        break;
    case TASK_LAST_FRAME:
    case TASK_THUMBNAIL:
        /* Shown together with the final status, not before; a dialect with
         * thumbnails (the OpenAI shape) has no last frame, and the others
         * no thumbnail. */
        *len = k->status.code == STATUS_SUCCEEDED && (f == TASK_THUMBNAIL) == thumbnails
               ? k->last_frame_len : 0;
        return *len ? k->last_frame : NULL;
    }
    *len = p ? strlen(p) : 0;
    return p;
}

/* "model" of a task object or request body, copied into model[size]. */
static bool model_of(const char *json, char *model, size_t size)
{
    cJSON *o = json ? cJSON_Parse(json) : NULL, *m = cJSON_GetObjectItemCaseSensitive(o, "model");
    bool found = cJSON_IsString(m) && snprintf(model, size, "%s", m->valuestring) > 0;

    cJSON_Delete(o);
    return found;
}

int tasks_describe(tasks *t, const char *id, char *name, char *model, size_t size)
{
    char *task_json = NULL, *request_json = NULL;
    struct task *k;
    int rc = -ENOENT;

    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id))) {
        snprintf(name, size, "%s", k->name ? k->name : "");
        task_json = k->task_json ? strdup(k->task_json) : NULL;
        request_json = k->request_json ? strdup(k->request_json) : NULL;
        rc = 0;
    }
    pthread_mutex_unlock(&t->lock);
    /* Parsed outside the lock: task objects can be large. */
    if (!rc && !model_of(task_json, model, size) && !model_of(request_json, model, size))
        model[0] = '\0';
    free(task_json);
    free(request_json);
    return rc;
}

void tasks_set_max(tasks *t, size_t max)
{
    t->max_tasks = max;
}

size_t tasks_max(tasks *t)
{
    return t->max_tasks;
}

size_t tasks_count(tasks *t)
{
    size_t n;

    pthread_mutex_lock(&t->lock);
    n = strmap_count(t->by_id);
    pthread_mutex_unlock(&t->lock);
    return n;
}

int tasks_stat(tasks *t, const char *id, struct task_stat *out)
{
    char line[40];
    struct task *k;
    int rc = -ENOENT;

    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id))) {
        out->status = k->status;
        out->created_at = k->created_at;
        out->updated_at = k->updated_at;
        out->video_size = k->status.code == STATUS_SUCCEEDED ? k->video_size : -1;
        out->video_unsized = k->status.code == STATUS_SUCCEEDED && k->video_size < 0 &&
                             !k->video_error && !k->size_gave_up;
        for (int f = TASK_STATUS; f < TASK_FILES; f++)
            file_bytes(k, api_has_thumbnails(t->api), f, &out->size[f], line);
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
    if ((k = strmap_get(t->by_id, id)) && (src = file_bytes(k, api_has_thumbnails(t->api), f, len, line)) && *len) {
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
        snprintf(id, NAMES_MAX_TASK_ID + 1, "%s", k->id);
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
    if ((k = strmap_get(t->by_id, id)) && k->status.code == STATUS_SUCCEEDED &&
        k->video_size >= 0) {
        *size = k->video_size;
        /* A video known gone is read from the cache only. */
        rc = !url ? 0 : k->video_error ? -ENOENT
                      : api_video_source(t->api, k->id, k->video_url, url, auth);
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
    struct task_status from, cancelled_status = status_make(STATUS_CANCELLED);
    struct api_result res;
    char *name = NULL;

    rc = api_delete_task(t->api, id, &res);
    snprintf(why, why_len, "%s", res.msg);
    if (rc && rc != -ENOENT)
        return rc;
    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id))) {
        if (!rc && !status_final(&k->api_status) && !api_delete_removes(t->api)) {
            /* The API cancelled it; the record stays until deleted. */
            from = k->status;
            name = tasks_dup(k->name);
            cancelled = true;
            k->status = cancelled_status;
            k->next_poll = clock_mono();
            pthread_cond_signal(&t->wake);
            snap = tasks_snapshot(k);
        } else {
            /* A list in flight may hold it still; if the id cannot be
             * kept, the look may bring it back until the next rmdir. */
            if (t->removed_in_listing)
                (void)strmap_put(t->removed_in_listing, id, t);
            unlink_task(t, k);
            deleted = true;
        }
    }
    pthread_mutex_unlock(&t->lock);
    tasks_persist(t, snap);
    if (deleted && t->store)
        store_task_delete(t->store, id);
    if (deleted && t->on_removed)
        t->on_removed(id, t->on_removed_arg);
    if (cancelled && t->on_status)
        t->on_status(id, name, &from, &cancelled_status, t->on_status_arg);
    free(name);
    log_info("rmdir %s: %s", id, rc ? "already gone at the API" : "done");
    return 0;
}
