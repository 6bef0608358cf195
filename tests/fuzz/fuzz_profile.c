/* fuzz_profile.c — the asset profile loader and its templates: a profile
 * is a file a user downloads, so any bytes may be in it. Input: the
 * profile, NUL, a reply to read with it, NUL, an asset name, NUL, an id. */
#include "fuzz.h"
#include "names.h"
#include "profile.h"

#include <assert.h>
#include <errno.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const operations[] = {"create", "get", "select", "delete"};
    struct fuzz_parts in;
    char why[256] = "";
    profile *p;
    const char *kind;

    if (fuzz_split(data, size, &in))
        return 0;
    if (!(p = profile_parse(in.part[0], in.len[0], "fuzz", why, sizeof why))) {
        assert(why[0]);                     /* refused, and says why */
        fuzz_parts_free(&in);
        return 0;
    }
    cJSON *reply = cJSON_Parse(in.part[1]);
    cJSON *auth = cJSON_CreateObject(), *sources = cJSON_CreateArray();
    cJSON_AddStringToObject(auth, "consent", "yes");
    cJSON_AddItemToArray(sources, cJSON_CreateString("data:image/png;base64,AAAA"));
    for (int i = 0; (kind = profile_kind(p, i)); i++) {
        struct profile_vars v = {kind, in.part[2], in.part[3], auth, sources};
        assert(names_task_id_ok(kind) && kind[0] != '.');
        assert(profile_has_kind(p, kind));
        profile_kind_takes_source(p, kind);
        for (int o = 0; o < 4; o++) {
            const char *method = NULL;
            char *path, *body, *id, *status, *reason;
            if (!profile_kind_has(p, kind, operations[o]) || o >= 2)
                continue;
            if (!profile_request(p, kind, operations[o], &v, &method, &path, &body))
                assert(method && path && path[0] == '/');
            free(path);
            free(body);
            profile_read_reply(p, kind, operations[o], reply, &id, &status, &reason);
            profile_phase(p, kind, status);
            free(id);
            free(status);
            free(reason);
        }
        cJSON_Delete(profile_reference(p, kind, in.part[3]));
    }
    cJSON_Delete(reply);
    cJSON_Delete(auth);
    cJSON_Delete(sources);
    profile_free(p);
    fuzz_parts_free(&in);
    return 0;
}
