/* assets.c — asset records, their durable state, sending them, the
 * verification poller and the gate; see assets.h (assets_tree.c has the
 * steps as file operations). Knows no endpoint path, field name or status
 * word: all of those come through profile.h. */
#include "assets_internal.h"
#include "clock.h"
#include "names.h"
#include "log.h"
#include "strmap.h"
#include "text.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

void assets_set_str(char **field, const char *value)
{
    free(*field);
    *field = dup_or_null(value);
}

void assets_free_record(struct asset *r)
{
    free(r->kind); free(r->name); free(r->state); free(r->asset_id); free(r->authorization);
    free(r->reason); free(r->error); free(r->auth.data); free(r->select.data);
    free(r->callback.data); free(r->reuse.data); free(r->op); free(r->link);
    cJSON_Delete(r->vars);
    free(r);
}

static char *dup_secret(const char *s, bool *failed)
{
    char *copy = s ? strdup(s) : NULL;
    if (s && !copy)
        *failed = true;
    return copy;
}

static void free_secret(char *s)
{
    if (s)
        explicit_bzero(s, strlen(s));
    free(s);
}

assets *assets_new(profile *p, store *st, api *api, const char *base_url,
                   const struct assets_credentials *creds, const char *state_dir,
                   double poll_interval)
{
    bool failed = false;
    assets *a = calloc(1, sizeof *a);

    if (!a)
        return NULL;
    a->p = p;
    a->store = st;
    a->api = api;
    a->poll_interval = poll_interval;
    a->base_url = strdup(base_url);
    a->creds.key = dup_secret(creds ? creds->key : NULL, &failed);
    a->creds.access_key = dup_secret(creds ? creds->access_key : NULL, &failed);
    a->creds.secret_key = dup_secret(creds ? creds->secret_key : NULL, &failed);
    if (asprintf(&a->dir, "%s/assets", state_dir) < 0)
        a->dir = NULL;
    a->by_key = strmap_new();
    if (!a->base_url || !a->dir || !a->by_key || failed) {
        free(a->base_url); free(a->dir); strmap_free(a->by_key);
        free_secret(a->creds.key); free_secret(a->creds.access_key);
        free_secret(a->creds.secret_key); free(a);
        return NULL;
    }
    for (int i = 0; p && profile_kind(p, i); i++)
        if (profile_kind_has(p, profile_kind(p, i), "list")) {
            struct library *grown = realloc(a->libraries, (size_t)(a->nlibraries + 1) *
                                                          sizeof *grown);
            if (!grown)
                break;
            a->libraries = grown;
            a->libraries[a->nlibraries++] = (struct library){.kind = profile_kind(p, i)};
        }
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    return a;
}

static void free_entries(struct library_entry *e, int n)
{
    for (int i = 0; i < n; i++) {
        free(e[i].id);
        free(e[i].state);
    }
    free(e);
}

struct library *assets_library(assets *a, const char *kind)
{
    for (int i = 0; i < a->nlibraries; i++)
        if (!strcmp(a->libraries[i].kind, kind))
            return &a->libraries[i];
    return NULL;
}

/* Lists the libraries that are due: at start, every ASSETS_LIBRARY_REFRESH
 * seconds, and soon after an ls of a stale one. Without the lock. */
static void refresh_libraries(assets *a)
{
    for (int i = 0; i < a->nlibraries && a->running; i++) {
        struct library *l = &a->libraries[i];
        struct library_entry *e;
        char why[512] = "";
        double now = clock_mono();
        bool due;
        unsigned deletes;
        int n, rc;

        pthread_mutex_lock(&a->lock);
        deletes = l->deletes;
        due = !l->listed_at || now - l->listed_at >= ASSETS_LIBRARY_REFRESH ||
              (l->wanted && now - l->listed_at >= a->poll_interval);
        l->wanted = false;
        pthread_mutex_unlock(&a->lock);
        if (!due)
            continue;
        rc = assets_flow_list(a, l->kind, &e, &n, why, sizeof why);
        pthread_mutex_lock(&a->lock);
        l->listed_at = clock_mono();    /* a failure waits its turn too */
        if (!rc && l->deletes != deletes) {
            /* An entry was deleted while the list was under way: the list
             * may still hold it. Dropped; the next round lists again. */
            free_entries(e, n);
            l->listed_at = 0;
        } else if (!rc) {
            free_entries(l->entries, l->n);
            l->entries = e;
            l->n = n;
        }
        pthread_mutex_unlock(&a->lock);
        if (rc)
            log_info("assets %s: the library cannot be listed: %s", l->kind, why);
    }
}

