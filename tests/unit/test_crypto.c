/* Unit tests of src/crypto: known-answer tests (RFC 7748 X25519, RFC 5869
 * HKDF, AES-256-GCM test cases 13-16 of McGrew & Viega's GCM specification,
 * which NIST's GCM validation uses), record sealing, tampering, replay,
 * quotes, the manifest, and (native build only) key files and trust stores.
 *
 * Built twice: natively against omcrypto_host (CTest unit.crypto), and as an
 * enclave image against libomcrypto.a with -DOM_ENCLAVE (unit.crypto_enclave),
 * which leaves out the file tests. Prints "FAIL: ..." per failed check and
 * "test_crypto: PASS" last when all passed; exits 0 only then. */
#include "om_crypto.h"
#include "om_crypto_internal.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#ifndef OM_ENCLAVE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

static int failures;
#define CHECK(cond, ...)                                                                   \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            failures++;                                                                    \
            printf("FAIL: ");                                                              \
            printf(__VA_ARGS__);                                                           \
            printf(" [%s:%d]\n", __FILE__, __LINE__);                                      \
        }                                                                                  \
    } while (0)
#define CHECK_RC(expr, want)                                                               \
    do {                                                                                   \
        int rc_ = (expr);                                                                  \
        CHECK(rc_ == (want), "%s = %d (%s), expected %d (%s)", #expr, rc_,                 \
              om_crypto_strerror(rc_), (want), om_crypto_strerror(want));                  \
    } while (0)

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
    size_t n = 0;
    while (s[0] && s[1] && n < cap) {
        unsigned v;
        if (sscanf(s, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

static int eqhex(const uint8_t *got, size_t n, const char *want_hex)
{
    uint8_t want[256];
    size_t wn = unhex(want_hex, want, sizeof want);
    return wn == n && memcmp(got, want, n) == 0;
}

static void sha256(const void *a, size_t n, uint8_t out[32])
{
    br_sha256_context h;
    br_sha256_init(&h);
    br_sha256_update(&h, a, n);
    br_sha256_out(&h, out);
}

/* ---- X25519 (RFC 7748 sections 5.2 and 6.1) ---------------------------- */

static void test_x25519(void)
{
    uint8_t k[32], u[32], out[32];
    unhex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", k, 32);
    unhex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", u, 32);
    CHECK_RC(om_x25519_shared(k, u, out), 0);
    CHECK(eqhex(out, 32, "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
          "RFC 7748 5.2 vector 1");
    unhex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", k, 32);
    unhex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", u, 32);
    CHECK_RC(om_x25519_shared(k, u, out), 0);
    CHECK(eqhex(out, 32, "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
          "RFC 7748 5.2 vector 2 (peer with top bit set)");

    /* iterated: k = u = 9; k' = X25519(k, u), u = k */
    memset(k, 0, 32);
    k[0] = 9;
    memcpy(u, k, 32);
    for (int i = 1; i <= 1000; i++) {
        CHECK_RC(om_x25519_shared(k, u, out), 0);
        memcpy(u, k, 32);
        memcpy(k, out, 32);
        if (i == 1)
            CHECK(eqhex(k, 32, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"),
                  "RFC 7748 5.2 after 1 iteration");
    }
    CHECK(eqhex(k, 32, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"),
          "RFC 7748 5.2 after 1000 iterations");

    /* Diffie-Hellman (6.1) */
    uint8_t a[32], b[32], apub[32], bpub[32], base[32] = {9}, s1[32], s2[32];
    unhex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", a, 32);
    unhex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb", b, 32);
    CHECK_RC(om_x25519_shared(a, base, apub), 0);
    CHECK_RC(om_x25519_shared(b, base, bpub), 0);
    CHECK(eqhex(apub, 32, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"),
          "RFC 7748 6.1 Alice's public key");
    CHECK(eqhex(bpub, 32, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"),
          "RFC 7748 6.1 Bob's public key");
    CHECK_RC(om_x25519_shared(a, bpub, s1), 0);
    CHECK_RC(om_x25519_shared(b, apub, s2), 0);
    CHECK(eqhex(s1, 32, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742"),
          "RFC 7748 6.1 shared secret (Alice)");
    CHECK(memcmp(s1, s2, 32) == 0, "RFC 7748 6.1 shared secret (Bob)");

    /* fresh key pairs agree; low-order peer points give EWEAKKEY */
    uint8_t p1[32], q1[32], p2[32], q2[32];
    CHECK_RC(om_x25519_keypair(p1, q1), 0);
    CHECK_RC(om_x25519_keypair(p2, q2), 0);
    CHECK((p1[0] & 7) == 0 && (p1[31] & 0xc0) == 0x40, "private key is clamped");
    CHECK_RC(om_x25519_shared(p1, q2, s1), 0);
    CHECK_RC(om_x25519_shared(p2, q1, s2), 0);
    CHECK(memcmp(s1, s2, 32) == 0, "random key pairs agree");
    uint8_t zero[32] = {0}, one[32] = {1};
    memset(out, 0xaa, sizeof out);
    CHECK_RC(om_x25519_shared(p1, zero, out), OM_CRYPTO_EWEAKKEY);
    CHECK(memcmp(out, zero, 32) == 0, "output zeroed on EWEAKKEY");
    CHECK_RC(om_x25519_shared(p1, one, out), OM_CRYPTO_EWEAKKEY);
    /* p = 2^255 - 19 encodes 0 again */
    uint8_t pz[32];
    unhex("edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", pz, 32);
    CHECK_RC(om_x25519_shared(p1, pz, out), OM_CRYPTO_EWEAKKEY);
    printf("ok: X25519 (RFC 7748 vectors, 1000 iterations, DH, low-order peers)\n");
}

/* ---- HKDF (RFC 5869 test cases 1 and 3) and session keys --------------- */

static void test_hkdf(void)
{
    uint8_t ikm[22], salt[13], info[10], okm[42];
    memset(ikm, 0x0b, sizeof ikm);
    for (int i = 0; i < 13; i++)
        salt[i] = (uint8_t)i;
    for (int i = 0; i < 10; i++)
        info[i] = (uint8_t)(0xf0 + i);
    om_hkdf_sha256(salt, sizeof salt, ikm, sizeof ikm, info, sizeof info, okm, sizeof okm);
    CHECK(eqhex(okm, 42,
                "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                "34007208d5b887185865"),
          "RFC 5869 test case 1");
    om_hkdf_sha256(NULL, 0, ikm, sizeof ikm, NULL, 0, okm, sizeof okm);
    CHECK(eqhex(okm, 42,
                "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
                "9d201395faa4b61a96c8"),
          "RFC 5869 test case 3");

    /* om_keys_derive follows its documented info encoding */
    uint8_t shared[32], th[32], ms[32], md[32], mig[16];
    for (int i = 0; i < 32; i++) {
        shared[i] = (uint8_t)i;
        th[i] = (uint8_t)(0x40 + i);
        ms[i] = (uint8_t)(0x80 + i);
        md[i] = (uint8_t)(0xc0 + i);
    }
    for (int i = 0; i < 16; i++)
        mig[i] = (uint8_t)(0xe0 + i);
    struct om_session_keys k, k2;
    om_keys_derive(shared, th, ms, md, mig, &k);
    uint8_t inf[102], want[32];
    memcpy(inf, "optmig-session-key-v1", 21);
    memcpy(inf + 22, ms, 32);
    memcpy(inf + 54, md, 32);
    memcpy(inf + 86, mig, 16);
    inf[21] = 1;
    om_hkdf_sha256(th, 32, shared, 32, inf, sizeof inf, want, 32);
    CHECK(memcmp(k.src_to_dst, want, 32) == 0, "src_to_dst key = documented HKDF");
    inf[21] = 2;
    om_hkdf_sha256(th, 32, shared, 32, inf, sizeof inf, want, 32);
    CHECK(memcmp(k.dst_to_src, want, 32) == 0, "dst_to_src key = documented HKDF");
    CHECK(memcmp(k.src_to_dst, k.dst_to_src, 32) != 0, "two directions, two keys");
    /* every input matters */
    uint8_t *inputs[] = {shared, th, ms, md, mig};
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        inputs[i][3] ^= 1;
        om_keys_derive(shared, th, ms, md, mig, &k2);
        CHECK(memcmp(k.src_to_dst, k2.src_to_dst, 32) != 0 &&
                  memcmp(k.dst_to_src, k2.dst_to_src, 32) != 0,
              "input %zu of om_keys_derive is bound", i);
        inputs[i][3] ^= 1;
    }
    /* swapping the measurements changes the keys */
    om_keys_derive(shared, th, md, ms, mig, &k2);
    CHECK(memcmp(k.src_to_dst, k2.src_to_dst, 32) != 0, "measurement order is bound");
    printf("ok: HKDF-SHA256 (RFC 5869 cases 1 and 3), session key encoding\n");
}

/* ---- AES-256-GCM known answers through the sealer's GCM ---------------- */

struct gcm_kat {
    const char *name, *key, *iv, *pt, *aad, *ct, *tag;
};
static const struct gcm_kat gcm_kats[] = {
    {"GCM test case 13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"GCM test case 14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"GCM test case 15", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
     "49a6b525b16aedf5aa0de657ba637b391aafd255",
     "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
     "56828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"GCM test case 16", "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e24"
     "49a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b10"
     "56828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

static int have_hw;

static void test_gcm_kat(void)
{
    struct om_gcm g;
    have_hw = om_gcm_init(&g, (const uint8_t[32]){0}, OM_AEAD_HW) == 0;
    printf("info: AES-NI+PCLMUL %s\n", have_hw ? "available" : "not available");
    enum om_aead_impl impls[] = {OM_AEAD_AUTO, OM_AEAD_PORTABLE, OM_AEAD_HW};
    for (size_t ii = 0; ii < 3; ii++) {
        if (impls[ii] == OM_AEAD_HW && !have_hw)
            continue;
        for (size_t t = 0; t < sizeof gcm_kats / sizeof gcm_kats[0]; t++) {
            const struct gcm_kat *v = &gcm_kats[t];
            uint8_t key[32], iv[12], pt[64], aad[32], ct[64], tag[16], buf[64], buf2[64];
            unhex(v->key, key, 32);
            unhex(v->iv, iv, 12);
            size_t n = unhex(v->pt, pt, sizeof pt), an = unhex(v->aad, aad, sizeof aad);
            size_t cn = unhex(v->ct, ct, sizeof ct);
            unhex(v->tag, tag, 16);
            CHECK(n == cn, "%s: vector lengths", v->name);
            CHECK_RC(om_gcm_init(&g, key, impls[ii]), 0);
            uint8_t got[16];
            memcpy(buf, pt, n);
            om_gcm_seal(&g, iv, aad, an, buf, n, got);
            CHECK(memcmp(buf, ct, n) == 0, "%s (%s): ciphertext", v->name, om_gcm_impl_name(&g));
            CHECK(memcmp(got, tag, 16) == 0, "%s (%s): tag", v->name, om_gcm_impl_name(&g));
            CHECK_RC(om_gcm_open(&g, iv, aad, an, ct, buf2, n, tag), 0);
            CHECK(memcmp(buf2, pt, n) == 0, "%s: decryption", v->name);
            tag[15] ^= 0x80;
            memset(buf2, 0x5a, sizeof buf2);
            CHECK_RC(om_gcm_open(&g, iv, aad, an, ct, buf2, n, tag), OM_CRYPTO_EAUTH);
            int untouched = 1;
            for (size_t i = 0; i < sizeof buf2; i++)
                untouched &= buf2[i] == 0x5a;
            CHECK(untouched, "%s: nothing written when the tag is bad", v->name);
        }
    }
    printf("ok: AES-256-GCM known answers (test cases 13-16, every implementation)\n");
}

/* ---- records --------------------------------------------------------------- */

static const uint8_t KEY[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
static const uint8_t MIG[16] = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7,
                                0xa8, 0xa9, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf};

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        p[i] = (uint8_t)(seed >> 16);
    }
}

static void test_encodings(void)
{
    uint8_t ad[OM_RECORD_AD_LEN], nonce[OM_GCM_NONCE_LEN];
    om_record_ad(ad, MIG, 0x42, 0x01020304u, 0x1112131415161718ull, 0x2122232425262728ull);
    CHECK(eqhex(ad, sizeof ad,
                "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf" "42000000" "01020304" "1112131415161718"
                "2122232425262728"),
          "AD encoding");
    om_record_nonce(nonce, 0x01020304u, 0x1112131415161718ull);
    CHECK(eqhex(nonce, sizeof nonce, "01020304" "1112131415161718"), "nonce encoding");

    /* om_seal = GCM with exactly that nonce and AD */
    struct om_sealer s;
    struct om_gcm g;
    CHECK_RC(om_sealer_init(&s, KEY, 7, MIG, OM_AEAD_AUTO), 0);
    CHECK_RC(om_gcm_init(&g, KEY, OM_AEAD_PORTABLE), 0);
    uint8_t page[4096], a[4096], b[4096], t1[16], t2[16];
    fill(page, sizeof page, 1);
    uint64_t ctr = 99;
    for (int i = 0; i < 3; i++) {
        CHECK_RC(om_seal(&s, 1, 77, 5, page, sizeof page, a, t1, &ctr), 0);
        CHECK(ctr == (uint64_t)i, "counter %d", i);
    }
    om_record_nonce(nonce, 7, 2);
    om_record_ad(ad, MIG, 1, 7, 77, 5);
    memcpy(b, page, sizeof b);
    om_gcm_seal(&g, nonce, ad, sizeof ad, b, sizeof b, t2);
    CHECK(memcmp(a, b, sizeof a) == 0 && memcmp(t1, t2, 16) == 0,
          "om_seal = AES-256-GCM(nonce = stream || counter, AD as documented)");
    CHECK(om_sealer_count(&s) == 3, "sealer count");
    printf("ok: record AD and nonce encodings (%s)\n", om_sealer_impl_name(&s));
    om_sealer_wipe(&s);
}

static void test_roundtrip(void)
{
    static uint8_t pt[65539], ct[65539], back[65539];
    static const size_t sizes[] = {0, 1, 15, 16, 17, 4095, 4096, 4097, 65539};
    enum om_aead_impl impls[] = {OM_AEAD_AUTO, OM_AEAD_PORTABLE};
    for (int si = 0; si < 2; si++)
        for (int oi = 0; oi < 2; oi++) {
            struct om_sealer s;
            struct om_opener o;
            /* one stream id per pass: re-keying s with a (key, stream) it
             * already had would be refused */
            uint32_t sid = 3 + 2 * (uint32_t)si + (uint32_t)oi;
            CHECK_RC(om_sealer_init(&s, KEY, sid, MIG, impls[si]), 0);
            CHECK_RC(om_opener_init(&o, KEY, sid, MIG, impls[oi]), 0);
            for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
                size_t n = sizes[i];
                uint8_t tag[16];
                uint64_t c;
                fill(pt, n, (uint32_t)(n + 7));
                /* out of place */
                CHECK_RC(om_seal(&s, 2, i, i + 1, pt, n, ct, tag, &c), 0);
                CHECK(n < 16 || memcmp(ct, pt, n) != 0, "ciphertext differs from plaintext");
                CHECK_RC(om_open(&o, 2, i, i + 1, c, ct, n, back, tag), 0);
                CHECK(memcmp(back, pt, n) == 0, "round trip %zu bytes (%d->%d)", n, si, oi);
                /* in place */
                memcpy(back, pt, n);
                CHECK_RC(om_seal(&s, 2, i, i + 2, back, n, back, tag, &c), 0);
                CHECK_RC(om_open(&o, 2, i, i + 2, c, back, n, back, tag), 0);
                CHECK(memcmp(back, pt, n) == 0, "in-place round trip %zu bytes", n);
            }
            CHECK(om_opener_skipped(&o) == 0, "no gap");
            CHECK(om_opener_next(&o) == om_sealer_count(&s), "opener caught up");
            om_sealer_wipe(&s);
            om_opener_wipe(&o);
        }
    printf("ok: seal/open round trips, 0..65539 bytes, in place and not, across implementations\n");
}

static void test_tamper(void)
{
    struct om_sealer s;
    struct om_opener o, o_mig, o_stream, o_key;
    uint8_t pt[4096], ct[4096], out[4096], tag[16], bad[16];
    fill(pt, sizeof pt, 42);
    uint64_t c;
    CHECK_RC(om_sealer_init(&s, KEY, 9, MIG, OM_AEAD_AUTO), 0);
    CHECK_RC(om_opener_init(&o, KEY, 9, MIG, OM_AEAD_AUTO), 0);
    uint8_t mig2[16], key2[32];
    memcpy(mig2, MIG, 16);
    mig2[15] ^= 1;
    memcpy(key2, KEY, 32);
    key2[0] ^= 1;
    CHECK_RC(om_opener_init(&o_mig, KEY, 9, mig2, OM_AEAD_AUTO), 0);
    CHECK_RC(om_opener_init(&o_stream, KEY, 10, MIG, OM_AEAD_AUTO), 0);
    CHECK_RC(om_opener_init(&o_key, key2, 9, MIG, OM_AEAD_AUTO), 0);
    CHECK_RC(om_seal(&s, 1, 1000, 7, pt, sizeof pt, ct, tag, &c), 0);

    memset(out, 0x5a, sizeof out);
    ct[100] ^= 1;
    CHECK_RC(om_open(&o, 1, 1000, 7, c, ct, sizeof ct, out, tag), OM_CRYPTO_EAUTH);
    ct[100] ^= 1;
    memcpy(bad, tag, 16);
    bad[0] ^= 4;
    CHECK_RC(om_open(&o, 1, 1000, 7, c, ct, sizeof ct, out, bad), OM_CRYPTO_EAUTH);
    CHECK_RC(om_open(&o, 1, 1001, 7, c, ct, sizeof ct, out, tag), OM_CRYPTO_EAUTH);
    CHECK_RC(om_open(&o, 1, 1000 | (1ull << 40), 7, c, ct, sizeof ct, out, tag), OM_CRYPTO_EAUTH);
    CHECK_RC(om_open(&o, 1, 1000, 8, c, ct, sizeof ct, out, tag), OM_CRYPTO_EAUTH);
    CHECK_RC(om_open(&o, 1, 1000, 6, c, ct, sizeof ct, out, tag), OM_CRYPTO_EAUTH);
    CHECK_RC(om_open(&o, 2, 1000, 7, c, ct, sizeof ct, out, tag), OM_CRYPTO_EAUTH);
    CHECK_RC(om_open(&o, 1, 1000, 7, c + 1, ct, sizeof ct, out, tag), OM_CRYPTO_EAUTH);
    CHECK_RC(om_open(&o, 1, 1000, 7, c, ct, sizeof ct - 1, out, tag), OM_CRYPTO_EAUTH);
    CHECK_RC(om_open(&o_mig, 1, 1000, 7, c, ct, sizeof ct, out, tag), OM_CRYPTO_EAUTH);
    CHECK_RC(om_open(&o_stream, 1, 1000, 7, c, ct, sizeof ct, out, tag), OM_CRYPTO_EAUTH);
    CHECK_RC(om_open(&o_key, 1, 1000, 7, c, ct, sizeof ct, out, tag), OM_CRYPTO_EAUTH);
    int untouched = 1;
    for (size_t i = 0; i < sizeof out; i++)
        untouched &= out[i] == 0x5a;
    CHECK(untouched, "failed opens write nothing");
    /* in place, tampered: the ciphertext stays as it was */
    uint8_t copy[4096];
    memcpy(copy, ct, sizeof ct);
    CHECK_RC(om_open(&o, 1, 1000, 7, c, copy, sizeof copy, copy, bad), OM_CRYPTO_EAUTH);
    CHECK(memcmp(copy, ct, sizeof ct) == 0, "failed in-place open leaves the ciphertext");
    /* failures did not move the opener: the genuine record still opens */
    CHECK(om_opener_next(&o) == 0, "failures leave the counter");
    CHECK_RC(om_open(&o, 1, 1000, 7, c, ct, sizeof ct, out, tag), 0);
    CHECK(memcmp(out, pt, sizeof pt) == 0, "genuine record opens after tamper attempts");
    om_sealer_wipe(&s);
    om_opener_wipe(&o);
    om_opener_wipe(&o_mig);
    om_opener_wipe(&o_stream);
    om_opener_wipe(&o_key);
    printf("ok: tampered ciphertext, tag, page, version, type, counter, length, migration id, "
           "stream, key all refused\n");
}

static void test_replay(void)
{
    struct om_sealer s;
    struct om_opener o;
    enum { N = 5 };
    uint8_t pt[N][64], ct[N][64], tag[N][16], out[64];
    uint64_t c[N];
    CHECK_RC(om_sealer_init(&s, KEY, 1, MIG, OM_AEAD_AUTO), 0);
    CHECK_RC(om_opener_init(&o, KEY, 1, MIG, OM_AEAD_AUTO), 0);
    for (int i = 0; i < N; i++) {
        fill(pt[i], 64, (uint32_t)i);
        CHECK_RC(om_seal(&s, 1, 5, (uint64_t)i + 1, pt[i], 64, ct[i], tag[i], &c[i]), 0);
    }
    CHECK_RC(om_open(&o, 1, 5, 1, c[0], ct[0], 64, out, tag[0]), 0);
    CHECK_RC(om_open(&o, 1, 5, 1, c[0], ct[0], 64, out, tag[0]), OM_CRYPTO_EREPLAY); /* duplicate */
    CHECK_RC(om_open(&o, 1, 5, 3, c[2], ct[2], 64, out, tag[2]), 0); /* record 1 dropped */
    CHECK(om_opener_skipped(&o) == 1, "gap counted");
    CHECK_RC(om_open(&o, 1, 5, 2, c[1], ct[1], 64, out, tag[1]), OM_CRYPTO_EREPLAY); /* reordered */
    CHECK_RC(om_open(&o, 1, 5, 1, c[0], ct[0], 64, out, tag[0]), OM_CRYPTO_EREPLAY); /* replay */
    /* a forged record with a high counter does not advance the opener */
    uint8_t forged[16];
    memcpy(forged, tag[4], 16);
    forged[3] ^= 1;
    CHECK_RC(om_open(&o, 1, 5, 5, c[4], ct[4], 64, out, forged), OM_CRYPTO_EAUTH);
    CHECK(om_opener_next(&o) == 3, "forgery left the counter");
    CHECK_RC(om_open(&o, 1, 5, 4, c[3], ct[3], 64, out, tag[3]), 0);
    CHECK(memcmp(out, pt[3], 64) == 0, "record 3");
    CHECK_RC(om_open(&o, 1, 5, 5, c[4], ct[4], 64, out, tag[4]), 0);

    /* counter exhaustion: the last usable counter is 2^64-2 */
    struct om_sealer_state *st = om_sealer_state(&s);
    st->next = UINT64_MAX - 1;
    uint64_t last;
    CHECK_RC(om_seal(&s, 1, 6, 1, pt[0], 64, ct[0], tag[0], &last), 0);
    CHECK(last == UINT64_MAX - 1, "last counter");
    CHECK_RC(om_seal(&s, 1, 6, 2, pt[1], 64, ct[1], tag[1], NULL), OM_CRYPTO_EEXHAUSTED);
    CHECK_RC(om_seal(&s, 1, 6, 2, pt[1], 64, ct[1], tag[1], NULL), OM_CRYPTO_EEXHAUSTED);
    CHECK_RC(om_open(&o, 1, 6, 1, last, ct[0], 64, out, tag[0]), 0);
    CHECK(memcmp(out, pt[0], 64) == 0, "record at counter 2^64-2 opens");
    CHECK_RC(om_open(&o, 1, 6, 1, UINT64_MAX, ct[0], 64, out, tag[0]), OM_CRYPTO_EAUTH);
    CHECK_RC(om_open(&o, 1, 6, 1, last, ct[0], 64, out, tag[0]), OM_CRYPTO_EREPLAY);

    /* re-initialisation rules */
    CHECK_RC(om_sealer_init(&s, KEY, 1, MIG, OM_AEAD_AUTO), OM_CRYPTO_EREUSE);
    om_sealer_wipe(&s);
    CHECK_RC(om_seal(&s, 1, 6, 2, pt[1], 64, ct[1], tag[1], NULL), OM_CRYPTO_EINVAL);
    CHECK_RC(om_sealer_init(&s, KEY, 1, MIG, OM_AEAD_AUTO), OM_CRYPTO_EREUSE);
    CHECK_RC(om_sealer_init(&s, KEY, 2, MIG, OM_AEAD_AUTO), 0);
    CHECK(om_sealer_count(&s) == 0, "new stream starts at counter 0");
    om_sealer_wipe(&s);
    struct om_sealer z;
    memset(&z, 0, sizeof z);
    CHECK_RC(om_seal(&z, 1, 0, 0, pt[0], 64, ct[0], tag[0], NULL), OM_CRYPTO_EINVAL);
    CHECK_RC(om_sealer_init(&z, KEY, 1, MIG, (enum om_aead_impl)9), OM_CRYPTO_EINVAL);
    CHECK_RC(om_seal(&z, 1, 0, 0, pt[0], 64, ct[0], tag[0], NULL), OM_CRYPTO_EINVAL);
    om_opener_wipe(&o);
    CHECK_RC(om_open(&o, 1, 5, 1, c[0], ct[0], 64, out, tag[0]), OM_CRYPTO_EINVAL);
    printf("ok: duplicate, replay, reorder, forged counter, exhaustion at 2^64-1, "
           "re-init refusal\n");
}

/* ---- quotes ------------------------------------------------------------------ */

static void test_quotes(void)
{
    struct om_platform_key k1, k2;
    CHECK_RC(om_platform_keygen(&k1), 0);
    CHECK_RC(om_platform_keygen(&k2), 0);
    CHECK_RC(om_platform_key_check(&k1), 0);
    CHECK(memcmp(k1.priv, k2.priv, 32) != 0, "two keys differ");
    struct om_trust_store ts;
    om_trust_store_init(&ts);
    CHECK_RC(om_trust_store_add(&ts, k1.pub), 0);
    CHECK_RC(om_trust_store_add(&ts, k1.pub), 0);
    CHECK(ts.n == 1, "duplicate stored once");
    CHECK(om_trust_store_has(&ts, k1.pub) && !om_trust_store_has(&ts, k2.pub), "membership");

    uint8_t meas[32], other[32], xpub[32], nonce[32], rd[32];
    fill(meas, 32, 1);
    fill(other, 32, 2);
    fill(xpub, 32, 3);
    fill(nonce, 32, 4);
    om_report_data(OM_ROLE_SOURCE, xpub, nonce, MIG, rd);
    uint8_t cat[81], want[32];
    cat[0] = OM_ROLE_SOURCE;
    memcpy(cat + 1, xpub, 32);
    memcpy(cat + 33, nonce, 32);
    memcpy(cat + 65, MIG, 16);
    sha256(cat, sizeof cat, want);
    CHECK(memcmp(rd, want, 32) == 0, "report data = SHA-256(role || pub || nonce || mig id)");

    struct om_quote q, q2, q3;
    CHECK_RC(om_quote_sign(&k1, meas, rd, &q), 0);
    CHECK_RC(om_quote_verify(&q, &ts, meas), 0);
    CHECK_RC(om_quote_sign(&k1, meas, rd, &q3), 0);
    CHECK(memcmp(&q, &q3, sizeof q) == 0, "signatures are deterministic");
    /* the signature covers the documented message */
    uint8_t msg[79], h[32];
    memcpy(msg, "optmig-quote-v1", 15);
    memcpy(msg + 15, meas, 32);
    memcpy(msg + 47, rd, 32);
    sha256(msg, sizeof msg, h);
    br_ec_public_key pk = {.curve = BR_EC_secp256r1, .q = q.platform_pub, .qlen = 65};
    CHECK(br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, h, 32, &pk, q.sig, 64) == 1,
          "sig = ECDSA(SHA-256(\"optmig-quote-v1\" || measurement || report data))");

    CHECK_RC(om_quote_verify(&q, &ts, other), OM_CRYPTO_EQUOTE_MEAS);
    q2 = q;
    q2.sig[10] ^= 1;
    CHECK_RC(om_quote_verify(&q2, &ts, meas), OM_CRYPTO_EQUOTE_SIG);
    q2 = q;
    q2.report_data[0] ^= 1;
    CHECK_RC(om_quote_verify(&q2, &ts, meas), OM_CRYPTO_EQUOTE_SIG);
    q2 = q;
    q2.measurement[0] ^= 1;
    CHECK_RC(om_quote_verify(&q2, &ts, q2.measurement), OM_CRYPTO_EQUOTE_SIG);
    CHECK_RC(om_quote_sign(&k2, meas, rd, &q2), 0);
    CHECK_RC(om_quote_verify(&q2, &ts, meas), OM_CRYPTO_EQUOTE_KEY);
    /* a trusted key's quote re-labelled with an untrusted key, and vice versa */
    q3 = q;
    memcpy(q3.platform_pub, k2.pub, 65);
    CHECK_RC(om_quote_verify(&q3, &ts, meas), OM_CRYPTO_EQUOTE_KEY);
    q3 = q2;
    memcpy(q3.platform_pub, k1.pub, 65);
    CHECK_RC(om_quote_verify(&q3, &ts, meas), OM_CRYPTO_EQUOTE_SIG);

    /* key validation */
    struct om_platform_key kb = k1;
    kb.pub[64] ^= 1;
    CHECK_RC(om_platform_key_check(&kb), OM_CRYPTO_EKEY);
    CHECK_RC(om_trust_store_add(&ts, kb.pub), OM_CRYPTO_EKEY);
    kb = k1;
    memcpy(kb.pub, k2.pub, 65);
    CHECK_RC(om_platform_key_check(&kb), OM_CRYPTO_EKEY);
    kb = k1;
    memset(kb.priv, 0xff, 32);
    CHECK_RC(om_platform_key_check(&kb), OM_CRYPTO_EKEY);
    memset(kb.priv, 0, 32);
    CHECK_RC(om_platform_key_check(&kb), OM_CRYPTO_EKEY);
    /* n itself is out of range, n-1 is fine */
    unhex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", kb.priv, 32);
    CHECK_RC(om_platform_key_check(&kb), OM_CRYPTO_EKEY);
    kb.priv[31] -= 1;
    CHECK(br_ec_p256_m31.mulgen(kb.pub, kb.priv, 32, BR_EC_secp256r1) == 65, "mulgen n-1");
    CHECK_RC(om_platform_key_check(&kb), 0);
    uint8_t notpt[65] = {4};
    CHECK_RC(om_p256_pub_check(notpt), OM_CRYPTO_EKEY);
    notpt[0] = 2;
    CHECK_RC(om_p256_pub_check(notpt), OM_CRYPTO_EKEY);

    /* capacity */
    om_trust_store_init(&ts);
    for (int i = 0; i < OM_TRUST_MAX; i++) {
        struct om_platform_key t;
        CHECK_RC(om_platform_keygen(&t), 0);
        CHECK_RC(om_trust_store_add(&ts, t.pub), 0);
    }
    CHECK_RC(om_trust_store_add(&ts, k2.pub), OM_CRYPTO_EFULL);
    CHECK(ts.n == OM_TRUST_MAX, "store full");
    printf("ok: quotes (sign, verify, unknown key, wrong measurement, bad signature), "
           "key checks\n");
}

/* ---- manifest, randomness, wipe --------------------------------------------- */

static void test_manifest(void)
{
    uint64_t v1[10], v2[10];
    struct om_manifest_acc a, b;
    om_manifest_init(&a, v1, 10);
    om_manifest_init(&b, v2, 10);
    CHECK_RC(om_manifest_note(&a, 3, 1), 1);
    CHECK_RC(om_manifest_note(&a, 3, 4), 1);
    CHECK_RC(om_manifest_note(&a, 3, 2), 0); /* stale, from another stream */
    CHECK_RC(om_manifest_note(&a, 3, 4), 0); /* duplicate */
    CHECK_RC(om_manifest_note(&a, 0, 9), 1);
    CHECK_RC(om_manifest_note(&a, 10, 1), OM_CRYPTO_EINVAL);
    CHECK_RC(om_manifest_note(&a, 1, 0), OM_CRYPTO_EINVAL);
    CHECK_RC(om_manifest_note(&b, 0, 9), 1);
    CHECK_RC(om_manifest_note(&b, 3, 2), 1);
    CHECK_RC(om_manifest_note(&b, 3, 4), 1);
    uint8_t d1[32], d2[32];
    om_manifest_digest(v1, 10, d1);
    om_manifest_digest(v2, 10, d2);
    CHECK(memcmp(d1, d2, 32) == 0, "digest independent of arrival order");
    uint8_t want_in[18 + 8 + 32], want[32];
    memcpy(want_in, "optmig-manifest-v1", 18);
    om_be64(want_in + 18, 10);
    om_be64(want_in + 26, 0);
    om_be64(want_in + 34, 9);
    om_be64(want_in + 42, 3);
    om_be64(want_in + 50, 4);
    sha256(want_in, sizeof want_in, want);
    CHECK(memcmp(d1, want, 32) == 0, "manifest digest encoding");
    v2[3] = 5;
    om_manifest_digest(v2, 10, d2);
    CHECK(memcmp(d1, d2, 32) != 0, "version change changes the digest");
    v2[3] = 4;
    om_manifest_digest(v2, 11 - 1, d2);
    uint64_t v3[11] = {0};
    memcpy(v3, v1, sizeof v1);
    om_manifest_digest(v3, 11, d2);
    CHECK(memcmp(d1, d2, 32) != 0, "page count is bound");
    /* a large manifest crosses the batching boundary */
    static uint64_t big[100000];
    for (size_t i = 0; i < 100000; i++)
        big[i] = i % 3 ? i : 0;
    br_sha256_context h;
    br_sha256_init(&h);
    br_sha256_update(&h, "optmig-manifest-v1", 18);
    uint8_t e[16];
    om_be64(e, 100000);
    br_sha256_update(&h, e, 8);
    for (size_t i = 0; i < 100000; i++)
        if (big[i]) {
            om_be64(e, i);
            om_be64(e + 8, big[i]);
            br_sha256_update(&h, e, 16);
        }
    br_sha256_out(&h, want);
    om_manifest_digest(big, 100000, d1);
    CHECK(memcmp(d1, want, 32) == 0, "large manifest digest");
    printf("ok: manifest (latest version wins, order-independent digest, encoding)\n");
}

static void test_random_wipe(void)
{
    uint8_t a[64], b[64], zero[64] = {0};
    CHECK_RC(om_random(a, sizeof a), 0);
    CHECK_RC(om_random(b, sizeof b), 0);
    CHECK(memcmp(a, b, sizeof a) != 0 && memcmp(a, zero, sizeof a) != 0, "random bytes");
    static uint8_t big[1 << 20];
    CHECK_RC(om_random(big, sizeof big), 0);
    size_t counts[256] = {0};
    for (size_t i = 0; i < sizeof big; i++)
        counts[big[i]]++;
    size_t lo = sizeof big, hi = 0;
    for (int i = 0; i < 256; i++) {
        lo = counts[i] < lo ? counts[i] : lo;
        hi = counts[i] > hi ? counts[i] : hi;
    }
    CHECK(lo > 3700 && hi < 4500, "byte histogram of 1 MiB is flat (%zu..%zu)", lo, hi);
    CHECK_RC(om_random(NULL, 0), 0);
    om_wipe(a, sizeof a);
    CHECK(memcmp(a, zero, sizeof a) == 0, "om_wipe");
    printf("ok: om_random, om_wipe\n");
}

/* ---- key files and trust store directories (native only) ------------------- */

#ifndef OM_ENCLAVE
static char tmpdir[256];

static void write_file(const char *dir, const char *name, const char *data, size_t n)
{
    char p[600];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    CHECK(f != NULL, "create %s", p);
    if (f) {
        CHECK(fwrite(data, 1, n, f) == n, "write %s", p);
        fclose(f);
    }
}

static void rm_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            char p[512];
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            struct stat st;
            if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
                rm_tree(p);
            else
                unlink(p);
        }
    closedir(d);
    rmdir(dir);
}

static void hexs(char *out, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void test_files(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(tmpdir, sizeof tmpdir, "%s/om-crypto-test.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpdir)) {
        CHECK(0, "mkdtemp: %s", strerror(errno));
        return;
    }
    char path[512], store[512];
    struct om_platform_key k, l;
    CHECK_RC(om_platform_keygen(&k), 0);

    /* key file round trip and mode */
    snprintf(path, sizeof path, "%s/platform.key", tmpdir);
    CHECK_RC(om_platform_key_save(path, &k), 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "key file mode 0600 (%o)",
          (unsigned)(st.st_mode & 0777));
    CHECK_RC(om_platform_key_load(path, &l), 0);
    CHECK(memcmp(&k, &l, sizeof k) == 0, "key file round trip");
    CHECK_RC(om_platform_key_save(path, &k), 0); /* overwrite */
    FILE *f = fopen(path, "r");
    char text[400] = {0};
    size_t tn = f ? fread(text, 1, sizeof text - 1, f) : 0;
    if (f)
        fclose(f);
    char want[400];
    strcpy(want, "optmig-platform-key-v1\n");
    hexs(want + 23, k.priv, 32);
    want[87] = '\n';
    hexs(want + 88, k.pub, 65);
    strcpy(want + 218, "\n");
    CHECK(tn == 219 && strcmp(text, want) == 0, "key file format");

    /* malformed key files */
    struct {
        const char *what;
        int rc;
        char data[400];
        size_t n;
    } bad[10];
    int nb = 0;
#define BAD(w, r, ...)                                                                     \
    do {                                                                                   \
        bad[nb].what = w;                                                                  \
        bad[nb].rc = r;                                                                    \
        memcpy(bad[nb].data, want, 219);                                                   \
        bad[nb].n = 219;                                                                   \
        __VA_ARGS__;                                                                       \
        nb++;                                                                              \
    } while (0)
    BAD("truncated", OM_CRYPTO_EFORMAT, bad[nb].n = 150);
    BAD("empty", OM_CRYPTO_EFORMAT, bad[nb].n = 0);
    BAD("no final newline", OM_CRYPTO_EFORMAT, bad[nb].n = 218);
    BAD("trailing byte", OM_CRYPTO_EFORMAT, bad[nb].data[219] = '\n'; bad[nb].n = 220);
    BAD("bad header", OM_CRYPTO_EFORMAT, bad[nb].data[7] = 'X');
    BAD("bad hex", OM_CRYPTO_EFORMAT, bad[nb].data[30] = 'g');
    BAD("missing separator", OM_CRYPTO_EFORMAT, bad[nb].data[87] = ' ');
    BAD("pub does not match priv", OM_CRYPTO_EKEY,
        bad[nb].data[40] = bad[nb].data[40] == '0' ? '1' : '0');
    BAD("pub off the curve", OM_CRYPTO_EKEY,
        bad[nb].data[216] = bad[nb].data[216] == '0' ? '1' : '0');
    BAD("priv >= n", OM_CRYPTO_EKEY, memset(bad[nb].data + 23, 'f', 64));
#undef BAD
    for (int i = 0; i < nb; i++) {
        write_file(tmpdir, "bad.key", bad[i].data, bad[i].n);
        snprintf(path, sizeof path, "%s/bad.key", tmpdir);
        memset(&l, 0x77, sizeof l);
        int rc = om_platform_key_load(path, &l);
        CHECK(rc == bad[i].rc, "malformed key file (%s): %d (%s), expected %d", bad[i].what, rc,
              om_crypto_strerror(rc), bad[i].rc);
        uint8_t z[sizeof l] = {0};
        CHECK(memcmp(&l, z, sizeof l) == 0, "key zeroed after a refused load (%s)", bad[i].what);
    }
    snprintf(path, sizeof path, "%s/missing.key", tmpdir);
    errno = 0;
    CHECK_RC(om_platform_key_load(path, &l), OM_CRYPTO_EIO);
    CHECK(errno == ENOENT, "errno kept (%d)", errno);
    CHECK_RC(om_platform_key_load(tmpdir, &l), OM_CRYPTO_EFORMAT); /* a directory */
    static char huge[5000];
    memset(huge, 'a', sizeof huge);
    write_file(tmpdir, "huge.key", huge, sizeof huge);
    snprintf(path, sizeof path, "%s/huge.key", tmpdir);
    CHECK_RC(om_platform_key_load(path, &l), OM_CRYPTO_EFORMAT);

    /* trust store directory */
    snprintf(store, sizeof store, "%s/trust", tmpdir);
    CHECK(mkdir(store, 0700) == 0, "mkdir trust");
    struct om_platform_key k2, k3;
    CHECK_RC(om_platform_keygen(&k2), 0);
    CHECK_RC(om_platform_keygen(&k3), 0);
    snprintf(path, sizeof path, "%s/host1.pub", store);
    CHECK_RC(om_platform_pub_save(path, k.pub), 0);
    CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644, "pub file mode 0644");
    char line[140];
    hexs(line, k2.pub, 65); /* no final newline, uppercase */
    for (int i = 0; i < 130; i++)
        if (line[i] >= 'a')
            line[i] = (char)(line[i] - 'a' + 'A');
    write_file(store, "host2.pub", line, 130);
    hexs(line, k3.pub, 65);
    line[130] = '\n';
    write_file(store, "host3.pub.disabled", line, 131); /* ignored: not *.pub */
    write_file(store, ".hidden.pub", "garbage", 7);      /* ignored: hidden */
    write_file(store, "README", "not a key", 9);         /* ignored */
    struct om_trust_store ts;
    CHECK_RC(om_trust_store_load(store, &ts), 0);
    CHECK(ts.n == 2, "two keys loaded (%u)", ts.n);
    CHECK(om_trust_store_has(&ts, k.pub) && om_trust_store_has(&ts, k2.pub) &&
              !om_trust_store_has(&ts, k3.pub),
          "trust store membership");

    /* quote verification against the loaded store */
    uint8_t meas[32] = {1}, rd[32] = {2};
    struct om_quote q;
    CHECK_RC(om_quote_sign(&k2, meas, rd, &q), 0);
    CHECK_RC(om_quote_verify(&q, &ts, meas), 0);
    CHECK_RC(om_quote_sign(&k3, meas, rd, &q), 0);
    CHECK_RC(om_quote_verify(&q, &ts, meas), OM_CRYPTO_EQUOTE_KEY);

    /* bad entries fail the whole load and name the file */
    line[5] = 'z';
    write_file(store, "broken.pub", line, 131);
    CHECK_RC(om_trust_store_load(store, &ts), OM_CRYPTO_EFORMAT);
    CHECK(ts.n == 0 && strcmp(ts.bad_file, "broken.pub") == 0, "bad file named (%s)",
          ts.bad_file);
    hexs(line, k3.pub, 65);
    line[129] = line[129] == '0' ? '1' : '0'; /* off the curve */
    write_file(store, "broken.pub", line, 130);
    CHECK_RC(om_trust_store_load(store, &ts), OM_CRYPTO_EKEY);
    hexs(line, k3.pub, 65);
    line[130] = '\n';
    line[131] = '\n';
    write_file(store, "broken.pub", line, 132);
    CHECK_RC(om_trust_store_load(store, &ts), OM_CRYPTO_EFORMAT);
    snprintf(path, sizeof path, "%s/broken.pub", store);
    unlink(path);
    /* a directory named *.pub */
    snprintf(path, sizeof path, "%s/dir.pub", store);
    CHECK(mkdir(path, 0700) == 0, "mkdir dir.pub");
    CHECK_RC(om_trust_store_load(store, &ts), OM_CRYPTO_EFORMAT);
    rmdir(path);
    /* more than OM_TRUST_MAX keys */
    for (int i = 0; i < OM_TRUST_MAX; i++) {
        struct om_platform_key t;
        CHECK_RC(om_platform_keygen(&t), 0);
        snprintf(path, sizeof path, "%s/extra%02d.pub", store, i);
        CHECK_RC(om_platform_pub_save(path, t.pub), 0);
    }
    CHECK_RC(om_trust_store_load(store, &ts), OM_CRYPTO_EFULL);
    CHECK(ts.n == 0, "store empty after a failed load");
    snprintf(path, sizeof path, "%s/nonexistent", tmpdir);
    CHECK_RC(om_trust_store_load(path, &ts), OM_CRYPTO_EIO);
    rm_tree(tmpdir);
    printf("ok: key files (round trip, mode, 13 malformed or invalid files), trust store dirs\n");
}
#endif

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_x25519();
    test_hkdf();
    test_gcm_kat();
    test_encodings();
    test_roundtrip();
    test_tamper();
    test_replay();
    test_quotes();
    test_manifest();
    test_random_wipe();
#ifndef OM_ENCLAVE
    test_files();
#endif
    if (failures) {
        printf("test_crypto: %d FAILED\n", failures);
        return 1;
    }
    printf("test_crypto: PASS\n");
    return 0;
}
