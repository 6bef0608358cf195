/* config.c — command line, config file, environment and key; see config.h. */
#include "config.h"
#include "log.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <fuse_opt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { KEY_HELP, KEY_VERSION, KEY_FOREGROUND, KEY_DEBUG };

/* Every -o option of ours, by index: fuse_opt fills value[] with the raw
 * strings, once from argv and once from the config file; convert_options
 * turns them into struct config. */
enum opt {
    O_API_URL, O_DIALECT, O_KEY_FILE, O_STATE_DIR, O_MODEL, O_RESOLUTIONS, O_POLL_INTERVAL,
    O_TIMEOUT, O_MAX_REQUEST, O_CACHE_MAX, O_SUBMIT_WAIT, O_MAX_RPS, O_IMPORT,
    O_ASSETS_PROFILE, O_READAHEAD, O_UID, O_GID, O_UMASK, O_LOG, O_LOG_LEVEL, O_CONFIG,
    O_EXPORT_DIR, O_EXPORT_BY, O_EXPORT_LINK, O_CACHE_MIN_FREE, O_ASSETS_URL,
    O_ASSETS_KEY_FILE, O_READ_TIMEOUT, O_MAX_TASKS, O_COUNT
};

struct raw_options {
    char *value[O_COUNT];
    int help, version, foreground, debug, npositional;
    char *positional[2];            /* [SOURCE] MOUNTPOINT */
};

#define OPT(t, i) { t, offsetof(struct raw_options, value) + (i) * sizeof(char *), 0 }
static const struct fuse_opt option_spec[] = {
    OPT("api_url=%s", O_API_URL),         OPT("dialect=%s", O_DIALECT),
    OPT("key_file=%s", O_KEY_FILE),       OPT("state_dir=%s", O_STATE_DIR),
    OPT("model=%s", O_MODEL),             OPT("resolutions=%s", O_RESOLUTIONS),
    OPT("poll_interval=%s", O_POLL_INTERVAL), OPT("timeout=%s", O_TIMEOUT),
    OPT("max_request=%s", O_MAX_REQUEST), OPT("cache_max=%s", O_CACHE_MAX),
    OPT("submit_wait=%s", O_SUBMIT_WAIT), OPT("max_rps=%s", O_MAX_RPS),
    OPT("import=%s", O_IMPORT),           OPT("assets_profile=%s", O_ASSETS_PROFILE),
    OPT("readahead=%s", O_READAHEAD),     OPT("uid=%s", O_UID),
    OPT("gid=%s", O_GID),                 OPT("umask=%s", O_UMASK),
    OPT("log=%s", O_LOG),                 OPT("log_level=%s", O_LOG_LEVEL),
    OPT("config=%s", O_CONFIG),           OPT("export_dir=%s", O_EXPORT_DIR),
    OPT("export_by=%s", O_EXPORT_BY),     OPT("export_link=%s", O_EXPORT_LINK),
    OPT("assets_url=%s", O_ASSETS_URL),   OPT("assets_key_file=%s", O_ASSETS_KEY_FILE),
    OPT("cache_min_free=%s", O_CACHE_MIN_FREE), OPT("read_timeout=%s", O_READ_TIMEOUT),
    OPT("max_tasks=%s", O_MAX_TASKS),
    FUSE_OPT_KEY("-h", KEY_HELP),       FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_KEY("-V", KEY_VERSION),    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_KEY("-f", KEY_FOREGROUND), FUSE_OPT_KEY("-d", KEY_DEBUG),
    FUSE_OPT_KEY("debug", KEY_DEBUG),
    FUSE_OPT_END
};

