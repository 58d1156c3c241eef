/* optmig status NAME: what the named enclave's host process reports. */
#include "cli.h"
#include "control.h"
#include <stdio.h>
#include <string.h>

int om_cmd_status(int argc, char **argv)
{
    int json = 0;
    const char *name = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: optmig status NAME [--json]\nShows the enclave that `optmig run --name NAME` hosts.\n");
            return 0;
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (argv[i][0] == '-' || name) {
            fprintf(stderr, "usage: optmig status NAME [--json]\n");
            return OM_EXIT_USAGE;
        } else {
            name = argv[i];
        }
    }
    if (!name) {
        fprintf(stderr, "usage: optmig status NAME [--json]\n");
        return OM_EXIT_USAGE;
    }
    char reply[8192], err[512];
    if (om_control_request(name, "status\n", reply, sizeof(reply), err, sizeof(err))) {
        fprintf(stderr, "optmig status: %s\n", err);
        return 1;
    }
    if (json) {
        fputs(reply, stdout);
        return 0;
    }
    /* Human form: one "key: value" per JSON field. */
    for (char *p = reply; *p; p++)
        if (*p == '{' || *p == '}' || *p == '"' || *p == '\n')
            *p = ' ';
    char *save = NULL;
    for (char *f = strtok_r(reply, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        char *colon = strchr(f, ':');
        if (!colon)
            continue;
        *colon = 0;
        while (*f == ' ')
            f++;
        char *v = colon + 1;
        while (*v == ' ')
            v++;
        for (char *e = v + strlen(v); e > v && e[-1] == ' ';)
            *--e = 0;
        for (char *e = f + strlen(f); e > f && e[-1] == ' ';)
            *--e = 0;
        printf("%-14s %s\n", f, v);
    }
    return 0;
}
