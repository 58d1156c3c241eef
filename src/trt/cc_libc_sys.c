/* POSIX calls whose results musl writes itself rather than the system call
 * (cc_libc.h): stat (converted from the kernel's layout), directories (the
 * DIR and its buffer live in the heap), signal sets and masks, address
 * conversions, getopt. */
#include "cc_libc.h"
#include <arpa/inet.h>
#include <dirent.h>
#include <getopt.h>
#include <signal.h>
#include <sys/stat.h>

#define WRAP_STAT(name)                                     \
    CC_DECL(int, name, (const char *restrict p, struct stat *restrict st)) \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(p, st);                    \
        cc_rd_str(p, SIZE_MAX);                             \
        cc_rd(st, sizeof *st);                              \
        int r = __real_##name(p, st);                       \
        cc_wr(st, sizeof *st);                              \
        return r;                                           \
    }
WRAP_STAT(stat)
WRAP_STAT(lstat)

CC_DECL(int, fstat, (int fd, struct stat *st))
{
    if (!cc_on())
        return __real_fstat(fd, st);
    cc_rd(st, sizeof *st);
    int r = __real_fstat(fd, st);
    cc_wr(st, sizeof *st);
    return r;
}

CC_DECL(int, fstatat, (int fd, const char *restrict p, struct stat *restrict st, int flag))
{
    if (!cc_on())
        return __real_fstatat(fd, p, st, flag);
    cc_rd_str(p, SIZE_MAX);
    cc_rd(st, sizeof *st);
    int r = __real_fstatat(fd, p, st, flag);
    cc_wr(st, sizeof *st);
    return r;
}

/* musl's struct __dirstream: tell, fd, buf_pos, buf_end, lock, buf[2048]. */
#define MUSL_DIR_SIZE (8 + 4 * 4 + 2048)

static DIR *dir_made(DIR *d)
{
    if (d && cc_on())
        cc_wr(d, MUSL_DIR_SIZE);
    return d;
}

CC_DECL(DIR *, opendir, (const char *p))
{
    if (cc_on())
        cc_rd_str(p, SIZE_MAX);
    return dir_made(__real_opendir(p));
}

CC_DECL(DIR *, fdopendir, (int fd)) { return dir_made(__real_fdopendir(fd)); }

CC_DECL(struct dirent *, readdir, (DIR * d))
{
    if (!cc_on())
        return __real_readdir(d);
    cc_rd(d, MUSL_DIR_SIZE);
    struct dirent *r = __real_readdir(d);
    cc_wr(d, MUSL_DIR_SIZE);
    return r;
}

#define WRAP_DIRV(name)                                     \
    CC_DECL(void, name, (DIR * d))                          \
    {                                                       \
        int on = cc_on();                                   \
        if (on)                                             \
            cc_rd(d, MUSL_DIR_SIZE);                        \
        __real_##name(d);                                   \
        if (on)                                             \
            cc_wr(d, MUSL_DIR_SIZE);                        \
    }
WRAP_DIRV(rewinddir)

CC_DECL(long, telldir, (DIR * d))
{
    if (cc_on())
        cc_rd(d, MUSL_DIR_SIZE);
    return __real_telldir(d);
}

CC_DECL(void, seekdir, (DIR * d, long off))
{
    int on = cc_on();
    if (on)
        cc_rd(d, MUSL_DIR_SIZE);
    __real_seekdir(d, off);
    if (on)
        cc_wr(d, MUSL_DIR_SIZE);
}

/* ---- signal sets ---- */

#define WRAP_SET0(name)                                     \
    CC_DECL(int, name, (sigset_t * s))                      \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(s);                        \
        cc_rd(s, sizeof *s);                                \
        int r = __real_##name(s);                           \
        cc_wr(s, sizeof *s);                                \
        return r;                                           \
    }
WRAP_SET0(sigemptyset)
WRAP_SET0(sigfillset)

#define WRAP_SET1(name)                                     \
    CC_DECL(int, name, (sigset_t * s, int sig))             \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(s, sig);                   \
        cc_rd(s, sizeof *s);                                \
        int r = __real_##name(s, sig);                      \
        cc_wr(s, sizeof *s);                                \
        return r;                                           \
    }
WRAP_SET1(sigaddset)
WRAP_SET1(sigdelset)

CC_DECL(int, sigismember, (const sigset_t *s, int sig))
{
    if (cc_on())
        cc_rd(s, sizeof *s);
    return __real_sigismember(s, sig);
}

