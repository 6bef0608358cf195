/* http.c — libcurl handle pool, replies and range reads; see http.h. */
#include "http.h"
#include "clock.h"
#include "link_estimate.h"
#include "log.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#define HTTP_POOL_MAX 16
#define HTTP_MAX_REPLY (16u << 20)
#define HTTP_RANGE_ATTEMPTS 3
#define HTTP_TICK_SECS 0.05              /* a quiet stream's sink hears of it this often */
#define HTTP_TUNE_SECS 0.1               /* a background transfer samples its rate this often */

struct http {
    pthread_mutex_t key_lock;       /* api_key: replaced by http_set_key */
    char *api_key;
    long timeout;
    atomic_bool aborted;            /* http_abort: every transfer ends now */
    pthread_mutex_t lock;           /* the pools and the link estimate */
    CURL *pool[2][HTTP_POOL_MAX];   /* by enum http_priority: connections never cross */
    int pooled[2];
    struct link_estimate link;
};

/* What the header callback learns about the final response. */
struct reply_headers {
    long status;
    double retry_after;
    off_t range_start, total;   /* from Content-Range / Content-Length; -1 if unknown */
    char type[64];              /* Content-Type, lower case; "" if none */
    char encoding[32];          /* Content-Encoding, lower case; "" if none */
    double requested_at;        /* clock_mono() when the last request went out */
    double replied_at;          /* ... and when its status line came back */
    int interim;                /* 1xx responses before the final one */
    char etag[HTTP_TAG_MAX];    /* ETag, as sent; "" if none */
    char modified[HTTP_TAG_MAX];/* Last-Modified, as sent; "" if none */
};

/* The reply's version of the file (http_version). */
static void reply_version(const struct reply_headers *rh, struct http_version *v)
{
    bool strong = rh->etag[0] && strncmp(rh->etag, "W/", 2);

    v->size = rh->total;
    snprintf(v->tag, sizeof v->tag, "%s", strong ? rh->etag : rh->modified);
}

/* More interim (1xx) responses than this end the transfer: a server that
 * floods them would otherwise keep a request alive past every limit
 * (they reset curl's low-speed clock). */
#define HTTP_MAX_INTERIM 16

/* A header's value, trimmed. */
static const char *header_span(const char *v, const char *stop, size_t *n)
{
    v += strspn(v, " \t");
    *n = strcspn(v, stop);
    while (*n && (v[*n - 1] == ' ' || v[*n - 1] == '\t'))
        (*n)--;
    return v;
}

/* A header's value, trimmed and lower-cased, without parameters, into
 * out[size] (cut to fit: a long Content-Encoding still is not identity). */
static void header_value(const char *v, char *out, size_t size)
{
    size_t n;

    v = header_span(v, "\r\n;", &n);
    if (n >= size)
        n = size - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = (char)(v[i] >= 'A' && v[i] <= 'Z' ? v[i] - 'A' + 'a' : v[i]);
    out[n] = '\0';
}

/* A validator (ETag, Last-Modified) as sent, into out[size]; one that
 * does not fit or holds control bytes is none (""): it is compared whole
 * and sent back in If-Range. */
static void header_validator(const char *v, char *out, size_t size)
{
    size_t n;

    v = header_span(v, "\r\n", &n);
    out[0] = '\0';
    if (n >= size)
        return;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return;
    memcpy(out, v, n);
    out[n] = '\0';
}

http *http_new(const char *api_key, long timeout)
{
    http *h = calloc(1, sizeof *h);

    if (!h || !(h->api_key = strdup(api_key))) {
        free(h);
        return NULL;
    }
    h->timeout = timeout;
    pthread_mutex_init(&h->lock, NULL);
    pthread_mutex_init(&h->key_lock, NULL);
    return h;
}

void http_free(http *h)
{
    if (!h)
        return;
    for (int p = 0; p < 2; p++)
        for (int i = 0; i < h->pooled[p]; i++)
            curl_easy_cleanup(h->pool[p][i]);
    explicit_bzero(h->api_key, strlen(h->api_key));
    free(h->api_key);
    pthread_mutex_destroy(&h->lock);
    pthread_mutex_destroy(&h->key_lock);
    free(h);
}

