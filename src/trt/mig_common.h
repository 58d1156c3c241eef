/* Shared by the source (mig_out.c) and destination (mig_in.c) flows. */
#ifndef OM_MIG_COMMON_H
#define OM_MIG_COMMON_H
#include "mig.h"
#include <bearssl.h>

/* Record page numbers of the manifest records (type OM_REC_MANIFEST). */
#define OM_MIG_END_PAGE (1ull << 63) /* | stream: end of that stream */
#define OM_MIG_MANIFEST_PAGE (~0ull) /* the global manifest, on stream 0 */

struct om_mig_end {
    uint64_t records;
    uint8_t hash[32];
};
struct om_mig_manifest {
    uint64_t pages, zero_pages, t_quiesced_ns;
    uint32_t nstreams, strategy;
    uint64_t pending;          /* post-copy: heap pages still to come */
    uint8_t pending_hash[32];  /* SHA-256 of the pending bitmap */
    struct om_mig_end st[OM_MIG_MAX_STREAMS];
};
/* The plan (first record): strategy and tracker, then the page runs. */
struct om_mig_plan {
    uint32_t strategy, tracker;
    uint64_t track_pages;
};
/* Pending bitmap chunks travel as RUNTIME records, pages 1.. */
#define OM_MIG_BM_CHUNK (32u << 10)

int om_mig_session_begin(struct om_mig_session *s, uint64_t hp);
void om_mig_trust_store(const struct om_mig_args *a, struct om_trust_store *ts);
void om_mig_report(struct om_mig_session *s, uint64_t hp, int64_t rc, const char *msg);
void om_mig_hash_init(struct om_mig_stream *st);
void om_mig_hash_record(struct om_mig_stream *st, uint64_t page, uint64_t version, const uint8_t tag[16]);
void om_mig_hash_out(const struct om_mig_stream *st, uint8_t out[32]);
int om_mig_quiesce(struct om_ssa *ssa, uint32_t timeout_ms);
void om_mig_unquiesce(struct om_ssa *ssa);
int om_mig_wait_workers(struct om_ssa *ssa, struct om_mig_session *s);
void om_mig_join_workers(struct om_ssa *ssa, struct om_mig_session *s);
int om_mig_wait_phase(struct om_ssa *ssa, struct om_mig_session *s, int phase);
/* Every worker stream (1..n-1) has acknowledged command or phase seq. */
int om_mig_streams_at(struct om_mig_session *s, uint64_t seq);
int om_mig_wait_streams(struct om_ssa *ssa, struct om_mig_session *s, uint64_t seq);
void om_mig_fail(struct om_mig_session *s, int64_t err);
void om_mig_quote_to_wire(const struct om_quote *q, struct om_wire_quote *w);
void om_mig_quote_from_wire(const struct om_wire_quote *w, struct om_quote *q);
int om_mig_send_abort(struct om_ssa *ssa, struct om_mig_session *s, uint32_t code, const char *msg);
const char *om_mig_strerror(int64_t e);
const char *om_mig_why(struct om_mig_session *s, const char *text, uint64_t v);
uint64_t om_bm_count(const uint64_t *bm, uint64_t words);
void om_mig_bm_hash(uint8_t out[32]);
int om_mig_next_frame(struct om_ssa *ssa, struct om_mig_stream *st, struct om_frame *f, uint32_t timeout_ms);
#endif
