/* assets.h — real-person and virtual-human assets: the pre-launch flow.
 *
 *   $ mkdir mnt/assets/real-person/alice                       # 1. a local draft
 *   $ cp face.jpg mnt/assets/real-person/alice/source/         # 2. material
 *   $ cp consent.json mnt/assets/real-person/alice/authorization.json   # 3. who allowed what
 *   $ touch mnt/assets/real-person/alice/create                # 4. sent for verification
 *   $ cat mnt/assets/real-person/alice/status                  # pending, verifying, active
 *   $ cat mnt/assets/real-person/alice/id
 *   $ mkdir mnt/assets/virtual-human/host; cp consent.json .../authorization.json
 *   $ echo vh-lib-0001 > mnt/assets/virtual-human/host/select  # a library asset
 *   $ echo '{"prompt": "...", "assets": ["alice", "host"]}' > mnt/requests/duo.json
 *
 * With a provider's profile (profiles/volcengine.json ...), material is
 * source/NAME.url (one public URL), a real person's create shows a `link`
 * for the liveness check (status says until when), the browser's landing
 * URL may be written into `callback`, an expired link ends `expired`
 * (touch create again), and `reuse` joins a verified asset's group.
 *
 * Every endpoint, field and status word comes from the profile (profile.h);
 * assets_flow.c runs its steps.
 * Without one, assets/ holds only a README saying the capability is not
 * launched, and every write is refused. Asset state is in the store, so a
 * restart in the middle of verification resumes polling.
 * All functions return 0 (or a byte count) or a negative errno.
 * Locking: one mutex inside, held briefly, never across the network; held
 * across one store delete in assets_rmdir, so a re-created draft of the
 * same name cannot lose its row.
 */
#ifndef SEEDANCEFS_ASSETS_H
#define SEEDANCEFS_ASSETS_H

#include "api.h"
#include "profile.h"
#include "store.h"

#include <stdbool.h>
#include <sys/stat.h>
#include <sys/types.h>

typedef struct assets assets;
typedef void (*assets_add_fn)(const char *name, mode_t type, void *arg);

/* The credentials of the asset API (profile.h's auth): a key (bearer,
 * header) or an access key and secret key (hmac-sha256); unused ones NULL. */
struct assets_credentials {
    char *key, *access_key, *secret_key;
};

/* `p` (may be NULL: not launched) is taken over; `base_url` is where asset
 * calls go (assets_url, else the profile's, else api_url); `creds` are
 * copied. Every call goes through `api` (its budget and 429 pause). NULL
 * on ENOMEM. */
assets *assets_new(profile *p, store *st, api *api, const char *base_url,
                   const struct assets_credentials *creds, const char *state_dir,
                   double poll_interval);
void assets_free(assets *a);

/* Loads the saved assets (before assets_start): -EIO on a store error. */
int assets_restore(assets *a);

/* The verification poller thread: -errno of pthread_create. Stop joins it. */
int assets_start(assets *a);
void assets_stop(assets *a);

/* `fn` runs (on the asset poller, no lock held) when an asset turns active. */
void assets_set_ready_hook(assets *a, void (*fn)(void *arg), void *arg);

/* The tree under assets/: `rel` is the path below it ("" for assets/).
 * Called from FUSE threads: they take the asset lock briefly and never
 * wait on the network, except create, which sends (under the API's
 * budget) and waits for the provider's answer.
 * Errors common to all: -ENOENT (no such kind, asset or file). */

/* Attributes; README, kinds, assets and their files. */
int assets_getattr(assets *a, const char *rel, struct stat *st);
/* -ENOTDIR on a file. */
int assets_readdir(assets *a, const char *rel, assets_add_fn add, void *arg);
/* Bytes of status, id, error, authorization.json, source/ files; -EISDIR. */
int assets_read(assets *a, const char *rel, char *buf, size_t size, off_t off);
/* For writing: -EPERM when not launched or already sent (material and
 * consent are fixed), -EACCES for a file nobody writes (status, id),
 * -EISDIR. */
int assets_open(assets *a, const char *rel, bool write, bool truncate);
/* A new file in source/ (or a trigger): errors as assets_open, -EFBIG. */
int assets_create(assets *a, const char *rel);
/* Bytes into a draft file; -EFBIG past the size limit of material. */
int assets_write(assets *a, const char *rel, const char *buf, size_t size, off_t off);
int assets_truncate(assets *a, const char *rel, off_t size);
/* The step a close() means: authorization.json is checked (-EINVAL, the
 * reason in `error`), `select` adopts a library asset, `create` sends the
 * material (-EINVAL refused, -EIO unreachable, -EBUSY a create already
 * under way). 0 for other files. */
int assets_flush(assets *a, const char *rel);
/* A source file of a draft; -EPERM otherwise. */
int assets_unlink(assets *a, const char *rel);
/* KIND/NAME: a new draft. -EEXIST, -EPERM (not launched, or deeper), -EINVAL
 * for a name that cannot be an asset's. */
int assets_mkdir(assets *a, const char *rel);
/* KIND/NAME: forgets a draft, failed or active asset locally; -EBUSY while
 * the provider verifies it; -EPERM for anything else. */
int assets_rmdir(assets *a, const char *rel);

/* The gate, at close(): -EINVAL (with `why`) when a request names an asset
 * that does not exist or failed, or puts a real-person source file into a
 * plain image_url / video_url. 0 otherwise (inactive assets are held later). */
int assets_check(const char *body, char *why, size_t why_len, void *assets_arg);

/* The gate, before the POST: 0 with *out (malloc'd; NULL when the body
 * names no assets) = the body with "assets" turned into content[] items;
 * -EAGAIN while an asset is not active yet (`why` says which); -EINVAL
 * when the request can never go out. */
int assets_resolve(const char *body, char **out, char *why, size_t why_len, void *assets_arg);

#endif