int http_set_key(http *h, const char *api_key)
{
    char *copy = strdup(api_key), *old;

    if (!copy)
        return -ENOMEM;
    pthread_mutex_lock(&h->key_lock);
    old = h->api_key;
    h->api_key = copy;
    pthread_mutex_unlock(&h->key_lock);
    explicit_bzero(old, strlen(old));
    free(old);
    return 0;
}

void http_reply_free(struct http_reply *r)
{
    free(r->body);
    memset(r, 0, sizeof *r);
}

/* A reset handle from the priority's pool (keeps its live connections) or
 * a new one. */
static CURL *handle_get(http *h, enum http_priority p)
{
    CURL *c = NULL;

    pthread_mutex_lock(&h->lock);
    if (h->pooled[p])
        c = h->pool[p][--h->pooled[p]];
    pthread_mutex_unlock(&h->lock);
    if (c)
        curl_easy_reset(c);
    else
        c = curl_easy_init();
    return c;
}

static void handle_put(http *h, CURL *c, enum http_priority p)
{
    pthread_mutex_lock(&h->lock);
    if (h->pooled[p] < HTTP_POOL_MAX) {
        h->pool[p][h->pooled[p]++] = c;
        c = NULL;
    }
    pthread_mutex_unlock(&h->lock);
    if (c)
        curl_easy_cleanup(c);
}

#define OFF_MAX ((off_t)INT64_MAX)   /* off_t is 64-bit (_FILE_OFFSET_BITS=64) */

/* Digits at *p (at least one, no sign) into *out without overflow; *p moves
 * past them. */
static bool parse_digits(const char **p, off_t *out)
{
    const char *s = *p;
    off_t v = 0;

    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (OFF_MAX - (*s - '0')) / 10)
            return false;
        v = v * 10 + (*s - '0');
    }
    *p = s;
    *out = v;
    return true;
}

/* Only blanks and the line end are left. */
static bool at_end(const char *p)
{
    p += strspn(p, " \t\r\n");
    return !*p;
}

int http_parse_content_range(const char *value, off_t *start, off_t *last, off_t *total)
{
    const char *p = value + strspn(value, " \t");
    off_t a, b, t = -1;

    if (strncasecmp(p, "bytes ", 6))
        return -EPROTO;
    p += 6;
    p += strspn(p, " ");
    if (!parse_digits(&p, &a) || *p++ != '-' || !parse_digits(&p, &b) || *p++ != '/' || b < a)
        return -EPROTO;
    if (*p == '*')
        p++;
    else if (!parse_digits(&p, &t) || b >= t)
        return -EPROTO;
    if (!at_end(p))
        return -EPROTO;
    *start = a;
    *last = b;
    *total = t;
    return 0;
}

int http_parse_length(const char *value, off_t *length)
{
    const char *p = value + strspn(value, " \t");
    off_t n;

    if (!parse_digits(&p, &n) || !at_end(p))
        return -EPROTO;
    *length = n;
    return 0;
}

static size_t on_header(char *data, size_t size, size_t n, void *userp)
{
    struct reply_headers *rh = userp;
    size_t len = size * n;
    char line[256];

    if (len >= sizeof line)
        return len;
    memcpy(line, data, len);
    line[len] = '\0';
    if (!strncmp(line, "HTTP/", 5)) {   /* a new response (e.g. after a redirect) */
        char *sp = strchr(line, ' ');
        rh->status = sp ? strtol(sp + 1, NULL, 10) : 0;
        if (rh->status >= 100 && rh->status < 200 && ++rh->interim > HTTP_MAX_INTERIM) {
            log_error("http: more than %d interim (1xx) responses: giving up on the request",
                      HTTP_MAX_INTERIM);
            return 0;                   /* curl ends the transfer (CURLE_WRITE_ERROR) */
        }
        rh->retry_after = -1;
        rh->range_start = rh->total = -1;
        rh->type[0] = rh->encoding[0] = rh->etag[0] = rh->modified[0] = '\0';
        rh->replied_at = clock_mono();
    } else if (!strncasecmp(line, "Retry-After:", 12)) {
        char *end;
        double secs = strtod(line + 12, &end);
        if (end != line + 12 && secs >= 0)
            rh->retry_after = secs;
    } else if (!strncasecmp(line, "Content-Range:", 14)) {
        off_t a, b, t;
        if (!http_parse_content_range(line + 14, &a, &b, &t)) {
            rh->range_start = a;
            rh->total = t;
        }
    } else if (!strncasecmp(line, "Content-Type:", 13)) {
        header_value(line + 13, rh->type, sizeof rh->type);
    } else if (!strncasecmp(line, "ETag:", 5)) {
        header_validator(line + 5, rh->etag, sizeof rh->etag);
    } else if (!strncasecmp(line, "Last-Modified:", 14)) {
        header_validator(line + 14, rh->modified, sizeof rh->modified);
    } else if (!strncasecmp(line, "Content-Encoding:", 17)) {
        header_value(line + 17, rh->encoding, sizeof rh->encoding);
    } else if (!strncasecmp(line, "Content-Length:", 15) && rh->status == 200) {
        off_t n;
        if (!http_parse_length(line + 15, &n))
            rh->total = n;
    }
    return len;
}

