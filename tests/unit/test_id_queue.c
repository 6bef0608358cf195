/* test_id_queue.c — ids come out in the order they went in, copied, past
 * the first growth, and a cleared queue is empty and reusable. */
#include "check.h"
#include "id_queue.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    struct id_queue q = {0};
    char id[32], *got;
    bool in_order = true;

    CHECK(id_queue_pop(&q) == NULL && !id_queue_has(&q, "cgt-1"));
    for (int i = 0; i < 100; i++) {
        snprintf(id, sizeof id, "cgt-%d", i);
        CHECK(id_queue_push(&q, id) == 0);
    }
    strcpy(id, "changed");                  /* the queue holds copies */
    CHECK(id_queue_has(&q, "cgt-0") && id_queue_has(&q, "cgt-99") && !id_queue_has(&q, "cgt-100"));
    for (int i = 0; i < 50; i++) {
        snprintf(id, sizeof id, "cgt-%d", i);
        got = id_queue_pop(&q);
        in_order &= got && !strcmp(got, id);
        free(got);
    }
    CHECK(in_order && q.n == 50 && !id_queue_has(&q, "cgt-0"));
    id_queue_clear(&q);
    CHECK(q.n == 0 && id_queue_pop(&q) == NULL);
    CHECK(id_queue_push(&q, "again") == 0 && (got = id_queue_pop(&q)) && !strcmp(got, "again"));
    free(got);
    id_queue_clear(&q);
    return CHECK_DONE("test_id_queue");
}
