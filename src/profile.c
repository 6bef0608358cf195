/* profile.c — generic loader and template engine for asset profiles; see
 * profile.h. The only file under src/ that reads a profile's structure, and
 * it knows no endpoint path or field name of any asset API. */
#include "profile.h"

#include "names.h"
#include "text.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct profile {
    cJSON *root;
    const cJSON *kinds;
};

static const char *const phase_names[] = {"pending", "verifying", "active", "failed"};

static const cJSON *kind_of(const profile *p, const char *kind)
{
    return cJSON_GetObjectItemCaseSensitive(p->kinds, kind);
}

static int check_operation(const cJSON *op, const char *kind, const char *name, char *why,
                           size_t why_len)
{
    const cJSON *method = cJSON_GetObjectItemCaseSensitive(op, "method");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(op, "path");

    if (!cJSON_IsString(method) || !cJSON_IsString(path) || path->valuestring[0] != '/') {
        snprintf(why, why_len, "profile: kinds.%s.%s needs \"method\" and a \"path\" starting "
                 "with /", kind, name);
        return -EINVAL;
    }
    return 0;
}

profile *profile_parse(const char *text, size_t len, const char *origin, char *why,
                       size_t why_len)
{
    profile *p = calloc(1, sizeof *p);
    const cJSON *kind;

    if (!p || !(p->root = cJSON_ParseWithLength(text, len))) {
        snprintf(why, why_len, "assets_profile %s: not valid JSON", origin);
        goto fail;
    }
    p->kinds = cJSON_GetObjectItemCaseSensitive(p->root, "kinds");
    if (!cJSON_IsObject(p->kinds) || !p->kinds->child) {
        snprintf(why, why_len, "assets_profile %s: no \"kinds\"", origin);
        goto fail;
    }
    cJSON_ArrayForEach(kind, p->kinds) {
        const cJSON *get = cJSON_GetObjectItemCaseSensitive(kind, "get");
        const cJSON *words = cJSON_GetObjectItemCaseSensitive(kind, "status_words");
        const cJSON *ref = cJSON_GetObjectItemCaseSensitive(kind, "reference");
        const cJSON *create = cJSON_GetObjectItemCaseSensitive(kind, "create");
        /* A kind is a directory of assets/: the names rules of a task id. */
        if (!names_task_id_ok(kind->string) || kind->string[0] == '.') {
            snprintf(why, why_len, "assets_profile %s: a kind name must be a plain file name "
                     "(no '/', no control bytes, not starting with '.')", origin);
            goto fail;
        }
        if (check_operation(get, kind->string, "get", why, why_len) ||
            (create && check_operation(create, kind->string, "create", why, why_len)))
            goto fail;
        if (!cJSON_IsObject(words) || !cJSON_IsObject(ref)) {
            snprintf(why, why_len, "assets_profile: kinds.%s needs \"status_words\" and "
                     "\"reference\"", kind->string);
            goto fail;
        }
    }
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
    return cJSON_GetObjectItemCaseSensitive(kind_of(p, kind), operation) != NULL;
}

bool profile_kind_takes_source(const profile *p, const char *kind)
{
    return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(kind_of(p, kind), "source"));
}

/* Replaces {name}, {id}, {kind} inside a string. */
static char *substitute(const char *s, const struct profile_vars *v)
{
    size_t cap = strlen(s) + 1, len = 0;
    char *out = malloc(cap);

    for (; out && *s; ) {
        const char *value = NULL;
        size_t skip = 0;
        if (!strncmp(s, "{name}", 6)) value = v->name, skip = 6;
        else if (!strncmp(s, "{id}", 4)) value = v->id, skip = 4;
        else if (!strncmp(s, "{kind}", 6)) value = v->kind, skip = 6;
        size_t add = skip ? strlen(value ? value : "") : 1;
        if (len + add + 1 > cap && !(out = realloc(out, cap = (len + add + 1) * 2)))
            return NULL;
        if (skip) {
            memcpy(out + len, value ? value : "", add);
            s += skip;
        } else {
            out[len] = *s++;
        }
        len += add;
    }
    if (out)
        out[len] = '\0';
    return out;
}

