/* memstress: the migration microbenchmark.
 *
 * Allocates SIZE bytes in many heap objects of mixed sizes, then T threads
 * keep writing into them (flat out or at a set rate, with a sequential,
 * random or hot/cold pattern) and finally every object is verified against
 * the contents it must hold, and a digest over all objects is printed.
 *
 * Object layout. Object i is an array of 64-byte slots. Write number k of an
 * object (k = 0, 1, ...; the object's version after it is k+1) goes to slot
 * (off_i + k * step_i) mod nslots_i, where step_i is coprime with nslots_i,
 * so the last version written to every slot follows from the object's
 * version counter alone. Slot s of object i at version v holds
 *     word 0 = v, word j = B(seed, i, s, v) + j * C   (j = 1..7).
 * A stale, lost or misplaced write is therefore caught by the verifier,
 * which needs no log of past writes.
 *
 * Determinism. Objects are split into contiguous per-thread partitions
 * (balanced by bytes); each thread writes only its own objects and draws
 * from its own PRNG stream, so in iteration mode (-i) the final state does
 * not depend on scheduling: same arguments => same digest. Time mode (-d)
 * stops on the clock, so its digest is not deterministic, and it says so.
 *
 * Timing lines (fill_ms, run_ms, verify_ms, max_gap_ms) vary run to run;
 * everything else printed in iteration mode is deterministic. -T omits them.
 * max_gap_ms is the longest time any thread waited between two consecutive
 * completed write batches, excluding the deliberate sleeps of -r pacing and
 * the periodic verifications of -v: the app-observed downtime.
 *
 * Timeline (-L MS): while the writers run, the main thread prints to STDERR
 * only, every MS milliseconds,
 *     memstress: tl MONO_MS REAL_MS ITERS WRITES
 * (CLOCK_MONOTONIC and CLOCK_REALTIME in ms, iterations and writes completed
 * by all threads so far), plus one line at the start and one at the end.
 * Nothing on stdout changes, so transparency comparisons are unaffected.
 *
 * Exit status: 0 ok, 1 verification failed, 2 usage or allocation error.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SLOT_WORDS 8u
#define SLOT_BYTES (SLOT_WORDS * 8u)
#define K_OBJ 0x9e3779b97f4a7c15ull
#define K_SLOT 0xc2b2ae3d27d4eb4full
#define K_VER 0x165667b19e3779f9ull
#define K_WORD 0xd6e8feb86659fd93ull
#define HASH_MUL 0x100000001b3ull

enum pattern { PAT_SEQ, PAT_RAND, PAT_HOT };
static const char *const pattern_names[] = {"seq", "rand", "hot"};

struct obj {
    uint64_t *mem;
    uint64_t ver;    /* writes applied so far */
    uint64_t digest; /* set by the final verification */
    uint32_t nslots;
    uint32_t off, step, inv; /* write k lands in slot (off + k*step) mod nslots */
    uint32_t cur;            /* slot of the next write */
    uint32_t pad;
};

struct worker {
    pthread_t th;
    unsigned id;
    uint32_t lo, hi, nhot; /* objects [lo, hi); hot set [lo, lo+nhot) */
    uint64_t rng;
    uint32_t seq_obj, seq_left;
    uint64_t iters, writes;
    uint64_t max_gap_ns;
    int64_t fail_obj; /* first object that failed final verification, or -1 */
    uint64_t t_done;  /* when this thread finished writing */
    char pad[64];
};

/* Options. */
static uint64_t opt_size = 64ull << 20;
static uint64_t opt_maxobj = 1ull << 20;
static unsigned opt_threads = 2;
static uint64_t opt_rate;  /* writes/s per thread, 0 = flat out */
static enum pattern opt_pattern = PAT_RAND;
static double opt_duration; /* seconds, time mode when > 0 */
static uint64_t opt_iters = 1000;
static uint64_t opt_verify_every;
static uint64_t opt_progress;
static uint32_t opt_batch = 1024;
static uint64_t opt_seed = 1;
static int opt_quiet, opt_no_timing;
static int64_t opt_corrupt = -1; /* -C: self-test of the verifier */
static uint64_t opt_timeline_ms; /* -L: stderr timeline period, 0 = off */

/* Shared state. */
static struct obj *objs;
static uint32_t nobjs;
static uint64_t seedmix;
static pthread_barrier_t start_barrier;
static uint64_t deadline_ns; /* time mode; written before the barrier */
static pthread_mutex_t fail_lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned writers_done; /* -L: threads past their last write (atomic) */

