/* names.h — which strings may become names in the mount.
 *
 * Task ids come from the server and request names from users; both become
 * directory entries, so both are checked before they reach the tree.
 */
#ifndef SEEDANCEFS_NAMES_H
#define SEEDANCEFS_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#define NAMES_MAX_TASK_ID 128
#define NAMES_MAX_NAME 200
/* A buffer that holds either (tree nodes and open files name a task by id
 * and a pending request by name). */
#define NAMES_MAX_KEY (NAMES_MAX_NAME > NAMES_MAX_TASK_ID ? NAMES_MAX_NAME : NAMES_MAX_TASK_ID)

/* True when `id` is safe as a directory name: 1..NAMES_MAX_TASK_ID bytes, no '/',
 * no control bytes or DEL, not "." or "..". The id is otherwise opaque. */
bool names_task_id_ok(const char *id);

/* True when `name` is a usable request name (the NAME of requests/NAME.json):
 * the task-id rules, up to NAMES_MAX_NAME bytes, and not starting with '.'. */
bool names_request_name_ok(const char *name);

#define NAMES_MAX_PART 256

/* Splits "/a/b/c" into at most `max` components of under NAMES_MAX_PART
 * bytes each. Returns the count, or -ENOENT when there are more or one is
 * too long (such a path cannot name anything in the tree). */
int names_split_path(const char *path, char (*parts)[NAMES_MAX_PART], int max);

/* Length (1..4) of the valid UTF-8 sequence at `at`, which has `left` bytes
 * readable, or 0 when it is not one (truncated, overlong, a surrogate, past
 * U+10FFFF). NUL counts as a 1-byte character here. */
size_t names_utf8_char(const char *at, size_t left);

/* True when `data[0..len)` is valid UTF-8 without NUL bytes. */
bool names_utf8_ok(const char *data, size_t len);

#endif
