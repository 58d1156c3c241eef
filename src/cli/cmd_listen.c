/* optmig listen --port PORT [--bind ADDR] [--once] [--name NAME] [--timeout SEC]
 * Waits for one incoming migration and then becomes the application: its
 * later output goes to this process's stdout and its exit status is ours. */
#include "cli.h"
#include "control.h"
#include "enclave.h"
#include "mig_host.h"
#include "platform.h"
#include "run.h"
#include <getopt.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: optmig listen --port PORT [OPTIONS]\n"
               "Receives a migrating enclave, then runs it as if started here.\n\n"
               "  --port PORT      TCP port to listen on\n"
               "  --bind ADDR      address to listen on (default: all)\n"
               "  --once           exit with status 1 if the first attempt fails (default: keep listening)\n"
               "  --name NAME      serve the received enclave's control socket under NAME\n"
               "  --timeout SEC    give up on a silent source after SEC seconds (default 30)\n"
               "  -h, --help       show this help\n");
}

static int listen_on(const char *bind_addr, const char *port, char *err, size_t errlen)
{
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai;
    int gai = getaddrinfo(bind_addr, port, &hints, &ai);
    if (gai) {
        snprintf(err, errlen, "%s: %s", port, gai_strerror(gai));
        return -1;
    }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (fd >= 0)
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 32)) {
        snprintf(err, errlen, "cannot listen on port %s: %m", port);
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

int om_cmd_listen(int argc, char **argv)
{
    static const struct option opts[] = {
        { "port", required_argument, 0, 'p' }, { "bind", required_argument, 0, 'b' },
        { "once", no_argument, 0, 'o' },       { "name", required_argument, 0, 'n' },
        { "timeout", required_argument, 0, 'T' }, { "help", no_argument, 0, 'h' },
        { "listen-fd", required_argument, 0, 'F' }, { 0, 0, 0, 0 },
    };
    const char *port = NULL, *bind_addr = NULL, *name = NULL;
    int once = 0, c, lfd = -1;
    long timeout = 30;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'p': port = optarg; break;
        case 'b': bind_addr = optarg; break;
        case 'o': once = 1; break;
        case 'n': name = optarg; break;
        case 'F': lfd = atoi(optarg); break; /* inherited across a re-exec after a failed attempt */
        case 'T':
            timeout = strtol(optarg, &end, 10);
            if (*end || timeout < 1 || timeout > 3600) {
                fprintf(stderr, "optmig listen: --timeout must be 1..3600 seconds\n");
                return OM_EXIT_USAGE;
            }
            break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return OM_EXIT_USAGE;
        }
    }
    if (!port || optind != argc) {
        fprintf(stderr, "optmig listen: --port PORT is required\n");
        usage(stderr);
        return OM_EXIT_USAGE;
    }
    char err[1024];
    if (om_platform_load(err, sizeof(err))) {
        fprintf(stderr, "optmig listen: %s\n", err);
        return 1;
    }
    if (lfd < 0 && (lfd = listen_on(bind_addr, port, err, sizeof(err))) < 0) {
        fprintf(stderr, "optmig listen: %s\n", err);
        return 1;
    }
    if (om_start_monitor()) {
        fprintf(stderr, "optmig listen: cannot start the signal monitor\n");
        return 1;
    }
    fprintf(stderr, "optmig: listening on port %s\n", port);
    int got = om_mig_destination(lfd, (uint32_t)timeout * 1000, err, sizeof(err));
    if (got < 0) {
        fprintf(stderr, "optmig listen: incoming migration failed: %s\n", err);
        if (once)
            return 1;
        /* The range of a failed attempt holds nothing usable: start afresh,
         * keeping the listening socket. */
        int keep = dup(lfd); /* without close-on-exec */
        char fdarg[32];
        snprintf(fdarg, sizeof(fdarg), "--listen-fd=%d", keep);
        char *nargv[16];
        int n = 0;
        nargv[n++] = "optmig";
        nargv[n++] = "listen";
        for (int i = 1; i < argc && n < 13; i++)
            if (strncmp(argv[i], "--listen-fd", 11))
                nargv[n++] = argv[i];
        nargv[n++] = fdarg;
        nargv[n] = NULL;
        execv("/proc/self/exe", nargv);
        fprintf(stderr, "optmig listen: cannot restart: %m\n");
        return 1;
    }
    if (name && om_control_start(name, err, sizeof(err)))
        fprintf(stderr, "optmig listen: %s (the enclave runs without a control socket)\n", err);
    /* Post-copy cut after the switchover: the enclave runs here, threads
     * that need a missing page wait, and the source keeps those pages until
     * `optmig migrate --resume` reconnects on this port. */
    while (got) {
        fprintf(stderr, "optmig listen: post-copy did not complete (%s); threads that need a missing page "
                        "wait; waiting on port %s for `optmig migrate --resume`\n", err, port);
        got = om_mig_destination(lfd, (uint32_t)timeout * 1000, err, sizeof(err));
        if (!got)
            fprintf(stderr, "optmig listen: post-copy resumed and completed\n");
    }
    close(lfd);
    /* The enclave's threads run on their own host threads now; this one
     * stays (so the process does not look defunct) until exit_group or the
     * signal monitor ends the process. */
    for (;;)
        pause();
}
