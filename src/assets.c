/* assets.c — asset records, their steps as file operations, the
 * verification poller and the gate; see assets.h. Knows no endpoint path,
 * field name or status word: all of those come through profile.h. */
#include "assets.h"
#include "ids.h"
#include "log.h"
#include "strmap.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOURCE (30u << 20)      /* one source file */
#define MAX_SMALL (64u << 10)       /* authorization.json, select */

struct asset {
    char *kind, *name, *state;      /* draft pending verifying active failed */
    char *asset_id, *authorization, *reason, *error;
    char *auth_draft, *select_draft;
    size_t auth_len, select_len;
    bool auth_dirty, select_armed, create_armed;
    long long created_at;
};

struct assets {
    profile *p;
    store *store;
    http *http;
    char *api_url, *dir;
    double poll_interval;
    void (*on_ready)(void *arg);
    void *on_ready_arg;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    strmap *by_key;                 /* "kind/name" -> struct asset */
    pthread_t thread;
    bool running, started;
};

static const char readme_off[] =
    "Real-person and virtual-human assets are announced but not launched by the provider.\n"
    "seedancefs has the flow ready; it needs an asset profile naming the endpoints:\n"
    "  seedancefs MNT -o api_url=...,assets_profile=FILE   (see profiles/README.md)\n"
    "Until then this directory refuses writes.\n";
static const char readme_on[] =
    "Steps, each one file operation:\n"
    "  mkdir KIND/NAME                       a local draft\n"
    "  cp face.jpg KIND/NAME/source/         material (kinds that take it)\n"
    "  cp consent.json KIND/NAME/authorization.json   {\"subject\", \"authorized_by\", \"usage\"}\n"
    "  touch KIND/NAME/create                send it for verification\n"
    "  echo LIBRARY_ID > KIND/NAME/select    or use an existing library asset\n"
    "  cat KIND/NAME/status                  draft pending verifying active failed\n"
    "Requests name assets with \"assets\": [\"NAME\", ...]; they wait until all are active.\n";

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

static void set_str(char **field, const char *value)
{
    free(*field);
    *field = dup_or_null(value);
}

static void asset_free(struct asset *r)
{
    free(r->kind); free(r->name); free(r->state); free(r->asset_id); free(r->authorization);
    free(r->reason); free(r->error); free(r->auth_draft); free(r->select_draft);
    free(r);
}

assets *assets_new(profile *p, store *st, http *h, const char *api_url, const char *state_dir,
                   double poll_interval)
{
    assets *a = calloc(1, sizeof *a);

    if (!a)
        return NULL;
    a->p = p;
    a->store = st;
    a->http = h;
    a->poll_interval = poll_interval;
    a->api_url = strdup(api_url);
    if (asprintf(&a->dir, "%s/assets", state_dir) < 0)
        a->dir = NULL;
    a->by_key = strmap_new();
    if (!a->api_url || !a->dir || !a->by_key) {
        free(a->api_url); free(a->dir); strmap_free(a->by_key); free(a);
        return NULL;
    }
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->wake, NULL);
    return a;
}

static void free_cb(const char *key, void *value, void *arg)
{
    (void)key; (void)arg;
    asset_free(value);
}

void assets_free(assets *a)
{
    if (!a)
        return;
    assets_stop(a);
    strmap_each(a->by_key, free_cb, NULL);
    strmap_free(a->by_key);
    profile_free(a->p);
    free(a->api_url);
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

/* Saves a record. Lock held (the row is copied by SQLite). */
static void save(assets *a, const struct asset *r)
{
    struct stored_asset s = {r->kind, r->name, r->state, r->asset_id, r->authorization,
                             r->reason, r->created_at};
    if (store_asset_put(a->store, &s))
        log_info("asset %s/%s: cannot save its state", r->kind, r->name);
}

static struct asset *asset_add(assets *a, const char *kind, const char *name)
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
        asset_free(r);
        r = NULL;
    }
    free(key);
    return r;
}

static void restore_one(const struct stored_asset *s, void *arg)
{
    assets *a = arg;
    struct asset *r;

    if (!a->p || !profile_has_kind(a->p, s->kind) || !(r = asset_add(a, s->kind, s->name)))
        return;
    set_str(&r->state, s->state);
    set_str(&r->asset_id, s->asset_id);
    set_str(&r->authorization, s->authorization);
    set_str(&r->reason, s->reason);
    r->created_at = s->created_at;
}

