/* Stack and FS-base switches between host code and enclave code. Written in
 * assembly because no C frame may straddle the switch. */
	.text

/* void om_set_fsbase(uint64_t fs)
 * wrfsbase only where the kernel supports it (HWCAP2_FSGSBASE): elsewhere the
 * CPU may still execute it, but the kernel would restore a stale FS base at
 * the next context switch. Clobbers rax, rcx, rdi, rsi, r11. */
	.globl om_set_fsbase
	.type om_set_fsbase,@function
om_set_fsbase:
	cmpb $0, om_fs_direct(%rip)
	je 1f
	wrfsbase %rdi
	ret
1:	mov %rdi, %rsi
	mov $0x1002, %edi	/* ARCH_SET_FS */
	mov $158, %eax		/* SYS_arch_prctl */
	syscall
	ret
	.size om_set_fsbase, .-om_set_fsbase

/* uint64_t om_call_on_stack(void *top, uint64_t (*fn)(void *), void *arg, uint64_t *saved_sp)
 * Runs fn(arg) on the stack ending at top; stores the caller's stack pointer in
 * *saved_sp (if non-null) so code below can find free host stack. */
	.globl om_call_on_stack
	.type om_call_on_stack,@function
om_call_on_stack:
	push %rbp
	mov %rsp, %rbp
	test %rcx, %rcx
	jz 1f
	mov %rsp, (%rcx)
1:	mov %rdi, %rsp
	mov %rdx, %rdi
	call *%rsi
	mov %rbp, %rsp
	pop %rbp
	ret
	.size om_call_on_stack, .-om_call_on_stack

/* int64_t om_ocall_gate(struct om_hthread *ht, struct om_ocall *oc)
 * The OCALL gate enclave code calls: switches to the host FS base and to free
 * host stack below the trap frame, runs the dispatcher, and switches back.
 * struct om_hthread starts with host_fs, host_sp. */
	.globl om_ocall_gate
	.type om_ocall_gate,@function
om_ocall_gate:
	/* Plain system calls need neither host TLS nor host stack: issue them
	 * from here, outside the enclave range, if the allow list has them. */
	cmpl $1, (%rsi)			/* oc->op == OM_OC_SYSCALL */
	jne 2f
	mov 8(%rsi), %rax		/* oc->nr */
	cmp $512, %rax
	jae 3f
	bt %rax, om_syscall_allow(%rip)
	jnc 3f
	mov %rsi, %r11
	mov 16(%r11), %rdi		/* oc->a[0..5] */
	mov 24(%r11), %rsi
	mov 32(%r11), %rdx
	mov 40(%r11), %r10
	mov 48(%r11), %r8
	mov 56(%r11), %r9
	syscall
	ret
3:	mov $-38, %rax			/* -ENOSYS */
	ret
2:	push %rbp
	push %rbx
	push %r12
	push %r13
	mov %rsp, %rbp
	mov %rdi, %rbx
	mov %rsi, %r13
	rdfsbase %r12
	mov 0(%rbx), %rdi
	call om_set_fsbase
	mov 8(%rbx), %rsp
	sub $128, %rsp
	and $-16, %rsp
	mov %rbx, %rdi
	mov %r13, %rsi
	call om_ocall_dispatch
	mov %rax, %r13
	mov %r12, %rdi
	call om_set_fsbase
	mov %r13, %rax
	mov %rbp, %rsp
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	ret
	.size om_ocall_gate, .-om_ocall_gate

/* void om_sigreturn_to(ucontext_t *uc, uint64_t fsbase)
 * Enters enclave code with the complete register state in uc (general, FP,
 * signal mask, altstack) through rt_sigreturn, the way the kernel resumes a
 * signalled thread. */
	.globl om_sigreturn_to
	.type om_sigreturn_to,@function
om_sigreturn_to:
	mov %rdi, %rbx
	mov %rsi, %rdi
	call om_set_fsbase
	mov %rbx, %rsp
	mov $15, %eax
	syscall
	ud2
	.size om_sigreturn_to, .-om_sigreturn_to

	.section .note.GNU-stack,"",@progbits
