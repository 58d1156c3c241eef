/* libFuzzer target: the wire protocol codec (src/proto) on arbitrary bytes.
 *
 * 1. The input as a byte stream: om_frame_parse frame by frame, and the
 *    streaming decoder fed the same bytes split three ways (whole, one byte at
 *    a time, pseudo-random chunks copied to exact-size buffers), and with a
 *    small buffer. All must yield the same frames and end the same way.
 * 2. Every frame, and the whole input taken as the payload of every message
 *    type, goes through the decoders. Whatever decodes must re-encode to the
 *    identical bytes (one encoding per message), and a failure must be one of
 *    the documented error codes.
 * Any violation aborts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "wire.h"

#define MAX_FRAMES 4096
#define SMALL_CAP 512

struct seen {
    size_t off, len; /* whole frame in the input */
};

static struct seen g_frames[MAX_FRAMES];
static uint8_t g_dbuf[OM_FRAME_MAX];
static uint8_t g_small[SMALL_CAP];
static uint8_t g_enc[OM_FRAME_MAX];
static struct om_msg g_msg;

static const uint8_t all_types[] = {
    OM_MSG_HELLO,  OM_MSG_HELLO_REPLY, OM_MSG_STREAM_JOIN, OM_MSG_RECORD,
    OM_MSG_COMMIT, OM_MSG_COMMIT_ACK,  OM_MSG_ABORT,       OM_MSG_PING,
    OM_MSG_PONG,   OM_MSG_PAGE_REQ,    OM_MSG_RECORD_ACK,
};

static void check(int cond)
{
    if (!cond)
        abort();
}

static int known_error(int rc)
{
    return rc == OM_PROTO_ETRUNC || rc == OM_PROTO_ELEN || rc == OM_PROTO_EMAGIC ||
           rc == OM_PROTO_EVERSION || rc == OM_PROTO_ETYPE || rc == OM_PROTO_EFIELD;
}

static int decode_as(uint8_t u, const struct om_frame *f, struct om_msg *m)
{
    m->type = u;
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
    abort();
}

/* f decoded into g_msg: the re-encoding must be the frame's exact bytes. */
static void check_canonical(const struct om_frame *f)
{
    size_t len;
    uint8_t hdr[OM_FRAME_HDR];
    check(om_msg_encode(&g_msg, g_enc, sizeof g_enc, &len) == OM_PROTO_OK);
    check(om_frame_write_header(hdr, f->type, f->len) == OM_PROTO_OK);
    check(len == OM_FRAME_HDR + (size_t)f->len);
    check(!memcmp(g_enc, hdr, OM_FRAME_HDR));
    check(!memcmp(g_enc + OM_FRAME_HDR, f->payload, f->len));
    if (f->type == OM_MSG_RECORD) { /* zero copy, inside the payload */
        const struct om_record *r = &g_msg.u.record;
        check(r->ct == f->payload + OM_RECORD_HDR && r->ct_len == f->len - OM_RECORD_HDR);
    }
    if (f->type == OM_MSG_HELLO)
        check(g_msg.u.hello.path[g_msg.u.hello.path_len] == '\0' &&
              strlen(g_msg.u.hello.path) == g_msg.u.hello.path_len);
}

/* Runs the decoder of every type on f's payload; only f's own type (and
 * only if the bytes are right) may succeed. */
static void decode_all(const struct om_frame *f, int must_match_type)
{
    for (size_t i = 0; i < sizeof all_types; i++) {
        struct om_frame g = *f;
        if (!must_match_type)
            g.type = all_types[i];
        int rc = decode_as(all_types[i], &g, &g_msg);
        if (rc == OM_PROTO_OK) {
            check(g.type == all_types[i]);
            check_canonical(&g);
        } else {
            check(known_error(rc));
            check(om_proto_strerror(rc) != NULL);
        }
    }
}

