/* template.h — JSON templates filled in from named values, and values read
 * out of JSON replies at paths. The generic half of asset profiles
 * (profile.h): no field name of any API is known here.
 *
 *   values {"id": "a-1", "group": "g-7", "sources": ["https://..."]}
 *   "ref:{id}"                  -> "ref:a-1"
 *   {"Group": "{group}"}        -> {"Group": "g-7"}
 *   "{sources}"                 -> ["https://..."]  (a whole string naming a non-string)
 *   "{not a name}"              -> kept as it is (names are [A-Za-z0-9_.-])
 *   path "Result.Items[0].Id" (or "Result.Items.0.Id") in a reply
 */
#ifndef SEEDANCEFS_TEMPLATE_H
#define SEEDANCEFS_TEMPLATE_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* `t` with every {name} replaced by the text of values[name] (strings as
 * they are, numbers as integers, true/false). malloc'd; NULL with `why`
 * ("no value for {name}") when a name has no value, or on ENOMEM. */
char *template_string(const char *t, const cJSON *values, char *why, size_t why_len);

/* The same for a URL path: each value percent-encoded (text.h), so a value
 * with '/', '?' or '%' stays one path segment. */
char *template_path(const char *t, const cJSON *values, char *why, size_t why_len);

/* A filled-in copy of the JSON template `t` (strings as template_string;
 * a string that is exactly "{name}" of a non-string value becomes a copy
 * of that value). NULL with `why` as template_string. Caller deletes. */
cJSON *template_expand(const cJSON *t, const cJSON *values, char *why, size_t why_len);

/* The node at `path` ("a.b[2].c" or "a.b.2.c") under `root`, or NULL. */
const cJSON *template_at(const cJSON *root, const char *path);

/* A string, number (as an integer when it is one) or boolean as text
 * (malloc'd); NULL for anything else or an empty string. */
char *template_scalar(const cJSON *v);

#endif
