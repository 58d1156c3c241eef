/* Bring-up of an enclave: load, measure, lay out the range, install the trap,
 * and enter the main thread. A monitor thread turns SIGINT/SIGTERM into a
 * clean end of the process. */
#include "run.h"
#include "control.h"
#include "enclave.h"
#include "hthread.h"
#include "ocall.h"
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

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

int om_start_monitor(void)
{
    static sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    sigset_t block = set;
    sigaddset(&block, OM_SIG_INTERRUPT); /* host threads never take it */
    pthread_sigmask(SIG_BLOCK, &block, NULL);
    signal(SIGPIPE, SIG_IGN); /* enclave writes to a closed peer get EPIPE */
    pthread_t t;
    return pthread_create(&t, NULL, monitor_main, &set);
}

int om_run(const struct om_run_config *cfg)
{
    char err[512];
    if (om_enclave_load(cfg->image, cfg->base, cfg->heap_size, cfg->threads, cfg->argv, err, sizeof(err)) ||
        om_start_monitor() || (cfg->name && om_control_start(cfg->name, err, sizeof(err)))) {
        fprintf(stderr, "optmig: %s: %s\n", cfg->image, err);
        return 1;
    }
    om_enclave_run_main();
    /* The enclave's main thread exited alone; the others keep the process up
     * until one of them ends the enclave. */
    pthread_exit(NULL);
}
