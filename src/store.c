/* store.c — the SQLite schema and every SQL statement; see store.h. */
#include "store.h"
#include "log.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct store {
    sqlite3 *db;
    pthread_mutex_t lock;
};

/* Migration N takes the schema from version N to N+1 (PRAGMA user_version). */
static const char *const migrations[STORE_SCHEMA_VERSION] = {
    "CREATE TABLE requests ("
    "  name TEXT PRIMARY KEY, file TEXT NOT NULL, data BLOB NOT NULL, body TEXT NOT NULL,"
    "  state TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,"
    "  task_id TEXT, wants_last_frame INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL, first_sent_at REAL NOT NULL DEFAULT 0);"
    "CREATE TABLE tasks ("
    "  id TEXT PRIMARY KEY, name TEXT UNIQUE, status TEXT NOT NULL, api_status TEXT NOT NULL,"
    "  task_json TEXT, request_json TEXT, error TEXT, video_url TEXT, last_frame BLOB,"
    "  wants_last_frame INTEGER NOT NULL DEFAULT 0, created_at INTEGER, updated_at INTEGER,"
    "  video_size INTEGER NOT NULL DEFAULT -1);"
    "CREATE TABLE cache ("
    "  id TEXT PRIMARY KEY, size INTEGER NOT NULL, bitmap BLOB NOT NULL,"
    "  last_read INTEGER NOT NULL);",
    /* 1 -> 2: assets */
    "CREATE TABLE assets ("
    "  kind TEXT NOT NULL, name TEXT NOT NULL, state TEXT NOT NULL, asset_id TEXT,"
    "  authorization TEXT, reason TEXT, created_at INTEGER NOT NULL,"
    "  PRIMARY KEY (kind, name));",
    /* 2 -> 3: the cache map's unit is stored (rows before this were 1 MiB blocks) */
    "ALTER TABLE cache ADD COLUMN block_size INTEGER NOT NULL DEFAULT 1048576;",
    /* 3 -> 4: why a video cannot be had (gone at the provider) */
    "ALTER TABLE tasks ADD COLUMN video_error TEXT;",
    /* 4 -> 5: export_dir (one step of two statements) */
    ("CREATE TABLE exports (id TEXT PRIMARY KEY, state TEXT NOT NULL, base TEXT);"
     "CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);"),
    /* 5 -> 6: where an asset's steps stand (operation, step, captured values, link) */
    "ALTER TABLE assets ADD COLUMN flow TEXT;",
    /* 6 -> 7: the version of the file at the server the video's size and cached bytes are of */
    "ALTER TABLE tasks ADD COLUMN video_tag TEXT;",
};

static const char *const state_names[] = {"accepted", "sending", "submitted", "rejected"};

const char *store_state_name(enum request_state state)
{
    return state_names[state];
}

static enum request_state state_from_name(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (name && !strcmp(name, state_names[i]))
            return (enum request_state)i;
    return REQ_REJECTED;
}

/* A full disk is told as such (close() of a request says ENOSPC). */
static int fail(store *s, const char *op)
{
    log_error("store %s: %s", op, sqlite3_errmsg(s->db));
    return sqlite3_errcode(s->db) == SQLITE_FULL || sqlite3_system_errno(s->db) == ENOSPC
               ? -ENOSPC : -EIO;
}

static int exec(store *s, const char *sql, const char *op)
{
    char *err = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        log_error("store %s: %s", op, err ? err : "?");
        sqlite3_free(err);
        return -EIO;
    }
    return 0;
}

