/* api_openai.c — the OpenAI Videos shape (-o dialect=openai): a Seedance
 * task body as new-api gateways take it, and their video objects and lists
 * as tasks; see api.h. Wire facts: ../shared/API.md "OpenAI Videos shape",
 * the OpenAI Videos reference, new-api's dto/openai_video.go and its
 * relay/channel/task/doubao adaptor (which reads the Seedance parameters
 * from "metadata", the duration from "seconds", and references from
 * metadata.content). */
#include "api.h"

#include "names.h"
#include "text.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What the doubao adaptor reads from metadata (its request payload's fields). */
static const char *const metadata_keys[] = {
    "resolution", "ratio", "seed", "watermark", "generate_audio", "camera_fixed", "frames",
    "return_last_frame", "callback_url", "service_tier", "execution_expires_after", "draft",
    "tools", "safety_identifier", "priority", NULL};
/* What goes at the top level as it is. */
static const char *const top_keys[] = {"model", "size", NULL};

static bool in(const char *const *list, const char *s)
{
    for (; *list; list++)
        if (!strcmp(*list, s))
            return true;
    return false;
}

int api_openai_body(const char *body, char **out, char *why, size_t why_len)
{
    cJSON *root = cJSON_Parse(body), *o = cJSON_CreateObject(), *meta, *refs, *field;
    const cJSON *item;
    char *prompt = NULL;
    int rc = 0;

    if (out)
        *out = NULL;
    if (!cJSON_IsObject(root) || !o) {
        snprintf(why, why_len, "the request is not a JSON object");
        rc = -EINVAL;
        goto done;
    }
    meta = cJSON_CreateObject();
    refs = cJSON_CreateArray();
    if (!meta || !refs) {
        cJSON_Delete(meta);
        cJSON_Delete(refs);
        rc = -ENOMEM;
        goto done;
    }
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(root, "content")) {
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(item, "text");
        if (cJSON_IsString(type) && !strcmp(type->valuestring, "text") && cJSON_IsString(text)) {
            char *joined = NULL;
            if (asprintf(&joined, "%s%s%s", prompt ? prompt : "", prompt ? "\n" : "",
                         text->valuestring) < 0)
                joined = NULL;
            free(prompt);
            prompt = joined;
        } else {
            /* References keep their role; the adaptor passes them on as they are. */
            cJSON_AddItemToArray(refs, cJSON_Duplicate(item, 1));
        }
    }
    cJSON_ArrayForEach(field, root) {
        const char *k = field->string;
        if (!strcmp(k, "content") || (!out && !strcmp(k, "assets")))
            continue;           /* assets: turned into references before it is sent */
        if (in(top_keys, k)) {
            cJSON_AddItemToObject(o, k, cJSON_Duplicate(field, 1));
        } else if (!strcmp(k, "duration")) {
            /* "seconds", a string (new-api ignores a top-level duration); -1
             * (the model chooses) is said by sending none. */
            char s[24];
            if (cJSON_IsNumber(field) && field->valuedouble > 0) {
                snprintf(s, sizeof s, "%.0f", field->valuedouble);
                cJSON_AddStringToObject(o, "seconds", s);
            }
        } else if (in(metadata_keys, k)) {
            cJSON_AddItemToObject(meta, k, cJSON_Duplicate(field, 1));
        } else if (!rc) {
            snprintf(why, why_len, "dialect openai cannot carry \"%s\" (it carries model, "
                     "prompt, duration, size, references and %s)", k,
                     "resolution, ratio, seed, watermark, generate_audio, camera_fixed, frames, "
                     "return_last_frame, callback_url, service_tier, execution_expires_after, "
                     "draft, tools, safety_identifier, priority");
            rc = -EINVAL;
        }
    }
    if (!rc && !prompt) {
        snprintf(why, why_len, "dialect openai needs a prompt (a text item)");
        rc = -EINVAL;
    }
    if (!rc) {
        cJSON_AddStringToObject(o, "prompt", prompt);
        if (cJSON_GetArraySize(refs))
            cJSON_AddItemToObject(meta, "content", refs);
        else
            cJSON_Delete(refs);
        if (meta->child)
            cJSON_AddItemToObject(o, "metadata", meta);
        else
            cJSON_Delete(meta);
        if (out && !(*out = cJSON_PrintUnformatted(o)))
            rc = -ENOMEM;
    } else {
        cJSON_Delete(meta);
        cJSON_Delete(refs);
    }
done:
    free(prompt);
    cJSON_Delete(root);
    cJSON_Delete(o);
    return rc;
}

int api_openai_check(const char *body, char *why, size_t why_len)
{
    return api_openai_body(body, NULL, why, why_len);
}

bool api_openai_matches(const char *task_json, const char *body)
{
    static const char *const echoed[] = {"model", "prompt", "seconds", "size", NULL};
    char *sent = NULL, why[256];
    cJSON *task = cJSON_Parse(task_json), *req;
    bool match;

    if (api_openai_body(body, &sent, why, sizeof why)) {
        cJSON_Delete(task);
        return false;
    }
    req = cJSON_Parse(sent);
    match = task && req;
    for (int i = 0; match && echoed[i]; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(task, echoed[i]);
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(req, echoed[i]);
        if (a && b && !cJSON_IsNull(a))     /* only what both sides state can disagree */
            match = cJSON_Compare(a, b, true);
    }
    cJSON_Delete(task);
    cJSON_Delete(req);
    free(sent);
    return match;
}
