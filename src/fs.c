/* fs.c — the FUSE low-level session: inodes, operations, the session loop.
 *
 *   $ cat mnt/tasks/cgt-.../wait          # blocks (no FUSE thread held) until final
 *   $ tail -f mnt/events                  # poll()/select() wake on new lines
 *
 * Everything about *what* the tree holds is in tree.c; this file maps inode
 * numbers to paths (nodes.h), keeps directory listings as snapshots taken
 * at opendir, parks `wait` and `events` reads until a worker thread can
 * answer them (Ctrl-C answers EINTR), and tells the kernel from a notifier
 * thread (never from inside a request handler) which cached attributes and
 * pages went stale when a status changed.
 */
#include "fs_internal.h"
#include "events.h"
#include "names.h"
#include "log.h"
#include "mount_tune.h"
#include "nodes.h"

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TIMEOUT_CHANGING 1.0        /* seconds the kernel may cache live entries */
#define TIMEOUT_STABLE 3600.0       /* ... and finished ones (invalidated on change) */
#define MAX_THREADS 64
#define UNKNOWN_INO 0xffffffffu     /* readdir's d_ino: stat gives the real one */

/* A directory listing taken at opendir. */
struct listing {
    struct tracked link;            /* first, as in struct handle */
    char **names;
    mode_t *types;
    size_t n, cap;
};

struct fs_state fsx = { .lock = PTHREAD_MUTEX_INITIALIZER, .inval_cond = PTHREAD_COND_INITIALIZER,
          .open = { &fsx.open, &fsx.open, false }, .tuned = PTHREAD_ONCE_INIT };

static void track(struct tracked *t, bool is_listing)
{
    t->is_listing = is_listing;
    pthread_mutex_lock(&fsx.lock);
    t->next = fsx.open.next;
    t->prev = &fsx.open;
    fsx.open.next->prev = t;
    fsx.open.next = t;
    pthread_mutex_unlock(&fsx.lock);
}

static void untrack(struct tracked *t)
{
    pthread_mutex_lock(&fsx.lock);
    t->prev->next = t->next;
    t->next->prev = t->prev;
    pthread_mutex_unlock(&fsx.lock);
}

/* "dir/name" ("/name" under the root). NULL on ENOMEM or an over-long name. */
static char *join_path(const char *dir, const char *name)
{
    char *path = NULL;

    if (strlen(name) > 255 ||
        asprintf(&path, "%s%s%s", dir, strcmp(dir, "/") ? "/" : "", name) < 0)
        return NULL;
    return path;
}

static char *child_path(fuse_ino_t parent, const char *name)
{
    char *dir = nodes_path(fsx.nodes, parent), *path = dir ? join_path(dir, name) : NULL;

    free(dir);
    return path;
}

/* ---- attributes and entries ---- */

int fs_entry_for(const char *path, struct fuse_entry_param *e)
{
    bool stable;
    int rc;

    memset(e, 0, sizeof *e);
    if ((rc = tree_getattr(path, &e->attr, &stable)))
        return rc;
    if (!(e->ino = nodes_lookup(fsx.nodes, path)))
        return -ENOMEM;
    e->attr.st_ino = e->ino;
    e->attr_timeout = e->entry_timeout = stable ? TIMEOUT_STABLE : TIMEOUT_CHANGING;
    return 0;
}

/* Raises the mount's read-ahead (fewer, larger READs for sequential
 * readers). Only after INIT: its reply resets the bdi's read-ahead, so this
 * runs on the first request that follows. */