int assets_restore(assets *a)
{
    return store_assets_load(a->store, restore_one, a);
}

/* ---- paths ---- */

/* rel split: kind / name / file / source file. */
struct where {
    char part[4][256];
    int n;
    struct asset *r;            /* set when kind/name exists (lock held by caller) */
};

static int split(assets *a, const char *rel, struct where *w)
{
    memset(w, 0, sizeof *w);
    for (const char *p = rel; *p; ) {
        size_t len;
        while (*p == '/')
            p++;
        if (!*p)
            break;
        len = strcspn(p, "/");
        if (w->n == 4 || len >= sizeof w->part[0])
            return -ENOENT;
        memcpy(w->part[w->n], p, len);
        w->part[w->n++][len] = '\0';
        p += len;
    }
    if (w->n >= 2 && a->p) {
        char key[520];
        snprintf(key, sizeof key, "%s/%s", w->part[0], w->part[1]);
        w->r = strmap_get(a->by_key, key);
        if (!w->r)
            return -ENOENT;
    }
    return 0;
}

static char *source_dir(assets *a, const struct asset *r)
{
    char *path = NULL;
    return asprintf(&path, "%s/%s/%s/source", a->dir, r->kind, r->name) < 0 ? NULL : path;
}

static char *source_file(assets *a, const struct asset *r, const char *file)
{
    char *dir = source_dir(a, r), *path = NULL;
    if (dir && (!ids_request_name_ok(file) || asprintf(&path, "%s/%s", dir, file) < 0))
        path = NULL;
    free(dir);
    return path;
}

static int mkdirs(const char *path)
{
    char *copy = strdup(path);
    int rc = 0;

    for (char *p = copy ? copy + 1 : NULL; p && *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(copy, 0700) && errno != EEXIST)
                rc = -errno;
            *p = '/';
        }
    if (copy && !rc && mkdir(copy, 0700) && errno != EEXIST)
        rc = -errno;
    free(copy);
    return copy ? rc : -ENOMEM;
}

/* The bytes of a small file of `r`: status, id, error, authorization.json. */
static int small_file(const struct asset *r, const char *file, char **data, size_t *len)
{
    *data = NULL;
    if (!strcmp(file, "status")) {
        if (!strcmp(r->state, "failed") && r->reason)
            *len = (size_t)asprintf(data, "failed: %s\n", r->reason);
        else
            *len = (size_t)asprintf(data, "%s\n", r->state);
    } else if (!strcmp(file, "id") && r->asset_id) {
        *len = (size_t)asprintf(data, "%s\n", r->asset_id);
    } else if (!strcmp(file, "error") && r->error) {
        *len = (size_t)asprintf(data, "%s\n", r->error);
    } else if (!strcmp(file, "authorization.json") && (r->authorization || r->auth_draft)) {
        const char *src = r->authorization ? r->authorization : r->auth_draft;
        *len = r->authorization ? strlen(src) : r->auth_len;
        if ((*data = malloc(*len + 1)))
            memcpy(*data, src, *len);
    } else if (!strcmp(file, "select") && r->select_draft) {
        *len = r->select_len;
        if ((*data = malloc(*len + 1)))
            memcpy(*data, r->select_draft, *len);
    } else {
        return -ENOENT;
    }
    return *data ? 0 : -ENOMEM;
}

static bool is_trigger(const assets *a, const struct asset *r, const char *file)
{
    return (!strcmp(file, "create") && profile_kind_has(a->p, r->kind, "create")) ||
           (!strcmp(file, "select") && profile_kind_has(a->p, r->kind, "select"));
}

static void fill(struct stat *st, mode_t mode, off_t size, time_t t)
{
    memset(st, 0, sizeof *st);
    st->st_mode = mode;
    st->st_nlink = S_ISDIR(mode) ? 2 : 1;
    st->st_size = size;
    st->st_uid = getuid();
    st->st_gid = getgid();
    st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = t;
}