/* A copy of template `t` with every placeholder filled in. */
static cJSON *expand(const cJSON *t, const struct profile_vars *v)
{
    cJSON *out, *child;

    if (cJSON_IsString(t)) {
        char *s;
        if (!strcmp(t->valuestring, "{authorization}") && v->authorization)
            return cJSON_Duplicate(v->authorization, 1);
        if (!strcmp(t->valuestring, "{sources}") && v->sources)
            return cJSON_Duplicate(v->sources, 1);
        s = substitute(t->valuestring, v);
        out = cJSON_CreateString(s ? s : "");
        free(s);
        return out;
    }
    if (!cJSON_IsObject(t) && !cJSON_IsArray(t))
        return cJSON_Duplicate(t, 1);
    out = cJSON_IsObject(t) ? cJSON_CreateObject() : cJSON_CreateArray();
    for (child = t->child; child; child = child->next) {
        cJSON *e = expand(child, v);
        if (cJSON_IsObject(t))
            cJSON_AddItemToObject(out, child->string, e);
        else
            cJSON_AddItemToArray(out, e);
    }
    return out;
}

int profile_request(const profile *p, const char *kind, const char *operation,
                    const struct profile_vars *v, const char **method, char **path,
                    char **body)
{
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(kind_of(p, kind), operation);
    const cJSON *tmpl;
    cJSON *b;

    *path = *body = NULL;
    if (!op)
        return -ENOENT;
    *method = cJSON_GetObjectItemCaseSensitive(op, "method")->valuestring;
    *path = substitute(cJSON_GetObjectItemCaseSensitive(op, "path")->valuestring, v);
    if ((tmpl = cJSON_GetObjectItemCaseSensitive(op, "body")) && (b = expand(tmpl, v))) {
        *body = cJSON_PrintUnformatted(b);
        cJSON_Delete(b);
    }
    return *path ? 0 : -ENOMEM;
}

/* The value at a dotted path ("outer.inner"), or NULL. */
static const cJSON *at_path(const cJSON *root, const char *dotted)
{
    char *copy = dotted ? strdup(dotted) : NULL, *save = NULL;
    const cJSON *node = root;

    if (!copy)
        return NULL;
    for (char *part = strtok_r(copy, ".", &save); part && node;
         part = strtok_r(NULL, ".", &save))
        node = cJSON_GetObjectItemCaseSensitive(node, part);
    free(copy);
    return node;
}

static char *string_at(const cJSON *op, const char *field, const cJSON *reply)
{
    const cJSON *where = cJSON_GetObjectItemCaseSensitive(op, field);
    const cJSON *value = cJSON_IsString(where) ? at_path(reply, where->valuestring) : NULL;

    if (cJSON_IsString(value))
        return strdup(value->valuestring);
    if (cJSON_IsNumber(value)) {
        char *s = NULL;
        return asprintf(&s, "%.0f", value->valuedouble) < 0 ? NULL : s;
    }
    return NULL;
}

void profile_read_reply(const profile *p, const char *kind, const char *operation,
                        const cJSON *reply, char **id, char **status, char **reason)
{
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(kind_of(p, kind), operation);

    *id = string_at(op, "id", reply);
    *status = string_at(op, "status", reply);
    *reason = string_at(op, "reason", reply);
    if (*reason)
        text_one_line(*reason, TEXT_MAX_LINE);  /* shown in the asset's files */
}

enum asset_phase profile_phase(const profile *p, const char *kind, const char *status)
{
    const cJSON *words = cJSON_GetObjectItemCaseSensitive(kind_of(p, kind), "status_words");

    for (int i = 0; status && i < 4; i++) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(words, phase_names[i]), *w;
        cJSON_ArrayForEach(w, list)
            if (cJSON_IsString(w) && !strcmp(w->valuestring, status))
                return (enum asset_phase)i;
    }
    return PHASE_UNKNOWN;
}

cJSON *profile_reference(const profile *p, const char *kind, const char *id)
{
    struct profile_vars v = { .kind = kind, .id = id };
    return expand(cJSON_GetObjectItemCaseSensitive(kind_of(p, kind), "reference"), &v);
}
