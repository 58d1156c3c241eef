/* t_alloc: the heap inside the enclave. Multi-threaded malloc/free/realloc
 * stress over more than 1 GiB in total, a 256 MiB block touched on every
 * page, calloc zeroing (also of recycled dirty memory), realloc keeping
 * contents while growing and shrinking, posix_memalign/aligned_alloc up to
 * 1 MiB alignment, fragmentation, and out-of-memory errors. Exits 0 only if
 * every check passed, with "t_alloc: PASS" as its last line. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_int failures;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            atomic_fetch_add(&failures, 1);                                \
            flockfile(stdout);                                             \
            printf("FAIL: ");                                              \
            printf(__VA_ARGS__);                                           \
            printf(" [%s:%d]\n", __FILE__, __LINE__);                      \
            funlockfile(stdout);                                           \
            fflush(stdout);                                                \
        }                                                                  \
    } while (0)

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

/* Pattern: byte i of a block tagged t is pat(t, i). Small blocks are filled
 * completely; big ones at both ends and every SPARSE_STEP bytes. */
static inline unsigned char pat(uint64_t t, size_t i)
{
    return (unsigned char)(mix64(t + (i >> 3)) >> ((i & 7) * 8));
}

#define FULL_LIMIT 8192
#define SPARSE_STEP 16384

static void fill(unsigned char *p, size_t n, uint64_t t)
{
    if (n <= FULL_LIMIT) {
        for (size_t i = 0; i < n; i++)
            p[i] = pat(t, i);
        return;
    }
    for (size_t i = 0; i < 64; i++) {
        p[i] = pat(t, i);
        p[n - 1 - i] = pat(t, n - 1 - i);
    }
    for (size_t i = SPARSE_STEP; i < n; i += SPARSE_STEP)
        p[i] = pat(t, i);
}

/* returns the first bad offset, or SIZE_MAX if the block is intact */
static size_t check(const unsigned char *p, size_t n, uint64_t t)
{
    if (n <= FULL_LIMIT) {
        for (size_t i = 0; i < n; i++)
            if (p[i] != pat(t, i))
                return i;
        return SIZE_MAX;
    }
    for (size_t i = 0; i < 64; i++) {
        if (p[i] != pat(t, i))
            return i;
        if (p[n - 1 - i] != pat(t, n - 1 - i))
            return n - 1 - i;
    }
    for (size_t i = SPARSE_STEP; i < n; i += SPARSE_STEP)
        if (p[i] != pat(t, i))
            return i;
    return SIZE_MAX;
}

/* like check(), for the first keep bytes of a block that fill() wrote with n bytes */
static size_t check_prefix(const unsigned char *p, size_t n, size_t keep, uint64_t t)
{
    if (n <= FULL_LIMIT) {
        for (size_t i = 0; i < keep; i++)
            if (p[i] != pat(t, i))
                return i;
        return SIZE_MAX;
    }
    for (size_t i = 0; i < 64 && i < keep; i++)
        if (p[i] != pat(t, i))
            return i;
    for (size_t i = n - 64; i < n && i < keep; i++)
        if (p[i] != pat(t, i))
            return i;
    for (size_t i = SPARSE_STEP; i < keep && i < n; i += SPARSE_STEP)
        if (p[i] != pat(t, i))
            return i;
    return SIZE_MAX;
}

/* ---- multi-threaded stress ---- */

#define STRESS_THREADS 4
#define STRESS_SLOTS 512
#define STRESS_BYTES_PER_THREAD (272ull << 20)

struct slot {
    unsigned char *p;
    size_t n;
    uint64_t tag;
};

static size_t pick_size(uint64_t *rng)
{
    uint64_t r = rng_next(rng);
    unsigned k = (unsigned)(r % 1000);
    r >>= 10;
    if (k < 900)
        return 1 + r % 4096;               /* small */
    if (k < 990)
        return 4096 + r % (124 * 1024);    /* medium */
    return (128 << 10) + r % (4u << 20);   /* large: own mappings */
}

