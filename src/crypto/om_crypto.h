/* optmig migration crypto: randomness, platform keys and quotes (the sim-mode
 * stand-in for SGX's quoting enclave), X25519 key exchange, HKDF-SHA256 session
 * keys, AES-256-GCM sealed records and the page manifest digest.
 *
 * Built twice from the same sources (src/crypto/CMakeLists.txt):
 *   omcrypto_host     native glibc library; also has the file I/O functions
 *                     (key files, trust store directory), which are declared
 *                     only when OM_ENCLAVE is not defined;
 *   omcrypto_enclave  build/lib/optmig/libomcrypto.a, compiled with the enclave
 *                     flags against musl, defines OM_ENCLAVE. It makes no system
 *                     call except getrandom(), and only when the CPU has no
 *                     RDRAND (see om_random).
 *
 * Rules for the whole module:
 *   - no allocation: every piece of state lives in a struct the caller owns;
 *   - no global mutable state: every function is thread-safe as long as two
 *     threads never use the same object at once;
 *   - every function returns 0 (OM_CRYPTO_OK) or a negative OM_CRYPTO_E* code
 *     unless documented otherwise; om_crypto_strerror() names each code;
 *   - all multi-byte integers inside the encodings below are BIG-endian
 *     (network order). Byte strings ("optmig-quote-v1", ...) are ASCII with no
 *     terminating NUL.
 *
 * Library: BearSSL 0.6 (ECDSA P-256 "m31", Curve25519 "m31", SHA-256, HKDF,
 * HMAC_DRBG, AES-CTR "x86ni" or "ct64", GHASH "pclmul" or "ctmul64"). */
#ifndef OPTMIG_OM_CRYPTO_H
#define OPTMIG_OM_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

/* ---- result codes ------------------------------------------------------- */

#define OM_CRYPTO_OK 0
#define OM_CRYPTO_EAUTH (-1)       /* om_open: tag does not verify (tampered, wrong key/AD) */
#define OM_CRYPTO_EREPLAY (-2)     /* om_open: counter not above every counter accepted so far */
#define OM_CRYPTO_EINVAL (-3)      /* API misuse: NULL, uninitialised object, length too big */
#define OM_CRYPTO_EEXHAUSTED (-4)  /* sealer used its last nonce: re-key */
#define OM_CRYPTO_EREUSE (-5)      /* sealer re-initialised with the same key and stream id */
#define OM_CRYPTO_ERANDOM (-6)     /* no randomness source worked */
#define OM_CRYPTO_EQUOTE_SIG (-7)  /* quote signature does not verify */
#define OM_CRYPTO_EQUOTE_KEY (-8)  /* quote signed by a platform key not in the trust store */
#define OM_CRYPTO_EQUOTE_MEAS (-9) /* quote valid, but for another enclave measurement */
#define OM_CRYPTO_EWEAKKEY (-10)   /* X25519 result is all zero (low-order peer key) */
#define OM_CRYPTO_EKEY (-11)       /* not a valid P-256 key (point off curve, scalar range) */
#define OM_CRYPTO_EIO (-12)        /* file I/O failed; errno says why */
#define OM_CRYPTO_EFORMAT (-13)    /* file does not have the documented format */
#define OM_CRYPTO_EFULL (-14)      /* trust store already holds OM_TRUST_MAX keys */
#define OM_CRYPTO_EUNSUPPORTED (-15) /* OM_AEAD_HW asked for, CPU lacks AES-NI/PCLMUL */

/* A static, NUL-terminated description of any code above; never NULL. */
const char *om_crypto_strerror(int code);

/* ---- randomness and wiping ---------------------------------------------- */

/* Fills buf with n cryptographically random bytes. Each call seeds a fresh
 * HMAC_DRBG (SHA-256) on the stack from BearSSL's system seeder when that is
 * RDRAND (no system call), or else from getrandom() (an OCALL in an enclave),
 * generates n bytes and wipes the DRBG. Returns 0 or OM_CRYPTO_ERANDOM (buf is
 * then zeroed). */
int om_random(void *buf, size_t n);

