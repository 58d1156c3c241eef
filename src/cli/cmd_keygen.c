/* optmig keygen [--force]: this host's platform key (sim-mode quoting). */
#include "cli.h"
#include "om_crypto.h"
#include "platform.h"
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int om_cmd_keygen(int argc, char **argv)
{
    int force = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: optmig keygen [--force]\n"
                   "Creates this host's platform key in $OPTMIG_HOME (default ~/.optmig)/platform.key\n"
                   "and trusts it (trust/self.pub). Copy another host's .pub file into trust/ to\n"
                   "accept migrations from or to it. Sim mode: this key stands in for SGX's quoting\n"
                   "enclave and attestation service.\n");
            return 0;
        }
        if (strcmp(argv[i], "--force")) {
            fprintf(stderr, "usage: optmig keygen [--force]\n");
            return OM_EXIT_USAGE;
        }
        force = 1;
    }
    const char *home = om_platform_home();
    char key[4200], trust[4200], pub[4300];
    snprintf(key, sizeof(key), "%s/platform.key", home);
    snprintf(trust, sizeof(trust), "%s/trust", home);
    snprintf(pub, sizeof(pub), "%s/self.pub", trust);
    if (!force && access(key, F_OK) == 0) {
        fprintf(stderr, "optmig keygen: %s exists (use --force to replace it)\n", key);
        return 1;
    }
    if ((mkdir(home, 0700) && errno != EEXIST) || (mkdir(trust, 0755) && errno != EEXIST)) {
        fprintf(stderr, "optmig keygen: %s: %s\n", home, strerror(errno));
        return 1;
    }
    struct om_platform_key k;
    int rc = om_platform_keygen(&k);
    if (!rc)
        rc = om_platform_key_save(key, &k);
    if (!rc)
        rc = om_platform_pub_save(pub, k.pub);
    om_wipe(&k.priv, sizeof(k.priv));
    if (rc) {
        fprintf(stderr, "optmig keygen: %s: %s\n", key, om_crypto_strerror(rc));
        return 1;
    }
    printf("platform key: %s\ntrusted public key: %s\n", key, pub);
    return 0;
}