static const char usage_text[] =
"usage: seedancefs [SOURCE] MOUNTPOINT [-f] [-d] [-o opt[,opt...]]\n"
"\n"
"Mounts the Seedance 2.0 video API as files: write NAME.json into requests/,\n"
"read tasks/<id>/status and tasks/<id>/video.mp4. See README in the mount\n"
"and seedancefs(1).\n"
"\n"
"SOURCE (what fstab and mount -t fuse.seedancefs pass) is the API URL unless\n"
"api_url= is given. The API key comes from SEEDANCE_API_KEY (or ARK_API_KEY),\n"
"-o key_file=FILE, or $CREDENTIALS_DIRECTORY/" CONFIG_CREDENTIAL " (systemd).\n"
"\n"
"options:\n"
"  -f                     stay in the foreground, log to stderr\n"
"  -d                     debug: foreground plus FUSE and HTTP tracing\n"
"  -h, --help             this text\n"
"  -V, --version          version\n"
"  -o api_url=URL         base URL of the API (required, or SOURCE)\n"
"  -o dialect=NAME        gateway (default: /seedance/api/v3, /v1/videos/ID/content),\n"
"                         ark (/api/v3, content.video_url) or openai (the OpenAI\n"
"                         Videos shape of new-api gateways: /v1/videos)\n"
"  -o key_file=FILE       read the API key from FILE (mode 600) instead of the\n"
"                         environment; SIGHUP reads it again\n"
"  -o state_dir=DIR       state, cache and log (default $STATE_DIRECTORY, else\n"
"                         $XDG_STATE_HOME/seedancefs or ~/.local/state/seedancefs)\n"
"  -o config=FILE         options file (default ~/.config/seedancefs/config, else\n"
"                         /etc/seedancefs/config); -o and the environment win\n"
"  -o model=NAME          model for requests that name none\n"
"                         (default " CONFIG_DEFAULT_MODEL ")\n"
"  -o resolutions=LIST    resolutions the model accepts, ':'-separated\n"
"                         (default 480p:720p:1080p)\n"
"  -o poll_interval=SECS  seconds between status polls (default 3)\n"
"  -o timeout=SECS        limit for one API call (default 30)\n"
"  -o read_timeout=SECS   longest a read of video.mp4 waits for its bytes\n"
"                         before EIO (default 60)\n"
"  -o max_tasks=N         most tasks the mount holds (default 100000): past it\n"
"                         a request's close() fails with EDQUOT and imports stop\n"
"  -o max_request=SIZE    largest request file (default 64M)\n"
"  -o cache_max=SIZE      bound of the video cache in state_dir (default 10G,\n"
"                         0 = no bound); df on the mount shows it\n"
"  -o cache_min_free=SIZE|N%  free space the cache leaves under state_dir, for\n"
"                         the requests' store (default 5% but at most 1G; a given\n"
"                         N% has no cap; 0 = none)\n"
"  -o submit_wait=SECS    how long close() of a request waits for the API's\n"
"                         answer before returning with the request queued (default 5)\n"
"  -o max_rps=N           API calls per second, all together (default 10, 0 = no limit)\n"
"  -o import=0|1          show tasks created elsewhere with this key (default 1)\n"
"  -o readahead=SIZE      the kernel's read-ahead for this mount (default 1008K, the\n"
"                         most one spliced reply carries; the kernel's own is\n"
"                         128K); set in /sys/class/bdi, needs root\n"
"  -o assets_profile=FILE the asset API profile (JSON); without it assets/ says\n"
"                         the capability is not launched\n"
"  -o assets_url=URL      where asset calls go, instead of the profile's base_url\n"
"                         (a region, a test server)\n"
"  -o assets_key_file=FILE  the asset API's credentials (mode 600): its key, or\n"
"                         \"ACCESS_KEY SECRET_KEY\" on one line for hmac-sha256;\n"
"                         else the environment variables the profile names\n"
"  -o export_dir=DIR      finished videos appear in DIR as NAME.mp4 (renamed into\n"
"                         place: one inotify IN_MOVED_TO each), failures as NAME.failed\n"
"  -o export_by=name|id   file names in export_dir: NAME (default) or the task id\n"
"  -o export_link=0|1     on state_dir's file system, hard-link the cached video\n"
"                         (default 1; it is then the cache's file, read-only) or copy\n"
"  -o uid=N|NAME, gid=N|NAME  owner and group every file shows (default: yours)\n"
"  -o umask=OCTAL         mode bits taken off every file (default 022); with\n"
"                         allow_other, who may submit follows the modes\n"
"  -o log=stderr|syslog|FILE  where log lines go (default: stderr with -f,\n"
"                         else STATE_DIR/seedancefs.log)\n"
"  -o log_level=error|info|debug  (default info; -d means debug)\n"
"  plus the usual FUSE options (allow_other, auto_unmount, ...); the options\n"
"  mount programs pass (_netdev, nofail, noauto, user, users, auto, defaults,\n"
"  x-*, comment=) are accepted and ignored\n";

/* Options mount(8), fstab and systemd pass that concern them, not us. */
static bool mount_program_option(const char *opt)
{
    static const char *const ignored[] = {
        "_netdev", "nofail", "noauto", "auto", "user", "nouser", "users", "defaults",
        "owner", "group", "relatime", "norelatime", "strictatime", "nostrictatime",
        "lazytime", "nolazytime", "diratime", "nodiratime", "iversion", "noiversion",
        "silent", "loud", NULL
    };

    if (!strncmp(opt, "x-", 2) || !strncmp(opt, "comment=", 8) || !strncmp(opt, "user=", 5))
        return true;
    for (int i = 0; ignored[i]; i++)
        if (!strcmp(opt, ignored[i]))
            return true;
    return false;
}

