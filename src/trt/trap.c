/* The trusted first handler for every trapped syscall instruction: emulates
 * what the enclave owns (TLS, threads, memory layout, signal masks) and sends
 * the rest through the OCALL boundary with copied arguments. It runs with
 * asynchronous signals and SIGSYS blocked, so it must never issue a syscall. */
#include "mig.h"
#include "trt.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>

#ifndef AUDIT_ARCH_X86_64
#define AUDIT_ARCH_X86_64 0xc000003eu
#endif
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003

extern const char __ehdr_start[];
extern char _end[];

struct om_layout om_trt_layout;
struct om_trt om_trt;
struct om_priv om_priv;

void om_spin_lock(volatile int *l)
{
    while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
        while (__atomic_load_n(l, __ATOMIC_RELAXED))
            __builtin_ia32_pause();
}

void om_spin_unlock(volatile int *l) { __atomic_store_n(l, 0, __ATOMIC_RELEASE); }

int om_in_enclave(uint64_t p, uint64_t len)
{
    const struct om_layout *l = &om_trt_layout;
    return p >= l->base && len <= l->size && p - l->base <= l->size - len;
}

struct om_ocall *om_oc_begin(struct om_ssa *ssa, uint32_t op)
{
    struct om_ocall *oc = (struct om_ocall *)ssa->ocall_buf;
    memset(oc, 0, sizeof(*oc));
    oc->op = op;
    oc->slot = ssa->slot;
    return oc;
}

int64_t om_oc_call(struct om_ssa *ssa, struct om_ocall *oc)
{
    return om_priv.gate(ssa->host_ctx, oc);
}

int64_t om_oc_syscall(struct om_ssa *ssa, int64_t nr, const int64_t a[6])
{
    struct om_ocall *oc = om_oc_begin(ssa, OM_OC_SYSCALL);
    oc->nr = nr;
    memcpy(oc->a, a, sizeof(oc->a));
    return om_oc_call(ssa, oc);
}

static int aligned(uint64_t v) { return v % OM_PAGE_SIZE == 0; }

/* The host's layout is accepted only if it matches where this image really
 * is and is internally consistent. */
static int layout_ok(const struct om_layout *l)
{
    uint64_t end = l->base + l->size;
    return l->base == (uint64_t)__ehdr_start && l->image_lo == l->base &&
           l->image_hi >= (uint64_t)_end && aligned(l->image_hi) && aligned(l->stack_lo) &&
           aligned(l->stack_hi) && aligned(l->heap_lo) && aligned(l->heap_hi) &&
           aligned(l->mmap_lo) && aligned(l->mmap_hi) && l->image_hi <= l->stack_lo &&
           l->stack_lo < l->stack_hi && l->stack_hi <= l->heap_lo && l->heap_lo < l->heap_hi &&
           l->heap_hi <= l->mmap_lo && l->mmap_lo < l->mmap_hi && l->mmap_hi <= end &&
           end > l->base && l->mmap_hi - l->mmap_lo <= OM_MMAP_AREA_SIZE &&
           l->max_threads >= 1 && l->max_threads <= OM_MAX_THREADS;
}

/* The OCALL scratch must be untrusted memory: a host that pointed it into the
 * enclave could make the runtime overwrite enclave state. */
static int scratch_ok(const struct om_ssa *ssa)
{
    uint64_t b = ssa->ocall_buf, n = ssa->ocall_size;
    const struct om_layout *l = &om_trt_layout;
    return n >= (64u << 10) && b + n > b && (b + n <= l->base || b >= l->base + l->size) &&
           b % 64 == 0;
}

void om_trt_say(struct om_ssa *ssa, const char *msg)
{
    char *text = (char *)ssa->ocall_buf + sizeof(struct om_ocall);
    size_t n = strlen(msg);
    memcpy(text, msg, n);
    int64_t w[6] = { 2, (int64_t)text, (int64_t)n };
    om_oc_syscall(ssa, SYS_write, w);
}

static uint32_t tsc_nonzero(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (lo ^ hi) | 1u;
}

