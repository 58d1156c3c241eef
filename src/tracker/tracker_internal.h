/* Helpers shared by tracker_wp.c and tracker_missing.c (not installed). */
#ifndef OM_TRACKER_INTERNAL_H
#define OM_TRACKER_INTERNAL_H

#include "uffd_compat.h"

#include <stddef.h>
#include <stdint.h>

#define OM_PG ((uint64_t)OM_TRACKER_PAGE_SIZE)

/* Format "prefix: message" into err (if err && errlen) and return rc. */
int om_trk_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Check that [addr, addr+len) is a sane page-aligned range. */
int om_trk_check_range(const void *addr, size_t len, char *err, size_t errlen,
		       const char *who);

/* Open a userfaultfd (O_CLOEXEC | O_NONBLOCK), through userfaultfd(2) or,
 * when that is refused, /dev/userfaultfd, and do the UFFDIO_API handshake
 * asking for `features`. On success returns the fd (>= 0). On failure returns
 * -errno with a message that names what is missing (-EOPNOTSUPP when the
 * kernel lacks one of the features; the message lists them). */
int om_trk_uffd_open(uint64_t features, char *err, size_t errlen, const char *who);

/* Set bits [first, first+count) of bitmap. */
void om_trk_bitmap_set(uint64_t *bitmap, size_t first, size_t count);

#endif
