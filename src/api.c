/* api.c — endpoints, JSON fields and status words of the Seedance API; see api.h. */
#include "api.h"
#include "secret.h"
#include "clock.h"
#include "names.h"
#include "text.h"
#include "log.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <time.h>

#define API_WAIT (-1.0)             /* background threads: wait for the budget */
#define API_FOREGROUND_WAIT 2.0     /* FUSE threads: this long at most, else EAGAIN */
#define API_MAX_RETRY_AFTER 300.0   /* a server asking for more (a day, once seen) gets this */

struct api {
    char *base;             /* api_url */
    char *tasks_path;       /* base + dialect prefix + /contents/generations/tasks, or
                             * base + /v1/videos (openai) */
    enum dialect dialect;
    http *http;
    /* The request budget shared by every thread: a token bucket of max_rps
     * calls a second, and a pause for everyone after a 429. */
    pthread_mutex_t budget_lock;
    pthread_cond_t aborted_cond;    /* api_abort wakes the waiters */
    bool aborted;
    double max_rps, tokens, refilled_at, paused_until;
    /* For STATUS (budget_lock): calls by minute over the last hour, and
     * the last error. */
    struct { long minute; unsigned calls, failed, limited; } hour[60];
    char last_error[160];
    time_t last_error_at;
};

/* Waits until the budget allows a call: 0; or -EAGAIN at once when that
 * would take more than `max_wait` seconds (< 0: no bound); -ECANCELED
 * after api_abort. */
static int throttle(api *a, double max_wait)
{
    for (;;) {
        double now = clock_mono(), wait = 0;
        struct timespec until;
        pthread_mutex_lock(&a->budget_lock);
        if (a->aborted) {
            pthread_mutex_unlock(&a->budget_lock);
            return -ECANCELED;
        }
        if (a->max_rps > 0) {
            a->tokens += (now - a->refilled_at) * a->max_rps;
            if (a->tokens > a->max_rps)
                a->tokens = a->max_rps;
            a->refilled_at = now;
        }
        if (a->paused_until > now)
            wait = a->paused_until - now;
        else if (a->max_rps > 0 && a->tokens < 1)
            wait = (1 - a->tokens) / a->max_rps;
        else {
            a->tokens -= a->max_rps > 0;
            pthread_mutex_unlock(&a->budget_lock);
            return 0;
        }
        if (max_wait >= 0 && wait > max_wait) {
            pthread_mutex_unlock(&a->budget_lock);
            return -EAGAIN;
        }
        max_wait -= max_wait >= 0 ? wait : 0;
        clock_deadline(&until, wait);
        pthread_cond_timedwait(&a->aborted_cond, &a->budget_lock, &until);
        pthread_mutex_unlock(&a->budget_lock);
    }
}

void api_abort(api *a)
{
    pthread_mutex_lock(&a->budget_lock);
    a->aborted = true;
    pthread_cond_broadcast(&a->aborted_cond);
    pthread_mutex_unlock(&a->budget_lock);
    http_abort(a->http);
}

/* Retry-After as seconds to honour: at most API_MAX_RETRY_AFTER, so one
 * reply cannot stop the mount for a day; -1 when absent. */
static double retry_after_of(const struct http_reply *r)
{
    if (r->retry_after > API_MAX_RETRY_AFTER) {
        log_info("API %ld: Retry-After %.0f s; waiting %.0f s at most", r->status,
                 r->retry_after, API_MAX_RETRY_AFTER);
        return API_MAX_RETRY_AFTER;
    }
    return r->retry_after;
}

/* A 429 pauses every caller for Retry-After (1 s if absent) plus jitter. */
static void note_reply(api *a, const struct http_reply *r, double retry_after)
{
    double pause;

    if (r->status != 429)
        return;
    pause = (retry_after > 0 ? retry_after : 1.0) * clock_jitter(1.0, 1.25);
    pthread_mutex_lock(&a->budget_lock);
    if (clock_mono() + pause > a->paused_until)
        a->paused_until = clock_mono() + pause;
    pthread_mutex_unlock(&a->budget_lock);
    log_info("API 429: pausing API calls for %.1f s", pause);
}