static inline uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* splitmix64 stream */
static inline uint64_t rng_next(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ull;
    return mix64(*s);
}

/* uniform in [0, n) for n < 2^32, from the high half of one draw */
static inline uint32_t scale32(uint64_t r, uint32_t n)
{
    return (uint32_t)(((r >> 32) * (uint64_t)n) >> 32);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t slot_base(uint64_t i, uint64_t s, uint64_t v)
{
    return mix64(seedmix ^ (i * K_OBJ) ^ (s * K_SLOT) ^ (v * K_VER));
}

static inline void slot_write(uint64_t *p, uint64_t i, uint64_t s, uint64_t v)
{
    uint64_t b = slot_base(i, s, v);
    p[0] = v;
    for (unsigned j = 1; j < SLOT_WORDS; j++)
        p[j] = b + j * K_WORD;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

/* inverse of a modulo n, gcd(a, n) == 1, n >= 2 */
static uint32_t inverse_mod(uint32_t a, uint32_t n)
{
    int64_t t = 0, nt = 1, r = n, nr = a;
    while (nr) {
        int64_t q = r / nr, x;
        x = t - q * nt; t = nt; nt = x;
        x = r - q * nr; r = nr; nr = x;
    }
    if (t < 0)
        t += n;
    return (uint32_t)t;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    unsigned shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: break;
    }
    if (*end == 'i' && shift) /* accept KiB-style "Mi" */
        end++;
    if (*end == 'B' || *end == 'b')
        end++;
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-')
        return -1;
    *out = v;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f,
        "usage: memstress [options]\n"
        "  -s SIZE   total bytes in objects (K/M/G suffixes; default 64M)\n"
        "  -m SIZE   largest object, a power of two >= 128 (default 1M)\n"
        "  -t N      writer threads (default 2)\n"
        "  -p PAT    write pattern: seq | rand | hot (90%% of writes into 10%% of\n"
        "            each thread's objects) (default rand)\n"
        "  -i N      iterations per thread: deterministic mode (default 1000)\n"
        "  -d SEC    run for SEC seconds instead (digest not deterministic)\n"
        "  -b N      writes (64-byte slots) per batch = one iteration (default 1024;\n"
        "            with -r and no -b: rate/1000, at least 1)\n"
        "  -r N      writes per second per thread, 0 = flat out (default 0)\n"
        "  -v N      verify the thread's objects every N iterations\n"
        "  -P N      print 'memstress: iter N' every N iterations (thread 0)\n"
        "  -S SEED   seed (default 1)\n"
        "  -q        quiet: only progress, verification, max_gap_ms and digest\n"
        "  -T        omit timing lines (fill_ms, run_ms, verify_ms, max_gap_ms)\n"
        "  -C OBJ    self-test: make object OBJ's last write stale before the final\n"
        "            verification, which must then fail\n"
        "  -L MS     every MS ms print 'memstress: tl MONO_MS REAL_MS ITERS WRITES'\n"
        "            to stderr (completed by all threads; stdout is unchanged)\n");
}

/* Checks every slot of object i; returns 0 or -1 (and reports the first bad word). */
static int verify_obj(uint32_t i, int compute_digest)
{
    struct obj *o = &objs[i];
    uint64_t n = o->nslots, v = o->ver;
    uint64_t q = v / n, r = v % n;
    /* d = position in the write cycle of slot s: (s - off) * inv mod n */
    uint64_t d = n == 1 ? 0 : ((n - o->off) % n) * o->inv % n;
    uint64_t h0 = mix64(i ^ (n << 32)), h1 = v, h2 = 0, h3 = 0;
    const uint64_t *p = o->mem;
    for (uint64_t s = 0; s < n; s++, p += SLOT_WORDS) {
        uint64_t cnt = q + (d < r);
        uint64_t last = cnt ? d + 1 + (cnt - 1) * n : 0;
        uint64_t b = slot_base(i, s, last);
        uint64_t bad = p[0] ^ last;
        for (unsigned j = 1; j < SLOT_WORDS; j++)
            bad |= p[j] ^ (b + j * K_WORD);
        if (bad) {
            unsigned j = 0;
            uint64_t want = last;
            if (p[0] == last)
                for (j = 1; j < SLOT_WORDS && p[j] == b + j * K_WORD; j++)
                    ;
            if (j)
                want = b + j * K_WORD;
            fprintf(stderr,
                    "memstress: object %" PRIu32 " slot %" PRIu64 " word %u: got %016" PRIx64
                    " want %016" PRIx64 " (object version %" PRIu64 ", slot version %" PRIu64
                    ", slot holds version %" PRIu64 ")\n",
                    i, s, j, p[j], want, v, last, p[0]);
            return -1;
        }
        if (compute_digest) {
            h0 = (h0 ^ p[0]) * HASH_MUL; h1 = (h1 ^ p[1]) * HASH_MUL;
            h2 = (h2 ^ p[2]) * HASH_MUL; h3 = (h3 ^ p[3]) * HASH_MUL;
            h0 = (h0 ^ p[4]) * HASH_MUL; h1 = (h1 ^ p[5]) * HASH_MUL;
            h2 = (h2 ^ p[6]) * HASH_MUL; h3 = (h3 ^ p[7]) * HASH_MUL;
        }
        d += o->inv;
        if (d >= n)
            d -= n;
    }
    if (compute_digest)
        o->digest = mix64(h0 ^ mix64(h1 ^ mix64(h2 ^ mix64(h3))));
    return 0;
}

