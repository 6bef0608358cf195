/* stream.c — video.mp4 reads through a chunk cache; see stream.h. */
#include "stream.h"
#include "ids.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct chunk {
    char id[IDS_MAX_TASK_ID + 1];
    off_t index;                /* chunk number within the video */
    char *data;
    size_t len;
    uint64_t last_use;          /* 0 = empty slot */
};

struct stream {
    tasks *tasks;
    http *http;
    pthread_mutex_t lock;
    struct chunk slots[STREAM_CHUNKS];
    uint64_t clock;
};

stream *stream_new(tasks *t, http *h)
{
    stream *s = calloc(1, sizeof *s);

    if (!s)
        return NULL;
    s->tasks = t;
    s->http = h;
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

void stream_free(stream *s)
{
    if (!s)
        return;
    for (int i = 0; i < STREAM_CHUNKS; i++)
        free(s->slots[i].data);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* Copies from a cached chunk into buf; returns bytes copied or -1 on a miss. */
static ssize_t copy_cached(stream *s, const char *id, off_t index, size_t within,
                           char *buf, size_t size)
{
    ssize_t n = -1;

    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < STREAM_CHUNKS; i++) {
        struct chunk *c = &s->slots[i];
        if (c->last_use && c->index == index && !strcmp(c->id, id)) {
            c->last_use = ++s->clock;
            n = within >= c->len ? 0 : (ssize_t)(c->len - within < size ? c->len - within : size);
            memcpy(buf, c->data + within, (size_t)n);
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return n;
}

/* Puts a fetched chunk into the least recently used slot (takes `data`). */
static void insert_chunk(stream *s, const char *id, off_t index, char *data, size_t len)
{
    struct chunk *victim = &s->slots[0];

    pthread_mutex_lock(&s->lock);
    for (int i = 0; i < STREAM_CHUNKS; i++) {
        struct chunk *c = &s->slots[i];
        if (c->last_use && c->index == index && !strcmp(c->id, id)) {
            victim = c;         /* another reader fetched it meanwhile */
            break;
        }
        if (c->last_use < victim->last_use)
            victim = c;
    }
    free(victim->data);
    snprintf(victim->id, sizeof victim->id, "%s", id);
    victim->index = index;
    victim->data = data;
    victim->len = len;
    victim->last_use = ++s->clock;
    pthread_mutex_unlock(&s->lock);
}

static int fetch_chunk(stream *s, const char *id, const char *url, bool auth, off_t size,
                       off_t index)
{
    off_t start = index * STREAM_CHUNK;
    size_t want = (size_t)(size - start < STREAM_CHUNK ? size - start : STREAM_CHUNK);
    char *data = malloc(want);
    ssize_t got;

    if (!data)
        return -ENOMEM;
    got = http_get_range(s->http, url, auth, start, want, data, NULL);
    if (got != (ssize_t)want) {
        free(data);
        return -EIO;    /* short, expired or failed: the reader sees EIO */
    }
    insert_chunk(s, id, index, data, want);
    return 0;
}

ssize_t stream_read(stream *s, const char *id, char *buf, size_t size, off_t off)
{
    char *url = NULL;
    bool auth;
    off_t total;
    size_t done = 0;
    int rc = tasks_video(s->tasks, id, &url, &auth, &total);

    if (rc)
        return rc;
    if (off >= total) {
        free(url);
        return 0;
    }
    if ((off_t)size > total - off)
        size = (size_t)(total - off);
    while (done < size) {
        off_t pos = off + (off_t)done, index = pos / STREAM_CHUNK;
        ssize_t n = copy_cached(s, id, index, (size_t)(pos % STREAM_CHUNK), buf + done,
                                size - done);
        if (n < 0) {
            if ((rc = fetch_chunk(s, id, url, auth, total, index)))
                break;
            continue;
        }
        if (n == 0)
            break;
        done += (size_t)n;
    }
    free(url);
    return done || !rc ? (ssize_t)done : rc;
}
