/* tasks_sizer.c — the size of a video nobody probed yet (a task made
 * elsewhere), learned when someone looks at its video.mp4: one bounded
 * probe on this thread while the lookup waits, remembered in the store;
 * and videos the provider no longer has. See tasks.h. */
#include "tasks_internal.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void tasks_set_sized_hook(tasks *t, tasks_hook_fn fn, void *arg)
{
    t->on_sized = fn;
    t->on_sized_arg = arg;
}

/* Queues `k` for the sizer. Lock held. */
static int queue_probe(tasks *t, struct task *k)
{
    if (id_queue_push(&t->size_queue, k->id))
        return -ENOMEM;
    k->sizing = true;
    pthread_cond_signal(&t->size_work);
    return -EINPROGRESS;
}

int tasks_size_video(tasks *t, const char *id)
{
    struct task *k;
    int rc = -ENOENT;

    pthread_mutex_lock(&t->lock);
    if (!(k = strmap_get(t->by_id, id)) || k->status.code != STATUS_SUCCEEDED ||
        k->video_error || k->size_gave_up)
        rc = -ENOENT;
    else if (k->video_size >= 0)
        rc = 0;
    else if (k->sizing)
        rc = -EINPROGRESS;
    else if (k->size_error)
        rc = k->size_error, k->size_error = 0;  /* told once; the next look tries again */
    else if (!t->sizer_started)
        rc = -EIO;                              /* stopping */
    else
        rc = queue_probe(t, k);
    pthread_mutex_unlock(&t->lock);
    return rc;
}

/* Sets why the video cannot be had; a snapshot to persist when it is new. Lock held. */
static struct stored_task *give_up(struct task *k, const char *why)
{
    if (k->video_error)
        return NULL;
    if (asprintf(&k->video_error, "%s\n", why) < 0) {
        k->video_error = NULL;
        return NULL;
    }
    return tasks_snapshot(k);
}

void tasks_video_gone(tasks *t, const char *id, const char *why)
{
    struct stored_task *snap = NULL;
    struct task *k;

    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id)))
        snap = give_up(k, why);
    pthread_mutex_unlock(&t->lock);
    if (snap)
        log_info("video %s: %s", id, why);
    tasks_persist(t, snap);
    if (snap && t->on_sized)
        t->on_sized(id, t->on_sized_arg);
}

void tasks_set_tag(struct task *k, const char *tag)
{
    free(k->video_tag);
    k->video_tag = tag && tag[0] ? strdup(tag) : NULL;
}

int tasks_video_tag(tasks *t, const char *id, char *tag, size_t size)
{
    struct task *k;
    int rc = -ENOENT;

    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id))) {
        snprintf(tag, size, "%s", k->video_tag ? k->video_tag : "");
        rc = 0;
    }
    pthread_mutex_unlock(&t->lock);
    return rc;
}

void tasks_video_tag_learned(tasks *t, const char *id, off_t size, const char *tag)
{
    struct stored_task *snap = NULL;
    struct task *k;

    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id)) && !k->video_tag && tag[0] && k->video_size == size) {
        tasks_set_tag(k, tag);
        snap = tasks_snapshot(k);
    }
    pthread_mutex_unlock(&t->lock);
    tasks_persist(t, snap);
}

int tasks_video_changed(tasks *t, const char *id, off_t was, const char *was_tag, off_t size,
                        const char *tag)
{
    struct stored_task *snap = NULL;
    struct task *k;
    int rc = 0;

    pthread_mutex_lock(&t->lock);
    if (!(k = strmap_get(t->by_id, id)) || k->video_size != was ||
        strcmp(k->video_tag ? k->video_tag : "", was_tag)) {
        pthread_mutex_unlock(&t->lock);
        return k ? 0 : -ENOENT;                 /* another reader adopted it already */
    }
    if (++k->video_changes > TASKS_MAX_VIDEO_CHANGES) {
        if (!k->size_gave_up &&
            asprintf(&k->size_gave_up, "the server's file keeps changing (more than %d "
                     "changes in this mount); a new mount tries again\n",
                     TASKS_MAX_VIDEO_CHANGES) < 0)
            k->size_gave_up = NULL;
        rc = -ESTALE;
    }
    k->video_size = -1;             /* no video.mp4 until the old bytes are gone */
    pthread_mutex_unlock(&t->lock);
    if (rc)
        log_error("video %s: the server's file keeps changing; given up for this mount", id);
    /* The old version's bytes go before the new version is saved: after a
     * crash in between, the store never pairs them. */
    if (t->on_removed)
        t->on_removed(id, t->on_removed_arg);
    pthread_mutex_lock(&t->lock);
    if (!rc && (k = strmap_get(t->by_id, id))) {
        k->video_size = size;
        tasks_set_tag(k, tag);
        snap = tasks_snapshot(k);
    }
    pthread_mutex_unlock(&t->lock);
    if (snap)
        log_info("video %s: another version at the server (%lld bytes%s%s, was %lld%s%s): "
                 "the cached bytes are dropped", id, (long long)size, tag[0] ? ", " : "", tag,
                 (long long)was, was_tag[0] ? ", " : "", was_tag);
    tasks_persist(t, snap);
    if (t->on_sized)
        t->on_sized(id, t->on_sized_arg);
    return rc;
}

