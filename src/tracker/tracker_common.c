/* Shared helpers of the kernel trackers: userfaultfd creation and feature
 * negotiation, argument checks, error messages, bitmaps. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np, MADV_* */
#endif
#include "tracker_uffd.h"
#include "tracker_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int om_tracker_unsupported(int rc)
{
	return rc == -EPERM || rc == -ENOSYS || rc == -EOPNOTSUPP;
}

int om_trk_fail(char *err, size_t errlen, int rc, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}

int om_trk_check_range(const void *addr, size_t len, char *err, size_t errlen, const char *who)
{
	uintptr_t a = (uintptr_t)addr;
	if (!addr || len == 0 || a % OM_PG || len % OM_PG || a + len < a)
		return om_trk_fail(err, errlen, -EINVAL,
				   "%s: range %p+%zu is empty or not page aligned", who, addr, len);
	return 0;
}

static const struct {
	uint64_t bit;
	const char *name;
} feature_names[] = {
	{UFFD_FEATURE_PAGEFAULT_FLAG_WP, "PAGEFAULT_FLAG_WP (write-protect, Linux 5.7)"},
	{UFFD_FEATURE_WP_UNPOPULATED, "WP_UNPOPULATED (Linux 6.4)"},
	{UFFD_FEATURE_WP_ASYNC, "WP_ASYNC (Linux 6.7)"},
};

static int uffd_create(void)
{
	long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK);
	if (fd >= 0)
		return (int)fd;
	int e = errno;
	if (e != EPERM)
		return -e;
	/* Refused by vm.unprivileged_userfaultfd: /dev/userfaultfd (Linux 6.1)
	 * grants the same to whoever may open it. */
	int dev = open("/dev/userfaultfd", O_RDWR | O_CLOEXEC);
	if (dev < 0)
		return -EPERM;
	fd = ioctl(dev, USERFAULTFD_IOC_NEW, O_CLOEXEC | O_NONBLOCK);
	close(dev);
	return fd >= 0 ? (int)fd : -EPERM;
}

int om_trk_uffd_open(uint64_t features, char *err, size_t errlen, const char *who)
{
	int fd = uffd_create();
	if (fd == -ENOSYS)
		return om_trk_fail(err, errlen, fd, "%s: userfaultfd: this kernel is built without it", who);
	if (fd == -EPERM)
		return om_trk_fail(err, errlen, fd,
				   "%s: userfaultfd not permitted: run as root (or with CAP_SYS_PTRACE), "
				   "set vm.unprivileged_userfaultfd=1, or grant access to /dev/userfaultfd",
				   who);
	if (fd < 0)
		return om_trk_fail(err, errlen, fd, "%s: userfaultfd: %s", who, strerror(-fd));

	struct uffdio_api api = {.api = UFFD_API, .features = features};
	if (ioctl(fd, UFFDIO_API, &api) == 0)
		return fd;
	int e = errno;
	close(fd);
	if (e != EINVAL)
		return om_trk_fail(err, errlen, -e, "%s: UFFDIO_API: %s", who, strerror(e));

	/* Ask a fresh descriptor what the kernel offers, to name what is missing
	 * (the handshake can be done once per descriptor). */
	uint64_t have = 0;
	fd = uffd_create();
	if (fd >= 0) {
		struct uffdio_api q = {.api = UFFD_API, .features = 0};
		if (ioctl(fd, UFFDIO_API, &q) == 0)
			have = q.features;
		close(fd);
	}
	char missing[256] = "";
	for (size_t i = 0; i < sizeof feature_names / sizeof feature_names[0]; i++) {
		if ((features & feature_names[i].bit) && !(have & feature_names[i].bit)) {
			size_t n = strlen(missing);
			snprintf(missing + n, sizeof missing - n, "%s%s", n ? ", " : "",
				 feature_names[i].name);
		}
	}
	return om_trk_fail(err, errlen, -EOPNOTSUPP,
			   "%s: the kernel's userfaultfd lacks %s (asked 0x%llx, kernel offers 0x%llx)",
			   who, missing[0] ? missing : "a needed feature",
			   (unsigned long long)features, (unsigned long long)have);
}

void om_trk_bitmap_set(uint64_t *bm, size_t first, size_t count)
{
	size_t i = first, end = first + count;
	while (i < end && (i % 64)) {
		bm[i / 64] |= 1ull << (i % 64);
		i++;
	}
	for (; i + 64 <= end; i += 64)
		bm[i / 64] = ~0ull;
	for (; i < end; i++)
		bm[i / 64] |= 1ull << (i % 64);
}
