/* optmig run [--name NAME] [--heap SIZE] [--threads N] [--base ADDR] IMAGE [-- ARGS...] */
#include "cli.h"
#include "layout.h"
#include "run.h"
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
    fprintf(f,
            "usage: optmig run [OPTIONS] IMAGE [-- ARGS...]\n"
            "Runs an enclave image built with omcc. The enclave's exit status becomes optmig's.\n\n"
            "  --heap SIZE     enclave heap reserve, committed on demand (default 4G; K/M/G/T)\n"
            "  --threads N     enclave thread slots (default %u, at most %u)\n"
            "  --base ADDR     enclave range base, a multiple of 4 GiB (default %#llx)\n"
            "  --name NAME     serve a control socket under NAME (optmig status/migrate NAME)\n"
            "  -h, --help      show this help\n",
            OM_DEFAULT_THREADS, OM_MAX_THREADS, (unsigned long long)OM_DEFAULT_BASE);
}

int om_cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {
        { "heap", required_argument, 0, 'H' }, { "threads", required_argument, 0, 't' },
        { "base", required_argument, 0, 'b' }, { "name", required_argument, 0, 'n' },
        { "help", no_argument, 0, 'h' },       { 0, 0, 0, 0 },
    };
    struct om_run_config cfg = { .heap_size = 4ull << 30, .base = OM_DEFAULT_BASE, .threads = OM_DEFAULT_THREADS };
    uint64_t v;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
        switch (c) {
        case 'H':
            if (om_parse_size(optarg, &v) || v == 0) {
                fprintf(stderr, "optmig run: bad --heap '%s'\n", optarg);
                return OM_EXIT_USAGE;
            }
            cfg.heap_size = v;
            break;
        case 't':
            if (om_parse_size(optarg, &v) || v == 0 || v > OM_MAX_THREADS) {
                fprintf(stderr, "optmig run: --threads must be 1..%u\n", OM_MAX_THREADS);
                return OM_EXIT_USAGE;
            }
            cfg.threads = (uint32_t)v;
            break;
        case 'b':
            if (om_parse_size(optarg, &v) || v == 0 || v % OM_RANGE_ALIGN) {
                fprintf(stderr, "optmig run: --base must be a non-zero multiple of 4 GiB\n");
                return OM_EXIT_USAGE;
            }
            cfg.base = v;
            break;
        case 'n':
            cfg.name = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return OM_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        fprintf(stderr, "optmig run: no IMAGE given\n");
        usage(stderr);
        return OM_EXIT_USAGE;
    }
    cfg.image = argv[optind];
    /* The enclave sees IMAGE as argv[0], followed by everything after it
     * (a leading "--" is dropped). */
    char **eargv = argv + optind;
    if (optind + 1 < argc && !strcmp(argv[optind + 1], "--")) {
        eargv = argv + optind + 1;
        eargv[0] = argv[optind];
    }
    cfg.argv = eargv;
    return om_run(&cfg);
}
