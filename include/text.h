/* text.h — server text made fit for a file or a log line.
 *
 * Error messages, reasons and status words come from servers and end up
 * in requests/NAME.error, tasks/<id>/error, assets/.../status and the log.
 * A hostile or broken server may put terminal escapes, NULs, invalid UTF-8
 * or megabytes there; text_one_line makes any of it one bounded line.
 */
#ifndef SEEDANCEFS_TEXT_H
#define SEEDANCEFS_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Longest server message kept (bytes); longer ones end in "...". */
#define TEXT_MAX_LINE 1024

/* In place: control bytes (newlines, tabs, ESC, DEL) become spaces,
 * bytes that are not valid UTF-8 become '?', and the text is cut at `max`
 * bytes (max >= 4) on a character boundary, ending in "..." when cut.
 * Returns the new length. */
size_t text_one_line(char *s, size_t max);

/* `s` percent-encoded per RFC 3986: unreserved characters (A-Z a-z 0-9
 * - _ . ~) kept, and '/' when `keep_slash`; every other byte as %XX
 * (upper case). malloc'd; NULL on ENOMEM. */
char *text_percent_encode(const char *s, bool keep_slash);

#endif
