/* The destination end: check the source's attestation and the layout, open
 * and install every record in place, verify the manifest, commit, and resume
 * the threads only after the source confirms it has given the enclave up. */
#include "mig_common.h"
#include "track.h"
#include <errno.h>
#include <string.h>

static int refuse(struct om_ssa *ssa, struct om_mig_session *s, const uint8_t mig_id[16], const char *why)
{
    struct om_hello_reply r;
    memset(&r, 0, sizeof(r));
    memcpy(r.mig_id, mig_id, 16);
    r.accept = 0;
    size_t n = strlen(why);
    r.err_len = (uint16_t)(n > OM_ERRMSG_MAX ? OM_ERRMSG_MAX : n);
    memcpy(r.err, why, r.err_len);
    uint8_t buf[OM_HELLO_REPLY_FRAME_MAX];
    size_t len;
    if (!om_hello_reply_encode(&r, buf, sizeof(buf), &len))
        om_mig_send(ssa, s->st[0].fd, buf, len);
    return OM_MIGERR_REFUSED;
}

static int handshake(struct om_ssa *ssa, struct om_mig_session *s, const char **why)
{
    struct om_frame f;
    struct om_hello h;
    struct om_quote q, sq;
    uint8_t priv[32], pub[32], nonce[32], rd[32];
    int rc = OM_MIGERR_PROTOCOL;
    size_t used;

    if (s->args.hello_len > sizeof(s->hello))
        return OM_MIGERR_PROTOCOL;
    memcpy(s->hello, (const void *)s->args.hello, s->args.hello_len); /* parsed only once copied in */
    s->hello_len = s->args.hello_len;
    if (om_frame_parse(s->hello, s->hello_len, &f, &used) || used != s->hello_len ||
        f.type != OM_MSG_HELLO || om_hello_decode(&f, &h)) {
        *why = "malformed HELLO";
        return rc;
    }
    /* A reconnection names the post-copy it continues; nothing else may. */
    s->resuming = h.role == OM_ROLE_RESUME;
    if (s->resuming && (!s->res.valid || memcmp(h.mig_id, s->res.mig_id, 16) || h.strategy != s->res.strategy)) {
        *why = "no interrupted post-copy of that migration here";
        return refuse(ssa, s, h.mig_id, *why);
    }
    memcpy(s->mig_id, h.mig_id, 16);
    if (h.nstreams != s->nstreams || h.strategy != s->args.strategy) {
        *why = "stream count or strategy differs from what the host accepted";
        return refuse(ssa, s, h.mig_id, *why);
    }
    s->strategy = h.strategy;
    if (om_mig_is_post(s->strategy) && s->nstreams < 2) {
        *why = "post-copy needs at least 2 streams";
        return refuse(ssa, s, h.mig_id, *why);
    }
    if (h.layout.base != om_trt_layout.base || h.layout.heap_size != om_trt_layout.heap_hi - om_trt_layout.heap_lo ||
        h.layout.max_threads != om_trt_layout.max_threads) {
        *why = "enclave layout differs (base, heap or threads)";
        return refuse(ssa, s, h.mig_id, *why);
    }
    if (om_random(nonce, 32) || om_x25519_keypair(priv, pub))
        return OM_MIGERR_INTERNAL;
    om_report_data(OM_ROLE_DESTINATION, pub, nonce, s->mig_id, rd);
    if ((rc = om_mig_quote(ssa, rd, &q))) {
        *why = "the platform would not quote this enclave";
        goto out;
    }
    memcpy(s->meas_self, q.measurement, 32);
    struct om_trust_store ts;
    om_mig_trust_store(&s->args, &ts);
    om_mig_quote_from_wire(&h.quote, &sq);
    uint8_t srd[32];
    om_report_data(OM_ROLE_SOURCE, h.kx_pub, h.nonce, s->mig_id, srd);
    int qv = om_quote_verify(&sq, &ts, s->meas_self);
    if (qv || memcmp(sq.report_data, srd, 32) || memcmp(h.measurement, s->meas_self, 32)) {
        *why = qv ? om_crypto_strerror(qv) : "source quote does not bind its key exchange";
        refuse(ssa, s, h.mig_id, *why);
        rc = OM_MIGERR_ATTEST;
        goto out;
    }

    struct om_hello_reply r;
    memset(&r, 0, sizeof(r));
    memcpy(r.mig_id, s->mig_id, 16);
    r.accept = 1;
    memcpy(r.measurement, q.measurement, 32);
    memcpy(r.nonce, nonce, 32);
    memcpy(r.kx_pub, pub, 32);
    om_mig_quote_to_wire(&q, &r.quote);
    uint8_t rbuf[OM_HELLO_REPLY_FRAME_MAX];
    size_t rlen;
    rc = OM_MIGERR_INTERNAL;
    if (om_hello_reply_encode(&r, rbuf, sizeof(rbuf), &rlen))
        goto out;
    uint8_t shared[32], th[32];
    if (om_x25519_shared(priv, h.kx_pub, shared)) {
        rc = OM_MIGERR_ATTEST;
        goto out;
    }
    br_sha256_context hc;
    br_sha256_init(&hc);
    br_sha256_update(&hc, s->hello, s->hello_len);
    br_sha256_update(&hc, rbuf, rlen);
    br_sha256_out(&hc, th);
    om_keys_derive(shared, th, h.measurement, s->meas_self, s->mig_id, &s->keys);
    om_wipe(shared, sizeof(shared));
    rc = om_mig_send(ssa, s->st[0].fd, rbuf, rlen);
out:
    om_wipe(priv, sizeof(priv));
    return rc;
}

