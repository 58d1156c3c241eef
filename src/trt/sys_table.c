/* The system call surface that crosses the boundary, by argument shape. */
#include "sys_table.h"
#include <stddef.h>
#include <sys/syscall.h>

#define V { A_VAL, -1, 0 }
#define IN(k) { A_IN, k, 1 }
#define INF(n) { A_IN, -1, n }
#define OUT(k) { A_OUT, k, 1 }
#define OUTF(n) { A_OUT, -1, n }
#define IOF(n) { A_INOUT, -1, n }
#define IOE(k, e) { A_INOUT, k, e }
#define STR { A_STR, -1, 0 }
#define SL(k) { A_SOCKLEN, k, 0 }
#define Z { A_ZERO, -1, 0 }

/* struct stat is 144 bytes, statx 256, statfs 120, utsname 390, sysinfo 112,
 * rusage 144, tms 32, timespec/timeval/rlimit 16, fd_set 128, pollfd 8. */
static const struct om_sysspec table[] = {
    { SYS_read, F_RETLEN | F_PARTIAL, { V, OUT(2), V } },
    { SYS_write, F_PARTIAL, { V, IN(2), V } },
    { SYS_pread64, F_RETLEN | F_PARTIAL, { V, OUT(2), V, V } },
    { SYS_pwrite64, F_PARTIAL, { V, IN(2), V, V } },
    { SYS_open, 0, { STR, V, V } },
    { SYS_openat, 0, { V, STR, V, V } },
    { SYS_creat, 0, { STR, V } },
    { SYS_close, 0, { V } },
    { SYS_lseek, 0, { V, V, V } },
    { SYS_stat, 0, { STR, OUTF(144) } },
    { SYS_lstat, 0, { STR, OUTF(144) } },
    { SYS_fstat, 0, { V, OUTF(144) } },
    { SYS_newfstatat, 0, { V, STR, OUTF(144), V } },
    { SYS_statx, 0, { V, STR, V, V, OUTF(256) } },
    { SYS_statfs, 0, { STR, OUTF(120) } },
    { SYS_fstatfs, 0, { V, OUTF(120) } },
    { SYS_access, 0, { STR, V } },
    { SYS_faccessat, 0, { V, STR, V } },
    { SYS_faccessat2, 0, { V, STR, V, V } },
    { SYS_poll, 0, { IOE(1, 8), V, V } },
    { SYS_ppoll, 0, { IOE(1, 8), V, INF(16), Z, V } },
    { SYS_select, 0, { V, IOF(128), IOF(128), IOF(128), IOF(16) } },
    { SYS_pselect6, 0, { V, IOF(128), IOF(128), IOF(128), INF(16), Z } },
    { SYS_pipe, 0, { OUTF(8) } },
    { SYS_pipe2, 0, { OUTF(8), V } },
    { SYS_dup, 0, { V } },
    { SYS_dup2, 0, { V, V } },
    { SYS_dup3, 0, { V, V, V } },
    { SYS_flock, 0, { V, V } },
    { SYS_fsync, 0, { V } },
    { SYS_fdatasync, 0, { V } },
    { SYS_truncate, 0, { STR, V } },
    { SYS_ftruncate, 0, { V, V } },
    { SYS_getdents64, F_RETLEN | F_PARTIAL, { V, OUT(2), V } },
    { SYS_getcwd, F_RETLEN, { OUT(1), V } },
    { SYS_chdir, 0, { STR } },
    { SYS_fchdir, 0, { V } },
    { SYS_rename, 0, { STR, STR } },
    { SYS_renameat, 0, { V, STR, V, STR } },
    { SYS_renameat2, 0, { V, STR, V, STR, V } },
    { SYS_mkdir, 0, { STR, V } },
    { SYS_mkdirat, 0, { V, STR, V } },
    { SYS_rmdir, 0, { STR } },
    { SYS_link, 0, { STR, STR } },
    { SYS_linkat, 0, { V, STR, V, STR, V } },
    { SYS_unlink, 0, { STR } },
    { SYS_unlinkat, 0, { V, STR, V } },
    { SYS_symlink, 0, { STR, STR } },
    { SYS_symlinkat, 0, { STR, V, STR } },
    { SYS_readlink, F_RETLEN, { STR, OUT(2), V } },
    { SYS_readlinkat, F_RETLEN, { V, STR, OUT(3), V } },
    { SYS_chmod, 0, { STR, V } },
    { SYS_fchmod, 0, { V, V } },
    { SYS_fchmodat, 0, { V, STR, V } },
    { SYS_utimensat, 0, { V, STR, INF(32), V } },
    { SYS_umask, 0, { V } },
    { SYS_socket, 0, { V, V, V } },
    { SYS_socketpair, 0, { V, V, V, OUTF(8) } },
    { SYS_bind, 0, { V, IN(2), V } },
    { SYS_connect, 0, { V, IN(2), V } },
    { SYS_listen, 0, { V, V } },
    { SYS_accept, 0, { V, SL(2), IOF(4) } },
    { SYS_accept4, 0, { V, SL(2), IOF(4), V } },
    { SYS_getsockname, 0, { V, SL(2), IOF(4) } },
    { SYS_getpeername, 0, { V, SL(2), IOF(4) } },
    { SYS_sendto, F_PARTIAL, { V, IN(2), V, V, IN(5), V } },
    { SYS_recvfrom, F_RETLEN | F_PARTIAL, { V, OUT(2), V, V, SL(5), IOF(4) } },
    { SYS_shutdown, 0, { V, V } },
    { SYS_setsockopt, 0, { V, V, V, IN(4), V } },
    { SYS_getsockopt, 0, { V, V, V, SL(4), IOF(4) } },
    { SYS_nanosleep, 0, { INF(16), OUTF(16) } },
    { SYS_clock_nanosleep, 0, { V, V, INF(16), OUTF(16) } },
    { SYS_clock_gettime, 0, { V, OUTF(16) } },
    { SYS_clock_getres, 0, { V, OUTF(16) } },
    { SYS_gettimeofday, 0, { OUTF(16), OUTF(8) } },
    { SYS_time, 0, { OUTF(8) } },
    { SYS_times, 0, { OUTF(32) } },
    { SYS_getrusage, 0, { V, OUTF(144) } },
    { SYS_getrlimit, 0, { V, OUTF(16) } },
    { SYS_prlimit64, 0, { V, V, INF(16), OUTF(16) } },
    { SYS_sysinfo, 0, { OUTF(112) } },
    { SYS_uname, 0, { OUTF(390) } },
    { SYS_sched_getaffinity, F_RETLEN, { V, V, OUT(1) } },
    { SYS_sched_yield, 0, { V } },
    { SYS_getrandom, F_RETLEN | F_PARTIAL, { OUT(1), V, V } },
    { SYS_eventfd2, 0, { V, V } },
    { SYS_getuid, 0, { V } },
    { SYS_geteuid, 0, { V } },
    { SYS_getgid, 0, { V } },
    { SYS_getegid, 0, { V } },
    { SYS_getppid, 0, { V } },
    { SYS_getpgrp, 0, { V } },
};

const struct om_sysspec *om_sys_lookup(int64_t nr)
{
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
        if (table[i].nr == nr)
            return &table[i];
    return NULL;
}