/* Zeroes n bytes at p; the compiler cannot drop it as a dead store. */
void om_wipe(void *p, size_t n);

/* ---- platform keys and trust store (sim-mode quoting enclave) ----------- */

/* In SGX a quote is signed by the platform's quoting enclave and checked
 * against Intel's attestation service. Sim mode replaces that with one ECDSA
 * P-256 key per host ("platform key"), whose public half the other hosts list
 * in a local trust store directory. */
struct om_platform_key {
    uint8_t priv[32]; /* scalar, big-endian, 1 <= priv < n(P-256) */
    uint8_t pub[65];  /* uncompressed point 0x04 || X || Y */
};

#define OM_TRUST_MAX 64
struct om_trust_store {
    uint32_t n;                       /* valid entries in pub[0..n) */
    uint8_t pub[OM_TRUST_MAX][65];    /* each a validated P-256 point, no duplicates */
    char bad_file[256];               /* om_trust_store_load: the file that failed, or "" */
};

/* New random key pair. */
int om_platform_keygen(struct om_platform_key *k);
/* Checks that priv is in range and pub is its public point: 0 or OM_CRYPTO_EKEY. */
int om_platform_key_check(const struct om_platform_key *k);
/* 0 if pub is a valid uncompressed P-256 point, else OM_CRYPTO_EKEY. */
int om_p256_pub_check(const uint8_t pub[65]);

void om_trust_store_init(struct om_trust_store *ts); /* empty store */
/* Adds a validated key (a duplicate is accepted and not stored twice):
 * 0, OM_CRYPTO_EKEY or OM_CRYPTO_EFULL. */
int om_trust_store_add(struct om_trust_store *ts, const uint8_t pub[65]);
/* 1 if pub is in the store, else 0. */
int om_trust_store_has(const struct om_trust_store *ts, const uint8_t pub[65]);

#ifndef OM_ENCLAVE
/* Key file format (exactly this, lowercase or uppercase hex, every line
 * ending in '\n', nothing after the last one):
 *     optmig-platform-key-v1
 *     <64 hex digits: priv>
 *     <130 hex digits: pub>
 * Public key file format ("*.pub", for trust store directories):
 *     <130 hex digits: pub>           (the final '\n' is optional)
 *
 * om_platform_key_save writes path atomically (path.tmp, fsync, rename) with
 * mode 0600. om_platform_pub_save writes a .pub file (mode 0644) the same way.
 * om_platform_key_load accepts only a regular file of the exact format whose
 * key passes om_platform_key_check: else OM_CRYPTO_EFORMAT or OM_CRYPTO_EKEY.
 * I/O failures return OM_CRYPTO_EIO with errno set. */
int om_platform_key_save(const char *path, const struct om_platform_key *k);
int om_platform_key_load(const char *path, struct om_platform_key *k);
int om_platform_pub_save(const char *path, const uint8_t pub[65]);

/* Empties ts, then reads every regular file (or symlink to one) in dir whose
 * name ends in ".pub" and does not start with '.', in the public key file
 * format. Any unreadable or malformed .pub file, an invalid point, or more
 * than OM_TRUST_MAX distinct keys fails the whole load (OM_CRYPTO_EIO /
 * EFORMAT / EKEY / EFULL) with its name in ts->bad_file and the store left
 * empty. Other names are ignored. */
int om_trust_store_load(const char *dir, struct om_trust_store *ts);
#endif

/* ---- quotes -------------------------------------------------------------- */

struct om_quote {
    uint8_t measurement[32];  /* the enclave's measurement (src/image/measure.c) */
    uint8_t report_data[32];  /* om_report_data(): binds the key exchange */
    uint8_t platform_pub[65]; /* signer */
    uint8_t sig[64];          /* raw ECDSA (r || s, 32 bytes each, big-endian) */
};

/* sig = ECDSA-P256-SHA256 over SHA-256("optmig-quote-v1" || measurement ||
 * report_data) (15 + 32 + 32 bytes), by k->priv; platform_pub = k->pub.
 * Signatures are deterministic (RFC 6979, as BearSSL does). */
