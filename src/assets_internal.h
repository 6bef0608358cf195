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

/* A small file being written (authorization.json, select, callback, reuse):
 * its bytes, and whether a close() is to act on them. */
struct draft {
    char *data;
    size_t len;
    bool armed;
};

struct asset {
    char *kind, *name, *state;      /* draft pending verifying active failed expired */
    char *asset_id, *authorization, *reason, *error;
    struct draft auth, select, callback, reuse;
    bool create_armed;
    bool sending;                   /* a step runs, without the lock (a second run waits) */
    long long created_at;
    /* Where the steps stand (saved with the record: a restart resumes): */
    char *op;                       /* "create" or "select" while its steps run, else NULL */
    int step;                       /* the next step of op */
    cJSON *vars;                    /* values captured so far, and handed on by reuse */
    char *link;                     /* what a person must open, while it is shown */
    long long link_expires;         /* Unix seconds, 0 = no expiry */
};

#define ASSETS_MAX_LIBRARY 1000     /* entries of one kind's library shown */
#define ASSETS_MAX_LOCAL 10000      /* local assets of all kinds: mkdir past it is EDQUOT */
#define ASSETS_LIBRARY_REFRESH 60.0 /* seconds between two list calls of a kind */

/* One asset of the provider's library (a list step's item): read-only. */
struct library_entry {
    char *id, *state;
};

/* A kind's library as last listed (refreshed by the poller). */
struct library {
    const char *kind;               /* the profile's */
    struct library_entry *entries;
    int n;
    double listed_at;               /* clock_mono(), 0 = never */
    bool wanted;                    /* an ls asked for a fresh list */
    unsigned deletes;               /* entries deleted (a list begun before is stale) */
};

struct assets {
    profile *p;
    store *store;
    api *api;                   /* every call goes through its budget */
    char *base_url, *dir;           /* the asset API's base URL; STATE_DIR/assets */
    struct assets_credentials creds;    /* copies, wiped at free */
    double poll_interval;
    void (*on_ready)(void *arg);
    void *on_ready_arg;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    strmap *by_key;                 /* "kind/name" -> struct asset */
    struct library *libraries;      /* one per kind with a list step */
    int nlibraries;
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

/* The MIME type of a file name, by its extension (application/octet-stream). */
const char *assets_mime_of(const char *name);

/* A whole file of at most MAX_SOURCE bytes (malloc'd, with *len), or NULL. */
char *assets_read_file(const char *path, size_t *len);

/* The file at `path` as a data: URL (malloc'd), or NULL. */
char *assets_data_url(const char *path);

/* Moves a record to `state` with `reason` (NULL clears) and saves it. Lock held. */
void assets_set_state(assets *a, struct asset *r, const char *state, const char *reason);

/* ---- assets_flow.c: the profile's steps ---- */

/* Step 4: starts operation `op` ("create") of the draft `key` and runs its
 * steps until one must wait (a person, a poll) or all are done. Called
 * without the lock. 0 (sent, or waiting); -EINVAL when the provider refused
 * the first call or the draft is not ready (`why`), -EIO when it could not
 * be reached (the draft stays a draft), -EBUSY while steps run, -EPERM
 * when it was sent already and is not expired. */
int assets_flow_start(assets *a, const char *key, const char *op, char *why, size_t why_len);

/* The poller's turn for `key`: the next steps of its operation, or one
 * status call once they are done. Without the lock. True when it just
 * turned active. */
bool assets_flow_poll(assets *a, const char *key);

/* The URL a browser landed on after a human step, written into `callback`:
 * its query parameters are captured as the profile says. Lock held.
 * -EINVAL (`why`) when no link waits for one or the URL says the check did
 * not succeed (then the asset failed). */
int assets_flow_callback(assets *a, struct asset *r, const char *url, char *why,
                         size_t why_len);

/* The library of `kind` (its list step): *out has *n entries (free each
 * id, state, then the array). Without the lock. -EAGAIN (try later),
 * -EPROTO (`why`), -ENOENT (no list step). */
int assets_flow_list(assets *a, const char *kind, struct library_entry **out, int *n,
                     char *why, size_t why_len);

/* Deletes asset `id` of `kind` at the provider (its delete steps). Without
 * the lock. 0; -EIO when it could not be reached (the asset stays);
 * -EPERM when it refused (`why`); -ENOENT (no delete steps). */
int assets_flow_delete(assets *a, const char *kind, const char *id, char *why, size_t why_len);

/* The library of `kind`, or NULL. Lock held. */
struct library *assets_library(assets *a, const char *kind);

/* `reuse`: takes over the values the profile lets a verified asset hand on
 * (its group) from asset `from` of the same kind. Lock held. -EINVAL. */
int assets_flow_reuse(assets *a, struct asset *r, const char *from, char *why, size_t why_len);

#endif
