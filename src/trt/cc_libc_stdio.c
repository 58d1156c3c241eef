/* stdio.h for the compiler tracker (cc_libc.h). Every call that takes a
 * FILE covers the FILE and its buffer (a fopen'd one lives in the heap);
 * the printf family is covered at vfprintf and vsnprintf, the scanf family
 * at vfscanf and vsscanf (musl's printf, fprintf, sprintf, scanf, sscanf...
 * all end there through calls between its objects). */
#include "cc_libc_fmt.h"
#include <stdio.h>

/* ---- printf ---- */

CC_DECL(int, vfprintf, (FILE *restrict f, const char *restrict fmt, va_list ap))
{
    if (!cc_on())
        return __real_vfprintf(f, fmt, ap);
    cc_rd_str(fmt, SIZE_MAX);
    cc_file_pre(f);
    cc_printf_args(fmt, ap, 0);
    va_list aq;
    va_copy(aq, ap);
    int r = __real_vfprintf(f, fmt, ap);
    cc_printf_args(fmt, aq, 1);
    va_end(aq);
    cc_file_post(f);
    return r;
}

/* The output length is measured first, so exactly the bytes written are
 * made present and marked (vsprintf, snprintf, asprintf end here). */
CC_DECL(int, vsnprintf, (char *restrict s, size_t n, const char *restrict fmt, va_list ap))
{
    if (!cc_on() || !n)
        return __real_vsnprintf(s, n, fmt, ap);
    va_list ap2;
    va_copy(ap2, ap);
    int len = __real_vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    size_t w = len < 0 || (size_t)len >= n ? n : (size_t)len + 1;
    cc_rd(s, w);
    int r = __real_vsnprintf(s, n, fmt, ap);
    cc_wr(s, w);
    return r;
}

/* musl stores the malloc'd string's address itself. */
CC_DECL(int, vasprintf, (char **s, const char *fmt, va_list ap))
{
    int on = cc_on();
    if (on)
        cc_rd(s, sizeof *s);
    int r = __real_vasprintf(s, fmt, ap);
    if (on)
        cc_wr(s, sizeof *s);
    return r;
}

/* ---- scanf ---- */

CC_DECL(int, vfscanf, (FILE *restrict f, const char *restrict fmt, va_list ap))
{
    if (!cc_on())
        return __real_vfscanf(f, fmt, ap);
    cc_rd_str(fmt, SIZE_MAX);
    cc_file_pre(f);
    cc_scanf_args(fmt, ap, 0, 0);
    va_list aq;
    va_copy(aq, ap);
    int r = __real_vfscanf(f, fmt, ap);
    cc_scanf_args(fmt, aq, 1, r);
    va_end(aq);
    cc_file_post(f);
    return r;
}

/* The input string (musl reads it through a FILE on the stack). */
CC_DECL(int, vsscanf, (const char *restrict s, const char *restrict fmt, va_list ap))
{
    if (cc_on())
        cc_rd_str(s, SIZE_MAX);
    return __real_vsscanf(s, fmt, ap);
}

/* ---- FILE in, FILE out ---- */

/* R name(A1 a1..., FILE *f): FILE covered around the call. */
#define WRAP_F1(R, name, A)                                 \
    CC_DECL(R, name, (A a, FILE *f))                        \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(a, f);                     \
        cc_file_pre(f);                                     \
        R r = __real_##name(a, f);                          \
        cc_file_post(f);                                    \
        return r;                                           \
    }
WRAP_F1(int, fputc, int)
WRAP_F1(int, putc, int)
WRAP_F1(int, ungetc, int)
WRAP_F1(int, putc_unlocked, int)
WRAP_F1(int, fputc_unlocked, int)

#define WRAP_F0(R, name)                                    \
    CC_DECL(R, name, (FILE * f))                            \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(f);                        \
        cc_file_pre(f);                                     \
        R r = __real_##name(f);                             \
        cc_file_post(f);                                    \
        return r;                                           \
    }
WRAP_F0(int, fgetc)
WRAP_F0(int, getc)
WRAP_F0(int, getc_unlocked)
WRAP_F0(int, fgetc_unlocked)
WRAP_F0(int, feof)
WRAP_F0(int, ferror)
WRAP_F0(int, fileno)
WRAP_F0(long, ftell)
WRAP_F0(off_t, ftello)
WRAP_F0(int, ftrylockfile)

