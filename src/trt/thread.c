/* Enclave threads: slots, virtual thread ids (stable across migration), clone
 * emulation and thread exit. */
#include "trt.h"
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <string.h>

#define CLONE_REQUIRED (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)

int64_t om_sys_clone(struct om_ssa *ssa, const int64_t a[6])
{
    uint64_t flags = (uint64_t)a[0], stack = (uint64_t)a[1], ptid = (uint64_t)a[2];
    uint64_t ctid = (uint64_t)a[3], tls = (uint64_t)a[4];
    /* fork, vfork and posix_spawn would leave the enclave: refused. */
    if ((flags & CLONE_REQUIRED) != CLONE_REQUIRED || !(flags & CLONE_SETTLS))
        return -ENOSYS;
    if (!om_in_enclave(stack - 64, 64) || !om_in_enclave(tls, 8) ||
        ((flags & CLONE_PARENT_SETTID) && !om_in_enclave(ptid, 4)) ||
        ((flags & CLONE_CHILD_CLEARTID) && !om_in_enclave(ctid, 4)))
        return -EFAULT;

    om_spin_lock(&om_trt.lock);
    uint32_t slot = 1;
    while (slot < om_trt_layout.max_threads && om_trt.tcs[slot].in_use)
        slot++;
    if (slot == om_trt_layout.max_threads) {
        om_spin_unlock(&om_trt.lock);
        return -EAGAIN;
    }
    struct om_tcs *t = &om_trt.tcs[slot];
    t->in_use = 1;
    if (slot >= om_trt.slots_hiwater)
        om_trt.slots_hiwater = slot + 1;
    /* Never reuse a tid soon: musl's thread-list lock holds the exiting
     * thread's tid until the host clears it after the slot is free again. */
    t->tid = om_trt.next_tid++;
    if (om_trt.next_tid > 0x3fffffff)
        om_trt.next_tid = 2;
    t->clear_tid = (flags & CLONE_CHILD_CLEARTID) ? ctid : 0;
    t->sigmask = om_tcs_self(ssa)->sigmask;
    om_spin_unlock(&om_trt.lock);

    if (flags & CLONE_PARENT_SETTID)
        memcpy((void *)ptid, &t->tid, 4);
    struct om_ocall *oc = om_oc_begin(ssa, OM_OC_SPAWN);
    memcpy(oc->spawn.gregs, ssa->gregs, sizeof(oc->spawn.gregs));
    oc->spawn.gregs[OM_RAX] = 0;
    oc->spawn.gregs[OM_RSP] = stack;
    oc->spawn.fsbase = tls;
    oc->spawn.slot = slot;
    int64_t rc = om_oc_call(ssa, oc);
    if (rc) {
        om_spin_lock(&om_trt.lock);
        t->in_use = 0;
        om_spin_unlock(&om_trt.lock);
        return rc < 0 && rc > -4096 ? rc : -EAGAIN;
    }
    return t->tid;
}

void om_sys_exit_thread(struct om_ssa *ssa)
{
    struct om_tcs *t = om_tcs_self(ssa);
    uint64_t clear = t->clear_tid, ua = t->unmap_addr, ul = t->unmap_len;
    if (ul)
        om_vmem_add_zombie(ua, ul, ssa->slot, om_priv.slot_exits[ssa->slot] + 1);
    om_spin_lock(&om_trt.lock);
    memset(t, 0, sizeof(*t));
    om_spin_unlock(&om_trt.lock);
    /* The host clears the tid word and wakes joiners once off this stack. */
    struct om_ocall *oc = om_oc_begin(ssa, OM_OC_THREAD_EXIT);
    oc->a[0] = (int64_t)clear;
    oc->a[1] = (int64_t)ua;
    oc->a[2] = (int64_t)ul;
    om_oc_call(ssa, oc);
    __builtin_trap();
}

_Noreturn void om_sys_exit_group(struct om_ssa *ssa, int status)
{
    struct om_ocall *oc = om_oc_begin(ssa, OM_OC_EXIT_GROUP);
    oc->a[0] = status & 0xff;
    om_oc_call(ssa, oc);
    __builtin_trap();
}

/* Only signals a thread sends to its own enclave: 0 probes, fatal ones end
 * the enclave the way the default action would (128+sig, as a shell reports). */
int64_t om_sys_kill_self(struct om_ssa *ssa, int64_t tid, int sig)
{
    int found = tid == 0;
    for (uint32_t i = 0; i < om_trt_layout.max_threads && !found; i++)
        found = om_trt.tcs[i].in_use && om_trt.tcs[i].tid == (uint64_t)tid;
    if (!found)
        return -ESRCH;
    if (sig == 0)
        return 0;
    if (sig < 0 || sig >= 65)
        return -EINVAL;
    if (sig == SIGCHLD || sig == SIGURG || sig == SIGWINCH || sig == SIGCONT)
        return 0;
    om_trt_say(ssa, "optmig enclave: terminated by a signal it sent itself\n");
    om_sys_exit_group(ssa, 128 + sig);
}
