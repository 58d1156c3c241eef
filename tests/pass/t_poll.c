/* Safepoint polls: a thread running loops with no calls, or recursion with no
 * loops, reaches __om_safepoint soon after another thread sets __om_poll.
 * Prints the worst time-to-safepoint per kernel. Also checks the tracking
 * handshake: a loop that sampled "tracking off" starts marking pages once it
 * has passed a safepoint after tracking was turned on.
 *
 *   t_poll              polls compiled in: every request must be served
 *   t_poll --no-polls   control built with -optmig-polls=false: none may be */
#define _GNU_SOURCE
#include "rt_native.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define NOINLINE __attribute__((noinline))
/* The requesting thread's own loops must not answer its requests. */
#define NO_INSTRUMENT __attribute__((annotate("optmig_no_instrument")))
#define TRIALS 100
#define PAGES 64u

static uint8_t *R;
static volatile int kernel = -1; /* which kernel the worker runs; -1: idle */
static volatile int quit;
static volatile uint64_t result;
static volatile int64_t worker_tid;

/* ---- kernels: each runs until `kernel` changes ---- */
NOINLINE static uint64_t k_arith(int me)
{
    uint64_t x = 1;
    while (kernel == me)
        x = x * 6364136223846793005ull + 1442695040888963407ull;
    return x;
}

NOINLINE static uint64_t k_chase(int me)
{
    uint64_t *ring = (uint64_t *)R, i = 0, n = 0;
    while (kernel == me) {
        i = ring[i];
        n++;
    }
    return i + n;
}

