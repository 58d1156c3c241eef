/* Key files and trust store directories (native builds only: omcrypto_host). */
#include "om_crypto_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifdef OM_ENCLAVE
#error "keyfile.c is part of omcrypto_host only"
#endif

#define KEY_HEADER "optmig-platform-key-v1\n"
#define KEY_HEADER_LEN (sizeof KEY_HEADER - 1)
#define KEY_FILE_LEN (KEY_HEADER_LEN + 64 + 1 + 130 + 1)
#define MAX_SMALL_FILE 1024

static const char hexdig[] = "0123456789abcdef";

static void hex_encode(char *out, const uint8_t *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hexdig[in[i] >> 4];
        out[2 * i + 1] = hexdig[in[i] & 15];
    }
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes exactly 2n hex digits. Returns 0 or -1. */
static int hex_decode(uint8_t *out, const char *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int hi = hexval(in[2 * i]), lo = hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

/* Reads a regular file of at most cap bytes. OM_CRYPTO_EIO (errno set) or
 * OM_CRYPTO_EFORMAT (not a regular file, or too big). */
static int read_small(int dirfd, const char *name, char *buf, size_t cap, size_t *len)
{
    int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    if (fd < 0)
        return OM_CRYPTO_EIO;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        errno = e;
        return OM_CRYPTO_EIO;
    }
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)cap) {
        close(fd);
        return OM_CRYPTO_EFORMAT;
    }
    size_t got = 0;
    for (;;) {
        if (got > cap) { /* grew since fstat */
            close(fd);
            return OM_CRYPTO_EFORMAT;
        }
        ssize_t r = read(fd, buf + got, cap + 1 - got);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            close(fd);
            errno = e;
            return OM_CRYPTO_EIO;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (got > cap)
        return OM_CRYPTO_EFORMAT;
    *len = got;
    return OM_CRYPTO_OK;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t r = write(fd, p, n);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

/* Writes path via path.tmp + fsync + rename, with the given mode. */
static int write_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    if (!path || !*path) {
        errno = EINVAL;
        return OM_CRYPTO_EIO;
    }
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        errno = ENAMETOOLONG;
        return OM_CRYPTO_EIO;
    }
    int fd = -1;
    for (int attempt = 0; attempt < 2 && fd < 0; attempt++) {
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 && errno == EEXIST && attempt == 0)
            unlink(tmp); /* left over by a crash */
        else if (fd < 0)
            return OM_CRYPTO_EIO;
    }
    if (fd < 0)
        return OM_CRYPTO_EIO;
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int e = errno;
        close(fd);
        unlink(tmp);
        errno = e;
        return OM_CRYPTO_EIO;
    }
    if (close(fd) != 0 || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        return OM_CRYPTO_EIO;
    }
    return OM_CRYPTO_OK;
}

int om_platform_key_save(const char *path, const struct om_platform_key *k)
{
    if (!path || !k)
        return OM_CRYPTO_EINVAL;
    if (om_platform_key_check(k) != 0)
        return OM_CRYPTO_EKEY;
    char buf[KEY_FILE_LEN];
    char *p = buf;
    memcpy(p, KEY_HEADER, KEY_HEADER_LEN);
    p += KEY_HEADER_LEN;
    hex_encode(p, k->priv, 32);
    p += 64;
    *p++ = '\n';
    hex_encode(p, k->pub, 65);
    p += 130;
    *p++ = '\n';
    int r = write_atomic(path, buf, sizeof buf, 0600);
    om_wipe(buf, sizeof buf);
    return r;
}

int om_platform_key_load(const char *path, struct om_platform_key *k)
{
    if (!path || !k)
        return OM_CRYPTO_EINVAL;
    char buf[MAX_SMALL_FILE + 1];
    size_t len = 0;
    int r = read_small(AT_FDCWD, path, buf, MAX_SMALL_FILE, &len);
    if (r == OM_CRYPTO_OK) {
        const char *p = buf;
        if (len != KEY_FILE_LEN || memcmp(p, KEY_HEADER, KEY_HEADER_LEN) != 0 ||
            hex_decode(k->priv, p + KEY_HEADER_LEN, 32) != 0 || p[KEY_HEADER_LEN + 64] != '\n' ||
            hex_decode(k->pub, p + KEY_HEADER_LEN + 65, 65) != 0 || p[KEY_FILE_LEN - 1] != '\n')
            r = OM_CRYPTO_EFORMAT;
        else if (om_platform_key_check(k) != 0)
            r = OM_CRYPTO_EKEY;
    }
    om_wipe(buf, sizeof buf);
    if (r != OM_CRYPTO_OK) {
        int e = errno;
        om_wipe(k, sizeof *k);
        errno = e;
    }
    return r;
}

int om_platform_pub_save(const char *path, const uint8_t pub[65])
{
    if (!path || !pub)
        return OM_CRYPTO_EINVAL;
    if (om_p256_pub_check(pub) != 0)
        return OM_CRYPTO_EKEY;
    char buf[131];
    hex_encode(buf, pub, 65);
    buf[130] = '\n';
    return write_atomic(path, buf, sizeof buf, 0644);
}

static int is_pub_name(const char *name)
{
    size_t n = strlen(name);
    return name[0] != '.' && n > 4 && strcmp(name + n - 4, ".pub") == 0;
}

int om_trust_store_load(const char *dir, struct om_trust_store *ts)
{
    if (!dir || !ts)
        return OM_CRYPTO_EINVAL;
    om_trust_store_init(ts);
    DIR *d = opendir(dir);
    if (!d) {
        snprintf(ts->bad_file, sizeof ts->bad_file, "%s", dir);
        return OM_CRYPTO_EIO;
    }
    int r = OM_CRYPTO_OK;
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) {
                r = OM_CRYPTO_EIO;
                snprintf(ts->bad_file, sizeof ts->bad_file, "%s", dir);
            }
            break;
        }
        if (!is_pub_name(de->d_name))
            continue;
        char buf[MAX_SMALL_FILE + 1];
        size_t len = 0;
        uint8_t pub[65];
        r = read_small(dirfd(d), de->d_name, buf, MAX_SMALL_FILE, &len);
        if (r == OM_CRYPTO_OK) {
            if (!(len == 130 || (len == 131 && buf[130] == '\n')) || hex_decode(pub, buf, 65) != 0)
                r = OM_CRYPTO_EFORMAT;
            else
                r = om_trust_store_add(ts, pub);
        }
        if (r != OM_CRYPTO_OK) {
            snprintf(ts->bad_file, sizeof ts->bad_file, "%s", de->d_name);
            break;
        }
    }
    int e = errno;
    closedir(d);
    errno = e;
    if (r != OM_CRYPTO_OK) {
        char bad[sizeof ts->bad_file];
        memcpy(bad, ts->bad_file, sizeof bad);
        om_trust_store_init(ts);
        memcpy(ts->bad_file, bad, sizeof bad);
    }
    return r;
}
