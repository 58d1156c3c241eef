/* Seal throughput for 4 KiB pages on one core: om_seal (BearSSL AES-NI+PCLMUL
 * and the portable constant-time fallback), om_open, BearSSL's own br_gcm as a
 * reference for the GCM composition, and OpenSSL EVP AES-256-GCM when built
 * with -DHAVE_OPENSSL. Prints Markdown tables; see bench/crypto/run.sh.
 *
 * usage: bench_seal [seconds-per-run] [cold-MiB]
 *   Each case is timed in 5 runs of about seconds-per-run (default 0.3), the
 *   cases interleaved run by run; the median run is reported. "hot" cycles
 *   over 256 pages (1 MiB, cache-resident); "cold" over cold-MiB (default 256,
 *   0 to skip) of source pages, as when a large enclave is exported. Every
 *   record has the 40-byte associated data om_seal uses. */
#define _GNU_SOURCE
#include "om_crypto.h"
#include "om_crypto_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#ifdef HAVE_OPENSSL
#include <openssl/evp.h>
#endif

#define PAGE 4096u
#define RUNS 5

static const uint8_t KEY[32] = {7, 6, 5, 4, 3, 2, 1};
static const uint8_t MIG[16] = {1, 2, 3};

static uint8_t *src, *dst;
static size_t npages;
static uint8_t tags[16];
static volatile uint64_t sink;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint8_t *map(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        perror("mmap");
        exit(1);
    }
    for (size_t i = 0; i < bytes; i++)
        ((uint8_t *)p)[i] = (uint8_t)(i * 131 + (i >> 12));
    return p;
}

/* ---- cases: each seals n pages, i.e. pages [i % npages] ---------------- */

struct bench_case {
    const char *name;
    int (*setup)(struct bench_case *c);
    void (*run)(struct bench_case *c, size_t n);
    int inplace;
    enum om_aead_impl impl;
    struct om_sealer sealer;
    struct om_opener opener;
    uint32_t stream;
    br_gcm_context bgcm;
    br_aes_x86ni_ctr_keys bkeys;
#ifdef HAVE_OPENSSL
    EVP_CIPHER_CTX *evp;
#endif
    double gbps[RUNS];
};

static uint32_t next_stream = 1;

static int om_setup(struct bench_case *c)
{
    c->stream = next_stream++;
    return om_sealer_init(&c->sealer, KEY, c->stream, MIG, c->impl);
}

static void om_run(struct bench_case *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t p = i % npages;
        uint8_t *out = c->inplace ? src + p * PAGE : dst + p * PAGE;
        if (om_seal(&c->sealer, 1, p, i + 1, src + p * PAGE, PAGE, out, tags, NULL) != 0) {
            fprintf(stderr, "om_seal failed\n");
            exit(1);
        }
    }
}

/* om_open: npages records are sealed once (untimed); each pass over them
 * opens them with a fresh opener, since counters must increase. */
static uint8_t *open_ct, *open_tags;
static int open_setup(struct bench_case *c)
{
    c->stream = next_stream++;
    struct om_sealer s;
    int r = om_sealer_init(&s, KEY, c->stream, MIG, c->impl);
    for (size_t p = 0; r == 0 && p < npages; p++)
        r = om_seal(&s, 1, p, 1, src + p * PAGE, PAGE, open_ct + p * PAGE, open_tags + 16 * p,
                    NULL);
    om_sealer_wipe(&s);
    return r;
}

static void open_run(struct bench_case *c, size_t n)
{
    size_t done = 0;
    while (done < n) {
        om_opener_init(&c->opener, KEY, c->stream, MIG, c->impl);
        for (size_t p = 0; p < npages && done < n; p++, done++)
            if (om_open(&c->opener, 1, p, 1, p, open_ct + p * PAGE, PAGE, dst + p * PAGE,
                        open_tags + 16 * p) != 0) {
                fprintf(stderr, "om_open failed\n");
                exit(1);
            }
    }
}

