/* Message codec: one encode and one decode function per message type.
 *
 * Decoding reads through a bounded cursor (struct rd): a read past the end
 * marks the cursor truncated and yields zeros, so a decoder first reads every
 * field, then reports truncation (ETRUNC), then left-over bytes (ELEN), and
 * only then judges field values, with the same validators the encoders use.
 * Length fields are bounded as soon as they are read, before any use.
 * Freestanding: only memcpy and memset. */
#include <string.h>

#include "optmig/abi.h"
#include "wire.h"

/* ---- bounded reader / writer -------------------------------------------- */

struct rd {
    const uint8_t *p;
    size_t left;
    int trunc;
};

static const uint8_t *take(struct rd *r, size_t n)
{
    const uint8_t *q;
    if (r->trunc || r->left < n) {
        r->trunc = 1;
        return NULL;
    }
    q = r->p;
    r->p += n;
    r->left -= n;
    return q;
}

static uint8_t rd8(struct rd *r)
{
    const uint8_t *q = take(r, 1);
    return q ? q[0] : 0;
}

static uint16_t rd16(struct rd *r)
{
    const uint8_t *q = take(r, 2);
    return q ? (uint16_t)(q[0] | q[1] << 8) : 0;
}

static uint32_t rd32(struct rd *r)
{
    const uint8_t *q = take(r, 4);
    return q ? (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 |
                   (uint32_t)q[3] << 24
             : 0;
}

static uint64_t rd64(struct rd *r)
{
    uint64_t lo = rd32(r);
    uint64_t hi = rd32(r);
    return lo | hi << 32;
}

static void rdmem(struct rd *r, void *dst, size_t n)
{
    const uint8_t *q = take(r, n);
    if (q)
        memcpy(dst, q, n);
    else
        memset(dst, 0, n);
}

static int rd_begin(const struct om_frame *f, uint8_t type, struct rd *r)
{
    if (!f || (!f->payload && f->len))
        return OM_PROTO_EINVAL;
    if (f->version != OM_PROTO_VERSION)
        return OM_PROTO_EVERSION;
    if (f->type != type)
        return OM_PROTO_ETYPE;
    r->p = f->payload;
    r->left = f->len;
    r->trunc = 0;
    return OM_PROTO_OK;
}

static int rd_end(const struct rd *r)
{
    if (r->trunc)
        return OM_PROTO_ETRUNC;
    if (r->left)
        return OM_PROTO_ELEN;
    return OM_PROTO_OK;
}

struct wr {
    uint8_t *p;
    size_t left;
    int over;
};

static void wmem(struct wr *w, const void *src, size_t n)
{
    if (w->over || w->left < n) {
        w->over = 1;
        return;
    }
    if (n)
        memcpy(w->p, src, n);
    w->p += n;
    w->left -= n;
}

static void w8(struct wr *w, uint8_t v) { wmem(w, &v, 1); }

static void w16(struct wr *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    wmem(w, b, 2);
}

static void w32(struct wr *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    wmem(w, b, 4);
}

static void w64(struct wr *w, uint64_t v)
{
    w32(w, (uint32_t)v);
    w32(w, (uint32_t)(v >> 32));
}

/* Checks room for the whole frame, writes its header and sets up a writer
 * over exactly plen payload bytes. */
static int wr_begin(uint8_t type, size_t plen, uint8_t *out, size_t cap, size_t *len,
                    struct wr *w)
{
    int rc;
    if (!out || !len)
        return OM_PROTO_EINVAL;
    if (plen > OM_FRAME_MAX_PAYLOAD)
        return OM_PROTO_ELEN;
    if (cap < OM_FRAME_HDR || cap - OM_FRAME_HDR < plen)
        return OM_PROTO_ENOSPC;
    rc = om_frame_write_header(out, type, (uint32_t)plen);
    if (rc)
        return rc;
    w->p = out + OM_FRAME_HDR;
    w->left = plen;
    w->over = 0;
    *len = OM_FRAME_HDR + plen;
    return OM_PROTO_OK;
}

/* A writer that did not fill exactly its payload means the size computation
 * and the layout disagree: a bug, reported rather than sent. */
static int wr_end(const struct wr *w, size_t *len)
{
    if (w->over || w->left) {
        *len = 0;
        return OM_PROTO_EINVAL;
    }
    return OM_PROTO_OK;
}

/* ---- shared field rules -------------------------------------------------- */

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
            return 0;
    return 1;
}

