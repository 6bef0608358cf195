/* config.h — the command line: `seedancefs [SOURCE] MOUNTPOINT [-f] [-d] [-o opt,...]`.
 *
 *   $ export SEEDANCE_API_KEY=...            # or ARK_API_KEY, or -o key_file=FILE
 *   $ seedancefs mnt -o api_url=http://127.0.0.1:8080,state_dir=/var/lib/sd
 *   $ mount -t fuse.seedancefs https://gw.example /mnt/sd -o key_file=/etc/sd/key
 *
 * SOURCE is what mount(8) and mount.fuse3 pass first (the fstab source):
 * an http(s) URL there is the API URL unless api_url= is given, and the
 * mount shows SOURCE as its fsname (so `mount -a` sees it is mounted).
 *
 * Precedence: -o options > environment > config file > defaults. The config
 * file is -o config=FILE, else $XDG_CONFIG_HOME/seedancefs/config (or
 * ~/.config/seedancefs/config), else /etc/seedancefs/config, whichever
 * exists first; one option per line, as after -o, '#' starts a comment.
 *
 * The key is read from SEEDANCE_API_KEY (ARK_API_KEY), -o key_file=FILE, or
 * systemd's $CREDENTIALS_DIRECTORY/seedance_api_key; never from argv or the
 * config file itself. It is wiped from the environment once read, so child
 * processes do not inherit it and /proc/PID/environ does not show it.
 */
#ifndef SEEDANCEFS_CONFIG_H
#define SEEDANCEFS_CONFIG_H

#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define SEEDANCEFS_VERSION "0.2.0"
#define CONFIG_DEFAULT_MODEL "doubao-seedance-2-0-260128"
/* The file name systemd's LoadCredential= gives the key. */
#define CONFIG_CREDENTIAL "seedance_api_key"

/* The wire shapes of ../shared/API.md: the seed gateway's, Ark's own, and
 * the OpenAI Videos shape (new-api gateways). */
enum dialect { DIALECT_GATEWAY, DIALECT_ARK, DIALECT_OPENAI };

/* What -o log= names; log.h's levels go with log_level=. */
enum log_target { LOG_TO_DEFAULT, LOG_TO_STDERR, LOG_TO_SYSLOG, LOG_TO_FILE };

struct config {
    char *mountpoint;       /* as given */
    char *fsname;           /* what /proc/mounts shows as the source */
    char *api_url;          /* base URL, no trailing '/' */
    enum dialect dialect;
    char *api_key;          /* never printed */
    char *key_file;         /* where the key came from (re-read on SIGHUP), NULL = environment */
    char *state_dir;        /* created 0700 if missing */
    char *config_file;      /* the config file read, NULL = none */
    char *model;            /* default model for short-form requests */
    char *resolutions;      /* allowed resolutions, ':'-separated */
    double poll_interval;   /* seconds between polls of a running task */
    long timeout;           /* seconds for one API call */
    long read_timeout;      /* seconds a video read waits for its bytes in all */
    long max_tasks;         /* tasks (and requests not yet tasks) the mount holds */
    size_t max_request;     /* largest request file accepted, bytes */
    size_t cache_max;       /* video cache bound in bytes, 0 = none */
    size_t cache_min_free;  /* free space the cache leaves under state_dir: bytes, */
    unsigned cache_min_free_pct;    /* ... or a percentage of the file system */
    size_t cache_min_free_cap;      /* ... at most this (0 = no cap) */
    size_t readahead;       /* kernel read-ahead of the mount, bytes (0 = leave it) */
    double submit_wait;     /* seconds close() waits for the API's first answer */
    double max_rps;         /* API calls per second, all threads together (0 = no limit) */
    int import;             /* show tasks created elsewhere */
    char *assets_profile;   /* asset profile file, NULL = assets not launched */
    char *assets_url;       /* asset calls' base URL over the profile's, or NULL */
    char *assets_key_file;  /* the asset API's credentials, or NULL (the environment) */
    char *export_dir;       /* finished videos go there (export.h), NULL = none */
    int export_by_id;       /* named <id>.mp4 rather than NAME.mp4 */
    int export_link;        /* hard links from the cache allowed (default) */
    uid_t uid;              /* owner every file shows (default: the mounting user) */
    gid_t gid;
    mode_t umask;           /* taken off every mode (default 022) */
    enum log_target log_to;
    char *log_file;         /* LOG_TO_FILE: absolute path */
    int log_level;          /* LOG_LEVEL_* of log.h */
    int foreground;
    int debug;
};

/* Parses argv (and the config file) into `cfg` and leaves in `fuse_argv`
 * (malloc'd, argc in *fuse_argc) the arguments libfuse should see. Returns
 * 0 to mount, 1 when --help or --version was printed (exit 0), -1 after
 * printing a one-line error to `err` (exit 1). */
int config_parse(struct config *cfg, int argc, char **argv,
                 int *fuse_argc, char ***fuse_argv, FILE *out, FILE *err);

/* Frees what config_parse allocated (wipes the key first). */
void config_free(struct config *cfg, int fuse_argc, char **fuse_argv);

/* Parses "64M", "1G", "4096" into bytes. Returns 0, -EINVAL (not a size)
 * or -ERANGE (does not fit in a size_t). */
int config_parse_size(const char *text, size_t *out);

/* Reads a key file: its first line without surrounding blanks, malloc'd
 * into *key. A file group or others may read is refused, as ssh refuses
 * such a private key. Returns 0 or -errno with the reason in `why`
 * (never the key). */
int config_read_key_file(const char *path, char **key, char *why, size_t why_len);

/* The value of environment variable `name` (malloc'd; NULL when unset or
 * empty), which is removed from the environment and wiped where
 * /proc/PID/environ shows it. */
char *config_take_env(const char *name);

/* Reads a config file into `args` as "-o LINE" pairs, commas in values
 * escaped for fuse_opt. Returns 0, or -errno with "FILE:LINE: reason" in
 * `why`. */
struct fuse_args;
int config_file_read(const char *path, struct fuse_args *args, char *why, size_t why_len);

#endif
