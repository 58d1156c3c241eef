/* Tests of the userfaultfd WP_ASYNC + PAGEMAP_SCAN dirty tracker
 * (src/tracker/tracker_wp.c). Every check compares the collected bitmap with
 * the exact set of pages the test wrote: a missing page is a false negative,
 * an extra page a false positive, and both fail. The whole set runs twice:
 * with the query the probe chose, and with OM_WP_PORTABLE_SCAN forced.
 * Prints "FAIL: ..." per failed check, "test_tracker_wp: PASS" at the end,
 * exits 77 when the kernel or the privileges lack what the tracker needs. */
#include "tcommon.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <unistd.h>

static unsigned g_flags; /* open flags for this pass */
static const char *g_pass = "";

static struct om_wp_tracker *open_or_die(char *p, size_t npages)
{
	struct om_wp_tracker *t = NULL;
	char err[256] = "";
	int rc = om_wp_open_flags(&t, p, npages * PG, g_flags, err, sizeof err);
	skip_if_unsupported(rc, err, "test_tracker_wp");
	REQUIRE(rc == 0 && t, "om_wp_open: %d %s", rc, err);
	return t;
}

static uint64_t *bm_new(size_t npages)
{
	uint64_t *b = calloc((npages + 63) / 64, sizeof *b);
	REQUIRE(b, "calloc");
	return b;
}

static void bm_set(uint64_t *b, size_t i)
{
	b[i / 64] |= 1ull << (i % 64);
}

static int bm_get(const uint64_t *b, size_t i)
{
	return (int)((b[i / 64] >> (i % 64)) & 1);
}

static size_t bm_count(const uint64_t *b, size_t n)
{
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		c += (size_t)bm_get(b, i);
	return c;
}

/* Collect and compare with `want` exactly; `what` names the step. */
static void collect_expect(struct om_wp_tracker *t, size_t npages, const uint64_t *want,
			   const char *what)
{
	uint64_t *got = bm_new(npages);
	long r = om_wp_collect(t, got, npages);
	size_t nwant = bm_count(want, npages);
	CHECK(r == (long)nwant, "%s%s: collect returned %ld, expected %zu dirty pages", g_pass, what,
	      r, nwant);
	int shown = 0;
	for (size_t i = 0; i < npages; i++) {
		if (bm_get(got, i) != bm_get(want, i) && shown < 8) {
			CHECK(0, "%s%s: page %zu %s", g_pass, what, i,
			      bm_get(want, i) ? "written but not reported (false negative)"
					      : "reported but not written (false positive)");
			shown++;
		}
	}
	free(got);
}

static void expect_clean(struct om_wp_tracker *t, size_t npages, const char *what)
{
	uint64_t *none = bm_new(npages);
	collect_expect(t, npages, none, what);
	free(none);
}

/* Open starts a clean epoch; single-byte writes at random pages. */
static void test_single_writes(void)
{
	size_t n = 1024;
	char *p = region_alloc(n);
	for (size_t i = 0; i < n / 2; i++)
		p[i * PG] = 1; /* half populated before open */
	struct om_wp_tracker *t = open_or_die(p, n);
	CHECK(om_wp_npages(t) == n, "npages");
	expect_clean(t, n, "fresh tracker");

	uint64_t *want = bm_new(n);
	for (int k = 0; k < 100; k++) {
		size_t i = rnd() % n;
		p[i * PG + rnd() % PG] = (char)(k + 1);
		bm_set(want, i);
	}
	collect_expect(t, n, want, "random single-byte writes");
	expect_clean(t, n, "second collect without writes");
	free(want);
	om_wp_close(t);
	region_free(p, n);
}

/* Reads are never writes: not of populated pages, nor of never-touched
 * pages (zero page), nor after a read a write is missed. */
static void test_reads(void)
{
	size_t n = 512;
	char *p = region_alloc(n);
	for (size_t i = 0; i < n; i += 2)
		p[i * PG] = 3;
	struct om_wp_tracker *t = open_or_die(p, n);
	volatile char sink = 0;
	for (size_t i = 0; i < n; i++)
		for (size_t o = 0; o < PG; o += 512)
			sink = (char)(sink + p[i * PG + o]);
	(void)sink;
	expect_clean(t, n, "reads of every page");
	uint64_t *want = bm_new(n);
	p[1 * PG + 7] = 1; /* read above (zero page), now written */
	p[2 * PG + 9] = 1;
	bm_set(want, 1);
	bm_set(want, 2);
	collect_expect(t, n, want, "writes after reads");
	free(want);
	om_wp_close(t);
	region_free(p, n);
}

