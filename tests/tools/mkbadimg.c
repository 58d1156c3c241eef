/* mkbadimg: writes a corrupted variant of a valid enclave image, for the
 * image parser's must-reject tests and the fuzzer's seed corpus.
 *
 *   mkbadimg VARIANT IN OUT        mkbadimg truncate IN OUT N        mkbadimg --list
 *
 * The input is expected to be a valid omcc image; the tool still bounds-checks
 * what it touches and fails cleanly if the image lacks what a variant needs. */
#define _GNU_SOURCE
#include <elf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elf_image.h"

struct img {
    uint8_t *d;
    size_t n;
};

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "mkbadimg: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(2);
}

static void need(const struct img *m, uint64_t off, uint64_t len, const char *what)
{
    if (off > m->n || len > m->n - off)
        die("input too small for %s", what);
}

static Elf64_Ehdr *ehdr(struct img *m)
{
    need(m, 0, sizeof(Elf64_Ehdr), "the ELF header");
    return (Elf64_Ehdr *)m->d;
}

static Elf64_Phdr *phdr(struct img *m, unsigned i)
{
    Elf64_Ehdr *e = ehdr(m);
    if (i >= e->e_phnum)
        die("%s", "program header index out of range");
    need(m, e->e_phoff + (uint64_t)i * sizeof(Elf64_Phdr), sizeof(Elf64_Phdr), "program headers");
    return (Elf64_Phdr *)(m->d + e->e_phoff + (uint64_t)i * sizeof(Elf64_Phdr));
}

/* The n-th program header of a type (n = 0 first), or NULL. */
static Elf64_Phdr *find_ph(struct img *m, uint32_t type, unsigned nth)
{
    for (unsigned i = 0; i < ehdr(m)->e_phnum; i++) {
        Elf64_Phdr *p = phdr(m, i);
        if (p->p_type == type && nth-- == 0)
            return p;
    }
    return NULL;
}

static Elf64_Phdr *load_with(struct img *m, uint32_t flags)
{
    Elf64_Phdr *p;
    for (unsigned k = 0; (p = find_ph(m, PT_LOAD, k)); k++)
        if ((p->p_flags & flags) == flags)
            return p;
    die("no PT_LOAD with flags %s", flags == PF_X ? "X" : "W");
    return NULL;
}

static uint64_t va_to_off(struct img *m, uint64_t va, uint64_t len)
{
    Elf64_Phdr *p;
    for (unsigned k = 0; (p = find_ph(m, PT_LOAD, k)); k++)
        if (va >= p->p_vaddr && va + len <= p->p_vaddr + p->p_filesz) {
            need(m, p->p_offset + (va - p->p_vaddr), len, "a mapped table");
            return p->p_offset + (va - p->p_vaddr);
        }
    die("%s", "address not in a PT_LOAD");
    return 0;
}

static Elf64_Dyn *dyn_entry(struct img *m, int64_t tag)
{
    Elf64_Phdr *dp = find_ph(m, PT_DYNAMIC, 0);
    if (!dp)
        die("%s", "no PT_DYNAMIC");
    uint64_t off = va_to_off(m, dp->p_vaddr, dp->p_filesz);
    for (uint64_t i = 0; i < dp->p_filesz / sizeof(Elf64_Dyn); i++) {
        Elf64_Dyn *d = (Elf64_Dyn *)(m->d + off + i * sizeof(Elf64_Dyn));
        if (d->d_tag == tag)
            return d;
        if (d->d_tag == DT_NULL)
            break;
    }
    return NULL;
}

/* Appends bytes at the end of the file (8-aligned) and returns their offset. */
static uint64_t append(struct img *m, const void *p, size_t len)
{
    size_t off = (m->n + 7) & ~(size_t)7;
    uint8_t *d = realloc(m->d, off + len);
    if (!d)
        die("%s", "out of memory");
    memset(d + m->n, 0, off - m->n);
    memcpy(d + off, p, len);
    m->d = d;
    m->n = off + len;
    return off;
}

static uint64_t span(struct img *m)
{
    uint64_t end = 0;
    Elf64_Phdr *p;
    for (unsigned k = 0; (p = find_ph(m, PT_LOAD, k)); k++)
        if (p->p_vaddr + p->p_memsz > end)
            end = p->p_vaddr + p->p_memsz;
    return (end + OM_PAGE_SIZE - 1) & ~(OM_PAGE_SIZE - 1);
}

/* A header the parser ignores, free to be repurposed. */
static Elf64_Phdr *spare_ph(struct img *m)
{
    static const uint32_t spare[] = {PT_GNU_STACK, PT_GNU_EH_FRAME, PT_GNU_RELRO, PT_GNU_PROPERTY};
    for (size_t i = 0; i < sizeof spare / sizeof spare[0]; i++) {
        Elf64_Phdr *p = find_ph(m, spare[i], 0);
        if (p)
            return p;
    }
    die("%s", "no spare program header");
    return NULL;
}

