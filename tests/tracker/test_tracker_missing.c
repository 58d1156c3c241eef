/* Tests of the userfaultfd MISSING post-copy service
 * (src/tracker/tracker_missing.c), in each service mode: blocking, busy-poll
 * and adaptive. A page never installed must block its reader until it is
 * installed, and the reader must then see exactly the installed bytes, never
 * zero or stale data. Prints "FAIL: ..." per failed check and
 * "test_tracker_missing: PASS" at the end; exits 77 when userfaultfd is not
 * available to this process. */
#include "tcommon.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

static int g_mode;
static char g_pass[32];

/* Content of page i in the "source": every 8-byte word depends on the page
 * index and its offset, and none is zero. */
static uint64_t pattern_word(size_t page, size_t word, uint64_t salt)
{
	return ((uint64_t)page << 32 | word) * 0x9E3779B97F4A7C15ull + salt + 1;
}

static void fill_page(unsigned char *dst, size_t page, uint64_t salt)
{
	for (size_t w = 0; w < PG / 8; w++) {
		uint64_t v = pattern_word(page, w, salt);
		memcpy(dst + w * 8, &v, 8);
	}
}

static int page_matches(const unsigned char *src, size_t page, uint64_t salt)
{
	for (size_t w = 0; w < PG / 8; w++) {
		uint64_t v;
		memcpy(&v, src + w * 8, 8);
		if (v != pattern_word(page, w, salt))
			return 0;
	}
	return 1;
}

/* Callback log: the pages reported, in order. */
struct cblog {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t pages[4096];
	size_t n;
};

static void cb_log(void *ctx, uint64_t page)
{
	struct cblog *l = ctx;
	pthread_mutex_lock(&l->mu);
	if (l->n < sizeof l->pages / sizeof l->pages[0])
		l->pages[l->n] = page;
	l->n++;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static void cblog_init(struct cblog *l)
{
	memset(l, 0, sizeof *l);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cv, NULL);
}

/* Wait until the log holds at least n entries (10 s at most). */
static bool cblog_wait(struct cblog *l, size_t n)
{
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	pthread_mutex_lock(&l->mu);
	while (l->n < n)
		if (pthread_cond_timedwait(&l->cv, &l->mu, &dl))
			break;
	bool ok = l->n >= n;
	pthread_mutex_unlock(&l->mu);
	return ok;
}

static struct om_missing *open_or_die(char *p, size_t npages, om_fault_cb cb, void *ctx)
{
	struct om_missing *m = NULL;
	char err[256] = "";
	int rc = om_missing_open(&m, p, npages * PG, cb, ctx, g_mode, err, sizeof err);
	skip_if_unsupported(rc, err, "test_tracker_missing");
	REQUIRE(rc == 0 && m, "om_missing_open: %d %s", rc, err);
	return m;
}

struct reader {
	const unsigned char *page;
	unsigned char copy[4096];
	atomic_bool done;
};

static void *reader_main(void *arg)
{
	struct reader *r = arg;
	memcpy(r->copy, r->page, PG);
	atomic_store(&r->done, true);
	return NULL;
}

/* The core guarantee: block until install, then exactly the installed data;
 * the callback saw that page first. */
static void test_block_until_install(void)
{
	size_t n = 64, k = 37;
	char *p = region_alloc(n);
	struct cblog log;
	cblog_init(&log);
	struct om_missing *m = open_or_die(p, n, cb_log, &log);
	CHECK(om_missing_pending(m) == n, "%sall pages pending", g_pass);

	struct reader r = {.page = (unsigned char *)p + k * PG};
	pthread_t th;
	pthread_create(&th, NULL, reader_main, &r);
	REQUIRE(cblog_wait(&log, 1), "%sno fault reported for the touched page", g_pass);
	CHECK(log.pages[0] == (uint64_t)(uintptr_t)(p + k * PG), "%sfirst reported page %#llx, "
	      "expected page %zu", g_pass, (unsigned long long)log.pages[0], k);
	sleep_ms(50);
	CHECK(!atomic_load(&r.done), "%sreader finished before its page was installed", g_pass);

	unsigned char src[4096];
	fill_page(src, k, 1);
	CHECK(om_missing_install(m, (uint64_t)(uintptr_t)(p + k * PG), src, 1) == 0,
	      "%sinstall", g_pass);
	pthread_join(th, NULL);
	CHECK(page_matches(r.copy, k, 1), "%sreader saw other bytes than the installed page",
	      g_pass);
	CHECK(page_matches((unsigned char *)p + k * PG, k, 1), "%spage content after install",
	      g_pass);
	CHECK(om_missing_pending(m) == n - 1, "%spending after one install: %zu", g_pass,
	      om_missing_pending(m));
	CHECK(om_missing_is_installed(m, (uint64_t)(uintptr_t)(p + k * PG)) == 1 &&
	      om_missing_is_installed(m, (uint64_t)(uintptr_t)p) == 0, "%sis_installed", g_pass);
	CHECK(log.n == 1, "%sone fault reported, got %zu", g_pass, log.n);
	om_missing_close(m);
	region_free(p, n);
}

