/* Running an enclave image in this process: the core of `optmig run`. */
#ifndef OM_RUN_H
#define OM_RUN_H
#include <stdint.h>

struct om_run_config {
    const char *image;
    uint64_t heap_size;
    uint64_t base;
    uint32_t threads;
    const char *name; /* control socket name, or NULL */
    char *const *argv; /* the enclave's argv; argv[0] is the image path */
};

/* Does not return on success: the process ends with the enclave's status.
 * Returns an exit code after printing a message if the enclave cannot start. */
int om_run(const struct om_run_config *cfg);
/* Blocks async signals in this thread (host threads inherit it) and turns
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT into a clean end of the process. */
int om_start_monitor(void);
#endif
