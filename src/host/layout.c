/* Where everything lives inside the enclave range. Both migration ends call
 * this with the same inputs, so no pointer inside the enclave needs fixing. */
#include "layout.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define MIB (1ull << 20)
#define GUARD (1ull * MIB)
/* Highest usable user address we allow a range to reach on x86-64 (47-bit). */
#define USER_TOP 0x7f0000000000ull

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }

int om_layout_compute(uint64_t base, uint64_t image_span, uint64_t heap_size,
                      uint32_t max_threads, struct om_layout *l, char *err, size_t errlen)
{
    if (base == 0 || base % OM_RANGE_ALIGN) {
        snprintf(err, errlen, "enclave base %#llx is not a non-zero multiple of 4 GiB",
                 (unsigned long long)base);
        return -1;
    }
    if (max_threads == 0 || max_threads > OM_MAX_THREADS) {
        snprintf(err, errlen, "thread slots must be 1..%u", OM_MAX_THREADS);
        return -1;
    }
    if (heap_size < OM_PAGE_SIZE || heap_size > (1ull << 40)) {
        snprintf(err, errlen, "heap size must be between 4 KiB and 1 TiB");
        return -1;
    }
    if (image_span == 0 || image_span > (1ull << 32)) {
        snprintf(err, errlen, "image span %#llx is larger than the 4 GiB image limit",
                 (unsigned long long)image_span);
        return -1;
    }
    l->base = base;
    l->image_lo = base;
    l->image_hi = base + align_up(image_span, OM_PAGE_SIZE);
    l->stack_lo = align_up(l->image_hi + GUARD, 2 * MIB);
    l->stack_hi = l->stack_lo + OM_MAIN_STACK_SIZE;
    l->heap_lo = align_up(l->stack_hi + GUARD, 2 * MIB);
    l->heap_hi = l->heap_lo + align_up(heap_size, OM_PAGE_SIZE);
    l->mmap_lo = align_up(l->heap_hi + GUARD, 2 * MIB);
    l->mmap_hi = l->mmap_lo + OM_MMAP_AREA_SIZE;
    l->size = align_up(l->mmap_hi + GUARD - base, OM_RANGE_ALIGN);
    l->max_threads = max_threads;
    l->pad = 0;
    if (base > USER_TOP || l->size > USER_TOP - base) {
        snprintf(err, errlen, "enclave range %#llx+%#llx does not fit in user space",
                 (unsigned long long)base, (unsigned long long)l->size);
        return -1;
    }
    return 0;
}

int om_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (*end == 'i' && shift)
        end++;
    if ((*end == 'B' || *end == 'b') && end[1] == '\0')
        end++;
    if (*end != '\0' || (shift && v > (~0ull >> shift)))
        return -1;
    *out = v << shift;
    return 0;
}
