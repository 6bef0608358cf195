/* tree.c — the tree users see: what is at a path, and what it holds.
 *
 *   $ cp fox.json mnt/requests/           # close() validates and submits
 *   $ ls mnt/by-name/                     # fox -> ../tasks/cgt-...
 *   $ cat mnt/by-name/fox/status          # queued, running, succeeded
 *   $ ffprobe mnt/by-name/fox/video.mp4   # byte ranges from the API
 *   $ rmdir mnt/tasks/cgt-...             # cancel (queued) or delete (finished)
 *
 * Path in, errno out; no FUSE types. fs.c adapts it to the kernel.
 */
#include "tree.h"
#include "tree_internal.h"
#include "names.h"
#include "log.h"

#include <fcntl.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char readme_text[] =
"seedancefs: the Seedance video API as files.\n"
"  cat STATUS                      the mount at a glance: tasks, requests, cache, API\n"
"  cp prompt.json requests/        submit (close() fails with the reason if invalid)\n"
"  echo 'a fox in snow' > requests/fox.txt    the same, prompt only\n"
"  cat requests/NAME.error         why NAME was refused or not sent\n"
"  ls by-name/                     NAME -> ../tasks/<id> (../pending/NAME until sent)\n"
"  cat tasks/<id>/status           queued running succeeded failed cancelled expired\n"
"  tasks/<id>/video.mp4            appears when succeeded; streamed and seekable\n"
"  tasks/<id>/error                appears when failed: code and message\n"
"  cat tasks/<id>/wait             blocks until the task is finished, then its status\n"
"  tail -f events                  one line per status change: time id name old new\n"
"  (wait and events block by design, so ls does not list them: tree walkers\n"
"  like cp -r, rsync, grep -r never open them; open them by name)\n"
"  pending/NAME/status, reason     accepted, not yet created at the API, and why\n"
"  rmdir tasks/<id>                cancel a queued task, delete a finished one\n";

/* The files of pending/NAME/. */
static const char *const pending_files[] = {"status", "reason", "request.json", "wait"};
#define N_PENDING_FILES 4
#define TREE_FREE_FILES 1000000

/* Modes before -o umask (default 022) takes bits off: what may be written
 * is writable for all, so that umask=000 with allow_other lets every user
 * submit, as with other FUSE filesystems. */
#define MODE_RW_DIR 0777
#define MODE_RO     0555            /* directories; files lose the x below */
#define MODE_RW     0666


static const struct { const char *name; enum task_file file; } task_files[] = {
    {"status", TASK_STATUS}, {"task.json", TASK_JSON}, {"request.json", TASK_REQUEST},
    {"error", TASK_ERROR}, {"last_frame.png", TASK_LAST_FRAME},
    {"video_error", TASK_VIDEO_ERROR}, {"progress", TASK_PROGRESS},
    {"thumbnail.webp", TASK_THUMBNAIL},
};
#define N_TASK_FILES (sizeof task_files / sizeof *task_files)

static struct fs_context *the_context;

const char *tree_assets_rel(const char *path)
{
    if (strncmp(path, "/assets", 7) || (path[7] && path[7] != '/'))
        return NULL;
    return path[7] ? path + 8 : "";
}

struct fs_context *tree_ctx(void)
{
    return the_context;
}

void tree_init(struct fs_context *c)
{
    the_context = c;
}

/* The node's id or name, checked against its buffer here rather than
 * trusted to a validator's limit elsewhere. */
static int set_key(struct tree_node *n, const char *key)
{
    size_t len = strlen(key);

    if (len >= sizeof n->id)
        return -ENAMETOOLONG;
    memcpy(n->id, key, len + 1);
    return 0;
}