/* One call into the hour's counters; a failure a caller will retry
 * (unreachable, 408, 429, 5xx) becomes the last error. */
static void note_health(api *a, int rc, long status, const char *method, const char *url,
                        const char *msg)
{
    time_t now = time(NULL);
    long minute = (long)(now / 60);
    bool failed = rc || status == 408 || status == 429 || status >= 500;

    pthread_mutex_lock(&a->budget_lock);
    if (a->hour[minute % 60].minute != minute)
        memset(&a->hour[minute % 60], 0, sizeof a->hour[0]);
    a->hour[minute % 60].minute = minute;
    a->hour[minute % 60].calls++;
    a->hour[minute % 60].failed += failed;
    a->hour[minute % 60].limited += status == 429;
    if (failed) {
        const char *path = strstr(url, "://");
        path = path && strchr(path + 3, '/') ? strchr(path + 3, '/') : url;
        if (rc)
            snprintf(a->last_error, sizeof a->last_error, "%.*s",
                     (int)sizeof a->last_error - 1, msg);
        else
            snprintf(a->last_error, sizeof a->last_error, "HTTP %ld on %s %.*s", status, method,
                     (int)strcspn(path, "?"), path);
        a->last_error_at = now;
    }
    pthread_mutex_unlock(&a->budget_lock);
}

void api_health(api *a, struct api_health *h)
{
    long minute = (long)(time(NULL) / 60);

    memset(h, 0, sizeof *h);
    pthread_mutex_lock(&a->budget_lock);
    for (int i = 0; i < 60; i++)
        if (a->hour[i].minute > minute - 60) {
            h->calls += a->hour[i].calls;
            h->failed += a->hour[i].failed;
            h->limited += a->hour[i].limited;
        }
    snprintf(h->last_error, sizeof h->last_error, "%s", a->last_error);
    h->last_error_at = a->last_error_at;
    h->paused_for = a->paused_until - clock_mono();
    if (h->paused_for < 0)
        h->paused_for = 0;
    pthread_mutex_unlock(&a->budget_lock);
}

/* A result before the call: nothing known yet. */
static void result_init(struct api_result *res)
{
    res->err = 0;
    res->sent = false;
    res->http_status = 0;
    res->retry_after = -1;
    res->msg[0] = '\0';
}

static int result_done(struct api_result *res, int rc)
{
    return res->err = rc;
}

/* Every API call goes through here: budget, call, 429 bookkeeping; the
 * reply's status and Retry-After go into `res`, and when no reply came,
 * why. `max_wait` as in throttle: background threads wait, FUSE threads
 * not long. `auth`: with the key (the API), or not (a signed CDN URL). */
static int api_call_with(api *a, const char *method, const char *url,
                         const struct http_body *body, bool auth, const char *const *headers,
                         double max_wait, struct http_reply *reply, struct api_result *res)
{
    int rc;

    memset(reply, 0, sizeof *reply);
    result_init(res);
    if (!(rc = throttle(a, max_wait))) {
        res->sent = true;
        rc = http_send(a->http, method, url, body, auth, headers, reply);
    }
    if (rc == -EAGAIN)
        snprintf(res->msg, sizeof res->msg,
                 "the API asked us to slow down (429); try again later");
    else if (rc)
        snprintf(res->msg, sizeof res->msg, "API unreachable: %s", strerror(-rc));
    else {
        /* Nothing a server says may carry the key into a file or a log
         * (text only: a binary body, with NULs, is not shown anyway). */
        if (reply->body && strlen(reply->body) == reply->len)
            reply->len = secret_scrub(reply->body);
        res->http_status = reply->status;
        res->retry_after = retry_after_of(reply);
        note_reply(a, reply, res->retry_after);
    }
    if (res->sent)
        note_health(a, rc, reply->status, method, url, res->msg);
    return rc;
}

static int api_call(api *a, const char *method, const char *url, const char *body,
                    bool auth, double max_wait, struct http_reply *reply,
                    struct api_result *res)
{
    struct http_body json = {HTTP_JSON_TYPE, body, body ? strlen(body) : 0};
    return api_call_with(a, method, url, body ? &json : NULL, auth, NULL, max_wait, reply, res);
}



