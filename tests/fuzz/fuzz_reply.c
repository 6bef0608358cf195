/* fuzz_reply.c — the API reply parsers: what any server may send back to a
 * create, a task GET, a list or an error. Input: two bytes of HTTP status,
 * then the reply body, NUL, and a request body (for the reconcile check
 * that compares an adopted task with the request it may be). */
#include "api.h"
#include "fuzz.h"
#include "names.h"
#include "status.h"

#include <assert.h>
#include <errno.h>

static void check_task(const struct task_info *t)
{
    assert(t->id && names_task_id_ok(t->id));
    assert(t->json);
    assert(t->created_at >= 0 && t->updated_at >= 0);
}

/* What reaches a file or the log as one line: no control bytes. */
static void check_line(const char *s)
{
    for (; s && *s; s++)
        assert((unsigned char)*s >= 0x20 && *s != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_parts in;
    struct task_info t, *items;
    char why[512], *id;
    int count, rc;
    long status;

    if (size < 2)
        return 0;
    status = 100 + (data[0] << 8 | data[1]) % 500;
    if (fuzz_split(data + 2, size - 2, &in))
        return 0;
    const char *body = in.part[0];

    if (!api_parse_task(body, &t, why, sizeof why)) {
        check_task(&t);
        check_line(t.error);
        check_line(status_name(&t.status));
        api_task_matches_body(NULL, t.json, in.part[1]);
        api_openai_matches(t.json, in.part[1]);
        assert(t.progress >= -1 && t.progress <= 100);
        api_task_info_free(&t);
    }
    rc = api_parse_create_reply(status, body, &id, why, sizeof why);
    assert(rc != 0 || (id && names_task_id_ok(id)));
    assert(rc == 0 || !id);
    if (rc)
        check_line(why);
    free(id);
    rc = api_parse_list(body, &items, &count, why, sizeof why);
    assert(rc == 0 ? count >= 0 && items : !items && !count);
    for (int i = 0; i < count; i++)
        check_task(&items[i]);
    api_task_list_free(items, count);
    bool more;
    rc = api_openai_parse_list(body, &items, &count, &more, why, sizeof why);
    assert(rc == 0 ? count >= 0 && items : !items && !count);
    for (int i = 0; i < count; i++)
        check_task(&items[i]);
    api_task_list_free(items, count);
    api_describe_error(status, body, why, sizeof why);
    check_line(why);
    free(api_body_model(in.part[1]));
    fuzz_parts_free(&in);
    return 0;
}
