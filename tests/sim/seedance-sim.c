/* seedance-sim — a local Seedance 2.0 API for tests and `make demo`.
 *
 *   $ build/seedance-sim --port 0 --video build/fixture.mp4 --key sim-key
 *   seedance-sim: listening on http://127.0.0.1:40123
 *   $ curl -H 'Authorization: Bearer sim-key' \
 *        http://127.0.0.1:40123/seedance/api/v3/contents/generations/tasks/cgt-...
 *
 * Speaks the three dialects of ../shared/API.md at once (/seedance/api/v3/...,
 * /api/v3/... and the OpenAI Videos shape /v1/videos, sim-openai.h), checks the Bearer key, moves each task queued -> running ->
 * succeeded on a clock (a prompt containing "#fail" ends failed), lists,
 * cancels and deletes, and serves the MP4 three ways (--content-mode):
 *   range     /v1/videos/{id}/content honours Range (206)
 *   full      /v1/videos/{id}/content ignores Range (always 200, whole file)
 *   redirect  /v1/videos/{id}/content answers 302 to a signed /cdn/ URL on
 *             host "localhost" that expires after --url-ttl seconds (403)
 * It shares no code with src/: a misread field cannot hide by being wrong
 * on both sides.
 *
 * Assets (provisional, not the provider's): --assets-dialect sim (default)
 * serves POST /seedance/api/v3/assets and GET /seedance/api/v3/assets/{id}
 * ({"asset": {"id", "status": Processing|Verifying|Active|Failed, "error"}});
 * --assets-dialect alt serves PUT /v2/characters/new and GET
 * /v2/characters/{id}/state ({"data": {"character_id", "state": QUEUED|
 * CHECKING|READY|REJECTED, "why"}}). Verification takes --verify-ms; a name
 * containing "#reject" fails it. Library virtual humans vh-lib-0001,
 * vh-lib-0002 (alt: lib-host-01) are active. A task whose content[]
 * references an asset (asset://ID or character:ID) that is not active is
 * refused with 400. --assets-dialect volcengine, byteplus, easyrouter, yingtu, apiyi are
 * the providers' own asset APIs (sim-providers.h), checked against --ak/--sk
 * (signatures) or --key; POST /sim/liveness completes a liveness check.
 *
 * Bench hooks: --latency-ms N and --rate R emulate a wide-area link for every
 * response but /sim/ (sim-link.h); --public-port N puts port N (a link
 * proxy in front, tests/bench/linkproxy.py) in the URLs it hands out; GET /files/ is an HTML directory index
 * and /files/video.mp4 (and copy-01.mp4 .. copy-20.mp4) the same bytes
 * with Range and no key, for the peers the bench compares with (httpdirfs,
 * rclone).
 *
 * Test hooks: GET /sim/stats (request counters, auth_leaks = Bearer keys
 * that reached the CDN), GET /sim/tasks (every task with its prompt and request body),
 * POST /sim/control {"content_mode": "...", "api_down": bool (503 to every
 * API call), "content_off": bool (content 502 and CDN 404, as after URL expiry),
 * "content_gone": bool (content and CDN answer 404: the provider dropped the video),
 * "html_404": bool (every API call but content answers 404 with an HTML page,
 * as a proxy in front of a moved API does), "content_html": bool (content answers 200 with an HTML page, as a proxy's
 * error page does), "hostile_text": bool (every error message gains terminal escapes, a
 * forged second line, invalid UTF-8 and 6000 more bytes), "echo_key": bool (every JSON reply and error message repeats the caller's key,
 * as a careless or hostile gateway might), "key": "..." (the only key accepted from now on: a rotation), "content_hold": bool (content requests wait, at most 30 s, until it is false
 * again; "content_held" in the stats counts the waiting ones), "list_hold": bool (the
 * same for lists without filter ids, their reply built before the wait: an import look
 * in flight; "list_held"),
 * "url_ttl": secs, "create_delay_ms": N (create the task, then hold the
 * reply), "create_429": N (next N creates get 429), "api_429": N (next N API
 * calls get 429), "retry_after": N (their Retry-After, default 1), "content_bps": N
 * (content bodies trickle at N bytes/s, each on its own), "openai_no_list": bool (GET /v1/videos
 * is a 404, as new-api has no list), "variant_ignored": bool (content ignores ?variant=, as
 * new-api's proxy does), "list_broken": bool (list answers HTML, as some gateways
 * do), "cut_after": N (content bodies break after N bytes), "pause_at": N and "pause_ms": M
 * (a content body holding byte N of the file goes quiet there for M ms; stats
 * "bodies_paused"), "video_version": N and
 * "video_extra": M (the file changes at the server: sim-video.h), "queue_ms",
 * "run_ms": the clock of tasks created from then on}.
 */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sim-faults.h"
#include "sim-link.h"
#include "sim-openai.h"
#include "sim-providers.h"
#include "sim-video.h"

#define MAX_BODY (80u << 20)
#define MAX_TASKS 100000
#define MAX_ASSETS 1000

struct sim_asset {
    char id[48];
    bool reject;
    double created;
};

static const char *const library_sim[] = {"vh-lib-0001", "vh-lib-0002", NULL};
static const char *const library_alt[] = {"lib-host-01", NULL};

enum content_mode { MODE_RANGE, MODE_FULL, MODE_REDIRECT };

struct sim_task {
    char id[48];
    char *model, *prompt;
    double created;             /* wall clock, seconds */
    long queue_ms, run_ms;      /* this task's clock, fixed at creation */
    bool cancelled, deleted, last_frame;
    long long seed;
    cJSON *request;
    cJSON *openai;              /* the request as /v1/videos took it, or NULL */
};

static struct {
    _Atomic(const char *) key;      /* "key" control replaces it (the old one leaks) */
    enum content_mode mode;
    long queue_ms, run_ms, url_ttl;
    int port;
    int public_port;                /* the port in the URLs it hands out (a proxy's), 0 = port */
    bool api_down, content_off, content_gone, content_hold, echo_key, content_html, html_404;
    bool hostile_text;             /* error messages carry escapes, newlines, bad UTF-8, 6 KB */
    int content_held;               /* content requests waiting for content_hold */
    bool list_hold;                 /* lists without ids wait, their reply built */
    int list_held;
    pthread_cond_t released;        /* content_hold or list_hold turned false */
    long create_delay_ms;       /* the task exists, the reply waits (a lost answer) */
    long create_429;            /* the next N creates get 429 + Retry-After: 1 */
    long cut_after;             /* content bodies stop after N bytes (0 = never) */
    long pause_at, pause_ms;    /* bodies holding byte pause_at go quiet there for pause_ms */
    long api_429;               /* the next N API calls of any kind get 429 */
    long retry_after;           /* the Retry-After of every 429, seconds (default 1) */
    long content_bps;           /* content bodies trickle at N bytes/s each (0 = off) */
    bool assets_alt;            /* the second asset API shape */
    long verify_ms;
    struct sim_asset assets[MAX_ASSETS];
    int nassets;
    long long asset_creates;
    int list_broken;            /* 1: the list endpoint answers an HTML page */
    bool openai_no_list;        /* GET /v1/videos is new-api's 404 (it has no list route) */
    bool variant_ignored;       /* content ignores ?variant= (new-api's proxy) */
    pthread_mutex_t lock;
    struct sim_task *tasks;
    int ntasks;
    unsigned long seq;
    long long creates, gets, lists, lists_by_id, deletes, content_requests, cdn_requests,
              auth_leaks;
} sim = { .key = "sim-key", .queue_ms = 300, .run_ms = 700, .url_ttl = 86400, .verify_ms = 1000,
          .lock = PTHREAD_MUTEX_INITIALIZER, .released = PTHREAD_COND_INITIALIZER };