/* One probe; the URL is asked for afresh once when it was refused or
 * missing (a signed URL expired; a listed task without content). *gone:
 * still not found with a fresh URL, the only proof that the provider has
 * dropped the video (a refresh that failed proves nothing). Lock not held. */
static int probe(tasks *t, const char *id, off_t *size, char *tag, struct api_result *res,
                 bool *gone)
{
    char *url = NULL;
    struct task *k;
    int rc;

    *gone = false;
    for (bool fresh = false;; fresh = true) {
        pthread_mutex_lock(&t->lock);
        k = strmap_get(t->by_id, id);
        url = k ? tasks_dup(k->video_url) : NULL;
        pthread_mutex_unlock(&t->lock);
        if (!k)
            return -ENOENT;
        rc = api_video_size(t->api, id, url, size, tag, res);
        free(url);
        if (rc != -EACCES && rc != -ENOENT)
            return rc;
        if (fresh) {
            *gone = rc == -ENOENT;
            return rc;
        }
        if (tasks_refresh_video_url(t, id))
            return -EIO;        /* unknown: counted as a failed probe */
    }
}

/* Probes one queued video and records what it learned. */
static void size_one(tasks *t, const char *id)
{
    struct stored_task *snap = NULL;
    struct api_result res;
    struct task *k;
    char why[600], tag[HTTP_TAG_MAX];
    off_t size;
    bool gone;
    int rc = probe(t, id, &size, tag, &res, &gone);

    why[0] = '\0';
    pthread_mutex_lock(&t->lock);
    if ((k = strmap_get(t->by_id, id))) {
        k->sizing = false;
        if (!rc) {
            k->video_size = size;
            tasks_set_tag(k, tag);
            snap = tasks_snapshot(k);
        } else if (gone) {
            snprintf(why, sizeof why, "the provider no longer serves this video (%s); "
                     "its URLs live about 24 hours", res.msg[0] ? res.msg : "no video URL");
            snap = give_up(k, why);
        } else if (++k->size_failures >= SIZE_ATTEMPTS) {
            snprintf(why, sizeof why, "could not learn the video's size in %d attempts (%s); "
                     "a new mount tries again", SIZE_ATTEMPTS, res.msg);
            free(k->size_gave_up);          /* this mount only: never saved */
            k->size_gave_up = strdup(why);
        } else {
            snprintf(why, sizeof why, "size probe failed (%s), attempt %d of %d", res.msg,
                     k->size_failures, SIZE_ATTEMPTS);
        }
        /* Whatever could not be recorded (ENOMEM) still ends this probe
         * for its waiters: no wake-up may start the next one at once. */
        if (rc && !k->video_error && !k->size_gave_up)
            k->size_error = rc == -ECANCELED ? -EINTR : -EIO;
    }
    pthread_mutex_unlock(&t->lock);
    if (!rc)
        log_debug("video %s: %lld bytes", id, (long long)size);
    else if (why[0])
        log_info("video %s: %s", id, why);
    if (t->on_sized)                        /* the lookups need no commit */
        t->on_sized(id, t->on_sized_arg);
    tasks_persist(t, snap);
}

static void *sizer_main(void *arg)
{
    tasks *t = arg;

    pthread_mutex_lock(&t->lock);
    while (t->running) {
        char *id = id_queue_pop(&t->size_queue);
        if (!id) {
            pthread_cond_wait(&t->size_work, &t->lock);
            continue;
        }
        pthread_mutex_unlock(&t->lock);
        size_one(t, id);
        free(id);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

int tasks_sizer_start(tasks *t)
{
    int rc = pthread_create(&t->sizer, NULL, sizer_main, t);

    if (rc)
        return -rc;
    pthread_mutex_lock(&t->lock);
    t->sizer_started = true;
    pthread_mutex_unlock(&t->lock);
    return 0;
}

/* After t->running turned false. Probes still queued end unanswered: their
 * lookups are answered by the session's end. */
void tasks_sizer_stop(tasks *t)
{
    bool started;

    pthread_mutex_lock(&t->lock);
    started = t->sizer_started;
    t->sizer_started = false;
    pthread_cond_broadcast(&t->size_work);
    pthread_mutex_unlock(&t->lock);
    if (started)
        pthread_join(t->sizer, NULL);
}