int om_quote_sign(const struct om_platform_key *k, const uint8_t meas[32], const uint8_t rd[32],
                  struct om_quote *q);

/* Checks, in this order: platform_pub is in ts (else OM_CRYPTO_EQUOTE_KEY), the
 * signature (else OM_CRYPTO_EQUOTE_SIG), measurement == expected_meas (else
 * OM_CRYPTO_EQUOTE_MEAS). The caller must still check that report_data is the
 * om_report_data() it expects for the peer's key-exchange key and nonce. */
int om_quote_verify(const struct om_quote *q, const struct om_trust_store *ts,
                    const uint8_t expected_meas[32]);

#define OM_ROLE_SOURCE 1
#define OM_ROLE_DESTINATION 2
/* out = SHA-256(role (1 byte) || x25519_pub (32) || nonce (32) || mig_id (16)). */
void om_report_data(uint8_t role, const uint8_t x25519_pub[32], const uint8_t nonce[32],
                    const uint8_t mig_id[16], uint8_t out[32]);

/* ---- key exchange and session keys ------------------------------------- */

/* priv = 32 random bytes, clamped as RFC 7748 says; pub = X25519(priv, 9).
 * Returns 0 or OM_CRYPTO_ERANDOM. */
int om_x25519_keypair(uint8_t priv[32], uint8_t pub[32]);
/* out = X25519(priv, peer) (RFC 7748; the peer's top bit is ignored).
 * Returns OM_CRYPTO_EWEAKKEY, with out zeroed, if the result is all zero. */
int om_x25519_shared(const uint8_t priv[32], const uint8_t peer[32], uint8_t out[32]);

struct om_session_keys {
    uint8_t src_to_dst[32]; /* AES-256-GCM key of records the source seals */
    uint8_t dst_to_src[32]; /* AES-256-GCM key of records the destination seals */
};

/* HKDF-SHA256 (RFC 5869) with salt = transcript_hash, IKM = shared, L = 32:
 *   src_to_dst: info = "optmig-session-key-v1" || 0x01 || meas_src || meas_dst || mig_id
 *   dst_to_src: info = "optmig-session-key-v1" || 0x02 || meas_src || meas_dst || mig_id
 * (21 + 1 + 32 + 32 + 16 = 102 bytes of info). What the transcript hash covers
 * is the protocol's business (both HELLOs, quotes included). */
void om_keys_derive(const uint8_t shared[32], const uint8_t transcript_hash[32],
                    const uint8_t meas_src[32], const uint8_t meas_dst[32],
                    const uint8_t mig_id[16], struct om_session_keys *out);

/* ---- sealed records (AES-256-GCM) ---------------------------------------- */

/* One sealer per (key, stream id) and one opener per (key, stream id) at the
 * other end. Records are AES-256-GCM with a 16-byte tag and:
 *
 *   nonce (12 bytes) = stream_id (u32) || counter (u64)
 *   AD    (40 bytes) = mig_id (16) || type (u8) || 00 00 00 || stream_id (u32)
 *                      || page (u64) || version (u64)
 *
 * The sealer's counter starts at 0 and grows by one per record; counter
 * 2^64-1 is never used (OM_CRYPTO_EEXHAUSTED instead), so a nonce never
 * repeats within one object. NONCE UNIQUENESS ACROSS OBJECTS IS THE CALLER'S
 * DUTY: never create two sealers with the same key and stream id (the
 * protocol gives each stream its own id and each direction its own key), and
 * never copy an initialised sealer. Re-initialising the same object with the
 * key and stream id it had (even after om_sealer_wipe) is refused with
 * OM_CRYPTO_EREUSE.
 *
 * The opener accepts a record only if its tag verifies and its counter is
 * above every counter accepted so far on that stream (a duplicate, replay or
 * stale reordering returns OM_CRYPTO_EREPLAY). A gap (a counter skipped) is
 * accepted and counted in om_opener_skipped(): a dropped record is caught by
 * the manifest, or by the caller requiring that count to stay 0.
 *
 * om_open checks the tag BEFORE it decrypts: on any error nothing is written
 * to out, and the opener's state is unchanged. in == out (in place) works for
 * both om_seal and om_open; other overlaps are not allowed. om_open reads in
 * twice (tag, then decryption): in must be memory the host cannot change
 * meanwhile (enclave memory), else verified bytes could be swapped.
 *
 * Neither object is thread-safe; use one per stream per thread. */