void api_task_info_free(struct task_info *t)
{
    free(t->id); free(t->video_url); free(t->last_frame_url);
    free(t->error); free(t->json);
    memset(t, 0, sizeof *t);
}

/* The one table of the words servers use. */
static const struct { const char *word; enum status_code code; } status_words[] = {
    {"queued", STATUS_QUEUED},       {"pending", STATUS_QUEUED},
    {"submitted", STATUS_QUEUED},    {"running", STATUS_RUNNING},
    {"processing", STATUS_RUNNING},  {"in_progress", STATUS_RUNNING},
    {"succeeded", STATUS_SUCCEEDED}, {"completed", STATUS_SUCCEEDED},
    {"success", STATUS_SUCCEEDED},   {"failed", STATUS_FAILED},
    {"failure", STATUS_FAILED},      {"cancelled", STATUS_CANCELLED},
    {"canceled", STATUS_CANCELLED},  {"expired", STATUS_EXPIRED},
};

struct task_status api_status_of_word(const char *word)
{
    for (size_t i = 0; i < sizeof status_words / sizeof *status_words; i++)
        if (!strcasecmp(word, status_words[i].word))
            return status_make(status_words[i].code);
    return status_from_name(word);      /* no table knows it: kept as it is */
}

static char *dup_string_field(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(item) && item->valuestring[0] ? strdup(item->valuestring) : NULL;
}

static long long time_field(const cJSON *obj, const char *name)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, name);
    /* Seconds of a plausible date (before year 5000): a larger number is
     * a broken reply, and would not even convert. */
    return cJSON_IsNumber(item) && item->valuedouble > 0 && item->valuedouble < 1e11
               ? (long long)item->valuedouble : 0;
}

/* "code: message" from {"error": {"code", "message"}} (or a bare string). */
static char *error_line(const cJSON *error)
{
    const cJSON *code, *message;
    char *line = NULL;

    if (cJSON_IsString(error)) {
        if ((line = strdup(error->valuestring)))
            text_one_line(line, TEXT_MAX_LINE);
        return line;
    }
    if (!cJSON_IsObject(error))
        return NULL;
    code = cJSON_GetObjectItemCaseSensitive(error, "code");
    message = cJSON_GetObjectItemCaseSensitive(error, "message");
    if (asprintf(&line, "%s: %s", cJSON_IsString(code) ? code->valuestring : "error",
                 cJSON_IsString(message) ? message->valuestring : "(no message)") < 0)
        return NULL;
    text_one_line(line, TEXT_MAX_LINE);     /* whatever the server put in the message */
    return line;
}

static int parse_task_object(const cJSON *root, struct task_info *out, char *why,
                             size_t why_len);
static void add_thumbnail(api *a, struct task_info *t);

/* A reply parsed, or NULL when it is not JSON or holds an escaped NUL: C
 * strings end there, so "cgt-1\u0000/../x" would be read as another id. */
static cJSON *parse_reply(const char *body)
{
    return body && !strstr(body, "\\u0000") ? cJSON_Parse(body) : NULL;
}

int api_parse_task(const char *json, struct task_info *out, char *why, size_t why_len)
{
    cJSON *root = parse_reply(json);
    int rc = parse_task_object(root, out, why, why_len);

    cJSON_Delete(root);
    return rc;
}