static int has_nul(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0')
            return 1;
    return 0;
}

static void wquote(struct wr *w, const struct om_wire_quote *q)
{
    wmem(w, q->measurement, sizeof q->measurement);
    wmem(w, q->report_data, sizeof q->report_data);
    wmem(w, q->platform_pub, sizeof q->platform_pub);
    wmem(w, q->sig, sizeof q->sig);
}

static void rquote(struct rd *r, struct om_wire_quote *q)
{
    rdmem(r, q->measurement, sizeof q->measurement);
    rdmem(r, q->report_data, sizeof q->report_data);
    rdmem(r, q->platform_pub, sizeof q->platform_pub);
    rdmem(r, q->sig, sizeof q->sig);
}

#define QUOTE_LEN (OM_MEASUREMENT_LEN + 32 + OM_PLATFORM_PUB_LEN + OM_SIG_LEN)
_Static_assert(QUOTE_LEN == 193, "quote layout");
_Static_assert(OM_HELLO_FIXED == 2 + 1 + 1 + 1 + OM_MIG_ID_LEN + 8 + 8 + 4 + OM_MEASUREMENT_LEN +
                                     OM_NONCE_LEN + OM_KX_PUB_LEN + QUOTE_LEN + 2,
               "hello layout");
_Static_assert(OM_HELLO_REPLY_FIXED == OM_MIG_ID_LEN + 1 + OM_MEASUREMENT_LEN + OM_NONCE_LEN +
                                           OM_KX_PUB_LEN + QUOTE_LEN + 2,
               "hello reply layout");
_Static_assert(OM_RECORD_HDR == 1 + 4 + 8 + 8 + 8 + 4 + OM_TAG_LEN, "record layout");

/* ---- HELLO --------------------------------------------------------------- */

static int hello_valid(const struct om_hello *m)
{
    if (m->version != OM_PROTO_VERSION)
        return OM_PROTO_EVERSION;
    if (m->path_len > OM_PATH_MAX)
        return OM_PROTO_ELEN;
    if (m->role != OM_ROLE_MIGRATE && m->role != OM_ROLE_RESUME)
        return OM_PROTO_EFIELD;
    if (m->strategy < OM_STRATEGY_STOP_COPY || m->strategy > OM_STRATEGY_HYBRID)
        return OM_PROTO_EFIELD;
    if (m->nstreams < 1 || m->nstreams > OM_MAX_STREAMS)
        return OM_PROTO_EFIELD;
    if (m->layout.base == 0 || m->layout.base % OM_RANGE_ALIGN || m->layout.heap_size == 0 ||
        m->layout.max_threads < 1 || m->layout.max_threads > OM_MAX_THREADS)
        return OM_PROTO_EFIELD;
    if (m->path_len == 0 || has_nul(m->path, m->path_len))
        return OM_PROTO_EFIELD;
    return OM_PROTO_OK;
}

int om_hello_encode(const struct om_hello *m, uint8_t *out, size_t cap, size_t *len)
{
    struct wr w;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = hello_valid(m)))
        return rc;
    if ((rc = wr_begin(OM_MSG_HELLO, OM_HELLO_FIXED + (size_t)m->path_len, out, cap, len, &w)))
        return rc;
    w16(&w, m->version);
    w8(&w, m->role);
    w8(&w, m->strategy);
    w8(&w, m->nstreams);
    wmem(&w, m->mig_id, sizeof m->mig_id);
    w64(&w, m->layout.base);
    w64(&w, m->layout.heap_size);
    w32(&w, m->layout.max_threads);
    wmem(&w, m->measurement, sizeof m->measurement);
    wmem(&w, m->nonce, sizeof m->nonce);
    wmem(&w, m->kx_pub, sizeof m->kx_pub);
    wquote(&w, &m->quote);
    w16(&w, m->path_len);
    wmem(&w, m->path, m->path_len);
    return wr_end(&w, len);
}