/* A chunk of the pending bitmap (stream 0, while the source is stopped). */
static int take_pending_chunk(struct om_mig_session *s, struct om_mig_stream *st, const struct om_record *r)
{
    uint64_t len = om_track_words() * 8, off = (r->page - 1) * OM_MIG_BM_CHUNK;
    if (!om_mig_is_post(s->strategy) || r->page < 1 || off >= len || r->ct_len != (len - off < OM_MIG_BM_CHUNK ? len - off : OM_MIG_BM_CHUNK))
        return OM_MIGERR_PROTOCOL;
    if (om_open(&st->opener, r->rtype, r->page, r->version, r->counter, r->ct, r->ct_len,
                (uint8_t *)om_track_bitmap(OM_BM_PENDING) + off, r->tag))
        return OM_MIGERR_INTEGRITY;
    return 0;
}

/* After switchover: a pending heap page, installed once, by whoever claims
 * it first (it may come both pushed and asked for). */
static int install_pending(struct om_ssa *ssa, struct om_mig_session *s, struct om_mig_stream *st,
                           const struct om_record *r)
{
    uint64_t addr = om_trt_layout.base + r->page * OM_PAGE_SIZE, lo = om_track_lo();
    uint64_t p = (addr - lo) / OM_PAGE_SIZE, bit = 1ull << (p % 64);
    uint64_t *pending = om_track_bitmap(OM_BM_PENDING), *done = om_track_bitmap(OM_BM_DONE);
    uint32_t len = r->rtype == OM_REC_PAGE ? OM_PAGE_SIZE : 0;
    if (addr < lo || p >= om_track_pages() || !(pending[p / 64] & bit) || r->ct_len != len) {
        om_mig_why(s, "post-copy record for a page that is not pending, page", r->page);
        return OM_MIGERR_PROTOCOL;
    }
    int mine = !(__atomic_fetch_or(&done[p / 64], bit, __ATOMIC_ACQ_REL) & bit);
    /* The compiler tracker's threads wait on the present map, so the page
     * may be written in place; the kernel's must appear in one UFFDIO_COPY. */
    int direct = mine && s->tracker == OM_TRACKER_COMPILER;
    void *out = direct ? (void *)addr : st->bounce;
    if (om_open(&st->opener, r->rtype, r->page, r->version, r->counter, r->ct, len, len ? out : NULL, r->tag)) {
        om_mig_why(s, "record failed authentication, counter", r->counter);
        return OM_MIGERR_INTEGRITY;
    }
    om_mig_hash_record(st, r->page, r->version, r->tag);
    st->records++;
    if (len)
        st->pages++;
    else
        st->zero_pages++;
    if (!mine)
        return 0;
    if (direct) {
        if (!len)
            memset(out, 0, OM_PAGE_SIZE); /* it may hold an older pre-copy version */
        om_cc_installed(p);
    } else {
        if (!len)
            memset(st->bounce, 0, OM_PAGE_SIZE);
        int k = om_kt_install(ssa, p, 1, st->bounce);
        if (k) {
            om_mig_why(s, k > 0 ? "the host populated a pending page behind the enclave's back, page"
                                : "the host failed to install a page, page", r->page);
            return OM_MIGERR_INTEGRITY;
        }
    }
    __atomic_add_fetch(&s->installed, 1, __ATOMIC_RELEASE);
    return 0;
}

