/* tasks_poller.c — the thread that keeps the task table fresh: batched list
 * calls (one GET per task where listing does not work), the video size
 * probe and the last frame of a task that succeeded; see tasks.h. */
#include "tasks_internal.h"
#include "clock.h"
#include "log.h"
#include "strmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define POLLS_FAST 5            /* this many polls after submit are fast */
#define POLL_BATCH 500          /* tasks polled per wake-up */
#define LIST_PAGE 100           /* ids per list call */
#define LAST_FRAME_ATTEMPTS 3
#define LAST_FRAME_MAX (32u << 20)

/* What one poll learned, applied to the table in one step. */
struct poll_result {
    struct task_info info;
    off_t video_size;
    bool probed;                    /* video_size is this poll's probe's, of video_tag */
    char video_tag[HTTP_TAG_MAX];
    char *last_frame;
    size_t last_frame_len;
    bool last_frame_failed;
    int rc;
};

static bool wants_poll(const struct task *k)
{
    if (!status_final(&k->api_status))
        return true;
    /* Succeeded at the API but not yet shown: video size or frame missing. */
    return k->api_status.code == STATUS_SUCCEEDED && k->status.code != STATUS_SUCCEEDED;
}

/* Learns the video size with a one-byte range read (api_video_size). */
static off_t probe_video_size(tasks *t, const struct task_info *info, char *tag)
{
    struct api_result res;
    off_t size;

    if (api_video_size(t->api, info->id, info->video_url, &size, tag, &res))
        log_info("poll %s: succeeded, but the video size is not known yet (%s)", info->id,
                 res.msg);
    return size;
}

static void fetch_last_frame(tasks *t, const char *url, struct poll_result *r)
{
    struct api_result res;

    if (api_fetch(t->api, url, LAST_FRAME_MAX, &r->last_frame, &r->last_frame_len, &res)) {
        r->last_frame_failed = true;
    } else if (!api_is_image(r->last_frame, r->last_frame_len)) {
        /* A gateway that ignores ?variant= sends the video instead. */
        log_info("poll: %.*s is not an image; no thumbnail", (int)strcspn(url, "?"), url);
        free(r->last_frame);
        r->last_frame = NULL;
        r->last_frame_len = 0;
        r->last_frame_failed = true;
    }
}

/* After the task object is known: the size probe (for our own tasks:
 * others are sized when someone looks, tasks_sizer.c) and the last frame of
 * a task that succeeded (per task; they read from the CDN, not the API). */
static void finish_poll(tasks *t, off_t known_size, bool ours, bool need_frame,
                        struct poll_result *r)
{
    r->video_size = known_size;
    if (r->rc || r->info.status.code != STATUS_SUCCEEDED)
        return;
    if (r->video_size < 0 && ours) {
        r->video_size = probe_video_size(t, &r->info, r->video_tag);
        r->probed = true;
    }
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
        struct api_result res;

