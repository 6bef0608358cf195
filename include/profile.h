/* profile.h — the asset profile: everything about the (unreleased) asset API
 * lives in a JSON file, none of it in code.
 *
 *   $ seedancefs mnt -o api_url=...,assets_profile=profiles/sim.json
 *
 * For each asset kind (e.g. "real-person", "virtual-human") the profile
 * names the operations (method, path template, body template), where the
 * asset id, status word and failure reason sit in replies (dotted paths
 * like "outer.inner"), which status words mean active / failed /
 * verifying / pending, and the content[] item a task uses to reference an
 * asset. Templates are JSON: a string "{authorization}" becomes the
 * authorization object, "{sources}" the list of source files as data: URLs,
 * and "{name}", "{id}", "{kind}" are replaced inside any string.
 * profiles/README.md documents the format; profiles/sim.json is the profile
 * of the simulator.
 */
#ifndef SEEDANCEFS_PROFILE_H
#define SEEDANCEFS_PROFILE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct profile profile;

/* What a status word means. */
enum asset_phase { PHASE_PENDING, PHASE_VERIFYING, PHASE_ACTIVE, PHASE_FAILED, PHASE_UNKNOWN };

#define PROFILE_MAX_BYTES (1u << 20)

/* Loads and checks a profile (at most PROFILE_MAX_BYTES). NULL with a
 * one-line reason in `why`. */
profile *profile_load(const char *path, char *why, size_t why_len);

/* The same from text in memory; `origin` names it in reasons. */
profile *profile_parse(const char *text, size_t len, const char *origin, char *why,
                       size_t why_len);
void profile_free(profile *p);

/* Kind names in file order; NULL past the end. */
const char *profile_kind(const profile *p, int i);
bool profile_has_kind(const profile *p, const char *kind);
bool profile_kind_has(const profile *p, const char *kind, const char *operation);
bool profile_kind_takes_source(const profile *p, const char *kind);

/* Values substituted into templates. */
struct profile_vars {
    const char *kind, *name, *id;
    const cJSON *authorization;     /* object */
    const cJSON *sources;           /* array of data: URLs */
};

/* The HTTP request of `operation` ("create" or "get"): method, path (to
 * append to api_url) and body (NULL when the operation has none). Caller
 * frees path and body. -ENOENT when the kind lacks the operation. */
int profile_request(const profile *p, const char *kind, const char *operation,
                    const struct profile_vars *v, const char **method, char **path,
                    char **body);

/* Reads the reply of an operation: asset id (create), status word and
 * reason (get; create may carry them too). Strings malloc'd or NULL. */
void profile_read_reply(const profile *p, const char *kind, const char *operation,
                        const cJSON *reply, char **id, char **status, char **reason);

enum asset_phase profile_phase(const profile *p, const char *kind, const char *status);

/* The content[] item that references asset `id` of `kind`. Caller deletes. */
cJSON *profile_reference(const profile *p, const char *kind, const char *id);

#endif