static void free_cb(const char *key, void *value, void *arg)
{
    (void)key; (void)arg;
    assets_free_record(value);
}

void assets_free(assets *a)
{
    if (!a)
        return;
    assets_stop(a);
    strmap_each(a->by_key, free_cb, NULL);
    strmap_free(a->by_key);
    for (int i = 0; i < a->nlibraries; i++)
        free_entries(a->libraries[i].entries, a->libraries[i].n);
    free(a->libraries);
    profile_free(a->p);
    free(a->base_url);
    free_secret(a->creds.key);
    free_secret(a->creds.access_key);
    free_secret(a->creds.secret_key);
    free(a->dir);
    pthread_cond_destroy(&a->wake);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

void assets_set_ready_hook(assets *a, void (*fn)(void *arg), void *arg)
{
    a->on_ready = fn;
    a->on_ready_arg = arg;
}

/* Where the steps stand, as JSON for the store (malloc'd), or NULL. */
static char *flow_text(const struct asset *r)
{
    cJSON *o = cJSON_CreateObject();
    char *text;

    if (!o)
        return NULL;
    if (r->op)
        cJSON_AddStringToObject(o, "op", r->op);
    cJSON_AddNumberToObject(o, "step", r->step);
    if (r->vars)
        cJSON_AddItemToObject(o, "vars", cJSON_Duplicate(r->vars, 1));
    if (r->link)
        cJSON_AddStringToObject(o, "link", r->link);
    cJSON_AddNumberToObject(o, "link_expires", (double)r->link_expires);
    text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return text;
}

static void restore_flow(struct asset *r, const char *text)
{
    cJSON *o = text ? cJSON_Parse(text) : NULL;
    const cJSON *op = cJSON_GetObjectItemCaseSensitive(o, "op");
    const cJSON *step = cJSON_GetObjectItemCaseSensitive(o, "step");
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(o, "vars");
    const cJSON *link = cJSON_GetObjectItemCaseSensitive(o, "link");
    const cJSON *expires = cJSON_GetObjectItemCaseSensitive(o, "link_expires");

    /* Only an operation whose steps run; anything else in the row is ignored. */
    assets_set_str(&r->op, cJSON_IsString(op) && (!strcmp(op->valuestring, "create") ||
                                                  !strcmp(op->valuestring, "select"))
                           ? op->valuestring : NULL);
    r->step = cJSON_IsNumber(step) && step->valuedouble >= 0 && step->valuedouble < 1000
              ? (int)step->valuedouble : 0;
    r->vars = cJSON_IsObject(vars) ? cJSON_Duplicate(vars, 1) : NULL;
    assets_set_str(&r->link, cJSON_IsString(link) ? link->valuestring : NULL);
    r->link_expires = cJSON_IsNumber(expires) && expires->valuedouble > 0 &&
                      expires->valuedouble < 1e11 ? (long long)expires->valuedouble : 0;
    cJSON_Delete(o);
}

/* Saves a record. Lock held (the row is copied by SQLite). */
void assets_save(assets *a, const struct asset *r)
{
    char *flow = flow_text(r);
    struct stored_asset s = {r->kind, r->name, r->state, r->asset_id, r->authorization,
                             r->reason, flow, r->created_at};
    if (store_asset_put(a->store, &s))
        log_error("asset %s/%s: cannot save its state", r->kind, r->name);
    free(flow);
}

void assets_set_state(assets *a, struct asset *r, const char *state, const char *reason)
{
    assets_set_str(&r->state, state);
    assets_set_str(&r->reason, reason);
    assets_save(a, r);
}

struct asset *assets_add_record(assets *a, const char *kind, const char *name)
{
    struct asset *r = calloc(1, sizeof *r);
    char *key = NULL;

    if (!r || asprintf(&key, "%s/%s", kind, name) < 0) {
        free(r);
        return NULL;
    }
    r->kind = strdup(kind);
    r->name = strdup(name);
    r->state = strdup("draft");
    r->created_at = time(NULL);
    if (!r->kind || !r->name || !r->state || strmap_put(a->by_key, key, r)) {
        assets_free_record(r);
        r = NULL;
    }
    free(key);
    return r;
}

static void restore_one(const struct stored_asset *s, void *arg)
{
    assets *a = arg;
    struct asset *r;

    if (!a->p || !profile_has_kind(a->p, s->kind) || !(r = assets_add_record(a, s->kind, s->name)))
        return;
    assets_set_str(&r->state, s->state);
    assets_set_str(&r->asset_id, s->asset_id);
    assets_set_str(&r->authorization, s->authorization);
    assets_set_str(&r->reason, s->reason);
    restore_flow(r, s->flow);
    r->created_at = s->created_at;
}

int assets_restore(assets *a)
{
    return store_assets_load(a->store, restore_one, a);
}

char *assets_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long n;

    if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && (size_t)n <= MAX_SOURCE &&
        !fseek(f, 0, SEEK_SET) && (data = malloc((size_t)n + 1)) &&
        fread(data, 1, (size_t)n, f) == (size_t)n) {
        *len = (size_t)n;
    } else {
        free(data);
        data = NULL;
    }
    if (f)
        fclose(f);
    return data;
}

