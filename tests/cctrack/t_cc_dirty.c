/* Compiler tracker, in an enclave: every kind of write the pass sees and
 * every kind it does not (libc through the --wrap wrappers, OCALL
 * copy-outs, the allocator) must mark exactly the pages its bytes touch.
 * Built with omcc (the pass loaded by default), run under optmig run. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PG 4096
#define NPG 16

extern uint64_t __om_range_base, __om_range_pages;
extern uint8_t *__om_dirty_map;
int __om_test_track(uint32_t bits);

typedef uint64_t u64_unaligned __attribute__((aligned(1)));
static char *buf;
static int fails;
static void *(*volatile memcpy_fn)(void *, const void *, size_t) = memcpy;
static volatile size_t runtime_len = 5000;

static uint64_t page_of(const void *p) { return ((uint64_t)p - __om_range_base) / PG; }

/* Exactly pages [lo, hi] of buf are dirty; then clears them. */
static void expect(const char *what, int lo, int hi)
{
    uint64_t p0 = page_of(buf);
    int bad = 0;
    for (int i = 0; i < NPG; i++) {
        int got = __om_dirty_map[p0 + i] != 0, want = i >= lo && i <= hi;
        if (got != want) {
            printf("FAIL: %s: page %d dirty=%d, expected %d\n", what, i, got, want);
            bad = 1;
        }
        __om_dirty_map[p0 + i] = 0;
    }
    fails += bad;
    if (!bad)
        printf("ok: %s\n", what);
}

int main(void)
{
    buf = aligned_alloc(PG, NPG * PG);
    if (!buf || page_of(buf) + NPG > __om_range_pages) {
        printf("FAIL: buffer outside the tracked range\n");
        return 1;
    }
    memset(buf, 0, NPG * PG);
    if (__om_test_track(1)) {
        printf("FAIL: cannot turn dirty tracking on (image built without it?)\n");
        return 1;
    }

    *(volatile u64_unaligned *)(buf + 3 * PG - 4) = 42; /* unaligned, crosses */
    expect("store crossing pages 2-3", 2, 3);
    memcpy(buf + 5 * PG - 50, "0123456789abcdef0123456789abcdef0123456789abcdef0123456789", 60);
    expect("memcpy intrinsic, constant length", 4, 5);
    memset(buf + 6 * PG + 10, 7, runtime_len);
    expect("memset intrinsic, run-time length", 6, 7);
    memcpy_fn(buf + 8 * PG + 4000, buf, 200);
    expect("memcpy called through a pointer (libc wrapper)", 8, 9);
    strcpy(buf + 10 * PG - 3, "hello world");
    expect("strcpy (libc)", 9, 10);
    snprintf(buf + 11 * PG - 5, 64, "%d-%s", 12345, "abc");
    expect("snprintf into a buffer (libc)", 10, 11);

    int fd[2];
    if (pipe(fd)) {
        printf("FAIL: pipe\n");
        return 1;
    }
    char src[100];
    memset(src, 'x', sizeof src);
    if (write(fd[1], src, sizeof src) != (ssize_t)sizeof src || read(fd[0], buf + 12 * PG + 4090, 100) != 100)
        printf("FAIL: pipe write/read\n"), fails++;
    expect("read() copy-out (OCALL)", 12, 13);
    clock_gettime(CLOCK_MONOTONIC, (struct timespec *)(buf + 14 * PG - 8));
    expect("clock_gettime copy-out (direct OCALL)", 13, 14);
    __atomic_fetch_add((uint64_t *)(buf + 15 * PG + 64), 1, __ATOMIC_SEQ_CST);
    expect("atomicrmw", 15, 15);
    uint64_t expected = 99;
    __atomic_compare_exchange_n((uint64_t *)(buf + 15 * PG), &expected, 1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    expect("failed cmpxchg marks nothing", -1, -1);

    char *small = malloc(64);
    uint64_t sp = page_of(small);
    __om_dirty_map[sp] = 0;
    free(small); /* the allocator links the freed object in place */
    if (!__om_dirty_map[sp])
        printf("FAIL: free() wrote its free-list link unmarked\n"), fails++;
    else
        printf("ok: allocator metadata write (free)\n");

    __om_test_track(0);
    *(volatile uint64_t *)(buf + PG) = 1;
    memcpy_fn(buf + 2 * PG, buf, 100);
    expect("tracking off marks nothing", -1, -1);
    printf("t_cc_dirty: %s\n", fails ? "FAILED" : "PASS");
    return fails != 0;
}
