/* Kernel-side trackers for live migration (the "kernel" tracker of BRIEF §4).
 *
 * Two independent objects, both built on userfaultfd(2):
 *
 *   om_wp_tracker  pre-copy dirty tracking: userfaultfd write-protect in
 *                  asynchronous mode (UFFD_FEATURE_WP_ASYNC, Linux 6.7) plus
 *                  the PAGEMAP_SCAN ioctl, which reports the pages written
 *                  since the last scan and write-protects them again in the
 *                  same page-table walk. No fault ever reaches user space.
 *
 *   om_missing     post-copy demand paging: the range is registered in
 *                  userfaultfd MISSING mode, so touching a page that was never
 *                  installed blocks the touching thread (user or kernel
 *                  access alike) until om_missing_install() or
 *                  om_missing_install_zero() places it atomically
 *                  (UFFDIO_COPY / UFFDIO_ZEROPAGE). A service thread reads the
 *                  fault events and hands each faulted page to a callback, so
 *                  the migration can fetch that page ahead of its background
 *                  stream.
 *
 * Both work on page-aligned ranges of private anonymous memory of the calling
 * process. Page size is 4 KiB (x86-64); a THP-backed range is fine: the kernel
 * splits huge pages where needed and reports 4 KiB pages.
 *
 * Errors: functions return 0 / a count on success and -errno on failure.
 * Open functions also write a one-line explanation into err (if non-NULL).
 * A kernel that lacks a needed feature yields -EOPNOTSUPP; a process that may
 * not use userfaultfd yields -EPERM; a kernel without userfaultfd -ENOSYS.
 * om_tracker_unsupported() tells whether a return code is one of those three
 * (tests exit with 77, "skipped", on them).
 *
 * Privileges: userfaultfd(2) is tried first (root, CAP_SYS_PTRACE, or
 * vm.unprivileged_userfaultfd=1), then /dev/userfaultfd. The library never
 * asks for UFFD_USER_MODE_ONLY, so accesses the kernel makes on the process's
 * behalf (read(2) into a page, write(2) from one) are tracked and served too;
 * that is why it needs one of those privileges.
 */
#ifndef OM_TRACKER_UFFD_H
#define OM_TRACKER_UFFD_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define OM_TRACKER_PAGE_SIZE 4096u

/* Nonzero when rc (a negative errno from an open function) means "this
 * kernel/process cannot do it" rather than "you called it wrongly". */
int om_tracker_unsupported(int rc);

/* ------------------------------------------------------------------------ */
/* Dirty tracking (pre-copy)                                                */
/* ------------------------------------------------------------------------ */

struct om_wp_tracker;

/* Open flags. */
enum {
	/* Use the scan query meant for kernels that do not report a zapped
	 * (MADV_DONTNEED'd) page as written. Chosen automatically when a probe
	 * at open finds such a kernel; the flag forces it, for tests. Slower
	 * on ranges with much never-touched memory (see tracker_wp.c). */
	OM_WP_PORTABLE_SCAN = 1u << 0,
};

/* Start tracking writes to [addr, addr+len).
 *
 * addr and len must be multiples of OM_TRACKER_PAGE_SIZE, len > 0, and the
 * whole range must be mapped private anonymous memory (possibly several
 * mappings) not registered with another userfaultfd (-EBUSY otherwise).
 * Populated or not, every page starts clean: open is the start of the first
 * epoch, so a pre-copy round must open the tracker *before* it copies pages.
 *
 * The mapping must stay in place while tracked. Replacing part of it
 * (mmap MAP_FIXED, munmap+mmap, mremap) drops that part from tracking, and
 * the next collect fails with -EPERM rather than silently missing writes.
 * mprotect and MADV_DONTNEED (a discard counts as a write) keep tracking
 * intact, and THP-backed ranges report 4 KiB pages (all tested). The kernel
 * keeps the write-protect bit across page migration and swap (not tested
 * here: this machine has no swap).
 *
 * Cost: one UFFDIO_WRITEPROTECT over the range, which also allocates the
 * page tables of never-touched parts (about 2 MiB per GiB). */
