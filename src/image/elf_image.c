/* Enclave image parser. See elf_image.h for the acceptance rules.
 *
 * All multi-byte fields are read with explicit little-endian loads from the
 * byte buffer (no struct overlays, so no alignment or aliasing assumptions),
 * and every offset/length pair is checked with in_file() or an overflow
 * builtin before it is used. */
#define _POSIX_C_SOURCE 200809L
#include "elf_image.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef DT_RELRSZ
#define DT_RELRSZ 35
#endif
#ifndef DT_RELR
#define DT_RELR 36
#endif

#define PAGE OM_PAGE_SIZE
#define EHDR_SIZE 64u
#define PHDR_SIZE 56u
#define SHDR_SIZE 64u
#define DYN_SIZE 16u
#define RELA_SIZE 24u
#define SYM_SIZE 24u
#define TLS_MAX (1ull << 30)

struct ctx {
    const uint8_t *d;
    size_t n;
    char *err;
    size_t errlen;
};

__attribute__((format(printf, 2, 3))) static int fail(struct ctx *c, const char *fmt, ...)
{
    if (c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | (unsigned)p[1] << 8); }
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* [off, off+len) lies inside the file. */
static int in_file(const struct ctx *c, uint64_t off, uint64_t len)
{
    return off <= c->n && len <= c->n - off;
}

static int is_pow2_or_0(uint64_t x) { return (x & (x - 1)) == 0; }

/* Copies a NUL-terminated string from p[0..max) for an error message,
 * replacing anything unprintable; hostile names must not drive the terminal. */
static const char *safe_str(const uint8_t *p, uint64_t max, char *out, size_t outlen)
{
    size_t i = 0;
    for (; i + 1 < outlen && i < max && p[i]; i++)
        out[i] = (p[i] >= 0x20 && p[i] < 0x7f && p[i] != '"') ? (char)p[i] : '?';
    out[i] = 0;
    return out;
}

static const char *machine_name(unsigned m)
{
    switch (m) {
    case EM_NONE: return "none";
    case EM_386: return "i386";
    case EM_MIPS: return "MIPS";
    case EM_PPC: return "PowerPC";
    case EM_PPC64: return "PowerPC64";
    case EM_S390: return "S/390";
    case EM_ARM: return "ARM";
    case EM_IA_64: return "IA-64";
    case EM_X86_64: return "x86-64";
    case EM_AARCH64: return "AArch64";
    case EM_RISCV: return "RISC-V";
    case EM_BPF: return "BPF";
    case 258: return "LoongArch";
    default: return "unknown machine";
    }
}

static const char *type_name(unsigned t)
{
    switch (t) {
    case ET_NONE: return "ET_NONE";
    case ET_REL: return "ET_REL, a relocatable object";
    case ET_EXEC: return "ET_EXEC, a fixed-address executable";
    case ET_DYN: return "ET_DYN";
    case ET_CORE: return "ET_CORE, a core dump";
    default: return "unknown type";
    }
}

static const char *reloc_name(uint32_t t, char buf[32])
{
    static const char *const names[] = {
        "NONE", "64", "PC32", "GOT32", "PLT32", "COPY", "GLOB_DAT", "JUMP_SLOT", "RELATIVE",
        "GOTPCREL", "32", "32S", "16", "PC16", "8", "PC8", "DTPMOD64", "DTPOFF64", "TPOFF64",
        "TLSGD", "TLSLD", "DTPOFF32", "GOTTPOFF", "TPOFF32", "PC64", "GOTOFF64", "GOTPC32",
        "GOT64", "GOTPCREL64", "GOTPC64", "GOTPLT64", "PLTOFF64", "SIZE32", "SIZE64",
        "GOTPC32_TLSDESC", "TLSDESC_CALL", "TLSDESC", "IRELATIVE", "RELATIVE64", NULL, NULL,
        "GOTPCRELX", "REX_GOTPCRELX",
    };
    if (t < sizeof names / sizeof names[0] && names[t]) {
        snprintf(buf, 32, "R_X86_64_%s", names[t]);
        return buf;
    }
    return "unknown";
}

