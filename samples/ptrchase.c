/* ptrchase: a pointer-heavy, multi-threaded sample.
 *
 * Nodes are indexed by two shared structures at once, a chained hash table
 * (chains kept sorted by key) and a skip list, both under one rwlock, and
 * threaded on a per-thread doubly linked LRU list. Every node owns a heap
 * payload whose bytes are derived from the node's value.
 *
 * Each thread owns the keys k with k mod T == t and only ever creates,
 * changes, re-keys or frees nodes with its own keys, drawing from its own
 * PRNG stream. What a thread does and sees (it reads only its own nodes'
 * contents) is therefore independent of scheduling, and so is the final
 * structure: chains are sorted, skip-list levels are drawn by the creating
 * thread. Same arguments => same digest, with any libc and any interleaving.
 *
 * At the end the main thread walks everything, checks every invariant
 * (sorted levels, chains in the right bucket, both indexes and the LRU lists
 * holding exactly the same nodes, payload contents) and prints a digest.
 * Exit status: 0 ok, 1 a check failed, 2 usage or allocation error.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXLVL 24

struct node {
    uint64_t key, val;
    struct node *hnext;        /* hash chain, ascending keys */
    struct node *lprev, *lnext; /* owner's LRU list, most recent first */
    unsigned char *payload;
    uint32_t plen;
    uint16_t owner;
    uint8_t level; /* number of skip-list forward pointers */
    uint8_t pad;
    struct node *fwd[];
};

struct thr {
    pthread_t th;
    unsigned id;
    uint64_t rng;
    struct node *lru; /* sentinel of the LRU list */
    uint64_t count;  /* nodes owned */
    uint64_t acc;    /* checksum of what this thread observed */
    uint64_t ops[6];
    char pad[64];
};

static unsigned opt_threads = 2;
static uint64_t opt_nodes = 100000, opt_keys, opt_iters = 200000, opt_seed = 1, opt_progress;
static int opt_quiet;

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static struct node **buckets;
static uint64_t nbuckets; /* power of two */
static struct node *head; /* skip-list head with MAXLVL pointers */
static struct thr *thrs;
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t rng_next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ull;
    return mix64(*s);
}

static inline uint64_t below(uint64_t *s, uint64_t n)
{
    return rng_next(s) % n;
}

static void die(const char *what)
{
    pthread_mutex_lock(&fail_lock);
    printf("FAIL: %s\n", what);
    printf("ptrchase: check FAILED\n");
    fflush(stdout);
    exit(1);
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "ptrchase: out of memory\n");
        exit(2);
    }
    return p;
}

/* ---- payloads ---- */

static void payload_fill(struct node *n)
{
    uint64_t s = n->val;
    for (uint32_t i = 0; i < n->plen; i += 8) {
        uint64_t w = rng_next(&s);
        uint32_t m = n->plen - i < 8 ? n->plen - i : 8;
        memcpy(n->payload + i, &w, m);
    }
}

static uint64_t payload_check(const struct node *n)
{
    uint64_t s = n->val, h = n->plen;
    for (uint32_t i = 0; i < n->plen; i += 8) {
        uint64_t w = rng_next(&s), got = 0;
        uint32_t m = n->plen - i < 8 ? n->plen - i : 8;
        memcpy(&got, n->payload + i, m);
        if (m < 8)
            w &= (1ull << (8 * m)) - 1;
        if (got != w)
            die("payload contents");
        h = mix64(h ^ got);
    }
    return h;
}

static void payload_set(struct node *n, uint64_t val, uint32_t len)
{
    unsigned char *p = realloc(n->payload, len);
    if (!p) {
        fprintf(stderr, "ptrchase: out of memory\n");
        exit(2);
    }
    n->payload = p;
    n->plen = len;
    n->val = val;
    payload_fill(n);
}

/* ---- LRU (owner thread only) ---- */

static void lru_unlink(struct node *n)
{
    n->lprev->lnext = n->lnext;
    n->lnext->lprev = n->lprev;
}

