/* optmig migrate NAME --to HOST:PORT [--strategy S] [--tracker T] [--max-downtime MS]
 *                [--bandwidth RATE] [--max-rounds N] [--streams N] [--timeout SEC] [--json] */
#include "cli.h"
#include "control.h"
#include "elf_image.h"
#include <elf.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: optmig migrate NAME --to HOST:PORT [OPTIONS]\n"
               "Live-migrates the enclave `optmig run --name NAME` hosts to `optmig listen` at HOST:PORT.\n\n"
               "  --to HOST:PORT       destination ([IPv6]:PORT works too)\n"
               "  --strategy S         hybrid (default): one pre-copy round, then post-copy;\n"
               "                       postcopy: switch at once, pages follow (on demand first);\n"
               "                       precopy: rounds while running, then stop for the rest;\n"
               "                       stop-and-copy: stop, copy everything (the MigSGX baseline)\n"
               "  --tracker T          auto (default): compiler if the image was built with the\n"
               "                       tracking the strategy needs (omcc --track) and calls no\n"
               "                       libc function it cannot follow (omcc warns), else kernel;\n"
               "                       compiler: the OptMig pass's marks and checks;\n"
               "                       kernel: userfaultfd write-protect and missing-page faults\n"
               "  --max-downtime MS    pre-copy stops when the rest fits in MS (default 300)\n"
               "  --bandwidth RATE     link rate for that estimate, e.g. 10gbit, 800mbit\n"
               "                       (default: measured from each round)\n"
               "  --max-rounds N       pre-copy round cap (default 30; hybrid: 1)\n"
               "  --streams N          parallel TCP streams, 1..16 (default 2; post-copy needs 2)\n"
               "  --resume             finish a post-copy whose connection broke after the switchover:\n"
               "                       reconnect to the destination (--to) and send the pages it lacks\n"
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

/* The libc functions omcc recorded as beyond the compiler tracker (section
 * om_cc_uncov: "OMCCUNC1" + names) in the image at path, into out; 0 if it
 * recorded none, -1 if the image cannot be read (then the enclave decides). */
static int image_uncovered(const char *path, char *out, size_t len)
{
    static const char name[] = "om_cc_uncov", magic[] = "OMCCUNC1";
    struct om_image img;
    char err[256];
    if (om_image_load(path, &img, err, sizeof(err)))
        return -1;
    int found = 0;
    Elf64_Ehdr eh;
    Elf64_Shdr str, sh;
    memcpy(&eh, img.data, sizeof(eh)); /* the parser checked the ELF header's size */
    uint64_t shend = eh.e_shoff + (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr);
    if (eh.e_shentsize != sizeof(Elf64_Shdr) || !eh.e_shoff || shend > img.size || shend <= eh.e_shoff ||
        eh.e_shstrndx >= eh.e_shnum)
        goto out;
    memcpy(&str, img.data + eh.e_shoff + (uint64_t)eh.e_shstrndx * sizeof(sh), sizeof(str));
    if (str.sh_offset > img.size || str.sh_size > img.size - str.sh_offset)
        goto out;
    for (unsigned i = 0; i < eh.e_shnum && !found; i++) {
        memcpy(&sh, img.data + eh.e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
        if (sh.sh_name >= str.sh_size || str.sh_size - sh.sh_name < sizeof(name) ||
            memcmp(img.data + str.sh_offset + sh.sh_name, name, sizeof(name)) || sh.sh_type != SHT_PROGBITS ||
            sh.sh_offset > img.size || sh.sh_size > img.size - sh.sh_offset)
            continue;
        const char *p = (const char *)img.data + sh.sh_offset, *e = p + sh.sh_size;
        const char *m = memmem(p, (size_t)(e - p), magic, sizeof(magic) - 1);
        if (m) {
            m += sizeof(magic) - 1;
            snprintf(out, len, "%.*s", (int)strnlen(m, (size_t)(e - m)), m);
            found = 1;
        }
    }
out:
    om_image_free(&img);
    return found;
}

/* --tracker compiler on an image omcc flagged: refused here, before the
 * enclave is touched, naming the functions. */
static int compiler_refused(const char *name)
{
    char reply[8192], err[512], path[4096] = "", fns[2048] = "";
    if (om_control_request(name, "status\n", reply, sizeof(reply), err, sizeof(err)) ||
        field(reply, "image", path, sizeof(path)) || !path[0] || image_uncovered(path, fns, sizeof(fns)) <= 0)
        return 0;
    fprintf(stderr,
            "optmig migrate: --tracker compiler refused: %s calls libc functions the compiler tracker cannot "
            "follow (%s), so their reads and writes of enclave memory would be missed; use --tracker kernel "
            "or auto. The enclave still runs at the source.\n",
            path, fns);
    return 1;
}

/* "10gbit", "800mbit", "1.5gbit", "100mbps" (bits), or plain bits/s. */
static int parse_rate(const char *s, unsigned long long *bps)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return -1;
    double mul = !*end || !strcmp(end, "bit") ? 1 : !strcmp(end, "kbit") ? 1e3 : !strcmp(end, "mbit") ? 1e6
                 : !strcmp(end, "gbit") ? 1e9 : !strcmp(end, "mbps") ? 1e6 : !strcmp(end, "gbps") ? 1e9 : 0;
    if (!mul || v * mul > 1e13)
        return -1;
    *bps = (unsigned long long)(v * mul);
    return 0;
}

