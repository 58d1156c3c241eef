/* t_files: file-system services through the enclave boundary. Works in a
 * fresh directory made under argv[1] (or under /tmp without an argument)
 * and removes it at the end: open/create/write/read/pread/pwrite, lseek,
 * stat/fstat, rename, unlink, mkdir/rmdir, readdir, dup/dup2, O_APPEND,
 * ftruncate, stdio (fopen/fprintf/fgets/fscanf/fseek/ftell), and an 8 MiB
 * write read back. Exits 0 only if every check passed, with
 * "t_files: PASS" as its last line. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int failures;
#define CHECK(cond, ...)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            failures++;                                                    \
            printf("FAIL: ");                                              \
            printf(__VA_ARGS__);                                           \
            printf(" [%s:%d] (errno %d: %s)\n", __FILE__, __LINE__, errno, strerror(errno)); \
            fflush(stdout);                                                \
        }                                                                  \
    } while (0)

static char dir[4096];

static const char *path(const char *name)
{
    static char buf[2][4200];
    static int k;
    k ^= 1;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static ssize_t read_all(int fd, void *p, size_t n)
{
    char *c = p;
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, c + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

static void test_basic(void)
{
    const char *msg = "hello, enclave file\n";
    size_t len = strlen(msg);
    char buf[256];
    struct stat st;

    int fd = open(path("a.txt"), O_CREAT | O_EXCL | O_RDWR, 0600);
    CHECK(fd >= 0, "create a.txt");
    if (fd < 0)
        return;
    CHECK(open(path("a.txt"), O_CREAT | O_EXCL | O_RDWR, 0600) == -1 && errno == EEXIST,
          "O_EXCL on an existing file did not fail with EEXIST");
    CHECK(write(fd, msg, len) == (ssize_t)len, "write");
    CHECK(lseek(fd, 0, SEEK_CUR) == (off_t)len, "lseek SEEK_CUR after write");
    CHECK(lseek(fd, 0, SEEK_SET) == 0, "lseek SEEK_SET");
    memset(buf, 0, sizeof buf);
    CHECK(read(fd, buf, sizeof buf) == (ssize_t)len && !memcmp(buf, msg, len), "read back");
    CHECK(read(fd, buf, sizeof buf) == 0, "read at EOF returns 0");
    CHECK(lseek(fd, -5, SEEK_END) == (off_t)len - 5, "lseek SEEK_END");
    CHECK(read(fd, buf, 5) == 5 && !memcmp(buf, "file\n", 5), "read after SEEK_END");
    CHECK(pwrite(fd, "HELLO", 5, 0) == 5, "pwrite");
    CHECK(pread(fd, buf, 7, 0) == 7 && !memcmp(buf, "HELLO, ", 7), "pread");
    CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)len && S_ISREG(st.st_mode), "fstat size/type");
    CHECK((st.st_mode & 0777) == 0600, "mode %o, want 600", (unsigned)(st.st_mode & 0777));
    CHECK(ftruncate(fd, 5) == 0 && fstat(fd, &st) == 0 && st.st_size == 5, "ftruncate");
    CHECK(fsync(fd) == 0, "fsync");

    int fd2 = dup(fd);
    CHECK(fd2 >= 0 && fd2 != fd, "dup");
    CHECK(lseek(fd2, 1, SEEK_SET) == 1 && lseek(fd, 0, SEEK_CUR) == 1, "dup shares the file offset");
    /* dup2 onto a descriptor this program owns (never onto a guessed number,
     * which could belong to the host runtime) */
    int fdc = open(path("c.txt"), O_CREAT | O_RDWR, 0600);
    CHECK(fdc >= 0, "create c.txt");
    if (fdc >= 0) {
        struct stat s1, s2;
        CHECK(dup2(fd, fdc) == fdc, "dup2");
        CHECK(fstat(fdc, &s1) == 0 && fstat(fd, &s2) == 0 && s1.st_ino == s2.st_ino,
              "dup2 target does not refer to the source file");
        close(fdc);
        unlink(path("c.txt"));
    }
    close(fd2);
    CHECK(close(fd) == 0, "close");
    CHECK(read(fd, buf, 1) == -1 && errno == EBADF, "read after close did not fail with EBADF");

    CHECK(stat(path("a.txt"), &st) == 0 && st.st_size == 5, "stat");
    CHECK(rename(path("a.txt"), path("b.txt")) == 0, "rename");
    CHECK(stat(path("a.txt"), &st) == -1 && errno == ENOENT, "old name still exists after rename");
    CHECK(access(path("b.txt"), R_OK | W_OK) == 0, "access new name");

    fd = open(path("b.txt"), O_WRONLY | O_APPEND);
    CHECK(fd >= 0, "open O_APPEND");
    if (fd >= 0) {
        lseek(fd, 0, SEEK_SET);
        CHECK(write(fd, "+tail", 5) == 5, "append write");
        close(fd);
    }
    fd = open(path("b.txt"), O_RDONLY);
    CHECK(fd >= 0, "reopen");
    if (fd >= 0) {
        memset(buf, 0, sizeof buf);
        CHECK(read(fd, buf, sizeof buf) == 10 && !strcmp(buf, "HELLO+tail"), "O_APPEND wrote at the end: '%s'",
              buf);
        close(fd);
    }
    CHECK(unlink(path("b.txt")) == 0, "unlink");
    CHECK(unlink(path("b.txt")) == -1 && errno == ENOENT, "second unlink did not fail with ENOENT");
    printf("ok: open/read/write/seek/stat/rename/unlink/dup\n");
}

