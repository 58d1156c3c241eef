/* The sim-mode platform: its key (the quoting enclave's stand-in) and the
 * trust store of platform keys it accepts, under $OPTMIG_HOME. */
#ifndef OM_PLATFORM_H
#define OM_PLATFORM_H
#include <stddef.h>
#include "om_crypto.h"

/* $OPTMIG_HOME, else $HOME/.optmig, else /var/lib/optmig. */
const char *om_platform_home(void);
/* Loads platform.key and trust/ once; 0 or -1 with a message. */
int om_platform_load(char *err, size_t errlen);
const struct om_platform_key *om_platform_key(void);
const struct om_trust_store *om_platform_trust(void);
#endif
