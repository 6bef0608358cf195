/* sim-providers.c — see sim-providers.h. */
#include <cjson/cJSON.h>

#include "sim-providers.h"

#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define MAX_ITEMS 512
#define ER_PREFIX "/api/resource-channel/byteplus/visual-validate"
#define YT_PREFIX "/api/seedance-assets"

#define AY_PREFIX "/v1/asset-library"

enum shape { NONE, VOLC, ER, YT, AY };

/* A presigned upload (apiyi): what was announced, and what arrived. */
struct upload { char token[40], name[128], type[80], url[300]; long long size, received; };

struct group { char id[40]; bool liveness; };
struct session { char token[40], id[40], callback[512]; double created; int state; /* 0 waiting 1 passed 2 failed */ char group[40]; };
struct item { char id[40], alias[40], group[40]; double created; bool mismatch, deleted; };

static struct {
    enum shape shape;
    const char *region, *ak, *sk, *key;
    long verify_ms, link_ttl_ms;
    pthread_mutex_t lock;
    struct group groups[MAX_ITEMS];
    struct session sessions[MAX_ITEMS];
    struct item items[MAX_ITEMS];
    struct upload uploads[MAX_ITEMS];
    int nuploads;
    long long upload_auth_leaks;
    int ngroups, nsessions, nitems;
    long long calls, signed_ok, signed_bad, deleted;
} P = {.lock = PTHREAD_MUTEX_INITIALIZER, .verify_ms = 1000, .link_ttl_ms = 120000};

static const char *item_status(const struct item *it, const char **code, const char **why);

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

bool providers_select(const char *name)
{
    if (!strcmp(name, "volcengine"))
        P.shape = VOLC, P.region = "cn-beijing";
    else if (!strcmp(name, "byteplus"))
        P.shape = VOLC, P.region = "ap-southeast-1";
    else if (!strcmp(name, "easyrouter"))
        P.shape = ER;
    else if (!strcmp(name, "yingtu"))
        P.shape = YT;
    else if (!strcmp(name, "apiyi"))
        P.shape = AY;
    else
        return false;
    return true;
}

void providers_configure(const char *ak, const char *sk, const char *key, long verify_ms,
                         long link_ttl_ms)
{
    P.ak = ak;
    P.sk = sk;
    P.key = key;
    P.verify_ms = verify_ms;
    P.link_ttl_ms = link_ttl_ms;
    /* The library: two virtual humans made long ago, active. */
    struct group *g = &P.groups[P.ngroups++];
    snprintf(g->id, sizeof g->id, "group-aigc-library");
    for (int i = 1; i <= 2; i++) {
        struct item *it = &P.items[P.nitems++];
        snprintf(it->id, sizeof it->id, "asset-lib-%04d", i);
        snprintf(it->alias, sizeof it->alias, "yt_lib_%04d", i);
        memcpy(it->group, "group-aigc-library", sizeof "group-aigc-library");
    }
}

/* Every live asset in AIGC groups (lock held), for the list calls. */
static cJSON *aigc_items(bool alias)
{
    cJSON *list = cJSON_CreateArray();

    for (int i = 0; i < P.nitems; i++) {
        struct item *it = &P.items[i];
        struct group *g = NULL;
        const char *code, *why;
        for (int k = 0; k < P.ngroups; k++)
            if (!strcmp(P.groups[k].id, it->group))
                g = &P.groups[k];
        if (it->deleted || !g || g->liveness)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, alias ? "id" : "Id", alias ? it->alias : it->id);
        cJSON_AddStringToObject(o, alias ? "status" : "Status", item_status(it, &code, &why));
        cJSON_AddItemToArray(list, o);
    }
    return list;
}

void providers_stats(struct provider_stats *out)
{
    pthread_mutex_lock(&P.lock);
    *out = (struct provider_stats){P.calls, P.signed_ok, P.signed_bad, P.nsessions, P.deleted,
                                   P.upload_auth_leaks};
    pthread_mutex_unlock(&P.lock);
}

/* ---- the verifier (its own reading of the Volcengine signature) ---- */

