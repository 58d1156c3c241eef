/* Dirty-page tracking with userfaultfd asynchronous write-protect and
 * PAGEMAP_SCAN (see tracker_uffd.h for the contract).
 *
 * How it works. The range is registered with a userfaultfd in WP mode with
 * UFFD_FEATURE_WP_ASYNC and UFFD_FEATURE_WP_UNPOPULATED, then write-protected
 * as a whole. With WP_ASYNC a write to a protected page is resolved by the
 * kernel itself: it clears the page's uffd-wp bit and lets the write proceed,
 * with no message to user space. WP_UNPOPULATED makes the protection cover
 * never-touched pages too (a "marker" in the empty page-table entry), so a
 * read of such a page maps the zero page still protected and is not a write.
 *
 * A collect is one PAGEMAP_SCAN walk (several ioctls when the output vector
 * fills): every page whose entry lacks the uffd-wp bit is reported as
 * PAGE_IS_WRITTEN and, with PM_SCAN_WP_MATCHING, protected again under the
 * same page-table lock, so a racing write either lands before (reported now)
 * or faults after (reported next time). PM_SCAN_CHECK_WPASYNC makes the
 * kernel fail with EPERM on any part of the range that is no longer
 * registered (remapped) instead of skipping it.
 *
 * Zapped pages. MADV_DONTNEED (or any zap) on anonymous memory removes the
 * page and its marker; the page then reads as zero, which is a change of
 * content that pre-copy must resend. The kernel this was written on (6.18)
 * reports such an empty entry as PAGE_IS_WRITTEN, and the scan re-installs
 * the marker, so the plain query "PAGE_IS_WRITTEN" is exact. open() probes
 * that on a scratch page. Where the probe fails the tracker uses the portable
 * query: match pages that are written OR not present (two any-of categories),
 * which also matches every protected never-touched marker, and drop those in
 * user space (not present, not written, and a swap-type entry). Re-protecting a
 * marker is harmless; the cost is a longer output on ranges with much
 * never-touched memory.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np, MADV_* */
#endif
#include "tracker_uffd.h"
#include "tracker_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define WP_FEATURES (UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED)
#define VEC_LEN 2048 /* output regions per PAGEMAP_SCAN call (48 KiB) */
#define UNREGISTER_SLICE (4ull << 20) /* see om_wp_close */

struct om_wp_tracker {
	int uffd;
	int pagemap;
	uint64_t base;
	size_t npages;
	int portable;
	pthread_mutex_t lock;
	struct page_region *vec;
	struct om_wp_stats stats;
};

/* 0 unknown, 1 a zapped page is reported as written, 2 it is not. */
static atomic_int zap_semantics;

static int probe_zap_reports_written(int *answer, char *err, size_t errlen)
{
	int known = atomic_load(&zap_semantics);
	if (known) {
		*answer = known == 1;
		return 0;
	}
	int rc = 0;
	int pm = -1;
	int fd = om_trk_uffd_open(WP_FEATURES, err, errlen, "om_wp_open (probe)");
	if (fd < 0)
		return fd;
	char *p = mmap(NULL, OM_PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		close(fd);
		return om_trk_fail(err, errlen, -errno, "om_wp_open: probe mmap failed");
	}
	p[0] = 1;
	struct uffdio_register reg = {.range = {(uint64_t)(uintptr_t)p, OM_PG},
				      .mode = UFFDIO_REGISTER_MODE_WP};
	struct uffdio_writeprotect wp = {.range = reg.range, .mode = UFFDIO_WRITEPROTECT_MODE_WP};
	if (ioctl(fd, UFFDIO_REGISTER, &reg) || ioctl(fd, UFFDIO_WRITEPROTECT, &wp)) {
		int e = errno;
		rc = om_trk_fail(err, errlen, e == EINVAL ? -EOPNOTSUPP : -e,
				 "om_wp_open: userfaultfd write-protect of anonymous memory failed: %s",
				 strerror(e));
		goto out;
	}
	madvise(p, OM_PG, MADV_DONTNEED);
	pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm < 0) {
		rc = om_trk_fail(err, errlen, -errno, "om_wp_open: /proc/self/pagemap: %s",
				 strerror(errno));
		goto out;
	}
	struct page_region v[1];
	struct pm_scan_arg a = {
		.size = sizeof a,
		.start = (uint64_t)(uintptr_t)p,
		.end = (uint64_t)(uintptr_t)p + OM_PG,
		.vec = (uint64_t)(uintptr_t)v,
		.vec_len = 1,
		.category_anyof_mask = PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN,
		.return_mask = PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN,
	};
	long r = ioctl(pm, PAGEMAP_SCAN, &a);
	if (r < 0) {
		int e = errno;
		rc = om_trk_fail(err, errlen, (e == ENOTTY || e == EINVAL) ? -EOPNOTSUPP : -e,
				 "om_wp_open: the kernel lacks the PAGEMAP_SCAN ioctl (Linux 6.7): %s",
				 strerror(e));
		goto out;
	}
	if (r != 1 || !(v[0].categories & PAGE_IS_WPALLOWED)) {
		rc = om_trk_fail(err, errlen, -EOPNOTSUPP,
				 "om_wp_open: PAGEMAP_SCAN does not see the asynchronous write-protection");
		goto out;
	}
	*answer = (v[0].categories & PAGE_IS_WRITTEN) != 0;
	atomic_store(&zap_semantics, *answer ? 1 : 2);