/* Installing twice, or over a partly installed range, keeps the first
 * content and is not an error. */
static void test_install_twice(void)
{
	size_t n = 32;
	char *p = region_alloc(n);
	struct om_missing *m = open_or_die(p, n, NULL, NULL);
	unsigned char a[4096], b[5 * 4096];
	fill_page(a, 10, 1);
	uint64_t pg10 = (uint64_t)(uintptr_t)(p + 10 * PG);
	CHECK(om_missing_install(m, pg10, a, 1) == 0, "%sfirst install", g_pass);
	fill_page(b, 10, 2);
	CHECK(om_missing_install(m, pg10, b, 1) == 0, "%ssecond install returns 0", g_pass);
	CHECK(page_matches((unsigned char *)p + 10 * PG, 10, 1), "%sfirst content stays", g_pass);
	for (size_t i = 0; i < 5; i++)
		fill_page(b + i * PG, 8 + i, 3);
	CHECK(om_missing_install(m, (uint64_t)(uintptr_t)(p + 8 * PG), b, 5) == 0,
	      "%srange install over an installed page", g_pass);
	for (size_t i = 8; i < 13; i++)
		CHECK(page_matches((unsigned char *)p + i * PG, i, i == 10 ? 1 : 3),
		      "%spage %zu after range install", g_pass, i);
	CHECK(om_missing_pending(m) == n - 5, "%spending %zu", g_pass, om_missing_pending(m));
	struct om_missing_stats st;
	om_missing_get_stats(m, &st);
	CHECK(st.pages_copied == 5 && st.pages_existing == 2, "%sstats copied %llu existing %llu",
	      g_pass, (unsigned long long)st.pages_copied, (unsigned long long)st.pages_existing);
	CHECK(st.faults == 0, "%sno fault while only installing", g_pass);
	om_missing_close(m);
	region_free(p, n);
}

/* install_zero: zero content on purpose; the page is then private on write. */
static void test_install_zero(void)
{
	size_t n = 16;
	char *p = region_alloc(n);
	struct cblog log;
	cblog_init(&log);
	struct om_missing *m = open_or_die(p, n, cb_log, &log);
	struct reader r = {.page = (unsigned char *)p + 3 * PG};
	memset(r.copy, 0xff, sizeof r.copy);
	pthread_t th;
	pthread_create(&th, NULL, reader_main, &r);
	REQUIRE(cblog_wait(&log, 1), "%sfault on page 3", g_pass);
	CHECK(om_missing_install_zero(m, (uint64_t)(uintptr_t)(p + 2 * PG), 4) == 0,
	      "%sinstall_zero 2..5", g_pass);
	pthread_join(th, NULL);
	static const unsigned char zero[4096];
	CHECK(memcmp(r.copy, zero, PG) == 0, "%sreader of a zero-installed page", g_pass);
	p[4 * PG] = 9;
	CHECK(p[4 * PG] == 9 && p[5 * PG] == 0, "%swrite to a zero page", g_pass);
	unsigned char a[4096];
	fill_page(a, 4, 1);
	CHECK(om_missing_install(m, (uint64_t)(uintptr_t)(p + 4 * PG), a, 1) == 0 &&
	      p[4 * PG] == 9, "%sinstall over a zero-installed page is skipped", g_pass);
	om_missing_close(m);
	region_free(p, n);
}

/* Pages present at open count as installed and never fault. */
static void test_present_at_open(void)
{
	size_t n = 64;
	char *p = region_alloc(n);
	for (size_t i = 0; i < 10; i++)
		fill_page((unsigned char *)p + i * PG, i, 5);
	struct cblog log;
	cblog_init(&log);
	struct om_missing *m = open_or_die(p, n, cb_log, &log);
	CHECK(om_missing_pending(m) == n - 10, "%spending with 10 present: %zu", g_pass,
	      om_missing_pending(m));
	for (size_t i = 0; i < 10; i++)
		CHECK(page_matches((unsigned char *)p + i * PG, i, 5), "%spresent page %zu", g_pass,
		      i);
	unsigned char a[4096];
	fill_page(a, 3, 6);
	CHECK(om_missing_install(m, (uint64_t)(uintptr_t)(p + 3 * PG), a, 1) == 0 &&
	      page_matches((unsigned char *)p + 3 * PG, 3, 5), "%spresent page not replaced", g_pass);
	struct om_missing_stats st;
	om_missing_get_stats(m, &st);
	CHECK(st.faults == 0 && log.n == 0, "%sno faults on present pages", g_pass);
	om_missing_close(m);
	region_free(p, n);
}

