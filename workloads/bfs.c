/* bfs: level-synchronous breadth-first search over a generated graph.
 *
 * The graph (CSR arrays in the heap, wl_graph_gen) has mean out-degree -d.
 * -i roots are searched one after another; each level is expanded by all
 * threads, claiming vertices with a compare-and-swap on their distance.
 * Distances do not depend on which thread claims a vertex, so the digest
 * (a commutative hash of every vertex's distance) is the same for any -t
 * and any interleaving. One step = one BFS level.
 *
 * Footprint: 20 + 4*deg bytes per vertex (84 at deg 16): offsets 8, edges
 * 4*deg, distance 4, two frontier queues 8.
 */
#define _POSIX_C_SOURCE 200809L
#include "wl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define UNSEEN UINT32_MAX
#define CHUNK 1024u /* frontier vertices per claim; one gap-clock tick each */
#define LOCAL 256u  /* discovered vertices buffered per thread before publishing */

static unsigned opt_deg = 16;
static struct wl_graph g;
static uint32_t *dist, *cur, *nxt;
static uint64_t ncur, nnext, cursor; /* cursor: next frontier index to claim */
static uint32_t level;
static uint64_t sums[64];

static int opt(int c, const char *arg)
{
    uint64_t v;
    if (c != 'd' || wl_parse_u64(arg, &v) || v < 1 || v > 1024)
        return -1;
    opt_deg = (unsigned)v;
    return 0;
}

static void publish(uint32_t *buf, unsigned n)
{
    uint64_t at = __atomic_fetch_add(&nnext, n, __ATOMIC_RELAXED);
    for (unsigned i = 0; i < n; i++)
        nxt[at + i] = buf[i];
}

static void expand(unsigned tid, void *ctx)
{
    (void)ctx;
    uint32_t buf[LOCAL];
    unsigned nb = 0;
    for (;;) {
        uint64_t lo = __atomic_fetch_add(&cursor, CHUNK, __ATOMIC_RELAXED);
        if (lo >= ncur)
            break;
        uint64_t hi = lo + CHUNK < ncur ? lo + CHUNK : ncur;
        for (uint64_t i = lo; i < hi; i++) {
            uint32_t u = cur[i];
            for (uint64_t e = g.ptr[u]; e < g.ptr[u + 1]; e++) {
                uint32_t v = g.col[e], unseen = UNSEEN;
                if (__atomic_load_n(&dist[v], __ATOMIC_RELAXED) != UNSEEN ||
                    !__atomic_compare_exchange_n(&dist[v], &unseen, level + 1, 0, __ATOMIC_RELAXED,
                                                 __ATOMIC_RELAXED))
                    continue;
                buf[nb++] = v;
                if (nb == LOCAL) {
                    publish(buf, nb);
                    nb = 0;
                }
            }
        }
        wl_tick(tid);
    }
    publish(buf, nb);
}

static void reset(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi;
    wl_range(g.n, tid, &lo, &hi);
    for (uint64_t v = lo; v < hi; v++) {
        dist[v] = UNSEEN;
        if ((v & 0xffff) == 0)
            wl_tick(tid);
    }
    wl_tick(tid);
}

static void hash_dist(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi, h = 0;
    wl_range(g.n, tid, &lo, &hi);
    for (uint64_t v = lo; v < hi; v++) {
        h += wl_mix64((v << 32) ^ dist[v]); /* a sum: independent of partitioning */
        if ((v & 0xffff) == 0)
            wl_tick(tid);
    }
    sums[tid] = h;
    wl_tick(tid);
}

int main(int argc, char **argv)
{
    wl.name = "bfs";
    wl.iters = 4;
    wl_options(argc, argv, "d:", opt,
               "  -i N     BFS roots, searched one after another (default 4)\n"
               "  -d DEG   mean out-degree (default 16)\n");
    uint64_t n = wl.size / (20 + 4ull * opt_deg);
    if (n < 2 || n >= UINT32_MAX) {
        fprintf(stderr, "bfs: -s gives %" PRIu64 " vertices, need 2 .. 2^32-2\n", n);
        return 2;
    }
    wl_graph_gen(&g, n, opt_deg, wl.seed);
    dist = wl_alloc(n * sizeof *dist, "distances");
    cur = wl_alloc(n * sizeof *cur, "frontier");
    nxt = wl_alloc(n * sizeof *nxt, "frontier");
    printf("bfs: vertices %" PRIu64 " edges %" PRIu64 " roots %" PRIu64 "\n", g.n, g.m, wl.iters);

    uint64_t digest = wl_mix64(g.n ^ (g.m << 20)), steps = 0, rs = wl_mix64(wl.seed ^ 0x726f6f74ull);
    for (uint64_t r = 0; r < wl.iters; r++) {
        uint32_t root = (uint32_t)wl_below(wl_rng(&rs), n);
        wl_parallel(reset, NULL);
        dist[root] = 0;
        cur[0] = root;
        ncur = 1;
        uint64_t reached = 1;
        for (level = 0; ncur; level++) {
            nnext = cursor = 0;
            wl_parallel(expand, NULL);
            uint32_t *t = cur;
            cur = nxt;
            nxt = t;
            ncur = nnext;
            reached += ncur;
            wl_step(++steps);
        }
        wl_parallel(hash_dist, NULL);
        uint64_t h = 0;
        for (unsigned t = 0; t < wl.threads; t++)
            h += sums[t];
        printf("bfs: root %" PRIu32 " reached %" PRIu64 " levels %" PRIu32 " hash %016" PRIx64 "\n", root,
               reached, level - 1, h);
        digest = wl_mix64(digest ^ h) + reached;
    }
    wl_finish(digest);
    free(g.ptr);
    free(g.col);
    free(dist);
    free(cur);
    free(nxt);
    return 0;
}
