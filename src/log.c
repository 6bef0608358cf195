/* log.c — timestamped log lines; see log.h. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <time.h>

static FILE *log_sink;
static int log_debug_enabled;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

void log_init(FILE *sink, int debug)
{
    log_sink = sink;
    log_debug_enabled = debug;
}

static void log_line(const char *fmt, va_list ap)
{
    FILE *out = log_sink ? log_sink : stderr;
    struct timespec now;
    struct tm tm;
    char stamp[32];

    clock_gettime(CLOCK_REALTIME, &now);
    localtime_r(&now.tv_sec, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &tm);
    pthread_mutex_lock(&log_lock);
    fprintf(out, "%s.%03ld seedancefs: ", stamp, now.tv_nsec / 1000000);
    vfprintf(out, fmt, ap);
    fputc('\n', out);
    fflush(out);
    pthread_mutex_unlock(&log_lock);
}

void log_info(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_line(fmt, ap);
    va_end(ap);
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
