/* events.h — the `events` file: one line per state change, from open on.
 *
 *   $ tail -f mnt/events
 *   2026-11-28T13:59:47Z cgt-20261128135947-00001 fox queued running
 *   2026-11-28T13:59:48Z cgt-20261128135947-00001 fox running succeeded
 *
 * Line: UTC time, task id, request name ("-" if none), old status, new status;
 * where the API reports progress (the OpenAI shape), a line with the same
 * status twice and " progress=N" each time it moved by 10 or more:
 *   2026-11-28T13:59:48Z video-...-00001 fox running running progress=40
 * Each open file is a reader with its own bounded buffer (EVENTS_BUFFER
 * bytes): a slow reader never blocks the daemon. On overflow the oldest
 * lines are dropped and the reader's next read starts with
 * "# overflow: N events dropped".
 * Locking: one mutex inside; the wake callback runs without it.
 */
#ifndef SEEDANCEFS_EVENTS_H
#define SEEDANCEFS_EVENTS_H

#include "status.h"

#include <stdbool.h>
#include <stddef.h>

#define EVENTS_BUFFER (64u << 10)

typedef struct events events;
typedef struct events_reader events_reader;

/* Called once per line, without locks held, when at least one reader's
 * buffer turned non-empty: the callee asks events_pending of the readers
 * it waits on (however many; there is no cap). */
typedef void (*events_wake_fn)(void *arg);

events *events_new(events_wake_fn wake, void *arg);
void events_free(events *e);

/* Appends one line to every open reader's buffer; wakes when one was empty.
 * `from` is NULL for a task just added (shown as "-"). */
void events_emit(events *e, const char *id, const char *name, const struct task_status *from,
                 const struct task_status *to);

/* The progress line (see above). */
void events_emit_progress(events *e, const char *id, const char *name,
                          const struct task_status *status, int progress);

events_reader *events_open(events *e);
void events_close(events *e, events_reader *r);

/* True when a read would return something now. */
bool events_pending(events *e, events_reader *r);

/* Copies up to `size` bytes: whole lines when at least one fits, else the
 * start of the first line. 0 when nothing is waiting. */
size_t events_read(events *e, events_reader *r, char *buf, size_t size);

#endif
