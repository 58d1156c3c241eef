/* om_heap: the trusted runtime's heap allocator (see heap.h).
 *
 * Region layout (page indices relative to the region start):
 *
 *   [0, hdr)            struct heap: locks, free-span bins, size-class state
 *   [hdr, meta)         four bitmaps of one bit per region page:
 *                         used - page ever handed out or written by the heap
 *                         head - first page of an allocated span
 *                         tail - last page of an allocated span
 *                         kind - (at a head page) the span is a slab
 *   [.., meta)          tail summary: one bit per 4096 pages, set while any
 *                       tail bit in that group is set (bounds length scans)
 *   [meta, bump)        spans: allocated (large block or slab) or free
 *   [bump, npages)      wilderness, never carved since it was last empty
 *
 * For a 64 GiB region each bitmap is 2 MiB; a bitmap page covers 128 MiB of
 * heap and is written (and marked used) only when a bit in it is first set.
 *
 * Rule that keeps the used bitmap exact and calloc cheap: the heap writes a
 * page only after setting its used bit, and the application only writes
 * blocks whose pages were marked when handed out. A page whose bit is clear
 * is therefore still zero from the OS.
 *
 * Spans are page-granular. Free spans carry in-band boundary tags (struct
 * fspan in the first page, struct ftail at the end of the last page) and sit
 * in segregated bins (exact for 1..64 pages, four bins per doubling above);
 * freeing coalesces with both neighbours, and a span ending at the wilderness
 * moves the wilderness down instead. Allocated spans keep nothing in-band:
 * their length comes from the head/tail bitmaps. One mutex (page_lock)
 * guards the span structures.
 *
 * Requests up to OM_HEAP_SMALL_MAX use 36 size classes (16..128 by 16, then
 * four per doubling up to 16 KiB) carved from slabs of 1..64 pages with the
 * slab header in-band at the start. Each thread keeps a cache per class: a
 * list of freed (reused) objects and a "fresh run" of never handed-out
 * objects, taken from a slab's frontier and handed out without writing them.
 * Caches refill from and flush to the class's central state in batches
 * under a per-class mutex; a thread's cache is flushed by a pthread key
 * destructor when it exits. Common-path malloc/free take no lock and make
 * no system call.
 */
#include "heap.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define PG ((size_t)OM_HEAP_PAGE)
#define PG_SHIFT 12
#define NCLASS 36
#define SLAB_MAX_PAGES 64
#define SLAB_MIN_PAGES 4
#define NEXACT 64
#define NBINS 192
#define MAX_REGION_PAGES (1ull << 36)
#define SCAN_LIMIT 32
#define FAIL SIZE_MAX
#define HEAP_MAGIC 0x6f6d686561703031ull /* "omheap01" */
#define CANARY_SALT 0x5bd1e9955bd1e995ull

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define RLX __ATOMIC_RELAXED

/* ---- in-band structures ------------------------------------------------ */

struct fspan { /* offset 0 of the first page of a free span */
    uint64_t magic;
    size_t npages;
    struct fspan *next, *prev;
};
struct ftail { /* last 16 bytes of the last page of a free span */
    uint64_t magic;
    size_t npages;
};

struct slab { /* offset 0 of the first page of a slab */
    /* Set when the slab is made, read by every free: one cache line that
     * the central state's updates below do not dirty. */
    uint64_t magic;
    uint32_t cls, npages;
    uint32_t nobj, size; /* size: of the class's objects */
    uint64_t recip;      /* ceil(2^40 / size): index = (offset * recip) >> 40 */
    char *objbase;
    uint64_t dirty; /* bit i: slab page i was not zero when the slab was made */
    /* Central state, under the class lock. */
    uint32_t frontier __attribute__((aligned(64))); /* objects [frontier, nobj) never handed out */
    uint32_t nout, nfree; /* out: held by a thread cache or the program */
    uint32_t on_partial;
    void *free_head; /* freed objects, linked through word 0 */
    struct slab *next, *prev;
};
#define SLAB_HDR ((sizeof(struct slab) + 15) & ~(size_t)15)

/* ---- heap header --------------------------------------------------------- */

struct geom {
    uint32_t npages, nobj, first_off, cap, batch;
};

struct central {
    pthread_mutex_t lock;
    struct slab *partial; /* slabs with a free or fresh object */
    uint32_t npartial;
} __attribute__((aligned(64)));

struct tcache;

struct heap {
    uint64_t magic, secret;
    char *lo;
    size_t size, npages;
    uint64_t *used, *head, *tail, *kind, *tsum;
    size_t hdr_pages, data_start;
    size_t bump;       /* wilderness start; page_lock */
    size_t pages_used; /* popcount of used; atomic */
    int64_t bytes;     /* bytes in use not accounted to a live thread cache; atomic */
    pthread_mutex_t page_lock;
    struct fspan *bins[NBINS];
    uint64_t binmask[NBINS / 64];
    pthread_mutex_t reg_lock;
    struct tcache *reg; /* live thread caches, for statistics */
    struct geom geom[NCLASS];
    struct central cls[NCLASS];
};

/* ---- thread caches --------------------------------------------------------- */

struct tbin {
    void *head; /* freed objects, linked through word 0 */
    uint32_t n, run_left;
    char *run;      /* next fresh object */
    char *run_mark; /* pages below this address are already marked used */
    struct slab *run_slab;
    uint32_t run_clean; /* fresh run lies in pages that were zero */
    uint32_t pad;
};

enum { TC_NONE, TC_LIVE, TC_DEAD };

struct tcache {
    uint64_t gen; /* == g_gen when the cache belongs to the current heap */
    int state;
    int64_t bytes; /* bytes handed out minus freed by this thread; atomic */
    struct tcache *next, *prev;
    struct tbin bin[NCLASS];
};

