/* readahead.c — the read-ahead window rule; see readahead.h. */
#include "readahead.h"

/* The cursor the read at `off` continues, or NULL; `*oldest` gets the least
 * recently used one. */
static struct readahead_cursor *continued(struct readahead *ra, off_t off,
                                          struct readahead_cursor **oldest)
{
    *oldest = &ra->cursors[0];
    for (int i = 0; i < READAHEAD_CURSORS; i++) {
        struct readahead_cursor *k = &ra->cursors[i];
        off_t slack = k->window ? (off_t)k->window + (1 << 20) : 0;
        if (k->used && off >= k->next - slack && off <= k->next + slack)
            return k;
        if (k->used < (*oldest)->used)
            *oldest = k;
    }
    return NULL;
}

struct readahead_plan readahead_note(struct readahead *ra, off_t size, off_t off, size_t len)
{
    struct readahead_cursor *c, *oldest;
    off_t end = off + (off_t)len, target;
    bool opening = false;           /* a new reader with a window at once */
    struct readahead_plan p = { .tail_from = size };

    if (!(c = continued(ra, off, &oldest))) {
        /* A read from byte 0 is how players and probes start, and a read
         * of a player's buffer elsewhere is how they seek: read a little
         * ahead at once, in the same request. */
        c = oldest;
        opening = off == 0 || (len >= READAHEAD_SEEK_MIN && len < READAHEAD_FIRST);
        *c = (struct readahead_cursor){ .start = off, .next = end, .ahead = end,
                                        .window = opening ? READAHEAD_FIRST : 0 };
    } else {
        /* Twice what the run has read: probes that read a few small pieces
         * fetch little, long readers a lot. */
        if (end > c->next)
            c->next = end;
        c->window = 2 * (size_t)(c->next - c->start);
        if (c->window < READAHEAD_FIRST)
            c->window = READAHEAD_FIRST;
        if (c->window > READAHEAD_MAX)
            c->window = READAHEAD_MAX;
    }
    c->used = ++ra->tick;
    target = c->next + (off_t)c->window;
    if (target > size)
        target = size;
    /* Top up in batches of at least half a window: a request per kernel
     * read would cost a round trip per 128 KiB. */
    if (c->window && target > c->ahead &&
        (c->ahead - c->next < (off_t)c->window / 2 || target == size)) {
        /* An opening read rides along in its read-ahead's request. */
        p.from = opening ? off : c->ahead > end ? c->ahead : end;
        p.to = p.from < target ? target : p.from;
        p.with_read = opening;
        c->ahead = target;
    }
    /* An opening reader reads the end next when a moov-at-end MP4 keeps its
     * index there: fetch it now, one round trip instead of two. */
    if (opening && off == 0 && size > (off_t)READAHEAD_TAIL)
        p.tail_from = size - (off_t)READAHEAD_TAIL;
    p.long_run = c->next - c->start >= (off_t)READAHEAD_WHOLE;
    return p;
}
