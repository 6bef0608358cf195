/* assets_flow.c — runs a profile's steps for an asset: builds each call
 * from its templates, authenticates it as the profile says, reads errors,
 * captured values and status words out of the reply, shows links, takes
 * callbacks, and moves the record along. See assets_internal.h; the step
 * format is profile.h's. Knows no endpoint path, field name or status word.
 *
 * Runs of one record never overlap: `sending` marks the one at work (a FUSE
 * thread's create, or the poller), and the lock is never held across the
 * network. */
#include "assets_internal.h"
#include "log.h"
#include "names.h"
#include "sign.h"
#include "template.h"
#include "text.h"

#include <dirent.h>
#include <sys/stat.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_VALUE 4096              /* longest value captured from a reply */
#define MAX_SOURCES 64

/* What one step came to. STEP_LOCAL: it could not be built from what the
 * user gave (material, a value): nothing was sent, the user can fix it. */
enum outcome { STEP_DONE, STEP_WAIT, STEP_RETRY, STEP_FAILED, STEP_LOCAL };

static const cJSON *member(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

/* True when every value a "skip_if" / "until" / "wait" names is set. */
static bool all_set(const cJSON *vars, const cJSON *names)
{
    const cJSON *n;

    if (cJSON_IsString(names))
        return cJSON_IsString(member(vars, names->valuestring)) &&
               member(vars, names->valuestring)->valuestring[0];
    if (!cJSON_IsArray(names) || !names->child)
        return false;
    cJSON_ArrayForEach(n, names)
        if (!all_set(vars, n))
            return false;
    return true;
}

static void set_var(cJSON *vars, const char *name, const char *value)
{
    if (member(vars, name))
        cJSON_ReplaceItemInObjectCaseSensitive(vars, name, cJSON_CreateString(value));
    else
        cJSON_AddStringToObject(vars, name, value);
}

/* ---- material ---- */

/* image, video or audio, by the extension of a file name or URL (the query
 * left out), as assets_mime_of knows them; NULL for anything else. */
static const char *media_of(const char *name)
{
    static const char *const media[] = {"image", "video", "audio"};
    const char *dot = strrchr(name, '.'), *mime;
    char ext[8] = "";

    if (dot && strlen(dot) < sizeof ext)
        snprintf(ext, sizeof ext, "%.*s", (int)strcspn(dot, "?#"), dot);
    mime = assets_mime_of(ext);
    for (int i = 0; i < 3; i++)
        if (!strncmp(mime, media[i], 5) && mime[5] == '/')
            return media[i];
    return NULL;
}

const char *assets_mime_of(const char *name)
{
    static const char *const types[][2] = {
        {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".png", "image/png"},
        {".webp", "image/webp"}, {".bmp", "image/bmp"}, {".gif", "image/gif"},
        {".mp4", "video/mp4"}, {".mov", "video/quicktime"}, {".webm", "video/webm"},
        {".mp3", "audio/mpeg"}, {".wav", "audio/wav"}, {".m4a", "audio/mp4"},
        {".aac", "audio/aac"}, {".ogg", "audio/ogg"}};
    const char *dot = strrchr(name, '.');

    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (!strcasecmp(dot, types[i][0]))
            return types[i][1];
    return "application/octet-stream";
}

static int by_name(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* One public URL from a NAME.url file: one http(s) line. */
static char *read_url_file(const char *path)
{
    char buf[4098];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;

    if (f)
        fclose(f);
    if (n > 4096)
        return NULL;                /* cut short, it would be another URL */
    buf[n] = '\0';
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if ((strncmp(buf, "https://", 8) && strncmp(buf, "http://", 7)) ||
        strpbrk(buf, " \t\r\n") || !names_utf8_ok(buf, n))
        return NULL;
    return strdup(buf);
}

/* The URL an upload step turned local file `name` into, or NULL. */
static const char *uploaded(const cJSON *values, const char *name)
{
    char key[NAMES_MAX_PART + 8];
    const cJSON *v;

    snprintf(key, sizeof key, "upload/%s", name);
    v = member(values, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The material of `r` as values: "sources" (a list of URLs) and source.url,
 * source.name, source.media, source.type of the first file by name.
 * Without the lock (reads files). -EINVAL with `why`. */
static int add_sources(assets *a, const char *kind, const char *dir, cJSON *values, char *why,
                       size_t why_len)
{
    enum profile_material m = profile_kind_material(a->p, kind);
    char *names[MAX_SOURCES];
    size_t n = 0;
    DIR *d = opendir(dir);
    cJSON *list = cJSON_AddArrayToObject(values, "sources");
    int rc = 0;

    for (struct dirent *e; d && (e = readdir(d)) && n < MAX_SOURCES; )
        if (e->d_name[0] != '.' && (names[n] = strdup(e->d_name)))
            n++;
    if (d)
        closedir(d);
    qsort(names, n, sizeof *names, by_name);
    for (size_t i = 0; i < n && !rc; i++) {
        char *path = NULL, *url = NULL;
        size_t len = strlen(names[i]);
        bool is_url = len > 4 && !strcmp(names[i] + len - 4, ".url");
        if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
            path = NULL;
        if (is_url && path && !(url = read_url_file(path))) {
            snprintf(why, why_len, "source/%s must hold one http:// or https:// URL", names[i]);
            rc = -EINVAL;
        } else if (!is_url && m == MATERIAL_URL && uploaded(values, names[i])) {
            url = strdup(uploaded(values, names[i]));
        } else if (!is_url && m == MATERIAL_URL) {
            snprintf(why, why_len, "this provider takes material only as public URLs: put the "
                     "URL into source/NAME.url instead of source/%s", names[i]);
            rc = -EINVAL;
        } else if (!is_url && !(url = path ? assets_data_url(path) : NULL)) {
            snprintf(why, why_len, "source/%s cannot be read", names[i]);
            rc = -EIO;
        }
        if (!rc) {
            cJSON_AddItemToArray(list, cJSON_CreateString(url));
            if (i == 0) {
                char base[NAMES_MAX_PART];
                const char *media;
                snprintf(base, sizeof base, "%.*s", (int)(is_url ? len - 4 : len), names[i]);
                media = media_of(base);
                if (!media && is_url)
                    media = media_of(url);
                media = media ? media : "image";
                cJSON_AddStringToObject(values, "source.url", url);
                cJSON_AddStringToObject(values, "source.name", base);
                cJSON_AddStringToObject(values, "source.media", media);
                cJSON_AddStringToObject(values, "source.type",
                                        profile_media_name(a->p, kind, media));
            }
        }
        free(url);
        free(path);
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    if (!rc && m != MATERIAL_NONE && n == 0) {
        snprintf(why, why_len, "put the material into source/ first");
        rc = -EINVAL;
    }
    return rc;
}

/* The media type of the first source file by name ("image" when unknown). */
static const char *first_media(const char *dir)
{
    DIR *d = opendir(dir);
    char first[NAMES_MAX_PART] = "";
    const char *media = NULL;

    for (struct dirent *e; d && (e = readdir(d)); )
        if (e->d_name[0] != '.' && (!first[0] || strcmp(e->d_name, first) < 0))
            snprintf(first, sizeof first, "%s", e->d_name);
    if (d)
        closedir(d);
    if (first[0]) {
        size_t len = strlen(first);
        bool is_url = len > 4 && !strcmp(first + len - 4, ".url");
        char *path = NULL, *url = NULL;
        if (is_url)
            first[len - 4] = '\0';
        media = media_of(first);
        if (!media && is_url && asprintf(&path, "%s/%s.url", dir, first) >= 0 &&
            (url = read_url_file(path)))
            media = media_of(url);
        free(path);
        free(url);
    }
    return media ? media : "image";
}

/* ---- one call ---- */

/* What a step is sent with: copied out under the lock. */
struct snapshot {
    char *kind, *name, *dir, *authorization;
    cJSON *vars;
    const char *file;               /* upload steps: the local file they send */
};

static void snapshot_free(struct snapshot *s)
{
    free(s->kind); free(s->name); free(s->dir); free(s->authorization);
    cJSON_Delete(s->vars);
    memset(s, 0, sizeof *s);
}

static int take_snapshot(assets *a, const struct asset *r, struct snapshot *s)
{
    memset(s, 0, sizeof *s);
    s->kind = strdup(r->kind);
    s->name = strdup(r->name);
    s->dir = assets_source_dir(a, r);
    s->authorization = r->authorization ? strdup(r->authorization) : NULL;
    s->vars = r->vars ? cJSON_Duplicate(r->vars, 1) : cJSON_CreateObject();
    if (!s->kind || !s->name || !s->dir || !s->vars || (r->authorization && !s->authorization)) {
        snapshot_free(s);
        return -ENOMEM;
    }
    return 0;
}

/* The values templates see: the profile's, name and kind, what was
 * captured, the authorization, and the material when the step names it. */
static cJSON *values_for(assets *a, const struct snapshot *s, const cJSON *step, char *why,
                         size_t why_len)
{
    cJSON *values = cJSON_Duplicate(profile_vars(a->p), 1), *v;
    char *text = cJSON_PrintUnformatted(step);

    if (!values || !text) {
        cJSON_Delete(values);
        free(text);
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    cJSON_AddStringToObject(values, "name", s->name);
    cJSON_AddStringToObject(values, "kind", s->kind);
    cJSON_ArrayForEach(v, s->vars)
        if (cJSON_IsString(v))
            set_var(values, v->string, v->valuestring);
    if (s->authorization)
        cJSON_AddItemToObject(values, "authorization", cJSON_Parse(s->authorization));
    if (s->dir && (strstr(text, "{source") || strstr(text, "{sources}")) &&
        add_sources(a, s->kind, s->dir, values, why, why_len)) {
        cJSON_Delete(values);
        values = NULL;
    }
    free(text);
    return values;
}

/* "host" or "host:port" of an http(s) URL, as curl sends it. */
static void host_of(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    size_t n;

    p = p ? p + 3 : url;
    n = strcspn(p, "/?#");
    snprintf(out, size, "%.*s", (int)n, p);
}

/* The headers that authenticate a call (NULL-terminated, each malloc'd). */
static int auth_headers(assets *a, const char *method, const char *url, const char *path,
                        const char *query, const char *body, char *out[4], bool *video_key)
{
    struct profile_auth auth;
    const struct assets_credentials *c = &a->creds;

    memset(out, 0, 4 * sizeof *out);
    profile_auth(a->p, &auth);
    *video_key = auth.scheme == AUTH_VIDEO_KEY;
    if (auth.scheme == AUTH_BEARER)
        return asprintf(&out[0], "Authorization: Bearer %s", c->key ? c->key : "") < 0 ? -ENOMEM : 0;
    if (auth.scheme == AUTH_HEADER)
        return asprintf(&out[0], "%s: %s%s", auth.header, auth.prefix ? auth.prefix : "",
                        c->key ? c->key : "") < 0 ? -ENOMEM : 0;
    if (auth.scheme == AUTH_HMAC_SHA256) {
        char host[256];
        host_of(url, host, sizeof host);
        struct sign_input in = {
            .method = method, .host = host, .path = path, .query = query,
            .content_type = HTTP_JSON_TYPE, .body = body, .body_len = body ? strlen(body) : 0,
            .when = time(NULL), .access_key = c->access_key ? c->access_key : "",
            .secret_key = c->secret_key ? c->secret_key : "",
            .region = auth.region, .service = auth.service,
        };
        return sign_headers(&in, out);
    }
    return 0;
}

/* The request of a call step, filled in from `values`. */
struct call {
    const char *method;
    char *path, *query, *url, *body;
};

static void call_free(struct call *c)
{
    free(c->path); free(c->query); free(c->url); free(c->body);
}

static int build_call(assets *a, const cJSON *step, const cJSON *values, struct call *c,
                      char *why, size_t why_len)
{
    const cJSON *query = member(step, "query"), *body = member(step, "body"), *q;
    int nq = cJSON_GetArraySize(query), i = 0;
    const char **names = calloc((size_t)nq + 1, sizeof *names);
    char **texts = calloc((size_t)nq + 1, sizeof *texts);
    int rc = names && texts ? 0 : -ENOMEM;

    memset(c, 0, sizeof *c);
    c->method = member(step, "method")->valuestring;
    if (!rc && cJSON_IsString(member(step, "url"))) {
        /* A whole URL a reply handed over (a presigned upload): used as it is. */
        if (!(c->path = template_string(member(step, "url")->valuestring, values, why, why_len)))
            rc = -EINVAL;
        else if ((strncmp(c->path, "https://", 8) && strncmp(c->path, "http://", 7)) ||
                 strpbrk(c->path, " \r\n"))
            rc = -EINVAL, snprintf(why, why_len, "the upload URL is not an http(s) URL");
    } else if (!rc && !(c->path = template_path(member(step, "path")->valuestring, values, why,
                                                why_len))) {
        rc = -EINVAL;
    }
    cJSON_ArrayForEach(q, query) {
        if (rc || !(texts[i] = template_string(q->valuestring, values, why, why_len))) {
            rc = -EINVAL;
            break;
        }
        names[i++] = q->string;
    }
    if (!rc && !(c->query = sign_query(names, (const char *const *)texts, (size_t)nq)))
        rc = -ENOMEM;
    if (!rc && body) {
        cJSON *filled = template_expand(body, values, why, why_len);
        if (!filled || !(c->body = cJSON_PrintUnformatted(filled)))
            rc = -EINVAL;
        cJSON_Delete(filled);
    }
    if (!rc && asprintf(&c->url, "%s%s%s%s", cJSON_IsString(member(step, "url")) ? "" :
                        a->base_url, c->path, c->query[0] ? (strchr(c->path, '?') ? "&" : "?")
                        : "", c->query) < 0)
        rc = -ENOMEM;
    for (int k = 0; texts && k < nq; k++)
        free(texts[k]);
    free(texts);
    free(names);
    if (rc)
        call_free(c);
    return rc;
}

/* What a reply said: the captured values, and a status word with its reason. */
struct heard {
    cJSON *captured;
    char *word, *reason;
    cJSON *root;                    /* the reply (list steps read their items from it) */
};

static void heard_free(struct heard *h)
{
    cJSON_Delete(h->captured);
    cJSON_Delete(h->root);
    free(h->word);
    free(h->reason);
    memset(h, 0, sizeof *h);
}

static bool in_list(const cJSON *list, const char *word)
{
    const cJSON *w;

    if (cJSON_IsString(list))
        return !strcmp(list->valuestring, word);
    cJSON_ArrayForEach(w, list) {
        char *text = template_scalar(w);
        bool same = text && !strcmp(text, word);
        free(text);
        if (same)
            return true;
    }
    return false;
}

/* A server's text as one bounded line (malloc'd), or NULL. */
static char *one_line_at(const cJSON *root, const char *path)
{
    char *s = path ? template_scalar(template_at(root, path)) : NULL;

    if (s)
        text_one_line(s, TEXT_MAX_LINE);
    return s;
}

/* Reads a reply as the step says. */
static enum outcome read_reply(assets *a, const cJSON *step, const struct http_reply *reply,
                               struct heard *h, char *why, size_t why_len)
{
    const cJSON *errors = profile_errors(a->p, step), *capture = member(step, "capture"), *c;
    cJSON *root = cJSON_Parse(reply->body);
    char *code = NULL, *message = NULL;
    enum outcome out = STEP_DONE;

    memset(h, 0, sizeof *h);
    if (errors && root) {
        code = one_line_at(root, member(errors, "code")->valuestring);
        message = one_line_at(root, cJSON_IsString(member(errors, "message")) ?
                                    member(errors, "message")->valuestring : NULL);
    }
    if (reply->status == 429 || reply->status >= 500 || reply->status == 408) {
        snprintf(why, why_len, "asset API %ld%s%s: try again later", reply->status,
                 message ? ": " : "", message ? message : "");
        out = STEP_RETRY;
    } else if (code && in_list(member(step, "pending_codes"), code)) {
        out = STEP_WAIT;            /* "not yet", in the provider's words */
    } else if (code || (reply->status >= 400 && root)) {
        snprintf(why, why_len, "asset API %ld %s%s%s", reply->status, code ? code : "refused",
                 message ? ": " : "", message ? message : "");
        out = STEP_FAILED;
    } else if (!root && reply->status >= 200 && reply->status <= 299 && reply->len == 0 &&
               !capture && !member(step, "status")) {
        out = STEP_DONE;            /* an upload's store answers 200 with no body */
    } else if (!root || reply->status < 200 || reply->status > 299) {
        /* Not the API's JSON (an HTML page, a proxy's answer): no evidence of anything. */
        snprintf(why, why_len, "asset API %ld: the reply is not the API's JSON", reply->status);
        out = STEP_RETRY;
    }
    h->captured = cJSON_CreateObject();
    const cJSON *captures = out == STEP_DONE ? capture : NULL;
    cJSON_ArrayForEach(c, captures) {
        char *value = template_scalar(template_at(root, c->valuestring));
        bool optional = in_list(member(step, "until"), c->string);    /* a poll: not yet */
        if (value && (strlen(value) > MAX_VALUE || !names_utf8_ok(value, strlen(value)) ||
                      strpbrk(value, "\r\n") ||
                      (!strcmp(c->string, "id") && !names_task_id_ok(value)))) {
            snprintf(why, why_len, "the reply's %s (at %s) is not a usable value", c->string,
                     c->valuestring);
            out = STEP_FAILED;
        } else if (value) {
            cJSON_AddStringToObject(h->captured, c->string, value);
        } else if (!optional) {
            snprintf(why, why_len, "the reply has no %s (at %s)", c->string, c->valuestring);
            out = STEP_FAILED;
        }
        free(value);
        if (out != STEP_DONE)
            break;
    }
    if (out == STEP_DONE && cJSON_IsString(member(step, "status"))) {
        h->word = one_line_at(root, member(step, "status")->valuestring);
        h->reason = one_line_at(root, cJSON_IsString(member(step, "reason")) ?
                                      member(step, "reason")->valuestring : NULL);
    }
    free(code);
    free(message);
    h->root = root;
    return out;
}

/* Sends one call step of `s` and reads its reply. Without the lock. */
static enum outcome call_step(assets *a, const struct snapshot *s, const cJSON *step,
                              struct heard *h, char *why, size_t why_len)
{
    cJSON *values = values_for(a, s, step, why, why_len);
    struct call c;
    struct http_reply reply;
    struct api_result res;
    char *headers[4] = {0};
    bool video_key = false;
    enum outcome out;
    int rc;

    memset(h, 0, sizeof *h);
    if (!values)
        return STEP_LOCAL;
    rc = build_call(a, step, values, &c, why, why_len);
    cJSON_Delete(values);
    if (rc)
        return STEP_LOCAL;          /* a template names a value nothing gave */
    struct http_body body = {HTTP_JSON_TYPE, c.body, c.body ? strlen(c.body) : 0};
    char *bytes = NULL;
    if (cJSON_IsTrue(member(step, "body_file"))) {
        size_t len = 0;
        if (!s->file || !(bytes = assets_read_file(s->file, &len))) {
            snprintf(why, why_len, "the file to upload cannot be read");
            call_free(&c);
            return STEP_LOCAL;
        }
        body = (struct http_body){assets_mime_of(s->file), bytes, len};
    }
    /* "auth": false: the URL carries its own authorization (presigned). */
    if (!cJSON_IsFalse(member(step, "auth")) &&
        (rc = auth_headers(a, c.method, c.url, c.path, c.query, c.body, headers, &video_key))) {
        snprintf(why, why_len, "out of memory");
        call_free(&c);
        free(bytes);
        return STEP_RETRY;
    }
    rc = api_request(a->api, c.method, c.url, body.data ? &body : NULL, video_key,
                     (const char *const *)headers, &reply, &res);
    free(bytes);
    for (int i = 0; i < 4; i++)
        if (headers[i]) {
            explicit_bzero(headers[i], strlen(headers[i]));
            free(headers[i]);
        }
    call_free(&c);
    if (rc) {
        snprintf(why, why_len, "asset API unreachable: %s", strerror(-rc));
        return STEP_RETRY;
    }
    out = read_reply(a, step, &reply, h, why, why_len);
    http_reply_free(&reply);
    return out;
}

/* ---- states ---- */

static const char *const phase_states[] = {"pending", "verifying", "active", "failed"};

/* Applies a status word. Lock held. True when the asset just became active. */
static bool apply_word(assets *a, struct asset *r, const char *word, const char *reason)
{
    enum asset_phase phase = profile_phase(a->p, r->kind, word);

    if (phase == PHASE_UNKNOWN || !strcmp(r->state, phase_states[phase]))
        return false;
    log_info("asset %s/%s: %s -> %s%s%s", r->kind, r->name, r->state, phase_states[phase],
             reason ? ": " : "", reason ? reason : "");
    assets_set_state(a, r, phase_states[phase],
                     phase == PHASE_FAILED ? (reason ? reason : word) : NULL);
    return phase == PHASE_ACTIVE;
}

static void merge(cJSON **vars, const cJSON *captured)
{
    const cJSON *v;

    if (!*vars)
        *vars = cJSON_CreateObject();
    cJSON_ArrayForEach(v, captured)
        set_var(*vars, v->string, v->valuestring);
}

static struct asset *record(assets *a, const char *key)
{
    return strmap_get(a->by_key, key);
}

/* The human step: shows the link. Lock held. */
static int show_link(assets *a, struct asset *r, const cJSON *human, char *why, size_t why_len)
{
    /* The values every step sees, but no material: a link names none. */
    struct snapshot s = {.kind = r->kind, .name = r->name, .authorization = r->authorization,
                         .vars = r->vars};
    const cJSON *ttl = member(human, "expires_in");
    cJSON *values = values_for(a, &s, human, why, why_len);
    char *link;

    link = values ? template_string(member(human, "link")->valuestring, values, why, why_len)
                  : NULL;
    cJSON_Delete(values);
    if (!link)
        return -EINVAL;
    if ((strncmp(link, "https://", 8) && strncmp(link, "http://", 7)) || strpbrk(link, " \r\n")) {
        snprintf(why, why_len, "the provider's link is not an http(s) URL");
        free(link);
        return -EINVAL;
    }
    free(r->link);
    r->link = link;
    r->link_expires = ttl ? (long long)time(NULL) + (long long)ttl->valuedouble : 0;
    log_info("asset %s/%s: waiting for the person (link in %s/%s/link)", r->kind, r->name,
             r->kind, r->name);
    assets_set_state(a, r, "verifying", NULL);
    return 0;
}

/* Ends the steps: the asset is sent; its status decides from here. Lock held. */
static void finish(assets *a, struct asset *r, char *why, size_t why_len)
{
    const cJSON *id = member(r->vars, "id");

    free(r->op);
    r->op = NULL;
    free(r->link);
    r->link = NULL;
    r->link_expires = 0;
    if (!cJSON_IsString(id)) {
        snprintf(why, why_len, "the steps ended without an asset id (capture \"id\")");
        assets_set_state(a, r, "failed", why);
        return;
    }
    assets_set_str(&r->asset_id, id->valuestring);
    if (!strcmp(r->state, "verifying") || !strcmp(r->state, "draft"))
        assets_set_state(a, r, "pending", NULL);
    else
        assets_save(a, r);
    log_info("asset %s/%s: sent, id %s", r->kind, r->name, r->asset_id);
}

/* Runs the steps of r->op from r->step on. Without the lock; the caller
 * set r->sending. `foreground`: a FUSE thread's create, whose first call's
 * refusal leaves the draft a draft. Returns 0 or -errno with `why`; *ready
 * when the asset became active. */
static int run_steps(assets *a, const char *key, bool foreground, char *why, size_t why_len,
                     bool *ready)
{
    int rc = 0, done = 0;

    for (;;) {
        struct asset *r;
        const cJSON *steps, *step;
        struct snapshot s;
        struct heard h;
        enum outcome out;

        pthread_mutex_lock(&a->lock);
        if (!(r = record(a, key)) || !r->op || !a->running) {
            pthread_mutex_unlock(&a->lock);
            break;
        }
        steps = profile_steps(a->p, r->kind, r->op);
        if (r->step >= cJSON_GetArraySize(steps)) {
            finish(a, r, why, why_len);
            pthread_mutex_unlock(&a->lock);
            break;
        }
        step = cJSON_GetArrayItem(steps, r->step);
        if (all_set(r->vars, member(step, "skip_if"))) {
            r->step++;
            assets_save(a, r);
            pthread_mutex_unlock(&a->lock);
            continue;
        }
        if (member(step, "human")) {
            if ((rc = show_link(a, r, member(step, "human"), why, why_len))) {
                free(r->op);
                r->op = NULL;
                assets_set_state(a, r, "failed", why);
            }
            else
                r->step++, done++, assets_save(a, r);
            pthread_mutex_unlock(&a->lock);
            if (rc)
                break;
            continue;
        }
        if (r->link && r->link_expires && time(NULL) >= r->link_expires) {
            char when[32];
            time_t t = (time_t)r->link_expires;
            strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
            snprintf(why, why_len, "the link expired at %s before the check was done: "
                     "touch create for a new one", when);
            free(r->link);
            r->link = NULL;
            assets_set_state(a, r, "expired", why);
            pthread_mutex_unlock(&a->lock);
            break;
        }
        if (member(step, "wait")) {
            bool go = all_set(r->vars, member(step, "wait"));
            if (go) {
                free(r->link);          /* the person did their part in time */
                r->link = NULL;
                r->link_expires = 0;
                r->step++;
                assets_save(a, r);
            }
            pthread_mutex_unlock(&a->lock);
            if (!go)
                break;
            continue;
        }
        rc = take_snapshot(a, r, &s);
        pthread_mutex_unlock(&a->lock);
        if (rc) {
            snprintf(why, why_len, "out of memory");
            break;
        }
        out = call_step(a, &s, step, &h, why, why_len);
        snapshot_free(&s);
        pthread_mutex_lock(&a->lock);
        if (!(r = record(a, key)) || !r->op) {
            /* Gone, or ended meanwhile (a callback said the check failed). */
            pthread_mutex_unlock(&a->lock);
            heard_free(&h);
            break;
        }
        if (out == STEP_DONE || out == STEP_WAIT)
            merge(&r->vars, h.captured);
        if (out == STEP_DONE && member(step, "until") && !all_set(r->vars, member(step, "until")))
            out = STEP_WAIT;
        if (out == STEP_DONE) {
            r->step++;
            done++;
            if (!member(step, "until") && r->link) {
                free(r->link);          /* the person's part is over */
                r->link = NULL;
                r->link_expires = 0;
            }
            /* Active only once every step is done (finish, then the status). */
            if (h.word && (profile_phase(a->p, r->kind, h.word) != PHASE_ACTIVE ||
                           r->step >= cJSON_GetArraySize(steps)) &&
                apply_word(a, r, h.word, h.reason) && ready)
                *ready = true;
            if (!strcmp(r->state, "failed")) {
                free(r->op);
                r->op = NULL;
            }
            assets_save(a, r);
        } else if (out == STEP_WAIT) {
            assets_save(a, r);
        } else if (foreground && (done == 0 || out == STEP_LOCAL)) {
            /* Nothing of this asset reached the provider's books (or what did,
             * such as a group, is kept for the next try): it stays a draft. */
            free(r->op);
            r->op = NULL;
            free(r->link);
            r->link = NULL;
            r->link_expires = 0;
            assets_set_state(a, r, "draft", NULL);
            rc = out == STEP_RETRY ? -EIO : -EINVAL;
        } else if (out == STEP_FAILED || out == STEP_LOCAL) {
            free(r->op);
            r->op = NULL;
            free(r->link);
            r->link = NULL;
            assets_set_state(a, r, "failed", why);
            rc = foreground ? -EINVAL : 0;
        } else {
            log_info("asset %s: %s", key, why);     /* the poller tries again */
        }
        pthread_mutex_unlock(&a->lock);
        heard_free(&h);
        if (out != STEP_DONE)
            break;
    }
    return rc;
}

/* A new run starts from nothing but what a verified asset handed on. Lock held. */
static void keep_handed_on(assets *a, struct asset *r)
{
    const cJSON *names = profile_reuse(a->p, r->kind), *n;
    cJSON *kept = cJSON_CreateObject();
    const cJSON *list = cJSON_IsArray(names) ? names : NULL;

    if (!kept)
        return;
    cJSON_ArrayForEach(n, list) {
        const cJSON *v = cJSON_IsString(n) ? member(r->vars, n->valuestring) : NULL;
        if (cJSON_IsString(v))
            cJSON_AddStringToObject(kept, n->valuestring, v->valuestring);
    }
    if (cJSON_IsString(names) && cJSON_IsString(member(r->vars, names->valuestring)))
        cJSON_AddStringToObject(kept, names->valuestring,
                                member(r->vars, names->valuestring)->valuestring);
    cJSON_Delete(r->vars);
    r->vars = kept;
    free(r->link);
    r->link = NULL;
    r->link_expires = 0;
}

/* The kind's upload steps, for each local file of source/ not yet uploaded:
 * each turns a file into the URL its "url" value names, kept as
 * "upload/FILE" (add_sources uses it). Without the lock; the caller set
 * r->sending. 0, or -EINVAL / -EIO with `why`. */
static int run_uploads(assets *a, const char *key, char *why, size_t why_len)
{
    const cJSON *upload = NULL, *steps, *step, *name_of;
    struct snapshot s;
    struct asset *r;
    DIR *d;
    int rc = 0;

    pthread_mutex_lock(&a->lock);
    r = record(a, key);
    if (r)
        upload = profile_upload(a->p, r->kind);
    rc = r && upload ? take_snapshot(a, r, &s) : -ENOENT;
    pthread_mutex_unlock(&a->lock);
    if (rc)
        return rc == -ENOENT ? 0 : rc;
    steps = member(upload, "steps");
    name_of = member(upload, "url");
    d = opendir(s.dir);
    for (struct dirent *e; !rc && d && (e = readdir(d)); ) {
        size_t len = strlen(e->d_name);
        char *path = NULL, size[32];
        struct stat st;
        cJSON *got;
        if (e->d_name[0] == '.' || (len > 4 && !strcmp(e->d_name + len - 4, ".url")) ||
            uploaded(s.vars, e->d_name) || asprintf(&path, "%s/%s", s.dir, e->d_name) < 0)
            continue;
        if (stat(path, &st) || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        /* The file's values, for this file's steps only. */
        got = cJSON_Duplicate(s.vars, 1);
        snprintf(size, sizeof size, "%lld", (long long)st.st_size);
        set_var(got, "file.name", e->d_name);
        set_var(got, "file.size", size);
        set_var(got, "file.type", assets_mime_of(e->d_name));
        set_var(got, "file.media", media_of(e->d_name) ? media_of(e->d_name) : "image");
        struct snapshot one = s;
        one.vars = got;
        one.file = path;
        cJSON_ArrayForEach(step, steps) {
            struct heard h;
            enum outcome o = call_step(a, &one, step, &h, why, why_len);
            if (o == STEP_DONE)
                merge(&one.vars, h.captured);
            heard_free(&h);
            if (o != STEP_DONE) {
                rc = o == STEP_RETRY ? -EIO : -EINVAL;
                break;
            }
        }
        const cJSON *url = member(one.vars, name_of->valuestring);
        if (!rc && (!cJSON_IsString(url) || (strncmp(url->valuestring, "https://", 8) &&
                                             strncmp(url->valuestring, "http://", 7)))) {
            snprintf(why, why_len, "the upload of source/%s gave no URL (%s)", e->d_name,
                     name_of->valuestring);
            rc = -EINVAL;
        }
        if (!rc) {
            char key_name[NAMES_MAX_PART + 8];
            snprintf(key_name, sizeof key_name, "upload/%s", e->d_name);
            set_var(s.vars, key_name, url->valuestring);
            pthread_mutex_lock(&a->lock);
            if ((r = record(a, key))) {
                if (!r->vars)
                    r->vars = cJSON_CreateObject();
                set_var(r->vars, key_name, url->valuestring);
                assets_save(a, r);
            }
            pthread_mutex_unlock(&a->lock);
            log_info("asset %s: source/%s uploaded", key, e->d_name);
        }
        cJSON_Delete(one.vars);
        free(path);
    }
    if (d)
        closedir(d);
    snapshot_free(&s);
    return rc;
}

int assets_flow_start(assets *a, const char *key, const char *op, char *why, size_t why_len)
{
    struct asset *r;
    bool ready = false;
    const char *media;
    char *dir = NULL;
    int rc = 0;

    pthread_mutex_lock(&a->lock);
    r = record(a, key);
    if (r && strcmp(r->state, "draft") && strcmp(r->state, "expired")) {
        rc = r->asset_id || r->op ? 0 : -EPERM;     /* sent: touch again changes nothing */
        pthread_mutex_unlock(&a->lock);
        return rc;
    } else if (!r || r->sending) {
        rc = r ? -EBUSY : -ENOENT;
    } else if (!r->authorization) {
        snprintf(why, why_len, "write authorization.json first");
        rc = -EINVAL;
    } else if (assets_set_str(&r->op, op), !r->op) {
        rc = -ENOMEM;
    } else {
        keep_handed_on(a, r);
        r->step = 0;
        r->sending = true;
        dir = assets_source_dir(a, r);
        assets_set_state(a, r, "pending", NULL);
    }
    pthread_mutex_unlock(&a->lock);
    if (rc)
        return rc;
    /* Which reference template the asset takes (image, video, audio). */
    media = dir ? first_media(dir) : "image";
    free(dir);
    pthread_mutex_lock(&a->lock);
    if ((r = record(a, key))) {
        if (!r->vars)
            r->vars = cJSON_CreateObject();
        set_var(r->vars, "media", media);
    }
    pthread_mutex_unlock(&a->lock);
    if ((rc = run_uploads(a, key, why, why_len))) {
        pthread_mutex_lock(&a->lock);
        if ((r = record(a, key))) {
            free(r->op);
            r->op = NULL;
            r->sending = false;
            assets_set_state(a, r, "draft", NULL);
        }
        pthread_mutex_unlock(&a->lock);
        return rc;
    }
    rc = run_steps(a, key, true, why, why_len, &ready);
    pthread_mutex_lock(&a->lock);
    if ((r = record(a, key)))
        r->sending = false;
    pthread_cond_signal(&a->wake);
    pthread_mutex_unlock(&a->lock);
    if (ready && a->on_ready)
        a->on_ready(a->on_ready_arg);
    return rc;
}

/* One status call. Without the lock; the caller set r->sending. */
static bool poll_status(assets *a, const char *key)
{
    const cJSON *step;
    struct asset *r;
    struct snapshot s;
    struct heard h;
    char why[512] = "";
    bool ready = false;
    enum outcome out;

    pthread_mutex_lock(&a->lock);
    r = record(a, key);
    step = r ? profile_steps(a->p, r->kind, "status") : NULL;
    if (!step || take_snapshot(a, r, &s)) {
        pthread_mutex_unlock(&a->lock);
        return false;
    }
    pthread_mutex_unlock(&a->lock);
    out = call_step(a, &s, step, &h, why, sizeof why);
    snapshot_free(&s);
    pthread_mutex_lock(&a->lock);
    if ((r = record(a, key))) {
        if (out == STEP_DONE && h.word)
            ready = apply_word(a, r, h.word, h.reason);
        else if (out == STEP_FAILED || out == STEP_LOCAL)
            assets_set_state(a, r, "failed", why);
        else if (out == STEP_RETRY)
            log_info("asset %s: %s", key, why);
    }
    pthread_mutex_unlock(&a->lock);
    heard_free(&h);
    return ready;
}

bool assets_flow_poll(assets *a, const char *key)
{
    struct asset *r;
    bool ready = false, steps;
    char why[512] = "";

    pthread_mutex_lock(&a->lock);
    r = record(a, key);
    if (!r || r->sending || (!r->op && !r->asset_id)) {
        pthread_mutex_unlock(&a->lock);
        return false;
    }
    r->sending = true;
    steps = r->op != NULL;
    pthread_mutex_unlock(&a->lock);
    if (steps)
        run_steps(a, key, false, why, sizeof why, &ready);
    else
        ready = poll_status(a, key);
    pthread_mutex_lock(&a->lock);
    if ((r = record(a, key)))
        r->sending = false;
    pthread_mutex_unlock(&a->lock);
    return ready;
}

/* ---- what the user hands back ---- */

static int hex_value(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
         : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* The decoded value of query parameter `name` in `url` (malloc'd), or NULL. */
static char *query_param(const char *url, const char *name)
{
    const char *q = strchr(url, '?');
    size_t len = strlen(name);

    for (q = q ? q + 1 : NULL; q && *q; ) {
        size_t n = strcspn(q, "&#");
        if (n > len && !strncmp(q, name, len) && q[len] == '=') {
            char *out = malloc(n), *o = out;
            for (const char *p = q + len + 1; out && p < q + n; p++) {
                if (*p == '%' && p + 2 < q + n && hex_value(p[1]) >= 0 && hex_value(p[2]) >= 0) {
                    *o = (char)(hex_value(p[1]) * 16 + hex_value(p[2]));
                    if (!*o++) {        /* %00 would cut the value short */
                        free(out);
                        return NULL;
                    }
                    p += 2;
                } else {
                    *o++ = *p == '+' ? ' ' : *p;
                }
            }
            if (out)
                *o = '\0';
            return out;
        }
        if (q[n] != '&')
            break;
        q += n + 1;
    }
    return NULL;
}

/* The human step the flow is in (the last one before r->step), or NULL. */
static const cJSON *current_human(assets *a, const struct asset *r)
{
    const cJSON *steps = r->op ? profile_steps(a->p, r->kind, r->op) : NULL;

    for (int i = r->step - 1; steps && i >= 0; i--) {
        const cJSON *human = member(cJSON_GetArrayItem(steps, i), "human");
        if (human)
            return human;
    }
    return NULL;
}

int assets_flow_callback(assets *a, struct asset *r, const char *url, char *why, size_t why_len)
{
    const cJSON *callback = member(current_human(a, r), "callback"), *c;
    cJSON *got = cJSON_CreateObject();
    int rc = 0;

    if (!r->link || !callback) {
        snprintf(why, why_len, "callback: no link is waiting for the person");
        rc = -EINVAL;
    } else if (r->link_expires && time(NULL) >= r->link_expires) {
        snprintf(why, why_len, "callback: the link expired; touch create for a new one");
        rc = -EINVAL;
    }
    const cJSON *params = rc ? NULL : member(callback, "capture");
    cJSON_ArrayForEach(c, params) {
        char *value = query_param(url, c->valuestring);
        if (value && (strlen(value) > MAX_VALUE || !names_utf8_ok(value, strlen(value)) ||
                      strpbrk(value, "\r\n"))) {
            snprintf(why, why_len, "callback: parameter %s is not a usable value", c->valuestring);
            rc = -EINVAL;
        } else if (!value) {
            snprintf(why, why_len, "callback: the URL has no %s parameter (paste the whole "
                     "address the browser landed on)", c->valuestring);
            rc = -EINVAL;
        } else {
            cJSON_AddStringToObject(got, c->string, value);
        }
        free(value);
        if (rc)
            break;
    }
    const cJSON *success = rc ? NULL : member(callback, "success");
    cJSON_ArrayForEach(c, success) {
        const cJSON *value = member(got, c->string);
        if (cJSON_IsString(value) && !in_list(c, value->valuestring)) {
            snprintf(why, why_len, "the check did not succeed (%s=%s)", c->string,
                     value->valuestring);
            free(r->op);
            r->op = NULL;
            free(r->link);
            r->link = NULL;
            assets_set_state(a, r, "failed", why);
            rc = -EINVAL;
            break;
        }
    }
    if (!rc) {
        merge(&r->vars, got);
        assets_save(a, r);
        log_info("asset %s/%s: callback received", r->kind, r->name);
        pthread_cond_signal(&a->wake);
    }
    cJSON_Delete(got);
    return rc;
}

int assets_flow_reuse(assets *a, struct asset *r, const char *from, char *why, size_t why_len)
{
    const cJSON *names = profile_reuse(a->p, r->kind), *n;
    char key[520];
    struct asset *src;

    snprintf(key, sizeof key, "%s/%s", r->kind, from);
    src = strcmp(from, r->name) ? record(a, key) : NULL;
    if (!names) {
        snprintf(why, why_len, "reuse: the profile lets no %s hand anything on", r->kind);
        return -EINVAL;
    }
    if (!src || strcmp(src->state, "active") || !all_set(src->vars, names)) {
        snprintf(why, why_len, "reuse: %s is no verified %s of this mount", from, r->kind);
        return -EINVAL;
    }
    if (strcmp(r->state, "draft")) {
        snprintf(why, why_len, "reuse: only a draft takes values over");
        return -EINVAL;
    }
    if (!r->vars)
        r->vars = cJSON_CreateObject();
    cJSON_ArrayForEach(n, names)
        set_var(r->vars, n->valuestring, member(src->vars, n->valuestring)->valuestring);
    if (cJSON_IsString(names))
        set_var(r->vars, names->valuestring, member(src->vars, names->valuestring)->valuestring);
    assets_save(a, r);
    log_info("asset %s/%s: reuses what %s was verified with", r->kind, r->name, from);
    return 0;
}

/* ---- the library and deletes ---- */

static void snapshot_of_id(struct snapshot *s, const char *kind, const char *id)
{
    memset(s, 0, sizeof *s);
    s->kind = (char *)kind;
    s->name = (char *)(id ? id : "");
    s->vars = cJSON_CreateObject();
    if (s->vars && id)
        cJSON_AddStringToObject(s->vars, "id", id);
}

int assets_flow_list(assets *a, const char *kind, struct library_entry **out, int *n,
                     char *why, size_t why_len)
{
    const cJSON *step = profile_steps(a->p, kind, "list"), *items, *item;
    struct snapshot s;
    struct heard h;
    enum outcome o;
    int count = 0;

    *out = NULL;
    *n = 0;
    if (!step)
        return -ENOENT;
    snapshot_of_id(&s, kind, NULL);
    o = call_step(a, &s, step, &h, why, why_len);
    cJSON_Delete(s.vars);
    if (o != STEP_DONE) {
        heard_free(&h);
        return o == STEP_RETRY ? -EAGAIN : -EPROTO;
    }
    items = template_at(h.root, member(step, "items")->valuestring);
    if (!cJSON_IsArray(items)) {
        snprintf(why, why_len, "the list reply has no items (at %s)",
                 member(step, "items")->valuestring);
        heard_free(&h);
        return -EPROTO;
    }
    *out = calloc((size_t)cJSON_GetArraySize(items) + 1, sizeof **out);
    if (!*out)
        items = NULL;
    cJSON_ArrayForEach(item, items) {
        char *id = template_scalar(template_at(item, member(step, "item_id")->valuestring));
        const cJSON *at = member(step, "item_status");
        char *word = cJSON_IsString(at) ? one_line_at(item, at->valuestring) : NULL;
        enum asset_phase phase = word ? profile_phase(a->p, kind, word) : PHASE_ACTIVE;
        /* Only ids that can be directory names; the rest cannot be selected here. */
        if (id && names_request_name_ok(id) && count < ASSETS_MAX_LIBRARY) {
            (*out)[count].id = id;
            (*out)[count].state = strdup(phase == PHASE_UNKNOWN ? "unknown" : phase_states[phase]);
            count++;
        } else {
            free(id);
        }
        free(word);
    }
    *n = count;
    heard_free(&h);
    return *out ? 0 : -ENOMEM;
}

int assets_flow_delete(assets *a, const char *kind, const char *id, char *why, size_t why_len)
{
    const cJSON *steps = profile_steps(a->p, kind, "delete"), *step;
    struct snapshot s;
    int rc = 0;

    if (!steps)
        return -ENOENT;
    snapshot_of_id(&s, kind, id);
    cJSON_ArrayForEach(step, steps) {
        struct heard h;
        enum outcome o = call_step(a, &s, step, &h, why, why_len);
        heard_free(&h);
        if (o == STEP_RETRY) {
            rc = -EIO;          /* not reached, or not now: the asset stays */
            break;
        }
        if (o != STEP_DONE) {
            rc = -EPERM;        /* refused: the provider keeps it */
            break;
        }
    }
    cJSON_Delete(s.vars);
    return rc;
}
