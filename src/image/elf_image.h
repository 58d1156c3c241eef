/* Enclave image parser (host side).
 *
 * An enclave image is a musl static-PIE built by omcc. The file is treated as
 * hostile: every length and offset is checked against the file size with
 * overflow-checked arithmetic, and nothing is read through a size field that
 * has not been validated first.
 *
 * om_image_parse accepts an image only if all of the following hold:
 *   - 64-bit little-endian ELF, e_machine EM_X86_64, e_type ET_DYN;
 *   - program headers, every PT_LOAD's file bytes, notes and dynamic tables
 *     lie inside the file; the program headers are inside a PT_LOAD;
 *   - 1..OM_MAX_SEGS non-empty PT_LOADs, filesz <= memsz, vaddr+memsz does
 *     not overflow, vaddr == offset (mod 4 KiB), p_align a power of two,
 *     no two segments share a page, none is both writable and executable;
 *   - the entry point lies in an executable segment's file bytes;
 *   - no PT_INTERP, no executable stack (PT_GNU_STACK without PF_X);
 *   - no DT_NEEDED, no DT_REL, no DT_RELR; every DT_RELA / DT_JMPREL entry is
 *     R_X86_64_RELATIVE (or R_X86_64_NONE, a no-op) and targets a writable
 *     segment;
 *   - exactly one OPTMIG note (namesz 7, type OM_NOTE_TYPE) inside a PT_LOAD,
 *     with abi_version == OM_ABI_VERSION and a trap entry in an executable
 *     segment.
 * Limits that depend on the enclave range (span against range size) are the
 * loader's business; it reads img->span.
 *
 * Loader contract: copy exactly filesz bytes of each segment to base+vaddr and
 * zero everything else in the segment's pages. Bytes that share a file page
 * with a segment but lie outside [offset, offset+filesz) are not measured and
 * must never reach enclave memory. */
#ifndef OPTMIG_ELF_IMAGE_H
#define OPTMIG_ELF_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "optmig/abi.h"

#define OM_MAX_SEGS 16
#define OM_IMAGE_MAX_FILE (1ull << 30) /* om_image_load refuses larger files */

struct om_segment {
    uint64_t vaddr, memsz, filesz, offset;
    uint32_t flags; /* PF_R|PF_W|PF_X */
};

struct om_image {
    uint8_t *data;
    size_t size; /* whole file */
    uint64_t entry; /* relative to load base */
    uint64_t phoff;
    uint16_t phnum, phentsize;
    struct om_segment seg[OM_MAX_SEGS];
    unsigned nseg;       /* PT_LOAD only, ascending vaddr */
    uint64_t span;       /* end of last segment rounded up to 4 KiB */
    uint64_t tls_memsz;  /* 0 if no PT_TLS */
    uint64_t note_vaddr; /* vaddr of the struct om_note_desc inside the image */
    struct om_note_desc note;
    uint64_t phdr_vaddr; /* vaddr of the program headers (for AT_PHDR) */
    uint64_t rela_off;   /* file offset of the checked R_X86_64_RELATIVE table */
    uint64_t rela_count;
    int owns_data;       /* set by om_image_load: om_image_free releases data */
};

/* Parses data[0..size). Returns 0, or -1 with a message in err. Does not take
 * ownership: img->data points into the caller's buffer. */
int om_image_parse(const uint8_t *data, size_t size, struct om_image *img, char *err,
                   size_t errlen);

/* Reads a regular file of at most OM_IMAGE_MAX_FILE bytes and parses it; on
 * success img owns the data. */
int om_image_load(const char *path, struct om_image *img, char *err, size_t errlen);

/* Releases what om_image_load allocated; safe on a parsed image and twice. */
void om_image_free(struct om_image *img);

/* Looks for a global or weak symbol defined in the image's .symtab whose name
 * is one of names[0..n). Returns 1 and sets *which to the index of the first
 * match found, 0 if none, -1 (with err) if the image has no usable .symtab. */
int om_image_find_defined_symbol(const struct om_image *img, const char *const *names, size_t n,
                                 size_t *which, char *err, size_t errlen);

#endif