int assets_getattr(assets *a, const char *rel, struct stat *st)
{
    struct where w;
    char *data, *path;
    size_t len;
    int rc;

    pthread_mutex_lock(&a->lock);
    rc = split(a, rel, &w);
    if (rc)
        goto out;
    if (w.n == 0)
        fill(st, S_IFDIR | (a->p ? 0755 : 0555), 0, 0);
    else if (w.n == 1 && !strcmp(w.part[0], "README"))
        fill(st, S_IFREG | 0444, a->p ? sizeof readme_on - 1 : sizeof readme_off - 1, 0);
    else if (!a->p)
        rc = -ENOENT;
    else if (w.n == 1)
        rc = profile_has_kind(a->p, w.part[0]) ? (fill(st, S_IFDIR | 0755, 0, 0), 0) : -ENOENT;
    else if (w.n == 2)
        fill(st, S_IFDIR | 0755, 0, (time_t)w.r->created_at);
    else if (!strcmp(w.part[2], "source") && profile_kind_takes_source(a->p, w.r->kind)) {
        if (w.n == 3)
            fill(st, S_IFDIR | 0755, 0, (time_t)w.r->created_at);
        else if (!(path = source_file(a, w.r, w.part[3])))
            rc = -ENOENT;
        else {
            struct stat real;
            rc = stat(path, &real) ? -ENOENT : 0;
            if (!rc)
                fill(st, S_IFREG | (strcmp(w.r->state, "draft") ? 0444 : 0644), real.st_size,
                     real.st_mtim.tv_sec);
            free(path);
        }
    } else if (w.n == 3 && is_trigger(a, w.r, w.part[2])) {
        fill(st, S_IFREG | 0200, 0, (time_t)w.r->created_at);
    } else if (w.n == 3 && !(rc = small_file(w.r, w.part[2], &data, &len))) {
        bool editable = !strcmp(w.part[2], "authorization.json") && !w.r->authorization;
        fill(st, S_IFREG | (editable ? 0644 : 0444), (off_t)len, (time_t)w.r->created_at);
        free(data);
    } else if (!rc) {
        rc = -ENOENT;
    }
out:
    pthread_mutex_unlock(&a->lock);
    return rc;
}

struct list_ctx {
    assets_add_fn add;
    void *arg;
    const char *kind;
};

static void list_names(const char *key, void *value, void *arg)
{
    struct list_ctx *c = arg;
    struct asset *r = value;
    (void)key;
    if (!strcmp(r->kind, c->kind))
        c->add(r->name, S_IFDIR, c->arg);
}

