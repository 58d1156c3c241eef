/* The enclave this process hosts: what the host knows about it once loaded. */
#ifndef OM_ENCLAVE_H
#define OM_ENCLAVE_H
#include <limits.h>
#include <stddef.h>
#include "optmig/abi.h"

struct om_enclave {
    char image[PATH_MAX];    /* absolute path: the destination reopens the same path */
    uint8_t measurement[32];
    struct om_host_params params; /* handed to the trusted runtime */
    uint64_t entry, trap_entry, ecall_entry, ecall_tls;
    uint64_t main_sp;
    uint64_t heap_size;
    uint32_t threads;
    int loaded; /* this process hosts an enclave (run, or migrated in) */
};

extern struct om_enclave om_enclave;

/* Loads and measures the image, reserves and lays out the range, installs
 * the trap. 0, or -1 with a message in err. */
int om_enclave_load(const char *image, uint64_t base, uint64_t heap, uint32_t threads,
                    char *const argv[], char *err, size_t errlen);
/* Enters the enclave's main thread on the calling thread; returns when that
 * thread exits. */
void om_enclave_run_main(void);
/* Runs one ECALL on the calling host thread; returns the trusted result. */
int64_t om_enclave_ecall(uint32_t slot, uint32_t op, uint64_t arg);
#endif
