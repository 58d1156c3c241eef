/* Benchmarks of the kernel trackers (src/tracker), printed as Markdown tables.
 *
 *   bench_tracker scan  [MiB]   dirty tracking: open cost, then collect cost
 *                               (PAGEMAP_SCAN + re-protect) against the dirty
 *                               fraction, random and contiguous, for both
 *                               scan queries; cost of a tracked write
 *   bench_tracker fault [pages] missing-page service: faults/s and µs per
 *                               fault with the service thread blocking,
 *                               busy-polling and adaptive
 *   bench_tracker copy  [MiB]   UFFDIO_COPY throughput by chunk size, and
 *                               UFFDIO_ZEROPAGE, beside memcpy baselines
 *
 * Medians of several repetitions. Run by bench/tracker/run.sh. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tracker_uffd.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define PG ((size_t)OM_TRACKER_PAGE_SIZE)

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static char *map_aligned(size_t len)
{
	size_t align = 2u << 20;
	char *raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (raw == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	char *p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	if (raw + align > p)
		munmap(p + len, (size_t)(raw + align - p));
	return p;
}

static void die_open(int rc, const char *err)
{
	fprintf(stderr, "open failed (%d): %s\n", rc, err);
	exit(om_tracker_unsupported(rc) ? 77 : 1);
}

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---------------------------------------------------------------- scan */

/* Another thread that keeps taking page faults: the longest gap between two
 * of its faults while the tracker closes shows whether close stalls the
 * application (UFFDIO_UNREGISTER holds the mmap lock for writing). */
