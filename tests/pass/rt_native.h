/* A tiny native stand-in for the trusted runtime's side of the OptMigPass
 * ABI, for tests and benchmarks of the pass outside an enclave. rt_native.c
 * is compiled WITHOUT the plugin; the programs that include this header are
 * compiled with it. */
#ifndef OPTMIG_TESTS_PASS_RT_NATIVE_H
#define OPTMIG_TESTS_PASS_RT_NATIVE_H

#include <stddef.h>
#include <stdint.h>

/* The ABI the pass targets (src/pass/OptMigPass.cpp, docs/PASS.md). */
extern uint64_t __om_range_base;
extern uint64_t __om_range_pages;
extern uint8_t *__om_dirty_map;
extern uint8_t *__om_present_map;
extern volatile uint32_t __om_track;
extern volatile uint32_t __om_poll;
void __om_safepoint(void);
void __om_access_slow(const void *addr, uint64_t size, int is_write);
void __om_mark_range(const void *addr, uint64_t size);

#define RT_PAGE 4096u
#define RT_TRACK_DIRTY 1u
#define RT_TRACK_ACCESS 2u

/* Sizes the fake enclave range, reserved at a fixed address before main
 * (at most 1 GiB), to `pages` pages (all present, all clean, tracking off)
 * and returns its base. */
uint8_t *rt_init(uint64_t pages);
/* Sets __om_track and passes a safepoint handshake on the calling thread's
 * behalf (the protocol of docs/PASS.md: other threads must pass a safepoint
 * before the new value is relied on). */
void rt_set_track(uint32_t bits);

void rt_clear_dirty(void);
/* Sorted indices of dirty pages; returns how many (at most max stored). */
size_t rt_dirty_pages(uint64_t *out, size_t max);

/* Post-copy model: the "source" keeps the true bytes of an absent page while
 * the range holds zeroes; __om_access_slow copies them in and marks the page
 * present. */
void rt_make_absent(uint64_t first_page, uint64_t n);
int rt_is_present(uint64_t page);

struct rt_stats {
    uint64_t slow_calls;    /* __om_access_slow calls */
    uint64_t spurious;      /* ... that found every page present */
    uint64_t fetched;       /* pages restored by the slow path */
    uint64_t mark_calls;    /* __om_mark_range calls */
    uint64_t safepoints;    /* __om_safepoint calls */
    uint64_t last_safepoint_ns;
    int64_t last_safepoint_tid; /* gettid() of the thread that made the last one */
    uint64_t last_safepoint_cpu_ns; /* that thread's CPU time then */
};
extern struct rt_stats rt_stats;
/* Pages restored by the slow path, in order; returns how many. */
size_t rt_fetched_pages(uint64_t *out, size_t max);
void rt_reset_stats(void);

uint64_t rt_now_ns(void);

#endif
