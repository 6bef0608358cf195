/* outbox.c — the submitter thread and its queue; see outbox.h. */
#include "outbox.h"
#include "clock.h"
#include "log.h"
#include "strmap.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_FIRST 1.0           /* seconds */
#define BACKOFF_CAP 10.0            /* short: a request goes out soon after an outage */
#define RECONCILE_PAGES 5           /* list pages searched for a lost POST's task */
#define RECONCILE_PAGE_SIZE 100
#define RECONCILE_SKEW 10.0         /* seconds of clock difference tolerated: a wider
                                     * window admits other clients' tasks */
#define RECONCILE_GIVE_UP 5         /* failed reconciles before resending anyway */
#define IMPORT_EVERY 60.0           /* seconds between looks for tasks made elsewhere */

struct pending {
    char *name, *body;
    enum request_state state;       /* accepted, sending or rejected */
    int attempts, reconcile_failures;
    bool wants_last_frame, in_flight;
    double first_sent_at;           /* wall clock */
    double next_attempt;            /* monotonic */
    char reason[600];
    int reject_err;                 /* REQ_REJECTED: -EINVAL or -EACCES */
    int outcome;                    /* 1 = answered once (for outbox_wait) */
};

struct outbox {
    store *store;
    api *api;
    tasks *tasks;
    outbox_reject_fn on_reject;
    void *on_reject_arg;
    outbox_resolve_fn resolve;
    void *resolve_arg;
    pthread_mutex_t lock;
    pthread_cond_t wake, answered;
    strmap *pending;                /* name -> struct pending (not yet submitted) */
    strmap *submitted;              /* names whose request row is submitted */
    pthread_t thread;
    atomic_bool running;             /* read without the lock by loops and sinks */
    bool started;
    bool import;                    /* show tasks created elsewhere */
    double next_import;             /* monotonic */
};

static void pending_free(struct pending *p)
{
    if (!p)
        return;
    free(p->name);
    free(p->body);
    free(p);
}

outbox *outbox_new(store *st, api *a, tasks *t, bool import)
{
    outbox *o = calloc(1, sizeof *o);

    if (!o)
        return NULL;
    o->import = import;
    o->store = st;
    o->api = a;
    o->tasks = t;
    o->pending = strmap_new();
    o->submitted = strmap_new();
    if (!o->pending || !o->submitted) {
        strmap_free(o->pending);
        strmap_free(o->submitted);
        free(o);
        return NULL;
    }
    pthread_mutex_init(&o->lock, NULL);
    pthread_cond_init(&o->wake, NULL);
    pthread_cond_init(&o->answered, NULL);
    return o;
}

static void free_pending_cb(const char *key, void *value, void *arg)
{
    (void)key; (void)arg;
    pending_free(value);
}

void outbox_free(outbox *o)
{
    if (!o)
        return;
    outbox_stop(o);
    strmap_each(o->pending, free_pending_cb, NULL);
    strmap_free(o->pending);
    strmap_free(o->submitted);
    pthread_cond_destroy(&o->wake);
    pthread_cond_destroy(&o->answered);
    pthread_mutex_destroy(&o->lock);
    free(o);
}

void outbox_set_resolver(outbox *o, outbox_resolve_fn fn, void *arg)
{
    o->resolve = fn;
    o->resolve_arg = arg;
}

static void due_now(const char *key, void *value, void *arg)
{
    struct pending *p = value;
    (void)key;
    if (p->state == REQ_ACCEPTED)
        p->next_attempt = *(double *)arg;
}

void outbox_kick(void *outbox_arg)
{
    outbox *o = outbox_arg;
    double now = clock_mono();

    pthread_mutex_lock(&o->lock);
    strmap_each(o->pending, due_now, &now);
    pthread_cond_signal(&o->wake);
    pthread_mutex_unlock(&o->lock);
}

void outbox_set_reject_hook(outbox *o, outbox_reject_fn fn, void *arg)
{
    o->on_reject = fn;
    o->on_reject_arg = arg;
}

static struct pending *pending_new(const struct stored_request *r)
{
    struct pending *p = calloc(1, sizeof *p);

    if (!p || !(p->name = strdup(r->name)) || !(p->body = strdup(r->body))) {
        pending_free(p);
        return NULL;
    }
    p->state = r->state;
    p->attempts = r->attempts;
    p->wants_last_frame = r->wants_last_frame;
    p->first_sent_at = r->first_sent_at;
    p->next_attempt = clock_mono();
    snprintf(p->reason, sizeof p->reason, "%s",
             r->last_error ? r->last_error : "waiting to be sent");
    return p;
}

