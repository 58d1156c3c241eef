/* t_syscall_raw: system calls issued by raw `syscall` instructions in the
 * program's own code, bypassing libc, so the enclave must trap and mediate
 * them like libc's own. getpid matches libc's getpid(); write(1) prints its
 * message; clock_gettime and read fill enclave buffers; a bad pointer gives
 * -EFAULT; an unknown number gives -ENOSYS; fork must be refused with
 * -ENOSYS (skipped when OM_NATIVE=1, i.e. when run natively outside an
 * enclave, where fork is real). Exits 0 only if every check passed, with
 * "t_syscall_raw: PASS" as its last line. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef __x86_64__
#error "t_syscall_raw is x86_64 only"
#endif

/* x86_64 Linux system call numbers, spelled out: no <sys/syscall.h> needed */
enum { NR_read = 0, NR_write = 1, NR_getpid = 39, NR_fork = 57, NR_exit_group = 231,
       NR_clock_gettime = 228, NR_gettid = 186, NR_bogus = 100000 };

static int failures;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            printf("FAIL: ");                                              \
            printf(__VA_ARGS__);                                           \
            printf(" [%s:%d]\n", __FILE__, __LINE__);                      \
            fflush(stdout);                                                \
        }                                                                  \
    } while (0)

static inline long raw0(long n)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n) : "rcx", "r11", "memory");
    return r;
}

static inline long raw3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

static void *tid_thread(void *arg)
{
    (void)arg;
    return (void *)raw0(NR_gettid);
}

int main(void)
{
    /* getpid */
    long pid = raw0(NR_getpid);
    CHECK(pid > 0, "raw getpid returned %ld", pid);
    CHECK(pid == (long)getpid(), "raw getpid %ld != getpid() %ld", pid, (long)getpid());
    printf("ok: raw getpid = getpid()\n");

    /* gettid differs between threads */
    long tid = raw0(NR_gettid);
    pthread_t th;
    void *other = NULL;
    CHECK(pthread_create(&th, NULL, tid_thread, NULL) == 0, "pthread_create");
    pthread_join(th, &other);
    CHECK(tid > 0 && (long)other > 0 && (long)other != tid, "raw gettid: main %ld, thread %ld", tid, (long)other);
    printf("ok: raw gettid differs between threads\n");

    /* write(1) straight from an enclave buffer */
    static const char msg[] = "t_syscall_raw: raw write ok\n";
    fflush(stdout);
    long w = raw3(NR_write, 1, (long)msg, (long)(sizeof msg - 1));
    CHECK(w == (long)(sizeof msg - 1), "raw write returned %ld", w);

    /* the host writes results back into enclave memory */
    struct timespec ts = {0, 0}, lt;
    long r = raw3(NR_clock_gettime, CLOCK_MONOTONIC, (long)&ts, 0);
    clock_gettime(CLOCK_MONOTONIC, &lt);
    CHECK(r == 0, "raw clock_gettime returned %ld", r);
    CHECK(ts.tv_sec > 0 || ts.tv_nsec > 0, "raw clock_gettime left the timespec empty");
    CHECK(lt.tv_sec >= ts.tv_sec && lt.tv_sec - ts.tv_sec < 60, "raw %ld s vs libc %ld s", (long)ts.tv_sec,
          (long)lt.tv_sec);
    int p[2];
    CHECK(pipe(p) == 0, "pipe");
    char in[8] = {0};
    CHECK(raw3(NR_write, p[1], (long)"xyz", 3) == 3, "raw write to a pipe");
    r = raw3(NR_read, p[0], (long)in, sizeof in);
    CHECK(r == 3 && !memcmp(in, "xyz", 3), "raw read from a pipe returned %ld '%.3s'", r, in);
    close(p[0]);
    close(p[1]);
    printf("ok: raw clock_gettime and read fill enclave buffers\n");

    /* errors come back as -errno */
    r = raw3(NR_write, 1, 1, 10);
    CHECK(r == -EFAULT, "raw write from address 1 returned %ld, want -EFAULT (%d)", r, -EFAULT);
    r = raw3(NR_write, -1, (long)msg, 1);
    CHECK(r == -EBADF, "raw write to fd -1 returned %ld, want -EBADF", r);
    r = raw0(NR_bogus);
    CHECK(r == -ENOSYS, "raw syscall %d returned %ld, want -ENOSYS", NR_bogus, r);
    printf("ok: raw errors: -EFAULT, -EBADF, -ENOSYS\n");

    /* fork must be refused, not executed */
    const char *native = getenv("OM_NATIVE");
    if (native && !strcmp(native, "1")) {
        printf("SKIP: raw fork refusal (OM_NATIVE=1: not in an enclave)\n");
    } else {
        fflush(stdout);
        long f = raw0(NR_fork);
        if (f == 0)
            raw3(NR_exit_group, 0, 0, 0); /* a child must not go on */
        CHECK(f == -ENOSYS, "raw fork returned %ld, want -ENOSYS (refused)", f);
        if (f > 0) {
            printf("FAIL: fork was executed: child %ld\n", f);
            waitpid((pid_t)f, NULL, 0);
        }
        if (f == -ENOSYS)
            printf("ok: raw fork refused with -ENOSYS\n");
    }

    if (failures) {
        printf("t_syscall_raw: FAIL (%d checks failed)\n", failures);
        return 1;
    }
    printf("t_syscall_raw: PASS\n");
    return 0;
}