static const char *flag_str(uint32_t f, char out[4])
{
    out[0] = (f & PF_R) ? 'R' : '-';
    out[1] = (f & PF_W) ? 'W' : '-';
    out[2] = (f & PF_X) ? 'X' : '-';
    out[3] = 0;
    return out;
}

struct phdr {
    uint32_t type, flags;
    uint64_t offset, vaddr, filesz, memsz, align;
};

static void read_phdr(const uint8_t *p, struct phdr *ph)
{
    ph->type = le32(p);
    ph->flags = le32(p + 4);
    ph->offset = le64(p + 8);
    ph->vaddr = le64(p + 16);
    ph->filesz = le64(p + 32);
    ph->memsz = le64(p + 40);
    ph->align = le64(p + 48);
}

/* File offset of [va, va+len) if it lies inside one segment's file bytes. */
static int va_to_file(const struct om_image *img, uint64_t va, uint64_t len, uint64_t *off)
{
    for (unsigned i = 0; i < img->nseg; i++) {
        const struct om_segment *s = &img->seg[i];
        if (va >= s->vaddr && va - s->vaddr <= s->filesz && len <= s->filesz - (va - s->vaddr)) {
            *off = s->offset + (va - s->vaddr);
            return 0;
        }
    }
    return -1;
}

/* [va, va+len) lies inside one segment's memory, and that segment has all
 * of the flags in need (file bytes only if file_only). */
static int va_in_seg(const struct om_image *img, uint64_t va, uint64_t len, uint32_t need,
                     int file_only)
{
    for (unsigned i = 0; i < img->nseg; i++) {
        const struct om_segment *s = &img->seg[i];
        uint64_t sz = file_only ? s->filesz : s->memsz;
        if ((s->flags & need) == need && va >= s->vaddr && va - s->vaddr <= sz &&
            len <= sz - (va - s->vaddr))
            return 1;
    }
    return 0;
}

static int check_header(struct ctx *c, struct om_image *img)
{
    const uint8_t *d = c->d;
    if (c->n < SELFMAG || memcmp(d, ELFMAG, SELFMAG) != 0)
        return fail(c, "not an ELF file (no \\177ELF magic)");
    if (c->n < EI_NIDENT)
        return fail(c, "truncated: ELF header needs %u bytes, file has %zu", EHDR_SIZE, c->n);
    if (d[EI_CLASS] != ELFCLASS64 || d[EI_DATA] != ELFDATA2LSB)
        return fail(c, "not a 64-bit little-endian ELF file (EI_CLASS %u, EI_DATA %u)",
                    d[EI_CLASS], d[EI_DATA]);
    if (c->n < EHDR_SIZE)
        return fail(c, "truncated: ELF header needs %u bytes, file has %zu", EHDR_SIZE, c->n);
    if (d[EI_VERSION] != EV_CURRENT || le32(d + 20) != EV_CURRENT)
        return fail(c, "unsupported ELF version %u", (unsigned)le32(d + 20));
    unsigned machine = le16(d + 18);
    if (machine != EM_X86_64)
        return fail(c, "wrong architecture: e_machine %u (%s); enclave images are x86-64 (%u)",
                    machine, machine_name(machine), EM_X86_64);
    unsigned type = le16(d + 16);
    if (type != ET_DYN)
        return fail(c, "not a position-independent (ET_DYN) image: e_type %u (%s); build it with omcc",
                    type, type_name(type));
    img->entry = le64(d + 24);
    img->phoff = le64(d + 32);
    img->phentsize = le16(d + 54);
    img->phnum = le16(d + 56);
    if (img->phnum == 0)
        return fail(c, "no program headers");
    if (img->phnum == PN_XNUM)
        return fail(c, "extended program header numbering (PN_XNUM) is not supported");
    if (img->phentsize != PHDR_SIZE)
        return fail(c, "bad program header entry size %u (expected %u)", img->phentsize, PHDR_SIZE);
    if (!in_file(c, img->phoff, (uint64_t)img->phnum * PHDR_SIZE))
        return fail(c,
                    "truncated: program headers (offset 0x%llx, %u x %u bytes) extend beyond the end "
                    "of the file (%zu bytes)",
                    (unsigned long long)img->phoff, img->phnum, PHDR_SIZE, c->n);
    return 0;
}

