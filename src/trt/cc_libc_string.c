/* string.h and strings.h for the compiler tracker (cc_libc.h). Exact marks:
 * each writer marks the bytes it wrote, measured before or after the call. */
#include "cc_libc.h"
#include <string.h>
#include <strings.h>

void *__real_memchr(const void *s, int c, size_t n);

/* ---- copies and fills ---- */

#define WRAP_MEM3(name, T)                                  \
    CC_DECL(T *, name, (T * d, const void *s, size_t n))    \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(d, s, n);                  \
        cc_rd(s, n);                                        \
        cc_rd(d, n);                                        \
        T *r = __real_##name(d, s, n);                      \
        cc_wr(d, n);                                        \
        return r;                                           \
    }
WRAP_MEM3(memcpy, void)
WRAP_MEM3(memmove, void)
WRAP_MEM3(mempcpy, void)

CC_DECL(void, bcopy, (const void *s, void *d, size_t n))
{
    if (cc_on()) {
        cc_rd(s, n);
        cc_rd(d, n);
    }
    __real_bcopy(s, d, n);
    if (cc_on())
        cc_wr(d, n);
}

CC_DECL(void *, memset, (void *d, int c, size_t n))
{
    if (!cc_on())
        return __real_memset(d, c, n);
    cc_rd(d, n);
    void *r = __real_memset(d, c, n);
    cc_wr(d, n);
    return r;
}

#define WRAP_ZERO(name)                                     \
    CC_DECL(void, name, (void *d, size_t n))                \
    {                                                       \
        int on = cc_on();                                   \
        if (on)                                             \
            cc_rd(d, n);                                    \
        __real_##name(d, n);                                \
        if (on)                                             \
            cc_wr(d, n);                                    \
    }
WRAP_ZERO(bzero)
WRAP_ZERO(explicit_bzero)

/* Reads stop at the first c: n may be a mere upper bound (musl's strnlen
 * calls memchr(s, 0, INT_MAX)), so pages are made present one at a time. */
static const void *find(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    while (n) {
        size_t room = OM_PAGE_SIZE - (uintptr_t)p % OM_PAGE_SIZE;
        if (room > n)
            room = n;
        cc_rd(p, room);
        const void *r = __real_memchr(p, c, room);
        if (r)
            return r;
        p += room;
        n -= room;
    }
    return NULL;
}

CC_DECL(void *, memchr, (const void *s, int c, size_t n))
{
    if (!cc_on())
        return __real_memchr(s, c, n);
    return (void *)find(s, c, n);
}

CC_DECL(void *, memccpy, (void *restrict d, const void *restrict s, int c, size_t n))
{
    if (!cc_on())
        return __real_memccpy(d, s, c, n);
    const char *e = find(s, c, n);
    size_t k = e ? (size_t)(e - (const char *)s) + 1 : n;
    cc_rd(d, k);
    void *r = __real_memccpy(d, s, c, n);
    cc_wr(d, k);
    return r;
}

CC_DECL(void, swab, (const void *restrict s, void *restrict d, ssize_t n))
{
    int on = cc_on() && n > 0;
    if (on) {
        cc_rd(s, (size_t)n);
        cc_rd(d, (size_t)n);
    }
    __real_swab(s, d, n);
    if (on)
        cc_wr(d, (size_t)n);
}

/* ---- string copies ---- */

#define WRAP_STRCPY(name)                                   \
    CC_DECL(char *, name, (char *restrict d, const char *restrict s)) \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(d, s);                     \
        cc_rd_str(s, SIZE_MAX);                             \
        size_t n = __real_strlen(s) + 1;                    \
        cc_rd(d, n);                                        \
        char *r = __real_##name(d, s);                      \
        cc_wr(d, n);                                        \
        return r;                                           \
    }
WRAP_STRCPY(strcpy)
WRAP_STRCPY(stpcpy)

/* Both write all n bytes (zero padding). */
#define WRAP_STRNCPY(name)                                  \
    CC_DECL(char *, name, (char *restrict d, const char *restrict s, size_t n)) \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(d, s, n);                  \
        cc_rd_str(s, n);                                    \
        cc_rd(d, n);                                        \
        char *r = __real_##name(d, s, n);                   \
        cc_wr(d, n);                                        \
        return r;                                           \
    }
