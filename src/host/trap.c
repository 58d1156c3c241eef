/* SIGSYS handler and seccomp filter. The handler starts with FS still holding
 * the enclave's TLS, so this file is built without sanitizers or stack
 * protector and touches nothing TLS-based until the OCALL gate switches FS. */
#include "trap.h"
#include "hthread.h"
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_SECCOMP
#define SYS_SECCOMP 1
#endif

static struct om_layout g_layout;
static const struct om_host_params *g_params;
static uint64_t (*g_trap_entry)(void *);

static struct om_hthread *hthread_from_sp(void)
{
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    return (struct om_hthread *)(sp & ~(uintptr_t)(OM_HT_SIZE - 1));
}

static int in_range(uint64_t a, uint64_t len)
{
    return a >= g_layout.base && len <= g_layout.size && a - g_layout.base <= g_layout.size - len;
}

/* Fatal platform error: back to host TLS, say why, end the process. */
static _Noreturn void platform_die(struct om_hthread *ht, const char *why, uint64_t rip)
{
    if (ht && ht->magic == OM_HT_MAGIC)
        om_set_fsbase(ht->host_fs);
    char msg[256];
    int n = snprintf(msg, sizeof(msg), "optmig: enclave fault: %s (rip=%#llx, image+%#llx)\n", why,
                     (unsigned long long)rip, (unsigned long long)(rip - g_layout.image_lo));
    if (n > 0 && write(2, msg, (size_t)n) < 0)
        n = 0;
    _exit(139);
}

/* AEX: save the interrupted context (registers, FS base, FP state) into an
 * SSA below the red zone of the enclave stack, run the trusted first handler
 * on that stack, then ERESUME with the registers the handler left there. */
static void enter_trusted(struct om_hthread *ht, ucontext_t *uc, uint32_t kind, uint32_t arch)
{
    greg_t *g = uc->uc_mcontext.gregs;
    const uint8_t *fp = (const uint8_t *)uc->uc_mcontext.fpregs;
    uint32_t fsz = fp ? om_fpstate_size(fp) : 0;
    uint64_t ersp = (uint64_t)g[REG_RSP];
    uint64_t fpa = (ersp - 128 - fsz) & ~63ull;
    uint64_t top = (fpa - sizeof(struct om_ssa)) & ~63ull;
    if (ersp < 65536 || !in_range(top - 4096, ersp - top + 4096))
        platform_die(ht, "enclave stack pointer outside the enclave range", (uint64_t)g[REG_RIP]);
    struct om_ssa *ssa = (struct om_ssa *)top;
    for (int i = 0; i < OM_NGREG; i++)
        ssa->gregs[i] = (uint64_t)g[i];
    if (fsz)
        __builtin_memcpy((void *)fpa, fp, fsz);
    ssa->fpstate = fsz ? fpa : 0;
    ssa->fp_size = fsz;
    ssa->kind = kind;
    ssa->fsbase = om_rdfsbase();
    ssa->host_ctx = (uint64_t)ht;
    ssa->params = (uint64_t)g_params;
    ssa->ocall_buf = (uint64_t)ht->ocall_buf;
    ssa->ocall_size = OM_OCALL_BUF_SIZE;
    ssa->slot = ht->slot;
    ssa->arch = arch;
    ucontext_t *outer = ht->trap_uc;
    ht->trap_uc = uc;
    uint64_t outer_sp = ht->host_sp;

    om_call_on_stack(ssa, g_trap_entry, ssa, &ht->host_sp);

    ht->trap_uc = outer;
    ht->host_sp = outer_sp;
    for (int i = 0; i <= OM_RIP; i++)
        g[i] = (greg_t)ssa->gregs[i];
    if (ssa->fsbase != om_rdfsbase())
        om_set_fsbase(ssa->fsbase);
}

static void on_sigsys(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    ucontext_t *uc = ucv;
    struct om_hthread *ht = hthread_from_sp();
    if (si->si_code != SYS_SECCOMP || ht->magic != OM_HT_MAGIC)
        platform_die(NULL, "SIGSYS outside an enclave thread", (uint64_t)uc->uc_mcontext.gregs[REG_RIP]);
    enter_trusted(ht, uc, OM_SSA_SYSCALL, (uint32_t)si->si_arch);
}

/* The migration's interrupt. In enclave code it is an AEX into the trusted
 * runtime, which parks the thread; in host code (a blocking OCALL) it only
 * makes the call return EINTR so the runtime can park at its safepoint. */
static void on_interrupt(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    (void)si;
    ucontext_t *uc = ucv;
    if (!in_range((uint64_t)uc->uc_mcontext.gregs[REG_RIP], 1))
        return;
    struct om_hthread *ht = hthread_from_sp();
    if (ht->magic != OM_HT_MAGIC)
        return;
    enter_trusted(ht, uc, OM_SSA_AEX, AUDIT_ARCH_X86_64);
}

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
    ucontext_t *uc = ucv;
    uint64_t rip = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
    struct om_hthread *ht;
    /* Only enclave threads run on an aligned block's altstack; check rip first. */
    if (in_range(rip, 1) && (ht = hthread_from_sp())->magic == OM_HT_MAGIC) {
        char why[96];
        om_set_fsbase(ht->host_fs);
        snprintf(why, sizeof(why), "%s at address %p", strsignal(sig), si->si_addr);
        platform_die(ht, why, rip);
    }
    signal(sig, SIG_DFL); /* a host bug: crash normally */
}

static int install_filter(const struct om_layout *l)
{
    uint32_t lo = (uint32_t)(l->base >> 32), hi = (uint32_t)((l->base + l->size) >> 32);
    struct sock_filter f[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, instruction_pointer) + 4),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, lo, 0, 2),
        BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, hi, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0))
        return -1;
    return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &prog);
}

int om_trap_install(const struct om_layout *l, const struct om_host_params *params,
                    uint64_t trap_entry, char *err, size_t errlen)
{
    g_layout = *l;
    g_params = params;
    g_trap_entry = (uint64_t(*)(void *))trap_entry;

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigfillset(&sa.sa_mask);
    sa.sa_sigaction = on_interrupt;
    if (sigaction(OM_SIG_INTERRUPT, &sa, NULL))
        goto fail;
    sigdelset(&sa.sa_mask, OM_SIG_INTERRUPT); /* it must reach a blocked OCALL */
    sa.sa_sigaction = on_sigsys;
    if (sigaction(SIGSYS, &sa, NULL))
        goto fail;
    sigaddset(&sa.sa_mask, OM_SIG_INTERRUPT);
    sa.sa_sigaction = on_fault;
    sa.sa_flags |= SA_RESETHAND;
    int faults[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE };
    for (size_t i = 0; i < sizeof(faults) / sizeof(faults[0]); i++)
        if (sigaction(faults[i], &sa, NULL))
            goto fail;
    if (install_filter(l))
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "cannot install the enclave trap: %s", strerror(errno));
    return -1;
}
