/* test_config.c — option values as the daemon uses them: sizes that would
 * wrap are refused, path options are absolute (the daemon works in /) and
 * "~" means $HOME. */
#include "check.h"
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int parse(struct config *cfg, const char *opts, int *argc, char ***argv)
{
    char *args[] = {"seedancefs", ".", "-o", (char *)opts, NULL};
    FILE *null = fopen("/dev/null", "w");
    int rc = config_parse(cfg, 4, args, argc, argv, null, null);

    fclose(null);
    return rc;
}

int main(void)
{
    char dir[] = "/tmp/sdfs-config-XXXXXX", cwd[PATH_MAX], want[PATH_MAX + 64];
    struct config cfg;
    size_t n;
    char **argv;
    int argc;

    CHECK(config_parse_size("64M", &n) == 0 && n == 64u << 20);
    CHECK(config_parse_size("10G", &n) == 0 && n == 10ull << 30);
    CHECK(config_parse_size("4096", &n) == 0 && n == 4096);
    CHECK(config_parse_size("1e6", &n) == -EINVAL);
    CHECK(config_parse_size("-1", &n) == -EINVAL);
    /* 2^34 G is 2^64 bytes: it wrapped to 0 ("no bound") before. */
    CHECK(config_parse_size("17179869184G", &n) == -ERANGE);
    CHECK(config_parse_size("99999999999999999999", &n) == -ERANGE);
    CHECK(config_parse_size(" -5", &n) == -EINVAL);

    CHECK(mkdtemp(dir) != NULL && chdir(dir) == 0 && getcwd(cwd, sizeof cwd) != NULL);
    setenv("SEEDANCE_API_KEY", "k", 1);
    CHECK(parse(&cfg, "api_url=http://127.0.0.1:9,state_dir=rel/state", &argc, &argv) == 0);
    snprintf(want, sizeof want, "%s/rel/state", cwd);
    CHECK(cfg.state_dir && !strcmp(cfg.state_dir, want));
    CHECK(access(want, F_OK) == 0);
    config_free(&cfg, argc, argv);

    setenv("HOME", cwd, 1);
    setenv("SEEDANCE_API_KEY", "k", 1);
    CHECK(parse(&cfg, "api_url=http://127.0.0.1:9,state_dir=~/home-state", &argc, &argv) == 0);
    snprintf(want, sizeof want, "%s/home-state", cwd);
    CHECK(cfg.state_dir && !strcmp(cfg.state_dir, want));
    config_free(&cfg, argc, argv);

    /* A key file named relative to where the command ran is found; one that
     * group or others may read is refused. */
    FILE *f = fopen("key", "w");
    CHECK(f && fputs("sk-file\n", f) >= 0 && fclose(f) == 0);
    unsetenv("SEEDANCE_API_KEY");
    CHECK(chmod("key", 0644) == 0);
    CHECK(parse(&cfg, "api_url=http://127.0.0.1:9,state_dir=s,key_file=key", &argc, &argv) != 0);
    config_free(&cfg, argc, argv);
    CHECK(chmod("key", 0600) == 0);
    CHECK(parse(&cfg, "api_url=http://127.0.0.1:9,state_dir=s,key_file=key", &argc, &argv) == 0);
    CHECK(cfg.api_key && !strcmp(cfg.api_key, "sk-file"));
    config_free(&cfg, argc, argv);

    /* The key leaves the environment block itself, not only environ. */
    setenv("SEEDANCE_API_KEY", "sk-env-secret", 1);
    char *block = getenv("SEEDANCE_API_KEY");
    CHECK(parse(&cfg, "api_url=http://127.0.0.1:9,state_dir=s", &argc, &argv) == 0);
    CHECK(cfg.api_key && !strcmp(cfg.api_key, "sk-env-secret"));
    CHECK(!getenv("SEEDANCE_API_KEY") && block && strcmp(block, "sk-env-secret"));
    config_free(&cfg, argc, argv);

    /* mount(8)'s form: SOURCE first is the API URL and the fsname; the
     * options mount programs pass are dropped before libfuse sees them. */
    setenv("SEEDANCE_API_KEY", "k", 1);
    {
        char *args[] = {"seedancefs", "https://gw.example/", ".", "-o",
                        "state_dir=s,_netdev,nofail,x-systemd.automount,uid=0,gid=root,umask=027",
                        NULL};
        FILE *null = fopen("/dev/null", "w");
        CHECK(config_parse(&cfg, 5, args, &argc, &argv, null, null) == 0);
        fclose(null);
        CHECK(cfg.api_url && !strcmp(cfg.api_url, "https://gw.example"));
        CHECK(cfg.fsname && !strcmp(cfg.fsname, "https://gw.example/"));
        CHECK(cfg.uid == 0 && cfg.gid == 0 && cfg.umask == 027);
        bool dropped = true, named = false;
        for (int i = 0; i < argc; i++) {
            dropped &= !strstr(argv[i], "_netdev") && !strstr(argv[i], "x-systemd");
            named |= !strncmp(argv[i], "-ofsname=https://gw.example/,", 29);
        }
        CHECK(dropped && named);
        config_free(&cfg, argc, argv);
    }
    CHECK(parse(&cfg, "api_url=http://127.0.0.1:9,state_dir=s,umask=0999", &argc, &argv) != 0);
    config_free(&cfg, argc, argv);
    CHECK(parse(&cfg, "api_url=http://127.0.0.1:9,state_dir=s,uid=no-such-user-x", &argc,
                &argv) != 0);
    config_free(&cfg, argc, argv);

    /* The config file fills what -o leaves unset; a comma in a value
     * survives; -o wins; key_file from the file loses to the environment. */
    f = fopen("conf", "w");
    CHECK(f && fputs("# c\n api_url = http://file:1\nmodel = m,1\ncache_max=3M\n"
                     "key_file=/nonexistent\nallow_other\n", f) >= 0 && fclose(f) == 0);
    setenv("SEEDANCE_API_KEY", "k", 1);
    CHECK(parse(&cfg, "config=conf,state_dir=s,cache_max=5M", &argc, &argv) == 0);
    CHECK(cfg.api_url && !strcmp(cfg.api_url, "http://file:1"));
    CHECK(cfg.model && !strcmp(cfg.model, "m,1"));
    CHECK(cfg.cache_max == 5u << 20);
    CHECK(cfg.api_key && !strcmp(cfg.api_key, "k") && !cfg.key_file);
    bool other = false;
    for (int i = 0; i < argc; i++)
        other |= !strcmp(argv[i], "allow_other");
    CHECK(other);
    config_free(&cfg, argc, argv);
    CHECK(parse(&cfg, "config=missing-conf,api_url=http://x:1,state_dir=s", &argc, &argv) != 0);
    config_free(&cfg, argc, argv);

    /* No HOME, no XDG_STATE_HOME, no STATE_DIRECTORY: no state in /tmp. */
    unsetenv("HOME");
    unsetenv("XDG_STATE_HOME");
    unsetenv("STATE_DIRECTORY");
    setenv("SEEDANCE_API_KEY", "k", 1);
    CHECK(parse(&cfg, "api_url=http://127.0.0.1:9", &argc, &argv) != 0);
    config_free(&cfg, argc, argv);
    setenv("STATE_DIRECTORY", "/tmp/sdfs-config-svc:/tmp/other", 1);
    setenv("SEEDANCE_API_KEY", "k", 1);
    CHECK(parse(&cfg, "api_url=http://127.0.0.1:9", &argc, &argv) == 0);
    CHECK(cfg.state_dir && !strcmp(cfg.state_dir, "/tmp/sdfs-config-svc"));
    config_free(&cfg, argc, argv);
    rmdir("/tmp/sdfs-config-svc");
    return CHECK_DONE("test_config");
}