struct restore_ctx {
    outbox *o;
    void (*fn)(const struct stored_request *r, void *arg);
    void *arg;
};

static void restore_one(const struct stored_request *r, void *arg)
{
    struct restore_ctx *c = arg;
    struct pending *p;

    if (c->fn)
        c->fn(r, c->arg);
    if (r->state == REQ_SUBMITTED) {
        strmap_put(c->o->submitted, r->name, (void *)1);
        return;
    }
    if (!(p = pending_new(r)))
        return;
    p->outcome = r->state == REQ_REJECTED;
    if (strmap_put(c->o->pending, p->name, p))
        pending_free(p);
    else if (r->state == REQ_SENDING)
        log_info("restore %s: its POST may have been sent; reconciling before any resend",
                 r->name);
}

int outbox_restore(outbox *o, void (*fn)(const struct stored_request *r, void *arg), void *arg)
{
    struct restore_ctx c = {o, fn, arg};
    return store_requests_load(o->store, restore_one, &c);
}

size_t outbox_max_tasks(outbox *o)
{
    return tasks_max(o->tasks);
}

int outbox_accept(outbox *o, const struct stored_request *r)
{
    struct pending *p = pending_new(r), *old;
    int rc;

    if (!p)
        return -ENOMEM;
    size_t tasks_held = tasks_count(o->tasks);      /* not under our lock: a bound, not a count */
    p->state = REQ_ACCEPTED;
    p->attempts = 0;
    p->first_sent_at = 0;
    /* The name is reserved under the lock (in flight: not sent, not
     * withdrawn), made durable without it: lookups never wait on the disk. */
    p->in_flight = true;
    pthread_mutex_lock(&o->lock);
    old = strmap_get(o->pending, r->name);
    if (strmap_get(o->submitted, r->name) || (old && (old->state != REQ_REJECTED ||
                                                      old->in_flight))) {
        pthread_mutex_unlock(&o->lock);
        pending_free(p);
        return -EEXIST;
    }
    if (!old && tasks_held + strmap_count(o->pending) >= tasks_max(o->tasks)) {
        pthread_mutex_unlock(&o->lock);
        pending_free(p);
        return -EDQUOT;
    }
    if ((rc = strmap_put(o->pending, p->name, p))) {      /* replaces a rejected one */
        pthread_mutex_unlock(&o->lock);
        pending_free(p);
        return rc;
    }
    pthread_mutex_unlock(&o->lock);

    if (!old || !(rc = store_request_delete(o->store, r->name)))
        rc = store_request_put(o->store, r);

    pthread_mutex_lock(&o->lock);
    if (!rc) {
        p->in_flight = false;
        pthread_cond_signal(&o->wake);
    } else if (old && strmap_put(o->pending, old->name, old) == 0) {
        old = NULL;                 /* back as it was (its row may be gone: shown until restart) */
    } else {
        strmap_del(o->pending, r->name);
    }
    pthread_mutex_unlock(&o->lock);
    pending_free(old);
    if (rc)
        pending_free(p);
    return rc;
}

