/* Sealing and sending on the source: each worker owns a stream and a fixed
 * share of the heap (whole bitmap words, so a page always travels on the
 * same stream and its versions arrive in order). */
#include "mig_send.h"
#include "track.h"
#include <string.h>

#define PREPAGE 15 /* pages after a requested one that follow it at once */

int om_flush(struct om_ssa *ssa, struct om_mig_stream *st)
{
    int rc = st->ohave ? om_mig_send(ssa, st->fd, st->obuf, st->ohave) : 0;
    st->ohave = 0;
    return rc;
}

int om_put_record(struct om_ssa *ssa, struct om_mig_stream *st, uint32_t sid, uint8_t type, uint64_t page,
                  uint64_t version, const void *pt, uint32_t len)
{
    if (st->ohave + OM_RECORD_PREFIX + len > OM_MIG_BUF) {
        int rc = om_flush(ssa, st);
        if (rc)
            return rc;
    }
    uint8_t *frame = st->obuf + st->ohave;
    struct om_record r = { .rtype = type, .stream_id = sid, .page = page, .version = version, .ct_len = len };
    /* Sealed inside the enclave, then copied out whole: the host never holds
     * ciphertext the tag was computed over while it can still change it. */
    if (om_seal(&st->sealer, type, page, version, pt, len, frame + OM_RECORD_PREFIX, r.tag, &r.counter) ||
        om_record_encode_prefix(&r, frame))
        return OM_MIGERR_INTERNAL;
    st->ohave += OM_RECORD_PREFIX + len;
    if (type == OM_REC_PAGE || type == OM_REC_PAGE_ZERO) {
        om_mig_hash_record(st, page, version, r.tag);
        st->records++;
        st->bytes += OM_RECORD_PREFIX + len;
    }
    return 0;
}

static int aborted(struct om_mig_session *s)
{
    return __atomic_load_n(&s->phase, __ATOMIC_RELAXED) == MIG_ABORTED;
}

static uint64_t enclave_page(uint64_t a) { return (a - om_trt_layout.base) / OM_PAGE_SIZE; }

/* A heap page of a pre-copy round or the final stop. A zero page never sent
 * needs no record: the destination's heap starts zero. */
static int send_heap_page(struct om_ssa *ssa, struct om_mig_session *s, uint32_t sid, uint64_t p)
{
    struct om_mig_stream *st = &s->st[sid];
    uint64_t *sent = om_track_bitmap(OM_BM_SENT), bit = 1ull << (p % 64);
    uint64_t a = om_track_lo() + p * OM_PAGE_SIZE;
    if (!(sent[p / 64] & bit) && om_page_is_zero(a)) {
        st->zero_pages++;
        return 0;
    }
    int rc = om_put_record(ssa, st, sid, OM_REC_PAGE, enclave_page(a), s->version, (const void *)a, OM_PAGE_SIZE);
    if (rc)
        return rc;
    sent[p / 64] |= bit; /* this word belongs to this stream alone */
    st->pages++;
    return 0;
}

