/* Unit tests of the wire protocol codec (src/proto), built natively.
 *
 * Every buffer handed to a decoder is a heap allocation of exactly the bytes
 * it may read, so that under ASan any read past what it was given fails. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "optmig/abi.h"
#include "wire.h"

static int g_failures;
static int g_checks;

#define CHECK(cond)                                                                     \
    do {                                                                                \
        g_checks++;                                                                     \
        if (!(cond)) {                                                                  \
            if (g_failures++ < 40)                                                      \
                fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                               \
    } while (0)

/* CHECK that an expression returns the expected code, printing both names. */
#define CHECK_RC(expr, want)                                                             \
    do {                                                                                 \
        int rc_ = (expr), want_ = (want);                                                \
        g_checks++;                                                                      \
        if (rc_ != want_ && g_failures++ < 40)                                           \
            fprintf(stderr, "%s:%d: %s = %d (%s), want %d (%s)\n", __FILE__, __LINE__,   \
                    #expr, rc_, om_proto_strerror(rc_), want_, om_proto_strerror(want_)); \
    } while (0)

static uint64_t g_rng = 0x6f707469u;

static uint64_t rnd(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rnd_bytes(void *p, size_t n)
{
    uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)rnd();
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        perror("malloc");
        exit(2);
    }
    return p;
}

/* Copy of buf[0..n) in an allocation of exactly n bytes. */
static uint8_t *exact(const uint8_t *buf, size_t n)
{
    uint8_t *p = xmalloc(n);
    if (n)
        memcpy(p, buf, n);
    return p;
}

static uint8_t *g_ct; /* OM_RECORD_CT_MAX random bytes: record ciphertexts */
static uint8_t *g_out; /* OM_FRAME_MAX: encode target */

static void printable_fill(char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(0x20 + rnd() % 95);
    s[n] = '\0';
}

static const uint8_t all_types[] = {
    OM_MSG_HELLO,    OM_MSG_HELLO_REPLY, OM_MSG_STREAM_JOIN, OM_MSG_RECORD,
    OM_MSG_COMMIT,   OM_MSG_COMMIT_ACK,  OM_MSG_ABORT,       OM_MSG_PING,
    OM_MSG_PONG,     OM_MSG_PAGE_REQ,    OM_MSG_RECORD_ACK,
};
#define NTYPES (sizeof all_types / sizeof all_types[0])
#define NVARIANTS 6

/* A valid message of the given type. Variants 0..2 hit boundaries (smallest,
 * largest, ...), the rest are random. big == 0 keeps records small. */
static void gen(struct om_msg *m, uint8_t type, int variant, int big)
{
    memset(m, 0, sizeof *m);
    m->type = type;
    switch (type) {
    case OM_MSG_HELLO: {
        struct om_hello *h = &m->u.hello;
        h->version = OM_PROTO_VERSION;
        h->role = variant == 0 ? OM_ROLE_MIGRATE : (uint8_t)(1 + rnd() % 2);
        h->strategy = variant == 0 ? 1 : variant == 1 ? 4 : (uint8_t)(1 + rnd() % 4);
        h->nstreams = variant == 0 ? 1 : variant == 1 ? 16 : (uint8_t)(1 + rnd() % 16);
        rnd_bytes(h->mig_id, sizeof h->mig_id);
        h->layout.base = variant == 0 ? OM_DEFAULT_BASE : (1 + rnd() % 0x7000) << 32;
        h->layout.heap_size = variant == 1 ? UINT64_MAX : 4096 * (1 + rnd() % (1u << 20));
        h->layout.max_threads = variant == 0 ? 1 : variant == 1 ? OM_MAX_THREADS
                                                                 : (uint32_t)(1 + rnd() % 256);
        rnd_bytes(h->measurement, sizeof h->measurement);
        rnd_bytes(h->nonce, sizeof h->nonce);
        rnd_bytes(h->kx_pub, sizeof h->kx_pub);
        rnd_bytes(&h->quote, sizeof h->quote);
        h->path_len = variant == 0 ? 1 : variant == 1 ? OM_PATH_MAX : (uint16_t)(1 + rnd() % 300);
        for (unsigned i = 0; i < h->path_len; i++)
            h->path[i] = (char)(1 + rnd() % 255);
        break;
    }
    case OM_MSG_HELLO_REPLY: {
        struct om_hello_reply *r = &m->u.hello_reply;
        rnd_bytes(r->mig_id, sizeof r->mig_id);
        r->accept = variant == 0 ? 1 : variant <= 2 ? 0 : (uint8_t)(rnd() % 2);
        rnd_bytes(r->measurement, sizeof r->measurement);
        rnd_bytes(r->nonce, sizeof r->nonce);
        rnd_bytes(r->kx_pub, sizeof r->kx_pub);
        rnd_bytes(&r->quote, sizeof r->quote);
        if (!r->accept)
            r->err_len = variant == 1 ? OM_ERRMSG_MAX : variant == 2 ? 1
                                                                      : (uint16_t)(1 + rnd() % 256);
        printable_fill(r->err, r->err_len);
        break;
    }
    case OM_MSG_STREAM_JOIN:
        rnd_bytes(m->u.stream_join.mig_id, OM_MIG_ID_LEN);
        m->u.stream_join.index = variant == 0 ? 1 : variant == 1 ? 15 : (uint8_t)(1 + rnd() % 15);
        rnd_bytes(m->u.stream_join.mac, OM_MAC_LEN);
        break;
    case OM_MSG_RECORD: {
        struct om_record *r = &m->u.record;
        r->rtype = (uint8_t)(variant == 0 ? OM_REC_PAGE : variant == 1 ? OM_REC_PAGE_ZERO
                                                                        : 1 + rnd() % 6);
        r->stream_id = (uint32_t)rnd();
        r->counter = rnd();
        r->page = rnd();
        r->version = rnd();
        rnd_bytes(r->tag, sizeof r->tag);
        if (r->rtype == OM_REC_PAGE)
            r->ct_len = 4096;
        else if (r->rtype == OM_REC_PAGE_ZERO)
            r->ct_len = 0;
        else if (variant == 2)
            r->ct_len = big ? OM_RECORD_CT_MAX : 0;
        else
            r->ct_len = (uint32_t)(rnd() % (big ? 70000 : 9000));
        r->ct = g_ct + (r->ct_len < OM_RECORD_CT_MAX ? rnd() % (OM_RECORD_CT_MAX - r->ct_len) : 0);
        break;
    }
    case OM_MSG_COMMIT:
    case OM_MSG_COMMIT_ACK:
        rnd_bytes(&m->u.commit, sizeof m->u.commit);
        break;
    case OM_MSG_ABORT:
        m->u.abort.code = variant == 0 ? 1 : variant == 1 ? UINT32_MAX : (uint32_t)(1 + rnd() % 9);
        m->u.abort.msg_len = variant == 0 ? 0 : variant == 1 ? OM_ERRMSG_MAX
                                                               : (uint16_t)(rnd() % 257);
        printable_fill(m->u.abort.msg, m->u.abort.msg_len);
        break;
    case OM_MSG_PING:
    case OM_MSG_PONG:
        m->u.ping.token = variant == 0 ? 0 : rnd();
        break;
    case OM_MSG_PAGE_REQ:
        m->u.page_req.count = variant == 0 ? 1 : variant == 1 ? OM_PAGE_REQ_MAX
                                                               : (uint16_t)(1 + rnd() % 512);
        for (unsigned i = 0; i < m->u.page_req.count; i++)
            m->u.page_req.pages[i] = rnd();
        break;
    case OM_MSG_RECORD_ACK:
        m->u.record_ack.stream_id = (uint32_t)rnd();
        m->u.record_ack.counter = variant == 1 ? UINT64_MAX : rnd();
        rnd_bytes(m->u.record_ack.mac, OM_MAC_LEN);
        break;
    }
}

