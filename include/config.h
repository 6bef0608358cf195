/* config.h — the command line: `seedancefs MOUNTPOINT [-f] [-d] [-o opt,...]`.
 *
 *   $ export SEEDANCE_API_KEY=...            # or ARK_API_KEY, or -o key_file=FILE
 *   $ seedancefs mnt -o api_url=http://127.0.0.1:8080,state_dir=/var/lib/sd
 *
 * Precedence: -o options > environment > defaults. The key is read from the
 * environment or a key file, never from argv, and is removed from the
 * environment once read so child processes do not inherit it.
 */
#ifndef SEEDANCEFS_CONFIG_H
#define SEEDANCEFS_CONFIG_H

#include <stddef.h>
#include <stdio.h>

#define SEEDANCEFS_VERSION "0.1.0"
#define CONFIG_DEFAULT_MODEL "doubao-seedance-2-0-260128"

enum dialect { DIALECT_GATEWAY, DIALECT_ARK };

struct config {
    char *mountpoint;       /* as given */
    char *api_url;          /* base URL, no trailing '/' */
    enum dialect dialect;
    char *api_key;          /* never printed */
    char *state_dir;        /* created if missing */
    char *model;            /* default model for short-form requests */
    char *resolutions;      /* allowed resolutions, ':'-separated */
    double poll_interval;   /* seconds between polls of a running task */
    long timeout;           /* seconds for one API call */
    size_t max_request;     /* largest request file accepted, bytes */
    size_t cache_max;       /* video cache bound in bytes, 0 = none */
    size_t readahead;       /* kernel read-ahead of the mount, bytes (0 = leave it) */
    double submit_wait;     /* seconds close() waits for the API's first answer */
    double max_rps;         /* API calls per second, all threads together (0 = no limit) */
    int import;             /* show tasks created elsewhere */
    char *assets_profile;   /* asset profile file, NULL = assets not launched */
    int foreground;
    int debug;
};

/* Parses argv into `cfg` and leaves in `fuse_argv` (malloc'd, argc in
 * *fuse_argc) the arguments libfuse should see. Returns 0 to mount, 1 when
 * --help or --version was printed (exit 0), -1 after printing a one-line
 * error to `err` (exit 1). */
int config_parse(struct config *cfg, int argc, char **argv,
                 int *fuse_argc, char ***fuse_argv, FILE *out, FILE *err);

/* Frees what config_parse allocated (wipes the key first). */
void config_free(struct config *cfg, int fuse_argc, char **fuse_argv);

/* Parses "64M", "1G", "4096" into bytes. Returns 0, -EINVAL (not a size)
 * or -ERANGE (does not fit in a size_t). */
int config_parse_size(const char *text, size_t *out);

#endif
