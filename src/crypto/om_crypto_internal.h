/* Internals of the crypto module, shared by its sources and its unit test
 * (known-answer tests go through these functions). Not a public API. */
#ifndef OPTMIG_OM_CRYPTO_INTERNAL_H
#define OPTMIG_OM_CRYPTO_INTERNAL_H

#include "om_crypto.h"

#include <bearssl.h>

/* AES-256-GCM with a 96-bit IV, composed from BearSSL's CTR and GHASH
 * primitives so that opening can check the tag before it decrypts. */
struct om_gcm {
    br_aes_gen_ctr_keys keys; /* keys.vtable selects the AES implementation */
    br_ghash gh;
    _Alignas(16) uint8_t h[16]; /* GHASH key E_K(0^128) */
};

int om_gcm_init(struct om_gcm *g, const uint8_t key[32], enum om_aead_impl impl);
/* Encrypts data[0..len) in place and writes the tag. len <= OM_SEAL_MAX_LEN. */
void om_gcm_seal(const struct om_gcm *g, const uint8_t iv[12], const void *aad, size_t aad_len,
                 void *data, size_t len, uint8_t tag[16]);
/* Verifies the tag over in[0..len); only then decrypts into out (in == out
 * allowed). Returns 0 or OM_CRYPTO_EAUTH (out untouched). */
int om_gcm_open(const struct om_gcm *g, const uint8_t iv[12], const void *aad, size_t aad_len,
                const void *in, void *out, size_t len, const uint8_t tag[16]);
const char *om_gcm_impl_name(const struct om_gcm *g);

#define OM_RECORD_AD_LEN 40
#define OM_GCM_NONCE_LEN 12
void om_record_ad(uint8_t ad[OM_RECORD_AD_LEN], const uint8_t mig_id[16], uint8_t type,
                  uint32_t stream_id, uint64_t page, uint64_t version);
void om_record_nonce(uint8_t nonce[OM_GCM_NONCE_LEN], uint32_t stream_id, uint64_t counter);

/* What struct om_sealer / om_opener hold. */
struct om_sealer_state {
    uint32_t magic; /* OM_SEALER_LIVE or OM_SEALER_RETIRED */
    uint32_t stream_id;
    uint64_t next; /* counter of the next record */
    uint8_t mig_id[16];
    uint8_t fingerprint[32]; /* SHA-256("optmig-sealer-fp-v1" || key || stream_id) */
    struct om_gcm gcm;
};
struct om_opener_state {
    uint32_t magic; /* OM_OPENER_LIVE */
    uint32_t stream_id;
    uint64_t next; /* lowest acceptable counter */
    uint64_t skipped;
    uint8_t mig_id[16];
    struct om_gcm gcm;
};
#define OM_SEALER_LIVE 0x5345414cu    /* "SEAL" */
#define OM_SEALER_RETIRED 0x52455449u /* "RETI" */
#define OM_OPENER_LIVE 0x4f50454eu    /* "OPEN" */

static inline struct om_sealer_state *om_sealer_state(struct om_sealer *s)
{
    return (struct om_sealer_state *)(void *)s->opaque_;
}
static inline struct om_opener_state *om_opener_state(struct om_opener *o)
{
    return (struct om_opener_state *)(void *)o->opaque_;
}

/* HKDF-SHA256 (RFC 5869): Extract(salt, ikm) then Expand(info, out_len). */
void om_hkdf_sha256(const void *salt, size_t salt_len, const void *ikm, size_t ikm_len,
                    const void *info, size_t info_len, void *out, size_t out_len);

/* Big-endian stores. */
static inline void om_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}
static inline void om_be64(uint8_t *p, uint64_t v)
{
    om_be32(p, (uint32_t)(v >> 32));
    om_be32(p + 4, (uint32_t)v);
}

/* Constant-time equality of two n-byte strings: 1 if equal. */
int om_ct_equal(const void *a, const void *b, size_t n);

#endif
