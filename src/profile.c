/* profile.c — loading and checking asset profiles; see profile.h. Reads a
 * profile's structure, and knows no endpoint path, field name or status
 * word of any asset API. */
#include "profile.h"

#include "names.h"
#include "template.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct profile {
    cJSON *root;
    const cJSON *kinds, *vars, *errors;
    struct profile_auth auth;
    const char *base_url;
};

static const char *const phase_names[] = {"pending", "verifying", "active", "failed"};

static const cJSON *get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const char *str(const cJSON *o, const char *name)
{
    const cJSON *v = get(o, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *kind_of(const profile *p, const char *kind)
{
    return get(p->kinds, kind);
}

/* ---- checking ---- */

struct checker {
    char *why;
    size_t why_len;
    const char *origin;
};

static int bad(struct checker *c, const char *where, const char *what)
{
    snprintf(c->why, c->why_len, "assets_profile %s: %s: %s", c->origin, where, what);
    return -EINVAL;
}

/* An object whose members are all strings (or absent). */
static bool strings_object(const cJSON *o)
{
    const cJSON *v;

    if (!o)
        return true;
    if (!cJSON_IsObject(o))
        return false;
    cJSON_ArrayForEach(v, o)
        if (!cJSON_IsString(v))
            return false;
    return true;
}

/* A string, or a list of strings (or absent). */
static bool names_value(const cJSON *v)
{
    const cJSON *e;

    if (!v || cJSON_IsString(v))
        return true;
    if (!cJSON_IsArray(v))
        return false;
    cJSON_ArrayForEach(e, v)
        if (!cJSON_IsString(e))
            return false;
    return true;
}

/* "success": every value it names is captured, with a word or a list of words. */
static bool success_ok(const cJSON *success, const cJSON *capture)
{
    const cJSON *v;

    if (!success)
        return true;
    if (!cJSON_IsObject(success))
        return false;
    cJSON_ArrayForEach(v, success)
        if (!get(capture, v->string) || !names_value(v))
            return false;
    return true;
}

static int check_errors(struct checker *c, const char *where, const cJSON *errors)
{
    if (errors && (!strings_object(errors) || !str(errors, "code")))
        return bad(c, where, "\"errors\" needs \"code\" (a reply path) and may have \"message\"");
    return 0;
}

static int check_step(struct checker *c, const char *where, const cJSON *step, bool status)
{
    const cJSON *human = get(step, "human");

    if (!cJSON_IsObject(step))
        return bad(c, where, "a step is an object");
    if (!names_value(get(step, "skip_if")) || !names_value(get(step, "until")) ||
        !names_value(get(step, "wait")))
        return bad(c, where, "\"skip_if\", \"until\" and \"wait\" name values");
    if (human) {
        const cJSON *cb = get(human, "callback"), *ttl = get(human, "expires_in");
        if (status || !str(human, "link"))
            return bad(c, where, "a human step needs \"link\" (and is no status step)");
        if (ttl && (!cJSON_IsNumber(ttl) || ttl->valuedouble <= 0 || ttl->valuedouble > 86400 * 30))
            return bad(c, where, "\"expires_in\" is seconds, 1 .. 30 days");
        if (cb && (!cJSON_IsObject(cb) || !strings_object(get(cb, "capture")) ||
                   !success_ok(get(cb, "success"), get(cb, "capture"))))
            return bad(c, where, "\"callback\" is {\"capture\": {VALUE: QUERY_PARAMETER}, "
                                 "\"success\": {VALUE: [WORDS]}} (each VALUE captured)");
        return 0;
    }
    if (get(step, "wait"))
        return status ? bad(c, where, "a status step makes a call") : 0;
    if (!str(step, "method") || (!str(step, "url") && (!str(step, "path") ||
                                                       str(step, "path")[0] != '/')))
        return bad(c, where, "a call needs \"method\" and a \"path\" starting with / (or "
                             "a whole \"url\" a reply gave)");
    if (str(step, "url") && !cJSON_IsFalse(get(step, "auth")))
        return bad(c, where, "a whole \"url\" (a host a reply named) goes without "
                             "credentials: say \"auth\": false");
    if (!strings_object(get(step, "query")) || !strings_object(get(step, "capture")))
        return bad(c, where, "\"query\" and \"capture\" are objects of strings");
    if (status && !str(step, "status"))
        return bad(c, where, "the status step needs \"status\" (where the word sits)");
    if (get(step, "pending_codes") && !names_value(get(step, "pending_codes")))
        return bad(c, where, "\"pending_codes\" is a list of error codes");
    return check_errors(c, where, get(step, "errors"));
}

static int check_steps(struct checker *c, const char *kind, const char *op, const cJSON *steps)
{
    char where[300];
    int i = 0;
    const cJSON *step;

    snprintf(where, sizeof where, "kinds.%s.%s", kind, op);
    if (!cJSON_IsArray(steps))
        return bad(c, where, "a list of steps");
    cJSON_ArrayForEach(step, steps) {
        snprintf(where, sizeof where, "kinds.%s.%s[%d]", kind, op, i++);
        if (check_step(c, where, step, false))
            return -EINVAL;
    }
    return 0;
}

static int check_auth(struct checker *c, const cJSON *auth, struct profile_auth *out)
{
    static const char *const schemes[] = {"video_key", "bearer", "header", "hmac-sha256", NULL};
    const char *scheme = auth ? str(auth, "scheme") : "video_key";
    int i;

    for (i = 0; scheme && schemes[i] && strcmp(scheme, schemes[i]); i++)
        ;
    if (!scheme || !schemes[i])
        return bad(c, "auth", "\"scheme\" is video_key, bearer, header or hmac-sha256");
    if (!strings_object(auth))
        return bad(c, "auth", "an object of strings");
    *out = (struct profile_auth){
        .scheme = (enum profile_auth_scheme)i, .key_env = str(auth, "key_env"),
        .access_key_env = str(auth, "access_key_env"), .secret_key_env = str(auth, "secret_key_env"),
        .header = str(auth, "header"), .prefix = str(auth, "prefix"),
        .region = str(auth, "region"), .service = str(auth, "service"),
    };
    if (out->scheme == AUTH_HEADER && !out->header)
        return bad(c, "auth", "the header scheme needs \"header\"");
    if (out->scheme == AUTH_HMAC_SHA256 && (!out->region || !out->service))
        return bad(c, "auth", "hmac-sha256 needs \"region\" and \"service\"");
    return 0;
}

static int check_kind(struct checker *c, const cJSON *kind)
{
    static const char *const materials[] = {"none", "data", "url", NULL};
    const char *material = str(kind, "material"), *name = kind->string;
    const cJSON *words = get(kind, "status_words"), *ref = get(kind, "reference");
    const cJSON *status = get(kind, "status");
    char where[300];

    snprintf(where, sizeof where, "kinds.%s", name);
    /* A kind is a directory of assets/: the names rules of a task id. */
    if (!names_task_id_ok(name) || name[0] == '.')
        return bad(c, where, "a kind name must be a plain file name (no '/', no control "
                             "bytes, not starting with '.')");
    if (!cJSON_IsObject(kind))
        return bad(c, where, "an object");
    if (material) {
        int i;
        for (i = 0; materials[i] && strcmp(material, materials[i]); i++)
            ;
        if (!materials[i])
            return bad(c, where, "\"material\" is none, data or url");
    }
    if (!cJSON_IsObject(words) || !cJSON_IsObject(ref))
        return bad(c, where, "needs \"status_words\" and \"reference\"");
    if (!get(kind, "create") && !get(kind, "select"))
        return bad(c, where, "needs \"create\" or \"select\" (or both)");
    if ((get(kind, "create") && check_steps(c, name, "create", get(kind, "create"))) ||
        (get(kind, "select") && check_steps(c, name, "select", get(kind, "select"))))
        return -EINVAL;
    if (get(kind, "delete")) {
        const cJSON *step;
        if (check_steps(c, name, "delete", get(kind, "delete")))
            return -EINVAL;
        snprintf(where, sizeof where, "kinds.%s.delete", name);
        cJSON_ArrayForEach(step, get(kind, "delete"))
            if (!str(step, "method"))
                return bad(c, where, "delete steps are calls (no person, no wait)");
    }
    if (get(kind, "upload")) {
        const cJSON *up = get(kind, "upload"), *step;
        snprintf(where, sizeof where, "kinds.%s.upload", name);
        if (!cJSON_IsObject(up) || !str(up, "url") || check_steps(c, name, "upload.steps",
                                                                  get(up, "steps")))
            return cJSON_IsObject(up) && str(up, "url") ? -EINVAL
                   : bad(c, where, "{\"steps\": [calls], \"url\": the value that is the file's URL}");
        cJSON_ArrayForEach(step, get(up, "steps"))
            if (!str(step, "method"))
                return bad(c, where, "upload steps are calls");
    }
    if (get(kind, "list")) {
        const cJSON *list = get(kind, "list");
        snprintf(where, sizeof where, "kinds.%s.list", name);
        if (check_step(c, where, list, false) || !str(list, "method"))
            return get(list, "method") ? -EINVAL : bad(c, where, "the list step is a call");
        if (!str(list, "items") || !str(list, "item_id"))
            return bad(c, where, "needs \"items\" (where the list sits) and \"item_id\"");
    }
    snprintf(where, sizeof where, "kinds.%s.status", name);
    if (!status || check_step(c, where, status, true))
        return status ? -EINVAL : bad(c, where, "required: the call that tells the state");
    if (!strings_object(get(kind, "media_names")) || !names_value(get(kind, "reuse")))
        return bad(c, where, "\"media_names\" is an object of strings, \"reuse\" a list of names");
    return 0;
}

profile *profile_parse(const char *text, size_t len, const char *origin, char *why,
                       size_t why_len)
{
    struct checker c = {why, why_len, origin};
    profile *p = calloc(1, sizeof *p);
    const cJSON *kind;

    if (!p || !(p->root = cJSON_ParseWithLength(text, len)) || !cJSON_IsObject(p->root)) {
        snprintf(why, why_len, "assets_profile %s: not a JSON object", origin);
        goto fail;
    }
    p->kinds = get(p->root, "kinds");
    p->vars = get(p->root, "vars");
    p->errors = get(p->root, "errors");
    p->base_url = str(p->root, "base_url");
    if (!cJSON_IsObject(p->kinds) || !p->kinds->child) {
        bad(&c, "kinds", "required, an object of asset kinds");
        goto fail;
    }
    if (p->base_url && strncmp(p->base_url, "http://", 7) && strncmp(p->base_url, "https://", 8)) {
        bad(&c, "base_url", "an http:// or https:// URL");
        goto fail;
    }
    if (!strings_object(p->vars)) {
        bad(&c, "vars", "an object of strings");
        goto fail;
    }
    if (check_errors(&c, "errors", p->errors) || check_auth(&c, get(p->root, "auth"), &p->auth))
        goto fail;
    cJSON_ArrayForEach(kind, p->kinds)
        if (check_kind(&c, kind))
            goto fail;
    if (!p->vars && !(p->vars = cJSON_AddObjectToObject(p->root, "vars")))
        goto fail;
    return p;
fail:
    profile_free(p);
    return NULL;
}

profile *profile_load(const char *path, char *why, size_t why_len)
{
    FILE *f = fopen(path, "r");
    char *text = NULL;
    size_t len = 0;
    profile *p = NULL;

    if (!f) {
        snprintf(why, why_len, "assets_profile %s: %s", path, strerror(errno));
        return NULL;
    }
    /* One byte more than the bound tells a file that is too big. */
    if (!(text = malloc(PROFILE_MAX_BYTES + 1))) {
        snprintf(why, why_len, "assets_profile %s: out of memory", path);
    } else if ((len = fread(text, 1, PROFILE_MAX_BYTES + 1, f)) > PROFILE_MAX_BYTES) {
        snprintf(why, why_len, "assets_profile %s: larger than %u bytes", path,
                 PROFILE_MAX_BYTES);
    } else if (ferror(f)) {
        snprintf(why, why_len, "assets_profile %s: %s", path, strerror(errno));
    } else {
        p = profile_parse(text, len, path, why, why_len);
    }
    fclose(f);
    free(text);
    return p;
}

void profile_free(profile *p)
{
    if (!p)
        return;
    cJSON_Delete(p->root);
    free(p);
}

/* ---- reading ---- */

const char *profile_kind(const profile *p, int i)
{
    const cJSON *k = p->kinds->child;
    while (k && i--)
        k = k->next;
    return k ? k->string : NULL;
}

bool profile_has_kind(const profile *p, const char *kind)
{
    return kind_of(p, kind) != NULL;
}

bool profile_kind_has(const profile *p, const char *kind, const char *operation)
{
    return get(kind_of(p, kind), operation) != NULL;
}

enum profile_material profile_kind_material(const profile *p, const char *kind)
{
    const char *m = str(kind_of(p, kind), "material");
    return !m || !strcmp(m, "none") ? MATERIAL_NONE : !strcmp(m, "url") ? MATERIAL_URL
                                                                         : MATERIAL_DATA;
}

bool profile_kind_has_callback(const profile *p, const char *kind)
{
    const cJSON *step;

    cJSON_ArrayForEach(step, get(kind_of(p, kind), "create"))
        if (get(get(step, "human"), "callback"))
            return true;
    return false;
}

const char *profile_base_url(const profile *p)
{
    return p->base_url;
}

void profile_auth(const profile *p, struct profile_auth *out)
{
    *out = p->auth;
}

const cJSON *profile_vars(const profile *p)
{
    return p->vars;
}

const cJSON *profile_errors(const profile *p, const cJSON *step)
{
    const cJSON *own = get(step, "errors");
    return own ? own : p->errors;
}

const cJSON *profile_steps(const profile *p, const char *kind, const char *operation)
{
    const cJSON *ops = kind_of(p, kind);

    if (!strcmp(operation, "status"))
        return get(ops, "status") ? get(ops, "status") : NULL;
    return get(ops, operation);
}

const cJSON *profile_upload(const profile *p, const char *kind)
{
    return get(kind_of(p, kind), "upload");
}

const cJSON *profile_reuse(const profile *p, const char *kind)
{
    return get(kind_of(p, kind), "reuse");
}

enum asset_phase profile_phase(const profile *p, const char *kind, const char *word)
{
    const cJSON *words = get(kind_of(p, kind), "status_words");

    for (int i = 0; word && i < 4; i++) {
        const cJSON *list = get(words, phase_names[i]), *w;
        cJSON_ArrayForEach(w, list) {
            char *text = template_scalar(w);
            bool same = text && !strcasecmp(text, word);
            free(text);
            if (same)
                return (enum asset_phase)i;
        }
    }
    return PHASE_UNKNOWN;
}

const char *profile_media_name(const profile *p, const char *kind, const char *media)
{
    const char *name = str(get(kind_of(p, kind), "media_names"), media);
    return name ? name : media;
}

cJSON *profile_reference(const profile *p, const char *kind, const char *media,
                         const cJSON *values, char *why, size_t why_len)
{
    const cJSON *ref = get(kind_of(p, kind), "reference");
    const cJSON *per = get(ref, media ? media : "image");

    /* {"image": {...}, "video": {...}} or one template for every media type. */
    if (get(ref, "image") || get(ref, "video") || get(ref, "audio"))
        ref = per ? per : get(ref, "image");
    if (!ref) {
        snprintf(why, why_len, "the profile has no %s reference for kind %s", media, kind);
        return NULL;
    }
    return template_expand(ref, values, why, why_len);
}
