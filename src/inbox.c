/* inbox.c — request files: drafts, validation at close, submission; see inbox.h. */
#include "inbox.h"
#include "names.h"
#include "log.h"
#include "strmap.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum entry_state { DRAFT, SUBMITTING, REJECTED, ACCEPTED };

struct entry {
    char *file;                 /* "fox.json" */
    char *name;                 /* "fox", or NULL for a scratch file */
    char *data;
    size_t len, cap;
    enum entry_state state;
    bool dirty;                 /* written since the last close */
    char *error;                /* shown as NAME.error; NULL = none */
    char *late_reject;          /* a rejection that came while SUBMITTING */
    int late_err;
    time_t mtime;
};

struct inbox {
    const struct task_body_rules *rules;
    outbox *outbox;
    tasks *tasks;
    double submit_wait;
    inbox_gate_fn gate;
    void *gate_arg;
    pthread_mutex_t lock;
    strmap *files;              /* file name -> entry */
    strmap *errors;             /* "NAME.error" -> entry */
};

inbox *inbox_new(const struct task_body_rules *rules, outbox *o, tasks *t, double submit_wait)
{
    inbox *in = calloc(1, sizeof *in);

    if (!in)
        return NULL;
    in->rules = rules;
    in->outbox = o;
    in->tasks = t;
    in->submit_wait = submit_wait;
    in->files = strmap_new();
    in->errors = strmap_new();
    if (!in->files || !in->errors) {
        strmap_free(in->files);
        strmap_free(in->errors);
        free(in);
        return NULL;
    }
    pthread_mutex_init(&in->lock, NULL);
    return in;
}

void inbox_set_gate(inbox *in, inbox_gate_fn fn, void *arg)
{
    in->gate = fn;
    in->gate_arg = arg;
}

static void entry_free(struct entry *e)
{
    free(e->file); free(e->name); free(e->data); free(e->error); free(e->late_reject);
    free(e);
}

static void free_entry_cb(const char *key, void *value, void *arg)
{
    (void)key; (void)arg;
    entry_free(value);
}

void inbox_free(inbox *in)
{
    if (!in)
        return;
    strmap_each(in->files, free_entry_cb, NULL);
    strmap_free(in->files);
    strmap_free(in->errors);
    pthread_mutex_destroy(&in->lock);
    free(in);
}

static char *error_file_of(const char *name)
{
    char *file = NULL;
    return asprintf(&file, "%s.error", name) < 0 ? NULL : file;
}

static bool is_error_name(const char *file)
{
    size_t n = strlen(file);
    return n > 6 && !strcmp(file + n - 6, ".error");
}

/* Sets (or clears, with NULL) the reason shown in NAME.error. Lock held. */
static void set_error(inbox *in, struct entry *e, const char *why)
{
    char *errfile;

    if (!e->name)
        return;
    free(e->error);
    e->error = NULL;
    if (!(errfile = error_file_of(e->name)))
        return;
    strmap_del(in->errors, errfile);
    if (why && asprintf(&e->error, "%s\n", why) > 0 && strmap_put(in->errors, errfile, e)) {
        free(e->error);
        e->error = NULL;
    }
    free(errfile);
}

/* True when another request file or a task already uses `name`. */
static bool name_taken(inbox *in, const struct entry *self, const char *name)
{
    char id[NAMES_MAX_TASK_ID + 1];
    const char *exts[] = {".json", ".txt"};

    if (!tasks_id_by_name(in->tasks, name, id))
        return true;
    for (int i = 0; i < 2; i++) {
        char *file = NULL;
        struct entry *other;
        if (asprintf(&file, "%s%s", name, exts[i]) < 0)
            return true;
        other = strmap_get(in->files, file);
        free(file);
        if (other && other != self && other->state == ACCEPTED)
            return true;
    }
    return false;
}

int inbox_stat(inbox *in, const char *file, struct inbox_stat *st)
{
    struct entry *e;
    int rc = 0;

    pthread_mutex_lock(&in->lock);
    if ((e = strmap_get(in->files, file))) {
        st->size = e->len;
        st->mtime = e->mtime;
        st->writable = e->state != ACCEPTED;
    } else if ((e = strmap_get(in->errors, file))) {
        st->size = strlen(e->error);
        st->mtime = e->mtime;
        st->writable = false;
    } else {
        rc = -ENOENT;
    }
    pthread_mutex_unlock(&in->lock);
    return rc;
}

void inbox_each(inbox *in, void (*fn)(const char *file, void *arg), void *arg)
{
    pthread_mutex_lock(&in->lock);
    strmap_each_key(in->files, fn, arg);
    strmap_each_key(in->errors, fn, arg);
    pthread_mutex_unlock(&in->lock);
}