static int brgcm_setup(struct bench_case *c)
{
    const br_block_ctr_class *vt = br_aes_x86ni_ctr_get_vtable();
    br_ghash gh = br_ghash_pclmul_get();
    if (!vt || !gh)
        return -1;
    vt->init(&c->bkeys.vtable, KEY, 32);
    br_gcm_init(&c->bgcm, &c->bkeys.vtable, gh);
    return 0;
}

static void brgcm_run(struct bench_case *c, size_t n)
{
    uint8_t iv[12] = {0}, ad[OM_RECORD_AD_LEN];
    for (size_t i = 0; i < n; i++) {
        size_t p = i % npages;
        om_record_nonce(iv, 1, i);
        om_record_ad(ad, MIG, 1, 1, p, i + 1);
        br_gcm_reset(&c->bgcm, iv, sizeof iv);
        br_gcm_aad_inject(&c->bgcm, ad, sizeof ad);
        br_gcm_flip(&c->bgcm);
        br_gcm_run(&c->bgcm, 1, src + p * PAGE, PAGE); /* in place only */
        br_gcm_get_tag(&c->bgcm, tags);
    }
}

#ifdef HAVE_OPENSSL
static int evp_setup(struct bench_case *c)
{
    c->evp = EVP_CIPHER_CTX_new();
    if (!c->evp || EVP_EncryptInit_ex(c->evp, EVP_aes_256_gcm(), NULL, KEY, NULL) != 1)
        return -1;
    return 0;
}

static void evp_run(struct bench_case *c, size_t n)
{
    uint8_t iv[12], ad[OM_RECORD_AD_LEN];
    int len;
    for (size_t i = 0; i < n; i++) {
        size_t p = i % npages;
        uint8_t *out = c->inplace ? src + p * PAGE : dst + p * PAGE;
        om_record_nonce(iv, 1, i);
        om_record_ad(ad, MIG, 1, 1, p, i + 1);
        if (EVP_EncryptInit_ex(c->evp, NULL, NULL, NULL, iv) != 1 ||
            EVP_EncryptUpdate(c->evp, NULL, &len, ad, sizeof ad) != 1 ||
            EVP_EncryptUpdate(c->evp, out, &len, src + p * PAGE, PAGE) != 1 ||
            EVP_EncryptFinal_ex(c->evp, out + len, &len) != 1 ||
            EVP_CIPHER_CTX_ctrl(c->evp, EVP_CTRL_GCM_GET_TAG, 16, tags) != 1) {
            fprintf(stderr, "EVP failed\n");
            exit(1);
        }
    }
}
#endif

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *v)
{
    double s[RUNS];
    memcpy(s, v, sizeof s);
    qsort(s, RUNS, sizeof s[0], cmp_double);
    return s[RUNS / 2];
}

static void run_table(struct bench_case *cases, size_t ncases, double secs, const char *title)
{
    /* calibrate: pages per run for each case */
    size_t per_run[16];
    for (size_t i = 0; i < ncases; i++) {
        size_t n = 256;
        for (;;) {
            double t0 = now();
            cases[i].run(&cases[i], n);
            double t = now() - t0;
            if (t > secs / 4 || n > (1u << 28)) {
                per_run[i] = (size_t)((double)n * secs / (t > 0 ? t : 1e-9)) + 1;
                break;
            }
            n *= 2;
        }
    }
    for (int r = 0; r < RUNS; r++)
        for (size_t i = 0; i < ncases; i++) {
            double t0 = now();
            cases[i].run(&cases[i], per_run[i]);
            double t = now() - t0;
            cases[i].gbps[r] = (double)per_run[i] * PAGE / t / 1e9;
        }
    double ref = median(cases[0].gbps);
    printf("### %s\n\n", title);
    printf("| case | GB/s (median of %d) | min..max GB/s | us per 4 KiB page | vs first row |\n",
           RUNS);
    printf("|---|---|---|---|---|\n");
    for (size_t i = 0; i < ncases; i++) {
        double m = median(cases[i].gbps), lo = 1e30, hi = 0;
        for (int r = 0; r < RUNS; r++) {
            lo = cases[i].gbps[r] < lo ? cases[i].gbps[r] : lo;
            hi = cases[i].gbps[r] > hi ? cases[i].gbps[r] : hi;
        }
        printf("| %s | %.2f | %.2f..%.2f | %.2f | %.2f |\n", cases[i].name, m, lo, hi,
               PAGE / m / 1e3, ref > 0 ? m / ref : 0.0);
    }
    printf("\n");
}