/* A kernel access (write(2) from a missing page) waits the same way. */
struct pipe_writer {
	int fd;
	const char *src;
	ssize_t r;
};

static void *pipe_writer_main(void *arg)
{
	struct pipe_writer *w = arg;
	w->r = write(w->fd, w->src, 100);
	return NULL;
}

static void test_kernel_access(void)
{
	size_t n = 8;
	char *p = region_alloc(n);
	struct cblog log;
	cblog_init(&log);
	struct om_missing *m = open_or_die(p, n, cb_log, &log);
	int fds[2];
	REQUIRE(pipe(fds) == 0, "pipe");
	struct pipe_writer w = {fds[1], p + 5 * PG + 200, 0};
	pthread_t th;
	pthread_create(&th, NULL, pipe_writer_main, &w);
	REQUIRE(cblog_wait(&log, 1), "%sno fault for a kernel read of a missing page", g_pass);
	CHECK(log.pages[0] == (uint64_t)(uintptr_t)(p + 5 * PG), "%skernel fault page", g_pass);
	unsigned char a[4096];
	fill_page(a, 5, 7);
	CHECK(om_missing_install(m, (uint64_t)(uintptr_t)(p + 5 * PG), a, 1) == 0, "%sinstall",
	      g_pass);
	pthread_join(th, NULL);
	char got[100];
	CHECK(w.r == 100 && read(fds[0], got, 100) == 100 && memcmp(got, a + 200, 100) == 0,
	      "%sthe pipe carries the installed bytes", g_pass);
	close(fds[0]);
	close(fds[1]);
	om_missing_close(m);
	region_free(p, n);
}

/* Installed, then discarded: the next touch gets zero, and does not hang.
 * Discarded before install (the documented recipe): zero, old data skipped. */
static void test_discard(void)
{
	size_t n = 8;
	char *p = region_alloc(n);
	struct cblog log;
	cblog_init(&log);
	struct om_missing *m = open_or_die(p, n, cb_log, &log);
	unsigned char a[4096];
	fill_page(a, 1, 1);
	uint64_t pg1 = (uint64_t)(uintptr_t)(p + PG), pg2 = pg1 + PG;
	CHECK(om_missing_install(m, pg1, a, 1) == 0, "%sinstall", g_pass);
	madvise(p + PG, PG, MADV_DONTNEED);
	struct reader r = {.page = (unsigned char *)p + PG};
	memset(r.copy, 0xff, sizeof r.copy);
	pthread_t th;
	pthread_create(&th, NULL, reader_main, &r);
	pthread_join(th, NULL); /* would hang if the fault were left unanswered */
	static const unsigned char zero[4096];
	CHECK(memcmp(r.copy, zero, PG) == 0, "%sdiscarded page reads as zero", g_pass);
	struct om_missing_stats st;
	om_missing_get_stats(m, &st);
	CHECK(st.late_faults == 1 && log.n == 0, "%slate fault answered, not reported (%llu, %zu)",
	      g_pass, (unsigned long long)st.late_faults, log.n);

	madvise(p + 2 * PG, PG, MADV_DONTNEED);
	CHECK(om_missing_install_zero(m, pg2, 1) == 0, "%sdiscard recipe", g_pass);
	fill_page(a, 2, 1);
	CHECK(om_missing_install(m, pg2, a, 1) == 0 && memcmp(p + 2 * PG, zero, PG) == 0,
	      "%sold content after a discard is not installed", g_pass);
	om_missing_close(m);
	region_free(p, n);
}

/* A PROT_NONE, MAP_NORESERVE reserve registered whole, parts opened later
 * (the enclave range layout). */
