/* Enclave measurement: the MRENCLAVE analogue.
 *
 * SHA-256 over this canonical byte string (all integers little-endian):
 *
 *   "optmig-measure-v1" followed by one NUL byte      (18 bytes, domain tag)
 *   u64 entry                                          (relative to load base)
 *   u32 number of PT_LOAD segments
 *   for each PT_LOAD segment, in ascending vaddr order:
 *     u64 vaddr   (relative to load base)
 *     u64 memsz
 *     u32 flags   (PF_R=4 | PF_W=2 | PF_X=1, other bits dropped)
 *     u64 filesz
 *     filesz bytes: the segment's file contents
 *
 * Bytes in [filesz, memsz) are zero by definition and not hashed; the loader
 * must make them zero. Exactly the bytes that enter enclave memory are
 * measured: section headers and symbol tables are not, but the ELF header is
 * (it lies in the first PT_LOAD), so stripping an image changes its
 * measurement. The program headers, TLS template and dynamic tables that the
 * enclave's own startup code reads are all covered. */
#ifndef OPTMIG_MEASURE_H
#define OPTMIG_MEASURE_H

#include <stdint.h>

#include "elf_image.h"

#define OM_MEASURE_TAG "optmig-measure-v1"

void om_image_measure(const struct om_image *img, uint8_t out[32]);
void om_measure_hex(const uint8_t m[32], char out[65]);

#endif
