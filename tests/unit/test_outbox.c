/* test_outbox.c — the outbox never holds its lock across a commit: while
 * the store waits on the disk (here: another connection holds state.db's
 * write lock), pending/ and by-name lookups (outbox_view) still answer;
 * and whether a failed POST may have created a task. */
#include "api.h"
#include "check.h"
#include "log.h"
#include "outbox.h"
#include "store.h"
#include "tasks.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static outbox *the_outbox;
static atomic_bool accept_done;
static int accept_rc;

static void *accept_fox(void *arg)
{
    struct stored_request r = {
        .name = "fox", .file = "fox.json", .data = "{}", .data_len = 2, .body = "{}",
        .state = REQ_ACCEPTED, .created_at = 1,
    };
    (void)arg;
    accept_rc = outbox_accept(the_outbox, &r);
    atomic_store(&accept_done, true);
    return NULL;
}

int main(void)
{
    char dir[] = "/tmp/sdfs-outbox-XXXXXX", why[256], path[64];
    struct api_options cfg = { .api_url = "http://127.0.0.1:9", .dialect = DIALECT_GATEWAY };
    struct outbox_view v;
    bool seen_while_saving = false;
    sqlite3 *other;
    pthread_t thread;
    store *s;
    http *h;
    api *a;
    tasks *t;

    log_to_file("/dev/null", LOG_LEVEL_INFO);
    CHECK(mkdtemp(dir) != NULL);
    CHECK((s = store_open(dir, why, sizeof why)) != NULL);
    CHECK((h = http_new("k", 5)) && (a = api_new(&cfg, h)));
    CHECK((t = tasks_new(a, s, 3)) && (the_outbox = outbox_new(s, a, t, false)));

    /* Another writer holds the database: the accept's commit must wait. */
    snprintf(path, sizeof path, "%s/state.db", dir);
    CHECK(sqlite3_open(path, &other) == SQLITE_OK);
    CHECK(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL) == SQLITE_OK);
    CHECK(pthread_create(&thread, NULL, accept_fox, NULL) == 0);
    /* Lookups answer meanwhile (they waited for the commit: up to the
     * store's 5 s busy timeout, after which the accept fails). */
    while (!atomic_load(&accept_done)) {
        int rc = outbox_view(the_outbox, "fox", &v, NULL);
        if (!atomic_load(&accept_done) && (rc == 0 || rc == -ENOENT) &&
            outbox_view(the_outbox, "owl", &v, NULL) == -ENOENT && rc == 0) {
            seen_while_saving = true;
            break;
        }
    }
    CHECK(seen_while_saving);
    CHECK(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK);
    pthread_join(thread, NULL);
    CHECK(accept_rc == 0);
    CHECK(outbox_view(the_outbox, "fox", &v, NULL) == 0 && !strcmp(v.state, "pending"));
    sqlite3_close(other);

    /* A second request of that name is refused; once withdrawn it is free. */
    accept_done = false;
    accept_fox(NULL);
    CHECK(accept_rc == -EEXIST);
    CHECK(outbox_withdraw(the_outbox, "fox") == 0);
    CHECK(outbox_view(the_outbox, "fox", &v, NULL) == -ENOENT);
    accept_fox(NULL);
    CHECK(accept_rc == 0);

    /* May a failed POST have created a task? Decided from the result's
     * errno and status, never from its message. */
    struct api_result r = { .err = -ETIMEDOUT, .sent = true, .retry_after = -1 };
    strcpy(r.msg, "API 503 ...");           /* wording is not looked at */
    CHECK(outbox_maybe_created(&r));        /* the reply went missing */
    r = (struct api_result){ .sent = true, .err = -EAGAIN, .http_status = 503 };
    CHECK(!outbox_maybe_created(&r));       /* the server said it did not take it */
    r = (struct api_result){ .sent = true, .err = -EAGAIN, .http_status = 429 };
    CHECK(!outbox_maybe_created(&r));
    r = (struct api_result){ .sent = true, .err = -EAGAIN, .http_status = 502 };
    CHECK(outbox_maybe_created(&r));        /* a proxy's 502: the API may have */
    r = (struct api_result){ .sent = true, .err = -ECONNREFUSED };
    CHECK(!outbox_maybe_created(&r));
    r = (struct api_result){ .sent = true, .err = -ECANCELED };
    CHECK(outbox_maybe_created(&r));        /* cut short by unmount */
    r = (struct api_result){ .sent = true, .err = -EPROTO, .http_status = 200 };
    CHECK(outbox_maybe_created(&r));        /* a 200 without a usable id */
    r = (struct api_result){ .sent = false, .err = -ECANCELED };
    CHECK(!outbox_maybe_created(&r));       /* unmount before it went out */

    /* Backoff: 1, 2, 4, 8, then 10 s at most, +-25 %, never under Retry-After. */
    static const double base[] = {1, 1, 2, 4, 8, 10, 10};
    for (int attempts = 1; attempts <= 6; attempts++)
        for (int i = 0; i < 50; i++) {
            double d = outbox_backoff(attempts, -1);
            CHECK(d >= 0.75 * base[attempts] && d <= 1.25 * base[attempts]);
        }
    CHECK(outbox_backoff(1, 30) == 30);

    outbox_free(the_outbox);
    tasks_free(t);
    api_free(a);
    http_free(h);
    store_close(s);
    return CHECK_DONE("test_outbox");
}
