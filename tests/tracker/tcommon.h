/* Small helpers shared by the tracker tests. */
#ifndef OM_TRACKER_TCOMMON_H
#define OM_TRACKER_TCOMMON_H

#include "tracker_uffd.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PG ((size_t)OM_TRACKER_PAGE_SIZE)

static int failures;
#define CHECK(cond, ...)                                                                   \
	do {                                                                               \
		if (!(cond)) {                                                             \
			failures++;                                                        \
			printf("FAIL: ");                                                  \
			printf(__VA_ARGS__);                                               \
			printf(" [%s:%d]\n", __FILE__, __LINE__);                          \
			fflush(stdout);                                                    \
		}                                                                          \
	} while (0)
/* A check after which going on makes no sense (a thread would hang). */
#define REQUIRE(cond, ...)                                                                 \
	do {                                                                               \
		CHECK(cond, __VA_ARGS__);                                                  \
		if (!(cond))                                                               \
			exit(1);                                                           \
	} while (0)

/* Anonymous private mapping of npages, 2 MiB aligned (so THP can back it). */
static inline char *region_alloc(size_t npages)
{
	size_t len = npages * PG, align = 2u << 20;
	char *raw = mmap(NULL, len + align, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	REQUIRE(raw != MAP_FAILED, "mmap %zu pages: %s", npages, strerror(errno));
	char *p = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
	if (p > raw)
		munmap(raw, (size_t)(p - raw));
	size_t tail = (size_t)(raw + len + align - (p + len));
	if (tail)
		munmap(p + len, tail);
	return p;
}

static inline void region_free(char *p, size_t npages)
{
	munmap(p, npages * PG);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static inline uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static inline void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) && errno == EINTR) {
	}
}

static inline void skip_if_unsupported(int rc, const char *err, const char *prog)
{
	if (om_tracker_unsupported(rc)) {
		printf("SKIP: %s: %s\n", prog, err);
		exit(77);
	}
}

#endif
