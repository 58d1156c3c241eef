/* The OCALL dispatcher. Runs on the host side of the gate, on host stack and
 * host TLS, with arguments that the trusted runtime already copied into this
 * thread's untrusted scratch buffer. The host defends itself too: only the
 * system calls listed here are ever executed for the enclave. */
#include "ocall.h"
#include "range.h"
#include <errno.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <time.h>
#include "mig_host.h"
#include <sys/syscall.h>
#include <unistd.h>

static struct om_layout g_layout;
static _Atomic uint32_t g_slot_exits[OM_MAX_THREADS];
static void (*g_cleanup[4])(void);
static atomic_int g_ncleanup;

static const short allowed_syscalls[] = {
    SYS_read, SYS_write, SYS_open, SYS_close, SYS_stat, SYS_fstat, SYS_lstat, SYS_poll,
    SYS_lseek, SYS_ioctl, SYS_pread64, SYS_pwrite64, SYS_access, SYS_pipe, SYS_select,
    SYS_sched_yield, SYS_dup, SYS_dup2, SYS_nanosleep, SYS_socket, SYS_connect, SYS_accept,
    SYS_sendto, SYS_recvfrom, SYS_shutdown, SYS_bind, SYS_listen, SYS_getsockname,
    SYS_getpeername, SYS_socketpair, SYS_setsockopt, SYS_getsockopt, SYS_uname, SYS_fcntl,
    SYS_flock, SYS_fsync, SYS_fdatasync, SYS_truncate, SYS_ftruncate, SYS_getcwd, SYS_chdir,
    SYS_fchdir, SYS_rename, SYS_mkdir, SYS_rmdir, SYS_creat, SYS_link, SYS_unlink,
    SYS_symlink, SYS_readlink, SYS_chmod, SYS_fchmod, SYS_umask, SYS_gettimeofday,
    SYS_getrlimit, SYS_getrusage, SYS_sysinfo, SYS_times, SYS_getuid, SYS_getgid,
    SYS_geteuid, SYS_getegid, SYS_getppid, SYS_getpgrp, SYS_statfs, SYS_fstatfs,
    SYS_sched_getaffinity, SYS_time, SYS_futex, SYS_getdents64, SYS_clock_gettime,
    SYS_clock_getres, SYS_clock_nanosleep, SYS_openat, SYS_mkdirat, SYS_newfstatat,
    SYS_unlinkat, SYS_renameat, SYS_linkat, SYS_symlinkat, SYS_readlinkat, SYS_fchmodat,
    SYS_faccessat, SYS_pselect6, SYS_ppoll, SYS_utimensat, SYS_accept4, SYS_eventfd2,
    SYS_dup3, SYS_pipe2, SYS_prlimit64, SYS_getrandom, SYS_statx, SYS_renameat2,
    SYS_faccessat2,
};

uint64_t om_ocall_init(const struct om_layout *l)
{
    g_layout = *l;
    for (size_t i = 0; i < sizeof(allowed_syscalls) / sizeof(allowed_syscalls[0]); i++)
        om_syscall_allow[allowed_syscalls[i] / 64] |= 1ull << (allowed_syscalls[i] % 64);
    return (uint64_t)g_slot_exits;
}

/* Bit nr set: the enclave may have syscall nr run; read by om_ocall_gate. */
uint64_t om_syscall_allow[8];

static int syscall_allowed(int64_t nr)
{
    return nr >= 0 && nr < 512 && (om_syscall_allow[nr / 64] >> (nr % 64) & 1);
}

/* Parked threads sleep here; a migration's end bumps the generation. The
 * timeout lets the runtime re-check its own quiesce flag, so no wake-up can
 * be lost between its check and this wait. */
static _Atomic uint32_t g_park_gen;

int64_t om_park_wait(void)
{
    uint32_t gen = g_park_gen;
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    syscall(SYS_futex, &g_park_gen, FUTEX_WAIT_PRIVATE, gen, &ts, NULL, 0);
    return 0;
}

void om_park_release(void)
{
    atomic_fetch_add(&g_park_gen, 1);
    syscall(SYS_futex, &g_park_gen, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL, NULL, 0);
}