int tree_parse_path(const char *path, struct tree_node *n)
{
    char parts[3][NAMES_MAX_PART];
    int count = names_split_path(path, parts, 3);

    memset(n, 0, sizeof *n);
    if (count < 0)
        return count;
    /* Paths from the kernel are normalised ("/a/b"): the second component
     * starts right after the first. */
    if (count >= 2)
        n->leaf = path + strlen(parts[0]) + 2;
    if (count == 0)
        return n->kind = NODE_ROOT, 0;
    if (!strcmp(parts[0], "README"))
        return count == 1 ? (n->kind = NODE_README, 0) : -ENOTDIR;
    if (!strcmp(parts[0], "STATUS"))
        return count == 1 ? (n->kind = NODE_STATUS_FILE, 0) : -ENOTDIR;
    if (!strcmp(parts[0], "events"))
        return count == 1 ? (n->kind = NODE_EVENTS, 0) : -ENOTDIR;
    if (!strcmp(parts[0], "requests")) {
        if (count == 1)
            return n->kind = NODE_REQUESTS, 0;
        return count == 2 ? (n->kind = NODE_REQUEST_FILE, 0) : -ENOENT;
    }
    if (!strcmp(parts[0], "by-name")) {
        struct outbox_view v;
        if (count == 1)
            return n->kind = NODE_BYNAME, 0;
        if (count > 2)
            return -ENOENT;     /* the kernel follows the link itself */
        n->kind = NODE_BYNAME_LINK;
        if (!tasks_id_by_name(tree_ctx()->tasks, parts[1], n->id))
            return 0;
        if (!names_request_name_ok(parts[1]) || outbox_view(tree_ctx()->outbox, parts[1], &v, NULL))
            return -ENOENT;
        if (set_key(n, parts[1]))
            return -ENOENT;
        n->pending_link = true;
        return 0;
    }
    if (!strcmp(parts[0], "pending")) {
        struct outbox_view v;
        if (count == 1)
            return n->kind = NODE_PENDING, 0;
        if (!names_request_name_ok(parts[1]))
            return -ENOENT;
        if (outbox_view(tree_ctx()->outbox, parts[1], &v, NULL)) {
            /* Sent meanwhile: a by-name link read a moment ago still says
             * ../pending/NAME, so NAME resolves to its task from here too. */
            if (tasks_id_by_name(tree_ctx()->tasks, parts[1], n->id))
                return -ENOENT;
            goto task_node;
        }
        if (set_key(n, parts[1]))
            return -ENOENT;
        if (count == 2)
            return n->kind = NODE_PENDING_DIR, 0;
        if (!strcmp(parts[2], "wait"))
            return n->kind = NODE_WAIT, n->pending_link = true, 0;
        for (int i = 0; i < N_PENDING_FILES - 1; i++)
            if (!strcmp(parts[2], pending_files[i]))
                return n->kind = NODE_PENDING_FILE, n->pfile = (enum pending_file)i, 0;
        return -ENOENT;
    }
    if (strcmp(parts[0], "tasks"))
        return -ENOENT;
    if (count == 1)
        return n->kind = NODE_TASKS, 0;
    if (!names_task_id_ok(parts[1]))
        return -ENOENT;
    if (set_key(n, parts[1]))
        return -ENOENT;
task_node:
    if (count == 2)
        return n->kind = NODE_TASK_DIR, 0;
    n->leaf = strrchr(path, '/') + 1;
    if (!strcmp(parts[2], "video.mp4"))
        return n->kind = NODE_VIDEO, 0;
    if (!strcmp(parts[2], "wait"))
        return n->kind = NODE_WAIT, 0;
    for (size_t i = 0; i < N_TASK_FILES; i++)
        if (!strcmp(parts[2], task_files[i].name))
            return n->kind = NODE_TASK_FILE, n->file = task_files[i].file, 0;
    return -ENOENT;
}

static void fill_times(struct stat *st, time_t created, time_t updated)
{
    st->st_atim.tv_sec = updated;
    st->st_mtim.tv_sec = updated;
    st->st_ctim.tv_sec = updated > created ? updated : created;
}

static void fill_dir(struct stat *st, mode_t mode, time_t t)
{
    st->st_mode = S_IFDIR | mode;
    st->st_nlink = 2;
    fill_times(st, t, t);
}

static void fill_file(struct stat *st, mode_t mode, off_t size, time_t created, time_t updated)
{
    st->st_mode = S_IFREG | (mode & 0666);
    st->st_nlink = 1;
    st->st_size = size;
    st->st_blocks = (size + 511) / 512;
    fill_times(st, created, updated);
}