#define WRAP_FV(name)                                       \
    CC_DECL(void, name, (FILE * f))                         \
    {                                                       \
        int on = cc_on();                                   \
        if (on)                                             \
            cc_file_pre(f);                                 \
        __real_##name(f);                                   \
        if (on)                                             \
            cc_file_post(f);                                \
    }
WRAP_FV(rewind)
WRAP_FV(clearerr)
WRAP_FV(flockfile)
WRAP_FV(funlockfile)

/* stdin/stdout: their FILE is libc's own data, but setvbuf may have given
 * them a heap buffer. */
CC_DECL(int, putchar, (int c))
{
    if (!cc_on())
        return __real_putchar(c);
    cc_file_pre(stdout);
    int r = __real_putchar(c);
    cc_file_post(stdout);
    return r;
}

CC_DECL(int, getchar, (void))
{
    if (!cc_on())
        return __real_getchar();
    cc_file_pre(stdin);
    int r = __real_getchar();
    cc_file_post(stdin);
    return r;
}

CC_DECL(int, fseek, (FILE *f, long off, int wh))
{
    if (!cc_on())
        return __real_fseek(f, off, wh);
    cc_file_pre(f);
    int r = __real_fseek(f, off, wh);
    cc_file_post(f);
    return r;
}

CC_DECL(int, fseeko, (FILE *f, off_t off, int wh))
{
    if (!cc_on())
        return __real_fseeko(f, off, wh);
    cc_file_pre(f);
    int r = __real_fseeko(f, off, wh);
    cc_file_post(f);
    return r;
}

/* fflush(NULL) flushes every FILE on the open-file list, and stdout. */
FILE **__ofl_lock(void);
void __ofl_unlock(void);

static void each_open(void (*fn)(FILE *))
{
    FILE *head = *__ofl_lock();
    __ofl_unlock();
    for (FILE *g = head; g; g = cc_file_next(g))
        fn(g);
    fn(stdout);
    fn(stderr);
}

CC_DECL(int, fflush, (FILE * f))
{
    if (!cc_on())
        return __real_fflush(f);
    if (f)
        cc_file_pre(f);
    else
        each_open(cc_file_pre);
    int r = __real_fflush(f);
    if (f)
        cc_file_post(f);
    else
        each_open(cc_file_post);
    return r;
}

CC_DECL(int, fgetpos, (FILE *restrict f, fpos_t *restrict pos))
{
    if (!cc_on())
        return __real_fgetpos(f, pos);
    cc_file_pre(f);
    cc_rd(pos, sizeof *pos);
    int r = __real_fgetpos(f, pos);
    cc_wr(pos, sizeof *pos);
    cc_file_post(f);
    return r;
}

CC_DECL(int, fsetpos, (FILE * f, const fpos_t *pos))
{
    if (!cc_on())
        return __real_fsetpos(f, pos);
    cc_file_pre(f);
    cc_rd(pos, sizeof *pos);
    int r = __real_fsetpos(f, pos);
    cc_file_post(f);
    return r;
}

CC_DECL(int, setvbuf, (FILE *restrict f, char *restrict buf, int mode, size_t n))
{
    if (!cc_on())
        return __real_setvbuf(f, buf, mode, n);
    cc_file_pre(f);
    cc_rd(buf, n);
    int r = __real_setvbuf(f, buf, mode, n);
    cc_file_post(f);
    return r;
}

CC_DECL(void, setbuf, (FILE *restrict f, char *restrict buf))
{
    int on = cc_on();
    if (on) {
        cc_file_pre(f);
        cc_rd(buf, BUFSIZ);
    }
    __real_setbuf(f, buf);
    if (on)
        cc_file_post(f);
}

/* ---- buffers ---- */

/* Conservative: up to n bytes (a line may hold a NUL, so strlen is no
 * bound); over-marking only resends a page. */
CC_DECL(char *, fgets, (char *restrict s, int n, FILE *restrict f))
{
    if (!cc_on() || n <= 0)
        return __real_fgets(s, n, f);
    cc_file_pre(f);
    cc_rd(s, (size_t)n);
    char *r = __real_fgets(s, n, f);
    cc_wr(s, (size_t)n);
    cc_file_post(f);
    return r;
}

