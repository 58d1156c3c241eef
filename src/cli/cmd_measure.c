/* optmig measure IMAGE: the MRENCLAVE analogue a destination will insist on. */
#include "cli.h"
#include "elf_image.h"
#include "measure.h"
#include <stdio.h>
#include <string.h>

int om_cmd_measure(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: optmig measure IMAGE\nPrints the image's SHA-256 measurement in hex.\n");
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: optmig measure IMAGE\n");
        return OM_EXIT_USAGE;
    }
    struct om_image img;
    char err[512];
    if (om_image_load(argv[1], &img, err, sizeof(err))) {
        fprintf(stderr, "optmig: %s: %s\n", argv[1], err);
        return 1;
    }
    uint8_t m[32];
    char hex[65];
    om_image_measure(&img, m);
    om_measure_hex(m, hex);
    printf("%s\n", hex);
    om_image_free(&img);
    return 0;
}