int om_platform_init(uint64_t params, uint64_t ocall_buf)
{
    if (om_priv.ready)
        return 0;
    struct om_host_params hp;
    memcpy(&hp, (const void *)params, sizeof(hp));
    uint64_t se = hp.slot_exits, se_len = OM_MAX_THREADS * sizeof(uint32_t);
    int se_ok = se && se % 4 == 0 && se + se_len > se &&
                (se + se_len <= hp.layout.base || se >= hp.layout.base + hp.layout.size);
    om_priv.gate = (om_ocall_gate_fn)hp.ocall_gate;
    if (!layout_ok(&hp.layout) || !se_ok || (ocall_buf >= hp.layout.base && ocall_buf < hp.layout.base + hp.layout.size))
        return -1;
    om_trt_layout = hp.layout;
    om_priv.slot_exits = (const volatile uint32_t *)se;
    om_priv.params = params;
    om_priv.host_pid = hp.pid;
    om_priv.gate_gen = tsc_nonzero();
    om_priv.ready = 1;
    return 0;
}

static void init(struct om_ssa *ssa)
{
    if (om_platform_init(ssa->params, ssa->ocall_buf) || ssa->slot != 0) {
        /* Nothing can be trusted: leave without touching enclave state. */
        om_trt_say(ssa, "optmig enclave: host supplied an invalid layout; refusing to run\n");
        struct om_ocall *oc = om_oc_begin(ssa, OM_OC_EXIT_GROUP);
        oc->a[0] = 126;
        om_oc_call(ssa, oc);
        __builtin_trap();
    }
    om_trt.pid = om_priv.host_pid;
    om_trt.tcs[0].in_use = 1;
    om_trt.slots_hiwater = 1;
    om_trt.tcs[0].tid = om_trt.pid;
    om_trt.next_tid = om_trt.pid + 1;
    om_trt.initialized = 1;
}

static int64_t arch_prctl(struct om_ssa *ssa, int64_t code, uint64_t addr)
{
    switch (code) {
    case ARCH_SET_FS:
        if (!om_in_enclave(addr, 8))
            return -EPERM;
        ssa->fsbase = addr;
        return 0;
    case ARCH_GET_FS:
        if (!om_in_enclave(addr, 8))
            return -EFAULT;
        memcpy((void *)addr, &ssa->fsbase, 8);
        return 0;
    default:
        return -EINVAL;
    }
}

static int64_t sigprocmask_virtual(struct om_ssa *ssa, int64_t how, uint64_t set, uint64_t old, uint64_t size)
{
    struct om_tcs *t = om_tcs_self(ssa);
    if (size != 8 || (set && !om_in_enclave(set, 8)) || (old && !om_in_enclave(old, 8)))
        return -EINVAL;
    uint64_t prev = t->sigmask, v;
    if (set) {
        memcpy(&v, (void *)set, 8);
        switch (how) {
        case SIG_BLOCK: t->sigmask |= v; break;
        case SIG_UNBLOCK: t->sigmask &= ~v; break;
        case SIG_SETMASK: t->sigmask = v; break;
        default: return -EINVAL;
        }
    }
    if (old)
        memcpy((void *)old, &prev, 8);
    return 0;
}

/* Signal dispositions are accepted and recorded nowhere: the host never
 * delivers an asynchronous signal into the enclave (documented). */
static int64_t sigaction_virtual(uint64_t old)
{
    if (old) {
        if (!om_in_enclave(old, 32))
            return -EFAULT;
        memset((void *)old, 0, 32);
    }
    return 0;
}

