/* text.c — see text.h. */
#include "text.h"

#include "names.h"

#include <string.h>

size_t text_one_line(char *s, size_t max)
{
    unsigned char *p = (unsigned char *)s;
    size_t len = 0, cut = 0;            /* cut: the last boundary with room for "..." */
    size_t total = strlen(s);

    while (p[len]) {
        size_t n = names_utf8_char(s + len, total - len);
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
