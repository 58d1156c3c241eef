/* The host's part of a migration: streams, ECALL threads, platform services. */
#ifndef OM_MIG_HOST_H
#define OM_MIG_HOST_H
#include <stdint.h>
#include <stddef.h>
#include "hthread.h"

struct om_mig_result {
    int ok;
    char error[512];
    uint32_t streams;
    double downtime_ms, total_ms;
    uint64_t pages_sent, bytes_sent, zero_pages;
};

/* OM_OC_MIG services. */
int64_t om_mig_service(struct om_hthread *ht, const struct om_ocall *oc);
/* Source: migrates the enclave of this process to host:port. On success the
 * enclave is gone from here and the caller must end the process. */
int om_mig_source(const char *host, const char *port, uint32_t streams, uint32_t timeout_ms,
                  struct om_mig_result *res);
/* Destination: accepts one migration on the listening socket lfd. On success
 * the enclave runs in this process; on failure the range is unusable. */
int om_mig_destination(int lfd, uint32_t timeout_ms, char *err, size_t errlen);
#endif