int om_cmd_migrate(int argc, char **argv)
{
    static const struct option opts[] = {
        { "to", required_argument, 0, 't' },      { "strategy", required_argument, 0, 's' },
        { "streams", required_argument, 0, 'n' }, { "timeout", required_argument, 0, 'T' },
        { "json", no_argument, 0, 'j' },          { "help", no_argument, 0, 'h' },
        { "tracker", required_argument, 0, 'k' }, { "max-downtime", required_argument, 0, 'D' },
        { "bandwidth", required_argument, 0, 'B' }, { "max-rounds", required_argument, 0, 'R' },
        { "resume", no_argument, 0, 'r' },
        { 0, 0, 0, 0 },
    };
    const char *to = NULL, *strategy = "hybrid", *tracker = "auto";
    long streams = 2, timeout = 30, maxdown = 300, rounds = 0;
    unsigned long long bw = 0;
    int json = 0, resume = 0, c;
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
        case 'k': tracker = optarg; break;
        case 'D':
            maxdown = strtol(optarg, &end, 10);
            if (*end || maxdown < 1 || maxdown > 600000) {
                fprintf(stderr, "optmig migrate: --max-downtime must be 1..600000 ms\n");
                return OM_EXIT_USAGE;
            }
            break;
        case 'R':
            rounds = strtol(optarg, &end, 10);
            if (*end || rounds < 1 || rounds > 1000) {
                fprintf(stderr, "optmig migrate: --max-rounds must be 1..1000\n");
                return OM_EXIT_USAGE;
            }
            break;
        case 'B':
            if (parse_rate(optarg, &bw)) {
                fprintf(stderr, "optmig migrate: --bandwidth needs a rate like 10gbit or 800mbit, got '%s'\n", optarg);
                return OM_EXIT_USAGE;
            }
            break;
        case 'r': resume = 1; break;
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
    int sid = !strcmp(strategy, "stop-and-copy") ? 1 : !strcmp(strategy, "precopy") ? 2
              : !strcmp(strategy, "postcopy") ? 3 : !strcmp(strategy, "hybrid") ? 4 : 0;
    if (!sid) {
        fprintf(stderr, "optmig migrate: unknown strategy '%s' (stop-and-copy, precopy, postcopy, hybrid)\n",
                strategy);
        return OM_EXIT_USAGE;
    }
    int tid = !strcmp(tracker, "auto") ? 0 : !strcmp(tracker, "compiler") ? 1 : !strcmp(tracker, "kernel") ? 2 : -1;
    if (tid < 0) {
        fprintf(stderr, "optmig migrate: unknown tracker '%s' (auto, compiler, kernel)\n", tracker);
        return OM_EXIT_USAGE;
    }
    if ((sid == 3 || sid == 4) && streams < 2) {
        fprintf(stderr, "optmig migrate: %s needs --streams 2 or more (one stream answers page requests)\n",
                strategy);
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

    if (tid == 1 && sid != 1 && !resume && compiler_refused(argv[optind]))
        return 1;
    char req[512], reply[8192], err[512];
    snprintf(req, sizeof(req), "migrate %s %s %ld %ld %d %d %ld %ld %llu %d\n", host, port, streams, timeout * 1000,
             sid, tid, maxdown, rounds, bw, resume);
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
    else if (ok) {
        char trk[32] = "", rnd[32] = "", dem[32] = "";
        field(reply, "tracker", trk, sizeof(trk));
        field(reply, "rounds", rnd, sizeof(rnd));
        field(reply, "demand_pages", dem, sizeof(dem));
        printf("migrated %s to %s:%s (%s, %s tracker, %ld streams)\n"
               "  downtime    %s ms\n  total time  %s ms\n  pages sent  %s (%s bytes on the wire)\n"
               "  rounds      %s pre-copy; %s pages asked for after switchover\n",
               argv[optind], host, port, strategy, trk, streams, down, total, pages, bytes, rnd, dem);
    }
    char sw[16] = "";
    field(reply, "switched", sw, sizeof(sw));
    if (!ok && !strcmp(sw, "true"))
        fprintf(stderr, "optmig migrate: the enclave runs at the destination, but not every page arrived: %s\n",
                why[0] ? why : "unknown error");
    else if (!ok)
        fprintf(stderr, "optmig migrate: migration failed: %s; the enclave still runs at the source\n",
                why[0] ? why : "unknown error");
    return ok ? 0 : 1;
}
