/* clock.h — the three time questions the daemon asks, answered once. */
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

#endif
