/* The mmap area: the enclave's own page map of what it handed out, so the
 * host only ever commits or releases pages the enclave chose. Musl uses it
 * for thread stacks and TLS; malloc has its own heap. */
#include "mig.h"
#include "trt.h"
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#define AREA_PAGES (OM_MMAP_AREA_SIZE / OM_PAGE_SIZE)
#define MAX_FILE_MAP (256ull << 20)

static uint64_t used[AREA_PAGES / 64];
static uint8_t prot_map[AREA_PAGES]; /* PROT_* of each used page */
static volatile int vm_lock;
static uint64_t next_hint;
static struct om_zombie zombies[OM_MAX_ZOMBIES];
static unsigned nzombies;

static int test_bit(uint64_t i) { return (used[i / 64] >> (i % 64)) & 1; }
static void set_bits(uint64_t i, uint64_t n, int v)
{
    for (uint64_t k = i; k < i + n; k++) {
        if (v)
            used[k / 64] |= 1ull << (k % 64);
        else
            used[k / 64] &= ~(1ull << (k % 64));
    }
}

void om_vmem_add_zombie(uint64_t addr, uint64_t len, uint32_t slot, uint32_t seq)
{
    om_spin_lock(&vm_lock);
    if (nzombies < OM_MAX_ZOMBIES) /* else the pages stay allocated: a leak, never a reuse race */
        zombies[nzombies++] = (struct om_zombie){ addr, len, slot, seq };
    om_spin_unlock(&vm_lock);
}

/* Under vm_lock: frees the stacks of threads the host reports gone. */
static void reap_zombies(void)
{
    for (unsigned i = 0; i < nzombies;) {
        struct om_zombie *z = &zombies[i];
        if ((int32_t)(om_priv.slot_exits[z->slot] - z->seq) >= 0) {
            set_bits((z->addr - om_trt_layout.mmap_lo) / OM_PAGE_SIZE, z->len / OM_PAGE_SIZE, 0);
            *z = zombies[--nzombies];
        } else {
            i++;
        }
    }
}

static int64_t host_map(struct om_ssa *ssa, uint64_t addr, uint64_t len, int prot, int kind);
static uint64_t area_pages(void);

static void set_prot(uint64_t addr, uint64_t len, int prot)
{
    uint64_t i = (addr - om_trt_layout.mmap_lo) / OM_PAGE_SIZE;
    memset(prot_map + i, prot, len / OM_PAGE_SIZE);
}

int om_vmem_page_used(uint64_t addr)
{
    uint64_t i = (addr - om_trt_layout.mmap_lo) / OM_PAGE_SIZE;
    return test_bit(i);
}

/* First used page at or after addr (mmap_hi if none): whole empty words at
 * a time, since the area is mostly unused. */
uint64_t om_vmem_next_used(uint64_t addr)
{
    uint64_t i = (addr - om_trt_layout.mmap_lo) / OM_PAGE_SIZE, total = area_pages();
    while (i < total) {
        uint64_t w = used[i / 64] >> (i % 64);
        if (w)
            return om_trt_layout.mmap_lo + (i + (uint64_t)__builtin_ctzll(w)) * OM_PAGE_SIZE;
        i = (i / 64 + 1) * 64;
    }
    return om_trt_layout.mmap_hi;
}

/* A page of an exited thread's stack not yet reaped: dead, and maybe
 * already released by the host (reading it would fault). */
int om_vmem_page_zombie(uint64_t a)
{
    int z = 0;
    om_spin_lock(&vm_lock);
    for (unsigned i = 0; i < nzombies && !z; i++)
        z = a >= zombies[i].addr && a - zombies[i].addr < zombies[i].len;
    om_spin_unlock(&vm_lock);
    return z;
}

/* A page of prot_map whose entries all describe unused pages: dead. */
int om_vmem_page_dead(uint64_t a)
{
    uint64_t lo = (uint64_t)prot_map;
    if (a < lo || a + OM_PAGE_SIZE > lo + sizeof(prot_map))
        return 0;
    uint64_t first = a - lo; /* one entry per byte */
    for (uint64_t w = first / 64; w <= (first + OM_PAGE_SIZE - 1) / 64; w++)
        if (used[w])
            return 0;
    return 1;
}

int om_vmem_page_readable(uint64_t addr)
{
    uint64_t i = (addr - om_trt_layout.mmap_lo) / OM_PAGE_SIZE;
    return test_bit(i) && (prot_map[i] & PROT_READ);
}

/* Destination: the whole area was committed read-write for the restore;
 * give every run of pages the protection its map says (unused: released). */
