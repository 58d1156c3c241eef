/* Native test runtime for OptMigPass: implements the runtime ABI over a fake
 * "enclave range" mapped at a fixed address. Compiled without the plugin. */
#define _GNU_SOURCE
#include "rt_native.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define RT_BASE 0x300000000000ull /* away from optmig's default 0x200000000000 */
#define RT_MAX_FETCHED 65536

uint64_t __om_range_base;
uint64_t __om_range_pages;
uint8_t *__om_dirty_map;
uint8_t *__om_present_map;
volatile uint32_t __om_track;
volatile uint32_t __om_poll;

struct rt_stats rt_stats;

static uint8_t *source;          /* true contents of absent pages */
static uint64_t fetched[RT_MAX_FETCHED];
static size_t nfetched;
static pthread_mutex_t slow_lock = PTHREAD_MUTEX_INITIALIZER;

static void die(const char *what)
{
    perror(what);
    exit(2);
}

uint64_t rt_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The range base must be fixed before any instrumented function is entered
 * (instrumented code loads it once, at function entry), so the range is
 * reserved by a constructor, before main; rt_init only sizes it. */
#define RT_MAX_BYTES (1ull << 30)
static void __attribute__((constructor)) reserve_range(void)
{
    void *p = mmap((void *)RT_BASE, RT_MAX_BYTES, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED || p != (void *)RT_BASE)
        die("mmap range");
    __om_range_base = RT_BASE;
}

uint8_t *rt_init(uint64_t pages)
{
    size_t len = pages * RT_PAGE;
    if (len > RT_MAX_BYTES) {
        fprintf(stderr, "rt_init: at most %llu pages\n", RT_MAX_BYTES / RT_PAGE);
        exit(2);
    }
    source = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (source == MAP_FAILED)
        die("mmap source");
    __om_dirty_map = calloc(pages, 1);
    __om_present_map = malloc(pages);
    if (!__om_dirty_map || !__om_present_map)
        die("maps");
    memset(__om_present_map, 1, pages);
    __om_range_pages = pages;
    __om_track = 0;
    return (uint8_t *)RT_BASE;
}

void __om_safepoint(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    __atomic_store_n(&rt_stats.last_safepoint_cpu_ns,
                     (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec, __ATOMIC_RELAXED);
    __atomic_store_n(&rt_stats.last_safepoint_ns, rt_now_ns(), __ATOMIC_RELAXED);
    __atomic_store_n(&rt_stats.last_safepoint_tid, (int64_t)gettid(), __ATOMIC_RELAXED);
    __atomic_fetch_add(&rt_stats.safepoints, 1, __ATOMIC_RELEASE);
    __om_poll = 0;
}

void rt_set_track(uint32_t bits)
{
    __atomic_store_n(&__om_track, bits, __ATOMIC_SEQ_CST);
    /* The caller's own frames resample after this call returns. */
}

void rt_clear_dirty(void)
{
    for (uint64_t i = 0; i < __om_range_pages; i++)
        __atomic_store_n(&__om_dirty_map[i], 0, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
}

size_t rt_dirty_pages(uint64_t *out, size_t max)
{
    size_t n = 0;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    for (uint64_t i = 0; i < __om_range_pages; i++)
        if (__atomic_load_n(&__om_dirty_map[i], __ATOMIC_ACQUIRE)) {
            if (n < max)
                out[n] = i;
            n++;
        }
    return n;
}

/* Clip [addr, addr+size) to the range; returns 0 when they do not meet. */
static int clip(const void *addr, uint64_t size, uint64_t *first, uint64_t *last)
{
    uint64_t a = (uint64_t)(uintptr_t)addr, end = a + size; /* exclusive */
    uint64_t lo = __om_range_base, hi = lo + __om_range_pages * RT_PAGE;
    if (size == 0 || end <= lo || a >= hi || end < a)
        return 0;
    if (a < lo)
        a = lo;
    if (end > hi)
        end = hi;
    *first = (a - lo) / RT_PAGE;
    *last = (end - 1 - lo) / RT_PAGE;
    return 1;
}

void __om_mark_range(const void *addr, uint64_t size)
{
    uint64_t first, last;
    __atomic_fetch_add(&rt_stats.mark_calls, 1, __ATOMIC_RELAXED);
    if (!clip(addr, size, &first, &last))
        return;
    for (uint64_t p = first; p <= last; p++)
        __atomic_store_n(&__om_dirty_map[p], 1, __ATOMIC_RELEASE);
}

void rt_make_absent(uint64_t first_page, uint64_t n)
{
    uint8_t *base = (uint8_t *)(uintptr_t)__om_range_base;
    for (uint64_t p = first_page; p < first_page + n; p++) {
        memcpy(source + p * RT_PAGE, base + p * RT_PAGE, RT_PAGE);
        memset(base + p * RT_PAGE, 0, RT_PAGE); /* what a fresh mapping holds */
        __om_present_map[p] = 0;
    }
}

int rt_is_present(uint64_t page)
{
    return __atomic_load_n(&__om_present_map[page], __ATOMIC_ACQUIRE);
}

void __om_access_slow(const void *addr, uint64_t size, int is_write)
{
    uint64_t first, last;
    int any = 0;
    (void)is_write;
    pthread_mutex_lock(&slow_lock);
    rt_stats.slow_calls++;
    if (clip(addr, size, &first, &last)) {
        uint8_t *base = (uint8_t *)(uintptr_t)__om_range_base;
        for (uint64_t p = first; p <= last; p++) {
            if (__om_present_map[p])
                continue;
            memcpy(base + p * RT_PAGE, source + p * RT_PAGE, RT_PAGE);
            __atomic_store_n(&__om_present_map[p], 1, __ATOMIC_RELEASE);
            if (nfetched < RT_MAX_FETCHED)
                fetched[nfetched++] = p;
            rt_stats.fetched++;
            any = 1;
        }
    }
    if (!any)
        rt_stats.spurious++;
    pthread_mutex_unlock(&slow_lock);
}

size_t rt_fetched_pages(uint64_t *out, size_t max)
{
    pthread_mutex_lock(&slow_lock);
    size_t n = nfetched < max ? nfetched : max;
    memcpy(out, fetched, n * sizeof *out);
    pthread_mutex_unlock(&slow_lock);
    return n;
}

void rt_reset_stats(void)
{
    pthread_mutex_lock(&slow_lock);
    memset(&rt_stats, 0, sizeof rt_stats);
    nfetched = 0;
    pthread_mutex_unlock(&slow_lock);
}
