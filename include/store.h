/* store.h — durable state in STATE_DIR/state.db (SQLite, WAL).
 *
 * The only module that writes SQL. Six tables:
 *   requests  the outbox: every request accepted at close(), with its state
 *             (accepted -> sending -> submitted | rejected), attempts, the
 *             last error and, once known, the task id
 *   tasks     every task seedancefs knows: last task JSON, status, times
 *   cache     which granules of which video are on disk (a bitmap)
 *   assets    real-person / virtual-human assets: state, provider id, authorization
 *   exports   tasks handled for export_dir, and how far (export.c)
 *   settings  values kept across mounts (the export_dir last used)
 * Every commit uses synchronous=FULL (WAL): what a call wrote is on disk
 * when it returns, so a request accepted or a task id learned survives
 * kill -9 and power loss. Callers do not hold their own locks across
 * these calls (a commit waits on the disk), except where a delete must be
 * ordered against a re-create of the same name (inbox.h, assets.h say so).
 * One connection, serialised by a mutex; calls are short.
 * All functions return 0 or a negative errno (-EIO for an SQLite error,
 * logged with the operation).
 */
#ifndef SEEDANCEFS_STORE_H
#define SEEDANCEFS_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store store;

#define STORE_SCHEMA_VERSION 7

enum request_state { REQ_ACCEPTED, REQ_SENDING, REQ_SUBMITTED, REQ_REJECTED };

/* One outbox row. Strings are owned by whoever filled the struct. */
struct stored_request {
    const char *name;           /* "fox" */
    const char *file;           /* "fox.json": the file under requests/ */
    const char *data;           /* the bytes the user wrote */
    size_t data_len;
    const char *body;           /* the validated body to POST */
    enum request_state state;
    int attempts;
    const char *last_error;     /* NULL = none */
    const char *task_id;        /* once submitted */
    bool wants_last_frame;
    long long created_at;       /* accepted at (Unix seconds) */
    double first_sent_at;       /* 0 until the first POST went out */
};

/* One task row. */
struct stored_task {
    const char *id, *name, *status, *api_status, *task_json, *request_json, *error;
    const char *video_url;
    const void *last_frame;
    size_t last_frame_len;
    bool wants_last_frame;
    long long created_at, updated_at;
    long long video_size;       /* -1 unknown */
    const char *video_error;    /* NULL, or why the video cannot be had (gone at the provider) */
    const char *video_tag;      /* the version video_size is of (ETag or Last-Modified), or NULL */
};

/* One cache row: `bitmap` has one bit per `block_size` bytes of the video. */
struct stored_cache {
    const char *id;
    long long size;
    const unsigned char *bitmap;
    size_t bitmap_len;
    long long last_read;
    long long block_size;
};

/* One asset row. */
struct stored_asset {
    const char *kind, *name, *state, *asset_id, *authorization, *reason;
    const char *flow;               /* JSON: where its steps stand (assets_flow.c), or NULL */
    long long created_at;
};

/* Opens (creating or migrating) STATE_DIR/state.db. NULL with `why` set. */
store *store_open(const char *state_dir, char *why, size_t why_len);
void store_close(store *s);

/* Outbox. put: -EEXIST when the name is in use. */
int store_request_put(store *s, const struct stored_request *r);
int store_request_set_state(store *s, const char *name, enum request_state state,
                            int attempts, const char *last_error, double first_sent_at);
int store_request_delete(store *s, const char *name);
/* The POST answered with an id: the request turns submitted and the task
 * row appears, in one transaction. */
int store_request_submitted(store *s, const char *name, const struct stored_task *t);
int store_requests_load(store *s, void (*fn)(const struct stored_request *r, void *arg),
                        void *arg);

/* Tasks: put inserts or replaces. */
int store_task_put(store *s, const struct stored_task *t);
int store_task_delete(store *s, const char *id);
int store_tasks_load(store *s, void (*fn)(const struct stored_task *t, void *arg), void *arg);

/* Video cache map. */
int store_cache_put(store *s, const struct stored_cache *c);
int store_cache_delete(store *s, const char *id);
int store_cache_load(store *s, void (*fn)(const struct stored_cache *c, void *arg), void *arg);

/* Assets: put inserts or replaces (kind, name). */
int store_asset_put(store *s, const struct stored_asset *a);
int store_asset_delete(store *s, const char *kind, const char *name);
int store_assets_load(store *s, void (*fn)(const struct stored_asset *a, void *arg), void *arg);

/* Exports: one row per task handled for export_dir: `state` "before" (it
 * was final before the folder was set: never exported), "renaming" (its
 * files are written under temporary names; renames may be under way) or
 * "done"; `base` names its files. put inserts or replaces; put_many
 * writes n rows of one state and one setting in one commit. */
int store_export_put(store *s, const char *id, const char *state, const char *base);
int store_exports_put_many(store *s, char *const *ids, size_t n, const char *state,
                           const char *setting_key, const char *setting_value);
int store_exports_load(store *s, void (*fn)(const char *id, const char *state,
                                            const char *base, void *arg), void *arg);

/* Settings (written with store_exports_put_many): a malloc'd copy, NULL
 * when unset. */
int store_setting_get(store *s, const char *key, char **value);

const char *store_state_name(enum request_state state);

#endif
