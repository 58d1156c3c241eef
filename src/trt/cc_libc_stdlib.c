/* stdlib.h for the compiler tracker (cc_libc.h): number parsing (the
 * string, and *endptr), sorting, the environment, multibyte conversions. */
#include "cc_libc.h"
#include <limits.h>
#include <stdlib.h>
#include <wchar.h>

/* The string is read up to where the number ends; making all of it
 * present is simpler and never less. */
#define WRAP_STRTO(R, name)                                 \
    CC_DECL(R, name, (const char *restrict s, char **restrict end, int base)) \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(s, end, base);             \
        cc_rd_str(s, SIZE_MAX);                             \
        if (end)                                            \
            cc_rd(end, sizeof *end);                        \
        R r = __real_##name(s, end, base);                  \
        if (end)                                            \
            cc_wr(end, sizeof *end);                        \
        return r;                                           \
    }
WRAP_STRTO(long, strtol)
WRAP_STRTO(unsigned long, strtoul)
WRAP_STRTO(long long, strtoll)
WRAP_STRTO(unsigned long long, strtoull)
WRAP_STRTO(intmax_t, strtoimax)
WRAP_STRTO(uintmax_t, strtoumax)

#define WRAP_STRTOF(R, name)                                \
    CC_DECL(R, name, (const char *restrict s, char **restrict end)) \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(s, end);                   \
        cc_rd_str(s, SIZE_MAX);                             \
        if (end)                                            \
            cc_rd(end, sizeof *end);                        \
        R r = __real_##name(s, end);                        \
        if (end)                                            \
            cc_wr(end, sizeof *end);                        \
        return r;                                           \
    }
WRAP_STRTOF(float, strtof)
WRAP_STRTOF(double, strtod)
WRAP_STRTOF(long double, strtold)

#define WRAP_ATO(R, name)                                   \
    CC_DECL(R, name, (const char *s))                       \
    {                                                       \
        if (cc_on())                                        \
            cc_rd_str(s, SIZE_MAX);                         \
        return __real_##name(s);                            \
    }
WRAP_ATO(int, atoi)
WRAP_ATO(long, atol)
WRAP_ATO(long long, atoll)
WRAP_ATO(double, atof)

/* The whole array: musl's sort swaps elements with its own code. */
CC_DECL(void, qsort, (void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *)))
{
    int on = cc_on();
    if (on)
        cc_rd(base, cc_prod(n, sz));
    __real_qsort(base, n, sz, cmp);
    if (on)
        cc_wr(base, cc_prod(n, sz));
}

CC_DECL(void, qsort_r, (void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *, void *), void *arg))
{
    int on = cc_on();
    if (on)
        cc_rd(base, cc_prod(n, sz));
    __real_qsort_r(base, n, sz, cmp, arg);
    if (on)
        cc_wr(base, cc_prod(n, sz));
}

/* The comparator (app code) reads the elements; bsearch reads the key
 * only through it. Wrapped for the array's presence all the same. */
CC_DECL(void *, bsearch, (const void *key, const void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *)))
{
    if (cc_on())
        cc_rd(base, cc_prod(n, sz));
    return __real_bsearch(key, base, n, sz, cmp);
}

/* setenv/putenv move environ into the heap. */
CC_DECL(char *, getenv, (const char *name))
{
    if (cc_on()) {
        extern char **__environ;
        cc_rd_str(name, SIZE_MAX);
        for (char **e = __environ; e; e++) {
            cc_rd(e, sizeof *e);
            if (!*e)
                break;
            cc_rd_str(*e, SIZE_MAX);
        }
    }
    return __real_getenv(name);
}

CC_DECL(char *, realpath, (const char *restrict path, char *restrict out))
{
    if (!cc_on())
        return __real_realpath(path, out);
    cc_rd_str(path, SIZE_MAX);
    if (out)
        cc_rd(out, PATH_MAX);
    char *r = __real_realpath(path, out);
    if (out)
        cc_wr(out, PATH_MAX);
    else if (r)
        cc_wr(r, __real_strlen(r) + 1);
    return r;
}

CC_DECL(int, posix_memalign, (void **res, size_t align, size_t n))
{
    int on = cc_on();
    if (on)
        cc_rd(res, sizeof *res);
    int r = __real_posix_memalign(res, align, n);
    if (on)
        cc_wr(res, sizeof *res);
    return r;
}

CC_DECL(int, rand_r, (unsigned *seed))
{
    int on = cc_on();
    if (on)
        cc_rd(seed, sizeof *seed);
    int r = __real_rand_r(seed);
    if (on)
        cc_wr(seed, sizeof *seed);
    return r;
}

CC_DECL(size_t, mbstowcs, (wchar_t *restrict d, const char *restrict s, size_t n))
{
    if (!cc_on())
        return __real_mbstowcs(d, s, n);
    cc_rd_str(s, SIZE_MAX);
    if (d)
        cc_rd(d, cc_prod(n, sizeof *d));
    size_t r = __real_mbstowcs(d, s, n);
    if (d)
        cc_wr(d, cc_prod(n, sizeof *d));
    return r;
}

CC_DECL(size_t, wcstombs, (char *restrict d, const wchar_t *restrict s, size_t n))
{
    if (!cc_on())
        return __real_wcstombs(d, s, n);
    cc_rd_wcs(s, SIZE_MAX / sizeof(wchar_t));
    if (d)
        cc_rd(d, n);
    size_t r = __real_wcstombs(d, s, n);
    if (d)
        cc_wr(d, n);
    return r;
}

CC_DECL(int, mbtowc, (wchar_t *restrict w, const char *restrict s, size_t n))
{
    int on = cc_on();
    if (on && s) {
        cc_rd(s, n < 4 ? n : 4);
        if (w)
            cc_rd(w, sizeof *w);
    }
    int r = __real_mbtowc(w, s, n);
    if (on && s && w)
        cc_wr(w, sizeof *w);
    return r;
}

CC_DECL(int, wctomb, (char *s, wchar_t c))
{
    int on = cc_on() && s;
    if (on)
        cc_rd(s, 4); /* MB_LEN_MAX in UTF-8 */
    int r = __real_wctomb(s, c);
    if (on)
        cc_wr(s, 4);
    return r;
}

CC_DECL(int, mblen, (const char *s, size_t n))
{
    if (cc_on() && s)
        cc_rd(s, n < 4 ? n : 4);
    return __real_mblen(s, n);
}
