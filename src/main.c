/* main.c — seedancefs: wires config, HTTP, API, tasks, inbox and stream
 * together and hands them to libfuse.
 *
 *   $ SEEDANCE_API_KEY=... seedancefs mnt -o api_url=http://127.0.0.1:8080
 *   $ fusermount3 -u mnt
 *
 * Exit status: 0 after a clean unmount (or --help/--version), 1 on any error.
 */
#include "api.h"
#include "assets.h"
#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "export.h"
#include "fs.h"
#include "http.h"
#include "hup.h"
#include "inbox.h"
#include "log.h"
#include "outbox.h"
#include "secret.h"
#include "service.h"
#include "store.h"
#include "stream.h"
#include "tasks.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

/* -o log=..., else: with -f stderr (the journal's, under systemd), without
 * it a file in the state dir. */
static int open_log(const struct config *cfg)
{
    char *path = NULL;
    int rc;

    if (cfg->log_to == LOG_TO_SYSLOG)
        return log_to_syslog(cfg->log_level);
    if (cfg->log_to == LOG_TO_STDERR || (cfg->log_to == LOG_TO_DEFAULT && cfg->foreground))
        return log_to_stderr(cfg->log_level);
    if (cfg->log_file)
        path = strdup(cfg->log_file);
    else if (asprintf(&path, "%s/seedancefs.log", cfg->state_dir) < 0)
        path = NULL;
    if (!path)
        return -ENOMEM;
    if ((rc = log_to_file(path, cfg->log_level)))
        fprintf(stderr, "seedancefs: log %s: %s\n", path, strerror(-rc));
    free(path);
    return rc;
}

/* What SIGHUP reloads, once the modules exist (NULL before and after). */
static struct {
    pthread_mutex_t lock;
    const struct config *cfg;
    http *http;
    tasks *tasks;
    outbox *outbox;
    bool mounted;                   /* READY=1 was sent */
} reload = { .lock = PTHREAD_MUTEX_INITIALIZER };

static void reload_set(const struct config *cfg, http *h, tasks *t, outbox *o)
{
    pthread_mutex_lock(&reload.lock);
    reload.cfg = cfg;
    reload.http = h;
    reload.tasks = t;
    reload.outbox = o;
    if (!cfg)
        reload.mounted = false;
    pthread_mutex_unlock(&reload.lock);
}

/* SIGHUP: the log file is reopened (logrotate), the key file read again
 * (a rotated key is used from the next request on), and every running task
 * and queued request is looked at now. Never an unmount. */
static void on_hup(void *arg)
{
    char why[512], *key = NULL;
    int rc;

    (void)arg;
    pthread_mutex_lock(&reload.lock);
    /* The service manager hears of a reload only once it heard READY=1. */
    if (reload.mounted) {
        char reloading[64];
        snprintf(reloading, sizeof reloading, "RELOADING=1\nMONOTONIC_USEC=%llu",
                 (unsigned long long)(clock_mono() * 1e6));
        service_notify(reloading);
    }
    if ((rc = log_reopen()))
        log_error("SIGHUP: cannot reopen the log file: %s", strerror(-rc));
    if (!reload.cfg) {
        pthread_mutex_unlock(&reload.lock);
        log_info("SIGHUP: log reopened");
        return;
    }
    if (!reload.cfg->key_file) {
        log_info("SIGHUP: log reopened; the key came from the environment, kept");
    } else if ((rc = config_read_key_file(reload.cfg->key_file, &key, why, sizeof why))) {
        log_error("SIGHUP: %s; the old key stays in use", why);
    } else {
        secret_set(key);                /* before any request can carry it */
        rc = http_set_key(reload.http, key);
        explicit_bzero(key, strlen(key));
        free(key);
        if (rc)
            log_error("SIGHUP: out of memory; the old key stays in use");
        else
            log_info("SIGHUP: log reopened, key read again from %s", reload.cfg->key_file);
    }
    if (reload.mounted)
        service_notify("READY=1");
    tasks_poll_now(reload.tasks);
    outbox_kick(reload.outbox);
    pthread_mutex_unlock(&reload.lock);
}

