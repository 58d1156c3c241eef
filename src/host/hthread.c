/* Host threads that carry enclave threads. Entering is an rt_sigreturn into
 * the enclave context; leaving is a siglongjmp out of the trap handler. */
#include "hthread.h"
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>

#ifndef HWCAP2_FSGSBASE
#define HWCAP2_FSGSBASE (1 << 1)
#endif

/* x86-64 user segment selectors: CS in the low word, SS in the high word. */
#define OM_USER_CSGSFS (0x33ull | (0x2bull << 48))
#define OM_RFLAGS_INIT 0x202ull

struct om_hthread *om_hthread_new(uint32_t slot)
{
    uint8_t *raw = mmap(NULL, 2 * OM_HT_SIZE, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)raw + OM_HT_SIZE - 1) & ~(uintptr_t)(OM_HT_SIZE - 1);
    if (a > (uintptr_t)raw)
        munmap(raw, a - (uintptr_t)raw);
    munmap((void *)(a + OM_HT_SIZE), (uintptr_t)raw + OM_HT_SIZE - a);
    struct om_hthread *ht = (struct om_hthread *)a;
    void *buf = mmap(NULL, OM_OCALL_BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (buf == MAP_FAILED) {
        munmap(ht, OM_HT_SIZE);
        return NULL;
    }
    ht->magic = OM_HT_MAGIC;
    ht->slot = slot;
    ht->ocall_buf = buf;
    return ht;
}

void om_hthread_free(struct om_hthread *ht)
{
    munmap(ht->ocall_buf, OM_OCALL_BUF_SIZE);
    munmap(ht, OM_HT_SIZE);
}

static sigjmp_buf probe_jmp;
static void probe_sigill(int sig)
{
    (void)sig;
    siglongjmp(probe_jmp, 1);
}

unsigned char om_fs_direct;

/* Some hypervisors let rdfsbase/wrfsbase execute while the guest kernel has
 * FSGSBASE off (HWCAP2 clear); there a written FS base does not survive a
 * context switch, so writes go through arch_prctl. */
int om_fsgsbase_probe(void)
{
    struct sigaction sa = { .sa_handler = probe_sigill }, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGILL, &sa, &old);
    int ok = 0;
    if (!sigsetjmp(probe_jmp, 1)) {
        (void)om_rdfsbase();
        ok = 1;
    }
    sigaction(SIGILL, &old, NULL);
    om_fs_direct = (getauxval(AT_HWCAP2) & HWCAP2_FSGSBASE) != 0;
    return ok;
}

void om_enclave_sigmask(sigset_t *set)
{
    sigfillset(set);
    sigdelset(set, SIGSYS);
    sigdelset(set, SIGSEGV);
    sigdelset(set, SIGBUS);
    sigdelset(set, SIGILL);
    sigdelset(set, SIGFPE);
    sigdelset(set, SIGTRAP);
    sigdelset(set, OM_SIG_INTERRUPT);
}

/* Host thread of each app slot, for interrupts. */
static struct om_hthread *_Atomic slot_ht[OM_MAX_THREADS];

int om_hthread_interrupt(uint32_t slot)
{
    if (slot >= OM_MAX_THREADS)
        return -EINVAL;
    struct om_hthread *ht = slot_ht[slot];
    return ht ? -pthread_kill(ht->thread, OM_SIG_INTERRUPT) : -ESRCH;
}

void om_hthread_set_fp(struct om_hthread *ht, const void *fp, uint32_t size)
{
    ht->fp_size = size <= OM_FPSTATE_MAX ? size : 0;
    memcpy(ht->fpstate, fp, ht->fp_size);
}

void om_hthread_inherit_fp(struct om_hthread *child, const struct om_hthread *parent)
{
    const uint8_t *fp = (const uint8_t *)parent->trap_uc->uc_mcontext.fpregs;
    child->fp_size = 0;
    if (!fp)
        return;
    uint32_t size = om_fpstate_size(fp);
    memcpy(child->fpstate, fp, size);
    child->fp_size = size;
}

void om_hthread_run(struct om_hthread *ht)
{
    ht->host_fs = om_rdfsbase();
    /* OCALLs made outside a trap (ECALL threads, the direct path) run on the
     * top of the alternate stack, which no signal frame uses then. */
    ht->host_sp = (uint64_t)ht + OM_HT_SIZE;
    ht->thread = pthread_self();
    if (ht->slot < OM_MAX_THREADS)
        slot_ht[ht->slot] = ht;
    stack_t ss = {
        .ss_sp = (uint8_t *)ht + sizeof(*ht),
        .ss_size = OM_HT_SIZE - sizeof(*ht),
        .ss_flags = 0,
    };
    sigaltstack(&ss, NULL);
    if (sigsetjmp(ht->exit_jmp, 1)) {
        stack_t off = { .ss_flags = SS_DISABLE };
        sigaltstack(&off, NULL);
        if (ht->slot < OM_MAX_THREADS && slot_ht[ht->slot] == ht)
            slot_ht[ht->slot] = NULL;
        return;
    }
    ucontext_t uc;
    memset(&uc, 0, sizeof(uc));
    uc.uc_stack = ss;
    for (int i = 0; i < OM_NGREG; i++)
        uc.uc_mcontext.gregs[i] = (greg_t)ht->start_regs[i];
    uc.uc_mcontext.gregs[REG_CSGSFS] = (greg_t)OM_USER_CSGSFS;
    /* A thread stopped by an asynchronous exit may sit between a compare and
     * its branch: its flags are live. The kernel masks what user space may
     * not set. */
    uc.uc_mcontext.gregs[REG_EFL] = (greg_t)(ht->start_regs[OM_EFL] ? ht->start_regs[OM_EFL] : OM_RFLAGS_INIT);
    uc.uc_mcontext.fpregs = ht->fp_size ? (fpregset_t)ht->fpstate : NULL;
    om_enclave_sigmask(&uc.uc_sigmask);
    om_sigreturn_to(&uc, ht->start_fs);
}

_Noreturn void om_hthread_exit(struct om_hthread *ht)
{
    siglongjmp(ht->exit_jmp, 1);
}

static void *hthread_main(void *arg)
{
    struct om_hthread *ht = arg;
    om_hthread_run(ht);
    om_hthread_free(ht);
    return NULL;
}

int om_hthread_spawn(struct om_hthread *ht)
{
    pthread_attr_t at;
    pthread_t t;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 1u << 20);
    int rc = pthread_create(&t, &at, hthread_main, ht);
    pthread_attr_destroy(&at);
    return -rc;
}