static void hexify(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void mac(const void *key, size_t klen, const char *msg, unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)klen, (const unsigned char *)msg, strlen(msg), out, &n);
}

static void encode(const char *s, char *out)
{
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
            strchr("-_.~", ch))
            *out++ = (char)ch;
        else
            out += sprintf(out, "%%%02X", ch);
    }
    *out = '\0';
}

struct qarg { char k[200], v[600]; };
struct qlist { struct qarg a[16]; int n; };

static enum MHD_Result collect(void *cls, enum MHD_ValueKind kind, const char *k, const char *v)
{
    struct qlist *q = cls;
    (void)kind;
    if (q->n < 16 && strlen(k) < 60 && (!v || strlen(v) < 190)) {
        encode(k, q->a[q->n].k);
        encode(v ? v : "", q->a[q->n].v);
        q->n++;
    }
    return MHD_YES;
}

static int by_key(const void *x, const void *y)
{
    return strcmp(((const struct qarg *)x)->k, ((const struct qarg *)y)->k);
}

static bool signature_ok(struct MHD_Connection *c, const char *method, const char *url,
                         const char *body, size_t len)
{
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    const char *date = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Date");
    const char *hash = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "X-Content-Sha256");
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    char want_hash[65], query[4096] = "", canon[8192], scope[128], text[512], sig[65], expect[512];
    unsigned char d[32], k[32];
    struct qlist q = {.n = 0};

    if (!auth || !date || !hash || !host || !type || strlen(date) != 16)
        return false;
    SHA256((const unsigned char *)(body ? body : ""), body ? len : 0, d);
    hexify(d, 32, want_hash);
    if (strcmp(hash, want_hash))
        return false;               /* the body is not the one signed */
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect, &q);
    qsort(q.a, (size_t)q.n, sizeof q.a[0], by_key);
    for (int i = 0; i < q.n; i++)
        snprintf(query + strlen(query), sizeof query - strlen(query), "%s%s=%s", i ? "&" : "",
                 q.a[i].k, q.a[i].v);
    snprintf(canon, sizeof canon, "%s\n%s\n%s\ncontent-type:%s\nhost:%s\nx-content-sha256:%s\n"
             "x-date:%s\n\ncontent-type;host;x-content-sha256;x-date\n%s", method, url, query,
             type, host, hash, date, hash);
    SHA256((const unsigned char *)canon, strlen(canon), d);
    hexify(d, 32, want_hash);
    snprintf(scope, sizeof scope, "%.8s/%s/ark/request", date, P.region);
    snprintf(text, sizeof text, "HMAC-SHA256\n%s\n%s\n%s", date, scope, want_hash);
    char day[9];
    snprintf(day, sizeof day, "%.8s", date);
    mac(P.sk, strlen(P.sk), day, k);
    mac(k, 32, P.region, k);
    mac(k, 32, "ark", k);
    mac(k, 32, "request", k);
    mac(k, 32, text, d);
    hexify(d, 32, sig);
    snprintf(expect, sizeof expect, "HMAC-SHA256 Credential=%s/%s, SignedHeaders=content-type;"
             "host;x-content-sha256;x-date, Signature=%s", P.ak, scope, sig);
    return !strcmp(auth, expect);
}

/* ---- state (lock held) ---- */

static struct group *find_group(const char *id)
{
    for (int i = 0; i < P.ngroups; i++)
        if (!strcmp(P.groups[i].id, id))
            return &P.groups[i];
    return NULL;
}

static struct session *find_session(const char *token_or_id)
{
    for (int i = 0; i < P.nsessions; i++)
        if (!strcmp(P.sessions[i].token, token_or_id) || !strcmp(P.sessions[i].id, token_or_id))
            return &P.sessions[i];
    return NULL;
}

static struct item *find_item(const char *id)
{
    for (int i = 0; i < P.nitems; i++)
        if (!P.items[i].deleted && (!strcmp(P.items[i].id, id) || !strcmp(P.items[i].alias, id)))
            return &P.items[i];
    return NULL;
}

static bool expired(const struct session *s)
{
    return s->state == 0 && (now() - s->created) * 1000 > P.link_ttl_ms;
}

