/* Bring-up of the enclave in this process, and ECALLs into it. */
#include "enclave.h"
#include "elf_image.h"
#include "hthread.h"
#include "layout.h"
#include "loader.h"
#include "measure.h"
#include "ocall.h"
#include "range.h"
#include "trap.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

struct om_enclave om_enclave;

int om_enclave_load(const char *image, uint64_t base, uint64_t heap, uint32_t threads,
                    char *const argv[], char *err, size_t errlen)
{
    struct om_enclave *e = &om_enclave;
    struct om_layout *l = &e->params.layout;
    struct om_image img;
    if (!om_fsgsbase_probe()) {
        snprintf(err, errlen, "this CPU does not let user space read the FS base (FSGSBASE)");
        return -1;
    }
    if (!realpath(image, e->image)) {
        snprintf(err, errlen, "%s", strerror(errno));
        return -1;
    }
    if (om_image_load(e->image, &img, err, errlen))
        return -1;
    om_image_measure(&img, e->measurement);
    int rc = -1;
    if (om_layout_compute(base, img.span, heap, threads, l, err, errlen) ||
        om_range_reserve(l, err, errlen) || om_load_segments(&img, l, err, errlen) ||
        !(e->trap_entry = om_trap_entry_addr(&img, l, err, errlen)) ||
        !(e->main_sp = om_build_main_stack(&img, l, argv, environ, err, errlen)))
        goto out;
    e->ecall_entry = l->base + img.note_vaddr + offsetof(struct om_note_desc, ecall_entry) +
                     (uint64_t)(int64_t)img.note.ecall_entry;
    e->ecall_tls = l->base + img.note_vaddr + offsetof(struct om_note_desc, ecall_tls) +
                   (uint64_t)(int64_t)img.note.ecall_tls;
    e->entry = l->base + img.entry;
    e->heap_size = heap;
    e->threads = threads;
    e->params.ocall_gate = (uint64_t)om_ocall_gate;
    e->params.pid = (uint32_t)getpid();
    e->params.slot_exits = om_ocall_init(l);
    rc = om_trap_install(l, &e->params, e->trap_entry, err, errlen);
    e->loaded = rc == 0;
out:
    om_image_free(&img);
    return rc;
}

void om_enclave_run_main(void)
{
    struct om_hthread *ht = om_hthread_new(0);
    if (!ht) {
        fprintf(stderr, "optmig: out of memory\n");
        om_host_exit(1);
    }
    ht->start_regs[OM_RIP] = om_enclave.entry;
    ht->start_regs[OM_RSP] = om_enclave.main_sp;
    om_hthread_run(ht);
    om_hthread_free(ht);
}

int64_t om_enclave_ecall(uint32_t slot, uint32_t op, uint64_t arg)
{
    struct om_hthread *ht = om_hthread_new(OM_MAX_THREADS + slot);
    if (!ht)
        return -ENOMEM;
    ht->ecall = (struct om_ecall){
        .op = op, .slot = slot, .host_ctx = (uint64_t)ht, .ocall_buf = (uint64_t)ht->ocall_buf,
        .ocall_size = OM_OCALL_BUF_SIZE, .params = (uint64_t)&om_enclave.params, .arg = arg,
    };
    ht->start_regs[OM_RIP] = om_enclave.ecall_entry;
    ht->start_regs[OM_RDI] = (uint64_t)&ht->ecall;
    ht->start_fs = om_enclave.ecall_tls + (uint64_t)slot * OM_ECALL_TLS_SIZE;
    ht->ecall_result = -EINTR;
    om_hthread_run(ht);
    int64_t r = ht->ecall_result;
    om_hthread_free(ht);
    return r;
}