#define CASE(...) ((struct bench_case){__VA_ARGS__})

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 0.3;
    size_t cold_mib = argc > 2 ? (size_t)atol(argv[2]) : 256;
    if (secs <= 0)
        secs = 0.3;
    int hw = br_aes_x86ni_ctr_get_vtable() != NULL && br_ghash_pclmul_get() != 0;
    if (!hw)
        printf("AES-NI/PCLMUL not available: the hardware cases are skipped.\n\n");

    /* Cases are set up where they stay: an initialised sealer must not move. */
    static struct bench_case hot[8], cold[4];
    size_t nhot = 0, ncold = 0;
    if (hw) {
        hot[nhot++] = CASE(.name = "om_seal, AES-NI+PCLMUL, out of place", .setup = om_setup,
                           .run = om_run, .impl = OM_AEAD_HW);
        hot[nhot++] = CASE(.name = "om_seal, AES-NI+PCLMUL, in place", .setup = om_setup,
                           .run = om_run, .impl = OM_AEAD_HW, .inplace = 1);
        hot[nhot++] = CASE(.name = "om_open, AES-NI+PCLMUL, out of place", .setup = open_setup,
                           .run = open_run, .impl = OM_AEAD_HW);
        hot[nhot++] = CASE(.name = "BearSSL br_gcm, x86ni+pclmul, in place (reference)",
                           .setup = brgcm_setup, .run = brgcm_run);
        cold[ncold++] = CASE(.name = "om_seal, AES-NI+PCLMUL, out of place", .setup = om_setup,
                             .run = om_run, .impl = OM_AEAD_HW);
    }
    hot[nhot++] = CASE(.name = "om_seal, portable (aes_ct64+ghash_ctmul64), out of place",
                       .setup = om_setup, .run = om_run, .impl = OM_AEAD_PORTABLE);
    cold[ncold++] = CASE(.name = "om_seal, portable (aes_ct64+ghash_ctmul64), out of place",
                         .setup = om_setup, .run = om_run, .impl = OM_AEAD_PORTABLE);
#ifdef HAVE_OPENSSL
    hot[nhot++] = CASE(.name = "OpenSSL EVP aes-256-gcm, out of place", .setup = evp_setup,
                       .run = evp_run);
    hot[nhot++] = CASE(.name = "OpenSSL EVP aes-256-gcm, in place", .setup = evp_setup,
                       .run = evp_run, .inplace = 1);
    cold[ncold++] = CASE(.name = "OpenSSL EVP aes-256-gcm, out of place", .setup = evp_setup,
                         .run = evp_run);
#else
    printf("OpenSSL headers not found at build time: the OpenSSL cases are skipped.\n\n");
#endif

    npages = 256;
    src = map(npages * PAGE);
    dst = map(npages * PAGE);
    open_ct = map(npages * PAGE);
    open_tags = map(npages * 16);
    for (size_t i = 0; i < nhot; i++)
        if (hot[i].setup(&hot[i]) != 0) {
            fprintf(stderr, "setup failed: %s\n", hot[i].name);
            return 1;
        }
    run_table(hot, nhot, secs, "Hot: 256 pages (1 MiB) cycled, cache-resident");

    if (cold_mib) {
        munmap(src, npages * PAGE);
        munmap(dst, npages * PAGE);
        npages = cold_mib * 256;
        src = map(npages * PAGE);
        dst = map(npages * PAGE);
        for (size_t i = 0; i < ncold; i++)
            if (cold[i].setup(&cold[i]) != 0) {
                fprintf(stderr, "setup failed: %s\n", cold[i].name);
                return 1;
            }
        char title[128];
        snprintf(title, sizeof title, "Cold: %zu MiB of source pages, sealed into a second buffer",
                 cold_mib);
        run_table(cold, ncold, secs, title);
    }
    sink = tags[0];
    return 0;
}
