/* assets_internal.h — what assets.c (records, protocol, gate) and
 * assets_tree.c (the steps as file operations) share. Not a public header. */
#ifndef SEEDANCEFS_ASSETS_INTERNAL_H
#define SEEDANCEFS_ASSETS_INTERNAL_H

#include "assets.h"
#include "strmap.h"

#include <pthread.h>
#include <stdatomic.h>

#define MAX_SOURCE (30u << 20)      /* one source file */
#define MAX_SMALL (64u << 10)       /* authorization.json, select */

struct asset {
    char *kind, *name, *state;      /* draft pending verifying active failed */
    char *asset_id, *authorization, *reason, *error;
    char *auth_draft, *select_draft;
    size_t auth_len, select_len;
    bool auth_dirty, select_armed, create_armed;
    bool sending;                   /* assets_send_create is at work (a second: EBUSY) */
    long long created_at;
};

struct assets {
    profile *p;
    store *store;
    api *api;                   /* every call goes through its budget */
    char *api_url, *dir;
    double poll_interval;
    void (*on_ready)(void *arg);
    void *on_ready_arg;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    strmap *by_key;                 /* "kind/name" -> struct asset */
    pthread_t thread;
    atomic_bool running;             /* read without the lock by loops and sinks */
    bool started;
};

/* Replaces a malloc'd string field with a copy of `value` (NULL clears). */
void assets_set_str(char **field, const char *value);

/* Saves a record (lock held). */
void assets_save(assets *a, const struct asset *r);

/* Frees a record taken out of the map. */
void assets_free_record(struct asset *r);

/* A new draft record under the lock; NULL on ENOMEM. */
struct asset *assets_add_record(assets *a, const char *kind, const char *name);

/* STATE_DIR/assets/KIND/NAME/source, and one file in it (NULL for a bad name). */
char *assets_source_dir(assets *a, const struct asset *r);
char *assets_source_file(assets *a, const struct asset *r, const char *file);

/* Step 4 (create): sends material and authorization of `key` ("KIND/NAME").
 * Called without the lock. 0, or -EINVAL / -EIO with `why`. */
int assets_send_create(assets *a, const char *key, char *why, size_t why_len);

#endif