static void *stress(void *arg)
{
    uint64_t id = (uint64_t)(uintptr_t)arg, rng = mix64(id + 1), tags = id << 48;
    struct slot s[STRESS_SLOTS];
    uint64_t total = 0, nalloc = 0, nrealloc = 0;
    memset(s, 0, sizeof s);
    while (total < STRESS_BYTES_PER_THREAD) {
        struct slot *x = &s[rng_next(&rng) % STRESS_SLOTS];
        if (x->p) {
            size_t bad = check(x->p, x->n, x->tag);
            CHECK(bad == SIZE_MAX, "thread %d: block of %zu bytes corrupt at offset %zu", (int)id, x->n, bad);
            if (rng_next(&rng) % 8 == 0) { /* realloc: keep the common prefix */
                size_t nn = pick_size(&rng), keep = nn < x->n ? nn : x->n;
                unsigned char *q = realloc(x->p, nn);
                CHECK(q != NULL, "thread %d: realloc to %zu failed", (int)id, nn);
                if (!q)
                    continue;
                size_t bad = check_prefix(q, x->n, keep, x->tag);
                CHECK(bad == SIZE_MAX, "thread %d: realloc %zu -> %zu changed byte %zu", (int)id, x->n, nn, bad);
                x->p = q;
                x->n = nn;
                x->tag = ++tags;
                fill(x->p, x->n, x->tag);
                total += nn;
                nrealloc++;
                continue;
            }
            free(x->p);
            x->p = NULL;
        }
        x->n = pick_size(&rng);
        x->p = malloc(x->n);
        CHECK(x->p != NULL, "thread %d: malloc(%zu) failed after %" PRIu64 " bytes", (int)id, x->n, total);
        if (!x->p)
            break;
        x->tag = ++tags;
        fill(x->p, x->n, x->tag);
        total += x->n;
        nalloc++;
    }
    for (int i = 0; i < STRESS_SLOTS; i++) {
        if (!s[i].p)
            continue;
        size_t bad = check(s[i].p, s[i].n, s[i].tag);
        CHECK(bad == SIZE_MAX, "thread %d: block corrupt at the end, offset %zu", (int)id, bad);
        free(s[i].p);
    }
    return (void *)(uintptr_t)(total >> 20);
}

static void test_stress(void)
{
    pthread_t th[STRESS_THREADS];
    uint64_t mib = 0;
    for (uintptr_t i = 0; i < STRESS_THREADS; i++)
        if (pthread_create(&th[i], NULL, stress, (void *)i)) {
            printf("FAIL: pthread_create\n");
            exit(1);
        }
    for (int i = 0; i < STRESS_THREADS; i++) {
        void *rv;
        pthread_join(th[i], &rv);
        mib += (uintptr_t)rv;
    }
    CHECK(mib >= 1024, "stress allocated only %" PRIu64 " MiB", mib);
    printf("ok: %d-thread malloc/realloc/free stress, %" PRIu64 " MiB in total\n", STRESS_THREADS, mib);
}

/* ---- one big block, every page ---- */

static void test_big(void)
{
    size_t n = 256u << 20;
    uint64_t *p = malloc(n);
    CHECK(p != NULL, "malloc(256 MiB) failed");
    if (!p)
        return;
    for (size_t i = 0; i < n / 8; i += 512)
        p[i] = mix64(i);
    size_t bad = 0;
    for (size_t i = 0; i < n / 8; i += 512)
        bad += p[i] != mix64(i);
    CHECK(bad == 0, "256 MiB block: %zu pages lost their contents", bad);
    free(p);
    printf("ok: 256 MiB block, every page written and read back\n");
}

/* ---- calloc ---- */

/* volatile so the compiler cannot see (and warn about) the impossible sizes */
static volatile size_t huge_half = SIZE_MAX / 2, huge_almost = SIZE_MAX - 4096;
/* results are stored here so the compiler cannot elide a malloc/free pair */
static void *volatile sink;
/* LLVM assumes malloc touches no memory but its own, so it would fold an errno
 * read after malloc into the errno = 0 before it: call through opaque pointers. */
