/* stream.h — reads of tasks/<id>/video.mp4, served from HTTP byte ranges.
 *
 *   $ ffprobe mnt/tasks/cgt-.../video.mp4     # reads the end (moov), then the start
 *
 * A small in-memory cache of 1 MiB chunks (LRU, STREAM_CHUNKS of them) turns
 * the kernel's 128 KiB reads into one HTTP request per chunk. Failures map
 * to EIO (EACCES from an expired URL becomes EIO too) within the HTTP
 * layer's timeouts: a dead server never hangs a reader.
 */
#ifndef SEEDANCEFS_STREAM_H
#define SEEDANCEFS_STREAM_H

#include "tasks.h"

#include <sys/types.h>

#define STREAM_CHUNK (1u << 20)
#define STREAM_CHUNKS 16

typedef struct stream stream;

stream *stream_new(tasks *t, http *h);
void stream_free(stream *s);

/* Reads up to `size` bytes at `off` of the task's video. Returns the byte
 * count (0 at end of file), -ENOENT when the task has no video, or -EIO. */
ssize_t stream_read(stream *s, const char *id, char *buf, size_t size, off_t off);

#endif
