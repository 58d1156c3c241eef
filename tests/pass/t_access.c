/* Access checks (post-copy model): pages marked absent hold zeroes while
 * their true bytes sit in rt_native's "source". Every load, store, atomic and
 * memory intrinsic compiled with the plugin must fetch an absent page before
 * touching it, so no read ever sees zero/stale data, and the slow path must
 * run for exactly the absent pages touched. */
#include "rt_native.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGES 192u
#define NOINLINE __attribute__((noinline))
#define NO_INSTRUMENT __attribute__((annotate("optmig_no_instrument")))

typedef uint16_t u16u __attribute__((aligned(1)));
typedef uint32_t u32u __attribute__((aligned(1)));
typedef uint64_t u64u __attribute__((aligned(1)));
typedef unsigned __int128 u128u __attribute__((aligned(1)));
typedef int v4si __attribute__((vector_size(16)));
typedef int v8si __attribute__((vector_size(32)));
typedef v4si v4si_u __attribute__((aligned(1)));
typedef v8si v8si_u __attribute__((aligned(1)));

static uint8_t *R;
static uint8_t *model;       /* the true contents of the range */
static uint8_t absent[PAGES]; /* the test's own view of what is absent */
static unsigned cases, failures;
static uint64_t rng = 0x2545f4914f6cdd1dull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static uint8_t pattern(uint64_t off) { return (uint8_t)((off * 2654435761u) >> 11) | 1; }

static void fail(const char *what, const char *why)
{
    failures++;
    printf("FAIL %s: %s\n", what, why);
}

/* Not instrumented: compares without fetching anything. */
NO_INSTRUMENT static int same_bytes(const uint8_t *a, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

NO_INSTRUMENT static uint8_t peek(const uint8_t *p) { return *(const volatile uint8_t *)p; }

static uint64_t expect_fetch[PAGES];
static size_t nexpect;

/* The operation touches [p, p+len): its absent pages must be fetched. */
static void touches(const void *p, size_t len)
{
    uint64_t a = (uint64_t)(uintptr_t)p - (uint64_t)(uintptr_t)R;
    for (uint64_t pg = a / RT_PAGE; len && pg <= (a + len - 1) / RT_PAGE; pg++)
        if (pg < PAGES && absent[pg]) {
            absent[pg] = 0;
            expect_fetch[nexpect++] = pg;
        }
}

static void set_absent(uint64_t first, uint64_t n)
{
    for (uint64_t p = first; p < first + n; p++)
        if (!absent[p]) {
            rt_make_absent(p, 1);
            absent[p] = 1;
        }
}

/* After an operation: exactly the expected pages were fetched, with no
 * slow-path call that found everything present (unless allowed). */
static void check_fetches(const char *what, int allow_spurious)
{
    uint64_t got[PAGES];
    size_t n = rt_fetched_pages(got, PAGES);
    cases++;
    int ok = n == nexpect;
    for (size_t i = 0; ok && i < n; i++) {
        size_t j;
        for (j = 0; j < nexpect && expect_fetch[j] != got[i]; j++)
            ;
        ok = j < nexpect;
    }
    if (!ok) {
        char buf[512];
        int len = snprintf(buf, sizeof buf, "fetched {");
        for (size_t i = 0; i < n && len < 400; i++)
            len += snprintf(buf + len, sizeof buf - len, " %llu", (unsigned long long)got[i]);
        len += snprintf(buf + len, sizeof buf - len, " } expected {");
        for (size_t i = 0; i < nexpect && len < 480; i++)
            len += snprintf(buf + len, sizeof buf - len, " %llu", (unsigned long long)expect_fetch[i]);
        snprintf(buf + len, sizeof buf - len, " }");
        fail(what, buf);
    }
    if (!allow_spurious && rt_stats.spurious)
        fail(what, "slow path called with every page present");
    for (uint64_t p = 0; p < PAGES; p++)
        if (!absent[p] && !rt_is_present(p)) {
            char why[80];
            snprintf(why, sizeof why, "page %llu, which the test considers present, is absent",
                     (unsigned long long)p);
            fail(what, why);
            break;
        }
    nexpect = 0;
    rt_reset_stats();
}

static void check_data(const char *what, const void *got, const void *want, size_t n)
{
    if (!same_bytes(got, want, n))
        fail(what, "read stale or zero data");
}

/* ---- readers ---- */
NOINLINE static uint8_t r8(const uint8_t *p) { return *p; }
NOINLINE static uint16_t r16u(const uint8_t *p) { return *(const u16u *)p; }
NOINLINE static uint32_t r32u(const uint8_t *p) { return *(const u32u *)p; }
NOINLINE static uint64_t r64u(const uint8_t *p) { return *(const u64u *)p; }
NOINLINE static unsigned __int128 r128u(const uint8_t *p) { return *(const u128u *)p; }
NOINLINE static v4si rv16u(const uint8_t *p) { return *(const v4si_u *)p; }
NOINLINE static void rv32u(const uint8_t *p, v8si *out) { *out = *(const v8si_u *)p; }
NOINLINE static uint64_t ratomic(const uint8_t *p)
{
    return __atomic_load_n((const uint64_t *)((uintptr_t)p & ~7ul), __ATOMIC_ACQUIRE);
}
NOINLINE static void rcpy24(uint8_t *d, const uint8_t *s) { memcpy(d, s, 24); }
NOINLINE static void rcpy300(uint8_t *d, const uint8_t *s) { memcpy(d, s, 300); }
NOINLINE static void rcpy5000(uint8_t *d, const uint8_t *s) { memcpy(d, s, 5000); }
NOINLINE static void rcpyvar(uint8_t *d, const uint8_t *s, size_t n) { memcpy(d, s, n); }

NOINLINE static uint64_t sum_bytes(const uint8_t *p, size_t n)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += p[i];
    return s;
}