static int option_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    struct raw_options *raw = data;
    (void)outargs;

    switch (key) {
    case KEY_HELP: raw->help = 1; return 0;
    case KEY_VERSION: raw->version = 1; return 0;
    case KEY_FOREGROUND: raw->foreground = 1; return 1;
    case KEY_DEBUG: raw->foreground = raw->debug = 1; return 1;
    case FUSE_OPT_KEY_OPT:
        return mount_program_option(arg) ? 0 : 1;
    case FUSE_OPT_KEY_NONOPT:
        if (raw->npositional < 2 && !(raw->positional[raw->npositional] = strdup(arg)))
            return -1;
        raw->npositional++;
        return 0;                   /* the mount point is handed to libfuse later */
    default:
        return 1;
    }
}

int config_parse_size(const char *text, size_t *out)
{
    char *end;
    unsigned long long n;

    unsigned shift = 0;

    if (text[0] < '0' || text[0] > '9')
        return -EINVAL;             /* strtoull would take " 5" and "-5" (as 2^64-5) */
    errno = 0;
    n = strtoull(text, &end, 10);
    if (errno == ERANGE)
        return -ERANGE;
    if (errno || end == text)
        return -EINVAL;
    switch (*end) {
    case 'G': case 'g': shift = 30; end++; break;
    case 'M': case 'm': shift = 20; end++; break;
    case 'K': case 'k': shift = 10; end++; break;
    default: break;
    }
    if (*end && strcmp(end, "B") && strcmp(end, "iB"))
        return -EINVAL;
    if (n > (SIZE_MAX >> shift))
        return -ERANGE;             /* "99999999999G" must not wrap to a small size */
    *out = (size_t)n << shift;
    return 0;
}

int config_read_key_file(const char *path, char **key, char *why, size_t why_len)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    struct stat st;
    size_t len;
    int rc;

    *key = NULL;
    if (!f) {
        rc = -errno;
        snprintf(why, why_len, "key_file %s: %s", path, strerror(errno));
        return rc;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        snprintf(why, why_len, "key_file %s is readable by group or others (mode %03o);"
                 " chmod 600 %s", path, (unsigned)(st.st_mode & 0777), path);
        fclose(f);
        return -EPERM;
    }
    if (!fgets(line, sizeof line, f))
        line[0] = '\0';
    fclose(f);
    len = strcspn(line, "\r\n");
    explicit_bzero(line + len, sizeof line - len);
    while (len && (line[len - 1] == ' ' || line[len - 1] == '\t'))
        len--;
    line[len] = '\0';
    if (!len) {
        snprintf(why, why_len, "key_file %s is empty", path);
        return -EINVAL;
    }
    *key = strdup(line);
    explicit_bzero(line, sizeof line);
    if (!*key) {
        snprintf(why, why_len, "key_file %s: out of memory", path);
        return -ENOMEM;
    }
    return 0;
}

/* Removes `name` from the environment and wipes its value where the kernel
 * shows it: /proc/PID/environ reads the process's original environment
 * block, which unsetenv leaves as it was. */
static void wipe_env(const char *name)
{
    char *value = getenv(name);

    if (value)
        explicit_bzero(value, strlen(value));
    unsetenv(name);
}

char *config_take_env(const char *name)
{
    const char *value = getenv(name);
    char *copy = value && *value ? strdup(value) : NULL;

    wipe_env(name);
    return copy;
}

/* systemd's LoadCredential=seedance_api_key:... (malloc'd path), or NULL. */
static char *credential_path(void)
{
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    char *path = NULL;

    if (!dir || *dir != '/' || asprintf(&path, "%s/%s", dir, CONFIG_CREDENTIAL) < 0)
        return NULL;
    if (access(path, F_OK)) {
        free(path);
        return NULL;
    }
    return path;
}

/* The key by precedence: -o key_file, the environment, a systemd
 * credential, the config file's key_file. Sets cfg->key_file to the file
 * it came from (NULL: the environment). */
