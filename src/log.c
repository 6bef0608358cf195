/* log.c — log lines to stderr, syslog or a file; see log.h. */
#include "log.h"
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

enum sink { SINK_STDERR, SINK_JOURNAL, SINK_SYSLOG, SINK_FILE };

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum sink sink;              /* all below: log_lock */
static FILE *log_file;
static char *log_path;
static atomic_int log_level = LOG_LEVEL_INFO;  /* read without the lock */

static FILE *open_file(const char *path)
{
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    FILE *f = fd >= 0 ? fdopen(fd, "a") : NULL;

    if (fd >= 0 && !f)
        close(fd);
    return f;
}

/* systemd connects a service's stderr to the journal and says so in
 * JOURNAL_STREAM=DEV:INODE; a stderr redirected elsewhere does not match. */
static bool stderr_is_journal(void)
{
    const char *js = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    struct stat st;

    return js && sscanf(js, "%llu:%llu", &dev, &ino) == 2 && !fstat(STDERR_FILENO, &st) &&
           (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* Lock held: whatever was open is closed. */
static void close_sink(void)
{
    if (log_file)
        fclose(log_file);
    if (sink == SINK_SYSLOG)
        closelog();
    log_file = NULL;
    free(log_path);
    log_path = NULL;
    sink = SINK_STDERR;
}

int log_to_stderr(int level)
{
    pthread_mutex_lock(&log_lock);
    close_sink();
    sink = stderr_is_journal() ? SINK_JOURNAL : SINK_STDERR;
    log_level = level;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

int log_to_syslog(int level)
{
    pthread_mutex_lock(&log_lock);
    close_sink();
    openlog("seedancefs", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    sink = SINK_SYSLOG;
    log_level = level;
    pthread_mutex_unlock(&log_lock);
    return 0;
}

int log_to_file(const char *path, int level)
{
    char *copy = strdup(path);
    FILE *f = copy ? open_file(path) : NULL;
    int rc = f ? 0 : -errno;

    pthread_mutex_lock(&log_lock);
    close_sink();
    log_level = level;
    if (f) {
        log_file = f;
        log_path = copy;
        sink = SINK_FILE;
    } else {
        free(copy);
    }
    pthread_mutex_unlock(&log_lock);
    return rc;
}

int log_reopen(void)
{
    FILE *f;
    int rc = 0;

    pthread_mutex_lock(&log_lock);
    if (sink == SINK_FILE) {
        if ((f = open_file(log_path))) {
            fclose(log_file);
            log_file = f;
        } else {
            rc = -errno;
        }
    }
    pthread_mutex_unlock(&log_lock);
    return rc;
}

void log_close(void)
{
    pthread_mutex_lock(&log_lock);
    close_sink();
    pthread_mutex_unlock(&log_lock);
}

int log_is_detached(void)
{
    int detached;

    pthread_mutex_lock(&log_lock);
    detached = sink == SINK_FILE || sink == SINK_SYSLOG;
    pthread_mutex_unlock(&log_lock);
    return detached;
}

/* The message, formatted and with the key hidden: a server's echo of it
 * stops here. */
static void format_line(char *line, size_t size, const char *fmt, va_list ap)
{
    vsnprintf(line, size, fmt, ap);
    secret_scrub(line);
}

/* One line to the sink, stamped as the sink wants. */
static void write_line(int level, const char *line)
{
    static const int syslog_priority[] = {LOG_ERR, LOG_INFO, LOG_DEBUG};
    static const char journal_prefix[][4] = {"<3>", "<6>", "<7>"};
    struct timespec now;
    struct tm tm;
    char stamp[32];

    pthread_mutex_lock(&log_lock);
    switch (sink) {
    case SINK_SYSLOG:
        syslog(syslog_priority[level], "%s", line);
        break;
    case SINK_JOURNAL:
        fprintf(stderr, "%s%s\n", journal_prefix[level], line);
        break;
    case SINK_STDERR:
    case SINK_FILE:
        clock_gettime(CLOCK_REALTIME, &now);
        localtime_r(&now.tv_sec, &tm);
        strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
        fprintf(log_file ? log_file : stderr, "%s.%03ld seedancefs: %s%s\n", stamp,
                now.tv_nsec / 1000000, level == LOG_LEVEL_ERROR ? "error: " : "", line);
        fflush(log_file ? log_file : stderr);
        break;
    }
    pthread_mutex_unlock(&log_lock);
}

static void log_line(int level, const char *fmt, va_list ap)
{
    char line[2048];

    if (level > atomic_load(&log_level))
        return;                     /* debug lines cost nothing when off */
    format_line(line, sizeof line, fmt, ap);
    write_line(level, line);
}

void log_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(LOG_LEVEL_ERROR, fmt, ap);
    va_end(ap);
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(LOG_LEVEL_INFO, fmt, ap);
    va_end(ap);
}

void log_debug(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(LOG_LEVEL_DEBUG, fmt, ap);
    va_end(ap);
}

void log_startup_error(const char *fmt, ...)
{
    char line[2048];
    va_list ap;

    va_start(ap, fmt);
    format_line(line, sizeof line, fmt, ap);
    va_end(ap);
    write_line(LOG_LEVEL_ERROR, line);
    if (log_is_detached())
        fprintf(stderr, "seedancefs: %s\n", line);
}
