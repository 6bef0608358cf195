/* tasks_import.c — tasks of this account made elsewhere (the web console,
 * another machine): one look at the newest pages of the list endpoint adds
 * those the table does not know; see tasks.h. */
#include "tasks_internal.h"
#include "log.h"

#include <errno.h>
#include <malloc.h>
#include <stdatomic.h>

#define IMPORT_PAGE_SIZE 100
#define IMPORT_PAGES 10             /* at most this many list pages per look ... */
#define IMPORT_PAGES_FIRST 100      /* ... and at mount (10,000 tasks) */

int tasks_import_recent(tasks *t, api *a, bool first)
{
    struct api_result res;
    char *after = NULL;                 /* this listing's own cursor */
    int total = 0;
    bool full = false;
    static atomic_bool told;            /* the bound is said once a mount */

    for (int page = 1; page <= (first ? IMPORT_PAGES_FIRST : IMPORT_PAGES); page++) {
        struct task_info *items;
        int n = 0, added = 0, rc = tasks_listing_begin(t);
        if (rc) {
            log_error("import: out of memory");
            break;
        }
        rc = api_list_recent(a, NULL, page, IMPORT_PAGE_SIZE, &after, &items, &n, &res);
        for (int i = 0; !rc && i < n && !full; i++) {
            int one = tasks_import(t, &items[i]);
            added += !one;
            full = one == -EDQUOT;
        }
        tasks_listing_end(t);
        if (rc == -EPROTO) {
            log_info("import: %s; not importing tasks made elsewhere", res.msg);
            free(after);
            return rc;
        }
        if (rc) {
            log_info("import: %s", res.msg);
            break;              /* -ECANCELED at unmount ends it too */
        }
        api_task_list_free(items, n);
        total += added;
        if (full) {
            if (!atomic_exchange(&told, true))
                log_error("import: the mount holds max_tasks=%zu tasks; older tasks made "
                          "elsewhere are not shown (remove some with rmdir, or raise "
                          "max_tasks)", tasks_max(t));
            break;
        }
        /* Newest first: after the first look, a page with nothing new means
         * the rest is known. */
        if (n < IMPORT_PAGE_SIZE || (!added && !first))
            break;
    }
    free(after);
    if (total) {
        log_info("import: %d task(s) created elsewhere", total);
        malloc_trim(0);         /* the list replies were large and are gone */
    }
    return 0;
}
