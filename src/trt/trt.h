/* Trusted runtime internals: the enclave's own record of its layout and
 * threads, kept in enclave memory and never taken on the host's word. */
#ifndef OM_TRT_H
#define OM_TRT_H
#include <stddef.h>
#include <stdint.h>
#include "optmig/abi.h"

struct om_tcs {
    uint32_t in_use;
    uint32_t tid;
    uint64_t clear_tid; /* CLONE_CHILD_CLEARTID / set_tid_address word */
    uint64_t sigmask;   /* virtual: no asynchronous signal reaches enclave code */
    uint64_t unmap_addr, unmap_len; /* munmap of its own stack, done at exit */
};

/* Pages of an exited thread's stack, reusable once the host reports that
 * thread gone from its slot (a lying host can only leak them). */
struct om_zombie {
    uint64_t addr, len;
    uint32_t slot, seq;
};
#define OM_MAX_ZOMBIES (2 * OM_MAX_THREADS)

struct om_trt {
    int initialized;
    uint32_t pid;
    uint32_t next_tid;
    uint32_t gate_gen; /* bumped when host threads change (restore): drops direct gates */
    om_ocall_gate_fn gate;
    volatile int lock;
    const volatile uint32_t *slot_exits; /* untrusted, host-written */
    struct om_tcs tcs[OM_MAX_THREADS];
};

extern struct om_layout om_trt_layout;
extern struct om_trt om_trt;

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
int64_t om_sys_kill_self(struct om_ssa *ssa, int64_t tid, int sig);
struct om_tcs *om_tcs_self(struct om_ssa *ssa);
#endif