static struct heap *g_heap;
static uint64_t g_gen = 1; /* bumped by each om_heap_init; 0 marks a dead cache */
static __thread struct tcache t_cache;
static pthread_key_t g_key;
static int g_key_state; /* 0 none, 1 creating, 2 ok, 3 failed */

__attribute__((weak)) void om_heap_corrupt(const char *why)
{
    (void)why;
    abort();
}

/* ---- small helpers ------------------------------------------------------------- */

static inline uint64_t ld(const uint64_t *w) { return __atomic_load_n(w, RLX); }

static inline unsigned size_class(size_t n)
{
    if (n <= 128)
        return n ? (unsigned)((n - 1) >> 4) : 0;
    size_t m = n - 1;
    unsigned e = 63u - (unsigned)__builtin_clzll(m);
    return 8u + (e - 7u) * 4u + (unsigned)((m >> (e - 2u)) & 3u);
}

static inline size_t class_size(unsigned c)
{
    if (c < 8)
        return (size_t)(c + 1) << 4;
    return (size_t)(5u + ((c - 8u) & 3u)) << ((c - 8u) / 4u + 5u);
}

static inline unsigned bin_of(size_t n)
{
    if (n <= NEXACT)
        return (unsigned)(n - 1);
    unsigned e = 63u - (unsigned)__builtin_clzll(n);
    unsigned b = NEXACT + (e - 6u) * 4u + (unsigned)((n >> (e - 2u)) & 3u);
    return b < NBINS ? b : NBINS - 1;
}

static inline size_t pg_of(const struct heap *h, const void *p)
{
    return (size_t)((const char *)p - h->lo) >> PG_SHIFT;
}

static inline char *pg_addr(const struct heap *h, size_t pg) { return h->lo + (pg << PG_SHIFT); }

static inline bool bit_get(const uint64_t *bm, size_t i) { return (ld(&bm[i >> 6]) >> (i & 63)) & 1; }

static inline uint64_t tag(const struct heap *h, const void *a) { return h->secret ^ (uintptr_t)a; }

static inline uint64_t canary(const struct heap *h, const void *p)
{
    return (h->secret * CANARY_SALT) ^ (uintptr_t)p;
}

static inline uint64_t mask_bits(unsigned b0, unsigned b1) /* bits [b0, b1), b1 <= 64 */
{
    uint64_t hi = b1 >= 64 ? ~0ull : ((1ull << b1) - 1);
    return hi & (~0ull << b0);
}

/* Mark page pg used, first making sure the used-bitmap page that holds its
 * bit is marked too (the recursion ends at the bitmap page holding its own
 * bit, and it goes down in page index otherwise). */
static void mark_page(struct heap *h, size_t pg)
{
    uint64_t *w = &h->used[pg >> 6];
    uint64_t m = 1ull << (pg & 63);
    if (ld(w) & m)
        return;
    size_t wp = pg_of(h, w);
    if (wp != pg)
        mark_page(h, wp);
    if (!(__atomic_fetch_or(w, m, RLX) & m))
        __atomic_fetch_add(&h->pages_used, 1, RLX);
}

/* Set or clear a head/tail/kind bit; page_lock held. */
static void bm_set(struct heap *h, uint64_t *bm, size_t i)
{
    uint64_t *w = &bm[i >> 6];
    mark_page(h, pg_of(h, w));
    __atomic_fetch_or(w, 1ull << (i & 63), RLX);
}

static void bm_clear(uint64_t *bm, size_t i)
{
    __atomic_fetch_and(&bm[i >> 6], ~(1ull << (i & 63)), RLX);
}

/* First set bit at index >= from and < limit, or FAIL. */
static size_t bm_next(const uint64_t *bm, size_t from, size_t limit)
{
    if (from >= limit)
        return FAIL;
    size_t w = from >> 6, wend = (limit + 63) >> 6;
    uint64_t x = ld(&bm[w]) & (~0ull << (from & 63));
    while (!x) {
        if (++w >= wend)
            return FAIL;
        x = ld(&bm[w]);
    }
    size_t r = (w << 6) + (size_t)__builtin_ctzll(x);
    return r < limit ? r : FAIL;
}

/* Tail bits: the summary lets a length scan skip 4096 pages per bit, so
 * finding the end of a block never reads tail-bitmap pages that were never
 * written. page_lock held for set/clear. */
#define TSUM_SHIFT 12

static void tail_set(struct heap *h, size_t i)
{
    bm_set(h, h->tail, i);
    bm_set(h, h->tsum, i >> TSUM_SHIFT);
}

static void tail_clear(struct heap *h, size_t i)
{
    bm_clear(h->tail, i);
    const uint64_t *g = &h->tail[(i >> TSUM_SHIFT) << (TSUM_SHIFT - 6)];
    for (unsigned k = 0; k < (1u << (TSUM_SHIFT - 6)); k++)
        if (ld(&g[k]))
            return;
    bm_clear(h->tsum, i >> TSUM_SHIFT);
}

/* First tail bit at index >= from, or FAIL. */
static size_t tail_next(const struct heap *h, size_t from)
{
    size_t limit = h->npages, ng = (limit + (1u << TSUM_SHIFT) - 1) >> TSUM_SHIFT;
    while (from < limit) {
        size_t g = bm_next(h->tsum, from >> TSUM_SHIFT, ng);
        if (g == FAIL)
            return FAIL;
        if ((g << TSUM_SHIFT) > from)
            from = g << TSUM_SHIFT;
        size_t gend = (g + 1) << TSUM_SHIFT;
        if (gend > limit)
            gend = limit;
        size_t r = bm_next(h->tail, from, gend);
        if (r != FAIL)
            return r;
        from = gend;
    }
    return FAIL;
}

