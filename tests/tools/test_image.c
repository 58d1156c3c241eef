/* test_image: the image parser and measurement against real and corrupted images.
 *
 *   test_image DIR
 *
 * DIR holds valid.img (built by omcc), one <variant>.img per mkbadimg variant
 * and a few real-world non-enclave binaries (real-*.img). Every file must have
 * an expectation below, and every expectation must have its file. */
#define _GNU_SOURCE
#include <bearssl.h>
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_image.h"
#include "measure.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (cond) {                                                                                \
            printf("ok   - ");                                                                     \
        } else {                                                                                   \
            printf("FAIL - ");                                                                     \
            failures++;                                                                            \
        }                                                                                          \
        printf(__VA_ARGS__);                                                                       \
        putchar('\n');                                                                             \
    } while (0)

struct expect {
    const char *name;
    const char *msg; /* substring of the error; NULL: must be accepted */
};

static const struct expect expects[] = {
    {"not-elf", "not an ELF file"},
    {"elf32", "not a 64-bit little-endian ELF file"},
    {"big-endian", "not a 64-bit little-endian ELF file"},
    {"wrong-arch", "wrong architecture: e_machine 183 (AArch64)"},
    {"exec", "not a position-independent (ET_DYN) image: e_type 2"},
    {"truncate-header", "truncated: ELF header"},
    {"truncate-phdrs", "truncated: program headers"},
    {"truncate-segment", "truncated: segment"},
    {"interp", "needs a dynamic loader (PT_INTERP \"/lib/ld-musl-x86_64.so.1\")"},
    {"needed", "depends on a host library (DT_NEEDED \"libc.so.6\")"},
    {"bad-reloc", "has type 1 (R_X86_64_64): only R_X86_64_RELATIVE is allowed"},
    {"overlap", "overlapping segments"},
    {"unaligned", "unaligned segment"},
    {"overflow", "overflows"},
    {"too-many-segs", "too many loadable segments"},
    {"no-note", "not an optmig enclave image (built without omcc?)"},
    {"bad-abi", "ABI version mismatch: image has OPTMIG ABI 99"},
    {"exec-write", "both writable and executable"},
    {"exec-stack", "executable stack"},
    {"bad-entry", "entry point"},
    {"huge", NULL},
    {"flip-code", NULL},
    {"stripped", NULL},
    {"lld-tbss", NULL},
    {"real-musl-no-runtime", "not an optmig enclave image (built without omcc?)"},
    {"real-glibc-dynamic", "needs a dynamic loader"},
    {"real-glibc-static-pie", "R_X86_64_IRELATIVE"},
    {"real-object", "e_type 1 (ET_REL"},
    {"real-text", "not an ELF file"},
};
#define NEXPECT (sizeof expects / sizeof expects[0])

static uint8_t *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    rewind(f);
    uint8_t *d = malloc(sz > 0 ? (size_t)sz : 1);
    if (d && fread(d, 1, (size_t)sz, f) != (size_t)sz) {
        free(d);
        d = NULL;
    }
    fclose(f);
    *n = (size_t)sz;
    return d;
}

static int measure_file(const char *path, uint8_t m[32])
{
    struct om_image img;
    char err[256];
    if (om_image_load(path, &img, err, sizeof err))
        return -1;
    om_image_measure(&img, m);
    om_image_free(&img);
    return 0;
}

static void put_le(br_sha256_context *h, uint64_t v, int bytes)
{
    uint8_t b[8];
    for (int i = 0; i < bytes; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    br_sha256_update(h, b, (size_t)bytes);
}

/* The encoding documented in measure.h, written out independently. */
static void reference_measure(const struct om_image *img, uint8_t out[32])
{
    br_sha256_context h;
    br_sha256_init(&h);
    br_sha256_update(&h, "optmig-measure-v1\0", 18);
    put_le(&h, img->entry, 8);
    put_le(&h, img->nseg, 4);
    for (unsigned i = 0; i < img->nseg; i++) {
        put_le(&h, img->seg[i].vaddr, 8);
        put_le(&h, img->seg[i].memsz, 8);
        put_le(&h, img->seg[i].flags, 4);
        put_le(&h, img->seg[i].filesz, 8);
        br_sha256_update(&h, img->data + img->seg[i].offset, img->seg[i].filesz);
    }
    br_sha256_out(&h, out);
}

static void test_rejects(const char *dir)
{
    for (size_t i = 0; i < NEXPECT; i++) {
        char path[4096], err[512];
        struct om_image img;
        snprintf(path, sizeof path, "%s/%s.img", dir, expects[i].name);
        if (access(path, R_OK) != 0) {
            CHECK(0, "%s: file missing", expects[i].name);
            continue;
        }
        int r = om_image_load(path, &img, err, sizeof err);
        if (expects[i].msg)
            CHECK(r == -1 && strstr(err, expects[i].msg), "%s rejected: \"%s\"", expects[i].name,
                  r ? err : "(accepted)");
        else
            CHECK(r == 0, "%s accepted%s%s", expects[i].name, r ? ": " : "", r ? err : "");
        om_image_free(&img);
    }
    /* Every image in DIR has an expectation, so a new mkbadimg variant cannot go untested. */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t len = strlen(e->d_name), k;
        if (len < 5 || strcmp(e->d_name + len - 4, ".img") || !strcmp(e->d_name, "valid.img"))
            continue;
        for (k = 0; k < NEXPECT; k++)
            if (strlen(expects[k].name) == len - 4 && !strncmp(expects[k].name, e->d_name, len - 4))
                break;
        if (k == NEXPECT)
            CHECK(0, "%s has no expectation in test_image.c", e->d_name);
    }
    if (d)
        closedir(d);
}