static void lru_push_front(struct thr *t, struct node *n)
{
    n->lnext = t->lru->lnext;
    n->lprev = t->lru;
    t->lru->lnext->lprev = n;
    t->lru->lnext = n;
}

/* ---- hash table + skip list (caller holds the lock) ---- */

static inline uint64_t bucket_of(uint64_t key)
{
    return mix64(key ^ 0x5bd1e995ull) & (nbuckets - 1);
}

static struct node *hash_find(uint64_t key)
{
    for (struct node *n = buckets[bucket_of(key)]; n && n->key <= key; n = n->hnext)
        if (n->key == key)
            return n;
    return NULL;
}

static void hash_insert(struct node *x)
{
    struct node **pp = &buckets[bucket_of(x->key)];
    while (*pp && (*pp)->key < x->key)
        pp = &(*pp)->hnext;
    x->hnext = *pp;
    *pp = x;
}

static void hash_remove(struct node *x)
{
    struct node **pp = &buckets[bucket_of(x->key)];
    while (*pp != x) {
        if (!*pp)
            die("hash_remove: node not in its chain");
        pp = &(*pp)->hnext;
    }
    *pp = x->hnext;
}

static struct node *skip_find(uint64_t key)
{
    struct node *p = head;
    for (int l = MAXLVL - 1; l >= 0; l--)
        while (p->fwd[l] && p->fwd[l]->key < key)
            p = p->fwd[l];
    p = p->fwd[0];
    return p && p->key == key ? p : NULL;
}

static void skip_insert(struct node *x)
{
    struct node *p = head;
    for (int l = MAXLVL - 1; l >= 0; l--) {
        while (p->fwd[l] && p->fwd[l]->key < x->key)
            p = p->fwd[l];
        if (l < x->level) {
            x->fwd[l] = p->fwd[l];
            p->fwd[l] = x;
        }
    }
}

static void skip_remove(struct node *x)
{
    struct node *p = head;
    for (int l = MAXLVL - 1; l >= 0; l--) {
        while (p->fwd[l] && p->fwd[l]->key < x->key)
            p = p->fwd[l];
        if (l < x->level) {
            if (p->fwd[l] != x)
                die("skip_remove: node missing from a level");
            p->fwd[l] = x->fwd[l];
        }
    }
}

static struct node *node_new(struct thr *t, uint64_t key, uint64_t val, uint32_t plen, uint64_t lvl_bits)
{
    unsigned level = 1;
    while (level < MAXLVL && (lvl_bits & 3) == 0) { /* p = 1/4 */
        level++;
        lvl_bits >>= 2;
    }
    struct node *n = xmalloc(sizeof *n + level * sizeof n->fwd[0]);
    memset(n, 0, sizeof *n + level * sizeof n->fwd[0]);
    n->key = key;
    n->owner = (uint16_t)t->id;
    n->level = (uint8_t)level;
    payload_set(n, val, plen);
    return n;
}

static void node_free(struct node *n)
{
    free(n->payload);
    free(n);
}

static inline uint64_t own_key(struct thr *t, uint64_t j)
{
    return j * opt_threads + t->id;
}

/* ---- workers ---- */

