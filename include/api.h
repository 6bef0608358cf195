/* api.h — the Seedance task API: the ONLY module that knows endpoint paths,
 * JSON field names, status words and dialects (../shared/API.md).
 *
 * Pure functions (api_parse_*, api_status_of_word) are unit-tested; the
 * api_* calls do one HTTP exchange each through http.h and never retry:
 * callers decide what is worth retrying from the errno.
 */
#ifndef SEEDANCEFS_API_H
#define SEEDANCEFS_API_H

#include "config.h"
#include "http.h"
#include "status.h"

#include <stdbool.h>
#include <time.h>

typedef struct api api;

#define API_MAX_STATUS STATUS_WORD_MAX   /* longest status word accepted from a server */

/* A task as seedancefs uses it. All strings malloc'd, NULL when absent. */
struct task_info {
    char *id;
    struct task_status status;  /* api_status_of_word of the server's word */
    char *video_url;        /* content.video_url (signed; expires) */
    char *last_frame_url;   /* content.last_frame_url */
    char *error;            /* "code: message" when the task failed */
    long long created_at, updated_at;   /* Unix seconds, 0 if absent */
    int progress;           /* 0..100 where the API says (the OpenAI shape), else -1 */
    char *json;             /* the object as returned, pretty-printed */
};

void api_task_info_free(struct task_info *t);

/* Maps every status word gateways use onto the six of status.h (pending
 * -> queued, processing/in_progress -> running, completed -> succeeded,
 * canceled -> cancelled; any case). An unknown word is kept as it is
 * (STATUS_OTHER). */
struct task_status api_status_of_word(const char *word);

/* Parses a task object. Returns 0, or -EPROTO with `why` filled when the text
 * is not a JSON object with a usable id and status (1..API_MAX_STATUS bytes). */
int api_parse_task(const char *json, struct task_info *out, char *why, size_t why_len);

/* Turns a create reply into a task id. Returns 0 with *id set; -EINVAL for a
 * refusal of the request (400/404/422: do not retry), -EACCES for 401/403
 * (the key), -EAGAIN for 408/429/5xx (retry later), -EPROTO when the reply is
 * not JSON or carries no valid id (a 2xx like that is NOT an accepted task). */
int api_parse_create_reply(long status, const char *body, char **id, char *why, size_t why_len);

/* Parses a list reply {"items": [task, ...]}. Returns 0 with *items (free
 * with api_task_list_free) and *count; -EPROTO with `why` when the reply has
 * no items array or any item lacks a usable id or status (such a list is not
 * trusted at all); -ENOMEM. */
int api_parse_list(const char *body, struct task_info **items, int *count, char *why,
                   size_t why_len);

/* Describes an error reply in one line: "API 400 InvalidParameter: ... (param duration)". */
void api_describe_error(long status, const char *body, char *why, size_t why_len);

/* What one call to the API came to. Callers decide from `err` and
 * `http_status` (retry? may a POST have created a task?); `msg` is for
 * humans only (logs, pending/NAME/reason, NAME.error) and no decision may
 * depend on its wording. */
struct api_result {
    int err;                /* what the call returned: 0 or -errno */
    bool sent;              /* the request went to the network (it may have arrived) */
    long http_status;       /* the final reply's status; 0 when no reply arrived */
    double retry_after;     /* the reply's Retry-After in seconds, or -1 */
    char msg[512];          /* one line: "API 400 InvalidParameter: ... (param duration)" */
};

/* Every API call (not video bytes) shares one budget: at most opt->max_rps
 * calls a second (0 = no limit), and after a 429 all callers pause for
 * Retry-After plus jitter. Background callers wait for the budget; the one
 * call made from FUSE threads (api_delete_task, for rmdir) waits at most
 * 2 s, else fails with -EAGAIN without sending anything. */
struct api_options {
    const char *api_url;        /* base URL, no trailing '/' */
    enum dialect dialect;
    double max_rps;             /* calls a second, all threads together; 0 = no limit */
};

api *api_new(const struct api_options *opt, http *h);
void api_free(api *a);

/* Unmount: callers waiting for the budget return -ECANCELED now, and so do
 * all later calls; transfers in flight end (http_abort). */
void api_abort(api *a);

/* How the API has been lately, for the STATUS file: calls in the last
 * hour, how many failed in a way callers retry (unreachable, 408, 429,
 * 5xx), how many were 429s, the last such failure (scrubbed; "" = none)
 * and when, and what is left of a 429 pause. */
struct api_health {
    unsigned calls, failed, limited;
    char last_error[160];
    time_t last_error_at;
    double paused_for;
};
void api_health(api *a, struct api_health *h);

/* The calls below fill `res` and return res->err. */

/* POST a task body. Errors as api_parse_create_reply, plus transport errors
 * (-ECONNREFUSED, -ETIMEDOUT, -EIO) which are worth retrying, and
 * -ECANCELED after api_abort (the POST may have gone out). */
int api_create_task(api *a, const char *body, char **id, struct api_result *res);