char *assets_data_url(const char *path)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const char *mime = assets_mime_of(path);
    size_t bytes;
    char *url = NULL, *data = assets_read_file(path, &bytes);
    long n = (long)bytes;

    if (!data)
        return NULL;
    size_t head = strlen(mime) + 14, len = head + 4 * (((size_t)n + 2) / 3) + 1;
    if ((url = malloc(len))) {
        char *o = url + snprintf(url, len, "data:%s;base64,", mime);
        for (long i = 0; i < n; i += 3) {
            unsigned v = (unsigned char)data[i] << 16;
            if (i + 1 < n) v |= (unsigned char)data[i + 1] << 8;
            if (i + 2 < n) v |= (unsigned char)data[i + 2];
            *o++ = b64[v >> 18 & 63];
            *o++ = b64[v >> 12 & 63];
            *o++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
            *o++ = i + 2 < n ? b64[v & 63] : '=';
        }
        *o = '\0';
    }
    free(data);
    return url;
}

/* Calls fn(path) for each file in `dir` (not dot files) until it returns true. */
static bool each_source(const char *dir, bool (*fn)(const char *path, void *arg), void *arg)
{
    DIR *d = dir ? opendir(dir) : NULL;
    bool stop = false;

    for (struct dirent *e; !stop && d && (e = readdir(d)); ) {
        char *path = NULL;
        if (e->d_name[0] == '.' || asprintf(&path, "%s/%s", dir, e->d_name) < 0)
            continue;
        stop = fn(path, arg);
        free(path);
    }
    if (d)
        closedir(d);
    return stop;
}

char *assets_source_dir(assets *a, const struct asset *r)
{
    char *path = NULL;
    return asprintf(&path, "%s/%s/%s/source", a->dir, r->kind, r->name) < 0 ? NULL : path;
}

char *assets_source_file(assets *a, const struct asset *r, const char *file)
{
    char *dir = assets_source_dir(a, r), *path = NULL;
    if (dir && (!names_request_name_ok(file) || asprintf(&path, "%s/%s", dir, file) < 0))
        path = NULL;
    free(dir);
    return path;
}