/* The bytes of pending/NAME/FILE (malloc'd). */
static int pending_file_bytes(const char *name, enum pending_file f, char **data, size_t *len)
{
    struct outbox_view v;
    char *body = NULL;
    int rc = outbox_view(tree_ctx()->outbox, name, &v, f == PENDING_REQUEST ? &body : NULL);

    *data = NULL;
    if (rc)
        return rc;
    if (f == PENDING_REQUEST)
        *data = body;
    else if (asprintf(data, "%s\n", f == PENDING_STATUS ? v.state : v.reason) < 0)
        *data = NULL;
    if (!*data)
        return -ENOMEM;
    *len = strlen(*data);
    return 0;
}

/* video.mp4 exists once its size is known, unless the provider no longer
 * has it and it is not all cached here. */
static bool video_shown(struct fs_context *c, const char *id, const struct task_stat *ts)
{
    return ts->video_size >= 0 && (!ts->size[TASK_VIDEO_ERROR] || stream_complete(c->stream, id));
}

static int node_getattr(const char *path, struct stat *st, bool *stable)
{
    struct fs_context *c = tree_ctx();
    struct tree_node n;
    struct task_stat ts;
    struct inbox_stat is;
    const char *rel = tree_assets_rel(path);
    int rc;

    *stable = false;
    if (rel)
        return assets_getattr(c->assets, rel, st);
    if ((rc = tree_parse_path(path, &n)))
        return rc;
    memset(st, 0, sizeof *st);
    st->st_blksize = 4096;
    switch (n.kind) {
    case NODE_ROOT: case NODE_BYNAME: case NODE_PENDING: case NODE_PENDING_DIR:
        fill_dir(st, MODE_RO, c->mount_time);
        return 0;
    case NODE_TASKS:                        /* rmdir tasks/<id> writes to it */
        fill_dir(st, MODE_RW_DIR, c->mount_time);
        return 0;
    case NODE_PENDING_FILE: {
        char *data;
        size_t len;
        if ((rc = pending_file_bytes(n.id, n.pfile, &data, &len)))
            return rc;
        free(data);
        fill_file(st, MODE_RO, (off_t)len, c->mount_time, c->mount_time);
        return 0;
    }
    case NODE_REQUESTS:
        fill_dir(st, MODE_RW_DIR, c->mount_time);
        return 0;
    case NODE_README:
        fill_file(st, MODE_RO, sizeof readme_text - 1, c->mount_time, c->mount_time);
        *stable = true;
        return 0;
    case NODE_STATUS_FILE: {
        char *data;
        size_t len;
        if ((rc = report_text(c->report, &data, &len)))
            return rc;
        free(data);
        fill_file(st, MODE_RO, (off_t)len, c->mount_time, time(NULL));
        return 0;
    }
    case NODE_EVENTS:
        fill_file(st, MODE_RO, 0, c->mount_time, c->mount_time);
        return 0;
    case NODE_REQUEST_FILE:
        if ((rc = inbox_stat(c->inbox, n.leaf, &is)))
            return rc;
        fill_file(st, is.writable ? MODE_RW : MODE_RO, (off_t)is.size, is.mtime, is.mtime);
        return 0;
    case NODE_BYNAME_LINK:
        st->st_mode = S_IFLNK | 0777;
        st->st_nlink = 1;
        st->st_size = (off_t)strlen(n.pending_link ? "../pending/" : "../tasks/") +
                      (off_t)strlen(n.id);
        fill_times(st, c->mount_time, c->mount_time);
        return 0;
    default:
        break;
    }
    if (n.kind == NODE_WAIT && n.pending_link) {    /* pending/NAME/wait */
        fill_file(st, MODE_RO, 0, c->mount_time, c->mount_time);
        return 0;
    }
    if ((rc = tasks_stat(c->tasks, n.id, &ts)))
        return rc;
    /* A finished task changes no more (its rmdir is invalidated explicitly). */
    *stable = status_final(&ts.status);
    if (n.kind == NODE_WAIT) {
        fill_file(st, MODE_RO, 0, ts.created_at, ts.updated_at);
        return 0;
    }
    if (n.kind == NODE_TASK_DIR) {
        fill_dir(st, MODE_RO, ts.updated_at);
        st->st_ctim.tv_sec = ts.created_at;
        return 0;
    }
    if (n.kind == NODE_VIDEO) {
        /* Never sized (made elsewhere): learned now, the caller waits. */
        if (ts.video_unsized &&
            ((rc = tasks_size_video(c->tasks, n.id)) || (rc = tasks_stat(c->tasks, n.id, &ts))))
            return rc;
        if (!video_shown(c, n.id, &ts))
            return -ENOENT;
        fill_file(st, MODE_RO, ts.video_size, ts.created_at, ts.updated_at);
        return 0;
    }
    if (!ts.size[n.file] && n.file != TASK_STATUS)
        return -ENOENT;
    fill_file(st, MODE_RO, (off_t)ts.size[n.file], ts.created_at, ts.updated_at);
    return 0;
}

