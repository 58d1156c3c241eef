/* Page manifest: latest version per page, and its digest. */
#include "om_crypto_internal.h"

#include <string.h>

void om_manifest_init(struct om_manifest_acc *m, uint64_t *versions, size_t npages)
{
    m->versions = versions;
    m->npages = versions ? npages : 0;
    if (versions && npages)
        memset(versions, 0, npages * sizeof *versions);
}

int om_manifest_note(struct om_manifest_acc *m, uint64_t page, uint64_t version)
{
    if (!m || !m->versions || page >= m->npages || version == 0)
        return OM_CRYPTO_EINVAL;
    if (version <= m->versions[page])
        return 0;
    m->versions[page] = version;
    return 1;
}

void om_manifest_digest(const uint64_t *versions, size_t npages, uint8_t out[32])
{
    static const char dom[] = "optmig-manifest-v1";
    br_sha256_context h;
    uint8_t buf[64 * 16]; /* entries are hashed in batches of 64 */
    size_t used = 0;
    br_sha256_init(&h);
    br_sha256_update(&h, dom, sizeof dom - 1);
    om_be64(buf, (uint64_t)npages);
    br_sha256_update(&h, buf, 8);
    for (size_t p = 0; versions && p < npages; p++) {
        if (versions[p] == 0)
            continue;
        om_be64(buf + used, (uint64_t)p);
        om_be64(buf + used + 8, versions[p]);
        used += 16;
        if (used == sizeof buf) {
            br_sha256_update(&h, buf, used);
            used = 0;
        }
    }
    br_sha256_update(&h, buf, used);
    br_sha256_out(&h, out);
}
