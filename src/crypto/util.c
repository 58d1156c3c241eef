/* Randomness, wiping, constant-time compare, HKDF and error names. */
#include "om_crypto_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

void om_wipe(void *p, size_t n)
{
    if (!p || !n)
        return;
    memset(p, 0, n);
    /* The asm "reads" the zeroed memory, so the stores are not dead. */
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

int om_ct_equal(const void *a, const void *b, size_t n)
{
    const volatile uint8_t *x = a, *y = b;
    uint8_t d = 0;
    for (size_t i = 0; i < n; i++)
        d |= (uint8_t)(x[i] ^ y[i]);
    return d == 0;
}

/* 32 bytes from getrandom(), retrying on EINTR and short reads. */
static int seed_getrandom(uint8_t seed[32])
{
    size_t got = 0;
    int tries = 0;
    while (got < 32) {
        ssize_t r = getrandom(seed + got, 32 - got, 0);
        if (r < 0) {
            if (errno == EINTR && ++tries < 100)
                continue;
            return -1;
        }
        if (r == 0 && ++tries >= 100)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

int om_random(void *buf, size_t n)
{
    static const char pers[] = "optmig-random-v1";
    if (!buf && n)
        return OM_CRYPTO_EINVAL;
    br_hmac_drbg_context drbg;
    br_hmac_drbg_init(&drbg, &br_sha256_vtable, pers, sizeof pers - 1);
    int seeded = 0;
    const char *name = NULL;
    br_prng_seeder seeder = br_prng_seeder_system(&name);
    /* Only RDRAND: BearSSL's other seeders open files, which the enclave
     * variant must not do. getrandom() is the one system call allowed. */
    if (seeder && name && strcmp(name, "rdrand") == 0)
        seeded = seeder(&drbg.vtable);
    if (!seeded) {
        uint8_t seed[32];
        if (seed_getrandom(seed) == 0) {
            br_hmac_drbg_update(&drbg, seed, sizeof seed);
            seeded = 1;
        }
        om_wipe(seed, sizeof seed);
    }
    if (seeded)
        br_hmac_drbg_generate(&drbg, buf, n);
    else
        om_wipe(buf, n);
    om_wipe(&drbg, sizeof drbg);
    return seeded ? OM_CRYPTO_OK : OM_CRYPTO_ERANDOM;
}

void om_hkdf_sha256(const void *salt, size_t salt_len, const void *ikm, size_t ikm_len,
                    const void *info, size_t info_len, void *out, size_t out_len)
{
    br_hkdf_context hc;
    br_hkdf_init(&hc, &br_sha256_vtable, salt, salt_len);
    br_hkdf_inject(&hc, ikm, ikm_len);
    br_hkdf_flip(&hc);
    br_hkdf_produce(&hc, info, info_len, out, out_len);
    om_wipe(&hc, sizeof hc);
}

const char *om_crypto_strerror(int code)
{
    switch (code) {
    case OM_CRYPTO_OK: return "success";
    case OM_CRYPTO_EAUTH: return "record authentication failed (tampered or wrong key)";
    case OM_CRYPTO_EREPLAY: return "record replayed, duplicated or out of order";
    case OM_CRYPTO_EINVAL: return "invalid argument or uninitialised object";
    case OM_CRYPTO_EEXHAUSTED: return "record counter exhausted: the stream needs a new key";
    case OM_CRYPTO_EREUSE: return "sealer re-initialised with the same key and stream id";
    case OM_CRYPTO_ERANDOM: return "no source of randomness";
    case OM_CRYPTO_EQUOTE_SIG: return "quote signature does not verify";
    case OM_CRYPTO_EQUOTE_KEY: return "quote signed by a platform key that is not trusted";
    case OM_CRYPTO_EQUOTE_MEAS: return "quote is for another enclave measurement";
    case OM_CRYPTO_EWEAKKEY: return "key exchange gave an all-zero secret (bad peer key)";
    case OM_CRYPTO_EKEY: return "invalid P-256 key";
    case OM_CRYPTO_EIO: return "file I/O error";
    case OM_CRYPTO_EFORMAT: return "malformed key file";
    case OM_CRYPTO_EFULL: return "trust store full";
    case OM_CRYPTO_EUNSUPPORTED: return "AES-NI/PCLMUL not available on this CPU";
    default: return "unknown crypto error";
    }
}