int assets_readdir(assets *a, const char *rel, assets_add_fn add, void *arg)
{
    static const char *const files[] = {"status", "id", "error", "authorization.json", NULL};
    struct where w;
    int rc;

    pthread_mutex_lock(&a->lock);
    if ((rc = split(a, rel, &w)))
        goto out;
    add(".", S_IFDIR, arg);
    add("..", S_IFDIR, arg);
    if (w.n == 0) {
        add("README", S_IFREG, arg);
        for (int i = 0; a->p && profile_kind(a->p, i); i++)
            add(profile_kind(a->p, i), S_IFDIR, arg);
    } else if (w.n == 1 && a->p && profile_has_kind(a->p, w.part[0])) {
        struct list_ctx c = {add, arg, w.part[0]};
        strmap_each(a->by_key, list_names, &c);
    } else if (w.n == 2) {
        for (int i = 0; files[i]; i++) {
            char *data;
            size_t len;
            if (!small_file(w.r, files[i], &data, &len)) {
                add(files[i], S_IFREG, arg);
                free(data);
            }
        }
        if (profile_kind_takes_source(a->p, w.r->kind))
            add("source", S_IFDIR, arg);
        if (profile_kind_has(a->p, w.r->kind, "create"))
            add("create", S_IFREG, arg);
        if (profile_kind_has(a->p, w.r->kind, "select"))
            add("select", S_IFREG, arg);
    } else if (w.n == 3 && !strcmp(w.part[2], "source")) {
        char *dir = source_dir(a, w.r);
        DIR *d = dir ? opendir(dir) : NULL;
        for (struct dirent *e; d && (e = readdir(d)); )
            if (e->d_name[0] != '.')
                add(e->d_name, S_IFREG, arg);
        if (d)
            closedir(d);
        free(dir);
    } else {
        rc = -ENOTDIR;
    }
out:
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int assets_read(assets *a, const char *rel, char *buf, size_t size, off_t off)
{
    struct where w;
    char *data = NULL, *path;
    size_t len = 0;
    int rc, fd;

    pthread_mutex_lock(&a->lock);
    rc = split(a, rel, &w);
    if (!rc && w.n == 1 && !strcmp(w.part[0], "README")) {
        const char *text = a->p ? readme_on : readme_off;
        len = strlen(text);
        data = strdup(text);
    } else if (!rc && w.n == 4 && (path = source_file(a, w.r, w.part[3]))) {
        pthread_mutex_unlock(&a->lock);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        free(path);
        rc = fd < 0 ? -errno : (int)pread(fd, buf, size, off);
        if (fd >= 0)
            close(fd);
        return rc;
    } else if (!rc && w.n == 3) {
        rc = small_file(w.r, w.part[2], &data, &len);
    } else if (!rc) {
        rc = -EISDIR;
    }
    pthread_mutex_unlock(&a->lock);
    if (!rc && data) {
        rc = off >= (off_t)len ? 0 : (int)(len - (size_t)off < size ? len - (size_t)off : size);
        if (rc > 0)
            memcpy(buf, data + off, (size_t)rc);
    }
    free(data);
    return rc;
}

/* ---- the steps, as writes ---- */

/* The record and file a write goes to; refuses what is not writable now. */
static int writable(assets *a, const char *rel, struct where *w)
{
    int rc;

    if (!a->p)
        return -EPERM;              /* not launched */
    if ((rc = split(a, rel, w)))
        return rc;
    if (w->n < 3)
        return -EISDIR;
    if (w->n == 4 || !strcmp(w->part[2], "authorization.json")) {
        if (strcmp(w->r->state, "draft"))
            return -EPERM;          /* sent: material and consent are fixed */
        if (w->n == 4 && (!profile_kind_takes_source(a->p, w->r->kind) ||
                          strcmp(w->part[2], "source")))
            return -ENOENT;
        return 0;
    }
    return is_trigger(a, w->r, w->part[2]) ? 0 : -EACCES;
}

static void reset_buffer(struct asset *r, const char *file)
{
    /* An empty buffer, not none: the file exists from its creation on. */
    if (!strcmp(file, "authorization.json")) {
        if (!r->auth_draft)
            r->auth_draft = calloc(1, 1);
        r->auth_len = 0;
        r->auth_dirty = true;
    } else if (!strcmp(file, "select")) {
        if (!r->select_draft)
            r->select_draft = calloc(1, 1);
        r->select_len = 0;
        r->select_armed = true;
    } else {
        r->create_armed = true;
    }
}

int assets_open(assets *a, const char *rel, bool write, bool truncate)
{
    struct where w;
    int rc;

    if (!write)
        return assets_getattr(a, rel, &(struct stat){0});
    pthread_mutex_lock(&a->lock);
    rc = writable(a, rel, &w);
    if (!rc && w.n == 3 && (truncate || strcmp(w.part[2], "authorization.json")))
        reset_buffer(w.r, w.part[2]);
    else if (!rc && w.n == 3)
        w.r->auth_dirty = true;
    pthread_mutex_unlock(&a->lock);
    if (!rc && w.n == 4 && truncate)
        rc = assets_truncate(a, rel, 0);
    return rc;
}

int assets_create(assets *a, const char *rel)
{
    struct where w;
    char *path = NULL, *dir = NULL;
    int rc, fd;

    pthread_mutex_lock(&a->lock);
    rc = writable(a, rel, &w);
    if (!rc && w.n == 3)
        reset_buffer(w.r, w.part[2]);
    if (!rc && w.n == 4) {
        dir = source_dir(a, w.r);
        path = source_file(a, w.r, w.part[3]);
    }
    pthread_mutex_unlock(&a->lock);
    if (!rc && w.n == 4) {
        rc = !dir || !path ? -EINVAL : mkdirs(dir);
        if (!rc && (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) >= 0)
            close(fd);
        else if (!rc)
            rc = -errno;
    }
    free(dir);
    free(path);
    return rc;
}

static int grow_write(char **buf, size_t *len, const char *data, size_t size, off_t off)
{
    char *p;

    if (off < 0 || (size_t)off + size > MAX_SMALL)
        return -EFBIG;
    if (!(p = realloc(*buf, (size_t)off + size + 1)))
        return -ENOMEM;
    if ((size_t)off > *len)
        memset(p + *len, 0, (size_t)off - *len);
    memcpy(p + off, data, size);
    *buf = p;
    if ((size_t)off + size > *len)
        *len = (size_t)off + size;
    return (int)size;
}

int assets_write(assets *a, const char *rel, const char *buf, size_t size, off_t off)
{
    struct where w;
    char *path = NULL;
    int rc, fd;

    pthread_mutex_lock(&a->lock);
    rc = writable(a, rel, &w);
    if (!rc && w.n == 4)
        path = source_file(a, w.r, w.part[3]);
    else if (!rc && !strcmp(w.part[2], "authorization.json")) {
        rc = grow_write(&w.r->auth_draft, &w.r->auth_len, buf, size, off);
        w.r->auth_dirty = true;
    } else if (!rc && !strcmp(w.part[2], "select")) {
        rc = grow_write(&w.r->select_draft, &w.r->select_len, buf, size, off);
        w.r->select_armed = true;
    } else if (!rc) {
        w.r->create_armed = true;
        rc = (int)size;             /* what is written to `create` does not matter */
    }
    pthread_mutex_unlock(&a->lock);
    if (path) {
        if ((size_t)off + size > MAX_SOURCE)
            rc = -EFBIG;
        else if ((fd = open(path, O_WRONLY | O_CLOEXEC)) < 0)
            rc = -errno;
        else {
            rc = (int)pwrite(fd, buf, size, off);
            if (rc < 0)
                rc = -errno;
            close(fd);
        }
        free(path);
    }
    return rc;
}

int assets_truncate(assets *a, const char *rel, off_t size)
{
    struct where w;
    char *path = NULL;
    int rc;

    pthread_mutex_lock(&a->lock);
    rc = writable(a, rel, &w);
    if (!rc && w.n == 4)
        path = source_file(a, w.r, w.part[3]);
    else if (!rc && size == 0)
        reset_buffer(w.r, w.part[2]);
    pthread_mutex_unlock(&a->lock);
    if (path) {
        rc = size < 0 || (size_t)size > MAX_SOURCE ? -EFBIG : truncate(path, size) ? -errno : 0;
        free(path);
    }
    return rc;
}

/* Step 3: the authorization must say who allowed what. Lock held. */
static int accept_authorization(assets *a, struct asset *r)
{
    static const char *const required[] = {"subject", "authorized_by", "usage", NULL};
    cJSON *root = r->auth_draft ? cJSON_ParseWithLength(r->auth_draft, r->auth_len) : NULL;
    int rc = 0;

    r->auth_dirty = false;
    set_str(&r->error, NULL);
    if (!cJSON_IsObject(root)) {
        set_str(&r->error, "authorization.json: not a JSON object");
        rc = -EINVAL;
    }
    for (int i = 0; !rc && required[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, required[i]);
        if (!cJSON_IsString(v) || !v->valuestring[0]) {
            char why[128];
            snprintf(why, sizeof why, "authorization.json: \"%s\" is required", required[i]);
            set_str(&r->error, why);
            rc = -EINVAL;
        }
    }
    if (!rc) {
        char *text = cJSON_Print(root);
        set_str(&r->authorization, text);
        free(text);
        save(a, r);
        log_info("asset %s/%s: authorization recorded", r->kind, r->name);
    }
    cJSON_Delete(root);
    return rc;
}

/* The source files as data: URLs. */
static cJSON *load_sources(assets *a, const struct asset *r)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *dir = source_dir(a, r);
    DIR *d = dir ? opendir(dir) : NULL;
    cJSON *list = cJSON_CreateArray();

    for (struct dirent *e; d && (e = readdir(d)); ) {
        char *path = NULL, *url = NULL, *data;
        const char *ext = strrchr(e->d_name, '.'), *mime = "application/octet-stream";
        FILE *f;
        long n;
        if (e->d_name[0] == '.' || asprintf(&path, "%s/%s", dir, e->d_name) < 0)
            continue;
        if (ext && (!strcasecmp(ext, ".jpg") || !strcasecmp(ext, ".jpeg"))) mime = "image/jpeg";
        else if (ext && !strcasecmp(ext, ".png")) mime = "image/png";
        else if (ext && !strcasecmp(ext, ".mp4")) mime = "video/mp4";
        f = fopen(path, "rb");
        free(path);
        if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) ||
            !(data = malloc((size_t)n + 1)) || fread(data, 1, (size_t)n, f) != (size_t)n) {
            if (f)
                fclose(f);
            continue;
        }
        fclose(f);
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
            cJSON_AddItemToArray(list, cJSON_CreateString(url));
        }
        free(url);
        free(data);
    }
    if (d)
        closedir(d);
    free(dir);
    return list;
}

