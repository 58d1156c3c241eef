/* Argument copies across the boundary, SGX-edger8r style: buffers go through
 * the thread's untrusted scratch area, pointers are checked to lie in the
 * enclave, and what comes back is bounded by what was asked for. For the
 * compiler tracker, every enclave byte read or written here is first made
 * present, and every byte written is marked dirty (om_cc_need/om_cc_wrote). */
#include "cc_rt.h"
#include "sys_table.h"
#include "trt.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>

/* musl ships no linux/ headers; these are the kernel's ABI values. */
#define FUTEX_WAIT 0
#define FUTEX_WAKE 1
#define FUTEX_REQUEUE 3
#define FUTEX_CMP_REQUEUE 4
#define FUTEX_WAKE_OP 5
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAKE_BITSET 10
#define FUTEX_CMD_MASK 127

#define PATH_MAX_BYTES 4096u
#define SOCKLEN_MAX 4096u
#define IOV_MAX_COUNT 1024

struct scratch {
    uint8_t *cur, *end;
};

static void *scratch_take(struct scratch *s, uint64_t len)
{
    uint64_t room = (uint64_t)(s->end - s->cur);
    if (len > room)
        return NULL;
    void *p = s->cur;
    s->cur += (len + 15) & ~15ull;
    if (s->cur > s->end)
        s->cur = s->end;
    return p;
}

static struct scratch scratch_init(struct om_ssa *ssa)
{
    uint8_t *b = (uint8_t *)ssa->ocall_buf;
    struct scratch s = { b + ((sizeof(struct om_ocall) + 63) & ~63ull), b + ssa->ocall_size };
    return s;
}

static uint64_t strlen_in_enclave(struct om_ssa *ssa, uint64_t p)
{
    const struct om_layout *l = &om_trt_layout;
    uint64_t lim = l->base + l->size - p;
    if (lim > PATH_MAX_BYTES)
        lim = PATH_MAX_BYTES;
    om_cc_need_str(ssa, (const char *)p, lim);
    const char *s = (const char *)p;
    uint64_t n = 0;
    while (n < lim && s[n])
        n++;
    return n;
}

static int64_t marshal_spec(struct om_ssa *ssa, const struct om_sysspec *sp, const int64_t in[6])
{
    struct scratch sc = scratch_init(ssa);
    int64_t a[6];
    void *host[6] = { 0 };
    uint64_t len[6] = { 0 };
    memcpy(a, in, sizeof(a));

    for (int i = 0; i < 6; i++) {
        const struct om_argspec *as = &sp->a[i];
        uint64_t p = (uint64_t)in[i];
        if (as->kind == A_ZERO) {
            a[i] = 0;
            continue;
        }
        if (as->kind == A_VAL || !p)
            continue;
        uint64_t n;
        switch (as->kind) {
        case A_STR:
            if (!om_in_enclave(p, 1))
                return -EFAULT;
            n = strlen_in_enclave(ssa, p);
            if (n == PATH_MAX_BYTES)
                return -ENAMETOOLONG;
            n += 1;
            break;
        case A_SOCKLEN: {
            uint64_t lp = (uint64_t)in[as->len_arg];
            uint32_t l32;
            if (!lp || !om_in_enclave(lp, 4))
                return -EFAULT;
            om_cc_need(ssa, (const void *)lp, 4);
            memcpy(&l32, (const void *)lp, 4);
            n = l32 > SOCKLEN_MAX ? SOCKLEN_MAX : l32;
            break;
        }
        default:
            n = as->len_arg >= 0 ? (uint64_t)in[as->len_arg] * as->fixed : as->fixed;
            if (as->len_arg >= 0 && as->fixed && n / as->fixed != (uint64_t)in[as->len_arg])
                return -EINVAL;
            break;
        }
        if (n && !om_in_enclave(p, n) && as->kind != A_STR)
            return -EFAULT;
        host[i] = scratch_take(&sc, n);
        if (!host[i]) {
            uint64_t room = (uint64_t)(sc.end - sc.cur);
            if (!(sp->flags & F_PARTIAL) || as->len_arg < 0 || room < 4096)
                return -ENOMEM;
            n = room - 4096; /* leave room for later small arguments */
            a[as->len_arg] = (int64_t)n;
            host[i] = scratch_take(&sc, n);
        }
        len[i] = n;
        /* Outputs too: a page written here must not be restored over later. */
        if (as->kind != A_STR)
            om_cc_need(ssa, (const void *)p, n);
        if (as->kind == A_IN || as->kind == A_INOUT || as->kind == A_STR)
            memcpy(host[i], (const void *)p, n);
        a[i] = (int64_t)host[i];
    }

    int64_t ret = om_oc_syscall(ssa, sp->nr, a);
    if (ret < 0)
        return ret < -4095 ? -EIO : ret;

    for (int i = 0; i < 6; i++) {
        const struct om_argspec *as = &sp->a[i];
        if (!host[i])
            continue;
        uint64_t n = len[i];
        switch (as->kind) {
        case A_OUT:
            if ((sp->flags & F_RETLEN) && as->len_arg >= 0) {
                if ((uint64_t)ret > n)
                    return -EIO; /* the host claims more than it was given room for */
                n = (uint64_t)ret;
            }
            break;
        case A_INOUT:
            break;
        case A_SOCKLEN: {
            uint32_t got;
            memcpy(&got, host[as->len_arg], 4);
            if (got < n)
                n = got;
            break;
        }
        default:
            continue;
        }
        memcpy((void *)in[i], host[i], n);
        om_cc_wrote((void *)in[i], n);
    }
    return ret;
}

