/* tasks_internal.h — what the task table (tasks.c) and its poller
 * (tasks_poller.c) share. Not a public header. */
#ifndef SEEDANCEFS_TASKS_INTERNAL_H
#define SEEDANCEFS_TASKS_INTERNAL_H

#include "id_queue.h"
#include "strmap.h"
#include "tasks.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#define POLL_FAST_SECS 0.5      /* a new task's first polls come this soon */

struct task {
    char *id, *name;
    struct task_status status;      /* shown: held at running until the video is sized */
    struct task_status api_status;  /* as the API last said */
    char *task_json, *request_json, *error, *video_url, *last_frame_url;
    char *last_frame;
    size_t last_frame_len;
    int last_frame_failures;
    bool wants_last_frame;
    long long created_at, updated_at;
    off_t video_size;
    char *video_tag;            /* the version video_size is of (saved); NULL: not stated */
    int video_changes;          /* versions adopted this mount (tasks_video_changed) */
    char *video_error;          /* why the video cannot be had (saved); shown as video_error */
    char *size_gave_up;         /* why sizing gave up this mount (not saved); shown so too */
    bool sizing;                /* a size probe is queued or under way (tasks_sizer.c) */
    int size_failures;          /* failed probes this mount */
    int size_error;             /* the last probe's errno, until someone is told */
    double next_poll;           /* monotonic seconds */
    int polls;
    bool polling;               /* a poll of this task is in flight */
    int progress;               /* 0..100 as the API last said, -1 = it says none */
    int progress_told;          /* what the progress hook last heard (-100: nothing) */
};

struct tasks {
    api *api;
    store *store;
    _Atomic size_t max_tasks;   /* tasks_set_max */
    tasks_status_fn on_status;  /* called when a status word changes */
    void *on_status_arg;
    tasks_progress_fn on_progress;  /* called when progress moved by >= 10 */
    void *on_progress_arg;
    tasks_hook_fn on_removed;   /* called when a task's record was deleted */
    void *on_removed_arg;
    double poll_interval;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    strmap *by_id, *by_name;
    pthread_t poller;
    tasks_hook_fn on_sized;     /* a size probe ended */
    void *on_sized_arg;
    struct id_queue size_queue; /* ids waiting for the sizer thread */
    pthread_cond_t size_work;
    pthread_t sizer;
    bool sizer_started;
    atomic_bool running;             /* read without the lock by loops and sinks */
    bool started;
    _Atomic int list_mode;      /* 0 untried, 1 works, -1 broken: one GET per task */
    strmap *removed_in_listing; /* ids removed while an import list is in flight
                                   (tasks_listing_begin); NULL otherwise */
};

#define SIZE_ATTEMPTS 3         /* failed size probes before a video is given up */

/* The sizer thread (tasks_sizer.c), started and stopped with the poller. */
int tasks_sizer_start(tasks *t);
void tasks_sizer_stop(tasks *t);

/* Sets k->video_tag to `tag` (NULL or "": none). Lock held. */
void tasks_set_tag(struct task *k, const char *tag);

/* An import look's list call is in flight from tasks_listing_begin to
 * tasks_listing_end: a task removed meanwhile may still be in its reply, so
 * tasks_import refuses those ids (-ENOENT) instead of bringing them back.
 * One look at a time (the outbox's thread). begin is -ENOMEM when the ids
 * cannot be kept: do not list now. */
int tasks_listing_begin(tasks *t);
void tasks_listing_end(tasks *t);

/* strdup that passes NULL through. */
char *tasks_dup(const char *s);

/* A copy of the durable part of `k`, taken under the lock ... */
struct stored_task *tasks_snapshot(const struct task *k);

/* ... and written to the store after it (frees `s`; NULL is a no-op). */
void tasks_persist(tasks *t, struct stored_task *s);

#endif
