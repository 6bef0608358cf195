/* config.c — command line, environment and key file; see config.h. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <fuse_opt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { KEY_HELP, KEY_VERSION, KEY_FOREGROUND, KEY_DEBUG };

/* Raw option strings as fuse_opt fills them; converted in config_parse. */
struct raw_options {
    char *api_url, *dialect, *key_file, *state_dir, *model, *resolutions;
    char *poll_interval, *timeout, *max_request, *cache_max, *submit_wait, *max_rps, *import, *assets_profile;
    char *readahead;
    int help, version, foreground, debug, extra_nonopt;
    char *mountpoint;
};

#define OPT(t, field) { t, offsetof(struct raw_options, field), 0 }
static const struct fuse_opt option_spec[] = {
    OPT("api_url=%s", api_url),         OPT("dialect=%s", dialect),
    OPT("key_file=%s", key_file),       OPT("state_dir=%s", state_dir),
    OPT("model=%s", model),             OPT("resolutions=%s", resolutions),
    OPT("poll_interval=%s", poll_interval), OPT("timeout=%s", timeout),
    OPT("max_request=%s", max_request), OPT("cache_max=%s", cache_max),
    OPT("submit_wait=%s", submit_wait), OPT("max_rps=%s", max_rps),
    OPT("import=%s", import), OPT("assets_profile=%s", assets_profile),
    OPT("readahead=%s", readahead),
    FUSE_OPT_KEY("-h", KEY_HELP),       FUSE_OPT_KEY("--help", KEY_HELP),
    FUSE_OPT_KEY("-V", KEY_VERSION),    FUSE_OPT_KEY("--version", KEY_VERSION),
    FUSE_OPT_KEY("-f", KEY_FOREGROUND), FUSE_OPT_KEY("-d", KEY_DEBUG),
    FUSE_OPT_KEY("debug", KEY_DEBUG),
    FUSE_OPT_END
};

static const char usage_text[] =
"usage: seedancefs MOUNTPOINT [-f] [-d] [-o opt[,opt...]]\n"
"\n"
"Mounts the Seedance 2.0 video API as files: write NAME.json into requests/,\n"
"read tasks/<id>/status and tasks/<id>/video.mp4. See README in the mount.\n"
"\n"
"The API key comes from SEEDANCE_API_KEY (or ARK_API_KEY) or -o key_file=FILE.\n"
"\n"
"options:\n"
"  -f                     stay in the foreground, log to stderr\n"
"  -d                     debug: foreground plus FUSE and HTTP tracing\n"
"  -h, --help             this text\n"
"  -V, --version          version\n"
"  -o api_url=URL         base URL of the API (required)\n"
"  -o dialect=NAME        gateway (default: /seedance/api/v3, /v1/videos/ID/content)\n"
"                         or ark (/api/v3, content.video_url)\n"
"  -o key_file=FILE       read the API key from FILE instead of the environment\n"
"  -o state_dir=DIR       state and logs (default $XDG_STATE_HOME/seedancefs\n"
"                         or ~/.local/state/seedancefs)\n"
"  -o model=NAME          model for requests that name none\n"
"                         (default " CONFIG_DEFAULT_MODEL ")\n"
"  -o resolutions=LIST    resolutions the model accepts, ':'-separated\n"
"                         (default 480p:720p:1080p)\n"
"  -o poll_interval=SECS  seconds between status polls (default 3)\n"
"  -o timeout=SECS        limit for one API call (default 30)\n"
"  -o max_request=SIZE    largest request file (default 64M)\n"
"  -o cache_max=SIZE      bound of the video cache in state_dir (default 10G,\n"
"                         0 = no bound)\n"
"  -o submit_wait=SECS    how long close() of a request waits for the API's\n"
"                         answer before returning with the request queued (default 5)\n"
"  -o max_rps=N           API calls per second, all together (default 10, 0 = no limit)\n"
"  -o import=0|1          show tasks created elsewhere with this key (default 1)\n"
"  -o readahead=SIZE     the kernel's read-ahead for this mount (default 1M; the\n"
"                         kernel's own is 128K); set in /sys/class/bdi, needs root\n"
"  -o assets_profile=FILE the asset API profile (JSON); without it assets/ says\n"
"                         the capability is not launched\n"
"  plus the usual FUSE options (allow_other, ...)\n";

