/* The source end: attest, announce the plan, then move the state by the
 * chosen strategy (stop-and-copy, pre-copy rounds, post-copy, hybrid), prove
 * completeness with a manifest, and give the enclave up only when the
 * destination has verified it. Before that, any failure resumes the threads. */
#include "mig_common.h"
#include "mig_send.h"
#include "track.h"
#include "heap.h"
#include <errno.h>
#include <string.h>

static int handshake(struct om_ssa *ssa, struct om_mig_session *s, const char **why)
{
    uint8_t priv[32], pub[32], nonce[32], rd[32];
    struct om_quote q, pq;
    struct om_hello h;
    struct om_hello_reply r;
    uint8_t *hello_buf = s->hello;
    size_t hello_len;
    int rc = OM_MIGERR_INTERNAL;

    memset(&h, 0, sizeof(h));
    if ((!s->resuming && om_random(s->mig_id, 16)) || om_random(nonce, 32) || om_x25519_keypair(priv, pub)) {
        *why = "no randomness for the key exchange";
        goto out;
    }
    om_report_data(OM_ROLE_SOURCE, pub, nonce, s->mig_id, rd);
    if ((rc = om_mig_quote(ssa, rd, &q))) {
        *why = "the platform would not quote this enclave";
        goto out;
    }
    memcpy(s->meas_self, q.measurement, 32);
    h.version = OM_PROTO_VERSION;
    h.role = s->resuming ? OM_ROLE_RESUME : OM_ROLE_MIGRATE;
    h.strategy = (uint8_t)s->strategy;
    h.nstreams = (uint8_t)s->nstreams;
    memcpy(h.mig_id, s->mig_id, 16);
    h.layout.base = om_trt_layout.base;
    h.layout.heap_size = om_trt_layout.heap_hi - om_trt_layout.heap_lo;
    h.layout.max_threads = om_trt_layout.max_threads;
    memcpy(h.measurement, q.measurement, 32);
    memcpy(h.nonce, nonce, 32);
    memcpy(h.kx_pub, pub, 32);
    om_mig_quote_to_wire(&q, &h.quote);
    h.path_len = (uint16_t)strlen(s->args.image);
    memcpy(h.path, s->args.image, h.path_len);
    rc = OM_MIGERR_INTERNAL;
    if (om_hello_encode(&h, hello_buf, sizeof(s->hello), &hello_len)) {
        *why = "cannot encode HELLO";
        goto out;
    }
    if ((rc = om_mig_send(ssa, s->st[0].fd, hello_buf, hello_len)))
        goto out;

    struct om_frame f;
    if ((rc = om_mig_next_frame(ssa, &s->st[0], &f, s->args.timeout_ms))) {
        *why = "no answer to HELLO";
        goto out;
    }
    rc = OM_MIGERR_PROTOCOL;
    if (f.type == OM_MSG_ABORT) {
        rc = OM_MIGERR_REFUSED;
        *why = "the destination aborted";
        goto out;
    }
    if (f.type != OM_MSG_HELLO_REPLY || om_hello_reply_decode(&f, &r) || memcmp(r.mig_id, s->mig_id, 16))
        goto out;
    if (!r.accept) {
        rc = OM_MIGERR_REFUSED;
        memcpy(s->why, "destination refused: ", 21);
        memcpy(s->why + 21, r.err, r.err_len + 1u);
        *why = s->why;
        goto out;
    }
    struct om_trust_store ts;
    om_mig_trust_store(&s->args, &ts);
    om_mig_quote_from_wire(&r.quote, &pq);
    uint8_t prd[32];
    om_report_data(OM_ROLE_DESTINATION, r.kx_pub, r.nonce, s->mig_id, prd);
    int qv = om_quote_verify(&pq, &ts, s->meas_self);
    if (qv || memcmp(pq.report_data, prd, 32) || memcmp(r.measurement, s->meas_self, 32)) {
        rc = OM_MIGERR_ATTEST;
        *why = qv ? om_crypto_strerror(qv) : "destination quote does not bind its key exchange";
        goto out;
    }
    uint8_t shared[32], th[32];
    if (om_x25519_shared(priv, r.kx_pub, shared)) {
        rc = OM_MIGERR_ATTEST;
        goto out;
    }
    br_sha256_context hc;
    br_sha256_init(&hc);
    br_sha256_update(&hc, hello_buf, hello_len);
    br_sha256_update(&hc, f.payload - OM_FRAME_HDR, OM_FRAME_HDR + f.len);
    br_sha256_out(&hc, th);
    om_keys_derive(shared, th, s->meas_self, r.measurement, s->mig_id, &s->keys);
    om_wipe(shared, sizeof(shared));
    rc = 0;
out:
    om_wipe(priv, sizeof(priv));
    return rc;
}

