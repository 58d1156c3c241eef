/* btree: B-tree inserts, then rounds of lookups, updates, upserts and deletes.
 *
 * Keys are key_i = mix64(i ^ seed'), i < N: distinct, since mix64 is a
 * bijection. There is one B-tree (minimum degree 16, nodes in the heap) per
 * thread, and thread t owns the keys k with k mod T == t: every thread scans
 * the whole operation sequence and applies the operations on its own keys, in
 * order. Each key therefore sees the same operations in the same order for
 * any -t and any interleaving, and the digest (a commutative hash of the live
 * entries, plus the lookup results) does not depend on either.
 * Deletes are tombstones: the entry stays in the tree, marked dead.
 * One step = 65536 operations of the sequence.
 *
 * Footprint: about 32 bytes per key after the insert phase (leaves of 31
 * keys, ~70% full); upserts grow it by ~7% per round.
 */
#define _POSIX_C_SOURCE 200809L
#include "wl.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIND 16u
#define MAXK (2u * MIND - 1u)
#define DEAD UINT64_MAX /* tombstone; live values are < 2^63 */

struct node {
    uint32_t n, leaf;
    uint64_t key[MAXK], val[MAXK];
    struct node *child[]; /* MAXK + 1 in internal nodes only */
};

struct shard {
    struct node *root;
    uint64_t hits, misses, updates, inserts, deletes, acc, live, hash;
    int disorder;
    char pad[64];
};

static struct shard shards[64];
static uint64_t nkeys, kseed, vseed, oseed;
static uint64_t round_no; /* current round, 0 = insert phase */

static struct node *new_node(int leaf)
{
    struct node *x = wl_alloc(sizeof *x + (leaf ? 0 : (MAXK + 1) * sizeof(struct node *)), "B-tree node");
    x->n = 0;
    x->leaf = (uint32_t)leaf;
    return x;
}

/* Splits the full child i of x around its median, which moves up into x. */
static void split_child(struct node *x, unsigned i)
{
    struct node *y = x->child[i], *z = new_node((int)y->leaf);
    z->n = MIND - 1;
    memcpy(z->key, y->key + MIND, (MIND - 1) * sizeof *z->key);
    memcpy(z->val, y->val + MIND, (MIND - 1) * sizeof *z->val);
    if (!y->leaf)
        memcpy(z->child, y->child + MIND, MIND * sizeof *z->child);
    y->n = MIND - 1;
    memmove(x->child + i + 2, x->child + i + 1, (x->n - i) * sizeof *x->child);
    x->child[i + 1] = z;
    memmove(x->key + i + 1, x->key + i, (x->n - i) * sizeof *x->key);
    memmove(x->val + i + 1, x->val + i, (x->n - i) * sizeof *x->val);
    x->key[i] = y->key[MIND - 1];
    x->val[i] = y->val[MIND - 1];
    x->n++;
}

