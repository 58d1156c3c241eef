/* time.h and sys/time.h for the compiler tracker (cc_libc.h): musl fills
 * these structs with its own stores (the system call, if any, writes a
 * copy on its stack). */
#include "cc_libc.h"
#include <sys/time.h>
#include <time.h>

CC_DECL(time_t, time, (time_t * t))
{
    int on = cc_on() && t;
    if (on)
        cc_rd(t, sizeof *t);
    time_t r = __real_time(t);
    if (on)
        cc_wr(t, sizeof *t);
    return r;
}

CC_DECL(int, gettimeofday, (struct timeval *restrict tv, void *restrict tz))
{
    int on = cc_on() && tv;
    if (on)
        cc_rd(tv, sizeof *tv);
    int r = __real_gettimeofday(tv, tz);
    if (on)
        cc_wr(tv, sizeof *tv);
    return r;
}

/* struct tm *name(const time_t *t, struct tm *tm) */
#define WRAP_TM_R(name)                                     \
    CC_DECL(struct tm *, name, (const time_t *restrict t, struct tm *restrict tm)) \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(t, tm);                    \
        cc_rd(t, sizeof *t);                                \
        cc_rd(tm, sizeof *tm);                              \
        struct tm *r = __real_##name(t, tm);                \
        cc_wr(tm, sizeof *tm);                              \
        return r;                                           \
    }
WRAP_TM_R(localtime_r)
WRAP_TM_R(gmtime_r)

/* Results in libc's static data (image data, not tracked). */
#define WRAP_TM(name, R)                                    \
    CC_DECL(R, name, (const time_t *t))                     \
    {                                                       \
        if (cc_on())                                        \
            cc_rd(t, sizeof *t);                            \
        return __real_##name(t);                            \
    }
WRAP_TM(localtime, struct tm *)
WRAP_TM(gmtime, struct tm *)
WRAP_TM(ctime, char *)

/* Normalises the struct in place. */
#define WRAP_MKTIME(name)                                   \
    CC_DECL(time_t, name, (struct tm * tm))                 \
    {                                                       \
        if (!cc_on())                                       \
            return __real_##name(tm);                       \
        cc_rd(tm, sizeof *tm);                              \
        time_t r = __real_##name(tm);                       \
        cc_wr(tm, sizeof *tm);                              \
        return r;                                           \
    }
WRAP_MKTIME(mktime)
WRAP_MKTIME(timegm)

CC_DECL(char *, asctime, (const struct tm *tm))
{
    if (cc_on())
        cc_rd(tm, sizeof *tm);
    return __real_asctime(tm);
}

/* Both write at most 26 bytes (C's fixed format). */
#define CC_ASCTIME_MAX 26
CC_DECL(char *, asctime_r, (const struct tm *restrict tm, char *restrict buf))
{
    if (!cc_on())
        return __real_asctime_r(tm, buf);
    cc_rd(tm, sizeof *tm);
    cc_rd(buf, CC_ASCTIME_MAX);
    char *r = __real_asctime_r(tm, buf);
    cc_wr(buf, CC_ASCTIME_MAX);
    return r;
}

CC_DECL(char *, ctime_r, (const time_t *t, char *buf))
{
    if (!cc_on())
        return __real_ctime_r(t, buf);
    cc_rd(t, sizeof *t);
    cc_rd(buf, CC_ASCTIME_MAX);
    char *r = __real_ctime_r(t, buf);
    cc_wr(buf, CC_ASCTIME_MAX);
    return r;
}

CC_DECL(size_t, strftime, (char *restrict s, size_t n, const char *restrict fmt, const struct tm *restrict tm))
{
    if (!cc_on())
        return __real_strftime(s, n, fmt, tm);
    cc_rd_str(fmt, SIZE_MAX);
    cc_rd(tm, sizeof *tm);
    cc_rd(s, n);
    size_t r = __real_strftime(s, n, fmt, tm);
    cc_wr(s, r ? r + 1 : n); /* 0: the contents are unspecified */
    return r;
}
