/* test_nodes.c — the inode table: a path keeps its number while the kernel
 * holds references, forget() frees it only when the count reaches zero, the
 * root is 1 and never goes, a rename keeps the inode; and path parsing. */
#include "check.h"
#include "names.h"
#include "nodes.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static bool path_is(nodes *n, uint64_t ino, const char *want)
{
    char *p = nodes_path(n, ino);
    bool same = p && !strcmp(p, want);

    free(p);
    return same;
}

int main(void)
{
    nodes *n = nodes_new();
    uint64_t fox, again, status;
    char parts[4][NAMES_MAX_PART];

    CHECK(n != NULL);
    CHECK(path_is(n, 1, "/"));
    fox = nodes_lookup(n, "/tasks/cgt-1");
    again = nodes_lookup(n, "/tasks/cgt-1");
    CHECK(fox > 1 && fox == again);             /* same path, same inode, count 2 */
    CHECK(nodes_find(n, "/tasks/cgt-1") == fox && nodes_find(n, "/tasks/cgt-2") == 0);
    nodes_forget(n, fox, 1);
    CHECK(path_is(n, fox, "/tasks/cgt-1"));     /* one reference left */
    nodes_forget(n, fox, 1);
    CHECK(nodes_path(n, fox) == NULL && nodes_find(n, "/tasks/cgt-1") == 0);
    nodes_forget(n, 1, 1000);
    CHECK(path_is(n, 1, "/"));                  /* the root stays */

    /* A rename keeps the inode; the file it replaced keeps its own until
     * forgotten, no longer found by path. */
    fox = nodes_lookup(n, "/requests/.fox.json.swp");
    status = nodes_lookup(n, "/requests/fox.json");
    nodes_rename(n, "/requests/.fox.json.swp", "/requests/fox.json");
    CHECK(path_is(n, fox, "/requests/fox.json") && nodes_find(n, "/requests/fox.json") == fox);
    CHECK(nodes_find(n, "/requests/.fox.json.swp") == 0);
    nodes_forget(n, status, 1);
    CHECK(nodes_find(n, "/requests/fox.json") == fox);     /* the replaced one went alone */
    nodes_free(n);

    /* Path parsing: components, and paths that cannot name anything. */
    CHECK(names_split_path("/tasks/cgt-1/status", parts, 4) == 3);
    CHECK(!strcmp(parts[0], "tasks") && !strcmp(parts[2], "status"));
    CHECK(names_split_path("/", parts, 4) == 0);
    CHECK(names_split_path("/a/b/c/d/e", parts, 4) == -ENOENT);
    char longname[NAMES_MAX_PART + 8];
    memset(longname, 'x', sizeof longname - 1);
    longname[0] = '/';
    longname[sizeof longname - 1] = '\0';
    CHECK(names_split_path(longname, parts, 4) == -ENOENT);
    return CHECK_DONE("test_nodes");
}
