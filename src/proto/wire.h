/* The migration wire protocol: framing and message codec (see docs/PROTOCOL.md).
 *
 * Shared by the untrusted host (which relays frames between sockets) and the
 * trusted runtime inside the enclave (which parses what it receives). It is
 * therefore freestanding C: no allocation, no system calls, and no library
 * function beyond memcpy, memset and memcmp.
 *
 * Every byte handed to a decoder is hostile. Decoders read only the bytes they
 * were given, bound every length field before using it, and accept exactly one
 * encoding per message: if a decode function returns OM_PROTO_OK, encoding the
 * decoded struct yields the same bytes again. Encoders apply the same rules,
 * so an encoder never emits what a decoder would refuse.
 *
 * All integers on the wire are little-endian and fixed-width. */
#ifndef OPTMIG_PROTO_WIRE_H
#define OPTMIG_PROTO_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* ---- results ------------------------------------------------------------ */

#define OM_PROTO_OK 0
#define OM_PROTO_NEED_MORE 1    /* not an error: the frame is incomplete so far */
#define OM_PROTO_ETRUNC (-1)    /* the data ends before the message does */
#define OM_PROTO_ELEN (-2)      /* a length field is out of range, or bytes are left over */
#define OM_PROTO_EMAGIC (-3)    /* frame does not start with "OM" */
#define OM_PROTO_EVERSION (-4)  /* unsupported protocol version */
#define OM_PROTO_ETYPE (-5)     /* unknown frame type, or a decoder given another type */
#define OM_PROTO_EFIELD (-6)    /* a field holds a value the protocol does not allow */
#define OM_PROTO_ENOSPC (-7)    /* encode: output buffer too small */
#define OM_PROTO_EINVAL (-8)    /* API misuse: NULL pointer, decoder buffer too small */

/* A static, NUL-terminated description of any value above; never NULL. */
const char *om_proto_strerror(int code);

/* ---- framing ------------------------------------------------------------ */

#define OM_PROTO_VERSION 1
#define OM_FRAME_MAGIC0 0x4f /* 'O' */
#define OM_FRAME_MAGIC1 0x4d /* 'M' */
#define OM_FRAME_HDR 8u
#define OM_FRAME_MAX_PAYLOAD ((4u << 20) + 4096u)
#define OM_FRAME_MAX (OM_FRAME_HDR + OM_FRAME_MAX_PAYLOAD)

enum om_msg_type {
    OM_MSG_HELLO = 1,       /* source -> destination, control stream */
    OM_MSG_HELLO_REPLY = 2, /* destination -> source */
    OM_MSG_STREAM_JOIN = 3, /* source -> destination, first frame on an extra stream */
    OM_MSG_RECORD = 4,      /* source -> destination: one sealed unit of state */
    OM_MSG_COMMIT = 5,      /* destination -> source: manifest verified */
    OM_MSG_COMMIT_ACK = 6,  /* source -> destination: source has given up the enclave */
    OM_MSG_ABORT = 7,       /* either way */
    OM_MSG_PING = 8,        /* either way */
    OM_MSG_PONG = 9,        /* answer to PING, same token */
    OM_MSG_PAGE_REQ = 10,   /* destination -> source (post-copy): send these pages first */
    OM_MSG_RECORD_ACK = 11, /* destination -> source (post-copy): records installed */
};
#define OM_MSG_TYPE_MIN OM_MSG_HELLO
#define OM_MSG_TYPE_MAX OM_MSG_RECORD_ACK

/* A complete frame. payload points into the buffer it was parsed from. */
struct om_frame {
    uint8_t version;
    uint8_t type;
    uint32_t len; /* payload bytes */
    const uint8_t *payload;
};

/* Smallest and largest payload the given frame type may have, or -1 (ETYPE)
 * for an unknown type. Frames outside these bounds are refused while the
 * header is parsed, before their payload is buffered. */
int om_msg_payload_bounds(uint8_t type, uint32_t *min, uint32_t *max);

/* Parses one frame from the start of buf[0..len). Returns OM_PROTO_OK with *f
 * and *consumed (header + payload) set, OM_PROTO_NEED_MORE if buf holds a
 * valid prefix of a frame but not all of it, or a negative error as soon as
 * the bytes present prove the frame bad. Never reads outside buf[0..len). */
int om_frame_parse(const uint8_t *buf, size_t len, struct om_frame *f, size_t *consumed);

