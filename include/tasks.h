/* tasks.h — the table of known tasks and the poller that keeps it fresh.
 *
 * FUSE handlers read from this table only (never the network): every
 * accessor copies what it needs under one mutex held briefly. A poller
 * thread (tasks_poller.c) asks for every task that is not terminal (every
 * poll_interval, faster for the first polls after submit) with list calls
 * of up to 100 ids, or one GET each where the gateway's list does not
 * work, and, when a task succeeds, learns the
 * video's size before the status word turns "succeeded" so that a script
 * which sees "succeeded" always finds video.mp4 (and last_frame.png when it
 * was asked for) ready.
 *
 * Locking: one mutex inside, taken by every function and never held when
 * one returns or while a hook runs, so hooks may call back into tasks;
 * tasks_each runs its callback under it.
 */
#ifndef SEEDANCEFS_TASKS_H
#define SEEDANCEFS_TASKS_H

#include "api.h"
#include "store.h"

#include <stdbool.h>
#include <sys/types.h>

typedef struct tasks tasks;
typedef void (*tasks_hook_fn)(const char *id, void *arg);
/* A task's status changed (`from` is NULL for a task just added). */
typedef void (*tasks_status_fn)(const char *id, const char *name,
                                const struct task_status *from,
                                const struct task_status *to, void *arg);

/* The files of tasks/<id>/. */
enum task_file { TASK_STATUS, TASK_JSON, TASK_REQUEST, TASK_ERROR, TASK_LAST_FRAME,
                 TASK_VIDEO_ERROR, TASK_PROGRESS, TASK_THUMBNAIL, TASK_FILES };

/* What getattr and readdir need about one task, copied out. */
struct task_stat {
    struct task_status status;  /* as shown in the status file */
    long long created_at, updated_at;
    off_t video_size;           /* -1 until video.mp4 exists */
    bool video_unsized;         /* succeeded, size not learned yet: tasks_size_video */
    size_t size[TASK_FILES];    /* byte size of each file; 0 = absent */
};

/* `st` (may be NULL: memory only) receives every durable change: status,
 * times, video size, last frame, removal. */
tasks *tasks_new(api *a, store *st, double poll_interval);
void tasks_free(tasks *t);

/* Loads the tasks saved in the store (at mount, before the poller starts). */
int tasks_restore(tasks *t);

/* `fn` runs, without locks held, each time a task's status word changes
 * (on the poller thread; on the caller's thread for tasks_add and
 * tasks_remove). "succeeded" means video.mp4 just appeared. */
void tasks_set_status_hook(tasks *t, tasks_status_fn fn, void *arg);

/* `fn` runs, without locks held, on the poller thread, each time the
 * progress the API reports (0..100) changes; `step` is true when it moved
 * by 10 or more since the last step (or reached 100): worth a line. */
typedef void (*tasks_progress_fn)(const char *id, const char *name,
                                  const struct task_status *status, int progress, bool step,
                                  void *arg);
void tasks_set_progress_hook(tasks *t, tasks_progress_fn fn, void *arg);

/* `fn` runs, without locks held, when a size asked for with
 * tasks_size_video was learned or could not be (on the sizer thread), and
 * when a video turned out gone (tasks_video_gone's caller). */
void tasks_set_sized_hook(tasks *t, tasks_hook_fn fn, void *arg);

/* `fn` runs, without locks held, after a task's record was deleted
 * (tasks_remove of a finished task): what else is kept of it can go. */
void tasks_set_removed_hook(tasks *t, tasks_hook_fn fn, void *arg);

/* Calls fn(id) for every task of ours (one with a name) whose video.mp4
 * exists, without the lock held. */
void tasks_each_video(tasks *t, tasks_hook_fn fn, void *arg);

/* True when the id is in the table. */
bool tasks_known(tasks *t, const char *id);

/* True when the id is in the table without a name: imported, not (yet)
 * known to be one of ours. tasks_add with a name claims it. */
bool tasks_unclaimed(tasks *t, const char *id);

/* Adds a task created elsewhere (no name, no request), saved and reported
 * like any other. -EEXIST when known, -EDQUOT when the table holds
 * tasks_max tasks. */
int tasks_import(tasks *t, const struct task_info *info);

/* One look for tasks made elsewhere (tasks_import.c): the newest list pages
 * (100 at mount when `first`, else up to 10, stopping at a page with
 * nothing new), each unknown task imported. -EPROTO when the gateway's list
 * does not work (the caller stops looking); 0 otherwise, failures logged.
 * The caller decides when: the outbox looks only while no POST is in
 * flight or unreconciled, so an imported task is never a lost POST's. */
int tasks_import_recent(tasks *t, api *a, bool first);

/* Asks the API for the task now and keeps its fresh content.video_url
 * (signed URLs expire). 0 or the errors of api_get_task. */
int tasks_refresh_video_url(tasks *t, const char *id);