static uint64_t mix(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A chunk of n bytes sits at the very end of g_chunk with the GUARD bytes
 * before it poisoned, so ASan reports a read on either side of it; bigger
 * chunks get their own allocation. */
#define GUARD 64
static uint8_t g_chunk[1 << 16];

static uint8_t *chunk_get(const uint8_t *src, size_t n)
{
    uint8_t *c;
    if (n > sizeof g_chunk - GUARD) {
        c = malloc(n);
        check(c != NULL);
    } else {
        c = g_chunk + sizeof g_chunk - n;
        ASAN_POISON_MEMORY_REGION(c - GUARD, GUARD);
    }
    memcpy(c, src, n);
    return c;
}

static void chunk_put(uint8_t *c, size_t n)
{
    if (n > sizeof g_chunk - GUARD)
        free(c);
    else
        ASAN_UNPOISON_MEMORY_REGION(c - GUARD, GUARD);
}

/* Feeds data to a decoder with buffer cap in chunks from chunk(); checks the
 * frames against g_frames[0..nframes) and the ending against want_end, which
 * is OM_PROTO_OK (clean end), OM_PROTO_ETRUNC (partial frame) or an error. */
static void stream_check(const uint8_t *data, size_t size, uint8_t *buf, size_t cap,
                         int mode, uint64_t seed, size_t nframes, int want_end)
{
    struct om_frame_decoder d;
    struct om_frame f;
    size_t pos = 0, got = 0, used;
    int end = OM_PROTO_OK;

    check(om_frame_decoder_init(&d, buf, cap) == OM_PROTO_OK);
    while (pos < size && end == OM_PROTO_OK) {
        size_t n = mode == 0 ? size - pos : mode == 1 ? 1 : 1 + (seed = mix(seed + 1)) % 67;
        if (n > size - pos)
            n = size - pos;
        uint8_t *chunk = chunk_get(data + pos, n);
        size_t at = 0;
        while (at < n) {
            int rc = om_frame_decoder_feed(&d, chunk + at, n - at, &used, &f);
            check(used <= n - at);
            at += used;
            if (rc == OM_PROTO_NEED_MORE) {
                check(at == n);
                break;
            }
            if (rc < 0) {
                end = rc;
                break;
            }
            check(rc == OM_PROTO_OK && got < nframes);
            const struct seen *s = &g_frames[got++];
            check(f.len == s->len - OM_FRAME_HDR && f.type == data[s->off + 3]);
            check(!memcmp(f.payload, data + s->off + OM_FRAME_HDR, f.len));
        }
        chunk_put(chunk, n);
        pos += n;
    }
    check(got == nframes);
    if (end == OM_PROTO_OK)
        end = om_frame_decoder_finish(&d);
    check(end == want_end);
    check(om_frame_decoder_finish(&d) == end);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct om_frame f;
    size_t pos = 0, consumed, nframes = 0;
    int end;
    static const uint8_t none[1];

    if (!data) { /* libFuzzer passes a pointer even for no bytes; be sure */
        data = none;
        size = 0;
    }

    /* 1. one frame after another */
    for (;;) {
        int rc = om_frame_parse(data + pos, size - pos, &f, &consumed);
        if (rc == OM_PROTO_NEED_MORE) {
            check(consumed == 0);
            end = pos == size ? OM_PROTO_OK : OM_PROTO_ETRUNC;
            break;
        }
        if (rc != OM_PROTO_OK) {
            check(known_error(rc) && consumed == 0);
            end = rc;
            break;
        }
        check(consumed >= OM_FRAME_HDR && consumed <= size - pos);
        check(consumed == OM_FRAME_HDR + (size_t)f.len && f.payload == data + pos + OM_FRAME_HDR);
        check(f.version == OM_PROTO_VERSION && f.len <= OM_FRAME_MAX_PAYLOAD);
        if (nframes == MAX_FRAMES)
            return 0; /* more frames than we keep: not worth checking */
        g_frames[nframes].off = pos;
        g_frames[nframes].len = consumed;
        nframes++;
        decode_all(&f, 1);
        pos += consumed;
    }

    /* the same stream through the streaming decoder, split three ways */
    uint64_t seed = mix(size);
    for (size_t i = 0; i < size && i < 16; i++)
        seed = mix(seed ^ data[i]);
    stream_check(data, size, g_dbuf, sizeof g_dbuf, 0, seed, nframes, end);
    if (size <= 8192)
        stream_check(data, size, g_dbuf, sizeof g_dbuf, 1, seed, nframes, end);
    stream_check(data, size, g_dbuf, sizeof g_dbuf, 2, seed, nframes, end);

    /* with a small buffer: the same, up to the first frame too big for it */
    size_t small_frames = nframes;
    int small_end = end;
    for (size_t i = 0; i < nframes; i++)
        if (g_frames[i].len > SMALL_CAP) {
            small_frames = i;
            small_end = OM_PROTO_ELEN;
            break;
        }
    if (small_frames == nframes && end == OM_PROTO_ETRUNC && size - pos >= OM_FRAME_HDR) {
        const uint8_t *h = data + pos; /* a valid header of an unfinished frame */
        uint32_t plen = (uint32_t)h[4] | (uint32_t)h[5] << 8 | (uint32_t)h[6] << 16 |
                        (uint32_t)h[7] << 24;
        if (OM_FRAME_HDR + (size_t)plen > SMALL_CAP)
            small_end = OM_PROTO_ELEN;
    }
    stream_check(data, size, g_small, sizeof g_small, 0, seed, small_frames, small_end);
    stream_check(data, size, g_small, sizeof g_small, 2, seed, small_frames, small_end);

    /* 2. the whole input as the payload of each message type */
    if (size <= UINT32_MAX) {
        f.version = OM_PROTO_VERSION;
        f.type = 0;
        f.len = (uint32_t)size;
        f.payload = data;
        decode_all(&f, 0);
        check(om_msg_decode(&f, &g_msg) == OM_PROTO_ETYPE);
    }
    return 0;
}
