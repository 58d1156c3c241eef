/* optmig migrate NAME --to HOST:PORT [--strategy S] [--streams N] [--timeout SEC] [--json] */
#include "cli.h"
#include "control.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: optmig migrate NAME --to HOST:PORT [OPTIONS]\n"
               "Live-migrates the enclave `optmig run --name NAME` hosts to `optmig listen` at HOST:PORT.\n\n"
               "  --to HOST:PORT       destination ([IPv6]:PORT works too)\n"
               "  --strategy S         stop-and-copy (default; the only one implemented so far)\n"
               "  --streams N          parallel TCP streams, 1..16 (default 2)\n"
               "  --timeout SEC        give up waiting for the peer after SEC seconds (default 30)\n"
               "  --json               print one JSON object instead of a summary\n"
               "  -h, --help           show this help\n\n"
               "Exit status: 0 migrated (the source process has ended), 1 failed (the enclave\n"
               "still runs at the source, unchanged), 64 usage error.\n");
}

/* Value of "key": in a flat JSON object (numbers and strings). */
static int field(const char *json, const char *key, char *out, size_t len)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    const char *p = strstr(json, pat);
    if (!p)
        return -1;
    p += strlen(pat);
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"' && n + 1 < len; p++) {
            if (*p == '\\' && p[1])
                p++;
            out[n++] = *p;
        }
    } else {
        while (*p && *p != ',' && *p != '}' && n + 1 < len)
            out[n++] = *p++;
    }
    out[n] = 0;
    return 0;
}

int om_cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "to", required_argument, 0, 't' },      { "strategy", required_argument, 0, 's' },
        { "streams", required_argument, 0, 'n' }, { "timeout", required_argument, 0, 'T' },
        { "json", no_argument, 0, 'j' },          { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *to = NULL, *strategy = "stop-and-copy";
    long streams = 2, timeout = 30;
    int json = 0, c;
    char *end;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 't': to = optarg; break;
        case 's': strategy = optarg; break;
        case 'n':
            streams = strtol(optarg, &end, 10);
            if (*end || streams < 1 || streams > 16) {
                fprintf(stderr, "optmig migrate: --streams must be 1..16\n");
                return OM_EXIT_USAGE;
            }
            break;
        case 'T':
            timeout = strtol(optarg, &end, 10);
            if (*end || timeout < 1 || timeout > 3600) {
                fprintf(stderr, "optmig migrate: --timeout must be 1..3600 seconds\n");
                return OM_EXIT_USAGE;
            }
            break;
        case 'j': json = 1; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return OM_EXIT_USAGE;
        }
    }
    if (optind != argc - 1 || !to) {
        fprintf(stderr, "optmig migrate: need NAME and --to HOST:PORT\n");
        usage(stderr);
        return OM_EXIT_USAGE;
    }
    if (strcmp(strategy, "stop-and-copy")) {
        fprintf(stderr, "optmig migrate: strategy '%s' is not implemented yet (stop-and-copy is)\n", strategy);
        return OM_EXIT_USAGE;
    }
    char host[256], port[32];
    const char *colon = to[0] == '[' ? strstr(to, "]:") : strrchr(to, ':');
    size_t hl = colon ? (size_t)(colon - to) - (to[0] == '[') : 0;
    const char *pp = colon ? colon + 1 + (to[0] == '[') : NULL;
    if (!colon || !hl || hl >= sizeof(host) || !*pp || strlen(pp) >= sizeof(port)) {
        fprintf(stderr, "optmig migrate: --to needs HOST:PORT, got '%s'\n", to);
        return OM_EXIT_USAGE;
    }
    memcpy(host, to + (to[0] == '['), hl);
    host[hl] = 0;
    snprintf(port, sizeof(port), "%s", pp);

    char req[512], reply[8192], err[512];
    snprintf(req, sizeof(req), "migrate %s %s %ld %ld\n", host, port, streams, timeout * 1000);
    if (om_control_request(argv[optind], req, reply, sizeof(reply), err, sizeof(err))) {
        fprintf(stderr, "optmig migrate: %s\n", err);
        return 1;
    }
    char result[32] = "", why[2048] = "", down[32] = "", total[32] = "", pages[32] = "", bytes[32] = "";
    field(reply, "result", result, sizeof(result));
    field(reply, "error", why, sizeof(why));
    field(reply, "downtime_ms", down, sizeof(down));
    field(reply, "total_ms", total, sizeof(total));
    field(reply, "pages_sent", pages, sizeof(pages));
    field(reply, "bytes_sent", bytes, sizeof(bytes));
    int ok = !strcmp(result, "ok");
    if (json)
        fputs(reply, stdout);
    else if (ok)
        printf("migrated %s to %s:%s (stop-and-copy, %ld streams)\n"
               "  downtime    %s ms\n  total time  %s ms\n  pages sent  %s (%s bytes on the wire)\n",
               argv[optind], host, port, streams, down, total, pages, bytes);
    if (!ok)
        fprintf(stderr, "optmig migrate: migration failed: %s; the enclave still runs at the source\n",
                why[0] ? why : "unknown error");
    return ok ? 0 : 1;
}
