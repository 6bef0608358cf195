/* test_video_cache.c — the cache map: granules marked present survive a
 * reopen only after a commit, maps saved in 1 MiB blocks (schema 2) are
 * converted, a map for a file of another size is not trusted, a video
 * replaced while in use is freed by its last user (with the fetch side's
 * state), and the cache commits a completed video's map by itself. */
#include "check.h"
#include "video_cache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define G VIDEO_GRANULE

static video_cache *c;

static size_t count_present(struct video *v)
{
    size_t n = 0, end = video_granules(v);
    for (size_t g = 0; (g = video_first_present(c, v, g, end)) < end; g++)
        n++;
    return n;
}

static bool present(struct video *v, size_t g)
{
    return video_first_missing(c, v, g, g + 1) == g + 1;
}

static int states_freed;

static void *make_state(struct video *v)
{
    return strdup(video_id(v));
}

static void free_state(void *state)
{
    free(state);
    states_freed++;
}

int main(void)
{
    char dir[] = "/tmp/sdfs-vcache-XXXXXX", why[256], data[G];
    store *st;
    struct video *v;
    off_t size = 3 * (1 << 20) + 100;     /* 3 MiB and a bit: 97 granules */

    CHECK(mkdtemp(dir) != NULL);
    CHECK((st = store_open(dir, why, sizeof why)) != NULL);

    /* A schema-2 row: 1 MiB blocks 0 and 3 (the 100-byte tail) present. */
    unsigned char old_map = 1 | 8;
    struct stored_cache row = {"cgt-old", size, &old_map, 1, 5, 1 << 20};
    CHECK(store_cache_put(st, &row) == 0);
    c = video_cache_new(st, dir, 0, free_state);
    CHECK(c != NULL);
    /* The cache file must exist with the right size for the map to count. */
    v = video_get(c, "cgt-old", size);
    CHECK(v != NULL && video_granules(v) == 97 && count_present(v) == 0);
    video_put(c, v);
    video_cache_free(c);

    c = video_cache_new(st, dir, 0, free_state);
    CHECK(video_cache_restore(c) == 0);
    v = video_get(c, "cgt-old", size);
    CHECK(v != NULL);
    /* Block 0 = granules 0..31; block 3 = granule 96 (the tail). */
    CHECK(v && count_present(v) == 33);
    CHECK(v && present(v, 0) && present(v, 31) && !present(v, 32) && present(v, 96));
    CHECK(v && video_first_missing(c, v, 0, 97) == 32 && video_first_present(c, v, 32, 97) == 96);
    CHECK(!video_cache_complete(c, "cgt-old"));

    /* New granules count once and are saved in granule units on commit. */
    memset(data, 'x', sizeof data);
    CHECK(v && video_write(v, data, G, 32 * (off_t)G) == 0);
    if (v) {
        video_arrived(c, v, 32, 33);
        video_arrived(c, v, 32, 33);
        CHECK(count_present(v) == 34);
        video_commit(c, v);
    }
    video_put(c, v);
    video_cache_free(c);

    c = video_cache_new(st, dir, 0, free_state);
    CHECK(video_cache_restore(c) == 0);
    v = video_get(c, "cgt-old", size);
    CHECK(v && count_present(v) == 34 && present(v, 32));
    video_put(c, v);

    /* Another size: the old map is dropped, the file starts over. A user
     * still holding the old video keeps it valid until video_put. */
    struct video *held = video_get(c, "cgt-old", size);
    char *state = held ? video_state(c, held, make_state) : NULL;
    CHECK(state && !strcmp(state, "cgt-old") && video_state(c, held, make_state) == state);
    v = video_get(c, "cgt-old", size + 1);
    CHECK(v != NULL && v != held && count_present(v) == 0);
    CHECK(held && count_present(held) == 34 && video_size(held) == size);
    /* ...with its own bytes: the new version is another file. */
    char got[G];
    memset(data, 'y', sizeof data);
    CHECK(v && video_write(v, data, G, 32 * (off_t)G) == 0);
    CHECK(held && pread(video_read_fd(c, held), got, G, 32 * (off_t)G) == (ssize_t)G &&
          got[0] == 'x' && got[G - 1] == 'x');
    memset(data, 'x', sizeof data);
    CHECK(states_freed == 0);
    video_put(c, held);                   /* frees it (valgrind/ASan check) */
    CHECK(states_freed == 1);
    video_put(c, v);

    /* A whole video arriving makes it complete, and the committer thread
     * saves its map without being asked. */
    CHECK(video_cache_start(c) == 0);
    v = video_get(c, "cgt-small", 2 * G);
    CHECK(v && video_write(v, data, G, 0) == 0 && video_write(v, data, G, G) == 0);
    if (v)
        video_arrived(c, v, 0, 2);
    CHECK(video_cache_complete(c, "cgt-small"));
    video_put(c, v);
    video_cache_stop(c);                  /* commits what is queued */
    video_cache_free(c);
    c = video_cache_new(st, dir, 0, free_state);
    CHECK(video_cache_restore(c) == 0 && video_cache_complete(c, "cgt-small"));
    video_cache_free(c);
    store_close(st);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return CHECK_DONE("test_video_cache");
}
