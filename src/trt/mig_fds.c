/* The enclave's own description of its host-side resources, kept up to date
 * on every successful call, so the destination can re-create them: files are
 * reopened at the same path, flags and offset (shared storage is assumed),
 * listening sockets re-bound; other sockets and pipes cannot move and become
 * fresh unconnected sockets or /dev/null. Descriptors 0-2 are the host's. */
#include "mig.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FD_MAX 256
#define FD_PATH 512
#define FD_ADDR 128

enum { FD_NONE = 0, FD_FILE, FD_SOCKET, FD_LISTEN, FD_OTHER };

struct fd_desc {
    uint8_t kind;
    int32_t flags, domain, type, proto, backlog;
    uint32_t addrlen;
    int64_t offset;
    uint8_t addr[FD_ADDR];
    char path[FD_PATH];
};

static struct fd_desc fds[FD_MAX];
static char cwd[FD_PATH];
static int cwd_known;
static volatile int fd_lock;
static const char dev_null[] = "/dev/null";

static int64_t sys(struct om_ssa *ssa, int64_t nr, int64_t a0, int64_t a1, int64_t a2, int64_t a3, int64_t a4)
{
    int64_t a[6] = { a0, a1, a2, a3, a4, 0 };
    return om_sys_marshal(ssa, nr, a);
}

static void learn_cwd(struct om_ssa *ssa)
{
    if (!cwd_known) {
        int64_t r = sys(ssa, SYS_getcwd, (int64_t)cwd, sizeof(cwd), 0, 0, 0);
        cwd_known = r > 0 && cwd[0] == '/';
    }
}

/* Absolute form of a path given relative to the working directory. */
static int absolute(struct om_ssa *ssa, const char *p, char out[FD_PATH])
{
    size_t n = strnlen(p, FD_PATH);
    if (n == FD_PATH)
        return -1;
    if (p[0] == '/') {
        memcpy(out, p, n + 1);
        return 0;
    }
    learn_cwd(ssa);
    size_t c = strlen(cwd);
    if (!cwd_known || c + 1 + n + 1 > FD_PATH)
        return -1;
    memcpy(out, cwd, c);
    out[c] = '/';
    memcpy(out + c + 1, p, n + 1);
    return 0;
}

static void set_file(struct om_ssa *ssa, int64_t fd, int64_t dirfd, const char *path, int64_t flags)
{
    struct fd_desc *d = &fds[fd];
    memset(d, 0, sizeof(*d));
    d->kind = FD_OTHER;
    if ((dirfd == AT_FDCWD || path[0] == '/') && !absolute(ssa, path, d->path)) {
        d->kind = FD_FILE;
        d->flags = (int32_t)(flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_NOCTTY));
    }
}

static void copy_fd(int64_t from, int64_t to, int cloexec)
{
    if (to < 0 || to >= FD_MAX)
        return;
    if (from < 0 || from >= FD_MAX) {
        fds[to].kind = FD_OTHER;
        return;
    }
    fds[to] = fds[from];
    fds[to].flags = (fds[to].flags & ~O_CLOEXEC) | (cloexec ? O_CLOEXEC : 0);
}

void om_fd_note(struct om_ssa *ssa, int64_t nr, const int64_t a[6], int64_t ret)
{
    int64_t fd = ret;
    om_spin_lock(&fd_lock);
    switch (nr) {
    case SYS_open:
    case SYS_creat:
        if (fd < FD_MAX)
            set_file(ssa, fd, AT_FDCWD, (const char *)a[0], nr == SYS_creat ? O_WRONLY : a[1]);
        break;
    case SYS_openat:
        if (fd < FD_MAX)
            set_file(ssa, fd, a[0], (const char *)a[1], a[2]);
        break;
    case SYS_socket:
        if (fd < FD_MAX) {
            memset(&fds[fd], 0, sizeof(fds[fd]));
            fds[fd].kind = FD_SOCKET;
            fds[fd].domain = (int32_t)a[0];
            fds[fd].type = (int32_t)a[1];
            fds[fd].proto = (int32_t)a[2];
        }
        break;
    case SYS_bind:
        if (a[0] >= 0 && a[0] < FD_MAX && (uint64_t)a[2] <= FD_ADDR) {
            memcpy(fds[a[0]].addr, (const void *)a[1], (size_t)a[2]);
            fds[a[0]].addrlen = (uint32_t)a[2];
        }
        break;
    case SYS_listen:
        if (a[0] >= 0 && a[0] < FD_MAX && fds[a[0]].kind == FD_SOCKET && fds[a[0]].addrlen) {
            fds[a[0]].kind = FD_LISTEN;
            fds[a[0]].backlog = (int32_t)a[1];
        }
        break;
    case SYS_accept:
    case SYS_accept4:
        if (fd < FD_MAX && a[0] >= 0 && a[0] < FD_MAX) {
            fds[fd] = fds[a[0]];
            fds[fd].kind = FD_SOCKET;
            fds[fd].addrlen = 0;
        }
        break;
    case SYS_close:
        if (a[0] >= 0 && a[0] < FD_MAX)
            fds[a[0]].kind = FD_NONE;
        break;
    case SYS_dup:
        copy_fd(a[0], fd, 0);
        break;
    case SYS_dup2:
    case SYS_dup3:
        copy_fd(a[0], a[1], nr == SYS_dup3 && (a[2] & O_CLOEXEC));
        break;
    case SYS_fcntl:
        if (a[1] == F_DUPFD || a[1] == F_DUPFD_CLOEXEC)
            copy_fd(a[0], fd, a[1] == F_DUPFD_CLOEXEC);
        else if (a[1] == F_SETFL && a[0] >= 0 && a[0] < FD_MAX)
            fds[a[0]].flags = (fds[a[0]].flags & (O_ACCMODE | O_CLOEXEC)) | (int32_t)(a[2] & ~O_ACCMODE);
        else if (a[1] == F_SETFD && a[0] >= 0 && a[0] < FD_MAX)
            fds[a[0]].flags = (fds[a[0]].flags & ~O_CLOEXEC) | ((a[2] & FD_CLOEXEC) ? O_CLOEXEC : 0);
        break;
    case SYS_pipe:
    case SYS_pipe2:
    case SYS_socketpair:
    case SYS_eventfd2:
        if (nr == SYS_eventfd2) {
            if (fd < FD_MAX)
                fds[fd].kind = FD_OTHER;
        } else {
            int pair[2];
            memcpy(pair, (const void *)a[nr == SYS_socketpair ? 3 : 0], sizeof(pair));
            for (int i = 0; i < 2; i++)
                if (pair[i] >= 0 && pair[i] < FD_MAX)
                    fds[pair[i]].kind = FD_OTHER;
        }
        break;
    case SYS_chdir:
        if (absolute(ssa, (const char *)a[0], cwd))
            cwd_known = 0;
        break;
    case SYS_fchdir:
        cwd_known = 0;
        break;
    default:
        break;
    }
    om_spin_unlock(&fd_lock);
}

