/* Threads caught in every kind of wait when the enclave migrates: blocked in
 * accept on a listening socket, sleeping, waiting on a condition variable,
 * and computing without system calls. Each must carry on at the destination. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int released;
static int lfd;

static void *acceptor(void *arg)
{
    (void)arg;
    int c = accept(lfd, NULL, NULL);
    char buf[64] = { 0 };
    ssize_t n = c >= 0 ? recv(c, buf, sizeof(buf) - 1, 0) : -1;
    if (n > 0 && buf[n - 1] == '\n')
        buf[n - 1] = 0;
    printf("accepted: %s\n", n > 0 ? buf : "(error)");
    fflush(stdout);
    if (c >= 0)
        close(c);
    return NULL;
}

static void *sleeper(void *arg)
{
    (void)arg;
    for (int i = 1; i <= 8; i++) {
        struct timespec ts = { 0, 250 * 1000 * 1000 };
        nanosleep(&ts, NULL);
        printf("tick %d\n", i);
        fflush(stdout);
    }
    return NULL;
}

static void *waiter(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!released)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    printf("waiter released\n");
    fflush(stdout);
    return NULL;
}

static void *spinner(void *arg)
{
    /* No system call for a long stretch: only an asynchronous exit stops it. */
    volatile uint64_t x = (uint64_t)(uintptr_t)arg;
    for (uint64_t i = 0; i < 3000000000ull; i++)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    printf("spinner %llx\n", (unsigned long long)(x >> 40));
    fflush(stdout);
    return NULL;
}

int main(int argc, char **argv)
{
    int port = argc > 1 ? atoi(argv[1]) : 0;
    lfd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) || listen(lfd, 4)) {
        perror("listen");
        return 2;
    }
    pthread_t t[4];
    pthread_create(&t[0], NULL, acceptor, NULL);
    pthread_create(&t[1], NULL, sleeper, NULL);
    pthread_create(&t[2], NULL, waiter, NULL);
    pthread_create(&t[3], NULL, spinner, (void *)7);
    printf("ready\n");
    fflush(stdout);
    pthread_join(t[1], NULL);
    pthread_join(t[3], NULL);
    pthread_mutex_lock(&mu);
    released = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(t[2], NULL);
    pthread_join(t[0], NULL);
    printf("done\n");
    return 0;
}