static void test_reserve(void)
{
	size_t n = 256;
	char *p = region_alloc(n);
	REQUIRE(mmap(p, n * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		     -1, 0) == p, "reserve");
	struct cblog log;
	cblog_init(&log);
	struct om_missing *m = open_or_die(p, n, cb_log, &log);
	REQUIRE(mprotect(p + 100 * PG, 50 * PG, PROT_READ | PROT_WRITE) == 0, "mprotect");
	struct reader r = {.page = (unsigned char *)p + 120 * PG};
	pthread_t th;
	pthread_create(&th, NULL, reader_main, &r);
	REQUIRE(cblog_wait(&log, 1), "%sfault in an opened part of the reserve", g_pass);
	unsigned char a[4 * 4096];
	for (size_t i = 0; i < 4; i++)
		fill_page(a + i * PG, 118 + i, 8);
	CHECK(om_missing_install(m, (uint64_t)(uintptr_t)(p + 118 * PG), a, 4) == 0, "%sinstall",
	      g_pass);
	pthread_join(th, NULL);
	CHECK(page_matches(r.copy, 120, 8), "%sreader in the reserve saw the installed page", g_pass);
	om_missing_close(m);
	region_free(p, n);
}

static void test_bad_args(void)
{
	size_t n = 8;
	char *p = region_alloc(n);
	struct om_missing *m = NULL;
	char err[256];
	CHECK(om_missing_open(&m, p + 8, PG, NULL, NULL, 0, err, sizeof err) == -EINVAL && !m,
	      "unaligned open");
	CHECK(om_missing_open(&m, p, PG, NULL, NULL, -2, err, sizeof err) == -EINVAL,
	      "bad poll mode");
	m = open_or_die(p, n, NULL, NULL);
	struct om_missing *m2 = NULL;
	CHECK(om_missing_open(&m2, p, PG, NULL, NULL, 0, err, sizeof err) == -EBUSY && !m2,
	      "%ssecond registration: %s", g_pass, err);
	unsigned char a[4096] = {1};
	uint64_t base = (uint64_t)(uintptr_t)p;
	CHECK(om_missing_install(m, base + 1, a, 1) == -EINVAL, "unaligned install");
	CHECK(om_missing_install(m, base + n * PG, a, 1) == -EINVAL, "install past the end");
	CHECK(om_missing_install(m, base + (n - 1) * PG, a, 2) == -EINVAL, "install overrunning");
	CHECK(om_missing_install(m, base - PG, a, 1) == -EINVAL, "install before the start");
	CHECK(om_missing_install(m, base, NULL, 1) == -EINVAL, "install without data");
	CHECK(om_missing_install(m, base, a, 0) == 0, "empty install");
	CHECK(om_missing_pending(m) == n, "%snothing installed by bad calls", g_pass);
	om_missing_close(m);
	om_missing_close(NULL);
	region_free(p, n);
}

/* Post-copy in small: reader threads touch pages in random order while a
 * "network" thread serves faulted pages first and a background stream
 * installs everything in order. Every reader must see exact content. */
#define MT_PAGES 2048
struct mt {
	char *p;
	struct om_missing *m;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t q[MT_PAGES * 2];
	size_t qh, qt;
	atomic_bool stop;
	atomic_size_t bad, touched;
};

static void mt_cb(void *ctx, uint64_t page)
{
	struct mt *s = ctx;
	pthread_mutex_lock(&s->mu);
	if (s->qt - s->qh < sizeof s->q / sizeof s->q[0])
		s->q[s->qt++ % (sizeof s->q / sizeof s->q[0])] = page;
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void *mt_urgent(void *arg)
{
	struct mt *s = arg;
	unsigned char buf[4096];
	for (;;) {
		pthread_mutex_lock(&s->mu);
		while (s->qh == s->qt && !atomic_load(&s->stop))
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->qh == s->qt) {
			pthread_mutex_unlock(&s->mu);
			return NULL;
		}
		uint64_t page = s->q[s->qh++ % (sizeof s->q / sizeof s->q[0])];
		pthread_mutex_unlock(&s->mu);
		size_t i = (page - (uint64_t)(uintptr_t)s->p) / PG;
		fill_page(buf, i, 9);
		if (om_missing_install(s->m, page, buf, 1))
			atomic_fetch_add(&s->bad, 1);
	}
}

static void *mt_stream(void *arg)
{
	struct mt *s = arg;
	static unsigned char buf[16 * 4096];
	for (size_t i = 0; i < MT_PAGES; i += 16) {
		for (size_t k = 0; k < 16; k++)
			fill_page(buf + k * PG, i + k, 9);
		if (om_missing_install(s->m, (uint64_t)(uintptr_t)(s->p + i * PG), buf, 16))
			atomic_fetch_add(&s->bad, 1);
		if (i % 256 == 0)
			sleep_ms(2); /* slower than the readers */
	}
	return NULL;
}