enum om_aead_impl {
    OM_AEAD_AUTO = 0,     /* AES-NI + PCLMUL when the CPU has them, else portable */
    OM_AEAD_HW = 1,       /* AES-NI + PCLMUL or OM_CRYPTO_EUNSUPPORTED */
    OM_AEAD_PORTABLE = 2, /* constant-time BearSSL aes_ct64 + ghash_ctmul64 */
};

#define OM_SEAL_MAX_LEN ((size_t)0xfffffffeu * 16u) /* GCM's limit per record */

struct om_sealer {
    _Alignas(16) uint64_t opaque_[64];
};
struct om_opener {
    _Alignas(16) uint64_t opaque_[64];
};

/* key: 32 bytes. On error the object is left unusable. */
int om_sealer_init(struct om_sealer *s, const uint8_t key[32], uint32_t stream_id,
                   const uint8_t mig_id[16], enum om_aead_impl impl);
/* Seals len bytes of in into out (same length) and writes the tag and the
 * counter used (counter_out may be NULL). 0, OM_CRYPTO_EEXHAUSTED or
 * OM_CRYPTO_EINVAL (uninitialised, len > OM_SEAL_MAX_LEN). */
int om_seal(struct om_sealer *s, uint8_t type, uint64_t page, uint64_t version, const void *in,
            size_t len, void *out, uint8_t tag[16], uint64_t *counter_out);
/* Wipes the key schedule and migration id. The object keeps its stream id,
 * count and a SHA-256 fingerprint of (key, stream id) for OM_CRYPTO_EREUSE;
 * om_seal on it returns OM_CRYPTO_EINVAL. */
void om_sealer_wipe(struct om_sealer *s);
/* Records sealed so far (= the next counter). */
uint64_t om_sealer_count(const struct om_sealer *s);
/* "x86ni+pclmul" or "ct64+ctmul64" (or "none" if uninitialised). */
const char *om_sealer_impl_name(const struct om_sealer *s);

int om_opener_init(struct om_opener *o, const uint8_t key[32], uint32_t stream_id,
                   const uint8_t mig_id[16], enum om_aead_impl impl);
/* 0, OM_CRYPTO_EAUTH (bad tag), OM_CRYPTO_EREPLAY or OM_CRYPTO_EINVAL. */
int om_open(struct om_opener *o, uint8_t type, uint64_t page, uint64_t version,
            uint64_t counter, const void *in, size_t len, void *out, const uint8_t tag[16]);
void om_opener_wipe(struct om_opener *o);
/* Counters skipped so far by accepted records (0 if none was dropped). */
uint64_t om_opener_skipped(const struct om_opener *o);
/* The lowest counter the next record may carry. */
uint64_t om_opener_next(const struct om_opener *o);

/* ---- manifest ------------------------------------------------------------ */

/* The caller owns versions[npages]; version 0 means "page not present".
 * om_manifest_note keeps the highest version seen for each page, whatever
 * order records arrive in across streams. */
struct om_manifest_acc {
    uint64_t *versions;
    size_t npages;
};
/* Zeroes versions[0..npages). */
void om_manifest_init(struct om_manifest_acc *m, uint64_t *versions, size_t npages);
/* 1 if version is newer than what page had (recorded: install the page),
 * 0 if not (stale or duplicate: discard it), OM_CRYPTO_EINVAL if page >=
 * npages or version == 0. */
int om_manifest_note(struct om_manifest_acc *m, uint64_t page, uint64_t version);

/* out = SHA-256("optmig-manifest-v1" || npages (u64) || for each page p in
 * increasing order with versions[p] != 0: p (u64) || versions[p] (u64)). */
void om_manifest_digest(const uint64_t *versions, size_t npages, uint8_t out[32]);

#endif