/* Stores that straddle page boundaries dirty both pages. */
static void test_crossing(void)
{
	size_t n = 256;
	char *p = region_alloc(n);
	struct om_wp_tracker *t = open_or_die(p, n);
	uint64_t *want = bm_new(n);

	uint64_t v = 0x1122334455667788ull;
	memcpy(p + 10 * PG - 4, &v, sizeof v); /* 8-byte store across 9|10 */
	bm_set(want, 9);
	bm_set(want, 10);

	volatile uint64_t *u = (volatile uint64_t *)(void *)(p + 20 * PG - 3);
	*u = v; /* an unaligned scalar store across 19|20 (x86 allows it) */
	bm_set(want, 19);
	bm_set(want, 20);

	typedef char v16 __attribute__((vector_size(16), aligned(1)));
	v16 x = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
	*(volatile v16 *)(void *)(p + 30 * PG - 8) = x; /* vector store across 29|30 */
	bm_set(want, 29);
	bm_set(want, 30);

	char buf[3 * 4096 + 2];
	memset(buf, 0x5a, sizeof buf);
	memcpy(p + 40 * PG + 4095, buf, sizeof buf); /* last byte of 40, 41..43, first of 44 */
	for (size_t i = 40; i <= 44; i++)
		bm_set(want, i);

	collect_expect(t, n, want, "page-crossing stores");
	expect_clean(t, n, "after page-crossing collect");
	free(want);
	om_wp_close(t);
	region_free(p, n);
}

/* memset over byte ranges: exactly the pages the bytes fall in. */
static void test_memset_ranges(void)
{
	size_t n = 2048;
	char *p = region_alloc(n);
	struct om_wp_tracker *t = open_or_die(p, n);
	for (int round = 0; round < 4; round++) {
		uint64_t *want = bm_new(n);
		for (int k = 0; k < 20; k++) {
			size_t a = rnd() % (n * PG);
			size_t len = 1 + rnd() % (40 * PG);
			if (a + len > n * PG)
				len = n * PG - a;
			memset(p + a, k + round + 1, len);
			for (size_t i = a / PG; i <= (a + len - 1) / PG; i++)
				bm_set(want, i);
		}
		char what[64];
		snprintf(what, sizeof what, "memset ranges, round %d", round);
		collect_expect(t, n, want, what);
		free(want);
	}
	expect_clean(t, n, "after memset rounds");
	om_wp_close(t);
	region_free(p, n);
}

/* Writes between collects are attributed to the right epoch. */
static void test_epochs(void)
{
	size_t n = 512;
	char *p = region_alloc(n);
	struct om_wp_tracker *t = open_or_die(p, n);
	uint64_t *a = bm_new(n), *b = bm_new(n);
	for (size_t i = 0; i < n; i += 7) {
		p[i * PG] = 1;
		bm_set(a, i);
	}
	collect_expect(t, n, a, "epoch A");
	for (size_t i = 3; i < n; i += 11) {
		p[i * PG + 100] = 2; /* some of these pages were in A too */
		bm_set(b, i);
	}
	collect_expect(t, n, b, "epoch B (rewrites of A pages count once more)");
	expect_clean(t, n, "epoch C (no writes)");
	p[5 * PG] = 9;
	uint64_t *c = bm_new(n);
	bm_set(c, 5);
	collect_expect(t, n, c, "epoch D (one write)");
	free(a);
	free(b);
	free(c);
	om_wp_close(t);
	region_free(p, n);
}

struct writer_arg {
	char *p;
	size_t n;
	uint64_t *want; /* pages this writer wrote (own bitmap) */
	uint64_t seed;
};

static void *writer_set(void *arg)
{
	struct writer_arg *w = arg;
	uint64_t s = w->seed;
	for (int k = 0; k < 2000; k++) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		size_t i = (size_t)(s >> 33) % w->n;
		w->p[i * PG + (s >> 20) % PG] = (char)k;
		bm_set(w->want, i);
	}
	return NULL;
}

