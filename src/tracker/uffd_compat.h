/* userfaultfd and PAGEMAP_SCAN constants that older UAPI headers lack.
 *
 * Debian's linux-libc-dev (6.1) predates UFFD_FEATURE_WP_UNPOPULATED (6.4),
 * UFFD_FEATURE_WP_ASYNC and PAGEMAP_SCAN (6.7) and UFFD_FEATURE_MOVE (6.8).
 * Every definition here is guarded, so a newer header wins. The values are
 * kernel ABI (include/uapi/linux/userfaultfd.h and include/uapi/linux/fs.h);
 * whether the running kernel implements them is probed at run time.
 */
#ifndef OM_UFFD_COMPAT_H
#define OM_UFFD_COMPAT_H

#include <linux/fs.h>
#include <linux/types.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#ifndef UFFD_FEATURE_WP_UNPOPULATED
#define UFFD_FEATURE_WP_UNPOPULATED (1 << 13)
#endif
#ifndef UFFD_FEATURE_POISON
#define UFFD_FEATURE_POISON (1 << 14)
#endif
#ifndef UFFD_FEATURE_WP_ASYNC
#define UFFD_FEATURE_WP_ASYNC (1 << 15)
#endif
#ifndef UFFD_FEATURE_MOVE
#define UFFD_FEATURE_MOVE (1 << 16)
#endif

#ifndef USERFAULTFD_IOC_NEW
#define USERFAULTFD_IOC_NEW _IO(0xAA, 0x00)
#endif
#ifndef UFFD_USER_MODE_ONLY
#define UFFD_USER_MODE_ONLY 1
#endif

/* PAGEMAP_SCAN arrived as one block in linux/fs.h: the ioctl, its two structs,
 * the PM_SCAN_* flags and the PAGE_IS_* categories. */
#ifndef PAGEMAP_SCAN
struct page_region {
	__u64 start;
	__u64 end;
	__u64 categories;
};

struct pm_scan_arg {
	__u64 size;
	__u64 flags;
	__u64 start;
	__u64 end;
	__u64 walk_end;
	__u64 vec;
	__u64 vec_len;
	__u64 max_pages;
	__u64 category_inverted;
	__u64 category_mask;
	__u64 category_anyof_mask;
	__u64 return_mask;
};

#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

#ifndef PM_SCAN_WP_MATCHING
#define PM_SCAN_WP_MATCHING (1 << 0)
#endif
#ifndef PM_SCAN_CHECK_WPASYNC
#define PM_SCAN_CHECK_WPASYNC (1 << 1)
#endif

#ifndef PAGE_IS_WPALLOWED
#define PAGE_IS_WPALLOWED (1 << 0)
#endif
#ifndef PAGE_IS_WRITTEN
#define PAGE_IS_WRITTEN (1 << 1)
#endif
#ifndef PAGE_IS_FILE
#define PAGE_IS_FILE (1 << 2)
#endif
#ifndef PAGE_IS_PRESENT
#define PAGE_IS_PRESENT (1 << 3)
#endif
#ifndef PAGE_IS_SWAPPED
#define PAGE_IS_SWAPPED (1 << 4)
#endif
#ifndef PAGE_IS_PFNZERO
#define PAGE_IS_PFNZERO (1 << 5)
#endif
#ifndef PAGE_IS_HUGE
#define PAGE_IS_HUGE (1 << 6)
#endif

#endif /* OM_UFFD_COMPAT_H */
