/* OptMigPass overhead benchmark (not a test). Runs the same kernels built
 * plain (clang-14 -O2) and with the plugin in several modes, side by side in
 * one process, interleaved round by round, on the same data in rt_native's
 * range; prints a markdown table of run-time ratios against plain. Times are
 * thread CPU time, best over the rounds (the machine may be shared).
 *
 *   bench_pass [ROUNDS]                        (built by tests/pass/bench.sh) */
#include "bench_kernels.h"
#include "rt_native.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

extern const struct bench_kernels plain_kernels, polls_kernels, full_kernels, dirty_kernels,
    access_kernels, nover_kernels, noopt_kernels;

static const struct variant {
    const char *label;
    const struct bench_kernels *k;
    uint32_t track;
} variants[] = {
    {"plain clang-14 -O2 (ms)", &plain_kernels, 0},
    {"polls only (-optmig-track=none)", &polls_kernels, 0},
    {"all compiled in, tracking off (idle)", &full_kernels, 0},
    {"all compiled in, dirty tracking on", &full_kernels, RT_TRACK_DIRTY},
    {"all compiled in, access checks on", &full_kernels, RT_TRACK_ACCESS},
    {"dirty-only build, dirty tracking on", &dirty_kernels, RT_TRACK_DIRTY},
    {"access-only build, access checks on", &access_kernels, RT_TRACK_ACCESS},
    {"all, no plain copies (-optmig-version=false), idle", &nover_kernels, 0},
    {"all, no plain copies, dirty tracking on", &nover_kernels, RT_TRACK_DIRTY},
    {"all, no plain copies, access checks on", &nover_kernels, RT_TRACK_ACCESS},
    {"all, no cost control (-optmig-opt=false -optmig-version=false), idle", &noopt_kernels, 0},
    {"all, no cost control, dirty tracking on", &noopt_kernels, RT_TRACK_DIRTY},
    {"all, no cost control, access checks on", &noopt_kernels, RT_TRACK_ACCESS},
};
#define NVARIANTS (int)(sizeof variants / sizeof variants[0])

static const char *kernel_names[] = {"seq_write", "seq_read", "rand_rmw", "chase", "particles", "copy_4k"};
#define NKERNELS 6

#define MiB (1024ull * 1024)
#define DATA (256 * MiB)
static volatile uint64_t sink;

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 7;
    uint8_t *base = rt_init((DATA + 128 * MiB) / RT_PAGE);
    uint64_t *data = (uint64_t *)base, nwords = DATA / 8;
    uint64_t *ring = (uint64_t *)(base + DATA), nring = 32 * MiB / 8;
    struct particle *parts = (struct particle *)(base + DATA + 32 * MiB);
    uint64_t nparts = 64 * MiB / sizeof(struct particle);

    memset(base, 1, DATA + 128 * MiB); /* every page present and touched */
    for (uint64_t i = 0; i < nring; i++)
        ring[i] = i;
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = nring - 1; i > 0; i--) { /* Sattolo: one random cycle */
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        uint64_t j = x % i, t = ring[i];
        ring[i] = ring[j];
        ring[j] = t;
    }
    for (uint64_t i = 0; i < nparts; i++)
        parts[i] = (struct particle){(double)i, 1, (double)(i % 100), 0.5, -0.25, -1, 0, 0};

    double best[NVARIANTS][NKERNELS];
    for (int v = 0; v < NVARIANTS; v++)
        for (int k = 0; k < NKERNELS; k++)
            best[v][k] = 1e30;
    for (int r = 0; r < rounds; r++)
        for (int i = 0; i < NVARIANTS; i++) {
            int v = (i + r) % NVARIANTS; /* rotate the order every round */
            const struct bench_kernels *K = variants[v].k;
            rt_set_track(variants[v].track);
            for (int k = 0; k < NKERNELS; k++) {
                double t0 = cpu_ms();
                switch (k) {
                case 0: for (int p = 0; p < 2; p++) K->seq_write(data, nwords, (uint64_t)p); break;
                case 1: for (int p = 0; p < 2; p++) sink = K->seq_read(data, nwords); break;
                case 2: K->rand_rmw(data, nwords - 1, 4 * MiB, (uint64_t)r + 1); break;
                case 3: sink = K->chase(ring, MiB / 2); break;
                case 4: for (int p = 0; p < 16; p++) K->particles(parts, nparts, 0.01); break;
                case 5: for (int p = 0; p < 4; p++) K->copy_blocks(base, base + DATA + 32 * MiB, 64 * MiB / 4096, 4096); break;
                }
                double t = cpu_ms() - t0;
                if (t < best[v][k])
                    best[v][k] = t;
            }
        }
    rt_set_track(0);

    printf("| build / mode |");
    for (int k = 0; k < NKERNELS; k++)
        printf(" %s |", kernel_names[k]);
    printf(" geomean |\n|---|");
    for (int k = 0; k <= NKERNELS; k++)
        printf("---|");
    printf("\n");
    for (int v = 0; v < NVARIANTS; v++) {
        double logsum = 0;
        printf("| %s |", variants[v].label);
        for (int k = 0; k < NKERNELS; k++) {
            double ratio = best[v][k] / best[0][k];
            logsum += log(ratio);
            if (v == 0)
                printf(" %.1f |", best[v][k]);
            else
                printf(" %.3f |", ratio);
        }
        if (v == 0)
            printf(" |\n");
        else
            printf(" %.3f |\n", exp(logsum / NKERNELS));
    }
    printf("\n(%d rounds; ratios of best thread-CPU time against the plain build)\n", rounds);
    return 0;
}