static int check_load(struct ctx *c, struct om_image *img, unsigned idx, const struct phdr *ph)
{
    uint64_t end;
    char fs[4];
    if (img->nseg == OM_MAX_SEGS)
        return fail(c, "too many loadable segments (more than %d)", OM_MAX_SEGS);
    if (ph->memsz == 0)
        return fail(c, "empty loadable segment (program header %u)", idx);
    if (ph->filesz > ph->memsz)
        return fail(c, "segment at program header %u: file size 0x%llx exceeds memory size 0x%llx",
                    idx, (unsigned long long)ph->filesz, (unsigned long long)ph->memsz);
    if (__builtin_add_overflow(ph->vaddr, ph->memsz, &end) || end > UINT64_MAX - (PAGE - 1))
        return fail(c, "segment at program header %u: vaddr 0x%llx + memsz 0x%llx overflows", idx,
                    (unsigned long long)ph->vaddr, (unsigned long long)ph->memsz);
    if (!in_file(c, ph->offset, ph->filesz))
        return fail(c,
                    "truncated: segment at program header %u has file bytes [0x%llx, +0x%llx) beyond "
                    "the end of the file (%zu bytes)",
                    idx, (unsigned long long)ph->offset, (unsigned long long)ph->filesz, c->n);
    if (!is_pow2_or_0(ph->align))
        return fail(c, "unaligned segment at program header %u: p_align 0x%llx is not a power of two",
                    idx, (unsigned long long)ph->align);
    if ((ph->vaddr - ph->offset) % PAGE != 0)
        return fail(c,
                    "unaligned segment at program header %u: vaddr 0x%llx and file offset 0x%llx "
                    "differ modulo the 4 KiB page",
                    idx, (unsigned long long)ph->vaddr, (unsigned long long)ph->offset);
    if ((ph->flags & PF_W) && (ph->flags & PF_X))
        return fail(c, "segment at program header %u is both writable and executable (%s)", idx,
                    flag_str(ph->flags, fs));
    struct om_segment *s = &img->seg[img->nseg++];
    s->vaddr = ph->vaddr;
    s->memsz = ph->memsz;
    s->filesz = ph->filesz;
    s->offset = ph->offset;
    s->flags = ph->flags & (PF_R | PF_W | PF_X);
    return 0;
}

/* First pass: everything decided by one program header alone, and the PT_LOAD table. */
static int scan_phdrs(struct ctx *c, struct om_image *img)
{
    for (unsigned i = 0; i < img->phnum; i++) {
        struct phdr ph;
        read_phdr(c->d + img->phoff + (uint64_t)i * PHDR_SIZE, &ph);
        if (ph.type == PT_LOAD) {
            if (check_load(c, img, i, &ph))
                return -1;
        } else if (ph.type == PT_INTERP) {
            char name[128];
            if (in_file(c, ph.offset, ph.filesz) && ph.filesz > 0)
                return fail(c, "needs a dynamic loader (PT_INTERP \"%s\"); enclave images are static",
                            safe_str(c->d + ph.offset, ph.filesz, name, sizeof name));
            return fail(c, "needs a dynamic loader (PT_INTERP); enclave images are static");
        } else if (ph.type == PT_GNU_STACK && (ph.flags & PF_X)) {
            return fail(c, "asks for an executable stack (PT_GNU_STACK has PF_X)");
        }
    }
    return 0;
}