/* Processing, Active or Failed (with *why). */
static const char *item_status(const struct item *it, const char **code, const char **why)
{
    *code = *why = NULL;
    if ((now() - it->created) * 1000 < P.verify_ms)
        return "Processing";
    if (it->mismatch) {
        *code = "FaceMismatch";
        *why = "the face does not match the verified person";
        return "Failed";
    }
    return "Active";
}

bool providers_asset_active(const char *id)
{
    const char *code, *why;
    bool active;

    pthread_mutex_lock(&P.lock);
    struct item *it = find_item(id);
    active = it && !strcmp(item_status(it, &code, &why), "Active");
    pthread_mutex_unlock(&P.lock);
    return active;
}

static const char *text(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The operations, shape-neutral: 0 with *result, or an error code + message. */
struct answer { cJSON *result; const char *code, *message; unsigned http; };

static void create_group(bool liveness, char *id)
{
    struct group *g = &P.groups[P.ngroups++];
    snprintf(g->id, sizeof g->id, "group-%s-%04d", liveness ? "lf" : "aigc", P.ngroups);
    g->liveness = liveness;
    snprintf(id, 40, "%s", g->id);
}

static struct answer create_item(const char *group, const char *url, const char *type)
{
    struct answer a = {0};
    struct group *g = group ? find_group(group) : NULL;

    if (group && !g)
        return (struct answer){NULL, "InvalidParameter.GroupId", "no such asset group", 400};
    if (!url || (strncmp(url, "https://", 8) && strncmp(url, "http://", 7)))
        return (struct answer){NULL, "InvalidParameter.URL",
                               "URL must be a public http(s) URL (no base64, no data: URL)", 400};
    if (!type || (strcasecmp(type, "image") && strcasecmp(type, "video") && strcasecmp(type, "audio")))
        return (struct answer){NULL, "InvalidParameter.AssetType", "AssetType is Image, Video or Audio", 400};
    if (P.nitems == MAX_ITEMS || P.ngroups == MAX_ITEMS)
        return (struct answer){NULL, "QuotaExceeded", "too many assets", 400};
    char aigc[40];
    if (!g) {
        create_group(false, aigc);
        g = &P.groups[P.ngroups - 1];
    }
    struct item *it = &P.items[P.nitems++];
    snprintf(it->id, sizeof it->id, "asset-20261203-%05d", P.nitems);
    snprintf(it->alias, sizeof it->alias, "yt_%05d", P.nitems);   /* YingTu's own id */
    snprintf(it->group, sizeof it->group, "%s", g->id);
    it->created = now();
    it->mismatch = g->liveness && strstr(url, "mismatch");
    a.result = cJSON_CreateObject();
    cJSON_AddStringToObject(a.result, "Id", it->id);
    return a;
}

static struct answer new_session(const char *callback)
{
    struct session *s;
    struct answer a = {0};

    if (!callback || strncmp(callback, "http", 4))
        return (struct answer){NULL, "InvalidParameter.CallbackURL", "CallbackURL is required", 400};
    if (P.nsessions == MAX_ITEMS)
        return (struct answer){NULL, "QuotaExceeded", "too many sessions", 400};
    s = &P.sessions[P.nsessions++];
    memset(s, 0, sizeof *s);
    snprintf(s->token, sizeof s->token, "bt-%08x%04d", (unsigned)rand(), P.nsessions);
    snprintf(s->id, sizeof s->id, "vs-%04d", P.nsessions);
    snprintf(s->callback, sizeof s->callback, "%s", callback);
    s->created = now();
    a.result = cJSON_CreateObject();
    cJSON_AddStringToObject(a.result, "token", s->token);
    cJSON_AddStringToObject(a.result, "id", s->id);
    char link[200];
    snprintf(link, sizeof link, "https://h5.liveness.sim.invalid/verify?token=%s", s->token);
    cJSON_AddStringToObject(a.result, "link", link);
    return a;
}

static struct answer session_result(const char *token)
{
    struct session *s = token ? find_session(token) : NULL;
    struct answer a = {0};

    if (!s)
        return (struct answer){NULL, "InvalidParameter.BytedToken", "no such session", 400};
    if (expired(s))
        return (struct answer){NULL, "TokenExpired", "the verification link expired", 400};
    if (s->state == 2)
        return (struct answer){NULL, "LivenessFailed", "the liveness check failed", 400};
    if (s->state == 0)
        return (struct answer){NULL, "ValidatePending", "the person has not finished", 200};
    a.result = cJSON_CreateObject();
    cJSON_AddStringToObject(a.result, "GroupId", s->group);
    return a;
}

/* ---- wire shapes ---- */

static enum MHD_Result volc_reply(struct MHD_Connection *c, const char *action, struct answer a)
{
    cJSON *root = cJSON_CreateObject(), *meta = cJSON_AddObjectToObject(root, "ResponseMetadata");

    cJSON_AddStringToObject(meta, "RequestId", "20261203-sim");
    cJSON_AddStringToObject(meta, "Action", action ? action : "");
    cJSON_AddStringToObject(meta, "Version", "2024-01-01");
    if (a.code) {
        cJSON *e = cJSON_AddObjectToObject(meta, "Error");
        cJSON_AddStringToObject(e, "Code", a.code);
        cJSON_AddStringToObject(e, "Message", a.message);
    } else {
        cJSON_AddItemToObject(root, "Result", a.result);
    }
    /* Errors come with HTTP 200 as well as 4xx: "pending" ones always with 200. */
    return sim_send_json(c, a.code ? a.http : 200, root);
}

static struct answer volc_action(const char *action, const cJSON *body)
{
    if (!strcmp(action, "CreateAssetGroup")) {
        struct answer a = {cJSON_CreateObject(), NULL, NULL, 0};
        char id[40];
        const char *type = text(body, "GroupType");
        if (!type || strcmp(type, "AIGC") || !text(body, "Name")) {
            cJSON_Delete(a.result);
            return (struct answer){NULL, "InvalidParameter.GroupType", "GroupType AIGC and a Name are required", 400};
        }
        create_group(false, id);
        cJSON_AddStringToObject(a.result, "Id", id);
        return a;
    }
    if (!strcmp(action, "CreateAsset"))
        return create_item(text(body, "GroupId") ? text(body, "GroupId") : "", text(body, "URL"),
                           text(body, "AssetType"));
    if (!strcmp(action, "GetAsset")) {
        struct item *it = text(body, "Id") ? find_item(text(body, "Id")) : NULL;
        const char *code, *why, *status;
        if (!it)
            return (struct answer){NULL, "NotFound.Asset", "no such asset", 404};
        struct answer a = {cJSON_CreateObject(), NULL, NULL, 0};
        status = item_status(it, &code, &why);
        cJSON_AddStringToObject(a.result, "Id", it->id);
        cJSON_AddStringToObject(a.result, "GroupId", it->group);
        cJSON_AddStringToObject(a.result, "Status", status);
        if (code) {
            cJSON *e = cJSON_AddObjectToObject(a.result, "Error");
            cJSON_AddStringToObject(e, "Code", code);
            cJSON_AddStringToObject(e, "Message", why);
        }
        return a;
    }
    if (!strcmp(action, "ListAssets")) {
        struct answer a = {cJSON_CreateObject(), NULL, NULL, 0};
        cJSON_AddItemToObject(a.result, "Items", aigc_items(false));
        return a;
    }
    if (!strcmp(action, "DeleteAsset")) {
        struct item *it = text(body, "Id") ? find_item(text(body, "Id")) : NULL;
        if (!it)
            return (struct answer){NULL, "NotFound.Asset", "no such asset", 404};
        it->deleted = true, P.deleted++;
        return (struct answer){cJSON_CreateObject(), NULL, NULL, 0};
    }
    if (!strcmp(action, "CreateVisualValidateSession")) {
        struct answer a = new_session(text(body, "CallbackURL"));
        if (a.result) {
            cJSON *r = cJSON_CreateObject();
            cJSON_AddStringToObject(r, "BytedToken", text(a.result, "token"));
            cJSON_AddStringToObject(r, "H5Link", text(a.result, "link"));
            cJSON_Delete(a.result);
            a.result = r;
        }
        return a;
    }
    if (!strcmp(action, "GetVisualValidateResult"))
        return session_result(text(body, "BytedToken"));
    return (struct answer){NULL, "InvalidAction", "no such action", 400};
}

static enum MHD_Result er_reply(struct MHD_Connection *c, struct answer a, bool verified_shape)
{
    cJSON *root = cJSON_CreateObject();
    (void)verified_shape;

    if (a.code) {
        cJSON *e = cJSON_AddObjectToObject(root, "error");
        cJSON_AddStringToObject(e, "code", a.code);
        cJSON_AddStringToObject(e, "message", a.message);
        return sim_send_json(c, a.http == 200 ? 409 : a.http, root);
    }
    cJSON_AddItemToObject(root, "data", a.result);
    return sim_send_json(c, 200, root);
}

static enum MHD_Result er_call(struct MHD_Connection *c, const char *method, const char *rest,
                               const cJSON *body)
{
    struct answer a;

    if (!strcmp(rest, "/sessions") && !strcmp(method, "POST")) {
        a = new_session(text(body, "callback_url"));
        if (a.result) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "session_id", text(a.result, "id"));
            cJSON_AddStringToObject(d, "byted_token", text(a.result, "token"));
            cJSON_AddStringToObject(d, "h5_link", text(a.result, "link"));
            cJSON_Delete(a.result);
            a.result = d;
        }
        return er_reply(c, a, false);
    }
    if (!strncmp(rest, "/sessions/", 10) && !strcmp(method, "GET")) {
        struct session *s = find_session(rest + 10);
        cJSON *d;
        if (!s)
            return er_reply(c, (struct answer){NULL, "not_found", "no such session", 404}, false);
        d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "session_id", s->id);
        cJSON_AddStringToObject(d, "status", expired(s) ? "expired" : s->state == 1 ? "verified"
                                            : s->state == 2 ? "failed" : "pending");
        if (s->state == 1)
            cJSON_AddStringToObject(d, "group_id", s->group);
        return er_reply(c, (struct answer){d, NULL, NULL, 0}, false);
    }
    if (!strcmp(rest, "/assets") && !strcmp(method, "POST")) {
        a = create_item(text(body, "group_id"), text(body, "url"), text(body, "asset_type"));
        if (a.result) {
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "id", text(a.result, "Id"));
            cJSON_AddStringToObject(d, "status", "Processing");
            cJSON_Delete(a.result);
            a.result = d;
        }
        return er_reply(c, a, false);
    }
    if (!strcmp(rest, "/assets") && !strcmp(method, "GET")) {
        cJSON *d = cJSON_CreateObject();
        cJSON *items = aigc_items(false), *o;
        cJSON_ArrayForEach(o, items) {       /* this gateway's own field names */
            cJSON_AddStringToObject(o, "id", text(o, "Id"));
            cJSON_AddStringToObject(o, "status", text(o, "Status"));
            cJSON_DeleteItemFromObject(o, "Id");
            cJSON_DeleteItemFromObject(o, "Status");
        }
        cJSON_AddItemToObject(d, "assets", items);
        return er_reply(c, (struct answer){d, NULL, NULL, 0}, false);
    }
    if (!strncmp(rest, "/assets/", 8) && !strcmp(method, "DELETE")) {
        struct item *it = find_item(rest + 8);
        if (!it)
            return er_reply(c, (struct answer){NULL, "not_found", "no such asset", 404}, false);
        it->deleted = true, P.deleted++;
        return er_reply(c, (struct answer){cJSON_CreateObject(), NULL, NULL, 0}, false);
    }
    if (!strncmp(rest, "/assets/", 8) && !strcmp(method, "GET")) {
        struct item *it = find_item(rest + 8);
        const char *code, *why;
        cJSON *d;
        if (!it)
            return er_reply(c, (struct answer){NULL, "not_found", "no such asset", 404}, false);
        d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "id", it->id);
        cJSON_AddStringToObject(d, "status", item_status(it, &code, &why));
        if (code)
            cJSON_AddStringToObject(d, "error", why);
        return er_reply(c, (struct answer){d, NULL, NULL, 0}, false);
    }
    return er_reply(c, (struct answer){NULL, "not_found", "no such path", 404}, false);
}