/* ---- the verification poller ---- */

struct due {
    char **keys;
    size_t n, cap;
};

static void collect_waiting(const char *key, void *value, void *arg)
{
    struct due *d = arg;
    struct asset *r = value;

    if ((r->asset_id || r->op) && (!strcmp(r->state, "pending") || !strcmp(r->state, "verifying")) &&
        d->n < d->cap && (d->keys[d->n] = strdup(key)))
        d->n++;
}

static void *poller_main(void *arg)
{
    assets *a = arg;

    pthread_mutex_lock(&a->lock);
    while (a->running) {
        struct due d = {0};
        struct timespec until;
        d.cap = strmap_count(a->by_key);
        d.keys = calloc(d.cap + 1, sizeof *d.keys);
        if (d.keys)
            strmap_each(a->by_key, collect_waiting, &d);
        pthread_mutex_unlock(&a->lock);
        refresh_libraries(a);
        for (size_t i = 0; i < d.n; i++) {
            if (a->running && assets_flow_poll(a, d.keys[i]) && a->on_ready)
                a->on_ready(a->on_ready_arg);
            free(d.keys[i]);
        }
        free(d.keys);
        pthread_mutex_lock(&a->lock);
        clock_deadline(&until, a->poll_interval);
        if (a->running)
            pthread_cond_timedwait(&a->wake, &a->lock, &until);
    }
    pthread_mutex_unlock(&a->lock);
    return NULL;
}

int assets_start(assets *a)
{
    int rc;

    if (!a->p)
        return 0;
    a->running = true;
    if ((rc = pthread_create(&a->thread, NULL, poller_main, a)))
        return -rc;
    a->started = true;
    return 0;
}

void assets_stop(assets *a)
{
    if (!a->started)
        return;
    pthread_mutex_lock(&a->lock);
    a->running = false;
    pthread_cond_broadcast(&a->wake);
    pthread_mutex_unlock(&a->lock);
    pthread_join(a->thread, NULL);
    a->started = false;
}

/* ---- the gate ---- */

/* The record a request names: "KIND/NAME", or a NAME unique across kinds. Lock held. */
static struct asset *find_named(assets *a, const char *ref)
{
    struct asset *found = NULL;

    if (strchr(ref, '/'))
        return strmap_get(a->by_key, ref);
    for (int i = 0; a->p && profile_kind(a->p, i); i++) {
        char key[520];
        struct asset *r;
        snprintf(key, sizeof key, "%s/%s", profile_kind(a->p, i), ref);
        if ((r = strmap_get(a->by_key, key))) {
            if (found)
                return NULL;        /* ambiguous: the request must say KIND/NAME */
            found = r;
        }
    }
    return found;
}

/* The source directories of assets that take material, with "KIND/NAME". */
struct asset_dirs {
    assets *a;
    char **dir, **label;
    size_t n, cap;
};

static void collect_source_dir(const char *key, void *value, void *arg)
{
    struct asset_dirs *d = arg;
    const struct asset *r = value;
    (void)key;

    if (profile_kind_material(d->a->p, r->kind) == MATERIAL_NONE)
        return;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 8;
        char **dir = realloc(d->dir, cap * sizeof *dir), **label;
        if (dir)
            d->dir = dir;
        if (!dir || !(label = realloc(d->label, cap * sizeof *label)))
            return;
        d->label = label;
        d->cap = cap;
    }
    if ((d->dir[d->n] = assets_source_dir(d->a, r)) &&
        asprintf(&d->label[d->n], "%s/%s", r->kind, r->name) >= 0)
        d->n++;
    else
        free(d->dir[d->n]);
}

/* What embeds_source compares: a data: URL's base64 and the byte count it decodes to. */
struct embed_probe {
    const char *payload;
    off_t bytes;
};

