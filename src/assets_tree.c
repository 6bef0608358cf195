/* assets_tree.c — the asset steps as file operations under assets/.
 *
 *   $ mkdir mnt/assets/real-person/alice
 *   $ cp face.jpg mnt/assets/real-person/alice/source/
 *   $ cp consent.json mnt/assets/real-person/alice/authorization.json
 *   $ touch mnt/assets/real-person/alice/create
 *   $ echo vh-lib-0001 > mnt/assets/virtual-human/host/select
 *
 * Each step is one operation and is refused (with the reason in `error`)
 * until the one before it happened; see assets.h. */
#include "assets_internal.h"
#include "clock.h"
#include "names.h"
#include "log.h"

#include <time.h>

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char readme_off[] =
    "Real-person and virtual-human assets are announced but not launched by the provider.\n"
    "seedancefs has the flow ready; it needs an asset profile naming the endpoints:\n"
    "  seedancefs MNT -o api_url=...,assets_profile=FILE   (see profiles/README.md)\n"
    "Until then this directory refuses writes.\n";
static const char readme_on[] =
    "Steps, each one file operation:\n"
    "  mkdir KIND/NAME                       a local draft\n"
    "  cp face.jpg KIND/NAME/source/         material (kinds that take it)\n"
    "  echo URL > KIND/NAME/source/face.url  material by public URL\n"
    "  cp consent.json KIND/NAME/authorization.json   {\"subject\", \"authorized_by\", \"usage\"}\n"
    "  touch KIND/NAME/create                send it for verification\n"
    "  echo LIBRARY_ID > KIND/NAME/select    or use an existing library asset\n"
    "  cat KIND/NAME/link                    a link a person must open (liveness)\n"
    "  echo URL > KIND/NAME/callback         where the browser landed afterwards\n"
    "  echo OTHER > KIND/NAME/reuse          join a verified asset's group (drafts)\n"
    "  cat KIND/NAME/status                  draft pending verifying active failed expired\n"
    "Requests name assets with \"assets\": [\"NAME\", ...]; they wait until all are active.\n";

/* ---- paths ---- */

/* rel split: kind / name / file / source file. */
struct where {
    char part[4][NAMES_MAX_PART];
    int n;
    struct asset *r;            /* set when kind/name exists (lock held by caller) */
    struct library_entry *lib;  /* else: kind/name is an entry of the provider's library */
};

static struct library_entry *library_entry(assets *a, const char *kind, const char *id)
{
    struct library *l = assets_library(a, kind);

    for (int i = 0; l && i < l->n; i++)
        if (!strcmp(l->entries[i].id, id))
            return &l->entries[i];
    return NULL;
}

static int split(assets *a, const char *rel, struct where *w)
{
    memset(w, 0, sizeof *w);
    if ((w->n = names_split_path(rel, w->part, 4)) < 0)
        return -ENOENT;
    if (w->n >= 2 && a->p) {
        char key[520];
        snprintf(key, sizeof key, "%s/%s", w->part[0], w->part[1]);
        w->r = strmap_get(a->by_key, key);
        if (!w->r) {
            w->lib = library_entry(a, w->part[0], w->part[1]);
            return -ENOENT;         /* callers that show the library look at w->lib */
        }
    }
    return 0;
}

