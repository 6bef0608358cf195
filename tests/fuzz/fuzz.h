/* fuzz.h — what the fuzz targets share.
 *
 * Each target is one LLVMFuzzerTestOneInput: built with clang's libFuzzer
 * by `make fuzz`, and with replay.c's main by `make fuzz-replay` (part of
 * make check), which runs the seed corpus and every crash found so far
 * (tests/fuzz/corpus/TARGET/) through the same function with gcc, ASan
 * in make asan.
 *
 * An input holds up to FUZZ_MAX_PARTS parts separated by NUL bytes (a
 * profile and a reply to it, say); fuzz_split gives each as its own
 * NUL-terminated copy, so a target never reads past its input.
 */
#ifndef SEEDANCEFS_FUZZ_H
#define SEEDANCEFS_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_MAX_PARTS 4

struct fuzz_parts {
    char *part[FUZZ_MAX_PARTS];     /* missing parts are "" */
    size_t len[FUZZ_MAX_PARTS];
    char *copy;
};

/* Returns 0, or -1 when out of memory (the input is then skipped). */
static inline int fuzz_split(const uint8_t *data, size_t size, struct fuzz_parts *p)
{
    size_t at = 0;

    if (!(p->copy = malloc(size + FUZZ_MAX_PARTS)))
        return -1;
    memcpy(p->copy, data, size);
    memset(p->copy + size, 0, FUZZ_MAX_PARTS);
    for (int i = 0; i < FUZZ_MAX_PARTS; i++) {
        p->part[i] = p->copy + at;
        p->len[i] = strlen(p->part[i]);
        at = at + p->len[i] + (at + p->len[i] < size ? 1 : 0);
    }
    return 0;
}

static inline void fuzz_parts_free(struct fuzz_parts *p)
{
    free(p->copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