static int parse_task_object(const cJSON *root, struct task_info *out, char *why,
                             size_t why_len)
{
    const cJSON *status, *content, *error;
    int rc = -EPROTO;

    memset(out, 0, sizeof *out);
    out->progress = -1;
    if (!cJSON_IsObject(root)) {
        snprintf(why, why_len, "task reply is not a JSON object");
        goto out;
    }
    out->id = dup_string_field(root, "id");
    status = cJSON_GetObjectItemCaseSensitive(root, "status");
    if (!out->id || !names_task_id_ok(out->id)) {
        snprintf(why, why_len, "task reply has no usable id");
        goto out;
    }
    /* Status words are short; anything else is a hostile or broken reply. */
    if (!cJSON_IsString(status) || !names_task_id_ok(status->valuestring) ||
        strlen(status->valuestring) > API_MAX_STATUS) {
        snprintf(why, why_len, "task reply has no usable status");
        goto out;
    }
    out->status = api_status_of_word(status->valuestring);
    content = cJSON_GetObjectItemCaseSensitive(root, "content");
    if (cJSON_IsObject(content)) {
        out->video_url = dup_string_field(content, "video_url");
        out->last_frame_url = dup_string_field(content, "last_frame_url");
    }
    error = cJSON_GetObjectItemCaseSensitive(root, "error");
    if (!cJSON_IsNull(error))
        out->error = error_line(error);
    out->created_at = time_field(root, "created_at");
    out->updated_at = time_field(root, "updated_at");
    if (!out->updated_at)
        out->updated_at = time_field(root, "completed_at");     /* the OpenAI shape */
    if (!out->updated_at)
        out->updated_at = out->created_at;
    const cJSON *progress = cJSON_GetObjectItemCaseSensitive(root, "progress");
    out->progress = cJSON_IsNumber(progress) && progress->valuedouble >= 0 &&
                    progress->valuedouble <= 100 ? (int)progress->valuedouble : -1;
    out->json = cJSON_Print(root);
    rc = out->json ? 0 : -ENOMEM;
out:
    if (rc)
        api_task_info_free(out);
    return rc;
}

void api_describe_error(long status, const char *body, char *why, size_t why_len)
{
    cJSON *root = body ? cJSON_Parse(body) : NULL;
    const cJSON *error = cJSON_GetObjectItemCaseSensitive(root, "error");
    const cJSON *param = cJSON_GetObjectItemCaseSensitive(error, "param");
    char *line = error_line(error);

    if (!root)
        snprintf(why, why_len, "API %ld: reply is not JSON", status);
    else if (line && cJSON_IsString(param))
        snprintf(why, why_len, "API %ld %s (param %s)", status, line, param->valuestring);
    else if (line)
        snprintf(why, why_len, "API %ld %s", status, line);
    else
        snprintf(why, why_len, "API %ld", status);
    if (why_len > 4)
        text_one_line(why, why_len - 1);    /* the param name is the server's too */
    free(line);
    cJSON_Delete(root);
}

/* Sorts an HTTP status into the errno callers act on. */
static int status_errno(long status)
{
    if (status == 401 || status == 403)
        return -EACCES;
    if (status == 404)
        return -ENOENT;
    if (status == 408 || status == 429 || status >= 500)
        return -EAGAIN;
    return -EINVAL;
}

/* True when `body` is an error in an API's own JSON shape ({"error": ...},
 * or {"code"/"message": ...}), not a proxy's page. */
static bool is_api_error(const char *body)
{
    cJSON *root = cJSON_Parse(body);
    bool api = cJSON_IsObject(root) && (cJSON_GetObjectItemCaseSensitive(root, "error") ||
                                        cJSON_GetObjectItemCaseSensitive(root, "code") ||
                                        cJSON_GetObjectItemCaseSensitive(root, "message"));

    cJSON_Delete(root);
    return api;
}

/* The errno of a task call's error reply. Only the API decides that a task
 * does not exist: a 404 that is not its JSON (an HTML page from a proxy or
 * a wrong base URL) proves nothing and is -EIO, never "gone". */
static int task_reply_errno(const struct http_reply *r, char *why, size_t why_len)
{
    int rc = status_errno(r->status);

    if (rc == -ENOENT && !is_api_error(r->body)) {
        snprintf(why, why_len, "API 404 that is not the API's JSON (a proxy's page?): "
                 "proves nothing");
        return -EIO;
    }
    return rc;
}

int api_parse_create_reply(long status, const char *body, char **id, char *why, size_t why_len)
{
    cJSON *root;
    const cJSON *item;
    int rc;

    *id = NULL;
    if (status < 200 || status > 299) {
        api_describe_error(status, body, why, why_len);
        rc = status_errno(status);
        return rc == -ENOENT ? -EINVAL : rc;
    }
    root = parse_reply(body);
    item = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (!cJSON_IsObject(root)) {
        snprintf(why, why_len, "API %ld: reply is not JSON, no task was accepted", status);
        rc = -EPROTO;
    } else if (!cJSON_IsString(item) || !names_task_id_ok(item->valuestring)) {
        snprintf(why, why_len, "API %ld: reply has no usable task id", status);
        rc = -EPROTO;
    } else {
        *id = strdup(item->valuestring);
        rc = *id ? 0 : -ENOMEM;
    }
    cJSON_Delete(root);
    return rc;
}