static void test_valid(const char *dir)
{
    char path[4096], err[512], hex[65];
    size_t n;
    struct om_image img, img2;
    uint8_t m1[32], m2[32], m3[32];

    snprintf(path, sizeof path, "%s/valid.img", dir);
    uint8_t *data = read_file(path, &n);
    if (!data) {
        CHECK(0, "valid.img readable");
        return;
    }
    int r = om_image_parse(data, n, &img, err, sizeof err);
    CHECK(r == 0, "valid image accepted%s%s", r ? ": " : "", r ? err : "");
    if (r) {
        free(data);
        return;
    }
    int sorted = img.nseg > 0, has_x = 0;
    for (unsigned i = 0; i < img.nseg; i++) {
        if (i && img.seg[i].vaddr <= img.seg[i - 1].vaddr)
            sorted = 0;
        if ((img.seg[i].flags & PF_X) && img.entry >= img.seg[i].vaddr &&
            img.entry < img.seg[i].vaddr + img.seg[i].filesz)
            has_x = 1;
    }
    CHECK(sorted, "segments ascending (%u PT_LOADs)", img.nseg);
    CHECK(has_x, "entry 0x%llx in an executable segment", (unsigned long long)img.entry);
    const struct om_segment *last = &img.seg[img.nseg - 1];
    CHECK(img.span % OM_PAGE_SIZE == 0 && img.span >= last->vaddr + last->memsz &&
              img.span < last->vaddr + last->memsz + OM_PAGE_SIZE,
          "span 0x%llx covers the last segment", (unsigned long long)img.span);
    CHECK(img.note.abi_version == OM_ABI_VERSION && img.note_vaddr != 0, "OPTMIG note at 0x%llx",
          (unsigned long long)img.note_vaddr);
    CHECK(img.phdr_vaddr == img.phoff, "program headers mapped at 0x%llx",
          (unsigned long long)img.phdr_vaddr);

    om_image_measure(&img, m1);
    om_image_measure(&img, m2);
    CHECK(!memcmp(m1, m2, 32), "measurement deterministic");
    reference_measure(&img, m3);
    CHECK(!memcmp(m1, m3, 32), "measurement matches the documented encoding");
    om_measure_hex(m1, hex);
    CHECK(strlen(hex) == 64 && strspn(hex, "0123456789abcdef") == 64, "measurement %s", hex);

    uint8_t *copy = malloc(n);
    memcpy(copy, data, n);
    CHECK(om_image_parse(copy, n, &img2, err, sizeof err) == 0, "copy parses");
    om_image_measure(&img2, m2);
    CHECK(!memcmp(m1, m2, 32), "copy measures the same");
    CHECK(measure_file(path, m2) == 0 && !memcmp(m1, m2, 32), "om_image_load measures the same");

    snprintf(path, sizeof path, "%s/flip-code.img", dir);
    CHECK(measure_file(path, m2) == 0 && memcmp(m1, m2, 32), "one flipped code byte changes it");
    /* A byte outside every PT_LOAD (here the last byte of the file, in the
     * section headers) is not part of the measurement. */
    copy[n - 1] ^= 0xff;
    CHECK(om_image_parse(copy, n, &img2, err, sizeof err) == 0, "byte outside segments: parses");
    om_image_measure(&img2, m2);
    CHECK(!memcmp(m1, m2, 32), "byte outside segments: same measurement");

    snprintf(path, sizeof path, "%s/huge.img", dir);
    r = om_image_load(path, &img2, err, sizeof err);
    uint64_t hv = r ? 0 : img2.seg[img2.nseg - 1].vaddr;
    CHECK(r == 0 && img2.span == ((hv + (1ull << 40) + OM_PAGE_SIZE - 1) & ~(OM_PAGE_SIZE - 1)),
          "huge segment: span 0x%llx left to the loader", (unsigned long long)img2.span);
    om_image_free(&img2);

    static const char *const main_sym[] = {"main"}, *const dl[] = {"dlopen", "dlsym", "dlmopen"};
    size_t which = 99;
    CHECK(om_image_find_defined_symbol(&img, main_sym, 1, &which, err, sizeof err) == 1 && which == 0,
          "symtab: main is defined");
    CHECK(om_image_find_defined_symbol(&img, dl, 3, &which, err, sizeof err) == 0,
          "symtab: no dlopen/dlsym/dlmopen");
    snprintf(path, sizeof path, "%s/stripped.img", dir);
    if (om_image_load(path, &img2, err, sizeof err) == 0) {
        r = om_image_find_defined_symbol(&img2, main_sym, 1, &which, err, sizeof err);
        CHECK(r == -1 && strstr(err, "symtab"), "stripped image: \"%s\"", r == -1 ? err : "found");
        om_image_free(&img2);
    }

    /* Truncation at every length around the headers and sampled after them:
     * rejected exactly while some needed byte is missing. Each prefix is a
     * fresh allocation of exactly that size, so ASan sees any overread. */
    uint64_t need = img.phoff + (uint64_t)img.phnum * 56;
    for (unsigned i = 0; i < img.nseg; i++)
        if (img.seg[i].offset + img.seg[i].filesz > need)
            need = img.seg[i].offset + img.seg[i].filesz;
    int bad = 0;
    size_t tried = 0;
    for (size_t len = 0; len <= n; len += (len < 8192 || (len + 2 > need && len < need + 2)) ? 1 : 61) {
        uint8_t *p = malloc(len ? len : 1);
        memcpy(p, data, len);
        r = om_image_parse(p, len, &img2, err, sizeof err);
        if ((r == 0) != (len >= need)) {
            if (!bad++)
                printf("     truncated at %zu: %s\n", len, r ? err : "accepted");
        }
        free(p);
        tried++;
    }
    CHECK(!bad, "%zu truncations: rejected iff shorter than %llu bytes", tried,
          (unsigned long long)need);

    /* Every single-byte change in the headers: parse must not crash (ASan). */
    size_t hdr = need < 4096 ? need : 4096;
    for (size_t pos = 0; pos < hdr; pos++)
        for (int bit = 0; bit < 8; bit += 3) {
            copy[pos] = data[pos] ^ (uint8_t)(1u << bit);
            if (om_image_parse(copy, n, &img2, err, sizeof err) == 0)
                om_image_measure(&img2, m2);
            copy[pos] = data[pos];
        }
    CHECK(1, "bit flips in the first %zu bytes handled", hdr);

    free(copy);
    free(data);
}

