/* sign.c — see sign.h. */
#include "sign.h"

#include "text.h"

#include <errno.h>
#include <stdbool.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIGNED_HEADERS "content-type;host;x-content-sha256;x-date"

struct pair {
    char *name, *value;
};

static int by_name(const void *x, const void *y)
{
    const struct pair *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->value, b->value);
}

char *sign_query(const char *const *names, const char *const *values, size_t n)
{
    struct pair *pairs = calloc(n + 1, sizeof *pairs);
    size_t len = 1;
    char *out = NULL;
    bool ok = pairs != NULL;

    for (size_t i = 0; ok && i < n; i++) {
        pairs[i].name = text_percent_encode(names[i], 0);
        pairs[i].value = text_percent_encode(values[i], 0);
        ok = pairs[i].name && pairs[i].value;
        if (ok)
            len += strlen(pairs[i].name) + strlen(pairs[i].value) + 2;
    }
    if (ok && (out = malloc(len))) {
        qsort(pairs, n, sizeof *pairs, by_name);
        out[0] = '\0';
        for (size_t i = 0; i < n; i++) {
            if (i)
                strcat(out, "&");
            strcat(out, pairs[i].name);
            strcat(out, "=");
            strcat(out, pairs[i].value);
        }
    }
    for (size_t i = 0; pairs && i < n; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
    return out;
}

static void to_hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

static void sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char d[SHA256_DIGEST_LENGTH];

    SHA256(data, len, d);
    to_hex(d, sizeof d, out);
}

static void hmac(const unsigned char *key, size_t key_len, const char *data,
                 unsigned char out[32])
{
    unsigned int n = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)data, strlen(data), out, &n);
}

int sign_headers(const struct sign_input *in, char *out[3])
{
    char date[17], day[9], body_hash[65], request_hash[65], signature[65];
    unsigned char k[32];
    char *canonical = NULL, *to_sign = NULL, *scope = NULL, *path = NULL;
    struct tm tm;
    int rc = 0;

    out[0] = out[1] = out[2] = NULL;
    gmtime_r(&in->when, &tm);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    memcpy(day, date, 8);
    day[8] = '\0';
    sha256_hex(in->body ? in->body : "", in->body ? in->body_len : 0, body_hash);
    if (!(path = strdup(in->path[0] ? in->path : "/")) ||
        asprintf(&canonical, "%s\n%s\n%s\ncontent-type:%s\nhost:%s\nx-content-sha256:%s\n"
                 "x-date:%s\n\n" SIGNED_HEADERS "\n%s", in->method, path, in->query,
                 in->content_type, in->host, body_hash, date, body_hash) < 0)
        canonical = NULL;
    if (canonical)
        sha256_hex(canonical, strlen(canonical), request_hash);
    if (!canonical || asprintf(&scope, "%s/%s/%s/request", day, in->region, in->service) < 0 ||
        asprintf(&to_sign, "HMAC-SHA256\n%s\n%s\n%s", date, scope, request_hash) < 0) {
        rc = -ENOMEM;
        goto out;
    }
    hmac((const unsigned char *)in->secret_key, strlen(in->secret_key), day, k);
    hmac(k, 32, in->region, k);
    hmac(k, 32, in->service, k);
    hmac(k, 32, "request", k);
    {
        unsigned char sig[32];
        hmac(k, 32, to_sign, sig);
        to_hex(sig, 32, signature);
    }
    if (asprintf(&out[0], "X-Date: %s", date) < 0 ||
        asprintf(&out[1], "X-Content-Sha256: %s", body_hash) < 0 ||
        asprintf(&out[2], "Authorization: HMAC-SHA256 Credential=%s/%s, SignedHeaders="
                 SIGNED_HEADERS ", Signature=%s", in->access_key, scope, signature) < 0)
        rc = -ENOMEM;
out:
    memset(k, 0, sizeof k);         /* the derived key is as good as the secret for a day */
    if (rc)
        for (int i = 0; i < 3; i++) {
            free(out[i]);
            out[i] = NULL;
        }
    free(canonical); free(to_sign); free(scope); free(path);
    return rc;
}
