/* Platform keys, trust store, quotes, X25519 and session key derivation. */
#include "om_crypto_internal.h"

#include <string.h>

#define P256 BR_EC_secp256r1

/* ---- P-256 keys ---------------------------------------------------------- */

int om_p256_pub_check(const uint8_t pub[65])
{
    if (!pub || pub[0] != 0x04)
        return OM_CRYPTO_EKEY;
    /* mul() decodes the point and fails unless it is on the curve and not
     * the point at infinity; multiplying by 1 changes nothing else. */
    uint8_t pt[65];
    static const uint8_t one[1] = {1};
    memcpy(pt, pub, sizeof pt);
    return br_ec_p256_m31.mul(pt, sizeof pt, one, sizeof one, P256) ? OM_CRYPTO_OK : OM_CRYPTO_EKEY;
}

/* 1 if 0 < priv < n, in constant time with respect to priv's value. */
static int p256_scalar_ok(const uint8_t priv[32])
{
    size_t olen;
    const unsigned char *order = br_ec_p256_m31.order(P256, &olen);
    if (olen != 32)
        return 0;
    /* big-endian priv - n: the final borrow is 1 iff priv < n */
    uint32_t borrow = 0, nz = 0;
    for (int i = 31; i >= 0; i--) {
        uint32_t d = (uint32_t)priv[i] - order[i] - borrow;
        borrow = (d >> 31) & 1;
        nz |= priv[i];
    }
    return (int)(borrow & (uint32_t)(nz != 0));
}

int om_platform_key_check(const struct om_platform_key *k)
{
    if (!k || !p256_scalar_ok(k->priv) || om_p256_pub_check(k->pub) != 0)
        return OM_CRYPTO_EKEY;
    uint8_t pub[65];
    if (br_ec_p256_m31.mulgen(pub, k->priv, 32, P256) != sizeof pub)
        return OM_CRYPTO_EKEY;
    return memcmp(pub, k->pub, sizeof pub) == 0 ? OM_CRYPTO_OK : OM_CRYPTO_EKEY;
}

int om_platform_keygen(struct om_platform_key *k)
{
    if (!k)
        return OM_CRYPTO_EINVAL;
    /* Rejection sampling: a random 256-bit value is >= n with probability
     * about 2^-32, so this loop practically never repeats. */
    for (int tries = 0; tries < 64; tries++) {
        int r = om_random(k->priv, sizeof k->priv);
        if (r) {
            om_wipe(k, sizeof *k);
            return r;
        }
        if (!p256_scalar_ok(k->priv))
            continue;
        if (br_ec_p256_m31.mulgen(k->pub, k->priv, 32, P256) != sizeof k->pub)
            break;
        return OM_CRYPTO_OK;
    }
    om_wipe(k, sizeof *k);
    return OM_CRYPTO_ERANDOM;
}

/* ---- trust store --------------------------------------------------------- */

void om_trust_store_init(struct om_trust_store *ts)
{
    memset(ts, 0, sizeof *ts);
}

int om_trust_store_has(const struct om_trust_store *ts, const uint8_t pub[65])
{
    if (!ts || !pub)
        return 0;
    uint32_t n = ts->n < OM_TRUST_MAX ? ts->n : OM_TRUST_MAX;
    for (uint32_t i = 0; i < n; i++)
        if (memcmp(ts->pub[i], pub, 65) == 0)
            return 1;
    return 0;
}

int om_trust_store_add(struct om_trust_store *ts, const uint8_t pub[65])
{
    if (!ts || !pub)
        return OM_CRYPTO_EINVAL;
    if (om_p256_pub_check(pub) != 0)
        return OM_CRYPTO_EKEY;
    if (om_trust_store_has(ts, pub))
        return OM_CRYPTO_OK;
    if (ts->n >= OM_TRUST_MAX)
        return OM_CRYPTO_EFULL;
    memcpy(ts->pub[ts->n++], pub, 65);
    return OM_CRYPTO_OK;
}

/* ---- quotes -------------------------------------------------------------- */

static void quote_hash(const uint8_t meas[32], const uint8_t rd[32], uint8_t out[32])
{
    static const char dom[] = "optmig-quote-v1";
    br_sha256_context h;
    br_sha256_init(&h);
    br_sha256_update(&h, dom, sizeof dom - 1);
    br_sha256_update(&h, meas, 32);
    br_sha256_update(&h, rd, 32);
    br_sha256_out(&h, out);
}

