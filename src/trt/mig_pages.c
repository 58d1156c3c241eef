/* Which pages are the enclave's state: the image's writable segments (less
 * the runtime's per-process objects), the main stack, every heap page the
 * allocator ever handed out, and the used, readable pages of the mmap area. */
#include "heap.h"
#include "mig.h"
#include "track.h"
#include "trt.h"
#include <elf.h>
#include <string.h>

extern const char __ehdr_start[];

enum { R_IMAGE, R_STACK, R_HEAP, R_MMAP, R_END };

static uint64_t page_down(uint64_t v) { return v & ~(OM_PAGE_SIZE - 1); }
static uint64_t page_up(uint64_t v) { return (v + OM_PAGE_SIZE - 1) & ~(OM_PAGE_SIZE - 1); }

/* Per-process objects: never sent, never overwritten by a restore. */
static int excluded(uint64_t a)
{
    uint64_t p = (uint64_t)&om_priv, s = (uint64_t)om_ecall_stacks, m = (uint64_t)om_mig_session();
    uint64_t t = (uint64_t)om_ecall_tls;
    return (a >= p && a < p + sizeof(om_priv)) || (a >= s && a < s + sizeof(om_ecall_stacks)) ||
           (a >= m && a < m + om_mig_session_span()) || (a >= t && a < t + sizeof(om_ecall_tls));
}

/* Writable PT_LOAD segments of this image, from its own program headers. */
static int image_rw(uint64_t a)
{
    const Elf64_Ehdr *eh = (const Elf64_Ehdr *)__ehdr_start;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)(__ehdr_start + eh->e_phoff);
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD || !(ph[i].p_flags & PF_W))
            continue;
        uint64_t lo = om_trt_layout.base + page_down(ph[i].p_vaddr);
        uint64_t hi = om_trt_layout.base + page_up(ph[i].p_vaddr + ph[i].p_memsz);
        if (a >= lo && a < hi)
            return 1;
    }
    return 0;
}

/* Below the deepest stack pointer of the stopped threads (less the red
 * zone), the main stack holds nothing live: never-touched pages, whose first
 * read alone costs a slow fault each on a VM, or dead frames. Any thread
 * not stopped: the whole stack. */
static uint64_t stack_live_lo(void)
{
    const struct om_layout *l = &om_trt_layout;
    uint64_t lo = l->stack_hi;
    for (uint32_t i = 0; i < om_trt_slots(); i++) {
        const struct om_tcs *t = &om_trt.tcs[i];
        if (!t->in_use)
            continue;
        if (!t->parked)
            return l->stack_lo;
        uint64_t sp = t->ctx.gregs[OM_RSP];
        if (sp >= l->stack_lo && sp <= l->stack_hi && sp - 128 < lo)
            lo = sp - 128;
    }
    lo = lo < l->stack_lo + OM_PAGE_SIZE ? l->stack_lo : page_down(lo) - OM_PAGE_SIZE;
    return lo;
}

/* Image pages that hold nothing live: thread slots never used, and the
 * parts of the mmap area's protection map for unused pages. Skipping them
 * leaves the destination's (never-touched, equally dead) copy in place. */
static int image_dead(uint64_t a)
{
    uint64_t lo = (uint64_t)&om_trt.tcs[om_trt_slots()], hi = (uint64_t)&om_trt.tcs[OM_MAX_THREADS];
    return (a >= lo && a + OM_PAGE_SIZE <= hi) || om_vmem_page_dead(a);
}

void om_pages_begin(struct om_page_iter *it, int skip_heap)
{
    it->skip_heap = skip_heap;
    it->region = R_IMAGE;
    it->addr = om_trt_layout.image_lo;
    it->end = om_trt_layout.image_hi;
}

static int wanted(int region, uint64_t a)
{
    switch (region) {
    case R_IMAGE: return image_rw(a) && !excluded(a) && !image_dead(a);
    case R_STACK: return 1;
    case R_HEAP: {
        size_t n;
        const uint64_t *bm = om_heap_used_bitmap(&n);
        uint64_t i = (a - om_trt_layout.heap_lo) / OM_PAGE_SIZE;
        return bm && i < n && (bm[i / 64] >> (i % 64) & 1);
    }
    case R_MMAP: return om_vmem_page_readable(a) && !om_vmem_page_zombie(a);
    default: return 0;
    }
}

uint64_t om_pages_next(struct om_page_iter *it)
{
    const struct om_layout *l = &om_trt_layout;
    for (;;) {
        while (it->addr < it->end) {
            if (it->region == R_MMAP)
                it->addr = om_vmem_next_used(it->addr);
            if (it->addr >= it->end)
                break;
            uint64_t a = it->addr;
            it->addr += OM_PAGE_SIZE;
            if (wanted(it->region, a))
                return a;
        }
        switch (++it->region) {
        case R_STACK: it->addr = stack_live_lo(); it->end = l->stack_hi; break;
        case R_HEAP: it->addr = l->heap_lo; it->end = it->skip_heap ? l->heap_lo : l->heap_hi; break;
        case R_MMAP: it->addr = l->mmap_lo; it->end = l->mmap_hi; break;
        default: return 0;
        }
    }
}

int om_page_starts_zero(uint64_t a)
{
    const struct om_layout *l = &om_trt_layout;
    return (a >= l->stack_lo && a < l->stack_hi) || (a >= l->heap_lo && a < l->heap_hi) ||
           (a >= l->mmap_lo && a < l->mmap_hi);
}

/* Destination: its loader wrote an initial stack the source's state
 * replaces; cleared, every stack page starts zero like the heap's. */
int om_page_is_zero(uint64_t a)
{
    const uint64_t *p = (const uint64_t *)a;
    uint64_t acc = 0;
    for (size_t i = 0; i < OM_PAGE_SIZE / 8; i++)
        acc |= p[i];
    return acc == 0;
}

void om_pages_clear_stack(void)
{
    for (uint64_t a = om_trt_layout.stack_lo; a < om_trt_layout.stack_hi; a += OM_PAGE_SIZE)
        if (!om_page_is_zero(a))
            memset((void *)a, 0, OM_PAGE_SIZE);
}

int om_page_restorable(uint64_t a)
{
    const struct om_layout *l = &om_trt_layout;
    if (a % OM_PAGE_SIZE || excluded(a) || om_track_is_meta(a))
        return 0;
    return (a >= l->image_lo && a < l->image_hi && image_rw(a)) || (a >= l->stack_lo && a < l->stack_hi) ||
           (a >= l->heap_lo && a < l->heap_hi) || (a >= l->mmap_lo && a < l->mmap_hi);
}