/* Announces the plan and where the state lies (runs of pages), and waits
 * until the destination has memory behind them: population is slow on a
 * VM, and done here it is not downtime. The runs are only a hint. */
static int prepare(struct om_ssa *ssa, struct om_mig_session *s)
{
    struct om_page_iter it;
    uint64_t a, n = 0;
    const uint64_t max_runs = OM_MIG_MAX_RUNS - 1; /* one slot holds the plan */
    struct om_page_run *runs = s->runs + 1;
    om_pages_begin(&it, 0);
    while ((a = om_pages_next(&it))) {
        uint64_t p = (a - om_trt_layout.base) / OM_PAGE_SIZE;
        if (n && runs[n - 1].first + runs[n - 1].count == p)
            runs[n - 1].count++;
        else if (n < max_runs)
            runs[n++] = (struct om_page_run){ p, 1 };
        else
            runs[n - 1].count = p + 1 - runs[n - 1].first; /* out of runs: bridge the gap */
    }
    struct om_mig_plan plan = { .strategy = s->strategy, .tracker = s->tracker, .track_pages = om_track_pages() };
    _Static_assert(sizeof(plan) == sizeof(s->runs[0]), "the plan fills one run slot");
    memcpy(&s->runs[0], &plan, sizeof(plan));
    struct om_mig_stream *st = &s->st[0];
    int rc = om_put_record(ssa, st, 0, OM_REC_RUNTIME, 0, 0, s->runs, (uint32_t)((n + 1) * sizeof(s->runs[0])));
    if (!rc)
        rc = om_flush(ssa, st);
    if (rc)
        return rc;
    struct om_frame f;
    if ((rc = om_mig_next_frame(ssa, st, &f, s->args.timeout_ms)))
        return rc;
    if (f.type == OM_MSG_ABORT)
        return OM_MIGERR_REFUSED;
    return f.type == OM_MSG_PONG ? 0 : OM_MIGERR_PROTOCOL;
}

static int send_manifest(struct om_ssa *ssa, struct om_mig_session *s)
{
    struct om_mig_manifest m;
    memset(&m, 0, sizeof(m));
    m.nstreams = s->nstreams;
    m.strategy = s->strategy;
    m.t_quiesced_ns = s->args.t_quiesced_ns;
    m.pending = s->pending;
    if (om_mig_is_post(s->strategy))
        om_mig_bm_hash(m.pending_hash); /* even when nothing is pending */
    for (uint32_t i = 0; i < s->nstreams; i++) {
        m.pages += s->st[i].pages;
        m.zero_pages += s->st[i].zero_pages;
        m.st[i].records = s->st[i].records;
        om_mig_hash_out(&s->st[i], m.st[i].hash);
    }
    br_sha256_context hc;
    br_sha256_init(&hc);
    br_sha256_update(&hc, &m, sizeof(m));
    br_sha256_out(&hc, s->manifest_hash);
    s->args.pages_sent = m.pages;
    s->args.zero_pages = m.zero_pages;
    int rc = om_put_record(ssa, &s->st[0], 0, OM_REC_MANIFEST, OM_MIG_MANIFEST_PAGE, 0, &m, sizeof(m));
    return rc ? rc : om_flush(ssa, &s->st[0]);
}

