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

size_t names_utf8_char(const char *at, size_t left)
{
    const unsigned char *p = (const unsigned char *)at;
    size_t n;

    if (left == 0)
        return 0;
    n = p[0] < 0x80 ? 1 : (p[0] & 0xe0) == 0xc0 ? 2 : (p[0] & 0xf0) == 0xe0 ? 3
      : (p[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (!n || n > left || (n == 2 && p[0] < 0xc2) || (n == 4 && p[0] > 0xf4))
        return 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    if ((n == 3 && p[0] == 0xe0 && p[1] < 0xa0) || (n == 3 && p[0] == 0xed && p[1] > 0x9f) ||
        (n == 4 && p[0] == 0xf0 && p[1] < 0x90) || (n == 4 && p[0] == 0xf4 && p[1] > 0x8f))
        return 0;                       /* overlong, surrogate, past U+10FFFF */
    return n;
}

bool names_utf8_ok(const char *data, size_t len)
{
    for (size_t at = 0; at < len;) {
        size_t n = names_utf8_char(data + at, len - at);
        if (!n || data[at] == 0)
            return false;
        at += n;
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
