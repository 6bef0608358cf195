/* sim-openai.c — see sim-openai.h. Written from the API reference, not
 * from seedancefs's mapping. */
#include "sim-openai.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The Seedance parameters new-api's Doubao channel reads from metadata. */
static const char *const carried[] = {"resolution", "ratio", "seed", "watermark",
    "generate_audio", "camera_fixed", "frames", "return_last_frame", "callback_url",
    "service_tier", "execution_expires_after", "draft", "tools", NULL};

cJSON *openai_to_seedance(const cJSON *request, const char **why, const char **param)
{
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(request, "model");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(request, "prompt");
    const cJSON *seconds = cJSON_GetObjectItemCaseSensitive(request, "seconds");
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(request, "metadata"), *item;
    cJSON *body, *content, *text;

    *why = *param = NULL;
    if (!cJSON_IsString(model))
        return *param = "model", *why = "model is required", NULL;
    if (!cJSON_IsString(prompt) || !prompt->valuestring[0])
        return *param = "prompt", *why = "prompt is required", NULL;
    if (seconds && (!cJSON_IsString(seconds) || atoi(seconds->valuestring) < 1))
        return *param = "seconds", *why = "seconds must be a string such as \"5\"", NULL;
    if (meta && !cJSON_IsObject(meta))
        return *param = "metadata", *why = "metadata must be an object", NULL;
    body = cJSON_CreateObject();
    cJSON_AddStringToObject(body, "model", model->valuestring);
    content = cJSON_AddArrayToObject(body, "content");
    text = cJSON_CreateObject();
    cJSON_AddStringToObject(text, "type", "text");
    cJSON_AddStringToObject(text, "text", prompt->valuestring);
    cJSON_AddItemToArray(content, text);
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(meta, "content"))
        cJSON_AddItemToArray(content, cJSON_Duplicate(item, 1));
    if (seconds)
        cJSON_AddNumberToObject(body, "duration", atoi(seconds->valuestring));
    for (int i = 0; carried[i]; i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(meta, carried[i]);
        if (v)
            cJSON_AddItemToObject(body, carried[i], cJSON_Duplicate(v, 1));
    }
    return body;
}

cJSON *openai_video_of(const cJSON *task, const cJSON *request, int progress)
{
    static const char *const words[][2] = {{"queued", "queued"}, {"running", "in_progress"},
        {"succeeded", "completed"}, {"failed", "failed"}, {"cancelled", "cancelled"}};
    const cJSON *status = cJSON_GetObjectItemCaseSensitive(task, "status");
    const char *word = "queued";
    cJSON *o = cJSON_CreateObject(), *v;
    const char *echoed[] = {"prompt", "seconds", "size", NULL};

    for (size_t i = 0; cJSON_IsString(status) && i < sizeof words / sizeof words[0]; i++)
        if (!strcmp(status->valuestring, words[i][0]))
            word = words[i][1];
    cJSON_AddStringToObject(o, "id", cJSON_GetObjectItemCaseSensitive(task, "id")->valuestring);
    cJSON_AddStringToObject(o, "object", "video");
    cJSON_AddItemToObject(o, "model",
                          cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(task, "model"), 1));
    cJSON_AddStringToObject(o, "status", word);
    cJSON_AddNumberToObject(o, "progress", !strcmp(word, "completed") ? 100
                                           : !strcmp(word, "queued") ? 0 : progress);
    if ((v = cJSON_GetObjectItemCaseSensitive(task, "created_at")))
        cJSON_AddItemToObject(o, "created_at", cJSON_Duplicate(v, 1));
    if (!strcmp(word, "completed") || !strcmp(word, "failed")) {
        v = cJSON_GetObjectItemCaseSensitive(task, "updated_at");
        cJSON_AddItemToObject(o, "completed_at", cJSON_Duplicate(v, 1));
        if (v && !strcmp(word, "completed"))
            cJSON_AddNumberToObject(o, "expires_at", v->valuedouble + 86400);
    } else {
        cJSON_AddNullToObject(o, "completed_at");
    }
    for (int i = 0; echoed[i]; i++)
        if ((v = cJSON_GetObjectItemCaseSensitive(request, echoed[i])))
            cJSON_AddItemToObject(o, echoed[i], cJSON_Duplicate(v, 1));
    v = cJSON_GetObjectItemCaseSensitive(task, "error");
    cJSON_AddItemToObject(o, "error", v ? cJSON_Duplicate(v, 1) : cJSON_CreateNull());
    return o;
}
