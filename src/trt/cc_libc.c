/* What musl's libc.a reads and writes in app memory, for the compiler
 * tracker: omcc links every image with -Wl,--wrap=F for the functions below,
 * which covers the app's calls *and* musl's own calls between its objects
 * (e.g. sprintf -> vsnprintf -> memcpy, qsort's swaps, fgets' buffer copies,
 * strdup/getline's copies). Each wrapper makes present what it reads or
 * writes before the call, and marks what it wrote after it (docs/PASS.md,
 * "Uninstrumented code"). With tracking off a wrapper costs one load and a
 * branch. The migration's own threads (ECALL stacks) are the tracker and are
 * never tracked: the restorer writes absent pages by design. */
#include "cc_rt.h"
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void *__real_memcpy(void *d, const void *s, size_t n);
void *__real_memmove(void *d, const void *s, size_t n);
void *__real_memset(void *d, int c, size_t n);
char *__real_strcpy(char *d, const char *s);
char *__real_stpcpy(char *d, const char *s);
char *__real_strncpy(char *d, const char *s, size_t n);
char *__real_strcat(char *d, const char *s);
char *__real_strncat(char *d, const char *s, size_t n);
size_t __real_strlen(const char *s);
size_t __real_strnlen(const char *s, size_t n);
int __real_strcmp(const char *a, const char *b);
int __real_strncmp(const char *a, const char *b, size_t n);
int __real_memcmp(const void *a, const void *b, size_t n);
void *__real_memchr(const void *s, int c, size_t n);
char *__real_strchr(const char *s, int c);
int __real_vsnprintf(char *s, size_t n, const char *fmt, va_list ap);
char *__real_fgets(char *s, int n, FILE *f);
size_t __real_fread(void *p, size_t sz, size_t nm, FILE *f);
size_t __real_fwrite(const void *p, size_t sz, size_t nm, FILE *f);
int __real_fputs(const char *s, FILE *f);
int __real_puts(const char *s);

/* Tracking on, and an app thread (not the migration's ECALL threads). */
static inline int on(void)
{
    if (__builtin_expect(!__om_track, 1))
        return 0;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    return sp - (uintptr_t)om_ecall_stacks >= sizeof(om_ecall_stacks);
}

static inline void rd(const void *p, size_t n) { om_cc_need(NULL, p, n); }
static inline void rd_str(const char *s, size_t max) { om_cc_need_str(NULL, s, max); }

