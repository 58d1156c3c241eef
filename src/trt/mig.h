/* Migration inside the enclave: the session (keys, streams) and the flows of
 * both ends. Everything here runs on ECALL threads: no TLS, no malloc. */
#ifndef OM_MIG_H
#define OM_MIG_H
#include "om_crypto.h"
#include "trt.h"
#include "wire.h"

#define OM_MIG_BUF (256u << 10)
/* Page runs announced before the stop, so the destination can back them
 * with memory while the source still runs. */
#define OM_MIG_MAX_RUNS 2048
/* Frames on record streams are never larger than this (a sealed page). */
#define OM_MIG_FRAME_MAX (64u << 10)

/* A stream end: the sealer or opener and a running hash of what passed. */
struct om_mig_stream {
    uint8_t buf[OM_MIG_BUF]; /* enclave-side staging: sealed here, then copied out */
    size_t have, off;        /* receive side: bytes in buf, parse offset */
    struct om_sealer sealer;
    struct om_opener opener;
    uint8_t hash_state[128]; /* br_sha256_context */
    uint64_t records, pages, zero_pages, bytes;
    uint8_t bounce[OM_PAGE_SIZE] __attribute__((aligned(64)));
    uint8_t *obuf;           /* send side: staging for sealed records */
    size_t ohave;
    int32_t fd;
    volatile int done;
    volatile uint64_t ack_seq; /* source: last command of the coordinator done */
    int64_t error;
};

/* Per-process, never sent: lives in om_priv's migration area. */
struct om_mig_session {
    volatile int phase; /* enum below */
    int64_t error;
    uint32_t nstreams;
    uint8_t mig_id[16];
    struct om_session_keys keys;
    uint8_t meas_self[32];
    struct om_mig_args args; /* trusted copy */
    struct om_mig_stream st[OM_MIG_MAX_STREAMS];
    uint8_t manifest_hash[32];
    uint8_t hello[OM_HELLO_FRAME_MAX]; /* this side's or the peer's HELLO, for the transcript */
    size_t hello_len;
    char why[OM_ERRMSG_MAX + 64];
    struct om_page_run { uint64_t first, count; } runs[OM_MIG_MAX_RUNS];
    /* Live strategies: the coordinator's commands to the stream workers. */
    uint32_t strategy, tracker;
    uint32_t resuming;        /* this session reconnects an interrupted post-copy */
    volatile uint64_t cmd_seq;
    volatile uint32_t cmd;    /* MIG_CMD_* bits */
    uint64_t version;         /* page version of the pages being sent */
    uint32_t phase_no;        /* end markers: 1 switchover, 2 post-copy done */
    volatile uint64_t installed; /* destination, post-copy: pending pages installed */
    uint64_t pending;         /* pages still to come after switchover */
    uint8_t out0[OM_MIG_BUF]; /* stream 0 sends and receives at once after switchover */
    /* A post-copy cut after the switchover: what a reconnection needs
     * (the bitmaps stay in the tracker's metadata area). Never cleared by
     * a new session's start. */
    struct om_mig_resume {
        int valid;
        uint8_t mig_id[16], manifest_hash[32];
        uint32_t strategy, tracker;
        uint64_t pending, installed, version;
    } res;
};
enum { MIG_IDLE = 0, MIG_KEYED, MIG_SEND, MIG_PUSH, MIG_DONE, MIG_ABORTED };
enum { MIG_CMD_HEAP = 1, MIG_CMD_STATE = 2, MIG_CMD_END = 4, MIG_CMD_PUSH = 8, MIG_CMD_QUIT = 16 };
/* ECALL slot of the destination's page requester (post-copy). */
#define OM_MIG_REQUESTER_SLOT OM_MIG_MAX_STREAMS

struct om_mig_session *om_mig_session(void);
size_t om_mig_session_span(void);
/* Post-copy and hybrid leave pages behind the switchover. */
static inline int om_mig_is_post(uint32_t strategy)
{
    return strategy == OM_STRATEGY_POSTCOPY || strategy == OM_STRATEGY_HYBRID;
}

int64_t om_mig_out(struct om_ssa *ssa, uint32_t slot, uint64_t args);
/* A source whose post-copy was cut may still be entered, to resume it. */
int om_mig_resumable(void);
void om_mig_save_resume(struct om_mig_session *s);
void om_mig_load_resume(struct om_mig_session *s);
int64_t om_mig_in(struct om_ssa *ssa, uint32_t slot, uint64_t args);

/* Stream I/O through the boundary: frames are built in, and read into, the
 * thread's untrusted scratch; anything parsed is first copied in. */
int om_mig_send(struct om_ssa *ssa, int fd, const void *untrusted_buf, size_t len);
/* Receives one whole frame of at most cap bytes into buf (enclave memory). */
int om_mig_recv_frame(struct om_ssa *ssa, int fd, uint8_t *buf, size_t cap, struct om_frame *f,
                      uint32_t timeout_ms);
uint64_t om_mig_now_ns(struct om_ssa *ssa);
void om_mig_sleep_us(struct om_ssa *ssa, uint64_t us);
void om_mig_mac(const uint8_t key[32], const char *label, const uint8_t *data, size_t len, uint8_t out[32]);
int om_mig_quote(struct om_ssa *ssa, const uint8_t rd[32], struct om_quote *q);

/* The pages that make up the enclave's state, in increasing address order. */
struct om_page_iter {
    int region, skip_heap;
    uint64_t addr, end;
};
/* skip_heap: a live strategy moves the heap pages itself. */
void om_pages_begin(struct om_page_iter *it, int skip_heap);
/* Next candidate page, or 0 when done. Pages never written may be skipped. */
uint64_t om_pages_next(struct om_page_iter *it);
/* May a received page be installed at addr? */
int om_page_restorable(uint64_t addr);
/* Is this page zero on a fresh destination (so a zero page need not travel)? */
int om_page_starts_zero(uint64_t addr);
void om_pages_clear_stack(void);
int om_page_is_zero(uint64_t addr);

/* vmem: protection map, for export and for the destination's mappings. */
int om_vmem_page_readable(uint64_t addr);
int om_vmem_page_used(uint64_t addr);
uint64_t om_vmem_next_used(uint64_t addr);
int om_vmem_page_dead(uint64_t addr);
int om_vmem_page_zombie(uint64_t addr);
int64_t om_vmem_restore_mappings(struct om_ssa *ssa);
int64_t om_vmem_commit_all(struct om_ssa *ssa);
void om_vmem_reap_all(void);

/* Host-side resources (files, listening sockets). */
void om_fd_note(struct om_ssa *ssa, int64_t nr, const int64_t a[6], int64_t ret);
int om_fd_capture(struct om_ssa *ssa);
int om_fd_restore(struct om_ssa *ssa);
void om_fd_release(struct om_ssa *ssa);
#endif
