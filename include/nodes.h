/* nodes.h — the inode table of the low-level FUSE layer: path <-> inode.
 *
 * The kernel names files by inode number; seedancefs names them by path.
 * A path gets a number at its first lookup and keeps it while the kernel
 * holds a reference (lookup count); forget() drops it. The root is inode 1.
 * Thread-safe (one mutex, held briefly).
 */
#ifndef SEEDANCEFS_NODES_H
#define SEEDANCEFS_NODES_H

#include <stdbool.h>
#include <stdint.h>

typedef struct nodes nodes;

nodes *nodes_new(void);
void nodes_free(nodes *n);

/* The inode of `path`, created if needed, with its lookup count raised by
 * one (the kernel now holds a reference). 0 on ENOMEM. */
uint64_t nodes_lookup(nodes *n, const char *path);

/* The inode of `path` if the kernel knows it, else 0 (no count change). */
uint64_t nodes_find(nodes *n, const char *path);

/* Copies the path of `ino` into a malloc'd string; NULL if unknown. */
char *nodes_path(nodes *n, uint64_t ino);

/* The kernel dropped `count` references. */
void nodes_forget(nodes *n, uint64_t ino, uint64_t count);

/* The file `from` is now called `to` (rename). Only files are renamed in
 * this tree (requests/, assets/): no children move. An inode that `to`
 * named keeps its number, by path unreachable, until forgotten. */
void nodes_rename(nodes *n, const char *from, const char *to);

#endif
