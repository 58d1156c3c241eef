/* The host's part of a migration: streams, ECALL threads, platform services. */
#ifndef OM_MIG_HOST_H
#define OM_MIG_HOST_H
#include <stdint.h>
#include <stddef.h>
#include "hthread.h"

/* What the user asked for (optmig migrate's options). */
struct om_mig_request {
    uint32_t streams, timeout_ms;
    uint32_t strategy, tracker; /* OM_STRATEGY_*, 1 compiler / 2 kernel */
    uint32_t max_downtime_ms, max_rounds;
    uint64_t bandwidth_bps;
    int resume; /* reconnect an interrupted post-copy */
};

struct om_mig_result {
    int ok;
    int switched; /* the enclave left this host (even if post-copy then failed) */
    char error[512];
    uint32_t streams, rounds, tracker;
    double downtime_ms, total_ms, switch_ms, send_ms, quiesce_ms;
    uint64_t pages_sent, bytes_sent, zero_pages, final_pages, postcopy_pages, demand_pages;
};

/* OM_OC_MIG services. */
int64_t om_mig_service(struct om_hthread *ht, const struct om_ocall *oc);
/* Source: migrates the enclave of this process to host:port. On success the
 * enclave is gone from here and the caller must end the process. */
int om_mig_source(const char *host, const char *port, const struct om_mig_request *rq,
                  struct om_mig_result *res);
/* Destination: accepts one migration on the listening socket lfd. On success
 * (0) the enclave runs in this process; on failure (-1) the range is
 * unusable; 1: the enclave runs here but post-copy did not complete. */
int om_mig_destination(int lfd, uint32_t timeout_ms, char *err, size_t errlen);
#endif
