/* sim-faults.h — faults the simulator injects into API and content calls,
 * for the fault matrix (tests/faults/fault_matrix.py):
 *
 *   POST /sim/control {"fault": NAME, "fault_every": N, "fault_ops": "get,content"}
 *
 * Every Nth call of the named operations (create get list delete content
 * cdn; default all) gets the fault instead of its answer; "fault": "" ends
 * it. GET /sim/stats counts them as "faults_hit".
 *
 *   503 429 429_huge (Retry-After: 86400) 429_bare (none)  error replies
 *   html_200 html_404        a proxy's page
 *   truncated nested oversized hostile_id   broken or lying JSON
 *   reset                    the connection closes without an answer
 *   stall                    2.5 s of silence, then reset
 *   gzip                     content sent as Content-Encoding: gzip
 *   shifted_range            a 206 of the bytes from one past the asked start (said so in
 *                            its Content-Range: a client must not take it as asked)
 *   size_change              a 206 that states a total one byte larger
 *   redirect_loop            302 to itself
 *   cross_host               302 to the CDN host (the key must not follow)
 *   expired_url              content: 302 to a signed URL that expired (the CDN says 403)
 *   interim_flood            102 Processing every millisecond for 20 s, then a 503
 *   length_cut               Content-Length of the whole reply, half of it sent, closed
 *   length_short             content: Content-Length and body half what Content-Range says
 *   trickle                  the reply's bytes one every 200 ms (at most 100), then closed
 *   refused                  the port closes for "fault_seconds" (default 3; calls on
 *                            connections already open are reset), then listens again;
 *                            the fault then ends by itself
 */
#ifndef SIM_FAULTS_H
#define SIM_FAULTS_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdbool.h>

/* Reads the fault fields of a control body (lock held by the caller or not: own lock). */
void faults_configure(const cJSON *control);

/* When this call of `op` gets a fault, answers it and returns true (*ret set).
 * `video`/`size`: the file content serves; `cdn_url` where cross_host sends. */
bool faults_apply(struct MHD_Connection *c, const char *op, const char *url,
                  const char *video, size_t size, const char *cdn_url, enum MHD_Result *ret);

long long faults_hit(void);

/* How the refused fault closes and reopens the port (the simulator's main). */
void faults_set_listener(void (*stop_listening)(void), void (*listen_again)(void));

#endif
