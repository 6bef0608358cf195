/* daemon.c — fork early, report late; see daemon.h. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static int ready_fd = -1;           /* the pipe to the waiting parent */

int daemon_detach(void)
{
    int fds[2];
    char ok = 0;

    if (pipe2(fds, O_CLOEXEC))
        return -errno;
    switch (fork()) {
    case -1:
        close(fds[0]);
        close(fds[1]);
        return -errno;
    case 0:
        close(fds[0]);
        ready_fd = fds[1];
        setsid();
        return 0;
    default:
        /* The child's start-up errors went to our stderr; only the outcome
         * is ours to report. EOF without the byte: it failed. */
        close(fds[1]);
        while (read(fds[0], &ok, 1) < 0 && errno == EINTR)
            ;
        _exit(ok == 1 ? 0 : 1);
    }
}

void daemon_ready(void)
{
    char ok = 1;
    int null;

    if (chdir("/") != 0) {
        /* It only keeps a directory busy: the parent must still hear. */
    }
    if (ready_fd < 0)
        return;
    if ((null = open("/dev/null", O_RDWR)) >= 0) {
        dup2(null, STDIN_FILENO);
        dup2(null, STDOUT_FILENO);
        dup2(null, STDERR_FILENO);
        if (null > STDERR_FILENO)
            close(null);
    }
    while (write(ready_fd, &ok, 1) < 0 && errno == EINTR)
        ;
    close(ready_fd);
    ready_fd = -1;
}