NOINLINE static uint64_t sum_invariant(const uint64_t *q, uint64_t *out, int n)
{
    /* *q is loop-invariant but out may alias it: checked once, before the loop. */
    uint64_t s = 0;
    for (int i = 0; i < n; i++) {
        s += *q;
        out[i] = s;
    }
    return s;
}

struct rec { uint64_t a, b, c, d; };
NOINLINE static uint64_t read_fields(const struct rec *r) { return r->a ^ r->b ^ r->d; }

/* One reader at a run-time address; compares with the model. */
static void read_one(int kind, uint8_t *p, const char *what)
{
    uint8_t got[5000], *want;
    size_t n;
    switch (kind) {
    case 0: n = 1; got[0] = r8(p); break;
    case 1: n = 2; { uint16_t v = r16u(p); memcpy(got, &v, n); } break;
    case 2: n = 4; { uint32_t v = r32u(p); memcpy(got, &v, n); } break;
    case 3: n = 8; { uint64_t v = r64u(p); memcpy(got, &v, n); } break;
    case 4: n = 16; { unsigned __int128 v = r128u(p); memcpy(got, &v, n); } break;
    case 5: n = 16; { v4si v = rv16u(p); memcpy(got, &v, n); } break;
    case 6: n = 32; { v8si v; rv32u(p, &v); memcpy(got, &v, n); } break;
    case 7: p = (uint8_t *)((uintptr_t)p & ~7ul); n = 8; { uint64_t v = ratomic(p); memcpy(got, &v, n); } break;
    case 8: n = 24; rcpy24(got, p); break;
    case 9: n = 300; rcpy300(got, p); break;
    case 10: n = 5000; rcpy5000(got, p); break;
    default: n = 1 + next_rand() % 4000; rcpyvar(got, p, n); break;
    }
    want = model + (p - R);
    touches(p, n);
    check_data(what, got, want, n);
    check_fetches(what, kind >= 10);
}
#define NREADERS 12

