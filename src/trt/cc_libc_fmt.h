/* printf/scanf format walking for the stdio wrappers (cc_libc_fmt.c). */
#ifndef OM_CC_LIBC_FMT_H
#define OM_CC_LIBC_FMT_H
#include "cc_libc.h"

/* printf: before the call (post 0) makes %s/%ls strings and %n targets
 * present; after it (post 1) marks the %n targets. ap is not consumed. */
void cc_printf_args(const char *fmt, va_list ap, int post);
/* scanf: before the call makes every output present (unbounded %s/%[:
 * CC_SCAN_STR_MAX bytes); after it marks what was stored (strings by their
 * length; %m buffers of the first `assigned` conversions). */
void cc_scanf_args(const char *fmt, va_list ap, int post, int assigned);
#endif
