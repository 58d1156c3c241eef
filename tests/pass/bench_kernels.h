/* Kernels of the OptMigPass overhead benchmark: bench_kernels.c is compiled
 * once per build variant (plain, and with the plugin in several modes), each
 * copy exporting its table as <VARIANT>kernels; bench_pass.c runs them all
 * side by side in one process. */
#ifndef OPTMIG_TESTS_PASS_BENCH_KERNELS_H
#define OPTMIG_TESTS_PASS_BENCH_KERNELS_H

#include <stddef.h>
#include <stdint.h>

struct particle {
    double x, y, z, vx, vy, vz;
    uint64_t hits, pad;
};

struct bench_kernels {
    void (*seq_write)(uint64_t *a, uint64_t n, uint64_t seed);
    uint64_t (*seq_read)(const uint64_t *a, uint64_t n);
    void (*rand_rmw)(uint64_t *a, uint64_t mask, uint64_t iters, uint64_t seed);
    uint64_t (*chase)(const uint64_t *next, uint64_t steps);
    void (*particles)(struct particle *p, uint64_t n, double dt);
    void (*copy_blocks)(uint8_t *dst, const uint8_t *src, uint64_t blocks, size_t len);
};

#endif