void http_abort(http *h)
{
    atomic_store(&h->aborted, true);
}

/* curl calls this about once a second even while no byte arrives: a stop
 * need not wait for a stalled transfer's stall limit. */
static int on_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    http *h = userp;

    (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
    return atomic_load(&h->aborted);
}

/* Called as each request (a redirect's too) is about to go out. */
static int on_request(void *userp, char *primary_ip, char *local_ip, int primary_port,
                      int local_port)
{
    struct reply_headers *rh = userp;

    (void)primary_ip; (void)local_ip; (void)primary_port; (void)local_port;
    rh->requested_at = clock_mono();
    rh->replied_at = 0;
    return CURL_PREREQFUNC_OK;
}

static long rmem_max_value = 212992;   /* the kernel's default */

static void read_rmem_max(void)
{
    FILE *f = fopen("/proc/sys/net/core/rmem_max", "r");
    long v;

    if (f) {
        if (fscanf(f, "%ld", &v) == 1 && v > 0)
            rmem_max_value = v;
        fclose(f);
    }
}

static long rmem_max(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, read_rmem_max);
    return rmem_max_value;
}

/* A connection's receive buffer, set as curl opens its socket (before
 * connect: the window is then fixed for the connection's life). Without
 * privilege the kernel caps it at net.core.rmem_max: then the connection
 * keeps its auto-tuned buffer rather than a window too small to fill the
 * link. */
static void set_receive_buffer(curl_socket_t fd, int want)
{
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) && want <= rmem_max())
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want);
}

/* A foreground connection's: HTTP_FOREGROUND_BUFFER (http.h). */
static int on_foreground_socket(void *userp, curl_socket_t fd, curlsocktype purpose)
{
    (void)userp;
    if (purpose == CURLSOCKTYPE_IPCXN)
        set_receive_buffer(fd, (int)HTTP_FOREGROUND_BUFFER);
    return CURL_SOCKOPT_OK;
}

static void set_common(http *h, CURL *c, const char *url, bool auth, struct reply_headers *rh)
{
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
    /* Abort a stalled transfer: under 1 KiB/s for 10 s. */
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1024L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 10L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, rh);
    curl_easy_setopt(c, CURLOPT_PREREQFUNCTION, on_request);
    curl_easy_setopt(c, CURLOPT_PREREQDATA, rh);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "seedancefs/0.1");
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, h);
    curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_foreground_socket);
    if (auth) {
        /* Bearer auth through curl, not a raw header: curl keeps it to the
         * original host when a redirect points elsewhere. */
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
        pthread_mutex_lock(&h->key_lock);         /* curl copies the string */
        curl_easy_setopt(c, CURLOPT_XOAUTH2_BEARER, h->api_key);
        pthread_mutex_unlock(&h->key_lock);
    }
    rh->status = 0;
    rh->retry_after = -1;
    rh->range_start = rh->total = -1;
    rh->requested_at = rh->replied_at = 0;
    rh->interim = 0;
    rh->etag[0] = rh->modified[0] = '\0';
}

static int curl_errno(CURLcode rc)
{
    switch (rc) {
    case CURLE_OPERATION_TIMEDOUT: return -ETIMEDOUT;
    case CURLE_COULDNT_CONNECT: return -ECONNREFUSED;
    case CURLE_ABORTED_BY_CALLBACK: return -ECANCELED;
    default: return -EIO;
    }
}

