/* replay.c — runs files through a fuzz target without libFuzzer, so that
 * make check (gcc, and ASan in make asan) replays the seed corpus and
 * every crash found so far:
 *
 *   build/fuzz/fuzz_reply tests/fuzz/corpus/fuzz_reply/
 *
 * Each argument is a file or a directory of files. Exit 0 when every
 * input ran (a crash aborts, as under libFuzzer), 1 on an unreadable one. */
#include "fuzz.h"

#include <dirent.h>
#include <stdio.h>
#include <sys/stat.h>

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    size_t len = 0, cap = 0, n;
    uint8_t buf[65536];

    if (!f) {
        perror(path);
        return 1;
    }
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) {
        if (len + n > cap) {
            uint8_t *grown = realloc(data, cap = (len + n) * 2);
            if (!grown) {
                fclose(f);
                free(data);
                return 1;
            }
            data = grown;
        }
        memcpy(data + len, buf, n);
        len += n;
    }
    fclose(f);
    /* An exact-size copy: a read past the input is caught by ASan. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(data);
        return 1;
    }
    memcpy(exact, data, len);
    free(data);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    int bad = 0, runs = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        if (stat(argv[i], &st) || !S_ISDIR(st.st_mode)) {
            bad |= run_file(argv[i]);
            runs++;
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            char path[4096];
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
            bad |= run_file(path);
            runs++;
        }
        if (d)
            closedir(d);
    }
    printf("%s: %d inputs\n", argv[0], runs);
    return bad;
}
