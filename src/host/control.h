/* The control socket of a named enclave: how `optmig status` and `optmig
 * migrate` reach the process that hosts it. */
#ifndef OM_CONTROL_H
#define OM_CONTROL_H
#include <stddef.h>

/* Directory of control sockets: $OPTMIG_RUNDIR, /run/optmig (root) or /tmp/optmig-UID. */
int om_control_path(const char *name, char *out, size_t len);
/* Serves the enclave of this process under name; 0 or -1 with err. */
int om_control_start(const char *name, char *err, size_t errlen);
/* Client: sends one request line and returns the reply's last line (a JSON
 * object) in reply; 0, or -1 with err. */
int om_control_request(const char *name, const char *request, char *reply, size_t len, char *err,
                       size_t errlen);
#endif