/* One daemon per state_dir: a second would submit the same outbox twice. */
static int lock_state_dir(const struct config *cfg)
{
    char *path = NULL;
    int fd = -1;

    if (asprintf(&path, "%s/lock", cfg->state_dir) > 0)
        fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0) {
        fprintf(stderr, "seedancefs: state_dir %s: %s\n", cfg->state_dir, strerror(errno));
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB)) {
        fprintf(stderr, "seedancefs: state_dir %s is in use by another seedancefs\n",
                cfg->state_dir);
        close(fd);
        return -1;
    }
    return fd;          /* held until exit; inherited by the daemonized child */
}

static api *the_api;                /* for stop_threads: aborts calls in flight */
static exporter *the_exporter;      /* -o export_dir, else NULL */

/* The fs_context hooks: main.c owns the background threads. */
static int start_threads(struct fs_context *fs)
{
    int rc;

    if ((rc = tasks_start(fs->tasks)) || (rc = outbox_start(fs->outbox)) ||
        (rc = stream_start(fs->stream)) || (rc = assets_start(fs->assets)) ||
        (the_exporter && (rc = export_start(the_exporter)))) {
        log_startup_error("cannot start the background threads: %s", strerror(-rc));
        return rc;
    }
    daemon_ready();
    pthread_mutex_lock(&reload.lock);
    service_notify("READY=1");
    reload.mounted = true;
    pthread_mutex_unlock(&reload.lock);
    return 0;
}

/* Stop means abort: transfers in flight end now (a request cut short is
 * resolved on the next mount, as after a crash), then the threads join. */
static void stop_threads(struct fs_context *fs)
{
    service_notify("STOPPING=1");
    reload_set(NULL, NULL, NULL, NULL);
    if (the_api)
        api_abort(the_api);
    if (the_exporter)
        export_stop(the_exporter);      /* before the stream it reads from */
    if (fs->outbox)
        outbox_stop(fs->outbox);
    if (fs->assets)
        assets_stop(fs->assets);
    if (fs->stream)
        stream_stop(fs->stream);
    if (fs->tasks)
        tasks_stop(fs->tasks);
}

/* A status changed: the tree hears of it, and our own videos are cached at
 * once (imported ones, maybe thousands, only when first read). */
static void on_status(const char *id, const char *name, const struct task_status *from,
                      const struct task_status *to, void *arg)
{
    struct fs_context *fs = arg;

    fs_on_status(id, name, from, to, NULL);
    if (name && to->code == STATUS_SUCCEEDED)
        stream_want(id, fs->stream);
    if (name && the_exporter && status_final(to))
        export_want(id, the_exporter);
}

/* The API refused a request: requests/NAME.error appears, and a parked
 * pending/NAME/wait answers "rejected". */
static void on_progress(const char *id, const char *name, const struct task_status *status,
                        int progress, bool step, void *arg)
{
    (void)arg;
    fs_on_progress(id, name, status, step ? progress : -1, NULL);
}

static void on_reject(const char *name, int err, const char *why, void *arg)
{
    struct fs_context *fs = arg;

    inbox_on_reject(name, err, why, fs->inbox);
    fs_wake_waiters();
}

/* A video's size was learned (or could not be), or the video turned out
 * gone: parked lookups answer, and the kernel forgets what it showed. */
static void on_sized(const char *id, void *arg)
{
    (void)arg;
    fs_wake_waiters();
    fs_invalidate_task(id);
}

/* Loads the store into the modules and connects their hooks. */
static int restore_state(struct fs_context *fs)
{
    outbox_set_reject_hook(fs->outbox, on_reject, fs);
    outbox_set_resolver(fs->outbox, assets_resolve, fs->assets);
    inbox_set_gate(fs->inbox, assets_check, fs->assets);
    assets_set_ready_hook(fs->assets, outbox_kick, fs->outbox);
    tasks_set_status_hook(fs->tasks, on_status, fs);
    tasks_set_progress_hook(fs->tasks, on_progress, fs);
    tasks_set_removed_hook(fs->tasks, stream_forget, fs->stream);
    tasks_set_sized_hook(fs->tasks, on_sized, NULL);
    if (the_exporter)
        stream_set_complete_hook(fs->stream, export_want, the_exporter);
    if (tasks_restore(fs->tasks) || outbox_restore(fs->outbox, inbox_restore, fs->inbox) ||
        stream_restore(fs->stream) || assets_restore(fs->assets) ||
        (the_exporter && export_restore(the_exporter))) {
        fprintf(stderr, "seedancefs: cannot read the saved state in %s\n", fs->cfg->state_dir);
        return -1;
    }
    return 0;
}