static void *(*volatile malloc_p)(size_t) = malloc;
static void *(*volatile calloc_p)(size_t, size_t) = calloc;
static void *(*volatile realloc_p)(void *, size_t) = realloc;

static int all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return 0;
    return 1;
}

static void test_calloc(void)
{
    static const size_t sizes[] = {1, 7, 64, 1000, 4096, 4097, 100000, 1u << 20, 16u << 20, 64u << 20};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        size_t n = sizes[k];
        for (int round = 0; round < 3; round++) {
            unsigned char *d = malloc(n); /* leave dirty memory behind */
            if (d) {
                memset(d, 0xa5, n);
                free(d);
            }
            unsigned char *z = calloc(n, 1);
            CHECK(z != NULL, "calloc(%zu, 1) failed", n);
            if (!z)
                continue;
            CHECK(all_zero(z, n), "calloc(%zu, 1) returned non-zero memory", n);
            memset(z, 0x5a, n);
            free(z);
        }
        uint32_t *w = calloc(n / 4 + 1, 4);
        CHECK(w != NULL && all_zero((unsigned char *)w, (n / 4 + 1) * 4), "calloc(%zu, 4) not zero", n / 4 + 1);
        free(w);
    }
    errno = 0;
    void *o = calloc_p(huge_half, 4);
    sink = o;
    CHECK(o == NULL && errno == ENOMEM, "calloc with overflowing size: %p errno %d", o, errno);
    free(o);
    printf("ok: calloc zeroes, also over recycled memory\n");
}

/* ---- realloc ---- */

static void test_realloc(void)
{
    static const size_t steps[] = {10, 100, 5000, 200000, 8u << 20, 300000, 4000, 50, 3000000, 16};
    size_t n = steps[0];
    unsigned char *p = malloc(n);
    CHECK(p != NULL, "malloc(10)");
    if (!p)
        return;
    for (size_t i = 0; i < n; i++)
        p[i] = pat(77, i);
    for (size_t k = 1; k < sizeof steps / sizeof steps[0]; k++) {
        size_t nn = steps[k], keep = nn < n ? nn : n;
        unsigned char *q = realloc(p, nn);
        CHECK(q != NULL, "realloc(%zu -> %zu) failed", n, nn);
        if (!q) {
            free(p);
            return;
        }
        size_t bad = SIZE_MAX;
        for (size_t i = 0; i < keep; i++)
            if (q[i] != pat(77, i)) {
                bad = i;
                break;
            }
        CHECK(bad == SIZE_MAX, "realloc %zu -> %zu changed byte %zu", n, nn, bad);
        for (size_t i = keep; i < nn; i++)
            q[i] = pat(77, i);
        p = q;
        n = nn;
    }
    free(p);
    p = realloc(NULL, 123);
    CHECK(p != NULL, "realloc(NULL, 123) failed");
    free(p);
    printf("ok: realloc keeps contents growing and shrinking\n");
}

/* ---- aligned allocation ---- */

static void test_aligned(void)
{
    void *keep[64];
    int nkeep = 0;
    for (size_t al = sizeof(void *); al <= (1u << 20); al <<= 1) {
        static const size_t mult[] = {0, 1, 3};
        for (int m = 0; m < 3; m++) {
            size_t n = mult[m] ? al * mult[m] + 5 : 1;
            void *p = NULL;
            int e = posix_memalign(&p, al, n);
            CHECK(e == 0 && p, "posix_memalign(%zu, %zu) = %d", al, n, e);
            if (e || !p)
                continue;
            CHECK(((uintptr_t)p & (al - 1)) == 0, "posix_memalign(%zu) gave %p", al, p);
            memset(p, 0x3c, n);
            if (nkeep < 64)
                keep[nkeep++] = p;
            else
                free(p);
        }
        size_t n = al * 2;
        void *q = aligned_alloc(al, n);
        CHECK(q && ((uintptr_t)q & (al - 1)) == 0, "aligned_alloc(%zu, %zu) gave %p", al, n, q);
        if (q) {
            memset(q, 0xc3, n);
            free(q);
        }
    }
    for (int i = 0; i < nkeep; i++)
        free(keep[i]);
    void *p = NULL;
    CHECK(posix_memalign(&p, 3, 16) == EINVAL, "posix_memalign with alignment 3 did not return EINVAL");
    CHECK(posix_memalign(&p, 24, 16) == EINVAL, "posix_memalign with alignment 24 did not return EINVAL");
    printf("ok: posix_memalign/aligned_alloc alignments up to 1 MiB\n");
}

