/* Reserving the enclave range and changing mappings inside it. The range is
 * PROT_NONE and unbacked until something is committed; released pages get a
 * PROT_NONE placeholder again so a host mmap can never land in a hole. */
#include "range.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

int om_range_contains(const struct om_layout *l, uint64_t addr, uint64_t len)
{
    return addr >= l->base && len <= l->size && addr - l->base <= l->size - len;
}

int om_range_reserve(const struct om_layout *l, char *err, size_t errlen)
{
    void *p = mmap((void *)l->base, l->size, PROT_NONE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED || p != (void *)l->base) {
        snprintf(err, errlen, "cannot reserve enclave range %#llx+%#llx: %s",
                 (unsigned long long)l->base, (unsigned long long)l->size,
                 p == MAP_FAILED ? strerror(errno) : "address taken");
        if (p != MAP_FAILED)
            munmap(p, l->size);
        return -1;
    }
    return 0;
}

int om_range_map(const struct om_layout *l, uint64_t addr, uint64_t len, int prot, int kind)
{
    if (addr % OM_PAGE_SIZE || len % OM_PAGE_SIZE || len == 0 || !om_range_contains(l, addr, len))
        return -EINVAL;
    if (prot & ~(PROT_READ | PROT_WRITE))
        return -EPERM;
    void *p;
    switch (kind) {
    case OM_MAP_COMMIT:
        p = mmap((void *)addr, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
        return p == MAP_FAILED ? -errno : 0;
    case OM_MAP_RELEASE:
        p = mmap((void *)addr, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED, -1, 0);
        return p == MAP_FAILED ? -errno : 0;
    case OM_MAP_PROTECT:
        return mprotect((void *)addr, len, prot) ? -errno : 0;
    default:
        return -EINVAL;
    }
}