static void one_op(struct thr *t)
{
    uint64_t per = opt_keys / opt_threads;
    uint64_t r = rng_next(&t->rng);
    uint64_t key = own_key(t, below(&t->rng, per));
    unsigned op = (unsigned)(r % 100);
    struct node *n;

    if (op < 40) { /* lookup through both indexes */
        t->ops[0]++;
        pthread_rwlock_rdlock(&lock);
        n = hash_find(key);
        if (skip_find(key) != n)
            die("hash table and skip list disagree on a key");
        if (n) {
            if (n->owner != t->id)
                die("node owned by another thread");
            t->acc = mix64(t->acc ^ payload_check(n) ^ n->key);
        } else {
            t->acc = mix64(t->acc + key);
        }
        pthread_rwlock_unlock(&lock);
        if (n) {
            lru_unlink(n);
            lru_push_front(t, n);
        }
    } else if (op < 65) { /* insert or update */
        t->ops[1]++;
        uint64_t val = rng_next(&t->rng);
        uint32_t plen = 8 + (uint32_t)below(&t->rng, 249);
        uint64_t bits = rng_next(&t->rng);
        pthread_rwlock_wrlock(&lock);
        n = hash_find(key);
        if (n) {
            payload_set(n, val, plen);
            pthread_rwlock_unlock(&lock);
            lru_unlink(n);
        } else {
            n = node_new(t, key, val, plen, bits);
            hash_insert(n);
            skip_insert(n);
            pthread_rwlock_unlock(&lock);
            t->count++;
        }
        lru_push_front(t, n);
    } else if (op < 85) { /* delete */
        t->ops[2]++;
        pthread_rwlock_wrlock(&lock);
        n = hash_find(key);
        if (n) {
            hash_remove(n);
            skip_remove(n);
        }
        pthread_rwlock_unlock(&lock);
        if (n) {
            lru_unlink(n);
            node_free(n);
            t->count--;
        }
    } else if (op < 95) { /* re-key the least recently used node: pure rewiring */
        t->ops[3]++;
        n = t->lru->lprev;
        if (n == t->lru)
            return;
        pthread_rwlock_wrlock(&lock);
        struct node *other = hash_find(key);
        hash_remove(n);
        skip_remove(n);
        if (other && other != n) {
            /* the key is taken: the old node goes away */
            pthread_rwlock_unlock(&lock);
            lru_unlink(n);
            node_free(n);
            t->count--;
            return;
        }
        n->key = key;
        hash_insert(n);
        skip_insert(n);
        pthread_rwlock_unlock(&lock);
        lru_unlink(n);
        lru_push_front(t, n);
    } else if (op < 98) { /* swap payloads of the LRU head and tail */
        t->ops[4]++;
        struct node *a = t->lru->lnext, *b = t->lru->lprev;
        if (a == b)
            return;
        pthread_rwlock_wrlock(&lock);
        unsigned char *p = a->payload;
        uint32_t l = a->plen;
        uint64_t v = a->val;
        a->payload = b->payload; a->plen = b->plen; a->val = b->val;
        b->payload = p; b->plen = l; b->val = v;
        pthread_rwlock_unlock(&lock);
        lru_unlink(b);
        lru_push_front(t, b);
    } else { /* range scan over own keys in [key, key + 64*T) */
        t->ops[5]++;
        uint64_t end = key + 64ull * opt_threads;
        pthread_rwlock_rdlock(&lock);
        struct node *p = head;
        for (int l = MAXLVL - 1; l >= 0; l--)
            while (p->fwd[l] && p->fwd[l]->key < key)
                p = p->fwd[l];
        for (p = p->fwd[0]; p && p->key < end; p = p->fwd[0])
            if (p->owner == t->id)
                t->acc = mix64(t->acc ^ p->key ^ (p->val << 1));
        pthread_rwlock_unlock(&lock);
    }
}

static void *worker(void *arg)
{
    struct thr *t = arg;
    for (uint64_t i = 1; i <= opt_iters; i++) {
        one_op(t);
        if (opt_progress && t->id == 0 && i % opt_progress == 0) {
            printf("ptrchase: iter %" PRIu64 "\n", i);
            fflush(stdout);
        }
    }
    return NULL;
}

/* ---- final walk ---- */