/* Bits [i, i+n) of bm as an integer, n <= 64. */
static uint64_t bm_get_bits(const uint64_t *bm, size_t i, unsigned n)
{
    unsigned b = i & 63;
    uint64_t x = ld(&bm[i >> 6]) >> b;
    if (b && b + n > 64)
        x |= ld(&bm[(i >> 6) + 1]) << (64 - b);
    return n >= 64 ? x : x & ((1ull << n) - 1);
}

static void zero_pages(struct heap *h, size_t from, size_t to)
{
    if (to > from)
        memset(pg_addr(h, from), 0, (to - from) << PG_SHIFT);
}

/* Hand out pages [pg, pg+n): mark them used. With zero, also clear the pages
 * that were used before (the others are still zero from the OS). */
static void take_pages(struct heap *h, size_t pg, size_t n, bool zero)
{
    size_t end = pg + n, i = pg, run = FAIL;
    while (i < end) {
        size_t wi = i >> 6, base = wi << 6;
        unsigned b0 = (unsigned)(i - base);
        unsigned b1 = end - base >= 64 ? 64u : (unsigned)(end - base);
        uint64_t m = mask_bits(b0, b1);
        uint64_t *w = &h->used[wi];
        uint64_t old = ld(w);
        if ((old & m) != m) {
            mark_page(h, pg_of(h, w));
            old = __atomic_fetch_or(w, m, RLX);
            unsigned fresh = (unsigned)__builtin_popcountll(m & ~old);
            if (fresh)
                __atomic_fetch_add(&h->pages_used, fresh, RLX);
        }
        if (zero) {
            uint64_t d = old & m;
            if (d == m) {
                if (run == FAIL)
                    run = base + b0;
            } else if (d == 0) {
                if (run != FAIL)
                    zero_pages(h, run, base + b0);
                run = FAIL;
            } else {
                for (unsigned b = b0; b < b1; b++) {
                    if ((d >> b) & 1) {
                        if (run == FAIL)
                            run = base + b;
                    } else if (run != FAIL) {
                        zero_pages(h, run, base + b);
                        run = FAIL;
                    }
                }
            }
        }
        i = base + b1;
    }
    if (run != FAIL)
        zero_pages(h, run, end);
}

static void mark_bytes(struct heap *h, const char *p, size_t len)
{
    size_t a = pg_of(h, p), b = pg_of(h, p + len - 1);
    take_pages(h, a, b - a + 1, false);
}

/* ---- page allocator (page_lock held) -------------------------------------------- */

static void fs_link(struct heap *h, size_t pg, size_t n)
{
    mark_page(h, pg);
    mark_page(h, pg + n - 1);
    struct fspan *f = (struct fspan *)pg_addr(h, pg);
    struct ftail *t = (struct ftail *)(pg_addr(h, pg + n - 1) + PG - sizeof(struct ftail));
    f->magic = tag(h, f);
    f->npages = n;
    t->magic = tag(h, t);
    t->npages = n;
    unsigned b = bin_of(n);
    f->prev = NULL;
    f->next = h->bins[b];
    if (f->next)
        f->next->prev = f;
    h->bins[b] = f;
    h->binmask[b >> 6] |= 1ull << (b & 63);
}

static void fs_unlink(struct heap *h, struct fspan *f)
{
    unsigned b = bin_of(f->npages);
    if (f->prev)
        f->prev->next = f->next;
    else
        h->bins[b] = f->next;
    if (f->next)
        f->next->prev = f->prev;
    if (!h->bins[b])
        h->binmask[b >> 6] &= ~(1ull << (b & 63));
    f->magic = 0;
}

static unsigned next_bin(const struct heap *h, unsigned b)
{
    while (b < NBINS) {
        uint64_t x = h->binmask[b >> 6] & (~0ull << (b & 63));
        if (x)
            return (b & ~63u) + (unsigned)__builtin_ctzll(x);
        b = (b & ~63u) + 64;
    }
    return NBINS;
}

static size_t align_pg(const struct heap *h, size_t pg, size_t align)
{
    uintptr_t a = (uintptr_t)pg_addr(h, pg);
    uintptr_t r = (a + align - 1) & ~(uintptr_t)(align - 1);
    if (r < a)
        return FAIL;
    return (size_t)(r - (uintptr_t)h->lo) >> PG_SHIFT;
}

/* Carve [a, a+n) out of free span f; the rest goes back to the bins. */
static size_t fs_carve(struct heap *h, struct fspan *f, size_t a, size_t n)
{
    size_t s = pg_of(h, f), m = f->npages;
    fs_unlink(h, f);
    if (a > s)
        fs_link(h, s, a - s);
    if (a + n < s + m)
        fs_link(h, a + n, s + m - (a + n));
    return a;
}

/* Allocate n pages whose start address is aligned to align (a power of two,
 * >= PG). Returns the first page or FAIL; *err is set on corruption. */
static size_t pa_alloc(struct heap *h, size_t n, size_t align, const char **err)
{
    if (n == 0 || n > h->npages)
        return FAIL;
    unsigned b0 = bin_of(n);
    if (align <= PG) {
        struct fspan *best = NULL;
        if (b0 >= NEXACT) {
            unsigned k = 0;
            for (struct fspan *f = h->bins[b0]; f && k < SCAN_LIMIT; f = f->next, k++)
                if (f->npages >= n && (!best || f->npages < best->npages))
                    best = f;
        }
        if (!best) {
            unsigned b = next_bin(h, b0 >= NEXACT ? b0 + 1 : b0);
            if (b < NBINS)
                best = h->bins[b];
        }
        if (best) {
            if (best->magic != tag(h, best) || best->npages < n) {
                *err = "heap: free span corrupted";
                return FAIL;
            }
            return fs_carve(h, best, pg_of(h, best), n);
        }
        if (n > h->npages - h->bump)
            return FAIL;
        size_t s = h->bump;
        h->bump += n;
        return s;
    }
    for (unsigned b = next_bin(h, b0); b < NBINS; b = next_bin(h, b + 1)) {
        unsigned k = 0;
        for (struct fspan *f = h->bins[b]; f && k < 2 * SCAN_LIMIT; f = f->next, k++) {
            if (f->magic != tag(h, f)) {
                *err = "heap: free span corrupted";
                return FAIL;
            }
            size_t s = pg_of(h, f), a = align_pg(h, s, align);
            if (a != FAIL && a >= s && a - s < f->npages && f->npages - (a - s) >= n)
                return fs_carve(h, f, a, n);
        }
    }
    size_t a = align_pg(h, h->bump, align);
    if (a == FAIL || a > h->npages || n > h->npages - a)
        return FAIL;
    if (a > h->bump)
        fs_link(h, h->bump, a - h->bump);
    h->bump = a + n;
    return a;
}

