/* hashjoin: a parallel hash join of two generated relations, R ⋈ S on key.
 *
 * R has N tuples with distinct keys (mix64 of the index, a bijection), S has
 * 4N tuples whose keys hit R with probability 3/4. The build phase inserts R
 * into an open-addressing table (linear probing, 2N slots, slots claimed by
 * compare-and-swap); each of the -i probe passes joins all of S against it and
 * aggregates the matches with a commutative sum, so the digest is the same for
 * any -t and any interleaving. One step = 65536 tuples of thread 0's share.
 *
 * Footprint: 112 bytes per R tuple: R 16, S 4*16, table 2*16.
 */
#define _POSIX_C_SOURCE 200809L
#include "wl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

struct tuple {
    uint64_t key, pay;
};

struct part {
    uint64_t matches, sum;
    char pad[48];
};

static struct tuple *rel_r, *rel_s, *table;
static uint64_t nr, ns, cap, kseed, pass_no, steps;
static struct part parts[64];

static uint64_t r_key(uint64_t i)
{
    uint64_t k = wl_mix64(i ^ kseed);
    return k ? k : 1; /* 0 marks an empty slot */
}

static uint64_t slot_of(uint64_t k)
{
    return wl_below(wl_mix64(k ^ 0x736c6f74ull), cap);
}

static void tick(unsigned tid, uint64_t i)
{
    if ((i & 0xfff) == 0xfff) {
        wl_tick(tid);
        if (tid == 0 && (i & 0xffff) == 0xffff)
            wl_step(++steps);
    }
}

static void gen(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi, pseed = wl_mix64(wl.seed ^ 0x706179ull);
    wl_range(nr, tid, &lo, &hi);
    for (uint64_t i = lo; i < hi; i++) {
        rel_r[i] = (struct tuple){ r_key(i), wl_mix64(i ^ pseed) };
        table[2 * i] = table[2 * i + 1] = (struct tuple){ 0, 0 };
        tick(tid, i - lo);
    }
    wl_range(ns, tid, &lo, &hi);
    for (uint64_t i = lo; i < hi; i++) {
        uint64_t r = wl_mix64(i ^ ~pseed);
        uint64_t k = (r & 3) ? r_key(wl_below(r, nr)) : wl_mix64(r); /* else: almost surely a miss */
        rel_s[i] = (struct tuple){ k, wl_mix64(r ^ 0x73ull) };
        tick(tid, i - lo);
    }
}

static void build(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi;
    wl_range(nr, tid, &lo, &hi);
    for (uint64_t i = lo; i < hi; i++) {
        uint64_t h = slot_of(rel_r[i].key);
        for (;;) {
            uint64_t empty = 0;
            if (__atomic_compare_exchange_n(&table[h].key, &empty, rel_r[i].key, 0, __ATOMIC_RELAXED,
                                            __ATOMIC_RELAXED))
                break;
            h = h + 1 == cap ? 0 : h + 1;
        }
        table[h].pay = rel_r[i].pay;
        tick(tid, i - lo);
    }
}

static void probe(unsigned tid, void *ctx)
{
    (void)ctx;
    uint64_t lo, hi, m = 0, sum = 0, salt = wl_mix64(pass_no);
    wl_range(ns, tid, &lo, &hi);
    for (uint64_t i = lo; i < hi; i++) {
        uint64_t k = rel_s[i].key;
        for (uint64_t h = slot_of(k); table[h].key; h = h + 1 == cap ? 0 : h + 1)
            if (table[h].key == k) { /* keep going: duplicates would all match */
                m++;
                sum += wl_mix64(table[h].pay ^ rel_s[i].pay ^ salt);
            }
        tick(tid, i - lo);
    }
    parts[tid].matches += m;
    parts[tid].sum += sum;
}

int main(int argc, char **argv)
{
    wl.name = "hashjoin";
    wl.iters = 2;
    wl_options(argc, argv, "", NULL, "  -i N     probe passes over S (default 2)\n");
    nr = wl.size / 112;
    ns = 4 * nr;
    cap = 2 * nr;
    kseed = wl_mix64(wl.seed ^ 0x6b657973ull);
    rel_r = wl_alloc(nr * sizeof *rel_r, "relation R");
    rel_s = wl_alloc(ns * sizeof *rel_s, "relation S");
    table = wl_alloc(cap * sizeof *table, "hash table");
    printf("hashjoin: R %" PRIu64 " S %" PRIu64 " slots %" PRIu64 " passes %" PRIu64 "\n", nr, ns, cap, wl.iters);
    wl_parallel(gen, NULL);
    wl_parallel(build, NULL);
    uint64_t digest = wl_mix64(nr ^ wl.seed);
    for (pass_no = 0; pass_no < wl.iters; pass_no++) {
        wl_parallel(probe, NULL);
        uint64_t m = 0, sum = 0;
        for (unsigned t = 0; t < wl.threads; t++) {
            m += parts[t].matches;
            sum += parts[t].sum;
            parts[t].matches = parts[t].sum = 0;
        }
        printf("hashjoin: pass %" PRIu64 " matches %" PRIu64 " sum %016" PRIx64 "\n", pass_no, m, sum);
        digest = wl_mix64(digest ^ sum) + m;
    }
    wl_finish(digest);
    free(rel_r);
    free(rel_s);
    free(table);
    return 0;
}
