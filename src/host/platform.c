/* Platform key and trust store of this host (sim mode). */
#include "platform.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct om_platform_key g_key;
static struct om_trust_store g_trust;
static int g_loaded;

const char *om_platform_home(void)
{
    static char buf[4096];
    const char *h = getenv("OPTMIG_HOME");
    if (h && *h)
        return h;
    h = getenv("HOME");
    snprintf(buf, sizeof(buf), "%s", h && *h ? h : "/var/lib");
    strncat(buf, h && *h ? "/.optmig" : "/optmig", sizeof(buf) - strlen(buf) - 1);
    return buf;
}

int om_platform_load(char *err, size_t errlen)
{
    if (g_loaded)
        return 0;
    char path[4200];
    snprintf(path, sizeof(path), "%s/platform.key", om_platform_home());
    int rc = om_platform_key_load(path, &g_key);
    if (rc) {
        snprintf(err, errlen, "no usable platform key at %s (%s%s%s): run 'optmig keygen'", path,
                 om_crypto_strerror(rc), rc == OM_CRYPTO_EIO ? ": " : "", rc == OM_CRYPTO_EIO ? strerror(errno) : "");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/trust", om_platform_home());
    rc = om_trust_store_load(path, &g_trust);
    if (rc) {
        snprintf(err, errlen, "trust store %s: %s%s%s", path, om_crypto_strerror(rc),
                 g_trust.bad_file[0] ? " in " : "", g_trust.bad_file);
        return -1;
    }
    g_loaded = 1;
    return 0;
}

const struct om_platform_key *om_platform_key(void) { return g_loaded ? &g_key : NULL; }
const struct om_trust_store *om_platform_trust(void) { return &g_trust; }
