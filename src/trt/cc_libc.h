/* Shared by the cc_libc*.c wrappers: what musl's libc.a (uninstrumented)
 * reads and writes in app memory, for the compiler tracker. omcc links every
 * image with -Wl,--wrap=F for each wrapped F (its list `wrapped_libc`), so
 * the app's calls *and* musl's calls between its own objects land in
 * __wrap_F. A wrapper makes present what the call reads or writes before it
 * (access checks: a restorer must not overwrite a write later), and marks
 * what it wrote after it (dirty tracking). Helpers below are no-ops for
 * memory outside the tracked heap. Inside a wrapper, libc is called through
 * __real_F: a plain call would come back to the wrapper. */
#ifndef OM_CC_LIBC_H
#define OM_CC_LIBC_H
#include "cc_rt.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Declares __real_F and __wrap_F with the same prototype. */
#define CC_DECL(ret, name, params) \
    ret __real_##name params;      \
    ret __wrap_##name params

/* Tracking on, and an app thread: the migration's own ECALL threads are the
 * tracker (the restorer writes absent pages by design). One load and a
 * branch while tracking is off. */
static inline int cc_on(void)
{
    if (__builtin_expect(!__om_track, 1))
        return 0;
    uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
    return sp - (uintptr_t)om_ecall_stacks >= sizeof(om_ecall_stacks);
}

/* Make [p, p+n) present (before a read or a write). */
static inline void cc_rd(const void *p, size_t n) { om_cc_need(NULL, p, n); }
/* Make a NUL-terminated string of at most max bytes present (NULL: none;
 * libc decides what a NULL string means). */
static inline void cc_rd_str(const char *s, size_t max)
{
    if (s)
        om_cc_need_str(NULL, s, max);
}
/* After a write of [p, p+n): mark it dirty. */
static inline void cc_wr(const void *p, size_t n) { om_cc_wrote(p, n); }
/* a*b saturated (a product past the range is clipped anyway). */
static inline size_t cc_prod(size_t a, size_t b) { return b && a > SIZE_MAX / b ? SIZE_MAX : a * b; }

size_t __real_strlen(const char *s);
size_t __real_strnlen(const char *s, size_t n);
/* Same as cc_rd_str for a wide string (page by page). */
void cc_rd_wcs(const wchar_t *s, size_t max);
/* Length of a wide string, bounded (no wrapper involved). */
size_t cc_wcsnlen(const wchar_t *s, size_t max);

/* A FILE and its buffer (a fopen'd FILE and its buffer live in the heap;
 * musl's stdio writes both in place): present before a stdio call, marked
 * after it. NULL is ignored. */
void cc_file_pre(FILE *f);
void cc_file_post(FILE *f);
/* The open-file list links FILEs to each other: fopen and fclose write the
 * neighbours' links. */
FILE *cc_file_next(FILE *f);
FILE *cc_file_prev(FILE *f);

/* Where an unbounded %s/%[ of a scanf from a stream may write: it cannot
 * be known before the call, so this much is made present. */
#define CC_SCAN_STR_MAX 65536
#endif
