/* template.c — see template.h. */
#include "template.h"

#include "text.h"

#include <stdbool.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t name_length(const char *s)
{
    size_t n = 0;

    while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') ||
           (s[n] >= '0' && s[n] <= '9') || s[n] == '_' || s[n] == '.' || s[n] == '-')
        n++;
    return n;
}

char *template_scalar(const cJSON *v)
{
    char *s = NULL;

    if (cJSON_IsString(v) && v->valuestring[0])
        return strdup(v->valuestring);
    if (cJSON_IsBool(v))
        return strdup(cJSON_IsTrue(v) ? "true" : "false");
    if (cJSON_IsNumber(v) && isfinite(v->valuedouble)) {
        double d = v->valuedouble;
        int n = d == floor(d) && fabs(d) < 1e15 ? asprintf(&s, "%.0f", d)
                                                : asprintf(&s, "%.17g", d);
        return n < 0 ? NULL : s;
    }
    return NULL;
}

/* template_string, each value percent-encoded when `encode`. */
static char *fill(const char *t, const cJSON *values, bool encode, char *why, size_t why_len)
{
    size_t cap = strlen(t) + 1, len = 0;
    char *out = malloc(cap);

    if (!out)
        return snprintf(why, why_len, "out of memory"), NULL;
    for (const char *s = t; *s; ) {
        size_t n = s[0] == '{' ? name_length(s + 1) : 0, add = 1;
        char *value = NULL;
        const char *from = s;
        if (n && s[n + 1] == '}') {
            char name[128];
            snprintf(name, sizeof name, "%.*s", (int)(n < 127 ? n : 127), s + 1);
            if (!(value = template_scalar(cJSON_GetObjectItemCaseSensitive(values, name)))) {
                snprintf(why, why_len, "no value for {%s}", name);
                free(out);
                return NULL;
            }
            if (encode) {
                char *coded = text_percent_encode(value, false);
                free(value);
                if (!(value = coded)) {
                    free(out);
                    return snprintf(why, why_len, "out of memory"), NULL;
                }
            }
            add = strlen(value);
            from = value;
            s += n + 2;
        } else {
            s++;
        }
        if (len + add + 1 > cap) {
            char *grown = realloc(out, cap = (len + add + 1) * 2);
            if (!grown) {
                free(out);
                free(value);
                return snprintf(why, why_len, "out of memory"), NULL;
            }
            out = grown;
        }
        memcpy(out + len, from, add);
        len += add;
        free(value);
    }
    out[len] = '\0';
    return out;
}

char *template_string(const char *t, const cJSON *values, char *why, size_t why_len)
{
    return fill(t, values, false, why, why_len);
}

char *template_path(const char *t, const cJSON *values, char *why, size_t why_len)
{
    return fill(t, values, true, why, why_len);
}

cJSON *template_expand(const cJSON *t, const cJSON *values, char *why, size_t why_len)
{
    cJSON *out;

    if (cJSON_IsString(t)) {
        size_t n = t->valuestring[0] == '{' ? name_length(t->valuestring + 1) : 0;
        char *s;
        if (n && t->valuestring[n + 1] == '}' && !t->valuestring[n + 2]) {
            char name[128];
            const cJSON *v;
            snprintf(name, sizeof name, "%.*s", (int)(n < 127 ? n : 127), t->valuestring + 1);
            v = cJSON_GetObjectItemCaseSensitive(values, name);
            if (v && !cJSON_IsString(v) && !cJSON_IsNumber(v) && !cJSON_IsBool(v))
                return cJSON_Duplicate(v, 1);
        }
        if (!(s = template_string(t->valuestring, values, why, why_len)))
            return NULL;
        out = cJSON_CreateString(s);
        free(s);
        return out;
    }
    if (!cJSON_IsObject(t) && !cJSON_IsArray(t))
        return cJSON_Duplicate(t, 1);
    out = cJSON_IsObject(t) ? cJSON_CreateObject() : cJSON_CreateArray();
    for (const cJSON *child = t->child; out && child; child = child->next) {
        cJSON *e = template_expand(child, values, why, why_len);
        if (!e) {
            cJSON_Delete(out);
            return NULL;
        }
        if (cJSON_IsObject(t))
            cJSON_AddItemToObject(out, child->string, e);
        else
            cJSON_AddItemToArray(out, e);
    }
    if (!out)
        snprintf(why, why_len, "out of memory");
    return out;
}

const cJSON *template_at(const cJSON *root, const char *path)
{
    const cJSON *node = root;
    const char *p = path;

    if (!path || !*path)
        return NULL;
    while (node && *p) {
        char part[128];
        size_t n = strcspn(p, ".[]");
        if (n == 0 || n >= sizeof part)
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        p += n;
        if (*p == ']')
            p++;                    /* the end of an index */
        if (*p == '.' || *p == '[')
            p++;
        if (cJSON_IsArray(node)) {
            char *end;
            long i = strtol(part, &end, 10);
            node = *end || i < 0 ? NULL : cJSON_GetArrayItem(node, (int)i);
        } else {
            node = cJSON_GetObjectItemCaseSensitive(node, part);
        }
    }
    return node;
}