static int check_layout(struct ctx *c, struct om_image *img)
{
    if (img->nseg == 0)
        return fail(c, "no loadable segments");
    for (unsigned i = 1; i < img->nseg; i++) /* insertion sort, at most 16 */
        for (unsigned j = i; j > 0 && img->seg[j].vaddr < img->seg[j - 1].vaddr; j--) {
            struct om_segment t = img->seg[j];
            img->seg[j] = img->seg[j - 1];
            img->seg[j - 1] = t;
        }
    for (unsigned i = 1; i < img->nseg; i++) {
        const struct om_segment *p = &img->seg[i - 1], *s = &img->seg[i];
        uint64_t pend = (p->vaddr + p->memsz + PAGE - 1) & ~(PAGE - 1); /* no overflow: checked */
        if ((s->vaddr & ~(PAGE - 1)) < pend)
            return fail(c, "overlapping segments: [0x%llx, 0x%llx) and [0x%llx, 0x%llx) share a page",
                        (unsigned long long)p->vaddr, (unsigned long long)(p->vaddr + p->memsz),
                        (unsigned long long)s->vaddr, (unsigned long long)(s->vaddr + s->memsz));
    }
    const struct om_segment *last = &img->seg[img->nseg - 1];
    img->span = (last->vaddr + last->memsz + PAGE - 1) & ~(PAGE - 1);

    uint64_t phlen = (uint64_t)img->phnum * PHDR_SIZE;
    int found = 0;
    for (unsigned i = 0; i < img->nseg && !found; i++) {
        const struct om_segment *s = &img->seg[i];
        if (img->phoff >= s->offset && img->phoff - s->offset <= s->filesz &&
            phlen <= s->filesz - (img->phoff - s->offset)) {
            img->phdr_vaddr = s->vaddr + (img->phoff - s->offset);
            found = 1;
        }
    }
    if (!found)
        return fail(c, "program headers are not inside a loadable segment");
    if (!va_in_seg(img, img->entry, 1, PF_X, 1))
        return fail(c, "entry point 0x%llx is not in an executable segment",
                    (unsigned long long)img->entry);
    return 0;
}

static int check_tls(struct ctx *c, struct om_image *img, const struct phdr *ph, int *seen)
{
    uint64_t end;
    if ((*seen)++)
        return fail(c, "more than one PT_TLS");
    if (ph->filesz > ph->memsz || __builtin_add_overflow(ph->vaddr, ph->memsz, &end) ||
        !is_pow2_or_0(ph->align))
        return fail(c, "malformed PT_TLS (vaddr 0x%llx, filesz 0x%llx, memsz 0x%llx, align 0x%llx)",
                    (unsigned long long)ph->vaddr, (unsigned long long)ph->filesz,
                    (unsigned long long)ph->memsz, (unsigned long long)ph->align);
    if (ph->memsz > TLS_MAX)
        return fail(c, "PT_TLS memory size 0x%llx is too large", (unsigned long long)ph->memsz);
    /* A .tbss-only PT_TLS has no initialization image, and lld gives it an
     * address outside every segment. */
    if (ph->filesz && !va_in_seg(img, ph->vaddr, ph->filesz, 0, 0))
        return fail(c, "PT_TLS initialization image is not inside a loadable segment");
    img->tls_memsz = ph->memsz;
    return 0;
}

/* Every entry must be RELATIVE (or NONE, a no-op) and target writable memory. */
static int check_rela(struct ctx *c, const struct om_image *img, uint64_t off, uint64_t count,
                      const char *table)
{
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *r = c->d + off + i * RELA_SIZE;
        uint64_t where = le64(r);
        uint32_t type = (uint32_t)le64(r + 8);
        char rn[32];
        if (type == R_X86_64_NONE)
            continue;
        if (type != R_X86_64_RELATIVE)
            return fail(c,
                        "relocation %llu in %s at 0x%llx has type %u (%s): only R_X86_64_RELATIVE is "
                        "allowed (other relocations need a dynamic loader)",
                        (unsigned long long)i, table, (unsigned long long)where, type,
                        reloc_name(type, rn));
        if (!va_in_seg(img, where, 8, PF_W, 0))
            return fail(c, "relocation %llu in %s targets 0x%llx, outside the image's writable segments",
                        (unsigned long long)i, table, (unsigned long long)where);
    }
    return 0;
}

static int map_table(struct ctx *c, const struct om_image *img, const char *what, uint64_t va,
                     uint64_t len, uint64_t *off)
{
    if (va_to_file(img, va, len, off))
        return fail(c, "%s [0x%llx, +0x%llx) is not inside a loadable segment's file bytes", what,
                    (unsigned long long)va, (unsigned long long)len);
    return 0;
}