/* File offset of the OPTMIG note's name. */
static uint64_t optmig_note(struct img *m)
{
    Elf64_Phdr *p;
    for (unsigned k = 0; (p = find_ph(m, PT_NOTE, k)); k++) {
        need(m, p->p_offset, p->p_filesz, "PT_NOTE");
        uint64_t al = p->p_align == 8 ? 8 : 4;
        for (uint64_t pos = 0; pos + 12 <= p->p_filesz;) {
            const uint8_t *q = m->d + p->p_offset + pos;
            uint32_t namesz, descsz, type;
            memcpy(&namesz, q, 4);
            memcpy(&descsz, q + 4, 4);
            memcpy(&type, q + 8, 4);
            if (type == OM_NOTE_TYPE && namesz == 7 && pos + 12 + 7 <= p->p_filesz &&
                memcmp(q + 12, "OPTMIG", 7) == 0)
                return p->p_offset + pos + 12;
            pos += 12 + ((namesz + al - 1) & ~(al - 1)) + ((descsz + al - 1) & ~(al - 1));
        }
    }
    die("%s", "no OPTMIG note");
    return 0;
}

static void corrupt(struct img *m, const char *v, const char *arg)
{
    Elf64_Ehdr *e = ehdr(m);
    if (!strcmp(v, "not-elf")) {
        memcpy(m->d, "JUNK", 4);
    } else if (!strcmp(v, "elf32")) {
        m->d[EI_CLASS] = ELFCLASS32;
    } else if (!strcmp(v, "big-endian")) {
        m->d[EI_DATA] = ELFDATA2MSB;
    } else if (!strcmp(v, "wrong-arch")) {
        e->e_machine = EM_AARCH64;
    } else if (!strcmp(v, "exec")) {
        e->e_type = ET_EXEC;
    } else if (!strcmp(v, "truncate-header")) {
        m->n = 40;
    } else if (!strcmp(v, "truncate-phdrs")) {
        m->n = e->e_phoff + (uint64_t)e->e_phnum * sizeof(Elf64_Phdr) - 1;
    } else if (!strcmp(v, "truncate-segment")) {
        Elf64_Phdr *p = load_with(m, PF_W);
        m->n = p->p_offset + p->p_filesz - 1;
    } else if (!strcmp(v, "truncate")) {
        char *end;
        errno = 0;
        unsigned long long n = arg ? strtoull(arg, &end, 0) : 0;
        if (!arg || errno || *end || n > m->n)
            die("truncate needs a length N <= the file size, got %s", arg ? arg : "nothing");
        m->n = (size_t)n;
    } else if (!strcmp(v, "interp")) {
        static const char interp[] = "/lib/ld-musl-x86_64.so.1";
        uint64_t off = append(m, interp, sizeof interp);
        Elf64_Phdr *p = spare_ph(m);
        *p = (Elf64_Phdr){.p_type = PT_INTERP, .p_flags = PF_R, .p_offset = off,
                          .p_filesz = sizeof interp, .p_memsz = sizeof interp, .p_align = 1};
    } else if (!strcmp(v, "needed")) {
        static const char name[] = "libc.so.6";
        uint64_t off = append(m, name, sizeof name), va = span(m) + off % OM_PAGE_SIZE;
        Elf64_Phdr *p = spare_ph(m);
        *p = (Elf64_Phdr){.p_type = PT_LOAD, .p_flags = PF_R, .p_offset = off, .p_vaddr = va,
                          .p_paddr = va, .p_filesz = sizeof name, .p_memsz = sizeof name,
                          .p_align = OM_PAGE_SIZE};
        Elf64_Dyn *strtab = dyn_entry(m, DT_STRTAB), *strsz = dyn_entry(m, DT_STRSZ), *spare = NULL;
        static const int64_t tags[] = {DT_DEBUG, DT_FLAGS_1, DT_RELACOUNT, DT_GNU_HASH, DT_HASH};
        for (size_t i = 0; !spare && i < sizeof tags / sizeof tags[0]; i++)
            spare = dyn_entry(m, tags[i]);
        if (!strtab || !strsz || !spare)
            die("%s", "dynamic section lacks DT_STRTAB/DT_STRSZ or a spare tag");
        strtab->d_un.d_ptr = va;
        strsz->d_un.d_val = sizeof name;
        spare->d_tag = DT_NEEDED;
        spare->d_un.d_val = 0;
    } else if (!strcmp(v, "bad-reloc")) {
        Elf64_Dyn *rela = dyn_entry(m, DT_RELA), *sz = dyn_entry(m, DT_RELASZ);
        if (!rela || !sz || sz->d_un.d_val < sizeof(Elf64_Rela))
            die("%s", "no relocations to corrupt");
        Elf64_Rela *r = (Elf64_Rela *)(m->d + va_to_off(m, rela->d_un.d_ptr, sizeof(Elf64_Rela)));
        r->r_info = ELF64_R_INFO(0, R_X86_64_64);
    } else if (!strcmp(v, "overlap")) {
        Elf64_Phdr *a = find_ph(m, PT_LOAD, 0), *b = find_ph(m, PT_LOAD, 1);
        if (!a || !b)
            die("%s", "need two PT_LOADs");
        b->p_vaddr = (a->p_vaddr & ~(OM_PAGE_SIZE - 1)) + b->p_offset % OM_PAGE_SIZE;
    } else if (!strcmp(v, "unaligned")) {
        load_with(m, PF_W)->p_vaddr += 8;
    } else if (!strcmp(v, "overflow")) {
        Elf64_Phdr *p = load_with(m, PF_W);
        p->p_memsz = UINT64_MAX - p->p_vaddr + 0x10; /* vaddr + memsz wraps */
    } else if (!strcmp(v, "huge")) {
        load_with(m, PF_W)->p_memsz = 1ull << 40; /* legal; the loader limits the span */
    } else if (!strcmp(v, "too-many-segs")) {
        unsigned n = e->e_phnum, extra = OM_MAX_SEGS + 1;
        size_t len = (size_t)(n + extra) * sizeof(Elf64_Phdr);
        Elf64_Phdr *t = calloc(n + extra, sizeof *t);
        if (!t)
            die("%s", "out of memory");
        memcpy(t, m->d + e->e_phoff, (size_t)n * sizeof *t);
        for (unsigned i = 0; i < extra; i++)
            t[n + i] = *find_ph(m, PT_LOAD, 0);
        uint64_t off = append(m, t, len);
        free(t);
        e = ehdr(m);
        e->e_phoff = off;
        e->e_phnum = (Elf64_Half)(n + extra);
    } else if (!strcmp(v, "no-note")) {
        m->d[optmig_note(m) + 5] = 'X'; /* "OPTMIX" */
    } else if (!strcmp(v, "bad-abi")) {
        uint64_t desc = optmig_note(m) + 8;
        need(m, desc, 4, "the note descriptor");
        uint32_t abi = 99; /* never a real ABI version */
        memcpy(m->d + desc, &abi, 4);
    } else if (!strcmp(v, "exec-write")) {
        load_with(m, PF_W)->p_flags |= PF_X;
    } else if (!strcmp(v, "exec-stack")) {
        Elf64_Phdr *p = find_ph(m, PT_GNU_STACK, 0);
        if (!p)
            die("%s", "no PT_GNU_STACK");
        p->p_flags |= PF_X;
    } else if (!strcmp(v, "bad-entry")) {
        e->e_entry = load_with(m, PF_W)->p_vaddr;
    } else if (!strcmp(v, "flip-code")) {
        Elf64_Phdr *p = load_with(m, PF_X);
        need(m, p->p_offset, p->p_filesz, "the code segment");
        m->d[p->p_offset + p->p_filesz / 2] ^= 0x01; /* still a valid image */
    } else {
        die("unknown variant '%s' (see mkbadimg --list)", v);
    }
}