/* Waits for the destination's COMMIT; only a valid one gives the enclave up. */
static int await_commit(struct om_ssa *ssa, struct om_mig_session *s)
{
    struct om_frame f;
    struct om_commit c;
    int rc = om_mig_next_frame(ssa, &s->st[0], &f, s->args.timeout_ms);
    if (rc)
        return rc;
    if (f.type == OM_MSG_ABORT)
        return OM_MIGERR_REFUSED;
    if (f.type != OM_MSG_COMMIT || om_commit_decode(OM_MSG_COMMIT, &f, &c) || memcmp(c.mig_id, s->mig_id, 16))
        return OM_MIGERR_PROTOCOL;
    uint8_t msg[48], mac[32];
    memcpy(msg, s->mig_id, 16);
    memcpy(msg + 16, s->manifest_hash, 32);
    om_mig_mac(s->keys.dst_to_src, "optmig-commit-v1", msg, sizeof(msg), mac);
    return memcmp(mac, c.mac, 32) ? OM_MIGERR_INTEGRITY : 0;
}

static int send_go(struct om_ssa *ssa, struct om_mig_session *s)
{
    struct om_commit go;
    memcpy(go.mig_id, s->mig_id, 16);
    uint8_t msg[48];
    memcpy(msg, s->mig_id, 16);
    memcpy(msg + 16, s->manifest_hash, 32);
    om_mig_mac(s->keys.src_to_dst, "optmig-go-v1", msg, sizeof(msg), go.mac);
    uint8_t buf[OM_COMMIT_FRAME];
    size_t len;
    if (om_commit_encode(OM_MSG_COMMIT_ACK, &go, buf, sizeof(buf), &len))
        return OM_MIGERR_INTERNAL;
    return om_mig_send(ssa, s->st[0].fd, buf, len);
}

/* The destination says when its threads ran again (its clock; both ends of
 * a test share one). */
static void await_resumed(struct om_ssa *ssa, struct om_mig_session *s)
{
    struct om_frame f;
    struct om_ping p;
    if (!om_mig_next_frame(ssa, &s->st[0], &f, s->args.timeout_ms) && f.type == OM_MSG_PING &&
        !om_ping_decode(OM_MSG_PING, &f, &p))
        s->args.t_resumed_ns = p.token;
}

static void wipe_session(struct om_mig_session *s)
{
    om_wipe(&s->keys, sizeof(s->keys));
    for (uint32_t i = 0; i < s->nstreams; i++)
        om_sealer_wipe(&s->st[i].sealer);
}

static int init_sealers(struct om_mig_session *s)
{
    for (uint32_t i = 0; i < s->nstreams; i++) {
        om_mig_hash_init(&s->st[i]);
        if (om_sealer_init(&s->st[i].sealer, s->keys.src_to_dst, i, s->mig_id, OM_AEAD_AUTO))
            return OM_MIGERR_INTERNAL;
    }
    return 0;
}

/* What the compiler tracker must have compiled in for a strategy: dirty
 * marks at the source's pre-copy, access checks at a post-copy destination. */
static uint32_t cc_needs(uint32_t strategy)
{
    uint32_t rounds = strategy == OM_STRATEGY_PRECOPY || strategy == OM_STRATEGY_HYBRID;
    return (rounds ? OM_CC_DIRTY : 0) | (om_mig_is_post(strategy) ? OM_CC_ACCESS : 0);
}

static int tracking_start(struct om_ssa *ssa, struct om_mig_session *s, const char **why)
{
    if (s->strategy == OM_STRATEGY_STOP_COPY)
        return 0;
    if (!om_track_pages()) {
        *why = "the heap is too small for live migration; use --strategy stop-and-copy";
        return OM_MIGERR_REFUSED;
    }
    uint32_t need = cc_needs(s->strategy);
    if (s->tracker == OM_TRACKER_COMPILER) {
        if ((om_cc_compiled() & need) != need) {
            *why = "this image was not built with the compiler tracker this strategy needs "
                   "(omcc --track); use --tracker kernel";
            return OM_MIGERR_REFUSED;
        }
        if (need & OM_CC_DIRTY)
            return om_cc_dirty_start(ssa, 10000) ? OM_MIGERR_QUIESCE : 0;
        return 0;
    }
    if (!om_kt_available(ssa)) {
        *why = "the host has no userfaultfd write-protect tracking; use --tracker compiler";
        return OM_MIGERR_REFUSED;
    }
    if (need & OM_CC_DIRTY)
        return om_kt_dirty_start(ssa) ? OM_MIGERR_INTERNAL : 0;
    return 0;
}