static int url_port(void)
{
    return sim.public_port ? sim.public_port : sim.port;
}

/* A 1x1 PNG, served as the last frame. */
static const unsigned char png_1x1[] = {
    0x89,0x50,0x4e,0x47,0x0d,0x0a,0x1a,0x0a,0x00,0x00,0x00,0x0d,0x49,0x48,0x44,0x52,
    0x00,0x00,0x00,0x01,0x00,0x00,0x00,0x01,0x08,0x06,0x00,0x00,0x00,0x1f,0x15,0xc4,
    0x89,0x00,0x00,0x00,0x0d,0x49,0x44,0x41,0x54,0x78,0x9c,0x63,0xf8,0xcf,0xc0,0xf0,
    0x1f,0x00,0x05,0x00,0x01,0xff,0x56,0xc7,0x2f,0x0d,0x00,0x00,0x00,0x00,0x49,0x45,
    0x4e,0x44,0xae,0x42,0x60,0x82
};

static double now_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- replies ---- */

static enum MHD_Result send_bytes(struct MHD_Connection *c, unsigned code, const char *type,
                                  const void *data, size_t len, enum MHD_ResponseMemoryMode mem)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, mem);
    enum MHD_Result ret;

    MHD_add_response_header(r, "Content-Type", type);
    ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result send_json(struct MHD_Connection *c, unsigned code, cJSON *obj)
{
    char *text;

    if (sim.echo_key && cJSON_IsObject(obj)) {
        cJSON *err = cJSON_GetObjectItemCaseSensitive(obj, "error");
        cJSON_AddStringToObject(obj, "debug_authorization", sim.key);
        if (cJSON_IsObject(err)) {
            const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
            char line[512];
            snprintf(line, sizeof line, "%s (key %s)", cJSON_IsString(m) ? m->valuestring : "",
                     sim.key);
            cJSON_ReplaceItemInObjectCaseSensitive(err, "message", cJSON_CreateString(line));
        }
    }
    if (sim.hostile_text && cJSON_IsObject(obj)) {
        cJSON *err = cJSON_GetObjectItemCaseSensitive(obj, "error");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(err, "message");
        if (cJSON_IsString(m)) {
            char line[8192];
            int n = snprintf(line, sizeof line, "%s\x1b]0;title\x07\x1b[2J\r\nFAKE: forged line\t"
                             "\xff\xc0 ", m->valuestring);
            memset(line + n, 'x', 6000);
            line[n + 6000] = '\0';
            cJSON_ReplaceItemInObjectCaseSensitive(err, "message", cJSON_CreateString(line));
        }
    }
    text = cJSON_PrintUnformatted(obj);
    enum MHD_Result ret = send_bytes(c, code, "application/json", text, strlen(text),
                                     MHD_RESPMEM_MUST_COPY);
    free(text);
    cJSON_Delete(obj);
    return ret;
}

enum MHD_Result sim_send_json(struct MHD_Connection *c, unsigned code, cJSON *obj)
{
    return send_json(c, code, obj);
}

static enum MHD_Result send_error(struct MHD_Connection *c, unsigned code, const char *ecode,
                                  const char *message, const char *param)
{
    cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");

    cJSON_AddStringToObject(err, "code", ecode);
    cJSON_AddStringToObject(err, "message", message);
    if (param)
        cJSON_AddStringToObject(err, "param", param);
    cJSON_AddStringToObject(err, "type", code == 400 ? "BadRequest" : "Error");
    return send_json(c, code, root);
}

/* ---- tasks ---- */

static const char *task_status(const struct sim_task *t, double *changed)
{
    double age_ms = (now_wall() - t->created) * 1000;

    *changed = t->created;
    if (t->cancelled)
        return "cancelled";
    if (age_ms < t->queue_ms)
        return "queued";
    *changed = t->created + t->queue_ms / 1000.0;
    if (age_ms < t->queue_ms + t->run_ms)
        return "running";
    *changed = t->created + (t->queue_ms + t->run_ms) / 1000.0;
    return t->prompt && strstr(t->prompt, "#fail") ? "failed" : "succeeded";
}

static struct sim_task *find_task(const char *id)
{
    for (int i = 0; i < sim.ntasks; i++)
        if (!sim.tasks[i].deleted && !strcmp(sim.tasks[i].id, id))
            return &sim.tasks[i];
    return NULL;
}

static cJSON *task_json(const struct sim_task *t)
{
    cJSON *o = cJSON_CreateObject();
    double changed;
    const char *status = task_status(t, &changed);
    const char *keys[] = {"resolution", "ratio", "duration", "generate_audio", NULL};

    cJSON_AddStringToObject(o, "id", t->id);
    cJSON_AddStringToObject(o, "model", t->model);
    cJSON_AddStringToObject(o, "status", status);
    if (!strcmp(status, "succeeded")) {
        cJSON *content = cJSON_AddObjectToObject(o, "content");
        char url[256];
        long expires = (long)now_wall() + sim.url_ttl;
        snprintf(url, sizeof url, "http://localhost:%d/cdn/%s.mp4?expires=%ld&sig=%08lx",
                 url_port(), t->id, expires, (unsigned long)expires * 2654435761u);
        cJSON_AddStringToObject(content, "video_url", url);
        if (t->last_frame) {
            snprintf(url, sizeof url, "http://localhost:%d/cdn/%s.png?expires=%ld", url_port(),
                     t->id, expires);
            cJSON_AddStringToObject(content, "last_frame_url", url);
        }
        cJSON *usage = cJSON_AddObjectToObject(o, "usage");
        cJSON_AddNumberToObject(usage, "completion_tokens", 108900);
        cJSON_AddNumberToObject(usage, "total_tokens", 108900);
    } else if (!strcmp(status, "failed")) {
        cJSON *err = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(err, "code", "OutputVideoSensitiveContentDetected.PolicyViolation");
        cJSON_AddStringToObject(err, "message", "The generated video may contain sensitive content.");
    }
    cJSON_AddNumberToObject(o, "created_at", (double)(long long)t->created);
    cJSON_AddNumberToObject(o, "updated_at", (double)(long long)changed);
    cJSON_AddNumberToObject(o, "seed", (double)t->seed);
    for (int i = 0; keys[i]; i++) {
        cJSON *v = cJSON_GetObjectItemCaseSensitive(t->request, keys[i]);
        if (v)
            cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, 1));
    }
    cJSON_AddNumberToObject(o, "framespersecond", 24);
    return o;
}

/* ---- assets ---- */

static bool in_library(const char *id)
{
    const char *const *lib = sim.assets_alt ? library_alt : library_sim;
    for (; *lib; lib++)
        if (!strcmp(*lib, id))
            return true;
    return false;
}

/* The status word of an asset (lock held), or NULL if unknown. */
static const char *asset_word(const char *id, const char **why)
{
    static const char *const words[2][4] = {
        {"Processing", "Verifying", "Active", "Failed"},
        {"QUEUED", "CHECKING", "READY", "REJECTED"}};
    const char *const *w = words[sim.assets_alt];

    *why = NULL;
    if (in_library(id))
        return w[2];
    for (int i = 0; i < sim.nassets; i++) {
        struct sim_asset *a = &sim.assets[i];
        double age = (now_wall() - a->created) * 1000;
        if (strcmp(a->id, id))
            continue;
        if (age < sim.verify_ms / 2.0)
            return w[0];
        if (age < sim.verify_ms)
            return w[1];
        if (a->reject) {
            *why = "the liveness check failed";
            return w[3];
        }
        return w[2];
    }
    return NULL;
}

static bool asset_active(const char *id)
{
    const char *why, *word = asset_word(id, &why);
    return word && (!strcmp(word, "Active") || !strcmp(word, "READY"));
}