static void test_dirs(void)
{
    CHECK(mkdir(path("sub"), 0700) == 0, "mkdir");
    CHECK(mkdir(path("sub"), 0700) == -1 && errno == EEXIST, "mkdir twice did not fail with EEXIST");
    static const char *names[] = {"sub/one", "sub/two", "sub/three", "sub/four", "sub/five"};
    for (int i = 0; i < 5; i++) {
        int fd = open(path(names[i]), O_CREAT | O_WRONLY, 0644);
        CHECK(fd >= 0, "create %s", names[i]);
        if (fd >= 0)
            close(fd);
    }
    DIR *d = opendir(path("sub"));
    CHECK(d != NULL, "opendir");
    if (d) {
        int seen = 0, dots = 0, other = 0;
        struct dirent *e;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                dots++;
            else {
                int k;
                for (k = 0; k < 5; k++)
                    if (!strcmp(e->d_name, names[k] + 4))
                        break;
                if (k < 5)
                    seen |= 1 << k;
                else
                    other++;
            }
        }
        closedir(d);
        CHECK(seen == 31 && dots == 2 && other == 0, "readdir saw mask %#x, %d dot entries, %d others", seen,
              dots, other);
    }
    CHECK(rmdir(path("sub")) == -1 && (errno == ENOTEMPTY || errno == EEXIST),
          "rmdir of a non-empty directory did not fail");
    for (int i = 0; i < 5; i++)
        CHECK(unlink(path(names[i])) == 0, "unlink %s", names[i]);
    CHECK(rmdir(path("sub")) == 0, "rmdir");

    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    CHECK(dfd >= 0, "open the directory");
    if (dfd >= 0) {
        int fd = openat(dfd, "rel", O_CREAT | O_RDWR, 0600);
        CHECK(fd >= 0, "openat");
        struct stat st;
        CHECK(fstatat(dfd, "rel", &st, 0) == 0 && S_ISREG(st.st_mode), "fstatat");
        CHECK(unlinkat(dfd, "rel", 0) == 0, "unlinkat");
        if (fd >= 0)
            close(fd);
        close(dfd);
    }
    printf("ok: mkdir/readdir/rmdir/openat\n");
}

