/* mount_tune.h — kernel settings of the mount that libfuse cannot make.
 *
 *   $ cat /sys/class/bdi/0:53/read_ahead_kb        # 1008 under seedancefs
 *
 * FUSE caps a mount's read-ahead at the kernel default (128 KiB) during
 * INIT; only the bdi's sysfs file raises it. Larger read-ahead means larger
 * (up to 1 MiB) and fewer READ requests for sequential readers.
 */
#ifndef SEEDANCEFS_MOUNT_TUNE_H
#define SEEDANCEFS_MOUNT_TUNE_H

#include <stddef.h>

/* Sets the read-ahead of the FUSE mount at `mountpoint` (absolute, as in
 * /proc/self/mountinfo) to `bytes`. Returns 0, or -errno (e.g. -EACCES when
 * not root; the mount works without it). Makes no FUSE call, so it is safe
 * before the session loop runs. */
int mount_set_readahead(const char *mountpoint, size_t bytes);

#endif
