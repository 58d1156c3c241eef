/* Shapes of the host system calls an enclave may make: which arguments are
 * buffers, in which direction, and how long. om_sys_marshal interprets them. */
#ifndef OM_SYS_TABLE_H
#define OM_SYS_TABLE_H
#include <stdint.h>

enum om_argkind {
    A_VAL = 0, /* passed as is */
    A_IN,      /* enclave -> host copy */
    A_OUT,     /* host -> enclave copy */
    A_INOUT,
    A_STR,     /* NUL-terminated path, at most 4096 bytes */
    A_SOCKLEN, /* out buffer whose length is in the u32 that arg 'len' points to */
    A_ZERO,    /* never forwarded: the host gets 0 (signal masks stay virtual) */
};

struct om_argspec {
    uint8_t kind;
    int8_t len_arg; /* length from this argument; -1: fixed */
    uint16_t fixed; /* fixed length, or element size when len_arg >= 0 */
};

#define F_RETLEN 1  /* A_OUT with len_arg: only ret bytes come back, ret <= len */
#define F_PARTIAL 2 /* a too-long A_IN/A_OUT may be shortened (partial I/O is legal) */

struct om_sysspec {
    int16_t nr;
    uint8_t flags;
    struct om_argspec a[6];
};

const struct om_sysspec *om_sys_lookup(int64_t nr);
#endif