/* At the switchover point: where each open file stands. */
int om_fd_capture(struct om_ssa *ssa)
{
    learn_cwd(ssa);
    for (int fd = 3; fd < FD_MAX; fd++)
        if (fds[fd].kind == FD_FILE)
            fds[fd].offset = sys(ssa, SYS_lseek, fd, 0, SEEK_CUR, 0, 0);
    return 0;
}

/* Source, after the switchover: let go of every host resource now, so the
 * destination can bind the same ports while this process winds down. */
void om_fd_release(struct om_ssa *ssa)
{
    for (int fd = 3; fd < FD_MAX; fd++)
        if (fds[fd].kind != FD_NONE)
            sys(ssa, SYS_close, fd, 0, 0, 0, 0);
}

/* Puts the resource that was at fd on the source at the same number here. */
static void place(struct om_ssa *ssa, int64_t got, int fd, int cloexec)
{
    if (got >= 0 && got != fd) {
        sys(ssa, SYS_dup3, got, fd, cloexec ? O_CLOEXEC : 0, 0, 0);
        sys(ssa, SYS_close, got, 0, 0, 0, 0);
    }
}

int om_fd_restore(struct om_ssa *ssa)
{
    if (cwd_known)
        sys(ssa, SYS_chdir, (int64_t)cwd, 0, 0, 0, 0);
    for (int fd = 3; fd < FD_MAX; fd++) {
        struct fd_desc *d = &fds[fd];
        int cloexec = (d->flags & O_CLOEXEC) != 0;
        int64_t got = -1;
        switch (d->kind) {
        case FD_FILE:
            got = sys(ssa, SYS_openat, AT_FDCWD, (int64_t)d->path, d->flags, 0, 0);
            if (got < 0) {
                om_trt_say(ssa, "optmig enclave: a file open on the source is missing here; its descriptor reads /dev/null\n");
                break;
            }
            place(ssa, got, fd, cloexec);
            if (d->offset > 0 && !(d->flags & O_APPEND))
                sys(ssa, SYS_lseek, fd, d->offset, SEEK_SET, 0, 0);
            continue;
        case FD_LISTEN: {
            static const int one = 1;
            got = sys(ssa, SYS_socket, d->domain, d->type, d->proto, 0, 0);
            if (got >= 0) {
                sys(ssa, SYS_setsockopt, got, SOL_SOCKET, SO_REUSEADDR, (int64_t)&one, sizeof(one));
                /* On the same host the source may still be closing its socket. */
                int64_t b = -1;
                for (int tries = 0; tries < 200 && (b = sys(ssa, SYS_bind, got, (int64_t)d->addr, d->addrlen, 0, 0)) == -EADDRINUSE; tries++)
                    om_mig_sleep_us(ssa, 10000);
                if (b < 0 || sys(ssa, SYS_listen, got, d->backlog, 0, 0, 0) < 0)
                    om_trt_say(ssa, "optmig enclave: could not re-bind a listening socket here\n");
                place(ssa, got, fd, cloexec);
            }
            continue;
        }
        case FD_SOCKET:
            got = sys(ssa, SYS_socket, d->domain, d->type, d->proto, 0, 0);
            place(ssa, got, fd, cloexec);
            continue;
        case FD_OTHER:
            break;
        default:
            continue;
        }
        got = sys(ssa, SYS_openat, AT_FDCWD, (int64_t)dev_null, O_RDWR, 0, 0);
        place(ssa, got, fd, cloexec);
    }
    return 0;
}
