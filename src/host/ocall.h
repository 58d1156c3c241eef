/* Untrusted OCALL services: what enclave code may ask of the host. */
#ifndef OM_OCALL_H
#define OM_OCALL_H
#include "hthread.h"

extern uint64_t om_syscall_allow[8];
/* Returns the per-slot exit counters the enclave reads (om_host_params.slot_exits). */
uint64_t om_ocall_init(const struct om_layout *l);
int64_t om_ocall_dispatch(struct om_hthread *ht, struct om_ocall *oc);
/* Parking (migration): wait a little, or wake every parked thread. */
int64_t om_park_wait(void);
void om_park_release(void);
/* Ends the process with status after host-side cleanup. */
_Noreturn void om_host_exit(int status);
/* Registers a cleanup run by om_host_exit (e.g. removing a control socket). */
void om_host_atexit(void (*fn)(void));
#endif
