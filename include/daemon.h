/* daemon.h — detaching from the terminal without losing start-up errors.
 *
 *   $ seedancefs mnt -o api_url=...        # returns once the mount is up
 *   $ echo $?                              # 1 if anything failed on the way
 *
 * daemon_detach forks before anything that must not cross a fork (SQLite,
 * threads, curl) is opened. The parent waits until the child calls
 * daemon_ready (exit 0) or dies (exit 1); until then the child still has
 * the terminal's stderr, so its start-up errors are printed as usual.
 */
#ifndef SEEDANCEFS_DAEMON_H
#define SEEDANCEFS_DAEMON_H

/* Forks. Returns 0 in the child (now a session leader); the parent never
 * returns. -errno when fork or pipe fail (nothing was forked). */
int daemon_detach(void);

/* The mount is up: the waiting parent exits 0, stdin/stdout/stderr go to
 * /dev/null (detached child only) and the working directory becomes "/".
 * Idempotent; also called in the foreground, where it only changes
 * directory. */
void daemon_ready(void);

#endif