struct grow_buffer {
    char *data;
    size_t len, cap;
    int too_big;
};

static size_t on_body(char *data, size_t size, size_t n, void *userp)
{
    struct grow_buffer *b = userp;
    size_t len = size * n;

    if (b->len + len + 1 > HTTP_MAX_REPLY) {
        b->too_big = 1;
        return 0;
    }
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->len + len + 1)
            cap *= 2;
        if (!(p = realloc(b->data, cap)))
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

int http_call(http *h, const char *method, const char *url, const char *json_body,
              bool auth, const char *const *extra, struct http_reply *out)
{
    struct http_body body = {HTTP_JSON_TYPE, json_body, json_body ? strlen(json_body) : 0};
    return http_send(h, method, url, json_body ? &body : NULL, auth, extra, out);
}

int http_send(http *h, const char *method, const char *url, const struct http_body *sent,
              bool auth, const char *const *extra, struct http_reply *out)
{
    char type[160];
    CURL *c = atomic_load(&h->aborted) ? NULL : handle_get(h, HTTP_FOREGROUND);
    struct curl_slist *headers = NULL;
    struct reply_headers rh;
    struct grow_buffer body = {0};
    CURLcode rc;
    int err = 0;

    memset(out, 0, sizeof *out);
    if (!c)
        return atomic_load(&h->aborted) ? -ECANCELED : -ENOMEM;
    set_common(h, c, url, auth, &rh);
    snprintf(type, sizeof type, "Content-Type: %s", sent ? sent->type : HTTP_JSON_TYPE);
    headers = curl_slist_append(headers, type);
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Accept-Encoding: identity");
    headers = curl_slist_append(headers, "Expect:");
    for (int i = 0; extra && extra[i]; i++)
        headers = curl_slist_append(headers, extra[i]);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (sent) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)sent->len);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, sent->data);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    rc = curl_easy_perform(c);
    if (body.too_big)
        err = -EMSGSIZE;
    else if (rc != CURLE_OK)
        err = curl_errno(rc);
    /* Without the query: a presigned or signed URL's signature stays out of the log. */
    log_debug("http %s %.*s -> %ld%s%s", method, (int)strcspn(url, "?"), url, rh.status,
              rc ? ": " : "", rc ? curl_easy_strerror(rc) : "");
    curl_slist_free_all(headers);
    handle_put(h, c, HTTP_FOREGROUND);
    if (err) {
        free(body.data);
        return err;
    }
    out->status = rh.status;
    out->body = body.data ? body.data : strdup("");
    out->len = body.len;
    out->retry_after = rh.retry_after;
    return out->body ? 0 : -ENOMEM;
}

/* State of one streamed GET: hands the body to the caller's sink with the
 * file offset of each piece. */
struct stream_state {
    http *h;
    enum http_priority priority;
    struct reply_headers *rh;
    double first_at;                /* clock_mono() of the first body byte */
    off_t delivered;                /* body bytes handed to the sink */
    double tune_at;                 /* background: when the current rate sample began */
    off_t tune_from;                /* ... and `delivered` then */
    off_t off, last, at;
    const struct http_version *expect;  /* NULL: any */
    http_sink_fn sink;
    void *arg;
    int started, bad_start, sink_stopped, draining;
    double body_at;                 /* clock_mono() of the last body bytes */
    bool changed;                   /* refused: another version of the file */
    char refused[240];              /* why the body is not the video's bytes */
};

/* Why the reply about to be delivered cannot be bytes of the video, or
 * NULL: checked before the first byte reaches the sink, so an error page,
 * a compressed body or another version of the file never gets cached. */
