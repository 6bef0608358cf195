/* test_http_parse.c — sizes from a server are parsed strictly: a
 * Content-Range or Content-Length that is malformed, signed, in another
 * notation or too big for off_t is refused, never half-read. */
#include "check.h"
#include "http.h"

#include <errno.h>

static bool range_is(const char *v, off_t a, off_t b, off_t t)
{
    off_t x = -2, y = -2, z = -2;
    return http_parse_content_range(v, &x, &y, &z) == 0 && x == a && y == b && z == t;
}

static bool range_refused(const char *v)
{
    off_t x = -2, y = -2, z = -2;
    return http_parse_content_range(v, &x, &y, &z) == -EPROTO && x == -2 && y == -2 && z == -2;
}

static bool length_is(const char *v, off_t n)
{
    off_t x = -2;
    return http_parse_length(v, &x) == 0 && x == n;
}

static bool length_refused(const char *v)
{
    off_t x = -2;
    return http_parse_length(v, &x) == -EPROTO && x == -2;
}

int main(void)
{
    CHECK(range_is(" bytes 0-0/1000\r\n", 0, 0, 1000));
    CHECK(range_is("bytes 100-199/200", 100, 199, 200));
    CHECK(range_is("Bytes 0-9/*", 0, 9, -1));                 /* total unknown */
    CHECK(range_is("bytes 0-0/9223372036854775807", 0, 0, (off_t)9223372036854775807LL));
    CHECK(range_refused("bytes 0-0/0"));                      /* a 0-byte "video" */
    CHECK(range_refused("bytes 0-0/18446744073709551616"));   /* 2^64 */
    CHECK(range_refused("bytes 0-0/9223372036854775808"));    /* 2^63 */
    CHECK(range_refused("bytes 0-0/1e6"));
    CHECK(range_refused("bytes -1-0/100"));
    CHECK(range_refused("bytes 0--1/100"));
    CHECK(range_refused("bytes 5-4/100"));                    /* last before start */
    CHECK(range_refused("bytes 0-100/100"));                  /* last past the end */
    CHECK(range_refused("bytes 0-9/100 junk"));
    CHECK(range_refused("bytes */100"));                      /* 416's form: no range */
    CHECK(range_refused("items 0-9/100"));
    CHECK(range_refused(""));

    CHECK(length_is(" 1234\r\n", 1234));
    CHECK(length_is("0", 0));
    CHECK(length_refused("1e6"));
    CHECK(length_refused("-5"));
    CHECK(length_refused("+5"));
    CHECK(length_refused("12 34"));
    CHECK(length_refused("0x10"));
    CHECK(length_refused("99999999999999999999"));
    CHECK(length_refused(""));
    return CHECK_DONE("test_http_parse");
}
