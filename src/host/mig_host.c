/* Host side of a migration. The host only connects sockets, starts ECALL
 * threads and relays bytes; every decision on state is the enclave's. */
#include "mig_host.h"
#include "elf_image.h"
#include "enclave.h"
#include "ktrack.h"
#include "measure.h"
#include "ocall.h"
#include "platform.h"
#include "range.h"
#include "wire.h"
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Host descriptors move out of the way of the enclave's own, which a
 * destination re-creates at their original numbers. */
#define OM_HOST_FD_MIN 512

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int64_t om_mig_service(struct om_hthread *ht, const struct om_ocall *oc)
{
    switch (oc->a[0]) {
    case OM_MIG_QUOTE: {
        uint8_t *buf = (uint8_t *)oc->a[1], *lo = ht->ocall_buf;
        const struct om_platform_key *k = om_platform_key();
        if (buf < lo + sizeof(*oc) || buf + OM_QUOTE_SIZE > lo + OM_OCALL_BUF_SIZE)
            return -EFAULT;
        if (!k)
            return -EPERM;
        struct om_quote q;
        uint8_t rd[32];
        memcpy(rd, buf, 32);
        if (om_quote_sign(k, om_enclave.measurement, rd, &q))
            return -EIO;
        memcpy(buf, q.measurement, 32);
        memcpy(buf + 32, q.report_data, 32);
        memcpy(buf + 64, q.platform_pub, 65);
        memcpy(buf + 129, q.sig, 64);
        return 0;
    }
    case OM_MIG_UNPARK:
        om_park_release();
        return 0;
    case OM_MIG_PREFAULT: {
        /* Populating ahead of the data is much cheaper than a fault per
         * page while the enclave is stopped (first touch is slow on a VM). */
        uint64_t a = (uint64_t)oc->a[1], len = (uint64_t)oc->a[2];
        if (a % OM_PAGE_SIZE || len % OM_PAGE_SIZE || !om_range_contains(&om_enclave.params.layout, a, len))
            return -EINVAL;
        return madvise((void *)a, len, MADV_POPULATE_WRITE) ? -errno : 0;
    }
    case OM_MIG_KT_PROBE:
    case OM_MIG_KT_DIRTY_START:
    case OM_MIG_KT_DIRTY_COLLECT:
    case OM_MIG_KT_DIRTY_STOP:
    case OM_MIG_KT_PENDING:
    case OM_MIG_KT_ABSENT_START:
    case OM_MIG_KT_INSTALL:
    case OM_MIG_KT_WANTED:
    case OM_MIG_KT_ABSENT_STOP:
        return om_kth_service((uint8_t *)ht->ocall_buf, OM_OCALL_BUF_SIZE, &om_enclave.params.layout, oc->a);
    default:
        return -ENOSYS;
    }
}

/* Big buffers, no Nagle, and a send timeout: a cut network must not keep a
 * stopped source waiting forever. */
static void tune(int fd, uint32_t timeout_ms)
{
    int one = 1, buf = 4 << 20;
    struct timeval tv = { .tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000 };
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &buf, sizeof(buf));
    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buf, sizeof(buf));
}

static int move_high(int fd)
{
    int h = fcntl(fd, F_DUPFD_CLOEXEC, OM_HOST_FD_MIN);
    if (h >= 0) {
        close(fd);
        return h;
    }
    return fd;
}

static void fill_trust(struct om_mig_args *a)
{
    const struct om_trust_store *ts = om_platform_trust();
    a->ntrust = ts->n < OM_MIG_MAX_TRUST ? ts->n : OM_MIG_MAX_TRUST;
    memcpy(a->trust, ts->pub, (size_t)a->ntrust * 65);
}

struct ecall_job {
    pthread_t t;
    uint32_t slot, op;
    struct om_mig_args *args;
};

static void *ecall_main(void *p)
{
    struct ecall_job *j = p;
    om_enclave_ecall(j->slot, j->op, (uint64_t)j->args);
    return NULL;
}

