/* clock.c — monotonic and wall seconds, condition-variable deadlines; see clock.h. */
#include "clock.h"

#include <stdint.h>
#include <sys/random.h>

double clock_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

double clock_wall(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

void clock_deadline(struct timespec *ts, double seconds)
{
    clock_gettime(CLOCK_REALTIME, ts);
    if (!(seconds > 0))
        return;
    ts->tv_sec += (time_t)seconds;
    ts->tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* xorshift64*: plenty for spreading retries; one state per thread, no lock. */
static _Thread_local uint64_t jitter_state;

double clock_jitter(double lo, double hi)
{
    uint64_t x;

    while (!jitter_state) {
        if (getrandom(&jitter_state, sizeof jitter_state, 0) != sizeof jitter_state)
            jitter_state = (uint64_t)(clock_wall() * 1e9) ^ (uint64_t)(uintptr_t)&x;
    }
    x = jitter_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    jitter_state = x;
    return lo + (hi - lo) * (double)((x * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}
