/* The host's userfaultfd service for the kernel tracker; see ktrack.h.
 * Untrusted: the enclave checks every answer, this side only keeps the
 * kernel objects and the fault queue. */
#include "ktrack.h"
#include "tracker_uffd.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define PG 4096ull
#define RING 256            /* queued wanted pages; more spill into a bitmap */
#define ZERO_WINDOW 512     /* a fault on a non-pending page zero-fills its 2 MiB block */
#define MINCORE_CHUNK 65536 /* pages per mincore call in absent_start */
#define MAX_TIMEOUT_MS 60000

static struct {
    pthread_rwlock_t life; /* write: start/stop; read: calls that use wp or miss */
    pthread_mutex_t mu;    /* the wanted queue */
    pthread_cond_t cv;
    int probed;            /* 1 ok, -errno, 0 not yet */
    int poll_mode;
    struct om_wp_tracker *wp;
    struct om_missing *miss;
    struct om_missing *_Atomic live; /* miss, for the service thread once published */
    uint64_t base, npages; /* absent region */
    uint64_t *pending;     /* fixed once the service runs */
    uint64_t *spill;
    const uint8_t *zeros;  /* ZERO_WINDOW pages of zeros, the source of zero fills */
    uint64_t nspill;
    uint64_t ring[RING];
    uint32_t head, count;
    int stopping;
    struct {
        _Atomic uint64_t faults, wanted, zero_fills, copied, spilled;
    } st;
} kt = {
    .life = PTHREAD_RWLOCK_INITIALIZER,
    .mu = PTHREAD_MUTEX_INITIALIZER,
    .cv = PTHREAD_COND_INITIALIZER,
    .poll_mode = OM_MISSING_BLOCK,
};

static int bit(const uint64_t *bm, uint64_t i) { return (bm[i / 64] >> (i % 64)) & 1; }

static int probe_once(void)
{
    char err[256];
    uint8_t *p = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    struct om_wp_tracker *wp = NULL;
    struct om_missing *m = NULL;
    uint64_t bm = 0;
    int rc = om_wp_open(&wp, p, PG, err, sizeof(err));
    if (!rc) {
        p[0] = 1;
        rc = om_wp_collect(wp, &bm, 64) == 1 && bm == 1 ? 0 : -EOPNOTSUPP;
        om_wp_close(wp);
    }
    if (!rc && !(rc = om_missing_open(&m, p + PG, PG, NULL, NULL, OM_MISSING_BLOCK, err, sizeof(err))))
        om_missing_close(m);
    munmap(p, 2 * PG);
    return rc;
}

int om_kth_probe(void)
{
    pthread_mutex_lock(&kt.mu);
    if (!kt.probed) {
        int rc = probe_once();
        kt.probed = rc ? rc : 1;
    }
    int r = kt.probed == 1 ? 0 : kt.probed;
    pthread_mutex_unlock(&kt.mu);
    return r;
}

int om_kth_dirty_start(uint64_t addr, uint64_t len)
{
    char err[256];
    pthread_rwlock_wrlock(&kt.life);
    int rc = kt.wp ? -EBUSY : om_wp_open(&kt.wp, (void *)addr, len, err, sizeof(err));
    pthread_rwlock_unlock(&kt.life);
    return rc;
}

int64_t om_kth_dirty_collect(uint64_t first, uint64_t npages, uint64_t *bm)
{
    pthread_rwlock_rdlock(&kt.life);
    int64_t r = kt.wp ? om_wp_collect_range(kt.wp, first, npages, bm, npages) : -ENODEV;
    pthread_rwlock_unlock(&kt.life);
    return r;
}

void om_kth_dirty_stop(void)
{
    pthread_rwlock_wrlock(&kt.life);
    om_wp_close(kt.wp);
    kt.wp = NULL;
    pthread_rwlock_unlock(&kt.life);
}

