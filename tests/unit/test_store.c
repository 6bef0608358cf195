/* test_store.c — the SQLite store: rows survive a reopen, the submitted
 * transaction, names stay unique, a newer schema is refused. */
#include "check.h"
#include "store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int requests_seen, tasks_seen, cache_seen;
static char last_state[16], last_task_id[64], last_data[64];

static void on_request(const struct stored_request *r, void *arg)
{
    (void)arg;
    requests_seen++;
    snprintf(last_state, sizeof last_state, "%s", store_state_name(r->state));
    snprintf(last_task_id, sizeof last_task_id, "%s", r->task_id ? r->task_id : "");
    snprintf(last_data, sizeof last_data, "%.*s", (int)r->data_len, r->data);
}

static void on_task(const struct stored_task *t, void *arg)
{
    (void)arg;
    tasks_seen += !strcmp(t->id, "cgt-1") && !strcmp(t->name, "fox") && t->video_size == -1;
}

static void on_cache(const struct stored_cache *c, void *arg)
{
    (void)arg;
    cache_seen += c->size == 3000000 && c->bitmap_len == 1 && c->bitmap[0] == 5 &&
                  c->block_size == 1 << 20;
}

int main(void)
{
    char dir[] = "/tmp/sdfs-store-XXXXXX", why[256], path[64];
    store *s;

    CHECK(mkdtemp(dir) != NULL);
    CHECK((s = store_open(dir, why, sizeof why)) != NULL);
    struct stored_request r = {
        .name = "fox", .file = "fox.json", .data = "{\"prompt\":\"x\"}", .data_len = 14,
        .body = "{}", .state = REQ_ACCEPTED, .created_at = 1,
    };
    CHECK(store_request_put(s, &r) == 0);
    CHECK(store_request_put(s, &r) == -EEXIST);
    CHECK(store_request_set_state(s, "fox", REQ_SENDING, 1, NULL, 12.5) == 0);
    struct stored_task t = {.id = "cgt-1", .name = "fox", .status = "queued",
                            .api_status = "queued", .video_size = -1};
    CHECK(store_request_submitted(s, "fox", &t) == 0);
    unsigned char map = 5;
    struct stored_cache c = {"cgt-1", 3000000, &map, 1, 7, 1 << 20};
    CHECK(store_cache_put(s, &c) == 0);
    store_close(s);

    /* Everything is there after a reopen. */
    CHECK((s = store_open(dir, why, sizeof why)) != NULL);
    CHECK(store_requests_load(s, on_request, NULL) == 0);
    CHECK(requests_seen == 1 && !strcmp(last_state, "submitted") &&
          !strcmp(last_task_id, "cgt-1") && !strcmp(last_data, "{\"prompt\":\"x\"}"));
    CHECK(store_tasks_load(s, on_task, NULL) == 0 && tasks_seen == 1);
    CHECK(store_cache_load(s, on_cache, NULL) == 0 && cache_seen == 1);
    /* A second task may not take the same name. */
    struct stored_task dup = {.id = "cgt-2", .name = "fox", .status = "queued",
                              .api_status = "queued", .video_size = -1};
    CHECK(store_task_put(s, &dup) == -EEXIST);
    CHECK(store_task_delete(s, "cgt-1") == 0 && store_cache_delete(s, "cgt-1") == 0);
    CHECK(store_request_delete(s, "fox") == 0);
    store_close(s);

    /* A database from a newer seedancefs is refused with a reason. */
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/state.db", dir);
    CHECK(sqlite3_open(path, &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL) == SQLITE_OK);
    sqlite3_close(db);
    CHECK(store_open(dir, why, sizeof why) == NULL && strstr(why, "newer"));

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    return CHECK_DONE("test_store");
}
