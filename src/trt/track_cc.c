/* The compiler tracker: the runtime side of the OptMig pass (docs/PASS.md,
 * "The runtime ABI" and "What the runtime must guarantee").
 *
 * The tracked range is the heap minus the trackers' metadata area; the two
 * byte maps live in that area (track.c), so they are per-process and never
 * sent. The ABI words below live in the image's data and travel with it:
 * a destination has the same layout, hence the same values, and resets the
 * switches (__om_track, __om_poll) before its threads resume. */
#include "cc_rt.h"
#include "mig.h"
#include <string.h>
#include <sys/syscall.h>

uint64_t __om_range_base, __om_range_pages;
uint8_t *__om_dirty_map, *__om_present_map;
volatile uint32_t __om_track, __om_poll;

/* __om_poll bits: the migration's quiesce, and the tracking handshake. */
enum { POLL_QUIESCE = 1, POLL_HANDSHAKE = 2 };

/* Each module the pass built carries one record 0x4f4dXXXX (XXXX: its mode
 * bits) in section om_cc_modes; this zero keeps the section (and its
 * __start_/__stop_ symbols) present in images without any. */
#define MODE_MAGIC 0x4f4d0000u
static const uint32_t mode_anchor __attribute__((section("om_cc_modes"), used)) = 0;
extern const uint32_t __start_om_cc_modes[], __stop_om_cc_modes[];

/* Handshake: epoch acknowledged by each slot at its last safepoint. */
static volatile uint32_t cc_epoch;
static volatile uint32_t cc_seen[OM_MAX_THREADS];

/* Absent pages app threads wait for: page+1 per entry, 0 = free; and what
 * om_cc_wanted already reported from each entry. */
#define WANT_SLOTS OM_MAX_THREADS
static volatile uint64_t want[WANT_SLOTS];
static uint64_t want_told[WANT_SLOTS];

/* omcc records the libc functions the app calls that the runtime cannot
 * follow (record "OMCCUNC1" + names, section om_cc_uncov); this empty
 * anchor keeps the section present in images without any. */
#define UNCOV_MAGIC "OMCCUNC1"
static const char uncov_anchor[1] __attribute__((section("om_cc_uncov"), used)) = "";
extern const char __start_om_cc_uncov[], __stop_om_cc_uncov[];

const char *om_cc_uncovered(void)
{
    size_t m = sizeof(UNCOV_MAGIC) - 1;
    for (const char *p = __start_om_cc_uncov; p + m < __stop_om_cc_uncov; p++)
        if (!memcmp(p, UNCOV_MAGIC, m))
            return p + m;
    return NULL;
}

/* What the pass compiled in, from the image itself (not from a variable a
 * constructor set: a migration destination asks before any of the image's
 * data arrived). */
static uint32_t compiled_raw(void)
{
    uint32_t m = ~0u, any = 0;
    for (const uint32_t *p = __start_om_cc_modes; p < __stop_om_cc_modes; p++)
        if ((*p & 0xffff0000u) == MODE_MAGIC) {
            m &= *p;
            any = 1;
        }
    return any ? m & (OM_CC_DIRTY | OM_CC_ACCESS | OM_CC_POLLS) : 0;
}

/* An image that calls libc the runtime cannot follow offers no tracking
 * (the polls still park its threads). */
uint32_t om_cc_compiled(void)
{
    uint32_t m = compiled_raw();
    return om_cc_uncovered() ? m & OM_CC_POLLS : m;
}

/* Before main: instrumented code reads the range base once per call. The
 * first trap (musl's start-up) has filled om_trt_layout by now. */
__attribute__((constructor(101))) static void cc_init(void)
{
    __om_range_base = om_track_lo();
    __om_range_pages = om_track_pages();
    __om_dirty_map = om_track_bytemap(OM_MAP_DIRTY);
    __om_present_map = om_track_bytemap(OM_MAP_PRESENT);
}

void om_cc_poll(int on)
{
    if (on)
        __atomic_fetch_or(&__om_poll, POLL_QUIESCE, __ATOMIC_SEQ_CST);
    else
        __atomic_fetch_and(&__om_poll, ~(uint32_t)POLL_QUIESCE, __ATOMIC_SEQ_CST);
}

/* Pages [*first, *end) of the tracked range that [p, p+n) meets; 0 if none. */
static int clip(const void *p, uint64_t n, uint64_t *first, uint64_t *end)
{
    uint64_t lo = (uint64_t)p, base = __om_range_base, top = base + __om_range_pages * OM_PAGE_SIZE;
    uint64_t hi = n > UINT64_MAX - lo ? UINT64_MAX : lo + n; /* exclusive, saturated */
    if (!n || hi <= base || lo >= top)
        return 0;
    if (lo < base)
        lo = base;
    if (hi > top)
        hi = top;
    *first = (lo - base) / OM_PAGE_SIZE;
    *end = (hi - base - 1) / OM_PAGE_SIZE + 1;
    return 1;
}