static const char *const variants[] = {
    "not-elf", "elf32", "big-endian", "wrong-arch", "exec", "truncate-header", "truncate-phdrs",
    "truncate-segment", "interp", "needed", "bad-reloc", "overlap", "unaligned", "overflow",
    "huge", "too-many-segs", "no-note", "bad-abi", "exec-write", "exec-stack", "bad-entry",
    "flip-code", NULL,
};

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--list")) {
        for (size_t i = 0; variants[i]; i++)
            puts(variants[i]);
        return 0;
    }
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: mkbadimg VARIANT IN OUT | mkbadimg truncate IN OUT N | mkbadimg --list\n");
        return 2;
    }
    struct img m = {0};
    FILE *f = fopen(argv[2], "rb");
    if (!f)
        die("cannot open %s", argv[2]);
    if (fseek(f, 0, SEEK_END) != 0)
        die("cannot seek %s", argv[2]);
    long sz = ftell(f);
    if (sz < 0)
        die("cannot size %s", argv[2]);
    rewind(f);
    m.n = (size_t)sz;
    m.d = malloc(m.n ? m.n : 1);
    if (!m.d || fread(m.d, 1, m.n, f) != m.n)
        die("cannot read %s", argv[2]);
    fclose(f);
    corrupt(&m, argv[1], argc == 5 ? argv[4] : NULL);
    f = fopen(argv[3], "wb");
    if (!f || fwrite(m.d, 1, m.n, f) != m.n || fclose(f) != 0)
        die("cannot write %s", argv[3]);
    free(m.d);
    return 0;
}