/* Runs the coordinator here and a worker thread per extra stream. */
static int64_t run_ecalls(uint32_t op, struct om_mig_args *args)
{
    struct ecall_job jobs[OM_MIG_MAX_STREAMS];
    uint32_t started = 1;
    for (uint32_t i = 1; i < args->nstreams; i++, started++) {
        jobs[i] = (struct ecall_job){ .slot = i, .op = op, .args = args };
        if (pthread_create(&jobs[i].t, NULL, ecall_main, &jobs[i]))
            break;
    }
    /* A post-copy destination also runs the page requester. */
    struct ecall_job req = { .slot = OM_MIG_MAX_STREAMS, .op = op, .args = args };
    int has_req = op == OM_ECALL_MIGRATE_IN &&
                  (args->strategy == OM_STRATEGY_POSTCOPY || args->strategy == OM_STRATEGY_HYBRID) &&
                  started == args->nstreams && !pthread_create(&req.t, NULL, ecall_main, &req);
    int64_t r = om_enclave_ecall(0, op, (uint64_t)args);
    __atomic_store_n(&args->stop, 1, __ATOMIC_RELEASE); /* the requester's cue */
    for (uint32_t i = 1; i < started; i++)
        pthread_join(jobs[i].t, NULL);
    if (has_req)
        pthread_join(req.t, NULL);
    if (started != args->nstreams && !r)
        r = -EAGAIN;
    return r ? r : args->result;
}

static int read_frame(int fd, uint8_t *buf, size_t cap, size_t *len, int timeout_ms)
{
    size_t have = 0;
    for (;;) {
        struct om_frame f;
        size_t used;
        int rc = om_frame_parse(buf, have, &f, &used);
        if (rc == OM_PROTO_OK) {
            *len = used;
            return 0;
        }
        if (rc != OM_PROTO_NEED_MORE || have == cap)
            return -1;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, timeout_ms) != 1)
            return -1;
        /* Never read past this frame: what follows belongs to the enclave. */
        size_t want = have < OM_FRAME_HDR ? OM_FRAME_HDR - have : 0;
        if (!want) {
            uint32_t plen;
            memcpy(&plen, buf + 4, 4);
            want = OM_FRAME_HDR + (size_t)plen - have;
            if (OM_FRAME_HDR + (size_t)plen > cap)
                return -1;
        }
        ssize_t n = recv(fd, buf + have, want, 0);
        if (n <= 0)
            return -1;
        have += (size_t)n;
    }
}

