/* The source end: attest, quiesce, seal every state page across N streams,
 * prove completeness with a manifest, and give the enclave up only when the
 * destination has verified it. Before that, any failure resumes the threads. */
#include "mig_common.h"
#include <errno.h>
#include <string.h>

#define PARTITION_PAGES 64

static int page_is_zero(const uint64_t *p)
{
    uint64_t acc = 0;
    for (size_t i = 0; i < OM_PAGE_SIZE / 8; i++)
        acc |= p[i];
    return acc == 0;
}

/* Seals one record into the stream's enclave buffer (flushing as needed). */
static int put_record(struct om_ssa *ssa, struct om_mig_stream *st, uint32_t sid, uint8_t type,
                      uint64_t page, uint64_t version, const void *pt, uint32_t len)
{
    if (st->have + OM_RECORD_PREFIX + len > OM_MIG_BUF) {
        int rc = om_mig_send(ssa, st->fd, st->buf, st->have);
        if (rc)
            return rc;
        st->have = 0;
    }
    uint8_t *frame = st->buf + st->have;
    struct om_record r = { .rtype = type, .stream_id = sid, .page = page, .version = version, .ct_len = len };
    /* Sealed inside the enclave, then copied out whole: the host never holds
     * ciphertext the tag was computed over while it can still change it. */
    if (om_seal(&st->sealer, type, page, version, pt, len, frame + OM_RECORD_PREFIX, r.tag, &r.counter) ||
        om_record_encode_prefix(&r, frame))
        return OM_MIGERR_INTERNAL;
    st->have += OM_RECORD_PREFIX + len;
    if (type == OM_REC_PAGE) {
        om_mig_hash_record(st, page, version, r.tag);
        st->records++;
    }
    return 0;
}

static int send_end(struct om_ssa *ssa, struct om_mig_stream *st, uint32_t sid)
{
    struct om_mig_end e = { .records = st->records };
    om_mig_hash_out(st, e.hash);
    int rc = put_record(ssa, st, sid, OM_REC_MANIFEST, OM_MIG_END_PAGE | sid, 0, &e, sizeof(e));
    if (!rc)
        rc = om_mig_send(ssa, st->fd, st->buf, st->have);
    st->have = 0;
    return rc;
}

/* Worker i's share: every nstreams-th run of PARTITION_PAGES state pages. */
static int send_partition(struct om_ssa *ssa, struct om_mig_session *s, uint32_t i)
{
    struct om_mig_stream *st = &s->st[i];
    struct om_page_iter it;
    uint64_t ordinal = 0, a;
    /* The buffer now stages outgoing records; the peer sent nothing since its
     * HELLO_REPLY was parsed from it. */
    st->have = st->off = 0;
    om_pages_begin(&it);
    while ((a = om_pages_next(&it))) {
        if ((ordinal++ / PARTITION_PAGES) % s->nstreams != i)
            continue;
        if (__atomic_load_n(&s->phase, __ATOMIC_RELAXED) == MIG_ABORTED)
            return OM_MIGERR_INTERNAL;
        /* A zero page need not be sent where the destination's memory starts
         * zero (heap, mmap area); image data and the stack start otherwise. */
        if (om_page_starts_zero(a) && page_is_zero((const uint64_t *)a)) {
            st->zero_pages++;
            continue;
        }
        int rc = put_record(ssa, st, i, OM_REC_PAGE, (a - om_trt_layout.base) / OM_PAGE_SIZE, 1,
                            (const void *)a, OM_PAGE_SIZE);
        if (rc)
            return rc;
        st->pages++;
        st->bytes += OM_RECORD_PREFIX + OM_PAGE_SIZE;
    }
    return send_end(ssa, st, i);
}

