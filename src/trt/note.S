/* The OPTMIG note: tells the loader this is an enclave image and where its
 * trusted trap entry is, as an offset from the field so no relocation is needed. */
#include "optmig/abi.h"
	.section .note.optmig,"a",@note
	.balign 4
	.long 7                 /* namesz: "OPTMIG\0" */
	.long 16                /* descsz: struct om_note_desc */
	.long OM_NOTE_TYPE
	.asciz "OPTMIG"
	.balign 4
	.long OM_ABI_VERSION
	.long om_trt_trap - .
	.long om_trt_ecall_entry - .
	.long om_ecall_tls - .
	.balign 4
	.section .note.GNU-stack,"",@progbits