/* Writes the 8-byte frame header. Fails (EFIELD/ELEN/ETYPE) for a type or
 * length om_frame_parse would refuse. */
int om_frame_write_header(uint8_t out[OM_FRAME_HDR], uint8_t type, uint32_t payload_len);

/* Streaming decoder for a byte stream (a TCP connection). The caller provides
 * the buffer; frames longer than it are refused with OM_PROTO_ELEN, so a
 * buffer of OM_FRAME_MAX bytes accepts every valid frame. */
struct om_frame_decoder {
    uint8_t *buf;
    size_t cap;
    size_t have; /* bytes of the current frame held in buf */
    size_t need; /* total size of the current frame once its header is known, else 0 */
    int err;     /* sticky: once set, every feed returns it */
};

/* cap must be at least OM_FRAME_HDR. */
int om_frame_decoder_init(struct om_frame_decoder *d, uint8_t *buf, size_t cap);

/* Feeds data[0..len). Consumes bytes until one frame is complete or the input
 * is exhausted, and stores the count in *used. Returns:
 *   OM_PROTO_OK         a frame is in *f; call again with data + *used for more;
 *   OM_PROTO_NEED_MORE  every byte was consumed and no frame is complete yet;
 *   < 0                 the stream is bad; the decoder stays failed.
 * f->payload stays valid until the next call: it points either into the
 * decoder's buffer or, when a whole frame arrived in one piece, into data
 * itself (no copy), so the caller must keep data until it is done with f.
 * The result does not depend on how the stream is split into calls. */
int om_frame_decoder_feed(struct om_frame_decoder *d, const uint8_t *data, size_t len,
                          size_t *used, struct om_frame *f);

/* At end of stream: OM_PROTO_OK if no partial frame is pending, otherwise
 * OM_PROTO_ETRUNC (or the sticky error). */
int om_frame_decoder_finish(const struct om_frame_decoder *d);

/* ---- message fields ----------------------------------------------------- */

#define OM_MIG_ID_LEN 16
#define OM_MEASUREMENT_LEN 32
#define OM_NONCE_LEN 32
#define OM_KX_PUB_LEN 32       /* X25519 public key */
#define OM_PLATFORM_PUB_LEN 65 /* uncompressed P-256 point (opaque to the codec) */
#define OM_SIG_LEN 64
#define OM_MAC_LEN 32
#define OM_TAG_LEN 16          /* AES-GCM tag */
#define OM_PATH_MAX 4096       /* image path bytes, without terminator */
#define OM_ERRMSG_MAX 256      /* refusal / abort text bytes, without terminator */
#define OM_MAX_STREAMS 16
#define OM_RECORD_CT_MAX (4u << 20)
#define OM_PAGE_REQ_MAX 512

/* HELLO.role */
enum om_role {
    OM_ROLE_MIGRATE = 1, /* a new migration */
    OM_ROLE_RESUME = 2,  /* reconnect to the migration named by mig_id (post-copy recovery) */
};

/* HELLO.strategy */
enum om_strategy {
    OM_STRATEGY_STOP_COPY = 1,
    OM_STRATEGY_PRECOPY = 2,
    OM_STRATEGY_POSTCOPY = 3,
    OM_STRATEGY_HYBRID = 4,
};

/* RECORD.rtype. Values not listed are refused (EFIELD); new ones take the
 * next free number. */
enum om_rec_type {
    OM_REC_PAGE = 1,      /* one heap/image page: ct_len == 4096 */
    OM_REC_PAGE_ZERO = 2, /* an all-zero page: ct_len == 0, tag still authenticates */
    OM_REC_THREAD = 3,    /* one thread's saved context */
    OM_REC_RUNTIME = 4,   /* trusted-runtime state: allocator metadata, vmem map, ... */
    OM_REC_FILE_DESC = 5, /* description of host-side resources to re-create */
    OM_REC_MANIFEST = 6,  /* pages and versions the destination must hold */
};
#define OM_REC_TYPE_MAX OM_REC_MANIFEST

/* ABORT.code: suggested values; the codec accepts any non-zero code. */
enum om_abort_code {
    OM_ABORT_PROTOCOL = 1,    /* malformed or unexpected message */
    OM_ABORT_REFUSED = 2,     /* peer refused (measurement, layout, busy) */
    OM_ABORT_ATTESTATION = 3, /* quote or key confirmation failed */
    OM_ABORT_INTEGRITY = 4,   /* record failed authentication, replay, manifest mismatch */
    OM_ABORT_TIMEOUT = 5,
    OM_ABORT_INTERNAL = 6,
    OM_ABORT_USER = 7,        /* operator cancelled */
};

