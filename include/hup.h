/* hup.h — SIGHUP means "reload", never "unmount".
 *
 *   $ kill -HUP $(pidof seedancefs)     # log reopened, key_file re-read, poll now
 *
 * hup_watch blocks SIGHUP in the calling thread, and so in every thread it
 * creates later (call it before any), and starts one thread that waits for
 * the signal with sigwait and calls `on_hup` there. libfuse's own SIGHUP
 * handler (which would end the session) never runs.
 */
#ifndef SEEDANCEFS_HUP_H
#define SEEDANCEFS_HUP_H

/* Returns 0 or -errno. `on_hup` runs on the watcher's thread, one call at
 * a time. */
int hup_watch(void (*on_hup)(void *arg), void *arg);

/* Stops the watcher (joins it). Safe to call when it never started. */
void hup_unwatch(void);

#endif