static int check_dynamic(struct ctx *c, struct om_image *img, const struct phdr *ph)
{
    uint64_t off;
    if (map_table(c, img, "PT_DYNAMIC", ph->vaddr, ph->filesz, &off))
        return -1;
    uint64_t n = ph->filesz / DYN_SIZE;
    uint64_t v[DT_RELR + 1] = {0};
    int have[DT_RELR + 1] = {0};
    int have_needed = 0, terminated = 0;
    uint64_t needed = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t tag = le64(c->d + off + i * DYN_SIZE), val = le64(c->d + off + i * DYN_SIZE + 8);
        if (tag == DT_NULL) {
            terminated = 1;
            break;
        }
        if (tag == DT_NEEDED && !have_needed) {
            have_needed = 1;
            needed = val;
        } else if (tag <= DT_RELR) {
            v[tag] = val; /* last one wins, as in musl's startup code */
            have[tag] = 1;
        }
    }
    if (!terminated)
        return fail(c, "PT_DYNAMIC has no DT_NULL terminator");
    if (have_needed) {
        uint64_t so;
        char name[128];
        if (have[DT_STRTAB] && have[DT_STRSZ] && needed < v[DT_STRSZ] &&
            va_to_file(img, v[DT_STRTAB], v[DT_STRSZ], &so) == 0)
            return fail(c, "depends on a host library (DT_NEEDED \"%s\"); enclave images link no "
                           "shared libraries",
                        safe_str(c->d + so + needed, v[DT_STRSZ] - needed, name, sizeof name));
        return fail(c, "depends on a host library (DT_NEEDED, name unreadable); enclave images link "
                       "no shared libraries");
    }
    if (have[DT_REL] || have[DT_RELSZ])
        return fail(c, "DT_REL relocations are not supported (x86-64 images use DT_RELA)");
    if (have[DT_RELR] || have[DT_RELRSZ])
        return fail(c, "DT_RELR packed relocations are not supported by the enclave's startup code");
    if (have[DT_RELA] || have[DT_RELASZ]) {
        uint64_t ro;
        if (!have[DT_RELA] || !have[DT_RELASZ])
            return fail(c, "DT_RELA and DT_RELASZ must come together");
        if (v[DT_RELASZ] && (!have[DT_RELAENT] || v[DT_RELAENT] != RELA_SIZE))
            return fail(c, "bad DT_RELAENT %llu (expected %u)", (unsigned long long)v[DT_RELAENT],
                        RELA_SIZE);
        if (v[DT_RELASZ] % RELA_SIZE)
            return fail(c, "DT_RELASZ %llu is not a multiple of %u", (unsigned long long)v[DT_RELASZ],
                        RELA_SIZE);
        if (map_table(c, img, "relocation table (DT_RELA)", v[DT_RELA], v[DT_RELASZ], &ro) ||
            check_rela(c, img, ro, v[DT_RELASZ] / RELA_SIZE, ".rela.dyn"))
            return -1;
        img->rela_off = ro;
        img->rela_count = v[DT_RELASZ] / RELA_SIZE;
    }
    if (have[DT_JMPREL] && v[DT_PLTRELSZ]) {
        uint64_t jo;
        if (v[DT_PLTRELSZ] >= RELA_SIZE && va_to_file(img, v[DT_JMPREL], RELA_SIZE, &jo) == 0) {
            uint32_t type = (uint32_t)le64(c->d + jo + 8);
            char rn[32];
            return fail(c,
                        "has PLT relocations (DT_JMPREL), first of type %u (%s): only "
                        "R_X86_64_RELATIVE is allowed (other relocations need a dynamic loader)",
                        type, reloc_name(type, rn));
        }
        return fail(c, "has PLT relocations (DT_JMPREL): only R_X86_64_RELATIVE is allowed");
    }
    return 0;
}

