/* test_readahead.c — the read-ahead rule: an opening read fetches a first
 * window and the tail, a seek's read its first window, a sequential
 * reader's window doubles up to the maximum and is topped up in
 * half-window batches, random reads fetch nothing ahead, readers are told
 * apart and the least recently used cursor is recycled, and a long run is
 * reported. */
#include "check.h"
#include "readahead.h"

#include <string.h>

#define KIB ((off_t)1 << 10)
#define MIB ((off_t)1 << 20)

int main(void)
{
    const off_t size = 1024 * MIB;
    struct readahead ra;
    struct readahead_plan p;
    off_t at;

    /* An opening read: one urgent request for the read and its window, and
     * the end of the file. */
    memset(&ra, 0, sizeof ra);
    p = readahead_note(&ra, size, 0, 4096);
    CHECK(p.with_read && p.from == 0 && p.to == 4096 + (off_t)READAHEAD_FIRST);
    CHECK(p.tail_from == size - (off_t)READAHEAD_TAIL && !p.long_run);

    /* Sequential 128 KiB reads: the window doubles with the run and is
     * topped up only when less than half of it is left. */
    at = 4096;
    int topups = 0;
    off_t planned = 4096 + (off_t)READAHEAD_FIRST;
    for (int i = 0; i < 200; i++, at += 128 * KIB) {
        p = readahead_note(&ra, size, at, 128 * KIB);
        CHECK(!p.with_read && p.tail_from == size);
        if (p.to > p.from) {
            topups++;
            CHECK(p.from == planned);                     /* no gap, no overlap */
            CHECK(p.to - p.from > (off_t)ra.cursors[0].window / 2);
            CHECK(p.to - (at + 128 * KIB) <= (off_t)READAHEAD_MAX);
            planned = p.to;
        }
        CHECK(planned >= at + 128 * KIB);                 /* never behind the reader */
    }
    CHECK(topups > 3 && topups < 60);                     /* batches, not one per read */
    CHECK(p.long_run);
    CHECK(ra.cursors[0].window == READAHEAD_MAX);

    /* Random reads (not from 0, never continuing): nothing ahead. */
    memset(&ra, 0, sizeof ra);
    for (int i = 0; i < 50; i++) {
        p = readahead_note(&ra, size, (off_t)((i * 7919) % 1000 + 10) * MIB, 4096);
        CHECK(p.to == p.from && p.tail_from == size && !p.long_run);
    }

    /* A seek: a player's 32 KiB read at a new place gets its first window
     * in the same request, and no tail; a read smaller (random access) or
     * as big as that window gets none. */
    memset(&ra, 0, sizeof ra);
    p = readahead_note(&ra, size, 100 * MIB + 7, 32 * KIB);
    CHECK(p.with_read && p.from == 100 * MIB + 7);
    CHECK(p.to == 100 * MIB + 7 + 32 * KIB + (off_t)READAHEAD_FIRST && p.tail_from == size);
    p = readahead_note(&ra, size, 100 * MIB + 7 + 32 * KIB, 83 * KIB);  /* its next read */
    CHECK(p.to == p.from && !p.with_read);                              /* already asked for */
    memset(&ra, 0, sizeof ra);                          /* near the end: up to the size */
    p = readahead_note(&ra, size, size - 40 * KIB, 32 * KIB);
    CHECK(p.with_read && p.to == size && p.tail_from == size);
    memset(&ra, 0, sizeof ra);                          /* 128 KiB reads from mid-file */
    p = readahead_note(&ra, size, 200 * MIB, 128 * KIB);
    CHECK(p.with_read && p.to == 200 * MIB + 128 * KIB + (off_t)READAHEAD_FIRST);
    for (at = 200 * MIB + 128 * KIB; at < 204 * MIB; at += 128 * KIB) {
        p = readahead_note(&ra, size, at, 128 * KIB);
        CHECK(!p.with_read && (p.to == p.from || p.from >= at + 128 * KIB));
    }
    CHECK(ra.cursors[0].window > READAHEAD_FIRST);      /* one run, its window grown */
    memset(&ra, 0, sizeof ra);
    p = readahead_note(&ra, size, 100 * MIB, 32 * KIB - 1);
    CHECK(p.to == p.from && !p.with_read);
    p = readahead_note(&ra, size, 300 * MIB, READAHEAD_FIRST);
    CHECK(p.to == p.from && !p.with_read);

    /* The second read of a run that started mid-file opens a window. */
    memset(&ra, 0, sizeof ra);
    p = readahead_note(&ra, size, 100 * MIB, 4096);
    CHECK(p.to == p.from);
    p = readahead_note(&ra, size, 100 * MIB + 4096, 4096);
    CHECK(p.to > p.from && p.from == 100 * MIB + 8192);

    /* Four readers are told apart; a fifth recycles the least recent. */
    memset(&ra, 0, sizeof ra);
    for (int r = 0; r < READAHEAD_CURSORS; r++) {
        readahead_note(&ra, size, (off_t)(r + 1) * 100 * MIB, 4096);
        p = readahead_note(&ra, size, (off_t)(r + 1) * 100 * MIB + 4096, 4096);
        CHECK(p.to > p.from);
    }
    p = readahead_note(&ra, size, 700 * MIB, 4096);      /* a fifth: takes reader 1's cursor */
    CHECK(p.to == p.from);
    p = readahead_note(&ra, size, 200 * MIB + 8192, 4096);   /* reader 2 goes on */
    CHECK(p.to == p.from);                                   /* its window still covers it */
    p = readahead_note(&ra, size, 100 * MIB + 8192, 4096);   /* reader 1 was forgotten */
    CHECK(p.to == p.from);
    p = readahead_note(&ra, size, 100 * MIB + 12288, 4096);  /* and starts over */
    CHECK(p.to > p.from);

    /* The window stops at the size; a file no bigger than the tail has no
     * tail request; a read of the whole file fetches nothing ahead. */
    memset(&ra, 0, sizeof ra);
    p = readahead_note(&ra, 100 * KIB, 0, 4096);
    CHECK(p.with_read && p.to == 100 * KIB && p.tail_from == 36 * KIB);
    memset(&ra, 0, sizeof ra);
    p = readahead_note(&ra, 64 * KIB, 0, 4096);
    CHECK(p.to == 64 * KIB && p.tail_from == 64 * KIB);
    memset(&ra, 0, sizeof ra);
    p = readahead_note(&ra, 32 * KIB, 0, 32 * KIB);
    CHECK(p.to == p.from && p.tail_from == 32 * KIB);

    return CHECK_DONE("test_readahead");
}
