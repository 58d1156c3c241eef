/* libFuzzer target: the enclave image parser on arbitrary bytes.
 *
 * Beyond "no crash, no sanitizer report", every accepted image must satisfy
 * the invariants the loader relies on; a violation aborts. */
#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elf_image.h"
#include "measure.h"

static int in_seg(const struct om_image *img, uint64_t va, uint32_t need)
{
    for (unsigned i = 0; i < img->nseg; i++)
        if ((img->seg[i].flags & need) == need && va >= img->seg[i].vaddr &&
            va - img->seg[i].vaddr < img->seg[i].filesz)
            return 1;
    return 0;
}

static void check_invariants(const struct om_image *img, const uint8_t *data, size_t size)
{
    if (img->data != data || img->size != size || img->nseg == 0 || img->nseg > OM_MAX_SEGS)
        abort();
    for (unsigned i = 0; i < img->nseg; i++) {
        const struct om_segment *s = &img->seg[i];
        if (s->filesz > s->memsz || s->offset > size || s->filesz > size - s->offset)
            abort();
        if (s->vaddr + s->memsz < s->vaddr || s->vaddr + s->memsz > img->span)
            abort();
        if ((s->flags & PF_W) && (s->flags & PF_X))
            abort();
        if (i && (s->vaddr & ~(OM_PAGE_SIZE - 1)) <
                     ((img->seg[i - 1].vaddr + img->seg[i - 1].memsz + OM_PAGE_SIZE - 1) &
                      ~(OM_PAGE_SIZE - 1)))
            abort();
    }
    if (img->span % OM_PAGE_SIZE || !in_seg(img, img->entry, PF_X) ||
        !in_seg(img, img->note_vaddr, 0) || img->note.abi_version != OM_ABI_VERSION)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct om_image img;
    char err[256];
    uint8_t m[32];
    char hex[65];
    static const char *const names[] = {"dlopen", "dlsym", "dlmopen"};
    size_t which;

    if (om_image_parse(data, size, &img, err, sizeof err) != 0) {
        if (!err[0] || !memchr(err, 0, sizeof err))
            abort(); /* every rejection explains itself */
        return 0;
    }
    check_invariants(&img, data, size);
    om_image_measure(&img, m);
    om_measure_hex(m, hex);
    if (om_image_find_defined_symbol(&img, names, 3, &which, err, sizeof err) == 1 && which >= 3)
        abort();
    om_image_free(&img);
    return 0;
}