static const char *not_the_video(struct stream_state *s, char *why, size_t size)
{
    static const char *const pages[] = {"text/", "application/json", "application/xml",
                                        "application/problem", NULL};
    const struct reply_headers *rh = s->rh;

    for (int i = 0; pages[i]; i++)
        if (!strncmp(rh->type, pages[i], strlen(pages[i]))) {
            snprintf(why, size, "Content-Type %s: an error page, not the video", rh->type);
            return why;
        }
    if (rh->encoding[0] && strcmp(rh->encoding, "identity")) {
        snprintf(why, size, "Content-Encoding %s, not the bytes themselves", rh->encoding);
        return why;
    }
    if (!s->expect)
        return NULL;
    /* Another version when its validator says so, or (none known) its size
     * does; a size that changed under the same or no validator is a lie or
     * a broken reply, refused without a change. */
    struct http_version got;
    const struct http_version *want = s->expect;
    bool other_size = want->size >= 0 && rh->total >= 0 && rh->total != want->size;
    reply_version(rh, &got);
    if (want->tag[0] && got.tag[0] && strcmp(got.tag, want->tag)) {
        snprintf(why, size, "the server's file is version %.80s, the cached bytes %.80s",
                 got.tag, want->tag);
        s->changed = true;
        return why;
    }
    if (other_size) {
        snprintf(why, size, "the server's file has %lld bytes, the video %lld%s",
                 (long long)rh->total, (long long)want->size,
                 want->tag[0] ? " under the same version: not the video" : ": another version");
        s->changed = !want->tag[0];
        return why;
    }
    return NULL;
}

/* A background connection's: from the link estimate of that moment. */
static int on_background_socket(void *userp, curl_socket_t fd, curlsocktype purpose)
{
    if (purpose == CURLSOCKTYPE_IPCXN)
        set_receive_buffer(fd, (int)http_background_window(userp));
    return CURL_SOCKOPT_OK;
}

size_t http_background_window(http *h)
{
    size_t w;

    pthread_mutex_lock(&h->lock);
    w = link_background_window(&h->link);
    pthread_mutex_unlock(&h->lock);
    return w;
}

static void note_rate(http *h, off_t bytes, double seconds)
{
    pthread_mutex_lock(&h->lock);
    link_note_rate(&h->link, (double)bytes, seconds);
    pthread_mutex_unlock(&h->lock);
}

/* Debug log: where a range request's time went (a new connection pays a
 * handshake; a cold window shows as a long gap between first byte and end). */
static void log_transfer(CURL *c, enum http_priority priority, const char *range,
                         const struct stream_state *s)
{
    curl_off_t first = 0, total = 0;
    long connects = 0;

    curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
    curl_easy_getinfo(c, CURLINFO_STARTTRANSFER_TIME_T, &first);
    curl_easy_getinfo(c, CURLINFO_TOTAL_TIME_T, &total);
    log_debug("range %s %s: %lld bytes, %s connection, first byte %.1f ms, done %.1f ms",
              priority == HTTP_FOREGROUND ? "foreground" : "background", range,
              (long long)s->delivered, connects ? "new" : "reused", first / 1e3, total / 1e3);
}

/* The first body byte: the round trip it took. */
static void on_first_byte(struct stream_state *s)
{
    struct reply_headers *rh = s->rh;

    s->first_at = s->tune_at = clock_mono();
    if (rh->requested_at > 0 && rh->replied_at > rh->requested_at) {
        pthread_mutex_lock(&s->h->lock);
        link_note_rtt(&s->h->link, rh->replied_at - rh->requested_at);
        pthread_mutex_unlock(&s->h->lock);
    }
}

/* A background transfer measures its rate over stretches of
 * HTTP_TUNE_SECS, for the window of the next connection. A stretch with a pause in it is
 * not a sample: the bytes the kernel held during the pause arrive in a
 * burst after it. */
static void background_tune(struct stream_state *s, double sink_secs)
{
    double now = clock_mono();

    if (sink_secs > HTTP_TUNE_SECS / 4) {
        s->tune_at = now + HTTP_TUNE_SECS;      /* skip the burst after the pause */
        s->tune_from = -1;
        return;
    }
    if (now < s->tune_at)
        return;
    if (s->tune_from < 0) {
        s->tune_from = s->delivered;
        s->tune_at = now;
        return;
    }
    if (now - s->tune_at < HTTP_TUNE_SECS)
        return;
    note_rate(s->h, s->delivered - s->tune_from, now - s->tune_at);
    s->tune_at = now;
    s->tune_from = s->delivered;
}