static int64_t worker(struct om_ssa *ssa, struct om_mig_session *s, uint32_t i)
{
    struct om_mig_stream *st = &s->st[i];
    /* A stream needs no handshake of its own: its records are sealed with its
     * id in nonce and associated data, so a misrouted stream fails to open. */
    int rc = om_mig_wait_phase(ssa, s, MIG_SEND);
    if (!rc)
        rc = send_partition(ssa, s, i);
    if (rc) {
        st->error = rc;
        om_mig_fail(s, rc);
    }
    __atomic_store_n(&st->done, 1, __ATOMIC_RELEASE);
    return rc;
}

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
    if (om_random(s->mig_id, 16) || om_random(nonce, 32) || om_x25519_keypair(priv, pub)) {
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
    h.role = OM_ROLE_MIGRATE;
    h.strategy = OM_STRATEGY_STOP_COPY;
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

/* Announces where the state lies (runs of pages) and waits until the
 * destination has memory behind them: population is slow on a VM, and done
 * here it is not downtime. The set may still grow before the stop; it is
 * only a hint. */
static int prepare(struct om_ssa *ssa, struct om_mig_session *s)
{
    struct om_page_iter it;
    uint64_t a, n = 0;
    om_pages_begin(&it);
    while ((a = om_pages_next(&it))) {
        uint64_t p = (a - om_trt_layout.base) / OM_PAGE_SIZE;
        if (n && s->runs[n - 1].first + s->runs[n - 1].count == p)
            s->runs[n - 1].count++;
        else if (n < OM_MIG_MAX_RUNS)
            s->runs[n++] = (struct om_page_run){ p, 1 };
        else
            s->runs[n - 1].count = p + 1 - s->runs[n - 1].first; /* out of runs: bridge the gap */
    }
    struct om_mig_stream *st = &s->st[0];
    st->have = st->off = 0;
    int rc = put_record(ssa, st, 0, OM_REC_RUNTIME, 0, 0, s->runs, (uint32_t)(n * sizeof(s->runs[0])));
    if (!rc)
        rc = om_mig_send(ssa, st->fd, st->buf, st->have);
    st->have = 0;
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
    m.t_quiesced_ns = s->args.t_quiesced_ns;
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
    int rc = put_record(ssa, &s->st[0], 0, OM_REC_MANIFEST, OM_MIG_MANIFEST_PAGE, 0, &m, sizeof(m));
    if (!rc)
        rc = om_mig_send(ssa, s->st[0].fd, s->st[0].buf, s->st[0].have);
    s->st[0].have = 0;
    return rc;
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

static void wipe_session(struct om_mig_session *s)
{
    om_wipe(&s->keys, sizeof(s->keys));
    for (uint32_t i = 0; i < s->nstreams; i++)
        om_sealer_wipe(&s->st[i].sealer);
}

static int64_t coordinator(struct om_ssa *ssa, struct om_mig_session *s, uint64_t hp)
{
    const char *why = NULL;
    int quiesced = 0, rc;
    if ((rc = handshake(ssa, s, &why)))
        goto fail;
    for (uint32_t i = 0; i < s->nstreams; i++) {
        om_mig_hash_init(&s->st[i]);
        if (om_sealer_init(&s->st[i].sealer, s->keys.src_to_dst, i, s->mig_id, OM_AEAD_AUTO)) {
            rc = OM_MIGERR_INTERNAL;
            goto fail;
        }
    }
    __atomic_store_n(&s->phase, MIG_KEYED, __ATOMIC_RELEASE);
    if ((rc = prepare(ssa, s))) {
        why = "the destination did not get ready";
        goto fail;
    }
    quiesced = 1;
    if ((rc = om_mig_quiesce(ssa, 10000))) /* downtime starts when the last thread parks */
        goto fail;
    s->args.t_quiesced_ns = om_mig_now_ns(ssa);
    if ((rc = om_fd_capture(ssa)))
        goto fail;
    __atomic_store_n(&s->phase, MIG_SEND, __ATOMIC_RELEASE);
    if ((rc = send_partition(ssa, s, 0)) || (rc = om_mig_wait_workers(ssa, s)) ||
        (rc = send_manifest(ssa, s)) || (rc = await_commit(ssa, s)))
        goto fail;
    /* Switchover: from here this copy never runs again, whatever happens. */
    om_priv.dead = 1;
    om_fd_release(ssa);
    rc = send_go(ssa, s);
    for (uint32_t i = 0; i < s->nstreams; i++)
        s->args.bytes_sent += s->st[i].bytes;
    wipe_session(s);
    __atomic_store_n(&s->phase, MIG_DONE, __ATOMIC_RELEASE);
    om_mig_report(s, hp, 0, rc ? "switched over; the final acknowledgement may not have arrived" : NULL);
    return 0;
fail:
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

int64_t om_mig_out(struct om_ssa *ssa, uint32_t slot, uint64_t hp)
{
    struct om_mig_session *s = om_mig_session();
    if (slot)
        return worker(ssa, s, slot);
    if (om_mig_session_begin(s, hp))
        return OM_MIGERR_INTERNAL;
    return coordinator(ssa, s, hp);
}
