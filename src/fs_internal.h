/* fs_internal.h — what fs.c (the kernel operations) and fs_notify.c
 * (parked reads, events, kernel invalidation) share. Not a public header. */
#ifndef SEEDANCEFS_FS_INTERNAL_H
#define SEEDANCEFS_FS_INTERNAL_H

#include "events.h"
#include "fs.h"
#include "id_queue.h"
#include "names.h"
#include "nodes.h"

#include <fuse_lowlevel.h>
#include <pthread.h>

struct waiter;

/* Every open file and directory is on one list, so that those whose
 * RELEASE the kernel had not yet sent when the session ended (release is
 * asynchronous: an unmount right after a close can beat it) are freed too. */
struct tracked {
    struct tracked *prev, *next;
    bool is_listing;
};

/* One open file. Freed when its last reference goes: the open file's
 * (dropped by RELEASE) and one per parked read of it (a wake-up may still
 * be answering a read that Ctrl-C already ended when the file is closed). */
struct handle {
    struct tracked link;            /* first: a tracked * is a handle * */
    int refs;                       /* under fsx.lock */
    char *path;
    enum tree_open_kind kind;
    char id[NAMES_MAX_KEY + 1];       /* TREE_OPEN_WAIT: a task id, or a request name */
    bool by_name;
    events_reader *reader;          /* TREE_OPEN_EVENTS */
    struct fuse_pollhandle *ph;     /* a poll() waiting for lines */
    struct handle *next_reader;     /* fsx.readers: open events files */
};

struct fs_state {
    struct fs_context *ctx;
    struct fuse_session *se;
    nodes *nodes;
    events *events;
    pthread_mutex_t lock;           /* waiters, poll handles, notify queue */
    struct waiter *waiters;         /* parked reads (fs_notify.c) */
    struct handle *readers;
    struct id_queue inval;          /* task ids whose kernel caches must go */
    pthread_cond_t inval_cond;
    pthread_t notifier;
    bool running, started;
    bool closing;                   /* the session ended: parked reads get EINTR at once */
    bool failed;                    /* init could not start the threads: exit 1 */
    struct tracked open;            /* list head of open files and directories */
    char *abs_mountpoint;           /* resolved before mounting, for mount_tune */
    pthread_once_t tuned;
    size_t splice_max;              /* largest read reply spliced (0: none), set at INIT */
};

/* The session (one mount per process). */
extern struct fs_state fsx;

/* The entry of `path` for a lookup reply, its lookup count raised on
 * success; the errors of tree_getattr (-EINPROGRESS: ask again later). */
int fs_entry_for(const char *path, struct fuse_entry_param *e);

/* Parks a lookup that tree_getattr answered -EINPROGRESS (a video being
 * sized) until a wake-up finds its answer; takes `path`. Ctrl-C: EINTR. */
void fs_lookup_parked(fuse_req_t req, char *path);

/* Answers a read of `wait` or `events` now, or parks it until a worker
 * thread can (fs_notify.c). */
void fs_read_parked(fuse_req_t req, struct handle *h, size_t size, off_t off, int flags);

/* Drops a reference to `h`; the last one frees it. Takes fsx.lock. */
void fs_handle_unref(struct handle *h);

/* The session ends: parked reads get EINTR, and so does every read parked
 * from now on. */
void fs_answer_parked_reads(void);

/* events.h wake-up for the events readers. */
void fs_on_events_ready(void *arg);

/* The thread that tells the kernel which cached task files went stale. */
void *fs_notifier_main(void *arg);

#endif
