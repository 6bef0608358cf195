/* profile.h — the asset profile: everything about a provider's asset API
 * lives in a JSON file, none of it in code.
 *
 *   $ seedancefs mnt -o api_url=...,assets_profile=profiles/volcengine.json
 *
 * A profile names its own base URL and authentication (the video key,
 * another Bearer key, a named header, or HMAC-SHA256 request signing), and
 * for each asset kind (e.g. "real-person", "virtual-human") the operations
 * as lists of steps: create (touch create), select (echo ID > select) and
 * status (polled until the asset is active or failed). A step is one HTTP
 * call (method, path, query, body template, values captured from the
 * reply, where errors sit, an "until" that makes it a poll), a human step
 * (a link a person opens, with its expiry, and the callback URL the
 * browser lands on), or a wait for a value a callback brings. Templates and
 * reply paths are template.h's. profiles/README.md documents the format
 * with an example per feature; the steps are run by assets_flow.c.
 *
 * Loading checks everything a step needs, so a bad profile stops the mount
 * with a reason naming the place ("kinds.real-person.create[2]: ...").
 */
#ifndef SEEDANCEFS_PROFILE_H
#define SEEDANCEFS_PROFILE_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct profile profile;

/* What a status word means. */
enum asset_phase { PHASE_PENDING, PHASE_VERIFYING, PHASE_ACTIVE, PHASE_FAILED, PHASE_UNKNOWN };

/* What source/ of a kind holds: nothing, files sent as data: URLs (and
 * NAME.url files as their URL), or only NAME.url files (public URLs). */
enum profile_material { MATERIAL_NONE, MATERIAL_DATA, MATERIAL_URL };

enum profile_auth_scheme { AUTH_VIDEO_KEY, AUTH_BEARER, AUTH_HEADER, AUTH_HMAC_SHA256 };

/* How asset calls authenticate. Strings point into the profile. `key_env`
 * (bearer, header) and `access_key_env` / `secret_key_env` (hmac) name the
 * environment variables credentials come from when no assets_key_file is
 * given; `header` and `prefix` make "NAME: PREFIXKEY"; `region` and
 * `service` go into the signature's scope. */
struct profile_auth {
    enum profile_auth_scheme scheme;
    const char *key_env, *access_key_env, *secret_key_env;
    const char *header, *prefix, *region, *service;
};

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
/* True when the kind has the operation ("create", "select", "status"). */
bool profile_kind_has(const profile *p, const char *kind, const char *operation);
enum profile_material profile_kind_material(const profile *p, const char *kind);
/* True when a step of the kind's create shows a link with a callback. */
bool profile_kind_has_callback(const profile *p, const char *kind);

/* The base URL of asset calls (no trailing '/'), or NULL: the video API's. */
const char *profile_base_url(const profile *p);
void profile_auth(const profile *p, struct profile_auth *out);
/* The profile's constant values ("vars"), an object of strings; never NULL. */
const cJSON *profile_vars(const profile *p);
/* Where errors sit in replies: a step's own "errors", else the profile's;
 * NULL when neither says. An object {"code": PATH, "message": PATH}. */
const cJSON *profile_errors(const profile *p, const cJSON *step);

/* The steps of an operation as a JSON array (status: an array of one), or
 * NULL when the kind lacks it. */
const cJSON *profile_steps(const profile *p, const char *kind, const char *operation);

/* The kind's upload: {"steps": [...], "url": NAME}: steps that turn each
 * local file of source/ into the URL captured as NAME; NULL when none. */
const cJSON *profile_upload(const profile *p, const char *kind);

/* The names of the values another asset of the kind may hand on (file
 * `reuse`: a verified person's group), an array of strings or NULL. */
const cJSON *profile_reuse(const profile *p, const char *kind);

/* What a provider's status word (any case; numbers as their text) means. */
enum asset_phase profile_phase(const profile *p, const char *kind, const char *word);

/* The word the kind's API uses for a media type ("image" -> "Image"), or
 * the media type itself when the profile does not say. */
const char *profile_media_name(const profile *p, const char *kind, const char *media);

/* The content[] item that references an asset: the kind's reference
 * template for `media` (image, video, audio; a single template serves all)
 * filled in from `values`. NULL with `why`. Caller deletes. */
cJSON *profile_reference(const profile *p, const char *kind, const char *media,
                         const cJSON *values, char *why, size_t why_len);

#endif
