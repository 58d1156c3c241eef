/* The reserved enclave range (the ELRANGE analogue) and mappings inside it. */
#ifndef OM_RANGE_H
#define OM_RANGE_H
#include <stddef.h>
#include "optmig/abi.h"

int om_range_reserve(const struct om_layout *l, char *err, size_t errlen);
/* Maps [addr, addr+len) inside the range according to kind; -errno on failure. */
int om_range_map(const struct om_layout *l, uint64_t addr, uint64_t len, int prot, int kind);
int om_range_contains(const struct om_layout *l, uint64_t addr, uint64_t len);
#endif