/* Applies a status word from a reply. Lock held. Returns true when it just became active. */
static bool apply_status(assets *a, struct asset *r, const char *word, const char *reason)
{
    static const char *const names[] = {"pending", "verifying", "active", "failed"};
    enum asset_phase phase = profile_phase(a->p, r->kind, word);
    bool ready;

    if (phase == PHASE_UNKNOWN || !strcmp(r->state, names[phase]))
        return false;
    ready = phase == PHASE_ACTIVE;
    log_info("asset %s/%s: %s -> %s%s%s", r->kind, r->name, r->state, names[phase],
             reason ? ": " : "", reason ? reason : "");
    set_str(&r->state, names[phase]);
    set_str(&r->reason, phase == PHASE_FAILED ? (reason ? reason : word) : NULL);
    save(a, r);
    return ready;
}

/* Step 4 (create): sends material and authorization. Called without the lock. */
static int send_create(assets *a, const char *key, char *why, size_t why_len)
{
    struct profile_vars v = {0};
    struct asset *r;
    struct http_reply reply;
    const char *method;
    char *path = NULL, *body = NULL, *url = NULL, *id = NULL, *word = NULL, *reason = NULL;
    cJSON *auth, *sources, *root;
    int rc;

    pthread_mutex_lock(&a->lock);
    r = strmap_get(a->by_key, key);
    if (!r || strcmp(r->state, "draft")) {
        /* Sent already: `touch create` again changes nothing. */
        rc = r && r->asset_id ? 0 : -EPERM;
        pthread_mutex_unlock(&a->lock);
        return rc;
    }
    auth = r->authorization ? cJSON_Parse(r->authorization) : NULL;
    sources = load_sources(a, r);
    if (!auth) {
        snprintf(why, why_len, "write authorization.json first");
        rc = -EINVAL;
    } else if (profile_kind_takes_source(a->p, r->kind) && cJSON_GetArraySize(sources) == 0) {
        snprintf(why, why_len, "put the material into source/ first");
        rc = -EINVAL;
    } else {
        v = (struct profile_vars){r->kind, r->name, NULL, auth, sources};
        rc = profile_request(a->p, r->kind, "create", &v, &method, &path, &body);
    }
    pthread_mutex_unlock(&a->lock);
    if (!rc && asprintf(&url, "%s%s", a->api_url, path) < 0)
        rc = -ENOMEM;
    if (!rc && (rc = http_call(a->http, method, url, body, true, &reply)) == 0) {
        root = cJSON_Parse(reply.body);
        if (reply.status < 200 || reply.status > 299 || !root) {
            snprintf(why, why_len, "API %ld: %.200s", reply.status, reply.body);
            rc = reply.status >= 500 || !root ? -EIO : -EINVAL;
        } else {
            profile_read_reply(a->p, v.kind, "create", root, &id, &word, &reason);
            if (!id || !ids_task_id_ok(id)) {
                snprintf(why, why_len, "the reply names no usable asset id");
                rc = -EIO;
            }
        }
        cJSON_Delete(root);
        http_reply_free(&reply);
    } else if (rc == -ECONNREFUSED || rc == -ETIMEDOUT || rc == -EIO) {
        snprintf(why, why_len, "API unreachable: %s", strerror(-rc));
        rc = -EIO;
    }
    pthread_mutex_lock(&a->lock);
    if (!rc && (r = strmap_get(a->by_key, key))) {
        set_str(&r->asset_id, id);
        set_str(&r->state, "pending");
        if (!apply_status(a, r, word, reason))
            save(a, r);
        log_info("asset %s: sent, id %s", key, id);
        pthread_cond_signal(&a->wake);
    }
    pthread_mutex_unlock(&a->lock);
    cJSON_Delete(auth);
    cJSON_Delete(sources);
    free(path); free(body); free(url); free(id); free(word); free(reason);
    return rc;
}

