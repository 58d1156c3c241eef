/* Pieces both migration ends share: arguments, trust store, quiescing,
 * per-stream hashing, and the manifest layout. */
#include "mig_common.h"
#include "track.h"
#include <errno.h>
#include <string.h>

static int copy_args(uint64_t hp, struct om_mig_args *a)
{
    memcpy(a, (const void *)hp, sizeof(*a));
    a->image[sizeof(a->image) - 1] = 0;
    a->error[0] = 0;
    if (a->nstreams < 1 || a->nstreams > OM_MIG_MAX_STREAMS || a->ntrust > OM_MIG_MAX_TRUST)
        return OM_MIGERR_INTERNAL;
    if (!a->timeout_ms)
        a->timeout_ms = 30000;
    return 0;
}

/* Coordinator: a fresh session from the host's arguments (the buffers of
 * the streams are left as they are). 0, or an error already reported. */
int om_mig_session_begin(struct om_mig_session *s, uint64_t hp)
{
    memset(s, 0, offsetof(struct om_mig_session, st));
    memset(&s->strategy, 0, offsetof(struct om_mig_session, out0) - offsetof(struct om_mig_session, strategy));
    s->why[0] = 0; /* not in the ranges above, and a stale reason would mislead */
    for (uint32_t i = 0; i < OM_MIG_MAX_STREAMS; i++) {
        struct om_mig_stream *st = &s->st[i];
        memset(&st->have, 0, sizeof(*st) - offsetof(struct om_mig_stream, have));
    }
    if (copy_args(hp, &s->args)) {
        om_mig_report(s, hp, OM_MIGERR_INTERNAL, "bad migration arguments");
        return -1;
    }
    s->nstreams = s->args.nstreams;
    for (uint32_t i = 0; i < s->nstreams; i++) {
        s->st[i].fd = s->args.fds[i];
        s->st[i].obuf = i ? s->st[i].buf : s->out0;
    }
    return 0;
}

uint64_t om_bm_count(const uint64_t *bm, uint64_t words)
{
    uint64_t n = 0;
    for (uint64_t i = 0; i < words; i++)
        n += (uint64_t)__builtin_popcountll(bm[i]);
    return n;
}

/* The pending bitmap's digest, which the manifest carries. */
void om_mig_bm_hash(uint8_t out[32])
{
    br_sha256_context hc;
    br_sha256_init(&hc);
    br_sha256_update(&hc, om_track_bitmap(OM_BM_PENDING), om_track_words() * 8);
    br_sha256_out(&hc, out);
}

int om_mig_resumable(void) { return om_mig_session()->res.valid; }

void om_mig_save_resume(struct om_mig_session *s)
{
    struct om_mig_resume *r = &s->res;
    memcpy(r->mig_id, s->mig_id, 16);
    memcpy(r->manifest_hash, s->manifest_hash, 32);
    r->strategy = s->strategy;
    r->tracker = s->tracker;
    r->pending = s->pending;
    r->installed = s->installed;
    r->version = s->version;
    r->valid = 1;
}

void om_mig_load_resume(struct om_mig_session *s)
{
    const struct om_mig_resume *r = &s->res;
    memcpy(s->mig_id, r->mig_id, 16);
    memcpy(s->manifest_hash, r->manifest_hash, 32);
    s->strategy = r->strategy;
    s->tracker = r->tracker;
    s->pending = r->pending;
    s->installed = r->installed;
    s->version = r->version;
}

void om_mig_trust_store(const struct om_mig_args *a, struct om_trust_store *ts)
{
    om_trust_store_init(ts);
    for (uint32_t i = 0; i < a->ntrust; i++)
        om_trust_store_add(ts, a->trust[i]);
}