static volatile int probe_stop;
static double probe_maxgap;
static void *fault_prober(void *arg)
{
	(void)arg;
	size_t n = 65536;
	char *q = mmap(NULL, n * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (q == MAP_FAILED)
		return NULL;
	double last = now_s();
	for (size_t i = 0; !probe_stop; i++) {
		if (i % n == 0) {
			madvise(q, n * PG, MADV_DONTNEED); /* not a stall of interest */
			last = now_s();
		}
		q[(i % n) * PG] = 1;
		double t = now_s();
		if (t - last > probe_maxgap)
			probe_maxgap = t - last;
		last = t;
	}
	munmap(q, n * PG);
	return NULL;
}

static void bench_scan(size_t mib)
{
	size_t len = mib << 20, n = len / PG;
	char *p = map_aligned(len);
	madvise(p, len, MADV_HUGEPAGE);
	memset(p, 1, len);
	size_t *perm = malloc(n * sizeof *perm);
	uint64_t *bm = calloc((n + 63) / 64, 8);
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = rnd() % (i + 1), t = perm[i];
		perm[i] = perm[j];
		perm[j] = t;
	}
	const double fracs[] = {0, 0.001, 0.01, 0.1, 0.5, 1.0};
	const int nf = sizeof fracs / sizeof fracs[0], reps = 3;

	printf("| query | pattern | dirty | dirty pages | 2 MiB blocks holding them | collect ms (median "
	       "of %d) | collect µs per block | write µs/page |\n", reps);
	printf("|---|---|---|---|---|---|---|---|\n");
	unsigned char *blk = malloc(n / 512 + 1);
	double open_ms[2] = {0}, close_ms[2] = {0}, stall_ms[2] = {0};
	for (int q = 0; q < 2; q++) {
		struct om_wp_tracker *t;
		char err[256];
		double t0 = now_s();
		int rc = om_wp_open_flags(&t, p, len, q ? OM_WP_PORTABLE_SCAN : 0, err, sizeof err);
		open_ms[q] = (now_s() - t0) * 1e3;
		if (rc)
			die_open(rc, err);
		struct om_wp_stats st;
		om_wp_get_stats(t, &st);
		const char *qname = st.portable_scan ? "portable" : "PAGE_IS_WRITTEN";
		for (int pat = 0; pat < 2; pat++) {
			for (int f = 0; f < nf; f++) {
				size_t k = (size_t)(fracs[f] * (double)n), blocks = 0;
				memset(blk, 0, n / 512 + 1);
				for (size_t i = 0; i < k; i++) {
					size_t b = (pat ? i : perm[i]) / 512;
					blocks += !blk[b];
					blk[b] = 1;
				}
				double c[3], w[3];
				long got = 0;
				for (int r = 0; r < reps; r++) {
					double a = now_s();
					for (size_t i = 0; i < k; i++) {
						size_t pg = pat ? i : perm[i];
						p[pg * PG + 64] = (char)r;
					}
					double b = now_s();
					got = om_wp_collect(t, bm, n);
					double e = now_s();
					c[r] = (e - b) * 1e3;
					w[r] = k ? (b - a) * 1e6 / (double)k : 0;
				}
				if (got != (long)k) {
					fprintf(stderr, "collect returned %ld, wrote %zu pages\n", got, k);
					exit(1);
				}
				double cm = median(c, reps);
				char wbuf[32] = "-", bbuf[32] = "-";
				if (k) {
					snprintf(wbuf, sizeof wbuf, "%.1f", median(w, reps));
					snprintf(bbuf, sizeof bbuf, "%.1f", cm * 1e3 / (double)blocks);
				}
				printf("| %s | %s | %g%% | %zu | %zu | %.3f | %s | %s |\n", qname,
				       pat ? "contiguous" : "random", fracs[f] * 100, k, blocks, cm, bbuf,
				       wbuf);
				fflush(stdout);
			}
		}
		pthread_t pr;
		probe_stop = 0;
		probe_maxgap = 0;
		pthread_create(&pr, NULL, fault_prober, NULL);
		struct timespec d = {0, 50 * 1000 * 1000};
		nanosleep(&d, NULL);
		probe_maxgap = 0;
		t0 = now_s();
		om_wp_close(t);
		close_ms[q] = (now_s() - t0) * 1e3;
		nanosleep(&d, NULL); /* let the prober record the gap that spans close */
		stall_ms[q] = probe_maxgap * 1e3;
		probe_stop = 1;
		pthread_join(pr, NULL);
	}
	printf("\n- open (register + write-protect %zu MiB, populated, THP): %.2f ms (default query), "
	       "%.2f ms (portable)\n", mib, open_ms[0], open_ms[1]);
	printf("- close after the last round (every page protected as a 4 KiB entry): %.1f ms / %.1f ms; "
	       "longest stall of another thread's page faults meanwhile: %.1f ms / %.1f ms\n",
	       close_ms[0], close_ms[1], stall_ms[0], stall_ms[1]);

	/* A range that is mostly never-touched reserve: 1/16 populated. */
	munmap(p, len);
	p = map_aligned(len);
	for (size_t i = 0; i < n / 16; i++)
		p[i * PG] = 1;
	printf("\nmostly untouched range (%zu MiB, 1/16 populated, 1%% of the populated part dirty "
	       "each round):\n\n| query | collect ms (median of %d) |\n|---|---|\n", mib, reps);
	for (int q = 0; q < 2; q++) {
		struct om_wp_tracker *t;
		char err[256];
		int rc = om_wp_open_flags(&t, p, len, q ? OM_WP_PORTABLE_SCAN : 0, err, sizeof err);
		if (rc)
			die_open(rc, err);
		double c[3];
		for (int r = 0; r < reps; r++) {
			for (size_t i = 0; i < n / 16 / 100; i++)
				p[(rnd() % (n / 16)) * PG] = 2;
			double b = now_s();
			om_wp_collect(t, bm, n);
			c[r] = (now_s() - b) * 1e3;
		}
		struct om_wp_stats st;
		om_wp_get_stats(t, &st);
		printf("| %s | %.3f |\n", st.portable_scan ? "portable" : "PAGE_IS_WRITTEN",
		       median(c, reps));
		om_wp_close(t);
	}
	munmap(p, len);
	free(blk);
	free(perm);
	free(bm);
}

/* --------------------------------------------------------------- fault */

struct svc {
	struct om_missing *m;
	const unsigned char *src;
	uint64_t base;
};

static void cb_install(void *ctx, uint64_t page)
{
	struct svc *s = ctx;
	if (om_missing_install(s->m, page, s->src + (page - s->base), 1))
		abort();
}