int om_quote_sign(const struct om_platform_key *k, const uint8_t meas[32], const uint8_t rd[32],
                  struct om_quote *q)
{
    if (!k || !meas || !rd || !q)
        return OM_CRYPTO_EINVAL;
    if (!p256_scalar_ok(k->priv))
        return OM_CRYPTO_EKEY;
    uint8_t hash[32];
    quote_hash(meas, rd, hash);
    br_ec_private_key sk = {.curve = P256, .x = (unsigned char *)k->priv, .xlen = 32};
    uint8_t sig[64];
    size_t n = br_ecdsa_i31_sign_raw(&br_ec_p256_m31, &br_sha256_vtable, hash, &sk, sig);
    if (n != sizeof sig)
        return OM_CRYPTO_EKEY;
    memmove(q->measurement, meas, 32);
    memmove(q->report_data, rd, 32);
    memcpy(q->platform_pub, k->pub, 65);
    memcpy(q->sig, sig, 64);
    return OM_CRYPTO_OK;
}

int om_quote_verify(const struct om_quote *q, const struct om_trust_store *ts,
                    const uint8_t expected_meas[32])
{
    if (!q || !ts || !expected_meas)
        return OM_CRYPTO_EINVAL;
    if (!om_trust_store_has(ts, q->platform_pub))
        return OM_CRYPTO_EQUOTE_KEY;
    uint8_t hash[32];
    quote_hash(q->measurement, q->report_data, hash);
    br_ec_public_key pk = {.curve = P256, .q = (unsigned char *)q->platform_pub, .qlen = 65};
    if (br_ecdsa_i31_vrfy_raw(&br_ec_p256_m31, hash, sizeof hash, &pk, q->sig, sizeof q->sig) != 1)
        return OM_CRYPTO_EQUOTE_SIG;
    if (memcmp(q->measurement, expected_meas, 32) != 0)
        return OM_CRYPTO_EQUOTE_MEAS;
    return OM_CRYPTO_OK;
}

void om_report_data(uint8_t role, const uint8_t x25519_pub[32], const uint8_t nonce[32],
                    const uint8_t mig_id[16], uint8_t out[32])
{
    br_sha256_context h;
    br_sha256_init(&h);
    br_sha256_update(&h, &role, 1);
    br_sha256_update(&h, x25519_pub, 32);
    br_sha256_update(&h, nonce, 32);
    br_sha256_update(&h, mig_id, 16);
    br_sha256_out(&h, out);
}

/* ---- X25519 -------------------------------------------------------------- */

int om_x25519_keypair(uint8_t priv[32], uint8_t pub[32])
{
    if (!priv || !pub)
        return OM_CRYPTO_EINVAL;
    int r = om_random(priv, 32);
    if (r)
        return r;
    priv[0] &= 248;
    priv[31] &= 127;
    priv[31] |= 64;
    if (br_ec_c25519_m31.mulgen(pub, priv, 32, BR_EC_curve25519) != 32) {
        om_wipe(priv, 32);
        return OM_CRYPTO_EINVAL;
    }
    return OM_CRYPTO_OK;
}

int om_x25519_shared(const uint8_t priv[32], const uint8_t peer[32], uint8_t out[32])
{
    if (!priv || !peer || !out)
        return OM_CRYPTO_EINVAL;
    uint8_t g[32];
    memcpy(g, peer, sizeof g);
    uint32_t ok = br_ec_c25519_m31.mul(g, sizeof g, priv, 32, BR_EC_curve25519);
    uint8_t acc = 0;
    for (size_t i = 0; i < sizeof g; i++)
        acc |= g[i];
    if (!ok || acc == 0) {
        om_wipe(g, sizeof g);
        om_wipe(out, 32);
        return ok ? OM_CRYPTO_EWEAKKEY : OM_CRYPTO_EINVAL;
    }
    memcpy(out, g, sizeof g);
    om_wipe(g, sizeof g);
    return OM_CRYPTO_OK;
}

/* ---- session keys -------------------------------------------------------- */

#define OM_KDF_LABEL "optmig-session-key-v1"
#define OM_KDF_LABEL_LEN (sizeof OM_KDF_LABEL - 1)
#define OM_KDF_INFO_LEN (OM_KDF_LABEL_LEN + 1 + 32 + 32 + 16)
_Static_assert(OM_KDF_INFO_LEN == 102, "documented info length");

void om_keys_derive(const uint8_t shared[32], const uint8_t transcript_hash[32],
                    const uint8_t meas_src[32], const uint8_t meas_dst[32],
                    const uint8_t mig_id[16], struct om_session_keys *out)
{
    uint8_t info[OM_KDF_INFO_LEN];
    uint8_t *p = info;
    memcpy(p, OM_KDF_LABEL, OM_KDF_LABEL_LEN);
    p += OM_KDF_LABEL_LEN;
    uint8_t *dir = p++;
    memcpy(p, meas_src, 32);
    p += 32;
    memcpy(p, meas_dst, 32);
    p += 32;
    memcpy(p, mig_id, 16);
    *dir = 0x01;
    om_hkdf_sha256(transcript_hash, 32, shared, 32, info, sizeof info, out->src_to_dst, 32);
    *dir = 0x02;
    om_hkdf_sha256(transcript_hash, 32, shared, 32, info, sizeof info, out->dst_to_src, 32);
}