static int msg_equal(const struct om_msg *a, const struct om_msg *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case OM_MSG_RECORD: {
        const struct om_record *x = &a->u.record, *y = &b->u.record;
        return x->rtype == y->rtype && x->stream_id == y->stream_id &&
               x->counter == y->counter && x->page == y->page && x->version == y->version &&
               x->ct_len == y->ct_len && !memcmp(x->tag, y->tag, sizeof x->tag) &&
               (!x->ct_len || !memcmp(x->ct, y->ct, x->ct_len));
    }
    case OM_MSG_HELLO: return !memcmp(&a->u.hello, &b->u.hello, sizeof a->u.hello);
    case OM_MSG_HELLO_REPLY:
        return !memcmp(&a->u.hello_reply, &b->u.hello_reply, sizeof a->u.hello_reply);
    case OM_MSG_STREAM_JOIN:
        return !memcmp(&a->u.stream_join, &b->u.stream_join, sizeof a->u.stream_join);
    case OM_MSG_COMMIT:
    case OM_MSG_COMMIT_ACK: return !memcmp(&a->u.commit, &b->u.commit, sizeof a->u.commit);
    case OM_MSG_ABORT: return !memcmp(&a->u.abort, &b->u.abort, sizeof a->u.abort);
    case OM_MSG_PING:
    case OM_MSG_PONG: return a->u.ping.token == b->u.ping.token;
    case OM_MSG_PAGE_REQ: return !memcmp(&a->u.page_req, &b->u.page_req, sizeof a->u.page_req);
    case OM_MSG_RECORD_ACK:
        return !memcmp(&a->u.record_ack, &b->u.record_ack, sizeof a->u.record_ack);
    }
    return 0;
}

static struct om_msg g_m1, g_m2;

/* Runs the decoder for type u, whatever f's type. */
static int decode_as(uint8_t u, const struct om_frame *f, struct om_msg *m)
{
    switch (u) {
    case OM_MSG_HELLO: return om_hello_decode(f, &m->u.hello);
    case OM_MSG_HELLO_REPLY: return om_hello_reply_decode(f, &m->u.hello_reply);
    case OM_MSG_STREAM_JOIN: return om_stream_join_decode(f, &m->u.stream_join);
    case OM_MSG_RECORD: return om_record_decode(f, &m->u.record);
    case OM_MSG_COMMIT:
    case OM_MSG_COMMIT_ACK: return om_commit_decode(u, f, &m->u.commit);
    case OM_MSG_ABORT: return om_abort_decode(f, &m->u.abort);
    case OM_MSG_PING:
    case OM_MSG_PONG: return om_ping_decode(u, f, &m->u.ping);
    case OM_MSG_PAGE_REQ: return om_page_req_decode(f, &m->u.page_req);
    case OM_MSG_RECORD_ACK: return om_record_ack_decode(f, &m->u.record_ack);
    }
    return OM_PROTO_EINVAL;
}

/* Encodes m into a fresh exact-size allocation. */
static uint8_t *encode_exact(const struct om_msg *m, size_t *len)
{
    int rc = om_msg_encode(m, g_out, OM_FRAME_MAX, len);
    CHECK_RC(rc, OM_PROTO_OK);
    if (rc)
        *len = 0;
    return exact(g_out, *len);
}

static int decode_bytes(const uint8_t *payload, uint32_t len, uint8_t type, struct om_msg *m)
{
    struct om_frame f = {OM_PROTO_VERSION, type, len, payload};
    memset(m, 0, sizeof *m);
    return om_msg_decode(&f, m);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_strerror(void)
{
    const int codes[] = {OM_PROTO_OK,     OM_PROTO_NEED_MORE, OM_PROTO_ETRUNC, OM_PROTO_ELEN,
                         OM_PROTO_EMAGIC, OM_PROTO_EVERSION,  OM_PROTO_ETYPE,  OM_PROTO_EFIELD,
                         OM_PROTO_ENOSPC, OM_PROTO_EINVAL};
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        CHECK(om_proto_strerror(codes[i]) != NULL);
        CHECK(strcmp(om_proto_strerror(codes[i]), om_proto_strerror(-1000)) != 0);
        for (size_t j = 0; j < i; j++)
            CHECK(strcmp(om_proto_strerror(codes[i]), om_proto_strerror(codes[j])) != 0);
    }
    CHECK(om_proto_strerror(12345) != NULL);
}

/* Truncation lengths to try after k for a frame of len bytes: all of them
 * for small frames; for big ones the first and last 64 and 40 in between. */
static size_t next_trunc(size_t k, size_t len)
{
    if (len <= 20000 || k + 1 < 64 || k + 1 >= len - 64)
        return k + 1;
    size_t gap = (len - 128) / 40;
    k += 1 + rnd() % gap;
    return k < len - 64 ? k : len - 64;
}

/* Round trip, canonical re-encode, ENOSPC without overflow, and every
 * truncation and extension of every message. */