void om_host_atexit(void (*fn)(void))
{
    int i = atomic_fetch_add(&g_ncleanup, 1);
    if (i < (int)(sizeof(g_cleanup) / sizeof(g_cleanup[0])))
        g_cleanup[i] = fn;
}

_Noreturn void om_host_exit(int status)
{
    int n = atomic_exchange(&g_ncleanup, 0);
    for (int i = 0; i < n && i < (int)(sizeof(g_cleanup) / sizeof(g_cleanup[0])); i++)
        g_cleanup[i]();
    _exit(status & 0xff);
}

static int64_t spawn(struct om_hthread *parent, const struct om_ocall *oc)
{
    uint32_t fsz = oc->spawn.fp_size;
    const uint8_t *fp = (const uint8_t *)oc->spawn.fpstate, *buf = parent->ocall_buf;
    if (oc->spawn.slot >= g_layout.max_threads || fsz > OM_FPSTATE_MAX ||
        (fsz && (fp < buf + sizeof(*oc) || fp + fsz > buf + OM_OCALL_BUF_SIZE)))
        return -EINVAL;
    struct om_hthread *child = om_hthread_new(oc->spawn.slot);
    if (!child)
        return -EAGAIN;
    for (int i = 0; i < OM_NGREG; i++)
        child->start_regs[i] = oc->spawn.gregs[i];
    child->start_fs = oc->spawn.fsbase;
    if (fsz)
        om_hthread_set_fp(child, fp, fsz);
    else
        om_hthread_inherit_fp(child, parent);
    int rc = om_hthread_spawn(child);
    if (rc)
        om_hthread_free(child);
    return rc;
}

/* Thread exit does what the kernel does for CLONE_CHILD_CLEARTID, after the
 * thread has left its enclave stack: zero the tid word, wake one waiter. */
static _Noreturn void thread_exit(struct om_hthread *ht, uint64_t clear_tid, uint64_t stack, uint64_t stack_len)
{
    if (stack_len)
        om_range_map(&g_layout, stack, stack_len, 0, OM_MAP_RELEASE);
    if (clear_tid && clear_tid % 4 == 0 && om_range_contains(&g_layout, clear_tid, 4)) {
        atomic_store((_Atomic int *)clear_tid, 0);
        syscall(SYS_futex, clear_tid, FUTEX_WAKE, 1, NULL, NULL, 0);
    }
    /* Only now may the enclave reuse the stack's pages. */
    atomic_fetch_add(&g_slot_exits[ht->slot], 1);
    om_hthread_exit(ht);
}

int64_t om_ocall_dispatch(struct om_hthread *ht, struct om_ocall *oc)
{
    if ((void *)oc != ht->ocall_buf)
        return -EFAULT;
    switch (oc->op) {
    case OM_OC_SYSCALL: {
        if (!syscall_allowed(oc->nr))
            return -ENOSYS;
        long r = syscall(oc->nr, oc->a[0], oc->a[1], oc->a[2], oc->a[3], oc->a[4], oc->a[5]);
        return r == -1 ? -errno : r;
    }
    case OM_OC_MAP:
        return om_range_map(&g_layout, (uint64_t)oc->a[0], (uint64_t)oc->a[1], (int)oc->a[2], (int)oc->a[3]);
    case OM_OC_SPAWN:
        return spawn(ht, oc);
    case OM_OC_THREAD_EXIT:
        thread_exit(ht, (uint64_t)oc->a[0], (uint64_t)oc->a[1], (uint64_t)oc->a[2]);
    case OM_OC_EXIT_GROUP:
        om_host_exit((int)oc->a[0]);
    case OM_OC_PARK:
        return om_park_wait();
    case OM_OC_INTERRUPT:
        return om_hthread_interrupt((uint32_t)oc->a[0]);
    case OM_OC_ECALL_DONE:
        ht->ecall_result = oc->a[0];
        om_hthread_exit(ht);
    case OM_OC_MIG:
        return om_mig_service(ht, oc);
    default:
        return -ENOSYS;
    }
}
