/* The host's userfaultfd service for the kernel tracker (BRIEF §4): the
 * untrusted half of src/trt/ktrack.c, one per process, on src/tracker.
 *
 * Source, pre-copy: dirty_start registers the enclave heap for asynchronous
 * write-protect (WP_ASYNC + WP_UNPOPULATED) and dirty_collect reports and
 * re-protects written pages with PAGEMAP_SCAN.
 *
 * Destination, post-copy: pending (not yet received) pages are dropped and the
 * region is registered MISSING. A service thread answers faults on other pages
 * with zero pages at once and queues faults on pending pages for wanted(),
 * whose caller fetches them and installs them with UFFDIO_COPY.
 *
 * Functions return 0 / a count, or -errno. Page numbers are relative to the
 * registered region. */
#ifndef OM_HOST_KTRACK_H
#define OM_HOST_KTRACK_H
#include <stddef.h>
#include <stdint.h>
#include "optmig/abi.h"

/* 0 when this process can use every feature above, else -errno (cached). */
int om_kth_probe(void);

int om_kth_dirty_start(uint64_t addr, uint64_t len);
/* Pages [first, first+npages): bit i of bm (cleared first) = page first+i dirty. */
int64_t om_kth_dirty_collect(uint64_t first, uint64_t npages, uint64_t *bm);
void om_kth_dirty_stop(void);

/* Adds pages of bm (bit i = page first+i) to the pending set of the region
 * [addr, addr+len); first == 0 starts a fresh set. */
int om_kth_pending(uint64_t addr, uint64_t len, uint64_t first, uint64_t npages, const uint64_t *bm);
/* Discards pending pages that are populated, registers the region MISSING and
 * starts the fault service. Run it before any thread touches a pending page. */
int om_kth_absent_start(uint64_t addr, uint64_t len);
/* UFFDIO_COPY of npages from src (not inside the region); 1 if any page was
 * present already (only pending pages should ever be installed). */
int om_kth_install(uint64_t page, uint64_t npages, const void *src);
/* Pending pages faulted on, each reported once; waits up to timeout_ms for one. */
int64_t om_kth_wanted(uint64_t *pages, uint32_t max, uint32_t timeout_ms);
void om_kth_absent_stop(void);

struct om_kth_stats {
    uint64_t faults;        /* fault messages read */
    uint64_t wanted;        /* pending pages queued for wanted() */
    uint64_t zero_fills;    /* faults on other pages answered with zero pages */
    uint64_t copied;        /* pages installed by UFFDIO_COPY */
    uint64_t spilled;       /* wanted pages that overflowed the queue */
};
void om_kth_get_stats(struct om_kth_stats *st);
/* Fault-service polling for the next absent_start: OM_MISSING_BLOCK (0),
 * OM_MISSING_SPIN (-1) or n > 0 µs of spinning before sleeping. */
void om_kth_set_poll(int mode);

/* OM_OC_MIG services OM_MIG_KT_*: checks the scratch buffers against
 * [scratch, scratch+size) and addresses against the enclave's heap. */
int64_t om_kth_service(uint8_t *scratch, size_t size, const struct om_layout *l, const int64_t a[6]);
#endif
