/* test_api.c — task JSON mapping, status words, create replies, errors. */
#include "api.h"
#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    struct task_info t;
    char why[512], *id;

    /* Every gateway's words map onto the six; an unknown one stays as it is. */
    static const struct { const char *word; enum status_code code; } words[] = {
        {"pending", STATUS_QUEUED}, {"processing", STATUS_RUNNING},
        {"in_progress", STATUS_RUNNING}, {"completed", STATUS_SUCCEEDED},
        {"Succeeded", STATUS_SUCCEEDED}, {"canceled", STATUS_CANCELLED},
        {"EXPIRED", STATUS_EXPIRED}, {"failure", STATUS_FAILED},
    };
    for (size_t i = 0; i < sizeof words / sizeof *words; i++)
        CHECK(api_status_of_word(words[i].word).code == words[i].code);
    struct task_status odd = api_status_of_word("warming_up");
    CHECK(odd.code == STATUS_OTHER && !strcmp(status_name(&odd), "warming_up"));
    CHECK(!status_final(&odd));
    struct task_status expired = status_make(STATUS_EXPIRED), running = status_make(STATUS_RUNNING);
    CHECK(status_final(&expired) && !status_final(&running));
    CHECK(!strcmp(status_name(&expired), "expired"));
    /* What the store saved reads back as it was. */
    struct task_status back = status_from_name("cancelled"), other = status_from_name("warming_up");
    CHECK(back.code == STATUS_CANCELLED && status_equal(&other, &odd));
    CHECK(!status_equal(&odd, &running));

    CHECK(api_parse_task("{\"id\": \"cgt-1\", \"status\": \"succeeded\", \"content\": "
                         "{\"video_url\": \"https://cdn/x.mp4?sig=1\", \"last_frame_url\": \"https://cdn/x.png\"},"
                         " \"created_at\": 1764331234, \"updated_at\": 1764331301}",
                         &t, why, sizeof why) == 0);
    CHECK(!strcmp(t.id, "cgt-1") && t.status.code == STATUS_SUCCEEDED);
    CHECK(t.video_url && !strcmp(t.video_url, "https://cdn/x.mp4?sig=1"));
    CHECK(t.last_frame_url && t.created_at == 1764331234 && t.updated_at == 1764331301);
    CHECK(t.error == NULL && t.json != NULL);
    api_task_info_free(&t);

    CHECK(api_parse_task("{\"id\": \"cgt-2\", \"status\": \"failed\", \"content\": null,"
                         " \"error\": {\"code\": \"OutputVideoSensitiveContentDetected\","
                         " \"message\": \"bad\\nthing\"}}", &t, why, sizeof why) == 0);
    CHECK(t.error && !strcmp(t.error, "OutputVideoSensitiveContentDetected: bad thing"));
    CHECK(t.video_url == NULL);
    api_task_info_free(&t);

    /* OpenAI-shaped gateway. */
    CHECK(api_parse_task("{\"id\": \"video_1\", \"status\": \"in_progress\", \"progress\": 40}",
                         &t, why, sizeof why) == 0);
    CHECK(t.status.code == STATUS_RUNNING);
    api_task_info_free(&t);

    /* Hostile replies. */
    CHECK(api_parse_task("<html>502</html>", &t, why, sizeof why) == -EPROTO);
    CHECK(api_parse_task("{\"id\": \"../../etc\", \"status\": \"queued\"}", &t, why, sizeof why) == -EPROTO);
    CHECK(api_parse_task("{\"id\": \"a/b\", \"status\": \"queued\"}", &t, why, sizeof why) == -EPROTO);
    CHECK(api_parse_task("{\"id\": \"ok\"}", &t, why, sizeof why) == -EPROTO);
    CHECK(api_parse_task("{\"id\": \"ok\", \"status\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
                         &t, why, sizeof why) == -EPROTO);

    CHECK(api_parse_create_reply(200, "{\"id\": \"cgt-9\"}", &id, why, sizeof why) == 0 &&
          !strcmp(id, "cgt-9"));
    free(id);
    CHECK(api_parse_create_reply(200, "<html>ok</html>", &id, why, sizeof why) == -EPROTO && !id);
    CHECK(api_parse_create_reply(200, "{\"ok\": true}", &id, why, sizeof why) == -EPROTO);
    CHECK(api_parse_create_reply(200, "{\"id\": \"..\"}", &id, why, sizeof why) == -EPROTO);
    /* An escaped NUL would cut the id short into another one. */
    CHECK(api_parse_create_reply(200, "{\"id\": \"cgt-1\\u0000/../x\"}", &id, why,
                                 sizeof why) == -EPROTO && !id);
    struct task_info nul;
    CHECK(api_parse_task("{\"id\": \"cgt-1\\u0000x\", \"status\": \"queued\"}", &nul, why,
                         sizeof why) != 0);
    CHECK(api_parse_create_reply(400, "{\"error\": {\"code\": \"InvalidParameter\", \"message\":"
                                 " \"duration out of range\", \"param\": \"duration\"}}",
                                 &id, why, sizeof why) == -EINVAL);
    CHECK(strstr(why, "InvalidParameter") && strstr(why, "duration out of range") &&
          strstr(why, "param duration"));
    CHECK(api_parse_create_reply(401, "{}", &id, why, sizeof why) == -EACCES);
    CHECK(api_parse_create_reply(429, "{}", &id, why, sizeof why) == -EAGAIN);
    CHECK(api_parse_create_reply(503, "<html>", &id, why, sizeof why) == -EAGAIN);
    CHECK(strstr(why, "not JSON") != NULL);

    /* Endpoints per dialect. */
    struct api_options cfg = {.api_url = "http://h:1", .dialect = DIALECT_GATEWAY};
    api *a = api_new(&cfg, NULL);
    char *url;
    bool auth;
    CHECK(api_video_source(a, "cgt 1", NULL, &url, &auth) == 0 && auth &&
          !strcmp(url, "http://h:1/v1/videos/cgt%201/content"));
    free(url);
    api_free(a);
    cfg.dialect = DIALECT_ARK;
    a = api_new(&cfg, NULL);
    CHECK(api_video_source(a, "cgt-1", NULL, &url, &auth) == -ENOENT);
    CHECK(api_video_source(a, "cgt-1", "https://cdn/v.mp4", &url, &auth) == 0 && !auth &&
          !strcmp(url, "https://cdn/v.mp4"));
    free(url);
    api_free(a);

    /* Reconcile matching: a listed task is the lost POST's only when every
     * field both sides state agrees; -1 in the request means "the model
     * chooses" and matches any value; the prompt is not echoed, so it
     * cannot disagree. */
    const char *body = "{\"model\": \"m\", \"resolution\": \"720p\", \"duration\": 5,"
                       " \"seed\": -1, \"content\": [{\"type\": \"text\", \"text\": \"fox\"}]}";
    CHECK(api_task_matches_body(NULL, "{\"model\": \"m\", \"resolution\": \"720p\", \"duration\": 5,"
                                " \"seed\": 4242, \"ratio\": \"16:9\"}", body));
    CHECK(api_task_matches_body(NULL, "{\"model\": \"m\"}", body));          /* states little */
    CHECK(!api_task_matches_body(NULL, "{\"model\": \"m\", \"duration\": 10}", body));
    CHECK(!api_task_matches_body(NULL, "{\"model\": \"m\", \"resolution\": \"1080p\"}", body));
    CHECK(!api_task_matches_body(NULL, "{\"model\": \"other\"}", body));
    CHECK(!api_task_matches_body(NULL, "{\"model\": \"m\", \"duration\": \"5\"}", body)); /* type */
    CHECK(!api_task_matches_body(NULL, "{\"model\": \"m\", \"seed\": 7}",
                                 "{\"model\": \"m\", \"seed\": 8}"));
    CHECK(!api_task_matches_body(NULL, "not json", body));
    CHECK(!api_task_matches_body(NULL, "{\"model\": \"m\"}", "{broken"));
    return CHECK_DONE("test_api");
}
