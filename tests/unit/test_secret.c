/* test_secret.c — the key is replaced wherever it appears, however often,
 * also after it was rotated, and text without it is left as it is. */
#include "check.h"
#include "secret.h"

#include <string.h>

int main(void)
{
    char text[256];

    secret_set(NULL);
    strcpy(text, "nothing to hide");
    CHECK(secret_scrub(text) == 15 && !strcmp(text, "nothing to hide"));

    secret_set("sk-test-7f3a9c");
    strcpy(text, "{\"error\": \"bad key sk-test-7f3a9c\", \"echo\": \"sk-test-7f3a9csk-test-7f3a9c\"}");
    size_t n = secret_scrub(text);
    CHECK(!strcmp(text, "{\"error\": \"bad key [key]\", \"echo\": \"[key][key]\"}"));
    CHECK(n == strlen(text));
    strcpy(text, "sk-test-7f3a9");              /* a prefix is not the key */
    CHECK(secret_scrub(text) == 13 && !strcmp(text, "sk-test-7f3a9"));

    secret_set("abc");                          /* shorter than the mask: starred */
    strcpy(text, "xabcx abc");
    CHECK(secret_scrub(text) == 9 && !strcmp(text, "x***x ***"));

    /* After a key rotation (SIGHUP) the old key stays hidden as well. */
    secret_set("sk-new-0123456789");
    strcpy(text, "old sk-test-7f3a9c new sk-new-0123456789");
    secret_scrub(text);
    CHECK(!strcmp(text, "old [key] new [key]"));
    secret_clear();
    strcpy(text, "sk-new-0123456789");
    CHECK(secret_scrub(text) == 17);
    return CHECK_DONE("test_secret");
}