static int load_key(struct config *cfg, char *cli_file, char *conf_file, FILE *err)
{
    const char *env = getenv("SEEDANCE_API_KEY");
    char why[512], *file = NULL;
    int rc = 0;

    if (!env || !*env)
        env = getenv("ARK_API_KEY");
    if (cli_file)
        file = strdup(cli_file);
    else if (!(env && *env) && !(file = credential_path()) && conf_file)
        file = strdup(conf_file);
    if (file) {
        if ((rc = config_read_key_file(file, &cfg->api_key, why, sizeof why)))
            fprintf(err, "seedancefs: %s\n", why);
        cfg->key_file = file;
    } else if (env && *env) {
        if (!(cfg->api_key = strdup(env)))
            rc = -ENOMEM;
    } else {
        fprintf(err, "seedancefs: no API key: set SEEDANCE_API_KEY or use -o key_file=FILE\n");
        rc = -ENOENT;
    }
    wipe_env("SEEDANCE_API_KEY");
    wipe_env("ARK_API_KEY");
    return rc ? -1 : 0;
}

/* A path option as the daemon must use it: "~" and "~/..." expanded, and
 * absolute (the daemon changes directory to / once mounted). Takes `path`;
 * NULL on ENOMEM or when "~" has no HOME to expand to. */
static char *absolute_path(char *path)
{
    const char *home = getenv("HOME");
    char cwd[PATH_MAX], *out = NULL;
    int n = -1;

    if (!path)
        return NULL;
    if ((path[0] == '~' && (path[1] == '/' || !path[1]))) {
        if (home && *home == '/')
            n = asprintf(&out, "%s%s", home, path + 1);
    } else if (path[0] == '/') {
        return path;
    } else if (getcwd(cwd, sizeof cwd)) {
        n = asprintf(&out, "%s/%s", cwd, path);
    }
    free(path);
    return n < 0 ? NULL : out;
}

/* Replaces *opt (a path option) by absolute_path, or says why it cannot. */
static int make_absolute(char **opt, const char *name, FILE *err)
{
    if (!*opt)
        return 0;
    if (!(*opt = absolute_path(*opt))) {
        fprintf(err, "seedancefs: %s: cannot make the path absolute (is HOME set?)\n", name);
        return -1;
    }
    return 0;
}

/* $STATE_DIRECTORY (systemd's StateDirectory=, the first of a ':' list),
 * else the config file's state_dir (`file`, taken), else the XDG state
 * home. Never /tmp: state there would not be durable. NULL with a reason
 * on `err`. */
static char *default_state_dir(char *file, FILE *err)
{
    const char *service = getenv("STATE_DIRECTORY"), *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    char *dir = NULL;
    int n = -1;

    if (service && *service == '/') {
        free(file);
        n = asprintf(&dir, "%.*s", (int)strcspn(service, ":"), service);
    } else if (file)
        return file;
    else if (xdg && *xdg == '/')
        n = asprintf(&dir, "%s/seedancefs", xdg);
    else if (home && *home == '/')
        n = asprintf(&dir, "%s/.local/state/seedancefs", home);
    else {
        fprintf(err, "seedancefs: no state_dir: give -o state_dir=DIR (neither"
                " STATE_DIRECTORY, XDG_STATE_HOME nor HOME is set)\n");
        return NULL;
    }
    return n < 0 ? NULL : dir;
}

/* mkdir -p for the state directory. */
static int make_dirs(const char *path)
{
    char *copy = strdup(path);
    int rc = 0;

    if (!copy)
        return -ENOMEM;
    for (char *p = copy + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char saved = *p;
            *p = '\0';
            if (mkdir(copy, 0700) && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *p = saved;
            if (!saved)
                break;
        }
    }
    free(copy);
    return rc;
}

/* A user or group by number or name. */
static int parse_id(const char *text, bool group, unsigned *out)
{
    char *end;
    unsigned long n;

    if (text[0] >= '0' && text[0] <= '9') {
        errno = 0;
        n = strtoul(text, &end, 10);
        if (errno || *end || n >= UINT32_MAX)
            return -EINVAL;
        *out = (unsigned)n;
        return 0;
    }
    if (group) {
        struct group *g = getgrnam(text);
        if (!g)
            return -ENOENT;
        *out = g->gr_gid;
    } else {
        struct passwd *p = getpwnam(text);
        if (!p)
            return -ENOENT;
        *out = p->pw_uid;
    }
    return 0;
}

static int convert_ownership(struct config *cfg, char **v, FILE *err)
{
    unsigned id;
    char *end;

    cfg->uid = getuid();
    cfg->gid = getgid();
    cfg->umask = 022;
    if (v[O_UID]) {
        if (parse_id(v[O_UID], false, &id)) {
            fprintf(err, "seedancefs: uid must be a number or a user name, not '%s'\n", v[O_UID]);
            return -1;
        }
        cfg->uid = id;
    }
    if (v[O_GID]) {
        if (parse_id(v[O_GID], true, &id)) {
            fprintf(err, "seedancefs: gid must be a number or a group name, not '%s'\n", v[O_GID]);
            return -1;
        }
        cfg->gid = id;
    }
    if (v[O_UMASK]) {
        unsigned long m = strtoul(v[O_UMASK], &end, 8);
        if (!*v[O_UMASK] || *end || m > 0777) {
            fprintf(err, "seedancefs: umask must be octal, 000..777\n");
            return -1;
        }
        cfg->umask = (mode_t)m;
    }
    return 0;
}