void om_mig_report(struct om_mig_session *s, uint64_t hp, int64_t rc, const char *msg)
{
    struct om_mig_args *out = (struct om_mig_args *)hp;
    s->args.result = (int32_t)rc;
    if (msg) {
        size_t n = strlen(msg);
        if (n >= sizeof(s->args.error))
            n = sizeof(s->args.error) - 1;
        memcpy(s->args.error, msg, n);
        s->args.error[n] = 0;
    }
    out->result = s->args.result;
    memcpy(out->error, s->args.error, sizeof(out->error));
    out->t_quiesced_ns = s->args.t_quiesced_ns;
    out->t_resumed_ns = s->args.t_resumed_ns;
    out->pages_sent = s->args.pages_sent;
    out->bytes_sent = s->args.bytes_sent;
    out->zero_pages = s->args.zero_pages;
    out->t_switched_ns = s->args.t_switched_ns;
    out->t_sent_ns = s->args.t_sent_ns;
    out->t_quiesce_ns = s->args.t_quiesce_ns;
    out->rounds = s->args.rounds;
    out->final_pages = s->args.final_pages;
    out->postcopy_pages = s->args.postcopy_pages;
    out->demand_pages = s->args.demand_pages;
    out->tracker = s->strategy == OM_STRATEGY_STOP_COPY ? 0 : s->tracker;
}

void om_mig_hash_init(struct om_mig_stream *st) { br_sha256_init((br_sha256_context *)st->hash_state); }

void om_mig_hash_record(struct om_mig_stream *st, uint64_t page, uint64_t version, const uint8_t tag[16])
{
    uint8_t b[32];
    memcpy(b, &page, 8);
    memcpy(b + 8, &version, 8);
    memcpy(b + 16, tag, 16);
    br_sha256_update((br_sha256_context *)st->hash_state, b, sizeof(b));
}

void om_mig_hash_out(const struct om_mig_stream *st, uint8_t out[32])
{
    br_sha256_out((const br_sha256_context *)st->hash_state, out);
}

/* Stops every app thread at a safepoint with its context saved. */
int om_mig_quiesce(struct om_ssa *ssa, uint32_t timeout_ms)
{
    __atomic_store_n(&om_trt.quiesce, 1, __ATOMIC_SEQ_CST);
    om_cc_poll(1); /* pass-built threads park at their next poll */
    uint64_t t0 = om_mig_now_ns(ssa);
    for (unsigned round = 0;; round++) {
        int all = 1;
        for (uint32_t i = 0; i < om_trt_slots(); i++) {
            struct om_tcs *t = &om_trt.tcs[i];
            if (!__atomic_load_n(&t->in_use, __ATOMIC_ACQUIRE) || __atomic_load_n(&t->parked, __ATOMIC_ACQUIRE))
                continue;
            all = 0;
            /* Signals can be missed by a thread between two checks: repeat. */
            if (round % 4 == 0) {
                struct om_ocall *oc = om_oc_begin(ssa, OM_OC_INTERRUPT);
                oc->a[0] = i;
                om_oc_call(ssa, oc);
            }
        }
        if (all)
            return 0;
        if (om_mig_now_ns(ssa) - t0 > (uint64_t)timeout_ms * 1000000ull)
            return OM_MIGERR_QUIESCE;
        om_mig_sleep_us(ssa, round < 20 ? 50 : 500);
    }
}

void om_mig_unquiesce(struct om_ssa *ssa)
{
    om_cc_poll(0);
    __atomic_store_n(&om_trt.quiesce, 0, __ATOMIC_SEQ_CST);
    struct om_ocall *oc = om_oc_begin(ssa, OM_OC_MIG);
    oc->a[0] = OM_MIG_UNPARK;
    om_oc_call(ssa, oc);
}

int om_mig_wait_workers(struct om_ssa *ssa, struct om_mig_session *s)
{
    for (uint32_t i = 1; i < s->nstreams; i++) {
        while (!__atomic_load_n(&s->st[i].done, __ATOMIC_ACQUIRE)) {
            if (__atomic_load_n(&s->phase, __ATOMIC_ACQUIRE) == MIG_ABORTED)
                return s->error ? (int)s->error : OM_MIGERR_INTERNAL;
            om_mig_sleep_us(ssa, 100);
        }
        if (s->st[i].error)
            return (int)s->st[i].error;
    }
    return 0;
}

/* After a failure: every worker has seen the abort and left the session
 * before the coordinator resets it (or a worker could wait forever). */
void om_mig_join_workers(struct om_ssa *ssa, struct om_mig_session *s)
{
    for (uint32_t i = 1; i < s->nstreams; i++)
        while (!__atomic_load_n(&s->st[i].done, __ATOMIC_ACQUIRE))
            om_mig_sleep_us(ssa, 100);
}