static void tune_mount(void)
{
    size_t readahead = fsx.ctx->cfg->readahead;
    int rc;

    if (!readahead || !fsx.abs_mountpoint)
        return;
    if ((rc = mount_set_readahead(fsx.abs_mountpoint, readahead)))
        log_info("cannot set the mount's read-ahead to %zu KiB: %s (kernel default kept)",
                 readahead / 1024, strerror(-rc));
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    struct fuse_entry_param e;
    char *path = child_path(parent, name);

    pthread_once(&fsx.tuned, tune_mount);
    int rc = path ? fs_entry_for(path, &e) : -ENOENT;

    if (rc == -EINPROGRESS) {           /* a video being sized: answered later */
        fs_lookup_parked(req, path);
        return;
    }
    free(path);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_entry(req, &e);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
    nodes_forget(fsx.nodes, ino, nlookup);
    fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *list)
{
    for (size_t i = 0; i < count; i++)
        nodes_forget(fsx.nodes, list[i].ino, list[i].nlookup);
    fuse_reply_none(req);
}

static void reply_attr(fuse_req_t req, fuse_ino_t ino, const char *path)
{
    struct stat st;
    bool stable;
    int rc = path ? tree_getattr(path, &st, &stable) : -ENOENT;

    if (rc) {
        /* -EINPROGRESS only for a lookup's first look at an unsized video:
         * an inode the kernel holds was sized when it was looked up. */
        fuse_reply_err(req, rc == -EINPROGRESS ? ENOENT : -rc);
        return;
    }
    st.st_ino = ino;
    fuse_reply_attr(req, &st, stable ? TIMEOUT_STABLE : TIMEOUT_CHANGING);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    char *path = nodes_path(fsx.nodes, ino);
    (void)fi;

    pthread_once(&fsx.tuned, tune_mount);
    reply_attr(req, ino, path);
    free(path);
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
    char *path = nodes_path(fsx.nodes, ino);
    int rc = path ? 0 : -ENOENT;

    (void)fi;
    /* Modes and owners come from -o umask, uid, gid. A chmod that asks for
     * no less than a file shows (shutil.copy, cp -p, install into
     * requests/) succeeds and changes nothing; one that would make a file
     * more private than it is, or a chown to anyone else, fails: nobody
     * may believe a file hidden that is not. */
    if (!rc && (to_set & (FUSE_SET_ATTR_MODE | FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
        struct stat now;
        bool stable;
        if (!(rc = tree_getattr(path, &now, &stable)) &&
            (((to_set & FUSE_SET_ATTR_MODE) && (now.st_mode & ~attr->st_mode & 07777)) ||
             ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != now.st_uid) ||
             ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != now.st_gid)))
            rc = -EPERM;
    }
    if (!rc && (to_set & FUSE_SET_ATTR_SIZE))
        rc = tree_truncate(path, attr->st_size);
    if (!rc && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME)))
        rc = tree_touch(path);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        reply_attr(req, ino, path);
    free(path);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
    char *path = nodes_path(fsx.nodes, ino), target[NAMES_MAX_NAME + 32];
    int rc = path ? tree_readlink(path, target, sizeof target) : -ENOENT;

    free(path);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_readlink(req, target);
}

/* ---- changes to the tree ---- */

static void reply_status(fuse_req_t req, int rc)
{
    fuse_reply_err(req, rc < 0 ? -rc : 0);
}

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
    char *path = child_path(parent, name);
    struct fuse_entry_param e;
    int rc = path ? tree_mkdir(path) : -ENOENT;

    (void)mode;
    if (!rc)
        rc = fs_entry_for(path, &e);
    free(path);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_entry(req, &e);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    char *path = child_path(parent, name);
    reply_status(req, path ? tree_unlink(path) : -ENOENT);
    free(path);
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
    char *path = child_path(parent, name);
    reply_status(req, path ? tree_rmdir(path) : -ENOENT);
    free(path);
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
                      fuse_ino_t newparent, const char *newname, unsigned int flags)
{
    char *from = child_path(parent, name), *to = child_path(newparent, newname);
    int rc = from && to ? tree_rename(from, to, flags) : -ENOENT;

    if (!rc)
        nodes_rename(fsx.nodes, from, to);
    free(from);
    free(to);
    reply_status(req, rc);
}

/* ---- files ---- */