out:
	if (pm >= 0)
		close(pm);
	munmap(p, OM_PG);
	close(fd);
	return rc;
}

int om_wp_open(struct om_wp_tracker **out, void *addr, size_t len, char *err, size_t errlen)
{
	return om_wp_open_flags(out, addr, len, 0, err, errlen);
}

int om_wp_open_flags(struct om_wp_tracker **out, void *addr, size_t len, unsigned flags,
		     char *err, size_t errlen)
{
	if (!out)
		return om_trk_fail(err, errlen, -EINVAL, "om_wp_open: no output pointer");
	*out = NULL;
	int rc = om_trk_check_range(addr, len, err, errlen, "om_wp_open");
	if (rc)
		return rc;
	if (flags & ~(unsigned)OM_WP_PORTABLE_SCAN)
		return om_trk_fail(err, errlen, -EINVAL, "om_wp_open: unknown flags 0x%x", flags);

	int zap_written = 0;
	rc = probe_zap_reports_written(&zap_written, err, errlen);
	if (rc)
		return rc;

	struct om_wp_tracker *t = calloc(1, sizeof *t);
	if (!t)
		return om_trk_fail(err, errlen, -ENOMEM, "om_wp_open: out of memory");
	t->uffd = -1;
	t->pagemap = -1;
	t->base = (uint64_t)(uintptr_t)addr;
	t->npages = len / OM_PG;
	t->portable = (flags & OM_WP_PORTABLE_SCAN) || !zap_written;
	t->stats.portable_scan = t->portable;
	pthread_mutex_init(&t->lock, NULL);
	t->vec = malloc(VEC_LEN * sizeof *t->vec);
	if (!t->vec) {
		rc = om_trk_fail(err, errlen, -ENOMEM, "om_wp_open: out of memory");
		goto fail;
	}

	t->uffd = om_trk_uffd_open(WP_FEATURES, err, errlen, "om_wp_open");
	if (t->uffd < 0) {
		rc = t->uffd;
		goto fail;
	}
	struct uffdio_register reg = {.range = {t->base, len}, .mode = UFFDIO_REGISTER_MODE_WP};
	if (ioctl(t->uffd, UFFDIO_REGISTER, &reg)) {
		int e = errno;
		if (e == EBUSY)
			rc = om_trk_fail(err, errlen, -e,
					 "om_wp_open: %p+%zu is already registered with another userfaultfd",
					 addr, len);
		else
			rc = om_trk_fail(err, errlen, -e,
					 "om_wp_open: UFFDIO_REGISTER (WP) of %p+%zu: %s (is the whole "
					 "range mapped anonymous memory?)",
					 addr, len, strerror(e));
		goto fail;
	}
	if (!(reg.ioctls & (1ull << _UFFDIO_WRITEPROTECT))) {
		rc = om_trk_fail(err, errlen, -EOPNOTSUPP,
				 "om_wp_open: UFFDIO_WRITEPROTECT is not available on this range");
		goto fail;
	}
	t->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (t->pagemap < 0) {
		rc = om_trk_fail(err, errlen, -errno, "om_wp_open: /proc/self/pagemap: %s",
				 strerror(errno));
		goto fail;
	}
	/* Start the first epoch: everything clean. */
	struct uffdio_writeprotect wp = {.range = {t->base, len}, .mode = UFFDIO_WRITEPROTECT_MODE_WP};
	if (ioctl(t->uffd, UFFDIO_WRITEPROTECT, &wp)) {
		rc = om_trk_fail(err, errlen, -errno, "om_wp_open: UFFDIO_WRITEPROTECT: %s",
				 strerror(errno));
		goto fail;
	}
	*out = t;
	return 0;
fail:
	om_wp_close(t);
	return rc;
}

size_t om_wp_npages(const struct om_wp_tracker *t)
{
	return t ? t->npages : 0;
}

static void bitmap_clear_bits(uint64_t *bm, size_t n)
{
	memset(bm, 0, (n / 64) * sizeof *bm);
	if (n % 64)
		bm[n / 64] &= ~((1ull << (n % 64)) - 1);
}