int om_hello_decode(const struct om_frame *f, struct om_hello *m)
{
    struct rd r;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = rd_begin(f, OM_MSG_HELLO, &r)))
        return rc;
    m->version = rd16(&r);
    m->role = rd8(&r);
    m->strategy = rd8(&r);
    m->nstreams = rd8(&r);
    rdmem(&r, m->mig_id, sizeof m->mig_id);
    m->layout.base = rd64(&r);
    m->layout.heap_size = rd64(&r);
    m->layout.max_threads = rd32(&r);
    rdmem(&r, m->measurement, sizeof m->measurement);
    rdmem(&r, m->nonce, sizeof m->nonce);
    rdmem(&r, m->kx_pub, sizeof m->kx_pub);
    rquote(&r, &m->quote);
    m->path_len = rd16(&r);
    if (m->path_len > OM_PATH_MAX)
        return OM_PROTO_ELEN;
    rdmem(&r, m->path, m->path_len);
    m->path[m->path_len] = '\0';
    if ((rc = rd_end(&r)))
        return rc;
    return hello_valid(m);
}

/* ---- HELLO_REPLY ---------------------------------------------------------- */

static int hello_reply_valid(const struct om_hello_reply *m)
{
    if (m->err_len > OM_ERRMSG_MAX)
        return OM_PROTO_ELEN;
    if (m->accept > 1)
        return OM_PROTO_EFIELD;
    if (m->accept ? m->err_len != 0 : m->err_len == 0)
        return OM_PROTO_EFIELD;
    if (!printable(m->err, m->err_len))
        return OM_PROTO_EFIELD;
    return OM_PROTO_OK;
}

int om_hello_reply_encode(const struct om_hello_reply *m, uint8_t *out, size_t cap, size_t *len)
{
    struct wr w;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = hello_reply_valid(m)))
        return rc;
    if ((rc = wr_begin(OM_MSG_HELLO_REPLY, OM_HELLO_REPLY_FIXED + (size_t)m->err_len, out, cap,
                       len, &w)))
        return rc;
    wmem(&w, m->mig_id, sizeof m->mig_id);
    w8(&w, m->accept);
    wmem(&w, m->measurement, sizeof m->measurement);
    wmem(&w, m->nonce, sizeof m->nonce);
    wmem(&w, m->kx_pub, sizeof m->kx_pub);
    wquote(&w, &m->quote);
    w16(&w, m->err_len);
    wmem(&w, m->err, m->err_len);
    return wr_end(&w, len);
}

int om_hello_reply_decode(const struct om_frame *f, struct om_hello_reply *m)
{
    struct rd r;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = rd_begin(f, OM_MSG_HELLO_REPLY, &r)))
        return rc;
    rdmem(&r, m->mig_id, sizeof m->mig_id);
    m->accept = rd8(&r);
    rdmem(&r, m->measurement, sizeof m->measurement);
    rdmem(&r, m->nonce, sizeof m->nonce);
    rdmem(&r, m->kx_pub, sizeof m->kx_pub);
    rquote(&r, &m->quote);
    m->err_len = rd16(&r);
    if (m->err_len > OM_ERRMSG_MAX)
        return OM_PROTO_ELEN;
    rdmem(&r, m->err, m->err_len);
    m->err[m->err_len] = '\0';
    if ((rc = rd_end(&r)))
        return rc;
    return hello_reply_valid(m);
}

/* ---- STREAM_JOIN ---------------------------------------------------------- */

static int stream_join_valid(const struct om_stream_join *m)
{
    return m->index >= 1 && m->index < OM_MAX_STREAMS ? OM_PROTO_OK : OM_PROTO_EFIELD;
}

int om_stream_join_encode(const struct om_stream_join *m, uint8_t *out, size_t cap, size_t *len)
{
    struct wr w;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = stream_join_valid(m)))
        return rc;
    if ((rc = wr_begin(OM_MSG_STREAM_JOIN, OM_STREAM_JOIN_FRAME - OM_FRAME_HDR, out, cap, len,
                       &w)))
        return rc;
    wmem(&w, m->mig_id, sizeof m->mig_id);
    w8(&w, m->index);
    wmem(&w, m->mac, sizeof m->mac);
    return wr_end(&w, len);
}

