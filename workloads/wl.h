/* Shared helpers for the workload suite: PRNG and hashing, common flags,
 * deterministic progress lines, the app's own pause clock (-G) and threads. */
#ifndef WL_H
#define WL_H
#include <stddef.h>
#include <stdint.h>

/* Common options, filled by wl_options(). */
struct wl_common {
    const char *name;
    uint64_t size;     /* -s: memory footprint in bytes */
    unsigned threads;  /* -t */
    uint64_t seed;     /* -S */
    uint64_t iters;    /* -i: workload-specific repeat count */
    uint64_t progress; /* -P: print a step line every N steps, 0 = never */
    int gaps;          /* -G: report the longest pause on stderr at exit */
};
extern struct wl_common wl;

/* Extra option handler: returns 0 if accepted, -1 if the value is bad. */
typedef int (*wl_opt_fn)(int opt, const char *arg);

/* Parses the common flags plus `extra` (getopt syntax) and exits on error or -h.
 * `usage` lists the workload's own flags. */
void wl_options(int argc, char **argv, const char *extra, wl_opt_fn fn, const char *usage);
int wl_parse_size(const char *s, uint64_t *out);
int wl_parse_u64(const char *s, uint64_t *out);

void *wl_alloc(size_t bytes, const char *what); /* exits 2 on failure */
uint64_t wl_now_ns(void);

/* Prints "<name>: step N" when -P divides N; call from one thread at
 * deterministic points only (stdout stays deterministic). */
void wl_step(uint64_t n);
/* Gap clock: tid in [0, threads] (threads = the main thread). A tick marks a
 * finished chunk of work; wl_idle marks a deliberate wait (barrier, join). */
void wl_tick(unsigned tid);
void wl_idle(unsigned tid);
/* Prints the digest line on stdout, and with -G the gaps on stderr. */
void wl_finish(uint64_t digest);

/* Runs fn(tid, ctx) on wl.threads threads and joins them. */
void wl_parallel(void (*fn)(unsigned tid, void *ctx), void *ctx);
/* Contiguous share [*lo, *hi) of n items for thread tid. */
void wl_range(uint64_t n, unsigned tid, uint64_t *lo, uint64_t *hi);

static inline uint64_t wl_mix64(uint64_t z) /* splitmix64 finaliser: a bijection */
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint64_t wl_rng(uint64_t *s) /* splitmix64 stream */
{
    *s += 0x9e3779b97f4a7c15ull;
    return wl_mix64(*s);
}

static inline uint64_t wl_below(uint64_t r, uint64_t n) /* r uniform -> [0, n) */
{
    return (uint64_t)(((unsigned __int128)r * n) >> 64);
}

/* Generated graph in CSR form: vertex v's list is col[ptr[v] .. ptr[v+1]).
 * List v holds the ring edge v+1 (so all is reachable) and random vertices;
 * its length is 1 .. 2*deg-1 (mean deg), from v's own PRNG stream. */
struct wl_graph {
    uint64_t n, m;
    uint64_t *ptr;
    uint32_t *col;
};
void wl_graph_gen(struct wl_graph *g, uint64_t n, unsigned deg, uint64_t seed);
#endif
