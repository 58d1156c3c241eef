/* The platform's trap path: seccomp sends every syscall instruction executed
 * inside the enclave range to SIGSYS; the handler plays SGX's AEX and hands
 * the trapped context to the trusted runtime's first handler. */
#ifndef OM_TRAP_H
#define OM_TRAP_H
#include <stddef.h>
#include "optmig/abi.h"

/* Must be called before any enclave code runs; params and entry stay valid. */
int om_trap_install(const struct om_layout *l, const struct om_host_params *params,
                    uint64_t trap_entry, char *err, size_t errlen);
#endif