static struct handle *handle_new(const char *path, enum tree_open_kind kind, const char *id,
                                 bool by_name, struct fuse_file_info *fi)
{
    struct handle *h = calloc(1, sizeof *h);

    if (!h || !(h->path = strdup(path))) {
        free(h);
        return NULL;
    }
    h->refs = 1;
    h->kind = kind;
    h->by_name = by_name;
    if (id)
        snprintf(h->id, sizeof h->id, "%s", id);
    if (kind == TREE_OPEN_EVENTS) {
        if (!(h->reader = events_open(fsx.events))) {
            free(h->path);
            free(h);
            return NULL;
        }
        pthread_mutex_lock(&fsx.lock);
        h->next_reader = fsx.readers;
        fsx.readers = h;
        pthread_mutex_unlock(&fsx.lock);
    }
    fi->direct_io = kind != TREE_OPEN_KEEP;
    fi->keep_cache = kind == TREE_OPEN_KEEP;
    fi->nonseekable = kind == TREE_OPEN_EVENTS;
    fi->fh = (uintptr_t)h;
    track(&h->link, false);
    return h;
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    char *path = nodes_path(fsx.nodes, ino), id[NAMES_MAX_KEY + 1] = "";
    enum tree_open_kind kind;
    bool by_name = false;
    int rc = path ? tree_open(path, fi->flags, &kind, id, &by_name) : -ENOENT;

    if (!rc && !handle_new(path, kind, id, by_name, fi))
        rc = -ENOMEM;
    free(path);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_open(req, fi);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
    char *path = child_path(parent, name);
    struct fuse_entry_param e;
    enum tree_open_kind kind;
    int rc = path ? tree_create(path) : -ENOENT;

    (void)mode;
    if (!rc)
        rc = tree_open(path, fi->flags & ~O_TRUNC, &kind, NULL, NULL);
    if (!rc)
        rc = fs_entry_for(path, &e);
    if (!rc && !handle_new(path, kind, NULL, false, fi)) {
        nodes_forget(fsx.nodes, e.ino, 1);
        rc = -ENOMEM;
    }
    free(path);
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_create(req, &e, fi);
}

static struct handle *handle_of(struct fuse_file_info *fi)
{
    return (struct handle *)(uintptr_t)fi->fh;
}

/* libfuse's interrupt callback for a read that may wait for video bytes:
 * flags it and wakes it; the reading thread replies EINTR. */
static void on_read_interrupt(fuse_req_t req, void *data)
{
    (void)req;
    atomic_store((atomic_bool *)data, true);
    tree_wake_readers();
}

/* The largest read reply libfuse can splice: it wants the bytes, a page
 * for the header and two more in one pipe. With CAP_SYS_RESOURCE a pipe
 * grows as needed; without, to pipe-max-size (1 MiB unless raised), so
 * 1008 KiB, which is why the mount's read-ahead is 1008K. Larger replies
 * are copied here: libfuse's own fallback for them (an aligned buffer per
 * reply) measured twice the daemon's CPU of a cold read. */
#define SPLICE_HEADROOM (16u << 10)  /* header page, libfuse's two, an unaligned range's */

static size_t splice_limit(void)
{
    int p[2], got;
    size_t limit = 0;

    if (pipe2(p, O_CLOEXEC))
        return 0;
    if (fcntl(p[0], F_SETPIPE_SZ, 2 << 20) >= 0)
        limit = SIZE_MAX;           /* a MiB READ and its header fit */
    else if ((got = fcntl(p[0], F_SETPIPE_SZ, 1 << 20)) >= 0 ||
             (got = fcntl(p[0], F_GETPIPE_SZ)) >= 0)
        limit = (size_t)got > SPLICE_HEADROOM ? (size_t)got - SPLICE_HEADROOM : 0;
    close(p[0]);
    close(p[1]);
    return limit;
}

