/* bitmap.h — bits in a byte array (granule maps of the video cache). */
#ifndef SEEDANCEFS_BITMAP_H
#define SEEDANCEFS_BITMAP_H

#include <stdbool.h>
#include <stddef.h>

static inline size_t bitmap_bytes(size_t bits) { return (bits + 7) / 8; }
static inline bool bit(const unsigned char *map, size_t i) { return map[i / 8] >> (i % 8) & 1; }
static inline void set_bit(unsigned char *map, size_t i) { map[i / 8] |= (unsigned char)(1u << (i % 8)); }
static inline void clear_bit(unsigned char *map, size_t i) { map[i / 8] &= (unsigned char)~(1u << (i % 8)); }

#endif
