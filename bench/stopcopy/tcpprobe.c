/* Raw TCP throughput between two hosts (or network namespaces), N parallel streams.
 *
 *   tcpprobe recv PORT NSTREAMS          accept NSTREAMS connections, read to EOF,
 *                                        print "bytes B seconds S gbit_s G gbyte_s Y"
 *   tcpprobe send HOST PORT NSTREAMS SEC write 1 MiB buffers on each stream for SEC s
 *
 * The receiver's clock decides: from the first byte on any stream to the last
 * byte on any stream. Plain blocking sockets, default buffer autotuning,
 * TCP_NODELAY off: what a bulk transfer over this link can reach.
 * Build: cc -O2 -pthread -o tcpprobe tcpprobe.c */
#define _GNU_SOURCE
#include <netdb.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BUF (1u << 20)
#define MAXS 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct job {
    int fd;
    double secs, t_first, t_last;
    uint64_t bytes;
};

static void *reader(void *p)
{
    struct job *j = p;
    char *b = malloc(BUF);
    ssize_t n;
    if (!b)
        exit(1);
    while ((n = read(j->fd, b, BUF)) > 0) {
        if (!j->bytes)
            j->t_first = now();
        j->bytes += (uint64_t)n;
        j->t_last = now();
    }
    if (n < 0)
        perror("tcpprobe: read");
    free(b);
    return NULL;
}

static void *writer(void *p)
{
    struct job *j = p;
    char *b = malloc(BUF);
    if (!b)
        exit(1);
    for (size_t i = 0; i < BUF; i++)
        b[i] = (char)(i * 131u + 7u); /* not all zero: nothing on the path compresses */
    double end = now() + j->secs;
    while (now() < end) {
        size_t off = 0;
        while (off < BUF) {
            ssize_t n = write(j->fd, b + off, BUF - off);
            if (n <= 0) {
                perror("tcpprobe: write");
                exit(1);
            }
            off += (size_t)n;
            j->bytes += (uint64_t)n;
        }
    }
    shutdown(j->fd, SHUT_WR);
    free(b);
    return NULL;
}

static int usage(void)
{
    fprintf(stderr, "usage: tcpprobe recv PORT NSTREAMS | tcpprobe send HOST PORT NSTREAMS SECONDS\n");
    return 64;
}

int main(int argc, char **argv)
{
    struct job jobs[MAXS];
    pthread_t th[MAXS];
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
    int n, one = 1;
    memset(jobs, 0, sizeof(jobs));
    if (argc == 4 && !strcmp(argv[1], "recv")) {
        n = atoi(argv[3]);
        if (n < 1 || n > MAXS)
            return usage();
        hints.ai_flags = AI_PASSIVE;
        if (getaddrinfo(NULL, argv[2], &hints, &ai))
            return usage();
        int l = socket(ai->ai_family, SOCK_STREAM, 0);
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (l < 0 || bind(l, ai->ai_addr, ai->ai_addrlen) || listen(l, MAXS)) {
            perror("tcpprobe: listen");
            return 1;
        }
        fprintf(stderr, "tcpprobe: listening\n");
        for (int i = 0; i < n; i++) {
            if ((jobs[i].fd = accept(l, NULL, NULL)) < 0) {
                perror("tcpprobe: accept");
                return 1;
            }
            pthread_create(&th[i], NULL, reader, &jobs[i]);
        }
        double t0 = 1e300, t1 = 0;
        uint64_t total = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(th[i], NULL);
            total += jobs[i].bytes;
            if (jobs[i].bytes && jobs[i].t_first < t0)
                t0 = jobs[i].t_first;
            if (jobs[i].t_last > t1)
                t1 = jobs[i].t_last;
        }
        if (!total || t1 <= t0) {
            fprintf(stderr, "tcpprobe: nothing received\n");
            return 1;
        }
        double s = t1 - t0;
        printf("bytes %llu seconds %.3f gbit_s %.3f gbyte_s %.3f\n", (unsigned long long)total, s,
               (double)total * 8 / s / 1e9, (double)total / s / 1e9);
        return 0;
    }
    if (argc == 6 && !strcmp(argv[1], "send")) {
        n = atoi(argv[4]);
        double secs = atof(argv[5]);
        if (n < 1 || n > MAXS || secs <= 0)
            return usage();
        if (getaddrinfo(argv[2], argv[3], &hints, &ai))
            return usage();
        for (int i = 0; i < n; i++) {
            jobs[i].fd = socket(ai->ai_family, SOCK_STREAM, 0);
            if (jobs[i].fd < 0 || connect(jobs[i].fd, ai->ai_addr, ai->ai_addrlen)) {
                perror("tcpprobe: connect");
                return 1;
            }
            jobs[i].secs = secs;
        }
        for (int i = 0; i < n; i++)
            pthread_create(&th[i], NULL, writer, &jobs[i]);
        for (int i = 0; i < n; i++)
            pthread_join(th[i], NULL);
        return 0;
    }
    return usage();
}