static void test_round_trip_and_truncation(void)
{
    for (size_t t = 0; t < NTYPES; t++) {
        for (int v = 0; v < NVARIANTS; v++) {
            size_t len, len2, consumed;
            struct om_frame f;
            gen(&g_m1, all_types[t], v, 1);
            uint8_t *buf = encode_exact(&g_m1, &len);
            if (!len) {
                free(buf);
                continue;
            }
            const uint32_t plen = (uint32_t)(len - OM_FRAME_HDR);

            /* round trip */
            CHECK_RC(om_frame_parse(buf, len, &f, &consumed), OM_PROTO_OK);
            CHECK(consumed == len && f.type == all_types[t] && f.len == plen &&
                  f.payload == buf + OM_FRAME_HDR && f.version == OM_PROTO_VERSION);
            memset(&g_m2, 0, sizeof g_m2);
            CHECK_RC(om_msg_decode(&f, &g_m2), OM_PROTO_OK);
            if (!msg_equal(&g_m1, &g_m2))
                fprintf(stderr, "type %u variant %d differs\n", all_types[t], v);
            CHECK(msg_equal(&g_m1, &g_m2));
            CHECK_RC(om_msg_encode(&g_m2, g_out, OM_FRAME_MAX, &len2), OM_PROTO_OK);
            CHECK(len2 == len && !memcmp(g_out, buf, len));
            if (all_types[t] == OM_MSG_RECORD) /* zero copy */
                CHECK(g_m2.u.record.ct == buf + OM_RECORD_PREFIX);

            /* a buffer one byte short, or much shorter, is refused untouched */
            size_t caps[] = {0, 1, OM_FRAME_HDR - 1, OM_FRAME_HDR, len / 2, len - 1};
            for (size_t c = 0; c < sizeof caps / sizeof caps[0]; c++) {
                uint8_t *small = xmalloc(caps[c]);
                size_t l2 = 77;
                CHECK_RC(om_msg_encode(&g_m1, small, caps[c], &l2), OM_PROTO_ENOSPC);
                free(small);
            }

            /* truncations: the sampled lengths cover every one for small frames */
            for (size_t k = 0; k < len; k = next_trunc(k, len)) {
                uint8_t *p = exact(buf, k);
                CHECK_RC(om_frame_parse(p, k, &f, &consumed), OM_PROTO_NEED_MORE);
                CHECK(consumed == 0);
                if (k >= OM_FRAME_HDR) {
                    uint32_t pk = (uint32_t)(k - OM_FRAME_HDR);
                    /* decoder given the short payload: always ETRUNC */
                    CHECK_RC(decode_bytes(p + OM_FRAME_HDR, pk, all_types[t], &g_m2),
                             OM_PROTO_ETRUNC);
                    /* header rewritten to the short length: refused at framing
                     * (below the type's minimum) or by the decoder */
                    p[4] = (uint8_t)pk, p[5] = (uint8_t)(pk >> 8);
                    p[6] = (uint8_t)(pk >> 16), p[7] = (uint8_t)(pk >> 24);
                    int rc = om_frame_parse(p, k, &f, &consumed);
                    if (rc == OM_PROTO_OK) {
                        rc = om_msg_decode(&f, &g_m2);
                        CHECK(rc == OM_PROTO_ETRUNC || rc == OM_PROTO_ELEN);
                    } else {
                        CHECK_RC(rc, OM_PROTO_ELEN);
                    }
                }
                /* streaming: a truncated stream is incomplete, then ETRUNC */
                struct om_frame_decoder d;
                size_t used;
                CHECK_RC(om_frame_decoder_init(&d, g_out, OM_FRAME_MAX), OM_PROTO_OK);
                if (k) {
                    uint8_t *q = exact(buf, k);
                    CHECK_RC(om_frame_decoder_feed(&d, q, k, &used, &f), OM_PROTO_NEED_MORE);
                    CHECK(used == k);
                    free(q);
                }
                CHECK_RC(om_frame_decoder_finish(&d), k ? OM_PROTO_ETRUNC : OM_PROTO_OK);
                free(p);
            }

            /* one extra byte: ELEN from the decoder, and from framing or the
             * decoder when the header says so */
            uint8_t *ext = xmalloc(len + 1);
            memcpy(ext, buf, len);
            ext[len] = 0;
            CHECK_RC(decode_bytes(ext + OM_FRAME_HDR, plen + 1, all_types[t], &g_m2),
                     OM_PROTO_ELEN);
            uint32_t pl1 = plen + 1;
            ext[4] = (uint8_t)pl1, ext[5] = (uint8_t)(pl1 >> 8);
            ext[6] = (uint8_t)(pl1 >> 16), ext[7] = (uint8_t)(pl1 >> 24);
            int rc = om_frame_parse(ext, len + 1, &f, &consumed);
            if (rc == OM_PROTO_OK)
                CHECK_RC(om_msg_decode(&f, &g_m2), OM_PROTO_ELEN);
            else
                CHECK_RC(rc, OM_PROTO_ELEN);
            free(ext);

            /* every other decoder refuses the frame by type */
            f = (struct om_frame){OM_PROTO_VERSION, all_types[t], plen, buf + OM_FRAME_HDR};
            for (size_t u = 0; u < NTYPES; u++)
                CHECK_RC(decode_as(all_types[u], &f, &g_m2),
                         all_types[u] == all_types[t] ? OM_PROTO_OK : OM_PROTO_ETYPE);
            CHECK_RC(om_ping_decode(OM_MSG_PING, &f, &g_m2.u.ping),
                     all_types[t] == OM_MSG_PING ? OM_PROTO_OK : OM_PROTO_ETYPE);
            CHECK_RC(om_hello_decode(&f, &g_m2.u.hello),
                     all_types[t] == OM_MSG_HELLO ? OM_PROTO_OK : OM_PROTO_ETYPE);
            CHECK_RC(om_record_decode(&f, &g_m2.u.record),
                     all_types[t] == OM_MSG_RECORD ? OM_PROTO_OK : OM_PROTO_ETYPE);
            f.version = 2;
            CHECK_RC(om_msg_decode(&f, &g_m2), OM_PROTO_EVERSION);
            free(buf);
        }
    }
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

/* Encodes a valid message of the type, lets patch() alter payload bytes,
 * decodes the payload as is (plen may change) and returns the result. */
static int decode_patched(uint8_t type, int variant, size_t off, const void *bytes, size_t n)
{
    size_t len;
    gen(&g_m1, type, variant, 0);
    uint8_t *buf = encode_exact(&g_m1, &len);
    int rc = OM_PROTO_EINVAL;
    if (len && OM_FRAME_HDR + off + n <= len) {
        memcpy(buf + OM_FRAME_HDR + off, bytes, n);
        rc = decode_bytes(buf + OM_FRAME_HDR, (uint32_t)(len - OM_FRAME_HDR), type, &g_m2);
    }
    free(buf);
    return rc;
}

static int decode_patched16(uint8_t type, int variant, size_t off, uint16_t v)
{
    uint8_t b[2];
    put16(b, v);
    return decode_patched(type, variant, off, b, 2);
}

static int decode_patched32(uint8_t type, int variant, size_t off, uint32_t v)
{
    uint8_t b[4];
    put32(b, v);
    return decode_patched(type, variant, off, b, 4);
}

static int decode_patched8(uint8_t type, int variant, size_t off, uint8_t v)
{
    return decode_patched(type, variant, off, &v, 1);
}

static int encode_rc(const struct om_msg *m)
{
    size_t len;
    return om_msg_encode(m, g_out, OM_FRAME_MAX, &len);
}

static void test_frame_header(void)
{
    struct om_frame f;
    size_t consumed = 99;
    uint8_t h[OM_FRAME_HDR] = {'O', 'M', 1, OM_MSG_PING, 8, 0, 0, 0};

    CHECK_RC(om_frame_parse(NULL, 0, &f, &consumed), OM_PROTO_NEED_MORE);
    CHECK(consumed == 0);
    /* each bad header byte is reported as soon as it is present */
    for (size_t k = 1; k <= OM_FRAME_HDR; k++) {
        uint8_t *p = exact(h, k);
        CHECK_RC(om_frame_parse(p, k, &f, &consumed), OM_PROTO_NEED_MORE);
        if (k >= 1) { p[0] = 'X'; CHECK_RC(om_frame_parse(p, k, &f, &consumed), OM_PROTO_EMAGIC); p[0] = 'O'; }
        if (k >= 2) { p[1] = 'm'; CHECK_RC(om_frame_parse(p, k, &f, &consumed), OM_PROTO_EMAGIC); p[1] = 'M'; }
        if (k >= 3) {
            p[2] = 0; CHECK_RC(om_frame_parse(p, k, &f, &consumed), OM_PROTO_EVERSION);
            p[2] = 2; CHECK_RC(om_frame_parse(p, k, &f, &consumed), OM_PROTO_EVERSION);
            p[2] = 1;
        }
        if (k >= 4) {
            const uint8_t bad[] = {0, OM_MSG_TYPE_MAX + 1, 0x80, 0xff};
            for (size_t i = 0; i < sizeof bad; i++) {
                p[3] = bad[i];
                CHECK_RC(om_frame_parse(p, k, &f, &consumed), OM_PROTO_ETYPE);
            }
            p[3] = OM_MSG_PING;
        }
        free(p);
    }
    /* oversized and type-inconsistent lengths: refused before any payload */
    struct { uint8_t type; uint32_t len; int want; } cases[] = {
        {OM_MSG_RECORD, OM_FRAME_MAX_PAYLOAD + 1, OM_PROTO_ELEN},
        {OM_MSG_RECORD, UINT32_MAX, OM_PROTO_ELEN},
        {OM_MSG_RECORD, 0x80000000u, OM_PROTO_ELEN},
        {OM_MSG_RECORD, OM_RECORD_HDR + OM_RECORD_CT_MAX + 1, OM_PROTO_ELEN},
        {OM_MSG_RECORD, OM_RECORD_HDR - 1, OM_PROTO_ELEN},
        {OM_MSG_RECORD, OM_RECORD_HDR + OM_RECORD_CT_MAX, OM_PROTO_NEED_MORE},
        {OM_MSG_PING, 7, OM_PROTO_ELEN},
        {OM_MSG_PING, 9, OM_PROTO_ELEN},
        {OM_MSG_PING, 0, OM_PROTO_ELEN},
        {OM_MSG_HELLO, OM_HELLO_FIXED, OM_PROTO_ELEN},
        {OM_MSG_HELLO, OM_HELLO_FIXED + OM_PATH_MAX + 1, OM_PROTO_ELEN},
        {OM_MSG_HELLO_REPLY, OM_HELLO_REPLY_FIXED + OM_ERRMSG_MAX + 1, OM_PROTO_ELEN},
        {OM_MSG_ABORT, 5, OM_PROTO_ELEN},
        {OM_MSG_ABORT, 6 + OM_ERRMSG_MAX + 1, OM_PROTO_ELEN},
        {OM_MSG_PAGE_REQ, 2, OM_PROTO_ELEN},
        {OM_MSG_PAGE_REQ, 2 + 8 * OM_PAGE_REQ_MAX + 1, OM_PROTO_ELEN},
        {OM_MSG_COMMIT, 47, OM_PROTO_ELEN},
        {OM_MSG_COMMIT_ACK, 49, OM_PROTO_ELEN},
        {OM_MSG_STREAM_JOIN, 48, OM_PROTO_ELEN},
        {OM_MSG_RECORD_ACK, 45, OM_PROTO_ELEN},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        h[3] = cases[i].type;
        put32(h + 4, cases[i].len);
        uint8_t *p = exact(h, OM_FRAME_HDR);
        CHECK_RC(om_frame_parse(p, OM_FRAME_HDR, &f, &consumed), cases[i].want);
        uint8_t out[OM_FRAME_HDR];
        CHECK_RC(om_frame_write_header(out, cases[i].type, cases[i].len),
                 cases[i].want == OM_PROTO_NEED_MORE ? OM_PROTO_OK : cases[i].want);
        struct om_frame_decoder d;
        size_t used;
        uint8_t dbuf[64];
        CHECK_RC(om_frame_decoder_init(&d, dbuf, sizeof dbuf), OM_PROTO_OK);
        /* a 64-byte decoder buffer refuses big frames at the header */
        int want = cases[i].want == OM_PROTO_NEED_MORE ? OM_PROTO_ELEN : cases[i].want;
        CHECK_RC(om_frame_decoder_feed(&d, p, OM_FRAME_HDR, &used, &f), want);
        free(p);
    }
    uint8_t out[OM_FRAME_HDR];
    CHECK_RC(om_frame_write_header(out, 0, 8), OM_PROTO_ETYPE);
    CHECK_RC(om_frame_write_header(out, OM_MSG_TYPE_MAX + 1, 8), OM_PROTO_ETYPE);
    CHECK_RC(om_frame_write_header(NULL, OM_MSG_PING, 8), OM_PROTO_EINVAL);
    CHECK_RC(om_frame_parse(NULL, 3, &f, &consumed), OM_PROTO_EINVAL);
    uint32_t mn, mx;
    CHECK_RC(om_msg_payload_bounds(0, &mn, &mx), OM_PROTO_ETYPE);
    CHECK_RC(om_msg_payload_bounds(OM_MSG_RECORD, &mn, &mx), OM_PROTO_OK);
    CHECK(mn == OM_RECORD_HDR && mx == OM_RECORD_HDR + OM_RECORD_CT_MAX);
}

static void test_hello_fields(void)
{
    struct om_msg m;
    /* path: embedded NUL, empty, over-long */
    gen(&m, OM_MSG_HELLO, 3, 0);
    m.u.hello.path_len = 7;
    memcpy(m.u.hello.path, "abc\0def", 8);
    CHECK_RC(encode_rc(&m), OM_PROTO_EFIELD);
    m.u.hello.path_len = 0;
    CHECK_RC(encode_rc(&m), OM_PROTO_EFIELD);
    m.u.hello.path_len = OM_PATH_MAX + 1;
    CHECK_RC(encode_rc(&m), OM_PROTO_ELEN);
    m.u.hello.path_len = UINT16_MAX;
    CHECK_RC(encode_rc(&m), OM_PROTO_ELEN);
    CHECK_RC(decode_patched8(OM_MSG_HELLO, 3, OM_HELLO_FIXED + 0, 0), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_HELLO, 1, OM_HELLO_FIXED + OM_PATH_MAX - 1, 0),
             OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_HELLO, 0, OM_HELLO_FIXED, 0), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_HELLO, 0, OM_HELLO_FIXED, 0xff), OM_PROTO_OK);
    CHECK_RC(decode_patched16(OM_MSG_HELLO, 1, OM_HELLO_FIXED - 2, OM_PATH_MAX + 1),
             OM_PROTO_ELEN);
    CHECK_RC(decode_patched16(OM_MSG_HELLO, 1, OM_HELLO_FIXED - 2, UINT16_MAX), OM_PROTO_ELEN);
    CHECK_RC(decode_patched16(OM_MSG_HELLO, 1, OM_HELLO_FIXED - 2, OM_PATH_MAX - 1),
             OM_PROTO_ELEN);  /* one byte left over */
    CHECK_RC(decode_patched16(OM_MSG_HELLO, 0, OM_HELLO_FIXED - 2, 2), OM_PROTO_ETRUNC);
    CHECK_RC(decode_patched16(OM_MSG_HELLO, 0, OM_HELLO_FIXED - 2, 0), OM_PROTO_ELEN);
    {   /* a real 4097-byte path in a frame: refused by framing and decoder */
        size_t plen = OM_HELLO_FIXED + OM_PATH_MAX + 1, len;
        gen(&m, OM_MSG_HELLO, 1, 0);
        CHECK_RC(om_msg_encode(&m, g_out, OM_FRAME_MAX, &len), OM_PROTO_OK);
        uint8_t *p = xmalloc(OM_FRAME_HDR + plen);
        memcpy(p, g_out, len);
        p[len] = 'x';
        put16(p + OM_FRAME_HDR + OM_HELLO_FIXED - 2, OM_PATH_MAX + 1);
        put32(p + 4, (uint32_t)plen);
        struct om_frame f;
        size_t consumed;
        CHECK_RC(om_frame_parse(p, OM_FRAME_HDR + plen, &f, &consumed), OM_PROTO_ELEN);
        CHECK_RC(decode_bytes(p + OM_FRAME_HDR, (uint32_t)plen, OM_MSG_HELLO, &m), OM_PROTO_ELEN);
        free(p);
    }

    /* streams 0 and 17 refused; 1 and 16 accepted */
    const struct { uint8_t v; int want; } ns[] = {
        {0, OM_PROTO_EFIELD}, {17, OM_PROTO_EFIELD}, {255, OM_PROTO_EFIELD},
        {1, OM_PROTO_OK},     {16, OM_PROTO_OK},
    };
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        gen(&m, OM_MSG_HELLO, 4, 0);
        m.u.hello.nstreams = ns[i].v;
        CHECK_RC(encode_rc(&m), ns[i].want);
        CHECK_RC(decode_patched8(OM_MSG_HELLO, 4, 4, ns[i].v), ns[i].want);
    }
    /* version, role, strategy, layout */
    CHECK_RC(decode_patched16(OM_MSG_HELLO, 3, 0, 2), OM_PROTO_EVERSION);
    CHECK_RC(decode_patched16(OM_MSG_HELLO, 3, 0, 0), OM_PROTO_EVERSION);
    CHECK_RC(decode_patched8(OM_MSG_HELLO, 3, 2, 0), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_HELLO, 3, 2, 3), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_HELLO, 3, 3, 0), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_HELLO, 3, 3, 5), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched32(OM_MSG_HELLO, 3, 21, 4096), OM_PROTO_EFIELD);   /* base low */
    CHECK_RC(decode_patched32(OM_MSG_HELLO, 3, 21 + 4, 0), OM_PROTO_EFIELD);  /* base 0 */
    CHECK_RC(decode_patched32(OM_MSG_HELLO, 3, 21 + 4, 0xffffffffu), OM_PROTO_OK);
    CHECK_RC(decode_patched(OM_MSG_HELLO, 3, 21, "\0\0\0\0\0\0\0\0", 8), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched(OM_MSG_HELLO, 3, 29, "\0\0\0\0\0\0\0\0", 8), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched32(OM_MSG_HELLO, 3, 37, 0), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched32(OM_MSG_HELLO, 3, 37, OM_MAX_THREADS + 1), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched32(OM_MSG_HELLO, 3, 37, OM_MAX_THREADS), OM_PROTO_OK);
    gen(&m, OM_MSG_HELLO, 3, 0);
    m.u.hello.version = 2;
    CHECK_RC(encode_rc(&m), OM_PROTO_EVERSION);
    gen(&m, OM_MSG_HELLO, 3, 0);
    m.u.hello.layout.base = OM_DEFAULT_BASE + 4096;
    CHECK_RC(encode_rc(&m), OM_PROTO_EFIELD);
}