static bool same_bytes(const char *path, void *arg)
{
    const struct embed_probe *p = arg;
    struct stat st;
    char *url, *comma;
    bool same;

    if (stat(path, &st) || st.st_size != p->bytes)
        return false;               /* only a file of that size can match: read no other */
    url = assets_data_url(path);
    same = url && (comma = strchr(url, ',')) && !strcmp(comma + 1, p->payload);
    free(url);
    return same;
}

/* True when `fn` finds a source file of an asset that matches `arg`; `why`
 * says whose and that it may not go out `as`. The directories are listed
 * under the lock; the files are read without it. */
static bool source_matches(assets *a, bool (*fn)(const char *path, void *arg), void *arg,
                           const char *as, char *why, size_t why_len)
{
    struct asset_dirs dirs = {a, NULL, NULL, 0, 0};
    bool hit = false;

    pthread_mutex_lock(&a->lock);
    strmap_each(a->by_key, collect_source_dir, &dirs);
    pthread_mutex_unlock(&a->lock);
    for (size_t i = 0; i < dirs.n; i++) {
        if (!hit && each_source(dirs.dir[i], fn, arg)) {
            hit = true;
            snprintf(why, why_len, "the material of asset %s may not go out as a plain %s: "
                     "name the asset in \"assets\" instead", dirs.label[i], as);
        }
        free(dirs.dir[i]);
        free(dirs.label[i]);
    }
    free(dirs.dir);
    free(dirs.label);
    return hit;
}

/* True when a data: URL carries the bytes of an asset's source file. */
static bool embeds_source(assets *a, const char *url, char *why, size_t why_len)
{
    const char *comma = strchr(url, ',');
    struct embed_probe probe = {comma ? comma + 1 : "", 0};
    size_t len = strlen(probe.payload);

    if (!comma || len % 4)
        return false;
    probe.bytes = (off_t)(len / 4 * 3) - (len && probe.payload[len - 1] == '=') -
                  (len > 1 && probe.payload[len - 2] == '=');
    return source_matches(a, same_bytes, &probe, "data: URL", why, why_len);
}

/* A source/NAME.url file that holds `arg` (a URL). */
static bool same_url(const char *path, void *arg)
{
    size_t len = strlen(path), want = strlen(arg), n;
    char buf[4100];
    FILE *f;

    if (len < 4 || strcmp(path + len - 4, ".url") || !(f = fopen(path, "r")))
        return false;
    n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n && strchr("\r\n \t", buf[n - 1]))
        buf[--n] = '\0';
    return n == want && !memcmp(buf, arg, n);
}

/* Refuses real-person material as a plain media URL. Lock not held. */
static int check_raw_material(assets *a, const cJSON *content, char *why, size_t why_len)
{
    const cJSON *item;

    cJSON_ArrayForEach(item, content) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
        const cJSON *media = cJSON_IsString(type) ?
                             cJSON_GetObjectItemCaseSensitive(item, type->valuestring) : NULL;
        const cJSON *url = cJSON_GetObjectItemCaseSensitive(media, "url");
        if (!cJSON_IsString(url) || (strcmp(type->valuestring, "image_url") &&
                                     strcmp(type->valuestring, "video_url")))
            continue;
        for (int i = 0; a->p && profile_kind(a->p, i); i++) {
            const char *kind = profile_kind(a->p, i);
            char marker[300];
            if (profile_kind_material(a->p, kind) == MATERIAL_NONE)
                continue;
            snprintf(marker, sizeof marker, "/assets/%s/", kind);
            if (strstr(url->valuestring, marker)) {
                snprintf(why, why_len, "%s material may not go out as a plain %s: name the "
                         "asset in \"assets\" instead", kind, type->valuestring);
                return -EINVAL;
            }
        }
        if (!strncmp(url->valuestring, "data:", 5) &&
            embeds_source(a, url->valuestring, why, why_len))
            return -EINVAL;
        if (!strncmp(url->valuestring, "http", 4) &&
            source_matches(a, same_url, url->valuestring, "URL", why, why_len))
            return -EINVAL;
    }
    return 0;
}

