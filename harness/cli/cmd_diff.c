/* ckbench diff: two checkpoints (train-step --save) or two dumps (run
 * --dump) compared tensor by tensor by name (harness/inspect/diff.c). */
#include <stdio.h>
#include <string.h>

#include "ck_host.h"
#include "commands.h"
#include "inspect/diff.h"

int ck_cmd_diff(int argc, char **argv)
{
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        printf("usage: ckbench diff A B\n"
               "Compares two checkpoints (train-step --save) or dump directories (run --dump) tensor by tensor\n"
               "by name: one line per tensor, 'same' or 'changed' with the mean and std deltas, the largest\n"
               "absolute difference, the first differing element and its offset in the arena, and flags\n"
               "(std grew 3x: possible gradient explosion; NaN appeared). Exit 0 if all are identical, 1 if\n"
               "some differ, 2 for bad input.\n");
        return 0;
    }
    if (argc != 3 || argv[1][0] == '-' || argv[2][0] == '-') {
        fprintf(stderr, "ckbench diff: expected two directories, A and B; see 'ckbench diff --help'\n");
        return 2;
    }
    char err[CK_ERR_LEN];
    int rc = ck_diff_dirs(argv[1], argv[2], stdout, err, sizeof err);
    if (rc == 2)
        fprintf(stderr, "ckbench diff: %s\n", err);
    return rc;
}