/* Installs records of stream i until its end marker of this phase (1: the
 * switchover, 2: the end of post-copy), which must account for exactly the
 * records that arrived. */
static int receive_stream(struct om_ssa *ssa, struct om_mig_session *s, uint32_t i, uint32_t phase)
{
    struct om_mig_stream *st = &s->st[i];
    for (;;) {
        struct om_frame f;
        struct om_record r;
        int rc = om_mig_next_frame(ssa, st, &f, s->args.timeout_ms);
        if (rc)
            return rc;
        if (f.type == OM_MSG_ABORT)
            return OM_MIGERR_REFUSED;
        if (f.type != OM_MSG_RECORD || om_record_decode(&f, &r) || r.stream_id != i) {
            om_mig_why(s, "unexpected frame type", f.type);
            return OM_MIGERR_PROTOCOL;
        }
        if (phase == 2 && (r.rtype == OM_REC_PAGE || r.rtype == OM_REC_PAGE_ZERO)) {
            if ((rc = install_pending(ssa, s, st, &r)))
                return rc;
            continue;
        }
        if (phase == 1 && i == 0 && r.rtype == OM_REC_RUNTIME) {
            if ((rc = take_pending_chunk(s, st, &r)))
                return rc;
            continue;
        }
        if (phase == 1 && r.rtype == OM_REC_PAGE) {
            uint64_t addr = om_trt_layout.base + r.page * OM_PAGE_SIZE;
            if (r.ct_len != OM_PAGE_SIZE || r.page >= om_trt_layout.size / OM_PAGE_SIZE ||
                !om_page_restorable(addr)) {
                om_mig_why(s, "record for a page outside the enclave's state, page", r.page);
                return OM_MIGERR_PROTOCOL;
            }
            /* r.ct lies in st->buf, enclave memory: the tag is checked on the
             * very bytes that are decrypted. An image page may hold what
             * decryption itself uses (a vtable in .data.rel.ro): it must change
             * in one copy from a private page, not byte by byte. */
            int image = addr < om_trt_layout.image_hi;
            int orc = om_open(&st->opener, r.rtype, r.page, r.version, r.counter, r.ct, OM_PAGE_SIZE,
                              image ? st->bounce : (void *)addr, r.tag);
            if (!orc && image)
                memcpy((void *)addr, st->bounce, OM_PAGE_SIZE);
            if (orc) {
                om_mig_why(s, orc == OM_CRYPTO_EREPLAY ? "replayed or reordered record, counter"
                                                       : "record failed authentication, counter", r.counter);
                return OM_MIGERR_INTEGRITY;
            }
            om_mig_hash_record(st, r.page, r.version, r.tag);
            st->records++;
            st->pages++;
            continue;
        }
        if (r.rtype != OM_REC_MANIFEST || r.page != (OM_MIG_END_PAGE | i) || r.version != phase ||
            r.ct_len != sizeof(struct om_mig_end)) {
            om_mig_why(s, "unexpected record type", r.rtype);
            return OM_MIGERR_PROTOCOL;
        }
        struct om_mig_end e, mine = { .records = st->records };
        om_mig_hash_out(st, mine.hash);
        if (om_open(&st->opener, r.rtype, r.page, r.version, r.counter, r.ct, sizeof(e), &e, r.tag) ||
            om_opener_skipped(&st->opener) || memcmp(&e, &mine, sizeof(e))) {
            om_mig_why(s, "stream ended with records missing or altered, stream", i);
            return OM_MIGERR_INTEGRITY;
        }
        return 0;
    }
}

