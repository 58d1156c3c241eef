/* hello: the smallest enclave app. Greets, echoes its arguments, exits 0. */
#include <stdio.h>

int main(int argc, char **argv)
{
    printf("Hello from an optmig enclave!\n");
    printf("argc: %d\n", argc);
    for (int i = 0; i < argc; i++)
        printf("argv[%d]: %s\n", i, argv[i]);
    return 0;
}