int64_t om_vmem_restore_mappings(struct om_ssa *ssa)
{
    uint64_t total = area_pages();
    for (uint64_t i = 0; i < total;) {
        int p = test_bit(i) ? prot_map[i] : -1;
        uint64_t j = i + 1;
        while (j < total && (test_bit(j) ? prot_map[j] : -1) == p)
            j++;
        uint64_t addr = om_trt_layout.mmap_lo + i * OM_PAGE_SIZE, len = (j - i) * OM_PAGE_SIZE;
        int64_t rc = p > 0 ? (p == (PROT_READ | PROT_WRITE) ? 0 : host_map(ssa, addr, len, p, OM_MAP_PROTECT))
                           : host_map(ssa, addr, len, 0, OM_MAP_RELEASE);
        if (rc)
            return rc;
        i = j;
    }
    return 0;
}

static uint64_t area_pages(void) { return (om_trt_layout.mmap_hi - om_trt_layout.mmap_lo) / OM_PAGE_SIZE; }

static int in_area(uint64_t addr, uint64_t len)
{
    const struct om_layout *l = &om_trt_layout;
    return addr % OM_PAGE_SIZE == 0 && len && addr >= l->mmap_lo && addr <= l->mmap_hi &&
           len <= l->mmap_hi - addr;
}

/* First fit from a moving hint, wrapping once. */
static int64_t find_run(uint64_t n)
{
    uint64_t total = area_pages();
    for (int pass = 0; pass < 2; pass++) {
        uint64_t start = pass ? 0 : next_hint, run = 0;
        for (uint64_t i = start; i < total; i++) {
            if (test_bit(i)) {
                run = 0;
                continue;
            }
            if (++run == n) {
                next_hint = i + 1;
                return (int64_t)(i + 1 - n);
            }
        }
    }
    return -1;
}

static int64_t host_map(struct om_ssa *ssa, uint64_t addr, uint64_t len, int prot, int kind)
{
    struct om_ocall *oc = om_oc_begin(ssa, OM_OC_MAP);
    oc->a[0] = (int64_t)addr;
    oc->a[1] = (int64_t)len;
    oc->a[2] = prot;
    oc->a[3] = kind;
    return om_oc_call(ssa, oc);
}

/* Fills a private file mapping through ordinary reads: the enclave never
 * shares pages with the host. */
static int64_t fill_from_file(struct om_ssa *ssa, uint64_t addr, uint64_t len, int64_t fd, int64_t off)
{
    uint64_t done = 0;
    while (done < len) {
        int64_t a[6] = { fd, (int64_t)(addr + done), (int64_t)(len - done), off + (int64_t)done };
        int64_t r = om_sys_marshal(ssa, SYS_pread64, a);
        if (r < 0)
            return r;
        if (r == 0)
            break; /* past EOF the mapping stays zero */
        done += (uint64_t)r;
    }
    return 0;
}

int64_t om_sys_mmap(struct om_ssa *ssa, const int64_t a[6])
{
    uint64_t addr = (uint64_t)a[0], len = ((uint64_t)a[1] + OM_PAGE_SIZE - 1) & ~(OM_PAGE_SIZE - 1);
    int prot = (int)a[2], flags = (int)a[3];
    if (!a[1] || len < (uint64_t)a[1])
        return -EINVAL;
    if (prot & PROT_EXEC)
        return -EPERM; /* no code is loaded after measurement */
    int anon = flags & MAP_ANONYMOUS;
    if (!anon && ((flags & MAP_SHARED) && (prot & PROT_WRITE)))
        return -ENODEV;
    if (!anon && len > MAX_FILE_MAP)
        return -ENOMEM;
    uint64_t n = len / OM_PAGE_SIZE;
    om_spin_lock(&vm_lock);
    reap_zombies();
    if (flags & MAP_FIXED) {
        if (!in_area(addr, len)) {
            om_spin_unlock(&vm_lock);
            return -EPERM;
        }
    } else {
        int64_t p = find_run(n);
        if (p < 0) {
            om_spin_unlock(&vm_lock);
            return -ENOMEM;
        }
        addr = om_trt_layout.mmap_lo + (uint64_t)p * OM_PAGE_SIZE;
    }
    set_bits((addr - om_trt_layout.mmap_lo) / OM_PAGE_SIZE, n, 1);
    set_prot(addr, len, prot);
    om_spin_unlock(&vm_lock);

    int commit_prot = anon ? prot : PROT_READ | PROT_WRITE;
    int64_t rc = commit_prot ? host_map(ssa, addr, len, commit_prot, OM_MAP_COMMIT)
                             : host_map(ssa, addr, len, 0, OM_MAP_RELEASE);
    if (!rc && !anon) {
        rc = fill_from_file(ssa, addr, len, a[4], a[5]);
        if (!rc && commit_prot != prot)
            rc = host_map(ssa, addr, len, prot, prot ? OM_MAP_PROTECT : OM_MAP_RELEASE);
    }
    if (rc) {
        host_map(ssa, addr, len, 0, OM_MAP_RELEASE);
        om_spin_lock(&vm_lock);
        set_bits((addr - om_trt_layout.mmap_lo) / OM_PAGE_SIZE, n, 0);
        om_spin_unlock(&vm_lock);
        return rc < 0 && rc > -4096 ? rc : -ENOMEM;
    }
    return (int64_t)addr;
}

