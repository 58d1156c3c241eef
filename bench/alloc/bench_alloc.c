/* Allocator throughput: om_heap against the C library's malloc, natively.
 *
 * Built twice by run.sh: against glibc (dynamic) and statically against
 * musl (mallocng), so om_heap is compared with both. Every workload runs
 * with both allocators in the same process, one after the other, each after
 * an untimed warm-up run; timed runs alternate between the allocators and
 * the median of REPS runs is reported.
 *
 * Workloads (per thread: a window of slots; each step frees a random slot's
 * block and allocates a new one into it, writing its first and last byte):
 *   small  sizes 16..256 B uniform, 1024 slots
 *   mixed  80% 16..512 B, 15% 512 B..16 KiB, 4% 16..256 KiB, 1% 256 KiB..2 MiB;
 *          4096 slots
 *   xfer   2 threads: one allocates 16..256 B blocks, the other frees them;
 *          blocks move in batches of 256 through a two-slot mailbox, so the
 *          hand-off costs little next to the allocator's cross-thread frees
 * Output: one markdown table row per workload and thread count, in
 * M (malloc+free) pairs per second. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "heap.h"

#ifndef LIBC_NAME
#define LIBC_NAME "libc"
#endif

#define REPS 5
#define BATCH 256
#define NBOX 2

typedef void *(*alloc_fn)(size_t);
typedef void (*free_fn)(void *);

struct allocator {
    const char *name;
    alloc_fn alloc;
    free_fn free;
};

static void *om_alloc(size_t n) { return om_heap_alloc(n); }
static void om_free(void *p) { om_heap_free(p); }
static void *sys_alloc(size_t n) { return malloc(n); }
static void sys_free(void *p) { free(p); }

static const struct allocator A_OM = {"om_heap", om_alloc, om_free};
static const struct allocator A_SYS = {LIBC_NAME, sys_alloc, sys_free};

enum workload { WL_SMALL, WL_MIXED, WL_XFER };

struct job {
    const struct allocator *a;
    enum workload wl;
    uint64_t ops, seed;
    pthread_barrier_t *bar;
    double secs;
    int role;         /* xfer: 0 producer, 1 consumer */
    struct box *box;  /* xfer mailbox slots */
};

struct box {
    int full; /* atomic */
    void *p[BATCH];
} __attribute__((aligned(64)));

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static inline uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static inline size_t pick_size(enum workload wl, uint64_t *s)
{
    uint64_t r = rnd(s);
    if (wl != WL_MIXED)
        return 16 + (size_t)(r % 241);
    unsigned c = (unsigned)(r % 100);
    uint64_t v = r >> 8;
    if (c < 80)
        return 16 + (size_t)(v % 497);
    if (c < 95)
        return 512 + (size_t)(v % (16384 - 512));
    if (c < 99)
        return 16384 + (size_t)(v % (262144 - 16384));
    return 262144 + (size_t)(v % (2097152 - 262144));
}

static inline void touch(void *p, size_t n)
{
    ((volatile char *)p)[0] = 1;
    ((volatile char *)p)[n - 1] = 2;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    const struct allocator *a = j->a;
    uint64_t s = j->seed;
    if (j->wl == WL_XFER) {
        pthread_barrier_wait(j->bar);
        double t0 = now();
        for (uint64_t b = 0; b < j->ops / BATCH; b++) {
            struct box *x = &j->box[b % NBOX];
            while (__atomic_load_n(&x->full, __ATOMIC_ACQUIRE) != (j->role == 0 ? 0 : 1))
                __builtin_ia32_pause();
            for (unsigned i = 0; i < BATCH; i++) {
                if (j->role == 0) {
                    size_t n = pick_size(WL_SMALL, &s);
                    x->p[i] = a->alloc(n);
                    touch(x->p[i], n);
                } else {
                    a->free(x->p[i]);
                }
            }
            __atomic_store_n(&x->full, j->role == 0 ? 1 : 0, __ATOMIC_RELEASE);
        }
        j->secs = now() - t0;
        return NULL;
    }
    size_t nslots = j->wl == WL_SMALL ? 1024 : 4096;
    void **slot = calloc(nslots, sizeof *slot);
    pthread_barrier_wait(j->bar);
    double t0 = now();
    for (uint64_t i = 0; i < j->ops; i++) {
        size_t k = (size_t)(rnd(&s) % nslots);
        if (slot[k])
            a->free(slot[k]);
        size_t n = pick_size(j->wl, &s);
        slot[k] = a->alloc(n);
        touch(slot[k], n);
    }
    for (size_t k = 0; k < nslots; k++)
        if (slot[k])
            a->free(slot[k]);
    j->secs = now() - t0;
    free(slot);
    return NULL;
}

