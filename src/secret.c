/* secret.c — hiding the API key in text; see secret.h. */
#include "secret.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define MASK "[key]"
#define SECRETS_MAX 16              /* the keys (video, assets), and those they replaced */

static pthread_mutex_t secret_lock = PTHREAD_MUTEX_INITIALIZER;
static char *hidden[SECRETS_MAX];   /* oldest first; secret_lock */
static int nhidden;

void secret_set(const char *secret)
{
    char *copy;

    if (!secret || !*secret || !(copy = strdup(secret)))
        return;
    pthread_mutex_lock(&secret_lock);
    for (int i = 0; i < nhidden; i++)
        if (!strcmp(hidden[i], secret)) {
            pthread_mutex_unlock(&secret_lock);
            free(copy);
            return;
        }
    if (nhidden == SECRETS_MAX) {   /* the oldest key is long retired */
        free(hidden[0]);
        memmove(hidden, hidden + 1, (SECRETS_MAX - 1) * sizeof *hidden);
        nhidden--;
    }
    hidden[nhidden++] = copy;
    pthread_mutex_unlock(&secret_lock);
}

void secret_clear(void)
{
    pthread_mutex_lock(&secret_lock);
    for (int i = 0; i < nhidden; i++) {
        explicit_bzero(hidden[i], strlen(hidden[i]));
        free(hidden[i]);
    }
    nhidden = 0;
    pthread_mutex_unlock(&secret_lock);
}

/* Lock held. */
static size_t scrub_one(char *text, size_t len, const char *secret)
{
    size_t secret_len = strlen(secret), mask = strlen(MASK);
    char *at = text;

    while ((at = strstr(at, secret))) {
        if (secret_len < mask) {
            memset(at, '*', secret_len);
            at += secret_len;
            continue;
        }
        memcpy(at, MASK, mask);
        memmove(at + mask, at + secret_len, len - (size_t)(at - text) - secret_len + 1);
        len -= secret_len - mask;
        at += mask;
    }
    return len;
}

size_t secret_scrub(char *text)
{
    size_t len = strlen(text);

    pthread_mutex_lock(&secret_lock);
    for (int i = nhidden - 1; i >= 0; i--)
        len = scrub_one(text, len, hidden[i]);
    pthread_mutex_unlock(&secret_lock);
    return len;
}