/* musl copies the old action field by field. */
CC_DECL(int, sigaction, (int sig, const struct sigaction *restrict sa, struct sigaction *restrict old))
{
    int on = cc_on();
    if (on) {
        if (sa)
            cc_rd(sa, sizeof *sa);
        if (old)
            cc_rd(old, sizeof *old);
    }
    int r = __real_sigaction(sig, sa, old);
    if (on && old)
        cc_wr(old, sizeof *old);
    return r;
}

/* ---- addresses ---- */

/* Up to an IPv6 address. */
#define CC_ADDR_MAX 16
CC_DECL(int, inet_pton, (int af, const char *restrict s, void *restrict d))
{
    if (!cc_on())
        return __real_inet_pton(af, s, d);
    cc_rd_str(s, SIZE_MAX);
    cc_rd(d, CC_ADDR_MAX);
    int r = __real_inet_pton(af, s, d);
    cc_wr(d, CC_ADDR_MAX);
    return r;
}

CC_DECL(const char *, inet_ntop, (int af, const void *restrict s, char *restrict d, socklen_t n))
{
    if (!cc_on())
        return __real_inet_ntop(af, s, d, n);
    cc_rd(s, CC_ADDR_MAX);
    cc_rd(d, n);
    const char *r = __real_inet_ntop(af, s, d, n);
    cc_wr(d, n);
    return r;
}

CC_DECL(int, inet_aton, (const char *s, struct in_addr *a))
{
    if (!cc_on())
        return __real_inet_aton(s, a);
    cc_rd_str(s, SIZE_MAX);
    cc_rd(a, sizeof *a);
    int r = __real_inet_aton(s, a);
    cc_wr(a, sizeof *a);
    return r;
}

CC_DECL(in_addr_t, inet_addr, (const char *s))
{
    if (cc_on())
        cc_rd_str(s, SIZE_MAX);
    return __real_inet_addr(s);
}

/* musl clears bits of the old set itself after the system call. */
#define WRAP_MASK(name)                                     \
    CC_DECL(int, name, (int how, const sigset_t *restrict s, sigset_t *restrict old)) \
    {                                                       \
        int on = cc_on();                                   \
        if (on) {                                           \
            if (s)                                          \
                cc_rd(s, sizeof *s);                        \
            if (old)                                        \
                cc_rd(old, sizeof *old);                    \
        }                                                   \
        int r = __real_##name(how, s, old);                 \
        if (on && old)                                      \
            cc_wr(old, sizeof *old);                        \
        return r;                                           \
    }
WRAP_MASK(sigprocmask)
WRAP_MASK(pthread_sigmask)

/* ---- getopt: reads the argument strings (main's are on its stack, but a
 * program may build its own vector in the heap) ---- */

static void args_rd(int argc, char *const argv[], const char *opts)
{
    cc_rd(argv, cc_prod((size_t)(argc > 0 ? argc : 0), sizeof *argv));
    for (int i = 0; i < argc; i++)
        if (argv[i])
            cc_rd_str(argv[i], SIZE_MAX);
    cc_rd_str(opts, SIZE_MAX);
}

CC_DECL(int, getopt, (int argc, char *const argv[], const char *opts))
{
    if (cc_on())
        args_rd(argc, argv, opts);
    return __real_getopt(argc, argv, opts);
}

/* Also writes *idx and the flag words of the long options. */
#define WRAP_GETOPT_LONG(fn)                              \
    CC_DECL(int, fn, (int argc, char *const *argv, const char *opts, const struct option *lo, int *idx)) \
    {                                                       \
        int on = cc_on();                                   \
        if (on) {                                           \
            args_rd(argc, argv, opts);                      \
            for (const struct option *o = lo;; o++) {       \
                cc_rd(o, sizeof *o);                        \
                if (!o->name)                               \
                    break;                                  \
                cc_rd_str(o->name, SIZE_MAX);               \
                if (o->flag)                                \
                    cc_rd(o->flag, sizeof *o->flag);        \
            }                                               \
            if (idx)                                        \
                cc_rd(idx, sizeof *idx);                    \
        }                                                   \
        int r = __real_##fn(argc, argv, opts, lo, idx);   \
        if (on) {                                           \
            for (const struct option *o = lo; o->name; o++) \
                if (o->flag)                                \
                    cc_wr(o->flag, sizeof *o->flag);        \
            if (idx)                                        \
                cc_wr(idx, sizeof *idx);                    \
        }                                                   \
        return r;                                           \
    }
WRAP_GETOPT_LONG(getopt_long)
WRAP_GETOPT_LONG(getopt_long_only)