static int64_t collect(struct om_ssa *ssa, struct om_mig_session *s, uint64_t *bm)
{
    if (s->tracker == OM_TRACKER_COMPILER)
        return (int64_t)om_cc_dirty_collect(bm);
    return om_kt_dirty_collect(ssa, bm);
}

static void tracking_stop(struct om_ssa *ssa, struct om_mig_session *s)
{
    if (s->strategy == OM_STRATEGY_STOP_COPY || s->strategy == OM_STRATEGY_POSTCOPY)
        return;
    if (s->tracker == OM_TRACKER_COMPILER)
        om_cc_dirty_stop();
    else
        om_kt_dirty_stop(ssa);
}


/* The used heap pages as they stand (the allocator's high-water set). */
static void used_into(uint64_t *bm)
{
    size_t n;
    const uint64_t *used = om_heap_used_bitmap(&n);
    uint64_t w = om_track_words(), uw = used ? (n + 63) / 64 : 0;
    for (uint64_t i = 0; i < w; i++)
        bm[i] = i < uw ? used[i] : 0;
}

/* Pre-copy rounds while the enclave runs, until what is left would fit in
 * the downtime budget at the link's rate, the round cap, or the rounds stop
 * shrinking (writes outpace the link: stop and copy the rest). */
static int precopy_rounds(struct om_ssa *ssa, struct om_mig_session *s)
{
    uint64_t *round = om_track_bitmap(OM_BM_ROUND), w = om_track_words();
    uint64_t cap = s->args.max_rounds ? s->args.max_rounds : (s->strategy == OM_STRATEGY_HYBRID ? 1 : 30);
    uint64_t budget_ns = (uint64_t)(s->args.max_downtime_ms ? s->args.max_downtime_ms : 300) * 1000000ull;
    uint64_t prev = ~0ull, grew = 0;
    used_into(round);
    for (uint32_t r = 1;; r++) {
        uint64_t bytes0 = 0, bytes1 = 0, t0 = om_mig_now_ns(ssa);
        for (uint32_t i = 0; i < s->nstreams; i++)
            bytes0 += s->st[i].bytes;
        s->version = r;
        int rc = om_mig_command(ssa, s, MIG_CMD_HEAP);
        if (rc)
            return rc;
        uint64_t dt = om_mig_now_ns(ssa) - t0;
        for (uint32_t i = 0; i < s->nstreams; i++)
            bytes1 += s->st[i].bytes;
        s->args.rounds = r;
        memset(round, 0, w * 8);
        int64_t dirty = collect(ssa, s, round);
        if (dirty < 0)
            return (int)dirty;
        /* Bytes per second: the user's figure for the link, or what this
         * round achieved (the sealing rate bounds it too). */
        uint64_t rate = s->args.bandwidth_bps ? s->args.bandwidth_bps / 8
                        : dt ? (bytes1 - bytes0) * 1000000000ull / dt : 0;
        uint64_t need_ns = rate ? (uint64_t)dirty * OM_PAGE_SIZE * 1000000000ull / rate : ~0ull;
        if (need_ns <= budget_ns || r >= cap)
            return 0;
        grew = (uint64_t)dirty >= prev ? grew + 1 : 0;
        if (grew >= 2)
            return 0;
        prev = (uint64_t)dirty;
    }
}

/* Stopped: the heap pages still to send are those dirtied since their last
 * copy and those used but never sent. */
static void final_heap_set(uint64_t *out, int fresh)
{
    uint64_t *sent = om_track_bitmap(OM_BM_SENT), w = om_track_words();
    size_t n;
    const uint64_t *used = om_heap_used_bitmap(&n);
    uint64_t uw = used ? (n + 63) / 64 : 0;
    for (uint64_t i = 0; i < w; i++) {
        uint64_t u = i < uw ? used[i] : 0;
        out[i] = (fresh ? 0 : out[i]) | (u & ~sent[i]);
    }
}

