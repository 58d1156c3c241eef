#include "measure.h"

#include <bearssl.h>

static void put_u32(br_sha256_context *h, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    br_sha256_update(h, b, sizeof b);
}

static void put_u64(br_sha256_context *h, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    br_sha256_update(h, b, sizeof b);
}

void om_image_measure(const struct om_image *img, uint8_t out[32])
{
    br_sha256_context h;
    br_sha256_init(&h);
    br_sha256_update(&h, OM_MEASURE_TAG, sizeof OM_MEASURE_TAG); /* includes the NUL */
    put_u64(&h, img->entry);
    put_u32(&h, img->nseg);
    for (unsigned i = 0; i < img->nseg; i++) {
        const struct om_segment *s = &img->seg[i];
        put_u64(&h, s->vaddr);
        put_u64(&h, s->memsz);
        put_u32(&h, s->flags);
        put_u64(&h, s->filesz);
        br_sha256_update(&h, img->data + s->offset, s->filesz); /* bounds checked by the parser */
    }
    br_sha256_out(&h, out);
}

void om_measure_hex(const uint8_t m[32], char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hex[m[i] >> 4];
        out[2 * i + 1] = hex[m[i] & 15];
    }
    out[64] = 0;
}
