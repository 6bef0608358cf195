/* stream_fill.c — one range request into the cache: bytes written in whole
 * pages as they arrive, readers woken, the background download's lazy
 * claims and its pause for readers; see stream_internal.h. */
#include "stream_internal.h"
#include "bitmap.h"
#include "clock.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- fetching ranges into the cache ---- */


static bool owns(const struct fill *f, size_t g)
{
    return !f->mine || f->whole || bit(f->mine, g);
}

/* The first granule from `g` on, before `end`, whose owner differs from
 * g's (`end` if none): the runs fill_write writes or skips at once. */
static size_t owner_run_end(const struct fill *f, size_t g, size_t end)
{
    bool mine = owns(f, g);

    if (!f->mine || f->whole)
        return end;
    while (++g < end && owns(f, g) == mine)
        ;
    return g;
}

/* The last byte the fill may ask for: before granule f->stop. Only the
 * fill's own thread moves stop, so it reads it without the lock. */
static off_t fill_last(const struct fill *f)
{
    return f->stop ? video_granule_end(f->vf->v, f->stop - 1) - 1 : -1;
}

/* The end of the run from `g` of granules a background fetch need not
 * bring (cached, or a reader's fetch brings them), looked at up to
 * `limit`. Lock held. */
static size_t not_needed_run(stream *s, struct vfetch *vf, size_t g, size_t end, size_t limit)
{
    while (g < end && g < limit) {
        size_t present_end;
        if (bit(vf->busy, g))
            g++;
        else if ((present_end = video_first_missing(s->cache, vf->v, g, end)) > g)
            g = present_end;
        else
            break;
    }
    return g;
}

/* A background fetch claims the granules up to BG_AHEAD past what it wrote
 * that nobody fetches and the cache lacks. It reads over a run of others
 * up to BG_SKIP_PRESENT long (cheaper than a new request) and ends at a
 * longer one. Lock held. */
static void claim_ahead(struct fill *f)
{
    stream *s = f->s;
    struct vfetch *vf = f->vf;
    size_t want = (size_t)((f->written + BG_AHEAD) / G) + 1, skip = BG_SKIP_PRESENT / G;

    if (want > f->stop)
        want = f->stop;
    while (f->claimed < want) {
        size_t g = f->claimed, run_end = not_needed_run(s, vf, g, f->stop, g + skip + 1);
        if (run_end - g > skip) {
            f->stop = g;
            return;
        }
        if (run_end > g) {
            f->claimed = run_end;
            continue;
        }
        set_bit(vf->busy, g);
        set_bit(f->mine, g);
        f->claimed++;
    }
}

/* The end of what the request asks for: before granule f->stop, or the
 * end of the file. */
static off_t request_end(const struct fill *f)
{
    off_t last = fill_last(f);

    return f->whole || last < 0 ? video_size(f->vf->v) : last + 1;
}

/* Allocates the file's blocks ahead of the bytes, RESERVE_STEP at a time
 * up to the end of the request (never beyond what it asks for). A
 * background fill that ends early leaves at most RESERVE_STEP allocated
 * past its bytes. */
static void reserve_ahead(struct fill *f, off_t at, off_t end)
{
    off_t limit = request_end(f), to;

    if (end <= f->reserved)
        return;
    if (f->reserved < at)
        f->reserved = at;
    to = f->reserved + RESERVE_STEP > end ? f->reserved + RESERVE_STEP : end;
    if (to > limit)
        to = limit;
    if (to > f->reserved)
        video_reserve(f->vf->v, f->reserved, to - f->reserved);
    f->reserved = to;
}

/* Writes `len` bytes at f->written (only into the granules this fetch
 * owns) and marks the granules now complete. */
static int fill_write(struct fill *f, const char *data, size_t len)
{
    struct video *v = f->vf->v;
    off_t at = f->written, end = at + (off_t)len;
    size_t first = (size_t)(at / G), done;
    int rc;

    reserve_ahead(f, at, end);

    for (size_t g = first, last = (size_t)((end - 1) / G) + 1; at < end; ) {
        size_t run_end = owner_run_end(f, g, last);
        off_t piece_end = video_granule_end(v, run_end - 1);
        if (piece_end > end)
            piece_end = end;
        if (owns(f, g) &&
            (rc = video_write(v, data + (at - f->written), (size_t)(piece_end - at), at)))
            return f->error = rc;               /* -EIO, or -ENOSPC: no room to cache */
        at = piece_end;
        g = run_end;
    }
    done = end >= video_size(v) ? video_granules(v) : (size_t)(end / G);
    for (size_t g = first; g < done; ) {        /* the complete granules it wrote */
        size_t run_end = owner_run_end(f, g, done);
        if (owns(f, g))
            video_arrived(f->s->cache, v, g, run_end);
        g = run_end;
    }
    pthread_mutex_lock(&f->s->lock);
    f->written = end;                           /* read_ahead looks at it */
    for (size_t g = first; g < done; g++)
        if (owns(f, g))
            clear_bit(f->vf->wanted, g);
    if (done > first)
        pthread_cond_broadcast(&f->s->arrived);
    if (f->mine && !f->whole)
        claim_ahead(f);
    pthread_mutex_unlock(&f->s->lock);
    return 0;
}