int outbox_wait(outbox *o, const char *name, double seconds, char *why, size_t why_len)
{
    struct timespec until;
    struct pending *p;
    int rc;

    bool timed_out = false;

    clock_deadline(&until, seconds);
    pthread_mutex_lock(&o->lock);
    for (;;) {
        /* Looked up after every wait: a withdraw may have freed it meanwhile. */
        p = strmap_get(o->pending, name);
        if (!p) {
            rc = strmap_get(o->submitted, name) ? 0 : -ENOENT;
            break;
        }
        if (p->state == REQ_REJECTED) {
            snprintf(why, why_len, "%s", p->reason);
            rc = p->reject_err ? p->reject_err : -EINVAL;
            break;
        }
        if (p->outcome || timed_out) {
            snprintf(why, why_len, "%s", p->reason);
            rc = -EINPROGRESS;
            break;
        }
        timed_out = pthread_cond_timedwait(&o->answered, &o->lock, &until) == ETIMEDOUT;
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

int outbox_withdraw(outbox *o, const char *name)
{
    struct pending *p;
    int rc = 0;

    pthread_mutex_lock(&o->lock);
    p = strmap_get(o->pending, name);
    if (p && p->in_flight)
        rc = -EBUSY;
    else if (!p && !strmap_get(o->submitted, name))
        rc = -ENOENT;
    else if (p)
        p->in_flight = true;        /* ours until the row is gone */
    pthread_mutex_unlock(&o->lock);
    if (rc)
        return rc;
    rc = store_request_delete(o->store, name);
    pthread_mutex_lock(&o->lock);
    if (!rc) {
        strmap_del(o->submitted, name);
        strmap_del(o->pending, name);
    } else if (p) {
        p->in_flight = false;
    }
    pthread_mutex_unlock(&o->lock);
    if (!rc)
        pending_free(p);
    return rc;
}

int outbox_view(outbox *o, const char *name, struct outbox_view *v, char **body)
{
    struct pending *p;
    int rc = -ENOENT;

    if (body)
        *body = NULL;
    pthread_mutex_lock(&o->lock);
    if ((p = strmap_get(o->pending, name))) {
        snprintf(v->state, sizeof v->state, "%s",
                 p->state == REQ_REJECTED ? "rejected" : "pending");
        snprintf(v->reason, sizeof v->reason, "%s", p->reason);
        v->attempts = p->attempts;
        rc = body && !(*body = strdup(p->body)) ? -ENOMEM : 0;
    }
    pthread_mutex_unlock(&o->lock);
    return rc;
}

void outbox_each(outbox *o, void (*fn)(const char *name, void *arg), void *arg)
{
    pthread_mutex_lock(&o->lock);
    strmap_each_key(o->pending, fn, arg);
    pthread_mutex_unlock(&o->lock);
}

/* ---- the submitter ---- */

double outbox_backoff(int attempts, double retry_after)
{
    double delay = BACKOFF_FIRST * pow(2, attempts > 1 ? attempts - 1 : 0);

    if (delay > BACKOFF_CAP)
        delay = BACKOFF_CAP;
    delay *= clock_jitter(0.75, 1.25);
    return retry_after > delay ? retry_after : delay;
}

/* Creates the task row and marks the request submitted, durably. */
static int record_task(outbox *o, const char *name, const char *id, const char *body,
                       bool wants_last_frame)
{
    long long now = (long long)clock_wall();
    struct task_status first = status_make(STATUS_QUEUED);
    const char *queued = status_name(&first);       /* the store keeps the words */
    struct stored_task t = {
        .id = id, .name = name, .status = queued, .api_status = queued,
        .request_json = body, .wants_last_frame = wants_last_frame,
        .created_at = now, .updated_at = now, .video_size = -1,
    };
    int rc = store_request_submitted(o->store, name, &t);

    if (!rc && (rc = tasks_add(o->tasks, id, name, body, wants_last_frame)) == -EEXIST)
        rc = 0;         /* adopted twice is still one task */
    return rc;
}

/* Looks for the task a lost POST may have created. Returns 0 with *id set
 * when found, -ENOENT when surely absent, another errno when the list could
 * not be read. */
static int reconcile(outbox *o, const struct pending *p, char **id)
{
    struct api_result res;
    char *model = NULL;
    double best = INFINITY;
    int rc = -ENOENT;

    *id = NULL;
    if (!(model = api_body_model(p->body)))     /* the one field the list filters on */
        return -EINVAL;
    char *after = NULL;
    for (int page = 1; page <= RECONCILE_PAGES && rc == -ENOENT; page++) {
        struct task_info *items;
        int n, err = api_list_recent(o->api, model, page, RECONCILE_PAGE_SIZE, &after, &items,
                                     &n, &res);
        bool older_seen = false;

        if (err) {
            log_info("reconcile %s: %s", p->name, res.msg);
            free(model);
            free(after);
            return err;
        }
        for (int i = 0; i < n; i++) {
            struct task_info *t = &items[i];
            double dt = (double)t->created_at - p->first_sent_at;
            if (t->created_at && dt < -RECONCILE_SKEW)
                older_seen = true;
            else if ((!tasks_known(o->tasks, t->id) || tasks_unclaimed(o->tasks, t->id)) &&
                     api_task_matches_body(o->api, t->json, p->body) && fabs(dt) < best) {
                best = fabs(dt);
                free(*id);
                *id = strdup(t->id);
            }
        }
        api_task_list_free(items, n);
        if (*id)
            rc = 0;
        if (n < RECONCILE_PAGE_SIZE || older_seen)
            break;
    }
    free(model);
    free(after);
    return rc;
}

/* After a failure: reason and next attempt, then the durable state (the
 * lock is not held across the store's commit: lookups would wait on the
 * disk). `p` is in flight, so only the submitter touches it. Lock not held. */
static void schedule_retry(outbox *o, struct pending *p, bool maybe_sent, const char *why,
                           double retry_after)
{
    double delay = outbox_backoff(p->attempts, retry_after);
    char reason[sizeof p->reason];

    pthread_mutex_lock(&o->lock);
    p->state = maybe_sent ? REQ_SENDING : REQ_ACCEPTED;
    p->next_attempt = clock_mono() + delay;
    snprintf(p->reason, sizeof p->reason, "%s; attempt %d, retry in %.1f s%s", why,
             p->attempts, delay, maybe_sent ? " after checking it was not created" : "");
    memcpy(reason, p->reason, sizeof reason);
    pthread_mutex_unlock(&o->lock);
    if (store_request_set_state(o->store, p->name, p->state, p->attempts, why,
                                p->first_sent_at))
        log_error("submit %s: cannot save its state", p->name);
    log_info("submit %s: %s", p->name, reason);
}

/* May a POST that failed this way have created a task? Then the next
 * attempt first looks for it (reconcile) instead of sending again. */
bool outbox_maybe_created(const struct api_result *res)
{
    /* Never sent (budget, abort before the call), the server said no (429,
     * 503), or never heard us: nothing was created. */
    if (!res->sent || res->err == -ECONNREFUSED || res->http_status == 429 ||
        res->http_status == 503)
        return false;
    /* A reply that went missing or made no sense, or a send cut short. */
    return res->err == -ETIMEDOUT || res->err == -EIO || res->err == -EPROTO ||
           res->err == -EAGAIN || res->err == -EMSGSIZE || res->err == -ECANCELED;
}

/* One attempt for one request; called without the lock, p->in_flight set. */
/* The API (or the gate) refused the request for good. */
static void reject(outbox *o, struct pending *p, int err, const char *why)
{
    err = err == -EACCES ? -EACCES : -EINVAL;
    pthread_mutex_lock(&o->lock);
    p->state = REQ_REJECTED;
    p->reject_err = err;
    snprintf(p->reason, sizeof p->reason, "%s", why);
    pthread_mutex_unlock(&o->lock);
    store_request_set_state(o->store, p->name, REQ_REJECTED, p->attempts, why,
                            p->first_sent_at);
    log_info("submit %s: rejected: %s", p->name, why);
    if (o->on_reject)
        o->on_reject(p->name, err, why, o->on_reject_arg);
}

static void submit_one(outbox *o, struct pending *p)
{
    char why[512] = "", *id = NULL, *resolved = NULL;   /* fits reason[600] with a prefix */
    const char *send = p->body;
    struct api_result res;
    int rc;

    if (p->state == REQ_SENDING) {
        rc = reconcile(o, p, &id);
        if (rc == 0) {
            log_info("submit %s: adopting task %s created by an earlier send", p->name, id);
            goto created;
        }
        if (rc != -ENOENT && ++p->reconcile_failures < RECONCILE_GIVE_UP) {   /* submitter-only field */
            schedule_retry(o, p, true, "cannot check whether an earlier send created a task",
                           -1);
            return;
        }
        if (rc != -ENOENT)
            log_info("submit %s: list endpoint unusable, resending (a duplicate is possible)",
                     p->name);
    }
    /* The gate (assets): held until they are active, refused when they cannot be. */
    if (o->resolve && (rc = o->resolve(p->body, &resolved, why, sizeof why, o->resolve_arg))) {
        if (rc == -EAGAIN) {
            pthread_mutex_lock(&o->lock);
            snprintf(p->reason, sizeof p->reason, "held: %s", why);
            p->next_attempt = clock_mono() + BACKOFF_CAP;   /* or sooner, by outbox_kick */
            pthread_mutex_unlock(&o->lock);
        } else {
            reject(o, p, rc, why);
        }
        return;
    }
    if (resolved)
        send = resolved;
    /* Durable before the POST: a crash from here on is reconciled. */
    pthread_mutex_lock(&o->lock);
    p->attempts++;
    if (!p->first_sent_at)
        p->first_sent_at = clock_wall();
    p->state = REQ_SENDING;
    snprintf(p->reason, sizeof p->reason, "sending (attempt %d)", p->attempts);
    pthread_mutex_unlock(&o->lock);
    if (store_request_set_state(o->store, p->name, REQ_SENDING, p->attempts, NULL,
                                p->first_sent_at)) {
        schedule_retry(o, p, false, "cannot save state before sending", -1);
        return;
    }
    rc = api_create_task(o->api, send, &id, &res);
    if (rc == 0)
        goto created;
    if (rc == -EINVAL || rc == -EACCES)
        reject(o, p, rc, res.msg);
    else
        schedule_retry(o, p, outbox_maybe_created(&res), res.msg, res.retry_after);
    free(resolved);
    return;

created:
    if ((rc = record_task(o, p->name, id, send, p->wants_last_frame))) {
        log_error("submit %s: task %s created but not saved: %s", p->name, id, strerror(-rc));
        schedule_retry(o, p, true, "task created but not saved", -1);
    } else {
        log_info("submit %s: accepted as task %s", p->name, id);
        pthread_mutex_lock(&o->lock);
        strmap_del(o->pending, p->name);
        strmap_put(o->submitted, p->name, (void *)1);
        pthread_mutex_unlock(&o->lock);
        pending_free(p);
        p = NULL;
    }
    free(id);
    free(resolved);
}

static void note_unsent(const char *key, void *value, void *arg)
{
    const struct pending *p = value;
    (void)key;
    if (p->state != REQ_REJECTED)
        *(bool *)arg = true;
}

/* True while some request still has to go out (or be reconciled). Lock held. */
static bool any_unsent(const strmap *pending)
{
    bool any = false;
    strmap_each(pending, note_unsent, &any);
    return any;
}

struct send_due {
    double now, earliest;
    struct pending *next;
};

static void find_due(const char *key, void *value, void *arg)
{
    struct send_due *d = arg;
    struct pending *p = value;
    (void)key;

    if (p->state == REQ_REJECTED || p->in_flight)
        return;
    if (p->next_attempt <= d->now) {
        if (!d->next || p->next_attempt < d->next->next_attempt)
            d->next = p;
    } else if (p->next_attempt < d->earliest) {
        d->earliest = p->next_attempt;
    }
}

static void *submitter_main(void *arg)
{
    outbox *o = arg;

    pthread_mutex_lock(&o->lock);
    while (o->running) {
        struct send_due d = { .now = clock_mono() };
        d.earliest = d.now + 3600;
        strmap_each(o->pending, find_due, &d);
        if (!d.next && o->import && d.now >= o->next_import && !any_unsent(o->pending)) {
            bool first = o->next_import == 0;
            o->next_import = d.now + IMPORT_EVERY;
            pthread_mutex_unlock(&o->lock);
            /* Only while nothing is unsent: an imported task can never be
             * mistaken for a lost POST's (and if one is imported before its
             * POST answers, tasks_add claims it by name). */
            bool works = tasks_import_recent(o->tasks, o->api, first) != -EPROTO;
            pthread_mutex_lock(&o->lock);
            o->import = o->import && works;
            continue;
        }
        if (!d.next) {
            struct timespec until;
            double wake = d.earliest;
            if (o->import && o->next_import < wake)
                wake = o->next_import;
            clock_deadline(&until, wake > d.now ? wake - d.now : 0);
            pthread_cond_timedwait(&o->wake, &o->lock, &until);
            continue;
        }
        d.next->in_flight = true;
        pthread_mutex_unlock(&o->lock);
        {
            char name[256];
            snprintf(name, sizeof name, "%s", d.next->name);
            submit_one(o, d.next);      /* may free d.next */
            pthread_mutex_lock(&o->lock);
            struct pending *p = strmap_get(o->pending, name);
            if (p) {
                p->in_flight = false;
                p->outcome = 1;
            }
        }
        pthread_cond_broadcast(&o->answered);
    }
    pthread_mutex_unlock(&o->lock);
    return NULL;
}

int outbox_start(outbox *o)
{
    int rc;

    o->running = true;
    if ((rc = pthread_create(&o->thread, NULL, submitter_main, o)))
        return -rc;
    o->started = true;
    return 0;
}

void outbox_stop(outbox *o)
{
    if (!o->started)
        return;
    pthread_mutex_lock(&o->lock);
    o->running = false;
    pthread_cond_broadcast(&o->wake);
    pthread_mutex_unlock(&o->lock);
    pthread_join(o->thread, NULL);
    o->started = false;
}