/* One collect over [start, end) (addresses); bit 0 of bm is page `start`. */
static long collect_locked(struct om_wp_tracker *t, uint64_t start, uint64_t end, uint64_t *bm)
{
	long dirty = 0;
	uint64_t cur = start;
	while (cur < end) {
		struct pm_scan_arg a = {
			.size = sizeof a,
			.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC,
			.start = cur,
			.end = end,
			.vec = (uint64_t)(uintptr_t)t->vec,
			.vec_len = VEC_LEN,
		};
		if (t->portable) {
			/* written OR not present; markers are filtered below */
			a.category_inverted = PAGE_IS_PRESENT;
			a.category_anyof_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT;
			a.return_mask = PAGE_IS_WRITTEN | PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
		} else {
			a.category_mask = PAGE_IS_WRITTEN;
			a.return_mask = PAGE_IS_WRITTEN;
		}
		/* On an error the kernel has still written (and re-protected) the
		 * regions it found, without saying how many: mark the vector so
		 * those can be told from stale entries and still be reported. */
		memset(t->vec, 0, VEC_LEN * sizeof *t->vec);
		long r = ioctl(t->pagemap, PAGEMAP_SCAN, &a);
		int e = r < 0 ? errno : 0;
		t->stats.scan_ioctls++;
		size_t n = r >= 0 ? (size_t)r : VEC_LEN;
		for (size_t i = 0; i < n; i++) {
			const struct page_region *pr = &t->vec[i];
			if (pr->end <= pr->start)
				break; /* untouched entry (error path) */
			if (t->portable && !(pr->categories & PAGE_IS_WRITTEN) &&
			    (pr->categories & (PAGE_IS_PRESENT | PAGE_IS_SWAPPED)))
				continue; /* a protected never-touched page (marker) */
			if (pr->start < start || pr->end > end) {
				e = EIO; /* cannot happen: the kernel clips to [start, end) */
				break;
			}
			size_t first = (pr->start - start) / OM_PG;
			size_t count = (pr->end - pr->start) / OM_PG;
			om_trk_bitmap_set(bm, first, count);
			dirty += (long)count;
		}
		if (e == EINTR || e == EAGAIN) {
			if (a.walk_end > cur && a.walk_end <= end)
				cur = a.walk_end;
			continue;
		}
		if (e)
			return -e;
		if (a.walk_end >= end)
			break;
		if (a.walk_end <= cur)
			return -EIO; /* no progress: cannot happen */
		cur = a.walk_end;
	}
	return dirty;
}

long om_wp_collect_range(struct om_wp_tracker *t, size_t first_page, size_t npages,
			 uint64_t *bitmap, size_t nbits)
{
	if (!t || !bitmap || first_page > t->npages || npages > t->npages - first_page ||
	    nbits < npages)
		return -EINVAL;
	if (npages == 0)
		return 0;
	pthread_mutex_lock(&t->lock);
	bitmap_clear_bits(bitmap, npages);
	uint64_t start = t->base + first_page * OM_PG;
	long r = collect_locked(t, start, start + npages * OM_PG, bitmap);
	if (r >= 0) {
		t->stats.collects++;
		t->stats.dirty_pages += (uint64_t)r;
	}
	pthread_mutex_unlock(&t->lock);
	return r;
}

long om_wp_collect(struct om_wp_tracker *t, uint64_t *bitmap, size_t nbits)
{
	return om_wp_collect_range(t, 0, t ? t->npages : 0, bitmap, nbits);
}

void om_wp_get_stats(const struct om_wp_tracker *t, struct om_wp_stats *s)
{
	if (!s)
		return;
	memset(s, 0, sizeof *s);
	if (!t)
		return;
	pthread_mutex_lock((pthread_mutex_t *)&t->lock);
	*s = t->stats;
	pthread_mutex_unlock((pthread_mutex_t *)&t->lock);
}

void om_wp_close(struct om_wp_tracker *t)
{
	if (!t)
		return;
	if (t->uffd >= 0) {
		/* Unregistering rewrites every page-table entry of the range (to
		 * drop the uffd-wp bits and markers) while holding the mmap lock for
		 * writing, which stalls every page fault of the process: about 0.5 s
		 * for 1 GiB of 4 KiB entries on the VM measured. Done in slices, each
		 * stall stays short. */
		for (uint64_t off = 0, len = t->npages * OM_PG; off < len; off += UNREGISTER_SLICE) {
			uint64_t n = len - off < UNREGISTER_SLICE ? len - off : UNREGISTER_SLICE;
			struct uffdio_range r = {t->base + off, n};
			(void)ioctl(t->uffd, UFFDIO_UNREGISTER, &r);
		}
		close(t->uffd); /* drops whatever the slices missed */
	}
	if (t->pagemap >= 0)
		close(t->pagemap);
	pthread_mutex_destroy(&t->lock);
	free(t->vec);
	free(t);
}