static enum MHD_Result asset_reply(struct MHD_Connection *c, const char *id)
{
    cJSON *root = cJSON_CreateObject(), *o;
    const char *why, *word;

    pthread_mutex_lock(&sim.lock);
    word = asset_word(id, &why);
    pthread_mutex_unlock(&sim.lock);
    if (!word) {
        cJSON_Delete(root);
        return send_error(c, 404, "NotFound", "no such asset", NULL);
    }
    o = cJSON_AddObjectToObject(root, sim.assets_alt ? "data" : "asset");
    cJSON_AddStringToObject(o, sim.assets_alt ? "character_id" : "id", id);
    cJSON_AddStringToObject(o, sim.assets_alt ? "state" : "status", word);
    if (why && sim.assets_alt)
        cJSON_AddStringToObject(o, "why", why);
    else if (why)
        cJSON_AddStringToObject(cJSON_AddObjectToObject(o, "error"), "message", why);
    return send_json(c, 200, root);
}

static enum MHD_Result create_asset(struct MHD_Connection *c, const char *data, size_t len)
{
    cJSON *body = cJSON_ParseWithLength(data, len);
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(body, sim.assets_alt ? "label" : "name");
    const cJSON *auth = cJSON_GetObjectItemCaseSensitive(body,
                                                         sim.assets_alt ? "consent" : "authorization");
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(body,
                                                          sim.assets_alt ? "files" : "materials");
    struct sim_asset *a;
    char id[48];

    if (!cJSON_IsString(name) || !cJSON_IsObject(auth) || !cJSON_IsArray(files) ||
        cJSON_GetArraySize(files) < 1) {
        cJSON_Delete(body);
        return send_error(c, 400, "InvalidParameter",
                          "an asset needs a name, an authorization object and material", NULL);
    }
    pthread_mutex_lock(&sim.lock);
    if (sim.nassets == MAX_ASSETS) {
        pthread_mutex_unlock(&sim.lock);
        cJSON_Delete(body);
        return send_error(c, 429, "QuotaExceeded", "too many assets", NULL);
    }
    a = &sim.assets[sim.nassets++];
    snprintf(a->id, sizeof a->id, "%s%05d", sim.assets_alt ? "chr_" : "asset-20261128-",
             sim.nassets);
    a->created = now_wall();
    a->reject = strstr(name->valuestring, "#reject") != NULL;
    sim.asset_creates++;
    snprintf(id, sizeof id, "%s", a->id);
    pthread_mutex_unlock(&sim.lock);
    cJSON_Delete(body);
    return asset_reply(c, id);
}

/* The id of an asset referenced by a content[] item, or NULL. */
static const char *asset_ref(const cJSON *item)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
    const cJSON *media = cJSON_IsString(type) ?
                         cJSON_GetObjectItemCaseSensitive(item, type->valuestring) : NULL;
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(media, "url");

    if (!cJSON_IsString(url))
        return NULL;
    if (!strncmp(url->valuestring, "asset://", 8))
        return url->valuestring + 8;
    if (!strncmp(url->valuestring, "character:", 10))
        return url->valuestring + 10;
    return NULL;
}

/* Returns NULL when valid, or the reason (and *param) for a 400. */
static const char *validate(cJSON *body, const char **param)
{
    cJSON *model = cJSON_GetObjectItemCaseSensitive(body, "model");
    cJSON *content = cJSON_GetObjectItemCaseSensitive(body, "content"), *item;
    cJSON *duration = cJSON_GetObjectItemCaseSensitive(body, "duration");

    *param = NULL;
    if (!cJSON_IsString(model))
        return *param = "model", "model is required";
    if (!cJSON_IsArray(content) || cJSON_GetArraySize(content) < 1)
        return *param = "content", "content must be a non-empty array";
    cJSON_ArrayForEach(item, content) {
        cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
        if (!cJSON_IsString(type) || (strcmp(type->valuestring, "text") &&
            strcmp(type->valuestring, "image_url") && strcmp(type->valuestring, "video_url") &&
            strcmp(type->valuestring, "audio_url")))
            return *param = "content.type", "unknown content type";
    }
    cJSON_ArrayForEach(item, content) {
        const char *ref = asset_ref(item);
        bool active;
        if (!ref)
            continue;
        pthread_mutex_lock(&sim.lock);
        active = asset_active(ref);
        pthread_mutex_unlock(&sim.lock);
        active = active || providers_asset_active(ref);
        if (!active)
            return *param = "content.url", "a referenced asset is not active";
    }
    if (duration && (!cJSON_IsNumber(duration) ||
                     ((duration->valueint < 4 || duration->valueint > 15) &&
                      duration->valueint != -1)))
        return *param = "duration", "duration must be 4..15 or -1";
    return NULL;
}

static enum MHD_Result rate_limited(struct MHD_Connection *c)
{
    cJSON *root = cJSON_CreateObject(), *err = cJSON_AddObjectToObject(root, "error");
    char *text;
    struct MHD_Response *r;
    enum MHD_Result ret;

    cJSON_AddStringToObject(err, "code", "RateLimitExceeded");
    cJSON_AddStringToObject(err, "message", "too many requests");
    text = cJSON_PrintUnformatted(root);
    r = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(r, "Content-Type", "application/json");
    char secs[24];
    snprintf(secs, sizeof secs, "%ld", sim.retry_after > 0 ? sim.retry_after : 1);
    MHD_add_response_header(r, "Retry-After", secs);
    ret = MHD_queue_response(c, 429, r);
    MHD_destroy_response(r);
    free(text);
    cJSON_Delete(root);
    return ret;
}

static int progress_of(const struct sim_task *t);

/* Creates a task from a Seedance body (taken); `openai` (taken, may be
 * NULL) is the request in the OpenAI shape, which its replies then take. */
static enum MHD_Result create_from(struct MHD_Connection *c, cJSON *body, cJSON *openai)
{
    cJSON *reply, *item, *seed;
    const char *param, *why;
    struct sim_task *t;
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;