int om_stream_join_decode(const struct om_frame *f, struct om_stream_join *m)
{
    struct rd r;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = rd_begin(f, OM_MSG_STREAM_JOIN, &r)))
        return rc;
    rdmem(&r, m->mig_id, sizeof m->mig_id);
    m->index = rd8(&r);
    rdmem(&r, m->mac, sizeof m->mac);
    if ((rc = rd_end(&r)))
        return rc;
    return stream_join_valid(m);
}

/* ---- RECORD --------------------------------------------------------------- */

static int record_valid(const struct om_record *m)
{
    if (m->ct_len > OM_RECORD_CT_MAX)
        return OM_PROTO_ELEN;
    if (m->rtype < OM_REC_PAGE || m->rtype > OM_REC_TYPE_MAX)
        return OM_PROTO_EFIELD;
    if (m->rtype == OM_REC_PAGE && m->ct_len != OM_PAGE_SIZE)
        return OM_PROTO_ELEN;
    if (m->rtype == OM_REC_PAGE_ZERO && m->ct_len != 0)
        return OM_PROTO_ELEN;
    return OM_PROTO_OK;
}

static void record_header(struct wr *w, const struct om_record *m)
{
    w8(w, m->rtype);
    w32(w, m->stream_id);
    w64(w, m->counter);
    w64(w, m->page);
    w64(w, m->version);
    w32(w, m->ct_len);
    wmem(w, m->tag, sizeof m->tag);
}

int om_record_encode(const struct om_record *m, uint8_t *out, size_t cap, size_t *len)
{
    struct wr w;
    int rc;
    if (!m || (!m->ct && m->ct_len))
        return OM_PROTO_EINVAL;
    if ((rc = record_valid(m)))
        return rc;
    if ((rc = wr_begin(OM_MSG_RECORD, OM_RECORD_HDR + (size_t)m->ct_len, out, cap, len, &w)))
        return rc;
    record_header(&w, m);
    if (m->ct_len) {
        uintptr_t c = (uintptr_t)m->ct, o = (uintptr_t)out, p = (uintptr_t)w.p;
        if (c == p && w.left == m->ct_len) { /* sealed in place: already there */
            w.p += m->ct_len;
            w.left = 0;
        } else if (c < o + *len && o < c + m->ct_len) {
            *len = 0; /* partial overlap with the output: memcpy cannot do it */
            return OM_PROTO_EINVAL;
        } else {
            wmem(&w, m->ct, m->ct_len);
        }
    }
    return wr_end(&w, len);
}

int om_record_encode_prefix(const struct om_record *m, uint8_t out[OM_RECORD_PREFIX])
{
    struct wr w;
    size_t len;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = record_valid(m)))
        return rc;
    if ((rc = wr_begin(OM_MSG_RECORD, OM_RECORD_HDR + (size_t)m->ct_len, out,
                       OM_RECORD_PREFIX + (size_t)m->ct_len, &len, &w)))
        return rc;
    w.left = OM_RECORD_HDR; /* only the header is written here */
    record_header(&w, m);
    return wr_end(&w, &len);
}

int om_record_decode(const struct om_frame *f, struct om_record *m)
{
    struct rd r;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = rd_begin(f, OM_MSG_RECORD, &r)))
        return rc;
    m->rtype = rd8(&r);
    m->stream_id = rd32(&r);
    m->counter = rd64(&r);
    m->page = rd64(&r);
    m->version = rd64(&r);
    m->ct_len = rd32(&r);
    rdmem(&r, m->tag, sizeof m->tag);
    if (m->ct_len > OM_RECORD_CT_MAX)
        return OM_PROTO_ELEN;
    m->ct = take(&r, m->ct_len);
    if ((rc = rd_end(&r)))
        return rc; /* not truncated: ct is non-NULL, even when ct_len == 0 */
    return record_valid(m);
}

/* ---- COMMIT / COMMIT_ACK -------------------------------------------------- */

