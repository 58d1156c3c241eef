/* AES-256-GCM sealed records: the GCM composition, sealers and openers. */
#include "om_crypto_internal.h"

#include <string.h>

_Static_assert(sizeof(struct om_sealer_state) <= sizeof(struct om_sealer),
               "struct om_sealer too small for its state");
_Static_assert(sizeof(struct om_opener_state) <= sizeof(struct om_opener),
               "struct om_opener too small for its state");
_Static_assert(_Alignof(struct om_sealer_state) <= _Alignof(struct om_sealer), "alignment");
_Static_assert(_Alignof(struct om_opener_state) <= _Alignof(struct om_opener), "alignment");

/* ---- GCM (NIST SP 800-38D) with a 96-bit IV ------------------------------
 * J0 = IV || 1; the payload uses counters 2, 3, ... (CTR with IV and a 32-bit
 * block counter is exactly what br_block_ctr_class.run computes);
 * tag = E_K(J0) xor GHASH_H(AAD, C, [len(AAD)]_64 || [len(C)]_64), lengths in
 * bits. BearSSL's GHASH zero-pads partial blocks as GCM requires. */

int om_gcm_init(struct om_gcm *g, const uint8_t key[32], enum om_aead_impl impl)
{
    const br_block_ctr_class *ctr = NULL;
    br_ghash gh = 0;
    if (impl == OM_AEAD_AUTO || impl == OM_AEAD_HW) {
        ctr = br_aes_x86ni_ctr_get_vtable();
        gh = br_ghash_pclmul_get();
        if (!ctr || !gh) {
            if (impl == OM_AEAD_HW)
                return OM_CRYPTO_EUNSUPPORTED;
            ctr = NULL;
        }
    } else if (impl != OM_AEAD_PORTABLE) {
        return OM_CRYPTO_EINVAL;
    }
    if (!ctr) {
        ctr = &br_aes_ct64_ctr_vtable;
        gh = br_ghash_ctmul64;
    }
    if (ctr->context_size > sizeof g->keys)
        return OM_CRYPTO_EUNSUPPORTED;
    ctr->init(&g->keys.vtable, key, 32);
    g->gh = gh;
    static const uint8_t zero_iv[12];
    memset(g->h, 0, sizeof g->h);
    ctr->run(&g->keys.vtable, zero_iv, 0, g->h, sizeof g->h); /* H = E_K(0^128) */
    return OM_CRYPTO_OK;
}

static void gcm_tag(const struct om_gcm *g, const uint8_t iv[12], const void *aad, size_t aad_len,
                    const void *ct, size_t len, uint8_t tag[16])
{
    _Alignas(16) uint8_t y[16] = {0};
    uint8_t lens[16];
    g->gh(y, g->h, aad, aad_len);
    g->gh(y, g->h, ct, len);
    om_be64(lens, (uint64_t)aad_len << 3);
    om_be64(lens + 8, (uint64_t)len << 3);
    g->gh(y, g->h, lens, sizeof lens);
    g->keys.vtable->run(&g->keys.vtable, iv, 1, y, sizeof y); /* xor E_K(J0) */
    memcpy(tag, y, 16);
}

void om_gcm_seal(const struct om_gcm *g, const uint8_t iv[12], const void *aad, size_t aad_len,
                 void *data, size_t len, uint8_t tag[16])
{
    g->keys.vtable->run(&g->keys.vtable, iv, 2, data, len);
    gcm_tag(g, iv, aad, aad_len, data, len, tag);
}

int om_gcm_open(const struct om_gcm *g, const uint8_t iv[12], const void *aad, size_t aad_len,
                const void *in, void *out, size_t len, const uint8_t tag[16])
{
    uint8_t want[16];
    gcm_tag(g, iv, aad, aad_len, in, len, want);
    int ok = om_ct_equal(want, tag, 16);
    om_wipe(want, sizeof want);
    if (!ok)
        return OM_CRYPTO_EAUTH;
    if (out != in && len)
        memcpy(out, in, len);
    g->keys.vtable->run(&g->keys.vtable, iv, 2, out, len);
    return OM_CRYPTO_OK;
}

