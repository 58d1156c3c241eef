/* Exact dirty tracking: every kind of write into the range marks exactly the
 * pages its bytes touch, and nothing else. Built with the OptMigPass plugin
 * (dirty tracking) at several -O levels and linked with rt_native.c. */
#include "rt_native.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES 256u
#define NOINLINE __attribute__((noinline))

typedef uint16_t u16u __attribute__((aligned(1)));
typedef uint32_t u32u __attribute__((aligned(1)));
typedef uint64_t u64u __attribute__((aligned(1)));
typedef unsigned __int128 u128u __attribute__((aligned(1)));
typedef int v4si __attribute__((vector_size(16)));
typedef int v8si __attribute__((vector_size(32)));
typedef v4si v4si_u __attribute__((aligned(1)));
typedef v8si v8si_u __attribute__((aligned(1)));

static uint8_t *R;
static uint64_t expected[PAGES];
static size_t nexpected;
static unsigned cases, failures;
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint8_t outside[3 * RT_PAGE]; /* not in the range */

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The bytes [p, p+len) were written: their pages inside the range must be dirty. */
static void want(const void *p, size_t len)
{
    uint64_t a = (uint64_t)(uintptr_t)p;
    uint64_t lo = (uint64_t)(uintptr_t)R, hi = lo + (uint64_t)PAGES * RT_PAGE;
    if (len == 0)
        return;
    for (uint64_t b = a; b < a + len; b = (b | (RT_PAGE - 1)) + 1) {
        if (b < lo || b >= hi)
            continue;
        uint64_t pg = (b - lo) / RT_PAGE;
        size_t i;
        for (i = 0; i < nexpected && expected[i] != pg; i++)
            ;
        if (i == nexpected)
            expected[nexpected++] = pg;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void check(const char *what)
{
    uint64_t got[PAGES];
    size_t n = rt_dirty_pages(got, PAGES);
    qsort(expected, nexpected, sizeof expected[0], cmp_u64);
    cases++;
    if (n != nexpected || memcmp(got, expected, n * sizeof got[0])) {
        failures++;
        printf("FAIL %s: dirty {", what);
        for (size_t i = 0; i < n; i++)
            printf(" %llu", (unsigned long long)got[i]);
        printf(" } expected {");
        for (size_t i = 0; i < nexpected; i++)
            printf(" %llu", (unsigned long long)expected[i]);
        printf(" }\n");
    }
    nexpected = 0;
    rt_clear_dirty();
}

/* ---- writers: one kind of store each, at a run-time address ---- */
NOINLINE static void w8(uint8_t *p) { *p = 0x11; }
NOINLINE static void w16u(uint8_t *p) { *(u16u *)p = 0x2222; }
NOINLINE static void w32u(uint8_t *p) { *(u32u *)p = 0x33333333; }
NOINLINE static void w64u(uint8_t *p) { *(u64u *)p = 0x4444444444444444ull; }
NOINLINE static void w128u(uint8_t *p) { *(u128u *)p = ~(unsigned __int128)0; }
NOINLINE static void wv16u(uint8_t *p) { *(v4si_u *)p = (v4si){1, 2, 3, 4}; }
NOINLINE static void wv32u(uint8_t *p) { *(v8si_u *)p = (v8si){1, 2, 3, 4, 5, 6, 7, 8}; }
NOINLINE static void wld(uint8_t *p) { long double x = 1.5L; memcpy(p, &x, 10); }
NOINLINE static void wset7(uint8_t *p) { memset(p, 0x77, 7); }
NOINLINE static void wset100(uint8_t *p) { memset(p, 0x64, 100); }
NOINLINE static void wset4096(uint8_t *p) { memset(p, 0x40, 4096); }
NOINLINE static void wset5000(uint8_t *p) { memset(p, 0x50, 5000); }
NOINLINE static void wcpy24(uint8_t *p) { memcpy(p, outside + 5, 24); }
NOINLINE static void wcpy300(uint8_t *p) { memcpy(p, outside + 1, 300); }
NOINLINE static void wmove40(uint8_t *p) { memmove(p, p + 3, 40); }
NOINLINE static void wadd64(uint8_t *p) { __atomic_fetch_add((uint64_t *)((uintptr_t)p & ~7ul), 5, __ATOMIC_SEQ_CST); }
NOINLINE static void wxchg32(uint8_t *p) { __atomic_exchange_n((uint32_t *)((uintptr_t)p & ~3ul), 9, __ATOMIC_ACQ_REL); }
NOINLINE static void wor8(uint8_t *p) { __atomic_fetch_or(p, 0x80, __ATOMIC_RELAXED); }
NOINLINE static void wstore_atomic(uint8_t *p) { __atomic_store_n((uint64_t *)((uintptr_t)p & ~7ul), 3, __ATOMIC_RELEASE); }

struct writer {
    const char *name;
    void (*fn)(uint8_t *);
    size_t size;  /* bytes written at p */
    size_t align; /* p is rounded down to this */
};
static const struct writer writers[] = {
    {"store8", w8, 1, 1},          {"store16 unaligned", w16u, 2, 1},
    {"store32 unaligned", w32u, 4, 1}, {"store64 unaligned", w64u, 8, 1},
    {"store128 unaligned", w128u, 16, 1}, {"vector16 unaligned", wv16u, 16, 1},
    {"vector32 unaligned", wv32u, 32, 1}, {"long double", wld, 10, 1},
    {"memset 7", wset7, 7, 1},     {"memset 100", wset100, 100, 1},
    {"memset 4096", wset4096, 4096, 1}, {"memset 5000", wset5000, 5000, 1},
    {"memcpy 24", wcpy24, 24, 1},  {"memcpy 300", wcpy300, 300, 1},
    {"memmove 40", wmove40, 40, 1}, {"atomic add 64", wadd64, 8, 8},
    {"atomic xchg 32", wxchg32, 4, 4}, {"atomic or 8", wor8, 1, 1},
    {"atomic store 64", wstore_atomic, 8, 8},
};
#define NWRITERS (sizeof writers / sizeof writers[0])

static void run_writer(const struct writer *w, uint8_t *p)
{
    p = (uint8_t *)((uintptr_t)p & ~(uintptr_t)(w->align - 1));
    if (w->fn == wmove40)
        want(p, 40);
    else
        want(p, w->size);
    w->fn(p);
}

/* Every writer at every offset around a page boundary. */
static void test_boundaries(void)
{
    char name[96];
    for (size_t k = 0; k < NWRITERS; k++)
        for (int off = -40; off <= 8; off++) {
            uint8_t *p = R + 10 * RT_PAGE + off;
            if (writers[k].size > 4096)
                p -= writers[k].size / 2;
            run_writer(&writers[k], p);
            snprintf(name, sizeof name, "%s at boundary%+d", writers[k].name, off);
            check(name);
        }
}

/* Random writes, checked in batches: the dirty set is exactly the union. */
static void test_random(void)
{
    char name[64];
    for (int batch = 0; batch < 300; batch++) {
        int n = 1 + (int)(next_rand() % 6);
        for (int i = 0; i < n; i++) {
            const struct writer *w = &writers[next_rand() % NWRITERS];
            uint64_t span = (uint64_t)(PAGES - 4) * RT_PAGE - w->size;
            run_writer(w, R + 2 * RT_PAGE + next_rand() % span);
        }
        snprintf(name, sizeof name, "random batch %d", batch);
        check(name);
    }
}

/* ---- inlined code: same-page merging, loops, struct copies ---- */
struct six { long a, b, c, d, e, f; };
struct big { char bytes[200]; };
struct huge { char bytes[8000]; };

NOINLINE static void fields(struct six *s)
{
    s->a = 1;
    s->c = 3;
    s->f = 6;
}

NOINLINE static void fields_first_last(struct six *s)
{
    s->a = 1;
    s->f = 6;
}

NOINLINE static void copy_big(struct big *d, const struct big *s) { *d = *s; }
NOINLINE static void copy_huge(struct huge *d, const struct huge *s) { *d = *s; }
NOINLINE static void copy_six(struct six *d, const struct six *s) { *d = *s; }

NOINLINE static void fill_ints(int *p, int n)
{
    for (int i = 0; i < n; i++)
        p[i] = i * 7;
}

NOINLINE static void fill_stride(uint8_t *p, int n, int stride)
{
    for (int i = 0; i < n; i++)
        p[(long)i * stride] = (uint8_t)i;
}

NOINLINE void opaque(int i);
NOINLINE void opaque(int i) { __asm__ volatile("" : : "r"(i) : "memory"); }

NOINLINE static void fill_with_calls(long *p, int n)
{
    for (int i = 0; i < n; i++) {
        p[i * 512] = i; /* one page per iteration */
        opaque(i);
    }
}

NOINLINE static long sum_into(const long *src, long *acc, int n)
{
    for (int i = 0; i < n; i++)
        *acc += src[i]; /* invariant address: acc may alias src */
    return *acc;
}

NOINLINE static void set_var(uint8_t *p, int c, size_t n) { memset(p, c, n); }
NOINLINE static void cpy_var(uint8_t *d, const uint8_t *s, size_t n) { memcpy(d, s, n); }
NOINLINE static void move_var(uint8_t *d, const uint8_t *s, size_t n) { memmove(d, s, n); }

NOINLINE static int cas64(uint64_t *p, uint64_t expect, uint64_t desired)
{
    return __atomic_compare_exchange_n(p, &expect, desired, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

NOINLINE static uint32_t sync_cas32(uint32_t *p, uint32_t expect, uint32_t desired)
{
    return __sync_val_compare_and_swap(p, expect, desired);
}

static void test_inlined(void)
{
    char name[96];
    for (int k = 0; k <= 48; k += 8) {
        struct six *s = (struct six *)(R + 20 * RT_PAGE - k);
        want(&s->a, 8), want(&s->c, 8), want(&s->f, 8);
        fields(s);
        snprintf(name, sizeof name, "struct fields a,c,f at boundary-%d", k);
        check(name);
        want(&s->a, 8), want(&s->f, 8);
        fields_first_last(s);
        snprintf(name, sizeof name, "struct fields a,f at boundary-%d", k);
        check(name);
        struct six *d = (struct six *)(R + 21 * RT_PAGE - k);
        want(d, sizeof *d);
        copy_six(d, s);
        snprintf(name, sizeof name, "struct copy 48 at boundary-%d", k);
        check(name);
    }
    struct big *bs = (struct big *)(R + 30 * RT_PAGE + 7), *bd = (struct big *)(R + 32 * RT_PAGE - 100);
    want(bd, sizeof *bd);
    copy_big(bd, bs);
    check("struct copy 200");
    struct huge *hd = (struct huge *)(R + 40 * RT_PAGE - 1000);
    want(hd, sizeof *hd);
    copy_huge(hd, (struct huge *)outside);
    check("struct copy 8000");

    int *ints = (int *)(R + 50 * RT_PAGE + 40);
    want(ints, 3000 * sizeof(int));
    fill_ints(ints, 3000);
    check("vectorized loop 12000 bytes");
    want(R + 60 * RT_PAGE + 4090, 1), want(R + 60 * RT_PAGE + 4090 + 4096, 1),
        want(R + 60 * RT_PAGE + 4090 + 2 * 4096, 1);
    fill_stride(R + 60 * RT_PAGE + 4090, 3, 4096);
    check("strided loop");
    long *lp = (long *)(R + 70 * RT_PAGE);
    for (int i = 0; i < 5; i++)
        want(lp + i * 512, sizeof(long));
    fill_with_calls(lp, 5);
    check("loop with calls");
    long *acc = (long *)(R + 80 * RT_PAGE + 8);
    want(acc, sizeof *acc);
    sum_into((const long *)(R + 81 * RT_PAGE), acc, 100);
    check("loop-invariant accumulator");

    static const size_t sizes[] = {1, 2, 7, 64, 4095, 4096, 4097, 8197, 3 * 4096};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (int off = -5; off <= 5; off += 5) {
            uint8_t *p = R + 90 * RT_PAGE + off;
            want(p, sizes[i]);
            set_var(p, 0xab, sizes[i]);
            snprintf(name, sizeof name, "memset var %zu at %+d", sizes[i], off);
            check(name);
            p = R + 100 * RT_PAGE + off;
            want(p, sizes[i]);
            cpy_var(p, R + 110 * RT_PAGE, sizes[i]);
            snprintf(name, sizeof name, "memcpy var %zu at %+d", sizes[i], off);
            check(name);
            p = R + 120 * RT_PAGE + off;
            want(p, sizes[i]);
            move_var(p, p + 3, sizes[i]);
            snprintf(name, sizeof name, "memmove var %zu at %+d", sizes[i], off);
            check(name);
        }
    set_var(R + 130 * RT_PAGE, 1, 0);
    check("memset 0 bytes");
    cpy_var(outside, R + 130 * RT_PAGE, 3000);
    check("memcpy range to outside");
    want(R + 131 * RT_PAGE - 10, 20);
    cpy_var(R + 131 * RT_PAGE - 10, outside, 20);
    check("memcpy outside to range");

    uint64_t *cp = (uint64_t *)(R + 140 * RT_PAGE);
    *cp = 5;
    rt_clear_dirty();
    if (cas64(cp, 4, 6))
        printf("FAIL cas succeeded\n"), failures++;
    check("cmpxchg failed: nothing written");
    want(cp, 8);
    if (!cas64(cp, 5, 6))
        printf("FAIL cas failed\n"), failures++;
    check("cmpxchg succeeded");
    uint32_t *sp = (uint32_t *)(R + 141 * RT_PAGE + 4);
    want(sp, 4);
    sync_cas32(sp, *sp, *sp + 1);
    check("__sync cmpxchg");
}

static void test_outside_and_off(void)
{
    long local[64];
    want(NULL, 0);
    w64u(outside + 1);
    wset100(outside);
    fill_ints((int *)local, 64);
    opaque((int)local[3]);
    check("writes outside the range");

    rt_set_track(0);
    w64u(R + 5 * RT_PAGE);
    wset5000(R + 7 * RT_PAGE);
    fill_ints((int *)(R + 9 * RT_PAGE), 100);
    check("tracking off");
}

int main(int argc, char **argv)
{
    uint32_t bits = RT_TRACK_DIRTY;
    if (argc > 1 && !strcmp(argv[1], "--with-access"))
        bits |= RT_TRACK_ACCESS;
    R = rt_init(PAGES);
    rt_set_track(bits);
    test_boundaries();
    test_random();
    test_inlined();
    test_outside_and_off();
    /* Every page is present: the access slow path (called only for memory
     * intrinsics of run-time or >4 KiB length) must never fetch. */
    if (rt_stats.fetched != 0) {
        printf("FAIL: %llu pages fetched with every page present\n",
               (unsigned long long)rt_stats.fetched);
        failures++;
    }
    printf("t_dirty: %u cases, %u failures, %llu __om_mark_range calls, %llu slow-path calls\n",
           cases, failures, (unsigned long long)rt_stats.mark_calls,
           (unsigned long long)rt_stats.slow_calls);
    return failures != 0;
}
