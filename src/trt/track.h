/* The trackers of live migration, as the migration flows see them.
 *
 * Only the heap is tracked: it is where enclave state grows to GiB. Image
 * data, stacks and the mmap area travel whole while the threads are stopped.
 * The tracked region is the allocator's region [om_track_lo(), +pages*4096);
 * page numbers below are relative to om_track_lo(). Bitmaps hold one bit per
 * tracked page (bit i%64 of word i/64).
 *
 * Two implementations of the same contract:
 *   compiler (track_cc.c): the OptMig pass's dirty marks and access checks;
 *   kernel   (ktrack.c):   userfaultfd WP_ASYNC + PAGEMAP_SCAN, and MISSING. */
#ifndef OM_TRACK_H
#define OM_TRACK_H
#include <stdint.h>
#include "optmig/abi.h"

enum om_tracker_kind { OM_TRACKER_COMPILER = 1, OM_TRACKER_KERNEL = 2 };

/* Region under tracking, and the runtime's private metadata area (maps and
 * bitmaps) carved from the top of the heap reservation: never sent. */
uint64_t om_track_lo(void);
uint64_t om_track_pages(void);
/* 64-bit words of one bitmap over the tracked pages. */
uint64_t om_track_words(void);
int om_track_is_meta(uint64_t addr);
/* Where the allocator's region ends (the metadata area starts). */
uint64_t om_track_heap_end(void);
/* The pass's byte maps, one byte per tracked page. */
enum { OM_MAP_DIRTY, OM_MAP_PRESENT };
uint8_t *om_track_bytemap(int which);
/* Scratch bitmaps in the metadata area (each om_track_pages() bits). */
enum { OM_BM_SENT, OM_BM_ROUND, OM_BM_PENDING, OM_BM_DONE, OM_BM_COUNT };
uint64_t *om_track_bitmap(int which);

/* ---- compiler tracker (track_cc.c) ---- */
enum { OM_CC_DIRTY = 1, OM_CC_ACCESS = 2, OM_CC_POLLS = 4 };
/* What the pass compiled into this image (0: not built with the pass). */
uint32_t om_cc_compiled(void);
/* Destination, before any thread resumes: the tracking state that arrived
 * in the image data (marks on, polls raised) is the source's; reset it. */
void om_cc_arrived(void);
/* Raise/clear __om_poll: instrumented threads stop at their next poll. */
void om_cc_poll(int on);
/* Turns dirty marks on with a clean map; returns once every thread has
 * passed a parking point (so no store goes unmarked afterwards). */
int om_cc_dirty_start(struct om_ssa *ssa, uint32_t timeout_ms);
/* Moves marks into bm (sets bits, never clears), clearing each mark with a
 * full fence before the caller copies the pages. Returns pages added. */
uint64_t om_cc_dirty_collect(uint64_t *bm);
void om_cc_dirty_stop(void);
/* Destination, before any thread resumes: pages set in pending are absent
 * until om_cc_installed; access checks turn on. */
int om_cc_absent_start(const uint64_t *pending);
void om_cc_installed(uint64_t page);
int om_cc_present(uint64_t page);
void om_cc_absent_stop(void);
/* Pages app threads are waiting for (absent pages they touched): at most
 * max, each reported once; 0 when none. */
uint32_t om_cc_wanted(uint64_t *pages, uint32_t max);

/* ---- kernel tracker (ktrack.c), through the host's userfaultfd ---- */
int om_kt_available(struct om_ssa *ssa);
int om_kt_dirty_start(struct om_ssa *ssa);
/* PAGEMAP_SCAN written pages, re-protecting them; ORs them into bm. The
 * host's answer is bounded and copied in before use. Returns pages added,
 * or a negative OM_MIGERR_*. */
int64_t om_kt_dirty_collect(struct om_ssa *ssa, uint64_t *bm);
void om_kt_dirty_stop(struct om_ssa *ssa);
/* Destination: pending pages become userfaultfd-MISSING; any other page of
 * the region faults in as zeros. Must run before those pages are touched. */
int om_kt_absent_start(struct om_ssa *ssa, const uint64_t *pending);
/* Installs npages at page from src (enclave memory outside the tracked
 * region) with UFFDIO_COPY, waking waiters. 1 if a page was already there. */
int om_kt_install(struct om_ssa *ssa, uint64_t page, uint64_t npages, const void *src);
/* Pending pages threads faulted on since the last call (waits up to
 * timeout_ms for the first). */
int64_t om_kt_wanted(struct om_ssa *ssa, uint64_t *pages, uint32_t max, uint32_t timeout_ms);
void om_kt_absent_stop(struct om_ssa *ssa);
#endif