    if (!cJSON_IsObject(body)) {
        cJSON_Delete(body);
        cJSON_Delete(openai);
        return send_error(c, 400, "InvalidParameter", "request body is not a JSON object", NULL);
    }
    if ((why = validate(body, &param))) {
        enum MHD_Result ret = send_error(c, 400, "InvalidParameter", why, param);
        cJSON_Delete(body);
        cJSON_Delete(openai);
        return ret;
    }
    pthread_mutex_lock(&sim.lock);
    if (sim.create_429 > 0 || sim.ntasks == MAX_TASKS) {
        bool quota = sim.create_429 <= 0;
        sim.create_429 -= !quota;
        pthread_mutex_unlock(&sim.lock);
        cJSON_Delete(body);
        cJSON_Delete(openai);
        return quota ? send_error(c, 429, "QuotaExceeded", "too many tasks", NULL)
                     : rate_limited(c);
    }
    t = &sim.tasks[sim.ntasks++];
    memset(t, 0, sizeof *t);
    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d%H%M%S", &tm);
    snprintf(t->id, sizeof t->id, "%s-%s-%05lx", openai ? "video" : "cgt", stamp, ++sim.seq);
    t->model = strdup(cJSON_GetObjectItemCaseSensitive(body, "model")->valuestring);
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(body, "content")) {
        cJSON *text = cJSON_GetObjectItemCaseSensitive(item, "text");
        if (cJSON_IsString(text) && !t->prompt)
            t->prompt = strdup(text->valuestring);
    }
    t->created = now_wall();
    t->queue_ms = sim.queue_ms;
    t->run_ms = sim.run_ms;
    t->last_frame = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(body, "return_last_frame"));
    seed = cJSON_GetObjectItemCaseSensitive(body, "seed");
    t->seed = cJSON_IsNumber(seed) && seed->valuedouble >= 0 ? (long long)seed->valuedouble
                                                             : (long long)(sim.seq * 7919);
    t->request = body;
    t->openai = openai;
    sim.creates++;
    if (openai) {
        cJSON *task = task_json(t);
        reply = openai_video_of(task, openai, 0);
        cJSON_Delete(task);
    } else {
        reply = cJSON_CreateObject();
        cJSON_AddStringToObject(reply, "id", t->id);
    }
    long delay = sim.create_delay_ms;
    pthread_mutex_unlock(&sim.lock);
    if (delay > 0) {
        struct timespec ts = {delay / 1000, (delay % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return send_json(c, 200, reply);
}

static enum MHD_Result create_task(struct MHD_Connection *c, const char *data, size_t len)
{
    return create_from(c, cJSON_ParseWithLength(data, len), NULL);
}

/* ---- the OpenAI Videos shape (sim-openai.h) ---- */

/* How far a running task is, 0..99, by its clock. Lock held. */
static int progress_of(const struct sim_task *t)
{
    double into = (now_wall() - t->created) * 1000 - t->queue_ms;
    int p = t->run_ms > 0 ? (int)(100 * into / t->run_ms) : 0;
    return p < 0 ? 0 : p > 99 ? 99 : p;
}

static cJSON *video_of(const struct sim_task *t)
{
    cJSON *task = task_json(t), *o = openai_video_of(task, t->openai ? t->openai : t->request,
                                                     progress_of(t));
    cJSON_Delete(task);
    return o;
}

static enum MHD_Result openai_create(struct MHD_Connection *c, const char *data, size_t len)
{
    cJSON *request = cJSON_ParseWithLength(data, len), *body;
    const char *why, *param;

    if (!cJSON_IsObject(request)) {
        cJSON_Delete(request);
        return send_error(c, 400, "invalid_request", "request body is not a JSON object", NULL);
    }
    if (!(body = openai_to_seedance(request, &why, &param))) {
        cJSON_Delete(request);
        return send_error(c, 400, "invalid_request", why, param);
    }
    return create_from(c, body, request);
}

/* GET /v1/videos?limit=N&after=ID&order=desc: newest first after ID. */
static enum MHD_Result openai_list(struct MHD_Connection *c)
{
    const char *l = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "limit");
    const char *after = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "after");
    long limit = l ? atol(l) : 20, n = 0;
    bool started = !after, more = false;
    cJSON *root, *data;

    if (sim.openai_no_list)
        return send_bytes(c, 404, "text/plain", "404 page not found", 18,
                          MHD_RESPMEM_PERSISTENT);
    if (limit < 1 || limit > 100)
        return send_error(c, 400, "invalid_request", "limit is 1..100", "limit");
    root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "object", "list");
    data = cJSON_AddArrayToObject(root, "data");
    pthread_mutex_lock(&sim.lock);
    sim.lists++;
    for (int i = sim.ntasks - 1; i >= 0; i--) {
        struct sim_task *t = &sim.tasks[i];
        if (t->deleted)
            continue;
        if (!started) {
            started = !strcmp(t->id, after);
            continue;
        }
        if (n == limit) {
            more = true;
            break;
        }
        cJSON_AddItemToArray(data, video_of(t));
        n++;
    }
    pthread_mutex_unlock(&sim.lock);
    cJSON_AddBoolToObject(root, "has_more", more);
    return send_json(c, 200, root);
}

static enum MHD_Result openai_by_id(struct MHD_Connection *c, const char *method, const char *id)
{
    struct sim_task *t;
    cJSON *reply = NULL;
    double changed;

    pthread_mutex_lock(&sim.lock);
    t = find_task(id);
    if (!strcmp(method, "GET")) {
        sim.gets++;
        reply = t ? video_of(t) : NULL;
        pthread_mutex_unlock(&sim.lock);
        return reply ? send_json(c, 200, reply)
                     : send_error(c, 404, "not_found", "video not found", NULL);
    }
    sim.deletes++;
    if (t && !strcmp(task_status(t, &changed), "running")) {
        pthread_mutex_unlock(&sim.lock);
        return send_error(c, 400, "invalid_request", "a video in progress cannot be deleted",
                          NULL);
    }
    if (t)
        t->deleted = true;
    pthread_mutex_unlock(&sim.lock);
    if (!t)
        return send_error(c, 404, "not_found", "video not found", NULL);
    reply = cJSON_CreateObject();
    cJSON_AddStringToObject(reply, "id", id);
    cJSON_AddStringToObject(reply, "object", "video.deleted");
    cJSON_AddBoolToObject(reply, "deleted", true);
    return send_json(c, 200, reply);
}

/* A 1x1 WebP (lossless), served as the thumbnail variant. */
static const unsigned char webp_1x1[] = {
    'R','I','F','F',0x1a,0,0,0,'W','E','B','P','V','P','8','L',0x0d,0,0,0,0x2f,0,0,0,
    0x10,0x07,0x10,0x11,0x11,0x88,0x88,0xfe,0x07,0x00};

struct list_filter {
    const char *status, *model;
    const char *ids[500];
    int nids;
};

static enum MHD_Result collect_ids(void *cls, enum MHD_ValueKind kind, const char *key,
                                   const char *value)
{
    struct list_filter *f = cls;
    (void)kind;
    if (value && !strcmp(key, "filter.task_ids") && f->nids < 500)
        f->ids[f->nids++] = value;
    return MHD_YES;
}

static bool list_match(struct sim_task *t, const struct list_filter *f)
{
    double changed;
    bool id_ok = f->nids == 0;

    for (int i = 0; i < f->nids && !id_ok; i++)
        id_ok = !strcmp(f->ids[i], t->id);
    return !t->deleted && id_ok && (!f->model || !strcmp(f->model, t->model)) &&
           (!f->status || !strcmp(f->status, task_status(t, &changed)));
}

/* Waits while *hold is true, at most 30 s, counted in *held. Lock held. */
static void hold_while(const bool *hold, int *held)
{
    struct timespec until;

    if (!*hold)
        return;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    ++*held;
    while (*hold && pthread_cond_timedwait(&sim.released, &sim.lock, &until) != ETIMEDOUT)
        ;
    --*held;
}

static enum MHD_Result list_tasks(struct MHD_Connection *c)
{
    struct list_filter f = {0};
    const char *pn = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "page_num");
    const char *ps = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "page_size");
    long page = pn ? atol(pn) : 1, size = ps ? atol(ps) : 10, seen = 0;
    cJSON *root = cJSON_CreateObject(), *items = cJSON_AddArrayToObject(root, "items");

    if (page < 1 || size < 1 || size > 500) {
        cJSON_Delete(root);
        return send_error(c, 400, "InvalidParameter", "page_num >= 1, page_size 1..500",
                          "page_size");
    }
    f.status = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "filter.status");
    f.model = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "filter.model");
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_ids, &f);
    pthread_mutex_lock(&sim.lock);
    sim.lists++;
    sim.lists_by_id += f.nids > 0;
    for (int i = sim.ntasks - 1; i >= 0; i--) {       /* newest first */
        if (!list_match(&sim.tasks[i], &f))
            continue;
        if (seen >= (page - 1) * size && seen < page * size)
            cJSON_AddItemToArray(items, task_json(&sim.tasks[i]));
        seen++;
    }
    if (!f.nids)            /* built as of now, sent once list_hold ends */
        hold_while(&sim.list_hold, &sim.list_held);
    pthread_mutex_unlock(&sim.lock);
    cJSON_AddNumberToObject(root, "total", (double)seen);
    return send_json(c, 200, root);
}