/* ---- writers: the page must be fetched before a partial write ---- */
NOINLINE static void w8(uint8_t *p, uint8_t v) { *p = v; }
NOINLINE static void w64u(uint8_t *p, uint64_t v) { *(u64u *)p = v; }
NOINLINE static void wv16u(uint8_t *p, v4si v) { *(v4si_u *)p = v; }
NOINLINE static void wset(uint8_t *p, int c, size_t n) { memset(p, c, n); }
NOINLINE static uint64_t wadd(uint8_t *p, uint64_t v)
{
    return __atomic_fetch_add((uint64_t *)((uintptr_t)p & ~7ul), v, __ATOMIC_SEQ_CST);
}
NOINLINE static int wcas(uint8_t *p, uint64_t expect, uint64_t desired)
{
    return __atomic_compare_exchange_n((uint64_t *)((uintptr_t)p & ~7ul), &expect, desired, 0,
                                       __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
}

static void verify_page_of(const uint8_t *p, size_t n, const char *what)
{
    uint64_t first = (uint64_t)(p - R) / RT_PAGE, last = (uint64_t)(p + n - 1 - R) / RT_PAGE;
    check_data(what, R + first * RT_PAGE, model + first * RT_PAGE, (last - first + 1) * RT_PAGE);
}

static void write_one(int kind, uint8_t *p, const char *what)
{
    size_t n;
    uint8_t v[16];
    for (int i = 0; i < 16; i++)
        v[i] = (uint8_t)next_rand();
    switch (kind) {
    case 0: n = 1; w8(p, v[0]); break;
    case 1: n = 8; { uint64_t x; memcpy(&x, v, 8); w64u(p, x); } break;
    case 2: n = 16; { v4si x; memcpy(&x, v, 16); wv16u(p, x); } break;
    case 3: n = 1 + next_rand() % 300; memset(v, v[0], sizeof v); wset(p, v[0], n); break;
    case 4: {
        p = (uint8_t *)((uintptr_t)p & ~7ul);
        n = 8;
        uint64_t old, x;
        memcpy(&old, model + (p - R), 8);
        touches(p, n);
        if (wadd(p, 3) != old)
            fail(what, "atomic add saw stale data");
        x = old + 3;
        memcpy(model + (p - R), &x, 8);
        verify_page_of(p, n, what);
        check_fetches(what, 0);
        return;
    }
    default: {
        p = (uint8_t *)((uintptr_t)p & ~7ul);
        n = 8;
        uint64_t old, x;
        memcpy(&old, model + (p - R), 8);
        touches(p, n);
        if (!wcas(p, old, old ^ 0xff))
            fail(what, "cmpxchg saw stale data");
        x = old ^ 0xff;
        memcpy(model + (p - R), &x, 8);
        verify_page_of(p, n, what);
        check_fetches(what, 0);
        return;
    }
    }
    touches(p, n);
    for (size_t i = 0; i < n; i++)
        model[(p - R) + i] = kind == 3 ? v[0] : v[i];
    verify_page_of(p, n, what);
    check_fetches(what, 0); /* run-time length <= 4 KiB: checked inline, no spurious call */
}
#define NWRITERS 6

static void reset_absent(void)
{
    /* Restore everything, then mark a fresh random half absent. */
    static volatile uint8_t sinkv;
    for (uint64_t p = 0; p < PAGES; p++)
        if (absent[p]) {
            sinkv = (uint8_t)(sinkv + r8(R + p * RT_PAGE));
            absent[p] = 0;
        }
    rt_reset_stats();
    for (uint64_t p = 1; p < PAGES - 1; p++)
        if (next_rand() & 1)
            set_absent(p, 1);
}

static void test_boundaries(void)
{
    char what[96];
    for (int k = 0; k < NREADERS; k++)
        for (int off = -40; off <= 4; off += 4) {
            reset_absent();
            set_absent(20, 2);
            uint8_t *p = R + 21 * RT_PAGE + off - (k == 10 ? 2500 : 0);
            snprintf(what, sizeof what, "reader %d at boundary%+d", k, off);
            read_one(k, p, what);
        }
    for (int k = 0; k < NWRITERS; k++)
        for (int off = -20; off <= 4; off += 4) {
            reset_absent();
            set_absent(30, 2);
            snprintf(what, sizeof what, "writer %d at boundary%+d", k, off);
            write_one(k, R + 31 * RT_PAGE + off, what);
        }
}

static void test_random(void)
{
    char what[64];
    reset_absent();
    for (int i = 0; i < 3000; i++) {
        if (i % 500 == 0)
            reset_absent();
        uint8_t *p = R + RT_PAGE + next_rand() % ((PAGES - 4) * RT_PAGE);
        snprintf(what, sizeof what, "random op %d", i);
        if (next_rand() % 3)
            read_one((int)(next_rand() % NREADERS), p, what);
        else
            write_one((int)(next_rand() % NWRITERS), p, what);
    }
}

static void test_loops_and_structs(void)
{
    reset_absent();
    set_absent(40, 6);
    uint8_t *p = R + 40 * RT_PAGE + 100;
    size_t n = 5 * RT_PAGE;
    uint64_t want = 0;
    for (size_t i = 0; i < n; i++)
        want += model[(p - R) + i];
    touches(p, n);
    if (sum_bytes(p, n) != want)
        fail("vectorized sum loop", "read stale or zero data");
    check_fetches("vectorized sum loop", 0);

    set_absent(50, 1);
    uint64_t *q = (uint64_t *)(R + 50 * RT_PAGE + 64);
    uint64_t qv, out[64];
    memcpy(&qv, model + 50 * RT_PAGE + 64, 8);
    touches(q, 8);
    if (sum_invariant(q, out, 64) != qv * 64)
        fail("loop-invariant load", "read stale or zero data");
    check_fetches("loop-invariant load", 0);

    set_absent(60, 2);
    struct rec *r = (struct rec *)(R + 61 * RT_PAGE - 16);
    struct rec m;
    memcpy(&m, model + (61 * RT_PAGE - 16), sizeof m);
    touches(&r->a, 8), touches(&r->b, 8), touches(&r->d, 8);
    if (read_fields(r) != (m.a ^ m.b ^ m.d))
        fail("struct fields across pages", "read stale or zero data");
    check_fetches("struct fields across pages", 0);

    /* Excluded code does not fetch: it sees the zeroes of an absent page. */
    set_absent(70, 1);
    if (peek(R + 70 * RT_PAGE + 5) != 0 || rt_is_present(70))
        fail("optmig_no_instrument", "excluded function was instrumented");
    check_fetches("optmig_no_instrument", 0);
}

int main(int argc, char **argv)
{
    uint32_t bits = RT_TRACK_ACCESS;
    if (argc > 1 && !strcmp(argv[1], "--with-dirty"))
        bits |= RT_TRACK_DIRTY;
    R = rt_init(PAGES);
    model = malloc((size_t)PAGES * RT_PAGE);
    if (!model)
        return 2;
    for (uint64_t i = 0; i < (uint64_t)PAGES * RT_PAGE; i++)
        model[i] = pattern(i);
    memcpy(R, model, (size_t)PAGES * RT_PAGE);
    rt_set_track(bits);
    test_boundaries();
    test_random();
    test_loops_and_structs();
    printf("t_access: %u cases, %u failures\n", cases, failures);
    return failures != 0;
}
