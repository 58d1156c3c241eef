/* pagerank: pull-style PageRank over a generated graph, -i iterations.
 *
 * The generated lists (wl_graph_gen) are read as in-edges: col[ptr[v]..]
 * are the vertices linking to v. Ranks are 64-bit fixed point (total mass
 * 2^52), so every sum is exact and order-free: the digest is the same for
 * any -t and any interleaving. Damping 0.85; the mass of dangling vertices
 * is spread evenly. One step = one iteration.
 *
 * Footprint: 28 + 4*deg bytes per vertex (92 at deg 16): offsets 8, edges
 * 4*deg, out-degree 4, rank 8, contribution 8.
 */
#define _POSIX_C_SOURCE 200809L
#include "wl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define ONE (1ull << 52)

struct part {
    uint64_t dangling, delta, hash;
    char pad[40];
};

static unsigned opt_deg = 16;
static struct wl_graph g;
static uint32_t *outdeg;
static uint64_t *rank, *contrib, base, spread;
static struct part parts[64];

static int opt(int c, const char *arg)
{
    uint64_t v;
    if (c != 'd' || wl_parse_u64(arg, &v) || v < 1 || v > 1024)
        return -1;
    opt_deg = (unsigned)v;
    return 0;
}

static void init(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi;
    wl_range(g.n, tid, &lo, &hi);
    for (uint64_t v = lo; v < hi; v++) {
        outdeg[v] = 0;
        rank[v] = ONE / g.n;
        if ((v & 0xffff) == 0)
            wl_tick(tid);
    }
}

static void count_out(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi;
    wl_range(g.m, tid, &lo, &hi);
    for (uint64_t e = lo; e < hi; e++) {
        __atomic_fetch_add(&outdeg[g.col[e]], 1, __ATOMIC_RELAXED);
        if ((e & 0xffff) == 0)
            wl_tick(tid);
    }
}

static void scatter(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi, dang = 0;
    wl_range(g.n, tid, &lo, &hi);
    for (uint64_t v = lo; v < hi; v++) {
        if (outdeg[v])
            contrib[v] = rank[v] / outdeg[v];
        else
            dang += rank[v];
        if ((v & 0xffff) == 0)
            wl_tick(tid);
    }
    parts[tid].dangling = dang;
}

static void gather(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi, delta = 0;
    wl_range(g.n, tid, &lo, &hi);
    for (uint64_t v = lo; v < hi; v++) {
        uint64_t sum = spread;
        for (uint64_t e = g.ptr[v]; e < g.ptr[v + 1]; e++)
            sum += contrib[g.col[e]];
        uint64_t r = base + sum / 100 * 85 + sum % 100 * 85 / 100; /* no overflow */
        delta += r > rank[v] ? r - rank[v] : rank[v] - r;
        rank[v] = r;
        if ((v & 0x3fff) == 0)
            wl_tick(tid);
    }
    parts[tid].delta = delta;
}

static void hash_ranks(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi, h = 0;
    wl_range(g.n, tid, &lo, &hi);
    for (uint64_t v = lo; v < hi; v++) {
        h += wl_mix64((v << 40) ^ rank[v]);
        if ((v & 0xffff) == 0)
            wl_tick(tid);
    }
    parts[tid].hash = h;
}

int main(int argc, char **argv)
{
    wl.name = "pagerank";
    wl.iters = 10;
    wl_options(argc, argv, "d:", opt,
               "  -i N     iterations (default 10)\n"
               "  -d DEG   mean in-degree (default 16)\n");
    uint64_t n = wl.size / (28 + 4ull * opt_deg);
    if (n < 2 || n >= UINT32_MAX) {
        fprintf(stderr, "pagerank: -s gives %" PRIu64 " vertices, need 2 .. 2^32-2\n", n);
        return 2;
    }
    wl_graph_gen(&g, n, opt_deg, wl.seed);
    outdeg = wl_alloc(n * sizeof *outdeg, "out-degrees");
    rank = wl_alloc(n * sizeof *rank, "ranks");
    contrib = wl_alloc(n * sizeof *contrib, "contributions");
    printf("pagerank: vertices %" PRIu64 " edges %" PRIu64 " iterations %" PRIu64 "\n", g.n, g.m, wl.iters);
    wl_parallel(init, NULL);
    wl_parallel(count_out, NULL);
    base = ONE / n * 15 / 100;
    for (uint64_t it = 1; it <= wl.iters; it++) {
        wl_parallel(scatter, NULL);
        uint64_t dang = 0, delta = 0;
        for (unsigned t = 0; t < wl.threads; t++)
            dang += parts[t].dangling;
        spread = dang / n;
        wl_parallel(gather, NULL);
        for (unsigned t = 0; t < wl.threads; t++)
            delta += parts[t].delta;
        printf("pagerank: iter %" PRIu64 " delta %" PRIu64 "\n", it, delta);
        wl_step(it);
    }
    wl_parallel(hash_ranks, NULL);
    uint64_t h = 0, best = 0;
    for (unsigned t = 0; t < wl.threads; t++)
        h += parts[t].hash;
    for (uint64_t v = 1; v < n; v++) {
        if (rank[v] > rank[best])
            best = v;
        if ((v & 0xffff) == 0)
            wl_tick(wl.threads);
    }
    printf("pagerank: top vertex %" PRIu64 " rank %.9f\n", best, (double)rank[best] / (double)ONE);
    wl_finish(wl_mix64(h ^ n) + best);
    free(g.ptr);
    free(g.col);
    free(outdeg);
    free(rank);
    free(contrib);
    return 0;
}