static int send_heap(struct om_ssa *ssa, struct om_mig_session *s, uint32_t sid)
{
    const uint64_t *bm = om_track_bitmap(OM_BM_ROUND);
    uint64_t w = om_track_words();
    for (uint64_t i = sid; i < w; i += s->nstreams) {
        if (aborted(s))
            return OM_MIGERR_INTERNAL;
        for (uint64_t bits = bm[i]; bits; bits &= bits - 1) {
            int rc = send_heap_page(ssa, s, sid, i * 64 + (uint64_t)__builtin_ctzll(bits));
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Everything but the heap when a live strategy moves the heap itself;
 * everything for stop-and-copy. Partitioned by ordinal (sent once). */
static int send_state(struct om_ssa *ssa, struct om_mig_session *s, uint32_t sid)
{
    struct om_mig_stream *st = &s->st[sid];
    struct om_page_iter it;
    uint64_t ordinal = 0, a;
    om_pages_begin(&it, s->strategy != OM_STRATEGY_STOP_COPY);
    while ((a = om_pages_next(&it))) {
        if ((ordinal++ / 64) % s->nstreams != sid)
            continue;
        if (aborted(s))
            return OM_MIGERR_INTERNAL;
        /* A zero page need not be sent where the destination's memory starts
         * zero (stack, heap, mmap area); image data starts otherwise. */
        if (om_page_starts_zero(a) && om_page_is_zero(a)) {
            st->zero_pages++;
            continue;
        }
        int rc = om_put_record(ssa, st, sid, OM_REC_PAGE, enclave_page(a), s->version ? s->version : 1,
                               (const void *)a, OM_PAGE_SIZE);
        if (rc)
            return rc;
        st->pages++;
    }
    return 0;
}

/* A pending page after switchover, once: whoever claims it sends it. */
static int push_page(struct om_ssa *ssa, struct om_mig_session *s, uint32_t sid, uint64_t p)
{
    struct om_mig_stream *st = &s->st[sid];
    uint64_t *done = om_track_bitmap(OM_BM_DONE), bit = 1ull << (p % 64);
    if (__atomic_fetch_or(&done[p / 64], bit, __ATOMIC_RELAXED) & bit)
        return 0;
    uint64_t a = om_track_lo() + p * OM_PAGE_SIZE;
    int zero = om_page_is_zero(a);
    int rc = om_put_record(ssa, st, sid, zero ? OM_REC_PAGE_ZERO : OM_REC_PAGE, enclave_page(a), s->version,
                           zero ? NULL : (const void *)a, zero ? 0 : OM_PAGE_SIZE);
    if (rc)
        return rc;
    if (zero)
        st->zero_pages++;
    else
        st->pages++;
    return 0;
}

static int push(struct om_ssa *ssa, struct om_mig_session *s, uint32_t sid)
{
    const uint64_t *pending = om_track_bitmap(OM_BM_PENDING);
    uint64_t w = om_track_words(), k = s->nstreams - 1;
    for (uint64_t i = sid - 1; i < w; i += k) {
        if (aborted(s))
            return OM_MIGERR_INTERNAL;
        for (uint64_t bits = pending[i]; bits; bits &= bits - 1) {
            int rc = push_page(ssa, s, sid, i * 64 + (uint64_t)__builtin_ctzll(bits));
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int send_end(struct om_ssa *ssa, struct om_mig_session *s, uint32_t sid)
{
    struct om_mig_stream *st = &s->st[sid];
    struct om_mig_end e = { .records = st->records };
    om_mig_hash_out(st, e.hash);
    int rc = om_put_record(ssa, st, sid, OM_REC_MANIFEST, OM_MIG_END_PAGE | sid, s->phase_no, &e, sizeof(e));
    return rc ? rc : om_flush(ssa, st);
}

static int run(struct om_ssa *ssa, struct om_mig_session *s, uint32_t sid, uint32_t cmd)
{
    int rc = 0;
    if (!rc && (cmd & MIG_CMD_HEAP))
        rc = send_heap(ssa, s, sid);
    if (!rc && (cmd & MIG_CMD_STATE))
        rc = send_state(ssa, s, sid);
    if (!rc && (cmd & MIG_CMD_PUSH) && sid)
        rc = push(ssa, s, sid);
    if (!rc && (cmd & MIG_CMD_END))
        rc = send_end(ssa, s, sid);
    return rc ? rc : om_flush(ssa, &s->st[sid]);
}

int om_mig_command(struct om_ssa *ssa, struct om_mig_session *s, uint32_t cmd)
{
    s->cmd = cmd;
    uint64_t seq = __atomic_add_fetch(&s->cmd_seq, 1, __ATOMIC_RELEASE);
    if (cmd & MIG_CMD_QUIT) {
        om_mig_join_workers(ssa, s);
        return 0;
    }
    if (cmd & MIG_CMD_PUSH)
        return 0; /* the post-copy service watches the workers itself */
    int rc = run(ssa, s, 0, cmd);
    if (rc) {
        om_mig_fail(s, rc);
        return rc;
    }
    return om_mig_wait_streams(ssa, s, seq);
}

int64_t om_mig_send_worker(struct om_ssa *ssa, struct om_mig_session *s, uint32_t i)
{
    struct om_mig_stream *st = &s->st[i];
    uint64_t seen = 0;
    int rc = om_mig_wait_phase(ssa, s, MIG_SEND);
    /* The buffer now stages outgoing records; the peer sent nothing on this
     * stream. */
    st->ohave = 0;
    while (!rc) {
        uint64_t seq = __atomic_load_n(&s->cmd_seq, __ATOMIC_ACQUIRE);
        if (seq == seen) {
            if (aborted(s)) {
                rc = OM_MIGERR_INTERNAL;
                break;
            }
            om_mig_sleep_us(ssa, 50);
            continue;
        }
        seen = seq;
        uint32_t cmd = s->cmd;
        if (cmd & MIG_CMD_QUIT)
            break;
        rc = run(ssa, s, i, cmd);
        __atomic_store_n(&st->ack_seq, seen, __ATOMIC_RELEASE);
    }
    if (rc) {
        st->error = rc;
        om_mig_fail(s, rc);
    }
    __atomic_store_n(&st->done, 1, __ATOMIC_RELEASE);
    return rc;
}

int om_mig_send_pending(struct om_ssa *ssa, struct om_mig_session *s)
{
    const uint8_t *bm = (const uint8_t *)om_track_bitmap(OM_BM_PENDING);
    uint64_t len = om_track_words() * 8;
    for (uint64_t off = 0, i = 1; off < len; off += OM_MIG_BM_CHUNK, i++) {
        uint64_t n = len - off < OM_MIG_BM_CHUNK ? len - off : OM_MIG_BM_CHUNK;
        int rc = om_put_record(ssa, &s->st[0], 0, OM_REC_RUNTIME, i, 0, bm + off, (uint32_t)n);
        if (rc)
            return rc;
    }
    return 0;
}

/* Pages the destination asked for, each with the pending pages after it. */
static int answer(struct om_ssa *ssa, struct om_mig_session *s, const struct om_page_req *q)
{
    const uint64_t *pending = om_track_bitmap(OM_BM_PENDING);
    uint64_t lo = (om_track_lo() - om_trt_layout.base) / OM_PAGE_SIZE, n = om_track_pages();
    for (uint32_t i = 0; i < q->count; i++) {
        if (q->pages[i] < lo || q->pages[i] - lo >= n)
            continue; /* not a tracked page: nothing to send */
        uint64_t p = q->pages[i] - lo;
        for (uint64_t k = p; k < n && k <= p + PREPAGE; k++) {
            if (!(pending[k / 64] >> (k % 64) & 1))
                continue;
            int rc = push_page(ssa, s, 0, k);
            if (rc)
                return rc;
            if (k == p)
                s->args.demand_pages++;
        }
    }
    return om_flush(ssa, &s->st[0]);
}

static int done_ack_valid(struct om_mig_session *s, const struct om_record_ack *a)
{
    uint8_t msg[56], mac[32];
    memcpy(msg, s->mig_id, 16);
    memcpy(msg + 16, s->manifest_hash, 32);
    memcpy(msg + 48, &a->counter, 8);
    om_mig_mac(s->keys.dst_to_src, "optmig-done-v1", msg, sizeof(msg), mac);
    return a->stream_id == 0 && a->counter == s->pending && !memcmp(mac, a->mac, 32);
}

int om_mig_serve_postcopy(struct om_ssa *ssa, struct om_mig_session *s)
{
    struct om_mig_stream *st = &s->st[0];
    s->version++;
    s->phase_no = 2;
    __atomic_store_n(&s->phase, MIG_PUSH, __ATOMIC_RELEASE);
    uint64_t seq = __atomic_add_fetch(&s->cmd_seq, 0, __ATOMIC_RELAXED) + 1;
    uint64_t before = 0;
    for (uint32_t i = 0; i < s->nstreams; i++)
        before += s->st[i].pages + s->st[i].zero_pages;
    om_mig_command(ssa, s, MIG_CMD_PUSH | MIG_CMD_END);
    int end_sent = 0;
    for (;;) {
        if (!end_sent && om_mig_streams_at(s, seq)) {
            int rc = send_end(ssa, s, 0);
            if (rc)
                return rc;
            end_sent = 1;
        }
        if (aborted(s))
            return s->error ? (int)s->error : OM_MIGERR_INTERNAL;
        struct om_frame f;
        int rc = om_mig_next_frame(ssa, st, &f, end_sent ? s->args.timeout_ms : 20);
        if (rc == OM_MIGERR_TIMEOUT && !end_sent)
            continue;
        if (rc)
            return rc;
        if (f.type == OM_MSG_PAGE_REQ) {
            struct om_page_req q;
            if (om_page_req_decode(&f, &q))
                return OM_MIGERR_PROTOCOL;
            if (!end_sent && (rc = answer(ssa, s, &q)))
                return rc;
        } else if (f.type == OM_MSG_RECORD_ACK) {
            struct om_record_ack a;
            if (om_record_ack_decode(&f, &a) || !done_ack_valid(s, &a))
                return OM_MIGERR_INTEGRITY;
            if (!end_sent)
                return OM_MIGERR_PROTOCOL;
            for (uint32_t i = 0; i < s->nstreams; i++)
                s->args.postcopy_pages += s->st[i].pages + s->st[i].zero_pages;
            s->args.postcopy_pages -= before;
            return 0;
        } else if (f.type == OM_MSG_ABORT) {
            return OM_MIGERR_REFUSED;
        } else if (f.type != OM_MSG_PING && f.type != OM_MSG_PONG) {
            return OM_MIGERR_PROTOCOL;
        }
    }
}