WRAP_STRNCPY(strncpy)
WRAP_STRNCPY(stpncpy)

CC_DECL(char *, strcat, (char *restrict d, const char *restrict s))
{
    if (!cc_on())
        return __real_strcat(d, s);
    cc_rd_str(d, SIZE_MAX);
    cc_rd_str(s, SIZE_MAX);
    size_t dl = __real_strlen(d), n = __real_strlen(s) + 1;
    cc_rd(d + dl, n);
    char *r = __real_strcat(d, s);
    cc_wr(d + dl, n);
    return r;
}

CC_DECL(char *, strncat, (char *restrict d, const char *restrict s, size_t k))
{
    if (!cc_on())
        return __real_strncat(d, s, k);
    cc_rd_str(d, SIZE_MAX);
    cc_rd_str(s, k);
    size_t dl = __real_strlen(d), n = __real_strnlen(s, k) + 1;
    cc_rd(d + dl, n);
    char *r = __real_strncat(d, s, k);
    cc_wr(d + dl, n);
    return r;
}

/* strlcpy writes min(strlen(s), n-1) bytes and a NUL; it reads all of s. */
CC_DECL(size_t, strlcpy, (char *d, const char *s, size_t n))
{
    if (!cc_on())
        return __real_strlcpy(d, s, n);
    cc_rd_str(s, SIZE_MAX);
    cc_rd(d, n);
    size_t r = __real_strlcpy(d, s, n);
    if (n)
        cc_wr(d, r < n ? r + 1 : n);
    return r;
}

CC_DECL(size_t, strlcat, (char *d, const char *s, size_t n))
{
    if (!cc_on())
        return __real_strlcat(d, s, n);
    cc_rd_str(d, n);
    cc_rd_str(s, SIZE_MAX);
    cc_rd(d, n);
    size_t r = __real_strlcat(d, s, n);
    cc_wr(d, n);
    return r;
}

CC_DECL(size_t, strxfrm, (char *restrict d, const char *restrict s, size_t n))
{
    if (!cc_on())
        return __real_strxfrm(d, s, n);
    cc_rd_str(s, SIZE_MAX);
    cc_rd(d, n);
    size_t r = __real_strxfrm(d, s, n);
    cc_wr(d, n);
    return r;
}

/* New strings: the copy is malloc'd and written by musl's own code. */
CC_DECL(char *, strdup, (const char *s))
{
    if (!cc_on())
        return __real_strdup(s);
    cc_rd_str(s, SIZE_MAX);
    char *r = __real_strdup(s);
    if (r)
        cc_wr(r, __real_strlen(r) + 1);
    return r;
}

CC_DECL(char *, strndup, (const char *s, size_t n))
{
    if (!cc_on())
        return __real_strndup(s, n);
    cc_rd_str(s, n);
    char *r = __real_strndup(s, n);
    if (r)
        cc_wr(r, __real_strlen(r) + 1);
    return r;
}

/* ---- tokenizers: they write NULs into the string ---- */

CC_DECL(char *, strtok_r, (char *restrict s, const char *restrict sep, char **restrict save))
{
    if (!cc_on())
        return __real_strtok_r(s, sep, save);
    cc_rd(save, sizeof *save);
    cc_rd_str(sep, SIZE_MAX);
    cc_rd_str(s ? s : *save, SIZE_MAX);
    char *r = __real_strtok_r(s, sep, save);
    if (r)
        cc_wr(r + __real_strlen(r), 1);
    cc_wr(save, sizeof *save);
    return r;
}

/* musl's strtok keeps its position in a static of its own object, which a
 * wrapper cannot see: this one keeps it here instead, always (on or off). */
CC_DECL(char *, strtok, (char *restrict s, const char *restrict sep))
{
    static char *pos;
    return __wrap_strtok_r(s, sep, &pos);
}

