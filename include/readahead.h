/* readahead.h — the read-ahead rule of one video, as a pure object: which
 * bytes to fetch ahead of a read, given the reads seen so far. No locks, no
 * I/O: stream.c keeps one per video under its own lock and turns each plan
 * into range requests.
 *
 * Up to READAHEAD_CURSORS sequential readers per video are told apart (a
 * player and a probe, or two players). A read continues a reader when it
 * starts near where that reader is expected next (with slack: the kernel's
 * readahead requests arrive out of order on several FUSE threads); any other
 * read starts a new reader in the least recently used cursor. A reader's
 * window is twice what it has read in a row, at least READAHEAD_FIRST, at
 * most READAHEAD_MAX. A reader that starts elsewhere than byte 0 with a read
 * of READAHEAD_SEEK_MIN up to READAHEAD_FIRST is a player's seek (ffmpeg and
 * mpv read 32 KiB and more at the new place, then on): its first window
 * rides in the read's request, saving the round trip of a second request.
 * Any other reader that starts elsewhere gets no window until its second
 * read (random access fetches only what it touches). The window is topped up
 * in batches of at least half a window.
 */
#ifndef SEEDANCEFS_READAHEAD_H
#define SEEDANCEFS_READAHEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define READAHEAD_CURSORS 4
#define READAHEAD_FIRST (256u << 10)    /* window of a run's first reads */
#define READAHEAD_MAX (32u << 20)       /* window of a long sequential reader */
#define READAHEAD_TAIL (64u << 10)      /* a read from byte 0 also fetches this much of the
                                         * end, where a moov-at-end MP4 keeps its index */
#define READAHEAD_SEEK_MIN (32u << 10)  /* a read this big at a new place is a seek */
#define READAHEAD_WHOLE (8u << 20)      /* a reader this far into a run is "long" */

/* One sequential reader, as far as read-ahead can tell. */
struct readahead_cursor {
    off_t start;                /* where its run began */
    off_t next;                 /* where it is expected to read next */
    off_t ahead;                /* read-ahead planned up to here */
    size_t window;              /* 0 = random access */
    long long used;             /* last use (0 = free), for recycling */
};

/* Zero-initialised is a video nobody has read. */
struct readahead {
    struct readahead_cursor cursors[READAHEAD_CURSORS];
    long long tick;
};

/* What to fetch besides the read itself. An empty range has from == to. */
struct readahead_plan {
    off_t from, to;             /* ahead of the reader */
    bool with_read;             /* [from, to) starts at the read: fetch it as one
                                 * urgent request (a reader waits for its start) */
    off_t tail_from;            /* also fetch [tail_from, size) (a read from byte 0
                                 * only); == size: nothing */
    bool long_run;              /* the reader is READAHEAD_WHOLE into a run */
};

/* Notes a read of `len` bytes at `off` of a `size`-byte video and returns
 * what to fetch ahead of it. */
struct readahead_plan readahead_note(struct readahead *ra, off_t size, off_t off, size_t len);

#endif
