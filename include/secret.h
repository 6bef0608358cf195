/* secret.h — the API key is never shown: whatever a server echoes back or a
 * log line would carry passes through secret_scrub first.
 *
 *   $ grep -r "$SEEDANCE_API_KEY" mnt STATE_DIR /proc/$(pgrep -o seedancefs)/environ
 *   (nothing)
 *
 * api.c scrubs every JSON reply before it is parsed, so task.json, errors,
 * reasons and the store never hold the key; log.c scrubs every line.
 */
#ifndef SEEDANCEFS_SECRET_H
#define SEEDANCEFS_SECRET_H

#include <stddef.h>

/* Adds a text to hide (copied): the key at start-up, and each new key a
 * SIGHUP reads (the old ones stay hidden: a server may still echo them).
 * Thread-safe. */
void secret_set(const char *secret);

/* Forgets (and wipes) every secret; at exit. */
void secret_clear(void);

/* Replaces every occurrence of the secret in the NUL-terminated `text` by
 * "[key]" (by '*'s for a secret shorter than that), in place. Returns the
 * new length. Thread-safe. */
size_t secret_scrub(char *text);

#endif