/* Several threads writing at once (overlapping sets): the union. */
static void test_threads(void)
{
	size_t n = 4096;
	char *p = region_alloc(n);
	struct om_wp_tracker *t = open_or_die(p, n);
	enum { NT = 4 };
	pthread_t th[NT];
	struct writer_arg wa[NT];
	for (int k = 0; k < NT; k++) {
		wa[k] = (struct writer_arg){p, n, bm_new(n), 1000u + (uint64_t)k};
		pthread_create(&th[k], NULL, writer_set, &wa[k]);
	}
	uint64_t *want = bm_new(n);
	for (int k = 0; k < NT; k++) {
		pthread_join(th[k], NULL);
		for (size_t w = 0; w < (n + 63) / 64; w++)
			want[w] |= wa[k].want[w];
		free(wa[k].want);
	}
	collect_expect(t, n, want, "four writer threads");
	expect_clean(t, n, "after writer threads");
	free(want);
	om_wp_close(t);
	region_free(p, n);
}

/* A pre-copy loop against writers that never pause: the shadow copy built
 * from the collected pages must end byte-identical to the region, and no page
 * outside the writers' set may ever be reported. */
struct churn_arg {
	char *p;
	size_t n;
	atomic_bool *stop;
	uint64_t seed;
};

static void *writer_churn(void *arg)
{
	struct churn_arg *c = arg;
	uint64_t s = c->seed, k = 0;
	while (!atomic_load_explicit(c->stop, memory_order_relaxed)) {
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		size_t i = ((size_t)(s >> 33) % (c->n / 2)) * 2; /* even pages only */
		size_t off = (size_t)(s >> 16) % (PG - 8);
		k++;
		memcpy(c->p + i * PG + off, &k, sizeof k);
	}
	return NULL;
}

static void test_precopy_churn(void)
{
	size_t n = 8192; /* 32 MiB */
	char *p = region_alloc(n);
	for (size_t i = 0; i < n; i++)
		p[i * PG] = (char)i;
	char *shadow = malloc(n * PG);
	REQUIRE(shadow, "malloc shadow");
	struct om_wp_tracker *t = open_or_die(p, n); /* epoch starts before the copy */
	atomic_bool stop = false;
	enum { NT = 2 };
	pthread_t th[NT];
	struct churn_arg ca[NT];
	for (int k = 0; k < NT; k++) {
		ca[k] = (struct churn_arg){p, n, &stop, 77u + (uint64_t)k};
		pthread_create(&th[k], NULL, writer_churn, &ca[k]);
	}
	memcpy(shadow, p, n * PG); /* round 0: everything, while writers run */
	uint64_t *bm = bm_new(n);
	size_t odd_reported = 0, total = 0;
	for (int round = 0; round < 40; round++) {
		long r = om_wp_collect(t, bm, n);
		CHECK(r >= 0, "%scollect during churn: %ld", g_pass, r);
		for (size_t i = 0; i < n; i++) {
			if (bm_get(bm, i)) {
				memcpy(shadow + i * PG, p + i * PG, PG);
				total++;
				if (i % 2)
					odd_reported++;
			}
		}
		sleep_ms(2);
	}
	atomic_store(&stop, true);
	for (int k = 0; k < NT; k++)
		pthread_join(th[k], NULL);
	long r = om_wp_collect(t, bm, n); /* the final, stopped round */
	CHECK(r >= 0, "final collect: %ld", r);
	for (size_t i = 0; i < n; i++)
		if (bm_get(bm, i)) {
			memcpy(shadow + i * PG, p + i * PG, PG);
			if (i % 2)
				odd_reported++;
		}
	size_t bad = 0;
	for (size_t i = 0; i < n; i++)
		if (memcmp(shadow + i * PG, p + i * PG, PG)) {
			if (bad < 5)
				CHECK(0, "%sprecopy: page %zu differs from the source after the final "
				      "round (missed write)", g_pass, i);
			bad++;
		}
	CHECK(bad == 0, "%sprecopy: %zu pages differ", g_pass, bad);
	CHECK(odd_reported == 0, "%sprecopy: %zu never-written pages reported", g_pass,
	      odd_reported);
	CHECK(total > 0, "%sprecopy: no dirty page seen while writers ran", g_pass);
	free(bm);
	free(shadow);
	om_wp_close(t);
	region_free(p, n);
}

