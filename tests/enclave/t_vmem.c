/* The enclave's own memory map: anonymous and file mappings, protection
 * changes, mremap, and what is refused. A file mapping is filled by reads
 * made from inside the mmap handler: an OCALL nested in trusted handling. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int failures;
#define CHECK(c, ...) do { if (!(c)) { printf("FAIL: " __VA_ARGS__); printf("\n"); failures++; } } while (0)

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[4096];
    snprintf(path, sizeof(path), "%s/t_vmem.%d", dir, (int)getpid());

    /* anonymous: zero-filled, writable, unmappable */
    size_t len = 8u << 20;
    uint8_t *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(p != MAP_FAILED, "anonymous mmap: %s", strerror(errno));
    int zero = 1;
    for (size_t i = 0; i < len; i += 4096)
        zero &= p[i] == 0;
    CHECK(zero, "fresh anonymous pages are not zero");
    memset(p, 0xab, len);
    CHECK(mprotect(p, 4096, PROT_READ) == 0, "mprotect read-only: %s", strerror(errno));
    CHECK(p[0] == 0xab, "content lost by mprotect");
    CHECK(mprotect(p, 4096, PROT_READ | PROT_EXEC) == -1 && errno == EPERM, "PROT_EXEC not refused");
    CHECK(mprotect(p, 4096, PROT_READ | PROT_WRITE) == 0, "mprotect back to rw");

    /* mremap grows and keeps content */
    uint8_t *q = mremap(p, len, 2 * len, MREMAP_MAYMOVE);
    CHECK(q != MAP_FAILED, "mremap: %s", strerror(errno));
    if (q != MAP_FAILED) {
        CHECK(q[len - 1] == 0xab && q[0] == 0xab, "mremap lost content");
        q[2 * len - 1] = 1;
        CHECK(munmap(q, 2 * len) == 0, "munmap: %s", strerror(errno));
    }
    /* musl reports the EPERM of an anonymous mapping as ENOMEM */
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED &&
              (errno == EPERM || errno == ENOMEM), "executable mapping not refused");

    /* file mapping: a private copy read through the boundary */
    int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
    CHECK(fd >= 0, "create %s: %s", path, strerror(errno));
    size_t flen = 3 * 4096 + 100;
    char *buf = malloc(flen);
    for (size_t i = 0; i < flen; i++)
        buf[i] = (char)(i * 7 + 3);
    CHECK(write(fd, buf, flen) == (ssize_t)flen, "write file");
    char *m = mmap(NULL, flen, PROT_READ, MAP_PRIVATE, fd, 0);
    CHECK(m != MAP_FAILED, "file mmap: %s", strerror(errno));
    if (m != MAP_FAILED) {
        CHECK(memcmp(m, buf, flen) == 0, "file mapping content differs");
        int tail_zero = 1;
        for (size_t i = flen; i < 4 * 4096; i++)
            tail_zero &= m[i] == 0;
        CHECK(tail_zero, "bytes past EOF are not zero");
        munmap(m, flen);
    }
    char *off = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    CHECK(off != MAP_FAILED && memcmp(off, buf + 4096, 4096) == 0, "file mapping at offset");
    CHECK(mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) == MAP_FAILED && errno == ENODEV,
          "writable shared file mapping not refused");
    close(fd);
    unlink(path);
    free(buf);

    /* many mappings come and go without exhausting the area */
    for (int i = 0; i < 2000; i++) {
        void *r = mmap(NULL, 1u << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (r == MAP_FAILED) {
            CHECK(0, "mmap %d failed: %s", i, strerror(errno));
            break;
        }
        ((char *)r)[0] = 1;
        munmap(r, 1u << 20);
    }
    if (failures)
        return 1;
    printf("t_vmem: PASS\n");
    return 0;
}
