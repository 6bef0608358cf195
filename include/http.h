/* http.h — libcurl underneath every network call seedancefs makes.
 *
 * Owns a pool of curl easy handles so connections are reused across calls
 * and threads. The Bearer key is attached with CURLAUTH_BEARER, which curl
 * sends to the original host only: a redirect to a CDN never carries it.
 * Only http and https are allowed, for the first URL and for redirects.
 */
#ifndef SEEDANCEFS_HTTP_H
#define SEEDANCEFS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

typedef struct http http;

/* One complete reply. `body` is NUL-terminated; `retry_after` is seconds
 * (from Retry-After) or -1. */
struct http_reply {
    long status;
    char *body;
    size_t len;
    double retry_after;
};

/* Header values, parsed strictly (digits only, no sign, no overflow): a
 * lying or broken server's value is refused, never half-read ("1e6" is not
 * 1). Content-Range "bytes A-B/T" needs A <= B < T; an unknown total ("*")
 * gives a total of -1. Return 0, or -EPROTO (outputs untouched). */
int http_parse_content_range(const char *value, off_t *start, off_t *last, off_t *total);
int http_parse_length(const char *value, off_t *length);

/* `api_key` is copied; `timeout` bounds one call in seconds. NULL on ENOMEM. */
http *http_new(const char *api_key, long timeout);

/* Replaces the key (copied; the old one is wiped) for every request that
 * starts from now on. Returns 0 or -ENOMEM. Thread-safe. */
int http_set_key(http *h, const char *api_key);
void http_free(http *h);

/* Ends every transfer in flight within about a second (curl's progress
 * callback) and makes every later call return -ECANCELED at once: for
 * unmount, where stop means abort. Thread-safe; cannot be undone. */
void http_abort(http *h);

/* The Content-Type of every JSON body http_call sends (signers sign it). */
#define HTTP_JSON_TYPE "application/json"

/* Sends `method url` with an optional JSON body. `auth` adds the Bearer key;
 * `headers` (NULL-terminated "Name: value" lines, or NULL) are added as
 * they are (another scheme's credentials: assets). Returns 0 when a reply arrived (any status; caller frees with
 * http_reply_free), -ETIMEDOUT, -ECONNREFUSED or -EIO when none did, -EMSGSIZE
 * when the reply exceeds 16 MiB. */
int http_call(http *h, const char *method, const char *url, const char *json_body,
              bool auth, const char *const *headers, struct http_reply *out);

/* A request body of any type: `len` bytes at `data` (an upload). */
struct http_body {
    const char *type;
    const void *data;
    size_t len;
};

/* http_call with `body` (NULL: none) sent as it is, with its Content-Type. */
int http_send(http *h, const char *method, const char *url, const struct http_body *body,
              bool auth, const char *const *headers, struct http_reply *out);
void http_reply_free(struct http_reply *r);

/* One version of a file at the server: its size (-1: unknown) and its
 * validator, a strong ETag, else the Last-Modified date ("" when the
 * server states neither). Two replies of one file with different sizes or
 * validators are of different versions: their bytes must not mix. */
#define HTTP_TAG_MAX 96
struct http_version {
    off_t size;
    char tag[HTTP_TAG_MAX];
};

/* Reads up to `len` bytes at `off` of `url` into `buf`, following redirects.
 * Works with servers that answer 206 and with servers that ignore Range and
 * send 200 with the whole body (the bytes before `off` are skipped).
 * `*got` (may be NULL) receives the file's version as the reply states it.
 * A reply that cannot be the file's bytes (Content-Type text/..., JSON or
 * XML: an error page; a Content-Encoding other than identity) is refused
 * before any byte is delivered: -EIO, logged. A 206 carrying more than was
 * asked is cut at `len`. Transient failures (network, 5xx) are retried twice.
 * Returns bytes read (short only at end of file), or -EACCES (401/403, e.g.
 * an expired signed URL), -ENOENT (404), -EIO (anything else). */
ssize_t http_get_range(http *h, const char *url, bool auth, off_t off, size_t len,
                       char *buf, struct http_version *got);

/* Receives the bytes of a streamed GET in order, `at` being their offset in
 * the file, at most HTTP_PIECE_MAX at a time (one read of the connection:
 * over plain HTTP a shorter piece is all it had for now; over TLS a piece
 * is at most one 16 KiB record). Returns 0 to go on, HTTP_SINK_STOP to stop
 * (the rest of a 206 is read and dropped, so that its connection can be
 * reused: for short ranges) or HTTP_SINK_CLOSE to stop at once and drop the
 * connection (for long ranges). `data` NULL (len 0) is a tick: no bytes
 * came for a while (about once a second while none do); the sink may write
 * what it holds, and its return value is ignored. */
typedef int (*http_sink_fn)(off_t at, const char *data, size_t len, void *arg);
#define HTTP_PIECE_MAX (128u << 10)
#define HTTP_SINK_STOP 1
#define HTTP_SINK_CLOSE 2

/* Who waits for a streamed GET. Every foreground connection (API calls
 * too) has a receive buffer of HTTP_FOREGROUND_BUFFER (the kernel doubles
 * it for its bookkeeping; set as below), so that the window never holds
 * back a reply the stream asked for (at most 4 MiB): auto-tuning starts at
 * about 64 KiB and grows only as it measures the path. A background one (a
 * download nobody waits for) gets connections of their own whose receive
 * buffer is about one bandwidth-delay product of the link as measured when
 * the connection opened (link_estimate.h; as root, or within
 * net.core.rmem_max): the server then keeps little in flight, so a
 * foreground reply does not queue behind megabytes of it at the link's
 * bottleneck, and a background sink that pauses (blocks) stops the flow
 * within about one round trip. */
enum http_priority { HTTP_FOREGROUND, HTTP_BACKGROUND };
#define HTTP_FOREGROUND_BUFFER (4u << 20)

/* Streams bytes `off`..`last` of `url` (`last` < 0: to the end) into `sink`
 * (one attempt, no retry; no overall time limit, only the stall limit). A
 * server that ignores Range sends the whole file: the sink then sees it
 * from `at` = 0 and may take it all or stop. `expect` is the version the
 * cached bytes are of: its tag goes out as If-Range (a server whose file
 * changed then sends the new one whole), and a reply stating another size
 * or tag is refused before any byte reaches the sink: -ESTALE, with the
 * reply's version in `*got` (may be NULL; also set on success). Returns 0
 * when the body ended or the sink stopped it, else the errors of
 * http_get_range. A sink may block
 * (a paused background transfer) for up to a few seconds at a time: longer
 * would trip the stall limit. */
int http_get_stream(http *h, const char *url, bool auth, off_t off, off_t last,
                    const struct http_version *expect, enum http_priority priority,
                    http_sink_fn sink, void *arg, struct http_version *got);

/* The receive buffer a background transfer gets now (bytes). */
size_t http_background_window(http *h);

/* Percent-encodes `s` for use as one URL path segment. Caller frees. */
char *http_escape_segment(const char *s);

#endif
