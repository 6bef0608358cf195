/* link_estimate.c — bandwidth-delay product from observed transfers; see link_estimate.h. */
#include "link_estimate.h"

void link_note_rtt(struct link_estimate *l, double seconds)
{
    if (seconds > 0 && (l->rtt == 0 || seconds < l->rtt))
        l->rtt = seconds;
}

void link_note_rate(struct link_estimate *l, double bytes, double seconds)
{
    if (bytes >= LINK_RATE_MIN_BYTES && seconds > 0 && bytes / seconds > l->rate)
        l->rate = bytes / seconds;
}

size_t link_background_window(const struct link_estimate *l)
{
    double w;

    if (l->rtt == 0 || l->rate == 0)
        return LINK_WINDOW_UNKNOWN;
    w = LINK_WINDOW_FACTOR * l->rate * l->rtt;
    if (w < LINK_WINDOW_MIN)
        return LINK_WINDOW_MIN;
    return w > LINK_WINDOW_MAX ? LINK_WINDOW_MAX : (size_t)w;
}