/* ---- fragmentation ---- */

#define FRAG_N 200000

static void test_frag(void)
{
    unsigned char **a = calloc(FRAG_N, sizeof *a);
    size_t *sz = calloc(FRAG_N, sizeof *sz);
    unsigned char **b = calloc(FRAG_N / 2, sizeof *b);
    uint64_t rng = 42;
    CHECK(a && sz && b, "fragmentation test tables");
    if (!a || !sz || !b)
        return;
    for (size_t i = 0; i < FRAG_N; i++) {
        sz[i] = 16 + rng_next(&rng) % 497;
        a[i] = malloc(sz[i]);
        CHECK(a[i] != NULL, "small malloc %zu", i);
        if (!a[i])
            return;
        fill(a[i], sz[i], i);
    }
    for (size_t i = 1; i < FRAG_N; i += 2) { /* punch holes */
        free(a[i]);
        a[i] = NULL;
    }
    for (size_t i = 0; i < FRAG_N / 2; i++) { /* too big for the holes */
        size_t n = 600 + rng_next(&rng) % 1400;
        b[i] = malloc(n);
        CHECK(b[i] != NULL, "medium malloc %zu", i);
        if (b[i])
            memset(b[i], 0xee, n);
    }
    size_t bad = 0;
    for (size_t i = 0; i < FRAG_N; i += 2)
        bad += check(a[i], sz[i], i) != SIZE_MAX;
    CHECK(bad == 0, "%zu small blocks corrupted by neighbours", bad);
    for (size_t i = 0; i < FRAG_N; i++)
        free(a[i]);
    for (size_t i = 0; i < FRAG_N / 2; i++)
        free(b[i]);
    unsigned char *big = malloc(128u << 20);
    CHECK(big != NULL, "malloc(128 MiB) after fragmentation failed");
    if (big) {
        for (size_t i = 0; i < (128u << 20); i += 4096)
            big[i] = 1;
        free(big);
    }
    free(a);
    free(sz);
    free(b);
    printf("ok: fragmentation (200k small, every other freed, 100k medium)\n");
}

/* ---- edges and errors ---- */

static void test_edges(void)
{
    void *z = malloc(0);
    free(z); /* NULL or a unique pointer; both may be freed */
    free(NULL);
    errno = 0;
    void *p = malloc_p(huge_half);
    sink = p;
    CHECK(p == NULL && errno == ENOMEM, "malloc(SIZE_MAX/2): %p errno %d", p, errno);
    free(p);
    errno = 0;
    p = malloc_p(huge_almost);
    sink = p;
    CHECK(p == NULL && errno == ENOMEM, "malloc(SIZE_MAX-4096): %p errno %d", p, errno);
    free(p);
    unsigned char *q = malloc(100);
    void *volatile q_alias = q;
    errno = 0;
    void *r = realloc_p(q_alias, huge_half);
    sink = r;
    CHECK(r == NULL && errno == ENOMEM, "realloc to SIZE_MAX/2: %p errno %d", r, errno);
    if (q) {
        q[99] = 1; /* the old block is still valid */
        free(q);
    }
    printf("ok: malloc(0), free(NULL), out-of-memory errors\n");
}

int main(void)
{
    test_edges();
    test_calloc();
    test_realloc();
    test_aligned();
    test_frag();
    test_big();
    test_stress();
    if (failures) {
        printf("t_alloc: FAIL (%d checks failed)\n", (int)failures);
        return 1;
    }
    printf("t_alloc: PASS\n");
    return 0;
}