static int convert_logging(struct config *cfg, char **v, FILE *err)
{
    const char *level = v[O_LOG_LEVEL];

    cfg->log_level = cfg->debug ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO;
    if (level) {
        if (!strcmp(level, "error"))
            cfg->log_level = LOG_LEVEL_ERROR;
        else if (!strcmp(level, "info"))
            cfg->log_level = LOG_LEVEL_INFO;
        else if (!strcmp(level, "debug"))
            cfg->log_level = LOG_LEVEL_DEBUG;
        else {
            fprintf(err, "seedancefs: log_level must be error, info or debug\n");
            return -1;
        }
    }
    cfg->log_to = LOG_TO_DEFAULT;
    if (!v[O_LOG])
        return 0;
    if (!strcmp(v[O_LOG], "stderr")) {
        if (!cfg->foreground) {
            fprintf(err, "seedancefs: log=stderr needs -f (a daemon has no stderr)\n");
            return -1;
        }
        cfg->log_to = LOG_TO_STDERR;
    } else if (!strcmp(v[O_LOG], "syslog")) {
        cfg->log_to = LOG_TO_SYSLOG;
    } else {
        cfg->log_to = LOG_TO_FILE;
        if (make_absolute(&v[O_LOG], "log", err))
            return -1;
        cfg->log_file = v[O_LOG];
        v[O_LOG] = NULL;
    }
    return 0;
}
/* A whole-number option: `dflt` when absent, else `text` in lo..hi (said
 * on `err` with its `unit` otherwise: -1). */
static int whole_option(const char *text, const char *name, long dflt, long lo, long hi,
                        const char *unit, long *out, FILE *err)
{
    char *end;

    *out = dflt;
    if (!text)
        return 0;
    *out = strtol(text, &end, 10);
    if (*end || *out < lo || *out > hi) {
        fprintf(err, "seedancefs: %s must be %ld..%ld%s\n", name, lo, hi, unit);
        return -1;
    }
    return 0;
}