/* readv/writev through one contiguous copy: same result for files, pipes and
 * stream sockets, and a partial count is always legal. */
static int64_t vector_io(struct om_ssa *ssa, int64_t nr, const int64_t in[6])
{
    uint64_t iovp = (uint64_t)in[1];
    int64_t cnt = in[2];
    if (cnt < 0 || cnt > IOV_MAX_COUNT)
        return -EINVAL;
    if (cnt && !om_in_enclave(iovp, (uint64_t)cnt * sizeof(struct iovec)))
        return -EFAULT;
    om_cc_need(ssa, (const void *)iovp, (uint64_t)cnt * sizeof(struct iovec));
    struct scratch sc = scratch_init(ssa);
    uint64_t cap = (uint64_t)(sc.end - sc.cur), total = 0;
    uint8_t *buf = sc.cur;
    const struct iovec *iov = (const struct iovec *)iovp;
    for (int64_t i = 0; i < cnt && total < cap; i++) {
        struct iovec v = iov[i];
        if (v.iov_len && !om_in_enclave((uint64_t)v.iov_base, v.iov_len))
            return -EFAULT;
        uint64_t n = v.iov_len < cap - total ? v.iov_len : cap - total;
        om_cc_need(ssa, v.iov_base, n);
        if (nr == SYS_writev)
            memcpy(buf + total, v.iov_base, n);
        total += n;
    }
    int64_t a[6] = { in[0], (int64_t)buf, (int64_t)total };
    int64_t ret = om_oc_syscall(ssa, nr == SYS_writev ? SYS_write : SYS_read, a);
    if (ret < 0)
        return ret < -4095 ? -EIO : ret;
    if ((uint64_t)ret > total)
        return -EIO;
    if (nr == SYS_readv) {
        uint64_t off = 0;
        for (int64_t i = 0; i < cnt && off < (uint64_t)ret; i++) {
            uint64_t n = iov[i].iov_len < (uint64_t)ret - off ? iov[i].iov_len : (uint64_t)ret - off;
            memcpy(iov[i].iov_base, buf + off, n);
            om_cc_wrote(iov[i].iov_base, n);
            off += n;
        }
    }
    return ret;
}

/* The futex word stays in enclave memory; the kernel, not host code, reads it. */
static int64_t futex(struct om_ssa *ssa, const int64_t in[6])
{
    int cmd = (int)in[1] & FUTEX_CMD_MASK;
    struct om_sysspec sp = { SYS_futex, 0, { { A_VAL, -1, 0 } } };
    if (!om_in_enclave((uint64_t)in[0], 4) || in[0] % 4)
        return -EFAULT;
    om_cc_need(ssa, (const void *)in[0], 4); /* the kernel reads it in place */
    switch (cmd) {
    case FUTEX_WAIT:
    case FUTEX_WAIT_BITSET:
        sp.a[3] = (struct om_argspec){ A_IN, -1, 16 };
        break;
    case FUTEX_WAKE:
    case FUTEX_WAKE_BITSET:
        break;
    case FUTEX_REQUEUE:
    case FUTEX_CMP_REQUEUE:
    case FUTEX_WAKE_OP:
        if (!om_in_enclave((uint64_t)in[4], 4) || in[4] % 4)
            return -EFAULT;
        om_cc_need(ssa, (const void *)in[4], 4);
        if (cmd == FUTEX_WAKE_OP) {
            /* The kernel writes the second word in place. */
            int64_t r = marshal_spec(ssa, &sp, in);
            om_cc_wrote((const void *)in[4], 4);
            return r;
        }
        break;
    default:
        return -ENOSYS;
    }
    return marshal_spec(ssa, &sp, in);
}

static int64_t ioctl_call(struct om_ssa *ssa, const int64_t in[6])
{
    struct om_sysspec sp = { SYS_ioctl, 0, { { A_VAL, -1, 0 } } };
    switch ((unsigned long)in[1]) {
    case TIOCGWINSZ: sp.a[2] = (struct om_argspec){ A_OUT, -1, 8 }; break;
    case TCGETS: sp.a[2] = (struct om_argspec){ A_OUT, -1, 60 }; break;
    case FIONREAD: sp.a[2] = (struct om_argspec){ A_OUT, -1, 4 }; break;
    case FIONBIO: sp.a[2] = (struct om_argspec){ A_IN, -1, 4 }; break;
    default: return -ENOTTY;
    }
    return marshal_spec(ssa, &sp, in);
}

static int64_t fcntl_call(struct om_ssa *ssa, const int64_t in[6])
{
    struct om_sysspec sp = { SYS_fcntl, 0, { { A_VAL, -1, 0 } } };
    switch (in[1]) {
    case F_DUPFD: case F_DUPFD_CLOEXEC: case F_GETFD: case F_SETFD: case F_GETFL: case F_SETFL:
        break;
    case F_GETLK: case F_SETLK: case F_SETLKW: case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW:
        sp.a[2] = (struct om_argspec){ A_INOUT, -1, 32 };
        break;
    default:
        return -EINVAL;
    }
    return marshal_spec(ssa, &sp, in);
}

int64_t om_sys_marshal(struct om_ssa *ssa, int64_t nr, const int64_t a[6])
{
    switch (nr) {
    case SYS_readv:
    case SYS_writev: return vector_io(ssa, nr, a);
    case SYS_futex: return futex(ssa, a);
    case SYS_ioctl: return ioctl_call(ssa, a);
    case SYS_fcntl: return fcntl_call(ssa, a);
    default: break;
    }
    const struct om_sysspec *sp = om_sys_lookup(nr);
    return sp ? marshal_spec(ssa, sp, a) : -ENOSYS;
}
