/* Register-level entry points of the trusted runtime. */
#include "optmig/abi.h"
	.text

/* int om_ctx_save(struct om_jmpctx *c): 0 now; 1 when a thread is resumed
 * from c (on this host or, after a migration, on another). Saves what the
 * ABI says survives a call: rbx, rbp, r12-r15, rsp, rip, mxcsr, x87 cw. */
	.globl om_ctx_save
	.type om_ctx_save,@function
om_ctx_save:
	mov %rbx, 0(%rdi)
	mov %rbp, 8(%rdi)
	mov %r12, 16(%rdi)
	mov %r13, 24(%rdi)
	mov %r14, 32(%rdi)
	mov %r15, 40(%rdi)
	lea 8(%rsp), %rax
	mov %rax, 48(%rdi)
	mov (%rsp), %rax
	mov %rax, 56(%rdi)
	stmxcsr 64(%rdi)
	fnstcw 68(%rdi)
	xor %eax, %eax
	ret
	.size om_ctx_save, .-om_ctx_save

/* ECALL entry: rdi = struct om_ecall * (untrusted host memory). Runs the
 * call on the trusted stack of the requested slot, never on one the host
 * chose; om_trt_ecall does not return. */
	.globl om_trt_ecall_entry
	.type om_trt_ecall_entry,@function
om_trt_ecall_entry:
	mov 4(%rdi), %eax		/* slot */
	cmp $OM_ECALL_SLOTS, %eax
	jae 1f
	/* Claim the slot (om_priv.ecall_busy[slot]) before touching its stack. */
	mov $1, %ecx
	lea om_priv(%rip), %rdx
	xchg %ecx, (%rdx,%rax,4)
	test %ecx, %ecx
	jnz 1f
	lea om_ecall_stacks(%rip), %rsp
	imul $OM_ECALL_STACK_SIZE, %rax, %rax
	add %rax, %rsp
	add $OM_ECALL_STACK_SIZE, %rsp
	and $-16, %rsp
	xor %ebp, %ebp
	call om_trt_ecall
1:	ud2
	.size om_trt_ecall_entry, .-om_trt_ecall_entry

	.section .note.GNU-stack,"",@progbits