/* Return pages [s, s+n) (already removed from head/tail bits). */
static const char *pa_free(struct heap *h, size_t s, size_t n)
{
    if (s > h->data_start && !bit_get(h->tail, s - 1)) {
        struct ftail *t = (struct ftail *)(pg_addr(h, s - 1) + PG - sizeof(struct ftail));
        size_t m = t->npages;
        if (t->magic != tag(h, t) || m == 0 || m > s - h->data_start)
            return "heap: free span tail corrupted";
        struct fspan *f = (struct fspan *)pg_addr(h, s - m);
        if (f->magic != tag(h, f) || f->npages != m)
            return "heap: free span corrupted";
        fs_unlink(h, f);
        s -= m;
        n += m;
    }
    size_t e = s + n;
    if (e < h->bump && !bit_get(h->head, e)) {
        struct fspan *f = (struct fspan *)pg_addr(h, e);
        if (f->magic != tag(h, f) || f->npages == 0 || f->npages > h->bump - e)
            return "heap: free span corrupted";
        n += f->npages;
        fs_unlink(h, f);
    }
    if (s + n >= h->bump)
        h->bump = s;
    else
        fs_link(h, s, n);
    return NULL;
}

/* ---- large blocks ------------------------------------------------------------------ */

static void *large_alloc(struct heap *h, size_t bytes, size_t align, bool zero)
{
    if (bytes > h->size)
        return NULL;
    size_t n = (bytes + PG - 1) >> PG_SHIFT;
    if (n == 0)
        n = 1;
    const char *err = NULL;
    pthread_mutex_lock(&h->page_lock);
    size_t s = pa_alloc(h, n, align, &err);
    if (s != FAIL) {
        bm_set(h, h->head, s);
        tail_set(h, s + n - 1);
    }
    pthread_mutex_unlock(&h->page_lock);
    if (err)
        om_heap_corrupt(err);
    if (s == FAIL)
        return NULL;
    take_pages(h, s, n, zero);
    __atomic_fetch_add(&h->bytes, (int64_t)(n << PG_SHIFT), RLX);
    return pg_addr(h, s);
}

/* Pages of the large block starting at pg, or 0 if pg is not one. */
static size_t large_npages(const struct heap *h, size_t pg)
{
    if (!bit_get(h->head, pg) || bit_get(h->kind, pg))
        return 0;
    size_t t = tail_next(h, pg);
    return t == FAIL ? 0 : t - pg + 1;
}

static void large_free(struct heap *h, size_t pg)
{
    const char *err = NULL;
    pthread_mutex_lock(&h->page_lock);
    size_t n = large_npages(h, pg);
    if (!n) {
        err = "heap: free of a pointer that is not an allocated block (double free?)";
    } else {
        bm_clear(h->head, pg);
        tail_clear(h, pg + n - 1);
        err = pa_free(h, pg, n);
    }
    pthread_mutex_unlock(&h->page_lock);
    if (err)
        om_heap_corrupt(err);
    else
        __atomic_fetch_sub(&h->bytes, (int64_t)(n << PG_SHIFT), RLX);
}

/* ---- slabs ---------------------------------------------------------------------------- */

/* Slab containing the small object at page pg, or NULL. */
static inline struct slab *slab_of(const struct heap *h, size_t pg)
{
    size_t w = pg >> 6;
    uint64_t x = ld(&h->head[w]) & (~0ull >> (63 - (pg & 63)));
    if (!x) {
        if (w == 0)
            return NULL;
        x = ld(&h->head[--w]);
        if (!x)
            return NULL;
    }
    size_t hp = (w << 6) + 63 - (size_t)__builtin_clzll(x);
    if (pg - hp >= SLAB_MAX_PAGES)
        return NULL;
    /* A head page is a slab's or a large block's; the slab magic (keyed by the
     * heap secret) tells them apart without a load from the kind bitmap. */
    struct slab *s = (struct slab *)pg_addr(h, hp);
    if (s->magic != tag(h, s) || pg - hp >= s->npages)
        return NULL;
    return s;
}

static void partial_push(struct central *ce, struct slab *s)
{
    s->prev = NULL;
    s->next = ce->partial;
    if (s->next)
        s->next->prev = s;
    ce->partial = s;
    s->on_partial = 1;
    ce->npartial++;
}

static void partial_remove(struct central *ce, struct slab *s)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        ce->partial = s->next;
    if (s->next)
        s->next->prev = s->prev;
    s->on_partial = 0;
    ce->npartial--;
}

