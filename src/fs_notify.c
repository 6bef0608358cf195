/* fs_notify.c — answers that come later: `wait` and `events` reads, and
 * lookups of a video being sized, parked until a worker thread can answer
 * them (no FUSE thread is held; Ctrl-C answers EINTR), poll() wake-ups, and
 * the notifier thread that tells the kernel which cached task files went
 * stale after a status change. */
#include "fs_internal.h"
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

/* A read parked until a task is final or an events line arrives, or a
 * lookup parked until a video's size is learned (h NULL, path set).
 *
 * Exactly one party replies: whoever claims it (claim(), under fsx.lock).
 * A claimer other than on_interrupt first unregisters the interrupt
 * callback (fuse_req_interrupt_func(req, NULL, NULL) waits for a callback
 * in progress), so on_interrupt never runs on a waiter already answered. */
struct waiter {
    struct waiter *next;
    fuse_req_t req;
    struct handle *h;               /* a read: its open file */
    size_t size;
    char *path;                     /* a lookup: its path ... */
    struct fuse_entry_param entry;  /* ... and, once answered, the reply */
    int lookup_rc;
    bool replied;
    bool registering;               /* park_read is registering on_interrupt */
    bool interrupted;               /* ... and libfuse called it inline meanwhile */
    int refs;                       /* the parking thread + the request + wakes */
};

/* ---- parked reads: wait and events ---- */

static void waiter_unref(struct waiter *w)
{
    bool last;

    pthread_mutex_lock(&fsx.lock);
    last = --w->refs == 0;
    pthread_mutex_unlock(&fsx.lock);
    if (last) {
        if (w->h)
            fs_handle_unref(w->h);  /* the waiter's reference to the open file */
        free(w->path);
        free(w);
    }
}

/* Takes `w` off the list so that only the caller replies. Lock held. */
static bool claim(struct waiter *w)
{
    if (w->replied)
        return false;
    w->replied = true;
    for (struct waiter **p = &fsx.waiters; *p; p = &(*p)->next)
        if (*p == w) {
            *p = w->next;
            break;
        }
    return true;
}

/* True when `w` can be answered now: a read's bytes go to `buf` (*len),
 * a lookup's reply into the waiter. fsx.lock held: answering and claiming
 * are one step, so two threads never both take lines from one events
 * reader (the loser would drop them), and a change that lands after a
 * waiter was found not ready finds it parked again (lock order: fsx.lock,
 * then the events, tasks, outbox and nodes locks). */
static bool answer(struct waiter *w, char *buf, size_t size, size_t *len)
{
    *len = 0;
    if (!w->h) {
        w->lookup_rc = fs_entry_for(w->path, &w->entry);
        return w->lookup_rc != -EINPROGRESS;
    }
    if (w->h->kind == TREE_OPEN_EVENTS)
        *len = events_read(fsx.events, w->h->reader, buf, size);
    else
        *len = tree_wait_answer(w->h->id, w->h->by_name, buf, size);
    return *len > 0;
}

/* Replies to a waiter the caller claimed: what answer() found when
 * `answered`, else EINTR. Lock not held. */
static void reply_claimed(struct waiter *w, bool answered, const char *buf, size_t len)
{
    fuse_req_interrupt_func(w->req, NULL, NULL);
    if (!answered)
        fuse_reply_err(w->req, EINTR);
    else if (w->h)
        fuse_reply_buf(w->req, buf, len < w->size ? len : w->size);
    else if (w->lookup_rc)
        fuse_reply_err(w->req, -w->lookup_rc);
    else
        fuse_reply_entry(w->req, &w->entry);
    waiter_unref(w);                /* the request's reference */
}

/* libfuse's interrupt callback, called with the request's lock held: from
 * the INTERRUPT's thread (the request is kept alive meanwhile), or inline
 * from fuse_req_interrupt_func when it was interrupted already, where a
 * reply would free the request under libfuse's feet: park_read replies. */