/* The asset API's credentials as the profile's auth says: from
 * assets_key_file when given (a key; or "ACCESS_KEY SECRET_KEY"), else from
 * the environment variables the profile names (then wiped). Each is hidden
 * like the video key (secret.h). -1 with `why` when one is missing. */
static int asset_credentials(const profile *p, const char *file, struct assets_credentials *c,
                             char *why, size_t why_len)
{
    struct profile_auth auth;
    char *text = NULL, *space;
    bool pair;

    profile_auth(p, &auth);
    pair = auth.scheme == AUTH_HMAC_SHA256;
    if (auth.scheme == AUTH_VIDEO_KEY)
        return 0;
    if (file) {
        if (config_read_key_file(file, &text, why, why_len))
            return -1;
        if (pair && (space = strpbrk(text, " \t"))) {
            *space = '\0';
            c->access_key = strdup(text);
            c->secret_key = strdup(space + 1 + strspn(space + 1, " \t"));
        } else if (!pair) {
            c->key = strdup(text);
        }
        explicit_bzero(text, strlen(text));
        free(text);
    } else if (pair) {
        c->access_key = auth.access_key_env ? config_take_env(auth.access_key_env) : NULL;
        c->secret_key = auth.secret_key_env ? config_take_env(auth.secret_key_env) : NULL;
    } else {
        c->key = auth.key_env ? config_take_env(auth.key_env) : NULL;
    }
    if (pair ? !c->access_key || !c->secret_key || !c->secret_key[0] : !c->key) {
        snprintf(why, why_len, "the asset profile signs its calls: give %s with "
                 "-o assets_key_file=FILE%s%s%s%s", pair ? "an access key and a secret key" :
                 "its key", pair && auth.access_key_env ? " or set " : "",
                 pair && auth.access_key_env ? auth.access_key_env : !pair && auth.key_env ?
                 " or set " : "", pair && auth.secret_key_env ? " and " : !pair && auth.key_env ?
                 auth.key_env : "", pair && auth.secret_key_env ? auth.secret_key_env : "");
        return -1;
    }
    if (c->key)
        secret_set(c->key);
    if (c->access_key)
        secret_set(c->access_key);
    if (c->secret_key)
        secret_set(c->secret_key);
    return 0;
}

static void free_credentials(struct assets_credentials *c)
{
    char *all[] = {c->key, c->access_key, c->secret_key};

    for (int i = 0; i < 3; i++) {
        if (all[i])
            explicit_bzero(all[i], strlen(all[i]));
        free(all[i]);
    }
}

