/* log.h — one line per event, to stderr (foreground) or state_dir/seedancefs.log.
 *
 * A line names the operation, the task id or request name, and the cause:
 *   "submit fox: API 429, retry in 4.0 s"
 * Never log the API key or a full request body.
 *
 *   $ mv state/seedancefs.log state/seedancefs.log.1 && kill -HUP $PID
 */
#ifndef SEEDANCEFS_LOG_H
#define SEEDANCEFS_LOG_H

#include <stdio.h>

/* Appends log lines to the file `path` (created 0600; NULL = stderr).
 * `debug` enables log_debug. Returns 0 or -errno (then lines go to stderr). */
int log_init(const char *path, int debug);

/* SIGHUP reopens the file by its name (after logrotate moved it): blocks
 * SIGHUP in the calling thread, and so in every thread it creates later
 * (call it before any), and starts a thread that waits for the signal.
 * libfuse's SIGHUP handler (which would unmount) then never runs.
 * Returns 0 or -errno. log_unwatch_hup stops that thread. */
int log_watch_hup(void);
void log_unwatch_hup(void);

/* Closes the file; later lines go to stderr. */
void log_close(void);

/* A start-up failure: logged, and also printed on stderr when the log is a
 * file (a detaching daemon still has the terminal until it is mounted). */
void log_startup_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* printf-style; a timestamp and newline are added. Thread-safe. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