static int verify_manifest(struct om_ssa *ssa, struct om_mig_session *s)
{
    struct om_frame f;
    struct om_record r;
    struct om_mig_manifest m;
    struct om_mig_stream *st = &s->st[0];
    int rc = om_mig_next_frame(ssa, st, &f, s->args.timeout_ms);
    if (rc)
        return rc;
    if (f.type != OM_MSG_RECORD || om_record_decode(&f, &r) || r.stream_id != 0 || r.rtype != OM_REC_MANIFEST ||
        r.page != OM_MIG_MANIFEST_PAGE || r.ct_len != sizeof(m))
        return OM_MIGERR_PROTOCOL;
    if (om_open(&st->opener, r.rtype, r.page, r.version, r.counter, r.ct, sizeof(m), &m, r.tag) ||
        om_opener_skipped(&st->opener) || m.nstreams != s->nstreams) {
        om_mig_why(s, "the manifest failed authentication, counter", r.counter);
        return OM_MIGERR_INTEGRITY;
    }
    /* Each stream's end marker was checked against what arrived; the
     * manifest must account for the same records. */
    uint64_t pages = 0;
    for (uint32_t i = 0; i < s->nstreams; i++) {
        if (m.st[i].records != s->st[i].records) {
            om_mig_why(s, "records missing or replayed: the manifest counts others on stream", i);
            return OM_MIGERR_INTEGRITY;
        }
        pages += s->st[i].pages;
    }
    if (pages != m.pages || m.strategy != s->strategy) {
        om_mig_why(s, "records missing or replayed: the manifest counts other pages:", m.pages);
        return OM_MIGERR_INTEGRITY;
    }
    if (om_mig_is_post(s->strategy)) {
        uint8_t h[32];
        uint64_t w = om_track_words(), *pend = om_track_bitmap(OM_BM_PENDING);
        om_mig_bm_hash(h);
        if ((om_track_pages() % 64 && pend[w - 1] >> (om_track_pages() % 64)) || om_bm_count(pend, w) != m.pending ||
            memcmp(h, m.pending_hash, 32)) {
            om_mig_why(s, "the pages still to come differ from the manifest's:", m.pending);
            return OM_MIGERR_INTEGRITY;
        }
        s->pending = m.pending;
    }
    br_sha256_context hc;
    br_sha256_init(&hc);
    br_sha256_update(&hc, &m, sizeof(m));
    br_sha256_out(&hc, s->manifest_hash);
    s->args.t_quiesced_ns = m.t_quiesced_ns;
    s->args.pages_sent = m.pages;
    s->args.zero_pages = m.zero_pages;
    return 0;
}

static void prefault(struct om_ssa *ssa, uint64_t first, uint64_t end)
{
    struct om_ocall *oc = om_oc_begin(ssa, OM_OC_MIG);
    oc->a[0] = OM_MIG_PREFAULT;
    oc->a[1] = (int64_t)(om_trt_layout.base + first * OM_PAGE_SIZE);
    oc->a[2] = (int64_t)((end - first) * OM_PAGE_SIZE);
    om_oc_call(ssa, oc); /* advice: a failure only costs time */
}

/* Backs the announced page runs with memory, then tells the source to stop
 * the enclave (a PONG: it carries nothing the source must trust). */
