/* names.c — validation of ids, names and text; see names.h. */
#include "names.h"

#include <errno.h>
#include <string.h>

static bool names_plain_name_ok(const char *s, size_t max)
{
    size_t len = s ? strlen(s) : 0;

    if (len == 0 || len > max || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/')
            return false;
    return names_utf8_ok(s, len);
}

bool names_task_id_ok(const char *id)
{
    return names_plain_name_ok(id, NAMES_MAX_TASK_ID);
}

bool names_request_name_ok(const char *name)
{
    return names_plain_name_ok(name, NAMES_MAX_NAME) && name[0] != '.';
}

bool names_utf8_ok(const char *data, size_t len)
{
    const unsigned char *p = (const unsigned char *)data, *end = p + len;

    while (p < end) {
        unsigned char c = *p;
        size_t extra;
        unsigned long cp;

        if (c == 0)
            return false;
        if (c < 0x80) {
            p++;
            continue;
        }
        if ((c & 0xe0) == 0xc0) { extra = 1; cp = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { extra = 2; cp = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { extra = 3; cp = c & 0x07; }
        else return false;
        if ((size_t)(end - p) <= extra)
            return false;
        for (size_t i = 1; i <= extra; i++) {
            if ((p[i] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        /* Reject overlong forms, surrogates and values past U+10FFFF. */
        if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
            (extra == 3 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += extra + 1;
    }
    return true;
}

int names_split_path(const char *path, char (*parts)[NAMES_MAX_PART], int max)
{
    int count = 0;

    for (const char *p = path; *p; ) {
        size_t len;
        while (*p == '/')
            p++;
        if (!*p)
            break;
        len = strcspn(p, "/");
        if (count == max || len >= NAMES_MAX_PART)
            return -ENOENT;
        memcpy(parts[count], p, len);
        parts[count++][len] = '\0';
        p += len;
    }
    return count;
}