struct om_wire_quote {
    uint8_t measurement[OM_MEASUREMENT_LEN];
    uint8_t report_data[32];
    uint8_t platform_pub[OM_PLATFORM_PUB_LEN];
    uint8_t sig[OM_SIG_LEN];
};

struct om_layout_params {
    uint64_t base;        /* non-zero multiple of 4 GiB (OM_RANGE_ALIGN) */
    uint64_t heap_size;   /* non-zero; the layout code checks the rest */
    uint32_t max_threads; /* 1..OM_MAX_THREADS */
};

struct om_hello {
    uint16_t version;  /* == OM_PROTO_VERSION */
    uint8_t role;      /* enum om_role */
    uint8_t strategy;  /* enum om_strategy */
    uint8_t nstreams;  /* 1..OM_MAX_STREAMS TCP streams, the control stream included */
    uint8_t mig_id[OM_MIG_ID_LEN];
    struct om_layout_params layout;
    uint8_t measurement[OM_MEASUREMENT_LEN];
    uint8_t nonce[OM_NONCE_LEN];
    uint8_t kx_pub[OM_KX_PUB_LEN];
    struct om_wire_quote quote;
    uint16_t path_len;            /* 1..OM_PATH_MAX */
    char path[OM_PATH_MAX + 1];   /* no NUL in path[0..path_len); decode NUL-terminates */
};

struct om_hello_reply {
    uint8_t mig_id[OM_MIG_ID_LEN];
    uint8_t accept; /* 1 accepted, 0 refused */
    uint8_t measurement[OM_MEASUREMENT_LEN];
    uint8_t nonce[OM_NONCE_LEN];
    uint8_t kx_pub[OM_KX_PUB_LEN];
    struct om_wire_quote quote;
    uint16_t err_len;             /* 0 if accepted, 1..OM_ERRMSG_MAX if refused */
    char err[OM_ERRMSG_MAX + 1];  /* printable ASCII; decode NUL-terminates */
};

struct om_stream_join {
    uint8_t mig_id[OM_MIG_ID_LEN];
    uint8_t index; /* 1..OM_MAX_STREAMS-1; stream 0 is the control stream */
    uint8_t mac[OM_MAC_LEN];
};

/* The sealed unit. ct points at ct_len ciphertext bytes: on decode, into the
 * frame's payload (zero copy, valid as long as the frame is). */
struct om_record {
    uint8_t rtype;      /* enum om_rec_type */
    uint32_t stream_id; /* with counter: the AEAD nonce */
    uint64_t counter;
    uint64_t page;      /* page number (PAGE, PAGE_ZERO); type-specific index otherwise */
    uint64_t version;   /* page version */
    uint32_t ct_len;    /* 0..OM_RECORD_CT_MAX; PAGE: 4096, PAGE_ZERO: 0 */
    uint8_t tag[OM_TAG_LEN];
    const uint8_t *ct;
};
#define OM_RECORD_HDR 49u /* record header bytes before the ciphertext */
#define OM_RECORD_PREFIX (OM_FRAME_HDR + OM_RECORD_HDR)

/* COMMIT and COMMIT_ACK: the MAC (session key, opaque to the codec) stops the
 * untrusted relay from forging a switchover. */
struct om_commit {
    uint8_t mig_id[OM_MIG_ID_LEN];
    uint8_t mac[OM_MAC_LEN];
};

struct om_abort {
    uint32_t code;                /* non-zero, enum om_abort_code suggested */
    uint16_t msg_len;             /* 0..OM_ERRMSG_MAX */
    char msg[OM_ERRMSG_MAX + 1];  /* printable ASCII; decode NUL-terminates */
};

struct om_ping {
    uint64_t token;
};

struct om_page_req {
    uint16_t count; /* 1..OM_PAGE_REQ_MAX */
    uint64_t pages[OM_PAGE_REQ_MAX];
};

struct om_record_ack {
    uint32_t stream_id;
    uint64_t counter; /* every record of stream_id up to and including counter is installed */
    uint8_t mac[OM_MAC_LEN];
};

