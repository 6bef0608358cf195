/* report.h — the STATUS file at the root of the mount: the state of the
 * whole mount at a glance, as "key: value" lines (stable; documented in
 * the README), so that scripts can grep it.
 *
 *   $ grep -E '^(tasks_running|requests_pending|api_429_last_hour):' mnt/STATUS
 *   tasks_running: 2
 *   requests_pending: 1
 *   api_429_last_hour: 0
 */
#ifndef SEEDANCEFS_REPORT_H
#define SEEDANCEFS_REPORT_H

#include "outbox.h"
#include "stream.h"
#include "tasks.h"

#include <stddef.h>
#include <time.h>

typedef struct report report;
typedef struct api api;             /* api.h: the tree that includes us knows no wire */

/* Borrows every module for its lifetime. NULL on ENOMEM. */
report *report_new(api *a, tasks *t, outbox *o, stream *s, const char *api_url,
                   time_t mount_time);
void report_free(report *r);

/* The file's text now (malloc'd, *len bytes). 0 or -ENOMEM. */
int report_text(report *r, char **text, size_t *len);

#endif
