/* Compiler tracker, in an enclave: access checks. Pages of a heap buffer are
 * made absent the way a post-copy destination sees them (contents zero,
 * present byte clear); then instrumented loads and stores, and libc calls
 * (memcpy, strlen, printf's %s, sscanf, strtok, qsort, a mutex, fread...),
 * touch them while a helper thread plays the page restorer: it watches
 * om_cc_wanted, copies the true page back and sets its present byte. Every
 * read must return the restored bytes, never zero, every write must land on
 * the restored page (never be overwritten by the restore), and each absent
 * page must have been asked for (the slow path was taken). Built with omcc,
 * run under optmig run. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PG 4096
#define NPG 16
#define NO_INSTR __attribute__((annotate("optmig_no_instrument")))

extern uint64_t __om_range_base, __om_range_pages;
extern uint8_t *__om_present_map;
int __om_test_track(uint32_t bits);
uint32_t om_cc_wanted(uint64_t *pages, uint32_t max);
void *__real_memcpy(void *d, const void *s, size_t n);

static char *buf, *shadow; /* shadow: the true bytes of buf's pages */
static volatile int stop, restored;
static int fails;
static void *(*volatile memcpy_fn)(void *, const void *, size_t) = memcpy;

static uint64_t page_of(const void *p) { return ((uint64_t)p - __om_range_base) / PG; }

/* The restorer: uninstrumented (it writes absent pages by design). */
NO_INSTR static void *restorer(void *arg)
{
    (void)arg;
    uint64_t p0 = page_of(buf);
    while (!__atomic_load_n(&stop, __ATOMIC_ACQUIRE)) {
        uint64_t pages[32];
        uint32_t n = om_cc_wanted(pages, 32);
        for (uint32_t i = 0; i < n; i++) {
            uint64_t k = pages[i] - p0;
            if (k >= NPG)
                continue;
            __real_memcpy(buf + k * PG, shadow + k * PG, PG);
            __atomic_store_n(&__om_present_map[pages[i]], 1, __ATOMIC_RELEASE);
            __atomic_fetch_add(&restored, 1, __ATOMIC_SEQ_CST);
        }
        if (!n)
            sched_yield();
    }
    return NULL;
}

/* Pages [lo, hi] of buf become absent: the true bytes go to shadow, the
 * page is zeroed, its present byte cleared. Uninstrumented, like the
 * destination's setup. */
NO_INSTR static void make_absent(int lo, int hi)
{
    __atomic_store_n(&restored, 0, __ATOMIC_SEQ_CST);
    for (int k = lo; k <= hi; k++) {
        __real_memcpy(shadow + k * PG, buf + k * PG, PG);
        for (volatile char *p = buf + k * PG; p < buf + (k + 1) * PG; p++)
            *p = 0;
        __atomic_store_n(&__om_present_map[page_of(buf) + k], 0, __ATOMIC_RELEASE);
    }
}

/* Every page restored once (asked for through the slow path), and the
 * operation's own result ok. Uninstrumented, like every checker here. */
NO_INSTR static void check(const char *what, int lo, int hi, int ok)
{
    int bad = !ok;
    if (!ok)
        printf("FAIL: %s: wrong result\n", what);
    int want = hi - lo + 1, got = __atomic_load_n(&restored, __ATOMIC_SEQ_CST);
    if (got != want) {
        printf("FAIL: %s: %d pages restored, expected %d\n", what, got, want);
        bad = 1;
    }
    for (int k = lo; k <= hi; k++)
        if (!__om_present_map[page_of(buf) + k]) {
            printf("FAIL: %s: page %d still absent\n", what, k);
            bad = 1;
        }
    fails += bad;
    if (!bad)
        printf("ok: %s\n", what);
}

/* The untouched bytes of [p, p+n) equal shadow's (the restore happened
 * before the write, and was not redone after it). Uninstrumented: a
 * checker must not ask for pages itself. */