/* Largest encoded frame of each kind (header included). */
#define OM_HELLO_FIXED 332u
#define OM_HELLO_REPLY_FIXED 308u
#define OM_HELLO_FRAME_MAX (OM_FRAME_HDR + OM_HELLO_FIXED + OM_PATH_MAX)
#define OM_HELLO_REPLY_FRAME_MAX (OM_FRAME_HDR + OM_HELLO_REPLY_FIXED + OM_ERRMSG_MAX)
#define OM_STREAM_JOIN_FRAME (OM_FRAME_HDR + 49u)
#define OM_RECORD_FRAME_MAX (OM_RECORD_PREFIX + OM_RECORD_CT_MAX)
#define OM_COMMIT_FRAME (OM_FRAME_HDR + 48u)
#define OM_ABORT_FRAME_MAX (OM_FRAME_HDR + 6u + OM_ERRMSG_MAX)
#define OM_PING_FRAME (OM_FRAME_HDR + 8u)
#define OM_PAGE_REQ_FRAME_MAX (OM_FRAME_HDR + 2u + 8u * OM_PAGE_REQ_MAX)
#define OM_RECORD_ACK_FRAME (OM_FRAME_HDR + 44u)

/* ---- encode / decode -----------------------------------------------------
 * encode: writes one whole frame (header + payload) to out[0..cap) and its
 *   size to *len. Returns OM_PROTO_OK, OM_PROTO_ENOSPC, or the error a decoder
 *   would give the message (EFIELD, ELEN, EVERSION).
 * decode: f must be a frame of the matching type (else ETYPE); checks the
 *   exact payload length rules and every field. On error *m is unspecified. */

int om_hello_encode(const struct om_hello *m, uint8_t *out, size_t cap, size_t *len);
int om_hello_decode(const struct om_frame *f, struct om_hello *m);

int om_hello_reply_encode(const struct om_hello_reply *m, uint8_t *out, size_t cap, size_t *len);
int om_hello_reply_decode(const struct om_frame *f, struct om_hello_reply *m);

int om_stream_join_encode(const struct om_stream_join *m, uint8_t *out, size_t cap, size_t *len);
int om_stream_join_decode(const struct om_frame *f, struct om_stream_join *m);

/* Copies ct_len bytes from m->ct unless m->ct already is out + OM_RECORD_PREFIX
 * (sealed in place). */
int om_record_encode(const struct om_record *m, uint8_t *out, size_t cap, size_t *len);
/* Frame header + record header only, for scatter-gather sends: the ct_len
 * ciphertext bytes must follow on the wire. m->ct is not read. */
int om_record_encode_prefix(const struct om_record *m, uint8_t out[OM_RECORD_PREFIX]);
int om_record_decode(const struct om_frame *f, struct om_record *m);

/* type is OM_MSG_COMMIT or OM_MSG_COMMIT_ACK. */
int om_commit_encode(uint8_t type, const struct om_commit *m, uint8_t *out, size_t cap,
                     size_t *len);
int om_commit_decode(uint8_t type, const struct om_frame *f, struct om_commit *m);

int om_abort_encode(const struct om_abort *m, uint8_t *out, size_t cap, size_t *len);
int om_abort_decode(const struct om_frame *f, struct om_abort *m);

/* type is OM_MSG_PING or OM_MSG_PONG. */
int om_ping_encode(uint8_t type, const struct om_ping *m, uint8_t *out, size_t cap, size_t *len);
int om_ping_decode(uint8_t type, const struct om_frame *f, struct om_ping *m);

int om_page_req_encode(const struct om_page_req *m, uint8_t *out, size_t cap, size_t *len);
int om_page_req_decode(const struct om_frame *f, struct om_page_req *m);

int om_record_ack_encode(const struct om_record_ack *m, uint8_t *out, size_t cap, size_t *len);
int om_record_ack_decode(const struct om_frame *f, struct om_record_ack *m);

/* Any message, tagged by its frame type; for code that dispatches on type. */
struct om_msg {
    uint8_t type; /* enum om_msg_type */
    union {
        struct om_hello hello;
        struct om_hello_reply hello_reply;
        struct om_stream_join stream_join;
        struct om_record record;
        struct om_commit commit;         /* COMMIT, COMMIT_ACK */
        struct om_abort abort;
        struct om_ping ping;             /* PING, PONG */
        struct om_page_req page_req;
        struct om_record_ack record_ack;
    } u;
};

/* Decodes f by its type (ETYPE for an unknown one), m->type = f->type. */
int om_msg_decode(const struct om_frame *f, struct om_msg *m);
/* Encodes m by m->type. */
int om_msg_encode(const struct om_msg *m, uint8_t *out, size_t cap, size_t *len);

#endif
