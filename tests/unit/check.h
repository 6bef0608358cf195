/* check.h — a tiny assert macro for unit tests (redis style).
 * Each test program prints "N passed, N failed" and exits non-zero on failure. */
#ifndef SEEDANCEFS_CHECK_H
#define SEEDANCEFS_CHECK_H

#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond) do { \
    if (cond) check_passed++; \
    else { check_failed++; fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_DONE(name) ( \
    printf("%s: %d passed, %d failed\n", name, check_passed, check_failed), \
    check_failed ? 1 : 0)

#endif
