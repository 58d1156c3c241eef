/* xsbench: XSBench-like Monte Carlo macroscopic cross-section lookups.
 *
 * Each of -n nuclides has a grid of G energy points (sorted, in [0, 1)),
 * each point holding five microscopic cross sections (total, elastic,
 * absorption, fission, nu-fission). Twelve materials mix nuclides with
 * XSBench's sizes and frequencies (fuel: 34 nuclides when -n 68). A lookup
 * draws (energy, material), binary-searches every nuclide of the material,
 * interpolates and accumulates the concentration-weighted macroscopic vector.
 * Lookup j draws from its own PRNG stream and the per-lookup results are
 * folded with a sum, so the digest is the same for any -t and interleaving
 * (plain IEEE arithmetic, no libm). One step = 65536 of thread 0's lookups.
 *
 * Footprint: 48 * n * G bytes, G = SIZE / (48 * n).
 */
#define _POSIX_C_SOURCE 200809L
#include "wl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NMAT 12

struct point {
    double e, xs[5];
};

struct part {
    uint64_t hash, argmax[5];
    char pad[16];
};

static const unsigned mat_size[NMAT] = { 34, 5, 4, 4, 27, 21, 21, 21, 21, 21, 9, 9 }; /* at 68 nuclides */
static const double mat_freq[NMAT] = { 0.140, 0.052, 0.275, 0.134, 0.154, 0.064,
                                       0.066, 0.055, 0.008, 0.015, 0.025, 0.013 };
static uint64_t opt_lookups = 250000, nucs = 68, npts;
static struct point *grid; /* nuclide i: grid[i*npts .. (i+1)*npts) */
static unsigned nmat[NMAT], *mat_nuc[NMAT];
static double *mat_conc[NMAT];
static struct part parts[64];
static uint64_t steps;

static int opt(int c, const char *arg)
{
    if (c == 'l')
        return wl_parse_u64(arg, &opt_lookups) || opt_lookups < 1 ? -1 : 0;
    return wl_parse_u64(arg, &nucs) || nucs < 12 || nucs > 100000 ? -1 : 0;
}

static double unit(uint64_t r) /* uniform in [0, 1) */
{
    return (double)(r >> 11) * 0x1p-53;
}

static void gen(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi;
    wl_range(nucs, tid, &lo, &hi);
    for (uint64_t i = lo; i < hi; i++) {
        struct point *p = grid + i * npts;
        uint64_t s = wl_mix64(wl.seed ^ (i << 20) ^ 0x6772696400ull);
        double e = 0;
        for (uint64_t k = 0; k < npts; k++) { /* increasing energies, scaled to [0, 1) below */
            e += unit(wl_rng(&s)) + 1e-3;
            p[k].e = e;
            for (int x = 0; x < 5; x++)
                p[k].xs[x] = unit(wl_rng(&s));
            if ((k & 0x3fff) == 0)
                wl_tick(tid);
        }
        double scale = 1.0 / (e + 1.0);
        for (uint64_t k = 0; k < npts; k++)
            p[k].e *= scale;
    }
}

