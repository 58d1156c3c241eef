/* t_exit: exit status propagation out of the enclave.
 *   t_exit N          exit(N) from main
 *   t_exit return N   return N from main
 *   t_exit thread N   a non-main thread calls exit(N) while main waits in
 *                     pthread_join and another thread sleeps
 *   t_exit _exit N    _exit(N): no atexit handlers
 *   t_exit mainexit   main calls pthread_exit; the last thread's return
 *                     ends the process with status 0
 * Every mode except _exit prints "t_exit: atexit ran" from an atexit
 * handler on the way out. Exits 99 with "FAIL: ..." if control gets past
 * the point where the process should have ended. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void on_exit_handler(void)
{
    printf("t_exit: atexit ran\n");
}

static void sleep_ms(long ms)
{
    struct timespec d = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&d, &d))
        ;
}

static void *exiter(void *arg)
{
    int status = (int)(intptr_t)arg;
    sleep_ms(50);
    printf("t_exit: thread calls exit(%d)\n", status);
    exit(status);
}

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        sleep_ms(1000);
    return NULL;
}

static void *last_thread(void *arg)
{
    (void)arg;
    sleep_ms(100);
    printf("t_exit: last thread done\n");
    return NULL;
}

static int parse_status(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < 0 || v > 255) {
        fprintf(stderr, "t_exit: bad status '%s'\n", s);
        exit(98);
    }
    return (int)v;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: t_exit N | return N | thread N | _exit N | mainexit\n");
        return 98;
    }
    atexit(on_exit_handler);
    const char *mode = argv[1];
    if (!strcmp(mode, "mainexit")) {
        pthread_t t;
        if (pthread_create(&t, NULL, last_thread, NULL)) {
            printf("FAIL: pthread_create\n");
            return 99;
        }
        printf("t_exit: main calls pthread_exit\n");
        fflush(stdout);
        pthread_exit(NULL);
    }
    if (argc < 3 && strcmp(mode, "return") && strcmp(mode, "thread") && strcmp(mode, "_exit")) {
        int st = parse_status(mode);
        printf("t_exit: exit(%d)\n", st);
        exit(st);
    }
    if (argc < 3) {
        fprintf(stderr, "t_exit: %s needs a status\n", mode);
        return 98;
    }
    int st = parse_status(argv[2]);
    if (!strcmp(mode, "return")) {
        printf("t_exit: return %d\n", st);
        return st;
    }
    if (!strcmp(mode, "_exit")) {
        printf("t_exit: _exit(%d)\n", st);
        fflush(stdout);
        _exit(st);
    }
    if (!strcmp(mode, "thread")) {
        pthread_t s, e;
        if (pthread_create(&s, NULL, sleeper, NULL) ||
            pthread_create(&e, NULL, exiter, (void *)(intptr_t)st)) {
            printf("FAIL: pthread_create\n");
            return 99;
        }
        printf("t_exit: main waits in pthread_join\n");
        fflush(stdout);
        pthread_join(e, NULL);
        printf("FAIL: pthread_join returned although the thread called exit\n");
        return 99;
    }
    fprintf(stderr, "t_exit: unknown mode '%s'\n", mode);
    return 98;
}