/* A video read's reply, straight from the cache file: libfuse splices the
 * range into /dev/fuse (FUSE_CAP_SPLICE_WRITE), one copy fewer than a
 * pread into a buffer (and copies itself where it cannot splice). */
struct file_reply {
    fuse_req_t req;
    bool sent;
};

static ssize_t reply_from_file(void *arg, int fd, off_t off, size_t n)
{
    struct file_reply *r = arg;
    struct fuse_bufvec data = FUSE_BUFVEC_INIT(n);
    char *buf = NULL;
    ssize_t got = (ssize_t)n;
    int rc;

    if (n > fsx.splice_max) {
        if (!(buf = malloc(n)))
            return -ENOMEM;
        if ((got = pread(fd, buf, n, off)) < 0) {
            free(buf);
            return -EIO;
        }
    }
    data.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
    data.buf[0].fd = fd;
    data.buf[0].pos = off;
    fuse_req_interrupt_func(r->req, NULL, NULL);   /* the reply frees req */
    r->sent = true;             /* either way the request is answered */
    if (buf)
        rc = fuse_reply_buf(r->req, buf, (size_t)got);
    else
        rc = n ? fuse_reply_data(r->req, &data, 0) : fuse_reply_buf(r->req, NULL, 0);
    free(buf);
    return rc ? rc : got;
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);
    struct file_reply reply = { .req = req };
    atomic_bool interrupted = false;
    char *buf = NULL;
    int n;

    (void)ino;
    if (h->kind == TREE_OPEN_WAIT || h->kind == TREE_OPEN_EVENTS) {
        fs_read_parked(req, h, size, off, fi->flags);
        return;
    }
    /* Registered before the read can wait; called inline when the read was
     * interrupted already. Unregistering waits for a callback under way. */
    fuse_req_interrupt_func(req, on_read_interrupt, &interrupted);
    n = tree_read_video(h->path, size, off, &interrupted, reply_from_file, &reply);
    if (n == -ENOTSUP && !reply.sent) {
        if (!(buf = malloc(size ? size : 1)))
            n = -ENOMEM;
        else
            n = tree_read(h->path, buf, size, off, &interrupted);
    }
    if (!reply.sent) {          /* else reply_from_file answered */
        fuse_req_interrupt_func(req, NULL, NULL);
        if (n < 0)
            fuse_reply_err(req, -n);
        else
            fuse_reply_buf(req, buf, (size_t)n);
    }
    free(buf);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
    int n = tree_write(handle_of(fi)->path, buf, size, off);

    (void)ino;
    if (n < 0)
        fuse_reply_err(req, -n);
    else
        fuse_reply_write(req, (size_t)n);
}

static void ll_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    (void)ino;
    reply_status(req, tree_flush(handle_of(fi)->path));
}

void fs_handle_unref(struct handle *h)
{
    bool last;

    pthread_mutex_lock(&fsx.lock);
    last = --h->refs == 0;
    pthread_mutex_unlock(&fsx.lock);
    if (!last)
        return;
    if (h->reader)
        events_close(fsx.events, h->reader);
    free(h->path);
    free(h);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct handle *h = handle_of(fi);

    (void)ino;
    untrack(&h->link);
    if (h->reader) {
        pthread_mutex_lock(&fsx.lock);
        for (struct handle **p = &fsx.readers; *p; p = &(*p)->next_reader)
            if (*p == h) {
                *p = h->next_reader;
                break;
            }
        if (h->ph)
            fuse_pollhandle_destroy(h->ph);
        h->ph = NULL;
        pthread_mutex_unlock(&fsx.lock);
    }
    fs_handle_unref(h);             /* a parked read's wake-up may still hold it */
    fuse_reply_err(req, 0);
}

static void ll_poll(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi,
                    struct fuse_pollhandle *ph)
{
    struct handle *h = handle_of(fi);
    unsigned revents = POLLIN;