/* A THP-backed range: writes still report 4 KiB pages exactly. */
static void test_thp(void)
{
	size_t n = 2048; /* 8 MiB, 2 MiB aligned */
	char *p = region_alloc(n);
	madvise(p, n * PG, MADV_HUGEPAGE);
	memset(p, 1, n * PG);
	struct om_wp_tracker *t = open_or_die(p, n);
	uint64_t *want = bm_new(n);
	size_t pages[] = {0, 5, 511, 512, 1000, 2047};
	for (size_t k = 0; k < sizeof pages / sizeof pages[0]; k++) {
		p[pages[k] * PG + 33] = 2;
		bm_set(want, pages[k]);
	}
	collect_expect(t, n, want, "writes into huge pages");
	expect_clean(t, n, "huge pages after collect");
	free(want);
	om_wp_close(t);
	region_free(p, n);
}

/* A discarded page reads as zero afterwards: its content changed, so it is
 * reported once, and only once. */
static void test_discard(void)
{
	size_t n = 1024;
	char *p = region_alloc(n);
	memset(p, 7, n * PG);
	struct om_wp_tracker *t = open_or_die(p, n);
	uint64_t *want = bm_new(n);
	madvise(p + 10 * PG, 3 * PG, MADV_DONTNEED);
	for (size_t i = 10; i < 13; i++)
		bm_set(want, i);
	madvise(p + 512 * PG, 512 * PG, MADV_DONTNEED); /* a whole 2 MiB block */
	for (size_t i = 512; i < 1024; i++)
		bm_set(want, i);
	collect_expect(t, n, want, "discarded pages");
	CHECK(p[11 * PG] == 0 && p[600 * PG] == 0, "discarded pages read as zero");
	expect_clean(t, n, "reads of discarded pages after collect");
	free(want);
	om_wp_close(t);
	region_free(p, n);
}

/* The enclave range layout: a PROT_NONE, MAP_NORESERVE reserve with parts
 * opened read-write later. Tracking covers the whole reserve; pages opened
 * and written after open are reported, protection changes alone are not. */
static void test_reserve_mprotect(void)
{
	size_t n = 1024;
	char *p = region_alloc(n);
	REQUIRE(mmap(p, n * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		     -1, 0) == p, "reserve");
	REQUIRE(mprotect(p, 100 * PG, PROT_READ | PROT_WRITE) == 0, "mprotect");
	memset(p, 1, 100 * PG);
	struct om_wp_tracker *t = open_or_die(p, n);
	REQUIRE(mprotect(p + 500 * PG, 200 * PG, PROT_READ | PROT_WRITE) == 0, "mprotect 2");
	REQUIRE(mprotect(p + 50 * PG, 10 * PG, PROT_READ) == 0, "mprotect 3");
	REQUIRE(mprotect(p + 50 * PG, 10 * PG, PROT_READ | PROT_WRITE) == 0, "mprotect 4");
	expect_clean(t, n, "protection changes only");
	uint64_t *want = bm_new(n);
	p[55 * PG] = 2;
	bm_set(want, 55);
	memset(p + 600 * PG + 10, 3, 5 * PG);
	for (size_t i = 600; i <= 605; i++)
		bm_set(want, i);
	volatile char c = p[650 * PG]; /* read of a newly opened page */
	(void)c;
	collect_expect(t, n, want, "writes into opened parts of a reserve");
	free(want);
	om_wp_close(t);
	region_free(p, n);
}