int om_kth_pending(uint64_t addr, uint64_t len, uint64_t first, uint64_t npages, const uint64_t *bm)
{
    if (!addr || addr % PG || !len || len % PG || first % 64)
        return -EINVAL;
    int rc = 0;
    pthread_rwlock_wrlock(&kt.life);
    uint64_t n = len / PG;
    if (kt.miss) {
        rc = -EBUSY;
    } else if (first == 0) {
        free(kt.pending);
        free(kt.spill);
        kt.pending = calloc((n + 63) / 64, 8);
        kt.spill = calloc((n + 63) / 64, 8);
        kt.base = kt.pending && kt.spill ? addr : 0;
        kt.npages = n;
        if (!kt.base)
            rc = -ENOMEM;
    } else if (addr != kt.base || n != kt.npages) {
        rc = -EINVAL;
    }
    if (!rc && (first > n || npages > n - first))
        rc = -EINVAL;
    if (!rc) {
        memcpy(kt.pending + first / 64, bm, npages / 64 * 8);
        if (npages % 64)
            kt.pending[(first + npages) / 64] = bm[npages / 64] & ((1ull << (npages % 64)) - 1);
    }
    pthread_rwlock_unlock(&kt.life);
    return rc;
}

static void queue_wanted(uint64_t i)
{
    pthread_mutex_lock(&kt.mu);
    if (kt.count < RING) {
        kt.ring[(kt.head + kt.count++) % RING] = i;
    } else {
        /* The ring holds one fault per blocked thread in practice; never drop. */
        kt.spill[i / 64] |= 1ull << (i % 64);
        kt.nspill++;
        atomic_fetch_add(&kt.st.spilled, 1);
    }
    atomic_fetch_add(&kt.st.wanted, 1);
    pthread_cond_broadcast(&kt.cv);
    pthread_mutex_unlock(&kt.mu);
}

/* Service thread, once per page's first fault. Other pages are zero: fill the
 * whole block around it, since a thread touching fresh heap walks on. Copied
 * zeros, not UFFDIO_ZEROPAGE: each later write to a zero-page mapping is a
 * copy-on-write fault (fresh-page writes measured 0.04 against 0.67 GiB/s). */
static void on_fault(void *ctx, uint64_t addr)
{
    (void)ctx;
    struct om_missing *m;
    while (!(m = atomic_load(&kt.live)))
        sched_yield(); /* a fault raced with absent_start publishing it */
    uint64_t i = (addr - kt.base) / PG;
    atomic_fetch_add(&kt.st.faults, 1);
    if (bit(kt.pending, i)) {
        queue_wanted(i);
        return;
    }
    atomic_fetch_add(&kt.st.zero_fills, 1);
    uint64_t lo = i - i % ZERO_WINDOW, hi = lo + ZERO_WINDOW < kt.npages ? lo + ZERO_WINDOW : kt.npages;
    for (uint64_t j = lo; j < hi;) {
        if (bit(kt.pending, j)) {
            j++;
            continue;
        }
        uint64_t k = j + 1;
        while (k < hi && !bit(kt.pending, k))
            k++;
        /* The faulting page's own fill failing would leave its thread
         * blocked; the service answers a refault of an installed page. */
        (void)om_missing_install(m, kt.base + j * PG, kt.zeros, k - j);
        j = k;
    }
}

/* Drops pending pages that are populated (a prefault, or a huge page that a
 * write nearby brought in), which would otherwise never fault. */
static int drop_pending(void)
{
    unsigned char *vec = malloc(MINCORE_CHUNK);
    if (!vec)
        return -ENOMEM;
    int rc = 0;
    for (uint64_t c = 0; c < kt.npages && !rc; c += MINCORE_CHUNK) {
        uint64_t n = kt.npages - c < MINCORE_CHUNK ? kt.npages - c : MINCORE_CHUNK;
        if (mincore((void *)(kt.base + c * PG), n * PG, vec)) {
            rc = -errno;
            break;
        }
        for (uint64_t j = 0; j < n && !rc;) {
            if (!(vec[j] & 1) || !bit(kt.pending, c + j)) {
                j++;
                continue;
            }
            uint64_t k = j + 1;
            while (k < n && (vec[k] & 1) && bit(kt.pending, c + k))
                k++;
            if (madvise((void *)(kt.base + (c + j) * PG), (k - j) * PG, MADV_DONTNEED))
                rc = -errno;
            j = k;
        }
    }
    free(vec);
    return rc;
}