int main(int argc, char **argv)
{
    struct assets_credentials creds = {0};
    struct config cfg;
    struct fs_context fs = {0};
    struct task_body_rules rules;
    struct api_options api_opts;
    int fuse_argc, rc, status = 1, lock_fd = -1;
    char **fuse_argv, why[512];
    http *h = NULL;
    api *a = NULL;
    store *st = NULL;
    profile *prof = NULL;

    rc = config_parse(&cfg, argc, argv, &fuse_argc, &fuse_argv, stdout, stderr);
    if (rc) {
        config_free(&cfg, fuse_argc, fuse_argv);
        return rc > 0 ? 0 : 1;
    }
    /* The key is in memory from here on: hide it from server echoes and
     * logs, and keep other processes of this user out of our memory
     * (ptrace, core dumps; /proc/PID/environ turns root-only). */
    secret_set(cfg.api_key);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    if ((lock_fd = lock_state_dir(&cfg)) < 0)
        goto out_config;
    /* Before SQLite, threads and curl: none of them may cross a fork. */
    if (!cfg.foreground && (rc = daemon_detach())) {
        fprintf(stderr, "seedancefs: cannot detach: %s\n", strerror(-rc));
        goto out_config;
    }
    if (open_log(&cfg))
        goto out_config;
    if ((rc = hup_watch(on_hup, NULL))) {    /* before any other thread exists */
        fprintf(stderr, "seedancefs: cannot watch for SIGHUP: %s\n", strerror(-rc));
        goto out_config;
    }
    if (!(st = store_open(cfg.state_dir, why, sizeof why))) {
        fprintf(stderr, "seedancefs: %s\n", why);
        goto out_config;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        fprintf(stderr, "seedancefs: cannot initialise libcurl\n");
        goto out_config;
    }
    rules = (struct task_body_rules){cfg.model, cfg.resolutions, cfg.max_request,
                                     cfg.dialect == DIALECT_OPENAI ? api_openai_check : NULL};
    fs.cfg = &cfg;
    fs.mount_time = time(NULL);
    fs.start_threads = start_threads;
    fs.stop_threads = stop_threads;
    api_opts = (struct api_options){cfg.api_url, cfg.dialect, cfg.max_rps};
    if (!(h = http_new(cfg.api_key, cfg.timeout)) || !(a = the_api = api_new(&api_opts, h)) ||
        !(fs.tasks = tasks_new(a, st, cfg.poll_interval)) ||
        !(fs.outbox = outbox_new(st, a, fs.tasks, cfg.import)) ||
        !(fs.inbox = inbox_new(&rules, fs.outbox, fs.tasks, cfg.submit_wait)) ||
        !(fs.stream = stream_new(fs.tasks, h, st, cfg.state_dir, cfg.cache_max))) {
        fprintf(stderr, "seedancefs: out of memory\n");
        goto out;
    }
    if (cfg.assets_profile && !(prof = profile_load(cfg.assets_profile, why, sizeof why))) {
        fprintf(stderr, "seedancefs: %s\n", why);
        goto out;
    }
    stream_set_read_timeout(fs.stream, (double)cfg.read_timeout);
    tasks_set_max(fs.tasks, (size_t)cfg.max_tasks);
    stream_set_cache_floor(fs.stream, cfg.cache_min_free, cfg.cache_min_free_pct,
                           cfg.cache_min_free_cap);
    if (cfg.export_dir &&
        !(the_exporter = export_new(cfg.export_dir, cfg.export_by_id, cfg.export_link,
                                     fs.tasks, fs.stream, st))) {
        fprintf(stderr, "seedancefs: out of memory\n");
        goto out;
    }
    if (!(fs.report = report_new(a, fs.tasks, fs.outbox, fs.stream, cfg.api_url, fs.mount_time))) {
        fprintf(stderr, "seedancefs: out of memory\n");
        goto out;
    }
    if (prof && asset_credentials(prof, cfg.assets_key_file, &creds, why, sizeof why)) {
        profile_free(prof);
        fprintf(stderr, "seedancefs: %s\n", why);
        goto out;
    }
    if (!(fs.assets = assets_new(prof, st, a, cfg.assets_url ? cfg.assets_url :
                                 prof && profile_base_url(prof) ? profile_base_url(prof) :
                                 cfg.api_url, &creds, cfg.state_dir, cfg.poll_interval))) {
        profile_free(prof);
        fprintf(stderr, "seedancefs: out of memory\n");
        goto out;
    }
    if (restore_state(&fs))
        goto out;
    reload_set(&cfg, h, fs.tasks, fs.outbox);
    status = fs_main(fuse_argc, fuse_argv, &fs);
out:
    /* Threads first (they use everything below), then the tables. */
    stop_threads(&fs);
    the_api = NULL;
    assets_free(fs.assets);
    export_free(the_exporter);
    the_exporter = NULL;
    report_free(fs.report);
    stream_free(fs.stream);
    inbox_free(fs.inbox);
    outbox_free(fs.outbox);
    tasks_free(fs.tasks);
    api_free(a);
    http_free(h);
    curl_global_cleanup();
out_config:
    store_close(st);
    if (lock_fd >= 0)
        close(lock_fd);
    hup_unwatch();
    log_close();
    free_credentials(&creds);
    secret_clear();
    config_free(&cfg, fuse_argc, fuse_argv);
    return status;
}
