/* tree_internal.h — what tree.c and its helpers (tree_xattr.c, tree_status.c)
 * share: a path parsed into the node it names. */
#ifndef SEEDANCEFS_TREE_INTERNAL_H
#define SEEDANCEFS_TREE_INTERNAL_H

#include "names.h"
#include "tree.h"

enum node_kind {
    NODE_ROOT, NODE_README, NODE_EVENTS, NODE_WAIT, NODE_REQUESTS, NODE_REQUEST_FILE, NODE_TASKS, NODE_TASK_DIR,
    NODE_TASK_FILE, NODE_VIDEO, NODE_BYNAME, NODE_BYNAME_LINK, NODE_PENDING, NODE_PENDING_DIR,
    NODE_PENDING_FILE, NODE_STATUS_FILE
};

/* The files of pending/NAME/. */
enum pending_file { PENDING_STATUS, PENDING_REASON, PENDING_REQUEST, PENDING_WAIT };

struct tree_node {
    enum node_kind kind;
    const char *leaf;           /* points into the path: file, id or name */
    char id[NAMES_MAX_KEY + 1];       /* a task id, or a pending request's name */
    enum task_file file;
    enum pending_file pfile;
    bool pending_link;              /* by-name link to ../pending/NAME */
};

/* The context tree_init was given. */
struct fs_context *tree_ctx(void);

/* The part of `path` below /assets ("" for /assets itself), or NULL. */
const char *tree_assets_rel(const char *path);

/* Splits a path into at most three components and names the node:
 * 0, -ENOENT, -ENOTDIR or -ENAMETOOLONG. */
int tree_parse_path(const char *path, struct tree_node *n);

#endif
