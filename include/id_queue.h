/* id_queue.h — a first-in first-out queue of ids (copied strings): the
 * downloader's, the sizer's and the kernel notifier's work lists. Not
 * thread-safe: its owner's lock guards it. A zeroed struct is empty. */
#ifndef SEEDANCEFS_ID_QUEUE_H
#define SEEDANCEFS_ID_QUEUE_H

#include <stdbool.h>
#include <stddef.h>

struct id_queue {
    char **ids;
    size_t n, cap;
};

/* Appends a copy of `id`. 0 or -ENOMEM (nothing queued). */
int id_queue_push(struct id_queue *q, const char *id);

/* True when `id` is queued. */
bool id_queue_has(const struct id_queue *q, const char *id);

/* The oldest id, taken out (caller frees), or NULL when empty. */
char *id_queue_pop(struct id_queue *q);

/* Frees what is queued; the queue is empty again. */
void id_queue_clear(struct id_queue *q);

#endif
