/* sim-providers.h — the asset APIs providers ship, as ../shared/ASSETS.md
 * describes them, for seedance-sim --assets-dialect volcengine | byteplus |
 * easyrouter. Written from that page, not from seedancefs's code.
 *
 *   volcengine, byteplus  POST /?Action=...&Version=2024-01-01 with a JSON body,
 *                         signed HMAC-SHA256 with --ak/--sk (every call is
 *                         verified; region cn-beijing or ap-southeast-1,
 *                         service ark); replies {"ResponseMetadata": {...,
 *                         "Error"?}, "Result": {...}}, errors with HTTP 200 too.
 *   easyrouter            Bearer key; /api/resource-channel/byteplus/visual-validate
 *                         /sessions, /sessions/{id}, /assets, /assets/{id};
 *                         replies {"data": {...}}, errors {"error": {...}}.
 *   apiyi                 Bearer key; /v1/asset-library/uploads (presign) -> PUT
 *                         /sim-upload/TOKEN (no key; type and size as announced)
 *                         -> /v1/asset-library/assets (ingest) -> GET, lower-case words.
 *   yingtu                (LaoZhang) Bearer key; /api/seedance-assets/virtual-humans,
 *                         /real-persons/verifications (the verification_id comes
 *                         back on the callback only), /real-persons; asset
 *                         replies {id, uri, status}: a task must use the uri.
 *
 * Both: virtual humans are assets in an AIGC group (URL material only);
 * real persons need a liveness session (link + token), completed through
 * the test hook POST /sim/liveness {"token": T, "pass": bool}, whose reply
 * is the callback URL the browser would land on; sessions expire after
 * --link-ttl-ms. Assets take --verify-ms to go Processing -> Active; one
 * whose URL contains "mismatch" in a verified person's group ends Failed
 * (FaceMismatch).
 */
#ifndef SIM_PROVIDERS_H
#define SIM_PROVIDERS_H

#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* "volcengine", "byteplus", "easyrouter", "yingtu" or "apiyi": true when it is one. */
bool providers_select(const char *name);
void providers_configure(const char *ak, const char *sk, const char *key, long verify_ms,
                         long link_ttl_ms);

/* Answers a provider call: true when `url` is one (then *ret is set). */
bool providers_serve(struct MHD_Connection *c, const char *method, const char *url,
                     const char *body, size_t len, enum MHD_Result *ret);

/* The test hook /sim/liveness. */
enum MHD_Result providers_liveness(struct MHD_Connection *c, const char *body, size_t len);

/* True when a provider asset id is active (a task may reference it). */
bool providers_asset_active(const char *id);

/* Counters for /sim/stats. */
struct provider_stats {
    long long calls, signatures_ok, signatures_bad;
    long long liveness_sessions, assets_deleted;
    long long upload_auth_leaks;        /* presigned PUTs that carried an Authorization */
};
void providers_stats(struct provider_stats *out);

/* Sends `obj` as JSON (seedance-sim.c). */
enum MHD_Result sim_send_json(struct MHD_Connection *c, unsigned code, cJSON *obj);

#endif