/* Writes done by the kernel on the process's behalf (read(2)). */
static void test_kernel_writes(void)
{
	size_t n = 64;
	char *p = region_alloc(n);
	struct om_wp_tracker *t = open_or_die(p, n);
	int fds[2];
	REQUIRE(pipe(fds) == 0, "pipe");
	char msg[6000];
	memset(msg, 'k', sizeof msg);
	REQUIRE(write(fds[1], msg, sizeof msg) == (ssize_t)sizeof msg, "pipe write");
	REQUIRE(read(fds[0], p + 8 * PG + 3000, sizeof msg) == (ssize_t)sizeof msg, "pipe read");
	close(fds[0]);
	close(fds[1]);
	uint64_t *want = bm_new(n);
	bm_set(want, 8);
	bm_set(want, 9);
	bm_set(want, 10); /* 3000 + 6000 = 9000 bytes past page 8: ends in page 10 */
	collect_expect(t, n, want, "read(2) into the range");
	free(want);
	om_wp_close(t);
	region_free(p, n);
}

/* More dirty runs than one PAGEMAP_SCAN output vector holds. */
static void test_many_runs(void)
{
	size_t n = 32768; /* 128 MiB, 16384 separate dirty runs */
	char *p = region_alloc(n);
	struct om_wp_tracker *t = open_or_die(p, n);
	uint64_t *want = bm_new(n);
	for (size_t i = 0; i < n; i += 2) {
		p[i * PG] = 1;
		bm_set(want, i);
	}
	collect_expect(t, n, want, "16384 separate dirty pages");
	struct om_wp_stats st;
	om_wp_get_stats(t, &st);
	CHECK(st.scan_ioctls >= 8, "%sexpected several PAGEMAP_SCAN calls, got %llu", g_pass,
	      (unsigned long long)st.scan_ioctls);
	CHECK(st.portable_scan == ((g_flags & OM_WP_PORTABLE_SCAN) ? 1 : st.portable_scan),
	      "portable flag not honoured");
	expect_clean(t, n, "after many runs");
	free(want);
	om_wp_close(t);
	region_free(p, n);
}

/* collect_range touches only its sub-range; the rest stays dirty. */
static void test_collect_range(void)
{
	size_t n = 128;
	char *p = region_alloc(n);
	struct om_wp_tracker *t = open_or_die(p, n);
	p[10 * PG] = 1;
	p[20 * PG] = 1;
	p[30 * PG] = 1;
	uint64_t bm[2] = {~0ull, ~0ull};
	long r = om_wp_collect_range(t, 15, 10, bm, 10);
	CHECK(r == 1 && (bm[0] & 0x3ff) == (1ull << 5), "collect_range(15,10): r=%ld bm=%llx", r,
	      (unsigned long long)bm[0]);
	CHECK((bm[0] >> 10) == (~0ull >> 10), "collect_range cleared bits beyond nbits");
	uint64_t *want = bm_new(n);
	bm_set(want, 10);
	bm_set(want, 30);
	collect_expect(t, n, want, "the rest after collect_range");
	CHECK(om_wp_collect_range(t, 120, 9, bm, 64) == -EINVAL, "range past the end");
	CHECK(om_wp_collect_range(t, 0, 0, bm, 0) == 0, "empty range");
	free(want);
	om_wp_close(t);
	region_free(p, n);
}

/* Bad arguments fail cleanly and lose nothing. */
static void test_bad_args(void)
{
	size_t n = 128;
	char *p = region_alloc(n);
	struct om_wp_tracker *t = NULL;
	char err[256];
	CHECK(om_wp_open(&t, p + 1, PG, err, sizeof err) == -EINVAL && !t, "unaligned address");
	CHECK(om_wp_open(&t, p, PG + 1, err, sizeof err) == -EINVAL, "unaligned length");
	CHECK(om_wp_open(&t, p, 0, err, sizeof err) == -EINVAL, "empty range");
	CHECK(om_wp_open_flags(&t, p, PG, 0x80, err, sizeof err) == -EINVAL, "unknown flag");
	t = open_or_die(p, n);
	struct om_wp_tracker *t2 = NULL;
	int rc = om_wp_open(&t2, p + 4 * PG, 4 * PG, err, sizeof err);
	CHECK(rc == -EBUSY && !t2, "second tracker on the same pages: %d (%s)", rc, err);
	p[3 * PG] = 1;
	uint64_t small[1];
	CHECK(om_wp_collect(t, small, 64) == -EINVAL, "bitmap too small is refused");
	uint64_t *want = bm_new(n);
	bm_set(want, 3);
	collect_expect(t, n, want, "writes survive a refused collect");
	free(want);
	om_wp_close(t);
	region_free(p, n);
}

