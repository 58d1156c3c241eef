/* OptMigPass overhead kernels; compiled once per variant with
 * -DVARIANT=<name>_ (see bench_kernels.h). */
#include "bench_kernels.h"

#include <string.h>

#define CAT2(a, b) a##b
#define CAT(a, b) CAT2(a, b)
#define K(name) CAT(VARIANT, name)
#define NOINLINE __attribute__((noinline))

NOINLINE static void seq_write(uint64_t *a, uint64_t n, uint64_t seed)
{
    for (uint64_t i = 0; i < n; i++)
        a[i] = i ^ seed;
}

NOINLINE static uint64_t seq_read(const uint64_t *a, uint64_t n)
{
    uint64_t s = 0;
    for (uint64_t i = 0; i < n; i++)
        s += a[i];
    return s;
}

NOINLINE static void rand_rmw(uint64_t *a, uint64_t mask, uint64_t iters, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (uint64_t i = 0; i < iters; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        a[x & mask] += i;
    }
}

NOINLINE static uint64_t chase(const uint64_t *next, uint64_t steps)
{
    uint64_t i = 0;
    for (uint64_t s = 0; s < steps; s++)
        i = next[i];
    return i;
}

NOINLINE static void particles(struct particle *p, uint64_t n, double dt)
{
    for (uint64_t i = 0; i < n; i++) {
        p[i].x += p[i].vx * dt;
        p[i].y += p[i].vy * dt;
        p[i].z += p[i].vz * dt;
        if (p[i].z < 0) {
            p[i].vz = -p[i].vz;
            p[i].hits++;
        }
    }
}

NOINLINE static void copy_blocks(uint8_t *dst, const uint8_t *src, uint64_t blocks, size_t len)
{
    for (uint64_t b = 0; b < blocks; b++)
        memcpy(dst + b * len, src + ((b * 7919) % blocks) * len, len);
}

const struct bench_kernels K(kernels) = {seq_write, seq_read, rand_rmw, chase, particles, copy_blocks};
