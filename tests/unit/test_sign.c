/* The HMAC-SHA256 signer against a published Volcengine vector, and the
 * canonical query it signs. */
#include "check.h"
#include "sign.h"

#include <stdlib.h>
#include <string.h>

/* Volcengine's documented example (docs 6369/67270, as reproduced by the
 * cloud-api-signer tests: test_volc.py test_sign_demo_ok). */
static void published_vector(void)
{
    const char *names[] = {"Action", "Version", "Limit", "Offset"};
    const char *values[] = {"ListUsers", "2018-01-01", "10", "0"};
    char *query = sign_query(names, values, 4), *out[3];
    struct sign_input in = {
        .method = "GET", .host = "iam.volcengineapi.com", .path = "/", .query = query,
        .content_type = "application/x-www-form-urlencoded; charset=utf-8",
        .body = NULL, .when = 1609316285,           /* 20201230T081805Z */
        .access_key = "AKLTMjI2ODVlYzI3ZGY1NGU4ZjhjYWRjMTlmNTM5OTZkYzE",
        .secret_key = "TnpCak5XWXpZV1U0WkRaaE5ERmxaR0ZpTmpjeVkyUXlZek0wTWpJMU1qWQ==",
        .region = "cn-north-1", .service = "iam",
    };

    CHECK(query && !strcmp(query, "Action=ListUsers&Limit=10&Offset=0&Version=2018-01-01"));
    CHECK(sign_headers(&in, out) == 0);
    CHECK(!strcmp(out[0], "X-Date: 20201230T081805Z"));
    CHECK(!strcmp(out[1], "X-Content-Sha256: "
                  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
    CHECK(!strcmp(out[2], "Authorization: HMAC-SHA256 Credential=AKLTMjI2ODVlYzI3ZGY1NGU4Zj"
                  "hjYWRjMTlmNTM5OTZkYzE/20201230/cn-north-1/iam/request, SignedHeaders="
                  "content-type;host;x-content-sha256;x-date, Signature="
                  "28eeabbbd726b87002e0fe58ad8c1c768e619b06e2646f35b6ad7ed029a6d8a7"));
    for (int i = 0; i < 3; i++)
        free(out[i]);
    free(query);
}

static void query_encoding(void)
{
    const char *names[] = {"b", "a b", "a"};
    const char *values[] = {"x/y", "1+1", "é~"};
    char *q = sign_query(names, values, 3);

    CHECK(q && !strcmp(q, "a=%C3%A9~&a%20b=1%2B1&b=x%2Fy"));
    free(q);
    q = sign_query(NULL, NULL, 0);
    CHECK(q && !strcmp(q, ""));
    free(q);
}

int main(void)
{
    published_vector();
    query_encoding();
    return CHECK_DONE("test_sign");
}