static int64_t coordinator(struct om_ssa *ssa, struct om_mig_session *s, uint64_t hp)
{
    const char *why = NULL;
    int quiesced = 0, tracking = 0, rc;
    int live = s->strategy != OM_STRATEGY_STOP_COPY;
    int post = om_mig_is_post(s->strategy);
    if (post && s->nstreams < 2) {
        why = "post-copy needs at least 2 streams (one answers page requests)";
        rc = OM_MIGERR_REFUSED;
        goto fail;
    }
    if ((rc = handshake(ssa, s, &why)) || (rc = init_sealers(s)))
        goto fail;
    __atomic_store_n(&s->phase, MIG_KEYED, __ATOMIC_RELEASE);
    if ((rc = prepare(ssa, s))) {
        why = "the destination did not get ready";
        goto fail;
    }
    if (live)
        memset(om_track_bitmap(OM_BM_SENT), 0, om_track_words() * 8);
    if ((rc = tracking_start(ssa, s, &why)))
        goto fail;
    tracking = 1;
    __atomic_store_n(&s->phase, MIG_SEND, __ATOMIC_RELEASE);
    if (s->strategy == OM_STRATEGY_PRECOPY || s->strategy == OM_STRATEGY_HYBRID) {
        if ((rc = precopy_rounds(ssa, s)))
            goto fail;
    }
    quiesced = 1;
    s->args.t_quiesce_ns = om_mig_now_ns(ssa);
    if ((rc = om_mig_quiesce(ssa, 10000))) /* downtime starts when the last thread parks */
        goto fail;
    s->args.t_quiesced_ns = om_mig_now_ns(ssa);
    if ((rc = om_fd_capture(ssa)))
        goto fail;
    uint32_t cmd = MIG_CMD_STATE | MIG_CMD_END;
    if (live) {
        uint64_t *set = om_track_bitmap(post ? OM_BM_PENDING : OM_BM_ROUND);
        if (s->strategy == OM_STRATEGY_HYBRID || s->strategy == OM_STRATEGY_PRECOPY) {
            /* What the last round collected is not sent yet: keep it. */
            if (post)
                memcpy(set, om_track_bitmap(OM_BM_ROUND), om_track_words() * 8);
            int64_t d = collect(ssa, s, set);
            if (d < 0) {
                rc = (int)d;
                goto fail;
            }
        }
        final_heap_set(set, s->strategy == OM_STRATEGY_POSTCOPY);
        if (post) {
            s->pending = om_bm_count(set, om_track_words());
            memset(om_track_bitmap(OM_BM_DONE), 0, om_track_words() * 8);
            if ((rc = om_mig_send_pending(ssa, s)))
                goto fail;
        } else {
            cmd |= MIG_CMD_HEAP;
            s->version++;
        }
    }
    s->phase_no = 1;
    uint64_t before = 0;
    for (uint32_t i = 0; i < s->nstreams; i++)
        before += s->st[i].pages;
    if ((rc = om_mig_command(ssa, s, cmd)) || (rc = send_manifest(ssa, s)))
        goto fail;
    s->args.t_sent_ns = om_mig_now_ns(ssa);
    if ((rc = await_commit(ssa, s)))
        goto fail;
    s->args.final_pages = s->args.pages_sent - before;
    /* Switchover: from here this copy never runs again, whatever happens.
     * Its tracking stays on: unregistering costs time and nothing writes. */
    om_priv.dead = 1;
    s->args.t_switched_ns = om_mig_now_ns(ssa);
    om_fd_release(ssa);
    rc = send_go(ssa, s);
    if (!rc)
        await_resumed(ssa, s);
    if (!rc && post)
        rc = om_mig_serve_postcopy(ssa, s);
    if (rc && post)
        om_mig_save_resume(s); /* the pages stay here until a --resume delivers them */
    om_mig_command(ssa, s, MIG_CMD_QUIT);
    for (uint32_t i = 0; i < s->nstreams; i++)
        s->args.bytes_sent += s->st[i].bytes;
    wipe_session(s);
    __atomic_store_n(&s->phase, MIG_DONE, __ATOMIC_RELEASE);
    om_mig_report(s, hp, post ? rc : 0,
                  rc ? (post ? "post-copy interrupted after switchover: pages were not all delivered"
                             : "switched over; the final acknowledgement may not have arrived")
                     : NULL);
    return post ? rc : 0;
fail:
    if (tracking)
        tracking_stop(ssa, s);
    om_mig_fail(s, rc);
    om_mig_send_abort(ssa, s, OM_ABORT_INTERNAL, why ? why : om_mig_strerror(rc));
    om_mig_join_workers(ssa, s);
    wipe_session(s);
    if (quiesced)
        om_mig_unquiesce(ssa);
    om_mig_report(s, hp, rc, why ? why : om_mig_strerror(rc));
    __atomic_store_n(&s->phase, MIG_IDLE, __ATOMIC_RELEASE); /* ready for another attempt */
    return rc;
}