static int prepare(struct om_ssa *ssa, struct om_mig_session *s)
{
    struct om_frame f;
    struct om_record r;
    struct om_mig_stream *st = &s->st[0];
    int rc = om_mig_next_frame(ssa, st, &f, s->args.timeout_ms);
    if (rc)
        return rc;
    if (f.type != OM_MSG_RECORD || om_record_decode(&f, &r) || r.stream_id != 0 || r.rtype != OM_REC_RUNTIME ||
        r.page != 0 || r.ct_len > sizeof(s->runs) || r.ct_len % sizeof(s->runs[0]) || !r.ct_len)
        return OM_MIGERR_PROTOCOL;
    if (om_open(&st->opener, r.rtype, r.page, r.version, r.counter, r.ct, r.ct_len, s->runs, r.tag))
        return OM_MIGERR_INTEGRITY;
    struct om_mig_plan plan;
    memcpy(&plan, &s->runs[0], sizeof(plan));
    if (plan.strategy != s->strategy || plan.track_pages != om_track_pages() ||
        (plan.strategy != OM_STRATEGY_STOP_COPY && plan.tracker != OM_TRACKER_COMPILER &&
         plan.tracker != OM_TRACKER_KERNEL))
        return OM_MIGERR_PROTOCOL;
    s->tracker = plan.tracker;
    if (om_mig_is_post(s->strategy) && s->tracker == OM_TRACKER_COMPILER && !(om_cc_compiled() & OM_CC_ACCESS)) {
        om_mig_why(s, "this image has no access checks for post-copy (omcc --track); tracker", s->tracker);
        return OM_MIGERR_REFUSED;
    }
    if (om_mig_is_post(s->strategy) && s->tracker == OM_TRACKER_KERNEL && !om_kt_available(ssa)) {
        om_mig_why(s, "this host has no userfaultfd for post-copy; tracker", s->tracker);
        return OM_MIGERR_REFUSED;
    }
    /* Pages the kernel tracker will fault in must stay unpopulated. */
    uint64_t total = om_trt_layout.size / OM_PAGE_SIZE, skip_lo = 0, skip_hi = 0;
    if (om_mig_is_post(s->strategy) && s->tracker == OM_TRACKER_KERNEL) {
        skip_lo = (om_track_lo() - om_trt_layout.base) / OM_PAGE_SIZE;
        skip_hi = skip_lo + om_track_pages();
    }
    for (size_t i = 1; i < r.ct_len / sizeof(s->runs[0]); i++) {
        struct om_page_run run = s->runs[i];
        if (run.first >= total || run.count > total - run.first)
            return OM_MIGERR_PROTOCOL;
        uint64_t a = run.first, b = run.first + run.count;
        if (a < skip_hi && b > skip_lo) {
            if (a < skip_lo)
                prefault(ssa, a, skip_lo);
            if (b > skip_hi)
                prefault(ssa, skip_hi, b);
            continue;
        }
        prefault(ssa, a, b);
    }
    /* The switchover writes the present map and the bitmaps: fault them in
     * now, not while the enclave is stopped (1 MiB of maps at a 4 GiB heap). */
    if (om_mig_is_post(s->strategy) && om_track_pages())
        prefault(ssa, (om_track_heap_end() - om_trt_layout.base) / OM_PAGE_SIZE,
                 (om_trt_layout.heap_hi - om_trt_layout.base) / OM_PAGE_SIZE);
    struct om_ping pong = { .token = 1 };
    uint8_t buf[OM_PING_FRAME];
    size_t len;
    if (om_ping_encode(OM_MSG_PONG, &pong, buf, sizeof(buf), &len))
        return OM_MIGERR_INTERNAL;
    return om_mig_send(ssa, st->fd, buf, len);
}

static int commit(struct om_ssa *ssa, struct om_mig_session *s)
{
    uint8_t msg[48], mac[32];
    memcpy(msg, s->mig_id, 16);
    memcpy(msg + 16, s->manifest_hash, 32);
    struct om_commit c;
    memcpy(c.mig_id, s->mig_id, 16);
    om_mig_mac(s->keys.dst_to_src, "optmig-commit-v1", msg, sizeof(msg), c.mac);
    uint8_t buf[OM_COMMIT_FRAME];
    size_t len;
    if (om_commit_encode(OM_MSG_COMMIT, &c, buf, sizeof(buf), &len))
        return OM_MIGERR_INTERNAL;
    int rc = om_mig_send(ssa, s->st[0].fd, buf, len);
    if (rc)
        return rc;
    /* Resume only on the source's word that it has given the enclave up. */
    struct om_frame f;
    if ((rc = om_mig_next_frame(ssa, &s->st[0], &f, s->args.timeout_ms)))
        return rc;
    if (f.type != OM_MSG_COMMIT_ACK || om_commit_decode(OM_MSG_COMMIT_ACK, &f, &c) || memcmp(c.mig_id, s->mig_id, 16))
        return OM_MIGERR_PROTOCOL;
    om_mig_mac(s->keys.src_to_dst, "optmig-go-v1", msg, sizeof(msg), mac);
    return memcmp(mac, c.mac, 32) ? OM_MIGERR_INTEGRITY : 0;
}

