/* Enclave range layout: a pure function of image span, heap size, base and threads. */
#ifndef OM_LAYOUT_H
#define OM_LAYOUT_H
#include <stddef.h>
#include "optmig/abi.h"

/* 0, or -1 with a message in err. */
int om_layout_compute(uint64_t base, uint64_t image_span, uint64_t heap_size,
                      uint32_t max_threads, struct om_layout *l, char *err, size_t errlen);
/* Parses "64M", "4G", "4096" into bytes; 0 or -1. */
int om_parse_size(const char *s, uint64_t *out);
#endif
