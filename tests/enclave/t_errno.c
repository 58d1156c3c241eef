/* t_errno: errno values come back from the host correctly and errno is per
 * thread. Each thread makes a different call fail, all of them meet at a
 * barrier (so every failure has happened), and then each checks that its
 * own errno still holds its own value. Exits 0 only if every check passed,
 * with "t_errno: PASS" as its last line. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_int failures;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            atomic_fetch_add(&failures, 1);                                \
            flockfile(stdout);                                             \
            printf("FAIL: ");                                              \
            printf(__VA_ARGS__);                                           \
            printf(" [%s:%d]\n", __FILE__, __LINE__);                      \
            funlockfile(stdout);                                           \
            fflush(stdout);                                                \
        }                                                                  \
    } while (0)

#define MISSING "/nonexistent-optmig-test-dir/missing-file"

/* Each case makes one call fail and returns the errno it must have set. */
static int fail_open(void) { return open(MISSING, O_RDONLY) == -1 ? ENOENT : -1; }
static int fail_close(void) { return close(-1) == -1 ? EBADF : -1; }
static int fail_mkdir(void) { return mkdir("/", 0755) == -1 ? EEXIST : -1; }
static int fail_lseek_pipe(void)
{
    int p[2];
    if (pipe(p))
        return -1;
    int ok = lseek(p[0], 0, SEEK_SET) == -1;
    int e = errno;
    close(p[0]);
    close(p[1]);
    errno = e;
    return ok ? ESPIPE : -1;
}
static int fail_socket(void) { return socket(-1, SOCK_STREAM, 0) == -1 ? EAFNOSUPPORT : -1; }
static int fail_strtol(void) /* pure libc: no host call at all */
{
    return strtol("99999999999999999999999999", NULL, 10) == LONG_MAX ? ERANGE : -1;
}
static int fail_fcntl(void) { return fcntl(-5, F_GETFD) == -1 ? EBADF : -1; }
static int fail_rmdir(void) { return rmdir(MISSING) == -1 ? ENOENT : -1; }

static int (*const cases[])(void) = {fail_open, fail_close, fail_mkdir, fail_lseek_pipe,
                                     fail_socket, fail_strtol, fail_fcntl, fail_rmdir};
static const char *const case_names[] = {"open(missing)", "close(-1)", "mkdir(/)", "lseek(pipe)",
                                         "socket(-1)", "strtol(overflow)", "fcntl(-5)", "rmdir(missing)"};
#define NCASES (int)(sizeof cases / sizeof cases[0])
#define ROUNDS 50

static pthread_barrier_t bar;
static int *errno_addr[NCASES + 1];

static void *worker(void *arg)
{
    int id = (int)(intptr_t)arg;
    errno_addr[id] = &errno;
    for (int r = 0; r < ROUNDS; r++) {
        errno = 0;
        int want = cases[id]();
        int got = errno;
        CHECK(want > 0, "thread %d: %s did not fail", id, case_names[id]);
        CHECK(got == want, "thread %d: %s set errno %d (%s), want %d (%s)", id, case_names[id], got,
              strerror(got), want, strerror(want));
        pthread_barrier_wait(&bar); /* every thread has just set its errno */
        CHECK(errno == want, "thread %d round %d: errno changed to %d (%s) after other threads failed",
              id, r, errno, strerror(errno));
        pthread_barrier_wait(&bar);
    }
    return NULL;
}

int main(void)
{
    /* single-threaded basics first */
    errno = 0;
    CHECK(open(MISSING, O_RDONLY) == -1 && errno == ENOENT, "open of a missing file: errno %d, want ENOENT",
          errno);
    errno = 0;
    CHECK(close(-1) == -1 && errno == EBADF, "close(-1): errno %d, want EBADF", errno);
    errno = 0;
    char buf[4];
    CHECK(read(-1, buf, sizeof buf) == -1 && errno == EBADF, "read(-1): errno %d, want EBADF", errno);
    errno = 0;
    CHECK(write(12345, buf, 1) == -1 && errno == EBADF, "write(12345): errno %d, want EBADF", errno);
    errno = 0;
    CHECK(access(MISSING, F_OK) == -1 && errno == ENOENT, "access(missing): errno %d, want ENOENT", errno);
    errno = 0;
    CHECK(getcwd(buf, 1) == NULL && errno == ERANGE, "getcwd into 1 byte: errno %d, want ERANGE", errno);
    /* a successful call leaves errno alone */
    errno = 4242;
    CHECK(getpid() > 0 && errno == 4242, "getpid changed errno to %d", errno);
    CHECK(strlen(strerror(ENOENT)) > 0, "strerror(ENOENT) is empty");
    printf("ok: single-thread errno values\n");
    fflush(stdout);

    /* many threads, each with a different failure, main keeps its own errno */
    pthread_t th[NCASES];
    if (pthread_barrier_init(&bar, NULL, NCASES + 1)) {
        printf("FAIL: pthread_barrier_init\n");
        return 1;
    }
    for (intptr_t i = 0; i < NCASES; i++) {
        int e = pthread_create(&th[i], NULL, worker, (void *)i);
        if (e) {
            printf("FAIL: pthread_create: %s\n", strerror(e));
            return 1;
        }
    }
    errno_addr[NCASES] = &errno;
    for (int r = 0; r < ROUNDS; r++) {
        errno = 777;
        pthread_barrier_wait(&bar);
        CHECK(errno == 777, "main round %d: errno changed to %d", r, errno);
        pthread_barrier_wait(&bar);
    }
    for (int i = 0; i < NCASES; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i <= NCASES; i++)
        for (int j = i + 1; j <= NCASES; j++)
            CHECK(errno_addr[i] != errno_addr[j], "threads %d and %d share one errno location", i, j);
    printf("ok: errno is per thread (%d threads x %d rounds)\n", NCASES, ROUNDS);

    if (failures) {
        printf("t_errno: FAIL (%d checks failed)\n", (int)failures);
        return 1;
    }
    printf("t_errno: PASS\n");
    return 0;
}