        rc = api_list_by_ids(t->api, ids + start, chunk, &items, &count, &res);
        if (rc == -EPROTO) {
            log_info("poll: %s; polling one task at a time from now on", res.msg);
            t->list_mode = -1;
            break;
        }
        if (rc) {
            /* Down or rate limited: these tasks wait for the next cycle. */
            log_error("poll: %s", res.msg);
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

static bool still_running(tasks *t)
{
    bool running;

    pthread_mutex_lock(&t->lock);
    running = t->running;
    pthread_mutex_unlock(&t->lock);
    return running;
}

/* Polls ids[0..n): by list where it works, else (or for ids the list did
 * not return) one GET each. */
static void poll_many(tasks *t, char **ids, int n, const off_t *sizes, const bool *ours,
                      const bool *frames, struct poll_result *r)
{
    bool *covered = calloc((size_t)n, sizeof *covered);

    for (int i = 0; i < n; i++)
        memset(&r[i], 0, sizeof r[i]);
    if (covered && (n > 1 || t->list_mode > 0) && t->list_mode >= 0)
        poll_by_list(t, ids, n, r, covered);
    for (int i = 0; i < n; i++) {
        struct api_result res;
        if (covered && covered[i])
            continue;
        if (!still_running(t)) {    /* unmounting: the rest wait for the next mount */
            r[i].rc = -ECANCELED;
            continue;
        }
        r[i].rc = api_get_task(t->api, ids[i], &r[i].info, &res);
        if (r[i].rc)
            log_error("poll %s: %s", ids[i], res.msg);
    }
    for (int i = 0; i < n; i++) {
        finish_poll(t, sizes[i], ours[i], frames[i], &r[i]);
    }
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
 * something durable changed (NULL otherwise). *moved tells whether the
 * shown status changed, `from` what it was. */
static struct stored_task *apply_result(tasks *t, struct task *k, struct poll_result *r,
                                        struct task_status *from, bool *moved)
{
    struct task_info *i = &r->info;
    bool frame_pending, changed = false;
    struct task_status shown;

    k->polls++;
    k->polling = false;
    k->next_poll = clock_mono() + poll_interval_for(t, k);
    if (r->rc == -ENOENT && !status_final(&k->api_status)) {
        k->api_status = status_make(STATUS_EXPIRED);
        free(k->error);
        k->error = strdup("NotFound: the API no longer knows this task\n");
    }
    *moved = false;
    if (r->rc == 0) {
        changed = !status_equal(&k->api_status, &i->status) ||
                  k->video_size != r->video_size || (r->last_frame && !k->last_frame) ||
                  !k->task_json;
        k->api_status = i->status;
        replace(&k->task_json, &i->json);
        replace(&k->video_url, &i->video_url);
        replace(&k->last_frame_url, &i->last_frame_url);
        if (i->error) {
            char *line = NULL;
            if (asprintf(&line, "%s\n", i->error) > 0)
                replace(&k->error, &line);
        }
        k->progress = i->progress;
        if (i->created_at)
            k->created_at = i->created_at;
        if (i->updated_at)
            k->updated_at = i->updated_at;
        if (r->probed && r->video_size >= 0 && k->video_size < 0) {   /* or the sizer did */
            k->video_size = r->video_size;
            tasks_set_tag(k, r->video_tag);
        }
        if (r->last_frame) {
            free(k->last_frame);
            k->last_frame = r->last_frame;
            k->last_frame_len = r->last_frame_len;
            r->last_frame = NULL;
        }
        k->last_frame_failures += r->last_frame_failed;
    }
    /* Hold "succeeded" of our own tasks back until what it promises is
     * there; a task made elsewhere shows what the API says. */
    frame_pending = k->wants_last_frame && !k->last_frame && !api_has_thumbnails(t->api) &&
                    k->last_frame_failures < LAST_FRAME_ATTEMPTS;
    shown = k->api_status;
    if (shown.code == STATUS_SUCCEEDED && k->name && (k->video_size < 0 || frame_pending))
        shown = status_make(STATUS_RUNNING);
    if (!status_equal(&k->status, &shown)) {
        log_info("task %s%s%s: %s -> %s", k->id, k->name ? " " : "", k->name ? k->name : "",
                 status_name(&k->status), status_name(&shown));
        *from = k->status;
        k->status = shown;
        *moved = changed = true;
    }
    return changed ? tasks_snapshot(k) : NULL;
}

struct poll_due {
    double now, until, earliest;    /* poll what is due by `until` */
    char *ids[POLL_BATCH];
    off_t sizes[POLL_BATCH];
    bool ours[POLL_BATCH];
    bool frames[POLL_BATCH];
    int n;
    bool thumbnails;                /* api_has_thumbnails */
};

static void find_earliest(const char *key, void *value, void *arg)
{
    struct poll_due *d = arg;
    struct task *k = value;
    (void)key;

    if (wants_poll(k) && !k->polling && k->next_poll < d->earliest)
        d->earliest = k->next_poll;
}

static void collect_due(const char *key, void *value, void *arg)
{
    struct poll_due *d = arg;
    struct task *k = value;
    (void)key;

    if (!wants_poll(k) || k->polling || k->next_poll > d->until || d->n == POLL_BATCH)
        return;
    if ((d->ids[d->n] = strdup(k->id))) {
        d->sizes[d->n] = k->video_size;
        d->ours[d->n] = k->name != NULL;
        /* A last frame asked for; or the thumbnail the API makes of every
         * video (the OpenAI shape), for our own tasks, never holding them. */
        d->frames[d->n] = !k->last_frame && (k->wants_last_frame ||
                          (k->name && d->thumbnails &&
                           k->last_frame_failures < LAST_FRAME_ATTEMPTS));
        d->n++;
        k->polling = true;
    }
}

/* Applies one result, then saves and reports outside the lock. Lock held. */
static void apply_and_report(tasks *t, const char *id, struct poll_result *r)
{
    struct stored_task *snap = NULL;
    struct task_status from, to;
    struct task *k = strmap_get(t->by_id, id);
    bool moved = false, progressed = false, step = false;
    char *name = NULL;
    int progress = -1, before = k ? k->progress : -1;

    if (k) {
        snap = apply_result(t, k, r, &from, &moved);
        to = k->status;
        name = tasks_dup(k->name);
        /* Told in steps of 10 or more, and the last word (100) always. */
        progressed = k->progress >= 0 && k->progress != before;
        progress = k->progress;
        if (progressed && (k->progress - k->progress_told >= 10 ||
                           k->progress_told - k->progress >= 10 ||
                           (k->progress == 100 && k->progress_told != 100))) {
            step = true;
            k->progress_told = k->progress;
        }
    }
    pthread_mutex_unlock(&t->lock);
    tasks_persist(t, snap);
    if (moved && t->on_status)
        t->on_status(id, name, &from, &to, t->on_status_arg);
    if (progressed && t->on_progress)
        t->on_progress(id, name, &to, progress, step, t->on_progress_arg);
    free(name);
    free(r->last_frame);
    api_task_info_free(&r->info);
    pthread_mutex_lock(&t->lock);
}

static void *poller_main(void *arg)
{
    tasks *t = arg;
    struct poll_due *d = malloc(sizeof *d);
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
        d->thumbnails = api_has_thumbnails(t->api);
        strmap_each(t->by_id, collect_due, d);
        pthread_mutex_unlock(&t->lock);
        poll_many(t, d->ids, d->n, d->sizes, d->ours, d->frames, results);
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
    struct api_result res;
    struct task *k;
    int rc = api_get_task(t->api, id, &info, &res);

    if (rc) {
        log_info("refresh %s: %s", id, res.msg);
        return rc;
    }
    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id)) && info.video_url)
        replace(&k->video_url, &info.video_url);
    pthread_mutex_unlock(&t->lock);
    api_task_info_free(&info);
    return 0;
}