static void test_other_fields(void)
{
    struct om_msg m;
    /* HELLO_REPLY: accept is 0/1; refusal needs a printable reason; acceptance has none */
    CHECK_RC(decode_patched8(OM_MSG_HELLO_REPLY, 0, 16, 2), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_HELLO_REPLY, 2, 16, 1), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_HELLO_REPLY, 2, OM_HELLO_REPLY_FIXED, 0x7f), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_HELLO_REPLY, 2, OM_HELLO_REPLY_FIXED, '\n'), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_HELLO_REPLY, 2, OM_HELLO_REPLY_FIXED, 0), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched16(OM_MSG_HELLO_REPLY, 1, OM_HELLO_REPLY_FIXED - 2, 257),
             OM_PROTO_ELEN);
    CHECK_RC(decode_patched16(OM_MSG_HELLO_REPLY, 0, OM_HELLO_REPLY_FIXED - 2, 1), OM_PROTO_ETRUNC);
    gen(&m, OM_MSG_HELLO_REPLY, 0, 0);
    m.u.hello_reply.err_len = 3;
    CHECK_RC(encode_rc(&m), OM_PROTO_EFIELD);
    gen(&m, OM_MSG_HELLO_REPLY, 2, 0);
    m.u.hello_reply.err_len = 0;
    CHECK_RC(encode_rc(&m), OM_PROTO_EFIELD);
    gen(&m, OM_MSG_HELLO_REPLY, 2, 0);
    m.u.hello_reply.err_len = OM_ERRMSG_MAX + 1;
    CHECK_RC(encode_rc(&m), OM_PROTO_ELEN);

    /* STREAM_JOIN index 1..15 */
    CHECK_RC(decode_patched8(OM_MSG_STREAM_JOIN, 3, 16, 0), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_STREAM_JOIN, 3, 16, 16), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_STREAM_JOIN, 3, 16, 15), OM_PROTO_OK);
    gen(&m, OM_MSG_STREAM_JOIN, 3, 0);
    m.u.stream_join.index = 16;
    CHECK_RC(encode_rc(&m), OM_PROTO_EFIELD);

    /* ABORT */
    CHECK_RC(decode_patched32(OM_MSG_ABORT, 1, 0, 0), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched16(OM_MSG_ABORT, 1, 4, 257), OM_PROTO_ELEN);
    CHECK_RC(decode_patched16(OM_MSG_ABORT, 1, 4, UINT16_MAX), OM_PROTO_ELEN);
    CHECK_RC(decode_patched8(OM_MSG_ABORT, 1, 6 + 100, 0x1b), OM_PROTO_EFIELD);
    gen(&m, OM_MSG_ABORT, 1, 0);
    m.u.abort.msg_len = 300;
    CHECK_RC(encode_rc(&m), OM_PROTO_ELEN);

    /* PAGE_REQ: 1..512 pages */
    CHECK_RC(decode_patched16(OM_MSG_PAGE_REQ, 0, 0, 0), OM_PROTO_ELEN); /* 8 bytes left over */
    CHECK_RC(decode_patched16(OM_MSG_PAGE_REQ, 1, 0, OM_PAGE_REQ_MAX + 1), OM_PROTO_ELEN);
    CHECK_RC(decode_patched16(OM_MSG_PAGE_REQ, 1, 0, UINT16_MAX), OM_PROTO_ELEN);
    CHECK_RC(decode_patched16(OM_MSG_PAGE_REQ, 0, 0, 2), OM_PROTO_ETRUNC);
    {
        uint8_t z[2] = {0, 0};
        uint8_t *p = exact(z, 2);
        CHECK_RC(decode_bytes(p, 2, OM_MSG_PAGE_REQ, &m), OM_PROTO_EFIELD);
        free(p);
    }
    gen(&m, OM_MSG_PAGE_REQ, 0, 0);
    m.u.page_req.count = 0;
    CHECK_RC(encode_rc(&m), OM_PROTO_EFIELD);
    m.u.page_req.count = OM_PAGE_REQ_MAX + 1;
    CHECK_RC(encode_rc(&m), OM_PROTO_ELEN);

    /* PING/PONG and COMMIT/COMMIT_ACK: only their own types */
    struct om_ping pg = {42};
    struct om_commit cm;
    size_t len;
    memset(&cm, 7, sizeof cm);
    CHECK_RC(om_ping_encode(OM_MSG_HELLO, &pg, g_out, OM_FRAME_MAX, &len), OM_PROTO_ETYPE);
    CHECK_RC(om_commit_encode(OM_MSG_PING, &cm, g_out, OM_FRAME_MAX, &len), OM_PROTO_ETYPE);
    CHECK_RC(om_ping_encode(OM_MSG_PONG, &pg, g_out, OM_FRAME_MAX, &len), OM_PROTO_OK);
    struct om_frame f = {1, OM_MSG_PONG, 8, g_out + OM_FRAME_HDR};
    CHECK_RC(om_ping_decode(OM_MSG_PING, &f, &pg), OM_PROTO_ETYPE);
    CHECK_RC(om_ping_decode(OM_MSG_PONG, &f, &pg), OM_PROTO_OK);
    CHECK(pg.token == 42);
    CHECK_RC(om_commit_decode(OM_MSG_COMMIT, &f, &cm), OM_PROTO_ETYPE);
    CHECK_RC(om_commit_decode(OM_MSG_PONG, &f, &cm), OM_PROTO_ETYPE);
    CHECK_RC(om_msg_decode(NULL, &m), OM_PROTO_EINVAL);
    m.type = 0;
    CHECK_RC(encode_rc(&m), OM_PROTO_ETYPE);
    f.type = 0;
    CHECK_RC(om_msg_decode(&f, &m), OM_PROTO_ETYPE);
}