/* New slab for class c; its central lock held. */
static struct slab *slab_new(struct heap *h, unsigned c, const char **err)
{
    const struct geom *g = &h->geom[c];
    pthread_mutex_lock(&h->page_lock);
    size_t s = pa_alloc(h, g->npages, PG, err);
    if (s != FAIL) {
        bm_set(h, h->head, s);
        tail_set(h, s + g->npages - 1);
        bm_set(h, h->kind, s);
    }
    pthread_mutex_unlock(&h->page_lock);
    if (s == FAIL)
        return NULL;
    uint64_t dirty = bm_get_bits(h->used, s, g->npages);
    mark_page(h, s);
    struct slab *sl = (struct slab *)pg_addr(h, s);
    sl->magic = tag(h, sl);
    sl->cls = c;
    sl->npages = g->npages;
    sl->nobj = g->nobj;
    sl->frontier = 0;
    sl->nout = 0;
    sl->nfree = 0;
    sl->free_head = NULL;
    sl->next = sl->prev = NULL;
    sl->dirty = dirty;
    sl->objbase = (char *)sl + g->first_off;
    sl->on_partial = 0;
    sl->size = (uint32_t)class_size(c);
    sl->recip = ((1ull << 40) + sl->size - 1) / sl->size;
    return sl;
}

/* Give an empty slab back to the page allocator; central lock held. */
static const char *slab_release(struct heap *h, struct central *ce, struct slab *s)
{
    size_t pg = pg_of(h, s), n = s->npages;
    partial_remove(ce, s);
    s->magic = 0;
    pthread_mutex_lock(&h->page_lock);
    bm_clear(h->kind, pg);
    bm_clear(h->head, pg);
    tail_clear(h, pg + n - 1);
    const char *err = pa_free(h, pg, n);
    pthread_mutex_unlock(&h->page_lock);
    return err;
}

static bool run_is_clean(const struct heap *h, const struct slab *s, const char *from, const char *to)
{
    size_t sp = pg_of(h, s);
    size_t a = pg_of(h, from) - sp, b = pg_of(h, to - 1) - sp;
    uint64_t m = mask_bits((unsigned)a, (unsigned)b + 1);
    return (s->dirty & m) == 0;
}

/* Fill b (empty) with up to max objects of class c: reused ones as a list,
 * or else a fresh run. Returns false when out of memory. */
static bool central_refill(struct heap *h, unsigned c, struct tbin *b, uint32_t max)
{
    struct central *ce = &h->cls[c];
    const char *err = NULL;
    size_t sz = class_size(c);
    pthread_mutex_lock(&ce->lock);
    struct slab *s = ce->partial;
    if (!s) {
        s = slab_new(h, c, &err);
        if (!s) {
            pthread_mutex_unlock(&ce->lock);
            if (err)
                om_heap_corrupt(err);
            return false;
        }
        partial_push(ce, s);
    }
    if (s->nfree) {
        uint32_t k = s->nfree < max ? s->nfree : max;
        void *first = s->free_head, *last = first;
        for (uint32_t i = 1; i < k; i++)
            last = *(void **)last;
        s->free_head = *(void **)last;
        *(void **)last = NULL;
        b->head = first;
        b->n = k;
        s->nfree -= k;
        s->nout += k;
    } else {
        uint32_t left = s->nobj - s->frontier;
        uint32_t k = left < max ? left : max;
        b->run = s->objbase + (size_t)s->frontier * sz;
        b->run_left = k;
        b->run_mark = b->run;
        b->run_slab = s;
        b->run_clean = run_is_clean(h, s, b->run, b->run + (size_t)k * sz);
        s->frontier += k;
        s->nout += k;
    }
    if (!s->nfree && s->frontier == s->nobj)
        partial_remove(ce, s);
    pthread_mutex_unlock(&ce->lock);
    return true;
}

/* Return a list of freed objects of class c to their slabs. */
static void central_flush(struct heap *h, unsigned c, void *list)
{
    struct central *ce = &h->cls[c];
    const char *err = NULL;
    pthread_mutex_lock(&ce->lock);
    while (list && !err) {
        void *p = list;
        list = *(void **)p;
        struct slab *s = slab_of(h, pg_of(h, p));
        if (!s || s->cls != c || !s->nout) {
            err = "heap: thread cache corrupted";
            break;
        }
        *(void **)p = s->free_head;
        s->free_head = p;
        s->nfree++;
        s->nout--;
        if (!s->on_partial)
            partial_push(ce, s);
        if (!s->nout && ce->npartial > 1)
            err = slab_release(h, ce, s);
    }
    pthread_mutex_unlock(&ce->lock);
    if (err)
        om_heap_corrupt(err);
}

/* Give back the unused part of a fresh run. */
static void central_return_run(struct heap *h, unsigned c, struct tbin *b)
{
    struct central *ce = &h->cls[c];
    struct slab *s = b->run_slab;
    size_t sz = class_size(c);
    const char *err = NULL;
    pthread_mutex_lock(&ce->lock);
    char *end = b->run + (size_t)b->run_left * sz;
    if (s->objbase + (size_t)s->frontier * sz == end) {
        /* untouched: just move the frontier back */
        s->frontier -= b->run_left;
    } else {
        /* Someone carved past us: push them as freed objects, which writes
         * them, so their pages must be marked first. */
        mark_bytes(h, b->run, (size_t)b->run_left * sz);
        for (char *p = b->run; p < end; p += sz) {
            ((uint64_t *)p)[1] = canary(h, p);
            *(void **)p = s->free_head;
            s->free_head = p;
        }
        s->nfree += b->run_left;
    }
    s->nout -= b->run_left;
    b->run_left = 0;
    if (!s->on_partial)
        partial_push(ce, s);
    if (!s->nout && ce->npartial > 1)
        err = slab_release(h, ce, s);
    pthread_mutex_unlock(&ce->lock);
    if (err)
        om_heap_corrupt(err);
}

/* ---- thread cache lifecycle ------------------------------------------------------------ */

static void tc_flush_all(struct heap *h, struct tcache *tc)
{
    for (unsigned c = 0; c < NCLASS; c++) {
        struct tbin *b = &tc->bin[c];
        if (b->head)
            central_flush(h, c, b->head);
        b->head = NULL;
        b->n = 0;
        if (b->run_left)
            central_return_run(h, c, b);
    }
}

