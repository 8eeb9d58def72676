/*
 * main.c - The `zeus` command: dispatches to its subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "zeus/zeus.h"

int main(int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--version") == 0) {
        printf("zeus %s\n", zeus_version());
        return 0;
    }
    fprintf(stderr, "usage: zeus --version\n");
    return 2;
}