/* Replacing part of the mapping is an error, not silence; pages found before
 * the failure are still handed over. */
static void test_remap_detected(void)
{
	size_t n = 64;
	char *p = region_alloc(n);
	struct om_wp_tracker *t = open_or_die(p, n);
	p[1 * PG] = 1;
	void *q = mmap(p + 32 * PG, 8 * PG, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	REQUIRE(q == p + 32 * PG, "remap");
	uint64_t bm[1] = {0};
	long r = om_wp_collect(t, bm, n);
	CHECK(r == -EPERM, "%scollect over a replaced mapping: %ld, expected -EPERM", g_pass, r);
	CHECK(bm[0] & (1ull << 1), "%spage written before the replaced part is in the bitmap",
	      g_pass);
	om_wp_close(t);
	region_free(p, n);
}

/* Mappings (lines of /proc/self/maps) that overlap [p, p+len). */
static int count_vmas(const char *p, size_t len)
{
	FILE *f = fopen("/proc/self/maps", "r");
	REQUIRE(f, "open /proc/self/maps");
	char line[512];
	int c = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long a, b;
		if (sscanf(line, "%lx-%lx", &a, &b) == 2 && a < (uintptr_t)p + len && b > (uintptr_t)p)
			c++;
	}
	fclose(f);
	return c;
}

/* Close drops the protection and leaves one mapping (close unregisters in
 * slices); the range can be tracked again. */
static void test_reopen(void)
{
	size_t n = 3000; /* several unregister slices, the last one partial */
	char *p = region_alloc(n);
	memset(p, 1, n * PG);
	struct om_wp_tracker *t = open_or_die(p, n);
	uint64_t *all = bm_new(n);
	memset(p, 2, n * PG);
	CHECK(om_wp_collect(t, all, n) == (long)n, "%sall pages dirty", g_pass);
	free(all);
	om_wp_close(t);
	CHECK(count_vmas(p, n * PG) == 1, "%safter close the range is %d mappings, expected 1",
	      g_pass, count_vmas(p, n * PG));
	memset(p, 1, n * PG); /* no tracker: plain writes */
	t = open_or_die(p, n);
	expect_clean(t, n, "reopened tracker");
	p[2999 * PG + 4095] = 2;
	uint64_t *want = bm_new(n);
	bm_set(want, 2999);
	collect_expect(t, n, want, "reopened tracker, one write");
	free(want);
	om_wp_close(t);
	om_wp_close(NULL);
	region_free(p, n);
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

#define RUN(fn)                                                                            \
	do {                                                                               \
		int f0 = failures;                                                         \
		double t0 = now_ms();                                                      \
		fn();                                                                      \
		printf("%s %s%s (%.0f ms)\n", failures == f0 ? "ok:" : "failed:", g_pass, #fn, \
		       now_ms() - t0);                                                     \
	} while (0)

static void run_all(void)
{
	RUN(test_single_writes);
	RUN(test_reads);
	RUN(test_crossing);
	RUN(test_memset_ranges);
	RUN(test_epochs);
	RUN(test_threads);
	RUN(test_precopy_churn);
	RUN(test_thp);
	RUN(test_discard);
	RUN(test_reserve_mprotect);
	RUN(test_kernel_writes);
	RUN(test_many_runs);
	RUN(test_collect_range);
	RUN(test_bad_args);
	RUN(test_remap_detected);
	RUN(test_reopen);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	g_flags = 0;
	g_pass = "";
	run_all();
	struct om_wp_stats st;
	{
		size_t n = 16;
		char *p = region_alloc(n);
		struct om_wp_tracker *t = open_or_die(p, n);
		om_wp_get_stats(t, &st);
		om_wp_close(t);
		region_free(p, n);
	}
	printf("ok: default pass (%s query)\n", st.portable_scan ? "portable" : "PAGE_IS_WRITTEN");
	g_flags = OM_WP_PORTABLE_SCAN;
	g_pass = "[portable] ";
	run_all();
	printf("ok: portable-query pass\n");
	if (failures) {
		printf("test_tracker_wp: %d failures\n", failures);
		return 1;
	}
	printf("test_tracker_wp: PASS\n");
	return 0;
}
