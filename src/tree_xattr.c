/* tree_xattr.c — user.seedance.* attributes: metadata for scripts without
 * parsing JSON.
 *
 *   $ getfattr -d mnt/by-name/fox/
 *   user.seedance.cached_bytes="1913046"
 *   user.seedance.created="2026-12-02T19:51:32Z"
 *   user.seedance.id="cgt-20261202195132-00001"
 *   user.seedance.model="doubao-seedance-2-0-260128"
 *   user.seedance.name="fox"
 *   user.seedance.status="succeeded"
 *   user.seedance.video_size="1913046"
 *
 * A task's directory and every file in it carry the task's attributes; a
 * request file, a pending request and an asset carry "status" (what their
 * status file would say). Read-only: setting one is refused (ENOTSUP).
 */
#include "tree_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define PREFIX "user.seedance."
#define ATTRS_MAX 8
#define VALUE_MAX 256

struct attrs {
    int n;
    const char *name[ATTRS_MAX];    /* without PREFIX */
    char value[ATTRS_MAX][VALUE_MAX];
};

static void add(struct attrs *a, const char *name, const char *value)
{
    if (a->n == ATTRS_MAX || !value || !*value)
        return;
    a->name[a->n] = name;
    snprintf(a->value[a->n], VALUE_MAX, "%s", value);
    a->n++;
}

static void add_number(struct attrs *a, const char *name, long long value)
{
    char text[32];

    snprintf(text, sizeof text, "%lld", value);
    add(a, name, text);
}

static void task_attrs(const char *id, struct attrs *a)
{
    struct fs_context *c = tree_ctx();
    char name[VALUE_MAX], model[VALUE_MAX], when[32];
    struct task_stat ts;
    time_t created;
    struct tm tm;

    if (tasks_stat(c->tasks, id, &ts) || tasks_describe(c->tasks, id, name, model, VALUE_MAX))
        return;
    add(a, "status", status_name(&ts.status));
    add(a, "id", id);
    add(a, "name", name);
    add(a, "model", model);
    created = (time_t)ts.created_at;
    if (created > 0 && gmtime_r(&created, &tm) &&
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm))
        add(a, "created", when);
    if (ts.video_size >= 0)
        add_number(a, "video_size", (long long)ts.video_size);
    add_number(a, "cached_bytes", (long long)stream_cached_bytes(c->stream, id));
}

/* requests/NAME.json: what became of it — its task's status, pending or
 * rejected while the outbox holds it, a draft before it was accepted. */
static void request_attrs(const char *file, struct attrs *a)
{
    struct fs_context *c = tree_ctx();
    char name[NAMES_MAX_KEY + 1], id[NAMES_MAX_TASK_ID + 1];
    struct inbox_stat is;
    struct outbox_view v;
    const char *dot = strrchr(file, '.');
    size_t len = dot ? (size_t)(dot - file) : strlen(file);

    if (inbox_stat(c->inbox, file, &is) || len >= sizeof name)
        return;
    memcpy(name, file, len);
    name[len] = '\0';
    if (!tasks_id_by_name(c->tasks, name, id))
        task_attrs(id, a);
    else if (!outbox_view(c->outbox, name, &v, NULL))
        add(a, "status", v.state);
    else
        add(a, "status", is.writable ? "draft" : "accepted");
}

/* assets/KIND/NAME and what is in it: the asset's status file. */
static void asset_attrs(const char *rel, struct attrs *a)
{
    char path[512], value[VALUE_MAX];
    const char *slash = strchr(rel, '/');
    int n;

    if (!slash || !slash[1])
        return;
    slash = strchr(slash + 1, '/');
    n = slash ? (int)(slash - rel) : (int)strlen(rel);
    if (snprintf(path, sizeof path, "%.*s/status", n, rel) >= (int)sizeof path)
        return;
    if ((n = assets_read(tree_ctx()->assets, path, value, sizeof value - 1, 0)) <= 0)
        return;
    value[n] = '\0';
    value[strcspn(value, "\n")] = '\0';
    add(a, "status", value);
}

static int collect(const char *path, struct attrs *a)
{
    struct tree_node n;
    struct outbox_view v;
    const char *rel = tree_assets_rel(path);
    int rc;

    a->n = 0;
    if (rel) {
        asset_attrs(rel, a);
        return 0;
    }
    if ((rc = tree_parse_path(path, &n)))
        return rc;
    switch (n.kind) {
    case NODE_TASK_DIR: case NODE_TASK_FILE: case NODE_VIDEO: case NODE_WAIT:
        if (n.pending_link) {
            if (!outbox_view(tree_ctx()->outbox, n.id, &v, NULL))
                add(a, "status", v.state);
        } else {
            task_attrs(n.id, a);
        }
        break;
    case NODE_PENDING_DIR: case NODE_PENDING_FILE:
        if (!outbox_view(tree_ctx()->outbox, n.id, &v, NULL))
            add(a, "status", v.state);
        break;
    case NODE_REQUEST_FILE:
        request_attrs(n.leaf, a);
        break;
    default:
        break;
    }
    return 0;
}

int tree_listxattr(const char *path, char *buf, size_t size)
{
    struct attrs a;
    size_t need = 0;
    int rc = collect(path, &a);

    if (rc)
        return rc;
    for (int i = 0; i < a.n; i++)
        need += strlen(PREFIX) + strlen(a.name[i]) + 1;
    if (!size)
        return (int)need;
    if (need > size)
        return -ERANGE;
    for (int i = 0; i < a.n; i++)
        buf += sprintf(buf, "%s%s", PREFIX, a.name[i]) + 1;
    return (int)need;
}

/* ls -l asks for the SELinux label and ACLs of every entry: one FUSE round
 * trip each, 30,000 for tasks/ of 10,000. "Not supported" (not "no such
 * attribute") for namespaces other than user.: ls and libacl then stop
 * asking for the rest of the device. */
bool tree_xattr_supported(const char *name)
{
    return !strncmp(name, "user.", 5);
}

int tree_getxattr(const char *path, const char *name, char *buf, size_t size)
{
    struct attrs a;
    size_t len;
    int rc;

    if (!tree_xattr_supported(name))
        return -ENOTSUP;
    if (strncmp(name, PREFIX, strlen(PREFIX)))
        return -ENODATA;
    if ((rc = collect(path, &a)))
        return rc;
    for (int i = 0; i < a.n; i++) {
        if (strcmp(name + strlen(PREFIX), a.name[i]))
            continue;
        len = strlen(a.value[i]);
        if (!size)
            return (int)len;
        if (len > size)
            return -ERANGE;
        memcpy(buf, a.value[i], len);
        return (int)len;
    }
    return -ENODATA;
}
