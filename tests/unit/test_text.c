/* test_text.c — server text becomes one bounded line of valid UTF-8:
 * escapes and newlines are spaces, broken bytes '?', a long message is
 * cut on a character boundary with "...". */
#include "check.h"
#include "text.h"

#include <string.h>

int main(void)
{
    char s[64];

    strcpy(s, "quota exceeded");
    CHECK(text_one_line(s, 64) == 14 && !strcmp(s, "quota exceeded"));
    strcpy(s, "line\none\r\t\x1b[31mred\x7f");
    text_one_line(s, 64);
    CHECK(!strcmp(s, "line one   [31mred "));
    strcpy(s, "bad \xff\xc0\x80 \xed\xa0\x80 ok \xc3\xa9");   /* 0xff, overlong, surrogate */
    text_one_line(s, 64);
    CHECK(!strcmp(s, "bad ??? ??? ok \xc3\xa9"));
    strcpy(s, "0123456789");
    CHECK(text_one_line(s, 10) == 10 && !strcmp(s, "0123456789"));   /* fits exactly */
    strcpy(s, "0123456789a");
    CHECK(text_one_line(s, 10) == 10 && !strcmp(s, "0123456..."));
    strcpy(s, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");        /* 8 bytes, 4 characters */
    CHECK(text_one_line(s, 7) == 7 && !strcmp(s, "\xc3\xa9\xc3\xa9..."));
    strcpy(s, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
    CHECK(text_one_line(s, 6) == 5 && !strcmp(s, "\xc3\xa9..."));     /* never half a character */
    return CHECK_DONE("test_text");
}
