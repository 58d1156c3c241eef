/* The runtime side of the OptMig pass (see docs/PASS.md): the ABI the
 * instrumented code calls, and what runtime code uses to cover the reads
 * and writes the pass never sees (OCALL copies, libc, trap emulation). */
#ifndef OM_CC_RT_H
#define OM_CC_RT_H
#include <stdint.h>
#include "track.h"
#include "trt.h"

extern uint64_t __om_range_base, __om_range_pages;
extern uint8_t *__om_dirty_map, *__om_present_map;
extern volatile uint32_t __om_track, __om_poll;
void __om_safepoint(void);
void __om_access_slow(const void *addr, uint64_t size, int is_write);
void __om_mark_range(const void *addr, uint64_t size);

/* Before runtime code reads or writes [p, p+n) of app memory: waits until
 * every tracked page of it is present (ssa: yield through an OCALL, as in
 * the trap handler; NULL: decide from the calling thread). Never parks. */
void om_cc_need(struct om_ssa *ssa, const void *p, uint64_t n);
/* Same for a NUL-terminated string of at most max bytes (page by page). */
void om_cc_need_str(struct om_ssa *ssa, const char *s, uint64_t max);
/* After runtime code wrote [p, p+n): marks it dirty if tracking is on.
 * Full fence first: a thread inside a call does not take part in the
 * tracking handshake, so its data store must be visible before it reads
 * __om_track. */
void om_cc_wrote(const void *p, uint64_t n);

/* The libc functions omcc found the app calling that the runtime cannot
 * follow, space-separated; NULL if none. om_cc_compiled() then reports no
 * dirty or access tracking. */
const char *om_cc_uncovered(void);

/* direct.c: this thread's slot as learnt by its gate, or -1; and the
 * direct system call path (parks when a migration is quiescing). */
int om_direct_slot(void);
long __syscall_cp(long n, long a, long b, long c, long d, long e, long f);
#endif