static uint64_t check_and_digest(uint64_t *total)
{
    uint64_t d = 0x70747263ull, count = 0, prev = 0;
    /* level 0 in order, with payloads */
    for (struct node *n = head->fwd[0]; n; n = n->fwd[0]) {
        if (count && n->key <= prev)
            die("skip list level 0 not strictly ascending");
        if (n->owner >= opt_threads || n->key % opt_threads != n->owner)
            die("node key not in its owner's partition");
        if (n->key >= opt_keys)
            die("key out of range");
        if (hash_find(n->key) != n)
            die("skip-list node not found in the hash table");
        d = mix64(d ^ n->key) + mix64(n->val ^ payload_check(n)) + n->level;
        prev = n->key;
        count++;
    }
    /* upper levels: ascending, and only nodes that tall */
    for (int l = 1; l < MAXLVL; l++) {
        uint64_t c = 0;
        for (struct node *n = head->fwd[l]; n; n = n->fwd[l]) {
            if (n->level <= l)
                die("node on a skip-list level above its height");
            if (n->fwd[l] && n->fwd[l]->key <= n->key)
                die("skip list upper level not ascending");
            c++;
        }
        d = mix64(d + c);
    }
    /* hash chains */
    uint64_t hcount = 0;
    for (uint64_t b = 0; b < nbuckets; b++) {
        for (struct node *n = buckets[b]; n; n = n->hnext) {
            if (bucket_of(n->key) != b)
                die("node in the wrong hash bucket");
            if (n->hnext && n->hnext->key <= n->key)
                die("hash chain not ascending");
            if (skip_find(n->key) != n)
                die("hash-table node not found in the skip list");
            d = mix64(d ^ (n->key * 0x9e3779b97f4a7c15ull) ^ b);
            hcount++;
        }
    }
    if (hcount != count)
        die("hash table and skip list hold different numbers of nodes");
    /* LRU lists, in order */
    uint64_t lcount = 0;
    for (unsigned i = 0; i < opt_threads; i++) {
        struct thr *t = &thrs[i];
        uint64_t c = 0;
        for (struct node *n = t->lru->lnext; n != t->lru; n = n->lnext) {
            if (n->lnext->lprev != n)
                die("LRU list links inconsistent");
            if (n->owner != i)
                die("node on another thread's LRU list");
            if (hash_find(n->key) != n)
                die("LRU node not indexed");
            d = mix64(d ^ n->key) ^ i;
            if (++c > count)
                die("LRU list longer than the index (cycle?)");
        }
        if (c != t->count)
            die("LRU list length differs from the thread's count");
        d = mix64(d ^ t->acc);
        lcount += c;
    }
    if (lcount != count)
        die("LRU lists and indexes hold different numbers of nodes");
    *total = count;
    return mix64(d ^ count);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: ptrchase [options]\n"
        "  -t N     threads (default 2)\n"
        "  -n N     nodes built before the threads start (default 100000)\n"
        "  -k N     key space (default 4 * nodes)\n"
        "  -i N     operations per thread (default 200000)\n"
        "  -S SEED  seed (default 1)\n"
        "  -P N     print 'ptrchase: iter N' every N operations (thread 0)\n"
        "  -q       quiet: only the check result and the digest\n");
}

