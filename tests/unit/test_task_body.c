/* test_task_body.c — request validation and the short forms. */
#include "check.h"
#include "task_body.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct task_body_rules rules = {"doubao-seedance-2-0-260128", "480p:720p:1080p", 1 << 20, NULL};
static char why[512];

static int build(const char *file, const char *text, cJSON **out)
{
    char *body = NULL;
    bool frame;
    int rc = task_body_build(file, text, strlen(text), &rules, &body, &frame, why, sizeof why);

    if (out)
        *out = rc ? NULL : cJSON_Parse(body);
    free(body);
    return rc;
}

static bool refused(const char *text, const char *reason_part)
{
    bool ok = build("x.json", text, NULL) == -EINVAL && strstr(why, reason_part) != NULL;
    if (!ok)
        fprintf(stderr, "  for %s: reason was '%s'\n", text, why);
    return ok;
}

int main(void)
{
    cJSON *body, *content, *item;
    char *name;

    /* Names: what is submitted, what stays a draft. */
    CHECK((name = task_body_name_of("fox.json")) && !strcmp(name, "fox"));
    free(name);
    CHECK((name = task_body_name_of("fox.txt")) && !strcmp(name, "fox"));
    free(name);
    CHECK(!task_body_name_of(".fox.json.swp"));
    CHECK(!task_body_name_of("fox.json~"));
    CHECK(!task_body_name_of("4913"));
    CHECK(!task_body_name_of(".json"));

    /* The full API body passes through, unknown fields included. */
    CHECK(build("a.json", "{\"model\": \"m-2\", \"content\": [{\"type\": \"text\", \"text\": \"fox\"}],"
                " \"resolution\": \"720p\", \"duration\": 5, \"future_field\": {\"x\": 1}}", &body) == 0);
    CHECK(cJSON_GetObjectItem(body, "future_field") != NULL);
    CHECK(!strcmp(cJSON_GetObjectItem(body, "model")->valuestring, "m-2"));
    cJSON_Delete(body);

    /* Short form: prompt + media shortcuts expand into content[]. */
    CHECK(build("b.json", "{\"prompt\": \"a fox\", \"first_frame\": \"https://x/a.png\","
                " \"last_frame\": \"https://x/b.png\", \"seed\": 42}", &body) == 0);
    content = cJSON_GetObjectItem(body, "content");
    CHECK(cJSON_GetArraySize(content) == 3);
    item = cJSON_GetArrayItem(content, 0);
    CHECK(!strcmp(cJSON_GetObjectItem(item, "text")->valuestring, "a fox"));
    item = cJSON_GetArrayItem(content, 2);
    CHECK(!strcmp(cJSON_GetObjectItem(item, "role")->valuestring, "last_frame"));
    CHECK(!strcmp(cJSON_GetObjectItem(body, "model")->valuestring, rules.default_model));
    CHECK(!cJSON_GetObjectItem(body, "prompt"));
    cJSON_Delete(body);

    CHECK(build("c.json", "{\"prompt\": \"p\", \"reference_images\": [\"u1\", \"u2\"],"
                " \"reference_videos\": \"v1\", \"reference_audios\": [\"a1\"]}", &body) == 0);
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(body, "content")) == 5);
    cJSON_Delete(body);

    /* Plain text. */
    CHECK(build("d.txt", "  a red fox runs through snow\n", &body) == 0);
    item = cJSON_GetArrayItem(cJSON_GetObjectItem(body, "content"), 0);
    CHECK(!strcmp(cJSON_GetObjectItem(item, "text")->valuestring, "a red fox runs through snow"));
    cJSON_Delete(body);
    CHECK(build("e.txt", " \n\t", NULL) == -EINVAL && strstr(why, "empty"));

    /* Bad input of every kind gets a clear reason. */
    CHECK(refused("{\"prompt\": \"x\"", "invalid JSON"));
    CHECK(refused("[1, 2]", "JSON object"));
    CHECK(refused("{\"prompt\": \"x\"} trailing", "extra text"));
    CHECK(refused("{}", "no prompt"));
    CHECK(refused("{\"prompt\": 5}", "prompt must be a string"));
    CHECK(refused("{\"content\": [{\"type\": \"hologram\"}]}", "unknown type"));
    CHECK(refused("{\"content\": [{\"type\": \"image_url\", \"image_url\": {\"url\": \"u\"},"
                  " \"role\": \"reference_video\"}]}", "role"));
    CHECK(refused("{\"content\": [{\"type\": \"image_url\", \"image_url\": {}}]}", "url"));
    CHECK(refused("{\"prompt\": \"x\", \"duration\": 99}", "duration"));
    CHECK(refused("{\"prompt\": \"x\", \"duration\": 3}", "duration"));
    CHECK(refused("{\"prompt\": \"x\", \"duration\": 5.5}", "duration"));
    CHECK(refused("{\"prompt\": \"x\", \"resolution\": \"4k\"}", "resolution"));
    CHECK(refused("{\"prompt\": \"x\", \"ratio\": \"2:1\"}", "ratio"));
    CHECK(refused("{\"prompt\": \"x\", \"seed\": -2}", "seed"));
    CHECK(refused("{\"prompt\": \"x\", \"seed\": 4294967296}", "seed"));
    CHECK(refused("{\"prompt\": \"x\", \"watermark\": \"yes\"}", "watermark"));
    CHECK(refused("{\"prompt\": \"x\", \"camera_fixed\": true}", "camera_fixed"));
    CHECK(refused("{\"prompt\": \"x\", \"execution_expires_after\": 60}", "execution_expires_after"));
    CHECK(refused("{\"prompt\": \"x\", \"last_frame\": \"u\"}", "first_frame"));
    CHECK(refused("{\"prompt\": \"x\", \"first_frame\": \"u\", \"reference_images\": [\"v\"]}",
                  "cannot be mixed"));
    CHECK(refused("{\"prompt\": \"x\", \"reference_images\": [\"1\",\"2\",\"3\",\"4\",\"5\","
                  "\"6\",\"7\",\"8\",\"9\",\"10\"]}", "reference images"));
    CHECK(refused("{\"reference_audios\": [\"a\"]}", "audio alone"));
    CHECK(refused("{\"model\": \"\", \"prompt\": \"x\"}", "model"));
    CHECK(refused("{\"prompt\": \"\xff\xfe\"}", "UTF-8"));
    CHECK(build("bin.json", "\x01\x02\x00junk", NULL) == -EINVAL);

    /* Edge values that are valid. */
    CHECK(build("f.json", "{\"prompt\": \"x\", \"duration\": -1, \"seed\": -1}", NULL) == 0);
    CHECK(build("g.json", "{\"prompt\": \"x\", \"seed\": 4294967295, \"duration\": 15}", NULL) == 0);
    CHECK(build("h.json", "{\"model\": \"doubao-seedance-1-0-pro\", \"prompt\": \"x\","
                " \"camera_fixed\": true, \"duration\": 2}", NULL) == 0);

    /* Size limit. */
    char *big = malloc((2 << 20) + 1);
    memset(big, ' ', 2 << 20);
    big[2 << 20] = '\0';
    CHECK(build("big.json", big, NULL) == -EINVAL && strstr(why, "limit"));
    free(big);
    return CHECK_DONE("test_task_body");
}