struct toucher {
	volatile char *p;
	size_t first, n, stride;
	int cpu; /* -1: not pinned */
	unsigned long sum;
};

static void pin(pthread_t t, int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	pthread_setaffinity_np(t, sizeof set, &set);
}

static void *touch_main(void *arg)
{
	struct toucher *t = arg;
	if (t->cpu >= 0)
		pin(pthread_self(), t->cpu);
	unsigned long s = 0;
	for (size_t i = t->first; i < t->n; i += t->stride)
		s += (unsigned char)t->p[i * PG];
	t->sum = s;
	return NULL;
}

/* SCHED_IDLE spinners keep every vCPU from halting while the faulting
 * thread sleeps, so waking it needs no halted-vCPU wake-up. */
static volatile int idle_stop;
static void *idle_spin(void *arg)
{
	pin(pthread_self(), (int)(intptr_t)arg);
	struct sched_param sp = {0};
	pthread_setschedparam(pthread_self(), SCHED_IDLE, &sp);
	while (!idle_stop)
		__builtin_ia32_pause();
	return NULL;
}

enum { CFG_ONE, CFG_TWO, CFG_PINNED, CFG_IDLE, NCFG };
static const char *cfg_names[NCFG] = {
	"1 thread", "2 threads", "1 thread on CPU 0, service on CPU 1",
	"1 thread, SCHED_IDLE spinners on all CPUs"};

static void bench_fault(size_t npages)
{
	size_t len = npages * PG;
	unsigned char *src = malloc(len);
	memset(src, 3, len);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	const int modes[] = {OM_MISSING_BLOCK, OM_MISSING_SPIN, 1000, 50};
	const char *names[] = {"blocking (poll)", "busy-poll", "adaptive, 1000 µs spin",
			       "adaptive, 50 µs spin"};
	printf("| service thread | faulting threads | faults | faults/s (median of 3) | µs per fault "
	       "| service sleeps |\n|---|---|---|---|---|---|\n");
	for (int cfg = 0; cfg < NCFG; cfg++) {
		if (cfg == CFG_PINNED && ncpu < 2)
			continue;
		for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
			double rate[3], us[3];
			unsigned long long sleeps = 0;
			for (int r = 0; r < 3; r++) {
				pthread_t idle[64];
				int nidle = 0;
				idle_stop = 0;
				if (cfg == CFG_IDLE)
					for (long c = 0; c < ncpu && c < 64; c++)
						pthread_create(&idle[nidle++], NULL, idle_spin, (void *)(intptr_t)c);
				char *p = map_aligned(len);
				struct svc s = {NULL, src, (uint64_t)(uintptr_t)p};
				char err[256];
				int rc = om_missing_open(&s.m, p, len, cb_install, &s, modes[k], err,
							 sizeof err);
				if (rc)
					die_open(rc, err);
				if (cfg == CFG_PINNED)
					pin(om_missing_thread(s.m), 1);
				int threads = cfg == CFG_TWO ? 2 : 1;
				struct toucher tt[2];
				pthread_t th[2];
				double a = now_s();
				for (int i = 0; i < threads; i++) {
					tt[i] = (struct toucher){(volatile char *)p, (size_t)i, npages,
								 (size_t)threads, cfg == CFG_PINNED ? 0 : -1, 0};
					pthread_create(&th[i], NULL, touch_main, &tt[i]);
				}
				for (int i = 0; i < threads; i++)
					pthread_join(th[i], NULL);
				double b = now_s();
				idle_stop = 1;
				for (int i = 0; i < nidle; i++)
					pthread_join(idle[i], NULL);
				struct om_missing_stats st;
				om_missing_get_stats(s.m, &st);
				if (st.faults < npages) {
					fprintf(stderr, "fault bench: %llu faults for %zu pages\n",
						(unsigned long long)st.faults, npages);
					exit(1);
				}
				rate[r] = (double)npages / (b - a);
				us[r] = (b - a) * 1e6 / (double)npages;
				sleeps = st.sleeps;
				om_missing_close(s.m);
				munmap(p, len);
			}
			printf("| %s | %s | %zu | %.0f | %.1f | %llu |\n", names[k], cfg_names[cfg], npages,
			       median(rate, 3), median(us, 3), sleeps);
			fflush(stdout);
		}
	}
	free(src);
}

