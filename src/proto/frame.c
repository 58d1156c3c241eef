/* Framing: the 8-byte frame header, one-shot parse and the streaming decoder.
 * Freestanding: memcpy is the only library call. */
#include <string.h>

#include "wire.h"

const char *om_proto_strerror(int code)
{
    switch (code) {
    case OM_PROTO_OK: return "ok";
    case OM_PROTO_NEED_MORE: return "incomplete frame: more bytes needed";
    case OM_PROTO_ETRUNC: return "truncated message";
    case OM_PROTO_ELEN: return "length field out of range or trailing bytes";
    case OM_PROTO_EMAGIC: return "bad frame magic (not an optmig stream)";
    case OM_PROTO_EVERSION: return "unsupported protocol version";
    case OM_PROTO_ETYPE: return "unknown or unexpected message type";
    case OM_PROTO_EFIELD: return "invalid field value";
    case OM_PROTO_ENOSPC: return "output buffer too small";
    case OM_PROTO_EINVAL: return "invalid argument";
    default: return "unknown protocol error";
    }
}

/* Payload bounds per type; index = type. Exact sizes are fixed by wire.c's
 * layouts (see docs/PROTOCOL.md). */
static const struct {
    uint32_t min, max;
} bounds[OM_MSG_TYPE_MAX + 1] = {
    [OM_MSG_HELLO] = {OM_HELLO_FIXED + 1, OM_HELLO_FIXED + OM_PATH_MAX},
    [OM_MSG_HELLO_REPLY] = {OM_HELLO_REPLY_FIXED, OM_HELLO_REPLY_FIXED + OM_ERRMSG_MAX},
    [OM_MSG_STREAM_JOIN] = {49, 49},
    [OM_MSG_RECORD] = {OM_RECORD_HDR, OM_RECORD_HDR + OM_RECORD_CT_MAX},
    [OM_MSG_COMMIT] = {48, 48},
    [OM_MSG_COMMIT_ACK] = {48, 48},
    [OM_MSG_ABORT] = {6, 6 + OM_ERRMSG_MAX},
    [OM_MSG_PING] = {8, 8},
    [OM_MSG_PONG] = {8, 8},
    [OM_MSG_PAGE_REQ] = {2 + 8, 2 + 8 * OM_PAGE_REQ_MAX},
    [OM_MSG_RECORD_ACK] = {44, 44},
};

_Static_assert(OM_HELLO_FIXED + OM_PATH_MAX <= OM_FRAME_MAX_PAYLOAD, "hello fits a frame");
_Static_assert(OM_RECORD_HDR + OM_RECORD_CT_MAX <= OM_FRAME_MAX_PAYLOAD, "record fits a frame");
_Static_assert(OM_FRAME_MAX > OM_FRAME_MAX_PAYLOAD, "no overflow");