static int convert_options(struct config *cfg, char **v, char **file_state_dir, FILE *err)
{
    char *end;

    if (make_absolute(&v[O_STATE_DIR], "state_dir", err) ||
        make_absolute(file_state_dir, "state_dir", err) ||
        make_absolute(&v[O_ASSETS_PROFILE], "assets_profile", err) ||
        make_absolute(&v[O_ASSETS_KEY_FILE], "assets_key_file", err) ||
        make_absolute(&v[O_EXPORT_DIR], "export_dir", err))
        return -1;

    if (!v[O_API_URL]) {
        fprintf(err, "seedancefs: missing -o api_url=URL (the API's base URL)\n");
        return -1;
    }
    if (strncmp(v[O_API_URL], "http://", 7) && strncmp(v[O_API_URL], "https://", 8)) {
        fprintf(err, "seedancefs: api_url must start with http:// or https://\n");
        return -1;
    }
    cfg->api_url = v[O_API_URL];
    v[O_API_URL] = NULL;
    for (size_t n = strlen(cfg->api_url); n && cfg->api_url[n - 1] == '/'; n--)
        cfg->api_url[n - 1] = '\0';

    if (!v[O_DIALECT] || !strcmp(v[O_DIALECT], "gateway"))
        cfg->dialect = DIALECT_GATEWAY;
    else if (!strcmp(v[O_DIALECT], "ark"))
        cfg->dialect = DIALECT_ARK;
    else if (!strcmp(v[O_DIALECT], "openai"))
        cfg->dialect = DIALECT_OPENAI;
    else {
        fprintf(err, "seedancefs: dialect must be gateway, ark or openai, not '%s'\n",
                v[O_DIALECT]);
        return -1;
    }

    cfg->poll_interval = 3.0;
    if (v[O_POLL_INTERVAL]) {
        cfg->poll_interval = strtod(v[O_POLL_INTERVAL], &end);
        if (*end || cfg->poll_interval < 0.05 || cfg->poll_interval > 3600) {
            fprintf(err, "seedancefs: poll_interval must be 0.05..3600 seconds\n");
            return -1;
        }
    }
    if (whole_option(v[O_TIMEOUT], "timeout", 30, 1, 3600, " seconds", &cfg->timeout, err) ||
        whole_option(v[O_READ_TIMEOUT], "read_timeout", 60, 1, 86400, " seconds",
                     &cfg->read_timeout, err) ||
        whole_option(v[O_MAX_TASKS], "max_tasks", 100000, 1, 10000000, "", &cfg->max_tasks,
                     err))
        return -1;
    cfg->max_request = 64u << 20;
    if (v[O_MAX_REQUEST] && (config_parse_size(v[O_MAX_REQUEST], &cfg->max_request) ||
                             cfg->max_request < 1024 || cfg->max_request > (1u << 30))) {
        fprintf(err, "seedancefs: max_request must be a size between 1K and 1G\n");
        return -1;
    }
    cfg->cache_max = 10ull << 30;
    if (v[O_CACHE_MAX] && config_parse_size(v[O_CACHE_MAX], &cfg->cache_max)) {
        fprintf(err, "seedancefs: cache_max must be a size like 500M or 10G\n");
        return -1;
    }
    /* The floor: 5 % of the file system, at most 1 GiB, unless given. */
    cfg->cache_min_free = 0;
    cfg->cache_min_free_pct = 5;
    cfg->cache_min_free_cap = 1u << 30;
    if (v[O_CACHE_MIN_FREE]) {
        size_t len = strlen(v[O_CACHE_MIN_FREE]);
        cfg->cache_min_free_cap = 0;
        if (len > 1 && v[O_CACHE_MIN_FREE][len - 1] == '%') {
            unsigned long pct = strtoul(v[O_CACHE_MIN_FREE], &end, 10);
            if (end != v[O_CACHE_MIN_FREE] + len - 1 || pct > 90 ||
                v[O_CACHE_MIN_FREE][0] < '0' || v[O_CACHE_MIN_FREE][0] > '9') {
                fprintf(err, "seedancefs: cache_min_free must be a size or 0%%..90%%\n");
                return -1;
            }
            cfg->cache_min_free_pct = (unsigned)pct;
        } else if (config_parse_size(v[O_CACHE_MIN_FREE], &cfg->cache_min_free)) {
            fprintf(err, "seedancefs: cache_min_free must be a size like 1G or a percentage like 5%%\n");
            return -1;
        } else {
            cfg->cache_min_free_pct = 0;
        }
    }
    cfg->readahead = 1008u << 10;   /* READs that fit a 1 MiB pipe (fs.c splice_limit) */
    if (v[O_READAHEAD] && (config_parse_size(v[O_READAHEAD], &cfg->readahead) ||
                           cfg->readahead > (64u << 20))) {
        fprintf(err, "seedancefs: readahead must be a size up to 64M\n");
        return -1;
    }
    cfg->submit_wait = 5.0;
    if (v[O_SUBMIT_WAIT]) {
        cfg->submit_wait = strtod(v[O_SUBMIT_WAIT], &end);
        if (*end || cfg->submit_wait < 0 || cfg->submit_wait > 600) {
            fprintf(err, "seedancefs: submit_wait must be 0..600 seconds\n");
            return -1;
        }
    }
    cfg->max_rps = 10;
    if (v[O_MAX_RPS]) {
        cfg->max_rps = strtod(v[O_MAX_RPS], &end);
        if (*end || cfg->max_rps < 0 || cfg->max_rps > 10000) {
            fprintf(err, "seedancefs: max_rps must be 0..10000\n");
            return -1;
        }
    }
    cfg->import = 1;
    if (v[O_IMPORT]) {
        if (strcmp(v[O_IMPORT], "0") && strcmp(v[O_IMPORT], "1")) {
            fprintf(err, "seedancefs: import must be 0 or 1\n");
            return -1;
        }
        cfg->import = v[O_IMPORT][0] == '1';
    }
    if (convert_ownership(cfg, v, err) || convert_logging(cfg, v, err))
        return -1;
    if (v[O_EXPORT_BY] && strcmp(v[O_EXPORT_BY], "name") && strcmp(v[O_EXPORT_BY], "id")) {
        fprintf(err, "seedancefs: export_by must be name or id\n");
        return -1;
    }
    cfg->export_by_id = v[O_EXPORT_BY] && !strcmp(v[O_EXPORT_BY], "id");
    if (v[O_EXPORT_LINK] && strcmp(v[O_EXPORT_LINK], "0") && strcmp(v[O_EXPORT_LINK], "1")) {
        fprintf(err, "seedancefs: export_link must be 0 or 1\n");
        return -1;
    }
    cfg->export_link = !v[O_EXPORT_LINK] || v[O_EXPORT_LINK][0] == '1';
    cfg->export_dir = v[O_EXPORT_DIR];
    v[O_EXPORT_DIR] = NULL;
    cfg->assets_profile = v[O_ASSETS_PROFILE];
    v[O_ASSETS_PROFILE] = NULL;
    if (v[O_ASSETS_URL] && strncmp(v[O_ASSETS_URL], "http://", 7) &&
        strncmp(v[O_ASSETS_URL], "https://", 8)) {
        fprintf(err, "seedancefs: assets_url must be an http:// or https:// URL\n");
        return -1;
    }
    cfg->assets_url = v[O_ASSETS_URL];
    v[O_ASSETS_URL] = NULL;
    cfg->assets_key_file = v[O_ASSETS_KEY_FILE];
    v[O_ASSETS_KEY_FILE] = NULL;
    cfg->model = v[O_MODEL] ? v[O_MODEL] : strdup(CONFIG_DEFAULT_MODEL);
    v[O_MODEL] = NULL;
    cfg->resolutions = v[O_RESOLUTIONS] ? v[O_RESOLUTIONS] : strdup("480p:720p:1080p");
    v[O_RESOLUTIONS] = NULL;
    if (v[O_STATE_DIR]) {
        cfg->state_dir = v[O_STATE_DIR];
        v[O_STATE_DIR] = NULL;
    } else {
        cfg->state_dir = absolute_path(default_state_dir(*file_state_dir, err));
        *file_state_dir = NULL;     /* taken by default_state_dir */
    }
    if (!cfg->state_dir || !cfg->model || !cfg->resolutions)
        return -1;
    if (make_dirs(cfg->state_dir)) {
        fprintf(err, "seedancefs: state_dir %s: %s\n", cfg->state_dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int check_mountpoint(const char *mountpoint, FILE *err)
{
    struct stat st;

    if (!mountpoint) {
        fprintf(err, "seedancefs: missing MOUNTPOINT (try --help)\n");
        return -1;
    }
    if (stat(mountpoint, &st)) {
        fprintf(err, "seedancefs: mountpoint %s: %s\n", mountpoint, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        fprintf(err, "seedancefs: mountpoint %s is not a directory\n", mountpoint);
        return -1;
    }
    return 0;
}

static void raw_free(struct raw_options *raw)
{
    for (int i = 0; i < O_COUNT; i++)
        free(raw->value[i]);
    free(raw->positional[0]);
    free(raw->positional[1]);
}

/* The config file to read: -o config=FILE (it must exist), else the first
 * of the user's and the system's that exists. NULL = none. */
static char *config_path(char *given)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char *path = NULL;

    if (given)
        return absolute_path(strdup(given));
    if (xdg && *xdg == '/') {
        if (asprintf(&path, "%s/seedancefs/config", xdg) < 0)
            path = NULL;
    } else if (home && *home == '/' && asprintf(&path, "%s/.config/seedancefs/config", home) < 0) {
        path = NULL;
    }
    if (path && !access(path, F_OK))
        return path;
    free(path);
    return access("/etc/seedancefs/config", F_OK) ? NULL : strdup("/etc/seedancefs/config");
}

/* Reads the config file into `file` (its FUSE options are added to
 * `args`, before argv's, which win) and fills every option argv left
 * unset, except key_file and state_dir, which the environment overrides
 * (load_key, default_state_dir). */
static int merge_config_file(struct config *cfg, struct raw_options *raw,
                             struct raw_options *file, struct fuse_args *args, FILE *err)
{
    struct fuse_args file_args = FUSE_ARGS_INIT(0, NULL);
    char why[512];
    int rc = -1;

    if (!(cfg->config_file = config_path(raw->value[O_CONFIG]))) {
        if (!raw->value[O_CONFIG])
            return 0;
        fprintf(err, "seedancefs: config: cannot make the path absolute (is HOME set?)\n");
        return -1;
    }
    if (fuse_opt_add_arg(&file_args, "seedancefs") ||
        config_file_read(cfg->config_file, &file_args, why, sizeof why)) {
        fprintf(err, "seedancefs: %s\n", why);
        goto out;
    }
    if (fuse_opt_parse(&file_args, file, option_spec, option_proc) || file->help ||
        file->version || file->npositional) {
        fprintf(err, "seedancefs: config %s: cannot parse it\n", cfg->config_file);
        goto out;
    }
    raw->foreground |= file->foreground;
    raw->debug |= file->debug;
    for (int i = 1; i < file_args.argc; i++)     /* FUSE options (allow_other, ...) */
        if (fuse_opt_insert_arg(args, i, file_args.argv[i]))
            goto out;
    for (int i = 0; i < O_COUNT; i++)
        if (i != O_KEY_FILE && i != O_STATE_DIR && !raw->value[i]) {
            raw->value[i] = file->value[i];
            file->value[i] = NULL;
        }
    rc = 0;
out:
    fuse_opt_free_args(&file_args);
    return rc;
}

/* "fsname=SOURCE" with the characters fuse_opt splits on escaped. */
static int add_fsname(struct fuse_args *args, const char *source)
{
    char *opt = malloc(2 * strlen(source) + 64), *o;
    int rc;

    if (!opt)
        return -1;
    o = opt + sprintf(opt, "-ofsname=");
    for (const char *s = source; *s; s++) {
        if (*s == ',' || *s == '\\')
            *o++ = '\\';
        *o++ = *s;
    }
    strcpy(o, ",subtype=seedancefs,default_permissions");
    rc = fuse_opt_add_arg(args, opt);
    free(opt);
    return rc;
}

int config_parse(struct config *cfg, int argc, char **argv,
                 int *fuse_argc, char ***fuse_argv, FILE *out, FILE *err)
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct raw_options raw = {0}, file = {0};
    char *source = NULL;
    int rc = -1;

    memset(cfg, 0, sizeof *cfg);
    *fuse_argc = 0;
    *fuse_argv = NULL;
    if (fuse_opt_parse(&args, &raw, option_spec, option_proc)) {
        fprintf(err, "seedancefs: cannot parse the command line (try --help)\n");
        goto out;
    }
    if (raw.help) {
        fputs(usage_text, out);
        rc = 1;
        goto out;
    }
    if (raw.version) {
        fprintf(out, "seedancefs %s\n", SEEDANCEFS_VERSION);
        rc = 1;
        goto out;
    }
    if (raw.npositional > 2) {
        fprintf(err, "seedancefs: too many arguments: [SOURCE] MOUNTPOINT (try --help)\n");
        goto out;
    }
    if (raw.npositional == 2) {
        source = raw.positional[0];
        cfg->mountpoint = raw.positional[1];
    } else {
        cfg->mountpoint = raw.positional[0];
    }
    raw.positional[0] = raw.positional[1] = NULL;
    if (check_mountpoint(cfg->mountpoint, err))
        goto out;
    /* The fstab source is the API URL unless api_url= says otherwise; it is
     * part of the command line, so a config file's api_url does not win. */
    if (source && !raw.value[O_API_URL] &&
        (!strncmp(source, "http://", 7) || !strncmp(source, "https://", 8)) &&
        !(raw.value[O_API_URL] = strdup(source)))
        goto out;
    if (merge_config_file(cfg, &raw, &file, &args, err))
        goto out;
    cfg->foreground = raw.foreground;
    cfg->debug = raw.debug;
    if (make_absolute(&raw.value[O_KEY_FILE], "key_file", err) ||
        make_absolute(&file.value[O_KEY_FILE], "key_file", err))
        goto out;
    if (convert_options(cfg, raw.value, &file.value[O_STATE_DIR], err) ||
        load_key(cfg, raw.value[O_KEY_FILE], file.value[O_KEY_FILE], err))
        goto out;
    if (!(cfg->fsname = strdup(source ? source : cfg->api_url)) ||
        fuse_opt_add_arg(&args, cfg->mountpoint) || add_fsname(&args, cfg->fsname))
        goto out;
    *fuse_argc = args.argc;
    *fuse_argv = args.argv;
    args.argv = NULL;
    rc = 0;
out:
    free(source);
    raw_free(&raw);
    raw_free(&file);
    fuse_opt_free_args(&args);
    return rc;
}

void config_free(struct config *cfg, int fuse_argc, char **fuse_argv)
{
    struct fuse_args args = FUSE_ARGS_INIT(fuse_argc, fuse_argv);

    args.allocated = fuse_argv != NULL;
    fuse_opt_free_args(&args);
    if (cfg->api_key) {
        explicit_bzero(cfg->api_key, strlen(cfg->api_key));
        free(cfg->api_key);
    }
    free(cfg->mountpoint); free(cfg->fsname); free(cfg->api_url); free(cfg->state_dir);
    free(cfg->model); free(cfg->resolutions); free(cfg->assets_profile);
    free(cfg->assets_url); free(cfg->assets_key_file);
    free(cfg->key_file); free(cfg->config_file); free(cfg->log_file); free(cfg->export_dir);
    memset(cfg, 0, sizeof *cfg);
}
