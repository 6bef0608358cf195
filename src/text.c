/* text.c — see text.h. */
#include "text.h"

#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4), or 0. */
static size_t utf8_char(const unsigned char *p)
{
    size_t n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3
             : (p[0] & 0xf8) == 0xf0 ? 4 : 0;

    if (!n || (n == 2 && p[0] < 0xc2) || (n == 4 && p[0] > 0xf4))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] > 0x9f) ||
        (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] > 0x8f))
        return 0;                       /* overlong, surrogate, past U+10FFFF */
    return n;
}

size_t text_one_line(char *s, size_t max)
{
    unsigned char *p = (unsigned char *)s;
    size_t len = 0, cut = 0;            /* cut: the last boundary with room for "..." */

    while (p[len]) {
        size_t n = utf8_char(p + len);
        if (!n) {
            p[len] = '?';
            n = 1;
        } else if (n == 1 && (p[len] < 0x20 || p[len] == 0x7f)) {
            p[len] = ' ';
        }
        if (len + 3 <= max)
            cut = len;
        len += n;
        if (len > max) {
            memcpy(p + cut, "...", 4);
            return cut + 3;
        }
    }
    return len;
}