api *api_new(const struct api_options *opt, http *h)
{
    api *a = calloc(1, sizeof *a);
    const char *prefix = opt->dialect == DIALECT_ARK ? "/api/v3" : "/seedance/api/v3";

    if (!a)
        return NULL;
    a->dialect = opt->dialect;
    a->http = h;
    a->max_rps = opt->max_rps;
    a->tokens = opt->max_rps;
    a->refilled_at = clock_mono();
    pthread_mutex_init(&a->budget_lock, NULL);
    pthread_cond_init(&a->aborted_cond, NULL);
    a->base = strdup(opt->api_url);
    if (!a->base ||
        (opt->dialect == DIALECT_OPENAI
             ? asprintf(&a->tasks_path, "%s/v1/videos", opt->api_url)
             : asprintf(&a->tasks_path, "%s%s/contents/generations/tasks", opt->api_url,
                        prefix)) < 0) {
        free(a->base);
        free(a);
        return NULL;
    }
    return a;
}

void api_free(api *a)
{
    if (!a)
        return;
    free(a->base);
    free(a->tasks_path);
    pthread_mutex_destroy(&a->budget_lock);
    pthread_cond_destroy(&a->aborted_cond);
    free(a);
}

int api_video_size(api *a, const char *id, const char *video_url, off_t *size, char *tag,
                   struct api_result *res)
{
    struct http_version version = {.size = -1};
    char *url, byte;
    bool auth;
    ssize_t got;
    int rc;

    result_init(res);
    *size = -1;
    if (tag)
        tag[0] = '\0';
    if ((rc = api_video_source(a, id, video_url, &url, &auth)))
        return result_done(res, rc);
    if ((rc = throttle(a, API_WAIT))) {
        free(url);
        return result_done(res, rc);
    }
    got = http_get_range(a->http, url, auth, 0, 1, &byte, &version);
    free(url);
    if (got < 0) {
        snprintf(res->msg, sizeof res->msg, "size probe: %s", strerror((int)-got));
        return result_done(res, (int)got);
    }
    if (version.size <= 0) {
        snprintf(res->msg, sizeof res->msg, "size probe: the server states no size");
        return result_done(res, -EIO);
    }
    *size = version.size;
    if (tag)
        snprintf(tag, HTTP_TAG_MAX, "%s", version.tag);
    return result_done(res, 0);
}

int api_fetch(api *a, const char *url, size_t max, char **data, size_t *len,
              struct api_result *res)
{
    struct http_reply reply;
    int rc;

    size_t base = strlen(a->base);
    bool own = !strncmp(url, a->base, base) && url[base] == '/';

    *data = NULL;
    *len = 0;
    if ((rc = api_call(a, "GET", url, NULL, own, API_WAIT, &reply, res)))
        return result_done(res, rc);
    if (reply.status == 200 && reply.len > 0 && reply.len <= max) {
        *data = reply.body;
        *len = reply.len;
        reply.body = NULL;
    } else {
        snprintf(res->msg, sizeof res->msg, "HTTP %ld, %zu bytes", reply.status, reply.len);
        rc = -EIO;
    }
    http_reply_free(&reply);
    return result_done(res, rc);
}

int api_request(api *a, const char *method, const char *url, const struct http_body *body,
                bool video_key, const char *const *headers, struct http_reply *reply,
                struct api_result *res)
{
    return result_done(res, api_call_with(a, method, url, body, video_key, headers, API_WAIT,
                                          reply, res));
}

static char *task_url(api *a, const char *id)
{
    char *seg = http_escape_segment(id), *url = NULL;

    if (seg && asprintf(&url, "%s/%s", a->tasks_path, seg) < 0)
        url = NULL;
    free(seg);
    return url;
}

