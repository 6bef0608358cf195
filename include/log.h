/* log.h — one line per event, to stderr (foreground) or state_dir/seedancefs.log.
 *
 * A line names the operation, the task id or request name, and the cause:
 *   "submit fox: API 429, retry in 4.0 s"
 * Never log the API key or a full request body.
 */
#ifndef SEEDANCEFS_LOG_H
#define SEEDANCEFS_LOG_H

#include <stdio.h>

/* Sends log lines to `sink` (not owned; NULL = stderr). `debug` enables log_debug. */
void log_init(FILE *sink, int debug);

/* printf-style; a timestamp and newline are added. Thread-safe. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