/* Walks the notes of one PT_NOTE and records the OPTMIG note. */
static int scan_notes(struct ctx *c, struct om_image *img, const struct phdr *ph, uint64_t *note_off)
{
    if (!in_file(c, ph->offset, ph->filesz))
        return fail(c, "truncated: PT_NOTE [0x%llx, +0x%llx) extends beyond the end of the file",
                    (unsigned long long)ph->offset, (unsigned long long)ph->filesz);
    uint64_t al = ph->align == 8 ? 8 : 4, pos = 0, len = ph->filesz;
    const uint8_t *p = c->d + ph->offset;
    while (len - pos >= 12) {
        uint64_t namesz = le32(p + pos), descsz = le32(p + pos + 4);
        uint32_t type = le32(p + pos + 8);
        uint64_t name = pos + 12;
        if (namesz > len - name)
            goto bad;
        uint64_t desc = name + ((namesz + al - 1) & ~(al - 1));
        if (desc > len || descsz > len - desc)
            goto bad;
        if (namesz == sizeof OM_NOTE_NAME && memcmp(p + name, OM_NOTE_NAME, namesz) == 0 &&
            type == OM_NOTE_TYPE) {
            uint64_t va;
            if (*note_off)
                return fail(c, "more than one OPTMIG note");
            if (descsz != sizeof(struct om_note_desc))
                return fail(c, "malformed OPTMIG note (descsz %llu, expected %zu)",
                            (unsigned long long)descsz, sizeof(struct om_note_desc));
            *note_off = ph->offset + desc;
            uint64_t fo;
            if (__builtin_add_overflow(ph->vaddr, desc, &va) ||
                va_to_file(img, va, sizeof(struct om_note_desc), &fo) || fo != *note_off)
                return fail(c, "OPTMIG note is not inside a loadable segment");
            img->note_vaddr = va;
        }
        pos = desc + ((descsz + al - 1) & ~(al - 1));
        if (pos >= len)
            break;
    }
    return 0;
bad:
    return fail(c, "malformed note in PT_NOTE at file offset 0x%llx", (unsigned long long)ph->offset);
}

/* Second pass: headers that refer to memory laid out by the PT_LOADs. */
static int scan_refs(struct ctx *c, struct om_image *img)
{
    struct phdr dyn;
    int have_dyn = 0, seen_tls = 0;
    uint64_t note_off = 0;
    for (unsigned i = 0; i < img->phnum; i++) {
        struct phdr ph;
        read_phdr(c->d + img->phoff + (uint64_t)i * PHDR_SIZE, &ph);
        if (ph.type == PT_TLS) {
            if (check_tls(c, img, &ph, &seen_tls))
                return -1;
        } else if (ph.type == PT_DYNAMIC) {
            if (have_dyn)
                return fail(c, "more than one PT_DYNAMIC");
            have_dyn = 1;
            dyn = ph;
        }
    }
    if (have_dyn && check_dynamic(c, img, &dyn))
        return -1;
    for (unsigned i = 0; i < img->phnum; i++) {
        struct phdr ph;
        read_phdr(c->d + img->phoff + (uint64_t)i * PHDR_SIZE, &ph);
        if (ph.type == PT_NOTE && scan_notes(c, img, &ph, &note_off))
            return -1;
    }
    if (!note_off)
        return fail(c, "not an optmig enclave image (built without omcc?): no OPTMIG note");
    img->note.abi_version = le32(c->d + note_off);
    img->note.trap_entry = (int32_t)le32(c->d + note_off + 4);
    img->note.ecall_entry = (int32_t)le32(c->d + note_off + 8);
    img->note.ecall_tls = (int32_t)le32(c->d + note_off + 12);
    if (img->note.abi_version != OM_ABI_VERSION)
        return fail(c, "ABI version mismatch: image has OPTMIG ABI %u, this host expects %u "
                       "(rebuild it with this omcc)",
                    img->note.abi_version, OM_ABI_VERSION);
    /* The offset is relative to the trap_entry field itself. */
    uint64_t trap = img->note_vaddr + 4 + (uint64_t)(int64_t)img->note.trap_entry;
    if (!va_in_seg(img, trap, 1, PF_X, 1))
        return fail(c, "OPTMIG note's trap entry 0x%llx is not in an executable segment",
                    (unsigned long long)trap);
    uint64_t ecall = img->note_vaddr + 8 + (uint64_t)(int64_t)img->note.ecall_entry;
    if (!va_in_seg(img, ecall, 1, PF_X, 1))
        return fail(c, "OPTMIG note's ECALL entry 0x%llx is not in an executable segment",
                    (unsigned long long)ecall);
    return 0;
}

int om_image_parse(const uint8_t *data, size_t size, struct om_image *img, char *err, size_t errlen)
{
    struct ctx c = {data, data ? size : 0, err, errlen};
    memset(img, 0, sizeof *img);
    if (errlen)
        err[0] = 0;
    img->data = (uint8_t *)data;
    img->size = c.n;
    if (check_header(&c, img) || scan_phdrs(&c, img) || check_layout(&c, img) ||
        scan_refs(&c, img)) {
        memset(img, 0, sizeof *img);
        return -1;
    }
    return 0;
}