static void on_interrupt(fuse_req_t req, void *data)
{
    struct waiter *w = data;
    bool mine = false;

    pthread_mutex_lock(&fsx.lock);
    if (w->registering)
        w->interrupted = true;
    else
        mine = claim(w);
    pthread_mutex_unlock(&fsx.lock);
    if (mine) {
        fuse_reply_err(req, EINTR);
        waiter_unref(w);
    }
}

/* Answers every parked read that can be answered now and parks the
 * others again. */
static void wake_waiters(void)
{
    struct waiter *ready = NULL;

    pthread_mutex_lock(&fsx.lock);
    for (struct waiter *w = fsx.waiters, *next; w; w = next) {
        next = w->next;
        w->refs++;
        w->next = ready;            /* borrow the link: re-linked below if not ready */
        ready = w;
    }
    fsx.waiters = NULL;
    pthread_mutex_unlock(&fsx.lock);

    for (struct waiter *w = ready, *next; w; w = next) {
        char buf[4096];
        size_t len = 0;
        bool mine = false, answered = false;
        next = w->next;
        pthread_mutex_lock(&fsx.lock);
        if (!w->replied) {
            if (!fsx.closing)
                answered = answer(w, buf, sizeof buf < w->size ? sizeof buf : w->size, &len);
            if (answered || fsx.closing) {
                w->replied = mine = true;   /* off the list already */
            } else {                        /* not yet: park it again */
                w->next = fsx.waiters;
                fsx.waiters = w;
            }
        }
        pthread_mutex_unlock(&fsx.lock);
        if (mine)   /* not answered: the session's sweep has passed */
            reply_claimed(w, answered, buf, len);
        waiter_unref(w);            /* the pass's own reference */
    }
}

/* Answers `w` (refs 2, registering) at once if it can, else parks it. */
static void park(struct waiter *w)
{
    char buf[4096];
    size_t len = 0;
    bool mine = false, answered = false;

    /* Before the waiter can be answered by anyone: libfuse calls
     * on_interrupt at once when the request was interrupted already. */
    fuse_req_interrupt_func(w->req, on_interrupt, w);
    pthread_mutex_lock(&fsx.lock);
    w->registering = false;
    if (w->interrupted || fsx.closing) {
        w->replied = mine = true;   /* EINTR; the session's sweep may have passed */
    } else if ((answered = answer(w, buf, sizeof buf < w->size ? sizeof buf : w->size, &len))) {
        w->replied = mine = true;   /* ready at once */
    } else {
        w->next = fsx.waiters;      /* parked: what changes from now on wakes it */
        fsx.waiters = w;
    }
    pthread_mutex_unlock(&fsx.lock);
    if (mine)
        reply_claimed(w, answered, buf, len);
    waiter_unref(w);                /* the parking thread's reference */
}

static void park_read(fuse_req_t req, struct handle *h, size_t size)
{
    struct waiter *w = calloc(1, sizeof *w);

    if (!w) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    *w = (struct waiter){ .req = req, .h = h, .size = size, .refs = 2, .registering = true };
    pthread_mutex_lock(&fsx.lock);
    h->refs++;                      /* the waiter's, dropped with it */
    pthread_mutex_unlock(&fsx.lock);
    park(w);
}

void fs_lookup_parked(fuse_req_t req, char *path)
{
    struct waiter *w = calloc(1, sizeof *w);

    if (!w) {
        free(path);
        fuse_reply_err(req, ENOMEM);
        return;
    }
    *w = (struct waiter){ .req = req, .path = path, .refs = 2, .registering = true };
    park(w);
}

