/* Cost of crossing the enclave boundary. Built twice by run.sh: as an
 * enclave image (omcc) and as a plain static musl program, same source. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    static char page[4096];
    int fd = open("/dev/null", O_WRONLY);
    volatile long sink = 0;
    double t0 = now_ns();
    for (long i = 0; i < n; i++)
        sink += syscall(SYS_getppid);
    double t1 = now_ns();
    for (long i = 0; i < n; i++)
        sink += syscall(SYS_gettid);
    double t2 = now_ns();
    for (long i = 0; i < n; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sink += ts.tv_nsec;
    }
    double t3 = now_ns();
    for (long i = 0; i < n; i++)
        sink += write(fd, page, sizeof(page));
    double t4 = now_ns();
    printf("trap_ocall_getppid_ns %.1f\n", (t1 - t0) / n);
    printf("trap_emulated_gettid_ns %.1f\n", (t2 - t1) / n);
    printf("direct_ocall_clock_gettime_ns %.1f\n", (t3 - t2) / n);
    printf("direct_ocall_write4k_ns %.1f\n", (t4 - t3) / n);
    return sink == 42;
}
