/* sign.h — HMAC-SHA256 request signing as Volcengine and BytePlus define it
 * for their OpenAPI (shaped like AWS Signature V4, with its own names):
 *
 *   canonical request = METHOD \n PATH \n QUERY \n
 *                       content-type:T \n host:H \n x-content-sha256:B \n x-date:D \n \n
 *                       content-type;host;x-content-sha256;x-date \n B
 *   scope   = YYYYMMDD/REGION/SERVICE/request
 *   string  = "HMAC-SHA256" \n D \n scope \n hex(sha256(canonical request))
 *   key     = HMAC(HMAC(HMAC(HMAC(SK, YYYYMMDD), REGION), SERVICE), "request")
 *   Authorization: HMAC-SHA256 Credential=AK/scope, SignedHeaders=..., Signature=hex(HMAC(key, string))
 *
 * with B = hex(sha256(body)) and D = YYYYMMDDTHHMMSSZ (UTC). Pure
 * functions on OpenSSL's libcrypto; unit-tested (tests/unit/test_sign.c).
 */
#ifndef SEEDANCEFS_SIGN_H
#define SEEDANCEFS_SIGN_H

#include <stddef.h>
#include <time.h>

/* The query string of `n` name/value pairs in canonical form: sorted by
 * name (then value), each part percent-encoded per RFC 3986 (unreserved
 * characters kept, space as %20). Used both in the URL and in the
 * signature. malloc'd; NULL on ENOMEM. */
char *sign_query(const char *const *names, const char *const *values, size_t n);

struct sign_input {
    const char *method, *host, *path;   /* host as sent ("name" or "name:port"), path as
                                         * sent (percent-encoded, text_percent_encode) */
    const char *query;                  /* canonical (sign_query), "" for none */
    const char *content_type;
    const char *body;                   /* NULL = empty */
    size_t body_len;
    time_t when;
    const char *access_key, *secret_key, *region, *service;
};

/* The three headers to send, as "Name: value" lines (each malloc'd):
 * X-Date, X-Content-Sha256, Authorization. 0, or -ENOMEM. */
int sign_headers(const struct sign_input *in, char *out[3]);

#endif
