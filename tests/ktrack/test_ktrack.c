/* Tests of the host's userfaultfd service for the kernel tracker
 * (src/host/ktrack.c), driven directly and through its OCALL entry point
 * om_kth_service: exact dirty sets (THP-backed and never-touched pages),
 * post-copy blocking until install, zero fill of other pages, EEXIST, the
 * wanted queue and its spill, and the checks on hostile OCALL arguments.
 * Prints "FAIL: ..." per failed check; exits 77 without userfaultfd. */
#include "ktrack.h"
#include "tracker_uffd.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PG 4096ull
static int failures;
#define CHECK(c, ...)                                                    \
    do {                                                                 \
        if (!(c)) {                                                      \
            failures++;                                                  \
            printf("FAIL: " __VA_ARGS__);                                \
            printf(" [%s:%d]\n", __FILE__, __LINE__);                    \
            fflush(stdout);                                              \
        }                                                                \
    } while (0)
#define REQUIRE(c, ...)                                                  \
    do {                                                                 \
        int ok_ = (c);                                                   \
        CHECK(ok_, __VA_ARGS__);                                         \
        if (!ok_)                                                        \
            exit(1);                                                     \
    } while (0)

/* 2 MiB-aligned anonymous region, so THP can back it. */
static uint8_t *region(uint64_t npages)
{
    uint64_t len = npages * PG, al = 2ull << 20;
    uint8_t *raw = mmap(NULL, len + al, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    REQUIRE(raw != MAP_FAILED, "mmap");
    uint8_t *p = (uint8_t *)(((uintptr_t)raw + al - 1) & ~(uintptr_t)(al - 1));
    if (p > raw)
        munmap(raw, (size_t)(p - raw));
    munmap(p + len, (size_t)(raw + len + al - (p + len)));
    return p;
}

static uint64_t word_of(uint64_t page, uint64_t w) { return (page << 20 | w) * 0x9E3779B97F4A7C15ull + 1; }

static void fill(uint8_t *dst, uint64_t page)
{
    for (uint64_t w = 0; w < PG / 8; w++) {
        uint64_t v = word_of(page, w);
        memcpy(dst + w * 8, &v, 8);
    }
}

static int matches(const uint8_t *src, uint64_t page)
{
    for (uint64_t w = 0; w < PG / 8; w++) {
        uint64_t v;
        memcpy(&v, src + w * 8, 8);
        if (v != word_of(page, w))
            return 0;
    }
    return 1;
}

static int is_zero(const uint8_t *p)
{
    for (uint64_t i = 0; i < PG; i++)
        if (p[i])
            return 0;
    return 1;
}

static int bit(const uint64_t *bm, uint64_t i) { return (bm[i / 64] >> (i % 64)) & 1; }
static void set_bit(uint64_t *bm, uint64_t i) { bm[i / 64] |= 1ull << (i % 64); }

static void sleep_ms(unsigned ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- dirty */

/* Collects through the OCALL entry point, as the enclave does. */
static uint8_t scratch[1 << 20] __attribute__((aligned(4096)));
static struct om_layout lay;

static int64_t collect_oc(uint64_t first, uint64_t n, uint64_t *out)
{
    uint64_t *buf = (uint64_t *)(scratch + 4096);
    int64_t a[6] = { OM_MIG_KT_DIRTY_COLLECT, (int64_t)first, (int64_t)n, (int64_t)buf };
    int64_t r = om_kth_service(scratch, sizeof(scratch), &lay, a);
    if (r >= 0)
        memcpy(out, buf, (n + 63) / 64 * 8);
    return r;
}

static void test_dirty(void)
{
    /* 4096 pages: the first half populated under THP, the second never touched. */
    const uint64_t n = 4096, words = n / 64;
    uint8_t *p = region(n);
    madvise(p, n * PG, MADV_HUGEPAGE);
    memset(p, 7, n / 2 * PG);
    lay = (struct om_layout){ .base = (uint64_t)p, .size = n * PG, .heap_lo = (uint64_t)p, .heap_hi = (uint64_t)p + n * PG };
    int64_t a[6] = { OM_MIG_KT_DIRTY_START, (int64_t)p, (int64_t)(n * PG) };
    REQUIRE(om_kth_service(scratch, sizeof(scratch), &lay, a) == 0, "dirty start through the service");
    CHECK(om_kth_dirty_start((uint64_t)p, n * PG) == -EBUSY, "second dirty start is refused");

    uint64_t want[64] = { 0 }, got[64];
    CHECK(collect_oc(0, n, got) == 0, "nothing dirty right after start");
    srand(7);
    volatile uint8_t sink = 0;
    for (int k = 0; k < 300; k++) {
        uint64_t i = (uint64_t)rand() % n;
        if (k % 3 == 2 && i >= n / 2) {
            sink += p[i * PG + 5]; /* a read of a never-touched page is not a write */
            continue;
        }
        p[i * PG + (uint64_t)k % PG] = (uint8_t)k;
        set_bit(want, i);
    }
    /* A store crossing a page boundary dirties both pages, including a THP-split one. */
    memcpy(p + 1000 * PG - 3, "abcdef", 6);
    set_bit(want, 999);
    set_bit(want, 1000);
    (void)sink;
    uint64_t expect = 0;
    for (uint64_t w = 0; w < words; w++)
        expect += (uint64_t)__builtin_popcountll(want[w]);
    int64_t r = collect_oc(0, n, got);
    CHECK(r == (int64_t)expect, "collect returned %lld, wrote %llu pages", (long long)r, (unsigned long long)expect);
    int exact = 1;
    for (uint64_t i = 0; i < n; i++)
        exact &= bit(got, i) == bit(want, i);
    CHECK(exact, "dirty bitmap equals the pages written (THP and never-touched halves)");
    CHECK(collect_oc(0, n, got) == 0, "a second collect finds nothing");

    /* Chunked collects, as the enclave does for large heaps. */
    memset(want, 0, sizeof(want));
    for (uint64_t i = 5; i < n; i += 97) {
        p[i * PG] ^= 1;
        set_bit(want, i);
    }
    exact = 1;
    for (uint64_t first = 0; first < n; first += 1024) {
        CHECK(collect_oc(first, 1024, got) >= 0, "chunk collect");
        for (uint64_t i = 0; i < 1024; i++)
            exact &= bit(got, i) == bit(want, first + i);
    }
    CHECK(exact, "chunked collects give the same set");

    /* Hostile arguments. */
    int64_t bad1[6] = { OM_MIG_KT_DIRTY_COLLECT, 0, (int64_t)n, (int64_t)scratch };
    CHECK(om_kth_service(scratch, sizeof(scratch), &lay, bad1) == -EFAULT, "bitmap over the OCALL record");
    int64_t bad2[6] = { OM_MIG_KT_DIRTY_COLLECT, 0, 1 << 30, (int64_t)(scratch + 4096) };
    CHECK(om_kth_service(scratch, sizeof(scratch), &lay, bad2) == -EFAULT, "bitmap past the scratch end");
    int64_t bad3[6] = { OM_MIG_KT_DIRTY_COLLECT, (int64_t)n - 10, 64, (int64_t)(scratch + 4096) };
    CHECK(om_kth_service(scratch, sizeof(scratch), &lay, bad3) == -EINVAL, "pages past the region");
    int64_t bad4[6] = { 999 };
    CHECK(om_kth_service(scratch, sizeof(scratch), &lay, bad4) == -ENOSYS, "unknown service");
    om_kth_dirty_stop();
    CHECK(om_kth_dirty_collect(0, 64, got) == -ENODEV, "collect after stop");
    int64_t bad5[6] = { OM_MIG_KT_DIRTY_START, (int64_t)p - 4096, (int64_t)(n * PG) };
    CHECK(om_kth_service(scratch, sizeof(scratch), &lay, bad5) == -EINVAL, "start outside the heap");
    munmap(p, n * PG);
}

/* --------------------------------------------------------------- absent */

struct reader {
    const uint8_t *page;
    uint8_t copy[4096];
    atomic_int done;
};

static void *reader_main(void *arg)
{
    struct reader *r = arg;
    memcpy(r->copy, r->page, PG);
    atomic_store(&r->done, 1);
    return NULL;
}

static int wait_done(struct reader *r, unsigned ms)
{
    for (unsigned t = 0; t < ms && !atomic_load(&r->done); t++)
        sleep_ms(1);
    return atomic_load(&r->done);
}

static uint8_t src[4096];

struct kwriter {
    int fd;
    const uint8_t *from;
    ssize_t r;
};

static void *kwriter_main(void *arg)
{
    struct kwriter *k = arg;
    k->r = write(k->fd, k->from, 64);
    return NULL;
}

static void test_absent(void)
{
    const uint64_t n = 2048, words = n / 64;
    /* The "enclave": the region, then a page buffer outside it. */
    uint8_t *p = region(n + 1), *src = p + n * PG;
    madvise(p, n * PG, MADV_HUGEPAGE);
    lay = (struct om_layout){ .base = (uint64_t)p, .size = (n + 1) * PG, .heap_lo = (uint64_t)p,
                              .heap_hi = (uint64_t)p + n * PG };
    uint64_t pend[32] = { 0 };
    REQUIRE(words <= 32, "bitmap size");
    for (uint64_t i = 100; i < 500; i++)
        set_bit(pend, i);
    set_bit(pend, 1500);
    /* State written before absent_start: a non-pending page whose huge page
     * also covers pending ones, and a prefaulted pending page. */
    fill(p + 20 * PG, 20);
    memset(p + 1500 * PG, 0x55, PG);
    /* The pending set crosses in two chunks through the service. */
    for (uint64_t first = 0; first < n; first += 1024) {
        memcpy(scratch + 4096, pend + first / 64, 1024 / 8);
        int64_t a[6] = { OM_MIG_KT_PENDING, (int64_t)p, (int64_t)(n * PG), (int64_t)first, 1024,
                         (int64_t)(scratch + 4096) };
        CHECK(om_kth_service(scratch, sizeof(scratch), &lay, a) == 0, "pending chunk %llu", (unsigned long long)first);
    }
    int64_t st[6] = { OM_MIG_KT_ABSENT_START, (int64_t)p, (int64_t)(n * PG) };
    int rc = (int)om_kth_service(scratch, sizeof(scratch), &lay, st);
    REQUIRE(rc == 0, "absent start: %d", rc);
    CHECK(matches(p + 20 * PG, 20), "a page written before start keeps its content");

    /* Non-pending, never written: reads zero at once. */
    struct reader z = { .page = p + 1200 * PG };
    memset(z.copy, 0xff, PG);
    pthread_t th;
    pthread_create(&th, NULL, reader_main, &z);
    CHECK(wait_done(&z, 5000), "a non-pending page does not block");
    pthread_join(th, NULL);
    CHECK(is_zero(z.copy), "a non-pending page reads zero");

    /* Pending (and in the same huge page as page 20): blocks until installed. */
    uint64_t got[8];
    CHECK(om_kth_wanted(got, 8, 50) == 0, "nothing wanted before a fault");
    struct reader r = { .page = p + 150 * PG };
    pthread_create(&th, NULL, reader_main, &r);
    int64_t w = om_kth_wanted(got, 8, 5000);
    CHECK(w == 1 && got[0] == 150, "wanted reports the faulted pending page (%lld, %llu)", (long long)w,
          (unsigned long long)got[0]);
    sleep_ms(50);
    CHECK(!atomic_load(&r.done), "a pending page blocks its reader until installed");
    fill(src, 150);
    int64_t in[6] = { OM_MIG_KT_INSTALL, 150, 1, (int64_t)src };
    CHECK(om_kth_service(scratch, sizeof(scratch), &lay, in) == 0, "install through the service");
    pthread_join(th, NULL);
    CHECK(matches(r.copy, 150), "the reader sees exactly the installed page");
    CHECK(om_kth_install(150, 1, src) == 1, "a second install reports an existing page");
    CHECK(om_kth_install(1200, 1, src) == 1, "installing over a zero-filled page reports it");

    /* The prefaulted pending page was dropped: it faults like the others. */
    struct reader r2 = { .page = p + 1500 * PG };
    pthread_create(&th, NULL, reader_main, &r2);
    w = om_kth_wanted(got, 8, 5000);
    CHECK(w == 1 && got[0] == 1500, "a prefaulted pending page faults (%lld)", (long long)w);
    fill(src, 1500);
    CHECK(om_kth_install(1500, 1, src) == 0, "install of the prefaulted pending page is fresh");
    pthread_join(th, NULL);
    CHECK(matches(r2.copy, 1500), "prefaulted pending page gets the installed content, not the stale one");

    /* A kernel access to a pending page (write(2) from it) waits the same way. */
    int fds[2];
    REQUIRE(pipe(fds) == 0, "pipe");
    struct kwriter kw = { fds[1], p + 160 * PG + 8, 0 };
    pthread_create(&th, NULL, kwriter_main, &kw);
    w = om_kth_wanted(got, 8, 5000);
    CHECK(w == 1 && got[0] == 160, "a kernel access reports its page (%lld)", (long long)w);
    fill(src, 160);
    CHECK(om_kth_install(160, 1, src) == 0, "install for the kernel access");
    pthread_join(th, NULL);
    uint8_t buf[64];
    CHECK(kw.r == 64 && read(fds[0], buf, 64) == 64 && !memcmp(buf, src + 8, 64), "the pipe carries the installed bytes");
    close(fds[0]);
    close(fds[1]);

    /* Hostile install arguments. */
    CHECK(om_kth_install(140, 1, p + 300 * PG) == -EINVAL, "a source inside the region is refused");
    CHECK(om_kth_install(n, 1, src) == -EINVAL && om_kth_install(n - 1, 2, src) == -EINVAL,
          "install past the region is refused");
    int64_t bad[6] = { OM_MIG_KT_INSTALL, 140, 1, (int64_t)scratch };
    CHECK(om_kth_service(scratch, sizeof(scratch), &lay, bad) == -EINVAL, "a source outside the enclave is refused");
    int64_t badw[6] = { OM_MIG_KT_WANTED, (int64_t)(scratch + 4096), 1 << 20, 0 };
    CHECK(om_kth_service(scratch, sizeof(scratch), &lay, badw) == -EFAULT, "wanted list past the scratch");
    om_kth_absent_stop();
    CHECK(om_kth_install(140, 1, src) == -ENODEV && om_kth_wanted(got, 8, 0) == -ENODEV, "calls after stop");
    munmap(p, (n + 1) * PG);
}

/* More blocked threads than the queue holds: every page is still reported. */
#define NTHREADS 300
static void test_spill(void)
{
    const uint64_t n = 1024;
    uint8_t *p = region(n);
    uint64_t pend[16];
    memset(pend, 0xff, sizeof(pend));
    REQUIRE(om_kth_pending((uint64_t)p, n * PG, 0, n, pend) == 0, "pending");
    REQUIRE(om_kth_absent_start((uint64_t)p, n * PG) == 0, "absent start");
    struct om_kth_stats s0, s;
    om_kth_get_stats(&s0);
    static struct reader rs[NTHREADS];
    pthread_t th[NTHREADS];
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setstacksize(&at, 64 << 10);
    for (int i = 0; i < NTHREADS; i++) {
        rs[i].page = p + (uint64_t)(i * 3) * PG;
        REQUIRE(pthread_create(&th[i], &at, reader_main, &rs[i]) == 0, "thread %d", i);
    }
    for (int t = 0; t < 10000; t++) {
        om_kth_get_stats(&s);
        if (s.wanted - s0.wanted >= NTHREADS)
            break; /* all blocked: the queue is full and the rest spilled */
        sleep_ms(1);
    }
    CHECK(s.wanted - s0.wanted == NTHREADS && s.spilled - s0.spilled == NTHREADS - 256,
          "queued %llu, spilled %llu", (unsigned long long)(s.wanted - s0.wanted),
          (unsigned long long)(s.spilled - s0.spilled));
    uint64_t seen[16] = { 0 }, got[64], nseen = 0;
    for (int rounds = 0; nseen < NTHREADS && rounds < 1000; rounds++) {
        int64_t w = om_kth_wanted(got, 64, 1000);
        for (int64_t k = 0; k < w; k++)
            if (!bit(seen, got[k])) {
                set_bit(seen, got[k]);
                nseen++;
                fill(src, got[k]);
                CHECK(om_kth_install(got[k], 1, src) == 0, "install %llu", (unsigned long long)got[k]);
            }
    }
    CHECK(nseen == NTHREADS, "every blocked page reported once (%llu)", (unsigned long long)nseen);
    int ok = 1;
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        ok &= matches(rs[i].copy, (uint64_t)i * 3);
    }
    CHECK(ok, "every reader saw its installed page");
    om_kth_absent_stop();
    munmap(p, n * PG);
}

int main(void)
{
    int rc = om_kth_probe();
    if (rc) {
        printf("SKIP: userfaultfd with WP_ASYNC + PAGEMAP_SCAN unavailable: %s\n", strerror(-rc));
        return 77;
    }
    test_dirty();
    test_absent();
    test_spill();
    printf(failures ? "test_ktrack: %d failures\n" : "test_ktrack: PASS\n", failures);
    return failures != 0;
}