void __om_mark_range(const void *addr, uint64_t size)
{
    uint64_t a, b;
    if (!clip(addr, size, &a, &b))
        return;
    for (uint64_t i = a; i < b; i++)
        __atomic_store_n(&__om_dirty_map[i], 1, __ATOMIC_RELEASE);
}

void om_cc_wrote(const void *p, uint64_t n)
{
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&__om_track, __ATOMIC_RELAXED) & OM_CC_DIRTY)
        __om_mark_range(p, n);
}

/* One wait step that never parks: an OCALL yield with an SSA (trap context
 * may issue no syscall), a direct-path yield on an app thread outside the
 * runtime, and a pause otherwise. */
static void wait_step(struct om_ssa *ssa, unsigned n)
{
    if (n < 2000) {
        __builtin_ia32_pause();
        return;
    }
    if (ssa) {
        int64_t a[6] = { 0 };
        om_oc_syscall(ssa, SYS_sched_yield, a);
        return;
    }
    int slot = om_direct_slot();
    if (slot >= 0 && !om_trt.tcs[slot].in_runtime && !om_trt.quiesce)
        __syscall_cp(SYS_sched_yield, 0, 0, 0, 0, 0, 0);
    else
        __builtin_ia32_pause();
}

static int present(uint64_t page) { return __atomic_load_n(&__om_present_map[page], __ATOMIC_ACQUIRE); }

