/* config_file.c — the config file as -o options; see config.h.
 *
 *   # /etc/seedancefs/config
 *   api_url = https://gateway.example
 *   state_dir=/var/lib/seedancefs
 *   allow_other
 */
#include "config.h"

#include <errno.h>
#include <fuse_opt.h>
#include <stdbool.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 4096

/* `s` without leading and trailing blanks (in place). */
static char *trim(char *s)
{
    char *end;

    while (*s == ' ' || *s == '\t')
        s++;
    end = s + strlen(s);
    while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r' || end[-1] == '\n'))
        *--end = '\0';
    return s;
}

/* "key = value" as fuse_opt wants it: "key=value", with ',' and '\'
 * escaped so that a value keeps its commas. NULL on ENOMEM. */
static char *as_option(char *line)
{
    char *eq = strchr(line, '='), *out, *o;
    const char *key = line, *value = NULL;

    if (eq) {
        *eq = '\0';
        key = trim(line);
        value = trim(eq + 1);
    }
    if (!(out = malloc(2 * strlen(key) + (value ? 2 * strlen(value) : 0) + 2)))
        return NULL;
    o = out;
    for (const char *k = key; *k; k++) {
        if (*k == ',' || *k == '\\')
            *o++ = '\\';
        *o++ = *k;
    }
    if (value) {
        *o++ = '=';
        for (const char *v = value; *v; v++) {
            if (*v == ',' || *v == '\\')
                *o++ = '\\';
            *o++ = *v;
        }
    }
    *o = '\0';
    return out;
}

/* A line that names the key itself (api_key=..., key=..., token=...). */
static bool is_key_line(const char *text)
{
    static const char *const names[] = {"api_key", "key", "token", "secret", "password",
                                        "seedance_api_key", "ark_api_key", NULL};
    size_t len = strcspn(text, "= \t");

    for (int i = 0; names[i]; i++)
        if (len == strlen(names[i]) && !strncasecmp(text, names[i], len))
            return true;
    return false;
}

int config_file_read(const char *path, struct fuse_args *args, char *why, size_t why_len)
{
    FILE *f = fopen(path, "r");
    char line[LINE_MAX_BYTES];
    int n = 0, rc = 0;

    if (!f) {
        rc = -errno;
        snprintf(why, why_len, "config %s: %s", path, strerror(errno));
        return rc;
    }
    while (fgets(line, sizeof line, f)) {
        char *text, *opt;

        n++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(why, why_len, "config %s:%d: line longer than %d bytes", path, n,
                     LINE_MAX_BYTES - 2);
            rc = -EINVAL;
            break;
        }
        /* '#' at the start, or after a blank, starts a comment (a URL's
         * "#fragment" is kept). */
        for (char *hash = strchr(line, '#'); hash; hash = strchr(hash + 1, '#'))
            if (hash == line || hash[-1] == ' ' || hash[-1] == '\t') {
                *hash = '\0';
                break;
            }
        text = trim(line);
        if (!*text)
            continue;
        if (is_key_line(text)) {
            /* Refused without echoing the line: it may hold the key itself. */
            snprintf(why, why_len, "config %s:%d: the API key does not belong in a config"
                     " file (readable by more than it should be): use key_file=FILE", path, n);
            rc = -EINVAL;
            break;
        }
        if (*text == '-' || *text == '=') {
            snprintf(why, why_len, "config %s:%d: not an option: %s", path, n, text);
            rc = -EINVAL;
            break;
        }
        if (!(opt = as_option(text)) || fuse_opt_add_arg(args, "-o") ||
            fuse_opt_add_arg(args, opt)) {
            free(opt);
            snprintf(why, why_len, "config %s: out of memory", path);
            rc = -ENOMEM;
            break;
        }
        free(opt);
    }
    if (!rc && ferror(f)) {
        rc = -EIO;
        snprintf(why, why_len, "config %s: read error", path);
    }
    fclose(f);
    return rc;
}
