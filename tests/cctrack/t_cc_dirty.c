/* Compiler tracker, in an enclave: every kind of write the pass sees and
 * every kind it does not (libc through the --wrap wrappers, OCALL
 * copy-outs, the allocator) must mark exactly the pages its bytes touch
 * (conservative wrappers: the bound they document, named in the case).
 * Built with omcc (the pass loaded by default), run under optmig run. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/stat.h>
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

static void expect(const char *what, int lo, int hi);

/* Clears the marks of buf's pages (after setting up a case). */
static void reset(void)
{
    for (int i = 0; i < NPG; i++)
        __om_dirty_map[page_of(buf) + i] = 0;
}

/* The page of p (outside buf: a FILE, a DIR, a malloc'd result) is dirty. */
static void expect_page(const char *what, const void *p)
{
    if (!__om_dirty_map[page_of(p)]) {
        printf("FAIL: %s: page not marked\n", what);
        fails++;
    } else {
        printf("ok: %s\n", what);
    }
}

static int cmp_int(const void *a, const void *b) { return *(const int *)a - *(const int *)b; }

/* musl's FILE layout as cc_libc.c reads it: fopen puts the buffer right
 * after the struct (232 bytes) and 8 bytes of unget room. */
static void check_file_layout(FILE *f)
{
    unsigned char *b = ((unsigned char **)f)[11];
    size_t n = ((size_t *)f)[12];
    if (b != (unsigned char *)f + 232 + 8 || n != BUFSIZ) {
        printf("FAIL: musl FILE layout: buf %p (FILE %p), size %zu\n", (void *)b, (void *)f, n);
        fails++;
    } else {
        printf("ok: musl FILE layout as the wrappers read it\n");
    }
}