const char *om_gcm_impl_name(const struct om_gcm *g)
{
    return g->gh == br_ghash_ctmul64 ? "ct64+ctmul64" : "x86ni+pclmul";
}

/* ---- record encodings ---------------------------------------------------- */

void om_record_ad(uint8_t ad[OM_RECORD_AD_LEN], const uint8_t mig_id[16], uint8_t type,
                  uint32_t stream_id, uint64_t page, uint64_t version)
{
    memcpy(ad, mig_id, 16);
    ad[16] = type;
    ad[17] = ad[18] = ad[19] = 0;
    om_be32(ad + 20, stream_id);
    om_be64(ad + 24, page);
    om_be64(ad + 32, version);
}

void om_record_nonce(uint8_t nonce[OM_GCM_NONCE_LEN], uint32_t stream_id, uint64_t counter)
{
    om_be32(nonce, stream_id);
    om_be64(nonce + 4, counter);
}

static int bad_buffers(const void *in, size_t len, const void *out, const uint8_t *tag)
{
    return !tag || (len && (!in || !out)) || len > OM_SEAL_MAX_LEN;
}

/* ---- sealer -------------------------------------------------------------- */

static void sealer_fingerprint(uint8_t fp[32], const uint8_t key[32], uint32_t stream_id)
{
    static const char dom[] = "optmig-sealer-fp-v1";
    uint8_t sid[4];
    om_be32(sid, stream_id);
    br_sha256_context h;
    br_sha256_init(&h);
    br_sha256_update(&h, dom, sizeof dom - 1);
    br_sha256_update(&h, key, 32);
    br_sha256_update(&h, sid, sizeof sid);
    br_sha256_out(&h, fp);
    om_wipe(&h, sizeof h);
}

int om_sealer_init(struct om_sealer *s, const uint8_t key[32], uint32_t stream_id,
                   const uint8_t mig_id[16], enum om_aead_impl impl)
{
    if (!s || !key || !mig_id)
        return OM_CRYPTO_EINVAL;
    struct om_sealer_state *st = om_sealer_state(s);
    uint8_t fp[32];
    sealer_fingerprint(fp, key, stream_id);
    /* Whatever the object held before (even uninitialised bytes), refuse
     * only when it provably held this very key and stream id. */
    if ((st->magic == OM_SEALER_LIVE || st->magic == OM_SEALER_RETIRED) &&
        om_ct_equal(st->fingerprint, fp, sizeof fp))
        return OM_CRYPTO_EREUSE;
    om_wipe(s, sizeof *s);
    int r = om_gcm_init(&st->gcm, key, impl);
    if (r) {
        om_wipe(s, sizeof *s);
        return r;
    }
    st->stream_id = stream_id;
    st->next = 0;
    memcpy(st->mig_id, mig_id, 16);
    memcpy(st->fingerprint, fp, sizeof fp);
    st->magic = OM_SEALER_LIVE;
    return OM_CRYPTO_OK;
}

int om_seal(struct om_sealer *s, uint8_t type, uint64_t page, uint64_t version, const void *in,
            size_t len, void *out, uint8_t tag[16], uint64_t *counter_out)
{
    if (!s)
        return OM_CRYPTO_EINVAL;
    struct om_sealer_state *st = om_sealer_state(s);
    if (st->magic != OM_SEALER_LIVE || bad_buffers(in, len, out, tag))
        return OM_CRYPTO_EINVAL;
    if (st->next == UINT64_MAX)
        return OM_CRYPTO_EEXHAUSTED;
    uint64_t counter = st->next++;
    uint8_t nonce[OM_GCM_NONCE_LEN], ad[OM_RECORD_AD_LEN];
    om_record_nonce(nonce, st->stream_id, counter);
    om_record_ad(ad, st->mig_id, type, st->stream_id, page, version);
    if (out != in && len)
        memcpy(out, in, len);
    om_gcm_seal(&st->gcm, nonce, ad, sizeof ad, out, len, tag);
    if (counter_out)
        *counter_out = counter;
    return OM_CRYPTO_OK;
}