static void test_stdio(void)
{
    FILE *f = fopen(path("s.txt"), "w+");
    CHECK(f != NULL, "fopen w+");
    if (!f)
        return;
    for (int i = 0; i < 1000; i++)
        fprintf(f, "line %d value %d\n", i, i * i);
    CHECK(fflush(f) == 0, "fflush");
    long end = ftell(f);
    CHECK(end > 0, "ftell at end");
    CHECK(fseek(f, 0, SEEK_SET) == 0, "fseek");
    char line[128];
    int ok = 1;
    for (int i = 0; i < 1000; i++) {
        char want[64];
        snprintf(want, sizeof want, "line %d value %d\n", i, i * i);
        if (!fgets(line, sizeof line, f) || strcmp(line, want)) {
            ok = 0;
            break;
        }
    }
    CHECK(ok, "fgets read back what fprintf wrote");
    CHECK(fgets(line, sizeof line, f) == NULL && feof(f), "EOF after the last line");
    clearerr(f);
    CHECK(fseek(f, 0, SEEK_SET) == 0, "fseek again");
    int a = -1, b = -1;
    CHECK(fscanf(f, "line %d value %d", &a, &b) == 2 && a == 0 && b == 0, "fscanf");
    CHECK(fclose(f) == 0, "fclose");

    f = fopen(path("s.txt"), "a");
    CHECK(f != NULL, "fopen a");
    if (f) {
        fputs("appended\n", f);
        fclose(f);
    }
    f = fopen(path("s.txt"), "r");
    CHECK(f != NULL, "fopen r");
    if (f) {
        CHECK(fseek(f, end, SEEK_SET) == 0 && fgets(line, sizeof line, f) && !strcmp(line, "appended\n"),
              "append mode");
        fclose(f);
    }
    CHECK(remove(path("s.txt")) == 0, "remove");
    CHECK(fopen(path("s.txt"), "r") == NULL && errno == ENOENT, "fopen of a removed file");
    printf("ok: stdio fopen/fprintf/fgets/fscanf/fseek/ftell\n");
}

static void test_large(void)
{
    size_t n = 8u << 20;
    uint64_t *buf = malloc(n), *back = malloc(n);
    CHECK(buf && back, "malloc 8 MiB buffers");
    if (!buf || !back)
        return;
    uint64_t s = 12345;
    for (size_t i = 0; i < n / 8; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        buf[i] = s ^ i;
    }
    int fd = open(path("big.bin"), O_CREAT | O_TRUNC | O_RDWR, 0600);
    CHECK(fd >= 0, "create big.bin");
    if (fd >= 0) {
        CHECK(write_all(fd, buf, n) == 0, "write 8 MiB in one call");
        struct stat st;
        CHECK(fstat(fd, &st) == 0 && st.st_size == (off_t)n, "size after 8 MiB write");
        CHECK(lseek(fd, 0, SEEK_SET) == 0, "seek to start");
        memset(back, 0, n);
        CHECK(read_all(fd, back, n) == (ssize_t)n, "read 8 MiB back");
        CHECK(!memcmp(buf, back, n), "8 MiB read back differs");
        /* again in odd-sized chunks */
        CHECK(lseek(fd, 0, SEEK_SET) == 0, "seek to start");
        memset(back, 0, n);
        size_t got = 0;
        while (got < n) {
            size_t want = n - got < 77777 ? n - got : 77777;
            ssize_t r = read(fd, (char *)back + got, want);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        CHECK(got == n && !memcmp(buf, back, n), "8 MiB read back in 77777-byte chunks");
        close(fd);
        CHECK(unlink(path("big.bin")) == 0, "unlink big.bin");
    }
    free(buf);
    free(back);
    printf("ok: 8 MiB write and read back\n");
}

int main(int argc, char **argv)
{
    char tmpl[4096];
    snprintf(tmpl, sizeof tmpl, "%s/t_files.XXXXXX", argc > 1 ? argv[1] : "/tmp");
    if (!mkdtemp(tmpl)) {
        printf("FAIL: mkdtemp(%s): %s\n", tmpl, strerror(errno));
        return 1;
    }
    snprintf(dir, sizeof dir, "%s", tmpl);

    test_basic();
    test_dirs();
    test_stdio();
    test_large();

    /* leave nothing behind, whatever happened */
    static const char *left[] = {"a.txt", "b.txt", "c.txt", "s.txt", "big.bin", "rel", "sub/one", "sub/two",
                                 "sub/three", "sub/four", "sub/five"};
    for (size_t i = 0; i < sizeof left / sizeof left[0]; i++)
        unlink(path(left[i]));
    rmdir(path("sub"));
    CHECK(rmdir(dir) == 0, "remove the test directory %s", dir);

    if (failures) {
        printf("t_files: FAIL (%d checks failed)\n", failures);
        return 1;
    }
    printf("t_files: PASS\n");
    return 0;
}
