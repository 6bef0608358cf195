/* test_events.c — the events file's buffers: whole lines when they fit,
 * a short read gets the start of a line and the rest next time, a reader
 * that falls behind loses the oldest lines and is told how many, and the
 * wake-up fires when a reader's buffer turns non-empty (however many
 * readers there are). */
#include "check.h"
#include "events.h"

#include <stdio.h>
#include <string.h>

static int wakes;

static void on_wake(void *arg)
{
    (void)arg;
    wakes++;
}

int main(void)
{
    events *e = events_new(on_wake, NULL);
    events_reader *r[100];
    char buf[EVENTS_BUFFER + 256];
    size_t n;

    struct task_status queued = status_make(STATUS_QUEUED), running = status_make(STATUS_RUNNING);

    CHECK(e != NULL);
    for (int i = 0; i < 100; i++)
        CHECK((r[i] = events_open(e)) != NULL);
    CHECK(!events_pending(e, r[0]) && events_read(e, r[0], buf, sizeof buf) == 0);

    /* One wake-up per line that found an empty buffer, for all 100 readers. */
    events_emit(e, "cgt-1", "fox", NULL, &queued);
    CHECK(wakes == 1);
    for (int i = 0; i < 100; i++)
        CHECK(events_pending(e, r[i]));
    events_emit(e, "cgt-1", "fox", &queued, &running);
    CHECK(wakes == 1);                      /* nobody was empty */

    /* Whole lines when they fit. */
    n = events_read(e, r[0], buf, sizeof buf);
    buf[n] = '\0';
    CHECK(strstr(buf, " cgt-1 fox - queued\n") && strstr(buf, " cgt-1 fox queued running\n"));
    CHECK(n > 0 && buf[n - 1] == '\n' && !events_pending(e, r[0]));

    /* A short read takes part of the first line; the rest comes next. */
    n = events_read(e, r[1], buf, 5);
    CHECK(n == 5);
    n = events_read(e, r[1], buf, sizeof buf);
    buf[n] = '\0';
    CHECK(n > 0 && strstr(buf, "fox - queued\n") && strstr(buf, "queued running\n"));

    /* Overflow: the oldest lines go and the next read says how many. */
    for (int i = 0; i < 3000; i++) {
        char id[32];
        snprintf(id, sizeof id, "cgt-%d", i);
        events_emit(e, id, NULL, &queued, &running);
    }
    n = events_read(e, r[2], buf, sizeof buf);
    buf[n] = '\0';
    CHECK(!strncmp(buf, "# overflow: ", 12) && strstr(buf, "events dropped\n"));
    CHECK(strstr(buf, "cgt-2999 - queued running\n") != NULL);
    CHECK(n <= EVENTS_BUFFER + 64);

    for (int i = 0; i < 100; i++)
        events_close(e, r[i]);
    events_free(e);
    return CHECK_DONE("test_events");
}