static size_t on_stream_body(char *data, size_t size, size_t n, void *userp)
{
    struct stream_state *s = userp;
    size_t len = size * n;
    double called;
    int stop;

    if (atomic_load(&s->h->aborted))
        return 0;
    if (s->rh->status != 200 && s->rh->status != 206)
        return len;                 /* error page: discard */
    if (s->draining)
        return len;
    if (!s->started) {
        s->started = 1;
        if (s->rh->status == 206 && s->rh->range_start != s->off) {
            s->bad_start = 1;
            return 0;
        }
        if (not_the_video(s, s->refused, sizeof s->refused))
            return 0;
        s->at = s->rh->status == 206 ? s->off : 0;     /* 200: server ignored Range */
        on_first_byte(s);
    }
    if (s->rh->status == 206 && s->last >= 0 && s->at + (off_t)len > s->last + 1) {
        len = s->at > s->last ? 0 : (size_t)(s->last + 1 - s->at);   /* more than asked */
        s->draining = 1;
        if (!len)
            return size * n;
    }
    s->at += (off_t)len;
    s->delivered += (off_t)len;
    called = s->body_at = clock_mono();
    stop = s->sink(s->at - (off_t)len, data, len, s->arg);
    if (s->priority == HTTP_BACKGROUND)
        background_tune(s, clock_mono() - called);
    if (stop) {
        s->sink_stopped = 1;
        /* A 206 ends by itself: let it, so the connection can be reused,
         * unless the sink wants it closed. A 200 (Range ignored) would run
         * to the end of the file: abort. */
        if (s->rh->status == 206 && stop != HTTP_SINK_CLOSE) {
            s->draining = 1;
            return size * n;
        }
        return 0;
    }
    return size * n;
}

/* A stream's progress: besides a stop, a tick for the sink once no body
 * bytes came for HTTP_TICK_SECS (curl calls this about once a second while
 * none arrive), so that it can write what a reader waits for. */
static int on_stream_progress(void *userp, curl_off_t dltotal, curl_off_t dlnow,
                              curl_off_t ultotal, curl_off_t ulnow)
{
    struct stream_state *s = userp;

    (void)dltotal; (void)dlnow; (void)ultotal; (void)ulnow;
    if (atomic_load(&s->h->aborted))
        return 1;
    if (s->body_at > 0 && !s->draining && !s->sink_stopped &&    /* bytes reached the sink */
        clock_mono() - s->body_at > HTTP_TICK_SECS)
        s->sink(s->at, NULL, 0, s->arg);
    return 0;
}

/* One GET of bytes off..last (last < 0: to the end), or until the sink stops it. */
static int stream_attempt(http *h, const char *url, bool auth, off_t off, off_t last,
                          const struct http_version *expect, bool no_deadline,
                          enum http_priority priority, http_sink_fn sink, void *arg,
                          struct http_version *got, int *transient)
{
    CURL *c = atomic_load(&h->aborted) ? NULL : handle_get(h, priority);
    struct reply_headers rh;
    struct stream_state st = { .h = h, .priority = priority, .rh = &rh, .off = off,
                               .last = last, .expect = expect, .sink = sink, .arg = arg,
                               .tune_from = -1 };
    char range[48], if_range[HTTP_TAG_MAX + 16];
    struct curl_slist *headers = NULL;
    CURLcode rc;
    int result;