void fs_read_parked(fuse_req_t req, struct handle *h, size_t size, off_t off, int flags)
{
    char buf[4096];
    size_t len;

    if (h->kind == TREE_OPEN_WAIT && off > 0) {
        fuse_reply_buf(req, NULL, 0);           /* the status line was read: EOF */
        return;
    }
    if (h->kind == TREE_OPEN_EVENTS && (flags & O_NONBLOCK)) {
        len = events_read(fsx.events, h->reader, buf, sizeof buf < size ? sizeof buf : size);
        if (len)
            fuse_reply_buf(req, buf, len);
        else
            fuse_reply_err(req, EAGAIN);
        return;
    }
    park_read(req, h, size);
}

/* The session ends: every read still parked gets EINTR (libfuse frees a
 * request only when it is answered). */
void fs_answer_parked_reads(void)
{
    for (;;) {
        struct waiter *w;
        pthread_mutex_lock(&fsx.lock);
        fsx.closing = true;
        w = fsx.waiters;
        if (w && !claim(w))
            w = NULL;
        pthread_mutex_unlock(&fsx.lock);
        if (!w)
            return;
        reply_claimed(w, false, NULL, 0);
    }
}

/* ---- changes reported by the worker threads ---- */

void fs_wake_waiters(void)
{
    wake_waiters();
}

/* events.h wake-up: some readers' buffers turned non-empty. Every poll()
 * waiting on one of them is told (lock order: fsx.lock, then events'). */
void fs_on_events_ready(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fsx.lock);
    for (struct handle *h = fsx.readers; h; h = h->next_reader)
        if (h->ph && events_pending(fsx.events, h->reader)) {
            fuse_lowlevel_notify_poll(h->ph);
            fuse_pollhandle_destroy(h->ph);
            h->ph = NULL;
        }
    pthread_mutex_unlock(&fsx.lock);
    wake_waiters();
}

void fs_on_status(const char *id, const char *name, const struct task_status *from,
                  const struct task_status *to, void *arg)
{
    (void)arg;
    if (fsx.events)
        events_emit(fsx.events, id, name, from, to);
    if (status_final(to))
        wake_waiters();
    fs_invalidate_task(id);
}

void fs_on_progress(const char *id, const char *name, const struct task_status *status,
                    int progress, void *arg)
{
    (void)arg;
    if (fsx.events && progress >= 0)
        events_emit_progress(fsx.events, id, name, status, progress);
    fs_invalidate_task(id);
}

void fs_invalidate_task(const char *id)
{
    /* The kernel is told by the notifier thread: this may run inside a
     * handler (rmdir cancels), where a notification could deadlock. */
    pthread_mutex_lock(&fsx.lock);
    if (!id_queue_push(&fsx.inval, id))
        pthread_cond_signal(&fsx.inval_cond);
    pthread_mutex_unlock(&fsx.lock);
}

/* Drops what the kernel caches of tasks/<id>/ and its files. */
static void invalidate_task(const char *id)
{
    static const char *const files[] = {"status", "task.json", "request.json", "error",
                                        "video.mp4", "last_frame.png", "video_error", "wait",
                                        "progress", "thumbnail.webp"};
    char *dir = NULL, *path = NULL;
    fuse_ino_t ino;

    if (asprintf(&dir, "/tasks/%s", id) < 0)
        return;
    if ((ino = nodes_find(fsx.nodes, dir)))
        fuse_lowlevel_notify_inval_inode(fsx.se, ino, 0, 0);
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        if (asprintf(&path, "%s/%s", dir, files[i]) < 0)
            break;
        if ((ino = nodes_find(fsx.nodes, path)))
            fuse_lowlevel_notify_inval_inode(fsx.se, ino, 0, 0);
        free(path);
    }
    free(dir);
}

void *fs_notifier_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&fsx.lock);
    while (fsx.running) {
        char *id = id_queue_pop(&fsx.inval);
        if (!id) {
            pthread_cond_wait(&fsx.inval_cond, &fsx.lock);
            continue;
        }
        pthread_mutex_unlock(&fsx.lock);
        invalidate_task(id);
        free(id);
        pthread_mutex_lock(&fsx.lock);
    }
    pthread_mutex_unlock(&fsx.lock);
    return NULL;
}

