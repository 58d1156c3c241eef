/* placeholder: replaced by the trusted trap handler */
#include "optmig/abi.h"
void om_trt_trap(struct om_ssa *ssa);
void om_trt_trap(struct om_ssa *ssa) { (void)ssa; }
