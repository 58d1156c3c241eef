/* Post-copy missing-page service with userfaultfd MISSING mode (see
 * tracker_uffd.h for the contract).
 *
 * The range is registered in MISSING mode. A thread (or the kernel on a
 * thread's behalf) touching a page with no page-table entry is put to sleep
 * in the kernel and a UFFD_EVENT_PAGEFAULT message is queued on the
 * userfaultfd. The service thread reads those messages and reports each
 * faulted page once to the callback. UFFDIO_COPY / UFFDIO_ZEROPAGE then
 * allocate, fill and map the page in one step and wake the sleepers, so no
 * thread can observe the page before its content is complete.
 *
 * Two bitmaps (1 bit per page, 32 KiB per GiB each) keep the state:
 * `installed` (set after a successful install, or for pages present at open)
 * and `reported` (set when the callback was called). A fault message for a
 * page already installed is either late (the install woke its thread before
 * the message was read) or means the page was installed and then discarded
 * (MADV_DONTNEED): the service answers it with UFFDIO_ZEROPAGE, which fails
 * harmlessly with EEXIST in the first case and gives the zero page a discarded
 * page must read as in the second. No fault is ever left waiting on a page
 * that nobody will install.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np, MADV_* */
#endif
#include "tracker_uffd.h"
#include "tracker_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct om_missing {
	int uffd;
	int stopfd;
	uint64_t base;
	size_t npages;
	om_fault_cb cb;
	void *ctx;
	int poll_mode;
	pthread_t thread;
	bool thread_started;
	atomic_bool stop;
	_Atomic uint64_t *installed;
	_Atomic uint64_t *reported;
	atomic_size_t ninstalled;
	struct {
		_Atomic uint64_t faults, reported, repeat_faults, late_faults;
		_Atomic uint64_t pages_copied, pages_zeroed, pages_existing, sleeps;
	} st;
};

#define RELAXED memory_order_relaxed

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static bool bit_test(_Atomic uint64_t *bm, size_t i)
{
	return (atomic_load_explicit(&bm[i / 64], memory_order_acquire) >> (i % 64)) & 1;
}

/* Set bit i; returns its previous value. */
static bool bit_test_and_set(_Atomic uint64_t *bm, size_t i)
{
	uint64_t bit = 1ull << (i % 64);
	return (atomic_fetch_or_explicit(&bm[i / 64], bit, memory_order_acq_rel) & bit) != 0;
}

/* Mark pages [first, first+count) installed; count the newly installed. */
static void mark_installed(struct om_missing *m, size_t first, size_t count)
{
	size_t added = 0;
	for (size_t i = first, end = first + count; i < end;) {
		size_t w = i / 64, lo = i % 64;
		size_t n = end - i < 64 - lo ? end - i : 64 - lo;
		uint64_t mask = (n == 64 ? ~0ull : ((1ull << n) - 1)) << lo;
		uint64_t old = atomic_fetch_or_explicit(&m->installed[w], mask, memory_order_acq_rel);
		added += (size_t)__builtin_popcountll(mask & ~old);
		i += n;
	}
	atomic_fetch_add_explicit(&m->ninstalled, added, RELAXED);
}

static void zero_fill_discarded(struct om_missing *m, uint64_t page)
{
	struct uffdio_zeropage z = {.range = {page, OM_PG}, .mode = 0};
	if (ioctl(m->uffd, UFFDIO_ZEROPAGE, &z) == 0)
		return;
	/* EEXIST: the page is there (its install already woke the thread). Wake
	 * anyway in case the thread queued after that wake. */
	struct uffdio_range r = {page, OM_PG};
	(void)ioctl(m->uffd, UFFDIO_WAKE, &r);
}

