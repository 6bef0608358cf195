/* report.c — the STATUS file's text; see report.h. */
#include "report.h"
#include "api.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_SHOWN 50            /* one line each; the count says how many in all */

struct report {
    api *api;
    tasks *tasks;
    outbox *outbox;
    stream *stream;
    char *api_url;
    time_t mount_time;
};

report *report_new(api *a, tasks *t, outbox *o, stream *s, const char *api_url,
                   time_t mount_time)
{
    report *r = calloc(1, sizeof *r);

    if (!r || !(r->api_url = strdup(api_url))) {
        free(r);
        return NULL;
    }
    r->api = a;
    r->tasks = t;
    r->outbox = o;
    r->stream = s;
    r->mount_time = mount_time;
    return r;
}

void report_free(report *r)
{
    if (r)
        free(r->api_url);
    free(r);
}

/* A growing text; on ENOMEM it stops growing and says so at the end. */
struct text {
    char *buf;
    size_t len, cap;
    int failed;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (t->failed)
        return;
    for (;;) {
        va_start(ap, fmt);
        n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (n < 0) {
            t->failed = 1;
            return;
        }
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        char *grown = realloc(t->buf, t->cap * 2 + (size_t)n);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->buf = grown;
        t->cap = t->cap * 2 + (size_t)n;
    }
}

static void put_time(struct text *t, const char *key, time_t when)
{
    char stamp[32];
    struct tm tm;

    if (when > 0 && gmtime_r(&when, &tm) && strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm))
        put(t, "%s: %s\n", key, stamp);
    else
        put(t, "%s: none\n", key);
}

/* A name as part of a key: '%', ':', blanks and control bytes as %XX, so
 * that "key: value" splits at the first ": " whatever the name holds. */
static void put_key(struct text *t, const char *name)
{
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c == '%' || *c == ':' || *c <= ' ' || *c == 0x7f)
            put(t, "%%%02X", *c);
        else
            put(t, "%c", *c);
}

struct names {
    char **name;
    size_t n, cap;
};

static void collect_name(const char *name, void *arg)
{
    struct names *l = arg;
    char **grown;

    if (l->n == l->cap) {
        if (!(grown = realloc(l->name, (l->cap * 2 + 8) * sizeof *grown)))
            return;
        l->name = grown;
        l->cap = l->cap * 2 + 8;
    }
    if ((l->name[l->n] = strdup(name)))
        l->n++;
}

static void put_requests(report *r, struct text *t)
{
    struct names l = {0};
    struct outbox_view v;
    size_t pending = 0, rejected = 0, shown = 0;

    outbox_each(r->outbox, collect_name, &l);  /* views taken after: outbox_each holds the lock */
    for (size_t i = 0; i < l.n; i++) {
        if (outbox_view(r->outbox, l.name[i], &v, NULL))
            continue;
        if (!strcmp(v.state, "rejected"))
            rejected++;
        else
            pending++;
    }
    put(t, "requests_pending: %zu\n", pending);
    put(t, "requests_rejected: %zu\n", rejected);
    for (size_t i = 0; i < l.n; i++) {
        if (shown < PENDING_SHOWN && !outbox_view(r->outbox, l.name[i], &v, NULL)) {
            put(t, "pending.");
            put_key(t, l.name[i]);
            put(t, ": %s: %s\n", v.state, v.reason);
            shown++;
        }
        free(l.name[i]);
    }
    free(l.name);
}

int report_text(report *r, char **text, size_t *len)
{
    static const char *const words[] = {"queued", "running", "succeeded", "failed",
                                        "cancelled", "expired", "other"};
    struct text t = {malloc(2048), 0, 2048, 0};
    struct tasks_report tr;
    struct api_health h;
    size_t used, max, floor, avail, total = 0;

    if (!t.buf)
        return -ENOMEM;
    tasks_report(r->tasks, &tr);
    api_health(r->api, &h);
    stream_cache_usage(r->stream, &used, &max, &floor, &avail);
    put(&t, "# seedancefs STATUS: key: value lines (see README)\n");
    put(&t, "api_url: %s\n", r->api_url);
    put_time(&t, "mounted", r->mount_time);
    for (int i = 0; i <= STATUS_OTHER; i++)
        total += tr.by_status[i];
    put(&t, "tasks: %zu\n", total);
    for (int i = 0; i <= STATUS_OTHER; i++)
        put(&t, "tasks_%s: %zu\n", words[i], tr.by_status[i]);
    put_requests(r, &t);
    put(&t, "cache_used_bytes: %zu\n", used);
    put(&t, "cache_max_bytes: %zu\n", max);
    put(&t, "cache_min_free_bytes: %zu\n", floor);
    if (avail == SIZE_MAX)
        put(&t, "disk_free_bytes: unknown\n");
    else
        put(&t, "disk_free_bytes: %zu\n", avail);
    put(&t, "api_calls_last_hour: %u\n", h.calls);
    put(&t, "api_retried_last_hour: %u\n", h.failed);
    put(&t, "api_429_last_hour: %u\n", h.limited);
    put(&t, "api_paused_s: %.1f\n", h.paused_for);
    put(&t, "api_last_error: %s\n", h.last_error[0] ? h.last_error : "none");
    put_time(&t, "api_last_error_at", h.last_error_at);
    put(&t, "poll_mode: %s\n", tr.list_mode > 0 ? "list" : tr.list_mode < 0 ? "one-by-one" : "untried");
    if (tr.next_poll_in < 0)
        put(&t, "next_poll_s: none\n");
    else
        put(&t, "next_poll_s: %.1f\n", tr.next_poll_in);
    if (t.failed) {
        free(t.buf);
        return -ENOMEM;
    }
    *text = t.buf;
    *len = t.len;
    return 0;
}
