/* link_estimate.h — what the link to the servers can carry, learned from
 * the transfers seedancefs makes, and the receive window a background
 * transfer gets from it. A pure object: no locks, no I/O; http.c keeps one
 * under its lock.
 *
 * Why: a bulk download with the kernel's auto-tuned receive buffer lets the
 * server keep megabytes in flight; on a link with a queue, a reply a reader
 * waits for then queues behind all of them. A background transfer's window
 * is instead about one bandwidth-delay product, enough to fill the link, too
 * little to build a queue: its receive buffer is LINK_WINDOW_FACTOR x best
 * rate x shortest time to first byte, and the window Linux advertises from
 * a buffer is about half of it (the rest pays for the kernel's bookkeeping:
 * a factor of 1.5 reached only 0.8 of the rate of the bench's emulated
 * link). Measuring a transfer whose window we limit can only see what the
 * window lets through; a window above one BDP is what makes it grow until
 * the link, not the window, is the limit.
 */
#ifndef SEEDANCEFS_LINK_ESTIMATE_H
#define SEEDANCEFS_LINK_ESTIMATE_H

#include <stddef.h>

#define LINK_WINDOW_FACTOR 3.0         /* buffer / BDP: a window of about 1.5 BDP */
#define LINK_WINDOW_MIN (512u << 10)    /* loopback and LANs: the kernel copes */
#define LINK_WINDOW_MAX (32u << 20)
#define LINK_WINDOW_UNKNOWN (1u << 20)  /* before anything was measured */
#define LINK_RATE_MIN_BYTES (128u << 10) /* a sample of fewer bytes says little of the rate */

/* Zero-initialised is a link nothing is known of. */
struct link_estimate {
    double rtt;                 /* shortest request-to-first-reply seconds seen, 0 = none */
    double rate;                /* best body bytes per second seen, 0 = none */
};

/* Seconds from sending a request to its reply's status line. */
void link_note_rtt(struct link_estimate *l, double seconds);

/* `bytes` of a body arrived in `seconds` (ignored below LINK_RATE_MIN_BYTES). */
void link_note_rate(struct link_estimate *l, double bytes, double seconds);

/* The receive buffer for a background transfer, in bytes. */
size_t link_background_window(const struct link_estimate *l);

#endif
