/* Kernel tracker, enclave side (track.h): the host's userfaultfd service
 * (src/host/ktrack.c) reached through OM_OC_MIG. Everything the host answers
 * is bounded, read once and checked before use; bitmaps and page lists cross
 * in chunks through the OCALL scratch area.
 *
 * Registration holds only while the heap's mapping stays in place. Nothing
 * remaps it: vmem.c confines munmap, MAP_FIXED, mremap and MADV_DONTNEED to
 * the mmap area, brk fails and om_heap never returns pages. Were it remapped,
 * collect fails (PM_SCAN_CHECK_WPASYNC) and install fails: no silent miss. */
#include "track.h"
#include "trt.h"
#include <string.h>

#define KT_DATA 4096u                    /* chunk offset in the scratch: past the OCALL record */
#define KT_CHUNK_PAGES (1u << 18)        /* bitmap chunk: 32 KiB, 1 GiB of heap */
#define KT_WANT_MAX 4096u                /* page numbers per wanted() call: 32 KiB */
#define KT_SCRATCH (KT_DATA + KT_CHUNK_PAGES / 8)

_Static_assert(KT_CHUNK_PAGES % 64 == 0 && KT_WANT_MAX * 8 <= KT_CHUNK_PAGES / 8, "chunk sizes");

/* The scratch must be big enough and untrusted (never enclave memory). */
static volatile uint64_t *scratch(struct om_ssa *ssa)
{
    uint64_t b = ssa->ocall_buf, n = ssa->ocall_size, lo = om_trt_layout.base, hi = lo + om_trt_layout.size;
    if (n < KT_SCRATCH || b + n < b || b % 8 || (b < hi && b + n > lo))
        return 0;
    return (volatile uint64_t *)(ssa->ocall_buf + KT_DATA);
}

static int64_t kt_call(struct om_ssa *ssa, int64_t svc, int64_t a1, int64_t a2, int64_t a3, int64_t a4, int64_t a5)
{
    struct om_ocall *oc = om_oc_begin(ssa, OM_OC_MIG);
    oc->a[0] = svc;
    oc->a[1] = a1;
    oc->a[2] = a2;
    oc->a[3] = a3;
    oc->a[4] = a4;
    oc->a[5] = a5;
    return om_oc_call(ssa, oc);
}

static uint64_t region_len(void) { return om_track_pages() * OM_PAGE_SIZE; }

/* Bits of word w of an n-page bitmap that stand for pages. */
static uint64_t word_mask(uint64_t n, uint64_t w)
{
    return (w + 1) * 64 <= n ? ~0ull : (1ull << (n % 64)) - 1;
}

int om_kt_available(struct om_ssa *ssa)
{
    return om_track_pages() && scratch(ssa) && kt_call(ssa, OM_MIG_KT_PROBE, 0, 0, 0, 0, 0) == 0;
}

int om_kt_dirty_start(struct om_ssa *ssa)
{
    if (!om_track_pages() || !scratch(ssa))
        return OM_MIGERR_INTERNAL;
    return kt_call(ssa, OM_MIG_KT_DIRTY_START, (int64_t)om_track_lo(), (int64_t)region_len(), 0, 0, 0)
               ? OM_MIGERR_INTERNAL
               : 0;
}

int64_t om_kt_dirty_collect(struct om_ssa *ssa, uint64_t *bm)
{
    volatile uint64_t *buf = scratch(ssa);
    uint64_t total = om_track_pages(), added = 0;
    if (!buf || !total)
        return OM_MIGERR_INTERNAL;
    for (uint64_t first = 0; first < total; first += KT_CHUNK_PAGES) {
        uint64_t n = total - first < KT_CHUNK_PAGES ? total - first : KT_CHUNK_PAGES;
        int64_t r = kt_call(ssa, OM_MIG_KT_DIRTY_COLLECT, (int64_t)first, (int64_t)n, (int64_t)buf, 0, 0);
        /* A failed scan may have re-protected pages it could not report. */
        if (r < 0)
            return OM_MIGERR_INTERNAL;
        for (uint64_t w = 0; w < (n + 63) / 64; w++) {
            uint64_t v = buf[w] & word_mask(n, w), *dst = &bm[first / 64 + w];
            added += (uint64_t)__builtin_popcountll(v & ~*dst);
            *dst |= v;
        }
    }
    return (int64_t)added;
}

void om_kt_dirty_stop(struct om_ssa *ssa)
{
    kt_call(ssa, OM_MIG_KT_DIRTY_STOP, 0, 0, 0, 0, 0);
}

int om_kt_absent_start(struct om_ssa *ssa, const uint64_t *pending)
{
    volatile uint64_t *buf = scratch(ssa);
    uint64_t total = om_track_pages(), lo = om_track_lo();
    if (!buf || !total)
        return OM_MIGERR_INTERNAL;
    for (uint64_t first = 0; first < total; first += KT_CHUNK_PAGES) {
        uint64_t n = total - first < KT_CHUNK_PAGES ? total - first : KT_CHUNK_PAGES;
        for (uint64_t w = 0; w < (n + 63) / 64; w++)
            buf[w] = pending[first / 64 + w] & word_mask(n, w);
        if (kt_call(ssa, OM_MIG_KT_PENDING, (int64_t)lo, (int64_t)region_len(), (int64_t)first, (int64_t)n,
                    (int64_t)buf))
            return OM_MIGERR_INTERNAL;
    }
    return kt_call(ssa, OM_MIG_KT_ABSENT_START, (int64_t)lo, (int64_t)region_len(), 0, 0, 0) ? OM_MIGERR_INTERNAL
                                                                                             : 0;
}

int om_kt_install(struct om_ssa *ssa, uint64_t page, uint64_t npages, const void *src)
{
    uint64_t total = om_track_pages(), s = (uint64_t)src, lo = om_track_lo();
    if (!npages || page >= total || npages > total - page || npages > UINT64_MAX / OM_PAGE_SIZE ||
        !om_in_enclave(s, npages * OM_PAGE_SIZE) || (s < lo + total * OM_PAGE_SIZE && s + npages * OM_PAGE_SIZE > lo))
        return OM_MIGERR_INTERNAL;
    int64_t r = kt_call(ssa, OM_MIG_KT_INSTALL, (int64_t)page, (int64_t)npages, (int64_t)s, 0, 0);
    return r == 0 || r == 1 ? (int)r : OM_MIGERR_INTERNAL;
}

int64_t om_kt_wanted(struct om_ssa *ssa, uint64_t *pages, uint32_t max, uint32_t timeout_ms)
{
    volatile uint64_t *buf = scratch(ssa);
    uint64_t total = om_track_pages();
    if (!buf || !total)
        return OM_MIGERR_INTERNAL;
    if (max > KT_WANT_MAX)
        max = KT_WANT_MAX;
    int64_t n = kt_call(ssa, OM_MIG_KT_WANTED, (int64_t)buf, max, timeout_ms, 0, 0);
    if (n < 0)
        return OM_MIGERR_INTERNAL;
    if ((uint64_t)n > max)
        return OM_MIGERR_PROTOCOL;
    for (int64_t i = 0; i < n; i++) {
        uint64_t p = buf[i];
        if (p >= total)
            return OM_MIGERR_PROTOCOL;
        pages[i] = p;
    }
    return n;
}

void om_kt_absent_stop(struct om_ssa *ssa)
{
    kt_call(ssa, OM_MIG_KT_ABSENT_STOP, 0, 0, 0, 0, 0);
}
