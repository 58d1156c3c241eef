/* Trusted runtime internals: the enclave's own record of its layout and
 * threads, kept in enclave memory and never taken on the host's word. */
#ifndef OM_TRT_H
#define OM_TRT_H
#include <stddef.h>
#include <stdint.h>
#include "optmig/abi.h"

/* How a parked thread resumes (kept in om_thread_ctx.pad). */
enum { OM_PARK_TRAP = 1, OM_PARK_AEX, OM_PARK_DIRECT };

struct om_tcs {
    uint32_t in_use;
    uint32_t tid;
    uint64_t clear_tid; /* CLONE_CHILD_CLEARTID / set_tid_address word */
    uint64_t sigmask;   /* virtual: no asynchronous signal reaches enclave code */
    uint64_t unmap_addr, unmap_len; /* munmap of its own stack, done at exit */
    volatile uint32_t in_runtime; /* in trusted code: an AEX must not park it there */
    volatile uint32_t parked;     /* ctx holds where it resumes */
    struct om_thread_ctx ctx;
};

/* Pages of an exited thread's stack, reusable once the host reports that
 * thread gone from its slot (a lying host can only leak them). */
struct om_zombie {
    uint64_t addr, len;
    uint32_t slot, seq;
};
#define OM_MAX_ZOMBIES (2 * OM_MAX_THREADS)

/* Enclave state of the runtime: migrates with the enclave's pages. */
struct om_trt {
    int initialized;
    uint32_t pid;
    uint32_t next_tid;
    volatile int lock;
    volatile int quiesce; /* a migration asks every thread to park */
    uint32_t slots_hiwater; /* slots above were never used: nothing live */
    struct om_tcs tcs[OM_MAX_THREADS];
};

/* Per-process state of the runtime: bound to this host process, never sent.
 * One page-aligned object, so migration can leave exactly its pages out. */
struct om_priv {
    volatile int ecall_busy[OM_ECALL_SLOTS]; /* first: the ECALL entry stub claims slots here */
    int ready;
    volatile int dead;                   /* migrated away: refuse every entry */
    uint32_t gate_gen;                   /* differs per process: stale direct gates fall back to traps */
    uint32_t host_pid;
    om_ocall_gate_fn gate;
    const volatile uint32_t *slot_exits; /* untrusted, host-written */
    uint64_t params;                     /* struct om_host_params *, untrusted */
    struct om_tcs ecall_tcs[OM_ECALL_SLOTS];
} __attribute__((aligned(4096)));

/* Stacks of ECALL threads: per process too, never sent. */
extern uint8_t om_ecall_stacks[OM_ECALL_SLOTS][OM_ECALL_STACK_SIZE];
/* Whole pages, so leaving them out of a migration leaves out nothing else. */
#define OM_ECALL_TLS_PAGES ((OM_ECALL_SLOTS * OM_ECALL_TLS_SIZE + 4095) / 4096)
extern uint8_t om_ecall_tls[OM_ECALL_TLS_PAGES * OM_PAGE_SIZE];

extern struct om_layout om_trt_layout;
extern struct om_trt om_trt;
extern struct om_priv om_priv;

void om_trt_trap(struct om_ssa *ssa);
/* Handles the syscall described by ssa (trap or direct path). */
void om_trt_handle(struct om_ssa *ssa);
/* Remembers this thread's gate so musl's hot paths can skip the trap. Only
 * call with FS holding the thread's TLS. */
void om_direct_learn(const struct om_ssa *ssa);

/* Spin lock usable inside the trap handler, where no syscall may be made. */
void om_spin_lock(volatile int *l);
void om_spin_unlock(volatile int *l);

/* Is [p, p+len) inside the enclave range? */
int om_in_enclave(uint64_t p, uint64_t len);

/* OCALLs: the scratch header, and the call through the host's gate. */
struct om_ocall *om_oc_begin(struct om_ssa *ssa, uint32_t op);
int64_t om_oc_call(struct om_ssa *ssa, struct om_ocall *oc);
/* Runs a host syscall whose pointer arguments were already made untrusted. */
int64_t om_oc_syscall(struct om_ssa *ssa, int64_t nr, const int64_t a[6]);

/* Marshalled host system call: copies arguments out and results back in. */
int64_t om_sys_marshal(struct om_ssa *ssa, int64_t nr, const int64_t a[6]);
/* In-enclave memory management of the mmap area. */
int64_t om_sys_mmap(struct om_ssa *ssa, const int64_t a[6]);
int64_t om_sys_munmap(struct om_ssa *ssa, const int64_t a[6]);
int64_t om_sys_mprotect(struct om_ssa *ssa, const int64_t a[6]);
int64_t om_sys_mremap(struct om_ssa *ssa, const int64_t a[6]);
int64_t om_sys_madvise(struct om_ssa *ssa, const int64_t a[6]);
/* Hands an exited thread's stack to the mmap area once the host confirms. */
void om_vmem_add_zombie(uint64_t addr, uint64_t len, uint32_t slot, uint32_t seq);
/* Threads. */
int64_t om_sys_clone(struct om_ssa *ssa, const int64_t a[6]);
void om_sys_exit_thread(struct om_ssa *ssa);
_Noreturn void om_sys_exit_group(struct om_ssa *ssa, int status);
/* Binds this process's platform (gate, counters) from the host's parameters. */
int om_platform_init(uint64_t params, uint64_t ocall_buf);
/* Safepoints: park the thread if a migration is quiescing. */
void om_park_after_trap(struct om_ssa *ssa, int64_t nr, int interrupted);
void om_park_aex(struct om_ssa *ssa);
/* Direct path: returns after the thread was resumed (here or elsewhere). */
void om_park_direct(struct om_ssa *ssa);
int om_thread_is_ecall(uint32_t slot);
int64_t om_sys_kill_self(struct om_ssa *ssa, int64_t tid, int sig);
/* Writes a fixed message to stderr through the boundary. */
void om_trt_say(struct om_ssa *ssa, const char *msg);
struct om_tcs *om_tcs_self(struct om_ssa *ssa);
/* Slots worth looking at: those ever used (the rest of the table was never
 * touched, and reading it would fault it in). */
static inline uint32_t om_trt_slots(void)
{
    return om_trt.slots_hiwater < om_trt_layout.max_threads ? om_trt.slots_hiwater : om_trt_layout.max_threads;
}
#endif
