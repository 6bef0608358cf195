/* task_body.h — turns the bytes of a file written under requests/ into the
 * API's task body, or a one-line reason why not.
 *
 * Three forms are accepted (../shared/API.md has the wire format):
 *   NAME.json  the full API body: {"model", "content": [...], params...}
 *   NAME.json  the short form: {"prompt": "...", "first_frame": URL,
 *              "last_frame": URL, "reference_images": [URL...],
 *              "reference_videos": [...], "reference_audios": [...], params...}
 *   NAME.txt   plain UTF-8 text: the prompt, with the default model
 * Unknown top-level fields are passed through untouched.
 */
#ifndef SEEDANCEFS_TASK_BODY_H
#define SEEDANCEFS_TASK_BODY_H

#include <stdbool.h>
#include <stddef.h>

struct task_body_rules {
    const char *default_model;  /* used when the request names none */
    const char *resolutions;    /* allowed values, ':'-separated */
    size_t max_bytes;           /* largest accepted file */
    /* The dialect's own check of a built body (-EINVAL with `why` naming a
     * field it cannot carry), or NULL. */
    int (*carry)(const char *body, char *why, size_t why_len);
};

/* The request name of a submittable file ("fox.json" -> "fox", "a.txt" ->
 * "a"), or NULL for any other file name (editor temp files, dot files),
 * which stay drafts and are never submitted. Caller frees. */
char *task_body_name_of(const char *filename);

/* Validates `data` (the file `filename`) and builds the body to POST.
 * Returns 0 with *body (malloc'd, pretty JSON) and *wants_last_frame set,
 * -EINVAL with a one-line reason in `why`, or -ENOMEM. */
int task_body_build(const char *filename, const char *data, size_t len,
                    const struct task_body_rules *rules, char **body,
                    bool *wants_last_frame, char *why, size_t why_len);

#endif
