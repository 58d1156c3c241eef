/* The tracked region and the trackers' metadata area.
 *
 * The metadata (two byte maps for the pass, four scratch bitmaps for the
 * migration flows) sits at the top of the heap reservation, outside what the
 * allocator manages: it is per-process bookkeeping, never state, and both
 * ends carve it identically from the same layout. 2.5 bytes per 4 KiB page:
 * 0.06% of the heap. */
#include "track.h"
#include "trt.h"

#define META_ALIGN (2ull << 20)

static uint64_t total_pages(void)
{
    return (om_trt_layout.heap_hi - om_trt_layout.heap_lo) / OM_PAGE_SIZE;
}

static uint64_t bitmap_bytes(void) { return (total_pages() + 63) / 64 * 8; }

static uint64_t meta_bytes(void)
{
    uint64_t n = 2 * total_pages() + OM_BM_COUNT * bitmap_bytes();
    return (n + META_ALIGN - 1) & ~(META_ALIGN - 1);
}

static uint64_t meta_lo(void)
{
    uint64_t size = om_trt_layout.heap_hi - om_trt_layout.heap_lo;
    /* A heap too small to spare the area keeps it all: tracking then covers
     * nothing (om_track_pages() == 0), and live strategies refuse it. */
    return meta_bytes() * 4 > size ? om_trt_layout.heap_hi : om_trt_layout.heap_hi - meta_bytes();
}

uint64_t om_track_lo(void) { return om_trt_layout.heap_lo; }

uint64_t om_track_pages(void)
{
    uint64_t m = meta_lo();
    return m == om_trt_layout.heap_hi ? 0 : (m - om_trt_layout.heap_lo) / OM_PAGE_SIZE;
}

uint64_t om_track_words(void) { return (om_track_pages() + 63) / 64; }

/* The allocator's end: below the metadata area. */
uint64_t om_track_heap_end(void)
{
    return meta_lo();
}

int om_track_is_meta(uint64_t addr)
{
    return addr >= meta_lo() && addr < om_trt_layout.heap_hi;
}

uint8_t *om_track_bytemap(int which)
{
    return (uint8_t *)(meta_lo() + (uint64_t)which * total_pages());
}

uint64_t *om_track_bitmap(int which)
{
    return (uint64_t *)(meta_lo() + 2 * total_pages() + (uint64_t)which * bitmap_bytes());
}