CC_DECL(char *, strsep, (char **sp, const char *sep))
{
    if (!cc_on())
        return __real_strsep(sp, sep);
    cc_rd(sp, sizeof *sp);
    cc_rd_str(sep, SIZE_MAX);
    cc_rd_str(*sp, SIZE_MAX);
    char *r = __real_strsep(sp, sep);
    if (*sp)
        cc_wr(*sp - 1, 1);
    cc_wr(sp, sizeof *sp);
    return r;
}

CC_DECL(int, strerror_r, (int e, char *buf, size_t n))
{
    if (!cc_on())
        return __real_strerror_r(e, buf, n);
    cc_rd(buf, n);
    int r = __real_strerror_r(e, buf, n);
    cc_wr(buf, n);
    return r;
}

/* ---- readers: only the access tracker cares ---- */

#define WRAP_RD_S(ret, name)                                \
    CC_DECL(ret, name, (const char *s))                     \
    {                                                       \
        if (cc_on())                                        \
            cc_rd_str(s, SIZE_MAX);                         \
        return __real_##name(s);                            \
    }
WRAP_RD_S(size_t, strlen)

#define WRAP_RD_SN(ret, name)                               \
    CC_DECL(ret, name, (const char *s, size_t n))           \
    {                                                       \
        if (cc_on())                                        \
            cc_rd_str(s, n);                                \
        return __real_##name(s, n);                         \
    }
WRAP_RD_SN(size_t, strnlen)

#define WRAP_RD_SS(ret, name, A, B)                         \
    CC_DECL(ret, name, (A a, B b))                          \
    {                                                       \
        if (cc_on()) {                                      \
            cc_rd_str(a, SIZE_MAX);                         \
            cc_rd_str(b, SIZE_MAX);                         \
        }                                                   \
        return __real_##name(a, b);                         \
    }
WRAP_RD_SS(int, strcmp, const char *, const char *)
WRAP_RD_SS(int, strcasecmp, const char *, const char *)
WRAP_RD_SS(int, strcoll, const char *, const char *)
WRAP_RD_SS(size_t, strspn, const char *, const char *)
WRAP_RD_SS(size_t, strcspn, const char *, const char *)
WRAP_RD_SS(char *, strpbrk, const char *, const char *)
WRAP_RD_SS(char *, strstr, const char *, const char *)
WRAP_RD_SS(char *, strcasestr, const char *, const char *)

#define WRAP_RD_SSN(name)                                   \
    CC_DECL(int, name, (const char *a, const char *b, size_t n)) \
    {                                                       \
        if (cc_on()) {                                      \
            cc_rd_str(a, n);                                \
            cc_rd_str(b, n);                                \
        }                                                   \
        return __real_##name(a, b, n);                      \
    }
WRAP_RD_SSN(strncmp)
WRAP_RD_SSN(strncasecmp)

#define WRAP_RD_MMN(name)                                   \
    CC_DECL(int, name, (const void *a, const void *b, size_t n)) \
    {                                                       \
        if (cc_on()) {                                      \
            cc_rd(a, n);                                    \
            cc_rd(b, n);                                    \
        }                                                   \
        return __real_##name(a, b, n);                      \
    }
WRAP_RD_MMN(memcmp)
WRAP_RD_MMN(bcmp)

#define WRAP_RD_MCN(name)                                   \
    CC_DECL(void *, name, (const void *s, int c, size_t n)) \
    {                                                       \
        if (cc_on())                                        \
            cc_rd(s, n);                                    \
        return __real_##name(s, c, n);                      \
    }
WRAP_RD_MCN(memrchr)

#define WRAP_RD_SC(name)                                    \
    CC_DECL(char *, name, (const char *s, int c))           \
    {                                                       \
        if (cc_on())                                        \
            cc_rd_str(s, SIZE_MAX);                         \
        return __real_##name(s, c);                         \
    }
WRAP_RD_SC(strchr)
WRAP_RD_SC(strrchr)
WRAP_RD_SC(strchrnul)
WRAP_RD_SC(index)
WRAP_RD_SC(rindex)

CC_DECL(void *, memmem, (const void *h, size_t hl, const void *n, size_t nl))
{
    if (cc_on()) {
        cc_rd(h, hl);
        cc_rd(n, nl);
    }
    return __real_memmem(h, hl, n, nl);
}