int tree_getattr(const char *path, struct stat *st, bool *stable)
{
    const struct config *cfg = tree_ctx()->cfg;
    int rc = node_getattr(path, st, stable);

    /* One owner and one umask for the whole tree (-o uid,gid,umask): with
     * allow_other the kernel checks them (default_permissions). */
    if (!rc) {
        /* Nothing dates from 1970: what has no time of its own (assets/
         * and its kinds) shows the mount's. */
        if (!st->st_mtim.tv_sec) {
            st->st_mtim.tv_sec = st->st_atim.tv_sec = tree_ctx()->mount_time;
            if (!st->st_ctim.tv_sec)
                st->st_ctim.tv_sec = tree_ctx()->mount_time;
        }
        st->st_uid = cfg->uid;
        st->st_gid = cfg->gid;
        if (!S_ISLNK(st->st_mode))
            st->st_mode &= ~cfg->umask;
    }
    return rc;
}

int tree_statfs(struct statvfs *sv)
{
    struct fs_context *c = tree_ctx();
    size_t used, max, floor, avail;
    unsigned long long size, room, block = 4096;

    stream_cache_usage(c->stream, &used, &max, &floor, &avail);
    /* The cache's bound, or less when the disk under state_dir has less
     * room above the free-space floor (unknown: SIZE_MAX). */
    if (avail == SIZE_MAX)
        room = max ? max : used;
    else
        room = used + (avail > floor ? avail - floor : 0);
    size = max && max < room ? max : room;
    if (size < used)
        size = used;
    memset(sv, 0, sizeof *sv);
    sv->f_bsize = sv->f_frsize = block;
    sv->f_blocks = (size + block - 1) / block;
    sv->f_bfree = sv->f_bavail = sv->f_blocks - (used + block - 1) / block;
    /* df -i: used = the tasks; free = room for requests (tools that check
     * for free inodes before creating a file must not refuse). */
    sv->f_ffree = sv->f_favail = TREE_FREE_FILES;
    sv->f_files = tasks_count(c->tasks) + TREE_FREE_FILES;
    sv->f_namemax = 255;
    return 0;
}

struct fill_ctx {
    tree_add_fn add;
    void *arg;
    bool by_name;
};

static void fill_task(const char *id, const char *name, void *arg)
{
    struct fill_ctx *f = arg;

    if (f->by_name && name)
        f->add(name, S_IFLNK, f->arg);
    else if (!f->by_name)
        f->add(id, S_IFDIR, f->arg);
}

static void fill_request(const char *file, void *arg)
{
    struct fill_ctx *f = arg;
    f->add(file, S_IFREG, f->arg);
}

/* A pending request under by-name/ unless a task already has the name. */
static void fill_pending_name(const char *name, void *arg)
{
    struct fill_ctx *f = arg;
    char id[NAMES_MAX_TASK_ID + 1];

    if (!f->by_name || tasks_id_by_name(tree_ctx()->tasks, name, id))
        f->add(name, f->by_name ? S_IFLNK : S_IFDIR, f->arg);
}

