/* fuzz_profile.c — the asset profile loader and its templates: a profile
 * is a file a user downloads, so any bytes may be in it. Input: the
 * profile, NUL, a reply to read with it, NUL, an asset name, NUL, an id. */
#include "fuzz.h"
#include "names.h"
#include "profile.h"
#include "template.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>

/* Fills in and reads every part of a step the way assets_flow.c does. */
static void exercise_step(const profile *p, const cJSON *step, const cJSON *values,
                          const cJSON *reply)
{
    const char *parts[] = {"path", "body", "query"}, *paths[] = {"status", "reason"};
    const cJSON *c, *errors = profile_errors(p, step);
    char why[256];

    for (int i = 0; i < 3; i++) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(step, parts[i]);
        cJSON *filled = t ? template_expand(t, values, why, sizeof why) : NULL;
        char *path = cJSON_IsString(t) ? template_path(t->valuestring, values, why, sizeof why)
                                       : NULL;
        cJSON_Delete(filled);
        free(path);
    }
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(step, "capture"))
        free(template_scalar(template_at(reply, c->valuestring)));
    for (int i = 0; i < 2; i++) {
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(step, paths[i]);
        if (cJSON_IsString(at))
            free(template_scalar(template_at(reply, at->valuestring)));
    }
    cJSON_ArrayForEach(c, errors)
        free(template_scalar(template_at(reply, c->valuestring)));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const operations[] = {"create", "select", "status"};
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
    cJSON *values = cJSON_Duplicate(profile_vars(p), 1);
    cJSON_AddStringToObject(values, "name", in.part[2]);
    cJSON_AddStringToObject(values, "id", in.part[3]);
    cJSON_AddItemToObject(values, "sources", cJSON_CreateStringArray(
        (const char *const[]){"data:image/png;base64,AAAA"}, 1));
    for (int i = 0; (kind = profile_kind(p, i)); i++) {
        const cJSON *step;
        struct profile_auth auth;
        assert(names_task_id_ok(kind) && kind[0] != '.');
        assert(profile_has_kind(p, kind));
        profile_kind_material(p, kind);
        profile_kind_has_callback(p, kind);
        profile_auth(p, &auth);
        for (int o = 0; o < 3; o++) {
            const cJSON *steps = profile_steps(p, kind, operations[o]);
            if (o == 2 && steps)
                exercise_step(p, steps, values, reply);
            else
                cJSON_ArrayForEach(step, steps)
                    exercise_step(p, step, values, reply);
        }
        profile_phase(p, kind, in.part[3]);
        cJSON_Delete(profile_reference(p, kind, "video", values, why, sizeof why));
    }
    cJSON_Delete(reply);
    cJSON_Delete(values);
    profile_free(p);
    fuzz_parts_free(&in);
    return 0;
}
