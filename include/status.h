/* status.h — a task's status, the one representation inside the daemon.
 *
 *   $ cat mnt/tasks/cgt-.../status
 *   running
 *
 * Six states the tree shows, or a word no table knows, kept as the server
 * sent it (shown as it is, never final). The server's many words are mapped
 * onto these by api.c (api_status_of_word); this file only names them.
 * A value type: copy it, compare .code, never free it.
 */
#ifndef SEEDANCEFS_STATUS_H
#define SEEDANCEFS_STATUS_H

#include <stdbool.h>

#define STATUS_WORD_MAX 31      /* longest status word accepted from a server */

enum status_code {
    STATUS_QUEUED, STATUS_RUNNING, STATUS_SUCCEEDED, STATUS_FAILED, STATUS_CANCELLED,
    STATUS_EXPIRED, STATUS_OTHER,
};

struct task_status {
    enum status_code code;
    char other[STATUS_WORD_MAX + 1];    /* STATUS_OTHER: the server's word */
};

/* One of the six (not STATUS_OTHER). */
struct task_status status_make(enum status_code code);

/* The word the tree shows: "queued" ... "expired", or the server's word. */
const char *status_name(const struct task_status *s);

/* The inverse of status_name, for words saved by this daemon (the store):
 * one of the six names, else STATUS_OTHER with the word (cut to
 * STATUS_WORD_MAX bytes). */
struct task_status status_from_name(const char *name);

/* succeeded, failed, cancelled or expired: it changes no more. */
bool status_final(const struct task_status *s);

/* Same code, and the same word when both are STATUS_OTHER. */
bool status_equal(const struct task_status *a, const struct task_status *b);

#endif
