/* clock.h — the time questions the daemon asks, answered once. */
#ifndef SEEDANCEFS_CLOCK_H
#define SEEDANCEFS_CLOCK_H

#include <time.h>

/* Seconds on the monotonic clock (for schedules and timeouts). */
double clock_mono(void);

/* Seconds since the epoch (for what is compared with the API's times). */
double clock_wall(void);

/* The absolute CLOCK_REALTIME time `seconds` from now, as
 * pthread_cond_timedwait wants it. Negative or NaN means now. */
void clock_deadline(struct timespec *ts, double seconds);

/* A random number in [lo, hi), to spread retries: each thread's generator
 * is seeded from getrandom(), so daemons that saw one outage do not retry
 * in lockstep (rand() unseeded gives every process the same sequence). */
double clock_jitter(double lo, double hi);

#endif
