/* The contract between the untrusted host runtime and the trusted runtime
 * linked into every enclave image. Both sides compile this header: the host
 * against glibc, the trusted runtime against musl, so it uses only stdint. */
#ifndef OPTMIG_ABI_H
#define OPTMIG_ABI_H

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

#define OM_ABI_VERSION 2
#define OM_PAGE_SIZE 4096ull
/* The seccomp filter compares only the high 32 bits of the trapping RIP. */
#define OM_RANGE_ALIGN (1ull << 32)
#define OM_DEFAULT_BASE 0x200000000000ull
#define OM_MAIN_STACK_SIZE (8ull << 20)
#define OM_MMAP_AREA_SIZE (4ull << 30)
#define OM_MAX_THREADS 256u
#define OM_DEFAULT_THREADS 64u
/* ECALL slots: threads the host starts inside the enclave for its own
 * purposes (migration coordinator and stream workers). */
#define OM_ECALL_SLOTS 17
#define OM_ECALL_STACK_SIZE (128 << 10)
/* Largest XSAVE image a thread context carries. */
#define OM_FPSTATE_MAX 4096u

/* ELF note that the trusted runtime places in the image and the loader reads. */
#define OM_NOTE_NAME "OPTMIG"
#define OM_NOTE_TYPE 0x4f4d0001

#ifndef __ASSEMBLER__
/* Offsets are relative to the address of the field itself, so the note needs
 * no relocation and survives stripping. */
struct om_note_desc {
    uint32_t abi_version;
    int32_t trap_entry;  /* void om_trt_trap(struct om_ssa *) */
    int32_t ecall_entry; /* om_trt_ecall_entry: see struct om_ecall */
    int32_t ecall_tls;   /* FS base blocks of ECALL slots, OM_ECALL_TLS_SIZE each
                            (as SGX's TCS names its thread's FS base) */
};
#define OM_ECALL_TLS_SIZE 256

/* Enclave range layout. Computed from the image span, heap size and base
 * alone, so the destination of a migration rebuilds it identically. */
struct om_layout {
    uint64_t base, size;
    uint64_t image_lo, image_hi;
    uint64_t stack_lo, stack_hi; /* main thread stack */
    uint64_t heap_lo, heap_hi;   /* om_heap: committed on demand */
    uint64_t mmap_lo, mmap_hi;   /* in-enclave mmap area: thread stacks, musl maps */
    uint32_t max_threads;
    uint32_t pad;
};

/* glibc ucontext gregs order, which is also the kernel's sigcontext order. */
enum {
    OM_R8 = 0, OM_R9, OM_R10, OM_R11, OM_R12, OM_R13, OM_R14, OM_R15,
    OM_RDI, OM_RSI, OM_RBP, OM_RBX, OM_RDX, OM_RAX, OM_RCX, OM_RSP,
    OM_RIP, OM_EFL, OM_CSGSFS, OM_ERR, OM_TRAPNO, OM_OLDMASK, OM_CR2,
    OM_NGREG
};

/* What the host tells the trusted runtime; copied and checked on first use. */
struct om_host_params {
    struct om_layout layout;
    uint64_t ocall_gate; /* om_ocall_gate_fn */
    uint64_t slot_exits; /* uint32_t[OM_MAX_THREADS]: threads fully gone, per slot */
    uint32_t pid;
    uint32_t pad;
};

/* Saved-state area of a trapped thread. The platform (the SIGSYS handler,
 * standing in for SGX's AEX microcode) writes it on the enclave stack. */
struct om_ssa {
    uint64_t gregs[OM_NGREG];
    uint64_t fsbase;
    uint64_t host_ctx;   /* opaque, handed back to the OCALL gate */
    uint64_t params;     /* struct om_host_params *, untrusted */
    uint64_t ocall_buf;  /* untrusted scratch area for OCALL argument copies */
    uint64_t ocall_size;
    uint64_t fpstate;    /* enclave address of the XSAVE image, 0 if none */
    uint32_t fp_size;
    uint32_t kind;       /* enum om_ssa_kind */
    uint32_t slot;       /* thread slot of the trapped thread */
    uint32_t arch;       /* AUDIT_ARCH of the trapped syscall instruction */
};