/* Starts every parked thread from its saved context. */
static int resume_threads(struct om_ssa *ssa, struct om_mig_session *s)
{
    /* The set is fixed first: a resumed thread may at once create threads
     * in free slots, and those run already. */
    uint64_t arrived[OM_MAX_THREADS / 64] = { 0 };
    uint32_t n = om_trt_slots();
    for (uint32_t i = 0; i < n; i++) {
        const struct om_tcs *t = &om_trt.tcs[i];
        if (!t->in_use)
            continue;
        if (!t->parked || t->ctx.fp_size > OM_FPSTATE_MAX) {
            om_mig_why(s, "a thread arrived without a complete context: slot", i);
            return OM_MIGERR_INTEGRITY;
        }
        arrived[i / 64] |= 1ull << i % 64;
    }
    for (uint32_t i = 0; i < n; i++) {
        struct om_tcs *t = &om_trt.tcs[i];
        if (!(arrived[i / 64] >> i % 64 & 1))
            continue;
        t->parked = 0;
        t->in_runtime = t->ctx.pad == OM_PARK_DIRECT;
        struct om_ocall *oc = om_oc_begin(ssa, OM_OC_SPAWN);
        uint8_t *fp = (uint8_t *)oc + ((sizeof(*oc) + 63) & ~(size_t)63);
        memcpy(oc->spawn.gregs, t->ctx.gregs, sizeof(oc->spawn.gregs));
        oc->spawn.fsbase = t->ctx.fsbase;
        oc->spawn.slot = i;
        oc->spawn.fp_size = t->ctx.fp_size ? t->ctx.fp_size : 512;
        if (t->ctx.fp_size) {
            memcpy(fp, t->ctx.fpstate, t->ctx.fp_size);
        } else {
            memset(fp, 0, 512);
            uint16_t fcw = 0x37f;
            uint32_t mxcsr = 0x1f80;
            memcpy(fp, &fcw, 2);
            memcpy(fp + 24, &mxcsr, 4);
        }
        oc->spawn.fpstate = (uint64_t)fp;
        if (om_oc_call(ssa, oc)) {
            om_mig_why(s, "the host could not start a thread: slot", i);
            return OM_MIGERR_INTERNAL;
        }
    }
    return 0;
}

static int restore(struct om_ssa *ssa, struct om_mig_session *s)
{
    __atomic_store_n(&om_trt.quiesce, 0, __ATOMIC_SEQ_CST);
    om_vmem_reap_all();
    int64_t rc = om_vmem_restore_mappings(ssa);
    if (rc) {
        om_mig_why(s, "the host could not restore the mappings:", (uint64_t)-rc);
        return OM_MIGERR_INTERNAL;
    }
    if ((rc = om_fd_restore(ssa)))
        return (int)rc;
    s->args.t_resumed_ns = om_mig_now_ns(ssa);
    return resume_threads(ssa, s);
}

static int64_t worker(struct om_ssa *ssa, struct om_mig_session *s, uint32_t i)
{
    int rc = om_mig_wait_phase(ssa, s, MIG_SEND);
    if (!rc && !s->resuming)
        rc = receive_stream(ssa, s, i, 1);
    if (rc)
        om_mig_fail(s, rc); /* before the coordinator could take the stream as complete */
    else
        __atomic_store_n(&s->st[i].ack_seq, 1, __ATOMIC_RELEASE);
    if (!rc && om_mig_is_post(s->strategy)) {
        rc = om_mig_wait_phase(ssa, s, MIG_PUSH);
        if (!rc)
            rc = receive_stream(ssa, s, i, 2);
        if (!rc)
            __atomic_store_n(&s->st[i].ack_seq, 2, __ATOMIC_RELEASE);
    }
    if (rc) {
        s->st[i].error = rc;
        om_mig_fail(s, rc);
    }
    __atomic_store_n(&s->st[i].done, 1, __ATOMIC_RELEASE);
    return rc;
}

/* Post-copy: turns pages the threads wait for into PAGE_REQs on stream 0
 * (the coordinator only reads that stream meanwhile). */
static int64_t requester(struct om_ssa *ssa, struct om_mig_session *s, uint64_t hp)
{
    static uint64_t pages[OM_PAGE_REQ_MAX];
    /* The session's phase may be a previous session's until the coordinator
     * starts this one; the host's word that the coordinator returned ends
     * the wait (trusting it can only stop page requests). */
    const volatile uint32_t *stop = &((const struct om_mig_args *)hp)->stop;
    while (__atomic_load_n(&s->phase, __ATOMIC_ACQUIRE) != MIG_PUSH) {
        if (*stop)
            return 0;
        om_mig_sleep_us(ssa, 200);
    }
    uint64_t lo = (om_track_lo() - om_trt_layout.base) / OM_PAGE_SIZE;
    while (__atomic_load_n(&s->phase, __ATOMIC_ACQUIRE) == MIG_PUSH) {
        int64_t n = s->tracker == OM_TRACKER_COMPILER ? (int64_t)om_cc_wanted(pages, OM_PAGE_REQ_MAX)
                                                      : om_kt_wanted(ssa, pages, OM_PAGE_REQ_MAX, 5);
        if (n <= 0) {
            if (s->tracker == OM_TRACKER_COMPILER)
                om_mig_sleep_us(ssa, 20);
            continue;
        }
        struct om_page_req q = { .count = (uint16_t)n };
        for (int64_t i = 0; i < n; i++)
            q.pages[i] = lo + pages[i];
        uint8_t buf[OM_PAGE_REQ_FRAME_MAX];
        size_t len;
        if (om_page_req_encode(&q, buf, sizeof(buf), &len) || om_mig_send(ssa, s->st[0].fd, buf, len))
            return 0; /* the coordinator sees the broken stream too */
        s->args.demand_pages += (uint64_t)n;
    }
    return 0;
}

