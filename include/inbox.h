/* inbox.h — the files under requests/ and what happens when they close.
 *
 *   $ cp fox.json mnt/requests/        # close() validates and submits
 *   $ cat mnt/requests/fox.error       # the reason, when close() failed
 *
 * Each file is a draft until it is flushed (close) with content. NAME.json
 * and NAME.txt are then validated (task_body.h) and handed to the outbox
 * (outbox.h); any other name (editor temp files, dot files) stays a draft
 * so "write a temp file, then rename it to NAME.json" submits at the
 * rename. Outcomes of a close():
 *   0        accepted: durably in the outbox (and, when the API answered
 *            within submit_wait, the task exists); by-name/NAME points at
 *            the task or at pending/NAME; the file turns read-only and
 *            keeps the bytes the user wrote
 *   EINVAL   invalid, or refused by the API within submit_wait: NAME.error
 *            says why; the bytes stay, so the file can be fixed and closed
 *            again
 *   EEXIST   NAME is already used by a task or request
 *   EACCES   the API refused the key
 *   ENOSPC   the disk under state_dir is full: nothing accepted, the bytes stay
 *   EIO      the request could not be saved (state_dir): nothing accepted
 *
 * Locking: one mutex inside. It is taken before the outbox's (inbox_unlink
 * withdraws under it, so an unlink and a close of the same name are
 * ordered); the outbox never calls into the inbox with its own held.
 */
#ifndef SEEDANCEFS_INBOX_H
#define SEEDANCEFS_INBOX_H

#include "outbox.h"
#include "task_body.h"
#include "store.h"
#include "tasks.h"

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

typedef struct inbox inbox;

struct inbox_stat {
    size_t size;
    time_t mtime;
    bool writable;              /* draft or rejected; false once accepted */
};

/* `rules` is borrowed for the inbox's lifetime. close() waits up to
 * `submit_wait` seconds for the API's first answer. */
inbox *inbox_new(const struct task_body_rules *rules, outbox *o, tasks *t, double submit_wait);
void inbox_free(inbox *in);

/* A check of a valid body before it is accepted (the asset gate): 0, or
 * -EINVAL with `why`. */
typedef int (*inbox_gate_fn)(const char *body, char *why, size_t why_len, void *arg);
void inbox_set_gate(inbox *in, inbox_gate_fn fn, void *arg);

/* Rebuilds requests/ from a store row (pass to outbox_restore). */
void inbox_restore(const struct stored_request *r, void *arg);

/* The outbox's reject hook: NAME.error appears and the file turns editable.
 * A rejection that arrives while the close() that submitted it is still
 * waiting is that close()'s answer (it fails with `err`). */
void inbox_on_reject(const char *name, int err, const char *why, void *arg);

/* `file` is a name inside requests/ (no '/'). Errors: -ENOENT, -EINVAL
 * (a name that cannot be a file here), -EEXIST (accepted, or the name is
 * taken), -EFBIG (past the size limit), -EBUSY (being submitted). */
int inbox_stat(inbox *in, const char *file, struct inbox_stat *st);
void inbox_each(inbox *in, void (*fn)(const char *file, void *arg), void *arg);
int inbox_create(inbox *in, const char *file);
int inbox_open(inbox *in, const char *file, bool write, bool truncate);
ssize_t inbox_read(inbox *in, const char *file, char *buf, size_t size, off_t off);
ssize_t inbox_write(inbox *in, const char *file, const char *buf, size_t size, off_t off);
int inbox_truncate(inbox *in, const char *file, off_t size);
int inbox_touch(inbox *in, const char *file);
int inbox_flush(inbox *in, const char *file);
int inbox_unlink(inbox *in, const char *file);
int inbox_rename(inbox *in, const char *from, const char *to);

#endif
