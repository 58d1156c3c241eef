/* Host threads that run enclave threads: one block per thread slot in use,
 * holding the alternate signal stack the trap handler runs on. */
#ifndef OM_HTHREAD_H
#define OM_HTHREAD_H
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <ucontext.h>
#include "optmig/abi.h"

/* Blocks are aligned to their size, so the trap handler finds its block from
 * its own stack pointer without touching TLS (FS still holds the enclave's). */
#define OM_HT_SIZE (512u << 10)
#define OM_HT_MAGIC 0x6f6d687468726561ull
#define OM_OCALL_BUF_SIZE (1u << 20)

struct om_hthread {
    uint64_t host_fs; /* offset 0: read by om_ocall_gate */
    uint64_t host_sp; /* offset 8: read by om_ocall_gate */
    uint64_t magic;
    uint32_t slot;
    uint32_t fp_size;
    ucontext_t *trap_uc; /* context of the trap being handled */
    void *ocall_buf;
    sigjmp_buf exit_jmp;
    pthread_t thread;
    int64_t ecall_result;
    struct om_ecall ecall; /* arguments of an ECALL started on this thread */
    uint64_t start_regs[OM_NGREG];
    uint64_t start_fs;
    uint8_t fpstate[OM_FPSTATE_MAX] __attribute__((aligned(64)));
};

struct om_hthread *om_hthread_new(uint32_t slot);
void om_hthread_free(struct om_hthread *ht);
/* Runs the enclave thread described by ht->start_* on the calling host thread
 * until it exits. fp_size 0 starts with a clean FPU. */
void om_hthread_run(struct om_hthread *ht);
/* Starts a detached host thread for ht; 0 or -errno. */
int om_hthread_spawn(struct om_hthread *ht);
/* Sends OM_SIG_INTERRUPT to the host thread running app slot; 0 or -errno. */
int om_hthread_interrupt(uint32_t slot);
/* Sets the FP state (an XSAVE/FXSAVE image) the thread starts with. */
void om_hthread_set_fp(struct om_hthread *ht, const void *fp, uint32_t size);
/* Copies the FP state of the trap being handled on parent into child. */
void om_hthread_inherit_fp(struct om_hthread *child, const struct om_hthread *parent);
_Noreturn void om_hthread_exit(struct om_hthread *ht);

/* Can this thread read its FS base from user space (rdfsbase)? Also decides
 * how om_set_fsbase writes it. */
int om_fsgsbase_probe(void);

/* Sent by the host to make an enclave thread park for a migration. */
#define OM_SIG_INTERRUPT SIGUSR2

/* Signal mask enclave code runs with: everything but synchronous faults and SIGSYS. */
void om_enclave_sigmask(sigset_t *set);

/* gate.S */
uint64_t om_call_on_stack(void *top, uint64_t (*fn)(void *), void *arg, uint64_t *saved_sp);
int64_t om_ocall_gate(struct om_hthread *ht, struct om_ocall *oc);
_Noreturn void om_sigreturn_to(ucontext_t *uc, uint64_t fsbase);

/* Size of the FP state image a kernel signal frame holds at fp: the XSAVE
 * size its software-reserved bytes announce, else the legacy 512 bytes.
 * Inline and builtin-only: the trap handler calls it before host TLS is back. */
static inline uint32_t om_fpstate_size(const uint8_t *fp)
{
    uint32_t magic, ext;
    __builtin_memcpy(&magic, fp + 464, 4); /* struct _fpx_sw_bytes */
    __builtin_memcpy(&ext, fp + 468, 4);
    return (magic == 0x46505853u /* FP_XSTATE_MAGIC1 */ && ext >= 512 && ext <= OM_FPSTATE_MAX) ? ext : 512;
}

static inline uint64_t om_rdfsbase(void)
{
    uint64_t v;
    __asm__ volatile("rdfsbase %0" : "=r"(v));
    return v;
}
/* Set by om_fsgsbase_probe: may wrfsbase be used instead of arch_prctl? */
extern unsigned char om_fs_direct;
void om_set_fsbase(uint64_t fs);
#endif