int assets_flush(assets *a, const char *rel)
{
    struct where w;
    char why[512] = "", key[520];
    bool create = false;
    int rc = 0;

    pthread_mutex_lock(&a->lock);
    if (split(a, rel, &w) || w.n != 3 || !a->p) {
        pthread_mutex_unlock(&a->lock);
        return 0;
    }
    snprintf(key, sizeof key, "%s/%s", w.part[0], w.part[1]);
    if (!strcmp(w.part[2], "authorization.json") && w.r->auth_dirty) {
        rc = accept_authorization(a, w.r);
    } else if (!strcmp(w.part[2], "select") && w.r->select_armed) {
        /* Step 4 (select): an existing library asset by its id. */
        char id[IDS_MAX_TASK_ID + 1] = "";
        size_t n = w.r->select_len < sizeof id - 1 ? w.r->select_len : sizeof id - 1;
        w.r->select_armed = false;
        memcpy(id, w.r->select_draft ? w.r->select_draft : "", n);
        id[n] = '\0';
        id[strcspn(id, " \t\r\n")] = '\0';
        if (!w.r->authorization)
            rc = -EINVAL, snprintf(why, sizeof why, "write authorization.json first");
        else if (!ids_task_id_ok(id))
            rc = -EINVAL, snprintf(why, sizeof why, "select: not a usable asset id");
        else {
            set_str(&w.r->asset_id, id);
            set_str(&w.r->state, "pending");
            set_str(&w.r->reason, NULL);
            save(a, w.r);
            pthread_cond_signal(&a->wake);
        }
    } else if (!strcmp(w.part[2], "create") && w.r->create_armed) {
        w.r->create_armed = false;
        create = true;
    }
    pthread_mutex_unlock(&a->lock);
    if (create)
        rc = send_create(a, key, why, sizeof why);
    if (why[0]) {
        log_info("asset %s: %s", key, why);
        pthread_mutex_lock(&a->lock);
        if (split(a, rel, &w) == 0 && w.r)
            set_str(&w.r->error, why);
        pthread_mutex_unlock(&a->lock);
    }
    return rc;
}

