/* An app for the safety-net test (safetynet.sh). Each round it writes a
 * heap array and works heap strings through libc the compiler tracker
 * covers (snprintf, strcat, strtok, sscanf, qsort, a heap mutex), printing
 * progress, then a digest of everything. Built as is, it also calls setenv, which the tracker cannot follow (musl moves the environment
 * into the heap with its own stores); built with -DCOVERED it does not. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NSTR 64

static uint64_t h = 1469598103934665603ull;

static void mix(const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ ((const unsigned char *)p)[i]) * 1099511628211ull;
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* One round of string work on heap data. */
static void strings(int it, char **str, char *line, pthread_mutex_t *m)
{
    pthread_mutex_lock(m);
    for (int i = 0; i < NSTR; i++)
        snprintf(str[i], 32, "%08x-%d", (unsigned)((it * 2654435761u) ^ (unsigned)i * 40503u), i);
    qsort(str, NSTR, sizeof *str, cmp);
    line[0] = 0;
    for (int i = 0; i < 8; i++) {
        strcat(line, str[i]);
        strcat(line, ",");
    }
    long sum = 0;
    for (char *t = strtok(line, ","); t; t = strtok(NULL, ",")) {
        unsigned x;
        int k;
        if (sscanf(t, "%x-%d", &x, &k) == 2)
            sum += (long)(x % 1000) + k;
    }
    snprintf(line, 256, "%d %ld %s", it, sum, str[0]);
    mix(line, strlen(line));
    pthread_mutex_unlock(m);
}

int main(int argc, char **argv)
{
    int iters = argc > 1 ? atoi(argv[1]) : 400;
#ifndef COVERED
    setenv("OM_UNCOV", "set", 1);
#endif
    size_t n = (size_t)8 << 20;
    uint64_t *a = calloc(n, sizeof *a);
    char **str = malloc(NSTR * sizeof *str), *line = malloc(256);
    pthread_mutex_t *m = malloc(sizeof *m);
    if (!a || !str || !line || !m)
        return 1;
    for (int i = 0; i < NSTR; i++)
        if (!(str[i] = malloc(32)))
            return 1;
    pthread_mutex_init(m, NULL);
    for (int it = 1; it <= iters; it++) {
        for (size_t i = (size_t)it % 61; i < n; i += 61)
            a[i] = a[i] * 31 + (uint64_t)it + i;
        strings(it, str, line, m);
        if (it % 20 == 0) {
            printf("t_cc_uncov: iter %d %s\n", it, str[it % NSTR]);
            fflush(stdout);
        }
        struct timespec ts = { 0, 4000000 };
        nanosleep(&ts, NULL);
    }
    mix(a, n * sizeof *a);
#ifndef COVERED
    printf("t_cc_uncov: env %s\n", getenv("OM_UNCOV"));
#endif
    printf("t_cc_uncov: digest %016llx\n", (unsigned long long)h);
    return 0;
}
