/* text.c — see text.h. */
#include "text.h"

#include "names.h"

#include <stdlib.h>
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

char *text_percent_encode(const char *s, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    char *out = malloc(strlen(s) * 3 + 1), *o = out;

    for (const unsigned char *p = (const unsigned char *)s; out && *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    if (out)
        *o = '\0';
    return out;
}