int assets_unlink(assets *a, const char *rel)
{
    struct where w;
    char *path = NULL;
    int rc;

    pthread_mutex_lock(&a->lock);
    rc = writable(a, rel, &w);
    if (!rc && w.n == 4)
        path = source_file(a, w.r, w.part[3]);
    else if (!rc)
        rc = -EPERM;
    pthread_mutex_unlock(&a->lock);
    if (path) {
        rc = unlink(path) ? -errno : 0;
        free(path);
    }
    return rc;
}

int assets_mkdir(assets *a, const char *rel)
{
    struct where w;
    int rc;

    if (!a->p)
        return -EPERM;
    pthread_mutex_lock(&a->lock);
    rc = split(a, rel, &w);
    if (rc == -ENOENT && w.n == 2 && profile_has_kind(a->p, w.part[0]) &&
        ids_request_name_ok(w.part[1])) {
        struct asset *r = asset_add(a, w.part[0], w.part[1]);
        rc = r ? 0 : -ENOMEM;
        if (r) {
            save(a, r);
            log_info("asset %s/%s: draft created", r->kind, r->name);
        }
    } else if (!rc) {
        rc = w.n == 2 ? -EEXIST : -EPERM;
    } else if (rc == -ENOENT && w.n == 2) {
        rc = profile_has_kind(a->p, w.part[0]) ? -EINVAL : -ENOENT;
    }
    pthread_mutex_unlock(&a->lock);
    return rc;
}

int assets_rmdir(assets *a, const char *rel)
{
    struct where w;
    char key[520], *dir = NULL;
    int rc;

    pthread_mutex_lock(&a->lock);
    rc = split(a, rel, &w);
    if (!rc && (w.n != 2 || !a->p))
        rc = -EPERM;
    else if (!rc && strcmp(w.r->state, "draft") && strcmp(w.r->state, "failed") &&
             strcmp(w.r->state, "active"))
        rc = -EBUSY;                /* being verified */
    if (!rc) {
        snprintf(key, sizeof key, "%s/%s", w.part[0], w.part[1]);
        dir = source_dir(a, w.r);
        store_asset_delete(a->store, w.r->kind, w.r->name);
        asset_free(strmap_del(a->by_key, key));
    }
    pthread_mutex_unlock(&a->lock);
    if (dir) {
        DIR *d = opendir(dir);
        for (struct dirent *e; d && (e = readdir(d)); ) {
            char *path = NULL;
            if (e->d_name[0] != '.' && asprintf(&path, "%s/%s", dir, e->d_name) > 0)
                unlink(path);
            free(path);
        }
        if (d)
            closedir(d);
        rmdir(dir);
        free(dir);
    }
    return rc;
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

    if (r->asset_id && (!strcmp(r->state, "pending") || !strcmp(r->state, "verifying")) &&
        d->n < d->cap && (d->keys[d->n] = strdup(key)))
        d->n++;
}