int om_msg_payload_bounds(uint8_t type, uint32_t *min, uint32_t *max)
{
    if (type < OM_MSG_TYPE_MIN || type > OM_MSG_TYPE_MAX)
        return OM_PROTO_ETYPE;
    if (min)
        *min = bounds[type].min;
    if (max)
        *max = bounds[type].max;
    return OM_PROTO_OK;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Checks the first n (<= OM_FRAME_HDR) header bytes. Returns OK once all 8
 * are present and valid (type and payload length set), NEED_MORE for a valid
 * prefix, or the first error the bytes present prove. */
static int check_header(const uint8_t *h, size_t n, uint8_t *type, uint32_t *plen)
{
    if (n >= 1 && h[0] != OM_FRAME_MAGIC0)
        return OM_PROTO_EMAGIC;
    if (n >= 2 && h[1] != OM_FRAME_MAGIC1)
        return OM_PROTO_EMAGIC;
    if (n >= 3 && h[2] != OM_PROTO_VERSION)
        return OM_PROTO_EVERSION;
    if (n >= 4 && (h[3] < OM_MSG_TYPE_MIN || h[3] > OM_MSG_TYPE_MAX))
        return OM_PROTO_ETYPE;
    if (n < OM_FRAME_HDR)
        return OM_PROTO_NEED_MORE;
    uint32_t len = get32(h + 4);
    if (len > OM_FRAME_MAX_PAYLOAD || len < bounds[h[3]].min || len > bounds[h[3]].max)
        return OM_PROTO_ELEN;
    *type = h[3];
    *plen = len;
    return OM_PROTO_OK;
}

int om_frame_parse(const uint8_t *buf, size_t len, struct om_frame *f, size_t *consumed)
{
    uint8_t type = 0;
    uint32_t plen = 0;
    int rc;

    if (!f || !consumed || (!buf && len))
        return OM_PROTO_EINVAL;
    *consumed = 0;
    rc = check_header(buf, len < OM_FRAME_HDR ? len : OM_FRAME_HDR, &type, &plen);
    if (rc != OM_PROTO_OK)
        return rc;
    if (len - OM_FRAME_HDR < plen)
        return OM_PROTO_NEED_MORE;
    f->version = buf[2];
    f->type = type;
    f->len = plen;
    f->payload = buf + OM_FRAME_HDR;
    *consumed = OM_FRAME_HDR + (size_t)plen;
    return OM_PROTO_OK;
}

int om_frame_write_header(uint8_t out[OM_FRAME_HDR], uint8_t type, uint32_t payload_len)
{
    if (!out)
        return OM_PROTO_EINVAL;
    if (type < OM_MSG_TYPE_MIN || type > OM_MSG_TYPE_MAX)
        return OM_PROTO_ETYPE;
    if (payload_len < bounds[type].min || payload_len > bounds[type].max)
        return OM_PROTO_ELEN;
    out[0] = OM_FRAME_MAGIC0;
    out[1] = OM_FRAME_MAGIC1;
    out[2] = OM_PROTO_VERSION;
    out[3] = type;
    out[4] = (uint8_t)payload_len;
    out[5] = (uint8_t)(payload_len >> 8);
    out[6] = (uint8_t)(payload_len >> 16);
    out[7] = (uint8_t)(payload_len >> 24);
    return OM_PROTO_OK;
}

int om_frame_decoder_init(struct om_frame_decoder *d, uint8_t *buf, size_t cap)
{
    if (!d)
        return OM_PROTO_EINVAL;
    d->buf = buf;
    d->cap = cap;
    d->have = 0;
    d->need = 0;
    d->err = 0;
    if (!buf || cap < OM_FRAME_HDR) {
        d->err = OM_PROTO_EINVAL;
        return OM_PROTO_EINVAL;
    }
    return OM_PROTO_OK;
}

static int fail(struct om_frame_decoder *d, int rc)
{
    d->err = rc;
    return rc;
}

static void frame_from(struct om_frame *f, const uint8_t *frame)
{
    f->version = frame[2];
    f->type = frame[3];
    f->len = get32(frame + 4);
    f->payload = frame + OM_FRAME_HDR;
}

int om_frame_decoder_feed(struct om_frame_decoder *d, const uint8_t *data, size_t len,
                          size_t *used, struct om_frame *f)
{
    size_t n;
    uint8_t type;
    uint32_t plen;
    int rc;

    if (used)
        *used = 0;
    if (!d || !used || !f || (!data && len))
        return OM_PROTO_EINVAL;
    if (d->err)
        return d->err;
    if (len == 0)
        return OM_PROTO_NEED_MORE;

    /* Fast path: a whole frame at the start of the input while nothing is
     * buffered is returned in place. Same checks as the slow path below. */
    if (d->have == 0 && len >= OM_FRAME_HDR) {
        size_t consumed;
        rc = om_frame_parse(data, len, f, &consumed);
        if (rc < 0)
            return fail(d, rc);
        if (rc == OM_PROTO_OK) {
            if (consumed > d->cap)
                return fail(d, OM_PROTO_ELEN);
            *used = consumed;
            return OM_PROTO_OK;
        }
    }

    /* Header: take at most what completes it, checking each prefix. */
    if (d->have < OM_FRAME_HDR) {
        n = OM_FRAME_HDR - d->have;
        if (n > len)
            n = len;
        memcpy(d->buf + d->have, data, n);
        d->have += n;
        *used = n;
        rc = check_header(d->buf, d->have, &type, &plen);
        if (rc < 0)
            return fail(d, rc);
        if (rc == OM_PROTO_NEED_MORE)
            return OM_PROTO_NEED_MORE;
        /* plen <= OM_FRAME_MAX_PAYLOAD, so this cannot overflow */
        d->need = OM_FRAME_HDR + (size_t)plen;
        if (d->need > d->cap)
            return fail(d, OM_PROTO_ELEN);
    }

    /* Payload. */
    n = d->need - d->have;
    if (n > len - *used)
        n = len - *used;
    if (n) {
        memcpy(d->buf + d->have, data + *used, n);
        d->have += n;
        *used += n;
    }
    if (d->have < d->need)
        return OM_PROTO_NEED_MORE;
    frame_from(f, d->buf);
    d->have = 0;
    d->need = 0;
    return OM_PROTO_OK;
}

int om_frame_decoder_finish(const struct om_frame_decoder *d)
{
    if (!d)
        return OM_PROTO_EINVAL;
    if (d->err)
        return d->err;
    return d->have ? OM_PROTO_ETRUNC : OM_PROTO_OK;
}
