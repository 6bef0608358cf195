/* id_queue.c — a FIFO of ids; see id_queue.h. */
#include "id_queue.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int id_queue_push(struct id_queue *q, const char *id)
{
    char *copy;

    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        char **ids = realloc(q->ids, cap * sizeof *ids);
        if (!ids)
            return -ENOMEM;
        q->ids = ids;
        q->cap = cap;
    }
    if (!(copy = strdup(id)))
        return -ENOMEM;
    q->ids[q->n++] = copy;
    return 0;
}

bool id_queue_has(const struct id_queue *q, const char *id)
{
    for (size_t i = 0; i < q->n; i++)
        if (!strcmp(q->ids[i], id))
            return true;
    return false;
}

char *id_queue_pop(struct id_queue *q)
{
    char *id;

    if (!q->n)
        return NULL;
    id = q->ids[0];
    memmove(q->ids, q->ids + 1, --q->n * sizeof *q->ids);
    return id;
}

void id_queue_clear(struct id_queue *q)
{
    for (size_t i = 0; i < q->n; i++)
        free(q->ids[i]);
    free(q->ids);
    *q = (struct id_queue){0};
}