/* Pairs per second, aggregated over threads (time = slowest thread). */
static double run_once(const struct allocator *a, enum workload wl, int nthreads, uint64_t ops)
{
    pthread_t th[8];
    struct job jobs[8];
    pthread_barrier_t bar;
    static struct box box[NBOX];
    memset(box, 0, sizeof box);
    pthread_barrier_init(&bar, NULL, (unsigned)nthreads);
    for (int i = 0; i < nthreads; i++) {
        jobs[i] = (struct job){.a = a, .wl = wl, .ops = ops, .seed = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1),
                               .bar = &bar, .role = i, .box = box};
        pthread_create(&th[i], NULL, worker, &jobs[i]);
    }
    double worst = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
        if (jobs[i].secs > worst)
            worst = jobs[i].secs;
    }
    pthread_barrier_destroy(&bar);
    uint64_t pairs = wl == WL_XFER ? ops / BATCH * BATCH : ops * (uint64_t)nthreads;
    return (double)pairs / worst;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/* Median rates of both allocators, runs interleaved so that load from
 * elsewhere on the machine hits both alike. */
static void run_pair(enum workload wl, int nthreads, uint64_t ops, double *om, double *sys)
{
    double r_om[REPS], r_sys[REPS];
    run_once(&A_OM, wl, nthreads, ops / 4); /* warm-up */
    run_once(&A_SYS, wl, nthreads, ops / 4);
    for (int i = 0; i < REPS; i++) {
        r_om[i] = run_once(&A_OM, wl, nthreads, ops);
        r_sys[i] = run_once(&A_SYS, wl, nthreads, ops);
    }
    qsort(r_om, REPS, sizeof r_om[0], cmp_double);
    qsort(r_sys, REPS, sizeof r_sys[0], cmp_double);
    *om = r_om[REPS / 2];
    *sys = r_sys[REPS / 2];
}

int main(int argc, char **argv)
{
    double scale = argc > 1 ? atof(argv[1]) : 1.0;
#ifdef OM_IN_ENCLAVE
    /* Inside an enclave the runtime's heap is om_heap already (malloc is it):
     * use it as it is, started by the first malloc. */
    free(malloc(1));
#else
    size_t region = (size_t)16 << 30;
    void *r = mmap(NULL, region, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED || om_heap_init(r, region) != 0) {
        fprintf(stderr, "cannot set up the om_heap region\n");
        return 2;
    }
#endif
    struct {
        const char *name;
        enum workload wl;
        int threads;
        uint64_t ops;
    } cases[] = {
        {"small churn", WL_SMALL, 1, 8000000},
        {"small churn", WL_SMALL, 2, 8000000},
        {"mixed sizes", WL_MIXED, 1, 1000000},
        {"mixed sizes", WL_MIXED, 2, 1000000},
        {"cross-thread free", WL_XFER, 2, 8000000},
    };
    printf("| workload | threads | om_heap M pairs/s | %s M pairs/s | om_heap / %s |\n", LIBC_NAME, LIBC_NAME);
    printf("|---|---|---|---|---|\n");
    for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t ops = (uint64_t)((double)cases[i].ops * scale);
        if (ops < 1000)
            ops = 1000;
        double om, sys;
        run_pair(cases[i].wl, cases[i].threads, ops, &om, &sys);
        printf("| %s | %d | %.2f | %.2f | %.2f |\n", cases[i].name, cases[i].threads, om / 1e6, sys / 1e6, om / sys);
        fflush(stdout);
    }
    struct om_heap_stats st;
    om_heap_get_stats(&st);
    printf("\nom_heap after the runs: %zu bytes in use, %zu MiB of pages ever used.\n", st.bytes_in_use,
           (st.pages_ever_used * 4096) >> 20);
    return 0;
}