static enum MHD_Result task_by_id(struct MHD_Connection *c, const char *method, const char *id)
{
    struct sim_task *t;
    cJSON *reply = NULL;
    double changed;
    const char *status;

    pthread_mutex_lock(&sim.lock);
    t = find_task(id);
    if (!strcmp(method, "GET")) {
        sim.gets++;
        reply = t ? task_json(t) : NULL;
        pthread_mutex_unlock(&sim.lock);
        return reply ? send_json(c, 200, reply)
                     : send_error(c, 404, "NotFound", "task not found", NULL);
    }
    sim.deletes++;
    if (!t) {
        pthread_mutex_unlock(&sim.lock);
        return send_error(c, 404, "NotFound", "task not found", NULL);
    }
    status = task_status(t, &changed);
    if (!strcmp(status, "running")) {
        pthread_mutex_unlock(&sim.lock);
        return send_error(c, 400, "InvalidAction.TaskRunning",
                          "a running task can be neither cancelled nor deleted", NULL);
    }
    if (!strcmp(status, "queued"))
        t->cancelled = true;
    else
        t->deleted = true;
    pthread_mutex_unlock(&sim.lock);
    return send_json(c, 200, cJSON_CreateObject());
}

/* ---- content ---- */

/* Parses "bytes=a-b", "bytes=a-", "bytes=-n" against `size`. */
static bool parse_range(const char *h, size_t size, size_t *from, size_t *to)
{
    long long a = -1, b = -1;

    if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
        return false;
    h += 6;
    if (*h == '-') {
        b = atoll(h + 1);
        if (b <= 0)
            return false;
        *from = (size_t)b >= size ? 0 : size - (size_t)b;
        *to = size - 1;
        return true;
    }
    if (sscanf(h, "%lld-%lld", &a, &b) < 1 || a < 0)
        return false;
    *from = (size_t)a;
    *to = b < 0 || (size_t)b >= size ? size - 1 : (size_t)b;
    return true;
}

/* The response for bytes [from, from + len) of a file at `data`. */
static struct MHD_Response *body_response(const char *data, size_t from, size_t len)
{
    size_t pause = sim.pause_at > (long)from && (size_t)sim.pause_at < from + len
                       ? (size_t)sim.pause_at - from : 0;

    return link_body(data + from, len, sim.cut_after > 0 ? (size_t)sim.cut_after : 0,
                     (double)sim.content_bps, pause, sim.pause_ms / 1000.0);
}

static enum MHD_Result serve_version(struct MHD_Connection *c, const char *data, size_t size,
                                     const struct sim_video *v, const char *type,
                                     bool honour_range);

static enum MHD_Result serve_blob(struct MHD_Connection *c, const char *data, size_t size,
                                  const char *type, bool honour_range)
{
    return serve_version(c, data, size, NULL, type, honour_range);
}

static enum MHD_Result serve_video(struct MHD_Connection *c, const struct sim_video *v,
                                   bool honour_range)
{
    return serve_version(c, v->data, v->len, v, "video/mp4", honour_range);
}

/* Serves `data` (of version `v`, NULL: a blob with no validators). */
static enum MHD_Result serve_version(struct MHD_Connection *c, const char *data, size_t size,
                                     const struct sim_video *v, const char *type,
                                     bool honour_range)
{
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    const char *if_range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-Range");
    size_t from = 0, to = size - 1;
    struct MHD_Response *r;
    enum MHD_Result ret;
    char header[96];
    bool partial = honour_range && range && (!v || video_range_applies(v, if_range)) &&
                   parse_range(range, size, &from, &to);

    if (partial) {
        if (from >= size) {
            r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
            snprintf(header, sizeof header, "bytes */%zu", size);
            MHD_add_response_header(r, "Content-Range", header);
            ret = MHD_queue_response(c, 416, r);
            MHD_destroy_response(r);
            return ret;
        }
        r = body_response(data, from, to - from + 1);
        snprintf(header, sizeof header, "bytes %zu-%zu/%zu", from, to, size);
        MHD_add_response_header(r, "Content-Range", header);
    } else {
        from = 0;
        to = size - 1;
        r = body_response(data, 0, size);
    }
    MHD_add_response_header(r, "Content-Type", type);
    if (v) {
        MHD_add_response_header(r, "ETag", v->etag);
        MHD_add_response_header(r, "Last-Modified", v->modified);
    }
    if (honour_range)
        MHD_add_response_header(r, "Accept-Ranges", "bytes");
    ret = MHD_queue_response(c, partial ? 206 : 200, r);
    MHD_destroy_response(r);
    return ret;
}

static bool task_succeeded(const char *id)
{
    struct sim_task *t;
    double changed;
    bool ok;

    pthread_mutex_lock(&sim.lock);
    t = find_task(id);
    ok = t && !strcmp(task_status(t, &changed), "succeeded");
    pthread_mutex_unlock(&sim.lock);
    return ok;
}

static enum MHD_Result content(struct MHD_Connection *c, const char *id)
{
    char location[256];
    struct MHD_Response *r;
    enum MHD_Result ret;

    pthread_mutex_lock(&sim.lock);
    sim.content_requests++;
    hold_while(&sim.content_hold, &sim.content_held);
    pthread_mutex_unlock(&sim.lock);
    if (sim.content_off)
        return send_error(c, 502, "BadGateway", "upstream video URL expired", NULL);
    if (sim.content_html) {             /* 8 KiB: more than a page, as real ones are */
        static char page[8192];
        if (!page[0]) {
            memset(page, ' ', sizeof page);
            memcpy(page, "<html><body><h1>502 Bad Gateway</h1>", 37);
            memcpy(page + sizeof page - 16, "</body></html>\n", 15);
        }
        return send_bytes(c, 200, "text/html; charset=utf-8", page, sizeof page - 1,
                          MHD_RESPMEM_PERSISTENT);
    }
    if (sim.content_gone || !task_succeeded(id))
        return send_error(c, 404, "NotFound", "no video for this task", NULL);
    const char *variant = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "variant");
    if (variant && !sim.variant_ignored && !strcmp(variant, "thumbnail"))
        return send_bytes(c, 200, "image/webp", webp_1x1, sizeof webp_1x1,
                          MHD_RESPMEM_PERSISTENT);
    if (variant && !sim.variant_ignored && strcmp(variant, "video"))
        return send_error(c, 400, "invalid_request", "variant is video or thumbnail", "variant");
    if (sim.mode != MODE_REDIRECT)
        return serve_video(c, video_current(), sim.mode == MODE_RANGE);
    snprintf(location, sizeof location, "http://localhost:%d/cdn/%s.mp4?expires=%ld", url_port(),
             id, (long)now_wall() + sim.url_ttl);
    r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(r, "Location", location);
    ret = MHD_queue_response(c, 302, r);
    MHD_destroy_response(r);
    return ret;
}

/* The "CDN": signed URLs, no key wanted, Range honoured, 403 once expired. */
static enum MHD_Result cdn(struct MHD_Connection *c, const char *file)
{
    const char *expires = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "expires");
    char id[64];
    size_t n = strcspn(file, ".");
    bool png = strstr(file, ".png") != NULL;

    pthread_mutex_lock(&sim.lock);
    sim.cdn_requests++;
    if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"))
        sim.auth_leaks++;
    pthread_mutex_unlock(&sim.lock);
    if (!expires || atol(expires) < (long)now_wall())
        return send_bytes(c, 403, "application/xml", "<Error>AccessDenied: expired</Error>", 36,
                          MHD_RESPMEM_PERSISTENT);
    snprintf(id, sizeof id, "%.*s", (int)(n < sizeof id ? n : sizeof id - 1), file);
    if (sim.content_off || sim.content_gone || !task_succeeded(id))
        return send_bytes(c, 404, "application/xml", "<Error>NoSuchKey</Error>", 24,
                          MHD_RESPMEM_PERSISTENT);
    if (png)
        return serve_blob(c, (const char *)png_1x1, sizeof png_1x1, "image/png", true);
    return serve_video(c, video_current(), true);
}