static void handle_fault(struct om_missing *m, const struct uffd_msg *msg)
{
	atomic_fetch_add_explicit(&m->st.faults, 1, RELAXED);
	uint64_t page = msg->arg.pagefault.address & ~(OM_PG - 1);
	if (page < m->base || page >= m->base + m->npages * OM_PG)
		return; /* cannot happen: only our range is registered */
	size_t i = (page - m->base) / OM_PG;
	if (bit_test(m->installed, i)) {
		atomic_fetch_add_explicit(&m->st.late_faults, 1, RELAXED);
		zero_fill_discarded(m, page);
		return;
	}
	if (bit_test_and_set(m->reported, i)) {
		atomic_fetch_add_explicit(&m->st.repeat_faults, 1, RELAXED);
		return;
	}
	atomic_fetch_add_explicit(&m->st.reported, 1, RELAXED);
	if (m->cb)
		m->cb(m->ctx, page);
}

static void *service_main(void *arg)
{
	struct om_missing *m = arg;
	struct uffd_msg msgs[64];
	uint64_t last = now_us();
	while (!atomic_load_explicit(&m->stop, RELAXED)) {
		ssize_t n = read(m->uffd, msgs, sizeof msgs);
		if (n > 0) {
			for (size_t k = 0; k < (size_t)n / sizeof msgs[0]; k++)
				if (msgs[k].event == UFFD_EVENT_PAGEFAULT)
					handle_fault(m, &msgs[k]);
			if (m->poll_mode > 0)
				last = now_us();
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			break; /* the descriptor is unusable; nothing else to do */
		if (m->poll_mode == OM_MISSING_SPIN ||
		    (m->poll_mode > 0 && now_us() - last < (uint64_t)m->poll_mode)) {
			cpu_relax();
			continue;
		}
		struct pollfd p[2] = {{.fd = m->uffd, .events = POLLIN},
				      {.fd = m->stopfd, .events = POLLIN}};
		atomic_fetch_add_explicit(&m->st.sleeps, 1, RELAXED);
		(void)poll(p, 2, -1);
		last = now_us();
	}
	return NULL;
}

/* Mark the pages already present in the range as installed. */
static int scan_present(struct om_missing *m, char *err, size_t errlen)
{
	int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (pm >= 0) {
		struct page_region vec[512];
		uint64_t cur = m->base, end = m->base + m->npages * OM_PG;
		int e = 0;
		while (cur < end) {
			struct pm_scan_arg a = {
				.size = sizeof a,
				.start = cur,
				.end = end,
				.vec = (uint64_t)(uintptr_t)vec,
				.vec_len = 512,
				.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
				.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED,
			};
			long r = ioctl(pm, PAGEMAP_SCAN, &a);
			if (r < 0) {
				e = errno;
				break;
			}
			for (long k = 0; k < r; k++)
				mark_installed(m, (vec[k].start - m->base) / OM_PG,
					       (vec[k].end - vec[k].start) / OM_PG);
			if (a.walk_end >= end || a.walk_end <= cur)
				break;
			cur = a.walk_end;
		}
		close(pm);
		if (!e)
			return 0;
		if (e != ENOTTY && e != EINVAL)
			return om_trk_fail(err, errlen, -e, "om_missing_open: PAGEMAP_SCAN: %s",
					   strerror(e));
		/* A kernel before 6.7: fall back to mincore. */
	}
	unsigned char vec[4096];
	for (size_t done = 0; done < m->npages;) {
		size_t n = m->npages - done < sizeof vec ? m->npages - done : sizeof vec;
		if (mincore((void *)(uintptr_t)(m->base + done * OM_PG), n * OM_PG, vec))
			return om_trk_fail(err, errlen, -errno, "om_missing_open: mincore: %s",
					   strerror(errno));
		for (size_t k = 0; k < n; k++)
			if (vec[k] & 1)
				mark_installed(m, done + k, 1);
		done += n;
	}
	return 0;
}

int om_missing_open(struct om_missing **out, void *addr, size_t len, om_fault_cb cb, void *ctx,
		    int poll_mode, char *err, size_t errlen)
{
	if (!out)
		return om_trk_fail(err, errlen, -EINVAL, "om_missing_open: no output pointer");
	*out = NULL;
	int rc = om_trk_check_range(addr, len, err, errlen, "om_missing_open");
	if (rc)
		return rc;
	if (poll_mode < OM_MISSING_SPIN)
		return om_trk_fail(err, errlen, -EINVAL, "om_missing_open: bad poll mode %d", poll_mode);

	struct om_missing *m = calloc(1, sizeof *m);
	if (!m)
		return om_trk_fail(err, errlen, -ENOMEM, "om_missing_open: out of memory");
	m->uffd = -1;
	m->stopfd = -1;
	m->base = (uint64_t)(uintptr_t)addr;
	m->npages = len / OM_PG;
	m->cb = cb;
	m->ctx = ctx;
	m->poll_mode = poll_mode;
	size_t words = (m->npages + 63) / 64;
	m->installed = calloc(words, sizeof *m->installed);
	m->reported = calloc(words, sizeof *m->reported);
	if (!m->installed || !m->reported) {
		rc = om_trk_fail(err, errlen, -ENOMEM, "om_missing_open: out of memory");
		goto fail;
	}
	m->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (m->stopfd < 0) {
		rc = om_trk_fail(err, errlen, -errno, "om_missing_open: eventfd: %s", strerror(errno));
		goto fail;
	}
	m->uffd = om_trk_uffd_open(0, err, errlen, "om_missing_open");
	if (m->uffd < 0) {
		rc = m->uffd;
		goto fail;
	}
	struct uffdio_register reg = {.range = {m->base, len}, .mode = UFFDIO_REGISTER_MODE_MISSING};
	if (ioctl(m->uffd, UFFDIO_REGISTER, &reg)) {
		int e = errno;
		if (e == EBUSY)
			rc = om_trk_fail(err, errlen, -e,
					 "om_missing_open: %p+%zu is already registered with another "
					 "userfaultfd", addr, len);
		else
			rc = om_trk_fail(err, errlen, -e,
					 "om_missing_open: UFFDIO_REGISTER (MISSING) of %p+%zu: %s (is the "
					 "whole range mapped anonymous memory?)", addr, len, strerror(e));
		goto fail;
	}
	uint64_t need = (1ull << _UFFDIO_COPY) | (1ull << _UFFDIO_ZEROPAGE) | (1ull << _UFFDIO_WAKE);
	if ((reg.ioctls & need) != need) {
		rc = om_trk_fail(err, errlen, -EOPNOTSUPP,
				 "om_missing_open: UFFDIO_COPY/ZEROPAGE/WAKE not available on this range "
				 "(ioctls 0x%llx)", (unsigned long long)reg.ioctls);
		goto fail;
	}
	rc = scan_present(m, err, errlen);
	if (rc)
		goto fail;

	/* The service thread takes no signals: they belong to the application. */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int e = pthread_create(&m->thread, NULL, service_main, m);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (e) {
		rc = om_trk_fail(err, errlen, -e, "om_missing_open: pthread_create: %s", strerror(e));
		goto fail;
	}
	m->thread_started = true;
	pthread_setname_np(m->thread, "om-uffd-missing");
	*out = m;
	return 0;
fail:
	om_missing_close(m);
	return rc;
}

/* Place pages [addr, addr + npages) that are not installed yet, by runs;
 * *present counts the pages skipped because they were there already. */
static int fill(struct om_missing *m, uint64_t addr, const unsigned char *data, size_t npages,
		size_t *present)
{
	*present = 0;
	if (!m || addr % OM_PG)
		return -EINVAL;
	if (npages == 0)
		return 0;
	if (addr < m->base || (addr - m->base) / OM_PG >= m->npages ||
	    npages > m->npages - (addr - m->base) / OM_PG)
		return -EINVAL;
	size_t first = (addr - m->base) / OM_PG, end = first + npages;
	size_t i = first;
	while (i < end) {
		/* skip installed pages, then take the run of missing ones */
		if (bit_test(m->installed, i)) {
			atomic_fetch_add_explicit(&m->st.pages_existing, 1, RELAXED);
			++*present;
			i++;
			continue;
		}
		size_t j = i + 1;
		while (j < end && !bit_test(m->installed, j))
			j++;
		uint64_t dst = m->base + i * OM_PG, len = (uint64_t)(j - i) * OM_PG;
		long done;
		int e = 0;
		if (data) {
			struct uffdio_copy c = {.dst = dst,
						.src = (uint64_t)(uintptr_t)(data + (i - first) * OM_PG),
						.len = len,
						.mode = 0};
			if (ioctl(m->uffd, UFFDIO_COPY, &c))
				e = errno;
			done = e ? (long)c.copy : (long)len;
		} else {
			struct uffdio_zeropage z = {.range = {dst, len}, .mode = 0};
			if (ioctl(m->uffd, UFFDIO_ZEROPAGE, &z))
				e = errno;
			done = e ? (long)z.zeropage : (long)len;
		}
		if (done > 0) {
			/* done is a multiple of the page size; those pages are mapped
			 * and their waiters woken */
			size_t n = (size_t)done / OM_PG;
			mark_installed(m, i, n);
			atomic_fetch_add_explicit(data ? &m->st.pages_copied : &m->st.pages_zeroed, n,
						  RELAXED);
			i += n;
			continue;
		}
		if (e == EEXIST) {
			/* present already: installed by a racing call, or present
			 * without our knowing. Keep it; wake anyone queued on it. */
			struct uffdio_range r = {dst, OM_PG};
			(void)ioctl(m->uffd, UFFDIO_WAKE, &r);
			mark_installed(m, i, 1);
			atomic_fetch_add_explicit(&m->st.pages_existing, 1, RELAXED);
			++*present;
			i++;
			continue;
		}
		if (e == EAGAIN || e == EINTR)
			continue;
		if (e == ENOENT || e == ESRCH)
			return -ENOENT;
		return -(e ? e : EIO);
	}
	return 0;
}

int om_missing_install(struct om_missing *m, uint64_t page_addr, const void *data, size_t npages)
{
	return om_missing_install_ex(m, page_addr, data, npages, NULL);
}

int om_missing_install_ex(struct om_missing *m, uint64_t page_addr, const void *data, size_t npages,
			  size_t *present)
{
	size_t dummy;
	if (!present)
		present = &dummy;
	if (!data) {
		*present = 0;
		return -EINVAL;
	}
	return fill(m, page_addr, data, npages, present);
}

int om_missing_install_zero(struct om_missing *m, uint64_t page_addr, size_t npages)
{
	size_t present;
	return fill(m, page_addr, NULL, npages, &present);
}

int om_missing_is_installed(const struct om_missing *m, uint64_t page_addr)
{
	if (!m || page_addr < m->base || page_addr >= m->base + m->npages * OM_PG)
		return 0;
	return bit_test(((struct om_missing *)m)->installed, (page_addr - m->base) / OM_PG);
}

pthread_t om_missing_thread(const struct om_missing *m)
{
	return m->thread;
}

size_t om_missing_pending(const struct om_missing *m)
{
	if (!m)
		return 0;
	return m->npages - atomic_load_explicit(&((struct om_missing *)m)->ninstalled, RELAXED);
}

void om_missing_get_stats(const struct om_missing *cm, struct om_missing_stats *s)
{
	if (!s)
		return;
	memset(s, 0, sizeof *s);
	if (!cm)
		return;
	struct om_missing *m = (struct om_missing *)cm;
	s->faults = atomic_load(&m->st.faults);
	s->reported = atomic_load(&m->st.reported);
	s->repeat_faults = atomic_load(&m->st.repeat_faults);
	s->late_faults = atomic_load(&m->st.late_faults);
	s->pages_copied = atomic_load(&m->st.pages_copied);
	s->pages_zeroed = atomic_load(&m->st.pages_zeroed);
	s->pages_existing = atomic_load(&m->st.pages_existing);
	s->sleeps = atomic_load(&m->st.sleeps);
}

void om_missing_close(struct om_missing *m)
{
	if (!m)
		return;
	if (m->thread_started) {
		atomic_store(&m->stop, true);
		uint64_t one = 1;
		(void)!write(m->stopfd, &one, sizeof one);
		pthread_join(m->thread, NULL);
	}
	if (m->uffd >= 0) {
		struct uffdio_range r = {m->base, m->npages * OM_PG};
		(void)ioctl(m->uffd, UFFDIO_UNREGISTER, &r);
		close(m->uffd);
	}
	if (m->stopfd >= 0)
		close(m->stopfd);
	free((void *)m->installed);
	free((void *)m->reported);
	free(m);
}
