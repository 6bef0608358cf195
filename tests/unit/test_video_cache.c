/* test_video_cache.c — the cache map: granules marked present survive a
 * reopen only after a commit, maps saved in 1 MiB blocks (schema 2) are
 * converted, a map for a file of another size is not trusted, and a
 * video replaced while in use is freed by its last user. */
#include "check.h"
#include "video_cache.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define G VIDEO_GRANULE

static size_t count_present(struct video *v)
{
    size_t n = 0;
    for (size_t g = 0; g < v->ngranules; g++)
        n += bit(v->have, g);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/sdfs-vcache-XXXXXX", why[256], data[G];
    store *st;
    video_cache *c;
    struct video *v;
    off_t size = 3 * (1 << 20) + 100;     /* 3 MiB and a bit: 97 granules */

    CHECK(mkdtemp(dir) != NULL);
    CHECK((st = store_open(dir, why, sizeof why)) != NULL);

    /* A schema-2 row: 1 MiB blocks 0 and 3 (the 100-byte tail) present. */
    unsigned char old_map = 1 | 8;
    struct stored_cache row = {"cgt-old", size, &old_map, 1, 5, 1 << 20};
    CHECK(store_cache_put(st, &row) == 0);
    c = video_cache_new(st, dir, 0);
    CHECK(c != NULL);
    /* The cache file must exist with the right size for the map to count. */
    v = video_get(c, "cgt-old", size);
    CHECK(v != NULL && v->ngranules == 97 && v->present == 0);
    video_put(c, v);
    video_cache_free(c);

    c = video_cache_new(st, dir, 0);
    CHECK(video_cache_restore(c) == 0);
    v = video_get(c, "cgt-old", size);
    CHECK(v != NULL);
    /* Block 0 = granules 0..31; block 3 = granule 96 (the tail). */
    CHECK(v && v->present == 33 && count_present(v) == 33);
    CHECK(v && bit(v->have, 0) && bit(v->have, 31) && !bit(v->have, 32) && bit(v->have, 96));
    CHECK(!video_cache_complete(c, "cgt-old"));

    /* New granules count once and are saved in granule units on commit. */
    memset(data, 'x', sizeof data);
    CHECK(v && video_write(v, data, G, 32 * (off_t)G) == 0);
    CHECK(v && !video_arrived(c, v, 32, 33));   /* not yet due: 32 KiB */
    CHECK(v && !video_arrived(c, v, 32, 33) && v->present == 34);
    if (v)
        video_commit(c, v);
    video_put(c, v);
    video_cache_free(c);

    c = video_cache_new(st, dir, 0);
    CHECK(video_cache_restore(c) == 0);
    v = video_get(c, "cgt-old", size);
    CHECK(v && v->present == 34 && bit(v->have, 32));
    video_put(c, v);

    /* Another size: the old map is dropped, the file starts over. A user
     * still holding the old video keeps it valid until video_put. */
    struct video *held = video_get(c, "cgt-old", size);
    v = video_get(c, "cgt-old", size + 1);
    CHECK(v != NULL && v != held && v->present == 0);
    CHECK(held && held->orphan && held->present == 34);
    video_put(c, held);                   /* frees it (valgrind/ASan check) */
    video_put(c, v);

    /* A whole video arriving makes it complete. */
    v = video_get(c, "cgt-small", 2 * G);
    CHECK(v && video_arrived(c, v, 0, 2));      /* complete: commit due */
    CHECK(video_cache_complete(c, "cgt-small"));
    video_put(c, v);
    video_cache_free(c);
    store_close(st);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return CHECK_DONE("test_video_cache");
}