/* Every task still running is due now (SIGHUP: "look again"). */
void tasks_poll_now(tasks *t);

/* Starts / stops the poller thread (stop waits for it). */
int tasks_start(tasks *t);
void tasks_stop(tasks *t);

/* Adds a task the API just accepted (the caller has stored it). `name` (may
 * be NULL) appears under by-name/. An imported task of that id is claimed
 * (gets the name). Returns 0, -EEXIST (id or name known) or -ENOMEM. */
int tasks_add(tasks *t, const char *id, const char *name, const char *request_json,
              bool wants_last_frame);

/* The name (by-name/, "" when made elsewhere) and model ("" when not
 * known) of a task, into buffers of `size` bytes. -ENOENT. */
int tasks_describe(tasks *t, const char *id, char *name, char *model, size_t size);

/* For the STATUS file: tasks by status code, how the poller asks (1: list
 * calls, -1: one GET per task, 0: not tried yet), and in how many seconds
 * its next poll is due (-1: nothing to poll). */
struct tasks_report {
    size_t by_status[STATUS_OTHER + 1];
    int list_mode;
    double next_poll_in;
};
void tasks_report(tasks *t, struct tasks_report *r);

/* How many tasks the table holds. */
size_t tasks_count(tasks *t);

/* The most tasks the table takes from tasks_import (default 100000):
 * past it an import is -EDQUOT. Tasks of our own requests and those in
 * the store are always taken (the outbox bounds new requests). */
void tasks_set_max(tasks *t, size_t max);
size_t tasks_max(tasks *t);

/* -ENOENT when the id is unknown. */
int tasks_stat(tasks *t, const char *id, struct task_stat *out);

/* A malloc'd copy of one file's bytes. -ENOENT when the task or the file
 * does not exist (error before failure, last frame before it is fetched). */
int tasks_read_file(tasks *t, const char *id, enum task_file f, char **data, size_t *len);

/* Calls fn(id, name) for every task, under the lock: fn must not block. */
void tasks_each(tasks *t, void (*fn)(const char *id, const char *name, void *arg), void *arg);

/* Copies the id of the task named `name` into id[NAMES_MAX_TASK_ID + 1]. -ENOENT. */
int tasks_id_by_name(tasks *t, const char *name, char *id);

/* The video of a succeeded task whose size is not known (imported: nobody
 * probed it) is being looked at. Never waits: 0 when the size is known,
 * -EINPROGRESS when a probe is queued or under way (the sized hook runs
 * when it ends), the errno of the probe that just failed (once: the next
 * call starts another, up to SIZE_ATTEMPTS per mount; then the video is
 * given up for this mount), -ENOENT when there is no such video (not
 * succeeded, or gone at the provider: the video_error file says why). */
int tasks_size_video(tasks *t, const char *id);

/* A read found the video gone at the provider (404/410 with a fresh URL):
 * video_error says so from now on, durably, and nothing fetches it again. */
void tasks_video_gone(tasks *t, const char *id, const char *why);

/* The version of the task's video that its size (and so its cached
 * bytes) are of, into tag[size]: an ETag or Last-Modified, "" when the
 * server stated none. -ENOENT. */
int tasks_video_tag(tasks *t, const char *id, char *tag, size_t size);

/* A reply of the video stated `tag` where none was known, for the known
 * `size`: it is kept (saved) as the version of the cached bytes. */
void tasks_video_tag_learned(tasks *t, const char *id, off_t size, const char *tag);

/* A reply showed the video at the server in another version than the
 * known one (`was`, `was_tag`: what the fetch expected; when that is no
 * longer the known version, another reader adopted the new one: 0 and
 * nothing more): `size` (-1: not stated; the video is then sized again
 * when next looked at) and `tag`. The new version is adopted and saved, the
 * removed hook drops the cached bytes (no mix of versions) and the sized
 * hook tells the kernel. After TASKS_MAX_VIDEO_CHANGES in one mount the
 * video is given up for this mount (video_error says why): -ESTALE; else 0. */
#define TASKS_MAX_VIDEO_CHANGES 8
int tasks_video_changed(tasks *t, const char *id, off_t was, const char *was_tag, off_t size,
                        const char *tag);

/* Where the video of a succeeded task is read from, and its size.
 * -ENOENT unless video.mp4 exists. Caller frees *url; with `url` NULL only
 * the size is looked up (`auth` may then be NULL too). */
int tasks_video(tasks *t, const char *id, char **url, bool *auth, off_t *size);

/* rmdir: asks the API to cancel (queued) or delete (finished) the task.
 * A cancelled task stays with status "cancelled"; a deleted one leaves the
 * table. -EBUSY when the API refuses (running), other errors as
 * api_delete_task; `why` says what the API answered. */
int tasks_remove(tasks *t, const char *id, char *why, size_t why_len);

#endif