int api_create_task(api *a, const char *body, char **id, struct api_result *res)
{
    struct http_reply reply;
    char *sent = NULL;
    int rc;

    *id = NULL;
    result_init(res);
    if (a->dialect == DIALECT_OPENAI &&
        (rc = api_openai_body(body, &sent, res->msg, sizeof res->msg)))
        return result_done(res, rc);    /* checked at close(): only an old outbox row */
    rc = api_call(a, "POST", a->tasks_path, sent ? sent : body, true, API_WAIT, &reply, res);
    free(sent);
    if (rc)
        return result_done(res, rc);
    rc = api_parse_create_reply(reply.status, reply.body, id, res->msg, sizeof res->msg);
    http_reply_free(&reply);
    return result_done(res, rc);
}

/* `method` on tasks/{id}. 0 with a reply, or an error explained in `res`. */
static int task_call(api *a, const char *method, const char *id, double max_wait,
                     struct http_reply *reply, struct api_result *res)
{
    char *url = task_url(a, id);
    int rc;

    result_init(res);
    if (!url)
        return -ENOMEM;
    rc = api_call(a, method, url, NULL, true, max_wait, reply, res);
    free(url);
    return rc;
}

int api_get_task(api *a, const char *id, struct task_info *out, struct api_result *res)
{
    char *why = res->msg;
    size_t why_len = sizeof res->msg;
    struct http_reply reply;
    int rc;

    memset(out, 0, sizeof *out);
    if ((rc = task_call(a, "GET", id, API_WAIT, &reply, res)))
        return result_done(res, rc);
    if (reply.status == 200) {
        rc = api_parse_task(reply.body, out, why, why_len);
        if (!rc && strcmp(out->id, id)) {
            snprintf(why, why_len, "API returned task %s for %s", out->id, id);
            api_task_info_free(out);
            rc = -EPROTO;
        }
        if (!rc)
            add_thumbnail(a, out);
    } else {
        api_describe_error(reply.status, reply.body, why, why_len);
        rc = task_reply_errno(&reply, why, why_len);
    }
    http_reply_free(&reply);
    return result_done(res, rc);
}

int api_delete_task(api *a, const char *id, struct api_result *res)
{
    char *why = res->msg;
    size_t why_len = sizeof res->msg;
    struct http_reply reply;
    cJSON *root;
    int rc;

    if ((rc = task_call(a, "DELETE", id, API_FOREGROUND_WAIT, &reply, res)))
        return result_done(res, rc);
    root = parse_reply(reply.body);
    if (reply.status >= 200 && reply.status <= 299) {
        rc = root ? 0 : -EPROTO;
        if (rc)
            snprintf(why, why_len, "API %ld: reply is not JSON, delete not confirmed",
                     reply.status);
    } else {
        api_describe_error(reply.status, reply.body, why, why_len);
        rc = task_reply_errno(&reply, why, why_len);
        if (rc == -EINVAL || reply.status == 409)
            rc = -EBUSY;
    }
    cJSON_Delete(root);
    http_reply_free(&reply);
    return result_done(res, rc);
}

bool api_delete_removes(api *a)
{
    return a->dialect == DIALECT_OPENAI;
}

bool api_has_thumbnails(api *a)
{
    return a->dialect == DIALECT_OPENAI;
}

bool api_is_image(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data;
    return (len > 8 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8)) ||
           (len > 3 && p[0] == 0xff && p[1] == 0xd8 && p[2] == 0xff) ||
           (len > 12 && !memcmp(p, "RIFF", 4) && !memcmp(p + 8, "WEBP", 4));
}

/* The OpenAI shape has no frame URL in its object: a completed video's
 * thumbnail is its content's variant. */
static void add_thumbnail(api *a, struct task_info *t)
{
    char *seg;

    if (a->dialect != DIALECT_OPENAI || t->status.code != STATUS_SUCCEEDED ||
        t->last_frame_url || !(seg = http_escape_segment(t->id)))
        return;
    if (asprintf(&t->last_frame_url, "%s/%s/content?variant=thumbnail", a->tasks_path, seg) < 0)
        t->last_frame_url = NULL;
    free(seg);
}