    (void)ino;
    if (h->kind == TREE_OPEN_EVENTS) {
        /* Ready when a line is waiting; else keep ph to notify on the next one. */
        pthread_mutex_lock(&fsx.lock);
        if (ph) {
            if (h->ph)
                fuse_pollhandle_destroy(h->ph);
            h->ph = ph;
        }
        pthread_mutex_unlock(&fsx.lock);
        revents = events_pending(fsx.events, h->reader) ? POLLIN : 0;
    } else if (ph) {
        fuse_pollhandle_destroy(ph);
    }
    fuse_reply_poll(req, revents);
}

/* ---- directories ---- */

static void listing_add(const char *name, mode_t type, void *arg)
{
    struct listing *l = arg;

    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 64;
        char **names = realloc(l->names, cap * sizeof *names);
        mode_t *types = names ? realloc(l->types, cap * sizeof *types) : NULL;
        if (names)
            l->names = names;
        if (!types)
            return;
        l->types = types;
        l->cap = cap;
    }
    if ((l->names[l->n] = strdup(name)))
        l->types[l->n++] = type;
}

static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->names[i]);
    free(l->names);
    free(l->types);
    free(l);
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    char *path = nodes_path(fsx.nodes, ino);
    struct listing *l = calloc(1, sizeof *l);
    int rc = !path ? -ENOENT : !l ? -ENOMEM : tree_readdir(path, listing_add, l);

    free(path);
    if (rc) {
        if (l)
            listing_free(l);
        fuse_reply_err(req, -rc);
        return;
    }
    fi->fh = (uintptr_t)l;
    track(&l->link, true);
    fuse_reply_open(req, fi);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
    struct listing *l = (struct listing *)(uintptr_t)fi->fh;
    char *buf = malloc(size);
    size_t used = 0;

    (void)ino;
    if (!buf) {
        fuse_reply_err(req, ENOMEM);
        return;
    }
    for (size_t i = (size_t)off; i < l->n; i++) {
        struct stat st = { .st_ino = UNKNOWN_INO, .st_mode = l->types[i] };
        size_t need = fuse_add_direntry(req, buf + used, size - used, l->names[i], &st,
                                        (off_t)i + 1);
        if (need > size - used)
            break;
        used += need;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
}

/* readdir with attributes: `ls -l` of 10,000 tasks needs no lookup each.
 * Every entry but . and .. counts as a lookup, undone if it did not fit. */
static void ll_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                           struct fuse_file_info *fi)
{
    struct listing *l = (struct listing *)(uintptr_t)fi->fh;
    char *dir = nodes_path(fsx.nodes, ino), *buf = malloc(size);
    size_t used = 0;
    bool plus;

    if (!buf || !dir) {
        free(buf);
        free(dir);
        fuse_reply_err(req, buf ? ENOENT : ENOMEM);
        return;
    }
    /* Attributes pay off in the big top-level listings (tasks/, by-name/);
     * inside a task's directory they would only pin an inode per file for
     * every directory `find` walks through. */
    plus = strchr(dir + 1, '/') == NULL;
    for (size_t i = (size_t)off; i < l->n; i++) {
        struct fuse_entry_param e = { .attr.st_ino = UNKNOWN_INO, .attr.st_mode = l->types[i] };
        const char *name = l->names[i];
        size_t need;

        if (plus && strcmp(name, ".") && strcmp(name, "..")) {
            char *path = join_path(dir, name);
            if (!path)
                break;
            if (fs_entry_for(path, &e)) {          /* gone since opendir */
                free(path);
                continue;
            }
            free(path);
        }
        need = fuse_add_direntry_plus(req, buf + used, size - used, name, &e, (off_t)i + 1);
        if (need > size - used) {
            if (e.ino)
                nodes_forget(fsx.nodes, e.ino, 1);
            break;
        }
        used += need;
    }
    fuse_reply_buf(req, buf, used);
    free(buf);
    free(dir);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
    struct listing *l = (struct listing *)(uintptr_t)fi->fh;

    (void)ino;
    untrack(&l->link);
    listing_free(l);
    fuse_reply_err(req, 0);
}