/* The content[] item of an active asset: its kind's reference template
 * with the profile's values, what its steps captured and its id. Lock held. */
static cJSON *reference_of(assets *a, const struct asset *r, char *why, size_t why_len)
{
    cJSON *values = cJSON_Duplicate(profile_vars(a->p), 1), *v, *ref = NULL;
    const cJSON *media = cJSON_GetObjectItemCaseSensitive(r->vars, "media");

    if (!values)
        return NULL;
    cJSON_ArrayForEach(v, r->vars)
        if (cJSON_IsString(v) && !cJSON_GetObjectItemCaseSensitive(values, v->string))
            cJSON_AddStringToObject(values, v->string, v->valuestring);
        else if (cJSON_IsString(v))
            cJSON_ReplaceItemInObjectCaseSensitive(values, v->string,
                                                   cJSON_CreateString(v->valuestring));
    cJSON_DeleteItemFromObjectCaseSensitive(values, "id");
    cJSON_AddStringToObject(values, "id", r->asset_id);
    cJSON_AddStringToObject(values, "name", r->name);
    cJSON_AddStringToObject(values, "kind", r->kind);
    ref = profile_reference(a->p, r->kind, cJSON_IsString(media) ? media->valuestring : "image",
                            values, why, why_len);
    cJSON_Delete(values);
    return ref;
}

static int gate(assets *a, const char *body, char **out, char *why, size_t why_len, bool resolve)
{
    cJSON *root = cJSON_Parse(body), *names, *content;
    cJSON *name;
    int rc = 0;

    if (out)
        *out = NULL;
    if (!root)
        return 0;
    names = cJSON_GetObjectItemCaseSensitive(root, "assets");
    content = cJSON_GetObjectItemCaseSensitive(root, "content");
    rc = check_raw_material(a, content, why, why_len);
    pthread_mutex_lock(&a->lock);
    if (!rc && names && !a->p) {
        snprintf(why, why_len, "assets are not launched: no asset profile is configured");
        rc = -EINVAL;
    } else if (!rc && names && !cJSON_IsArray(names)) {
        snprintf(why, why_len, "\"assets\" must be a list of asset names");
        rc = -EINVAL;
    }
    cJSON *list = rc ? NULL : names;
    cJSON_ArrayForEach(name, list) {
        struct asset *r = cJSON_IsString(name) ? find_named(a, name->valuestring) : NULL;
        if (!r) {
            snprintf(why, why_len, "asset %s: no such asset (or ambiguous: say KIND/NAME)",
                     cJSON_IsString(name) ? name->valuestring : "?");
            rc = -EINVAL;
        } else if (!strcmp(r->state, "failed")) {
            snprintf(why, why_len, "asset %s/%s failed: %s", r->kind, r->name,
                     r->reason ? r->reason : "");
            rc = -EINVAL;
        } else if (resolve && (strcmp(r->state, "active") || !r->authorization)) {
            snprintf(why, why_len, "waiting for asset %s/%s (%s)", r->kind, r->name, r->state);
            rc = -EAGAIN;
        } else if (resolve) {
            cJSON *ref = reference_of(a, r, why, why_len);
            if (ref)
                cJSON_AddItemToArray(content, ref);
            else
                rc = -EINVAL;
        }
        if (rc)
            break;
    }
    pthread_mutex_unlock(&a->lock);
    if (!rc && resolve && names) {
        cJSON_DeleteItemFromObjectCaseSensitive(root, "assets");
        *out = cJSON_Print(root);
        rc = *out ? 0 : -ENOMEM;
    }
    cJSON_Delete(root);
    return rc;
}

int assets_check(const char *body, char *why, size_t why_len, void *assets_arg)
{
    return gate(assets_arg, body, NULL, why, why_len, false);
}

int assets_resolve(const char *body, char **out, char *why, size_t why_len, void *assets_arg)
{
    return gate(assets_arg, body, out, why, why_len, true);
}
