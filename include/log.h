/* log.h — one line per event, to stderr, syslog or a file.
 *
 * A line names the operation, the task id or request name, and the cause:
 *   "submit fox: API 429, retry in 4.0 s"
 * Never log the API key or a full request body: every line passes through
 * secret_scrub.
 *
 * On stderr a line is stamped with the local time, unless stderr is the
 * journal (systemd's JOURNAL_STREAM names its device and inode): then it
 * starts with the sd-daemon level prefix ("<3>", "<6>", "<7>") and the
 * journal stamps it.
 *
 *   $ mv state/seedancefs.log state/seedancefs.log.1 && kill -HUP $PID
 */
#ifndef SEEDANCEFS_LOG_H
#define SEEDANCEFS_LOG_H

#include <stdio.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Where lines go: stderr, syslog (facility daemon, tag "seedancefs"), or
 * appended to the file `path` (created 0600). Lines above `level` are
 * dropped. Before any call lines go to stderr at info level. Returns 0 or
 * -errno (then lines go to stderr). */
int log_to_stderr(int level);
int log_to_syslog(int level);
int log_to_file(const char *path, int level);

/* Reopens the file by its name (after logrotate moved it); a file that
 * cannot be reopened keeps the old one. Returns 0 or -errno. */
int log_reopen(void);

/* Closes the file or syslog; later lines go to stderr. */
void log_close(void);

/* True when lines go to a file or syslog, not the terminal. */
int log_is_detached(void);

/* A start-up failure: logged, and also printed on stderr when the log is
 * not stderr (a detaching daemon still has the terminal until it is
 * mounted). */
void log_startup_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* printf-style; the newline is added. Thread-safe. */
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
