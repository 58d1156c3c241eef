/* Bring-up of an enclave: load, measure, lay out the range, install the trap,
 * and enter the main thread. A monitor thread turns SIGINT/SIGTERM into a
 * clean end of the process. */
#include "run.h"
#include "elf_image.h"
#include "hthread.h"
#include "layout.h"
#include "loader.h"
#include "ocall.h"
#include "range.h"
#include "trap.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

static struct om_host_params g_params;

static void *monitor_main(void *arg)
{
    sigset_t *set = arg;
    for (;;) {
        int sig = sigwaitinfo(set, NULL);
        if (sig > 0) {
            fprintf(stderr, "optmig: %s: enclave stopped\n", strsignal(sig));
            om_host_exit(128 + sig);
        }
    }
    return NULL;
}

static int start_monitor(void)
{
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN); /* enclave writes to a closed peer get EPIPE */
    pthread_t t;
    return pthread_create(&t, NULL, monitor_main, &set);
}

int om_run(const struct om_run_config *cfg)
{
    char err[512];
    struct om_image img;
    struct om_layout *l = &g_params.layout;

    if (!om_fsgsbase_probe()) {
        fprintf(stderr, "optmig: this CPU/kernel does not allow user-space FS base writes (FSGSBASE)\n");
        return 1;
    }
    if (om_image_load(cfg->image, &img, err, sizeof(err))) {
        fprintf(stderr, "optmig: %s: %s\n", cfg->image, err);
        return 1;
    }
    uint64_t entry = 0, sp = 0;
    if (om_layout_compute(cfg->base, img.span, cfg->heap_size, cfg->threads, l, err, sizeof(err)) ||
        om_range_reserve(l, err, sizeof(err)) ||
        om_load_segments(&img, l, err, sizeof(err)) ||
        !(entry = om_trap_entry_addr(&img, l, err, sizeof(err))) ||
        !(sp = om_build_main_stack(&img, l, cfg->argv, environ, err, sizeof(err)))) {
        fprintf(stderr, "optmig: %s: %s\n", cfg->image, err);
        om_image_free(&img);
        return 1;
    }
    g_params.ocall_gate = (uint64_t)om_ocall_gate;
    g_params.pid = (uint32_t)getpid();
    g_params.slot_exits = om_ocall_init(l);

    struct om_hthread *ht = om_hthread_new(0);
    if (!ht || start_monitor() || om_trap_install(l, &g_params, entry, err, sizeof(err))) {
        fprintf(stderr, "optmig: %s: %s\n", cfg->image, ht ? err : "out of memory");
        om_image_free(&img);
        return 1;
    }
    ht->start_regs[OM_RIP] = l->base + img.entry;
    ht->start_regs[OM_RSP] = sp;
    om_image_free(&img);
    om_hthread_run(ht);
    /* The enclave's main thread exited alone; the others keep the process up
     * until one of them ends the enclave. */
    pthread_exit(NULL);
}
