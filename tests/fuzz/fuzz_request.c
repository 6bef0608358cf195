/* fuzz_request.c — the request parser and validator (task_body_build):
 * any bytes a user can write into requests/, as .json or .txt. The first
 * input byte picks the file name; the rest is the file, copied to a buffer
 * of exactly its size so that a read past it is caught. */
#include "api.h"
#include "fuzz.h"
#include "task_body.h"

#include <assert.h>
#include <errno.h>
#include <stdbool.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"fox.json", "boat.txt", "a.b.json", ".hidden.json"};
    /* Odd first bytes: the OpenAI dialect's check too. */
    const struct task_body_rules rules = {"doubao-seedance-2-0-260128", "480p:720p:1080p",
                                          1u << 20, data && size && (data[0] & 4) ?
                                          api_openai_check : NULL};
    char why[256], *body = NULL, *file;
    bool last_frame = false;
    int rc;

    if (!size)
        return 0;
    const char *name = names[data[0] % 4];
    if (!(file = malloc(size - 1 ? size - 1 : 1)))
        return 0;
    memcpy(file, data + 1, size - 1);
    why[0] = '\0';
    rc = task_body_build(name, file, size - 1, &rules, &body, &last_frame, why, sizeof why);
    /* The contract: a body, or a reason. */
    assert(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    assert(rc != 0 || body);
    assert(rc != -EINVAL || (why[0] && memchr(why, '\0', sizeof why)));
    if (body) {                 /* what is sent in the OpenAI shape is JSON */
        char *sent = NULL;
        if (!api_openai_body(body, &sent, why, sizeof why))
            assert(sent && sent[0] == '{');
        free(sent);
    }
    free(body);
    free(file);
    free(task_body_name_of(name));
    return 0;
}
