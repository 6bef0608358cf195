/* inbox.h — the files under requests/ and what happens when they close.
 *
 *   $ cp fox.json mnt/requests/        # close() validates and submits
 *   $ cat mnt/requests/fox.error       # the reason, when close() failed
 *
 * Each file is a draft until it is flushed (close) with content. NAME.json
 * and NAME.txt are then validated (request.h) and submitted; any other name
 * (editor temp files, dot files) stays a draft so "write a temp file, then
 * rename it to NAME.json" submits at the rename. Outcomes of a close():
 *   0        accepted: the task exists, by-name/NAME points at it, and the
 *            file turns read-only (it keeps the bytes the user wrote)
 *   EINVAL   invalid (or refused by the API): NAME.error says why; the
 *            bytes stay, so the file can be fixed and closed again
 *   EEXIST   NAME is already used by a task
 *   EACCES   the API refused the key
 *   EIO      the API could not be reached: nothing was created, the file
 *            stays a draft, NAME.error says so
 */
#ifndef SEEDANCEFS_INBOX_H
#define SEEDANCEFS_INBOX_H

#include "api.h"
#include "request.h"
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

/* `rules` is borrowed for the inbox's lifetime. */
inbox *inbox_new(const struct request_rules *rules, api *a, tasks *t);
void inbox_free(inbox *in);

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