    *transient = 0;
    if (got) {
        got->size = -1;
        got->tag[0] = '\0';
    }
    if (!c)
        return atomic_load(&h->aborted) ? -ECANCELED : -ENOMEM;
    set_common(h, c, url, auth, &rh);
    /* The cached bytes' version: a server whose file changed sends the new one whole. */
    if (expect && expect->tag[0]) {
        snprintf(if_range, sizeof if_range, "If-Range: %s", expect->tag);
        if (!(headers = curl_slist_append(NULL, if_range))) {
            handle_put(h, c, priority);
            return -ENOMEM;
        }
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    }
    /* A long download may take long on a slow link: only the stall limit applies. */
    if (no_deadline)
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 0L);
    if (last < 0)
        snprintf(range, sizeof range, "%lld-", (long long)off);
    else
        snprintf(range, sizeof range, "%lld-%lld", (long long)off, (long long)last);
    curl_easy_setopt(c, CURLOPT_RANGE, range);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)HTTP_PIECE_MAX);  /* one recv per callback */
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_stream_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &st);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_stream_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &st);
    if (priority == HTTP_BACKGROUND) {
        curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_background_socket);
        curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, h);
    }
    rc = curl_easy_perform(c);
    log_transfer(c, priority, range, &st);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_slist_free_all(headers);
    handle_put(h, c, priority);
    if (priority == HTTP_FOREGROUND && st.started)     /* background ones measured as they go */
        note_rate(h, st.delivered, clock_mono() - st.first_at);
    if (got)
        reply_version(&rh, got);

    if (rc == CURLE_ABORTED_BY_CALLBACK || (rc == CURLE_WRITE_ERROR && atomic_load(&h->aborted))) {
        return -ECANCELED;                           /* http_abort: nothing to report */
    } else if (st.refused[0]) {
        log_error("read %.*s from byte %lld: refused: %s", (int)strcspn(url, "?"), url,
                 (long long)off, st.refused);
        return st.changed ? -ESTALE : -EIO;          /* nothing was written */
    } else if (rh.status == 416) {
        result = 0;                                  /* at or past the end */
    } else if ((rh.status == 200 || rh.status == 206) && !st.bad_start &&
               (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && st.sink_stopped))) {
        result = 0;
    } else if (rh.status == 401 || rh.status == 403) {
        result = -EACCES;
    } else if (rh.status == 404 || rh.status == 410) {
        result = -ENOENT;
    } else {
        *transient = rh.status == 0 || rh.status >= 500 || rh.status == 429 ||
                     rc != CURLE_OK;
        result = -EIO;
    }
    if (result < 0)
        log_error("read %.*s from byte %lld: %s%sHTTP %ld", (int)strcspn(url, "?"), url,
                 (long long)off, rc ? curl_easy_strerror(rc) : "", rc ? ", " : "", rh.status);
    return result;
}

int http_get_stream(http *h, const char *url, bool auth, off_t off, off_t last,
                    const struct http_version *expect, enum http_priority priority,
                    http_sink_fn sink, void *arg, struct http_version *got)
{
    int transient;
    return stream_attempt(h, url, auth, off, last, expect, true, priority, sink, arg, got,
                          &transient);
}

/* A sink that fills a fixed buffer from `off` and stops when it is full. */
struct buffer_sink {
    char *buf;
    off_t off;
    size_t want, got;
};

static int fill_buffer(off_t at, const char *data, size_t len, void *arg)
{
    struct buffer_sink *b = arg;

    if (!data)
        return 0;                   /* a tick: nothing to do */
    if (at + (off_t)len <= b->off)
        return 0;                   /* before the range (Range ignored): skip */
    if (at < b->off) {
        data += b->off - at;
        len -= (size_t)(b->off - at);
    }
    if (len > b->want - b->got)
        len = b->want - b->got;
    memcpy(b->buf + b->got, data, len);
    b->got += len;
    return b->got == b->want;
}

ssize_t http_get_range(http *h, const char *url, bool auth, off_t off, size_t len,
                       char *buf, struct http_version *got)
{
    static const long backoff_ms[HTTP_RANGE_ATTEMPTS] = {0, 200, 800};
    int rc = -EIO, transient = 1;
    struct buffer_sink b = { .buf = buf, .off = off, .want = len };

    if (len == 0)
        return 0;
    for (int i = 0; i < HTTP_RANGE_ATTEMPTS && transient; i++) {
        struct timespec pause = {0, backoff_ms[i] * 1000000L};
        if (i && !atomic_load(&h->aborted))
            nanosleep(&pause, NULL);
        b.got = 0;
        rc = stream_attempt(h, url, auth, off, off + (off_t)len - 1, NULL, false,
                            HTTP_FOREGROUND, fill_buffer, &b, got, &transient);
    }
    return rc ? rc : (ssize_t)b.got;
}

char *http_escape_segment(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *p = out;

    if (!out)
        return NULL;
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
            (*c >= '0' && *c <= '9') || strchr("-._~", *c)) {
            *p++ = (char)*c;
        } else {
            *p++ = '%';
            *p++ = hex[*c >> 4];
            *p++ = hex[*c & 15];
        }
    }
    *p = '\0';
    return out;
}