CC_DECL(size_t, fread, (void *restrict p, size_t sz, size_t nm, FILE *restrict f))
{
    if (!cc_on())
        return __real_fread(p, sz, nm, f);
    size_t all = cc_prod(sz, nm);
    cc_file_pre(f);
    cc_rd(p, all);
    size_t r = __real_fread(p, sz, nm, f);
    /* A short read may leave part of the next element written. */
    size_t w = r < nm ? cc_prod(r + 1, sz) : all;
    cc_wr(p, w < all ? w : all);
    cc_file_post(f);
    return r;
}

CC_DECL(size_t, fwrite, (const void *restrict p, size_t sz, size_t nm, FILE *restrict f))
{
    if (!cc_on())
        return __real_fwrite(p, sz, nm, f);
    cc_file_pre(f);
    cc_rd(p, cc_prod(sz, nm));
    size_t r = __real_fwrite(p, sz, nm, f);
    cc_file_post(f);
    return r;
}

CC_DECL(int, fputs, (const char *restrict s, FILE *restrict f))
{
    if (!cc_on())
        return __real_fputs(s, f);
    cc_file_pre(f);
    cc_rd_str(s, SIZE_MAX);
    int r = __real_fputs(s, f);
    cc_file_post(f);
    return r;
}

CC_DECL(int, puts, (const char *s))
{
    if (!cc_on())
        return __real_puts(s);
    cc_file_pre(stdout);
    cc_rd_str(s, SIZE_MAX);
    int r = __real_puts(s);
    cc_file_post(stdout);
    return r;
}

CC_DECL(void, perror, (const char *s))
{
    if (cc_on() && s)
        cc_rd_str(s, SIZE_MAX);
    __real_perror(s);
}

/* The line buffer and its size are the caller's; musl grows the buffer
 * (realloc) and stores into it itself. */
CC_DECL(ssize_t, getdelim, (char **restrict s, size_t *restrict n, int delim, FILE *restrict f))
{
    if (!cc_on())
        return __real_getdelim(s, n, delim, f);
    cc_file_pre(f);
    cc_rd(s, sizeof *s);
    cc_rd(n, sizeof *n);
    if (*s)
        cc_rd(*s, *n);
    ssize_t r = __real_getdelim(s, n, delim, f);
    cc_wr(s, sizeof *s);
    cc_wr(n, sizeof *n);
    if (*s)
        cc_wr(*s, r > 0 ? (size_t)r + 1 : 1);
    cc_file_post(f);
    return r;
}

CC_DECL(ssize_t, getline, (char **restrict s, size_t *restrict n, FILE *restrict f))
{
    return __wrap_getdelim(s, n, '\n', f);
}

/* ---- opening and closing: the open-file list links FILEs together ---- */

static FILE *opened(FILE *f)
{
    if (f && cc_on()) {
        cc_file_post(f);
        cc_file_post(cc_file_next(f));
    }
    return f;
}

CC_DECL(FILE *, fopen, (const char *restrict path, const char *restrict mode))
{
    if (cc_on()) {
        cc_rd_str(path, SIZE_MAX);
        cc_rd_str(mode, SIZE_MAX);
    }
    return opened(__real_fopen(path, mode));
}

CC_DECL(FILE *, fdopen, (int fd, const char *mode))
{
    if (cc_on())
        cc_rd_str(mode, SIZE_MAX);
    return opened(__real_fdopen(fd, mode));
}

CC_DECL(FILE *, freopen, (const char *restrict path, const char *restrict mode, FILE *restrict f))
{
    if (cc_on()) {
        if (path)
            cc_rd_str(path, SIZE_MAX);
        cc_rd_str(mode, SIZE_MAX);
        cc_file_pre(f);
    }
    return opened(__real_freopen(path, mode, f));
}

CC_DECL(FILE *, tmpfile, (void)) { return opened(__real_tmpfile()); }

CC_DECL(int, fclose, (FILE * f))
{
    if (!cc_on())
        return __real_fclose(f);
    cc_file_pre(f);
    FILE *prev = cc_file_prev(f), *next = cc_file_next(f);
    cc_file_pre(prev);
    cc_file_pre(next);
    int r = __real_fclose(f); /* frees f (the allocator marks its own writes) */
    cc_file_post(prev);
    cc_file_post(next);
    return r;
}