#define FILE_COPIES 20     /* copy-01.mp4 .. copy-20.mp4: the bench's concurrent readers */

static char files_index[2048];

static void build_files_index(void)
{
    size_t n = (size_t)snprintf(files_index, sizeof files_index,
                                "<html><head><title>Index of /files/</title></head><body>"
                                "<h1>Index of /files/</h1><pre>"
                                "<a href=\"video.mp4\">video.mp4</a>\n");

    for (int i = 1; i <= FILE_COPIES && n < sizeof files_index; i++)
        n += (size_t)snprintf(files_index + n, sizeof files_index - n,
                              "<a href=\"copy-%02d.mp4\">copy-%02d.mp4</a>\n", i, i);
    if (n < sizeof files_index)
        snprintf(files_index + n, sizeof files_index - n, "</pre></body></html>\n");
}

/* A plain web directory with the same bytes, for the bench's peers
 * (httpdirfs, rclone's http backend): an HTML index, video.mp4 and
 * FILE_COPIES more names for it (a peer caches each name apart), no key. */
static enum MHD_Result files(struct MHD_Connection *c, const char *name)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int copy = 0, end = 0;

    if (!*name) {
        pthread_once(&once, build_files_index);
        return send_bytes(c, 200, "text/html", files_index, strlen(files_index),
                          MHD_RESPMEM_PERSISTENT);
    }
    if (!strcmp(name, "video.mp4") ||
        (sscanf(name, "copy-%2d.mp4%n", &copy, &end) == 1 && end == (int)strlen(name) &&
         copy >= 1 && copy <= FILE_COPIES))
        return serve_video(c, video_original(), true);
    return send_bytes(c, 404, "text/html", "<html>404</html>", 16, MHD_RESPMEM_PERSISTENT);
}

/* ---- hooks for tests ---- */

static enum MHD_Result stats(struct MHD_Connection *c)
{
    cJSON *o = cJSON_CreateObject();

    pthread_mutex_lock(&sim.lock);
    cJSON_AddNumberToObject(o, "creates", (double)sim.creates);
    cJSON_AddNumberToObject(o, "gets", (double)sim.gets);
    cJSON_AddNumberToObject(o, "lists", (double)sim.lists);
    cJSON_AddNumberToObject(o, "lists_by_id", (double)sim.lists_by_id);
    cJSON_AddNumberToObject(o, "deletes", (double)sim.deletes);
    cJSON_AddNumberToObject(o, "content_requests", (double)sim.content_requests);
    cJSON_AddNumberToObject(o, "cdn_requests", (double)sim.cdn_requests);
    cJSON_AddNumberToObject(o, "content_held", sim.content_held);
    cJSON_AddNumberToObject(o, "list_held", sim.list_held);
    cJSON_AddNumberToObject(o, "auth_leaks", (double)sim.auth_leaks);
    cJSON_AddNumberToObject(o, "bytes_served", (double)link_bytes_sent());
    cJSON_AddNumberToObject(o, "bodies_paused", link_paused());
    cJSON_AddNumberToObject(o, "tasks", sim.ntasks);
    cJSON_AddNumberToObject(o, "video_size", (double)video_current()->len);
    cJSON_AddNumberToObject(o, "asset_creates", (double)sim.asset_creates);
    cJSON_AddNumberToObject(o, "faults_hit", (double)faults_hit());
    struct provider_stats ps;
    providers_stats(&ps);
    cJSON_AddNumberToObject(o, "provider_calls", (double)ps.calls);
    cJSON_AddNumberToObject(o, "signatures_ok", (double)ps.signatures_ok);
    cJSON_AddNumberToObject(o, "signatures_bad", (double)ps.signatures_bad);
    cJSON_AddNumberToObject(o, "liveness_sessions", (double)ps.liveness_sessions);
    cJSON_AddNumberToObject(o, "assets_deleted", (double)ps.assets_deleted);
    cJSON_AddNumberToObject(o, "upload_auth_leaks", (double)ps.upload_auth_leaks);
    pthread_mutex_unlock(&sim.lock);
    return send_json(c, 200, o);
}

static enum MHD_Result all_tasks(struct MHD_Connection *c)
{
    cJSON *list = cJSON_CreateArray();

    pthread_mutex_lock(&sim.lock);
    for (int i = 0; i < sim.ntasks; i++) {
        cJSON *o = cJSON_CreateObject();
        double changed;
        cJSON_AddStringToObject(o, "id", sim.tasks[i].id);
        cJSON_AddStringToObject(o, "prompt", sim.tasks[i].prompt ? sim.tasks[i].prompt : "");
        cJSON_AddStringToObject(o, "status", task_status(&sim.tasks[i], &changed));
        cJSON_AddBoolToObject(o, "deleted", sim.tasks[i].deleted);
        if (sim.tasks[i].request)
            cJSON_AddItemToObject(o, "request", cJSON_Duplicate(sim.tasks[i].request, 1));
        if (sim.tasks[i].openai)
            cJSON_AddItemToObject(o, "openai", cJSON_Duplicate(sim.tasks[i].openai, 1));
        cJSON_AddItemToArray(list, o);
    }
    pthread_mutex_unlock(&sim.lock);
    return send_json(c, 200, list);
}

static bool parse_mode(const char *s, enum content_mode *m)
{
    if (!strcmp(s, "range")) *m = MODE_RANGE;
    else if (!strcmp(s, "full")) *m = MODE_FULL;
    else if (!strcmp(s, "redirect")) *m = MODE_REDIRECT;
    else return false;
    return true;
}

static enum MHD_Result control(struct MHD_Connection *c, const char *data, size_t len)
{
    cJSON *body = cJSON_ParseWithLength(data, len), *v;

    if ((v = cJSON_GetObjectItemCaseSensitive(body, "content_mode")) && cJSON_IsString(v))
        parse_mode(v->valuestring, &sim.mode);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "api_down")))
        sim.api_down = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "content_off")))
        sim.content_off = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "content_gone")))
        sim.content_gone = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "html_404")))
        sim.html_404 = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "content_html")))
        sim.content_html = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "echo_key")))
        sim.echo_key = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "hostile_text")))
        sim.hostile_text = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "key")) && cJSON_IsString(v) && *v->valuestring)
        sim.key = strdup(v->valuestring);
    pthread_mutex_lock(&sim.lock);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "content_hold"))) {
        sim.content_hold = cJSON_IsTrue(v);
        pthread_cond_broadcast(&sim.released);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "list_hold"))) {
        sim.list_hold = cJSON_IsTrue(v);
        pthread_cond_broadcast(&sim.released);
    }
    pthread_mutex_unlock(&sim.lock);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "url_ttl")) && cJSON_IsNumber(v))
        sim.url_ttl = (long)v->valuedouble;
    pthread_mutex_lock(&sim.lock);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "create_delay_ms")) && cJSON_IsNumber(v))
        sim.create_delay_ms = (long)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "create_429")) && cJSON_IsNumber(v))
        sim.create_429 = (long)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "cut_after")) && cJSON_IsNumber(v))
        sim.cut_after = (long)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "pause_at")) && cJSON_IsNumber(v))
        sim.pause_at = (long)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "pause_ms")) && cJSON_IsNumber(v))
        sim.pause_ms = (long)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "api_429")) && cJSON_IsNumber(v))
        sim.api_429 = (long)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "retry_after")) && cJSON_IsNumber(v))
        sim.retry_after = (long)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "video_version")) && cJSON_IsNumber(v)) {
        const cJSON *extra = cJSON_GetObjectItemCaseSensitive(body, "video_extra");
        video_set_version((int)v->valuedouble,
                          cJSON_IsNumber(extra) && extra->valuedouble > 0 &&
                          extra->valuedouble < (1 << 24) ? (size_t)extra->valuedouble : 0);
    }
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "content_bps")) && cJSON_IsNumber(v))
        sim.content_bps = (long)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "list_broken")))
        sim.list_broken = cJSON_IsTrue(v);
    faults_configure(body);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "openai_no_list")))
        sim.openai_no_list = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "variant_ignored")))
        sim.variant_ignored = cJSON_IsTrue(v);
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "queue_ms")) && cJSON_IsNumber(v))
        sim.queue_ms = (long)v->valuedouble;
    if ((v = cJSON_GetObjectItemCaseSensitive(body, "run_ms")) && cJSON_IsNumber(v))
        sim.run_ms = (long)v->valuedouble;
    pthread_mutex_unlock(&sim.lock);
    cJSON_Delete(body);
    return stats(c);
}

