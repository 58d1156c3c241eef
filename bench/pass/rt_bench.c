/* Native stand-in for the trusted runtime's side of the OptMigPass ABI, for
 * bench/pass/run.sh (overhead of the pass on the workloads). Compiled WITHOUT
 * the plugin and linked into every build of a workload, plain included, so
 * that all builds run on the same allocator and only the instrumentation
 * differs.
 *
 * - The "enclave range" is RB_BYTES of address space reserved at a fixed
 *   address (MAP_NORESERVE: only touched pages cost memory). __om_range_base
 *   and __om_range_pages are constants in .data, so they are right before any
 *   instrumented code runs; the maps are .bss arrays, one byte per page.
 * - malloc/calloc/realloc/free/posix_memalign/aligned_alloc/memalign/valloc/
 *   pvalloc/malloc_usable_size are replaced by a lock-free bump allocator
 *   inside the range, so the workloads' heap (and glibc's own small
 *   allocations, e.g. stdio buffers) is exactly what the range covers. free()
 *   releases nothing (the workloads allocate up front; btree never frees).
 *   Fresh anonymous memory is zero, so calloc does not clear.
 * - OMB_TRACK=N (environment, read by a constructor before main, i.e. before
 *   any instrumented function runs, so no safepoint handshake is needed) sets
 *   __om_track: bit 0 dirty marks, bit 1 access checks. Every page is present
 *   (the access checks cost only the check); the dirty map is never cleared
 *   (no copier runs). __om_poll stays 0.
 * - At exit, with OMB_STATS=1, prints to stderr how many pages are dirty and
 *   how many slow-path / mark-range calls were made.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define RB_BASE 0x300000000000ull
#define RB_BYTES (16ull << 30) /* 16 GiB of address space, reserved lazily */
#define RB_PAGE 4096ull
#define RB_PAGES (RB_BYTES / RB_PAGE)

static uint8_t dirty_map[RB_PAGES];
static uint8_t present_map[RB_PAGES];

uint64_t __om_range_base = RB_BASE;
uint64_t __om_range_pages = RB_PAGES;
uint8_t *__om_dirty_map = dirty_map;
uint8_t *__om_present_map = present_map;
volatile uint32_t __om_track;
volatile uint32_t __om_poll;

static uint64_t n_safepoint, n_slow, n_mark;

void __om_safepoint(void)
{
    __atomic_fetch_add(&n_safepoint, 1, __ATOMIC_RELAXED);
    __om_poll = 0;
}

static int clip(const void *addr, uint64_t size, uint64_t *first, uint64_t *last)
{
    uint64_t a = (uint64_t)(uintptr_t)addr, end = a + size;
    uint64_t lo = RB_BASE, hi = RB_BASE + RB_BYTES;
    if (size == 0 || end <= lo || a >= hi || end < a)
        return 0;
    if (a < lo)
        a = lo;
    if (end > hi)
        end = hi;
    *first = (a - lo) / RB_PAGE;
    *last = (end - 1 - lo) / RB_PAGE;
    return 1;
}

/* Every page is present: the slow path only has to be correct. */
void __om_access_slow(const void *addr, uint64_t size, int is_write)
{
    uint64_t first, last;
    (void)is_write;
    __atomic_fetch_add(&n_slow, 1, __ATOMIC_RELAXED);
    if (!clip(addr, size, &first, &last))
        return;
    for (uint64_t p = first; p <= last; p++)
        if (!__atomic_load_n(&present_map[p], __ATOMIC_ACQUIRE))
            __atomic_store_n(&present_map[p], 1, __ATOMIC_RELEASE);
}

void __om_mark_range(const void *addr, uint64_t size)
{
    uint64_t first, last;
    __atomic_fetch_add(&n_mark, 1, __ATOMIC_RELAXED);
    if (!clip(addr, size, &first, &last))
        return;
    for (uint64_t p = first; p <= last; p++)
        __atomic_store_n(&dirty_map[p], 1, __ATOMIC_RELEASE);
}

/* ---- bump allocator inside the range ---- */