static void test_record(void)
{
    struct om_msg m;
    size_t len, len2;
    /* type rules */
    CHECK_RC(decode_patched8(OM_MSG_RECORD, 3, 0, 0), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_RECORD, 3, 0, OM_REC_TYPE_MAX + 1), OM_PROTO_EFIELD);
    CHECK_RC(decode_patched8(OM_MSG_RECORD, 0, 0, OM_REC_PAGE_ZERO), OM_PROTO_ELEN);
    CHECK_RC(decode_patched8(OM_MSG_RECORD, 0, 0, OM_REC_RUNTIME), OM_PROTO_OK);
    CHECK_RC(decode_patched8(OM_MSG_RECORD, 1, 0, OM_REC_PAGE), OM_PROTO_ELEN);
    /* ct_len: oversized, beyond the data, short of the data */
    CHECK_RC(decode_patched32(OM_MSG_RECORD, 0, 29, OM_RECORD_CT_MAX + 1), OM_PROTO_ELEN);
    CHECK_RC(decode_patched32(OM_MSG_RECORD, 0, 29, UINT32_MAX), OM_PROTO_ELEN);
    CHECK_RC(decode_patched32(OM_MSG_RECORD, 0, 29, 4097), OM_PROTO_ETRUNC);
    CHECK_RC(decode_patched32(OM_MSG_RECORD, 0, 29, 4095), OM_PROTO_ELEN);
    CHECK_RC(decode_patched32(OM_MSG_RECORD, 1, 29, 1), OM_PROTO_ETRUNC);
    gen(&m, OM_MSG_RECORD, 0, 0);
    m.u.record.ct_len = 4095;
    CHECK_RC(encode_rc(&m), OM_PROTO_ELEN);
    m.u.record.rtype = OM_REC_MANIFEST;
    m.u.record.ct_len = OM_RECORD_CT_MAX + 1;
    CHECK_RC(encode_rc(&m), OM_PROTO_ELEN);
    m.u.record.ct = NULL;
    m.u.record.ct_len = 5;
    CHECK_RC(encode_rc(&m), OM_PROTO_EINVAL);
    m.u.record.ct_len = 0;
    CHECK_RC(encode_rc(&m), OM_PROTO_OK);

    /* prefix + ciphertext == whole frame; in-place sealing; overlap refused */
    gen(&m, OM_MSG_RECORD, 4, 0);
    m.u.record.rtype = OM_REC_THREAD;
    m.u.record.ct_len = 3000;
    CHECK_RC(om_record_encode(&m.u.record, g_out, OM_FRAME_MAX, &len), OM_PROTO_OK);
    uint8_t *whole = exact(g_out, len);
    uint8_t *buf = xmalloc(len);
    CHECK_RC(om_record_encode_prefix(&m.u.record, buf), OM_PROTO_OK);
    memcpy(buf + OM_RECORD_PREFIX, m.u.record.ct, 3000);
    CHECK(!memcmp(buf, whole, len));
    memset(buf, 0, OM_RECORD_PREFIX);
    struct om_record r = m.u.record;
    r.ct = buf + OM_RECORD_PREFIX;
    CHECK_RC(om_record_encode(&r, buf, len, &len2), OM_PROTO_OK);
    CHECK(len2 == len && !memcmp(buf, whole, len));
    r.ct = buf + 10;
    CHECK_RC(om_record_encode(&r, buf, len, &len2), OM_PROTO_EINVAL);
    r.ct = buf + OM_RECORD_PREFIX + 1;
    r.ct_len = 2999;
    CHECK_RC(om_record_encode(&r, buf, len, &len2), OM_PROTO_EINVAL);
    free(buf);
    free(whole);
    r.rtype = OM_REC_PAGE;
    r.ct_len = 100;
    uint8_t pre[OM_RECORD_PREFIX];
    CHECK_RC(om_record_encode_prefix(&r, pre), OM_PROTO_ELEN);
    CHECK_RC(om_record_encode_prefix(NULL, pre), OM_PROTO_EINVAL);

    /* a PAGE_ZERO's empty ciphertext still points into the payload */
    gen(&m, OM_MSG_RECORD, 1, 0);
    uint8_t *z = encode_exact(&m, &len);
    CHECK_RC(decode_bytes(z + OM_FRAME_HDR, (uint32_t)(len - OM_FRAME_HDR), OM_MSG_RECORD, &g_m2),
             OM_PROTO_OK);
    CHECK(g_m2.u.record.ct == z + OM_RECORD_PREFIX && g_m2.u.record.ct_len == 0);
    free(z);
}