NO_INSTR static int rest_intact(const char *p, size_t n, const char *skip, size_t skipn)
{
    for (size_t i = 0; i < n; i++) {
        const char *q = p + i;
        if (q >= skip && q < skip + skipn)
            continue;
        if (*q != shadow[q - buf])
            return 0;
    }
    return 1;
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

int main(void)
{
    buf = aligned_alloc(PG, NPG * PG);
    shadow = aligned_alloc(PG, NPG * PG);
    if (!buf || !shadow || page_of(buf) + NPG > __om_range_pages) {
        printf("FAIL: buffer outside the tracked range\n");
        return 1;
    }
    for (int i = 0; i < NPG * PG; i++)
        buf[i] = (char)('A' + (i * 7 + i / PG) % 26);
    if (__om_test_track(2)) {
        printf("FAIL: cannot turn access checks on (image built without them?)\n");
        return 1;
    }
    pthread_t rt;
    if (pthread_create(&rt, NULL, restorer, NULL)) {
        printf("FAIL: restorer thread\n");
        return 1;
    }

    make_absent(0, 0);
    volatile uint64_t *q = (uint64_t *)(buf + 100);
    uint64_t v = *q, want;
    __real_memcpy(&want, shadow + 100, 8);
    check("instrumented load", 0, 0, v == want);

    make_absent(1, 2);
    char local[100];
    memcpy_fn(local, buf + 2 * PG - 50, 100);
    check("memcpy across two absent pages", 1, 2, !memcmp(local, shadow + 2 * PG - 50, 100));

    strcpy(buf + 4 * PG - 5, "hello, absent world");
    make_absent(3, 4);
    check("strlen", 3, 4, strlen(buf + 4 * PG - 5) == 19);

    make_absent(3, 4);
    char out[64];
    snprintf(out, sizeof out, "[%s]", buf + 4 * PG - 5);
    check("snprintf %s", 3, 4, !strcmp(out, "[hello, absent world]"));

    int fd[2];
    if (pipe(fd)) {
        printf("FAIL: pipe\n");
        return 1;
    }
    make_absent(3, 4);
    dprintf(fd[1], "%s\n", buf + 4 * PG - 5);
    ssize_t got = read(fd[0], out, sizeof out);
    check("printf-family %s to a file", 3, 4, got == 20 && !memcmp(out, "hello, absent world\n", 20));

    strcpy(buf + 6 * PG - 4, "77 beans");
    int *ip = (int *)(buf + 7 * PG + 40);
    char *word = buf + 7 * PG + 200;
    make_absent(5, 7);
    int n = sscanf(buf + 6 * PG - 4, "%d %s", ip, word);
    check("sscanf: input and outputs absent", 5, 7,
          n == 2 && *ip == 77 && !strcmp(word, "beans") && rest_intact(buf + 7 * PG, PG, buf + 7 * PG + 40, 166));

    strcpy(buf + 9 * PG - 3, "ab,cd");
    make_absent(8, 8);
    char *tok = strtok(buf + 9 * PG - 3, ",");
    check("strtok writes its NUL on a restored page", 8, 8,
          tok && !strcmp(tok, "ab") && buf[9 * PG - 1] == 0 && rest_intact(buf + 8 * PG, PG, buf + 9 * PG - 1, 1));

    int *arr = (int *)(buf + 10 * PG - 8);
    arr[0] = 9, arr[1] = 5, arr[2] = 7, arr[3] = 1;
    make_absent(9, 10);
    qsort(arr, 4, sizeof *arr, cmp_int);
    check("qsort", 9, 10, arr[0] == 1 && arr[1] == 5 && arr[2] == 7 && arr[3] == 9);

    /* A recursive mutex: zeroed, it would be a plain one and refuse. */
    pthread_mutex_t *m = (pthread_mutex_t *)(buf + 11 * PG + 64);
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(m, &ma);
    make_absent(11, 11);
    int r1 = pthread_mutex_lock(m), r2 = pthread_mutex_trylock(m);
    pthread_mutex_unlock(m);
    pthread_mutex_unlock(m);
    check("recursive heap mutex", 11, 11, r1 == 0 && r2 == 0);

    if (write(fd[1], "0123456789", 10) != 10) {
        printf("FAIL: pipe write\n");
        return 1;
    }
    FILE *f = fdopen(fd[0], "r");
    make_absent(12, 13);
    size_t rd = f ? fread(buf + 13 * PG - 5, 1, 10, f) : 0;
    check("fread into absent pages", 12, 13,
          rd == 10 && !memcmp(buf + 13 * PG - 5, "0123456789", 10) &&
              rest_intact(buf + 12 * PG, 2 * PG, buf + 13 * PG - 5, 10));

    make_absent(14, 15);
    buf[15 * PG + 5] = 'Z';
    check("instrumented store", 15, 15,
          buf[15 * PG + 5] == 'Z' && rest_intact(buf + 15 * PG, PG, buf + 15 * PG + 5, 1));
    /* page 14 was never touched: still absent, never asked for */
    if (__om_present_map[page_of(buf) + 14]) {
        printf("FAIL: an untouched page was restored\n");
        fails++;
    }
    __atomic_store_n(&__om_present_map[page_of(buf) + 14], 1, __ATOMIC_RELEASE);

    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    pthread_join(rt, NULL);
    __om_test_track(0);
    printf("t_cc_access: %s\n", fails ? "FAILED" : "PASS");
    return fails != 0;
}