/* YingTu (LaoZhang): {id, uri, status} replies; the uri is what a task uses. */
static cJSON *yt_asset(const struct item *it)
{
    const char *code, *why, *status = item_status(it, &code, &why);
    cJSON *o = cJSON_CreateObject();
    char uri[64];

    snprintf(uri, sizeof uri, "asset://%s", it->id);
    cJSON_AddStringToObject(o, "id", it->alias);
    cJSON_AddStringToObject(o, "uri", uri);
    cJSON_AddStringToObject(o, "status", status);
    if (why)
        cJSON_AddStringToObject(o, "fail_reason", why);
    return o;
}

static enum MHD_Result yt_error(struct MHD_Connection *c, unsigned http, const char *code,
                                const char *message)
{
    cJSON *root = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(root, "error");
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", message);
    return sim_send_json(c, http, root);
}

static enum MHD_Result yt_call(struct MHD_Connection *c, const char *method, const char *rest,
                               const cJSON *body)
{
    struct answer a;
    struct item *it;

    if (!strcmp(rest, "/real-persons/verifications") && !strcmp(method, "POST")) {
        const char *cb = text(body, "callback_url");
        if (!cb || strncmp(cb, "https://", 8))
            return yt_error(c, 400, "invalid_callback_url", "callback_url must be https");
        a = new_session(cb);
        if (!a.result)
            return yt_error(c, a.http, a.code, a.message);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "verification_url", text(a.result, "link"));
        cJSON_AddNumberToObject(o, "expires_in", 1800);
        cJSON_Delete(a.result);
        return sim_send_json(c, 200, o);
    }
    if (!strncmp(rest, "/real-persons/verifications/", 28) && !strcmp(method, "GET")) {
        struct session *s = find_session(rest + 28);
        cJSON *o;
        if (!s)
            return yt_error(c, 404, "not_found", "no such verification");
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "verification_id", s->id);
        cJSON_AddStringToObject(o, "status", expired(s) ? "expired" : s->state == 1 ? "verified"
                                            : s->state == 2 ? "failed" : "pending");
        return sim_send_json(c, 200, o);
    }
    if ((!strcmp(rest, "/real-persons") || !strcmp(rest, "/virtual-humans")) &&
        !strcmp(method, "POST")) {
        const char *group = NULL;
        if (rest[1] == 'r') {
            struct session *s = text(body, "verification_id") ?
                                find_session(text(body, "verification_id")) : NULL;
            if (!s || s->state != 1)
                return yt_error(c, 400, "not_verified", "the verification is not complete");
            group = s->group;
        }
        const char *url = text(body, "image_url");
        if (!url || strncmp(url, "https://", 8))
            return yt_error(c, 400, "invalid_image_url", "one public, unauthenticated HTTPS image");
        a = create_item(group, url, "image");
        if (!a.result)
            return yt_error(c, a.http, a.code, a.message);
        it = find_item(text(a.result, "Id"));
        cJSON_Delete(a.result);
        return sim_send_json(c, 200, yt_asset(it));
    }
    if (!strcmp(rest, "/virtual-humans") && !strcmp(method, "GET")) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToObject(o, "data", aigc_items(true));
        return sim_send_json(c, 200, o);
    }
    if (!strncmp(rest, "/virtual-humans/", 16) && !strcmp(method, "DELETE")) {
        it = find_item(rest + 16);
        if (!it)
            return yt_error(c, 404, "not_found", "no such asset");
        it->deleted = true, P.deleted++;
        return sim_send_json(c, 200, cJSON_CreateObject());
    }
    if ((!strncmp(rest, "/real-persons/", 14) || !strncmp(rest, "/virtual-humans/", 16)) &&
        !strcmp(method, "GET")) {
        it = find_item(strrchr(rest, '/') + 1);
        if (!it)
            return yt_error(c, 404, "not_found", "no such asset");
        return sim_send_json(c, 200, yt_asset(it));
    }
    return yt_error(c, 404, "not_found", "no such path");
}

