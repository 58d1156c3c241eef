/* om_heap: the trusted runtime's heap allocator.
 *
 * The heap manages one region inside the enclave range. All of its metadata
 * lives inside that region (carved from the start) and is written lazily, so
 * the set of pages the heap ever wrote or handed out is exactly the set
 * recorded in the used-page bitmap: migration sends only those pages, and a
 * page whose bit is clear is known to still be zero.
 *
 * Compiled twice: natively (glibc) for unit tests and benchmarks, and with
 * musl headers into the trusted runtime. */
#ifndef OPTMIG_TRT_HEAP_H
#define OPTMIG_TRT_HEAP_H

#include <stddef.h>
#include <stdint.h>

#define OM_HEAP_PAGE 4096u
/* Largest request served from a small size class; larger ones are
 * page-granular spans. */
#define OM_HEAP_SMALL_MAX 16384u

/* [lo, lo+size) is mapped RW, zero-filled, page aligned, committed lazily.
 * Returns 0, or -1 for bad arguments (unaligned, too small, too large).
 * Calling it again replaces the heap (only when no block of the old heap is
 * in use anywhere; used by tests). */
int om_heap_init(void *lo, size_t size);

/* All blocks are 16-byte aligned; om_heap_alloc(0) returns a unique block.
 * Failures return NULL (the caller sets errno). */
void *om_heap_alloc(size_t n);
/* Overflow-checked. Zeroes only pages that were handed out before: the rest
 * are still zero from the OS and stay untouched (uncommitted). */
void *om_heap_calloc(size_t nmemb, size_t n);
/* realloc(p, 0) keeps a minimum-size block, as musl does. Large blocks grow
 * and shrink in place when the neighbouring pages allow. */
void *om_heap_realloc(void *p, size_t n);
/* align: any power of two (values below 16 are treated as 16). */
void *om_heap_memalign(size_t align, size_t n);
void om_heap_free(void *p);
size_t om_heap_usable_size(const void *p);

/* Bit i set = page i of the region was ever handed out as part of a block,
 * or holds allocator metadata. Bits are only ever set, never cleared. */
const uint64_t *om_heap_used_bitmap(size_t *npages);
size_t om_heap_pages_ever_used(void);

struct om_heap_stats {
    size_t bytes_in_use;    /* usable bytes of live blocks (class size / pages) */
    size_t pages_ever_used; /* popcount of the used bitmap */
    size_t region_pages;
};
void om_heap_get_stats(struct om_heap_stats *st);

/* Called on a detected double free, invalid pointer or corrupted metadata.
 * Defined weak in heap.c (calls abort()); the trusted runtime may override it.
 * If an override returns, the offending operation is abandoned (the block is
 * leaked, NULL is returned). */
void om_heap_corrupt(const char *why);

#endif