int tree_readdir(const char *path, tree_add_fn add, void *arg)
{
    struct fs_context *c = tree_ctx();
    struct fill_ctx f = {add, arg, false};
    struct task_stat ts;
    struct tree_node n;
    const char *rel = tree_assets_rel(path);
    int rc;

    if (rel)
        return assets_readdir(c->assets, rel, add, arg);
    if ((rc = tree_parse_path(path, &n)))
        return rc;
    add(".", S_IFDIR, arg);
    add("..", S_IFDIR, arg);
    switch (n.kind) {
    /* The files whose reads block (events, wait) are not listed: tree
     * walkers (cp -r, rsync, grep -r, indexers) never open them, and
     * whoever wants them opens them by name. */
    case NODE_ROOT:
        add("README", S_IFREG, arg);
        add("STATUS", S_IFREG, arg);
        add("requests", S_IFDIR, arg);
        add("tasks", S_IFDIR, arg);
        add("by-name", S_IFDIR, arg);
        add("pending", S_IFDIR, arg);
        add("assets", S_IFDIR, arg);
        return 0;
    case NODE_PENDING:
        outbox_each(c->outbox, fill_pending_name, &f);
        return 0;
    case NODE_PENDING_DIR:
        for (int i = 0; i < N_PENDING_FILES; i++)
            if (i != PENDING_WAIT)
                add(pending_files[i], S_IFREG, arg);
        return 0;
    case NODE_REQUESTS:
        inbox_each(c->inbox, fill_request, &f);
        return 0;
    case NODE_TASKS:
    case NODE_BYNAME:
        f.by_name = n.kind == NODE_BYNAME;
        tasks_each(c->tasks, fill_task, &f);
        if (f.by_name)
            outbox_each(c->outbox, fill_pending_name, &f);
        return 0;
    case NODE_TASK_DIR:
        if ((rc = tasks_stat(c->tasks, n.id, &ts)))
            return rc;
        for (size_t i = 0; i < N_TASK_FILES; i++)
            if (ts.size[task_files[i].file] || task_files[i].file == TASK_STATUS)
                add(task_files[i].name, S_IFREG, arg);
        if (ts.video_unsized || video_shown(c, n.id, &ts))
            add("video.mp4", S_IFREG, arg);
        return 0;
    default:
        return -ENOTDIR;
    }
}

int tree_readlink(const char *path, char *buf, size_t size)
{
    struct tree_node n;
    int rc = tree_parse_path(path, &n);

    if (rc)
        return rc;
    if (n.kind != NODE_BYNAME_LINK)
        return -EINVAL;
    snprintf(buf, size, "%s%s", n.pending_link ? "../pending/" : "../tasks/", n.id);
    return 0;
}

int tree_open(const char *path, int flags, enum tree_open_kind *kind, char *id, bool *by_name)
{
    struct tree_node n;
    struct stat st;
    bool stable;
    const char *rel = tree_assets_rel(path);
    int rc, acc = flags & O_ACCMODE;

    *kind = TREE_OPEN_DIRECT;   /* status and friends change under the reader */
    if (by_name)
        *by_name = false;
    if (rel)
        return assets_open(tree_ctx()->assets, rel, acc != O_RDONLY, flags & O_TRUNC);
    if ((rc = tree_parse_path(path, &n)))
        return rc;
    if (n.kind == NODE_REQUEST_FILE)
        return inbox_open(tree_ctx()->inbox, n.leaf, acc != O_RDONLY, flags & O_TRUNC);
    if (acc != O_RDONLY)
        return -EACCES;
    if ((rc = tree_getattr(path, &st, &stable)))
        return rc;
    if (S_ISDIR(st.st_mode))
        return -EISDIR;
    if (n.kind == NODE_VIDEO && !stream_complete(tree_ctx()->stream, n.id))
        /* Not all on disk yet: bypass the page cache, so cold bytes are not
         * copied into two page caches (ours and the kernel's for this file);
         * measured 2x faster cold. Once complete, opens keep the cache. */
        *kind = TREE_OPEN_DIRECT;
    else if (n.kind == NODE_VIDEO || (n.kind == NODE_TASK_FILE && (n.file == TASK_LAST_FRAME ||
                                                                    n.file == TASK_THUMBNAIL)) ||
             n.kind == NODE_README)
        *kind = TREE_OPEN_KEEP;     /* immutable once it exists */
    else if (n.kind == NODE_WAIT)
        *kind = TREE_OPEN_WAIT;
    else if (n.kind == NODE_EVENTS)
        *kind = TREE_OPEN_EVENTS;
    if (id)
        memcpy(id, n.id, sizeof n.id);
    if (by_name)
        *by_name = n.pending_link;
    return 0;
}