/* A background fetch waits while a reader waits for bytes it does not
 * bring (and none for bytes it brings: that one would wait behind the
 * pause), at most BG_PAUSE_SECS at a time: what it has in flight is about
 * one round trip of the link (http.h), so the reader's reply soon has the
 * link to itself. */
static void background_pause(stream *s)
{
    struct timespec until;

    pthread_mutex_lock(&s->lock);
    if (s->readers_waiting > 0 && !s->readers_behind && s->running) {
        clock_deadline(&until, BG_PAUSE_SECS);
        while (s->readers_waiting > 0 && !s->readers_behind && s->running &&
               pthread_cond_timedwait(&s->arrived, &s->lock, &until) != ETIMEDOUT)
            ;
    }
    pthread_mutex_unlock(&s->lock);
}

/* Where the complete granules among the staged bytes end, if a reader
 * waits for one of them; else f->written (nothing to write early). */
static off_t stage_wanted(struct fill *f)
{
    off_t size = video_size(f->vf->v);
    size_t g = (size_t)(f->written / G);
    size_t end = f->pos >= size ? video_granules(f->vf->v) : (size_t)(f->pos / G);
    bool wanted = false;

    if (g >= end)
        return f->written;
    pthread_mutex_lock(&f->s->lock);
    for (size_t i = g; i < end && !wanted; i++)
        wanted = bit(f->vf->wanted, i);
    pthread_mutex_unlock(&f->s->lock);
    return !wanted ? f->written : f->pos >= size ? size : (off_t)end * G;
}

/* Writes the staged bytes before `upto` (whole pages, or to the end of the
 * file) and keeps the rest staged. 0 or fill_write's error. */
static int stage_flush(struct fill *f, off_t upto)
{
    size_t held = (size_t)(f->pos - f->written), n = (size_t)(upto - f->written);
    int rc;

    if (!n)
        return 0;
    if ((rc = fill_write(f, f->stage, n)))
        return rc;
    memmove(f->stage, f->stage + n, held - n);
    return 0;
}

/* Writes the staged whole pages (all of it at the end of the file): what
 * came is kept when a request ends, broken or not. */
static void stage_keep(struct fill *f)
{
    off_t size = video_size(f->vf->v);

    stage_flush(f, f->pos >= size ? size : f->written + (f->pos - f->written) / PAGE * PAGE);
}

/* Whether the staged whole granules should be written with this piece,
 * which came at `came`: it may end a burst (it is short: over plain HTTP
 * the connection had no more for now; over TLS every piece is) of a stream
 * whose bytes come in bursts (a gap of FILL_BURST_GAP_SECS between two
 * pieces, the sink's own time not counted, within the last
 * FILL_BURST_PIECES: a wide-area link's windows in slow start, a trickling
 * server). A reader that comes before the next burst would otherwise wait
 * a round trip for bytes that are here. Pieces that follow each other
 * closely (loopback, a LAN, a link at full rate) stay staged in STAGE
 * runs: there the next piece is no wait, and small writes cost. Writing
 * whole granules only keeps it to one write per granule at most. */
static bool burst_ends(struct fill *f, size_t len, double came)
{
    if (f->piece_at > 0 && came - f->piece_at > FILL_BURST_GAP_SECS)
        f->since_gap = 0;
    else if (f->since_gap < FILL_BURST_PIECES)
        f->since_gap++;
    return len < HTTP_PIECE_MAX && f->since_gap < FILL_BURST_PIECES;
}