/* APIYI's asset library (newer pages): presign -> PUT -> ingest -> poll. */
static enum MHD_Result ay_call(struct MHD_Connection *c, const char *method, const char *rest,
                               const cJSON *body)
{
    if (!strcmp(rest, "/uploads") && !strcmp(method, "POST")) {
        const char *name = text(body, "filename"), *type = text(body, "content_type");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(body, "size");
        const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host");
        struct upload *u;
        cJSON *o;
        double bytes = cJSON_IsNumber(size) ? size->valuedouble
                     : cJSON_IsString(size) ? atof(size->valuestring) : -1;
        if (!name || !type || bytes <= 0 || !host || P.nuploads == MAX_ITEMS ||
            strlen(name) > 100 || strchr(name, '/'))
            return yt_error(c, 400, "invalid_request", "filename, content_type and size");
        u = &P.uploads[P.nuploads++];
        snprintf(u->token, sizeof u->token, "up%04d", P.nuploads);
        snprintf(u->name, sizeof u->name, "%s", name);
        snprintf(u->type, sizeof u->type, "%s", type);
        snprintf(u->url, sizeof u->url, "https://files.apiyi.sim.invalid/up%04d/%s", P.nuploads,
                 name);
        u->size = (long long)bytes;
        o = cJSON_CreateObject();
        char put[300];
        snprintf(put, sizeof put, "http://%s/sim-upload/up%04d?signature=sim", host, P.nuploads);
        cJSON_AddStringToObject(o, "upload_url", put);
        cJSON_AddStringToObject(o, "file_url", u->url);
        return sim_send_json(c, 200, o);
    }
    if (!strcmp(rest, "/assets") && !strcmp(method, "POST")) {
        const char *url = text(body, "url");
        struct upload *u = NULL;
        for (int i = 0; url && i < P.nuploads; i++)
            if (!strcmp(P.uploads[i].url, url))
                u = &P.uploads[i];
        if (!u || u->received != u->size || u->size <= 0)
            return yt_error(c, 400, "not_uploaded", "the file was not uploaded (or not whole)");
        struct answer a = create_item(NULL, url, text(body, "type"));
        if (!a.result)
            return yt_error(c, a.http, a.code, a.message);
        struct item *it = find_item(text(a.result, "Id"));
        cJSON_Delete(a.result);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", it->alias);
        cJSON_AddStringToObject(o, "status", "processing");
        return sim_send_json(c, 200, o);
    }
    if (!strncmp(rest, "/assets/", 8) && !strcmp(method, "GET")) {
        struct item *it = find_item(rest + 8);
        const char *code, *why;
        char word[16];
        if (!it)
            return yt_error(c, 404, "not_found", "no such asset");
        cJSON *o = cJSON_CreateObject();
        const char *status = item_status(it, &code, &why);
        memcpy(word, status, strlen(status) + 1);    /* Processing, Active, Failed: < 16 */
        word[0] = (char)(word[0] - 'A' + 'a');          /* this one says it in lower case */
        cJSON_AddStringToObject(o, "id", it->alias);
        cJSON_AddStringToObject(o, "uri", "");
        cJSON_AddStringToObject(o, "status", word);
        return sim_send_json(c, 200, o);
    }
    return yt_error(c, 404, "not_found", "no such path");
}