/* One page (1-based) of the newest tasks (of `model`, or all when NULL)
 * from the list endpoint. *items is an array of *count parsed tasks (free
 * with api_task_list_free). -EPROTO when the gateway's list does not work
 * (HTML, 404, items without id or status); other errors as api_get_task.
 * `after` is the caller's own cursor (the OpenAI shape pages by it; the
 * others ignore it): NULL-initialised before page 1, passed from page to
 * page, updated by each page that succeeds (NULL: no more); the caller
 * frees it. Each caller has its own, so concurrent listings never mix. */
int api_list_recent(api *a, const char *model, int page, int page_size, char **after,
                    struct task_info **items, int *count, struct api_result *res);

/* The tasks `ids[0..n)` in one list call (filter.task_ids; the API's
 * page_size is 1..500, so n must be too; the poller asks 100 at a time).
 * Tasks the API no longer has are simply absent. Errors as api_list_recent. */
int api_list_by_ids(api *a, char *const *ids, int n, struct task_info **items, int *count,
                    struct api_result *res);
void api_task_list_free(struct task_info *items, int count);

/* The model a request body names (malloc'd), or NULL. */
char *api_body_model(const char *body);

/* True when a task object does not contradict a request body on the fields
 * tasks echo (model, resolution, ratio, duration, seed; in the OpenAI shape
 * model, prompt, seconds, size). `a` may be NULL (the Seedance shapes). */
bool api_task_matches_body(api *a, const char *task_json, const char *body);

/* The OpenAI Videos shape (api_openai.c). A Seedance task body (as
 * task_body.h builds it) as new-api gateways take it: "prompt" from the text
 * items, "seconds" (a string) from duration, "model" and "size" as they are,
 * the Seedance parameters the gateway's Seedance channel reads in
 * "metadata", and every reference (with its role) in metadata.content.
 * 0 with *out (malloc'd; `out` may be NULL: only the check); -EINVAL with
 * `why` naming a field this shape cannot carry, or a missing prompt. */
int api_openai_body(const char *body, char **out, char *why, size_t why_len);
int api_openai_check(const char *body, char *why, size_t why_len);
/* api_task_matches_body for a video object against a Seedance body. */
bool api_openai_matches(const char *task_json, const char *body);
/* {"data": [video...], "has_more"}: errors as api_parse_list. */
int api_openai_parse_list(const char *body, struct task_info **items, int *count,
                          bool *has_more, char *why, size_t why_len);

/* GET one task. -ENOENT when the API says 404; -EPROTO for a bad reply. */
int api_get_task(api *a, const char *id, struct task_info *out, struct api_result *res);

/* DELETE a task: cancels a queued one, deletes a finished one. 0 on a JSON
 * 2xx; -ENOENT (404); -EBUSY when the API refuses (e.g. running); -EPROTO
 * for a 2xx whose body is not JSON; -EAGAIN when the budget is paused (a
 * 429) for longer than a FUSE thread may wait; transport errors as http_call. */
int api_delete_task(api *a, const char *id, struct api_result *res);

/* Where the MP4 of a succeeded task is read from: gateway dialect
 * `/v1/videos/{id}/content` with the key; ark dialect the task's
 * content.video_url without it. Caller frees *url. -ENOENT if unknown. */
int api_video_source(api *a, const char *id, const char *video_url, char **url, bool *auth);

/* The video's size in bytes, learned with a one-byte range read of
 * api_video_source's URL, under the budget, and its validator (ETag or
 * Last-Modified, "" if none) into tag[HTTP_TAG_MAX] (may be NULL). -EIO
 * (with `res`) when the server does not state the size; other errors as
 * http_get_range. */
int api_video_size(api *a, const char *id, const char *video_url, off_t *size, char *tag,
                   struct api_result *res);

/* True when a DELETE removes a task whatever its state (the OpenAI shape
 * has no cancel: a queued video is deleted), rather than cancelling one
 * that has not finished. */
bool api_delete_removes(api *a);

/* True when the API makes a thumbnail of every video (the OpenAI shape:
 * variant=thumbnail), which the poller fetches as it does a last frame. */
bool api_has_thumbnails(api *a);

/* True when `data` starts like a PNG, JPEG or WebP image. */
bool api_is_image(const char *data, size_t len);

/* GET `url` under the budget, expecting a body of 1..max bytes: 0 with
 * *data (malloc'd) and *len; -EIO otherwise. The key goes along only to the
 * API's own base URL (a thumbnail); a signed CDN URL gets none. */
int api_fetch(api *a, const char *url, size_t max, char **data, size_t *len,
              struct api_result *res);

/* One request a module built itself (assets, from its profile): `method
 * url` with `body` (NULL: none; JSON or an upload's bytes), with the video
 * key when `video_key`, and `headers` (http_call's),
 * under the budget and the 429 pause; the reply scrubbed of every secret.
 * 0 with `reply` (any status; free it), or the errors of http_call,
 * -ECANCELED after api_abort. */
int api_request(api *a, const char *method, const char *url, const struct http_body *body,
                bool video_key, const char *const *headers, struct http_reply *reply,
                struct api_result *res);

#endif