static void tc_destroy(void *arg)
{
    struct tcache *tc = arg;
    struct heap *h = g_heap;
    if (h && tc->gen == g_gen) {
        tc_flush_all(h, tc);
        pthread_mutex_lock(&h->reg_lock);
        if (tc->prev)
            tc->prev->next = tc->next;
        else
            h->reg = tc->next;
        if (tc->next)
            tc->next->prev = tc->prev;
        __atomic_fetch_add(&h->bytes, __atomic_load_n(&tc->bytes, RLX), RLX);
        pthread_mutex_unlock(&h->reg_lock);
    }
    tc->gen = 0;
    tc->state = TC_DEAD;
}

static bool key_ready(void)
{
    int s = __atomic_load_n(&g_key_state, __ATOMIC_ACQUIRE);
    if (s >= 2)
        return s == 2;
    int z = 0;
    if (__atomic_compare_exchange_n(&g_key_state, &z, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        bool ok = pthread_key_create(&g_key, tc_destroy) == 0;
        __atomic_store_n(&g_key_state, ok ? 2 : 3, __ATOMIC_RELEASE);
        return ok;
    }
    while ((s = __atomic_load_n(&g_key_state, __ATOMIC_ACQUIRE)) == 1)
        __builtin_ia32_pause();
    return s == 2;
}

static __attribute__((noinline)) struct tcache *tc_slow(struct tcache *tc)
{
    struct heap *h = g_heap;
    if (!h || tc->state == TC_DEAD)
        return NULL;
    /* First use on this thread, or the heap was replaced by om_heap_init:
     * anything cached belongs to the old heap and is dropped. */
    memset(tc->bin, 0, sizeof tc->bin);
    tc->bytes = 0;
    if (!key_ready() || pthread_setspecific(g_key, tc) != 0) {
        /* No exit hook to flush a cache: this thread goes uncached. */
        tc->state = TC_DEAD;
        tc->gen = 0;
        return NULL;
    }
    pthread_mutex_lock(&h->reg_lock);
    tc->prev = NULL;
    tc->next = h->reg;
    if (tc->next)
        tc->next->prev = tc;
    h->reg = tc;
    pthread_mutex_unlock(&h->reg_lock);
    tc->state = TC_LIVE;
    tc->gen = g_gen;
    return tc;
}

static inline struct tcache *tc_get(void)
{
    struct tcache *tc = &t_cache;
    if (LIKELY(tc->gen == g_gen))
        return tc;
    return tc_slow(tc);
}

static inline void tc_account(struct tcache *tc, int64_t d)
{
    __atomic_store_n(&tc->bytes, __atomic_load_n(&tc->bytes, RLX) + d, RLX);
}

/* ---- small objects ------------------------------------------------------------------------- */

static inline void *take_fresh(struct heap *h, struct tbin *b, size_t sz, bool zero)
{
    char *p = b->run;
    b->run += sz;
    b->run_left--;
    if (p + sz > b->run_mark) {
        mark_bytes(h, p, sz);
        b->run_mark = pg_addr(h, pg_of(h, p + sz - 1) + 1);
    }
    if (!b->run_clean) {
        /* The slab reuses pages that held data: clear what a later free
         * would mistake for its double-free canary. */
        if (zero)
            memset(p, 0, sz);
        else
            ((uint64_t *)p)[1] = 0;
    }
    return p;
}

static inline void *take_reused(struct tbin *b, size_t sz, bool zero)
{
    void *p = b->head;
    b->head = *(void **)p;
    b->n--;
    if (zero)
        memset(p, 0, sz);
    else
        ((uint64_t *)p)[1] = 0; /* clear the free canary */
    return p;
}

static __attribute__((noinline)) void *small_alloc_slow(struct heap *h, unsigned c, bool zero)
{
    size_t sz = class_size(c);
    struct tcache *tc = tc_get();
    if (!tc) {
        struct tbin one;
        memset(&one, 0, sizeof one);
        if (!central_refill(h, c, &one, 1))
            return NULL;
        __atomic_fetch_add(&h->bytes, (int64_t)sz, RLX);
        return one.head ? take_reused(&one, sz, zero) : take_fresh(h, &one, sz, zero);
    }
    struct tbin *b = &tc->bin[c];
    if (!b->head && !b->run_left && !central_refill(h, c, b, h->geom[c].batch))
        return NULL;
    tc_account(tc, (int64_t)sz);
    return b->head ? take_reused(b, sz, zero) : take_fresh(h, b, sz, zero);
}

static inline void *small_alloc(struct heap *h, unsigned c, bool zero)
{
    struct tcache *tc = &t_cache;
    if (LIKELY(tc->gen == g_gen)) {
        struct tbin *b = &tc->bin[c];
        size_t sz = class_size(c);
        if (LIKELY(b->head != NULL)) {
            tc_account(tc, (int64_t)sz);
            return take_reused(b, sz, zero);
        }
        if (b->run_left) {
            tc_account(tc, (int64_t)sz);
            return take_fresh(h, b, sz, zero);
        }
    }
    return small_alloc_slow(h, c, zero);
}

static __attribute__((noinline)) void small_free_slow(struct heap *h, unsigned c, void *p)
{
    struct tcache *tc = tc_get();
    if (!tc) {
        *(void **)p = NULL;
        __atomic_fetch_sub(&h->bytes, (int64_t)class_size(c), RLX);
        central_flush(h, c, p);
        return;
    }
    struct tbin *b = &tc->bin[c];
    *(void **)p = b->head;
    b->head = p;
    b->n++;
    tc_account(tc, -(int64_t)class_size(c));
}

static inline void small_free(struct heap *h, struct slab *s, void *p)
{
    unsigned c = s->cls;
    size_t sz = s->size;
    size_t off = (size_t)((char *)p - s->objbase);
    size_t idx = (off * s->recip) >> 40; /* exact: off < 2^18, size <= 2^14 */
    if (UNLIKELY((char *)p < s->objbase || idx * sz != off || idx >= s->nobj)) {
        om_heap_corrupt("heap: free of a pointer that is not an allocated block");
        return;
    }
    uint64_t *w = p;
    if (UNLIKELY(w[1] == canary(h, p))) {
        om_heap_corrupt("heap: double free");
        return;
    }
    w[1] = canary(h, p);
    struct tcache *tc = &t_cache;
    if (UNLIKELY(tc->gen != g_gen)) {
        small_free_slow(h, c, p);
        return;
    }
    struct tbin *b = &tc->bin[c];
    *(void **)p = b->head;
    b->head = p;
    tc_account(tc, -(int64_t)sz);
    if (UNLIKELY(++b->n > h->geom[c].cap)) {
        /* Flush a batch, the most recently freed first. */
        uint32_t k = h->geom[c].batch;
        void *first = b->head, *last = first;
        for (uint32_t i = 1; i < k; i++)
            last = *(void **)last;
        b->head = *(void **)last;
        *(void **)last = NULL;
        b->n -= k;
        central_flush(h, c, first);
    }
}

/* ---- block lookup ---------------------------------------------------------------------------- */

struct blk {
    struct slab *s; /* small object */
    size_t pg, npages; /* large block */
};

static inline bool lookup(struct heap *h, const void *p, struct blk *b)
{
    if (!h || (const char *)p < h->lo || (size_t)((const char *)p - h->lo) >= h->size)
        return false;
    size_t off = (size_t)((const char *)p - h->lo), pg = off >> PG_SHIFT;
    b->s = NULL;
    b->pg = pg;
    b->npages = 0;
    if ((off & (PG - 1)) == 0 && bit_get(h->head, pg)) {
        b->npages = large_npages(h, pg);
        return b->npages != 0;
    }
    b->s = slab_of(h, pg);
    return b->s != NULL;
}

/* ---- public API ------------------------------------------------------------------------------ */

static void compute_geometry(struct heap *h)
{
    for (unsigned c = 0; c < NCLASS; c++) {
        size_t sz = class_size(c);
        size_t al = (sz & (sz - 1)) == 0 && sz <= 2048 ? sz : 16;
        size_t off = (SLAB_HDR + al - 1) & ~(al - 1);
        unsigned best = 0;
        size_t best_waste = 0, best_bytes = 1;
        for (unsigned np = SLAB_MIN_PAGES; np <= SLAB_MAX_PAGES; np++) {
            size_t bytes = np * PG, nobj = (bytes - off) / sz;
            if (nobj < 8)
                continue;
            size_t waste = bytes - nobj * sz;
            if (waste * 16 <= bytes) {
                best = np;
                break;
            }
            if (!best || waste * best_bytes < best_waste * bytes) {
                best = np;
                best_waste = waste;
                best_bytes = bytes;
            }
        }
        struct geom *g = &h->geom[c];
        g->npages = best;
        g->first_off = (uint32_t)off;
        g->nobj = (uint32_t)((best * PG - off) / sz);
        size_t cap = 32768 / sz;
        g->cap = (uint32_t)(cap < 4 ? 4 : cap > 256 ? 256 : cap);
        g->batch = g->cap / 2;
    }
}

static uint64_t make_secret(const void *lo)
{
    uint64_t x = (uintptr_t)lo ^ 0x9e3779b97f4a7c15ull;
#if defined(__x86_64__)
    x ^= __builtin_ia32_rdtsc();
#endif
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return (x ^ (x >> 31)) | 1;
}

int om_heap_init(void *lo, size_t size)
{
    if (!lo || ((uintptr_t)lo & (PG - 1)))
        return -1;
    size &= ~(PG - 1);
    size_t npages = size >> PG_SHIFT;
    if ((uint64_t)npages > MAX_REGION_PAGES)
        return -1;
    size_t hdr_pages = (sizeof(struct heap) + PG - 1) >> PG_SHIFT;
    size_t bm_pages = (((npages + 63) / 64) * 8 + PG - 1) >> PG_SHIFT;
    size_t ts_pages = ((((npages >> TSUM_SHIFT) + 64) / 64) * 8 + PG - 1) >> PG_SHIFT;
    size_t meta = hdr_pages + 4 * bm_pages + ts_pages;
    if (npages < meta + 2 * SLAB_MAX_PAGES)
        return -1;

    struct heap *h = lo;
    char *base = lo;
    h->lo = base;
    h->size = size;
    h->npages = npages;
    h->used = (uint64_t *)(base + (hdr_pages << PG_SHIFT));
    h->head = h->used + bm_pages * (PG / 8);
    h->tail = h->head + bm_pages * (PG / 8);
    h->kind = h->tail + bm_pages * (PG / 8);
    h->tsum = h->kind + bm_pages * (PG / 8);
    h->hdr_pages = hdr_pages;
    h->data_start = meta;
    h->bump = meta;
    h->pages_used = 0;
    h->bytes = 0;
    h->secret = make_secret(lo);
    pthread_mutex_init(&h->page_lock, NULL);
    pthread_mutex_init(&h->reg_lock, NULL);
    memset(h->bins, 0, sizeof h->bins);
    memset(h->binmask, 0, sizeof h->binmask);
    h->reg = NULL;
    compute_geometry(h);
    for (unsigned c = 0; c < NCLASS; c++) {
        pthread_mutex_init(&h->cls[c].lock, NULL);
        h->cls[c].partial = NULL;
        h->cls[c].npartial = 0;
    }
    for (size_t p = 0; p < hdr_pages; p++)
        mark_page(h, p);
    h->magic = HEAP_MAGIC;
    g_heap = h;
    g_gen++;
    return 0;
}

void *om_heap_alloc(size_t n)
{
    struct heap *h = g_heap;
    if (UNLIKELY(!h))
        return NULL;
    if (LIKELY(n <= OM_HEAP_SMALL_MAX))
        return small_alloc(h, size_class(n), false);
    return large_alloc(h, n, PG, false);
}

void *om_heap_calloc(size_t nmemb, size_t n)
{
    struct heap *h = g_heap;
    size_t total;
    if (UNLIKELY(!h) || __builtin_mul_overflow(nmemb, n, &total))
        return NULL;
    if (total <= OM_HEAP_SMALL_MAX)
        return small_alloc(h, size_class(total), true);
    return large_alloc(h, total, PG, true);
}

void om_heap_free(void *p)
{
    if (!p)
        return;
    struct heap *h = g_heap;
    struct blk b;
    if (UNLIKELY(!lookup(h, p, &b))) {
        om_heap_corrupt("heap: free of a pointer that is not an allocated block");
        return;
    }
    if (b.s)
        small_free(h, b.s, p);
    else
        large_free(h, b.pg);
}

size_t om_heap_usable_size(const void *p)
{
    if (!p)
        return 0;
    struct heap *h = g_heap;
    struct blk b;
    if (!lookup(h, p, &b)) {
        om_heap_corrupt("heap: usable_size of a pointer that is not an allocated block");
        return 0;
    }
    return b.s ? class_size(b.s->cls) : b.npages << PG_SHIFT;
}

void *om_heap_memalign(size_t align, size_t n)
{
    struct heap *h = g_heap;
    if (!h || (align & (align - 1)))
        return NULL;
    if (align <= 16)
        return om_heap_alloc(n);
    size_t need = n > align ? n : align;
    if (need <= 2048 && align < PG) {
        /* Power-of-two classes up to 2 KiB are naturally aligned. */
        size_t sz = (size_t)1 << (64 - __builtin_clzll(need - 1));
        return small_alloc(h, size_class(sz), false);
    }
    if (n > h->size)
        return NULL;
    return large_alloc(h, n, align > PG ? align : PG, false);
}

/* Grow or shrink large block [pg, pg+old) in place to n pages. */
static bool large_resize(struct heap *h, size_t pg, size_t old, size_t n)
{
    bool ok = false;
    const char *err = NULL;
    pthread_mutex_lock(&h->page_lock);
    if (large_npages(h, pg) != old) {
        err = "heap: realloc of a block that is no longer allocated";
    } else if (n < old) {
        tail_clear(h, pg + old - 1);
        tail_set(h, pg + n - 1);
        err = pa_free(h, pg + n, old - n);
        ok = !err;
    } else {
        size_t e = pg + old, want = n - old;
        if (e == h->bump) {
            if (want <= h->npages - e) {
                h->bump = e + want;
                ok = true;
            }
        } else if (!bit_get(h->head, e)) {
            struct fspan *f = (struct fspan *)pg_addr(h, e);
            if (f->magic != tag(h, f))
                err = "heap: free span corrupted";
            else if (f->npages >= want) {
                fs_carve(h, f, e, want);
                ok = true;
            }
        }
        if (ok) {
            tail_clear(h, pg + old - 1);
            tail_set(h, pg + n - 1);
        }
    }
    pthread_mutex_unlock(&h->page_lock);
    if (err)
        om_heap_corrupt(err);
    if (ok) {
        if (n > old)
            take_pages(h, pg + old, n - old, false);
        __atomic_fetch_add(&h->bytes, ((int64_t)n - (int64_t)old) * (int64_t)PG, RLX);
    }
    return ok;
}

void *om_heap_realloc(void *p, size_t n)
{
    if (!p)
        return om_heap_alloc(n);
    struct heap *h = g_heap;
    struct blk b;
    if (!lookup(h, p, &b)) {
        om_heap_corrupt("heap: realloc of a pointer that is not an allocated block");
        return NULL;
    }
    size_t old = b.s ? class_size(b.s->cls) : b.npages << PG_SHIFT;
    if (b.s) {
        if (n <= old && (n > old / 2 || old <= 16))
            return p;
    } else if (n > OM_HEAP_SMALL_MAX || n > old / 4) {
        if (n > h->size)
            return NULL;
        size_t np = (n + PG - 1) >> PG_SHIFT;
        if (np == 0)
            np = 1;
        if (np == b.npages || large_resize(h, b.pg, b.npages, np))
            return p;
    }
    void *q = om_heap_alloc(n);
    if (!q)
        return n <= old ? p : NULL;
    memcpy(q, p, n < old ? n : old);
    om_heap_free(p);
    return q;
}

const uint64_t *om_heap_used_bitmap(size_t *npages)
{
    struct heap *h = g_heap;
    if (npages)
        *npages = h ? h->npages : 0;
    return h ? h->used : NULL;
}

size_t om_heap_pages_ever_used(void)
{
    struct heap *h = g_heap;
    return h ? __atomic_load_n(&h->pages_used, RLX) : 0;
}

void om_heap_get_stats(struct om_heap_stats *st)
{
    struct heap *h = g_heap;
    memset(st, 0, sizeof *st);
    if (!h)
        return;
    int64_t bytes = __atomic_load_n(&h->bytes, RLX);
    pthread_mutex_lock(&h->reg_lock);
    for (struct tcache *tc = h->reg; tc; tc = tc->next)
        bytes += __atomic_load_n(&tc->bytes, RLX);
    pthread_mutex_unlock(&h->reg_lock);
    st->bytes_in_use = bytes > 0 ? (size_t)bytes : 0;
    st->pages_ever_used = __atomic_load_n(&h->pages_used, RLX);
    st->region_pages = h->npages;
}