static int commit_type(uint8_t type)
{
    return type == OM_MSG_COMMIT || type == OM_MSG_COMMIT_ACK;
}

int om_commit_encode(uint8_t type, const struct om_commit *m, uint8_t *out, size_t cap,
                     size_t *len)
{
    struct wr w;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if (!commit_type(type))
        return OM_PROTO_ETYPE;
    if ((rc = wr_begin(type, OM_COMMIT_FRAME - OM_FRAME_HDR, out, cap, len, &w)))
        return rc;
    wmem(&w, m->mig_id, sizeof m->mig_id);
    wmem(&w, m->mac, sizeof m->mac);
    return wr_end(&w, len);
}

int om_commit_decode(uint8_t type, const struct om_frame *f, struct om_commit *m)
{
    struct rd r;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if (!commit_type(type))
        return OM_PROTO_ETYPE;
    if ((rc = rd_begin(f, type, &r)))
        return rc;
    rdmem(&r, m->mig_id, sizeof m->mig_id);
    rdmem(&r, m->mac, sizeof m->mac);
    return rd_end(&r);
}

/* ---- ABORT ---------------------------------------------------------------- */

static int abort_valid(const struct om_abort *m)
{
    if (m->msg_len > OM_ERRMSG_MAX)
        return OM_PROTO_ELEN;
    if (m->code == 0 || !printable(m->msg, m->msg_len))
        return OM_PROTO_EFIELD;
    return OM_PROTO_OK;
}

int om_abort_encode(const struct om_abort *m, uint8_t *out, size_t cap, size_t *len)
{
    struct wr w;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = abort_valid(m)))
        return rc;
    if ((rc = wr_begin(OM_MSG_ABORT, 6 + (size_t)m->msg_len, out, cap, len, &w)))
        return rc;
    w32(&w, m->code);
    w16(&w, m->msg_len);
    wmem(&w, m->msg, m->msg_len);
    return wr_end(&w, len);
}

int om_abort_decode(const struct om_frame *f, struct om_abort *m)
{
    struct rd r;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = rd_begin(f, OM_MSG_ABORT, &r)))
        return rc;
    m->code = rd32(&r);
    m->msg_len = rd16(&r);
    if (m->msg_len > OM_ERRMSG_MAX)
        return OM_PROTO_ELEN;
    rdmem(&r, m->msg, m->msg_len);
    m->msg[m->msg_len] = '\0';
    if ((rc = rd_end(&r)))
        return rc;
    return abort_valid(m);
}

/* ---- PING / PONG ---------------------------------------------------------- */

static int ping_type(uint8_t type) { return type == OM_MSG_PING || type == OM_MSG_PONG; }

int om_ping_encode(uint8_t type, const struct om_ping *m, uint8_t *out, size_t cap, size_t *len)
{
    struct wr w;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if (!ping_type(type))
        return OM_PROTO_ETYPE;
    if ((rc = wr_begin(type, OM_PING_FRAME - OM_FRAME_HDR, out, cap, len, &w)))
        return rc;
    w64(&w, m->token);
    return wr_end(&w, len);
}

int om_ping_decode(uint8_t type, const struct om_frame *f, struct om_ping *m)
{
    struct rd r;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if (!ping_type(type))
        return OM_PROTO_ETYPE;
    if ((rc = rd_begin(f, type, &r)))
        return rc;
    m->token = rd64(&r);
    return rd_end(&r);
}

/* ---- PAGE_REQ ------------------------------------------------------------- */

static int page_req_valid(const struct om_page_req *m)
{
    if (m->count > OM_PAGE_REQ_MAX)
        return OM_PROTO_ELEN;
    return m->count ? OM_PROTO_OK : OM_PROTO_EFIELD;
}

int om_page_req_encode(const struct om_page_req *m, uint8_t *out, size_t cap, size_t *len)
{
    struct wr w;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = page_req_valid(m)))
        return rc;
    if ((rc = wr_begin(OM_MSG_PAGE_REQ, 2 + 8 * (size_t)m->count, out, cap, len, &w)))
        return rc;
    w16(&w, m->count);
    for (unsigned i = 0; i < m->count; i++)
        w64(&w, m->pages[i]);
    return wr_end(&w, len);
}

