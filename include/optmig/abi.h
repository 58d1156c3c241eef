/* The contract between the untrusted host runtime and the trusted runtime
 * linked into every enclave image. Both sides compile this header: the host
 * against glibc, the trusted runtime against musl, so it uses only stdint. */
#ifndef OPTMIG_ABI_H
#define OPTMIG_ABI_H

#ifndef __ASSEMBLER__
#include <stdint.h>
#endif

#define OM_ABI_VERSION 1
#define OM_PAGE_SIZE 4096ull
/* The seccomp filter compares only the high 32 bits of the trapping RIP. */
#define OM_RANGE_ALIGN (1ull << 32)
#define OM_DEFAULT_BASE 0x200000000000ull
#define OM_MAIN_STACK_SIZE (8ull << 20)
#define OM_MMAP_AREA_SIZE (4ull << 30)
#define OM_MAX_THREADS 256u
#define OM_DEFAULT_THREADS 64u

/* ELF note that the trusted runtime places in the image and the loader reads. */
#define OM_NOTE_NAME "OPTMIG"
#define OM_NOTE_TYPE 0x4f4d0001

#ifndef __ASSEMBLER__
/* Offsets are relative to the address of the field itself, so the note needs
 * no relocation and survives stripping. */
struct om_note_desc {
    uint32_t abi_version;
    int32_t trap_entry; /* void om_trt_trap(struct om_ssa *) */
};

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
    uint32_t slot;       /* thread slot of the trapped thread */
    uint32_t arch;       /* AUDIT_ARCH of the trapped syscall instruction */
};

enum om_ocall_op {
    OM_OC_SYSCALL = 1, /* run syscall nr with the (already copied) args */
    OM_OC_MAP,         /* a[0]=addr a[1]=len a[2]=prot a[3]=om_map_kind */
    OM_OC_SPAWN,       /* start a host thread in slot spawn.slot */
    OM_OC_THREAD_EXIT, /* a[0]=tid word to clear, a[1..2]=own stack to release
                          once off it; ends the host thread, does not return */
    OM_OC_EXIT_GROUP,  /* end the enclave with status a[0]; does not return */
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
        uint32_t pad;
    } spawn;
};

typedef int64_t (*om_ocall_gate_fn)(uint64_t host_ctx, struct om_ocall *oc);

#endif /* __ASSEMBLER__ */

#endif