int om_kth_absent_start(uint64_t addr, uint64_t len)
{
    char err[256];
    int rc = 0;
    pthread_rwlock_wrlock(&kt.life);
    if (kt.miss) {
        pthread_rwlock_unlock(&kt.life);
        return -EBUSY;
    }
    if (!kt.pending || addr != kt.base || len != kt.npages * PG) {
        pthread_rwlock_unlock(&kt.life);
        return -EINVAL;
    }
    /* No huge page may refill a dropped page before MISSING is armed (a
     * registered range is never collapsed, and faults there are 4 KiB). */
    if (madvise((void *)addr, len, MADV_NOHUGEPAGE))
        rc = -errno;
    if (!rc && !kt.zeros) {
        /* Read-only anonymous memory reads as zero and costs no memory; kept. */
        void *z = mmap(NULL, ZERO_WINDOW * PG, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        kt.zeros = z == MAP_FAILED ? NULL : z;
        rc = kt.zeros ? 0 : -ENOMEM;
    }
    if (!rc && !(rc = drop_pending())) {
        kt.head = kt.count = 0;
        kt.nspill = 0;
        kt.stopping = 0;
        memset(kt.spill, 0, (kt.npages + 63) / 64 * 8);
        rc = om_missing_open(&kt.miss, (void *)addr, len, on_fault, NULL, kt.poll_mode, err, sizeof(err));
    }
    if (!rc)
        atomic_store(&kt.live, kt.miss);
    for (uint64_t i = 0; !rc && i < kt.npages; i++)
        if (bit(kt.pending, i) && om_missing_is_installed(kt.miss, kt.base + i * PG))
            rc = -EBUSY; /* repopulated in between: it would never fault */
    if (rc) {
        om_missing_close(kt.miss);
        kt.miss = NULL;
        atomic_store(&kt.live, NULL);
        madvise((void *)addr, len, MADV_HUGEPAGE);
    }
    pthread_rwlock_unlock(&kt.life);
    return rc;
}

int om_kth_install(uint64_t page, uint64_t npages, const void *src)
{
    size_t present = 0;
    int rc;
    pthread_rwlock_rdlock(&kt.life);
    uint64_t s = (uint64_t)src, end = kt.base + kt.npages * PG;
    if (!kt.miss)
        rc = -ENODEV;
    else if (!npages || page >= kt.npages || npages > kt.npages - page || s + npages * PG < s ||
             (s < end && s + npages * PG > kt.base))
        rc = -EINVAL; /* a source inside the region could fault on itself */
    else
        rc = om_missing_install_ex(kt.miss, kt.base + page * PG, src, npages, &present);
    pthread_rwlock_unlock(&kt.life);
    if (rc)
        return rc;
    atomic_fetch_add(&kt.st.copied, npages - present);
    return present != 0;
}

/* Takes up to max queued pages; kt.mu held. */
static uint32_t take(uint64_t *pages, uint32_t max)
{
    uint32_t n = 0;
    for (; n < max && kt.count; kt.count--, kt.head = (kt.head + 1) % RING)
        pages[n++] = kt.ring[kt.head];
    for (uint64_t w = 0; n < max && kt.nspill && w < (kt.npages + 63) / 64; w++)
        while (n < max && kt.spill[w]) {
            uint64_t b = (uint64_t)__builtin_ctzll(kt.spill[w]);
            kt.spill[w] &= kt.spill[w] - 1;
            kt.nspill--;
            pages[n++] = w * 64 + b;
        }
    return n;
}

int64_t om_kth_wanted(uint64_t *pages, uint32_t max, uint32_t timeout_ms)
{
    pthread_rwlock_rdlock(&kt.life);
    if (!kt.miss) {
        pthread_rwlock_unlock(&kt.life);
        return -ENODEV;
    }
    struct timespec dl;
    clock_gettime(CLOCK_REALTIME, &dl);
    uint64_t ns = (uint64_t)dl.tv_nsec + (uint64_t)(timeout_ms > MAX_TIMEOUT_MS ? MAX_TIMEOUT_MS : timeout_ms) * 1000000u;
    dl.tv_sec += (time_t)(ns / 1000000000u);
    dl.tv_nsec = (long)(ns % 1000000000u);
    pthread_mutex_lock(&kt.mu);
    while (!kt.count && !kt.nspill && !kt.stopping)
        if (pthread_cond_timedwait(&kt.cv, &kt.mu, &dl))
            break;
    uint32_t n = take(pages, max);
    pthread_mutex_unlock(&kt.mu);
    pthread_rwlock_unlock(&kt.life);
    return n;
}

void om_kth_absent_stop(void)
{
    pthread_mutex_lock(&kt.mu);
    kt.stopping = 1; /* wakes waiters in wanted(), who hold the read lock */
    pthread_cond_broadcast(&kt.cv);
    pthread_mutex_unlock(&kt.mu);
    pthread_rwlock_wrlock(&kt.life);
    if (kt.miss) {
        om_missing_close(kt.miss);
        madvise((void *)kt.base, kt.npages * PG, MADV_HUGEPAGE);
    }
    kt.miss = NULL;
    atomic_store(&kt.live, NULL);
    free(kt.pending);
    free(kt.spill);
    kt.pending = kt.spill = NULL;
    kt.base = kt.npages = 0;
    pthread_rwlock_unlock(&kt.life);
}

void om_kth_get_stats(struct om_kth_stats *st)
{
    st->faults = atomic_load(&kt.st.faults);
    st->wanted = atomic_load(&kt.st.wanted);
    st->zero_fills = atomic_load(&kt.st.zero_fills);
    st->copied = atomic_load(&kt.st.copied);
    st->spilled = atomic_load(&kt.st.spilled);
}

void om_kth_set_poll(int mode)
{
    pthread_rwlock_wrlock(&kt.life);
    kt.poll_mode = mode;
    pthread_rwlock_unlock(&kt.life);
}

/* ------------------------------------------------------------ OCALL side */

static int in_scratch(const uint8_t *scratch, size_t size, uint64_t p, uint64_t len)
{
    uint64_t lo = (uint64_t)scratch + sizeof(struct om_ocall), hi = (uint64_t)scratch + size;
    return p % 8 == 0 && p >= lo && p <= hi && len <= hi - p;
}

static int in_heap(const struct om_layout *l, uint64_t a, uint64_t len)
{
    return a % PG == 0 && len % PG == 0 && len && a >= l->heap_lo && a < l->heap_hi && len <= l->heap_hi - a;
}

static uint64_t bm_bytes(uint64_t npages) { return (npages + 63) / 64 * 8; }

int64_t om_kth_service(uint8_t *scratch, size_t size, const struct om_layout *l, const int64_t a[6])
{
    uint64_t u1 = (uint64_t)a[1], u2 = (uint64_t)a[2], u3 = (uint64_t)a[3], u4 = (uint64_t)a[4];
    uint64_t u5 = (uint64_t)a[5];
    switch (a[0]) {
    case OM_MIG_KT_PROBE:
        return om_kth_probe();
    case OM_MIG_KT_DIRTY_START:
        return in_heap(l, u1, u2) ? om_kth_dirty_start(u1, u2) : -EINVAL;
    case OM_MIG_KT_DIRTY_COLLECT:
        if (u2 > (uint64_t)size * 8 || !in_scratch(scratch, size, u3, bm_bytes(u2)))
            return -EFAULT;
        return om_kth_dirty_collect(u1, u2, (uint64_t *)u3);
    case OM_MIG_KT_DIRTY_STOP:
        om_kth_dirty_stop();
        return 0;
    case OM_MIG_KT_PENDING:
        if (!in_heap(l, u1, u2))
            return -EINVAL;
        if (u4 > (uint64_t)size * 8 || !in_scratch(scratch, size, u5, bm_bytes(u4)))
            return -EFAULT;
        return om_kth_pending(u1, u2, u3, u4, (const uint64_t *)u5);
    case OM_MIG_KT_ABSENT_START:
        return in_heap(l, u1, u2) ? om_kth_absent_start(u1, u2) : -EINVAL;
    case OM_MIG_KT_INSTALL:
        /* The copy stays inside the enclave range: no plaintext leaves it. */
        if (u2 > l->size / PG || u3 < l->base || u3 - l->base > l->size - u2 * PG)
            return -EINVAL;
        return om_kth_install(u1, u2, (const void *)u3);
    case OM_MIG_KT_WANTED:
        if (u2 > UINT32_MAX || !in_scratch(scratch, size, u1, u2 * 8))
            return -EFAULT;
        return om_kth_wanted((uint64_t *)u1, (uint32_t)u2, (uint32_t)(u3 > UINT32_MAX ? UINT32_MAX : u3));
    case OM_MIG_KT_ABSENT_STOP:
        om_kth_absent_stop();
        return 0;
    default:
        return -ENOSYS;
    }
}