/* Publishes page for om_cc_wanted and waits until it is present. */
static void wait_present(struct om_ssa *ssa, uint64_t page)
{
    if (present(page))
        return;
    uint32_t k = WANT_SLOTS;
    for (uint32_t i = 0; i < WANT_SLOTS && k == WANT_SLOTS; i++) {
        uint64_t z = 0;
        if (__atomic_compare_exchange_n(&want[i], &z, page + 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            k = i;
    }
    /* All entries taken (more waiters than slots): the page still comes
     * with the background stream, only later. */
    for (unsigned n = 0; !present(page); n++)
        wait_step(ssa, n);
    if (k < WANT_SLOTS)
        __atomic_store_n(&want[k], 0, __ATOMIC_RELEASE);
}

static void need(struct om_ssa *ssa, const void *p, uint64_t n)
{
    uint64_t a, b;
    if (!(__atomic_load_n(&__om_track, __ATOMIC_ACQUIRE) & OM_CC_ACCESS) || !clip(p, n, &a, &b))
        return;
    for (uint64_t i = a; i < b; i++)
        wait_present(ssa, i);
}

void __om_access_slow(const void *addr, uint64_t size, int is_write)
{
    (void)is_write; /* a write must wait too: the restorer would overwrite it */
    need(NULL, addr, size);
}

void om_cc_need(struct om_ssa *ssa, const void *p, uint64_t n) { need(ssa, p, n); }

void om_cc_need_str(struct om_ssa *ssa, const char *s, uint64_t max)
{
    while (max) {
        uint64_t room = OM_PAGE_SIZE - (uint64_t)s % OM_PAGE_SIZE;
        if (room > max)
            room = max;
        need(ssa, s, room);
        for (uint64_t i = 0; i < room; i++)
            if (!s[i])
                return;
        s += room;
        max -= room;
    }
}

void __om_safepoint(void)
{
    int slot = om_direct_slot();
    if (slot < 0) {
        /* Gate not learnt yet: one trapped call learns it (and parks if a
         * migration is quiescing). */
        long r;
        __asm__ volatile("syscall" : "=a"(r) : "a"((long)SYS_getpid) : "rcx", "r11", "memory");
        slot = om_direct_slot();
    }
    if (slot >= 0)
        __atomic_store_n(&cc_seen[slot], __atomic_load_n(&cc_epoch, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
    /* The direct path parks the thread with a setjmp-style context
     * (OM_PARK_DIRECT) and returns here, on this host or the destination. */
    if (__atomic_load_n(&om_trt.quiesce, __ATOMIC_ACQUIRE))
        __syscall_cp(SYS_getpid, 0, 0, 0, 0, 0, 0);
}

/* Waits until every app thread has passed a safepoint since the epoch was
 * bumped, or is inside a call (in the runtime, or parked). */
static int handshake(struct om_ssa *ssa, uint32_t timeout_ms)
{
    uint32_t e = __atomic_add_fetch(&cc_epoch, 1, __ATOMIC_SEQ_CST);
    __atomic_fetch_or(&__om_poll, POLL_HANDSHAKE, __ATOMIC_SEQ_CST);
    uint64_t t0 = om_mig_now_ns(ssa);
    int rc = 0;
    for (unsigned round = 0;; round++) {
        int all = 1;
        for (uint32_t i = 0; i < om_trt_slots() && all; i++) {
            struct om_tcs *t = &om_trt.tcs[i];
            all = !__atomic_load_n(&t->in_use, __ATOMIC_SEQ_CST) ||
                  (int32_t)(__atomic_load_n(&cc_seen[i], __ATOMIC_SEQ_CST) - e) >= 0 ||
                  __atomic_load_n(&t->in_runtime, __ATOMIC_SEQ_CST) ||
                  __atomic_load_n(&t->parked, __ATOMIC_SEQ_CST);
        }
        if (all)
            break;
        if (om_mig_now_ns(ssa) - t0 > (uint64_t)timeout_ms * 1000000ull) {
            rc = OM_MIGERR_QUIESCE;
            break;
        }
        om_mig_sleep_us(ssa, round < 20 ? 50 : 500);
    }
    __atomic_fetch_and(&__om_poll, ~(uint32_t)POLL_HANDSHAKE, __ATOMIC_SEQ_CST);
    return rc;
}

int om_cc_dirty_start(struct om_ssa *ssa, uint32_t timeout_ms)
{
    if (!(om_cc_compiled() & OM_CC_DIRTY) || !__om_range_pages)
        return OM_MIGERR_INTERNAL;
    memset(__om_dirty_map, 0, __om_range_pages);
    __atomic_fetch_or(&__om_track, OM_CC_DIRTY, __ATOMIC_SEQ_CST);
    int rc = handshake(ssa, timeout_ms);
    if (rc)
        om_cc_dirty_stop();
    return rc;
}

uint64_t om_cc_dirty_collect(uint64_t *bm)
{
    uint64_t added = 0, n = __om_range_pages;
    for (uint64_t i = 0; i < n; i += 8) {
        uint64_t w;
        if (i + 8 <= n) {
            memcpy(&w, __om_dirty_map + i, 8);
            if (!w)
                continue;
        }
        for (uint64_t j = i; j < i + 8 && j < n; j++) {
            if (!__atomic_load_n(&__om_dirty_map[j], __ATOMIC_RELAXED))
                continue;
            __atomic_store_n(&__om_dirty_map[j], 0, __ATOMIC_RELAXED);
            if (!(bm[j / 64] & 1ull << j % 64)) {
                bm[j / 64] |= 1ull << j % 64;
                added++;
            }
        }
    }
    /* Clears before the caller's copies: a store after its copy re-marks. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return added;
}

void om_cc_dirty_stop(void) { __atomic_fetch_and(&__om_track, ~(uint32_t)OM_CC_DIRTY, __ATOMIC_SEQ_CST); }

int om_cc_absent_start(const uint64_t *pending)
{
    if (!(om_cc_compiled() & OM_CC_ACCESS) || !__om_range_pages)
        return OM_MIGERR_INTERNAL;
    for (uint64_t i = 0; i < __om_range_pages; i++)
        __om_present_map[i] = !(pending[i / 64] >> i % 64 & 1);
    memset((void *)want, 0, sizeof(want));
    memset(want_told, 0, sizeof(want_told));
    __atomic_fetch_or(&__om_track, OM_CC_ACCESS, __ATOMIC_SEQ_CST);
    return 0;
}

void om_cc_installed(uint64_t page)
{
    if (page < __om_range_pages)
        __atomic_store_n(&__om_present_map[page], 1, __ATOMIC_RELEASE);
}

int om_cc_present(uint64_t page) { return page >= __om_range_pages || present(page); }

void om_cc_absent_stop(void) { __atomic_fetch_and(&__om_track, ~(uint32_t)OM_CC_ACCESS, __ATOMIC_SEQ_CST); }

uint32_t om_cc_wanted(uint64_t *pages, uint32_t max)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < WANT_SLOTS && n < max; i++) {
        uint64_t v = __atomic_load_n(&want[i], __ATOMIC_ACQUIRE);
        if (!v || v == want_told[i] || v - 1 >= __om_range_pages || present(v - 1))
            continue;
        want_told[i] = v;
        uint32_t j = 0;
        while (j < n && pages[j] != v - 1)
            j++;
        if (j == n)
            pages[n++] = v - 1;
    }
    return n;
}

/* A destination before it resumes threads: the switches arrived with the
 * image's data as the source left them (quiescing, maybe tracking). */
void om_cc_arrived(void)
{
    __atomic_store_n(&__om_track, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&__om_poll, 0, __ATOMIC_SEQ_CST);
}

/* Test hook (tests/cctrack): sets __om_track to bits with a clean dirty map
 * and every page present. Refused (-1) while a migration runs. */
int __om_test_track(uint32_t bits);
int __om_test_track(uint32_t bits)
{
    if (om_trt.quiesce || (bits & ~compiled_raw() & (OM_CC_DIRTY | OM_CC_ACCESS)) || !__om_range_pages)
        return -1;
    memset(__om_dirty_map, 0, __om_range_pages);
    memset(__om_present_map, 1, __om_range_pages);
    __atomic_store_n(&__om_track, bits, __ATOMIC_SEQ_CST);
    return 0;
}
