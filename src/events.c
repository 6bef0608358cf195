/* events.c — per-reader bounded line buffers; see events.h. */
#include "events.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct events_reader {
    events_reader *next;
    char *buf;                  /* whole lines, oldest first */
    size_t len;
    unsigned long dropped;
};

struct events {
    pthread_mutex_t lock;
    events_reader *readers;
    events_wake_fn wake;
    void *wake_arg;
};

events *events_new(events_wake_fn wake, void *arg)
{
    events *e = calloc(1, sizeof *e);

    if (!e)
        return NULL;
    e->wake = wake;
    e->wake_arg = arg;
    pthread_mutex_init(&e->lock, NULL);
    return e;
}

void events_free(events *e)
{
    if (!e)
        return;
    while (e->readers) {
        events_reader *r = e->readers;
        e->readers = r->next;
        free(r->buf);
        free(r);
    }
    pthread_mutex_destroy(&e->lock);
    free(e);
}

/* Drops whole lines from the front until `need` more bytes fit. */
static void make_room(events_reader *r, size_t need)
{
    size_t cut = 0;

    while (r->len - cut + need > EVENTS_BUFFER && cut < r->len) {
        char *nl = memchr(r->buf + cut, '\n', r->len - cut);
        cut = nl ? (size_t)(nl - r->buf) + 1 : r->len;
        r->dropped++;
    }
    memmove(r->buf, r->buf + cut, r->len - cut);
    r->len -= cut;
}

/* Appends one line (`progress` < 0: none) to every reader. */
static void emit(events *e, const char *id, const char *name, const struct task_status *from,
                 const struct task_status *to, int progress)
{
    char line[512], stamp[32], tail[32] = "";
    time_t now = time(NULL);
    struct tm tm;
    bool woken = false;
    int len;

    gmtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (progress >= 0)
        snprintf(tail, sizeof tail, " progress=%d", progress);
    len = snprintf(line, sizeof line, "%s %s %s %s %s%s\n", stamp, id, name ? name : "-",
                   from ? status_name(from) : "-", status_name(to), tail);
    if (len <= 0 || (size_t)len >= sizeof line)
        return;
    pthread_mutex_lock(&e->lock);
    for (events_reader *r = e->readers; r; r = r->next) {
        if (r->len + (size_t)len > EVENTS_BUFFER)
            make_room(r, (size_t)len);
        woken |= r->len == 0;
        memcpy(r->buf + r->len, line, (size_t)len);
        r->len += (size_t)len;
    }
    pthread_mutex_unlock(&e->lock);
    if (woken)
        e->wake(e->wake_arg);
}

void events_emit(events *e, const char *id, const char *name, const struct task_status *from,
                 const struct task_status *to)
{
    emit(e, id, name, from, to, -1);
}

void events_emit_progress(events *e, const char *id, const char *name,
                          const struct task_status *status, int progress)
{
    emit(e, id, name, status, status, progress);
}

events_reader *events_open(events *e)
{
    events_reader *r = calloc(1, sizeof *r);

    if (!r || !(r->buf = malloc(EVENTS_BUFFER))) {
        free(r);
        return NULL;
    }
    pthread_mutex_lock(&e->lock);
    r->next = e->readers;
    e->readers = r;
    pthread_mutex_unlock(&e->lock);
    return r;
}

void events_close(events *e, events_reader *r)
{
    pthread_mutex_lock(&e->lock);
    for (events_reader **p = &e->readers; *p; p = &(*p)->next)
        if (*p == r) {
            *p = r->next;
            break;
        }
    pthread_mutex_unlock(&e->lock);
    free(r->buf);
    free(r);
}

size_t events_read(events *e, events_reader *r, char *buf, size_t size)
{
    size_t n = 0;

    pthread_mutex_lock(&e->lock);
    if (r->dropped) {
        int m = snprintf(buf, size, "# overflow: %lu events dropped\n", r->dropped);
        if (m > 0 && (size_t)m < size) {
            n = (size_t)m;
            r->dropped = 0;
        }
    }
    if (r->len) {
        /* Whole lines when they fit; a smaller read (sh's `read` takes one
         * byte at a time) gets part of a line and the rest next time. */
        size_t take = r->len <= size - n ? r->len : 0;
        if (!take) {
            for (size_t i = 0; i < r->len && i < size - n; i++)
                if (r->buf[i] == '\n')
                    take = i + 1;
        }
        if (!take)
            take = size - n;
        memcpy(buf + n, r->buf, take);
        memmove(r->buf, r->buf + take, r->len - take);
        r->len -= take;
        n += take;
    }
    pthread_mutex_unlock(&e->lock);
    return n;
}

bool events_pending(events *e, events_reader *r)
{
    bool pending;

    pthread_mutex_lock(&e->lock);
    pending = r->len || r->dropped;
    pthread_mutex_unlock(&e->lock);
    return pending;
}