static int64_t dispatch(struct om_ssa *ssa, int64_t nr, const int64_t a[6])
{
    switch (nr) {
    case SYS_arch_prctl: return arch_prctl(ssa, a[0], (uint64_t)a[1]);
    case SYS_set_tid_address:
        if (a[0] && !om_in_enclave((uint64_t)a[0], 4))
            return -EFAULT;
        om_tcs_self(ssa)->clear_tid = (uint64_t)a[0];
        return om_tcs_self(ssa)->tid;
    case SYS_set_robust_list: return 0; /* must never replace the host's list */
    case SYS_rt_sigprocmask: return sigprocmask_virtual(ssa, a[0], (uint64_t)a[1], (uint64_t)a[2], (uint64_t)a[3]);
    case SYS_rt_sigaction: return sigaction_virtual((uint64_t)a[2]);
    case SYS_sigaltstack: return 0;
    case SYS_getpid: return om_trt.pid;
    case SYS_gettid: return om_tcs_self(ssa)->tid;
    case SYS_tkill: return om_sys_kill_self(ssa, a[0], (int)a[1]);
    case SYS_tgkill: return a[0] == om_trt.pid ? om_sys_kill_self(ssa, a[1], (int)a[2]) : -ESRCH;
    case SYS_kill: return a[0] == om_trt.pid || a[0] == 0 ? om_sys_kill_self(ssa, 0, (int)a[1]) : -EPERM;
    case SYS_clone: return om_sys_clone(ssa, a);
    case SYS_exit: om_sys_exit_thread(ssa); return -EFAULT;
    case SYS_exit_group: om_sys_exit_group(ssa, (int)a[0]);
    case SYS_mmap: return om_sys_mmap(ssa, a);
    case SYS_munmap: return om_sys_munmap(ssa, a);
    case SYS_mprotect: return om_sys_mprotect(ssa, a);
    case SYS_mremap: return om_sys_mremap(ssa, a);
    case SYS_madvise: return om_sys_madvise(ssa, a);
    case SYS_brk: return -ENOMEM;
    case SYS_membarrier: return -ENOSYS;
    case SYS_wait4: return -ECHILD;
    case SYS_rseq: return -ENOSYS;
    case SYS_prctl: return -EINVAL;
    default: {
        int64_t r = om_sys_marshal(ssa, nr, a); /* -ENOSYS for anything not listed */
        if (r >= 0)
            om_fd_note(ssa, nr, a, r);
        return r;
    }
    }
}

int om_thread_is_ecall(uint32_t slot) { return slot >= OM_MAX_THREADS; }

struct om_tcs *om_tcs_self(struct om_ssa *ssa)
{
    return om_thread_is_ecall(ssa->slot) ? &om_priv.ecall_tcs[ssa->slot - OM_MAX_THREADS]
                                         : &om_trt.tcs[ssa->slot];
}

static int slot_ok(uint32_t slot)
{
    if (om_thread_is_ecall(slot))
        return slot - OM_MAX_THREADS < OM_ECALL_SLOTS && om_priv.ecall_tcs[slot - OM_MAX_THREADS].in_use;
    return slot < om_trt_layout.max_threads && om_trt.tcs[slot].in_use;
}

void om_trt_trap(struct om_ssa *ssa)
{
    if (om_priv.dead)
        __builtin_trap(); /* migrated away: this copy never runs again */
    if (!om_trt.initialized)
        init(ssa);
    if (ssa->kind == OM_SSA_AEX) {
        om_park_aex(ssa);
        return;
    }
    uint64_t fs = ssa->fsbase; /* the FS this thread really has until ERESUME */
    int64_t nr = (int64_t)ssa->gregs[OM_RAX];
    struct om_tcs *t = slot_ok(ssa->slot) ? om_tcs_self(ssa) : NULL;
    if (t)
        t->in_runtime = 1;
    om_trt_handle(ssa);
    if (fs && fs == ssa->fsbase && !om_thread_is_ecall(ssa->slot))
        om_direct_learn(ssa);
    if (om_trt.quiesce)
        om_park_after_trap(ssa, nr, (int64_t)ssa->gregs[OM_RAX] == -EINTR);
    if (t)
        t->in_runtime = 0;
}

void om_trt_handle(struct om_ssa *ssa)
{
    if (!scratch_ok(ssa) || !slot_ok(ssa->slot))
        om_sys_exit_group(ssa, 126);
    int64_t nr = (int64_t)ssa->gregs[OM_RAX];
    int64_t a[6] = {
        (int64_t)ssa->gregs[OM_RDI], (int64_t)ssa->gregs[OM_RSI], (int64_t)ssa->gregs[OM_RDX],
        (int64_t)ssa->gregs[OM_R10], (int64_t)ssa->gregs[OM_R8], (int64_t)ssa->gregs[OM_R9],
    };
    /* int $0x80 and other non-64-bit entries are refused, never executed. */
    int64_t ret = ssa->arch == AUDIT_ARCH_X86_64 ? dispatch(ssa, nr, a) : -ENOSYS;
    ssa->gregs[OM_RAX] = (uint64_t)ret;
}