static int copy_slice(const char *src, size_t len, char *buf, size_t size, off_t off)
{
    size_t n;

    if (off >= (off_t)len)
        return 0;
    n = len - (size_t)off < size ? len - (size_t)off : size;
    memcpy(buf, src + off, n);
    return (int)n;
}

void tree_wake_readers(void)
{
    stream_wake_readers(tree_ctx()->stream);
}

int tree_read(const char *path, char *buf, size_t size, off_t off, const atomic_bool *cancel)
{
    struct fs_context *c = tree_ctx();
    struct tree_node n;
    char *data;
    size_t len;
    const char *rel = tree_assets_rel(path);
    int rc;

    if (rel)
        return assets_read(c->assets, rel, buf, size, off);
    if ((rc = tree_parse_path(path, &n)))
        return rc;
    switch (n.kind) {
    case NODE_README:
        return copy_slice(readme_text, sizeof readme_text - 1, buf, size, off);
    case NODE_STATUS_FILE:
        if ((rc = report_text(c->report, &data, &len)))
            return rc;
        rc = copy_slice(data, len, buf, size, off);
        free(data);
        return rc;
    case NODE_REQUEST_FILE:
        return (int)inbox_read(c->inbox, n.leaf, buf, size, off);
    case NODE_VIDEO:
        return (int)stream_read(c->stream, n.id, buf, size, off, cancel);
    case NODE_PENDING_FILE:
        if ((rc = pending_file_bytes(n.id, n.pfile, &data, &len)))
            return rc;
        rc = copy_slice(data, len, buf, size, off);
        free(data);
        return rc;
    case NODE_TASK_FILE:
        if ((rc = tasks_read_file(c->tasks, n.id, n.file, &data, &len)))
            return rc == -ENOENT && n.file == TASK_STATUS ? 0 : rc;
        rc = copy_slice(data, len, buf, size, off);
        free(data);
        return rc;
    default:
        return -EISDIR;
    }
}

int tree_read_video(const char *path, size_t size, off_t off, const atomic_bool *cancel,
                    stream_deliver_fn deliver, void *arg)
{
    struct tree_node n;
    int rc;

    if (tree_assets_rel(path))
        return -ENOTSUP;
    if ((rc = tree_parse_path(path, &n)))
        return rc;
    if (n.kind != NODE_VIDEO)
        return -ENOTSUP;
    return (int)stream_read_to(tree_ctx()->stream, n.id, size, off, cancel, deliver, arg);
}

/* Writes are allowed in requests/ only. */
static int request_leaf(const char *path, const char **leaf)
{
    struct tree_node n;
    int rc = tree_parse_path(path, &n);

    if (rc == -ENOENT && !strncmp(path, "/requests/", 10) && !strchr(path + 10, '/')) {
        *leaf = path + 10;
        return 0;
    }
    if (rc)
        return rc;
    if (n.kind != NODE_REQUEST_FILE)
        return n.kind == NODE_REQUESTS || n.kind == NODE_TASK_DIR || n.kind == NODE_ROOT ||
               n.kind == NODE_TASKS || n.kind == NODE_BYNAME || n.kind == NODE_PENDING ||
               n.kind == NODE_PENDING_DIR ? -EISDIR : -EACCES;
    *leaf = n.leaf;
    return 0;
}

int tree_create(const char *path)
{
    const char *leaf, *rel = tree_assets_rel(path);
    int rc;

    if (rel)
        return assets_create(tree_ctx()->assets, rel);
    rc = request_leaf(path, &leaf);
    if (rc)
        return rc == -EISDIR ? -EEXIST : rc;
    return inbox_create(tree_ctx()->inbox, leaf);
}

