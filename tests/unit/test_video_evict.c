/* test_video_evict.c — eviction and removal never pull a file from under a
 * reader: while a reader holds a video, its cache file is on disk (a
 * reader that opened it while eviction deleted it would put its bytes into
 * an unlinked inode, and the map would claim them on the next mount). */
#include "check.h"
#include "log.h"
#include "video_cache.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROUNDS 20000

static video_cache *cache;
static atomic_bool done;
static const off_t size = 4 * VIDEO_GRANULE;

static void *evictor(void *arg)
{
    (void)arg;
    for (unsigned n = 0; !atomic_load(&done); n++) {
        video_cache_evict(cache, "cgt-other", 0);
        if (n % 64 == 0)
            sched_yield();          /* valgrind runs one thread at a time */
    }
    return NULL;
}

/* True when one of our descriptors is a deleted cache file. */
static bool holds_deleted_file(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    bool found = false;

    while (d && !found && (e = readdir(d))) {
        char link[300], target[512];
        ssize_t n;
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        if ((n = readlink(link, target, sizeof target - 1)) > 0) {
            target[n] = '\0';
            found = strstr(target, "/videos/cgt-") && strstr(target, " (deleted)");
        }
    }
    if (d)
        closedir(d);
    return found;
}

int main(void)
{
    char dir[] = "/tmp/sdfs-evict-XXXXXX", why[256], data[VIDEO_GRANULE];
    int unlinked = 0, written = 0;
    pthread_t thread;
    store *st;

    log_to_file("/dev/null", LOG_LEVEL_INFO);          /* one line per eviction otherwise */
    memset(data, 'v', sizeof data);
    CHECK(mkdtemp(dir) != NULL);
    CHECK((st = store_open(dir, why, sizeof why)) != NULL);
    /* cache_max of one byte: every unused video with a granule is over it. */
    CHECK((cache = video_cache_new(st, dir, 1, free)) != NULL);
    CHECK(pthread_create(&thread, NULL, evictor, NULL) == 0);
    for (int i = 0; i < ROUNDS; i++) {
        struct video *v = video_get(cache, "cgt-a", size);
        if (!v)
            continue;
        if (!video_write(v, data, sizeof data, 0)) {
            video_arrived(cache, v, 0, 1);
            written++;
        }
        if (holds_deleted_file())
            unlinked++;                 /* our bytes went nowhere */
        video_put(cache, v);
    }
    atomic_store(&done, true);
    pthread_join(thread, NULL);
    CHECK(written == ROUNDS);
    CHECK(unlinked == 0);
    if (unlinked)
        fprintf(stderr, "%d of %d rounds held a deleted cache file\n", unlinked, ROUNDS);

    /* Forget (rmdir of the task): the file and the map go at once. */
    struct video *v = video_get(cache, "cgt-b", size);
    char path[512];
    CHECK(v && video_write(v, data, sizeof data, 0) == 0);
    if (v) {
        video_arrived(cache, v, 0, 1);
        video_commit(cache, v);
        video_put(cache, v);
    }
    snprintf(path, sizeof path, "%s/videos/cgt-b.mp4", dir);
    CHECK(access(path, F_OK) == 0);
    video_cache_forget(cache, "cgt-b");
    CHECK(access(path, F_OK) != 0);
    video_cache_free(cache);
    /* ... and nothing of it comes back with the next mount. */
    CHECK((cache = video_cache_new(st, dir, 0, free)) != NULL);
    CHECK(video_cache_restore(cache) == 0);
    CHECK(!video_cache_complete(cache, "cgt-b") && access(path, F_OK) != 0);
    video_cache_free(cache);
    store_close(st);
    return CHECK_DONE("test_video_evict");
}
