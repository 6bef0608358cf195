/* task_body.c — turns a file written under requests/ into a validated task body.
 *
 *   $ echo '{"prompt": "a fox in snow", "duration": 5}' > mnt/requests/fox.json
 *   $ cat mnt/requests/fox.error        # only when close() failed with EINVAL
 *
 * Validation follows ../shared/API.md; unknown top-level fields pass through.
 */
#include "task_body.h"
#include "names.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_REF_IMAGES 9
#define MAX_REF_VIDEOS 3
#define MAX_REF_AUDIOS 3

static int fail(char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *why, size_t why_len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, why_len, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && !strcmp(s + n - m, suffix);
}

char *task_body_name_of(const char *filename)
{
    char *name;
    size_t n = strlen(filename);

    if (filename[0] == '.' || (!ends_with(filename, ".json") && !ends_with(filename, ".txt")))
        return NULL;
    name = strndup(filename, n - (ends_with(filename, ".json") ? 5 : 4));
    if (name && !names_request_name_ok(name)) {
        free(name);
        return NULL;
    }
    return name;
}

/* {"type": kind, kind: {"url": url}, "role": role} */
static cJSON *media_item(const char *kind, const char *url, const char *role)
{
    cJSON *item = cJSON_CreateObject(), *inner = cJSON_AddObjectToObject(item, kind);

    cJSON_AddStringToObject(item, "type", kind);
    cJSON_AddStringToObject(inner, "url", url);
    cJSON_AddStringToObject(item, "role", role);
    return item;
}

/* Moves a short-form key (string or array of strings) into content[]. */
static int expand_media(cJSON *root, cJSON *content, const char *key, const char *kind,
                        const char *role, char *why, size_t why_len)
{
    cJSON *value = cJSON_DetachItemFromObjectCaseSensitive(root, key), *url;
    int rc = 0;

    if (!value)
        return 0;
    if (cJSON_IsString(value)) {
        cJSON_AddItemToArray(content, media_item(kind, value->valuestring, role));
    } else if (cJSON_IsArray(value)) {
        cJSON_ArrayForEach(url, value) {
            if (!cJSON_IsString(url)) {
                rc = fail(why, why_len, "%s must hold URL strings", key);
                break;
            }
            cJSON_AddItemToArray(content, media_item(kind, url->valuestring, role));
        }
    } else {
        rc = fail(why, why_len, "%s must be a URL string or a list of them", key);
    }
    cJSON_Delete(value);
    return rc;
}

/* The short form: "prompt" and media shortcuts become content[] items. */
static int expand_short_form(cJSON *root, char *why, size_t why_len)
{
    cJSON *prompt = cJSON_DetachItemFromObjectCaseSensitive(root, "prompt");
    cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content"), *text;
    int rc = 0;

    if (!content)
        content = cJSON_AddArrayToObject(root, "content");
    if (!cJSON_IsArray(content)) {
        cJSON_Delete(prompt);
        return fail(why, why_len, "content must be a list of items");
    }
    if (prompt) {
        if (!cJSON_IsString(prompt)) {
            cJSON_Delete(prompt);
            return fail(why, why_len, "prompt must be a string");
        }
        text = cJSON_CreateObject();
        cJSON_AddStringToObject(text, "type", "text");
        cJSON_AddStringToObject(text, "text", prompt->valuestring);
        cJSON_InsertItemInArray(content, 0, text);
        cJSON_Delete(prompt);
    }
    rc = expand_media(root, content, "first_frame", "image_url", "first_frame", why, why_len);
    if (!rc)
        rc = expand_media(root, content, "last_frame", "image_url", "last_frame", why, why_len);
    if (!rc)
        rc = expand_media(root, content, "reference_images", "image_url", "reference_image",
                          why, why_len);
    if (!rc)
        rc = expand_media(root, content, "reference_videos", "video_url", "reference_video",
                          why, why_len);
    if (!rc)
        rc = expand_media(root, content, "reference_audios", "audio_url", "reference_audio",
                          why, why_len);
    return rc;
}

/* Counts of what content[] holds, for the cross-item rules. */
struct content_tally {
    int text, first_frame, last_frame, ref_images, videos, audios, images;
};

static const char *const image_roles[] = {"first_frame", "last_frame", "reference_image", NULL};
static const char *const video_roles[] = {"reference_video", NULL};
static const char *const audio_roles[] = {"reference_audio", NULL};

static bool in_list(const char *word, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(word, *list))
            return true;
    return false;
}

