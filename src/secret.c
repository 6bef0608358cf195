/* secret.c — hiding the API key in text; see secret.h. */
#include "secret.h"

#include <stdlib.h>
#include <string.h>

#define MASK "[key]"

static char *hidden;
static size_t hidden_len;

void secret_set(const char *secret)
{
    free(hidden);
    hidden = secret && *secret ? strdup(secret) : NULL;
    hidden_len = hidden ? strlen(hidden) : 0;
}

size_t secret_scrub(char *text)
{
    size_t len = strlen(text), mask = strlen(MASK);
    char *at = text;

    if (!hidden_len)
        return len;
    while ((at = strstr(at, hidden))) {
        if (hidden_len < mask) {
            memset(at, '*', hidden_len);
            at += hidden_len;
            continue;
        }
        memcpy(at, MASK, mask);
        memmove(at + mask, at + hidden_len, len - (size_t)(at - text) - hidden_len + 1);
        len -= hidden_len - mask;
        at += mask;
    }
    return len;
}