/* A stream of messages and where each frame lies in it. */
struct stream {
    uint8_t *data;
    size_t len;
    size_t n;
    size_t *off;
};

static void stream_build(struct stream *s, size_t nmsg, int big)
{
    size_t cap = 1 << 20, len;
    s->data = xmalloc(cap);
    s->off = xmalloc(sizeof *s->off * (nmsg + 1));
    s->len = 0;
    s->n = nmsg;
    for (size_t i = 0; i < nmsg; i++) {
        gen(&g_m1, all_types[rnd() % NTYPES], (int)(rnd() % NVARIANTS), big && i % 50 == 3);
        CHECK_RC(om_msg_encode(&g_m1, g_out, OM_FRAME_MAX, &len), OM_PROTO_OK);
        while (s->len + len > cap) {
            cap *= 2;
            s->data = realloc(s->data, cap);
            if (!s->data)
                exit(2);
        }
        memcpy(s->data + s->len, g_out, len);
        s->off[i] = s->len;
        s->len += len;
    }
    s->off[nmsg] = s->len;
}

/* Feeds s in random chunks of 1..maxchunk bytes, each in its own exact-size
 * allocation, and checks that exactly its frames come out. */
static void stream_feed(const struct stream *s, size_t maxchunk, uint8_t *dbuf, size_t dcap,
                        size_t *fast, size_t *slow)
{
    struct om_frame_decoder d;
    struct om_frame f;
    size_t pos = 0, next = 0, used;
    int bad = 0;

    CHECK_RC(om_frame_decoder_init(&d, dbuf, dcap), OM_PROTO_OK);
    while (pos < s->len && !bad) {
        size_t n = 1 + rnd() % maxchunk;
        if (n > s->len - pos)
            n = s->len - pos;
        uint8_t *chunk = exact(s->data + pos, n);
        size_t at = 0;
        for (;;) {
            int rc = om_frame_decoder_feed(&d, chunk + at, n - at, &used, &f);
            CHECK(used <= n - at);
            at += used;
            if (rc == OM_PROTO_NEED_MORE) {
                CHECK(at == n);
                break;
            }
            if (rc != OM_PROTO_OK || next >= s->n) {
                CHECK_RC(rc, OM_PROTO_OK);
                bad = 1;
                break;
            }
            size_t flen = s->off[next + 1] - s->off[next];
            const uint8_t *want = s->data + s->off[next];
            CHECK(f.version == OM_PROTO_VERSION && f.type == want[3] &&
                  f.len == flen - OM_FRAME_HDR &&
                  !memcmp(f.payload, want + OM_FRAME_HDR, f.len));
            if (f.payload >= chunk && f.payload < chunk + n)
                ++*fast;
            else
                ++*slow;
            next++;
            if (at == n)
                break;
        }
        free(chunk);
        pos += n;
    }
    CHECK(next == s->n);
    CHECK_RC(om_frame_decoder_finish(&d), OM_PROTO_OK);
}

