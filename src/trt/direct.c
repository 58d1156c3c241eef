/* The direct OCALL path. musl funnels its cancellable system calls (read,
 * write, send, recv, accept, connect, open, poll, sleeps, futex waits)
 * through __syscall_cp, and time through clock_gettime; defining both here
 * sends those straight to the trusted handler, without the ~7 µs trap. Any
 * other syscall instruction still traps. The per-thread gate is learnt on
 * the thread's first trap and is only valid for its generation. */
#include "cc_rt.h"
#include "trt.h"
#include <errno.h>
#include <time.h>
#include <sys/syscall.h>

struct om_direct_gate {
    uint64_t host_ctx, ocall_buf, ocall_size;
    uint32_t slot, gen;
};

static __thread struct om_direct_gate gate_tls;

#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64 0xc000003eu
#endif

void om_direct_learn(const struct om_ssa *ssa)
{
    struct om_direct_gate *g = &gate_tls;
    g->host_ctx = ssa->host_ctx;
    g->ocall_buf = ssa->ocall_buf;
    g->ocall_size = ssa->ocall_size;
    g->slot = ssa->slot;
    g->gen = om_priv.gate_gen;
}

int om_direct_slot(void)
{
    const struct om_direct_gate *g = &gate_tls;
    return g->host_ctx && g->slot < OM_MAX_THREADS ? (int)g->slot : -1;
}

static long raw_syscall6(long n, long a, long b, long c, long d, long e, long f)
{
    register long r10 __asm__("r10") = d, r8 __asm__("r8") = e, r9 __asm__("r9") = f;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}

static long direct(long n, long a, long b, long c, long d, long e, long f)
{
    for (;;) {
        struct om_direct_gate *g = &gate_tls;
        /* A gate learnt in another process (before a migration) is stale. */
        if (!g->host_ctx || g->gen != om_priv.gate_gen || om_priv.dead)
            return raw_syscall6(n, a, b, c, d, e, f);
        struct om_tcs *t = &om_trt.tcs[g->slot];
        struct om_ssa ssa = {
            .host_ctx = g->host_ctx, .ocall_buf = g->ocall_buf, .ocall_size = g->ocall_size,
            .slot = g->slot, .arch = AUDIT_ARCH_X86_64,
        };
        ssa.gregs[OM_RAX] = (uint64_t)n;
        ssa.gregs[OM_RDI] = (uint64_t)a;
        ssa.gregs[OM_RSI] = (uint64_t)b;
        ssa.gregs[OM_RDX] = (uint64_t)c;
        ssa.gregs[OM_R10] = (uint64_t)d;
        ssa.gregs[OM_R8] = (uint64_t)e;
        ssa.gregs[OM_R9] = (uint64_t)f;
        ssa.gregs[OM_RSP] = (uint64_t)__builtin_frame_address(0);
        t->in_runtime = 1;
        om_trt_handle(&ssa);
        volatile long r = (long)ssa.gregs[OM_RAX];
        if (om_trt.quiesce)
            om_park_direct(&ssa); /* returns here, or on the destination */
        /* Seq-cst: the tracking handshake counts this thread as inside a call
         * until the store is visible, so no later load may pass it. */
        __atomic_store_n(&t->in_runtime, 0, __ATOMIC_SEQ_CST);
        if (r != -EINTR || !om_priv.ready)
            return r;
        /* interrupted by the migration: issue it again, wherever we are now */
    }
}

/* Replaces musl's __syscall_cp (same signature as its internal declaration). */
long __syscall_cp(long n, long a, long b, long c, long d, long e, long f)
{
    return direct(n, a, b, c, d, e, f);
}

int __clock_gettime(clockid_t clk, struct timespec *ts);
int __clock_gettime(clockid_t clk, struct timespec *ts)
{
    long r = direct(SYS_clock_gettime, clk, (long)ts, 0, 0, 0, 0);
    if (r < 0) {
        errno = (int)-r;
        return -1;
    }
    return 0;
}

int clock_gettime(clockid_t clk, struct timespec *ts) __attribute__((weak, alias("__clock_gettime")));