enum om_ssa_kind {
    OM_SSA_SYSCALL = 0, /* a trapped syscall instruction; RIP is after it */
    OM_SSA_AEX,         /* an asynchronous exit: the host interrupted the thread */
};

/* A complete thread context, as saved by the trusted runtime when a thread
 * parks and as restored by the host when it spawns the thread again. */
struct om_thread_ctx {
    uint64_t gregs[OM_NGREG];
    uint64_t fsbase;
    uint32_t fp_size; /* 0: clean FPU */
    uint32_t pad;
    uint8_t fpstate[OM_FPSTATE_MAX] __attribute__((aligned(64)));
};

/* Host -> enclave call: registers at om_trt_ecall_entry. The trusted side
 * chooses the stack from the slot; everything else it checks. */
enum om_ecall_op {
    OM_ECALL_MIGRATE_OUT = 1,
    OM_ECALL_MIGRATE_IN,
};
struct om_ecall {
    uint32_t op, slot;      /* slot < OM_ECALL_SLOTS */
    uint64_t host_ctx, ocall_buf, ocall_size;
    uint64_t params;        /* struct om_host_params * */
    uint64_t arg;           /* op-specific, untrusted host memory */
};

enum om_ocall_op {
    OM_OC_SYSCALL = 1, /* run syscall nr with the (already copied) args */
    OM_OC_MAP,         /* a[0]=addr a[1]=len a[2]=prot a[3]=om_map_kind */
    OM_OC_SPAWN,       /* start a host thread in slot spawn.slot */
    OM_OC_THREAD_EXIT, /* a[0]=tid word to clear, a[1..2]=own stack to release
                          once off it; ends the host thread, does not return */
    OM_OC_EXIT_GROUP,  /* end the enclave with status a[0]; does not return */
    OM_OC_PARK,        /* a parked thread waits until the migration ends; 0: resume */
    OM_OC_INTERRUPT,   /* interrupt the thread in slot a[0] (AEX or EINTR) */
    OM_OC_ECALL_DONE,  /* an ECALL thread finishes with a[0]; does not return */
    OM_OC_MIG,         /* migration services: a[0] = enum om_mig_service */
};

enum om_map_kind {
    OM_MAP_COMMIT = 1, /* fresh zero pages with prot */
    OM_MAP_RELEASE,    /* drop pages, leave a PROT_NONE placeholder */
    OM_MAP_PROTECT,    /* change protection only */
};

/* Lives at the start of the untrusted OCALL scratch area; argument copies follow. */
struct om_ocall {
    uint32_t op;
    uint32_t slot;
    int64_t nr;
    int64_t a[6];
    int64_t ret;
    struct {
        uint64_t gregs[OM_NGREG];
        uint64_t fsbase;
        uint32_t slot;
        uint32_t fp_size; /* 0: inherit the FP state of the calling thread's trap */
        uint64_t fpstate; /* scratch address of fp_size bytes when fp_size != 0 */
    } spawn;
};

typedef int64_t (*om_ocall_gate_fn)(uint64_t host_ctx, struct om_ocall *oc);

