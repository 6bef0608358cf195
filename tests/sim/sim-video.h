/* sim-video.h — the video the simulator serves, in versions: the file it
 * was started with (version 0) and the versions a test makes to play a
 * file that changed at the server:
 *
 *   POST /sim/control {"video_version": N, "video_extra": M}
 *
 * Version N is the file with every 4096th byte XORed with N (same size,
 * other bytes) and M zero bytes appended (another size). Every version has
 * its own ETag ("vN-SIZE") and Last-Modified, sent with its bytes; a
 * request whose If-Range names another version gets the whole current
 * file (RFC 9110 13.1.5). Versions live until exit: replies in flight may
 * still point into an older one.
 */
#ifndef SIM_VIDEO_H
#define SIM_VIDEO_H

#include <stdbool.h>
#include <stddef.h>

struct sim_video {
    const char *data;
    size_t len;
    char etag[48], modified[48];
};

/* Reads version 0 from `path`. 0 or -1 (said on stderr). */
int video_load(const char *path);

/* The version served now, and the one the simulator started with. */
const struct sim_video *video_current(void);
const struct sim_video *video_original(void);

/* Makes version `n` (>= 1) with `extra` bytes appended the current one.
 * 0, or -1 (out of memory, or too many versions). */
int video_set_version(int n, size_t extra);

/* True when a Range may be honoured for `v`: no If-Range, or one naming it. */
bool video_range_applies(const struct sim_video *v, const char *if_range);

void video_free_all(void);

#endif
