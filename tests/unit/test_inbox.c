/* test_inbox.c — the requests/ state machine around a close(): a rejection
 * that arrives while the close() is still submitting is not lost. */
#include "api.h"
#include "check.h"
#include "inbox.h"
#include "outbox.h"
#include "store.h"
#include "tasks.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static inbox *the_inbox;

/* The asset gate runs while the entry is SUBMITTING and the inbox lock is
 * dropped: the moment a submitter thread's rejection can arrive. */
static int reject_meanwhile(const char *body, char *why, size_t why_len, void *arg)
{
    (void)body; (void)why; (void)why_len; (void)arg;
    inbox_on_reject("fox", -EINVAL, "API 400 InvalidParameter: duration", the_inbox);
    return 0;
}

static int submit(const char *file, const char *text)
{
    int rc = inbox_create(the_inbox, file);

    if (!rc && inbox_write(the_inbox, file, text, strlen(text), 0) != (ssize_t)strlen(text))
        rc = -EIO;
    return rc ? rc : inbox_flush(the_inbox, file);
}

int main(void)
{
    char dir[] = "/tmp/sdfs-inbox-XXXXXX", why[256], buf[256];
    struct api_options cfg = { .api_url = "http://127.0.0.1:9", .dialect = DIALECT_GATEWAY };
    struct task_body_rules rules = { "doubao-seedance-2-0-260128", "480p:720p:1080p", 1 << 20, NULL };
    struct inbox_stat st;
    store *s;
    http *h;
    api *a;
    tasks *t;
    outbox *o;
    ssize_t n;

    CHECK(mkdtemp(dir) != NULL);
    CHECK((s = store_open(dir, why, sizeof why)) != NULL);
    CHECK((h = http_new("k", 5)) && (a = api_new(&cfg, h)));
    CHECK((t = tasks_new(a, s, 3)) && (o = outbox_new(s, a, t, false)));
    /* submit_wait 0: close() returns "pending" at once (no submitter runs). */
    CHECK((the_inbox = inbox_new(&rules, o, t, 0)) != NULL);

    /* An ordinary close: accepted and read-only. */
    CHECK(submit("owl.json", "{\"prompt\": \"an owl\"}") == 0);
    CHECK(inbox_stat(the_inbox, "owl.json", &st) == -EEXIST || !st.writable);

    /* Rejected while submitting: close() fails with the API's reason, the
     * file stays editable and NAME.error says why. */
    inbox_set_gate(the_inbox, reject_meanwhile, NULL);
    CHECK(submit("fox.json", "{\"prompt\": \"a fox\"}") == -EINVAL);
    CHECK(inbox_stat(the_inbox, "fox.json", &st) == 0 && st.writable);
    CHECK(inbox_stat(the_inbox, "fox.error", &st) == 0);
    n = inbox_read(the_inbox, "fox.error", buf, sizeof buf - 1, 0);
    CHECK(n > 0 && (buf[n] = '\0', strstr(buf, "InvalidParameter") != NULL));

    inbox_free(the_inbox);
    outbox_free(o);
    tasks_free(t);
    api_free(a);
    http_free(h);
    store_close(s);
    return CHECK_DONE("test_inbox");
}