void om_sealer_wipe(struct om_sealer *s)
{
    if (!s)
        return;
    struct om_sealer_state *st = om_sealer_state(s);
    if (st->magic != OM_SEALER_LIVE && st->magic != OM_SEALER_RETIRED) {
        om_wipe(s, sizeof *s);
        return;
    }
    om_wipe(&st->gcm, sizeof st->gcm);
    om_wipe(st->mig_id, sizeof st->mig_id);
    st->magic = OM_SEALER_RETIRED; /* keeps fingerprint, stream id and count */
}

uint64_t om_sealer_count(const struct om_sealer *s)
{
    const struct om_sealer_state *st = (const struct om_sealer_state *)(const void *)s->opaque_;
    return st->magic == OM_SEALER_LIVE || st->magic == OM_SEALER_RETIRED ? st->next : 0;
}

const char *om_sealer_impl_name(const struct om_sealer *s)
{
    const struct om_sealer_state *st = (const struct om_sealer_state *)(const void *)s->opaque_;
    return st->magic == OM_SEALER_LIVE ? om_gcm_impl_name(&st->gcm) : "none";
}

/* ---- opener -------------------------------------------------------------- */

int om_opener_init(struct om_opener *o, const uint8_t key[32], uint32_t stream_id,
                   const uint8_t mig_id[16], enum om_aead_impl impl)
{
    if (!o || !key || !mig_id)
        return OM_CRYPTO_EINVAL;
    struct om_opener_state *st = om_opener_state(o);
    om_wipe(o, sizeof *o);
    int r = om_gcm_init(&st->gcm, key, impl);
    if (r) {
        om_wipe(o, sizeof *o);
        return r;
    }
    st->stream_id = stream_id;
    st->next = 0;
    st->skipped = 0;
    memcpy(st->mig_id, mig_id, 16);
    st->magic = OM_OPENER_LIVE;
    return OM_CRYPTO_OK;
}

int om_open(struct om_opener *o, uint8_t type, uint64_t page, uint64_t version,
            uint64_t counter, const void *in, size_t len, void *out, const uint8_t tag[16])
{
    if (!o)
        return OM_CRYPTO_EINVAL;
    struct om_opener_state *st = om_opener_state(o);
    if (st->magic != OM_OPENER_LIVE || bad_buffers(in, len, out, tag))
        return OM_CRYPTO_EINVAL;
    if (counter < st->next)
        return OM_CRYPTO_EREPLAY;
    if (counter == UINT64_MAX) /* a sealer never uses it */
        return OM_CRYPTO_EAUTH;
    uint8_t nonce[OM_GCM_NONCE_LEN], ad[OM_RECORD_AD_LEN];
    om_record_nonce(nonce, st->stream_id, counter);
    om_record_ad(ad, st->mig_id, type, st->stream_id, page, version);
    int r = om_gcm_open(&st->gcm, nonce, ad, sizeof ad, in, out, len, tag);
    if (r)
        return r;
    st->skipped += counter - st->next;
    st->next = counter + 1;
    return OM_CRYPTO_OK;
}

void om_opener_wipe(struct om_opener *o)
{
    if (o)
        om_wipe(o, sizeof *o);
}

uint64_t om_opener_skipped(const struct om_opener *o)
{
    const struct om_opener_state *st = (const struct om_opener_state *)(const void *)o->opaque_;
    return st->magic == OM_OPENER_LIVE ? st->skipped : 0;
}

uint64_t om_opener_next(const struct om_opener *o)
{
    const struct om_opener_state *st = (const struct om_opener_state *)(const void *)o->opaque_;
    return st->magic == OM_OPENER_LIVE ? st->next : 0;
}