/* PUT of a presigned upload: no key may come along; type and size as announced. */
static enum MHD_Result ay_put(struct MHD_Connection *c, const char *token, size_t len)
{
    const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
    struct upload *u = NULL;

    for (int i = 0; i < P.nuploads; i++)
        if (!strcmp(P.uploads[i].token, token))
            u = &P.uploads[i];
    if (MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization"))
        P.upload_auth_leaks++;
    if (!u || !type || strcmp(type, u->type) || (long long)len != u->size)
        return yt_error(c, 400, "bad_upload", "not the announced file");
    u->received = (long long)len;
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret = MHD_queue_response(c, 200, r);      /* as a store: no body */
    MHD_destroy_response(r);
    return ret;
}

bool providers_serve(struct MHD_Connection *c, const char *method, const char *url,
                     const char *body, size_t len, enum MHD_Result *ret)
{
    cJSON *json;

    if (P.shape == VOLC) {
        const char *action = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "Action");
        if (strcmp(url, "/") || !action)
            return false;
        pthread_mutex_lock(&P.lock);
        P.calls++;
        if (!signature_ok(c, method, url, body, len)) {
            P.signed_bad++;
            pthread_mutex_unlock(&P.lock);
            *ret = volc_reply(c, action, (struct answer){NULL, "SignatureDoesNotMatch",
                              "the request signature does not match", 401});
            return true;
        }
        P.signed_ok++;
        json = cJSON_ParseWithLength(body ? body : "", len);
        struct answer a = strcmp(method, "POST") || !json ?
            (struct answer){NULL, "InvalidParameter", "a POST with a JSON body", 400} :
            volc_action(action, json);
        pthread_mutex_unlock(&P.lock);
        cJSON_Delete(json);
        *ret = volc_reply(c, action, a);
        return true;
    }
    if (P.shape == AY && !strncmp(url, "/sim-upload/", 12) && !strcmp(method, "PUT")) {
        pthread_mutex_lock(&P.lock);
        P.calls++;
        *ret = ay_put(c, url + 12, len);
        pthread_mutex_unlock(&P.lock);
        return true;
    }
    if ((P.shape == ER && !strncmp(url, ER_PREFIX, strlen(ER_PREFIX))) ||
        (P.shape == YT && !strncmp(url, YT_PREFIX, strlen(YT_PREFIX))) ||
        (P.shape == AY && !strncmp(url, AY_PREFIX, strlen(AY_PREFIX)))) {
        const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
        if (!h || strncmp(h, "Bearer ", 7) || strcmp(h + 7, P.key)) {
            *ret = er_reply(c, (struct answer){NULL, "unauthorized", "bad key", 401}, false);
            return true;
        }
        json = cJSON_ParseWithLength(body ? body : "", len);
        pthread_mutex_lock(&P.lock);
        P.calls++;
        *ret = P.shape == ER ? er_call(c, method, url + strlen(ER_PREFIX), json)
             : P.shape == YT ? yt_call(c, method, url + strlen(YT_PREFIX), json)
                             : ay_call(c, method, url + strlen(AY_PREFIX), json);
        pthread_mutex_unlock(&P.lock);
        cJSON_Delete(json);
        return true;
    }
    return false;
}

