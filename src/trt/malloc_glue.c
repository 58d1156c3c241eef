/* The C library's allocator inside an enclave image is om_heap.
 *
 * Defines musl's whole malloc surface, including the internal __libc_*
 * entry points its own objects call, so that the link never pulls musl's
 * mallocng (or lite_malloc) objects out of libc.a: those would brk/mmap
 * behind the heap's back, outside the migrated heap region.
 *
 * The heap is created on first use from om_trt_layout, which the trusted
 * runtime fills in (heap_lo/heap_hi) before main runs. Enclave-only: not
 * part of the native unit test. */
#include <errno.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <optmig/abi.h>

#include "heap.h"
#include "track.h"

extern struct om_layout om_trt_layout;

/* Not declared by musl's public headers. */
void *pvalloc(size_t n);
void *__libc_malloc(size_t n);
void *__libc_malloc_impl(size_t n);
void __libc_free(void *p);
void *__libc_calloc(size_t m, size_t n);
void *__libc_realloc(void *p, size_t n);
void __malloc_donate(char *start, char *end);

enum { GLUE_NONE, GLUE_BUSY, GLUE_READY, GLUE_FAILED };
static int g_glue_state;

static __attribute__((noinline)) int glue_init(void)
{
    int s = GLUE_NONE;
    if (__atomic_compare_exchange_n(&g_glue_state, &s, GLUE_BUSY, 0, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE)) {
        uint64_t lo = om_trt_layout.heap_lo, hi = om_track_heap_end();
        int ok = hi > lo && om_heap_init((void *)(uintptr_t)lo, (size_t)(hi - lo)) == 0;
        __atomic_store_n(&g_glue_state, ok ? GLUE_READY : GLUE_FAILED, __ATOMIC_RELEASE);
        return ok;
    }
    while (s == GLUE_BUSY) {
        __builtin_ia32_pause();
        s = __atomic_load_n(&g_glue_state, __ATOMIC_ACQUIRE);
    }
    return s == GLUE_READY;
}

static inline int heap_ready(void)
{
    return __atomic_load_n(&g_glue_state, __ATOMIC_ACQUIRE) == GLUE_READY || glue_init();
}

static inline void *nomem(void *p)
{
    if (!p)
        errno = ENOMEM;
    return p;
}

void *malloc(size_t n)
{
    if (!heap_ready())
        return nomem(NULL);
    return nomem(om_heap_alloc(n));
}

void free(void *p)
{
    if (!p)
        return;
    heap_ready(); /* a pointer while there is no heap: om_heap_free reports it */
    om_heap_free(p);
}

void *calloc(size_t m, size_t n)
{
    if (!heap_ready())
        return nomem(NULL);
    return nomem(om_heap_calloc(m, n));
}

void *realloc(void *p, size_t n)
{
    if (!heap_ready())
        return nomem(NULL);
    return nomem(om_heap_realloc(p, n));
}

static int bad_align(size_t align) { return align == 0 || (align & (align - 1)) != 0; }

void *aligned_alloc(size_t align, size_t n)
{
    if (bad_align(align)) {
        errno = EINVAL;
        return NULL;
    }
    if (!heap_ready())
        return nomem(NULL);
    return nomem(om_heap_memalign(align, n));
}

int posix_memalign(void **res, size_t align, size_t n)
{
    if (align < sizeof(void *) || bad_align(align))
        return EINVAL;
    void *p = heap_ready() ? om_heap_memalign(align, n) : NULL;
    if (!p)
        return ENOMEM;
    *res = p;
    return 0;
}

void *memalign(size_t align, size_t n) { return aligned_alloc(align, n); }

void *valloc(size_t n) { return aligned_alloc(OM_HEAP_PAGE, n); }

void *pvalloc(size_t n)
{
    size_t r = (n + OM_HEAP_PAGE - 1) & ~(size_t)(OM_HEAP_PAGE - 1);
    if (r < n) {
        errno = ENOMEM;
        return NULL;
    }
    return aligned_alloc(OM_HEAP_PAGE, r ? r : OM_HEAP_PAGE);
}

size_t malloc_usable_size(void *p) { return p ? om_heap_usable_size(p) : 0; }

/* musl-internal names (called by musl's own objects, e.g. locale, atexit). */
void *__libc_malloc(size_t n) { return malloc(n); }
void *__libc_malloc_impl(size_t n) { return malloc(n); }
void __libc_free(void *p) { free(p); }
void *__libc_calloc(size_t m, size_t n) { return calloc(m, n); }
void *__libc_realloc(void *p, size_t n) { return realloc(p, n); }

/* The dynamic linker donates unused memory to malloc; nothing to take here. */
void __malloc_donate(char *start, char *end)
{
    (void)start;
    (void)end;
}
