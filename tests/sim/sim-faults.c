/* sim-faults.c — see sim-faults.h. */
#include "sim-faults.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static struct {
    pthread_mutex_t lock;
    char fault[32], ops[128];
    long every, seen;
    long long hit;
    double refuse_seconds;
    bool refusing;                  /* the listener is closed: open connections get reset */
    void (*stop_listening)(void), (*listen_again)(void);
} F = {.lock = PTHREAD_MUTEX_INITIALIZER, .every = 1};

void faults_set_listener(void (*stop_listening)(void), void (*listen_again)(void))
{
    F.stop_listening = stop_listening;
    F.listen_again = listen_again;
}

static void pause_for(double seconds)
{
    struct timespec ts = {(time_t)seconds, (long)((seconds - (time_t)seconds) * 1e9)};
    nanosleep(&ts, NULL);
}

/* The refused fault: after the control reply is out, the port is closed
 * (connections are refused at the socket) for refuse_seconds, then
 * listened on again. */
static void *refuse(void *arg)
{
    (void)arg;
    pause_for(0.2);
    pthread_mutex_lock(&F.lock);
    F.hit++;
    pthread_mutex_unlock(&F.lock);
    F.stop_listening();
    pause_for(F.refuse_seconds);
    F.listen_again();
    pthread_mutex_lock(&F.lock);
    F.refusing = false;
    if (!strcmp(F.fault, "refused"))
        F.fault[0] = '\0';
    pthread_mutex_unlock(&F.lock);
    return NULL;
}

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
    bool refusing = !strcmp(F.fault, "refused") && !F.refusing && F.stop_listening;
    if (refusing) {
        const cJSON *secs = cJSON_GetObjectItemCaseSensitive(control, "fault_seconds");
        F.refuse_seconds = cJSON_IsNumber(secs) && secs->valuedouble > 0 &&
                           secs->valuedouble <= 60 ? secs->valuedouble : 3;
        F.refusing = true;          /* from now: a second control starts no second refusal */
    }
    pthread_mutex_unlock(&F.lock);
    pthread_t t;
    if (refusing && !pthread_create(&t, NULL, refuse, NULL))
        pthread_detach(t);
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

/* The connection's socket, blocking and unbuffered, for a fault that
 * writes its own bytes (MHD closes the connection after). -1 if none. */
static int raw_socket(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct timeval limit = {5, 0};
    int fd, flags, on = 1, off = 0;

    if (!i)
        return -1;
    fd = i->connect_fd;
    if ((flags = fcntl(fd, F_GETFL)) >= 0)
        fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof off);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
    return fd;
}

static bool raw_send(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* The headers of a raw reply: `status`, `type`, a Content-Range when
 * `range` is set, and a Content-Length of `length`. */
static bool raw_head(int fd, unsigned status, const char *type, const char *range, size_t length)
{
    char head[512];
    int n = snprintf(head, sizeof head, "HTTP/1.1 %u %s\r\nContent-Type: %s\r\n%s%s%s"
                     "Content-Length: %zu\r\n\r\n", status, status == 206 ? "Partial Content"
                     : status == 200 ? "OK" : "Service Unavailable", type,
                     range ? "Content-Range: " : "", range ? range : "", range ? "\r\n" : "",
                     length);
    return raw_send(fd, head, (size_t)n);
}

/* Raw faults: what MHD cannot be made to send. The body is `body` (len
 * bytes) with status `status` and Content-Range `range` (or NULL). */
static enum MHD_Result raw_fault(struct MHD_Connection *c, const char *fault, unsigned status,
                                 const char *type, const char *range, const char *body,
                                 size_t len)
{
    int fd = raw_socket(c);

    if (fd < 0)
        return MHD_NO;
    if (!strcmp(fault, "interim_flood")) {
        /* 1xx interim responses, one a millisecond for up to 20 s, then an error. */
        static const char interim[] = "HTTP/1.1 102 Processing\r\n\r\n";
        for (int i = 0; i < 20000 && raw_send(fd, interim, sizeof interim - 1); i++)
            pause_for(0.001);
        static const char err[] = "{\"error\": {\"code\": \"ServiceUnavailable\"}}";
        if (raw_head(fd, 503, "application/json", NULL, sizeof err - 1))
            raw_send(fd, err, sizeof err - 1);
    } else if (!strcmp(fault, "length_cut")) {
        /* Content-Length says all of it; half comes, then the connection closes. */
        if (raw_head(fd, status, type, range, len))
            raw_send(fd, body, len / 2);
    } else if (!strcmp(fault, "length_short")) {
        /* Content-Length (and the body) half what the Content-Range says. */
        if (raw_head(fd, status, type, range, len / 2))
            raw_send(fd, body, len / 2);
        pause_for(0.5);             /* the client sees a complete reply first */
    } else if (!strcmp(fault, "trickle")) {
        /* A byte every 200 ms, for at most 20 s. */
        if (raw_head(fd, status, type, range, len))
            for (size_t i = 0; i < len && i < 100 && raw_send(fd, body + i, 1); i++)
                pause_for(0.2);
    }
    return MHD_NO;
}

bool faults_apply(struct MHD_Connection *c, const char *op, const char *url,
                  const char *video, size_t size, const char *cdn_url, enum MHD_Result *ret)
{
    char fault[32];
    bool content = !strcmp(op, "content") || !strcmp(op, "cdn");
    const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Range");
    size_t from = 0, to = size - 1;

    pthread_mutex_lock(&F.lock);
    if (F.refusing) {                   /* connections opened before the port closed */
        F.hit++;
        pthread_mutex_unlock(&F.lock);
        *ret = MHD_NO;
        return true;
    }
    bool on = F.fault[0] && strcmp(F.fault, "refused") && (!F.ops[0] || strstr(F.ops, op)) && ++F.seen % F.every == 0;
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
    } else if (!strcmp(fault, "expired_url") && !strcmp(op, "content") && cdn_url) {
        /* A signed URL that expired a minute ago: the CDN answers 403. */
        char expired[256];
        const char *q = strstr(cdn_url, "expires=");
        snprintf(expired, sizeof expired, "%.*sexpires=%ld", q ? (int)(q - cdn_url) : 0,
                 cdn_url, (long)time(NULL) - 60);
        *ret = reply(c, 302, NULL, "", 0, MHD_RESPMEM_PERSISTENT, "Location", expired);
    } else if (!strcmp(fault, "interim_flood") || !strcmp(fault, "length_cut") ||
               !strcmp(fault, "trickle") || (!strcmp(fault, "length_short") && content)) {
        static const char err[] = "{\"error\": {\"code\": \"ServiceUnavailable\", "
                                  "\"message\": \"try later\"}}";
        char cr[96];
        if (content && range) {
            snprintf(cr, sizeof cr, "bytes %zu-%zu/%zu", from, to, size);
            *ret = raw_fault(c, fault, 206, "video/mp4", cr, video + from, to - from + 1);
        } else if (content) {
            *ret = raw_fault(c, fault, 200, "video/mp4", NULL, video, size);
        } else {
            *ret = raw_fault(c, fault, 503, "application/json", NULL, err, sizeof err - 1);
        }
    } else {
        return false;           /* this fault does not apply to this operation */
    }
    return true;
}