#define HDR 16u /* header: the block's size, keeps 16-byte alignment */
static uint64_t bump;   /* offset of the next free byte */
static int reserved;    /* 0 none, 1 done (racy double init is excluded below) */

static void die(const char *what)
{
    static const char msg[] = "rt_bench: fatal: ";
    (void)!write(2, msg, sizeof msg - 1);
    (void)!write(2, what, strlen(what));
    (void)!write(2, "\n", 1);
    _exit(2);
}

static void reserve(void)
{
    /* The first malloc happens in the main thread, before any other thread
     * exists (glibc start-up or the constructor below). */
    if (__atomic_load_n(&reserved, __ATOMIC_ACQUIRE))
        return;
    void *p = mmap((void *)RB_BASE, RB_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p != (void *)RB_BASE)
        die("mmap of the range at 0x300000000000 failed");
    __atomic_store_n(&reserved, 1, __ATOMIC_RELEASE);
}

static void *alloc(size_t size, size_t align)
{
    if (align < 16)
        align = 16;
    if (size > RB_BYTES)
        goto oom;
    reserve();
    uint64_t need = (uint64_t)size + HDR + align; /* worst case */
    need = (need + 15) & ~15ull;
    uint64_t off = __atomic_fetch_add(&bump, need, __ATOMIC_RELAXED);
    if (off + need > RB_BYTES)
        goto oom;
    uint64_t user = (RB_BASE + off + HDR + align - 1) & ~(uint64_t)(align - 1);
    ((uint64_t *)user)[-1] = size;
    return (void *)user;
oom:
    errno = ENOMEM;
    return NULL;
}

static size_t block_size(void *p)
{
    return p ? (size_t)((uint64_t *)p)[-1] : 0;
}

void *malloc(size_t n) { return alloc(n, 16); }
void free(void *p) { (void)p; }
void *calloc(size_t a, size_t b)
{
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return alloc(n, 16); /* fresh anonymous memory, never reused: already zero */
}
void *realloc(void *p, size_t n)
{
    if (!p)
        return alloc(n, 16);
    size_t old = block_size(p);
    if (n <= old) {
        ((uint64_t *)p)[-1] = n;
        return p;
    }
    void *q = alloc(n, 16);
    if (q)
        memcpy(q, p, old);
    return q;
}
void *reallocarray(void *p, size_t a, size_t b)
{
    size_t n;
    if (__builtin_mul_overflow(a, b, &n)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(p, n);
}
int posix_memalign(void **out, size_t align, size_t n)
{
    if (align < sizeof(void *) || (align & (align - 1)))
        return EINVAL;
    void *p = alloc(n, align);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}
void *aligned_alloc(size_t align, size_t n) { return alloc(n, align); }
void *memalign(size_t align, size_t n) { return alloc(n, align); }
void *valloc(size_t n) { return alloc(n, RB_PAGE); }
void *pvalloc(size_t n) { return alloc((n + RB_PAGE - 1) & ~(RB_PAGE - 1), RB_PAGE); }
size_t malloc_usable_size(void *p) { return block_size(p); }

/* ---- run-time mode ---- */

static int stats;

static void report(void)
{
    uint64_t nd = 0, hi = (bump + RB_PAGE - 1) / RB_PAGE;
    for (uint64_t i = 0; i < hi && i < RB_PAGES; i++)
        nd += dirty_map[i];
    fprintf(stderr, "rt_bench: track %u heap_pages %llu dirty_pages %llu slow_calls %llu mark_calls %llu safepoints %llu\n",
            __om_track, (unsigned long long)hi, (unsigned long long)nd, (unsigned long long)n_slow,
            (unsigned long long)n_mark, (unsigned long long)n_safepoint);
}

static void __attribute__((constructor(101))) rt_bench_init(void)
{
    reserve();
    memset(present_map, 1, sizeof present_map);
    const char *t = getenv("OMB_TRACK");
    __om_track = t ? (uint32_t)strtoul(t, NULL, 0) & 3u : 0;
    const char *s = getenv("OMB_STATS");
    stats = s && *s == '1';
    if (stats)
        atexit(report);
}
