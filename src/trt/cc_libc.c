/* Helpers shared by the libc wrappers (cc_libc.h): wide strings and musl's
 * FILE objects. */
#include "cc_libc.h"

size_t cc_wcsnlen(const wchar_t *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

void cc_rd_wcs(const wchar_t *s, size_t max)
{
    while (s && max) {
        size_t room = (OM_PAGE_SIZE - (uintptr_t)s % OM_PAGE_SIZE) / sizeof(wchar_t);
        if (!room)
            room = 1;
        if (room > max)
            room = max;
        cc_rd(s, room * sizeof(wchar_t));
        for (size_t i = 0; i < room; i++)
            if (!s[i])
                return;
        s += room;
        max -= room;
    }
}

/* musl 1.2's struct _IO_FILE (src/internal/stdio_impl.h), up to the fields
 * used here; the size is the whole struct's. tests/cctrack checks the
 * buffer lies where fopen put it. */
struct musl_file {
    unsigned flags;
    unsigned char *rpos, *rend;
    void *close;
    unsigned char *wend, *wpos, *mustbezero_1, *wbase;
    void *read, *write, *seek;
    unsigned char *buf;
    size_t buf_size;
    FILE *prev, *next;
};
#define MUSL_FILE_SIZE 232
#define MUSL_UNGET 8

static void file_range(FILE *f, void (*fn)(const void *, size_t))
{
    if (!f)
        return;
    fn(f, MUSL_FILE_SIZE);
    struct musl_file *m = (struct musl_file *)f;
    if (m->buf && m->buf_size)
        fn(m->buf - MUSL_UNGET, m->buf_size + MUSL_UNGET);
}

void cc_file_pre(FILE *f)
{
    if (f) /* the struct first: the buffer's address is read from it */
        cc_rd(f, MUSL_FILE_SIZE);
    file_range(f, cc_rd);
}

void cc_file_post(FILE *f) { file_range(f, cc_wr); }

FILE *cc_file_next(FILE *f) { return f ? ((struct musl_file *)f)->next : NULL; }
FILE *cc_file_prev(FILE *f) { return f ? ((struct musl_file *)f)->prev : NULL; }
