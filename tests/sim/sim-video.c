/* sim-video.c — see sim-video.h. */
#include "sim-video.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_VERSIONS 64

static struct {
    pthread_mutex_t lock;
    struct sim_video *versions[MAX_VERSIONS];
    int n, current;
} V = {.lock = PTHREAD_MUTEX_INITIALIZER};

static void set_validators(struct sim_video *v, int n)
{
    time_t when = 1764547200 + n;       /* 2025-12-01, a second per version */
    struct tm tm;

    snprintf(v->etag, sizeof v->etag, "\"v%d-%zu\"", n, v->len);
    gmtime_r(&when, &tm);
    strftime(v->modified, sizeof v->modified, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static int add(struct sim_video *v)
{
    pthread_mutex_lock(&V.lock);
    if (V.n == MAX_VERSIONS) {
        pthread_mutex_unlock(&V.lock);
        return -1;
    }
    V.versions[V.n] = v;
    V.current = V.n++;
    pthread_mutex_unlock(&V.lock);
    return 0;
}

int video_load(const char *path)
{
    FILE *f = fopen(path, "rb");
    struct sim_video *v = calloc(1, sizeof *v);
    char *data = NULL;
    long size;

    if (!f || !v || fseek(f, 0, SEEK_END) || (size = ftell(f)) <= 0 || fseek(f, 0, SEEK_SET) ||
        !(data = malloc((size_t)size)) || fread(data, 1, (size_t)size, f) != (size_t)size) {
        fprintf(stderr, "seedance-sim: cannot read video %s: %s\n", path, strerror(errno));
        if (f)
            fclose(f);
        free(data);
        free(v);
        return -1;
    }
    fclose(f);
    v->data = data;
    v->len = (size_t)size;
    set_validators(v, 0);
    return add(v);
}

const struct sim_video *video_current(void)
{
    pthread_mutex_lock(&V.lock);
    const struct sim_video *v = V.versions[V.current];
    pthread_mutex_unlock(&V.lock);
    return v;
}

const struct sim_video *video_original(void)
{
    return V.versions[0];           /* set before any thread starts, never changed */
}

int video_set_version(int n, size_t extra)
{
    const struct sim_video *first = video_original();
    struct sim_video *v = calloc(1, sizeof *v);
    char *data = v ? calloc(1, first->len + extra) : NULL;

    if (!data || n < 1) {
        free(v);
        free(data);
        return -1;
    }
    memcpy(data, first->data, first->len);
    for (size_t i = 0; i < first->len; i += 4096)
        data[i] = (char)(data[i] ^ (n & 0xff ? n & 0xff : 1));
    v->data = data;
    v->len = first->len + extra;
    set_validators(v, n);
    if (add(v)) {
        free(data);
        free(v);
        return -1;
    }
    return 0;
}

bool video_range_applies(const struct sim_video *v, const char *if_range)
{
    return !if_range || !strcmp(if_range, v->etag) || !strcmp(if_range, v->modified);
}

void video_free_all(void)
{
    for (int i = 0; i < V.n; i++) {
        free((char *)V.versions[i]->data);
        free(V.versions[i]);
    }
    V.n = 0;
}
