/* sim-link.h — how the simulator's bodies travel to the client.
 *
 *   $ build/seedance-sim --latency-ms 20 --rate 200mbit ...
 *
 * A body goes out whole, or breaks after N bytes (a dropped connection), or
 * is paced through one emulated link shared by every response: bytes leave
 * in order at `rate`, so two parallel downloads share the bandwidth as they
 * would on a real wire. Every response also waits `latency` before its first
 * byte (one round trip). This kernel has no netem; this is the bench's
 * wide-area link, and it touches no network interface.
 */
#ifndef SEEDANCE_SIM_LINK_H
#define SEEDANCE_SIM_LINK_H

#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* `latency_ms` before each response; `rate` in bytes per second (0 = as fast
 * as loopback goes). */
void link_configure(long latency_ms, double rate);

/* Parses "200mbit", "25MB", "1gbit", "500000" (bytes/s). False if garbled. */
bool link_parse_rate(const char *s, double *rate);

/* Waits the configured latency (call once per response, before queueing it). */
void link_delay(void);

/* A response for `len` bytes at `data` (which outlives it), broken after
 * `cut` bytes when 0 < cut < len, paced when a rate is set, trickled at
 * `trickle` bytes a second when > 0 (this response alone: a slow or
 * stalling server, not a shared link), and quiet for `pause_secs` once
 * `pause_at` bytes are out when 0 < pause_at < len. */
struct MHD_Response *link_body(const char *data, size_t len, size_t cut, double trickle,
                               size_t pause_at, double pause_secs);

/* Bodies quiet in a pause right now. */
int link_paused(void);

/* Body bytes handed to the network so far (not the sizes promised: a client
 * that hangs up early is not charged for the rest). */
long long link_bytes_sent(void);

#endif
