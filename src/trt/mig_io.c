/* Stream I/O, time and platform services for the migration ECALLs. Bytes
 * cross the boundary only through the thread's untrusted scratch area. */
#include "mig.h"
#include <bearssl.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <poll.h>
#include <time.h>

/* Rounded up to whole pages: they are left out of the migration entirely. */
static union {
    struct om_mig_session s;
    uint8_t pages[(sizeof(struct om_mig_session) + 4095) & ~(size_t)4095];
} sess __attribute__((aligned(4096)));

struct om_mig_session *om_mig_session(void) { return &sess.s; }
size_t om_mig_session_span(void) { return sizeof(sess); }

static uint8_t *scratch(struct om_ssa *ssa, size_t *cap)
{
    size_t hdr = (sizeof(struct om_ocall) + 63) & ~(size_t)63;
    *cap = ssa->ocall_size - hdr;
    return (uint8_t *)ssa->ocall_buf + hdr;
}

int om_mig_send(struct om_ssa *ssa, int fd, const void *buf, size_t len)
{
    size_t cap;
    uint8_t *out = scratch(ssa, &cap);
    const uint8_t *p = buf;
    while (len) {
        size_t n = len < cap ? len : cap;
        if ((const uint8_t *)p != out)
            memcpy(out, p, n);
        size_t done = 0;
        while (done < n) {
            int64_t a[6] = { fd, (int64_t)(out + done), (int64_t)(n - done), MSG_NOSIGNAL };
            int64_t r = om_oc_syscall(ssa, SYS_sendto, a);
            if (r == -EINTR)
                continue;
            if (r <= 0 || (uint64_t)r > n - done)
                return OM_MIGERR_IO;
            done += (size_t)r;
        }
        p += n;
        len -= n;
    }
    return 0;
}

static int wait_readable(struct om_ssa *ssa, int fd, uint32_t timeout_ms)
{
    size_t cap;
    struct pollfd *pfd = (struct pollfd *)scratch(ssa, &cap);
    for (;;) {
        pfd->fd = fd;
        pfd->events = POLLIN;
        pfd->revents = 0;
        int64_t a[6] = { (int64_t)pfd, 1, timeout_ms ? (int64_t)timeout_ms : -1 };
        int64_t r = om_oc_syscall(ssa, SYS_poll, a);
        if (r == -EINTR)
            continue;
        if (r == 0)
            return OM_MIGERR_TIMEOUT;
        return r < 0 ? OM_MIGERR_IO : 0;
    }
}

/* Appends at least one received byte to st->buf (compacting first). */
static int fill(struct om_ssa *ssa, struct om_mig_stream *st, uint32_t timeout_ms)
{
    if (st->off) {
        memmove(st->buf, st->buf + st->off, st->have - st->off);
        st->have -= st->off;
        st->off = 0;
    }
    size_t room = OM_MIG_BUF - st->have, cap;
    if (!room)
        return OM_MIGERR_PROTOCOL;
    int rc = wait_readable(ssa, st->fd, timeout_ms);
    if (rc)
        return rc;
    uint8_t *in = scratch(ssa, &cap);
    if (room > cap)
        room = cap;
    int64_t a[6] = { st->fd, (int64_t)in, (int64_t)room, 0, 0, 0 };
    int64_t r = om_oc_syscall(ssa, SYS_recvfrom, a);
    if (r == -EINTR || r == -EAGAIN)
        return 0;
    if (r <= 0 || (uint64_t)r > room)
        return OM_MIGERR_IO; /* 0: the peer closed the stream: truncated */
    memcpy(st->buf + st->have, in, (size_t)r);
    st->have += (size_t)r;
    return 0;
}

/* Next whole frame from the stream, parsed inside the enclave; f->payload
 * points into st->buf and stays valid until the next call. */
int om_mig_next_frame(struct om_ssa *ssa, struct om_mig_stream *st, struct om_frame *f, uint32_t timeout_ms)
{
    for (;;) {
        size_t used = 0;
        int rc = om_frame_parse(st->buf + st->off, st->have - st->off, f, &used);
        if (rc == OM_PROTO_OK) {
            st->off += used;
            return f->len > OM_MIG_FRAME_MAX ? OM_MIGERR_PROTOCOL : 0;
        }
        if (rc != OM_PROTO_NEED_MORE)
            return OM_MIGERR_PROTOCOL;
        rc = fill(ssa, st, timeout_ms); /* a frame larger than the buffer fails here */
        if (rc)
            return rc;
    }
}

uint64_t om_mig_now_ns(struct om_ssa *ssa)
{
    size_t cap;
    struct timespec *ts = (struct timespec *)scratch(ssa, &cap);
    int64_t a[6] = { CLOCK_REALTIME, (int64_t)ts };
    if (om_oc_syscall(ssa, SYS_clock_gettime, a))
        return 0;
    struct timespec v;
    memcpy(&v, ts, sizeof(v));
    return (uint64_t)v.tv_sec * 1000000000ull + (uint64_t)v.tv_nsec;
}

void om_mig_sleep_us(struct om_ssa *ssa, uint64_t us)
{
    size_t cap;
    struct timespec *ts = (struct timespec *)scratch(ssa, &cap);
    ts->tv_sec = (time_t)(us / 1000000);
    ts->tv_nsec = (long)(us % 1000000) * 1000;
    int64_t a[6] = { (int64_t)ts, 0 };
    om_oc_syscall(ssa, SYS_nanosleep, a);
}

void om_mig_mac(const uint8_t key[32], const char *label, const uint8_t *data, size_t len, uint8_t out[32])
{
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, &br_sha256_vtable, key, 32);
    br_hmac_init(&hc, &kc, 32);
    br_hmac_update(&hc, label, strlen(label));
    br_hmac_update(&hc, data, len);
    br_hmac_out(&hc, out);
    om_wipe(&kc, sizeof(kc));
    om_wipe(&hc, sizeof(hc));
}

int om_mig_quote(struct om_ssa *ssa, const uint8_t rd[32], struct om_quote *q)
{
    size_t cap;
    uint8_t *buf = scratch(ssa, &cap);
    memcpy(buf, rd, 32);
    struct om_ocall *oc = om_oc_begin(ssa, OM_OC_MIG);
    oc->a[0] = OM_MIG_QUOTE;
    oc->a[1] = (int64_t)buf;
    if (om_oc_call(ssa, oc))
        return OM_MIGERR_ATTEST;
    uint8_t tmp[OM_QUOTE_SIZE];
    memcpy(tmp, buf, sizeof(tmp));
    memcpy(q->measurement, tmp, 32);
    memcpy(q->report_data, tmp + 32, 32);
    memcpy(q->platform_pub, tmp + 64, 65);
    memcpy(q->sig, tmp + 129, 64);
    /* The platform must have quoted what we asked for. */
    return memcmp(q->report_data, rd, 32) ? OM_MIGERR_ATTEST : 0;
}
