/* outbox.h — durable submission of accepted requests.
 *
 *   $ cp fox.json mnt/requests/        # returns once the request is on disk
 *   $ readlink mnt/by-name/fox         # ../pending/fox while not yet sent
 *   $ cat mnt/pending/fox/reason       # why it waits: "API 503 ..., retry in 4.0 s"
 *
 * A request enters the outbox committed to the store (state accepted). One
 * submitter thread sends requests one at a time: it commits "sending" (with
 * the time of the first send) before the POST and the task id the moment the
 * POST answers, in the same transaction that creates the task row.
 * Failures that prove nothing was created (connection refused, 429, 503)
 * go back to "accepted" with exponential backoff (1 s doubling, capped at
 * 10 s so a request goes out within seconds of an outage ending), jitter
 * and Retry-After. Failures that may hide a created task (timeouts, cut
 * replies, 500/502/504, a 2xx without an id) stay "sending": before any
 * resend, the request is reconciled against the list endpoint (a recent
 * task of the same model, created after the first send, unknown to us, whose
 * echoed parameters match) and that task is adopted if found. A 4xx turns
 * the request "rejected" with the API's reason.
 *
 * Locking: one mutex inside, never held across the network or a store
 * commit; no function may be called with it held (the hooks run without
 * it). inbox_unlink calls outbox_withdraw with the inbox's lock held.
 */
#ifndef SEEDANCEFS_OUTBOX_H
#define SEEDANCEFS_OUTBOX_H

#include "api.h"
#include "store.h"
#include "tasks.h"

typedef struct outbox outbox;

/* Called (on the submitter thread, no lock held) when the API rejects a
 * request: -EINVAL (the request) or -EACCES (the key), with the API's
 * one-line reason. */
typedef void (*outbox_reject_fn)(const char *name, int err, const char *why, void *arg);

/* What pending/NAME/ shows. */
struct outbox_view {
    char state[16];             /* "pending" or "rejected" */
    char reason[600];           /* one line */
    int attempts;
};

/* `import`: while idle, add tasks of this account created elsewhere
 * (list endpoint, newest first, at most 1000 per look, every minute). */
outbox *outbox_new(store *st, api *a, tasks *t, bool import);

/* Called before each POST with the stored body: 0 with *out (malloc'd, or
 * NULL to send the body as it is), -EAGAIN to hold the request (the reason
 * shows in pending/NAME/reason), -EINVAL to reject it. */
typedef int (*outbox_resolve_fn)(const char *body, char **out, char *why, size_t why_len,
                                 void *arg);
void outbox_set_resolver(outbox *o, outbox_resolve_fn fn, void *arg);

/* Held requests are tried again now (e.g. an asset turned active). */
void outbox_kick(void *outbox_arg);
void outbox_free(outbox *o);

/* Seconds before attempt `attempts` + 1: 1 s doubling to 10 s, +-25 %
 * jitter (per process, clock_jitter), never below `retry_after`. */
double outbox_backoff(int attempts, double retry_after);

/* May a POST that failed with `res` have created a task (a reply lost or
 * garbled, a send cut short)? Then the next attempt looks for it first.
 * Not after a refusal the server stated (429, 503) or a refused connection. */
bool outbox_maybe_created(const struct api_result *res);
void outbox_set_reject_hook(outbox *o, outbox_reject_fn fn, void *arg);

/* Loads the store's requests: calls fn for every row (to rebuild
 * requests/) and queues the ones not yet submitted. Before outbox_start. */
int outbox_restore(outbox *o, void (*fn)(const struct stored_request *r, void *arg), void *arg);

int outbox_start(outbox *o);
void outbox_stop(outbox *o);

/* Commits a new request (state accepted) and wakes the submitter. A
 * rejected request of the same name is replaced. -EEXIST when the name is
 * pending or submitted; -EDQUOT when the tasks table and the requests not
 * yet submitted already hold tasks_max; -EIO when the store cannot commit
 * (nothing accepted). */
int outbox_accept(outbox *o, const struct stored_request *r);

/* The bound outbox_accept keeps (tasks_max of its table). */
size_t outbox_max_tasks(outbox *o);

/* Waits up to `seconds` for the request's first answer: 0 submitted,
 * -EINPROGRESS still pending (it is durable and will be sent),
 * -EINVAL / -EACCES rejected (`why` says why), -ENOENT unknown. */
int outbox_wait(outbox *o, const char *name, double seconds, char *why, size_t why_len);

/* rm requests/NAME.json: forgets the request; a pending one is not sent.
 * -EBUSY while its POST is in flight. A submitted request's task stays. */
int outbox_withdraw(outbox *o, const char *name);

/* The pending or rejected request `name`; *body (may be NULL) gets a
 * malloc'd copy of the body. -ENOENT when submitted or unknown. */
int outbox_view(outbox *o, const char *name, struct outbox_view *v, char **body);

/* Calls fn(name) for every pending or rejected request (lock held: fn must not block). */
void outbox_each(outbox *o, void (*fn)(const char *name, void *arg), void *arg);

#endif
