/* Shared helpers for the workload suite (see wl.h). */
#define _POSIX_C_SOURCE 200809L
#include "wl.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct wl_common wl = { .size = 64ull << 20, .threads = 2, .seed = 1, .iters = 0 };

struct gap_slot {
    uint64_t last, max;
    char pad[48]; /* one cache line per thread */
};
static struct gap_slot *gap_slots;
static uint64_t gap_last, gap_max; /* whole app: longest time no thread progressed */
static uint64_t t_start;

int wl_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

int wl_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || s[0] == '-')
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (*end == 'i' && shift)
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

void wl_options(int argc, char **argv, const char *extra, wl_opt_fn fn, const char *usage)
{
    char optstr[96];
    snprintf(optstr, sizeof optstr, "s:t:S:i:P:Gh%s", extra);
    int c;
    uint64_t v;
    while ((c = getopt(argc, argv, optstr)) != -1) {
        int bad = 0;
        switch (c) {
        case 's': bad = wl_parse_size(optarg, &wl.size) || wl.size < (1u << 20); break;
        case 't':
            bad = wl_parse_u64(optarg, &v) || v < 1 || v > 64;
            wl.threads = (unsigned)v;
            break;
        case 'S': bad = wl_parse_u64(optarg, &wl.seed); break;
        case 'i': bad = wl_parse_u64(optarg, &wl.iters) || wl.iters < 1; break;
        case 'P': bad = wl_parse_u64(optarg, &wl.progress); break;
        case 'G': wl.gaps = 1; break;
        case 'h':
        case '?':
            fprintf(c == 'h' ? stdout : stderr,
                    "usage: %s [options]\n"
                    "  -s SIZE  memory footprint, K/M/G suffixes (default 64M, at least 1M)\n"
                    "  -t N     threads, 1..64 (default 2)\n"
                    "  -S SEED  seed (default 1)\n"
                    "  -P N     print '%s: step K' every N steps\n"
                    "  -G       at exit, print the longest pause between work chunks (CLOCK_MONOTONIC)\n"
                    "           on stderr: max_gap_ms (no thread progressed), max_thread_gap_ms\n"
                    "%s",
                    wl.name, wl.name, usage);
            exit(c == 'h' ? 0 : 2);
        default:
            bad = fn ? fn(c, optarg) : -1;
            break;
        }
        if (bad) {
            fprintf(stderr, "%s: bad value for -%c: '%s'\n", wl.name, c, optarg);
            exit(2);
        }
    }
    if (optind != argc) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", wl.name, argv[optind]);
        exit(2);
    }
    gap_slots = wl_alloc((wl.threads + 1) * sizeof *gap_slots, "gap clock");
    memset(gap_slots, 0, (wl.threads + 1) * sizeof *gap_slots);
    t_start = gap_last = wl_now_ns();
}

void *wl_alloc(size_t bytes, const char *what)
{
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "%s: out of memory for %s (%zu bytes)\n", wl.name, what, bytes);
        exit(2);
    }
    return p;
}

uint64_t wl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void wl_step(uint64_t n)
{
    if (wl.progress && n % wl.progress == 0) {
        printf("%s: step %" PRIu64 "\n", wl.name, n);
        fflush(stdout);
    }
}

