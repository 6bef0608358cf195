/* The OpenAI Videos shape (api_openai.c): what a request becomes, what a
 * video object and a list mean. */
#include "api.h"
#include "check.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char seedance[] =
    "{\"model\": \"m\", \"content\": [{\"type\": \"text\", \"text\": \"a fox\"},"
    " {\"type\": \"image_url\", \"image_url\": {\"url\": \"https://h/f.png\"},"
    " \"role\": \"first_frame\"}], \"duration\": 5, \"resolution\": \"720p\", \"seed\": 7,"
    " \"size\": \"1280x720\"}";

static void body(void)
{
    char why[512] = "", *out = NULL;
    cJSON *o;

    CHECK(api_openai_body(seedance, &out, why, sizeof why) == 0);
    o = cJSON_Parse(out);
    CHECK(!strcmp(cJSON_GetObjectItem(o, "prompt")->valuestring, "a fox"));
    CHECK(!strcmp(cJSON_GetObjectItem(o, "seconds")->valuestring, "5"));   /* a string */
    CHECK(!cJSON_GetObjectItem(o, "duration"));                 /* new-api ignores it */
    CHECK(!strcmp(cJSON_GetObjectItem(o, "size")->valuestring, "1280x720"));
    const cJSON *meta = cJSON_GetObjectItem(o, "metadata");
    CHECK(!strcmp(cJSON_GetObjectItem(meta, "resolution")->valuestring, "720p"));
    CHECK(cJSON_GetObjectItem(meta, "seed")->valuedouble == 7);
    const cJSON *ref = cJSON_GetArrayItem(cJSON_GetObjectItem(meta, "content"), 0);
    CHECK(ref && !strcmp(cJSON_GetObjectItem(ref, "role")->valuestring, "first_frame"));
    CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(meta, "content")) == 1);   /* no text */
    cJSON_Delete(o);
    free(out);

    /* What it cannot carry is named; -1 (the model chooses) sends no seconds. */
    CHECK(api_openai_check("{\"model\": \"m\", \"content\": [{\"type\": \"text\", \"text\": "
                           "\"x\"}], \"bogus\": 1}", why, sizeof why) == -EINVAL);
    CHECK(strstr(why, "cannot carry \"bogus\"") != NULL);
    CHECK(api_openai_body("{\"model\": \"m\", \"content\": [{\"type\": \"text\", \"text\": "
                          "\"x\"}], \"duration\": -1}", &out, why, sizeof why) == 0);
    CHECK(out && !strstr(out, "seconds"));
    free(out);
    CHECK(api_openai_check("{\"model\": \"m\", \"content\": []}", why, sizeof why) == -EINVAL);
    CHECK(strstr(why, "prompt") != NULL);
    /* "assets" pass the check (they become references before sending) but never go out. */
    const char *named = "{\"model\": \"m\", \"content\": [{\"type\": \"text\", \"text\": \"x\"}],"
                        " \"assets\": [\"alice\"]}";
    CHECK(api_openai_check(named, why, sizeof why) == 0);
    CHECK(api_openai_body(named, &out, why, sizeof why) == -EINVAL && !out);
    CHECK(api_openai_check("not json", why, sizeof why) == -EINVAL);
}

static void objects(void)
{
    struct task_info t;
    char why[256];

    CHECK(api_parse_task("{\"id\": \"video_1\", \"object\": \"video\", \"status\": \"in_progress\","
                         " \"progress\": 42, \"created_at\": 1764331234, \"completed_at\": null}",
                         &t, why, sizeof why) == 0);
    CHECK(t.status.code == STATUS_RUNNING && t.progress == 42);
    api_task_info_free(&t);
    CHECK(api_parse_task("{\"id\": \"video_1\", \"status\": \"completed\", \"progress\": 100,"
                         " \"created_at\": 1764331234, \"completed_at\": 1764331300}",
                         &t, why, sizeof why) == 0);
    CHECK(t.status.code == STATUS_SUCCEEDED && t.updated_at == 1764331300);
    api_task_info_free(&t);
    CHECK(api_parse_task("{\"id\": \"video_1\", \"status\": \"queued\", \"progress\": 300}",
                         &t, why, sizeof why) == 0 && t.progress == -1);   /* out of range */
    api_task_info_free(&t);
    CHECK(api_openai_matches("{\"prompt\": \"a fox\", \"model\": \"m\", \"seconds\": \"5\"}",
                             seedance));
    CHECK(!api_openai_matches("{\"prompt\": \"a cat\", \"model\": \"m\"}", seedance));
    CHECK(!api_openai_matches("{\"prompt\": \"a fox\", \"seconds\": \"10\"}", seedance));
    CHECK(api_openai_matches("{\"model\": \"m\", \"seconds\": null}", seedance));
}

static void lists(void)
{
    struct task_info *items;
    int n;
    bool more;
    char why[256];

    CHECK(api_openai_parse_list("{\"object\": \"list\", \"data\": [{\"id\": \"v2\", \"status\":"
                                " \"queued\"}, {\"id\": \"v1\", \"status\": \"completed\"}],"
                                " \"has_more\": true}", &items, &n, &more, why, sizeof why) == 0);
    CHECK(n == 2 && more && !strcmp(items[1].id, "v1"));
    api_task_list_free(items, n);
    CHECK(api_openai_parse_list("{\"data\": [{\"id\": \"v2\"}]}", &items, &n, &more, why,
                                sizeof why) == -EPROTO && !items && !n);
    CHECK(api_openai_parse_list("404 page not found", &items, &n, &more, why, sizeof why)
          == -EPROTO);
}

int main(void)
{
    body();
    objects();
    lists();
    return CHECK_DONE("test_api_openai");
}