int om_wp_open(struct om_wp_tracker **t, void *addr, size_t len, char *err, size_t errlen);
int om_wp_open_flags(struct om_wp_tracker **t, void *addr, size_t len, unsigned flags,
		     char *err, size_t errlen);

/* Collect the pages written since open or the previous collect, and
 * write-protect them again, atomically per page: a write that races with the
 * scan is reported either by this call or by the next one, never lost.
 *
 * Bit i of bitmap (bitmap[i / 64] >> (i % 64) & 1) is set when page i of the
 * range (address addr + i * 4096) was written, and cleared otherwise; nbits
 * must be at least the number of pages in the range (-EINVAL otherwise, and
 * nothing is collected). Returns the number of dirty pages, or -errno. On
 * failure (-EPERM: part of the range was remapped) the bitmap holds the pages
 * the kernel had already reported and re-protected before it stopped; they
 * will not be reported again, so treat them as dirty. Other pages keep their
 * state for the next call.
 *
 * "Written" means the page content may differ from the previous collect: a
 * store from any thread, a write by the kernel (read(2) into the page), or a
 * discard (MADV_DONTNEED, after which the page reads as zero). Reads never
 * count: reading a never-written page maps the zero page write-protected.
 * There are no false positives: a page is reported only if it was written.
 *
 * Concurrent collect calls on one tracker are serialised internally.
 *
 * Costs (bench/results/tracker.md): the application pays one in-kernel fault
 * for the first write to each page after open or a collect (tens of µs on the
 * VM measured); the collect's cost follows the number of 2 MiB blocks holding
 * dirty pages rather than the number of pages (about 0.05-0.15 ms per block
 * there, so scattered writes cost far more than clustered ones). */
long om_wp_collect(struct om_wp_tracker *t, uint64_t *bitmap, size_t nbits);

/* The same over pages [first_page, first_page + npages) of the range only;
 * bit i of bitmap stands for page first_page + i. Pages outside are left
 * dirty-or-clean as they were. */
long om_wp_collect_range(struct om_wp_tracker *t, size_t first_page, size_t npages,
			 uint64_t *bitmap, size_t nbits);

/* Number of pages in the tracked range. */
size_t om_wp_npages(const struct om_wp_tracker *t);

struct om_wp_stats {
	uint64_t collects;      /* successful collect calls */
	uint64_t scan_ioctls;   /* PAGEMAP_SCAN calls they made */
	uint64_t dirty_pages;   /* sum of their results */
	int portable_scan;      /* 1 when the portable query is in use */
};
void om_wp_get_stats(const struct om_wp_tracker *t, struct om_wp_stats *s);

/* Stop tracking: unregister (which drops every write protection of the
 * range) and free. NULL is allowed. The kernel rewrites every page-table
 * entry of the range under the mmap write lock, which blocks the process's
 * page faults: close works in 4 MiB slices so that no stall is long (a few ms),
 * though the whole close takes about 0.25 s per GiB of 4 KiB-mapped pages on
 * the VM measured (bench/results/tracker.md). */
void om_wp_close(struct om_wp_tracker *t);

/* ------------------------------------------------------------------------ */
/* Missing-page service (post-copy)                                         */
/* ------------------------------------------------------------------------ */

struct om_missing;

/* Called on the service thread, once per page: the first time any thread
 * faults on page_addr (page aligned) while it is not installed. Later faults
 * on the same page are counted, not reported again; a page whose install
 * races with its fault may still be reported. The faulting thread stays
 * blocked until the page is installed, so the migration should move this page
 * to the front of its queue and install it soon.
 *
 * The callback may call om_missing_install*() itself (synchronous service)
 * or queue the page for another thread. It must not touch the missing range
 * (the service thread would block on its own fault) and should not block
 * for long: while it runs, no further fault is reported. */
typedef void (*om_fault_cb)(void *ctx, uint64_t page_addr);

/* Service-thread polling modes (the `poll_mode` argument of om_missing_open):
 *   OM_MISSING_BLOCK (0)  sleep in poll(2) until a fault arrives; costs
 *                         nothing when idle, each fault pays a thread wake.
 *   OM_MISSING_SPIN (-1)  spin on a non-blocking read(2) forever: the fastest
 *                         service, one CPU kept busy until close.
 *   n > 0                 adaptive: spin while faults keep coming, and fall
 *                         back to poll(2) after n microseconds without one. */