/* Bytes fsz*nm, saturated (a product past the range is clipped anyway). */
static size_t prod(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

#define WRAP_COPY(name, T)                                  \
    T *__wrap_##name(T *d, const void *s, size_t n);        \
    T *__wrap_##name(T *d, const void *s, size_t n)         \
    {                                                       \
        if (!on())                                          \
            return __real_##name(d, s, n);                  \
        rd(s, n);                                           \
        rd(d, n);                                           \
        T *r = __real_##name(d, s, n);                      \
        om_cc_wrote(d, n);                                  \
        return r;                                           \
    }
WRAP_COPY(memcpy, void)
WRAP_COPY(memmove, void)

void *__wrap_memset(void *d, int c, size_t n);
void *__wrap_memset(void *d, int c, size_t n)
{
    if (!on())
        return __real_memset(d, c, n);
    rd(d, n);
    void *r = __real_memset(d, c, n);
    om_cc_wrote(d, n);
    return r;
}

#define WRAP_STRCPY(name)                                   \
    char *__wrap_##name(char *d, const char *s);            \
    char *__wrap_##name(char *d, const char *s)             \
    {                                                       \
        if (!on())                                          \
            return __real_##name(d, s);                     \
        rd_str(s, SIZE_MAX);                                \
        size_t n = __real_strlen(s) + 1;                    \
        rd(d, n);                                           \
        char *r = __real_##name(d, s);                      \
        om_cc_wrote(d, n);                                  \
        return r;                                           \
    }
WRAP_STRCPY(strcpy)
WRAP_STRCPY(stpcpy)

char *__wrap_strncpy(char *d, const char *s, size_t n);
char *__wrap_strncpy(char *d, const char *s, size_t n)
{
    if (!on())
        return __real_strncpy(d, s, n);
    rd_str(s, n);
    rd(d, n); /* writes all n bytes, padding with zeros */
    char *r = __real_strncpy(d, s, n);
    om_cc_wrote(d, n);
    return r;
}

char *__wrap_strcat(char *d, const char *s);
char *__wrap_strcat(char *d, const char *s)
{
    if (!on())
        return __real_strcat(d, s);
    rd_str(d, SIZE_MAX);
    rd_str(s, SIZE_MAX);
    size_t dl = __real_strlen(d), n = __real_strlen(s) + 1;
    rd(d + dl, n);
    char *r = __real_strcat(d, s);
    om_cc_wrote(d + dl, n);
    return r;
}

char *__wrap_strncat(char *d, const char *s, size_t k);
char *__wrap_strncat(char *d, const char *s, size_t k)
{
    if (!on())
        return __real_strncat(d, s, k);
    rd_str(d, SIZE_MAX);
    rd_str(s, k);
    size_t dl = __real_strlen(d), n = __real_strnlen(s, k) + 1;
    rd(d + dl, n);
    char *r = __real_strncat(d, s, k);
    om_cc_wrote(d + dl, n);
    return r;
}

/* Readers: only the access tracker cares (their pages must be present). */
size_t __wrap_strlen(const char *s);
size_t __wrap_strlen(const char *s)
{
    if (on())
        rd_str(s, SIZE_MAX);
    return __real_strlen(s);
}

size_t __wrap_strnlen(const char *s, size_t n);
size_t __wrap_strnlen(const char *s, size_t n)
{
    if (on())
        rd_str(s, n);
    return __real_strnlen(s, n);
}

int __wrap_strcmp(const char *a, const char *b);
int __wrap_strcmp(const char *a, const char *b)
{
    if (on()) {
        rd_str(a, SIZE_MAX);
        rd_str(b, SIZE_MAX);
    }
    return __real_strcmp(a, b);
}

int __wrap_strncmp(const char *a, const char *b, size_t n);
int __wrap_strncmp(const char *a, const char *b, size_t n)
{
    if (on()) {
        rd_str(a, n);
        rd_str(b, n);
    }
    return __real_strncmp(a, b, n);
}

int __wrap_memcmp(const void *a, const void *b, size_t n);
int __wrap_memcmp(const void *a, const void *b, size_t n)
{
    if (on()) {
        rd(a, n);
        rd(b, n);
    }
    return __real_memcmp(a, b, n);
}

void *__wrap_memchr(const void *s, int c, size_t n);
void *__wrap_memchr(const void *s, int c, size_t n)
{
    if (on())
        rd(s, n);
    return __real_memchr(s, c, n);
}

char *__wrap_strchr(const char *s, int c);
char *__wrap_strchr(const char *s, int c)
{
    if (on())
        rd_str(s, SIZE_MAX);
    return __real_strchr(s, c);
}

/* The whole printf-into-a-buffer family ends here (musl's sprintf, snprintf
 * and vsprintf call vsnprintf). The output length is measured first, so
 * exactly the bytes written are made present and marked. */
int __wrap_vsnprintf(char *s, size_t n, const char *fmt, va_list ap);
int __wrap_vsnprintf(char *s, size_t n, const char *fmt, va_list ap)
{
    if (!on() || !n)
        return __real_vsnprintf(s, n, fmt, ap);
    rd_str(fmt, SIZE_MAX);
    va_list ap2;
    va_copy(ap2, ap);
    int len = __real_vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    size_t w = len < 0 || (size_t)len >= n ? n : (size_t)len + 1;
    rd(s, w);
    int r = __real_vsnprintf(s, n, fmt, ap);
    om_cc_wrote(s, w);
    return r;
}

/* Conservative: up to n bytes (a line may hold a NUL, so strlen is no
 * bound); over-marking only resends a page. */
char *__wrap_fgets(char *s, int n, FILE *f);
char *__wrap_fgets(char *s, int n, FILE *f)
{
    if (!on() || n <= 0)
        return __real_fgets(s, n, f);
    rd(s, (size_t)n);
    char *r = __real_fgets(s, n, f);
    om_cc_wrote(s, (size_t)n);
    return r;
}

size_t __wrap_fread(void *p, size_t sz, size_t nm, FILE *f);
size_t __wrap_fread(void *p, size_t sz, size_t nm, FILE *f)
{
    if (!on())
        return __real_fread(p, sz, nm, f);
    size_t all = prod(sz, nm);
    rd(p, all);
    size_t r = __real_fread(p, sz, nm, f);
    /* A short read may leave part of the next element written. */
    size_t w = r < nm ? prod(r + 1, sz) : all;
    om_cc_wrote(p, w < all ? w : all);
    return r;
}

size_t __wrap_fwrite(const void *p, size_t sz, size_t nm, FILE *f);
size_t __wrap_fwrite(const void *p, size_t sz, size_t nm, FILE *f)
{
    if (on())
        rd(p, prod(sz, nm));
    return __real_fwrite(p, sz, nm, f);
}

int __wrap_fputs(const char *s, FILE *f);
int __wrap_fputs(const char *s, FILE *f)
{
    if (on())
        rd_str(s, SIZE_MAX);
    return __real_fputs(s, f);
}

int __wrap_puts(const char *s);
int __wrap_puts(const char *s)
{
    if (on())
        rd_str(s, SIZE_MAX);
    return __real_puts(s);
}
