/* sim-link.c — cut and paced bodies, per-response latency; see sim-link.h. */
#include "sim-link.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define PACE_CHUNK (16 * 1024)      /* bytes a paced body hands out at a time */
#define CHUNK (256 * 1024)          /* and an unpaced one */

static struct {
    long latency_ms;
    double rate;                    /* bytes per second, 0 = unpaced */
    double free_at;                 /* when the link finishes what it was given */
    long long sent;
    int paused;                     /* bodies in their pause */
    pthread_mutex_t lock;
} link_state = { .lock = PTHREAD_MUTEX_INITIALIZER };

static double now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double when)
{
    struct timespec ts = { .tv_sec = (time_t)when, .tv_nsec = (long)((when - (time_t)when) * 1e9) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

void link_configure(long latency_ms, double rate)
{
    link_state.latency_ms = latency_ms > 0 ? latency_ms : 0;
    link_state.rate = rate > 0 ? rate : 0;
}

bool link_parse_rate(const char *s, double *rate)
{
    static const struct { const char *unit; double bytes; } units[] = {
        {"", 1}, {"B", 1}, {"kbit", 1e3 / 8}, {"mbit", 1e6 / 8}, {"gbit", 1e9 / 8},
        {"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9},
    };
    char *end;
    double v = strtod(s, &end);

    if (end == s || v < 0)
        return false;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++)
        if (!strcasecmp(end, units[i].unit)) {
            *rate = v * units[i].bytes;
            return true;
        }
    return false;
}

void link_delay(void)
{
    if (link_state.latency_ms)
        sleep_until(now_mono() + link_state.latency_ms / 1000.0);
}

/* Takes `n` bytes' worth of the shared link; returns when they have left. */
static void link_send(size_t n)
{
    double start, done;

    pthread_mutex_lock(&link_state.lock);
    start = now_mono();
    if (link_state.free_at > start)
        start = link_state.free_at;
    done = start + (double)n / link_state.rate;
    link_state.free_at = done;
    pthread_mutex_unlock(&link_state.lock);
    sleep_until(done);
}

struct body {
    const char *data;
    size_t len, cut;                /* cut = len: never breaks */
    bool paced;
    double trickle;                 /* bytes per second of this body alone, 0 = off */
    size_t pause_at;                /* goes quiet once this much is out (0 = never) */
    double pause_secs;
};

static ssize_t read_body(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct body *b = cls;
    size_t n;

    if (pos >= b->cut)
        return MHD_CONTENT_READER_END_WITH_ERROR;
    if (pos >= b->len)
        return MHD_CONTENT_READER_END_OF_STREAM;
    n = b->len - pos;
    if (n > max)
        n = max;
    if (n > b->cut - pos)
        n = b->cut - pos;
    if (b->pause_at && pos == b->pause_at) {
        b->pause_at = 0;
        __atomic_fetch_add(&link_state.paused, 1, __ATOMIC_RELAXED);
        sleep_until(now_mono() + b->pause_secs);
        __atomic_fetch_sub(&link_state.paused, 1, __ATOMIC_RELAXED);
    }
    if (b->pause_at && n > b->pause_at - pos)
        n = b->pause_at - pos;
    if (b->trickle > 0) {
        if (n > 256)
            n = 256;
        sleep_until(now_mono() + (double)n / b->trickle);
    }
    if (b->paced)
        link_send(n);
    memcpy(buf, b->data + pos, n);
    __atomic_fetch_add(&link_state.sent, (long long)n, __ATOMIC_RELAXED);
    return (ssize_t)n;
}

struct MHD_Response *link_body(const char *data, size_t len, size_t cut, double trickle,
                               size_t pause_at, double pause_secs)
{
    bool cuts = cut > 0 && cut < len, paced = link_state.rate > 0;
    struct body *b = malloc(sizeof *b);

    if (!b)
        return NULL;
    *b = (struct body){data, len, cuts ? cut : len, paced, trickle,
                       pause_at < len ? pause_at : 0, pause_secs};
    return MHD_create_response_from_callback(len, paced ? PACE_CHUNK : CHUNK, read_body, b, free);
}

int link_paused(void)
{
    return __atomic_load_n(&link_state.paused, __ATOMIC_RELAXED);
}

long long link_bytes_sent(void)
{
    return __atomic_load_n(&link_state.sent, __ATOMIC_RELAXED);
}