/* Migration services the host offers the trusted runtime (OM_OC_MIG a[0]). */
enum om_mig_service {
    OM_MIG_QUOTE = 1, /* a[1]: scratch address of 32 bytes report data in, quote out
                         (measurement 32 | report data 32 | platform pub 65 | sig 64) */
    OM_MIG_UNPARK,    /* the migration ended: wake every parked thread */
    OM_MIG_PREFAULT,  /* a[1]=addr a[2]=len: back these enclave pages with memory now */
    /* Kernel tracker (host userfaultfd service, src/host/ktrack.h). Addresses
     * lie in the heap; bitmaps and page lists sit in the OCALL scratch. */
    OM_MIG_KT_PROBE,         /* 0 if WP_ASYNC + PAGEMAP_SCAN + MISSING work here */
    OM_MIG_KT_DIRTY_START,   /* a[1]=addr a[2]=len: register WP, protect all */
    OM_MIG_KT_DIRTY_COLLECT, /* a[1]=first page a[2]=npages a[3]=bitmap out; ret dirty */
    OM_MIG_KT_DIRTY_STOP,
    OM_MIG_KT_PENDING,       /* a[1]=addr a[2]=len a[3]=first a[4]=npages a[5]=bitmap in */
    OM_MIG_KT_ABSENT_START,  /* a[1]=addr a[2]=len: drop pending pages, register MISSING */
    OM_MIG_KT_INSTALL,       /* a[1]=page no. a[2]=npages a[3]=src (enclave); 1: one existed */
    OM_MIG_KT_WANTED,        /* a[1]=u64 page no. out a[2]=max a[3]=timeout ms; ret count */
    OM_MIG_KT_ABSENT_STOP,
};
#define OM_QUOTE_SIZE 193

#define OM_MIG_MAX_STREAMS 16
#define OM_MIG_MAX_TRUST 64

/* Arguments of the migration ECALLs, in host memory: read once, all checked. */
struct om_mig_args {
    int32_t fds[OM_MIG_MAX_STREAMS]; /* connected TCP streams, index = stream id */
    uint32_t nstreams;
    uint32_t strategy;                     /* OM_STRATEGY_* (wire.h values) */
    uint32_t tracker;                      /* 1 compiler, 2 kernel (live strategies) */
    uint32_t max_downtime_ms;              /* pre-copy: stop when the rest fits in this */
    uint32_t max_rounds;                   /* pre-copy round cap; hybrid: pre-copy rounds */
    uint64_t bandwidth_bps;                /* link rate for convergence; 0: measure it */
    uint32_t ntrust;                       /* trusted platform keys (sim-mode trust store) */
    uint8_t trust[OM_MIG_MAX_TRUST][65];
    char image[4096];                      /* source: the image path the destination opens */
    uint64_t hello;                        /* destination: the HELLO frame the host read */
    uint32_t hello_len;
    uint32_t timeout_ms;                   /* for each wait on the peer */
    /* out: filled by the coordinator (slot 0) */
    int32_t result;                        /* 0 or a negative OM_MIGERR_* */
    char error[256];
    uint64_t t_quiesced_ns, t_resumed_ns;  /* CLOCK_REALTIME */
    uint64_t pages_sent, bytes_sent, zero_pages;
    uint64_t t_switched_ns;                /* source: COMMIT seen (post-copy: push starts) */
    uint64_t t_sent_ns;                    /* source: the stopped state is all sent */
    uint64_t t_quiesce_ns;                 /* source: asked the threads to stop */
    uint32_t rounds;                       /* pre-copy rounds before the stop */
    uint32_t resume;                       /* in: reconnect an interrupted post-copy */
    volatile uint32_t stop;                /* in, set by the host once the coordinator returned */
    uint32_t pad3;
    uint64_t final_pages;                  /* pages sent while stopped */
    uint64_t postcopy_pages, demand_pages; /* after switchover: pushed, and asked for */
};

/* Migration results (om_mig_args.result). */
enum {
    OM_MIGERR_PROTOCOL = -1000, /* malformed or unexpected message */
    OM_MIGERR_REFUSED,          /* the peer refused (measurement, layout) */
    OM_MIGERR_ATTEST,           /* quote or key confirmation failed */
    OM_MIGERR_INTEGRITY,        /* tampered, replayed, dropped or truncated records */
    OM_MIGERR_IO,               /* the connection failed */
    OM_MIGERR_TIMEOUT,
    OM_MIGERR_QUIESCE,          /* threads did not reach a safepoint in time */
    OM_MIGERR_INTERNAL,
};

#endif /* __ASSEMBLER__ */

#endif