static void lookups(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi, h = 0, seed = wl_mix64(wl.seed ^ 0x6c6f6f6b7570ull);
    wl_range(opt_lookups, tid, &lo, &hi);
    for (uint64_t j = lo; j < hi; j++) {
        uint64_t s = wl_mix64(seed ^ j);
        double energy = unit(wl_rng(&s)), pick = unit(wl_rng(&s)), macro[5] = { 0 };
        unsigned m = 0;
        while (m + 1 < NMAT && pick >= mat_freq[m]) /* XSBench's material distribution */
            pick -= mat_freq[m++];
        for (unsigned k = 0; k < nmat[m]; k++) {
            const struct point *p = grid + mat_nuc[m][k] * npts;
            uint64_t a = 0, b = npts - 1; /* largest a with p[a].e <= energy, clamped */
            while (b - a > 1) {
                uint64_t mid = a + (b - a) / 2;
                if (p[mid].e > energy)
                    b = mid;
                else
                    a = mid;
            }
            double f = (p[a + 1].e - energy) / (p[a + 1].e - p[a].e);
            for (int x = 0; x < 5; x++)
                macro[x] += mat_conc[m][k] * (p[a + 1].xs[x] - f * (p[a + 1].xs[x] - p[a].xs[x]));
        }
        int best = 0;
        uint64_t bits[5];
        memcpy(bits, macro, sizeof bits);
        for (int x = 1; x < 5; x++)
            if (macro[x] > macro[best])
                best = x;
        parts[tid].argmax[best]++;
        h += wl_mix64(bits[0] ^ wl_mix64(bits[1] ^ wl_mix64(bits[2] ^ wl_mix64(bits[3] ^ bits[4]))));
        if (((j - lo) & 0x3ff) == 0x3ff) {
            wl_tick(tid);
            if (tid == 0 && ((j - lo) & 0xffff) == 0xffff)
                wl_step(++steps);
        }
    }
    parts[tid].hash = h;
}

int main(int argc, char **argv)
{
    wl.name = "xsbench";
    wl.iters = 1;
    wl_options(argc, argv, "l:n:", opt,
               "  -i N     passes of -l lookups each, fresh draws every pass (default 1)\n"
               "  -l N     lookups per pass (default 250000)\n"
               "  -n N     nuclides, at least 12 (default 68)\n");
    if (opt_lookups > UINT64_MAX / wl.iters) {
        fprintf(stderr, "xsbench: -i times -l is too large\n");
        return 2;
    }
    opt_lookups *= wl.iters; /* pass p draws lookups p*l .. (p+1)*l-1 */
    npts = wl.size / (sizeof(struct point) * nucs);
    if (npts < 2) {
        fprintf(stderr, "xsbench: -s too small for %" PRIu64 " nuclides\n", nucs);
        return 2;
    }
    grid = wl_alloc(nucs * npts * sizeof *grid, "nuclide grids");
    uint64_t s = wl_mix64(wl.seed ^ 0x6d6174ull);
    for (int m = 0; m < NMAT; m++) { /* distinct nuclides per material, random concentrations */
        unsigned n = (unsigned)(mat_size[m] * nucs / 68);
        nmat[m] = n ? n : 1;
        mat_nuc[m] = wl_alloc(nmat[m] * sizeof *mat_nuc[m], "materials");
        mat_conc[m] = wl_alloc(nmat[m] * sizeof *mat_conc[m], "materials");
        for (unsigned k = 0; k < nmat[m]; k++) {
            unsigned c, dup;
            do {
                c = (unsigned)wl_below(wl_rng(&s), nucs);
                dup = 0;
                for (unsigned q = 0; q < k; q++)
                    dup |= mat_nuc[m][q] == c;
            } while (dup);
            mat_nuc[m][k] = c;
            mat_conc[m][k] = unit(wl_rng(&s));
        }
    }
    printf("xsbench: nuclides %" PRIu64 " gridpoints %" PRIu64 " lookups %" PRIu64 "\n", nucs, npts, opt_lookups);
    wl_parallel(gen, NULL);
    wl_parallel(lookups, NULL);
    uint64_t h = 0, am[5] = { 0 };
    for (unsigned t = 0; t < wl.threads; t++) {
        h += parts[t].hash;
        for (int x = 0; x < 5; x++)
            am[x] += parts[t].argmax[x];
    }
    printf("xsbench: argmax %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", am[0], am[1], am[2],
           am[3], am[4]);
    wl_finish(wl_mix64(h ^ npts) + am[0]);
    for (int m = 0; m < NMAT; m++) {
        free(mat_nuc[m]);
        free(mat_conc[m]);
    }
    free(grid);
    return 0;
}