NOINLINE static uint64_t fib(uint64_t n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

NOINLINE static uint64_t k_recurse(int me)
{
    uint64_t s = 0;
    while (kernel == me)
        s += fib(30); /* ~1.6M calls, no loops inside */
    return s;
}

NOINLINE static uint64_t k_goto(int me)
{
    /* A loop with two entries (irreducible unless the compiler rewrites it). */
    uint64_t x = (uint64_t)me, n = 0;
    if (result & 1)
        goto b;
a:
    x = x * 3 + 1;
    n++;
b:
    x ^= x >> 7;
    if (kernel == me)
        goto a;
    return x + n;
}

NOINLINE static uint64_t k_write(int me)
{
    uint64_t *p = (uint64_t *)(R + 8 * RT_PAGE), i = 0;
    while (kernel == me) {
        p[(i * 512) & (4 * 512 - 1)] = i; /* pages 8..11, no calls */
        i++;
    }
    return i;
}

typedef uint64_t (*kernel_fn)(int);
static const struct {
    const char *name;
    kernel_fn fn;
} kernels[] = {
    {"arith loop", k_arith},
    {"pointer chase", k_chase},
    {"recursion, no loops", k_recurse},
    {"two-entry loop", k_goto},
    {"store loop", k_write},
};
#define NKERNELS (int)(sizeof kernels / sizeof kernels[0])

static void *worker(void *arg)
{
    (void)arg;
    worker_tid = gettid();
    while (!quit) {
        int k = kernel;
        if (k >= 0)
            result += kernels[k].fn(k);
    }
    return NULL;
}

NO_INSTRUMENT static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

static clockid_t worker_clock;

NO_INSTRUMENT static uint64_t worker_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(worker_clock, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Raise __om_poll and wait up to timeout_ns for the worker to reach a
 * safepoint. Returns 0 with the wall time to it and the CPU time the worker
 * spent getting there (free of scheduling delays on a loaded machine), or -1. */
NO_INSTRUMENT static int request(uint64_t timeout_ns, int64_t *wall, int64_t *cpu)
{
    uint64_t before = __atomic_load_n(&rt_stats.safepoints, __ATOMIC_ACQUIRE);
    uint64_t c0 = worker_cpu_ns(), t0 = rt_now_ns();
    __om_poll = 1;
    while (__atomic_load_n(&rt_stats.safepoints, __ATOMIC_ACQUIRE) == before)
        if (rt_now_ns() - t0 > timeout_ns) {
            __om_poll = 0;
            return -1;
        }
    if (__atomic_load_n(&rt_stats.last_safepoint_tid, __ATOMIC_RELAXED) != worker_tid) {
        printf("FAIL safepoint made by another thread\n");
        exit(1);
    }
    *wall = (int64_t)(__atomic_load_n(&rt_stats.last_safepoint_ns, __ATOMIC_RELAXED) - t0);
    *cpu = (int64_t)(__atomic_load_n(&rt_stats.last_safepoint_cpu_ns, __ATOMIC_RELAXED) - c0);
    return 0;
}

/* Waits (up to 10 s) until the store loop has visibly made progress. */
NO_INSTRUMENT static void wait_progress(void)
{
    const volatile uint64_t *p = (const uint64_t *)(R + 8 * RT_PAGE);
    uint64_t v = p[0] + p[512] + p[1024] + p[1536];
    for (int i = 0; i < 10000 && p[0] + p[512] + p[1024] + p[1536] == v; i++)
        sleep_us(1000);
}

NO_INSTRUMENT static int test_handshake(void)
{
    uint64_t pages[PAGES];
    int64_t wall, cpu;
    int me = 4; /* k_write */
    rt_set_track(0);
    kernel = me;
    wait_progress();
    rt_clear_dirty();
    wait_progress();
    size_t before = rt_dirty_pages(pages, PAGES);
    /* Turn tracking on, then wait for the worker to pass a safepoint. */
    rt_set_track(RT_TRACK_DIRTY);
    int reached = request(10ull * 1000000000u, &wall, &cpu) == 0;
    rt_clear_dirty();
    size_t after = 0;
    for (int i = 0; i < 10000 && (after = rt_dirty_pages(pages, PAGES)) < 4; i++)
        sleep_us(1000);
    kernel = -1;
    rt_set_track(0);
    int ok = before == 0 && reached && after == 4 && pages[0] == 8 && pages[3] == 11;
    printf("%s tracking handshake: %zu dirty pages while off, %zu after the safepoint (want 0 and 4)\n",
           ok ? "ok  " : "FAIL", before, after);
    return ok;
}

NO_INSTRUMENT static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

NO_INSTRUMENT int main(int argc, char **argv)
{
    int control = argc > 1 && !strcmp(argv[1], "--no-polls");
    int failures = 0;
    pthread_t th;
    R = rt_init(PAGES);
    uint64_t *ring = (uint64_t *)R;
    for (uint64_t i = 0; i < 4096; i++)
        ring[i] = (i * 1031 + 7) % 4096;
    if (pthread_create(&th, NULL, worker, NULL))
        return 2;
    while (!worker_tid)
        sleep_us(1000);
    if (pthread_getcpuclockid(th, &worker_clock))
        return 2;
    srand(1);
    for (int k = 0; k < NKERNELS; k++) {
        kernel = k;
        sleep_us(20000);
        int64_t worst = 0, worst_cpu = 0, total_cpu = 0, walls[TRIALS];
        int missed = 0, trials = control ? 3 : TRIALS;
        for (int i = 0; i < trials; i++) {
            int64_t wall, cpu;
            sleep_us(200 + rand() % 1800);
            if (request(control ? 300000000u : 10ull * 1000000000u, &wall, &cpu)) {
                missed++;
                continue;
            }
            walls[i - missed] = wall;
            total_cpu += cpu;
            if (wall > worst)
                worst = wall;
            if (cpu > worst_cpu)
                worst_cpu = cpu;
        }
        kernel = -1;
        int ok = control ? missed == trials : missed == 0;
        failures += !ok;
        if (control)
            printf("%s %-20s %d of %d requests unanswered (want all)\n", ok ? "ok  " : "FAIL",
                   kernels[k].name, missed, trials);
        else {
            qsort(walls, (size_t)(trials - missed), sizeof walls[0], cmp_i64);
            printf("%s %-20s time-to-safepoint, %d requests: wall median %.2f us worst %.1f us;"
                   " worker CPU mean %.2f us worst %.1f us\n",
                   ok ? "ok  " : "FAIL", kernels[k].name, trials,
                   trials - missed ? walls[(trials - missed) / 2] / 1e3 : 0.0, worst / 1e3,
                   trials - missed ? total_cpu / 1e3 / (trials - missed) : 0.0, worst_cpu / 1e3);
        }
    }
    if (!control)
        failures += !test_handshake();
    quit = 1;
    kernel = -1;
    if (control) {
        /* The worker may sit in a kernel that never polls; leave it. */
        printf("t_poll (control, no polls): %d failures\n", failures);
        fflush(stdout);
        _exit(failures != 0);
    }
    pthread_join(th, NULL);
    printf("t_poll: %d failures\n", failures);
    return failures != 0;
}