static void poll_asset(assets *a, const char *key)
{
    struct profile_vars v = {0};
    struct asset *r;
    struct http_reply reply;
    const char *method;
    char *path = NULL, *body = NULL, *url = NULL, *id, *word = NULL, *reason = NULL;
    bool ready = false;
    cJSON *root;

    pthread_mutex_lock(&a->lock);
    if ((r = strmap_get(a->by_key, key))) {
        v = (struct profile_vars){r->kind, r->name, r->asset_id, NULL, NULL};
        if (profile_request(a->p, r->kind, "get", &v, &method, &path, &body) ||
            asprintf(&url, "%s%s", a->api_url, path) < 0)
            url = NULL;
    }
    pthread_mutex_unlock(&a->lock);
    if (!url || http_call(a->http, method, url, body, true, &reply)) {
        free(path); free(body); free(url);
        return;
    }
    root = cJSON_Parse(reply.body);
    pthread_mutex_lock(&a->lock);
    if ((r = strmap_get(a->by_key, key))) {
        if (reply.status == 404)
            ready = apply_status(a, r, NULL, NULL), set_str(&r->state, "failed"),
            set_str(&r->reason, "the API does not know this asset id"), save(a, r);
        else if (reply.status == 200 && root) {
            profile_read_reply(a->p, r->kind, "get", root, &id, &word, &reason);
            ready = apply_status(a, r, word, reason);
            free(id);
        }
    }
    pthread_mutex_unlock(&a->lock);
    if (ready && a->on_ready)
        a->on_ready(a->on_ready_arg);
    cJSON_Delete(root);
    http_reply_free(&reply);
    free(path); free(body); free(url); free(word); free(reason);
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
        for (size_t i = 0; i < d.n; i++) {
            if (a->running)
                poll_asset(a, d.keys[i]);
            free(d.keys[i]);
        }
        free(d.keys);
        pthread_mutex_lock(&a->lock);
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += (time_t)a->poll_interval;
        until.tv_nsec += (long)((a->poll_interval - (time_t)a->poll_interval) * 1e9);
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
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

struct embed_scan {
    assets *a;
    const char *payload;        /* base64 after the comma */
    const struct asset *hit;
};

static void scan_sources(const char *key, void *value, void *arg)
{
    struct embed_scan *s = arg;
    const struct asset *r = value;
    cJSON *sources, *u;
    (void)key;

    if (s->hit || !profile_kind_takes_source(s->a->p, r->kind))
        return;
    sources = load_sources(s->a, r);
    cJSON_ArrayForEach(u, sources) {
        const char *comma = strchr(u->valuestring, ',');
        if (comma && !strcmp(comma + 1, s->payload))
            s->hit = r;
    }
    cJSON_Delete(sources);
}

/* True when a data: URL carries the bytes of a source file. Lock held. */
static bool embeds_source(assets *a, const char *url, char *why, size_t why_len)
{
    const char *comma = strchr(url, ',');
    struct embed_scan s = {a, comma ? comma + 1 : "", NULL};

    if (!comma)
        return false;
    strmap_each(a->by_key, scan_sources, &s);
    if (s.hit)
        snprintf(why, why_len, "the material of asset %s/%s may not go out as a plain data: "
                 "URL: name the asset in \"assets\" instead", s.hit->kind, s.hit->name);
    return s.hit != NULL;
}

/* Refuses real-person material as a plain media URL. Lock held. */
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
            if (!profile_kind_takes_source(a->p, kind))
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
    }
    return 0;
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
    pthread_mutex_lock(&a->lock);
    rc = check_raw_material(a, content, why, why_len);
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
            cJSON_AddItemToArray(content, profile_reference(a->p, r->kind, r->asset_id));
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
