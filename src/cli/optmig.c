/* optmig: run enclave images and (later) migrate them live. */
#include "cli.h"
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name, *summary;
    int (*fn)(int, char **);
} cmds[] = {
    { "run", "run an enclave image", om_cmd_run },
    { "measure", "print an enclave image's SHA-256 measurement", om_cmd_measure },
    { "listen", "receive a migrating enclave and run it", om_cmd_listen },
    { "migrate", "live-migrate a named running enclave to a listener", om_cmd_migrate },
    { "status", "show a named running enclave", om_cmd_status },
    { "keygen", "create this host's platform key (sim-mode attestation)", om_cmd_keygen },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: optmig COMMAND [OPTIONS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
    fprintf(f, "\n'optmig COMMAND --help' describes a command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return OM_EXIT_USAGE;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("optmig %s\n", OM_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (!strcmp(argv[1], cmds[i].name))
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "optmig: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return OM_EXIT_USAGE;
}