static void test_load_errors(const char *dir)
{
    char path[4096], err[512];
    struct om_image img;
    CHECK(om_image_parse(NULL, 0, &img, err, sizeof err) == -1 && strstr(err, "not an ELF file"),
          "empty buffer: \"%s\"", err);
    CHECK(om_image_parse((const uint8_t *)"\177EL", 3, &img, err, sizeof err) == -1 &&
              strstr(err, "not an ELF file"),
          "3 bytes: \"%s\"", err);
    CHECK(om_image_parse((const uint8_t *)"\177ELF\2\1\1", 7, &img, err, sizeof err) == -1 &&
              strstr(err, "truncated: ELF header"),
          "7 bytes: \"%s\"", err);
    CHECK(om_image_parse((const uint8_t *)"x", 1, &img, err, 0) == -1, "errlen 0 tolerated");
    snprintf(path, sizeof path, "%s/does-not-exist.img", dir);
    CHECK(om_image_load(path, &img, err, sizeof err) == -1 && strstr(err, "cannot open"),
          "missing file: \"%s\"", err);
    CHECK(om_image_load(dir, &img, err, sizeof err) == -1 && strstr(err, "not a regular file"),
          "directory: \"%s\"", err);
    snprintf(path, sizeof path, "%s/too-large.bin", dir);
    int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
    int made = fd >= 0 && ftruncate(fd, (off_t)OM_IMAGE_MAX_FILE + 1) == 0; /* sparse */
    if (fd >= 0)
        close(fd);
    CHECK(made && om_image_load(path, &img, err, sizeof err) == -1 && strstr(err, "too large"),
          "file over 1 GiB: \"%s\"", err);
    unlink(path);
    om_image_free(&img); /* safe on a zeroed image */
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_image DIR\n");
        return 2;
    }
    test_load_errors(argv[1]);
    test_valid(argv[1]);
    test_rejects(argv[1]);
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