static unsigned lower_bound(const struct node *x, uint64_t k)
{
    unsigned lo = 0, hi = x->n;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (x->key[mid] < k)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Inserts or overwrites; returns 1 if the key is new. */
static int insert(struct shard *s, uint64_t k, uint64_t v)
{
    if (s->root->n == MAXK) { /* grow at the root: split it before descending */
        struct node *r = new_node(0);
        r->child[0] = s->root;
        split_child(r, 0);
        s->root = r;
    }
    struct node *x = s->root;
    for (;;) {
        unsigned i = lower_bound(x, k);
        if (i < x->n && x->key[i] == k) {
            x->val[i] = v;
            return 0;
        }
        if (x->leaf) {
            memmove(x->key + i + 1, x->key + i, (x->n - i) * sizeof *x->key);
            memmove(x->val + i + 1, x->val + i, (x->n - i) * sizeof *x->val);
            x->key[i] = k;
            x->val[i] = v;
            x->n++;
            return 1;
        }
        if (x->child[i]->n == MAXK) {
            split_child(x, i);
            if (x->key[i] == k) {
                x->val[i] = v;
                return 0;
            }
            if (k > x->key[i])
                i++;
        }
        x = x->child[i];
    }
}

static uint64_t *lookup(struct shard *s, uint64_t k)
{
    for (struct node *x = s->root;;) {
        unsigned i = lower_bound(x, k);
        if (i < x->n && x->key[i] == k)
            return &x->val[i];
        if (x->leaf)
            return NULL;
        x = x->child[i];
    }
}

static uint64_t key_of(uint64_t i)
{
    return wl_mix64(i ^ kseed);
}

/* Operation j of a round on key k, drawn from r. */
static void op(struct shard *s, uint64_t r, uint64_t k, uint64_t j)
{
    unsigned kind = (unsigned)wl_below(r, 100);
    uint64_t *v = lookup(s, k);
    if (kind < 80) { /* lookup */
        if (v && *v != DEAD) {
            s->hits++;
            s->acc += *v;
        } else {
            s->misses++;
        }
    } else if (kind < 95) { /* update, or insert if absent or dead */
        uint64_t nv = wl_mix64(k ^ j ^ vseed) >> 1;
        if (v && *v != DEAD) {
            *v = nv;
            s->updates++;
        } else if (v) {
            *v = nv;
            s->inserts++;
        } else {
            s->inserts += (uint64_t)insert(s, k, nv);
        }
    } else if (v && *v != DEAD) { /* delete */
        *v = DEAD;
        s->deletes++;
    }
}

static void work(unsigned tid, void *ctx)
{
    (void)ctx;
    struct shard *s = &shards[tid];
    for (uint64_t j = 0; j < nkeys; j++) {
        if (round_no == 0) {
            uint64_t k = key_of(j);
            if (k % wl.threads == tid)
                s->inserts += (uint64_t)insert(s, k, wl_mix64(k ^ vseed) >> 1);
        } else {
            uint64_t r = wl_mix64(oseed ^ (round_no << 48) ^ j);
            uint64_t k = r & 1 ? key_of(wl_below(wl_mix64(r), nkeys)) : wl_mix64(r ^ 0x6b6579ull); /* else: new */
            if (k % wl.threads == tid)
                op(s, r, k, j);
        }
        if ((j & 0xfff) == 0xfff) {
            wl_tick(tid);
            if (tid == 0 && (j & 0xffff) == 0xffff)
                wl_step((round_no * nkeys + j + 1) >> 16);
        }
    }
}

static uint64_t prev_key;
static uint64_t have_prev; /* entries walked in this tree */

static void walk(struct shard *s, const struct node *x)
{
    for (unsigned i = 0; i <= x->n; i++) {
        if (!x->leaf)
            walk(s, x->child[i]);
        if (i == x->n)
            break;
        if (have_prev && x->key[i] <= prev_key)
            s->disorder = 1;
        prev_key = x->key[i];
        if ((have_prev++ & 0xfff) == 0)
            wl_tick(0);
        if (x->val[i] != DEAD) {
            s->live++;
            s->hash += wl_mix64(x->key[i] ^ wl_mix64(x->val[i]));
        }
    }
}

static void check(unsigned tid, void *ctx)
{
    (void)ctx;
    if (tid == 0) /* one walker: prev_key is shared; the walk is cheap */
        for (unsigned t = 0; t < wl.threads; t++) {
            have_prev = 0;
            walk(&shards[t], shards[t].root);
            wl_tick(0);
        }
}

int main(int argc, char **argv)
{
    wl.name = "btree";
    wl.iters = 2;
    wl_options(argc, argv, "", NULL, "  -i N     rounds of lookups (80%), updates/upserts (15%), deletes (5%) (default 2)\n");
    nkeys = wl.size / 32;
    kseed = wl_mix64(wl.seed ^ 0x6b657973ull);
    vseed = wl_mix64(wl.seed ^ 0x76616c73ull);
    oseed = wl_mix64(wl.seed ^ 0x6f707300ull);
    for (unsigned t = 0; t < wl.threads; t++)
        shards[t].root = new_node(1);
    printf("btree: keys %" PRIu64 " rounds %" PRIu64 "\n", nkeys, wl.iters);
    for (round_no = 0; round_no <= wl.iters; round_no++)
        wl_parallel(work, NULL);
    wl_parallel(check, NULL);

    struct shard sum = { 0 };
    for (unsigned t = 0; t < wl.threads; t++) {
        struct shard *s = &shards[t];
        sum.hits += s->hits; sum.misses += s->misses; sum.updates += s->updates;
        sum.inserts += s->inserts; sum.deletes += s->deletes; sum.acc += s->acc;
        sum.live += s->live; sum.hash += s->hash; sum.disorder |= s->disorder;
    }
    if (sum.disorder) {
        printf("btree: order check FAILED\n");
        return 1;
    }
    printf("btree: inserts %" PRIu64 " lookups %" PRIu64 " hits %" PRIu64 " updates %" PRIu64
           " deletes %" PRIu64 " live %" PRIu64 "\n",
           sum.inserts, sum.hits + sum.misses, sum.hits, sum.updates, sum.deletes, sum.live);
    wl_finish(wl_mix64(sum.hash ^ wl_mix64(sum.acc ^ wl_mix64(sum.live))) + sum.hits);
    return 0;
}
