/* t_sockets: network services through the enclave boundary, on loopback.
 * TCP: a server thread listens on 127.0.0.1 port 0 and echoes; the client
 * sends 1 MiB from one thread while reading the echo in another and checks
 * every byte; getsockname/getpeername, socket options, poll with a timeout
 * and poll readiness. UDP: sendto/recvfrom keep datagram boundaries and
 * report the sender. Exits 0 only if every check passed, with
 * "t_sockets: PASS" as its last line. */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static atomic_int failures;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            int e_ = errno;                                                \
            atomic_fetch_add(&failures, 1);                                \
            flockfile(stdout);                                             \
            printf("FAIL: ");                                              \
            printf(__VA_ARGS__);                                           \
            printf(" [%s:%d] (errno %d: %s)\n", __FILE__, __LINE__, e_, strerror(e_)); \
            funlockfile(stdout);                                           \
            fflush(stdout);                                                \
        }                                                                  \
    } while (0)

#define ECHO_BYTES (1u << 20)

static unsigned char pattern_byte(size_t i)
{
    uint32_t x = (uint32_t)i * 2654435761u;
    return (unsigned char)(x >> 24 ^ x >> 11);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

static int send_all(int fd, const unsigned char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, 0);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* ---- TCP echo ---- */

static int listen_fd;

static void *echo_server(void *arg)
{
    (void)arg;
    struct sockaddr_in peer;
    socklen_t pl = sizeof peer;
    int c = accept(listen_fd, (struct sockaddr *)&peer, &pl);
    CHECK(c >= 0, "accept");
    if (c < 0)
        return NULL;
    CHECK(pl == sizeof peer && peer.sin_family == AF_INET && peer.sin_addr.s_addr == htonl(INADDR_LOOPBACK),
          "accept reported a wrong peer address");
    unsigned char *buf = malloc(65536);
    size_t total = 0;
    for (;;) {
        ssize_t r = recv(c, buf, 65536, 0);
        if (r < 0 && errno == EINTR)
            continue;
        CHECK(r >= 0, "server recv");
        if (r <= 0)
            break;
        CHECK(send_all(c, buf, (size_t)r) == 0, "server send");
        total += (size_t)r;
    }
    free(buf);
    close(c);
    return (void *)(uintptr_t)total;
}

struct sender_arg {
    int fd;
    const unsigned char *data;
};

static void *sender(void *arg)
{
    struct sender_arg *s = arg;
    /* uneven chunk sizes to exercise partial reads and writes */
    size_t off = 0, k = 0;
    while (off < ECHO_BYTES) {
        size_t n = 1 + (k++ * 7919) % 32768;
        if (n > ECHO_BYTES - off)
            n = ECHO_BYTES - off;
        if (send_all(s->fd, s->data + off, n))
            return (void *)1;
        off += n;
    }
    shutdown(s->fd, SHUT_WR);
    return NULL;
}

static void test_tcp(void)
{
    listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(listen_fd >= 0, "socket");
    if (listen_fd < 0)
        return;
    int one = 1;
    CHECK(setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) == 0, "SO_REUSEADDR");
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    CHECK(bind(listen_fd, (struct sockaddr *)&a, sizeof a) == 0, "bind 127.0.0.1:0");
    CHECK(listen(listen_fd, 4) == 0, "listen");
    struct sockaddr_in la = {0};
    socklen_t ll = sizeof la;
    CHECK(getsockname(listen_fd, (struct sockaddr *)&la, &ll) == 0, "getsockname");
    CHECK(ll == sizeof la && la.sin_family == AF_INET && la.sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
              la.sin_port != 0,
          "getsockname gave family %d addr %08x port %d", la.sin_family, ntohl(la.sin_addr.s_addr),
          ntohs(la.sin_port));

    /* nothing to accept yet: poll must time out */
    struct pollfd pf = {listen_fd, POLLIN, 0};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int pr = poll(&pf, 1, 100);
    long ms = ms_since(&t0);
    CHECK(pr == 0, "poll on an idle listener returned %d", pr);
    CHECK(ms >= 95, "poll(100 ms) returned after %ld ms", ms);

    pthread_t srv;
    if (pthread_create(&srv, NULL, echo_server, NULL)) {
        printf("FAIL: pthread_create\n");
        exit(1);
    }
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(c >= 0, "client socket");
    CHECK(connect(c, (struct sockaddr *)&la, sizeof la) == 0, "connect to port %d", ntohs(la.sin_port));
    struct sockaddr_in pa = {0}, ca = {0};
    socklen_t pal = sizeof pa, cal = sizeof ca;
    CHECK(getpeername(c, (struct sockaddr *)&pa, &pal) == 0 && pa.sin_port == la.sin_port,
          "getpeername does not match the server");
    CHECK(getsockname(c, (struct sockaddr *)&ca, &cal) == 0 && ca.sin_port != 0 && ca.sin_port != la.sin_port,
          "client getsockname");
    CHECK(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) == 0, "TCP_NODELAY");
    int v = 0;
    socklen_t vl = sizeof v;
    CHECK(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v != 0, "TCP_NODELAY reads back %d", v);
    vl = sizeof v;
    CHECK(getsockopt(c, SOL_SOCKET, SO_TYPE, &v, &vl) == 0 && v == SOCK_STREAM, "SO_TYPE");

    /* connected, nothing echoed yet: poll for input times out, output is ready */
    pf.fd = c;
    pf.events = POLLIN | POLLOUT;
    pf.revents = 0;
    CHECK(poll(&pf, 1, 50) == 1 && (pf.revents & POLLOUT) && !(pf.revents & POLLIN),
          "poll on a fresh connection: revents %#x", pf.revents);

    unsigned char *data = malloc(ECHO_BYTES), *back = malloc(ECHO_BYTES);
    if (!data || !back) {
        printf("FAIL: malloc\n");
        exit(1);
    }
    for (size_t i = 0; i < ECHO_BYTES; i++)
        data[i] = pattern_byte(i);
    struct sender_arg sa = {c, data};
    pthread_t snd;
    if (pthread_create(&snd, NULL, sender, &sa)) {
        printf("FAIL: pthread_create\n");
        exit(1);
    }
    size_t got = 0;
    int first = 1;
    while (got < ECHO_BYTES) {
        pf.fd = c;
        pf.events = POLLIN;
        pf.revents = 0;
        int r = poll(&pf, 1, 20000);
        if (first) {
            CHECK(r == 1 && (pf.revents & POLLIN), "poll did not report the echo as readable");
            first = 0;
        }
        if (r <= 0)
            break;
        ssize_t n = recv(c, back + got, ECHO_BYTES - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    CHECK(got == ECHO_BYTES, "received %zu of %u echoed bytes", got, ECHO_BYTES);
    size_t bad = SIZE_MAX;
    for (size_t i = 0; i < got; i++)
        if (back[i] != pattern_byte(i)) {
            bad = i;
            break;
        }
    CHECK(bad == SIZE_MAX, "echoed byte %zu differs", bad);
    unsigned char extra;
    CHECK(recv(c, &extra, 1, 0) == 0, "no EOF after the echo");
    void *sr, *er;
    pthread_join(snd, &sr);
    pthread_join(srv, &er);
    CHECK(sr == NULL, "client sender failed");
    CHECK((uintptr_t)er == ECHO_BYTES, "server echoed %lu bytes", (unsigned long)(uintptr_t)er);
    close(c);
    close(listen_fd);
    free(data);
    free(back);
    printf("ok: TCP 127.0.0.1 echo of 1 MiB, getsockname/getpeername, poll\n");
}

/* ---- UDP ---- */

static void test_udp(void)
{
    int a = socket(AF_INET, SOCK_DGRAM, 0), b = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(a >= 0 && b >= 0, "udp sockets");
    if (a < 0 || b < 0)
        return;
    struct sockaddr_in sa = {0}, sb = {0};
    sa.sin_family = sb.sin_family = AF_INET;
    sa.sin_addr.s_addr = sb.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(bind(a, (struct sockaddr *)&sa, sizeof sa) == 0 && bind(b, (struct sockaddr *)&sb, sizeof sb) == 0,
          "udp bind");
    socklen_t l = sizeof sa;
    CHECK(getsockname(a, (struct sockaddr *)&sa, &l) == 0 && sa.sin_port, "udp getsockname a");
    l = sizeof sb;
    CHECK(getsockname(b, (struct sockaddr *)&sb, &l) == 0 && sb.sin_port, "udp getsockname b");

    static const size_t sizes[] = {1, 100, 1472, 9000, 60000};
    static unsigned char msg[60000], in[65536];
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        for (size_t i = 0; i < sizes[k]; i++)
            msg[i] = (unsigned char)(pattern_byte(i) + k);
        ssize_t s = sendto(a, msg, sizes[k], 0, (struct sockaddr *)&sb, sizeof sb);
        CHECK(s == (ssize_t)sizes[k], "sendto %zu bytes returned %zd", sizes[k], s);
    }
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct pollfd pf = {b, POLLIN, 0};
        CHECK(poll(&pf, 1, 5000) == 1, "datagram %zu not readable", k);
        struct sockaddr_in from = {0};
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(b, in, sizeof in, 0, (struct sockaddr *)&from, &fl);
        CHECK(r == (ssize_t)sizes[k], "datagram %zu: %zd bytes, want %zu", k, r, sizes[k]);
        CHECK(fl == sizeof from && from.sin_port == sa.sin_port && from.sin_addr.s_addr == sa.sin_addr.s_addr,
              "recvfrom reported a wrong sender");
        int ok = 1;
        for (size_t i = 0; r > 0 && i < (size_t)r; i++)
            if (in[i] != (unsigned char)(pattern_byte(i) + k))
                ok = 0;
        CHECK(ok, "datagram %zu contents differ", k);
    }
    /* nothing more queued: a timed poll expires, a non-blocking recv says EAGAIN */
    struct pollfd pf = {b, POLLIN, 0};
    CHECK(poll(&pf, 1, 30) == 0, "poll on an empty UDP socket");
    errno = 0;
    CHECK(recv(b, in, sizeof in, MSG_DONTWAIT) == -1 && (errno == EAGAIN || errno == EWOULDBLOCK),
          "recv MSG_DONTWAIT on an empty socket");
    close(a);
    close(b);
    printf("ok: UDP sendto/recvfrom, datagram boundaries and sender address\n");
}

int main(void)
{
    test_tcp();
    test_udp();
    if (failures) {
        printf("t_sockets: FAIL (%d checks failed)\n", (int)failures);
        return 1;
    }
    printf("t_sockets: PASS\n");
    return 0;
}