static int check_item(const cJSON *item, int index, struct content_tally *t,
                      char *why, size_t why_len)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(item, "type");
    const cJSON *role = cJSON_GetObjectItemCaseSensitive(item, "role");
    const cJSON *media, *url;
    const char *const *roles;
    const char *kind;

    if (!cJSON_IsObject(item) || !cJSON_IsString(type))
        return fail(why, why_len, "content[%d] needs a \"type\"", index);
    kind = type->valuestring;
    if (!strcmp(kind, "text")) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(item, "text");
        if (!cJSON_IsString(text) || !text->valuestring[0])
            return fail(why, why_len, "content[%d] (text) needs a non-empty \"text\"", index);
        t->text++;
        return 0;
    }
    if (!strcmp(kind, "image_url"))
        roles = image_roles;
    else if (!strcmp(kind, "video_url"))
        roles = video_roles;
    else if (!strcmp(kind, "audio_url"))
        roles = audio_roles;
    else
        return fail(why, why_len, "content[%d]: unknown type \"%s\" (text, image_url, "
                    "video_url or audio_url)", index, kind);
    media = cJSON_GetObjectItemCaseSensitive(item, kind);
    url = cJSON_GetObjectItemCaseSensitive(media, "url");
    if (!cJSON_IsString(url) || !url->valuestring[0])
        return fail(why, why_len, "content[%d] (%s) needs {\"%s\": {\"url\": \"...\"}}",
                    index, kind, kind);
    if (role && (!cJSON_IsString(role) || !in_list(role->valuestring, roles)))
        return fail(why, why_len, "content[%d]: role \"%s\" is not valid for %s", index,
                    cJSON_IsString(role) ? role->valuestring : "?", kind);
    if (roles == image_roles) {
        const char *r = role ? role->valuestring : "first_frame";
        t->images++;
        t->first_frame += !strcmp(r, "first_frame");
        t->last_frame += !strcmp(r, "last_frame");
        t->ref_images += !strcmp(r, "reference_image");
    } else if (roles == video_roles) {
        t->videos++;
    } else {
        t->audios++;
    }
    return 0;
}

static int check_content(const cJSON *content, char *why, size_t why_len)
{
    struct content_tally t = {0};
    const cJSON *item;
    int index = 0, rc;

    if (!cJSON_IsArray(content) || cJSON_GetArraySize(content) == 0)
        return fail(why, why_len, "no prompt: give \"prompt\" or a non-empty \"content\" list");
    cJSON_ArrayForEach(item, content)
        if ((rc = check_item(item, index++, &t, why, why_len)))
            return rc;
    if (t.first_frame > 1 || t.last_frame > 1)
        return fail(why, why_len, "at most one first_frame and one last_frame image");
    if (t.last_frame && !t.first_frame)
        return fail(why, why_len, "a last_frame image needs a first_frame image");
    if ((t.first_frame || t.last_frame) && (t.ref_images || t.videos || t.audios))
        return fail(why, why_len, "first/last-frame mode and reference mode cannot be mixed");
    if (t.ref_images > MAX_REF_IMAGES)
        return fail(why, why_len, "at most %d reference images, got %d", MAX_REF_IMAGES,
                    t.ref_images);
    if (t.videos > MAX_REF_VIDEOS)
        return fail(why, why_len, "at most %d reference videos, got %d", MAX_REF_VIDEOS, t.videos);
    if (t.audios > MAX_REF_AUDIOS)
        return fail(why, why_len, "at most %d reference audio clips, got %d", MAX_REF_AUDIOS,
                    t.audios);
    if (t.audios && !t.text && !t.images && !t.videos)
        return fail(why, why_len, "audio alone is refused: add text, an image or a video");
    return 0;
}

static bool is_integer(const cJSON *v)
{
    return cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
           fabs(v->valuedouble) < 1e15;
}

static bool word_in_colon_list(const char *word, const char *list)
{
    size_t n = strlen(word);

    for (const char *p = list; *p; ) {
        size_t m = strcspn(p, ":");
        if (m == n && !strncmp(p, word, n))
            return true;
        p += m + (p[m] == ':');
    }
    return false;
}

/* An optional integer field in lo..hi; `auto_ok` also admits -1 ("the model chooses"). */
static int check_integer(const cJSON *root, const char *key, double lo, double hi,
                         bool auto_ok, char *why, size_t why_len)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, key);

    if (!v)
        return 0;
    if (!is_integer(v) || ((v->valuedouble < lo || v->valuedouble > hi) &&
                           !(auto_ok && v->valuedouble == -1)))
        return fail(why, why_len, "%s must be an integer in %.0f..%.0f%s", key, lo, hi,
                    auto_ok ? " (or -1)" : "");
    return 0;
}

