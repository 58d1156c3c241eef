/* ECALLs: the host starting its own threads inside the enclave (migration
 * coordinator and stream workers). They run on per-process trusted stacks
 * with no TLS, so they only use runtime code that touches none. */
#include "mig.h"
#include "trt.h"
#include <errno.h>
#include <string.h>

uint8_t om_ecall_stacks[OM_ECALL_SLOTS][OM_ECALL_STACK_SIZE] __attribute__((aligned(4096)));
/* FS blocks of ECALL threads: they have no libc TLS, but code built with the
 * stack protector (libbearssl.a) reads its canary at %fs:0x28. Kept in the
 * same never-sent area as the stacks. */
uint8_t om_ecall_tls[OM_ECALL_TLS_PAGES * OM_PAGE_SIZE] __attribute__((aligned(4096)));

#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64 0xc000003eu
#endif

_Noreturn void om_trt_ecall(const struct om_ecall *hp);

static _Noreturn void ecall_done(struct om_ssa *ssa, uint32_t slot, int64_t ret)
{
    om_priv.ecall_tcs[slot].in_use = 0;
    struct om_ocall *oc = om_oc_begin(ssa, OM_OC_ECALL_DONE);
    oc->a[0] = ret;
    __atomic_store_n(&om_priv.ecall_busy[slot], 0, __ATOMIC_RELEASE);
    om_oc_call(ssa, oc);
    __builtin_trap();
}

_Noreturn void om_trt_ecall(const struct om_ecall *hp)
{
    struct om_ecall e;
    memcpy(&e, hp, sizeof(e)); /* once: the host may change its copy */
    uint32_t slot = e.slot;    /* the entry stub already checked it */
    struct om_ssa ssa = {
        .host_ctx = e.host_ctx, .ocall_buf = e.ocall_buf, .ocall_size = e.ocall_size,
        .params = e.params, .slot = OM_MAX_THREADS + slot, .arch = AUDIT_ARCH_X86_64,
    };
    /* A source that gave its enclave up takes no entry, except to finish
     * delivering the pages of an interrupted post-copy. */
    if (om_platform_init(e.params, e.ocall_buf) ||
        (om_priv.dead && !(e.op == OM_ECALL_MIGRATE_OUT && om_mig_resumable())))
        ecall_done(&ssa, slot, -EPERM);
    om_priv.ecall_tcs[slot].in_use = 1;
    int64_t r;
    switch (e.op) {
    case OM_ECALL_MIGRATE_OUT: r = om_mig_out(&ssa, slot, e.arg); break;
    case OM_ECALL_MIGRATE_IN: r = om_mig_in(&ssa, slot, e.arg); break;
    default: r = -ENOSYS; break;
    }
    ecall_done(&ssa, slot, r);
}