static int send_resumed(struct om_ssa *ssa, struct om_mig_session *s)
{
    struct om_ping ping = { .token = s->args.t_resumed_ns };
    uint8_t buf[OM_PING_FRAME];
    size_t len;
    if (om_ping_encode(OM_MSG_PING, &ping, buf, sizeof(buf), &len))
        return OM_MIGERR_INTERNAL;
    return om_mig_send(ssa, s->st[0].fd, buf, len);
}

/* Every pending page is in place: tell the source it may let go. */
static int send_done(struct om_ssa *ssa, struct om_mig_session *s)
{
    struct om_record_ack a = { .stream_id = 0, .counter = s->installed };
    uint8_t msg[56];
    memcpy(msg, s->mig_id, 16);
    memcpy(msg + 16, s->manifest_hash, 32);
    memcpy(msg + 48, &a.counter, 8);
    om_mig_mac(s->keys.dst_to_src, "optmig-done-v1", msg, sizeof(msg), a.mac);
    uint8_t buf[OM_RECORD_ACK_FRAME];
    size_t len;
    if (om_record_ack_encode(&a, buf, sizeof(buf), &len))
        return OM_MIGERR_INTERNAL;
    return om_mig_send(ssa, s->st[0].fd, buf, len);
}

static int absent_start(struct om_ssa *ssa, struct om_mig_session *s)
{
    memset(om_track_bitmap(OM_BM_DONE), 0, om_track_words() * 8);
    if (s->tracker == OM_TRACKER_COMPILER)
        return om_cc_absent_start(om_track_bitmap(OM_BM_PENDING)) ? OM_MIGERR_INTERNAL : 0;
    return om_kt_absent_start(ssa, om_track_bitmap(OM_BM_PENDING)) ? OM_MIGERR_INTERNAL : 0;
}

static void absent_stop(struct om_ssa *ssa, struct om_mig_session *s)
{
    if (s->tracker == OM_TRACKER_COMPILER)
        om_cc_absent_stop();
    else
        om_kt_absent_stop(ssa);
}

/* After switchover: receive until every pending page is installed. */
static int finish_postcopy(struct om_ssa *ssa, struct om_mig_session *s)
{
    __atomic_store_n(&s->phase, MIG_PUSH, __ATOMIC_RELEASE);
    int rc = receive_stream(ssa, s, 0, 2);
    if (!rc)
        rc = om_mig_wait_streams(ssa, s, 2);
    if (!rc && __atomic_load_n(&s->installed, __ATOMIC_ACQUIRE) != s->pending) {
        om_mig_why(s, "post-copy ended with pages missing:", s->pending - s->installed);
        rc = OM_MIGERR_INTEGRITY;
    }
    __atomic_store_n(&s->phase, MIG_DONE, __ATOMIC_RELEASE); /* the requester stops */
    if (!rc)
        rc = send_done(ssa, s);
    if (!rc)
        absent_stop(ssa, s);
    return rc;
}

static int init_openers(struct om_mig_session *s)
{
    for (uint32_t i = 0; i < s->nstreams; i++) {
        om_mig_hash_init(&s->st[i]);
        if (om_opener_init(&s->st[i].opener, s->keys.src_to_dst, i, s->mig_id, OM_AEAD_AUTO))
            return OM_MIGERR_INTERNAL;
    }
    return 0;
}

/* Post-copy recovery: the threads run; receive the pending pages again and
 * keep those not installed yet. */
