/* The enclave loader: segments at base+vaddr inside the reserved range, then
 * an initial stack laid out as the kernel would for a static-PIE program, but
 * without AT_SYSINFO_EHDR so even clock_gettime goes through the boundary. */
#include "loader.h"
#include "range.h"
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <unistd.h>

static uint64_t page_down(uint64_t v) { return v & ~(OM_PAGE_SIZE - 1); }
static uint64_t page_up(uint64_t v) { return (v + OM_PAGE_SIZE - 1) & ~(OM_PAGE_SIZE - 1); }

int om_load_segments(const struct om_image *img, const struct om_layout *l, char *err, size_t errlen)
{
    if (img->span > l->image_hi - l->image_lo) {
        snprintf(err, errlen, "image (%llu bytes) is bigger than its place in the enclave range",
                 (unsigned long long)img->span);
        return -1;
    }
    for (unsigned i = 0; i < img->nseg; i++) {
        const struct om_segment *s = &img->seg[i];
        uint64_t lo = l->base + page_down(s->vaddr), hi = l->base + page_up(s->vaddr + s->memsz);
        if (!om_range_contains(l, lo, hi - lo) || hi > l->image_hi) {
            snprintf(err, errlen, "segment %u (vaddr %#llx, %llu bytes) lies outside the enclave range",
                     i, (unsigned long long)s->vaddr, (unsigned long long)s->memsz);
            return -1;
        }
        int rc = om_range_map(l, lo, hi - lo, PROT_READ | PROT_WRITE, OM_MAP_COMMIT);
        if (rc) {
            snprintf(err, errlen, "cannot map segment %u: %s", i, strerror(-rc));
            return -1;
        }
        memcpy((void *)(l->base + s->vaddr), img->data + s->offset, s->filesz);
    }
    /* Relocate at load, as the image's own startup code would: the trusted
     * runtime must work before main ever runs (a migration destination never
     * runs it). RELA relocations are idempotent, so _start redoing them is
     * harmless. Every entry was checked to be RELATIVE into a writable segment. */
    for (uint64_t i = 0; i < img->rela_count; i++) {
        uint64_t off, info, addend;
        memcpy(&off, img->data + img->rela_off + i * 24, 8);
        memcpy(&info, img->data + img->rela_off + i * 24 + 8, 8);
        memcpy(&addend, img->data + img->rela_off + i * 24 + 16, 8);
        if ((uint32_t)info != R_X86_64_RELATIVE)
            continue; /* R_X86_64_NONE */
        uint64_t v = l->base + addend;
        memcpy((void *)(l->base + off), &v, 8);
    }
    /* Protections last: where a read-only segment shares a page with a
     * writable one, the page stays writable. */
    for (unsigned i = 0; i < img->nseg; i++) {
        const struct om_segment *s = &img->seg[i];
        if (s->flags & PF_W)
            continue;
        uint64_t lo = page_down(s->vaddr), hi = page_up(s->vaddr + s->memsz);
        for (unsigned j = 0; j < img->nseg; j++) {
            const struct om_segment *w = &img->seg[j];
            uint64_t wlo = page_down(w->vaddr), whi = page_up(w->vaddr + w->memsz);
            if (!(w->flags & PF_W) || wlo >= hi || whi <= lo)
                continue;
            if (wlo <= lo)
                lo = whi;
            else
                hi = wlo;
        }
        if (hi <= lo)
            continue;
        int prot = PROT_READ | ((s->flags & PF_X) ? PROT_EXEC : 0);
        if (mprotect((void *)(l->base + lo), hi - lo, prot)) {
            snprintf(err, errlen, "cannot protect segment %u: %s", i, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* Where the program headers are once loaded: inside the segment holding them. */
static uint64_t phdr_vaddr(const struct om_image *img)
{
    for (unsigned i = 0; i < img->nseg; i++) {
        const struct om_segment *s = &img->seg[i];
        if (img->phoff >= s->offset && img->phoff - s->offset < s->filesz)
            return s->vaddr + (img->phoff - s->offset);
    }
    return 0;
}

uint64_t om_trap_entry_addr(const struct om_image *img, const struct om_layout *l, char *err, size_t errlen)
{
    uint64_t field = img->note_vaddr + offsetof(struct om_note_desc, trap_entry);
    uint64_t rel = field + (uint64_t)(int64_t)img->note.trap_entry;
    for (unsigned i = 0; i < img->nseg; i++) {
        const struct om_segment *s = &img->seg[i];
        if ((s->flags & PF_X) && rel >= s->vaddr && rel < s->vaddr + s->memsz)
            return l->base + rel;
    }
    snprintf(err, errlen, "the image's trap entry (+%#llx) is not in an executable segment",
             (unsigned long long)rel);
    return 0;
}

/* Writes len bytes just below *sp and returns their address. */
static uint64_t push_bytes(uint64_t *sp, const void *p, size_t len)
{
    *sp -= len;
    memcpy((void *)*sp, p, len);
    return *sp;
}

uint64_t om_build_main_stack(const struct om_image *img, const struct om_layout *l,
                             char *const argv[], char *const envp[], char *err, size_t errlen)
{
    int rc = om_range_map(l, l->stack_lo, l->stack_hi - l->stack_lo, PROT_READ | PROT_WRITE, OM_MAP_COMMIT);
    if (!rc)
        rc = om_range_map(l, l->heap_lo, l->heap_hi - l->heap_lo, PROT_READ | PROT_WRITE, OM_MAP_COMMIT);
    if (rc) {
        snprintf(err, errlen, "cannot commit enclave stack and heap: %s", strerror(-rc));
        return 0;
    }
    /* Transparent huge pages where the kernel offers them: a first touch costs
     * a fault per 2 MiB instead of per 4 KiB, which dominates filling a heap
     * (and restoring one) on a VM. Only advice: failure changes nothing. */
    madvise((void *)l->heap_lo, l->heap_hi - l->heap_lo, MADV_HUGEPAGE);
    size_t argc = 0, envc = 0, strbytes = 0;
    while (argv[argc])
        strbytes += strlen(argv[argc++]) + 1;
    while (envp[envc])
        strbytes += strlen(envp[envc++]) + 1;
    /* Leave most of the stack to the program. */
    if (strbytes + (argc + envc) * 8 > OM_MAIN_STACK_SIZE / 4) {
        snprintf(err, errlen, "arguments and environment too large for the enclave stack");
        return 0;
    }
    uint64_t sp = l->stack_hi;
    uint64_t *aptr = (uint64_t *)(l->stack_lo); /* scratch: string addresses, overwritten later */
    for (size_t i = 0; i < argc; i++)
        aptr[i] = push_bytes(&sp, argv[i], strlen(argv[i]) + 1);
    for (size_t i = 0; i < envc; i++)
        aptr[argc + i] = push_bytes(&sp, envp[i], strlen(envp[i]) + 1);
    uint8_t rnd[16];
    if (getentropy(rnd, sizeof(rnd))) {
        snprintf(err, errlen, "no entropy for AT_RANDOM");
        return 0;
    }
    uint64_t at_random = push_bytes(&sp, rnd, sizeof(rnd));
    uint64_t uid = getuid(), gid = getgid();
    const uint64_t aux[][2] = {
        { AT_PHDR, l->base + phdr_vaddr(img) }, { AT_PHENT, img->phentsize }, { AT_PHNUM, img->phnum },
        { AT_PAGESZ, OM_PAGE_SIZE }, { AT_BASE, 0 }, { AT_ENTRY, l->base + img->entry },
        { AT_UID, uid }, { AT_EUID, uid }, { AT_GID, gid }, { AT_EGID, gid }, { AT_SECURE, 0 },
        { AT_RANDOM, at_random }, { AT_HWCAP, getauxval(AT_HWCAP) }, { AT_HWCAP2, getauxval(AT_HWCAP2) },
        { AT_CLKTCK, (uint64_t)sysconf(_SC_CLK_TCK) }, { AT_NULL, 0 },
    };
    size_t words = 1 + argc + 1 + envc + 1 + sizeof(aux) / 8;
    sp = (sp - words * 8) & ~15ull;
    uint64_t *w = (uint64_t *)sp;
    *w++ = argc;
    for (size_t i = 0; i < argc; i++)
        *w++ = aptr[i];
    *w++ = 0;
    for (size_t i = 0; i < envc; i++)
        *w++ = aptr[argc + i];
    *w++ = 0;
    memcpy(w, aux, sizeof(aux));
    memset(aptr, 0, (argc + envc) * 8);
    return sp;
}