static int option_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
    struct raw_options *raw = data;
    (void)outargs;

    switch (key) {
    case KEY_HELP: raw->help = 1; return 0;
    case KEY_VERSION: raw->version = 1; return 0;
    case KEY_FOREGROUND: raw->foreground = 1; return 1;
    case KEY_DEBUG: raw->foreground = raw->debug = 1; return 1;
    case FUSE_OPT_KEY_NONOPT:
        if (raw->mountpoint) {
            raw->extra_nonopt = 1;
            return 0;
        }
        raw->mountpoint = strdup(arg);
        return 1;
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

/* Reads the key from a file: first line, surrounding whitespace removed.
 * A file others may read is refused, as ssh refuses such a private key. */
static char *read_key_file(const char *path, FILE *err)
{
    FILE *f = fopen(path, "r");
    char line[4096];
    struct stat st;
    size_t len;

    if (!f) {
        fprintf(err, "seedancefs: key_file %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(f), &st) == 0 && (st.st_mode & 077)) {
        fprintf(err, "seedancefs: key_file %s is readable by group or others (mode %03o);"
                " chmod 600 %s\n", path, (unsigned)(st.st_mode & 0777), path);
        fclose(f);
        return NULL;
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
        fprintf(err, "seedancefs: key_file %s is empty\n", path);
        return NULL;
    }
    char *key = strdup(line);
    explicit_bzero(line, sizeof line);
    return key;
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

static char *load_key(const char *key_file, FILE *err)
{
    const char *env = getenv("SEEDANCE_API_KEY");
    char *key;

    if (!env || !*env)
        env = getenv("ARK_API_KEY");
    if (key_file)
        key = read_key_file(key_file, err);
    else if (env && *env)
        key = strdup(env);
    else {
        fprintf(err, "seedancefs: no API key: set SEEDANCE_API_KEY or use -o key_file=FILE\n");
        return NULL;
    }
    wipe_env("SEEDANCE_API_KEY");
    wipe_env("ARK_API_KEY");
    return key;
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

static char *default_state_dir(void)
{
    const char *xdg = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    char *dir = NULL;

    if (xdg && *xdg) {
        if (asprintf(&dir, "%s/seedancefs", xdg) < 0)
            dir = NULL;
    } else if (asprintf(&dir, "%s/.local/state/seedancefs", home && *home ? home : "/tmp") < 0)
        dir = NULL;
    return dir;
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

static int convert_options(struct config *cfg, struct raw_options *raw, FILE *err)
{
    char *end;

    if (make_absolute(&raw->state_dir, "state_dir", err) ||
        make_absolute(&raw->key_file, "key_file", err) ||
        make_absolute(&raw->assets_profile, "assets_profile", err))
        return -1;

    if (!raw->api_url) {
        fprintf(err, "seedancefs: missing -o api_url=URL (the API's base URL)\n");
        return -1;
    }
    if (strncmp(raw->api_url, "http://", 7) && strncmp(raw->api_url, "https://", 8)) {
        fprintf(err, "seedancefs: api_url must start with http:// or https://\n");
        return -1;
    }
    cfg->api_url = raw->api_url;
    raw->api_url = NULL;
    for (size_t n = strlen(cfg->api_url); n && cfg->api_url[n - 1] == '/'; n--)
        cfg->api_url[n - 1] = '\0';

    if (!raw->dialect || !strcmp(raw->dialect, "gateway"))
        cfg->dialect = DIALECT_GATEWAY;
    else if (!strcmp(raw->dialect, "ark"))
        cfg->dialect = DIALECT_ARK;
    else {
        fprintf(err, "seedancefs: dialect must be gateway or ark, not '%s'\n", raw->dialect);
        return -1;
    }

    cfg->poll_interval = 3.0;
    if (raw->poll_interval) {
        cfg->poll_interval = strtod(raw->poll_interval, &end);
        if (*end || cfg->poll_interval < 0.05 || cfg->poll_interval > 3600) {
            fprintf(err, "seedancefs: poll_interval must be 0.05..3600 seconds\n");
            return -1;
        }
    }
    cfg->timeout = 30;
    if (raw->timeout) {
        cfg->timeout = strtol(raw->timeout, &end, 10);
        if (*end || cfg->timeout < 1 || cfg->timeout > 3600) {
            fprintf(err, "seedancefs: timeout must be 1..3600 seconds\n");
            return -1;
        }
    }
    cfg->max_request = 64u << 20;
    if (raw->max_request && (config_parse_size(raw->max_request, &cfg->max_request) ||
                             cfg->max_request < 1024 || cfg->max_request > (1u << 30))) {
        fprintf(err, "seedancefs: max_request must be a size between 1K and 1G\n");
        return -1;
    }
    cfg->cache_max = 10ull << 30;
    if (raw->cache_max && config_parse_size(raw->cache_max, &cfg->cache_max)) {
        fprintf(err, "seedancefs: cache_max must be a size like 500M or 10G\n");
        return -1;
    }
    cfg->readahead = 1u << 20;
    if (raw->readahead && (config_parse_size(raw->readahead, &cfg->readahead) ||
                           cfg->readahead > (64u << 20))) {
        fprintf(err, "seedancefs: readahead must be a size up to 64M\n");
        return -1;
    }
    cfg->submit_wait = 5.0;
    if (raw->submit_wait) {
        cfg->submit_wait = strtod(raw->submit_wait, &end);
        if (*end || cfg->submit_wait < 0 || cfg->submit_wait > 600) {
            fprintf(err, "seedancefs: submit_wait must be 0..600 seconds\n");
            return -1;
        }
    }
    cfg->max_rps = 10;
    if (raw->max_rps) {
        cfg->max_rps = strtod(raw->max_rps, &end);
        if (*end || cfg->max_rps < 0 || cfg->max_rps > 10000) {
            fprintf(err, "seedancefs: max_rps must be 0..10000\n");
            return -1;
        }
    }
    cfg->import = 1;
    if (raw->import) {
        if (strcmp(raw->import, "0") && strcmp(raw->import, "1")) {
            fprintf(err, "seedancefs: import must be 0 or 1\n");
            return -1;
        }
        cfg->import = raw->import[0] == '1';
    }
    cfg->assets_profile = raw->assets_profile;
    raw->assets_profile = NULL;
    cfg->model = raw->model ? raw->model : strdup(CONFIG_DEFAULT_MODEL);
    raw->model = NULL;
    cfg->resolutions = raw->resolutions ? raw->resolutions : strdup("480p:720p:1080p");
    raw->resolutions = NULL;
    cfg->state_dir = raw->state_dir ? raw->state_dir : absolute_path(default_state_dir());
    raw->state_dir = NULL;
    if (!cfg->state_dir || !cfg->model || !cfg->resolutions)
        return -1;
    if (make_dirs(cfg->state_dir)) {
        fprintf(err, "seedancefs: state_dir %s: %s\n", cfg->state_dir, strerror(errno));
        return -1;
    }
    cfg->api_key = load_key(raw->key_file, err);
    return cfg->api_key ? 0 : -1;
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
    free(raw->api_url); free(raw->dialect); free(raw->key_file); free(raw->state_dir);
    free(raw->model); free(raw->resolutions); free(raw->poll_interval);
    free(raw->timeout); free(raw->max_request); free(raw->cache_max); free(raw->submit_wait);
    free(raw->max_rps); free(raw->import); free(raw->assets_profile);
    free(raw->readahead);
}

int config_parse(struct config *cfg, int argc, char **argv,
                 int *fuse_argc, char ***fuse_argv, FILE *out, FILE *err)
{
    struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
    struct raw_options raw = {0};
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
    if (raw.extra_nonopt) {
        fprintf(err, "seedancefs: more than one MOUNTPOINT given (try --help)\n");
        goto out;
    }
    if (check_mountpoint(raw.mountpoint, err) || convert_options(cfg, &raw, err))
        goto out;
    cfg->mountpoint = raw.mountpoint;
    raw.mountpoint = NULL;
    cfg->foreground = raw.foreground;
    cfg->debug = raw.debug;
    fuse_opt_add_arg(&args, "-ofsname=seedancefs,subtype=seedancefs,default_permissions");
    *fuse_argc = args.argc;
    *fuse_argv = args.argv;
    args.argv = NULL;
    rc = 0;
out:
    free(raw.mountpoint);
    raw_free(&raw);
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
    free(cfg->mountpoint); free(cfg->api_url); free(cfg->state_dir);
    free(cfg->model); free(cfg->resolutions); free(cfg->assets_profile);
    memset(cfg, 0, sizeof *cfg);
}
