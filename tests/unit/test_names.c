/* test_names.c — which ids and names may become directory entries, and
 * how a path is split into them. */
#include "check.h"
#include "names.h"
#include "strmap.h"

#include <errno.h>
#include <string.h>

int main(void)
{
    char long_id[NAMES_MAX_TASK_ID + 2];

    CHECK(names_task_id_ok("cgt-20261128123456-abcde"));
    CHECK(names_task_id_ok("task_01HXYZ"));
    CHECK(!names_task_id_ok(""));
    CHECK(!names_task_id_ok("."));
    CHECK(!names_task_id_ok(".."));
    CHECK(!names_task_id_ok("../etc"));
    CHECK(!names_task_id_ok("a/b"));
    CHECK(!names_task_id_ok("a\nb"));
    CHECK(!names_task_id_ok("a\x7f"));
    CHECK(!names_task_id_ok("\xff\xfe"));
    memset(long_id, 'a', sizeof long_id - 1);
    long_id[sizeof long_id - 1] = '\0';
    CHECK(!names_task_id_ok(long_id));
    long_id[NAMES_MAX_TASK_ID] = '\0';
    CHECK(names_task_id_ok(long_id));

    CHECK(names_request_name_ok("fox"));
    CHECK(names_request_name_ok("fox in snow"));
    CHECK(!names_request_name_ok(".hidden"));

    CHECK(names_utf8_ok("héllo ✓ 🦊", strlen("héllo ✓ 🦊")));
    CHECK(!names_utf8_ok("a\0b", 3));
    CHECK(!names_utf8_ok("\xc0\xaf", 2));          /* overlong '/' */
    CHECK(!names_utf8_ok("\xed\xa0\x80", 3));      /* surrogate */
    CHECK(!names_utf8_ok("\xe2\x9c", 2));          /* truncated */

    strmap *m = strmap_new();
    char keys[2000][16];
    int ok = 1;
    for (int i = 0; i < 2000; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        strmap_put(m, keys[i], keys[i]);
    }
    for (int i = 0; i < 2000; i++)
        ok &= strmap_get(m, keys[i]) == keys[i];
    CHECK(ok);
    CHECK(strmap_count(m) == 2000);
    CHECK(strmap_del(m, "k7") == keys[7]);
    CHECK(strmap_get(m, "k7") == NULL);
    CHECK(strmap_count(m) == 1999);
    strmap_free(m);

    /* Paths: empty components vanish, too many or too long is -ENOENT. */
    char parts[4][NAMES_MAX_PART], huge[NAMES_MAX_PART + 8];
    CHECK(names_split_path("/", parts, 4) == 0);
    CHECK(names_split_path("", parts, 4) == 0);
    CHECK(names_split_path("/tasks/cgt-1/video.mp4", parts, 4) == 3 &&
          !strcmp(parts[0], "tasks") && !strcmp(parts[1], "cgt-1") &&
          !strcmp(parts[2], "video.mp4"));
    CHECK(names_split_path("//tasks///x/", parts, 4) == 2 && !strcmp(parts[1], "x"));
    CHECK(names_split_path("/a/b/c/d", parts, 4) == 4);
    CHECK(names_split_path("/a/b/c/d/e", parts, 4) == -ENOENT);
    memset(huge, 'x', sizeof huge - 1);
    huge[0] = '/';
    huge[sizeof huge - 1] = '\0';
    CHECK(names_split_path(huge, parts, 4) == -ENOENT);
    huge[NAMES_MAX_PART] = '\0';                  /* "/" + 255 bytes: fits */
    CHECK(names_split_path(huge, parts, 4) == 1 && strlen(parts[0]) == NAMES_MAX_PART - 1);
    return CHECK_DONE("test_names");
}