static void reset_content(struct entry *e)
{
    e->len = 0;
    e->dirty = true;
    e->mtime = time(NULL);
}

int inbox_create(inbox *in, const char *file)
{
    struct entry *e;
    int rc = 0;

    if (is_error_name(file) || !names_task_id_ok(file))
        return -EINVAL;
    pthread_mutex_lock(&in->lock);
    if ((e = strmap_get(in->files, file))) {
        rc = e->state == ACCEPTED ? -EEXIST : e->state == SUBMITTING ? -EBUSY : 0;
        if (!rc)
            reset_content(e);
    } else if (!(e = calloc(1, sizeof *e)) || !(e->file = strdup(file))) {
        free(e);
        rc = -ENOMEM;
    } else {
        e->name = task_body_name_of(file);
        if (e->name && name_taken(in, e, e->name))
            rc = -EEXIST;
        else
            rc = strmap_put(in->files, file, e);
        if (rc)
            entry_free(e);
        else
            reset_content(e);
    }
    pthread_mutex_unlock(&in->lock);
    return rc;
}

int inbox_open(inbox *in, const char *file, bool write, bool truncate)
{
    struct entry *e;
    int rc = 0;

    pthread_mutex_lock(&in->lock);
    if (!(e = strmap_get(in->files, file)))
        rc = strmap_get(in->errors, file) ? (write ? -EACCES : 0) : -ENOENT;
    else if (write && e->state == ACCEPTED)
        rc = -EEXIST;           /* "File exists": the name is taken by a task */
    else if (write && e->state == SUBMITTING)
        rc = -EBUSY;
    else if (truncate && write)
        reset_content(e);
    pthread_mutex_unlock(&in->lock);
    return rc;
}

ssize_t inbox_read(inbox *in, const char *file, char *buf, size_t size, off_t off)
{
    struct entry *e;
    const char *src = NULL;
    size_t len = 0;
    ssize_t n = -ENOENT;

    pthread_mutex_lock(&in->lock);
    if ((e = strmap_get(in->files, file))) {
        src = e->data;
        len = e->len;
    } else if ((e = strmap_get(in->errors, file))) {
        src = e->error;
        len = strlen(e->error);
    }
    if (e) {
        n = off >= (off_t)len ? 0 : (ssize_t)(len - off < size ? len - off : size);
        if (n > 0)
            memcpy(buf, src + off, (size_t)n);
    }
    pthread_mutex_unlock(&in->lock);
    return n;
}

/* Grows the entry's buffer to hold `len` bytes (zero-filling any gap). */
static int ensure_size(inbox *in, struct entry *e, size_t len)
{
    if (len > in->rules->max_bytes)
        return -EFBIG;
    if (len > e->cap) {
        size_t cap = e->cap ? e->cap : 4096;
        char *p;
        while (cap < len)
            cap *= 2;
        if (!(p = realloc(e->data, cap)))
            return -ENOMEM;
        e->data = p;
        e->cap = cap;
    }
    if (len > e->len)
        memset(e->data + e->len, 0, len - e->len);
    return 0;
}

static int writable_entry(inbox *in, const char *file, struct entry **out)
{
    struct entry *e = strmap_get(in->files, file);

    *out = e;
    if (!e)
        return strmap_get(in->errors, file) ? -EACCES : -ENOENT;
    if (e->state == ACCEPTED)
        return -EACCES;
    return e->state == SUBMITTING ? -EBUSY : 0;
}

ssize_t inbox_write(inbox *in, const char *file, const char *buf, size_t size, off_t off)
{
    struct entry *e;
    ssize_t rc;

    pthread_mutex_lock(&in->lock);
    if (!(rc = writable_entry(in, file, &e))) {
        if (off < 0 || (size_t)off > in->rules->max_bytes)
            rc = -EFBIG;
        else if (!(rc = ensure_size(in, e, (size_t)off + size))) {
            memcpy(e->data + off, buf, size);
            if ((size_t)off + size > e->len)
                e->len = (size_t)off + size;
            e->dirty = true;
            e->mtime = time(NULL);
            rc = (ssize_t)size;
        }
    }
    pthread_mutex_unlock(&in->lock);
    return rc;
}