enum { OM_MISSING_BLOCK = 0, OM_MISSING_SPIN = -1 };

/* Register [addr, addr+len) (page aligned, private anonymous) in MISSING mode
 * and start the service thread. Pages already present in the range count as
 * installed (a hybrid migration may place pre-copied pages first); every
 * other page is missing, and any access to it blocks until installed.
 * cb may be NULL (faults are then only counted). */
int om_missing_open(struct om_missing **m, void *addr, size_t len, om_fault_cb cb, void *ctx,
		    int poll_mode, char *err, size_t errlen);

/* Install npages pages at page_addr (page aligned, inside the range) with the
 * content at data (npages * 4096 bytes; any alignment), atomically: no thread
 * ever sees a partly written page, and every thread blocked on these pages is
 * woken. Pages already present (installed before, or present at open) are
 * left untouched, which makes a repeated install harmless: it returns 0 and
 * the first content stays. Thread safe.
 * Returns 0, -EINVAL (bad address/size), -ENOENT (the mapping at that address
 * is gone or no longer registered), -ENOMEM, or another -errno. */
int om_missing_install(struct om_missing *m, uint64_t page_addr, const void *data, size_t npages);

/* The same, and *present (if non-NULL) receives how many of the pages were
 * skipped because they were present already: a post-copy destination that
 * installs each page once can tell a page that someone else populated. */
int om_missing_install_ex(struct om_missing *m, uint64_t page_addr, const void *data, size_t npages,
			  size_t *present);

/* The same for pages that are all zero (UFFDIO_ZEROPAGE maps the shared zero
 * page; the first write gets a private copy). */
int om_missing_install_zero(struct om_missing *m, uint64_t page_addr, size_t npages);

/* 1 if the page at page_addr is installed (or was present at open). */
int om_missing_is_installed(const struct om_missing *m, uint64_t page_addr);

/* The service thread, e.g. to pin it to a CPU of its own (pthread_setaffinity_np)
 * or raise its priority. Busy-polling helps only when the service thread does
 * not share a CPU with the faulting threads (see bench/results/tracker.md). */
pthread_t om_missing_thread(const struct om_missing *m);

/* Pages of the range not installed yet. */
size_t om_missing_pending(const struct om_missing *m);

struct om_missing_stats {
	uint64_t faults;         /* fault events read */
	uint64_t reported;       /* callbacks made */
	uint64_t repeat_faults;  /* faults on a page already reported, not installed */
	uint64_t late_faults;    /* faults on an installed page (raced with its install,
				    or it was discarded since): answered with the zero
				    page if absent, never reported */
	uint64_t pages_copied;   /* pages placed by UFFDIO_COPY */
	uint64_t pages_zeroed;   /* pages placed by UFFDIO_ZEROPAGE */
	uint64_t pages_existing; /* install requests for pages already present */
	uint64_t sleeps;         /* times the service thread went to sleep in poll */
};
void om_missing_get_stats(const struct om_missing *m, struct om_missing_stats *s);

/* Discarding memory during post-copy. A page that was installed and is then
 * discarded (MADV_DONTNEED) faults again on its next touch; the service
 * thread answers that fault itself with the zero page (what a discarded page
 * reads as), without calling the callback. A page discarded *before* it was
 * installed would later receive the old content from the migration, so a
 * host that mediates discards must follow madvise(MADV_DONTNEED) of a range
 * with om_missing_install_zero() of that range: that marks every page
 * installed-as-zero, and later installs of the old content are then skipped.
 * Replacing the mapping (mmap MAP_FIXED) removes it from the service: install
 * then fails with -ENOENT. */

/* Stop the service thread, unregister the range and free. Call it when
 * om_missing_pending() is 0: after close, a page never installed reads as
 * zero (the kernel fills it on first touch), and a thread still blocked on
 * one is woken to exactly that. NULL is allowed. */
void om_missing_close(struct om_missing *m);

#ifdef __cplusplus
}
#endif

#endif /* OM_TRACKER_UFFD_H */
