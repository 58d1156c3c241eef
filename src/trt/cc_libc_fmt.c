/* printf and scanf formats, for the stdio wrappers: which arguments are
 * pointers into app memory, how they are used (read as a string, written as
 * an N-byte object) and how far. Follows musl's grammar: flags, width and
 * precision (with '*' and 'n$'), length modifiers, positional arguments. */
#include "cc_libc_fmt.h"
#include <wchar.h>

enum { T_NONE, T_INT, T_LONG, T_PTR, T_DBL, T_LDBL };
#define MAX_ARGS 128

union argval {
    long i;
    void *p;
    long double ld;
};

struct conv {
    int pos, prec_pos, width_pos; /* argument numbers, 1-based; 0 none */
    long width, prec;             /* -1: none */
    char kind;                    /* conversion character */
    char len;                     /* 'H' hh, 'h', 'l', 'q' ll, 'L', 'j', 'z', 't', 0 */
    char alloc, skip;             /* scanf: 'm' flag, '*' suppression */
};

static int digit(char c) { return c >= '0' && c <= '9'; }

static long number(const char **p)
{
    long v = 0;
    while (digit(**p)) {
        if (v < 100000000)
            v = v * 10 + (**p - '0');
        (*p)++;
    }
    return v;
}

/* "n$" at p: returns n and advances, else 0. */
static int argpos(const char **p)
{
    const char *q = *p;
    if (!digit(*q))
        return 0;
    long n = number(&q);
    if (*q != '$' || n < 1 || n > MAX_ARGS)
        return 0;
    *p = q + 1;
    return (int)n;
}

static void length(const char **p, struct conv *c)
{
    switch (**p) {
    case 'h':
        c->len = (*p)[1] == 'h' ? 'H' : 'h';
        *p += c->len == 'H' ? 2 : 1;
        break;
    case 'l':
        c->len = (*p)[1] == 'l' ? 'q' : 'l';
        *p += c->len == 'q' ? 2 : 1;
        break;
    case 'L': case 'j': case 'z': case 't': case 'q':
        c->len = **p;
        (*p)++;
        break;
    default:
        c->len = 0;
    }
}

static int int_type(char len) { return len == 0 || len == 'h' || len == 'H' ? T_INT : T_LONG; }

/* Type of the argument of conversion c, for fetching it from a va_list. */
static int arg_type(const struct conv *c, int scanf)
{
    if (scanf)
        return c->skip ? T_NONE : T_PTR;
    switch (c->kind) {
    case 'd': case 'i': case 'o': case 'u': case 'x': case 'X':
        return int_type(c->len);
    case 'c': case 'C':
        return T_INT;
    case 'e': case 'f': case 'g': case 'a': case 'E': case 'F': case 'G': case 'A':
        return c->len == 'L' ? T_LDBL : T_DBL;
    case 's': case 'S': case 'p': case 'n':
        return T_PTR;
    default:
        return T_NONE;
    }
}

/* Parses fmt into convs (at most max); returns the count. Each argument
 * gets a position: explicit (n$), or the next one in order. *mixed: both
 * kinds were used (printf refuses such a format). */
static int parse(const char *fmt, struct conv *cv, int max, int scanf, int *mixed)
{
    int n = 0, next = 1, explicit = 0;
    for (const char *p = fmt; *p && n < max;) {
        if (*p++ != '%')
            continue;
        if (*p == '%') {
            p++;
            continue;
        }
        struct conv c = { 0, 0, 0, -1, -1, 0, 0, 0, 0 };
        int pos = argpos(&p);
        if (scanf) {
            if (*p == '*') {
                c.skip = 1;
                p++;
            }
            if (digit(*p))
                c.width = number(&p);
            if (*p == 'm') {
                c.alloc = 1;
                p++;
            }
        } else {
            while (*p && (*p == '-' || *p == '+' || *p == ' ' || *p == '#' || *p == '0' || *p == '\''))
                p++;
            if (*p == '*') {
                p++;
                int w = argpos(&p);
                c.width_pos = w ? w : next++;
            } else if (digit(*p)) {
                c.width = number(&p);
            }
            if (*p == '.') {
                p++;
                if (*p == '*') {
                    p++;
                    int w = argpos(&p);
                    c.prec_pos = w ? w : next++;
                } else {
                    c.prec = number(&p);
                }
            }
        }
        length(&p, &c);
        if (!*p)
            break;
        c.kind = *p++;
        if (c.kind == '[') {
            if (*p == '^')
                p++;
            if (*p == ']')
                p++;
            while (*p && *p != ']')
                p++;
            if (*p)
                p++;
        }
        if (arg_type(&c, scanf) != T_NONE)
            c.pos = pos ? pos : next++;
        explicit |= pos || c.width_pos > 0 || c.prec_pos > 0;
        if (c.pos > MAX_ARGS || c.width_pos > MAX_ARGS || c.prec_pos > MAX_ARGS)
            break;
        cv[n++] = c;
    }
    *mixed = explicit && next > 1;
    return n;
}

static int set_type(unsigned char *type, int pos, int t, int *top)
{
    if (type[pos] && type[pos] != t)
        return -1;
    type[pos] = (unsigned char)t;
    *top = pos > *top ? pos : *top;
    return 0;
}

/* Fetches every argument the conversions use, in position order. -1 if
 * one position is used with two types (libc's behaviour is then its own:
 * nothing is fetched, nothing dereferenced). */