int inbox_truncate(inbox *in, const char *file, off_t size)
{
    struct entry *e;
    int rc;

    pthread_mutex_lock(&in->lock);
    if (!(rc = writable_entry(in, file, &e))) {
        if (size < 0 || (size_t)size > in->rules->max_bytes)
            rc = -EFBIG;
        else if (!(rc = ensure_size(in, e, (size_t)size))) {
            e->len = (size_t)size;
            e->dirty = true;
            e->mtime = time(NULL);
        }
    }
    pthread_mutex_unlock(&in->lock);
    return rc;
}

int inbox_touch(inbox *in, const char *file)
{
    struct entry *e;
    int rc = -ENOENT;

    pthread_mutex_lock(&in->lock);
    if ((e = strmap_get(in->files, file))) {
        e->mtime = time(NULL);
        rc = 0;
    } else if (strmap_get(in->errors, file)) {
        rc = 0;
    }
    pthread_mutex_unlock(&in->lock);
    return rc;
}

/* Validates the entry's bytes and hands them to the outbox. Called with the
 * lock held and the entry in SUBMITTING; drops the lock meanwhile (the
 * outbox's reject hook takes it). */
static int submit_entry(inbox *in, struct entry *e)
{
    char why[1024] = "", *body = NULL;
    char *file = strdup(e->file), *name = strdup(e->name), *data = malloc(e->len + 1);
    bool last_frame;
    size_t len = e->len;
    int rc;

    if (!file || !name || !data) {
        free(file); free(name); free(data);
        e->state = DRAFT;
        return -ENOMEM;
    }
    memcpy(data, e->data, len);
    pthread_mutex_unlock(&in->lock);

    rc = task_body_build(file, data, len, in->rules, &body, &last_frame, why, sizeof why);
    if (!rc && in->gate)
        rc = in->gate(body, why, sizeof why, in->gate_arg);
    if (!rc) {
        struct stored_request r = {
            .name = name, .file = file, .data = data, .data_len = len, .body = body,
            .state = REQ_ACCEPTED, .wants_last_frame = last_frame, .created_at = time(NULL),
        };
        rc = outbox_accept(in->outbox, &r);
        if (rc == -EEXIST)
            snprintf(why, sizeof why, "the name %s is already used by a request", name);
        else if (rc == -EDQUOT)
            snprintf(why, sizeof why, "the mount holds max_tasks=%zu tasks and requests: "
                     "remove finished tasks (rmdir tasks/ID) or raise max_tasks",
                     outbox_max_tasks(in->outbox));
        else if (rc)
            snprintf(why, sizeof why, "cannot save the request: %s", strerror(-rc));
    }
    if (!rc) {
        /* Durable now. Wait briefly so an answer from a live API (an id, or
         * a 400) reaches this close(); a slow or dead API does not block it. */
        rc = outbox_wait(in->outbox, name, in->submit_wait, why, sizeof why);
        log_info("submit %s: %s", name, rc == -EINPROGRESS ? "accepted, pending" :
                 rc ? why : "accepted");
        if (rc == -EINPROGRESS || rc == -ENOENT)
            rc = 0;
    } else {
        log_info("submit %s: %s", name, why);
    }

    pthread_mutex_lock(&in->lock);
    if (!rc && e->late_err) {               /* refused while we waited */
        snprintf(why, sizeof why, "%s", e->late_reject ? e->late_reject : "rejected by the API");
        rc = e->late_err;
    }
    free(e->late_reject);
    e->late_reject = NULL;
    e->late_err = 0;
    if (!rc) {
        e->state = ACCEPTED;
        set_error(in, e, NULL);
    } else {
        /* EINVAL, EACCES (the API refused), EEXIST, ENOSPC, EDQUOT: the
         * bytes stay, editable. */
        e->state = REJECTED;
        set_error(in, e, why);
        if (rc != -EINVAL && rc != -EACCES && rc != -EEXIST && rc != -ENOSPC && rc != -EDQUOT)
            rc = -EIO;
    }
    free(file); free(name); free(data); free(body);
    return rc;
}

/* The entry of request `name` (NAME.json or NAME.txt). Lock held. */
static struct entry *entry_by_name(inbox *in, const char *name)
{
    const char *exts[] = {".json", ".txt"};
    struct entry *e = NULL;

    for (int i = 0; i < 2 && !e; i++) {
        char *file = NULL;
        if (asprintf(&file, "%s%s", name, exts[i]) < 0)
            return NULL;
        e = strmap_get(in->files, file);
        free(file);
    }
    return e;
}