/* ---- routing ---- */

struct upload {
    char *data;
    size_t len;
    bool too_big;
};

static bool authorized(struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    return h && !strncmp(h, "Bearer ", 7) && !strcmp(h + 7, sim.key);
}

/* "/seedance/api/v3/contents/generations/tasks..." or "/api/v3/..." -> the rest. */
static const char *tasks_suffix(const char *url)
{
    static const char *const prefixes[] = {"/seedance/api/v3/contents/generations/tasks",
                                           "/api/v3/contents/generations/tasks"};
    for (int i = 0; i < 2; i++) {
        size_t n = strlen(prefixes[i]);
        if (!strncmp(url, prefixes[i], n) && (url[n] == '\0' || url[n] == '/'))
            return url + n;
    }
    return NULL;
}

/* The operation a call is, for the fault injector, or NULL. */
static const char *operation_of(const char *url, const char *method)
{
    const char *rest = tasks_suffix(url);

    if (!strncmp(url, "/v1/videos/", 11) && strstr(url + 11, "/content"))
        return "content";
    if (!strcmp(url, "/v1/videos"))
        rest = "";
    else if (!strncmp(url, "/v1/videos/", 11))
        rest = url + 10;
    if (!rest)
        return NULL;
    if (!*rest)
        return !strcmp(method, "POST") ? "create" : "list";
    return !strcmp(method, "DELETE") ? "delete" : "get";
}

static enum MHD_Result route(struct MHD_Connection *c, const char *url, const char *method,
                             struct upload *up)
{
    const char *rest;

    if (!strcmp(url, "/sim/stats"))
        return stats(c);
    if (!strcmp(url, "/sim/tasks"))
        return all_tasks(c);
    if (!strcmp(url, "/sim/control") && !strcmp(method, "POST"))
        return control(c, up->data, up->len);
    if (!strcmp(url, "/sim/liveness") && !strcmp(method, "POST"))
        return providers_liveness(c, up->data, up->len);
    if (strncmp(url, "/sim/", 5))
        link_delay();
    enum MHD_Result served;
    if (!up->too_big && providers_serve(c, method, url, up->data, up->len, &served))
        return served;
    const struct sim_video *video = video_current();
    if (!strncmp(url, "/cdn/", 5) &&
        faults_apply(c, "cdn", url, video->data, video->len, NULL, &served))
        return served;
    if (!strncmp(url, "/cdn/", 5))
        return cdn(c, url + 5);
    if (!strcmp(url, "/files"))             /* httpdirfs drops the trailing '/' */
        return files(c, "");
    if (!strncmp(url, "/files/", 7))
        return files(c, url + 7);
    if (!authorized(c))
        return send_error(c, 401, "AuthenticationError", "the API key is missing or invalid",
                          NULL);
    if (sim.api_down)
        return send_error(c, 503, "ServiceUnavailable", "the service is temporarily down", NULL);
    if (sim.html_404 && strncmp(url, "/v1/videos/", 11)) {
        static const char page[] = "<html><body><h1>404 Not Found</h1>nginx</body></html>\n";
        pthread_mutex_lock(&sim.lock);
        sim.gets++;
        pthread_mutex_unlock(&sim.lock);
        return send_bytes(c, 404, "text/html", page, sizeof page - 1, MHD_RESPMEM_PERSISTENT);
    }
    pthread_mutex_lock(&sim.lock);
    bool limited = sim.api_429 > 0 && strncmp(url, "/v1/videos/", 11);
    if (limited)
        sim.api_429--;
    pthread_mutex_unlock(&sim.lock);
    if (limited)
        return rate_limited(c);
    if (up->too_big)
        return send_error(c, 413, "RequestTooLarge", "body over 64 MB", NULL);
    const char *op = operation_of(url, method);
    char cdn_url[256] = "";
    if (op && !strcmp(op, "content")) {
        char id[64];
        snprintf(id, sizeof id, "%.*s", (int)strcspn(url + 11, "/"), url + 11);
        snprintf(cdn_url, sizeof cdn_url, "http://localhost:%d/cdn/%s.mp4?expires=%ld",
                 url_port(), id, (long)now_wall() + sim.url_ttl);
    }
    if (op && faults_apply(c, op, url, video->data, video->len, cdn_url, &served))
        return served;
    if (!sim.assets_alt && !strcmp(url, "/seedance/api/v3/assets") && !strcmp(method, "POST"))
        return create_asset(c, up->data, up->len);
    if (!sim.assets_alt && !strncmp(url, "/seedance/api/v3/assets/", 24) &&
        !strcmp(method, "GET"))
        return asset_reply(c, url + 24);
    if (sim.assets_alt && !strcmp(url, "/v2/characters/new") && !strcmp(method, "PUT"))
        return create_asset(c, up->data, up->len);
    if (sim.assets_alt && !strncmp(url, "/v2/characters/", 15) && !strcmp(method, "GET")) {
        char id[64];
        const char *end = strstr(url + 15, "/state");
        if (end && !end[6] && end - (url + 15) < (long)sizeof id) {
            snprintf(id, sizeof id, "%.*s", (int)(end - (url + 15)), url + 15);
            return asset_reply(c, id);
        }
    }
    if (!strcmp(url, "/v1/videos") && !strcmp(method, "POST"))
        return openai_create(c, up->data, up->len);
    if (!strcmp(url, "/v1/videos") && !strcmp(method, "GET"))
        return openai_list(c);
    if (!strncmp(url, "/v1/videos/", 11) && !strchr(url + 11, '/') && url[11] &&
        (!strcmp(method, "GET") || !strcmp(method, "DELETE")))
        return openai_by_id(c, method, url + 11);
    if (!strncmp(url, "/v1/videos/", 11)) {
        char id[64];
        const char *end = strstr(url + 11, "/content");
        if (!end || end[8] || end - (url + 11) >= (long)sizeof id)
            return send_error(c, 404, "NotFound", "no such path", NULL);
        snprintf(id, sizeof id, "%.*s", (int)(end - (url + 11)), url + 11);
        return content(c, id);
    }
    if ((rest = tasks_suffix(url))) {
        if (!*rest && !strcmp(method, "POST"))
            return create_task(c, up->data, up->len);
        if (!*rest && !strcmp(method, "GET") && sim.list_broken)
            return send_bytes(c, 200, "text/html", "<html><body>Tasks</body></html>", 31,
                              MHD_RESPMEM_PERSISTENT);
        if (!*rest && !strcmp(method, "GET"))
            return list_tasks(c);
        if (*rest == '/' && rest[1] && (!strcmp(method, "GET") || !strcmp(method, "DELETE")))
            return task_by_id(c, method, rest + 1);
    }
    return send_error(c, 404, "NotFound", "no such path", NULL);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls)
{
    struct upload *up = *con_cls;
    (void)cls; (void)version;

    if (!up) {
        *con_cls = calloc(1, sizeof *up);
        return *con_cls ? MHD_YES : MHD_NO;
    }
    if (*upload_size) {
        if (up->len + *upload_size > MAX_BODY) {
            up->too_big = true;
        } else {
            char *p = realloc(up->data, up->len + *upload_size + 1);
            if (!p)
                return MHD_NO;
            memcpy(p + up->len, upload_data, *upload_size);
            up->data = p;
            up->len += *upload_size;
            up->data[up->len] = '\0';
        }
        *upload_size = 0;
        return MHD_YES;
    }
    return route(c, url, method, up);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    struct upload *up = *con_cls;
    (void)cls; (void)c; (void)toe;
    if (up) {
        free(up->data);
        free(up);
    }
    *con_cls = NULL;
}