/* Workers wait for the coordinator to reach a phase (or give up). */
int om_mig_wait_phase(struct om_ssa *ssa, struct om_mig_session *s, int phase)
{
    for (;;) {
        int p = __atomic_load_n(&s->phase, __ATOMIC_ACQUIRE);
        if (p == MIG_ABORTED)
            return OM_MIGERR_INTERNAL;
        if (p >= phase && p != MIG_DONE)
            return 0;
        om_mig_sleep_us(ssa, 100);
    }
}

int om_mig_streams_at(struct om_mig_session *s, uint64_t seq)
{
    for (uint32_t i = 1; i < s->nstreams; i++)
        if (__atomic_load_n(&s->st[i].ack_seq, __ATOMIC_ACQUIRE) < seq)
            return 0;
    return 1;
}

int om_mig_wait_streams(struct om_ssa *ssa, struct om_mig_session *s, uint64_t seq)
{
    while (!om_mig_streams_at(s, seq)) {
        if (__atomic_load_n(&s->phase, __ATOMIC_ACQUIRE) == MIG_ABORTED)
            return s->error ? (int)s->error : OM_MIGERR_INTERNAL;
        om_mig_sleep_us(ssa, 50);
    }
    return 0;
}

void om_mig_fail(struct om_mig_session *s, int64_t err)
{
    if (!s->error)
        s->error = err;
    __atomic_store_n(&s->phase, MIG_ABORTED, __ATOMIC_RELEASE);
}

void om_mig_quote_to_wire(const struct om_quote *q, struct om_wire_quote *w)
{
    memcpy(w->measurement, q->measurement, 32);
    memcpy(w->report_data, q->report_data, 32);
    memcpy(w->platform_pub, q->platform_pub, 65);
    memcpy(w->sig, q->sig, 64);
}

void om_mig_quote_from_wire(const struct om_wire_quote *w, struct om_quote *q)
{
    memcpy(q->measurement, w->measurement, 32);
    memcpy(q->report_data, w->report_data, 32);
    memcpy(q->platform_pub, w->platform_pub, 65);
    memcpy(q->sig, w->sig, 64);
}

int om_mig_send_abort(struct om_ssa *ssa, struct om_mig_session *s, uint32_t code, const char *msg)
{
    struct om_abort ab = { .code = code };
    size_t n = strlen(msg);
    if (n > OM_ERRMSG_MAX)
        n = OM_ERRMSG_MAX;
    ab.msg_len = (uint16_t)n;
    memcpy(ab.msg, msg, n);
    uint8_t buf[OM_ABORT_FRAME_MAX];
    size_t len;
    if (om_abort_encode(&ab, buf, sizeof(buf), &len))
        return OM_MIGERR_INTERNAL;
    return om_mig_send(ssa, s->st[0].fd, buf, len);
}

/* "<text> <hex value>" into s->why; no printf family: it needs libc TLS. */
const char *om_mig_why(struct om_mig_session *s, const char *text, uint64_t v)
{
    size_t n = strlen(text);
    if (n > sizeof(s->why) - 20)
        n = sizeof(s->why) - 20;
    memcpy(s->why, text, n);
    s->why[n++] = ' ';
    s->why[n++] = '0';
    s->why[n++] = 'x';
    for (int sh = 60; sh >= 0; sh -= 4)
        s->why[n++] = "0123456789abcdef"[(v >> sh) & 15];
    s->why[n] = 0;
    return s->why;
}

const char *om_mig_strerror(int64_t e)
{
    switch (e) {
    case OM_MIGERR_PROTOCOL: return "malformed or unexpected message from the peer";
    case OM_MIGERR_REFUSED: return "the peer refused the migration";
    case OM_MIGERR_ATTEST: return "attestation failed (quote, platform key or measurement)";
    case OM_MIGERR_INTEGRITY: return "a record failed authentication, or records were replayed, dropped or truncated";
    case OM_MIGERR_IO: return "the connection failed";
    case OM_MIGERR_TIMEOUT: return "the peer did not answer in time";
    case OM_MIGERR_QUIESCE: return "threads did not reach a safepoint in time";
    default: return "internal error";
    }
}