int tree_write(const char *path, const char *buf, size_t size, off_t off)
{
    const char *leaf, *rel = tree_assets_rel(path);
    int rc;

    if (rel)
        return assets_write(tree_ctx()->assets, rel, buf, size, off);
    rc = request_leaf(path, &leaf);
    return rc ? rc : (int)inbox_write(tree_ctx()->inbox, leaf, buf, size, off);
}

int tree_truncate(const char *path, off_t size)
{
    const char *leaf, *rel = tree_assets_rel(path);
    int rc;

    if (rel)
        return assets_truncate(tree_ctx()->assets, rel, size);
    rc = request_leaf(path, &leaf);
    return rc ? rc : inbox_truncate(tree_ctx()->inbox, leaf, size);
}

int tree_touch(const char *path)
{
    const char *leaf, *rel = tree_assets_rel(path);
    int rc;

    if (rel)                    /* `touch create` arms the step; the flush runs it */
        return assets_open(tree_ctx()->assets, rel, true, false);
    rc = request_leaf(path, &leaf);
    return rc ? -EPERM : inbox_touch(tree_ctx()->inbox, leaf);
}

int tree_flush(const char *path)
{
    struct tree_node n;
    const char *rel = tree_assets_rel(path);

    if (rel)
        return assets_flush(tree_ctx()->assets, rel);
    if (tree_parse_path(path, &n) || n.kind != NODE_REQUEST_FILE)
        return 0;
    return inbox_flush(tree_ctx()->inbox, n.leaf);
}

int tree_unlink(const char *path)
{
    if (tree_assets_rel(path))
        return assets_unlink(tree_ctx()->assets, tree_assets_rel(path));
    const char *leaf;
    int rc = request_leaf(path, &leaf);

    return rc ? (rc == -EACCES ? -EPERM : rc) : inbox_unlink(tree_ctx()->inbox, leaf);
}

int tree_rename(const char *from, const char *to, unsigned int flags)
{
    const char *a, *b;

    if (flags || request_leaf(from, &a) || request_leaf(to, &b))
        return flags ? -EINVAL : -EXDEV;
    return inbox_rename(tree_ctx()->inbox, a, b);
}

int tree_mkdir(const char *path)
{
    const char *rel = tree_assets_rel(path);
    return rel ? assets_mkdir(tree_ctx()->assets, rel) : -EPERM;
}

int tree_rmdir(const char *path)
{
    if (tree_assets_rel(path))
        return assets_rmdir(tree_ctx()->assets, tree_assets_rel(path));
    struct tree_node n;
    char why[512] = "";
    int rc = tree_parse_path(path, &n);

    if (rc)
        return rc;
    if (n.kind != NODE_TASK_DIR)
        return -EPERM;
    rc = tasks_remove(tree_ctx()->tasks, n.id, why, sizeof why);
    if (rc)
        log_info("rmdir %s: %s", n.id, why);
    if (rc == -EINVAL || rc == -EPROTO)
        rc = -EIO;
    return rc;
}


size_t tree_wait_answer(const char *id, bool by_name, char *buf, size_t size)
{
    struct fs_context *c = tree_ctx();
    char task_id[NAMES_MAX_TASK_ID + 1];
    struct outbox_view v;
    struct task_stat ts;

    if (by_name) {
        /* A pending request: rejected, still waiting, or now a task. */
        if (!outbox_view(c->outbox, id, &v, NULL))
            return strcmp(v.state, "rejected") ? 0 : (size_t)snprintf(buf, size, "rejected\n");
        if (tasks_id_by_name(c->tasks, id, task_id))
            return (size_t)snprintf(buf, size, "deleted\n");
        id = task_id;
    }
    if (tasks_stat(c->tasks, id, &ts))
        return (size_t)snprintf(buf, size, "deleted\n");
    return status_final(&ts.status) ? (size_t)snprintf(buf, size, "%s\n", status_name(&ts.status))
                                    : 0;
}