static int fetch(const struct conv *cv, int n, int scanf, va_list ap, union argval *v)
{
    unsigned char type[MAX_ARGS + 1] = { 0 };
    int top = 0;
    for (int i = 0; i < n; i++)
        if ((cv[i].pos && set_type(type, cv[i].pos, arg_type(&cv[i], scanf), &top)) ||
            (cv[i].width_pos && set_type(type, cv[i].width_pos, T_INT, &top)) ||
            (cv[i].prec_pos && set_type(type, cv[i].prec_pos, T_INT, &top)))
            return -1;
    va_list aq;
    va_copy(aq, ap);
    for (int k = 1; k <= top; k++) {
        switch (type[k]) {
        case T_INT: v[k].i = va_arg(aq, int); break;
        case T_LONG: v[k].i = va_arg(aq, long); break;
        case T_PTR: v[k].p = va_arg(aq, void *); break;
        case T_DBL: (void)va_arg(aq, double); break;
        case T_LDBL: (void)va_arg(aq, long double); break;
        default: k = top; break; /* a gap: musl refuses the format */
        }
    }
    va_end(aq);
    return 0;
}

static size_t int_size(char len)
{
    return len == 'H' ? 1 : len == 'h' ? 2 : len == 0 ? 4 : 8;
}

void cc_printf_args(const char *fmt, va_list ap, int post)
{
    struct conv cv[MAX_ARGS];
    union argval v[MAX_ARGS + 1];
    int mixed, n = parse(fmt, cv, MAX_ARGS, 0, &mixed);
    if (mixed || fetch(cv, n, 0, ap, v))
        return; /* musl refuses the format, touching no argument */
    for (int i = 0; i < n; i++) {
        const struct conv *c = &cv[i];
        long prec = c->prec_pos ? v[c->prec_pos].i : c->prec;
        size_t max = prec < 0 ? SIZE_MAX : (size_t)prec;
        void *p = c->pos ? v[c->pos].p : NULL;
        if (!p)
            continue;
        if (c->kind == 'n' && post)
            cc_wr(p, int_size(c->len));
        else if (c->kind == 'n')
            cc_rd(p, int_size(c->len));
        else if (post)
            continue;
        else if (c->kind == 's' && c->len != 'l')
            cc_rd_str(p, max);
        else if (c->kind == 'S' || (c->kind == 's' && c->len == 'l'))
            cc_rd_wcs(p, max / sizeof(wchar_t) + 1);
    }
}

/* Bytes a scanf conversion may store through its pointer (not 'm'). */
static size_t scan_size(const struct conv *c)
{
    int wide = c->len == 'l';
    switch (c->kind) {
    case 'd': case 'i': case 'o': case 'u': case 'x': case 'X': case 'n':
        return int_size(c->len);
    case 'e': case 'f': case 'g': case 'a': case 'E': case 'F': case 'G': case 'A':
        return c->len == 'L' ? sizeof(long double) : c->len == 'l' ? sizeof(double) : sizeof(float);
    case 'p':
        return sizeof(void *);
    case 'c': case 'C':
        return (size_t)(c->width < 0 ? 1 : c->width) * (wide || c->kind == 'C' ? sizeof(wchar_t) : 1);
    case 's': case 'S': case '[':
        return c->width < 0 ? CC_SCAN_STR_MAX
                            : (size_t)(c->width + 1) * (wide || c->kind == 'S' ? sizeof(wchar_t) : 1);
    default:
        return 0;
    }
}

static int is_str(char k) { return k == 's' || k == 'S' || k == '['; }

void cc_scanf_args(const char *fmt, va_list ap, int post, int assigned)
{
    struct conv cv[MAX_ARGS];
    union argval v[MAX_ARGS + 1];
    int mixed, n = parse(fmt, cv, MAX_ARGS, 1, &mixed), k = 0;
    if (fetch(cv, n, 1, ap, v))
        return;
    for (int i = 0; i < n; i++) {
        const struct conv *c = &cv[i];
        if (c->skip || !c->pos || !v[c->pos].p)
            continue;
        void *p = v[c->pos].p;
        int done = c->kind != 'n' && k++ < assigned; /* stored, in order */
        if (c->alloc) {
            /* The pointer, and a buffer malloc'd and filled by musl. */
            if (!post) {
                cc_rd(p, sizeof(void *));
            } else if (done) {
                cc_wr(p, sizeof(void *));
                char *b = *(char **)p;
                int wide = c->len == 'l' || c->kind == 'S' || c->kind == 'C';
                size_t sz = c->kind == 'c' || c->kind == 'C' ? scan_size(c)
                            : wide ? (cc_wcsnlen((wchar_t *)b, SIZE_MAX / 4) + 1) * sizeof(wchar_t)
                                   : __real_strlen(b) + 1;
                cc_wr(b, sz);
            }
            continue;
        }
        size_t sz = scan_size(c);
        if (!post) {
            cc_rd(p, sz);
        } else if (is_str(c->kind) && c->len != 'l' && c->kind != 'S') {
            cc_wr(p, __real_strnlen(p, sz - 1) + 1);
        } else if (is_str(c->kind)) {
            cc_wr(p, (cc_wcsnlen(p, sz / sizeof(wchar_t) - 1) + 1) * sizeof(wchar_t));
        } else {
            cc_wr(p, sz);
        }
    }
}