/* Verifies [lo, hi); returns the first failing object or -1. */
static int64_t verify_range(uint32_t lo, uint32_t hi, int compute_digest)
{
    for (uint32_t i = lo; i < hi; i++)
        if (verify_obj(i, compute_digest))
            return i;
    return -1;
}

static inline void do_write(struct worker *w)
{
    uint32_t i, n = w->hi - w->lo;
    switch (opt_pattern) {
    case PAT_SEQ:
        if (w->seq_left == 0) {
            w->seq_obj = w->seq_obj + 1 == w->hi ? w->lo : w->seq_obj + 1;
            w->seq_left = objs[w->seq_obj].nslots;
        }
        w->seq_left--;
        i = w->seq_obj;
        break;
    case PAT_HOT: {
        uint64_t r = rng_next(&w->rng);
        if ((uint32_t)r < 3865470566u || n == w->nhot) /* 0.9 * 2^32 */
            i = w->lo + scale32(r, w->nhot);
        else
            i = w->lo + w->nhot + scale32(r, n - w->nhot);
        break;
    }
    default:
        i = w->lo + scale32(rng_next(&w->rng), n);
        break;
    }
    struct obj *o = &objs[i];
    uint32_t s = o->cur;
    uint64_t v = ++o->ver;
    slot_write(o->mem + (uint64_t)s * SLOT_WORDS, i, s, v);
    s += o->step;
    o->cur = s >= o->nslots ? s - o->nslots : s;
}

static void fail_exit(int64_t obj)
{
    pthread_mutex_lock(&fail_lock);
    printf("memstress: verify FAILED at object %" PRId64 "\n", obj);
    fflush(stdout);
    exit(1);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;

    /* fill: every slot at version 0 */
    for (uint32_t i = w->lo; i < w->hi; i++) {
        struct obj *o = &objs[i];
        uint64_t *p = o->mem;
        for (uint64_t s = 0; s < o->nslots; s++, p += SLOT_WORDS)
            slot_write(p, i, s, 0);
    }
    pthread_barrier_wait(&start_barrier);
    pthread_barrier_wait(&start_barrier); /* main has read the clock */

    if (w->hi > w->lo) {
        uint64_t t_start = now_ns(), t_ready = t_start, t_end;
        for (;;) {
            for (uint32_t b = 0; b < opt_batch; b++)
                do_write(w);
            /* relaxed atomic stores: -L's timeline reads them from main */
            __atomic_store_n(&w->writes, w->writes + opt_batch, __ATOMIC_RELAXED);
            __atomic_store_n(&w->iters, w->iters + 1, __ATOMIC_RELAXED);
            t_end = now_ns();
            if (t_end - t_ready > w->max_gap_ns)
                w->max_gap_ns = t_end - t_ready;
            if (opt_progress && w->id == 0 && w->iters % opt_progress == 0) {
                printf("memstress: iter %" PRIu64 "\n", w->iters);
                fflush(stdout);
            }
            if (opt_verify_every && w->iters % opt_verify_every == 0) {
                int64_t bad = verify_range(w->lo, w->hi, 0);
                if (bad >= 0)
                    fail_exit(bad);
                t_end = now_ns();
            }
            if (deadline_ns ? t_end >= deadline_ns : w->iters >= opt_iters)
                break;
            t_ready = t_end;
            if (opt_rate) {
                uint64_t due = t_start + (uint64_t)((double)w->writes * 1e9 / (double)opt_rate);
                if (due > t_end) {
                    struct timespec ts = {(time_t)(due / 1000000000ull), (long)(due % 1000000000ull)};
                    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
                        ;
                    t_ready = due;
                }
            }
        }
    }
    w->t_done = now_ns();
    __atomic_add_fetch(&writers_done, 1, __ATOMIC_RELEASE);
    if (opt_corrupt >= w->lo && opt_corrupt < w->hi) {
        /* Roll the most recently written slot back to the contents it had
         * before that write: exactly what a lost write or a stale page
         * looks like. Version 0 objects get one flipped bit instead. */
        struct obj *o = &objs[opt_corrupt];
        if (o->ver) {
            uint64_t k = o->ver - 1, n = o->nslots;
            uint64_t s = (o->off + k % n * o->step) % n;
            slot_write(o->mem + s * SLOT_WORDS, (uint64_t)opt_corrupt, s, k >= n ? k + 1 - n : 0);
        } else {
            o->mem[SLOT_WORDS / 2] ^= 1;
        }
    }
    w->fail_obj = verify_range(w->lo, w->hi, 1);
    return NULL;
}

