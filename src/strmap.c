/* strmap.c — chained hash map with FNV-1a; see strmap.h. */
#include "strmap.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct strmap_entry {
    struct strmap_entry *next;
    void *value;
    char key[];
};

struct strmap {
    struct strmap_entry **buckets;
    size_t nbuckets, count;
};

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

strmap *strmap_new(void)
{
    strmap *m = calloc(1, sizeof *m);

    if (m && !(m->buckets = calloc(m->nbuckets = 64, sizeof *m->buckets))) {
        free(m);
        m = NULL;
    }
    return m;
}

void strmap_free(strmap *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->nbuckets; i++)
        for (struct strmap_entry *e = m->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(m->buckets);
    free(m);
}

static struct strmap_entry **find_slot(const strmap *m, const char *key)
{
    struct strmap_entry **slot = &m->buckets[hash_key(key) & (m->nbuckets - 1)];

    while (*slot && strcmp((*slot)->key, key))
        slot = &(*slot)->next;
    return slot;
}

void *strmap_get(const strmap *m, const char *key)
{
    struct strmap_entry *e = *find_slot(m, key);
    return e ? e->value : NULL;
}

static void grow(strmap *m)
{
    size_t n = m->nbuckets * 2;
    struct strmap_entry **b = calloc(n, sizeof *b);

    if (!b)
        return;                 /* stay at this size: slower, still correct */
    for (size_t i = 0; i < m->nbuckets; i++)
        for (struct strmap_entry *e = m->buckets[i], *next; e; e = next) {
            size_t at = hash_key(e->key) & (n - 1);
            next = e->next;
            e->next = b[at];
            b[at] = e;
        }
    free(m->buckets);
    m->buckets = b;
    m->nbuckets = n;
}

int strmap_put(strmap *m, const char *key, void *value)
{
    struct strmap_entry **slot = find_slot(m, key), *e;
    size_t len = strlen(key);

    if (*slot) {
        (*slot)->value = value;
        return 0;
    }
    if (!(e = malloc(sizeof *e + len + 1)))
        return -ENOMEM;
    memcpy(e->key, key, len + 1);
    e->value = value;
    e->next = NULL;
    *slot = e;
    if (++m->count > m->nbuckets)
        grow(m);
    return 0;
}

void *strmap_del(strmap *m, const char *key)
{
    struct strmap_entry **slot = find_slot(m, key), *e = *slot;
    void *value;

    if (!e)
        return NULL;
    *slot = e->next;
    value = e->value;
    free(e);
    m->count--;
    return value;
}

size_t strmap_count(const strmap *m)
{
    return m->count;
}

void strmap_each_key(const strmap *m, void (*fn)(const char *key, void *arg), void *arg)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (struct strmap_entry *e = m->buckets[i]; e; e = e->next)
            fn(e->key, arg);
}

void strmap_each(const strmap *m, void (*fn)(const char *key, void *value, void *arg), void *arg)
{
    for (size_t i = 0; i < m->nbuckets; i++)
        for (struct strmap_entry *e = m->buckets[i]; e; e = e->next)
            fn(e->key, e->value, arg);
}