int om_mig_source(const char *host, const char *port, const struct om_mig_request *rq,
                  struct om_mig_result *res)
{
    uint32_t streams = rq->streams, timeout_ms = rq->timeout_ms;
    double t0 = now_ms();
    memset(res, 0, sizeof(*res));
    res->streams = streams;
    if (om_platform_load(res->error, sizeof(res->error)))
        return -1;
    struct om_mig_args *args = calloc(1, sizeof(*args));
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai = NULL;
    int rc = -1, gai;
    if (!args) {
        snprintf(res->error, sizeof(res->error), "out of memory");
        return -1;
    }
    for (uint32_t i = 0; i < OM_MIG_MAX_STREAMS; i++)
        args->fds[i] = -1;
    if ((gai = getaddrinfo(host, port, &hints, &ai))) {
        snprintf(res->error, sizeof(res->error), "%s:%s: %s", host, port, gai_strerror(gai));
        goto out;
    }
    for (uint32_t i = 0; i < streams; i++) {
        int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || connect(fd, ai->ai_addr, ai->ai_addrlen)) {
            snprintf(res->error, sizeof(res->error), "cannot connect to %s:%s: %s", host, port, strerror(errno));
            if (fd >= 0)
                close(fd);
            goto out;
        }
        tune(fd, timeout_ms);
        args->fds[i] = move_high(fd);
        if (i) {
            /* Names the stream for the destination host; the enclave needs
             * no proof: records carry their stream id under the AEAD. */
            struct om_stream_join j = { .index = (uint8_t)i };
            uint8_t jb[OM_STREAM_JOIN_FRAME];
            size_t jl;
            if (om_stream_join_encode(&j, jb, sizeof(jb), &jl) || send(args->fds[i], jb, jl, MSG_NOSIGNAL) != (ssize_t)jl) {
                snprintf(res->error, sizeof(res->error), "cannot open stream %u: %s", i, strerror(errno));
                goto out;
            }
        }
    }
    args->nstreams = streams;
    args->resume = rq->resume;
    args->strategy = rq->strategy;
    args->tracker = rq->tracker;
    args->max_downtime_ms = rq->max_downtime_ms;
    args->max_rounds = rq->max_rounds;
    args->bandwidth_bps = rq->bandwidth_bps;
    args->timeout_ms = timeout_ms;
    snprintf(args->image, sizeof(args->image), "%s", om_enclave.image);
    fill_trust(args);

    int64_t r = run_ecalls(OM_ECALL_MIGRATE_OUT, args);
    res->switched = args->t_switched_ns != 0;
    res->rounds = args->rounds;
    res->tracker = args->tracker;
    res->pages_sent = args->pages_sent;
    res->bytes_sent = args->bytes_sent;
    res->zero_pages = args->zero_pages;
    res->final_pages = args->final_pages;
    res->postcopy_pages = args->postcopy_pages;
    res->demand_pages = args->demand_pages;
    /* Downtime: the last thread parked here, to the threads running there
     * (the destination's word, on the same clock in our tests). */
    res->downtime_ms = args->t_resumed_ns >= args->t_quiesced_ns && args->t_quiesced_ns
                           ? (double)(args->t_resumed_ns - args->t_quiesced_ns) / 1e6 : -1;
    res->quiesce_ms = args->t_quiesce_ns && args->t_quiesced_ns >= args->t_quiesce_ns
                          ? (double)(args->t_quiesced_ns - args->t_quiesce_ns) / 1e6 : -1;
    res->send_ms = args->t_sent_ns ? (double)(args->t_sent_ns - args->t_quiesced_ns) / 1e6 : -1;
    res->switch_ms = args->t_switched_ns ? (double)(args->t_switched_ns - args->t_quiesced_ns) / 1e6 : -1;
    if (r) {
        snprintf(res->error, sizeof(res->error), "%s", args->error[0] ? args->error : strerror((int)-r));
        goto out;
    }
    res->ok = 1;
    if (args->error[0])
        snprintf(res->error, sizeof(res->error), "%s", args->error);
    rc = 0;
out:
    res->total_ms = now_ms() - t0;
    for (uint32_t i = 0; i < streams && i < OM_MIG_MAX_STREAMS; i++)
        if (args->fds[i] >= 0)
            close(args->fds[i]);
    if (ai)
        freeaddrinfo(ai);
    free(args);
    return rc;
}

static int refuse(int fd, const struct om_hello *h, const char *why)
{
    struct om_hello_reply r;
    memset(&r, 0, sizeof(r));
    memcpy(r.mig_id, h->mig_id, sizeof(r.mig_id));
    size_t n = strlen(why);
    r.err_len = (uint16_t)(n > OM_ERRMSG_MAX ? OM_ERRMSG_MAX : n);
    memcpy(r.err, why, r.err_len);
    uint8_t buf[OM_HELLO_REPLY_FRAME_MAX];
    size_t len;
    if (!om_hello_reply_encode(&r, buf, sizeof(buf), &len) && send(fd, buf, len, MSG_NOSIGNAL) < 0)
        return -1;
    return -1;
}

static int accept_streams(int lfd, uint32_t n, int32_t *fds, int timeout_ms)
{
    for (uint32_t got = 1; got < n; got++) {
        struct pollfd p = { .fd = lfd, .events = POLLIN };
        if (poll(&p, 1, timeout_ms) != 1)
            return -1;
        int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0)
            return -1;
        /* The join frame names the stream (see om_mig_source). */
        uint8_t buf[OM_STREAM_JOIN_FRAME];
        struct om_frame f;
        struct om_stream_join j;
        size_t used, len;
        if (read_frame(fd, buf, sizeof(buf), &len, timeout_ms) || om_frame_parse(buf, len, &f, &used) ||
            f.type != OM_MSG_STREAM_JOIN || om_stream_join_decode(&f, &j) || j.index == 0 || j.index >= n ||
            fds[j.index] >= 0) {
            close(fd);
            return -1;
        }
        tune(fd, (uint32_t)timeout_ms);
        fds[j.index] = move_high(fd);
    }
    return 0;
}