static void timeline_line(const struct worker *ws)
{
    struct timespec rt;
    uint64_t iters = 0, writes = 0;
    for (unsigned t = 0; t < opt_threads; t++) {
        iters += __atomic_load_n(&ws[t].iters, __ATOMIC_RELAXED);
        writes += __atomic_load_n(&ws[t].writes, __ATOMIC_RELAXED);
    }
    uint64_t mono = now_ns();
    clock_gettime(CLOCK_REALTIME, &rt);
    fprintf(stderr, "memstress: tl %.3f %.3f %" PRIu64 " %" PRIu64 "\n", (double)mono / 1e6,
            (double)rt.tv_sec * 1e3 + (double)rt.tv_nsec / 1e6, iters, writes);
}

/* -L: the main thread samples the writers' counters every opt_timeline_ms
 * until all of them have finished writing. Ticks aim at t_start + k * period;
 * the sleeps are relative and at most one period long, so a clock that jumps
 * (a migration to another host, say) delays the timeline by one tick at most. */
static void timeline(const struct worker *ws, uint64_t t_start)
{
    uint64_t period = opt_timeline_ms * 1000000ull, due = t_start;
    timeline_line(ws);
    while (__atomic_load_n(&writers_done, __ATOMIC_ACQUIRE) < opt_threads) {
        uint64_t now = now_ns(), wait;
        due += period;
        if (due <= now || due - now > period) /* fell behind, or the clock moved back */
            due = now + period - (now > t_start ? (now - t_start) % period : 0);
        wait = due - now;
        struct timespec ts = {(time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull)};
        nanosleep(&ts, NULL);
        timeline_line(ws);
    }
}