static void usage(FILE *out)
{
    fputs("usage: seedance-sim [--port N] [--video FILE] [--key KEY]\n"
          "         [--content-mode range|full|redirect] [--queue-ms N] [--run-ms N]\n"
          "         [--url-ttl SECS] [--verify-ms N] [--assets-dialect sim|alt|volcengine|\n"
"          byteplus|easyrouter|yingtu|apiyi] [--ak AK] [--sk SK] [--link-ttl-ms N]\n"
          "         [--latency-ms N] [--rate 200mbit|25MB|BYTES] [--public-port N]\n"
          "Listens on 127.0.0.1 (port 0 = any free port) and prints the URL.\n"
          "The key defaults to $SEEDANCE_SIM_KEY, else 'sim-key'.\n", out);
}

/* ---- the listener: closed and reopened by the refused fault ---- */

static pthread_mutex_t listener_lock = PTHREAD_MUTEX_INITIALIZER;
static struct MHD_Daemon *daemons[64];      /* the last one listens; the others are quiesced */
static int ndaemons;
static struct sockaddr_in listen_addr;
static bool stopping;                       /* main stops the daemons: none may start */

/* A daemon on `fd` (a listening socket), or on listen_addr when fd < 0. */
static struct MHD_Daemon *start_daemon(int fd)
{
    struct MHD_Daemon *d;

    if (ndaemons == (int)(sizeof daemons / sizeof *daemons))
        return NULL;
    const unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                           MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (fd < 0)
        d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
                             MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&listen_addr,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                             MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    else
        d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, NULL,
                             MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
                             MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
                             MHD_OPTION_CONNECTION_TIMEOUT, 60u, MHD_OPTION_END);
    if (d)
        daemons[ndaemons++] = d;
    return d;
}

/* The port refuses connections from now on; open ones go on. */
static void stop_listening(void)
{
    pthread_mutex_lock(&listener_lock);
    MHD_socket fd = ndaemons ? MHD_quiesce_daemon(daemons[ndaemons - 1]) : MHD_INVALID_SOCKET;
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    pthread_mutex_unlock(&listener_lock);
}

static void listen_again(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;

    pthread_mutex_lock(&listener_lock);
    if (stopping) {
        pthread_mutex_unlock(&listener_lock);
        if (fd >= 0)
            close(fd);
        return;
    }
    if (fd >= 0 && (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) ||
                    bind(fd, (struct sockaddr *)&listen_addr, sizeof listen_addr) ||
                    listen(fd, 64) || !start_daemon(fd))) {
        perror("seedance-sim: listening again");
        close(fd);
    }
    pthread_mutex_unlock(&listener_lock);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"port", 1, 0, 'p'}, {"video", 1, 0, 'v'}, {"key", 1, 0, 'k'},
        {"content-mode", 1, 0, 'm'}, {"queue-ms", 1, 0, 'q'}, {"run-ms", 1, 0, 'r'},
        {"url-ttl", 1, 0, 't'}, {"assets-dialect", 1, 0, 'a'}, {"verify-ms", 1, 0, 'V'},
        {"latency-ms", 1, 0, 'L'}, {"rate", 1, 0, 'R'}, {"public-port", 1, 0, 'P'},
        {"ak", 1, 0, 'A'}, {"sk", 1, 0, 'S'}, {"link-ttl-ms", 1, 0, 'T'},
        {"help", 0, 0, 'h'}, {0, 0, 0, 0}
    };
    const char *video = "build/fixture.mp4";
    struct sockaddr_in addr = { .sin_family = AF_INET };
    struct MHD_Daemon *d;
    const union MHD_DaemonInfo *info;
    sigset_t stop;
    int opt, sig;
    long latency_ms = 0, link_ttl_ms = 120000;
    double rate = 0;
    const char *ak = "AKSIM-0001", *sk = "sk-sim-secret-0001";

    if (getenv("SEEDANCE_SIM_KEY"))
        sim.key = getenv("SEEDANCE_SIM_KEY");
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (opt) {
        case 'p': sim.port = atoi(optarg); break;
        case 'P': sim.public_port = atoi(optarg); break;
        case 'v': video = optarg; break;
        case 'k': sim.key = optarg; break;
        case 'm':
            if (!parse_mode(optarg, &sim.mode)) {
                fprintf(stderr, "seedance-sim: unknown content mode %s\n", optarg);
                return 1;
            }
            break;
        case 'q': sim.queue_ms = atol(optarg); break;
        case 'r': sim.run_ms = atol(optarg); break;
        case 't': sim.url_ttl = atol(optarg); break;
        case 'a':
            if (!providers_select(optarg) && strcmp(optarg, "sim") && strcmp(optarg, "alt")) {
                fprintf(stderr, "seedance-sim: unknown assets dialect %s\n", optarg);
                return 1;
            }
            sim.assets_alt = !strcmp(optarg, "alt");
            break;
        case 'A': ak = optarg; break;
        case 'S': sk = optarg; break;
        case 'T': link_ttl_ms = atol(optarg); break;
        case 'V': sim.verify_ms = atol(optarg); break;
        case 'L': latency_ms = atol(optarg); break;
        case 'R':
            if (!link_parse_rate(optarg, &rate)) {
                fprintf(stderr, "seedance-sim: bad rate %s (say 200mbit or 25MB)\n", optarg);
                return 1;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 1;
        }
    }
    link_configure(latency_ms, rate);
    providers_configure(ak, sk, sim.key, sim.verify_ms, link_ttl_ms);
    if (video_load(video) || !(sim.tasks = calloc(MAX_TASKS, sizeof *sim.tasks)))
        return 1;
    addr.sin_port = htons((uint16_t)sim.port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    /* Block the stop signals before MHD starts its threads, then wait for them. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    listen_addr = addr;
    if (!(d = start_daemon(-1))) {
        fprintf(stderr, "seedance-sim: cannot listen on 127.0.0.1:%d\n", sim.port);
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    sim.port = info ? info->port : sim.port;
    listen_addr.sin_port = htons((uint16_t)sim.port);
    faults_set_listener(stop_listening, listen_again);
    printf("seedance-sim: listening on http://127.0.0.1:%d\n", sim.port);
    fflush(stdout);
    sigwait(&stop, &sig);
    pthread_mutex_lock(&listener_lock);
    stopping = true;
    for (int i = 0; i < ndaemons; i++)
        MHD_stop_daemon(daemons[i]);
    pthread_mutex_unlock(&listener_lock);
    for (int i = 0; i < sim.ntasks; i++) {
        free(sim.tasks[i].model);
        free(sim.tasks[i].prompt);
        cJSON_Delete(sim.tasks[i].request);
    }
    free(sim.tasks);
    video_free_all();
    return 0;
}
