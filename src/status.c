/* status.c — the six status names and what they mean; see status.h. */
#include "status.h"

#include <stdio.h>
#include <string.h>

static const char *const names[] = {
    [STATUS_QUEUED] = "queued",       [STATUS_RUNNING] = "running",
    [STATUS_SUCCEEDED] = "succeeded", [STATUS_FAILED] = "failed",
    [STATUS_CANCELLED] = "cancelled", [STATUS_EXPIRED] = "expired",
};

struct task_status status_make(enum status_code code)
{
    struct task_status s = { .code = code < STATUS_OTHER ? code : STATUS_QUEUED };
    return s;
}

const char *status_name(const struct task_status *s)
{
    return s->code < STATUS_OTHER ? names[s->code] : s->other;
}

struct task_status status_from_name(const char *name)
{
    struct task_status s = { .code = STATUS_OTHER };

    for (int c = 0; c < STATUS_OTHER; c++)
        if (!strcmp(name, names[c]))
            return status_make((enum status_code)c);
    snprintf(s.other, sizeof s.other, "%s", name);
    return s;
}

bool status_final(const struct task_status *s)
{
    return s->code == STATUS_SUCCEEDED || s->code == STATUS_FAILED ||
           s->code == STATUS_CANCELLED || s->code == STATUS_EXPIRED;
}

bool status_equal(const struct task_status *a, const struct task_status *b)
{
    return a->code == b->code && (a->code != STATUS_OTHER || !strcmp(a->other, b->other));
}