void wl_tick(unsigned tid)
{
    if (!wl.gaps)
        return; /* no clock reads unless asked: keeps overhead runs clean */
    uint64_t now = wl_now_ns();
    uint64_t old = __atomic_exchange_n(&gap_last, now, __ATOMIC_RELAXED);
    uint64_t cur = __atomic_load_n(&gap_max, __ATOMIC_RELAXED);
    while (now > old && now - old > cur &&
           !__atomic_compare_exchange_n(&gap_max, &cur, now - old, 1, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
    struct gap_slot *s = &gap_slots[tid];
    if (s->last && now - s->last > s->max)
        s->max = now - s->last;
    s->last = now;
}

void wl_idle(unsigned tid)
{
    gap_slots[tid].last = 0;
}

void wl_finish(uint64_t digest)
{
    printf("%s: digest %016" PRIx64 "\n", wl.name, digest);
    fflush(stdout);
    if (!wl.gaps)
        return;
    wl_tick(wl.threads);
    uint64_t tmax = 0;
    for (unsigned t = 0; t <= wl.threads; t++)
        if (gap_slots[t].max > tmax)
            tmax = gap_slots[t].max;
    fprintf(stderr, "%s: max_gap_ms %.3f max_thread_gap_ms %.3f elapsed_ms %.3f\n", wl.name,
            (double)gap_max / 1e6, (double)tmax / 1e6, (double)(wl_now_ns() - t_start) / 1e6);
}

struct par {
    pthread_t th;
    unsigned tid;
    void (*fn)(unsigned, void *);
    void *ctx;
};

static void *par_main(void *arg)
{
    struct par *p = arg;
    p->fn(p->tid, p->ctx);
    wl_idle(p->tid);
    return NULL;
}

void wl_parallel(void (*fn)(unsigned tid, void *ctx), void *ctx)
{
    struct par ps[64];
    unsigned n = wl.threads;
    wl_tick(n);
    for (unsigned t = 1; t < n; t++) {
        ps[t] = (struct par){ .tid = t, .fn = fn, .ctx = ctx };
        int err = pthread_create(&ps[t].th, NULL, par_main, &ps[t]);
        if (err) {
            fprintf(stderr, "%s: pthread_create: %s\n", wl.name, strerror(err));
            exit(2);
        }
    }
    ps[0] = (struct par){ .tid = 0, .fn = fn, .ctx = ctx };
    wl_idle(n);
    par_main(&ps[0]); /* the main thread is worker 0 */
    for (unsigned t = 1; t < n; t++)
        pthread_join(ps[t].th, NULL);
    wl_tick(n);
}

void wl_range(uint64_t n, unsigned tid, uint64_t *lo, uint64_t *hi)
{
    *lo = n * tid / wl.threads;
    *hi = n * (tid + 1) / wl.threads;
}

struct gen_ctx {
    struct wl_graph *g;
    uint64_t seed;
};

static void gen_fill(unsigned tid, void *arg)
{
    struct gen_ctx *c = arg;
    struct wl_graph *g = c->g;
    uint64_t lo, hi;
    wl_range(g->n, tid, &lo, &hi);
    for (uint64_t v = lo; v < hi; v++) {
        uint64_t s = wl_mix64(c->seed ^ (v * 0xd6e8feb86659fd93ull));
        uint32_t *e = g->col + g->ptr[v], *end = g->col + g->ptr[v + 1];
        *e++ = (uint32_t)(v + 1 == g->n ? 0 : v + 1);
        while (e < end)
            *e++ = (uint32_t)wl_below(wl_rng(&s), g->n);
        if ((v & 0xfff) == 0)
            wl_tick(tid);
    }
}

void wl_graph_gen(struct wl_graph *g, uint64_t n, unsigned deg, uint64_t seed)
{
    g->n = n;
    g->ptr = wl_alloc((n + 1) * sizeof *g->ptr, "graph offsets");
    uint64_t m = 0, dseed = wl_mix64(seed ^ 0x646567726565ull);
    for (uint64_t v = 0; v < n; v++) {
        g->ptr[v] = m;
        m += 1 + wl_below(wl_mix64(dseed ^ v), 2ull * deg - 1);
        if ((v & 0xffff) == 0)
            wl_tick(wl.threads);
    }
    g->ptr[n] = m;
    g->m = m;
    g->col = wl_alloc(m * sizeof *g->col, "graph edges");
    struct gen_ctx c = { g, wl_mix64(seed ^ 0x65646765ull) };
    wl_parallel(gen_fill, &c);
}