static int check_parameters(const cJSON *root, const struct task_body_rules *rules,
                            const char *model, char *why, size_t why_len)
{
    static const char *const booleans[] = {"watermark", "generate_audio", "return_last_frame",
                                           "camera_fixed", "draft", NULL};
    static const char *const strings[] = {"callback_url", "service_tier", "safety_identifier",
                                          NULL};
    static const char *const ratios[] = {"16:9", "4:3", "1:1", "3:4", "9:16", "21:9",
                                         "adaptive", NULL};
    const cJSON *v;
    bool v1 = strstr(model, "seedance-1") != NULL;
    int rc;

    for (int i = 0; booleans[i]; i++)
        if ((v = cJSON_GetObjectItemCaseSensitive(root, booleans[i])) && !cJSON_IsBool(v))
            return fail(why, why_len, "%s must be true or false", booleans[i]);
    for (int i = 0; strings[i]; i++)
        if ((v = cJSON_GetObjectItemCaseSensitive(root, strings[i])) && !cJSON_IsString(v))
            return fail(why, why_len, "%s must be a string", strings[i]);
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "resolution")) &&
        (!cJSON_IsString(v) || !word_in_colon_list(v->valuestring, rules->resolutions)))
        return fail(why, why_len, "resolution must be one of %s", rules->resolutions);
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "ratio")) &&
        (!cJSON_IsString(v) || !in_list(v->valuestring, ratios)))
        return fail(why, why_len, "ratio must be one of 16:9 4:3 1:1 3:4 9:16 21:9 adaptive");
    if (!v1 && cJSON_GetObjectItemCaseSensitive(root, "camera_fixed"))
        return fail(why, why_len, "camera_fixed exists for 1.x models only, not %s", model);
    if ((rc = check_integer(root, "duration", v1 ? 2 : 4, v1 ? 12 : 15, true, why, why_len)) ||
        (rc = check_integer(root, "seed", -1, 4294967295.0, false, why, why_len)) ||
        (rc = check_integer(root, "execution_expires_after", 3600, 259200, false,
                            why, why_len)))
        return rc;
    if ((v = cJSON_GetObjectItemCaseSensitive(root, "tools")) && !cJSON_IsArray(v))
        return fail(why, why_len, "tools must be a list");
    return 0;
}

/* Strips surrounding whitespace of a .txt prompt into a new string. */
static char *trimmed_copy(const char *data, size_t len)
{
    while (len && strchr(" \t\r\n", data[0])) {
        data++;
        len--;
    }
    while (len && strchr(" \t\r\n", data[len - 1]))
        len--;
    return strndup(data, len);
}

static cJSON *parse_input(const char *filename, const char *data, size_t len,
                          char *why, size_t why_len)
{
    cJSON *root;
    const char *end = NULL;

    if (ends_with(filename, ".txt")) {
        char *text = trimmed_copy(data, len);
        root = NULL;
        if (text && !text[0])
            fail(why, why_len, "the prompt text is empty");
        else if (text) {
            root = cJSON_CreateObject();
            cJSON_AddStringToObject(root, "prompt", text);
        }
        free(text);
        return root;
    }
    root = cJSON_ParseWithLengthOpts(data, len, &end, false);
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t offset = at && at >= data && at <= data + len ? (size_t)(at - data) : 0;
        fail(why, why_len, "invalid JSON near byte %zu", offset);
        return NULL;
    }
    for (; end && end < data + len; end++)
        if (!strchr(" \t\r\n", *end)) {
            fail(why, why_len, "invalid JSON: extra text after the object at byte %zu",
                 (size_t)(end - data));
            cJSON_Delete(root);
            return NULL;
        }
    if (!cJSON_IsObject(root)) {
        fail(why, why_len, "the request must be a JSON object");
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

int task_body_build(const char *filename, const char *data, size_t len,
                    const struct task_body_rules *rules, char **body,
                    bool *wants_last_frame, char *why, size_t why_len)
{
    cJSON *root, *model;
    const cJSON *last_frame;
    int rc;

    *body = NULL;
    *wants_last_frame = false;
    if (len > rules->max_bytes)
        return fail(why, why_len, "request is %zu bytes, the limit is %zu", len, rules->max_bytes);
    if (!names_utf8_ok(data, len))
        return fail(why, why_len, "not UTF-8 text (binary data or a NUL byte)");
    if (!(root = parse_input(filename, data, len, why, why_len)))
        return -EINVAL;
    model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!model)
        model = cJSON_AddStringToObject(root, "model", rules->default_model);
    if (!cJSON_IsString(model) || !model->valuestring[0]) {
        rc = fail(why, why_len, "model must be a non-empty string");
        goto out;
    }
    if ((rc = expand_short_form(root, why, why_len)) ||
        (rc = check_content(cJSON_GetObjectItemCaseSensitive(root, "content"), why, why_len)) ||
        (rc = check_parameters(root, rules, model->valuestring, why, why_len)))
        goto out;
    last_frame = cJSON_GetObjectItemCaseSensitive(root, "return_last_frame");
    *wants_last_frame = cJSON_IsTrue(last_frame);
    *body = cJSON_Print(root);
    rc = *body ? 0 : -ENOMEM;
    if (!rc && rules->carry && (rc = rules->carry(*body, why, why_len))) {
        free(*body);            /* the dialect cannot carry it: say so at close() */
        *body = NULL;
    }
out:
    cJSON_Delete(root);
    return rc;
}
