/* sim-faults.c — see sim-faults.h. */
#include "sim-faults.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static struct {
    pthread_mutex_t lock;
    char fault[32], ops[128];
    long every, seen;
    long long hit;
} F = {.lock = PTHREAD_MUTEX_INITIALIZER, .every = 1};

void faults_configure(const cJSON *control)
{
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(control, "fault");
    const cJSON *every = cJSON_GetObjectItemCaseSensitive(control, "fault_every");
    const cJSON *ops = cJSON_GetObjectItemCaseSensitive(control, "fault_ops");

    pthread_mutex_lock(&F.lock);
    if (cJSON_IsString(f))
        snprintf(F.fault, sizeof F.fault, "%s", f->valuestring);
    if (cJSON_IsNumber(every) && every->valuedouble >= 1)
        F.every = (long)every->valuedouble;
    if (cJSON_IsString(ops))
        snprintf(F.ops, sizeof F.ops, "%s", ops->valuestring);
    F.seen = 0;
    pthread_mutex_unlock(&F.lock);
}

long long faults_hit(void)
{
    pthread_mutex_lock(&F.lock);
    long long n = F.hit;
    pthread_mutex_unlock(&F.lock);
    return n;
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code, const char *type,
                             const void *data, size_t len, enum MHD_ResponseMemoryMode mode,
                             const char *header, const char *value)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data, mode);
    enum MHD_Result ret;

    if (type)
        MHD_add_response_header(r, "Content-Type", type);
    if (header)
        MHD_add_response_header(r, header, value);
    ret = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result json(struct MHD_Connection *c, unsigned code, const char *text,
                            const char *header, const char *value)
{
    return reply(c, code, "application/json", text, strlen(text), MHD_RESPMEM_MUST_COPY, header,
                 value);
}

/* A 206 of the video at `from`, stating `first`-`last`/`total`. */
static enum MHD_Result lying_range(struct MHD_Connection *c, const char *video, size_t size,
                                   size_t from, size_t first, size_t last, size_t total)
{
    char cr[96];

    if (from >= size)
        from = 0;
    if (last >= size)
        last = size - 1;
    snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", first, last, total);
    size_t len = last >= first ? last - first + 1 : 1;
    if (from + len > size)
        len = size - from;
    return reply(c, 206, "video/mp4", video + from, len, MHD_RESPMEM_PERSISTENT,
                 "Content-Range", cr);
}

bool faults_apply(struct MHD_Connection *c, const char *op, const char *url,
                  const char *video, size_t size, const char *cdn_url, enum MHD_Result *ret)
{
    char fault[32];
    bool content = !strcmp(op, "content") || !strcmp(op, "cdn");
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    size_t from = 0, to = size - 1;

    pthread_mutex_lock(&F.lock);
    bool on = F.fault[0] && (!F.ops[0] || strstr(F.ops, op)) && ++F.seen % F.every == 0;
    if (on)
        F.hit++;
    snprintf(fault, sizeof fault, "%s", F.fault);
    pthread_mutex_unlock(&F.lock);
    if (!on)
        return false;
    if (range && sscanf(range, "bytes=%zu-%zu", &from, &to) < 1)
        from = 0;
    if (to >= size)
        to = size - 1;

    if (!strcmp(fault, "503"))
        *ret = json(c, 503, "{\"error\": {\"code\": \"ServiceUnavailable\", \"message\": "
                            "\"try later\"}}", NULL, NULL);
    else if (!strcmp(fault, "429"))
        *ret = json(c, 429, "{\"error\": {\"code\": \"RateLimit\", \"message\": \"slow\"}}",
                    "Retry-After", "1");
    else if (!strcmp(fault, "429_huge"))
        *ret = json(c, 429, "{\"error\": {\"code\": \"RateLimit\", \"message\": \"a day\"}}",
                    "Retry-After", "86400");
    else if (!strcmp(fault, "429_bare"))
        *ret = json(c, 429, "{\"error\": {\"code\": \"RateLimit\", \"message\": \"slow\"}}",
                    NULL, NULL);
    else if (!strcmp(fault, "html_200") || !strcmp(fault, "html_404")) {
        static const char page[] = "<html><body><h1>Bad Gateway</h1>nginx</body></html>\n";
        *ret = reply(c, fault[5] == '2' ? 200 : 404, "text/html", page, sizeof page - 1,
                     MHD_RESPMEM_PERSISTENT, NULL, NULL);
    } else if (!strcmp(fault, "truncated"))
        *ret = json(c, 200, content ? "{\"id\": \"cgt-20" : "{\"id\": \"cgt-2026", NULL, NULL);
    else if (!strcmp(fault, "nested") || !strcmp(fault, "oversized")) {
        bool nested = fault[0] == 'n';
        size_t n = nested ? 200000 : (17u << 20);
        char *body = malloc(n + 16);
        if (!body)
            return false;
        if (nested) {
            memset(body, '[', n);
            body[n] = '\0';
        } else {
            memcpy(body, "{\"pad\": \"", 9);
            memset(body + 9, 'x', n - 11);
            memcpy(body + n - 2, "\"}", 3);
        }
        *ret = reply(c, 200, "application/json", body, strlen(body), MHD_RESPMEM_MUST_FREE,
                     NULL, NULL);
    } else if (!strcmp(fault, "hostile_id")) {
        if (content)
            return false;
        *ret = json(c, 200, !strcmp(op, "list")
                    ? "{\"items\": [{\"id\": \"../../etc\", \"status\": \"running\"}], \"total\": 1}"
                    : "{\"id\": \"cgt-1/../../x\", \"status\": \"succeeded\"}", NULL, NULL);
    } else if (!strcmp(fault, "reset")) {
        *ret = MHD_NO;
    } else if (!strcmp(fault, "stall")) {
        struct timespec ts = {2, 500000000};
        nanosleep(&ts, NULL);
        *ret = MHD_NO;
    } else if (!strcmp(fault, "gzip") && content) {
        *ret = reply(c, 200, "video/mp4", video, size, MHD_RESPMEM_PERSISTENT,
                     "Content-Encoding", "gzip");
    } else if (!strcmp(fault, "shifted_range") && content) {
        *ret = lying_range(c, video, size, from + 1, from + 1, to, size);   /* not what was asked */
    } else if (!strcmp(fault, "size_change") && content) {
        *ret = lying_range(c, video, size, from, from, to, size + 1);
    } else if (!strcmp(fault, "redirect_loop")) {
        *ret = reply(c, 302, NULL, "", 0, MHD_RESPMEM_PERSISTENT, "Location", url);
    } else if (!strcmp(fault, "cross_host") && content && cdn_url) {
        *ret = reply(c, 302, NULL, "", 0, MHD_RESPMEM_PERSISTENT, "Location", cdn_url);
    } else {
        return false;           /* this fault does not apply to this operation */
    }
    return true;
}
