/* hup.c — a thread that waits for SIGHUP; see hup.h. */
#include "hup.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>

static pthread_t hup_thread;
static bool hup_watching;
static atomic_bool hup_stop;
static void (*hup_hook)(void *);
static void *hup_arg;

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
        hup_hook(hup_arg);
    }
}

int hup_watch(void (*on_hup)(void *arg), void *arg)
{
    sigset_t set;
    int rc;

    hup_hook = on_hup;
    hup_arg = arg;
    sigemptyset(&set);
    sigaddset(&set, SIGHUP);
    if ((rc = pthread_sigmask(SIG_BLOCK, &set, NULL)) ||
        (rc = pthread_create(&hup_thread, NULL, hup_main, NULL)))
        return -rc;
    hup_watching = true;
    return 0;
}

void hup_unwatch(void)
{
    if (!hup_watching)
        return;
    atomic_store(&hup_stop, true);
    pthread_kill(hup_thread, SIGHUP);
    pthread_join(hup_thread, NULL);
    hup_watching = false;
}
