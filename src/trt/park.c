/* Parking threads for a migration. Every enclave thread stops at one of three
 * kinds of safepoint and leaves a complete context in its slot:
 *   - after a trapped syscall (an interrupted one is rewound to re-issue it),
 *   - at an asynchronous exit (AEX) while running enclave code,
 *   - inside the direct OCALL path (a setjmp-style context in the runtime),
 *     which is also where __om_safepoint parks pass-built code (track_cc.c);
 *     such images never park at an AEX.
 * A parked thread waits in the host; if the migration aborts it resumes here,
 * and if it commits, the destination resumes the saved context. */
#include "cc_rt.h"
#include "trt.h"
#include <errno.h>
#include <string.h>

struct om_jmpctx {
    uint64_t rbx, rbp, r12, r13, r14, r15, rsp, rip;
    uint32_t mxcsr;
    uint16_t fcw;
    uint16_t pad;
};
int om_ctx_save(struct om_jmpctx *c);

#define SYSCALL_INSN_LEN 2

static void save_ssa(struct om_tcs *t, const struct om_ssa *ssa, uint32_t kind)
{
    memcpy(t->ctx.gregs, ssa->gregs, sizeof(t->ctx.gregs));
    t->ctx.fsbase = ssa->fsbase;
    t->ctx.fp_size = 0;
    if (ssa->fpstate && ssa->fp_size && ssa->fp_size <= OM_FPSTATE_MAX &&
        om_in_enclave(ssa->fpstate, ssa->fp_size)) {
        memcpy(t->ctx.fpstate, (const void *)ssa->fpstate, ssa->fp_size);
        t->ctx.fp_size = ssa->fp_size;
    }
    t->ctx.pad = kind;
}

/* Waits in the host until the migration ends; returns when it aborted. */
static void park_wait(struct om_ssa *ssa, struct om_tcs *t)
{
    __atomic_store_n(&t->parked, 1, __ATOMIC_RELEASE);
    while (om_trt.quiesce) {
        struct om_ocall *oc = om_oc_begin(ssa, OM_OC_PARK);
        om_oc_call(ssa, oc);
    }
    __atomic_store_n(&t->parked, 0, __ATOMIC_RELEASE);
}

void om_park_after_trap(struct om_ssa *ssa, int64_t nr, int interrupted)
{
    if (om_thread_is_ecall(ssa->slot))
        return;
    struct om_tcs *t = om_tcs_self(ssa);
    while (om_trt.quiesce) {
        save_ssa(t, ssa, OM_PARK_TRAP);
        if (interrupted) {
            /* The call did not happen: resume at the syscall instruction. */
            t->ctx.gregs[OM_RIP] -= SYSCALL_INSN_LEN;
            t->ctx.gregs[OM_RAX] = (uint64_t)nr;
        }
        park_wait(ssa, t);
        if (!interrupted)
            break;
        ssa->gregs[OM_RAX] = (uint64_t)nr;
        om_trt_handle(ssa);
        interrupted = (int64_t)ssa->gregs[OM_RAX] == -EINTR;
    }
}

void om_park_aex(struct om_ssa *ssa)
{
    if (!om_trt.quiesce || om_thread_is_ecall(ssa->slot))
        return;
    /* Pass-built code may sit between a store and its mark, or a check and
     * its access: it runs on to its next poll (__om_safepoint) instead. */
    if (om_cc_compiled() & OM_CC_POLLS)
        return;
    struct om_tcs *t = om_tcs_self(ssa);
    if (t->in_runtime)
        return; /* it parks at the runtime's own safepoint */
    save_ssa(t, ssa, OM_PARK_AEX);
    park_wait(ssa, t);
}

void om_park_direct(struct om_ssa *ssa)
{
    struct om_tcs *t = om_tcs_self(ssa);
    struct om_jmpctx j;
    if (om_ctx_save(&j))
        return; /* resumed from the saved context */
    memset(t->ctx.gregs, 0, sizeof(t->ctx.gregs));
    t->ctx.gregs[OM_RBX] = j.rbx;
    t->ctx.gregs[OM_RBP] = j.rbp;
    t->ctx.gregs[OM_R12] = j.r12;
    t->ctx.gregs[OM_R13] = j.r13;
    t->ctx.gregs[OM_R14] = j.r14;
    t->ctx.gregs[OM_R15] = j.r15;
    t->ctx.gregs[OM_RSP] = j.rsp;
    t->ctx.gregs[OM_RIP] = j.rip;
    t->ctx.gregs[OM_RAX] = 1;
    uint64_t fs;
    __asm__ volatile("rdfsbase %0" : "=r"(fs));
    t->ctx.fsbase = fs;
    /* A legacy FXSAVE image holding only what the ABI preserves. */
    memset(t->ctx.fpstate, 0, 512);
    memcpy(t->ctx.fpstate, &j.fcw, 2);
    memcpy(t->ctx.fpstate + 24, &j.mxcsr, 4);
    t->ctx.fp_size = 512;
    t->ctx.pad = OM_PARK_DIRECT;
    park_wait(ssa, t);
}