int om_page_req_decode(const struct om_frame *f, struct om_page_req *m)
{
    struct rd r;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = rd_begin(f, OM_MSG_PAGE_REQ, &r)))
        return rc;
    m->count = rd16(&r);
    if (m->count > OM_PAGE_REQ_MAX)
        return OM_PROTO_ELEN;
    for (unsigned i = 0; i < m->count; i++)
        m->pages[i] = rd64(&r);
    if ((rc = rd_end(&r)))
        return rc;
    return page_req_valid(m);
}

/* ---- RECORD_ACK ----------------------------------------------------------- */

int om_record_ack_encode(const struct om_record_ack *m, uint8_t *out, size_t cap, size_t *len)
{
    struct wr w;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = wr_begin(OM_MSG_RECORD_ACK, OM_RECORD_ACK_FRAME - OM_FRAME_HDR, out, cap, len, &w)))
        return rc;
    w32(&w, m->stream_id);
    w64(&w, m->counter);
    wmem(&w, m->mac, sizeof m->mac);
    return wr_end(&w, len);
}

int om_record_ack_decode(const struct om_frame *f, struct om_record_ack *m)
{
    struct rd r;
    int rc;
    if (!m)
        return OM_PROTO_EINVAL;
    if ((rc = rd_begin(f, OM_MSG_RECORD_ACK, &r)))
        return rc;
    m->stream_id = rd32(&r);
    m->counter = rd64(&r);
    rdmem(&r, m->mac, sizeof m->mac);
    return rd_end(&r);
}

/* ---- any message ------------------------------------------------------------ */

int om_msg_decode(const struct om_frame *f, struct om_msg *m)
{
    if (!f || !m)
        return OM_PROTO_EINVAL;
    m->type = f->type;
    switch (f->type) {
    case OM_MSG_HELLO: return om_hello_decode(f, &m->u.hello);
    case OM_MSG_HELLO_REPLY: return om_hello_reply_decode(f, &m->u.hello_reply);
    case OM_MSG_STREAM_JOIN: return om_stream_join_decode(f, &m->u.stream_join);
    case OM_MSG_RECORD: return om_record_decode(f, &m->u.record);
    case OM_MSG_COMMIT:
    case OM_MSG_COMMIT_ACK: return om_commit_decode(f->type, f, &m->u.commit);
    case OM_MSG_ABORT: return om_abort_decode(f, &m->u.abort);
    case OM_MSG_PING:
    case OM_MSG_PONG: return om_ping_decode(f->type, f, &m->u.ping);
    case OM_MSG_PAGE_REQ: return om_page_req_decode(f, &m->u.page_req);
    case OM_MSG_RECORD_ACK: return om_record_ack_decode(f, &m->u.record_ack);
    default: return OM_PROTO_ETYPE;
    }
}

int om_msg_encode(const struct om_msg *m, uint8_t *out, size_t cap, size_t *len)
{
    if (!m)
        return OM_PROTO_EINVAL;
    switch (m->type) {
    case OM_MSG_HELLO: return om_hello_encode(&m->u.hello, out, cap, len);
    case OM_MSG_HELLO_REPLY: return om_hello_reply_encode(&m->u.hello_reply, out, cap, len);
    case OM_MSG_STREAM_JOIN: return om_stream_join_encode(&m->u.stream_join, out, cap, len);
    case OM_MSG_RECORD: return om_record_encode(&m->u.record, out, cap, len);
    case OM_MSG_COMMIT:
    case OM_MSG_COMMIT_ACK: return om_commit_encode(m->type, &m->u.commit, out, cap, len);
    case OM_MSG_ABORT: return om_abort_encode(&m->u.abort, out, cap, len);
    case OM_MSG_PING:
    case OM_MSG_PONG: return om_ping_encode(m->type, &m->u.ping, out, cap, len);
    case OM_MSG_PAGE_REQ: return om_page_req_encode(&m->u.page_req, out, cap, len);
    case OM_MSG_RECORD_ACK: return om_record_ack_encode(&m->u.record_ack, out, cap, len);
    default: return OM_PROTO_ETYPE;
    }
}