static void *mt_reader(void *arg)
{
	struct mt *s = arg;
	uint64_t x = (uint64_t)(uintptr_t)&x;
	for (int k = 0; k < 300; k++) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		size_t i = (size_t)(x >> 33) % MT_PAGES;
		if (!page_matches((unsigned char *)s->p + i * PG, i, 9))
			atomic_fetch_add(&s->bad, 1);
		atomic_fetch_add(&s->touched, 1);
	}
	return NULL;
}

static void test_postcopy_threads(void)
{
	struct mt *s = calloc(1, sizeof *s);
	REQUIRE(s, "calloc");
	s->p = region_alloc(MT_PAGES);
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->m = open_or_die(s->p, MT_PAGES, mt_cb, s);
	enum { NR = 4 };
	pthread_t urgent, stream, rd[NR];
	pthread_create(&urgent, NULL, mt_urgent, s);
	for (int k = 0; k < NR; k++)
		pthread_create(&rd[k], NULL, mt_reader, s);
	sleep_ms(20); /* let the readers fault before the stream starts */
	pthread_create(&stream, NULL, mt_stream, s);
	for (int k = 0; k < NR; k++)
		pthread_join(rd[k], NULL);
	pthread_join(stream, NULL);
	atomic_store(&s->stop, true);
	pthread_mutex_lock(&s->mu);
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
	pthread_join(urgent, NULL);
	CHECK(atomic_load(&s->bad) == 0, "%s%zu readers saw wrong content or installs failed",
	      g_pass, atomic_load(&s->bad));
	CHECK(om_missing_pending(s->m) == 0, "%spending after the stream: %zu", g_pass,
	      om_missing_pending(s->m));
	for (size_t i = 0; i < MT_PAGES; i++)
		if (!page_matches((unsigned char *)s->p + i * PG, i, 9)) {
			CHECK(0, "%spage %zu wrong after post-copy", g_pass, i);
			break;
		}
	struct om_missing_stats st;
	om_missing_get_stats(s->m, &st);
	CHECK(st.reported > 0 && st.pages_copied == MT_PAGES,
	      "%sfaults reported %llu, pages copied %llu", g_pass, (unsigned long long)st.reported,
	      (unsigned long long)st.pages_copied);
	om_missing_close(s->m);
	region_free(s->p, MT_PAGES);
	free(s);
}

/* The callback installs at once (the synchronous service of the bench). */
struct syncsvc {
	struct om_missing *m;
	uint64_t base;
};

static void cb_install_now(void *ctx, uint64_t page)
{
	struct syncsvc *s = ctx;
	unsigned char buf[4096];
	fill_page(buf, (page - s->base) / PG, 4);
	if (om_missing_install(s->m, page, buf, 1))
		abort();
}

static void test_sync_service(void)
{
	size_t n = 512;
	char *p = region_alloc(n);
	struct syncsvc s = {NULL, (uint64_t)(uintptr_t)p};
	struct om_missing *m = NULL;
	char err[256];
	int rc = om_missing_open(&m, p, n * PG, cb_install_now, &s, g_mode, err, sizeof err);
	skip_if_unsupported(rc, err, "test_tracker_missing");
	REQUIRE(rc == 0, "open: %s", err);
	s.m = m; /* no fault happens before this: nothing touches p yet */
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += !page_matches((unsigned char *)p + i * PG, i, 4);
	CHECK(bad == 0, "%ssynchronous service: %zu wrong pages", g_pass, bad);
	/* The reader may run before the service thread has recorded the
	 * install that woke it: give the bookkeeping a moment. */
	for (int w = 0; w < 1000 && om_missing_pending(m); w++)
		sleep_ms(1);
	struct om_missing_stats st;
	om_missing_get_stats(m, &st);
	CHECK(st.faults == n && st.reported == n && om_missing_pending(m) == 0,
	      "%sone fault per page: %llu faults, %llu reported", g_pass,
	      (unsigned long long)st.faults, (unsigned long long)st.reported);
	om_missing_close(m);
	region_free(p, n);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	const int modes[] = {OM_MISSING_BLOCK, OM_MISSING_SPIN, 2000};
	const char *names[] = {"block", "spin", "adaptive 2000us"};
	for (size_t k = 0; k < 3; k++) {
		g_mode = modes[k];
		snprintf(g_pass, sizeof g_pass, "[%s] ", names[k]);
		test_block_until_install();
		test_install_twice();
		test_install_zero();
		test_present_at_open();
		test_kernel_access();
		test_discard();
		test_reserve();
		test_bad_args();
		test_postcopy_threads();
		test_sync_service();
		printf("ok: %s mode\n", names[k]);
	}
	if (failures) {
		printf("test_tracker_missing: %d failures\n", failures);
		return 1;
	}
	printf("test_tracker_missing: PASS\n");
	return 0;
}
