/* strmap.h — a string-keyed hash map for in-memory indexes (tasks by id and
 * by name, request files by name). O(1) get/put/del; grows by doubling.
 * Keys are copied; values are borrowed pointers. Not thread-safe: the
 * owning table's mutex guards it.
 */
#ifndef SEEDANCEFS_STRMAP_H
#define SEEDANCEFS_STRMAP_H

#include <stddef.h>

typedef struct strmap strmap;

strmap *strmap_new(void);
void strmap_free(strmap *m);                       /* values are not freed */
void *strmap_get(const strmap *m, const char *key);
int strmap_put(strmap *m, const char *key, void *value);  /* 0 or -ENOMEM; replaces */
void *strmap_del(strmap *m, const char *key);      /* returns the old value */
size_t strmap_count(const strmap *m);
/* Calls fn(key) for each entry; fn must not change the map. */
void strmap_each_key(const strmap *m, void (*fn)(const char *key, void *arg), void *arg);

/* Calls fn for each entry; fn must not change the map. */
void strmap_each(const strmap *m, void (*fn)(const char *key, void *value, void *arg), void *arg);

#endif