/* Attributes are read-only user.seedance.* (tree_xattr.c). */
static void reply_xattr(fuse_req_t req, int rc, const char *buf, size_t size)
{
    if (rc < 0)
        fuse_reply_err(req, -rc);
    else if (!size)
        fuse_reply_xattr(req, (size_t)rc);
    else
        fuse_reply_buf(req, buf, (size_t)rc);
}

static void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
    char *path, *buf;
    int rc;

    if (!tree_xattr_supported(name)) {          /* ls -l's ACLs and labels: not looked up */
        fuse_reply_err(req, ENOTSUP);
        return;
    }
    path = nodes_path(fsx.nodes, ino);
    buf = size ? malloc(size) : NULL;
    rc = !path ? -ENOENT : size && !buf ? -ENOMEM : tree_getxattr(path, name, buf, size);

    reply_xattr(req, rc, buf, size);
    free(buf);
    free(path);
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
    char *path = nodes_path(fsx.nodes, ino), *buf = size ? malloc(size) : NULL;
    int rc = !path ? -ENOENT : size && !buf ? -ENOMEM : tree_listxattr(path, buf, size);

    reply_xattr(req, rc, buf, size);
    free(buf);
    free(path);
}

static void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
    (void)ino; (void)name; (void)value; (void)size; (void)flags;
    fuse_reply_err(req, ENOTSUP);   /* cp -a into the mount skips them quietly */
}

static void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
    (void)ino; (void)name;
    fuse_reply_err(req, ENOTSUP);
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
    struct statvfs sv;
    int rc = tree_statfs(&sv);

    (void)ino;
    if (rc)
        fuse_reply_err(req, -rc);
    else
        fuse_reply_statfs(req, &sv);
}

/* ---- the session ---- */

static void stop_threads(void)
{
    if (fsx.ctx->stop_threads)
        fsx.ctx->stop_threads(fsx.ctx);
    if (fsx.started) {
        pthread_mutex_lock(&fsx.lock);
        fsx.running = false;
        pthread_cond_broadcast(&fsx.inval_cond);
        pthread_mutex_unlock(&fsx.lock);
        pthread_join(fsx.notifier, NULL);
        fsx.started = false;
    }
}

static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
    struct fs_context *c = userdata;
    int rc;

    /* O_TRUNC arrives with open(), so `cp` onto an accepted request fails
     * with EEXIST before anything is truncated. */
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
        conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    /* Video bytes go from the cache file to the kernel by splice. */
    if (conn->capable & FUSE_CAP_SPLICE_WRITE) {
        conn->want |= FUSE_CAP_SPLICE_WRITE;
        fsx.splice_max = splice_limit();
    }
    fsx.running = true;
    if ((rc = -pthread_create(&fsx.notifier, NULL, fs_notifier_main, NULL)))
        log_startup_error("cannot start the notifier thread: %s", strerror(-rc));
    else
        fsx.started = true;
    /* Without the submitter a close() would accept what nobody sends. */
    if (rc || (c->start_threads && (rc = c->start_threads(c)))) {
        fsx.failed = true;
        fuse_session_exit(fsx.se);
        return;
    }
    log_info("mounted %s on %s (pid %ld)", c->cfg->api_url, c->cfg->mountpoint,
             (long)getpid());
}

static void ll_destroy(void *userdata)
{
    struct fs_context *c = userdata;
    stop_threads();
    log_info("unmounted %s", c->cfg->mountpoint);
}

