/* ckbench inspect: watch a running model's tensors by name from another
 * process, through its shared arena mapped read-only (harness/inspect). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_host.h"
#include "commands.h"
#include "inspect/inspect.h"

static int usage(FILE *f)
{
    fprintf(f, "usage: ckbench inspect NAME [--tensor GLOB] [--watch S [--count N]] [--nan-alert] [--json]\n"
               "Maps the shared arena of a run or train-step started with --share NAME (/dev/shm/ckernel-NAME)\n"
               "read-only and prints a progress line (step, op) and, per tensor whose layout.json name matches\n"
               "GLOB, its dtype, shape, min / max / mean / std of the finite values, NaN and Inf counts and a\n"
               "histogram; a tensor a step wrote while it was read is marked. --watch S repeats every S seconds\n"
               "until the writer finishes (or N times). --nan-alert exits 1 at the first NaN or Inf, naming\n"
               "the tensor, layer and element. --json prints one JSON object per snapshot and line.\n");
    return f == stdout ? 0 : 2;
}

static int parse_number(const char *opt, const char *v, double lo, double *out)
{
    char *end;
    errno = 0;
    double d = v ? strtod(v, &end) : 0;
    if (!v || end == v || *end || errno || !(d >= lo && d <= 86400)) {
        fprintf(stderr, "ckbench inspect: %s: expected a number from %g to 86400, found '%s'\n", opt, lo, v ? v : "");
        return -1;
    }
    *out = d;
    return 0;
}

static int parse(int argc, char **argv, ck_inspect_opts *o)
{
    double d;
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strcmp(a, "--nan-alert") == 0)
            o->nan_alert = 1;
        else if (strcmp(a, "--json") == 0)
            o->json = 1;
        else if (strcmp(a, "--tensor") == 0 && v)
            o->glob = argv[++i];
        else if (strcmp(a, "--watch") == 0) {
            if (parse_number(a, v, 0.001, &o->watch))
                return -1;
            i++;
        } else if (strcmp(a, "--count") == 0) {
            if (parse_number(a, v, 1, &d))
                return -1;
            o->count = (long)d;
            i++;
        } else if (a[0] != '-' && !o->name)
            o->name = a;
        else {
            fprintf(stderr, "ckbench inspect: unknown option or missing value '%s'; see 'ckbench inspect --help'\n", a);
            return -1;
        }
    }
    if (!o->name) {
        fprintf(stderr, "ckbench inspect: the NAME given to --share is required\n");
        return -1;
    }
    return 0;
}

int ck_cmd_inspect(int argc, char **argv)
{
    ck_inspect_opts o;
    int pr = parse(argc, argv, &o);
    if (pr)
        return pr > 0 ? usage(stdout) : 2;
    char err[CK_ERR_LEN];
    int rc = ck_inspect_run(&o, stdout, err, sizeof err);
    if (rc == 2)
        fprintf(stderr, "ckbench inspect: %s\n", err);
    return rc;
}
