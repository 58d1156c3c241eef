/* Loading an enclave image into its range and building the main thread's start. */
#ifndef OM_LOADER_H
#define OM_LOADER_H
#include <stddef.h>
#include "elf_image.h"
#include "optmig/abi.h"

/* Maps the image's segments at their place in the range. 0 or -1 with err. */
int om_load_segments(const struct om_image *img, const struct om_layout *l, char *err, size_t errlen);
/* Commits the main stack and heap, writes argv/envp/auxv; returns the initial
 * stack pointer, or 0 with err. */
uint64_t om_build_main_stack(const struct om_image *img, const struct om_layout *l,
                             char *const argv[], char *const envp[], char *err, size_t errlen);
/* Address of the trusted trap entry named by the image note, checked to lie in
 * an executable segment; 0 with err if not. */
uint64_t om_trap_entry_addr(const struct om_image *img, const struct om_layout *l, char *err, size_t errlen);
#endif
