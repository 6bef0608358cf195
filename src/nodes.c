/* nodes.c — path <-> inode table; see nodes.h. */
#include "nodes.h"
#include "strmap.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct node {
    uint64_t ino, nlookup;
    char *path;
};

struct nodes {
    pthread_mutex_t lock;
    strmap *by_path, *by_ino;   /* by_ino keys are the number in hex */
    uint64_t next_ino;
};

static void ino_key(uint64_t ino, char key[static 24])
{
    snprintf(key, 24, "%" PRIx64, ino);
}

static struct node *node_add(nodes *n, const char *path, uint64_t ino)
{
    struct node *node = calloc(1, sizeof *node);
    char key[24];

    if (!node || !(node->path = strdup(path))) {
        free(node);
        return NULL;
    }
    node->ino = ino;
    ino_key(ino, key);
    if (strmap_put(n->by_path, path, node) || strmap_put(n->by_ino, key, node)) {
        strmap_del(n->by_path, path);
        free(node->path);
        free(node);
        return NULL;
    }
    return node;
}

nodes *nodes_new(void)
{
    nodes *n = calloc(1, sizeof *n);

    if (!n)
        return NULL;
    n->by_path = strmap_new();
    n->by_ino = strmap_new();
    n->next_ino = 2;
    pthread_mutex_init(&n->lock, NULL);
    if (!n->by_path || !n->by_ino || !node_add(n, "/", 1)) {
        nodes_free(n);
        return NULL;
    }
    return n;
}

static void free_node(const char *key, void *value, void *arg)
{
    struct node *node = value;
    (void)key; (void)arg;
    free(node->path);
    free(node);
}

void nodes_free(nodes *n)
{
    if (!n)
        return;
    if (n->by_ino)
        strmap_each(n->by_ino, free_node, NULL);
    strmap_free(n->by_ino);
    strmap_free(n->by_path);
    pthread_mutex_destroy(&n->lock);
    free(n);
}

uint64_t nodes_lookup(nodes *n, const char *path)
{
    struct node *node;
    uint64_t ino = 0;

    pthread_mutex_lock(&n->lock);
    if (!(node = strmap_get(n->by_path, path)))
        node = node_add(n, path, n->next_ino++);
    if (node) {
        node->nlookup++;
        ino = node->ino;
    }
    pthread_mutex_unlock(&n->lock);
    return ino;
}

uint64_t nodes_find(nodes *n, const char *path)
{
    struct node *node;
    uint64_t ino;

    pthread_mutex_lock(&n->lock);
    node = strmap_get(n->by_path, path);
    ino = node ? node->ino : 0;
    pthread_mutex_unlock(&n->lock);
    return ino;
}

char *nodes_path(nodes *n, uint64_t ino)
{
    struct node *node;
    char key[24], *path = NULL;

    ino_key(ino, key);
    pthread_mutex_lock(&n->lock);
    if ((node = strmap_get(n->by_ino, key)))
        path = strdup(node->path);
    pthread_mutex_unlock(&n->lock);
    return path;
}

void nodes_forget(nodes *n, uint64_t ino, uint64_t count)
{
    struct node *node;
    char key[24];

    if (ino == 1)
        return;
    ino_key(ino, key);
    pthread_mutex_lock(&n->lock);
    if ((node = strmap_get(n->by_ino, key))) {
        node->nlookup = node->nlookup > count ? node->nlookup - count : 0;
        if (!node->nlookup) {
            strmap_del(n->by_ino, key);
            if (strmap_get(n->by_path, node->path) == node)
                strmap_del(n->by_path, node->path);
            free(node->path);
            free(node);
        }
    }
    pthread_mutex_unlock(&n->lock);
}

void nodes_rename(nodes *n, const char *from, const char *to)
{
    struct node *node;
    char *path;

    /* Only files inside requests/ are renamed: no children to move. */
    pthread_mutex_lock(&n->lock);
    if ((node = strmap_get(n->by_path, from)) && (path = strdup(to))) {
        struct node *old = strmap_del(n->by_path, to);
        (void)old;                  /* an overwritten target keeps its ino until forgotten */
        strmap_del(n->by_path, from);
        free(node->path);
        node->path = path;
        strmap_put(n->by_path, path, node);
    }
    pthread_mutex_unlock(&n->lock);
}
