/* test_link_estimate.c — the background window: a default before anything
 * is known, about one bandwidth-delay product once rate and round trip are
 * seen, bounded both ways, and growing while the window itself is what
 * limits the measured rate. */
#include "check.h"
#include "link_estimate.h"

int main(void)
{
    struct link_estimate l = {0};
    double link_rate = 25e6, rtt = 0.020, bdp = link_rate * rtt;   /* 200 Mbit/s, 20 ms */
    size_t w;

    CHECK(link_background_window(&l) == LINK_WINDOW_UNKNOWN);
    link_note_rtt(&l, 0.050);
    CHECK(link_background_window(&l) == LINK_WINDOW_UNKNOWN);      /* no rate yet */
    link_note_rtt(&l, rtt);
    link_note_rtt(&l, 0.030);                                      /* the shortest counts */
    link_note_rtt(&l, -1);
    CHECK(l.rtt == rtt);

    /* A small sample says nothing; a real one sets the rate. */
    link_note_rate(&l, 1000, 0.0001);
    CHECK(l.rate == 0);
    link_note_rate(&l, 4e6, 4e6 / link_rate);
    link_note_rate(&l, 4e6, 1.0);                                  /* a slower one: best counts */
    w = link_background_window(&l);
    CHECK(w > 2 * bdp && w <= 4 * bdp);             /* a window of about half: 1-2 BDP */

    /* Starting from the minimum buffer, a transfer limited by its own
     * window (half the buffer: rate = buffer / 2 / rtt) makes the buffer grow
     * until the link is the limit, and then its window stays 1-2 BDP. */
    link_rate = 100e6;                                  /* 800 Mbit/s: BDP 2 MB */
    bdp = link_rate * rtt;
    l = (struct link_estimate){ .rtt = rtt };
    link_note_rate(&l, LINK_RATE_MIN_BYTES, 1);
    w = link_background_window(&l);
    CHECK(w == LINK_WINDOW_MIN && w < bdp);
    for (int i = 0; i < 20; i++) {
        double got = w / 2 / rtt < link_rate ? w / 2 / rtt : link_rate;
        link_note_rate(&l, got, 1.0);
        w = link_background_window(&l);
    }
    CHECK(w >= 2 * bdp && w <= 4 * bdp);

    /* Bounds: loopback (tiny rtt) gets the minimum, a fat long link the maximum. */
    l = (struct link_estimate){ .rtt = 50e-6, .rate = 2e9 };
    CHECK(link_background_window(&l) == LINK_WINDOW_MIN);
    l = (struct link_estimate){ .rtt = 0.3, .rate = 1.25e9 };
    CHECK(link_background_window(&l) == LINK_WINDOW_MAX);
    return CHECK_DONE("test_link_estimate");
}