static int64_t resume_destination(struct om_ssa *ssa, struct om_mig_session *s, uint64_t hp)
{
    om_mig_load_resume(s);
    s->args.t_resumed_ns = 1; /* the threads run here, whatever happens now */
    __atomic_store_n(&s->phase, MIG_SEND, __ATOMIC_RELEASE);
    int rc = finish_postcopy(ssa, s);
    om_wipe(&s->keys, sizeof(s->keys));
    if (rc) {
        om_mig_fail(s, rc);
        om_mig_join_workers(ssa, s);
        om_mig_save_resume(s); /* after the workers: they may have installed more */
        om_mig_report(s, hp, rc, s->why[0] ? s->why : "post-copy interrupted again");
        /* Workers of the next session may start before it resets the
         * session: they must not find an abort there. */
        __atomic_store_n(&s->phase, MIG_IDLE, __ATOMIC_RELEASE);
        return rc;
    }
    s->res.valid = 0;
    om_mig_join_workers(ssa, s);
    __atomic_store_n(&s->phase, MIG_DONE, __ATOMIC_RELEASE);
    om_mig_report(s, hp, 0, NULL);
    return 0;
}

static int64_t coordinator(struct om_ssa *ssa, struct om_mig_session *s, uint64_t hp)
{
    const char *why = NULL;
    int rc, cut = 0;
    if ((rc = handshake(ssa, s, &why)) || (rc = init_openers(s)))
        goto fail;
    if (s->resuming)
        return resume_destination(ssa, s, hp);
    /* Every page a record may land on must be writable now. */
    if (om_vmem_commit_all(ssa)) {
        rc = OM_MIGERR_INTERNAL;
        goto fail;
    }
    om_pages_clear_stack();
    if ((rc = prepare(ssa, s)))
        goto fail;
    __atomic_store_n(&s->phase, MIG_KEYED, __ATOMIC_RELEASE);
    __atomic_store_n(&s->phase, MIG_SEND, __ATOMIC_RELEASE);
    if ((rc = receive_stream(ssa, s, 0, 1)) || (rc = om_mig_wait_streams(ssa, s, 1)) || (rc = verify_manifest(ssa, s)) ||
        (rc = commit(ssa, s)))
        goto fail;
    om_cc_arrived();
    if (om_mig_is_post(s->strategy) && (rc = absent_start(ssa, s))) {
        why = "cannot track the pages still to come";
        goto fail;
    }
    if ((rc = restore(ssa, s))) {
        why = s->why[0] ? s->why : "restoring threads or host resources failed after switchover";
        goto fail;
    }
    send_resumed(ssa, s);
    if (om_mig_is_post(s->strategy) && (rc = finish_postcopy(ssa, s))) {
        cut = 1;
        why = s->why[0] ? s->why : "post-copy interrupted: threads that need a missing page wait";
        goto fail;
    }
    om_wipe(&s->keys, sizeof(s->keys));
    om_mig_join_workers(ssa, s);
    for (uint32_t i = 0; i < s->nstreams; i++)
        s->args.bytes_sent += s->st[i].pages * (OM_RECORD_PREFIX + OM_PAGE_SIZE);
    s->res.valid = 0;
    __atomic_store_n(&s->phase, MIG_DONE, __ATOMIC_RELEASE);
    om_mig_report(s, hp, 0, NULL);
    return 0;
fail:
    om_mig_fail(s, rc);
    om_mig_join_workers(ssa, s);
    if (cut)
        om_mig_save_resume(s); /* only now: the workers may have installed more */
    if (!why && s->why[0])
        why = s->why;
    om_mig_send_abort(ssa, s, OM_ABORT_INTEGRITY, why ? why : om_mig_strerror(rc));
    om_wipe(&s->keys, sizeof(s->keys));
    om_mig_report(s, hp, rc, why ? why : om_mig_strerror(rc));
    __atomic_store_n(&s->phase, MIG_IDLE, __ATOMIC_RELEASE); /* see resume_destination */
    return rc;
}

int64_t om_mig_in(struct om_ssa *ssa, uint32_t slot, uint64_t hp)
{
    struct om_mig_session *s = om_mig_session();
    if (slot == OM_MIG_REQUESTER_SLOT)
        return requester(ssa, s, hp);
    if (slot)
        return worker(ssa, s, slot);
    if (om_mig_session_begin(s, hp)) {
        om_mig_fail(s, OM_MIGERR_INTERNAL);
        return OM_MIGERR_INTERNAL;
    }
    return coordinator(ssa, s, hp);
}