static void test_streaming(void)
{
    struct stream small, big;
    size_t fast = 0, slow = 0;
    uint8_t *dbuf = xmalloc(OM_FRAME_MAX);

    stream_build(&small, 500, 0);
    const size_t chunks[] = {1, 2, 3, 7, 8, 9, 64, 333, 4096, 65536, 1 << 20};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++)
        stream_feed(&small, chunks[i], dbuf, OM_FRAME_MAX, &fast, &slow);
    /* a decoder buffer just big enough for the biggest frame in the stream */
    size_t biggest = 0;
    for (size_t i = 0; i < small.n; i++)
        if (small.off[i + 1] - small.off[i] > biggest)
            biggest = small.off[i + 1] - small.off[i];
    uint8_t *tight = xmalloc(biggest);
    stream_feed(&small, 5000, tight, biggest, &fast, &slow);
    free(tight);

    stream_build(&big, 200, 1); /* with records up to 4 MiB */
    const size_t bchunks[] = {4096, 100000, 8 << 20};
    for (size_t i = 0; i < sizeof bchunks / sizeof bchunks[0]; i++)
        stream_feed(&big, bchunks[i], dbuf, OM_FRAME_MAX, &fast, &slow);
    CHECK(fast > 100 && slow > 100); /* both decoder paths were exercised */

    /* the whole stream in one piece: every frame comes back without a copy */
    {
        struct om_frame_decoder d;
        struct om_frame f;
        size_t at = 0, used, got = 0;
        CHECK_RC(om_frame_decoder_init(&d, dbuf, OM_FRAME_MAX), OM_PROTO_OK);
        while (at < big.len) {
            int rc = om_frame_decoder_feed(&d, big.data + at, big.len - at, &used, &f);
            if (rc != OM_PROTO_OK) {
                CHECK_RC(rc, OM_PROTO_OK);
                break;
            }
            CHECK(f.payload == big.data + big.off[got] + OM_FRAME_HDR);
            at += used;
            got++;
        }
        CHECK(got == big.n);
    }
    free(small.data), free(small.off), free(big.data), free(big.off);
    free(dbuf);
}