static int migrate(store *s, char *why, size_t why_len)
{
    sqlite3_stmt *st;
    int version = 0;

    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (version > STORE_SCHEMA_VERSION) {
        snprintf(why, why_len, "state.db has schema %d, newer than this seedancefs (%d)",
                 version, STORE_SCHEMA_VERSION);
        return -EPROTO;
    }
    for (; version < STORE_SCHEMA_VERSION; version++) {
        char bump[64];
        snprintf(bump, sizeof bump, "PRAGMA user_version=%d", version + 1);
        if (exec(s, "BEGIN IMMEDIATE", "migrate") || exec(s, migrations[version], "migrate") ||
            exec(s, bump, "migrate") || exec(s, "COMMIT", "migrate")) {
            exec(s, "ROLLBACK", "migrate");
            snprintf(why, why_len, "cannot migrate state.db to schema %d", version + 1);
            return -EIO;
        }
    }
    return 0;
}

store *store_open(const char *state_dir, char *why, size_t why_len)
{
    store *s = calloc(1, sizeof *s);
    char *path = NULL;

    if (!s || asprintf(&path, "%s/state.db", state_dir) < 0) {
        free(s);
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->lock, NULL);
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                        SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
        snprintf(why, why_len, "%s: %s", path, s->db ? sqlite3_errmsg(s->db) : "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    /* WAL + FULL: a COMMIT is on disk when it returns. */
    if (exec(s, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON",
             "open")) {
        snprintf(why, why_len, "%s: %s", path, sqlite3_errmsg(s->db));
        goto fail;
    }
    if (migrate(s, why, why_len))
        goto fail;
    free(path);
    return s;
fail:
    free(path);
    store_close(s);
    return NULL;
}

void store_close(store *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* ---- statement helpers: prepare, bind by position, step once ---- */

static sqlite3_stmt *prepare(store *s, const char *sql)
{
    sqlite3_stmt *st = NULL;

    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        fail(s, "prepare");
    return st;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static void bind_blob(sqlite3_stmt *st, int i, const void *v, size_t len)
{
    if (v)
        sqlite3_bind_blob64(st, i, v, len, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Steps a bound statement to completion and finalizes it. */
static int finish(store *s, sqlite3_stmt *st, const char *op)
{
    int rc;

    if (!st)
        return -EIO;
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_CONSTRAINT)
        return -EEXIST;
    return rc == SQLITE_DONE ? 0 : fail(s, op);
}

static const char *column_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

/* ---- requests ---- */

int store_request_put(store *s, const struct stored_request *r)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->lock);
    st = prepare(s, "INSERT INTO requests (name, file, data, body, state, attempts, last_error,"
                    " task_id, wants_last_frame, created_at, first_sent_at)"
                    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (st) {
        bind_text(st, 1, r->name);
        bind_text(st, 2, r->file);
        bind_blob(st, 3, r->data ? r->data : "", r->data_len);
        bind_text(st, 4, r->body);
        bind_text(st, 5, state_names[r->state]);
        sqlite3_bind_int(st, 6, r->attempts);
        bind_text(st, 7, r->last_error);
        bind_text(st, 8, r->task_id);
        sqlite3_bind_int(st, 9, r->wants_last_frame);
        sqlite3_bind_int64(st, 10, r->created_at);
        sqlite3_bind_double(st, 11, r->first_sent_at);
    }
    rc = finish(s, st, "put request");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_request_set_state(store *s, const char *name, enum request_state state,
                            int attempts, const char *last_error, double first_sent_at)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->lock);
    st = prepare(s, "UPDATE requests SET state = ?2, attempts = ?3, last_error = ?4,"
                    " first_sent_at = ?5 WHERE name = ?1");
    if (st) {
        bind_text(st, 1, name);
        bind_text(st, 2, state_names[state]);
        sqlite3_bind_int(st, 3, attempts);
        bind_text(st, 4, last_error);
        sqlite3_bind_double(st, 5, first_sent_at);
    }
    rc = finish(s, st, "update request");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_request_delete(store *s, const char *name)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->lock);
    if ((st = prepare(s, "DELETE FROM requests WHERE name = ?1")))
        bind_text(st, 1, name);
    rc = finish(s, st, "delete request");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

static sqlite3_stmt *prepare_task_put(store *s, const struct stored_task *t)
{
    /* An upsert on the id only: OR REPLACE would settle a clash on the
     * unique name by deleting the other task. */
    sqlite3_stmt *st = prepare(s, "INSERT INTO tasks (id, name, status, api_status,"
                                  " task_json, request_json, error, video_url, last_frame,"
                                  " wants_last_frame, created_at, updated_at, video_size,"
                                  " video_error, video_tag)"
                                  " VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15)"
                                  " ON CONFLICT(id) DO UPDATE SET name = excluded.name,"
                                  " status = excluded.status, api_status = excluded.api_status,"
                                  " task_json = excluded.task_json,"
                                  " request_json = excluded.request_json, error = excluded.error,"
                                  " video_url = excluded.video_url,"
                                  " last_frame = excluded.last_frame,"
                                  " wants_last_frame = excluded.wants_last_frame,"
                                  " created_at = excluded.created_at,"
                                  " updated_at = excluded.updated_at,"
                                  " video_size = excluded.video_size,"
                                  " video_error = excluded.video_error,"
                                  " video_tag = excluded.video_tag");
    if (!st)
        return NULL;
    bind_text(st, 1, t->id);
    bind_text(st, 2, t->name);
    bind_text(st, 3, t->status);
    bind_text(st, 4, t->api_status);
    bind_text(st, 5, t->task_json);
    bind_text(st, 6, t->request_json);
    bind_text(st, 7, t->error);
    bind_text(st, 8, t->video_url);
    bind_blob(st, 9, t->last_frame, t->last_frame_len);
    sqlite3_bind_int(st, 10, t->wants_last_frame);
    sqlite3_bind_int64(st, 11, t->created_at);
    sqlite3_bind_int64(st, 12, t->updated_at);
    sqlite3_bind_int64(st, 13, t->video_size);
    bind_text(st, 14, t->video_error);
    bind_text(st, 15, t->video_tag);
    return st;
}

int store_request_submitted(store *s, const char *name, const struct stored_task *t)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = exec(s, "BEGIN IMMEDIATE", "submitted");
    if (!rc && (st = prepare(s, "UPDATE requests SET state = 'submitted', task_id = ?2,"
                                " last_error = NULL WHERE name = ?1"))) {
        bind_text(st, 1, name);
        bind_text(st, 2, t->id);
        rc = finish(s, st, "submitted");
    }
    if (!rc)
        rc = finish(s, prepare_task_put(s, t), "submitted task");
    if (!rc)
        rc = exec(s, "COMMIT", "submitted");
    if (rc)
        exec(s, "ROLLBACK", "submitted");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_requests_load(store *s, void (*fn)(const struct stored_request *r, void *arg),
                        void *arg)
{
    sqlite3_stmt *st;
    int rc = 0, step;

    pthread_mutex_lock(&s->lock);
    st = prepare(s, "SELECT name, file, data, body, state, attempts, last_error, task_id,"
                    " wants_last_frame, created_at, first_sent_at FROM requests"
                    " ORDER BY created_at, rowid");
    while (st && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct stored_request r = {
            .name = column_text(st, 0), .file = column_text(st, 1),
            .data = sqlite3_column_blob(st, 2), .data_len = (size_t)sqlite3_column_bytes(st, 2),
            .body = column_text(st, 3), .state = state_from_name(column_text(st, 4)),
            .attempts = sqlite3_column_int(st, 5), .last_error = column_text(st, 6),
            .task_id = column_text(st, 7), .wants_last_frame = sqlite3_column_int(st, 8),
            .created_at = sqlite3_column_int64(st, 9), .first_sent_at = sqlite3_column_double(st, 10),
        };
        fn(&r, arg);
    }
    if (!st || step != SQLITE_DONE)
        rc = fail(s, "load requests");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- tasks ---- */

int store_task_put(store *s, const struct stored_task *t)
{
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = finish(s, prepare_task_put(s, t), "put task");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_task_delete(store *s, const char *id)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->lock);
    if ((st = prepare(s, "DELETE FROM tasks WHERE id = ?1")))
        bind_text(st, 1, id);
    rc = finish(s, st, "delete task");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_tasks_load(store *s, void (*fn)(const struct stored_task *t, void *arg), void *arg)
{
    sqlite3_stmt *st;
    int rc = 0, step;

    pthread_mutex_lock(&s->lock);
    st = prepare(s, "SELECT id, name, status, api_status, task_json, request_json, error,"
                    " video_url, last_frame, wants_last_frame, created_at, updated_at,"
                    " video_size, video_error, video_tag FROM tasks"
                    " ORDER BY created_at, rowid");
    while (st && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct stored_task t = {
            .id = column_text(st, 0), .name = column_text(st, 1), .status = column_text(st, 2),
            .api_status = column_text(st, 3), .task_json = column_text(st, 4),
            .request_json = column_text(st, 5), .error = column_text(st, 6),
            .video_url = column_text(st, 7), .last_frame = sqlite3_column_blob(st, 8),
            .last_frame_len = (size_t)sqlite3_column_bytes(st, 8),
            .wants_last_frame = sqlite3_column_int(st, 9),
            .created_at = sqlite3_column_int64(st, 10),
            .updated_at = sqlite3_column_int64(st, 11),
            .video_size = sqlite3_column_int64(st, 12),
            .video_error = column_text(st, 13),
            .video_tag = column_text(st, 14),
        };
        fn(&t, arg);
    }
    if (!st || step != SQLITE_DONE)
        rc = fail(s, "load tasks");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- cache ---- */

int store_cache_put(store *s, const struct stored_cache *c)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->lock);
    if ((st = prepare(s, "INSERT OR REPLACE INTO cache (id, size, bitmap, last_read, block_size)"
                         " VALUES (?1, ?2, ?3, ?4, ?5)"))) {
        bind_text(st, 1, c->id);
        sqlite3_bind_int64(st, 2, c->size);
        bind_blob(st, 3, c->bitmap, c->bitmap_len);
        sqlite3_bind_int64(st, 4, c->last_read);
        sqlite3_bind_int64(st, 5, c->block_size);
    }
    rc = finish(s, st, "put cache");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_cache_delete(store *s, const char *id)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->lock);
    if ((st = prepare(s, "DELETE FROM cache WHERE id = ?1")))
        bind_text(st, 1, id);
    rc = finish(s, st, "delete cache");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_cache_load(store *s, void (*fn)(const struct stored_cache *c, void *arg), void *arg)
{
    sqlite3_stmt *st;
    int rc = 0, step;

    pthread_mutex_lock(&s->lock);
    st = prepare(s, "SELECT id, size, bitmap, last_read, block_size FROM cache");
    while (st && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct stored_cache c = {
            .id = column_text(st, 0), .size = sqlite3_column_int64(st, 1),
            .bitmap = sqlite3_column_blob(st, 2),
            .bitmap_len = (size_t)sqlite3_column_bytes(st, 2),
            .last_read = sqlite3_column_int64(st, 3),
            .block_size = sqlite3_column_int64(st, 4),
        };
        fn(&c, arg);
    }
    if (!st || step != SQLITE_DONE)
        rc = fail(s, "load cache");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- assets ---- */

int store_asset_put(store *s, const struct stored_asset *a)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->lock);
    if ((st = prepare(s, "INSERT OR REPLACE INTO assets (kind, name, state, asset_id,"
                         " authorization, reason, created_at, flow) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)"))) {
        bind_text(st, 1, a->kind);
        bind_text(st, 2, a->name);
        bind_text(st, 3, a->state);
        bind_text(st, 4, a->asset_id);
        bind_text(st, 5, a->authorization);
        bind_text(st, 6, a->reason);
        sqlite3_bind_int64(st, 7, a->created_at);
        bind_text(st, 8, a->flow);
    }
    rc = finish(s, st, "put asset");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_asset_delete(store *s, const char *kind, const char *name)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->lock);
    if ((st = prepare(s, "DELETE FROM assets WHERE kind = ?1 AND name = ?2"))) {
        bind_text(st, 1, kind);
        bind_text(st, 2, name);
    }
    rc = finish(s, st, "delete asset");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_assets_load(store *s, void (*fn)(const struct stored_asset *a, void *arg), void *arg)
{
    sqlite3_stmt *st;
    int rc = 0, step;

    pthread_mutex_lock(&s->lock);
    st = prepare(s, "SELECT kind, name, state, asset_id, authorization, reason, created_at,"
                    " flow FROM assets ORDER BY created_at, rowid");
    while (st && (step = sqlite3_step(st)) == SQLITE_ROW) {
        struct stored_asset a = {
            .kind = column_text(st, 0), .name = column_text(st, 1), .state = column_text(st, 2),
            .asset_id = column_text(st, 3), .authorization = column_text(st, 4),
            .reason = column_text(st, 5), .created_at = sqlite3_column_int64(st, 6),
            .flow = column_text(st, 7),
        };
        fn(&a, arg);
    }
    if (!st || step != SQLITE_DONE)
        rc = fail(s, "load assets");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

/* ---- exports and settings ---- */

int store_export_put(store *s, const char *id, const char *state, const char *base)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->lock);
    if ((st = prepare(s, "INSERT OR REPLACE INTO exports (id, state, base) VALUES (?1, ?2, ?3)"))) {
        bind_text(st, 1, id);
        bind_text(st, 2, state);
        bind_text(st, 3, base);
    }
    rc = finish(s, st, "put export");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_exports_put_many(store *s, char *const *ids, size_t n, const char *state,
                           const char *setting_key, const char *setting_value)
{
    sqlite3_stmt *st;
    int rc;

    pthread_mutex_lock(&s->lock);
    rc = exec(s, "BEGIN IMMEDIATE", "put exports");
    for (size_t i = 0; !rc && i < n; i++) {
        if ((st = prepare(s, "INSERT OR REPLACE INTO exports (id, state) VALUES (?1, ?2)"))) {
            bind_text(st, 1, ids[i]);
            bind_text(st, 2, state);
        }
        rc = finish(s, st, "put exports");
    }
    if (!rc && (st = prepare(s, "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)"))) {
        bind_text(st, 1, setting_key);
        bind_text(st, 2, setting_value);
    }
    if (!rc)
        rc = finish(s, st, "put exports");
    if (!rc)
        rc = exec(s, "COMMIT", "put exports");
    if (rc)
        exec(s, "ROLLBACK", "put exports");
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_exports_load(store *s, void (*fn)(const char *id, const char *state,
                                            const char *base, void *arg), void *arg)
{
    sqlite3_stmt *st;
    int rc = 0, step;

    pthread_mutex_lock(&s->lock);
    st = prepare(s, "SELECT id, state, base FROM exports");
    while (st && (step = sqlite3_step(st)) == SQLITE_ROW)
        fn(column_text(st, 0), column_text(st, 1), column_text(st, 2), arg);
    if (!st || step != SQLITE_DONE)
        rc = fail(s, "load exports");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}

int store_setting_get(store *s, const char *key, char **value)
{
    sqlite3_stmt *st;
    int rc = 0, step;

    *value = NULL;
    pthread_mutex_lock(&s->lock);
    if ((st = prepare(s, "SELECT value FROM settings WHERE key = ?1"))) {
        bind_text(st, 1, key);
        if ((step = sqlite3_step(st)) == SQLITE_ROW) {
            if (!(*value = strdup(column_text(st, 0) ? column_text(st, 0) : "")))
                rc = -ENOMEM;
        } else if (step != SQLITE_DONE) {
            rc = fail(s, "get setting");
        }
    } else {
        rc = -EIO;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->lock);
    return rc;
}