static int fill_sink(off_t at, const char *data, size_t len, void *arg)
{
    struct fill *f = arg;
    struct vfetch *vf = f->vf;
    double came = clock_mono();             /* before a pause: that is not the link's gap */
    bool burst_end;

    if (f->error)
        return HTTP_SINK_CLOSE;                 /* a write failed (a tick's, say) */
    if (!data) {                                /* a tick: no bytes for a while */
        if (stage_flush(f, stage_wanted(f)))
            goto refused;
        return 0;
    }
    if (at != f->pos) {
        bool mine;
        if (at != 0)
            return f->error = -EIO, HTTP_SINK_CLOSE;
        /* Range ignored (200, whole file from byte 0): one request fills the
         * cache in order; readers wait only for the bytes they need. */
        pthread_mutex_lock(&f->s->lock);
        mine = f->whole || !vf->whole_active;
        vf->whole_active = vf->ranges_ignored = true;
        if (vf->background == f)
            vf->background = NULL;              /* in order from 0: nothing to skip */
        pthread_mutex_unlock(&f->s->lock);
        if (!mine)
            return f->error = -EAGAIN, HTTP_SINK_CLOSE;       /* another request is taking it all */
        if (!f->whole)
            log_info("read %s: the server ignores Range; taking the whole file in order",
                     video_id(vf->v));
        f->whole = true;
        f->pos = f->written = f->reserved = 0;  /* what was staged goes */
    }
    if (f->mine && !f->whole) {
        if (f->pos >= (off_t)f->stop * G) {     /* reached what it must not fetch */
            if (stage_flush(f, f->pos))
                goto refused;
            return HTTP_SINK_CLOSE;
        }
        if (f->pos + (off_t)len > (off_t)f->stop * G)
            len = (size_t)((off_t)f->stop * G - f->pos);
        background_pause(f->s);
    }
    burst_end = burst_ends(f, len, came);
    while (len) {
        size_t held = (size_t)(f->pos - f->written), n = STAGE - held < len ? STAGE - held : len;
        off_t upto;
        memcpy(f->stage + held, data, n);
        data += n;
        len -= n;
        f->pos += (off_t)n;
        if (f->pos >= request_end(f) || f->pos - f->written == (off_t)STAGE)
            upto = f->pos;                      /* whole pages: written is page-aligned */
        else if (burst_end && !len && f->pos / G * G > f->written)
            upto = f->pos / G * G;              /* whole granules: what readers wait for */
        else
            upto = stage_wanted(f);
        if (stage_flush(f, upto))
            goto refused;
    }
    f->piece_at = clock_mono();                 /* its writes are not the link's gap either */
    return f->s->running ? 0 : HTTP_SINK_CLOSE;
refused:
    f->pos = f->written;        /* what is not written is not had: a resume starts there */
    return HTTP_SINK_CLOSE;
}

void stream_backoff(stream *s, double seconds)
{
    struct timespec until;

    clock_deadline(&until, seconds);
    pthread_mutex_lock(&s->lock);
    while (s->running && pthread_cond_timedwait(&s->work, &s->lock, &until) != ETIMEDOUT)
        ;                           /* woken for new jobs: keep backing off */
    pthread_mutex_unlock(&s->lock);
}

char *stream_stage_new(void)
{
    return aligned_alloc(PAGE, STAGE);
}

/* A fill for granules [first, end) of vf; a background one claims its
 * first granules (the caller claims a foreground one's). */
static struct fill *fill_new(stream *s, struct vfetch *vf, size_t first, size_t end,
                             bool background, char *stage)
{
    struct fill *f = stage ? malloc(sizeof *f) : NULL;

    if (!f)
        return NULL;
    *f = (struct fill){ .s = s, .vf = vf, .pos = (off_t)first * G, .written = (off_t)first * G,
                        .claimed = first, .stop = end, .stage = stage,
                        .since_gap = FILL_BURST_PIECES };   /* no gap seen yet */
    if (background) {
        if (!(f->mine = calloc(bitmap_bytes(video_granules(vf->v)), 1))) {
            free(f);
            return NULL;
        }
        pthread_mutex_lock(&s->lock);
        claim_ahead(f);
        vf->background = f;
        pthread_mutex_unlock(&s->lock);
    }
    return f;
}

/* Gives up the fill's claims. Lock held. */
static void fill_release(struct fill *f, size_t first, size_t end)
{
    for (size_t g = first; g < (f->mine ? f->claimed : end); g++)
        if (!f->mine || bit(f->mine, g))
            clear_bit(f->vf->busy, g);
    if (f->vf->background == f)
        f->vf->background = NULL;
}

/* Fetches granules [first, end) of `vf` with one streamed range request
 * (resumed on a cut, the URL refreshed once on 401/403). A foreground fetch
 * takes the granules the caller marked busy; a background one claims them
 * as it goes (struct fill) and may end early, at a long cached run. Busy
 * is cleared at the end; a failure is recorded for the waiting readers. */