int api_video_source(api *a, const char *id, const char *video_url, char **url, bool *auth)
{
    char *seg;

    *url = NULL;
    if (a->dialect == DIALECT_ARK) {
        if (!video_url)
            return -ENOENT;
        *auth = false;
        *url = strdup(video_url);
        return *url ? 0 : -ENOMEM;
    }
    if (!(seg = http_escape_segment(id)))
        return -ENOMEM;
    *auth = true;
    if (asprintf(url, "%s/v1/videos/%s/content", a->base, seg) < 0)
        *url = NULL;
    free(seg);
    return *url ? 0 : -ENOMEM;
}

/* A list reply: the task objects in the array `field` of `body`, and
 * *has_more (may be NULL) from its "has_more". */
static int parse_list_at(const char *body, const char *field, bool *has_more,
                         struct task_info **items, int *count, char *why, size_t why_len)
{
    cJSON *root = parse_reply(body);
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(root, field), *item;
    int rc = 0, n = 0;

    *items = NULL;
    *count = 0;
    if (has_more)
        *has_more = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "has_more"));
    if (!cJSON_IsArray(list)) {
        snprintf(why, why_len, "list reply has no %s (the list endpoint does not work here)",
                 field);
        cJSON_Delete(root);
        return -EPROTO;
    }
    if (!(*items = calloc((size_t)cJSON_GetArraySize(list) + 1, sizeof **items))) {
        cJSON_Delete(root);
        return -ENOMEM;
    }
    cJSON_ArrayForEach(item, list) {
        if (parse_task_object(item, &(*items)[n], why, why_len)) {
            /* An item without id or status: this list cannot be trusted. */
            rc = -EPROTO;
            break;
        }
        n++;
    }
    *count = n;
    if (rc) {
        api_task_list_free(*items, n);
        *items = NULL;
        *count = 0;
    }
    cJSON_Delete(root);
    return rc;
}

int api_parse_list(const char *body, struct task_info **items, int *count, char *why,
                   size_t why_len)
{
    return parse_list_at(body, "items", NULL, items, count, why, why_len);
}

int api_openai_parse_list(const char *body, struct task_info **items, int *count,
                          bool *has_more, char *why, size_t why_len)
{
    return parse_list_at(body, "data", has_more, items, count, why, why_len);
}

/* GET tasks_path?query and parse {"items": [...]}. */
static int list_query(api *a, const char *query, struct task_info **items, int *count,
                      struct api_result *res)
{
    char *url = NULL;
    struct http_reply reply;
    int rc;

    *items = NULL;
    *count = 0;
    result_init(res);
    if (asprintf(&url, "%s?%s", a->tasks_path, query) < 0)
        return -ENOMEM;
    rc = api_call(a, "GET", url, NULL, true, API_WAIT, &reply, res);
    free(url);
    if (rc)
        return rc;
    if (reply.status != 200) {
        api_describe_error(reply.status, reply.body, res->msg, sizeof res->msg);
        rc = reply.status == 404 ? -EPROTO : status_errno(reply.status);
    } else {
        rc = api_parse_list(reply.body, items, count, res->msg, sizeof res->msg);
    }
    http_reply_free(&reply);
    return rc;
}

void api_task_list_free(struct task_info *items, int count)
{
    for (int i = 0; i < count; i++)
        api_task_info_free(&items[i]);
    free(items);
}

/* The OpenAI shape's list: newest first, by cursor: the caller's *after is
 * the last id of its page before (NULL on page 1), and becomes this page's
 * last id, or NULL when the list says there is no more. */
static int openai_list(api *a, int page, int page_size, char **after,
                       struct task_info **items, int *count, struct api_result *res)
{
    char *url = NULL, *seg = NULL;
    struct http_reply reply;
    bool more = false;
    int rc;

