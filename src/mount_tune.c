/* mount_tune.c — the mount's bdi read-ahead; see mount_tune.h. */
#include "mount_tune.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Undoes mountinfo's octal escapes (\040 for a space) in place. */
static void unescape(char *s)
{
    char *out = s;

    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
            s[3] >= '0' && s[3] <= '7') {
            *out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
            s += 3;
        } else {
            *out++ = *s;
        }
    }
    *out = '\0';
}

/* The "major:minor" of the last mount at `mountpoint`. */
static int mount_device(const char *mountpoint, char *dev, size_t len)
{
    FILE *f = fopen("/proc/self/mountinfo", "r");
    char line[4096];
    int rc = -ENOENT;

    if (!f)
        return -errno;
    while (fgets(line, sizeof line, f)) {
        char id[16], path[4096], root[4096], devno[64];
        /* "36 35 0:53 / /mnt/point rw,... - fuse.seedancefs ..." */
        if (sscanf(line, "%15s %*s %63s %4095s %4095s", id, devno, root, path) != 4)
            continue;
        unescape(path);
        if (!strcmp(path, mountpoint)) {
            snprintf(dev, len, "%s", devno);
            rc = 0;                 /* keep going: the last one is on top */
        }
    }
    fclose(f);
    return rc;
}

int mount_set_readahead(const char *mountpoint, size_t bytes)
{
    char dev[64], path[128];
    FILE *f;
    int rc = mount_device(mountpoint, dev, sizeof dev);

    if (rc)
        return rc;
    snprintf(path, sizeof path, "/sys/class/bdi/%s/read_ahead_kb", dev);
    if (!(f = fopen(path, "w")))
        return -errno;
    fprintf(f, "%zu\n", bytes / 1024);
    rc = fclose(f) ? -errno : 0;
    return rc;
}