static const struct fuse_lowlevel_ops ll_ops = {
    .init = ll_init,
    .destroy = ll_destroy,
    .lookup = ll_lookup,
    .forget = ll_forget,
    .forget_multi = ll_forget_multi,
    .getattr = ll_getattr,
    .setattr = ll_setattr,
    .readlink = ll_readlink,
    .mkdir = ll_mkdir,
    .unlink = ll_unlink,
    .rmdir = ll_rmdir,
    .rename = ll_rename,
    .open = ll_open,
    .create = ll_create,
    .read = ll_read,
    .write = ll_write,
    .flush = ll_flush,
    .release = ll_release,
    .opendir = ll_opendir,
    .readdir = ll_readdir,
    .readdirplus = ll_readdirplus,
    .releasedir = ll_releasedir,
    .statfs = ll_statfs,
    .getxattr = ll_getxattr,
    .listxattr = ll_listxattr,
    .setxattr = ll_setxattr,
    .removexattr = ll_removexattr,
    .poll = ll_poll,
};


/* The loop returns the signal that ended it (SIGTERM, SIGINT: a clean
 * stop, exit 0), or -errno. */
static int loop_status(int rc)
{
    return rc < 0 ? 1 : 0;
}

int fs_main(int argc, char **argv, struct fs_context *c)
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct fuse_cmdline_opts opts = {0};
    struct fuse_loop_config *loop = NULL;
    int status = 1;

    fsx.ctx = c;
    tree_init(c);
    if (fuse_parse_cmdline(&args, &opts)) {
        fprintf(stderr, "seedancefs: cannot parse the FUSE options (try --help)\n");
        return 1;
    }
    if (!(fsx.nodes = nodes_new()) || !(fsx.events = events_new(fs_on_events_ready, NULL)))
        goto out;
    if (!(fsx.se = fuse_session_new(&args, &ll_ops, sizeof ll_ops, c)))
        goto out;                   /* libfuse printed why (e.g. an unknown option) */
    /* SIGTERM and SIGINT end the session; SIGHUP is blocked in every
     * thread and waited for by log.c's thread (it reopens the log). */
    if (fuse_set_signal_handlers(fsx.se))
        goto out_session;
    /* Resolved now: after mounting, a lookup there would wait on ourselves. */
    fsx.abs_mountpoint = realpath(opts.mountpoint, NULL);
    if (fuse_session_mount(fsx.se, opts.mountpoint))
        goto out_signals;
    /* Detaching happened in main.c, before SQLite and threads: only the
     * working directory changes (daemon_ready), once init succeeded. */
    if (opts.singlethread) {
        status = loop_status(fuse_session_loop(fsx.se));
    } else if ((loop = fuse_loop_cfg_create())) {
        fuse_loop_cfg_set_clone_fd(loop, (unsigned)opts.clone_fd);
        fuse_loop_cfg_set_max_threads(loop, opts.max_threads ? opts.max_threads : MAX_THREADS);
        status = loop_status(fuse_session_loop_mt(fsx.se, loop));
        fuse_loop_cfg_destroy(loop);
    }
    if (fsx.failed)
        status = 1;
    fs_answer_parked_reads();          /* their requests are freed by the reply */
    fuse_session_unmount(fsx.se);
out_signals:
    fuse_remove_signal_handlers(fsx.se);
out_session:
    fuse_session_destroy(fsx.se);       /* calls destroy (stop_threads) if init ran */
out:
    /* Files and directories still open (their RELEASE never came). The
     * events readers go with events_free below. */
    while (fsx.open.next != &fsx.open) {
        struct tracked *t = fsx.open.next;
        untrack(t);
        if (t->is_listing) {
            listing_free((struct listing *)t);
        } else {
            struct handle *h = (struct handle *)t;
            if (h->ph)
                fuse_pollhandle_destroy(h->ph);
            free(h->path);
            free(h);
        }
    }
    /* Parked reads were answered (and freed) by fs_answer_parked_reads. */
    id_queue_clear(&fsx.inval);
    events_free(fsx.events);
    nodes_free(fsx.nodes);
    free(fsx.abs_mountpoint);
    fsx.abs_mountpoint = NULL;
    free(opts.mountpoint);
    fuse_opt_free_args(&args);
    return status;
}