int om_image_load(const char *path, struct om_image *img, char *err, size_t errlen)
{
    struct ctx c = {NULL, 0, err, errlen};
    struct stat st;
    uint8_t *buf = NULL;
    memset(img, 0, sizeof *img);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fail(&c, "cannot open %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0) {
        fail(&c, "cannot stat %s: %s", path, strerror(errno));
        goto out;
    }
    if (!S_ISREG(st.st_mode)) {
        fail(&c, "%s is not a regular file", path);
        goto out;
    }
    if ((uint64_t)st.st_size > OM_IMAGE_MAX_FILE) {
        fail(&c, "%s is too large for an enclave image (%lld bytes, limit 1 GiB)", path,
             (long long)st.st_size);
        goto out;
    }
    size_t size = (size_t)st.st_size, got = 0;
    buf = malloc(size ? size : 1);
    if (!buf) {
        fail(&c, "out of memory reading %s", path);
        goto out;
    }
    while (got < size) {
        ssize_t r = read(fd, buf + got, size - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            fail(&c, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (r == 0) {
            fail(&c, "%s shrank while being read", path);
            goto out;
        }
        got += (size_t)r;
    }
    close(fd);
    fd = -1;
    if (om_image_parse(buf, size, img, err, errlen) != 0)
        goto out;
    img->owns_data = 1;
    return 0;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    memset(img, 0, sizeof *img);
    return -1;
}

void om_image_free(struct om_image *img)
{
    if (img->owns_data)
        free(img->data);
    memset(img, 0, sizeof *img);
}

int om_image_find_defined_symbol(const struct om_image *img, const char *const *names, size_t n,
                                 size_t *which, char *err, size_t errlen)
{
    struct ctx c = {img->data, img->data ? img->size : 0, err, errlen};
    const uint8_t *d = c.d;
    int have_symtab = 0;
    if (c.n < EHDR_SIZE)
        return fail(&c, "not a parsed image");
    uint64_t shoff = le64(d + 40);
    unsigned shentsize = le16(d + 58), shnum = le16(d + 60);
    if (shoff == 0 || shnum == 0)
        return fail(&c, "image has no section headers (stripped?)");
    if (shentsize != SHDR_SIZE || !in_file(&c, shoff, (uint64_t)shnum * SHDR_SIZE))
        return fail(&c, "malformed section header table");
    for (unsigned i = 0; i < shnum; i++) {
        const uint8_t *sh = d + shoff + (uint64_t)i * SHDR_SIZE;
        if (le32(sh + 4) != SHT_SYMTAB)
            continue;
        uint64_t off = le64(sh + 24), size = le64(sh + 32), ent = le64(sh + 56);
        uint32_t link = le32(sh + 40);
        if (ent != SYM_SIZE || !in_file(&c, off, size) || link >= shnum)
            return fail(&c, "malformed .symtab");
        const uint8_t *st = d + shoff + (uint64_t)link * SHDR_SIZE;
        uint64_t stroff = le64(st + 24), strsize = le64(st + 32);
        if (le32(st + 4) != SHT_STRTAB || !in_file(&c, stroff, strsize))
            return fail(&c, "malformed .symtab string table");
        have_symtab = 1;
        for (uint64_t k = 0; k < size / SYM_SIZE; k++) {
            const uint8_t *sym = d + off + k * SYM_SIZE;
            uint32_t name = le32(sym);
            unsigned bind = sym[4] >> 4, shndx = le16(sym + 6);
            if ((bind != STB_GLOBAL && bind != STB_WEAK) || shndx == SHN_UNDEF || name >= strsize)
                continue;
            const char *s = (const char *)d + stroff + name;
            size_t max = (size_t)(strsize - name);
            if (strnlen(s, max) == max)
                continue; /* not NUL-terminated inside the table */
            for (size_t j = 0; j < n; j++)
                if (strcmp(s, names[j]) == 0) {
                    *which = j;
                    return 1;
                }
        }
    }
    if (!have_symtab)
        return fail(&c, "image has no .symtab (stripped?)");
    return 0;
}