/* Post-copy recovery: re-attest (same migration id, fresh keys), then push
 * every pending page again; the destination keeps the ones it installed. */
static int64_t resume_source(struct om_ssa *ssa, struct om_mig_session *s, uint64_t hp)
{
    const char *why = NULL;
    int rc;
    if (!s->res.valid) {
        om_mig_report(s, hp, OM_MIGERR_REFUSED, "there is no interrupted post-copy to resume");
        return OM_MIGERR_REFUSED;
    }
    om_mig_load_resume(s);
    s->resuming = 1;
    if (s->nstreams < 2) {
        why = "resuming post-copy needs at least 2 streams";
        rc = OM_MIGERR_REFUSED;
        goto fail;
    }
    if ((rc = handshake(ssa, s, &why)) || (rc = init_sealers(s)))
        goto fail;
    memset(om_track_bitmap(OM_BM_DONE), 0, om_track_words() * 8);
    __atomic_store_n(&s->phase, MIG_SEND, __ATOMIC_RELEASE);
    rc = om_mig_serve_postcopy(ssa, s);
    om_mig_command(ssa, s, MIG_CMD_QUIT);
    for (uint32_t i = 0; i < s->nstreams; i++)
        s->args.bytes_sent += s->st[i].bytes;
    s->args.t_switched_ns = 1; /* the enclave is (still) at the destination */
    wipe_session(s);
    if (rc) {
        om_mig_save_resume(s);
        __atomic_store_n(&s->phase, MIG_IDLE, __ATOMIC_RELEASE);
        om_mig_report(s, hp, rc, "post-copy interrupted again: pages were not all delivered");
        return rc;
    }
    s->res.valid = 0;
    __atomic_store_n(&s->phase, MIG_DONE, __ATOMIC_RELEASE);
    om_mig_report(s, hp, 0, NULL);
    return 0;
fail:
    om_mig_fail(s, rc);
    om_mig_send_abort(ssa, s, OM_ABORT_INTERNAL, why ? why : om_mig_strerror(rc));
    om_mig_join_workers(ssa, s);
    wipe_session(s);
    om_mig_save_resume(s);
    om_mig_report(s, hp, rc, why ? why : om_mig_strerror(rc));
    __atomic_store_n(&s->phase, MIG_IDLE, __ATOMIC_RELEASE);
    return rc;
}

int64_t om_mig_out(struct om_ssa *ssa, uint32_t slot, uint64_t hp)
{
    struct om_mig_session *s = om_mig_session();
    if (slot)
        return om_mig_send_worker(ssa, s, slot);
    if (om_mig_session_begin(s, hp))
        return OM_MIGERR_INTERNAL;
    if (s->args.resume)
        return resume_source(ssa, s, hp);
    s->strategy = s->args.strategy ? s->args.strategy : OM_STRATEGY_STOP_COPY;
    s->tracker = s->args.tracker;
    if (!s->tracker) {
        /* auto: the compiler tracker when the image carries what the
         * strategy needs (it costs no faults), else the kernel's. */
        uint32_t need = cc_needs(s->strategy);
        s->tracker = (om_cc_compiled() & need) == need ? OM_TRACKER_COMPILER : OM_TRACKER_KERNEL;
    }
    return coordinator(ssa, s, hp);
}