/* Stream 0 is the control connection c0; streams 1..n-1 follow it. */
static int take_streams(int lfd, int *c0, const struct om_hello *h, struct om_mig_args *args, uint32_t timeout_ms,
                        char *err, size_t errlen)
{
    args->fds[0] = move_high(*c0);
    *c0 = -1;
    if (h->nstreams < 1 || h->nstreams > OM_MIG_MAX_STREAMS ||
        accept_streams(lfd, h->nstreams, args->fds, (int)timeout_ms)) {
        snprintf(err, errlen, "the source's extra streams did not arrive");
        return -1;
    }
    return 0;
}

int om_mig_destination(int lfd, uint32_t timeout_ms, char *err, size_t errlen)
{
    struct om_mig_args *args = calloc(1, sizeof(*args));
    uint8_t *hello = malloc(OM_HELLO_FRAME_MAX);
    struct om_hello h;
    struct om_frame f;
    size_t len, used;
    int rc = -1, c0 = -1;
    if (!args || !hello) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    for (uint32_t i = 0; i < OM_MIG_MAX_STREAMS; i++)
        args->fds[i] = -1;
    c0 = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    if (c0 < 0) {
        snprintf(err, errlen, "accept: %s", strerror(errno));
        goto out;
    }
    tune(c0, timeout_ms);
    if (read_frame(c0, hello, OM_HELLO_FRAME_MAX, &len, (int)timeout_ms) || om_frame_parse(hello, len, &f, &used) ||
        f.type != OM_MSG_HELLO || om_hello_decode(&f, &h)) {
        snprintf(err, errlen, "no valid HELLO from the source");
        goto out;
    }
    if (h.role == OM_ROLE_RESUME) {
        /* Post-copy recovery: the enclave already runs here; it checks the
         * migration id and the peer's attestation itself. */
        if (!om_enclave.loaded) {
            snprintf(err, errlen, "a post-copy reconnection, but no migrated enclave runs here");
            refuse(c0, &h, err);
            goto out;
        }
        if (take_streams(lfd, &c0, &h, args, timeout_ms, err, errlen)) {
            rc = 1;
            goto out;
        }
        goto run;
    }
    if (om_enclave.loaded) {
        snprintf(err, errlen, "an enclave already runs here: only a post-copy reconnection is accepted");
        refuse(c0, &h, err);
        rc = 1;
        goto out;
    }
    /* The same image must be here, at the same path. */
    struct om_image img;
    uint8_t m[32];
    if (om_image_load(h.path, &img, err, errlen)) {
        char why[600];
        snprintf(why, sizeof(why), "image %s: %s", h.path, err);
        snprintf(err, errlen, "%s", why);
        refuse(c0, &h, why);
        goto out;
    }
    om_image_measure(&img, m);
    om_image_free(&img);
    if (memcmp(m, h.measurement, 32)) {
        snprintf(err, errlen, "measurement of %s differs from the source enclave's", h.path);
        refuse(c0, &h, err);
        goto out;
    }
    if (om_platform_load(err, errlen)) {
        refuse(c0, &h, "destination has no platform key");
        goto out;
    }
    if (take_streams(lfd, &c0, &h, args, timeout_ms, err, errlen))
        goto out;
    char *argv[] = { h.path, NULL };
    if (om_enclave_load(h.path, h.layout.base, h.layout.heap_size, h.layout.max_threads, argv, err, errlen)) {
        refuse(args->fds[0], &h, "destination cannot host this layout");
        goto out;
    }
run:
    args->nstreams = h.nstreams;
    args->strategy = h.strategy;
    args->timeout_ms = timeout_ms;
    args->hello = (uint64_t)hello;
    args->hello_len = (uint32_t)len;
    fill_trust(args);
    int64_t r = run_ecalls(OM_ECALL_MIGRATE_IN, args);
    if (r) {
        snprintf(err, errlen, "%s", args->error[0] ? args->error : strerror((int)-r));
        /* Threads already run here: the process must live on. */
        rc = args->t_resumed_ns ? 1 : -1;
        goto out;
    }
    rc = 0;
out:
    if (c0 >= 0)
        close(c0);
    if (args)
        for (uint32_t i = 0; i < OM_MIG_MAX_STREAMS; i++)
            if (args->fds[i] >= 0)
                close(args->fds[i]);
    free(args);
    free(hello);
    return rc;
}