static void due_now(const char *key, void *value, void *arg)
{
    struct task *k = value;
    (void)key;

    if (wants_poll(k) && !k->polling)
        k->next_poll = *(double *)arg;
}

struct report_walk {
    struct tasks_report *r;
    double now, earliest;
};

static void count_task(const char *key, void *value, void *arg)
{
    struct report_walk *w = arg;
    struct task *k = value;
    (void)key;

    w->r->by_status[k->status.code]++;
    if (wants_poll(k) && (w->earliest < 0 || k->next_poll < w->earliest))
        w->earliest = k->next_poll;
}

void tasks_report(tasks *t, struct tasks_report *r)
{
    struct report_walk w = {r, clock_mono(), -1};

    memset(r, 0, sizeof *r);
    pthread_mutex_lock(&t->lock);
    strmap_each(t->by_id, count_task, &w);
    r->list_mode = t->list_mode;
    pthread_mutex_unlock(&t->lock);
    r->next_poll_in = w.earliest < 0 ? -1 : w.earliest > w.now ? w.earliest - w.now : 0;
}

void tasks_poll_now(tasks *t)
{
    double now = clock_mono();

    pthread_mutex_lock(&t->lock);
    strmap_each(t->by_id, due_now, &now);
    pthread_cond_broadcast(&t->wake);
    pthread_mutex_unlock(&t->lock);
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
    return tasks_sizer_start(t);
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
    tasks_sizer_stop(t);
    t->started = false;
}