int stream_fetch_range(stream *s, struct vfetch *vf, size_t first, size_t end, bool background,
                       char *stage)
{
    const char *id = video_id(vf->v);
    off_t expected = video_size(vf->v);
    struct fill *f = fill_new(s, vf, first, end, background, stage);
    bool refreshed = false, fresh = false, whole = false;
    int rc = f ? 0 : -ENOMEM;

    if (!f) {
        pthread_mutex_lock(&s->lock);
        if (!background) {                      /* a background one claimed nothing */
            for (size_t g = first; g < end; g++)
                clear_bit(vf->busy, g);
            vf->fail_gen++;
            vf->last_error = -EIO;
        }
        pthread_cond_broadcast(&s->arrived);
        pthread_mutex_unlock(&s->lock);
        return rc;
    }
    for (int failures = 0; failures < FETCH_ATTEMPTS && s->running; ) {
        struct http_version want = {.size = expected}, got;
        off_t size, from, last;
        char *url = NULL;
        bool auth;
        if ((rc = tasks_video(s->tasks, id, &url, &auth, &size)))
            break;
        /* The bytes fetched are of this video's version, or none are. */
        video_tag(s->cache, vf->v, want.tag, sizeof want.tag);
        if (size != expected || video_dropped(s->cache, vf->v)) {
            free(url);
            rc = -ESTALE;                       /* another version was adopted meanwhile */
            break;
        }
        f->error = 0;
        from = f->pos;
        if (f->pos > (last = fill_last(f)) && !f->whole) {
            free(url);
            break;                              /* a background fetch that ended early */
        }
        f->piece_at = 0;                        /* a reconnect is no gap of the link */
        rc = http_get_stream(s->http, url, auth, f->pos, f->whole ? -1 : last, &want,
                             background ? HTTP_BACKGROUND : HTTP_FOREGROUND, fill_sink, f,
                             &got);
        free(url);
        if (rc == -ESTALE) {
            /* The server's file changed: the new version is adopted and the
             * cached bytes dropped; these readers fail rather than mix. */
            tasks_video_changed(s->tasks, id, want.size, want.tag, got.size, got.tag);
            break;
        }
        if (!rc && !want.tag[0] && got.tag[0]) {
            video_learn_tag(s->cache, vf->v, got.tag);
            tasks_video_tag_learned(s->tasks, id, expected, got.tag);
        }
        /* A reader may wait for staged bytes while this backs off or asks for
         * a fresh URL: they go to the file now, unless of a stale version. */
        if (rc != -ESTALE && !f->error)
            stage_keep(f);
        if (f->error == -EAGAIN) {
            rc = 0;
            break;
        }
        if (f->error == -ENOSPC) {              /* the cache takes no more: no retry helps */
            rc = -EIO;
            break;
        }
        if (!rc)
            rc = f->error;
        last = fill_last(f);                    /* a background fetch may have ended early */
        if (!rc && f->pos <= (f->whole ? expected - 1 : last) && s->running)
            rc = -EIO;                          /* the body ended early */
        if (!rc || !s->running)
            break;
        if ((rc == -EACCES || rc == -ENOENT) && !refreshed) {
            refreshed = true;
            log_info("read %s: the video URL was %s, asking the API for a fresh one", id,
                     rc == -EACCES ? "refused" : "not found");
            if (!tasks_refresh_video_url(s->tasks, id)) {
                fresh = true;
                continue;
            }
        }
        if (rc == -ENOENT && fresh)     /* a failed refresh proves nothing */
            tasks_video_gone(s->tasks, id, "the provider no longer has this video (HTTP 404/410"
                             " with a fresh URL); its URLs live about 24 hours");
        if (rc == -EACCES || rc == -ENOENT)
            break;
        failures = f->pos > from ? 0 : failures + 1;     /* progress resets the count */
        if (failures < FETCH_ATTEMPTS)
            stream_backoff(s, 0.2 * (1 << (2 * failures)));    /* 0.2, 0.8 s */
    }
    whole = f->whole;
    pthread_mutex_lock(&s->lock);
    fill_release(f, first, end);
    if (whole)
        vf->whole_active = false;
    if (rc) {
        vf->fail_gen++;
        vf->last_error = rc == -EACCES || rc == -ENOENT || rc == -ESTALE ? -EIO : rc;
    }
    pthread_cond_broadcast(&s->arrived);
    pthread_mutex_unlock(&s->lock);
    free(f->mine);
    free(f);
    return rc;
}