static void test_garbage(void)
{
    struct om_msg m;
    size_t len;
    uint8_t dbuf[OM_HELLO_FRAME_MAX];
    const struct { const char *junk; size_t n; int want; } junk[] = {
        {"garbage!", 8, OM_PROTO_EMAGIC},
        {"\0", 1, OM_PROTO_EMAGIC},
        {"Ox", 2, OM_PROTO_EMAGIC},
        {"OM\x02", 3, OM_PROTO_EVERSION},
        {"OM\x01\x00", 4, OM_PROTO_ETYPE},
        {"OM\x01\x0c", 4, OM_PROTO_ETYPE},
        {"OM\x01\x08\x09\x00\x00\x00", 8, OM_PROTO_ELEN},
        {"OM\x01\x04\xff\xff\xff\xff", 8, OM_PROTO_ELEN},
        {"OM\x01\x01\x00\x20\x00\x00", 8, OM_PROTO_ELEN},  /* longer than any HELLO */
    };
    gen(&m, OM_MSG_PING, 3, 0);
    CHECK_RC(om_msg_encode(&m, g_out, OM_FRAME_MAX, &len), OM_PROTO_OK);
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        for (int split = 0; split < 2; split++) {
            size_t n = len + junk[i].n, used, consumed;
            uint8_t *p = xmalloc(n);
            struct om_frame f;
            struct om_frame_decoder d;
            memcpy(p, g_out, len);
            memcpy(p + len, junk[i].junk, junk[i].n);
            /* one-shot parse takes the frame and leaves the rest */
            CHECK_RC(om_frame_parse(p, n, &f, &consumed), OM_PROTO_OK);
            CHECK(consumed == len && f.type == OM_MSG_PING);
            CHECK_RC(om_frame_parse(p + len, junk[i].n, &f, &consumed), junk[i].want);
            /* streaming: the frame, then the error, then the same error forever */
            CHECK_RC(om_frame_decoder_init(&d, dbuf, sizeof dbuf), OM_PROTO_OK);
            size_t first = split ? 3 : n;
            CHECK_RC(om_frame_decoder_feed(&d, p, first, &used, &f),
                     split ? OM_PROTO_NEED_MORE : OM_PROTO_OK);
            size_t at = used;
            if (split) {
                CHECK_RC(om_frame_decoder_feed(&d, p + at, n - at, &used, &f), OM_PROTO_OK);
                at += used;
            }
            CHECK(at == len && f.type == OM_MSG_PING && f.len == 8);
            CHECK_RC(om_frame_decoder_feed(&d, p + at, n - at, &used, &f), junk[i].want);
            CHECK_RC(om_frame_decoder_feed(&d, g_out, len, &used, &f), junk[i].want);
            CHECK(used == 0);
            CHECK_RC(om_frame_decoder_finish(&d), junk[i].want);
            free(p);
        }
    }
    /* decoder misuse */
    struct om_frame_decoder d;
    struct om_frame f;
    size_t used;
    CHECK_RC(om_frame_decoder_init(&d, dbuf, OM_FRAME_HDR - 1), OM_PROTO_EINVAL);
    CHECK_RC(om_frame_decoder_feed(&d, g_out, len, &used, &f), OM_PROTO_EINVAL);
    CHECK_RC(om_frame_decoder_init(&d, NULL, 100), OM_PROTO_EINVAL);
    CHECK_RC(om_frame_decoder_init(&d, dbuf, OM_FRAME_HDR), OM_PROTO_OK);
    CHECK_RC(om_frame_decoder_feed(&d, NULL, 0, &used, &f), OM_PROTO_NEED_MORE);
    CHECK_RC(om_frame_decoder_feed(&d, NULL, 1, &used, &f), OM_PROTO_EINVAL);
    CHECK_RC(om_frame_decoder_feed(&d, g_out, len, &used, &f), OM_PROTO_ELEN); /* cap 8 */
}

int main(int argc, char **argv)
{
    if (argc > 1)
        g_rng = strtoull(argv[1], NULL, 0);
    printf("seed %#" PRIx64 "\n", g_rng);
    g_ct = xmalloc(OM_RECORD_CT_MAX);
    g_out = xmalloc(OM_FRAME_MAX);
    rnd_bytes(g_ct, OM_RECORD_CT_MAX);

    test_strerror();
    test_frame_header();
    test_round_trip_and_truncation();
    test_hello_fields();
    test_other_fields();
    test_record();
    test_streaming();
    test_garbage();

    free(g_ct);
    free(g_out);
    printf("%d checks, %d failures\n", g_checks, g_failures);
    return g_failures ? 1 : 0;
}
