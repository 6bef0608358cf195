/* main.c — seedancefs: wires config, HTTP, API, tasks, inbox and stream
 * together and hands them to libfuse.
 *
 *   $ SEEDANCE_API_KEY=... seedancefs mnt -o api_url=http://127.0.0.1:8080
 *   $ fusermount3 -u mnt
 *
 * Exit status: 0 after a clean unmount (or --help/--version), 1 on any error.
 */
#include "api.h"
#include "config.h"
#include "fs.h"
#include "http.h"
#include "inbox.h"
#include "log.h"
#include "stream.h"
#include "tasks.h"

#include <curl/curl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static FILE *open_log(const struct config *cfg)
{
    char *path = NULL;
    FILE *f = NULL;

    if (cfg->foreground)
        return NULL;            /* stderr */
    if (asprintf(&path, "%s/seedancefs.log", cfg->state_dir) > 0)
        f = fopen(path, "a");
    free(path);
    return f;
}

int main(int argc, char **argv)
{
    struct config cfg;
    struct fs_context fs = {0};
    struct request_rules rules;
    int fuse_argc, rc, status = 1;
    char **fuse_argv;
    http *h = NULL;
    api *a = NULL;
    FILE *log_file = NULL;

    rc = config_parse(&cfg, argc, argv, &fuse_argc, &fuse_argv, stdout, stderr);
    if (rc) {
        config_free(&cfg, fuse_argc, fuse_argv);
        return rc > 0 ? 0 : 1;
    }
    log_file = open_log(&cfg);
    log_init(log_file, cfg.debug);
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
        fprintf(stderr, "seedancefs: cannot initialise libcurl\n");
        goto out_config;
    }
    rules = (struct request_rules){cfg.model, cfg.resolutions, cfg.max_request};
    fs.cfg = &cfg;
    fs.mount_time = time(NULL);
    if (!(h = http_new(cfg.api_key, cfg.timeout)) || !(a = api_new(&cfg, h)) ||
        !(fs.tasks = tasks_new(a, cfg.poll_interval)) ||
        !(fs.inbox = inbox_new(&rules, a, fs.tasks)) ||
        !(fs.stream = stream_new(fs.tasks, h))) {
        fprintf(stderr, "seedancefs: out of memory\n");
        goto out;
    }
    status = fuse_main(fuse_argc, fuse_argv, fs_operations(), &fs) ? 1 : 0;
out:
    stream_free(fs.stream);
    inbox_free(fs.inbox);
    tasks_free(fs.tasks);
    api_free(a);
    http_free(h);
    curl_global_cleanup();
out_config:
    if (log_file)
        fclose(log_file);
    config_free(&cfg, fuse_argc, fuse_argv);
    return status;
}
