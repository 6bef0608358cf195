/* Templates and reply paths (template.h): what asset profiles are made of. */
#include "check.h"
#include "template.h"

#include <stdlib.h>
#include <string.h>

static cJSON *values(void)
{
    cJSON *v = cJSON_Parse("{\"id\": \"a-1\", \"group\": \"g/7 x\", \"n\": 42, \"ok\": true,"
                           " \"list\": [\"u1\", \"u2\"], \"source.url\": \"https://h/f.png\"}");
    return v;
}

static void strings(void)
{
    cJSON *v = values();
    char why[128] = "", *s;

    s = template_string("asset://{id}", v, why, sizeof why);
    CHECK(s && !strcmp(s, "asset://a-1"));
    free(s);
    s = template_string("{n}/{ok}/{source.url}", v, why, sizeof why);
    CHECK(s && !strcmp(s, "42/true/https://h/f.png"));
    free(s);
    s = template_string("{not a name} {} {", v, why, sizeof why);
    CHECK(s && !strcmp(s, "{not a name} {} {"));       /* kept as they are */
    free(s);
    s = template_string("x{missing}y", v, why, sizeof why);
    CHECK(!s && !strcmp(why, "no value for {missing}"));
    s = template_path("/groups/{group}/assets/{id}", v, why, sizeof why);
    CHECK(s && !strcmp(s, "/groups/g%2F7%20x/assets/a-1"));   /* one segment each */
    free(s);
    cJSON_Delete(v);
}

static void json(void)
{
    cJSON *v = values(), *t = cJSON_Parse("{\"G\": \"{group}\", \"L\": \"{list}\", \"K\": 3,"
                                          " \"A\": [\"{id}\", {\"deep\": \"{n}\"}]}");
    char why[128] = "", *text;
    cJSON *out = template_expand(t, v, why, sizeof why);

    text = out ? cJSON_PrintUnformatted(out) : NULL;
    CHECK(text && !strcmp(text, "{\"G\":\"g/7 x\",\"L\":[\"u1\",\"u2\"],\"K\":3,"
                                "\"A\":[\"a-1\",{\"deep\":\"42\"}]}"));
    free(text);
    cJSON_Delete(out);
    cJSON_Delete(t);
    t = cJSON_Parse("{\"x\": [\"{nothing}\"]}");
    CHECK(template_expand(t, v, why, sizeof why) == NULL && strstr(why, "{nothing}"));
    cJSON_Delete(t);
    cJSON_Delete(v);
}

static void paths(void)
{
    cJSON *r = cJSON_Parse("{\"Result\": {\"Items\": [{\"Id\": \"x\"}, {\"Id\": 7}]},"
                           " \"e\": {\"\": 1}}");
    char *s;

    s = template_scalar(template_at(r, "Result.Items[1].Id"));
    CHECK(s && !strcmp(s, "7"));
    free(s);
    s = template_scalar(template_at(r, "Result.Items.0.Id"));
    CHECK(s && !strcmp(s, "x"));
    free(s);
    CHECK(template_at(r, "Result.Items[2].Id") == NULL);
    CHECK(template_at(r, "Result.Items[-1]") == NULL);
    CHECK(template_at(r, "Result..Items") == NULL);
    CHECK(template_at(r, "") == NULL && template_at(r, NULL) == NULL);
    CHECK(template_scalar(template_at(r, "Result")) == NULL);    /* not a scalar */
    cJSON_Delete(r);
}

int main(void)
{
    strings();
    json();
    paths();
    return CHECK_DONE("test_template");
}