    *items = NULL;
    *count = 0;
    result_init(res);
    if (!after) {
        snprintf(res->msg, sizeof res->msg, "the OpenAI shape lists by cursor only");
        return result_done(res, -EPROTO);
    }
    if (page > 1 && !*after)
        return result_done(res, 0);     /* this caller's page before was the last */
    if ((page > 1 && !(seg = http_escape_segment(*after))) ||
        asprintf(&url, "%s?limit=%d&order=desc%s%s", a->tasks_path,
                 page_size > 100 ? 100 : page_size, seg ? "&after=" : "", seg ? seg : "") < 0)
        url = NULL;
    free(seg);
    if (!url)
        return result_done(res, -ENOMEM);
    rc = api_call(a, "GET", url, NULL, true, API_WAIT, &reply, res);
    free(url);
    if (rc)
        return result_done(res, rc);
    if (reply.status != 200) {
        api_describe_error(reply.status, reply.body, res->msg, sizeof res->msg);
        rc = reply.status == 404 || reply.status == 405 ? -EPROTO : status_errno(reply.status);
    } else {
        rc = api_openai_parse_list(reply.body, items, count, &more, res->msg, sizeof res->msg);
        for (int i = 0; !rc && i < *count; i++)
            add_thumbnail(a, &(*items)[i]);
    }
    http_reply_free(&reply);
    if (!rc) {                          /* a failed page leaves the cursor as it was */
        free(*after);
        *after = more && *count ? strdup((*items)[*count - 1].id) : NULL;
    }
    return result_done(res, rc);
}

int api_list_recent(api *a, const char *model, int page, int page_size, char **after,
                    struct task_info **items, int *count, struct api_result *res)
{
    if (a->dialect == DIALECT_OPENAI)
        return openai_list(a, page, page_size, after, items, count, res);  /* no model filter */
    char *query = NULL, *model_q = model ? http_escape_segment(model) : NULL;
    int rc;

    if ((model && !model_q) ||
        asprintf(&query, "page_num=%d&page_size=%d%s%s", page, page_size,
                 model ? "&filter.model=" : "", model ? model_q : "") < 0) {
        free(model_q);
        result_init(res);
        return result_done(res, -ENOMEM);
    }
    free(model_q);
    rc = list_query(a, query, items, count, res);
    free(query);
    return result_done(res, rc);
}

int api_list_by_ids(api *a, char *const *ids, int n, struct task_info **items, int *count,
                    struct api_result *res)
{
    size_t cap = 64 + (size_t)n * (3 * NAMES_MAX_TASK_ID + 20), len;
    char *query;
    int rc;

    result_init(res);
    *items = NULL;
    *count = 0;
    if (a->dialect == DIALECT_OPENAI) {
        snprintf(res->msg, sizeof res->msg, "the OpenAI shape lists no tasks by id");
        return result_done(res, -EPROTO);
    }
    if (!(query = malloc(cap)))
        return result_done(res, -ENOMEM);
    len = (size_t)snprintf(query, cap, "page_num=1&page_size=%d", n);
    for (int i = 0; i < n; i++) {
        char *seg = http_escape_segment(ids[i]);
        if (!seg) {
            free(query);
            return result_done(res, -ENOMEM);
        }
        len += (size_t)snprintf(query + len, cap - len, "&filter.task_ids=%s", seg);
        free(seg);
    }
    rc = list_query(a, query, items, count, res);
    free(query);
    return result_done(res, rc);
}

bool api_task_matches_body(api *a, const char *task_json, const char *body)
{
    if (a && a->dialect == DIALECT_OPENAI)
        return api_openai_matches(task_json, body);
    static const char *const echoed[] = {"model", "resolution", "ratio", "duration", "seed", NULL};
    cJSON *task = cJSON_Parse(task_json), *req = cJSON_Parse(body);
    bool match = task && req;

    for (int i = 0; match && echoed[i]; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(task, echoed[i]);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(req, echoed[i]);
        /* Only fields both sides state can disagree; -1 means "the model chose". */
        if (a && b && !(cJSON_IsNumber(b) && b->valuedouble == -1))
            match = cJSON_Compare(a, b, true);
    }
    cJSON_Delete(task);
    cJSON_Delete(req);
    return match;
}

char *api_body_model(const char *body)
{
    cJSON *root = cJSON_Parse(body);
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    char *out = cJSON_IsString(model) ? strdup(model->valuestring) : NULL;

    cJSON_Delete(root);
    return out;
}