int main(int argc, char **argv)
{
    int c, have_i = 0, have_b = 0;
    uint64_t v;
    while ((c = getopt(argc, argv, "s:m:t:p:i:d:b:r:v:P:S:C:L:qTh")) != -1) {
        switch (c) {
        case 's':
            if (parse_size(optarg, &opt_size) || opt_size < SLOT_BYTES)
                goto bad;
            break;
        case 'm':
            if (parse_size(optarg, &opt_maxobj) || opt_maxobj < 128 || opt_maxobj > (1ull << 31) ||
                (opt_maxobj & (opt_maxobj - 1)))
                goto bad;
            break;
        case 't':
            if (parse_u64(optarg, &v) || v < 1 || v > 1024)
                goto bad;
            opt_threads = (unsigned)v;
            break;
        case 'p':
            if (!strcmp(optarg, "seq"))
                opt_pattern = PAT_SEQ;
            else if (!strcmp(optarg, "rand"))
                opt_pattern = PAT_RAND;
            else if (!strcmp(optarg, "hot"))
                opt_pattern = PAT_HOT;
            else
                goto bad;
            break;
        case 'i':
            if (parse_u64(optarg, &opt_iters) || opt_iters < 1)
                goto bad;
            have_i = 1;
            break;
        case 'd': {
            char *end;
            opt_duration = strtod(optarg, &end);
            if (end == optarg || *end || !(opt_duration > 0) || opt_duration > 1e7)
                goto bad;
            break;
        }
        case 'b':
            if (parse_u64(optarg, &v) || v < 1 || v > (1u << 30))
                goto bad;
            opt_batch = (uint32_t)v;
            have_b = 1;
            break;
        case 'r':
            if (parse_u64(optarg, &opt_rate))
                goto bad;
            break;
        case 'v':
            if (parse_u64(optarg, &opt_verify_every))
                goto bad;
            break;
        case 'P':
            if (parse_u64(optarg, &opt_progress))
                goto bad;
            break;
        case 'S':
            if (parse_u64(optarg, &opt_seed))
                goto bad;
            break;
        case 'C':
            if (parse_u64(optarg, &v) || v > INT64_MAX)
                goto bad;
            opt_corrupt = (int64_t)v;
            break;
        case 'L':
            if (parse_u64(optarg, &opt_timeline_ms) || opt_timeline_ms < 1 || opt_timeline_ms > 3600000)
                goto bad;
            break;
        case 'q':
            opt_quiet = 1;
            break;
        case 'T':
            opt_no_timing = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
        continue;
    bad:
        fprintf(stderr, "memstress: bad value for -%c: '%s'\n", c, optarg);
        usage(stderr);
        return 2;
    }
    if (optind != argc) {
        fprintf(stderr, "memstress: unexpected argument '%s'\n", argv[optind]);
        usage(stderr);
        return 2;
    }
    if (have_i && opt_duration > 0) {
        fprintf(stderr, "memstress: use -i or -d, not both\n");
        return 2;
    }
    if (opt_rate && !have_b) {
        uint64_t b = opt_rate / 1000;
        opt_batch = b < 1 ? 1 : b > 1024 ? 1024 : (uint32_t)b;
    }
    seedmix = mix64(opt_seed ^ 0x6d656d7374726573ull);

    /* Object sizes: log-uniform classes [2^e, 2^(e+1)], 64 <= 2^e <= maxobj/2. */
    unsigned emax = 0;
    while ((1ull << (emax + 1)) < opt_maxobj)
        emax++;
    uint64_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint64_t rs = mix64(opt_seed ^ 0x73697a6573ull), sum = 0;
        uint32_t n = 0;
        while (opt_size - sum >= SLOT_BYTES) {
            uint64_t r = rng_next(&rs);
            unsigned e = 6 + scale32(r, emax - 6 + 1);
            uint64_t base = 1ull << e;
            uint64_t sz = base + SLOT_BYTES * scale32(rng_next(&rs), (uint32_t)(base / SLOT_BYTES + 1));
            if (sz > opt_size - sum)
                sz = (opt_size - sum) / SLOT_BYTES * SLOT_BYTES;
            uint64_t r2 = rng_next(&rs); /* drawn in both passes: same sequence */
            if (pass) {
                struct obj *o = &objs[n];
                o->nslots = (uint32_t)(sz / SLOT_BYTES);
                if (o->nslots == 1) {
                    o->off = o->step = o->inv = 0;
                } else if (opt_pattern == PAT_SEQ) {
                    o->off = 0;
                    o->step = o->inv = 1;
                } else {
                    uint32_t ns = o->nslots, st = (uint32_t)((uint64_t)ns * 40503u >> 16) | 1u;
                    while (gcd64(st, ns) != 1)
                        st = st + 2 < ns ? st + 2 : 1;
                    o->off = scale32(r2, ns);
                    o->step = st;
                    o->inv = inverse_mod(st, ns);
                }
                o->cur = o->off;
                o->ver = 0;
            }
            sum += sz;
            n++;
            if (n == UINT32_MAX) {
                fprintf(stderr, "memstress: too many objects\n");
                return 2;
            }
        }
        if (!pass) {
            nobjs = n;
            total = sum;
            objs = calloc(n ? n : 1, sizeof *objs);
            if (!objs) {
                fprintf(stderr, "memstress: out of memory for %" PRIu32 " object records\n", n);
                return 2;
            }
        }
    }
    for (uint32_t i = 0; i < nobjs; i++) {
        objs[i].mem = malloc((size_t)objs[i].nslots * SLOT_BYTES);
        if (!objs[i].mem) {
            fprintf(stderr, "memstress: out of memory at object %" PRIu32 " of %" PRIu32 "\n", i, nobjs);
            return 2;
        }
    }

    /* Contiguous partitions balanced by bytes. */
    struct worker *ws = calloc(opt_threads, sizeof *ws);
    if (!ws) {
        fprintf(stderr, "memstress: out of memory\n");
        return 2;
    }
    uint32_t next = 0;
    uint64_t acc = 0;
    for (unsigned t = 0; t < opt_threads; t++) {
        struct worker *w = &ws[t];
        uint64_t goal = total / opt_threads * (t + 1) + (t + 1 == opt_threads ? total % opt_threads : 0);
        w->id = t;
        w->lo = next;
        while (next < nobjs && (acc < goal || t + 1 == opt_threads)) {
            acc += (uint64_t)objs[next].nslots * SLOT_BYTES;
            next++;
        }
        w->hi = next;
        w->nhot = (w->hi - w->lo + 9) / 10;
        w->rng = mix64(opt_seed * 0x2545f4914f6cdd1dull + t + 1);
        w->seq_obj = w->lo;
        w->seq_left = w->hi > w->lo ? objs[w->lo].nslots : 0;
    }

    if (!opt_quiet) {
        printf("memstress: size %" PRIu64 " objects %" PRIu32 " threads %u pattern %s seed %" PRIu64
               " batch %" PRIu32 " rate %" PRIu64,
               total, nobjs, opt_threads, pattern_names[opt_pattern], opt_seed, opt_batch, opt_rate);
        if (opt_duration > 0)
            printf(" duration %g s\n", opt_duration);
        else
            printf(" iters %" PRIu64 "\n", opt_iters);
        fflush(stdout);
    }

    if (pthread_barrier_init(&start_barrier, NULL, opt_threads + 1)) {
        fprintf(stderr, "memstress: pthread_barrier_init failed\n");
        return 2;
    }
    uint64_t t0 = now_ns();
    for (unsigned t = 0; t < opt_threads; t++) {
        int err = pthread_create(&ws[t].th, NULL, worker_main, &ws[t]);
        if (err) {
            fprintf(stderr, "memstress: pthread_create: %s\n", strerror(err));
            return 2;
        }
    }
    pthread_barrier_wait(&start_barrier);
    uint64_t t1 = now_ns();
    if (opt_duration > 0)
        deadline_ns = t1 + (uint64_t)(opt_duration * 1e9);
    pthread_barrier_wait(&start_barrier);
    if (opt_timeline_ms)
        timeline(ws, t1);
    for (unsigned t = 0; t < opt_threads; t++)
        pthread_join(ws[t].th, NULL);
    uint64_t t2 = now_ns();

    uint64_t writes = 0, max_gap = 0, t_done = t1;
    int64_t bad = -1;
    for (unsigned t = 0; t < opt_threads; t++) {
        writes += ws[t].writes;
        if (ws[t].t_done > t_done)
            t_done = ws[t].t_done;
        if (ws[t].max_gap_ns > max_gap)
            max_gap = ws[t].max_gap_ns;
        if (ws[t].fail_obj >= 0 && (bad < 0 || ws[t].fail_obj < bad))
            bad = ws[t].fail_obj;
    }
    if (bad >= 0) {
        printf("memstress: verify FAILED at object %" PRId64 "\n", bad);
        return 1;
    }
    uint64_t digest = mix64(total ^ ((uint64_t)nobjs << 40));
    for (uint32_t i = 0; i < nobjs; i++)
        digest = mix64(digest ^ objs[i].digest) + objs[i].ver;
    digest = mix64(digest);

    if (!opt_quiet)
        printf("memstress: writes %" PRIu64 "\n", writes);
    if (!opt_quiet && !opt_no_timing) {
        printf("memstress: fill_ms %.3f\n", (double)(t1 - t0) / 1e6);
        printf("memstress: run_ms %.3f\n", (double)(t_done - t1) / 1e6);
        printf("memstress: verify_ms %.3f\n", (double)(t2 - t_done) / 1e6);
    }
    printf("memstress: verify ok\n");
    if (!opt_no_timing)
        printf("memstress: max_gap_ms %.3f\n", (double)max_gap / 1e6);
    if (opt_duration > 0)
        printf("memstress: time mode (-d): the digest is not deterministic\n");
    printf("memstress: digest %016" PRIx64 "\n", digest);
    for (uint32_t i = 0; i < nobjs; i++)
        free(objs[i].mem);
    free(objs);
    free(ws);
    return 0;
}