int main(int argc, char **argv)
{
    int c;
    uint64_t v;
    while ((c = getopt(argc, argv, "t:n:k:i:S:P:qh")) != -1) {
        switch (c) {
        case 't':
            if (parse_u64(optarg, &v) || v < 1 || v > 1024)
                goto bad;
            opt_threads = (unsigned)v;
            break;
        case 'n':
            if (parse_u64(optarg, &opt_nodes) || opt_nodes > (1ull << 32))
                goto bad;
            break;
        case 'k':
            if (parse_u64(optarg, &opt_keys) || opt_keys > (1ull << 48))
                goto bad;
            break;
        case 'i':
            if (parse_u64(optarg, &opt_iters))
                goto bad;
            break;
        case 'S':
            if (parse_u64(optarg, &opt_seed))
                goto bad;
            break;
        case 'P':
            if (parse_u64(optarg, &opt_progress))
                goto bad;
            break;
        case 'q':
            opt_quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        continue;
    bad:
        fprintf(stderr, "ptrchase: bad value for -%c: '%s'\n", c, optarg);
        usage(stderr);
        return 2;
    }
    if (optind != argc) {
        fprintf(stderr, "ptrchase: unexpected argument '%s'\n", argv[optind]);
        return 2;
    }
    if (!opt_keys)
        opt_keys = opt_nodes * 4 > 1024 ? opt_nodes * 4 : 1024;
    if (opt_keys < opt_threads || opt_keys < opt_nodes) {
        fprintf(stderr, "ptrchase: key space must hold the nodes and one key per thread\n");
        return 2;
    }
    opt_keys -= opt_keys % opt_threads; /* every thread owns the same number of keys */

    nbuckets = 1024;
    while (nbuckets < opt_nodes)
        nbuckets <<= 1;
    buckets = calloc(nbuckets, sizeof *buckets);
    head = calloc(1, sizeof *head + MAXLVL * sizeof head->fwd[0]);
    thrs = calloc(opt_threads, sizeof *thrs);
    if (!buckets || !head || !thrs) {
        fprintf(stderr, "ptrchase: out of memory\n");
        return 2;
    }
    head->level = MAXLVL;
    for (unsigned i = 0; i < opt_threads; i++) {
        thrs[i].id = i;
        thrs[i].rng = mix64(opt_seed * 0x2545f4914f6cdd1dull + i + 1);
        thrs[i].lru = calloc(1, sizeof *thrs[i].lru);
        if (!thrs[i].lru) {
            fprintf(stderr, "ptrchase: out of memory\n");
            return 2;
        }
        thrs[i].lru->lnext = thrs[i].lru->lprev = thrs[i].lru;
    }

    /* build: keys drawn until opt_nodes distinct ones are present */
    uint64_t rs = mix64(opt_seed ^ 0x6275696c64ull);
    for (uint64_t built = 0; built < opt_nodes;) {
        uint64_t key = below(&rs, opt_keys);
        uint64_t val = rng_next(&rs);
        uint32_t plen = 8 + (uint32_t)below(&rs, 249);
        uint64_t bits = rng_next(&rs);
        if (hash_find(key))
            continue;
        struct thr *t = &thrs[key % opt_threads];
        struct node *n = node_new(t, key, val, plen, bits);
        hash_insert(n);
        skip_insert(n);
        lru_push_front(t, n);
        t->count++;
        built++;
    }
    if (!opt_quiet) {
        printf("ptrchase: threads %u nodes %" PRIu64 " keys %" PRIu64 " iters %" PRIu64 " seed %" PRIu64 "\n",
               opt_threads, opt_nodes, opt_keys, opt_iters, opt_seed);
        fflush(stdout);
    }

    for (unsigned i = 0; i < opt_threads; i++) {
        int err = pthread_create(&thrs[i].th, NULL, worker, &thrs[i]);
        if (err) {
            fprintf(stderr, "ptrchase: pthread_create: %s\n", strerror(err));
            return 2;
        }
    }
    for (unsigned i = 0; i < opt_threads; i++)
        pthread_join(thrs[i].th, NULL);

    uint64_t total, digest = check_and_digest(&total);
    if (!opt_quiet) {
        uint64_t ops[6] = {0};
        for (unsigned i = 0; i < opt_threads; i++)
            for (int k = 0; k < 6; k++)
                ops[k] += thrs[i].ops[k];
        printf("ptrchase: ops lookup %" PRIu64 " upsert %" PRIu64 " delete %" PRIu64 " rekey %" PRIu64
               " swap %" PRIu64 " scan %" PRIu64 "\n",
               ops[0], ops[1], ops[2], ops[3], ops[4], ops[5]);
        printf("ptrchase: nodes %" PRIu64 "\n", total);
    }
    printf("ptrchase: check ok\n");
    printf("ptrchase: digest %016" PRIx64 "\n", digest);

    /* tear down through the LRU lists */
    for (unsigned i = 0; i < opt_threads; i++) {
        struct node *n = thrs[i].lru->lnext;
        while (n != thrs[i].lru) {
            struct node *next = n->lnext;
            node_free(n);
            n = next;
        }
        free(thrs[i].lru);
    }
    free(buckets);
    free(head);
    free(thrs);
    return 0;
}