/* ---------------------------------------------------------------- copy */

static void bench_copy(size_t mib)
{
	size_t len = mib << 20;
	unsigned char *src = (unsigned char *)map_aligned(len);
	for (size_t i = 0; i < len; i += 8)
		*(uint64_t *)(void *)(src + i) = i * 0x9E3779B97F4A7C15ull;
	const size_t chunks[] = {4096, 16384, 65536, 262144, 1u << 20, 2u << 20, 8u << 20, 64u << 20};
	printf("| operation | chunk | GiB/s (median of 3) | µs per chunk |\n|---|---|---|---|\n");
	for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
		double g[3], u[3];
		for (int r = 0; r < 3; r++) {
			char *p = map_aligned(len);
			struct om_missing *m;
			char err[256];
			int rc = om_missing_open(&m, p, len, NULL, NULL, OM_MISSING_BLOCK, err, sizeof err);
			if (rc)
				die_open(rc, err);
			double a = now_s();
			for (size_t off = 0; off < len; off += chunks[c])
				if (om_missing_install(m, (uint64_t)(uintptr_t)(p + off), src + off,
						       chunks[c] / PG))
					abort();
			double b = now_s();
			if (om_missing_pending(m) || memcmp(p + len / 2, src + len / 2, PG))
				abort();
			g[r] = (double)len / (b - a) / (1u << 30);
			u[r] = (b - a) * 1e6 / (double)(len / chunks[c]);
			om_missing_close(m);
			munmap(p, len);
		}
		printf("| UFFDIO_COPY | %zu KiB | %.2f | %.1f |\n", chunks[c] >> 10, median(g, 3),
		       median(u, 3));
		fflush(stdout);
	}
	{
		double g[3];
		for (int r = 0; r < 3; r++) {
			char *p = map_aligned(len);
			struct om_missing *m;
			char err[256];
			int rc = om_missing_open(&m, p, len, NULL, NULL, OM_MISSING_BLOCK, err, sizeof err);
			if (rc)
				die_open(rc, err);
			double a = now_s();
			for (size_t off = 0; off < len; off += 2u << 20)
				om_missing_install_zero(m, (uint64_t)(uintptr_t)(p + off), (2u << 20) / PG);
			g[r] = (double)len / (now_s() - a) / (1u << 30);
			om_missing_close(m);
			munmap(p, len);
		}
		printf("| UFFDIO_ZEROPAGE | 2048 KiB | %.2f | - |\n", median(g, 3));
	}
	/* Baselines: memcpy into fresh anonymous memory (first-touch faults
	 * included; what a non-uffd restore costs) and into populated memory. */
	{
		double g1[3], g2[3];
		for (int r = 0; r < 3; r++) {
			char *p = map_aligned(len);
			madvise(p, len, MADV_NOHUGEPAGE); /* like the uffd range: 4 KiB pages */
			double a = now_s();
			memcpy(p, src, len);
			double b = now_s();
			memcpy(p, src, len);
			double c2 = now_s();
			g1[r] = (double)len / (b - a) / (1u << 30);
			g2[r] = (double)len / (c2 - b) / (1u << 30);
			munmap(p, len);
		}
		printf("| memcpy, fresh 4 KiB pages (faults) | %zu MiB | %.2f | - |\n", mib,
		       median(g1, 3));
		printf("| memcpy, populated | %zu MiB | %.2f | - |\n", mib, median(g2, 3));
	}
	munmap(src, len);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s scan|fault|copy [size]\n", argv[0]);
		return 2;
	}
	if (!strcmp(argv[1], "scan"))
		bench_scan(argc > 2 ? strtoul(argv[2], NULL, 0) : 1024);
	else if (!strcmp(argv[1], "fault"))
		bench_fault(argc > 2 ? strtoul(argv[2], NULL, 0) : 8192);
	else if (!strcmp(argv[1], "copy"))
		bench_copy(argc > 2 ? strtoul(argv[2], NULL, 0) : 1024);
	else
		return 2;
	return 0;
}