/* The libc functions wrapped beyond the first list: exact pages. */
static void libc_cases(void)
{
    memccpy(buf + PG - 4, "abcdefgh", 'e', 8); /* 5 bytes */
    expect("memccpy up to the stop byte", 0, 1);
    memccpy(buf + PG - 4, "abcdefgh", 'b', 8); /* 2 bytes */
    expect("memccpy stopping before the page end", 0, 0);

    strcpy(buf + 3 * PG - 3, "ab cd");
    reset();
    if (strcmp(strtok(buf + 3 * PG - 3, " "), "ab"))
        printf("FAIL: strtok token\n"), fails++;
    expect("strtok writes its NUL", 2, 2);

    strcpy(buf + 4 * PG - 2, "xy,z");
    reset();
    char *sp = buf + 4 * PG - 2;
    strsep(&sp, ",");
    expect("strsep writes its NUL", 4, 4);

    int *ip = (int *)(buf + 5 * PG - 2);
    char *str = buf + 6 * PG - 3;
    double *dp = (double *)(buf + 7 * PG + 8);
    if (sscanf("123 hello 4.5", "%d %s %lf", ip, str, dp) != 3 || *ip != 123 || strcmp(str, "hello"))
        printf("FAIL: sscanf results\n"), fails++;
    expect("sscanf %d %s %lf outputs", 4, 7);

    char **endp = (char **)(buf + 8 * PG - 4);
    if (strtol("42xyz", endp, 10) != 42)
        printf("FAIL: strtol\n"), fails++;
    expect("strtol endptr", 7, 8);

    int *arr = (int *)(buf + 9 * PG - 8);
    arr[0] = 4, arr[1] = 3, arr[2] = 2, arr[3] = 1;
    reset();
    qsort(arr, 4, sizeof *arr, cmp_int);
    if (arr[0] != 1 || arr[3] != 4)
        printf("FAIL: qsort order\n"), fails++;
    expect("qsort", 8, 9);

    time_t t0 = 0;
    struct tm *tm = (struct tm *)(buf + 10 * PG - 20);
    localtime_r(&t0, tm);
    expect("localtime_r", 9, 10);
    if (strftime(buf + 11 * PG - 3, 64, "%Y", tm) != 4)
        printf("FAIL: strftime\n"), fails++;
    expect("strftime (4 bytes and the NUL)", 10, 11);

    pthread_mutex_t *m = (pthread_mutex_t *)(buf + 12 * PG + 100);
    pthread_mutex_init(m, NULL);
    reset();
    pthread_mutex_lock(m);
    expect("pthread_mutex_lock", 12, 12);
    pthread_mutex_unlock(m);
    expect("pthread_mutex_unlock", 12, 12);

    char small[16];
    int *np = (int *)(buf + 13 * PG - 2);
    snprintf(small, sizeof small, "abc%n", np);
    if (*np != 3)
        printf("FAIL: %%n\n"), fails++;
    expect("printf %n output", 12, 13);

    char *rp = buf + 14 * PG - 1;
    if (!realpath("/", rp) || strcmp(rp, "/"))
        printf("FAIL: realpath\n"), fails++;
    expect("realpath (PATH_MAX bytes)", 13, 14);

    time((time_t *)(buf + 15 * PG - 4));
    expect("time", 14, 15);

    if (inet_pton(AF_INET, "1.2.3.4", buf + 2 * PG - 2) != 1)
        printf("FAIL: inet_pton\n"), fails++;
    expect("inet_pton (16 bytes)", 1, 2);

    struct stat *st = (struct stat *)(buf + 7 * PG - 10);
    if (stat("/", st))
        printf("FAIL: stat\n"), fails++;
    expect("stat", 6, 7);

    sigemptyset((sigset_t *)(buf + 8 * PG - 8));
    expect("sigemptyset", 7, 8);

    sem_t *sem = (sem_t *)(buf + 3 * PG - 8);
    sem_init(sem, 0, 0);
    expect("sem_init", 2, 3);
    sem_post(sem);
    expect("sem_post", 2, 3);

    char **sp2 = (char **)(buf + 6 * PG - 4);
    if (asprintf(sp2, "%s-%d", "x", 7) != 3)
        printf("FAIL: asprintf\n"), fails++;
    expect("asprintf's pointer", 5, 6);
    expect_page("asprintf's string", *sp2);
    free(*sp2);

    char *dup = strdup("duplicate");
    expect_page("strdup's copy", dup);
    free(dup);

    FILE *f = fopen("/dev/null", "w");
    if (!f) {
        printf("FAIL: fopen\n");
        fails++;
        return;
    }
    check_file_layout(f);
    __om_dirty_map[page_of(f)] = 0;
    fprintf(f, "%d", 1);
    expect_page("fprintf to a heap FILE", f);
    __om_dirty_map[page_of(f)] = 0;
    fputc('x', f);
    expect_page("fputc to a heap FILE", f);
    fclose(f);

    int fd[2];
    if (pipe(fd) || write(fd[1], "7 line\n", 7) != 7) {
        printf("FAIL: pipe\n");
        fails++;
        return;
    }
    close(fd[1]);
    FILE *in = fdopen(fd[0], "r");
    int *v = (int *)(buf + 10 * PG - 2);
    if (!in || fscanf(in, "%d", v) != 1 || *v != 7)
        printf("FAIL: fscanf\n"), fails++;
    expect("fscanf %d output", 9, 10);
    char *line = NULL;
    size_t cap = 0;
    if (getline(&line, &cap, in) != 6)
        printf("FAIL: getline\n"), fails++;
    expect_page("getline's buffer", line);
    free(line);
    fclose(in);

    DIR *d = opendir("/");
    if (d) {
        __om_dirty_map[page_of(d)] = 0;
        readdir(d);
        expect_page("readdir's DIR", d);
        closedir(d);
    }
}

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

    libc_cases();

    __om_test_track(0);
    *(volatile uint64_t *)(buf + PG) = 1;
    memcpy_fn(buf + 2 * PG, buf, 100);
    expect("tracking off marks nothing", -1, -1);
    printf("t_cc_dirty: %s\n", fails ? "FAILED" : "PASS");
    return fails != 0;
}
