/* fuzz_parse.c — the small parsers every byte from outside passes: HTTP
 * size headers (Content-Range, Content-Length), size options (cache_max=),
 * and the name checks that decide what may become a directory entry. The
 * first byte picks nothing: every parser sees every input. */
#include "config.h"
#include "fuzz.h"
#include "http.h"
#include "names.h"

#include <assert.h>
#include <errno.h>
#include <sys/types.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fuzz_parts in;
    off_t start = -2, last = -2, total = -2, length = -2;
    char parts[8][NAMES_MAX_PART];
    size_t bytes;

    if (fuzz_split(data, size, &in))
        return 0;
    const char *text = in.part[0];

    if (!http_parse_content_range(text, &start, &last, &total))
        assert(start >= 0 && start <= last && (total == -1 || last < total));
    else
        assert(start == -2 && last == -2 && total == -2);   /* untouched */
    if (!http_parse_length(text, &length))
        assert(length >= 0);
    config_parse_size(text, &bytes);
    if (names_task_id_ok(text))
        assert(!strchr(text, '/') && strcmp(text, "..") && strcmp(text, ".") &&
               strlen(text) <= NAMES_MAX_TASK_ID);
    if (names_request_name_ok(text))
        assert(text[0] != '.' && !strchr(text, '/') && strlen(text) <= NAMES_MAX_NAME);
    int n = names_split_path(text, parts, 8);
    assert(n == -ENOENT || (n >= 0 && n <= 8));
    for (int i = 0; i < n; i++)
        assert(memchr(parts[i], '\0', NAMES_MAX_PART) && !strchr(parts[i], '/'));
    names_utf8_ok((const char *)data, size);
    fuzz_parts_free(&in);
    return 0;
}
