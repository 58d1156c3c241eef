/* The host's kernel-tracker service (src/host/ktrack.c) end to end, as the
 * enclave drives it: collect cost, fault -> wanted -> install round trips by
 * service polling mode, UFFDIO_COPY throughput, and fresh-page writes under
 * MISSING (zero fill of non-pending blocks). Markdown on stdout. */
#include "ktrack.h"
#include "tracker_uffd.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PG 4096ull

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint8_t *region(uint64_t len)
{
    uint64_t al = 2ull << 20;
    uint8_t *raw = mmap(NULL, len + al, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (raw == MAP_FAILED)
        abort();
    uint8_t *p = (uint8_t *)(((uintptr_t)raw + al - 1) & ~(uintptr_t)(al - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    munmap(p + len, (size_t)(raw + len + al - (p + len)));
    return p;
}

static void pending_all(uint8_t *p, uint64_t n, int all)
{
    uint64_t *bm = calloc((n + 63) / 64, 8);
    if (all)
        memset(bm, 0xff, (n + 63) / 64 * 8);
    if (om_kth_pending((uint64_t)p, n * PG, 0, n, bm) || om_kth_absent_start((uint64_t)p, n * PG))
        abort();
    free(bm);
}

static void bench_scan(uint64_t mib)
{
    uint64_t n = mib << 8, len = n * PG;
    uint8_t *p = region(len);
    uint64_t *bm = calloc(n / 64, 8);
    madvise(p, len, MADV_HUGEPAGE);
    memset(p, 1, len);
    if (om_kth_dirty_start((uint64_t)p, len))
        abort();
    printf("| dirty | pattern | collect ms |\n|---|---|---|\n");
    const double fr[] = { 0, 0.01, 0.1, 1.0 };
    for (int f = 0; f < 4; f++)
        for (int pat = 0; pat < 2; pat++) {
            uint64_t k = (uint64_t)(fr[f] * (double)n);
            srand(1);
            for (uint64_t i = 0; i < k; i++)
                p[(pat ? i : (uint64_t)rand() % n) * PG] ^= 1;
            double a = now_s();
            int64_t r = om_kth_dirty_collect(0, n, bm);
            double b = now_s();
            if (r < 0 || (pat && r != (int64_t)k))
                abort();
            printf("| %g%% | %s | %.2f |\n", fr[f] * 100, pat ? "contiguous" : "random", (b - a) * 1e3);
        }
    om_kth_dirty_stop();
    munmap(p, len);
    free(bm);
}

static atomic_int stop;
static uint8_t *g_src;

/* The enclave's fetch loop, minus decryption: wanted, then install. */
static void *fetcher(void *arg)
{
    (void)arg;
    uint64_t pages[64];
    while (!atomic_load(&stop)) {
        int64_t n = om_kth_wanted(pages, 64, 20);
        for (int64_t i = 0; i < n; i++)
            if (om_kth_install(pages[i], 1, g_src) < 0)
                abort();
    }
    return NULL;
}

static void bench_fault(uint64_t n)
{
    const int modes[] = { OM_MISSING_BLOCK, 50, 1000, OM_MISSING_SPIN };
    const char *names[] = { "blocking", "adaptive 50 µs", "adaptive 1000 µs", "busy-poll" };
    g_src = region(PG);
    memset(g_src, 3, PG);
    printf("| service thread | faults | faults/s | µs per fault (fault, queue, wanted, install, wake) |\n|---|---|---|---|\n");
    for (int m = 0; m < 4; m++) {
        om_kth_set_poll(modes[m]);
        uint8_t *p = region(n * PG);
        pending_all(p, n, 1);
        atomic_store(&stop, 0);
        pthread_t t;
        pthread_create(&t, NULL, fetcher, NULL);
        unsigned long sum = 0;
        double a = now_s();
        for (uint64_t i = 0; i < n; i++)
            sum += ((volatile uint8_t *)p)[i * PG];
        double b = now_s();
        atomic_store(&stop, 1);
        pthread_join(t, NULL);
        om_kth_absent_stop();
        if (sum != 3 * n)
            abort();
        printf("| %s | %llu | %.0f | %.1f |\n", names[m], (unsigned long long)n, (double)n / (b - a),
               (b - a) * 1e6 / (double)n);
        munmap(p, n * PG);
    }
    om_kth_set_poll(OM_MISSING_BLOCK);
}

static void bench_copy(uint64_t mib)
{
    uint64_t n = mib << 8, len = n * PG;
    uint8_t *src = region(2ull << 20);
    memset(src, 5, 2ull << 20);
    printf("| operation | chunk | GiB/s |\n|---|---|---|\n");
    const uint64_t chunks[] = { 1, 16, 512 };
    for (int c = 0; c < 3; c++) {
        uint8_t *p = region(len);
        pending_all(p, n, 1);
        double a = now_s();
        for (uint64_t i = 0; i < n; i += chunks[c])
            if (om_kth_install(i, chunks[c], src))
                abort();
        double b = now_s();
        om_kth_absent_stop();
        printf("| om_kth_install (UFFDIO_COPY) | %llu KiB | %.2f |\n", (unsigned long long)chunks[c] * 4,
               (double)len / (b - a) / (1 << 30));
        munmap(p, len);
    }
    /* Fresh heap written under MISSING (not pending: zero-filled by blocks)
     * against the same writes with no registration. */
    for (int reg = 1; reg >= 0; reg--) {
        uint8_t *p = region(len);
        if (reg)
            pending_all(p, n, 0);
        double a = now_s();
        for (uint64_t i = 0; i < n; i++)
            p[i * PG] = 1;
        double b = now_s();
        if (reg)
            om_kth_absent_stop();
        printf("| first write of fresh pages, %s | %llu MiB | %.2f |\n",
               reg ? "MISSING (zero fill per 2 MiB)" : "unregistered", (unsigned long long)mib,
               (double)len / (b - a) / (1 << 30));
        munmap(p, len);
    }
}

int main(int argc, char **argv)
{
    if (om_kth_probe()) {
        fprintf(stderr, "userfaultfd with WP_ASYNC + PAGEMAP_SCAN unavailable\n");
        return 77;
    }
    uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 0) : 1024, faults = argc > 2 ? strtoull(argv[2], NULL, 0) : 8192;
    printf("## Collect through the service (%llu MiB, THP-populated)\n\n", (unsigned long long)mib);
    bench_scan(mib);
    printf("\n## Fault round trip through the service (1 faulting thread, 1 fetch thread)\n\n");
    bench_fault(faults);
    printf("\n## Installs and fresh pages through the service (%llu MiB)\n\n", (unsigned long long)mib);
    bench_copy(mib);
    return 0;
}