enum MHD_Result providers_liveness(struct MHD_Connection *c, const char *body, size_t len)
{
    cJSON *json = cJSON_ParseWithLength(body ? body : "", len), *root = cJSON_CreateObject();
    const cJSON *pass = cJSON_GetObjectItemCaseSensitive(json, "pass");
    struct session *s;
    char url[700];

    pthread_mutex_lock(&P.lock);
    s = text(json, "token") ? find_session(text(json, "token")) : NULL;
    if (s && !expired(s) && s->state == 0 && P.ngroups < MAX_ITEMS) {
        s->state = cJSON_IsFalse(pass) ? 2 : 1;
        if (s->state == 1)
            create_group(true, s->group);
        if (P.shape == YT)          /* the verification comes back on the callback */
            snprintf(url, sizeof url, "%s%sverification_id=%s&status=%s", s->callback,
                     strchr(s->callback, '?') ? "&" : "?", s->id,
                     s->state == 1 ? "success" : "failed");
        else
            snprintf(url, sizeof url, "%s%sbytedToken=%s&resultCode=%s", s->callback,
                     strchr(s->callback, '?') ? "&" : "?", s->token,
                     s->state == 1 ? "10000" : "40001");
        cJSON_AddStringToObject(root, "callback", url);
    } else {
        cJSON_AddStringToObject(root, "error", s ? "the session is over" : "no such session");
    }
    pthread_mutex_unlock(&P.lock);
    cJSON_Delete(json);
    return sim_send_json(c, 200, root);
}
