/* log.c — timestamped log lines; see log.h. */
#include "log.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static FILE *log_sink;              /* NULL: stderr */
static char *log_path;
static int log_debug_enabled;
static pthread_t hup_thread;
static bool hup_watching;
static atomic_bool hup_stop;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static FILE *open_sink(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;

    if (fd >= 0 && !f)
        close(fd);
    return f;
}

int log_init(const char *path, int debug)
{
    log_debug_enabled = debug;
    if (!path)
        return 0;
    if (!(log_path = strdup(path)) || !(log_sink = open_sink(path))) {
        int rc = -errno;
        free(log_path);
        log_path = NULL;
        return rc;
    }
    return 0;
}

void log_close(void)
{
    pthread_mutex_lock(&log_lock);
    if (log_sink)
        fclose(log_sink);
    log_sink = NULL;
    free(log_path);
    log_path = NULL;
    pthread_mutex_unlock(&log_lock);
}

/* Lock held. A file that cannot be reopened keeps the old one. */
static void reopen(void)
{
    FILE *f;

    if (!log_path || !(f = open_sink(log_path)))
        return;
    fclose(log_sink);
    log_sink = f;
}

static void *hup_main(void *arg)
{
    sigset_t set;
    int sig;

    (void)arg;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    for (;;) {
        if (sigwait(&set, &sig))
            continue;
        if (atomic_load(&hup_stop))
            return NULL;
        pthread_mutex_lock(&log_lock);
        reopen();
        pthread_mutex_unlock(&log_lock);
        log_info("SIGHUP: log file reopened");
    }
}

int log_watch_hup(void)
{
    sigset_t set;
    int rc;

    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    if ((rc = pthread_sigmask(SIG_BLOCK, &set, NULL)) ||
        (rc = pthread_create(&hup_thread, NULL, hup_main, NULL)))
        return -rc;
    hup_watching = true;
    return 0;
}

void log_unwatch_hup(void)
{
    if (!hup_watching)
        return;
    atomic_store(&hup_stop, true);
    pthread_kill(hup_thread, SIGHUP);
    pthread_join(hup_thread, NULL);
    hup_watching = false;
}

/* The message, formatted and with the key hidden: a server's echo of it
 * stops here. */
static void format_line(char *line, size_t size, const char *fmt, va_list ap)
{
    vsnprintf(line, size, fmt, ap);
    secret_scrub(line);
}

/* One line into the log, stamped. */
static void write_line(const char *line)
{
    struct timespec now;
    struct tm tm;
    char stamp[32];
    FILE *out;

    clock_gettime(CLOCK_REALTIME, &now);
    localtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    pthread_mutex_lock(&log_lock);
    out = log_sink ? log_sink : stderr;
    fprintf(out, "%s.%03ld seedancefs: %s\n", stamp, now.tv_nsec / 1000000, line);
    fflush(out);
    pthread_mutex_unlock(&log_lock);
}

static void log_line(const char *fmt, va_list ap)
{
    char line[2048];

    format_line(line, sizeof line, fmt, ap);
    write_line(line);
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(fmt, ap);
    va_end(ap);
}

void log_startup_error(const char *fmt, ...)
{
    char line[2048];
    va_list ap;
    bool to_file;

    va_start(ap, fmt);
    format_line(line, sizeof line, fmt, ap);
    va_end(ap);
    write_line(line);
    pthread_mutex_lock(&log_lock);
    to_file = log_sink != NULL;
    pthread_mutex_unlock(&log_lock);
    if (to_file)
        fprintf(stderr, "seedancefs: %s\n", line);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;
    if (!log_debug_enabled)
        return;
    va_start(ap, fmt);
    log_line(fmt, ap);
    va_end(ap);
}