int64_t om_sys_munmap(struct om_ssa *ssa, const int64_t a[6])
{
    uint64_t addr = (uint64_t)a[0], len = ((uint64_t)a[1] + OM_PAGE_SIZE - 1) & ~(OM_PAGE_SIZE - 1);
    if (!in_area(addr, len))
        return -EINVAL;
    /* A detached thread unmapping the stack it runs on (musl's __unmapself):
     * release it at thread exit, once the thread is off it. */
    uint64_t sp = ssa->gregs[OM_RSP];
    if (sp >= addr && sp - addr < len) {
        struct om_tcs *t = om_tcs_self(ssa);
        t->unmap_addr = addr;
        t->unmap_len = len;
        return 0;
    }
    int64_t rc = host_map(ssa, addr, len, 0, OM_MAP_RELEASE);
    if (rc)
        return rc;
    om_spin_lock(&vm_lock);
    set_bits((addr - om_trt_layout.mmap_lo) / OM_PAGE_SIZE, len / OM_PAGE_SIZE, 0);
    om_spin_unlock(&vm_lock);
    return 0;
}

int64_t om_sys_mprotect(struct om_ssa *ssa, const int64_t a[6])
{
    uint64_t addr = (uint64_t)a[0], len = ((uint64_t)a[1] + OM_PAGE_SIZE - 1) & ~(OM_PAGE_SIZE - 1);
    int prot = (int)a[2];
    if (prot & PROT_EXEC)
        return -EPERM;
    if (!len)
        return 0;
    if (!in_area(addr, len))
        return -EINVAL;
    int64_t rc = host_map(ssa, addr, len, prot, prot ? OM_MAP_PROTECT : OM_MAP_RELEASE);
    if (!rc) {
        om_spin_lock(&vm_lock);
        set_prot(addr, len, prot);
        om_spin_unlock(&vm_lock);
    }
    return rc;
}

int64_t om_sys_mremap(struct om_ssa *ssa, const int64_t a[6])
{
    uint64_t old = (uint64_t)a[0], olen = ((uint64_t)a[1] + OM_PAGE_SIZE - 1) & ~(OM_PAGE_SIZE - 1);
    uint64_t nlen = ((uint64_t)a[2] + OM_PAGE_SIZE - 1) & ~(OM_PAGE_SIZE - 1);
    if (!in_area(old, olen) || !nlen)
        return -EINVAL;
    if (nlen <= olen) {
        if (nlen < olen) {
            int64_t u[6] = { (int64_t)(old + nlen), (int64_t)(olen - nlen) };
            om_sys_munmap(ssa, u);
        }
        return (int64_t)old;
    }
    if (!(a[3] & MREMAP_MAYMOVE))
        return -ENOMEM;
    int64_t m[6] = { 0, (int64_t)nlen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0 };
    int64_t na = om_sys_mmap(ssa, m);
    if (na < 0)
        return na;
    memcpy((void *)na, (const void *)old, olen);
    int64_t u[6] = { (int64_t)old, (int64_t)olen };
    om_sys_munmap(ssa, u);
    return na;
}

int64_t om_sys_madvise(struct om_ssa *ssa, const int64_t a[6])
{
    uint64_t addr = (uint64_t)a[0], len = ((uint64_t)a[1] + OM_PAGE_SIZE - 1) & ~(OM_PAGE_SIZE - 1);
    if (a[2] != MADV_DONTNEED)
        return 0; /* advice only */
    if (!in_area(addr, len))
        return -EINVAL;
    /* Linux zero-fills private pages after DONTNEED; so do we. */
    int64_t rc = host_map(ssa, addr, len, PROT_READ | PROT_WRITE, OM_MAP_COMMIT);
    if (!rc) {
        om_spin_lock(&vm_lock);
        set_prot(addr, len, PROT_READ | PROT_WRITE);
        om_spin_unlock(&vm_lock);
    }
    return rc;
}

int64_t om_vmem_commit_all(struct om_ssa *ssa)
{
    const struct om_layout *l = &om_trt_layout;
    return host_map(ssa, l->mmap_lo, l->mmap_hi - l->mmap_lo, PROT_READ | PROT_WRITE, OM_MAP_COMMIT);
}

/* Destination: the threads whose stacks were waiting to be freed are gone. */
void om_vmem_reap_all(void)
{
    om_spin_lock(&vm_lock);
    for (unsigned i = 0; i < nzombies; i++)
        set_bits((zombies[i].addr - om_trt_layout.mmap_lo) / OM_PAGE_SIZE, zombies[i].len / OM_PAGE_SIZE, 0);
    nzombies = 0;
    om_spin_unlock(&vm_lock);
}