void inbox_on_reject(const char *name, int err, const char *why, void *arg)
{
    inbox *in = arg;
    struct entry *e;

    pthread_mutex_lock(&in->lock);
    if ((e = entry_by_name(in, name)) && e->state == ACCEPTED) {
        e->state = REJECTED;
        set_error(in, e, why);
    } else if (e && e->state == SUBMITTING) {
        /* submit_entry has the entry: it applies this when it takes the
         * lock again (else it would mark a rejected request accepted). */
        free(e->late_reject);
        e->late_reject = strdup(why);
        e->late_err = err ? err : -EINVAL;      /* set even if the copy failed */
    }
    pthread_mutex_unlock(&in->lock);
}

void inbox_restore(const struct stored_request *r, void *arg)
{
    inbox *in = arg;
    struct entry *e = calloc(1, sizeof *e);

    if (!e || !(e->file = strdup(r->file)) || !(e->name = strdup(r->name)) ||
        ensure_size(in, e, r->data_len)) {
        if (e)
            entry_free(e);
        return;
    }
    memcpy(e->data, r->data, r->data_len);
    e->len = r->data_len;
    e->mtime = (time_t)r->created_at;
    e->state = r->state == REQ_REJECTED ? REJECTED : ACCEPTED;
    pthread_mutex_lock(&in->lock);
    if (strmap_put(in->files, e->file, e))
        entry_free(e);
    else if (r->state == REQ_REJECTED)
        set_error(in, e, r->last_error ? r->last_error : "rejected");
    pthread_mutex_unlock(&in->lock);
}

int inbox_flush(inbox *in, const char *file)
{
    struct entry *e;
    int rc = 0;

    pthread_mutex_lock(&in->lock);
    e = strmap_get(in->files, file);
    if (e && e->dirty && e->name && e->len > 0 && e->state != SUBMITTING &&
        e->state != ACCEPTED) {
        e->dirty = false;
        if (name_taken(in, e, e->name)) {
            char why[NAMES_MAX_NAME + 64];
            snprintf(why, sizeof why, "the name %s is already used by a task", e->name);
            set_error(in, e, why);
            e->state = REJECTED;
            rc = -EEXIST;
        } else {
            e->state = SUBMITTING;
            rc = submit_entry(in, e);
        }
    }
    pthread_mutex_unlock(&in->lock);
    return rc;
}

int inbox_unlink(inbox *in, const char *file)
{
    struct entry *e;
    int rc = 0;

    pthread_mutex_lock(&in->lock);
    if ((e = strmap_get(in->errors, file))) {
        set_error(in, e, NULL);
    } else if (!(e = strmap_get(in->files, file))) {
        rc = -ENOENT;
    } else if (e->state == SUBMITTING) {
        rc = -EBUSY;
    } else if (e->name && (rc = outbox_withdraw(in->outbox, e->name)) && rc != -ENOENT) {
        /* -EBUSY: its POST is in flight right now. */
    } else {
        /* A submitted request's task lives on under tasks/ and by-name/;
         * a pending one is withdrawn and never sent. */
        rc = 0;
        set_error(in, e, NULL);
        strmap_del(in->files, file);
        entry_free(e);
    }
    pthread_mutex_unlock(&in->lock);
    return rc;
}

int inbox_rename(inbox *in, const char *from, const char *to)
{
    struct entry *e, *target;
    char *new_file = strdup(to), *new_name = task_body_name_of(to);
    int rc = 0;

    if (!new_file)
        return -ENOMEM;
    pthread_mutex_lock(&in->lock);
    e = strmap_get(in->files, from);
    target = strmap_get(in->files, to);
    if (is_error_name(to) || !names_task_id_ok(to))
        rc = -EINVAL;
    else if (!e)
        rc = -ENOENT;
    else if (e->state == ACCEPTED || e->state == SUBMITTING)
        rc = -EBUSY;
    else if (target && target->state != DRAFT && target->state != REJECTED)
        rc = target->state == ACCEPTED ? -EEXIST : -EBUSY;
    else if (new_name && name_taken(in, e, new_name))
        rc = -EEXIST;
    if (!rc) {
        if (target && target != e) {
            set_error(in, target, NULL);
            strmap_del(in->files, to);
            entry_free(target);
        }
        set_error(in, e, NULL);
        strmap_del(in->files, from);
        free(e->file);
        free(e->name);
        e->file = new_file;
        e->name = new_name;
        new_file = new_name = NULL;
        e->state = DRAFT;
        rc = strmap_put(in->files, e->file, e);
        if (rc) {
            entry_free(e);
        } else if (e->name && e->len > 0) {
            /* "write a temp file, rename it into place" submits here. */
            e->dirty = false;
            e->state = SUBMITTING;
            rc = submit_entry(in, e);
        }
    }
    pthread_mutex_unlock(&in->lock);
    free(new_file);
    free(new_name);
    return rc;
}