/* The bytes of a library entry's files (status, id), or -ENOENT. */
static int library_file(const struct library_entry *e, const char *file, char **data,
                        size_t *len)
{
    int n = !strcmp(file, "status") ? asprintf(data, "%s\n", e->state)
          : !strcmp(file, "id") ? asprintf(data, "%s\n", e->id) : (*data = NULL, -2);
    if (n == -2)
        return -ENOENT;
    if (n < 0)
        return -ENOMEM;
    *len = (size_t)n;
    return 0;
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

/* The buffer of a file written in small pieces and acted on at close(). */
static struct draft *draft_of(struct asset *r, const char *file)
{
    return !strcmp(file, "authorization.json") ? &r->auth : !strcmp(file, "select") ? &r->select
         : !strcmp(file, "callback") ? &r->callback : !strcmp(file, "reuse") ? &r->reuse : NULL;
}

/* What `status` says: the state word first, then why or what is awaited. */
static int status_text(const struct asset *r, char **data)
{
    if (r->reason && (!strcmp(r->state, "failed") || !strcmp(r->state, "expired")))
        return asprintf(data, "%s: %s\n", r->state, r->reason);
    if (r->link && r->link_expires) {
        char when[32];
        time_t t = (time_t)r->link_expires;
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
        return asprintf(data, "%s: a person must open the link in `link` before %s\n",
                        r->state, when);
    }
    if (r->link)
        return asprintf(data, "%s: a person must open the link in `link`\n", r->state);
    return asprintf(data, "%s\n", r->state);
}

/* The bytes of a small file of `r`: status, id, error, link, authorization.json, select. */
static int small_file(const struct asset *r, const char *file, char **data, size_t *len)
{
    *data = NULL;
    if (!strcmp(file, "status")) {
        *len = (size_t)status_text(r, data);
    } else if (!strcmp(file, "id") && r->asset_id) {
        *len = (size_t)asprintf(data, "%s\n", r->asset_id);
    } else if (!strcmp(file, "error") && r->error) {
        *len = (size_t)asprintf(data, "%s\n", r->error);
    } else if (!strcmp(file, "link") && r->link) {
        *len = (size_t)asprintf(data, "%s\n", r->link);
    } else if (!strcmp(file, "authorization.json") && (r->authorization || r->auth.data)) {
        const char *src = r->authorization ? r->authorization : r->auth.data;
        *len = r->authorization ? strlen(src) : r->auth.len;
        if ((*data = malloc(*len + 1)))
            memcpy(*data, src, *len);
    } else if (!strcmp(file, "select") && r->select.data) {
        *len = r->select.len;
        if ((*data = malloc(*len + 1)))
            memcpy(*data, r->select.data, *len);
    } else {
        return -ENOENT;
    }
    return *data ? 0 : -ENOMEM;
}

/* Files that act when written: create, select, and (while they mean
 * something) callback and reuse. */
static bool is_trigger(const assets *a, const struct asset *r, const char *file)
{
    return (!strcmp(file, "create") && profile_kind_has(a->p, r->kind, "create")) ||
           (!strcmp(file, "select") && profile_kind_has(a->p, r->kind, "select")) ||
           (!strcmp(file, "callback") && r->link && profile_kind_has_callback(a->p, r->kind)) ||
           (!strcmp(file, "reuse") && profile_reuse(a->p, r->kind) && !strcmp(r->state, "draft"));
}

static void fill(struct stat *st, mode_t mode, off_t size, time_t t)
{
    memset(st, 0, sizeof *st);
    st->st_mode = mode;
    st->st_nlink = S_ISDIR(mode) ? 2 : 1;
    st->st_size = size;             /* owner and umask: tree_getattr */
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
    if (rc && w.lib && w.n == 2) {
        fill(st, S_IFDIR | 0555, 0, 0);     /* the provider's: read-only */
        rc = 0;
    } else if (rc && w.lib && w.n == 3 && !(rc = library_file(w.lib, w.part[2], &data, &len))) {
        fill(st, S_IFREG | 0444, (off_t)len, 0);
        free(data);
    }
    if (rc || w.lib)
        goto out;
    if (w.n == 0)
        fill(st, S_IFDIR | (a->p ? 0777 : 0555), 0, 0);
    else if (w.n == 1 && !strcmp(w.part[0], "README"))
        fill(st, S_IFREG | 0444, a->p ? sizeof readme_on - 1 : sizeof readme_off - 1, 0);
    else if (!a->p)
        rc = -ENOENT;
    else if (w.n == 1)
        rc = profile_has_kind(a->p, w.part[0]) ? (fill(st, S_IFDIR | 0777, 0, 0), 0) : -ENOENT;
    else if (w.n == 2)
        fill(st, S_IFDIR | 0777, 0, (time_t)w.r->created_at);
    else if (!strcmp(w.part[2], "source") && (profile_kind_material(a->p, w.r->kind) != MATERIAL_NONE)) {
        if (w.n == 3)
            fill(st, S_IFDIR | 0777, 0, (time_t)w.r->created_at);
        else if (!(path = assets_source_file(a, w.r, w.part[3])))
            rc = -ENOENT;
        else {
            struct stat real;
            rc = stat(path, &real) ? -ENOENT : 0;
            if (!rc)
                fill(st, S_IFREG | (strcmp(w.r->state, "draft") ? 0444 : 0666), real.st_size,
                     real.st_mtim.tv_sec);
            free(path);
        }
    } else if (w.n == 3 && is_trigger(a, w.r, w.part[2])) {
        fill(st, S_IFREG | 0222, 0, (time_t)w.r->created_at);
    } else if (w.n == 3 && !(rc = small_file(w.r, w.part[2], &data, &len))) {
        bool editable = !strcmp(w.part[2], "authorization.json") && !w.r->authorization;
        fill(st, S_IFREG | (editable ? 0666 : 0444), (off_t)len, (time_t)w.r->created_at);
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
    static const char *const files[] = {"status", "id", "error", "link", "authorization.json",
                                        NULL};
    static const char *const triggers[] = {"create", "select", "callback", "reuse", NULL};
    struct where w;
    int rc;

    pthread_mutex_lock(&a->lock);
    if ((rc = split(a, rel, &w)) && w.lib && w.n == 2) {
        add(".", S_IFDIR, arg);
        add("..", S_IFDIR, arg);
        add("status", S_IFREG, arg);
        add("id", S_IFREG, arg);
        rc = 0;
        goto out;
    }
    if (rc)
        goto out;
    add(".", S_IFDIR, arg);
    add("..", S_IFDIR, arg);
    if (w.n == 0) {
        add("README", S_IFREG, arg);
        for (int i = 0; a->p && profile_kind(a->p, i); i++)
            add(profile_kind(a->p, i), S_IFDIR, arg);
    } else if (w.n == 1 && a->p && profile_has_kind(a->p, w.part[0])) {
        struct list_ctx c = {add, arg, w.part[0]};
        struct library *l = assets_library(a, w.part[0]);
        strmap_each(a->by_key, list_names, &c);
        for (int i = 0; l && i < l->n; i++) {
            char key[520];
            snprintf(key, sizeof key, "%s/%s", w.part[0], l->entries[i].id);
            if (!strmap_get(a->by_key, key))      /* a local asset of that name wins */
                add(l->entries[i].id, S_IFDIR, arg);
        }
        if (l && clock_mono() - l->listed_at >= a->poll_interval) {
            l->wanted = true;                     /* fresh on the next poll, not now */
            pthread_cond_signal(&a->wake);
        }
    } else if (w.n == 2) {
        for (int i = 0; files[i]; i++) {
            char *data;
            size_t len;
            if (!small_file(w.r, files[i], &data, &len)) {
                add(files[i], S_IFREG, arg);
                free(data);
            }
        }
        if (profile_kind_material(a->p, w.r->kind) != MATERIAL_NONE)
            add("source", S_IFDIR, arg);
        for (int i = 0; triggers[i]; i++)
            if (is_trigger(a, w.r, triggers[i]))
                add(triggers[i], S_IFREG, arg);
    } else if (w.n == 3 && !strcmp(w.part[2], "source")) {
        char *dir = assets_source_dir(a, w.r);
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
    if (rc && w.lib && w.n == 3)
        rc = library_file(w.lib, w.part[2], &data, &len);
    else if (rc && w.lib)
        rc = -EISDIR;
    else if (!rc && w.n == 1 && !strcmp(w.part[0], "README")) {
        const char *text = a->p ? readme_on : readme_off;
        len = strlen(text);
        data = strdup(text);
    } else if (!rc && w.n == 4 && (path = assets_source_file(a, w.r, w.part[3]))) {
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
        return w->lib ? -EACCES : rc;       /* the provider's library is read-only */
    if (w->n < 3)
        return -EISDIR;
    if (w->n == 4 || !strcmp(w->part[2], "authorization.json")) {
        if (strcmp(w->r->state, "draft"))
            return -EPERM;          /* sent: material and consent are fixed */
        if (w->n == 4 && (profile_kind_material(a->p, w->r->kind) == MATERIAL_NONE ||
                          strcmp(w->part[2], "source")))
            return -ENOENT;
        return 0;
    }
    return is_trigger(a, w->r, w->part[2]) ? 0 : -EACCES;
}

static void reset_buffer(struct asset *r, const char *file)
{
    struct draft *d = draft_of(r, file);

    if (!d) {
        r->create_armed = true;
        return;
    }
    /* An empty buffer, not none: the file exists from its creation on. */
    if (!d->data)
        d->data = calloc(1, 1);
    d->len = 0;
    d->armed = true;
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
        w.r->auth.armed = true;
    pthread_mutex_unlock(&a->lock);
    if (!rc && w.n == 4 && truncate)
        rc = assets_truncate(a, rel, 0);
    return rc;
}

/* A source file changed: the URL an upload made of it is no longer its. Lock held. */
static void forget_upload(struct asset *r, const char *file)
{
    char key[NAMES_MAX_PART + 8];

    snprintf(key, sizeof key, "upload/%s", file);
    cJSON_DeleteItemFromObjectCaseSensitive(r->vars, key);
}

static bool url_file(const char *name)
{
    size_t len = strlen(name);
    return len > 4 && !strcmp(name + len - 4, ".url");
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
    if (!rc && w.n == 4 && profile_kind_material(a->p, w.r->kind) == MATERIAL_URL &&
        !url_file(w.part[3]) && !profile_upload(a->p, w.r->kind)) {
        assets_set_str(&w.r->error, "this provider takes material only as public URLs: write "
                                    "the URL into source/NAME.url");
        rc = -EPERM;
    } else if (!rc && w.n == 4) {
        dir = assets_source_dir(a, w.r);
        path = assets_source_file(a, w.r, w.part[3]);
        forget_upload(w.r, w.part[3]);
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
    if (!rc && w.n == 4) {
        path = assets_source_file(a, w.r, w.part[3]);
        forget_upload(w.r, w.part[3]);
    } else if (!rc && draft_of(w.r, w.part[2])) {
        struct draft *d = draft_of(w.r, w.part[2]);
        rc = grow_write(&d->data, &d->len, buf, size, off);
        d->armed = true;
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
    if (!rc && w.n == 4) {
        path = assets_source_file(a, w.r, w.part[3]);
        forget_upload(w.r, w.part[3]);
    } else if (!rc && size == 0)
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
    cJSON *root = r->auth.data ? cJSON_ParseWithLength(r->auth.data, r->auth.len) : NULL;
    int rc = 0;

    r->auth.armed = false;
    assets_set_str(&r->error, NULL);
    if (!cJSON_IsObject(root)) {
        assets_set_str(&r->error, "authorization.json: not a JSON object");
        rc = -EINVAL;
    }
    for (int i = 0; !rc && required[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, required[i]);
        if (!cJSON_IsString(v) || !v->valuestring[0]) {
            char why[128];
            snprintf(why, sizeof why, "authorization.json: \"%s\" is required", required[i]);
            assets_set_str(&r->error, why);
            rc = -EINVAL;
        }
    }
    if (!rc) {
        char *text = cJSON_Print(root);
        assets_set_str(&r->authorization, text);
        free(text);
        assets_save(a, r);
        log_info("asset %s/%s: authorization recorded", r->kind, r->name);
    }
    cJSON_Delete(root);
    return rc;
}

/* The first line of a draft's bytes, disarmed: what select, callback and reuse act on. */
static void text_of(struct draft *d, char *out, size_t size)
{
    size_t n = d->len < size - 1 ? d->len : size - 1;

    d->armed = false;
    memcpy(out, d->data ? d->data : "", n);
    out[n] = '\0';
    out[strcspn(out, "\r\n")] = '\0';
    out[strcspn(out, " \t")] = '\0';
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
    if (!strcmp(w.part[2], "authorization.json") && w.r->auth.armed) {
        rc = accept_authorization(a, w.r);
    } else if (!strcmp(w.part[2], "select") && w.r->select.armed) {
        /* Step 4 (select): an existing library asset by its id. */
        char id[NAMES_MAX_TASK_ID + 1];
        text_of(&w.r->select, id, sizeof id);
        if (!w.r->authorization)
            rc = -EINVAL, snprintf(why, sizeof why, "write authorization.json first");
        else if (!names_task_id_ok(id))
            rc = -EINVAL, snprintf(why, sizeof why, "select: not a usable asset id");
        else if (w.r->sending || w.r->op)
            rc = -EBUSY;
        else {
            if (!w.r->vars)
                w.r->vars = cJSON_CreateObject();
            cJSON_DeleteItemFromObjectCaseSensitive(w.r->vars, "id");
            cJSON_AddStringToObject(w.r->vars, "id", id);
            assets_set_str(&w.r->op, "select");
            w.r->step = 0;
            assets_set_state(a, w.r, "pending", NULL);
            pthread_cond_signal(&a->wake);
        }
    } else if (!strcmp(w.part[2], "callback") && w.r->callback.armed) {
        char url[4097];
        text_of(&w.r->callback, url, sizeof url);
        rc = assets_flow_callback(a, w.r, url, why, sizeof why);
    } else if (!strcmp(w.part[2], "reuse") && w.r->reuse.armed) {
        char from[NAMES_MAX_NAME + 1];
        text_of(&w.r->reuse, from, sizeof from);
        rc = assets_flow_reuse(a, w.r, from, why, sizeof why);
    } else if (!strcmp(w.part[2], "create") && w.r->create_armed) {
        w.r->create_armed = false;
        create = true;
    }
    pthread_mutex_unlock(&a->lock);
    if (create)
        rc = assets_flow_start(a, key, "create", why, sizeof why);
    if (why[0]) {
        log_info("asset %s: %s", key, why);
        pthread_mutex_lock(&a->lock);
        if (split(a, rel, &w) == 0 && w.r)
            assets_set_str(&w.r->error, why);
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
    if (!rc && w.n == 4) {
        path = assets_source_file(a, w.r, w.part[3]);
        forget_upload(w.r, w.part[3]);
    } else if (!rc) {
        rc = -EPERM;
    }
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
        names_request_name_ok(w.part[1]) && strmap_count(a->by_key) >= ASSETS_MAX_LOCAL) {
        log_error("asset %s/%s: the mount holds %d assets already; remove some (rmdir)",
                  w.part[0], w.part[1], ASSETS_MAX_LOCAL);
        rc = -EDQUOT;
    } else if (rc == -ENOENT && w.n == 2 && profile_has_kind(a->p, w.part[0]) &&
               names_request_name_ok(w.part[1])) {
        struct asset *r = assets_add_record(a, w.part[0], w.part[1]);
        rc = r ? 0 : -ENOMEM;
        if (r) {
            assets_save(a, r);
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

/* rmdir of a library entry: deleted at the provider when the profile can. */
static int delete_library_entry(assets *a, const char *kind, const char *id)
{
    char why[512] = "";
    int rc = profile_kind_has(a->p, kind, "delete") ? assets_flow_delete(a, kind, id, why,
                                                                         sizeof why) : -EPERM;
    struct library *l;

    if (rc) {
        log_info("asset %s/%s (library): not deleted%s%s", kind, id, why[0] ? ": " : "", why);
        return rc;
    }
    pthread_mutex_lock(&a->lock);
    if ((l = assets_library(a, kind)))
        l->deletes++;                   /* a list in flight may still hold it */
    for (int i = 0; l && i < l->n; i++)
        if (!strcmp(l->entries[i].id, id)) {
            free(l->entries[i].id);
            free(l->entries[i].state);
            l->entries[i] = l->entries[--l->n];
            break;
        }
    pthread_mutex_unlock(&a->lock);
    log_info("asset %s/%s (library): deleted at the provider", kind, id);
    return 0;
}

int assets_rmdir(assets *a, const char *rel)
{
    struct where w;
    char key[520], *dir = NULL;
    int rc;

    pthread_mutex_lock(&a->lock);
    rc = split(a, rel, &w);
    if (rc && w.lib && w.n == 2) {
        char id[NAMES_MAX_PART];
        snprintf(id, sizeof id, "%s", w.lib->id);
        pthread_mutex_unlock(&a->lock);
        return delete_library_entry(a, w.part[0], id);
    }
    if (!rc && (w.n != 2 || !a->p))
        rc = -EPERM;
    else if (!rc && ((strcmp(w.r->state, "draft") && strcmp(w.r->state, "failed") &&
                      strcmp(w.r->state, "active") && strcmp(w.r->state, "expired")) ||
                     w.r->sending))
        rc = -EBUSY;                /* being verified, or a step is at work */
    if (!rc && w.r->asset_id && profile_kind_has(a->p, w.r->kind, "delete")) {
        /* The provider deletes it first; only then is it forgotten here. */
        char id[NAMES_MAX_PART], why[512] = "";
        snprintf(id, sizeof id, "%s", w.r->asset_id);
        w.r->sending = true;
        pthread_mutex_unlock(&a->lock);
        rc = assets_flow_delete(a, w.part[0], id, why, sizeof why);
        pthread_mutex_lock(&a->lock);
        if (split(a, rel, &w) == 0) {
            w.r->sending = false;
            if (rc)
                assets_set_str(&w.r->error, why);
        } else if (!rc) {
            rc = -ENOENT;
        }
        if (rc)
            log_info("asset %s: not deleted at the provider: %s", rel, why);
    }
    if (!rc) {
        snprintf(key, sizeof key, "%s/%s", w.part[0], w.part[1]);
        dir = assets_source_dir(a, w.r);
        store_asset_delete(a->store, w.r->kind, w.r->name);
        assets_free_record(strmap_del(a->by_key, key));
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
