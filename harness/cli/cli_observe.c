/* cli_observe.c — `ckbench run`'s observation options: --dump writes
 * tensors by name after the forward, --patch overwrites an activation after
 * the step that writes it and says how far the output moved, --share maps
 * the arena for `ckbench inspect` (the runtime does the mapping). The
 * kernels never know: all of it goes through the runner's step hook and
 * its plan's names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_share.h"
#include "cli_run.h"

/* --dump GLOB DIR, --share NAME, --patch SPEC: 1 if argv[*i] is one of
 * them (consumed; *i < 0 after a bad one, said in one line), else 0. */
int cli_observe_option(int argc, char **argv, int *i, run_cli *c)
{
    const char *a = argv[*i], *v = argv[*i + 1];
    char err[CK_ERR_LEN];
    int bad = 0;
    if (strcmp(a, "--dump") == 0) {
        if (*i + 2 >= argc) {
            fprintf(stderr, "ckbench run: --dump needs a GLOB and a DIR\n");
            bad = 1;
        } else {
            c->dump_glob = v;
            c->dump_dir = argv[++*i + 1];
        }
    } else if (strcmp(a, "--share") == 0) {
        c->share = v;
        bad = ck_share_check_name(v, err, sizeof err) != 0;
    } else if (strcmp(a, "--patch") == 0)
        bad = ck_patch_parse(&c->patches, v, err, sizeof err) != 0;
    else
        return 0;
    if (bad && strcmp(a, "--dump") != 0)
        fprintf(stderr, "ckbench run: %s\n", err);
    if (bad)
        *i = -1;
    return 1;
}

/* After each step of run: k of N steps, with the step's name. */
static int run_progress(void *user, ck_runner *r, size_t step)
{
    ck_progress_step(user, step + 1, ck_runner_step(r, step)->label);
    return 0;
}

int cli_run_step_hook(void *user, ck_runner *r, size_t step)
{
    run_hook *h = user;
    run_progress(h->prog, r, step);
    return h->patches->n ? ck_patch_hook(h->patches, r, step) : 0;
}

/* An unpatched forward's output, copied: the baseline a patch is measured against. */
float *cli_observe_baseline(ck_runner *r, const ck_exec_ctx *ctx, char *err, size_t len)
{
    size_t n;
    if (ck_runner_forward(r, ctx, NULL, NULL, err, len))
        return NULL;
    const float *y = ck_runner_output(r, &n);
    float *copy = malloc(n * sizeof *copy + 1);
    if (copy)
        memcpy(copy, y, n * sizeof *copy);
    else
        snprintf(err, len, "out of memory");
    return copy;
}

void cli_print_moved(const ck_patch_set *ps, const float *base, const float *y, size_t n)
{
    ck_moved m = ck_patch_moved(base, y, n);
    for (size_t i = 0; i < ps->n; i++)
        printf("patched %s after step %zu (%s)\n", ps->v[i].spec, ps->v[i].step,
               ps->v[i].zero ? "zeroed" : "from file");
    printf("output moved: %zu of %zu values changed, max |d| %.6g, rms d %.6g; unpatched digest %016llx%s\n", m.changed,
           m.n, m.max_abs, m.rms, (unsigned long long)cli_digest(base, n), m.changed ? "" : " (bit-identical)");
}

int cli_print_dump(const run_cli *c, ck_runner *r, ck_dump_opts *o)
{
    char err[CK_ERR_LEN];
    size_t n;
    o->step = 0;
    if (ck_dump_write(c->dump_dir, ck_runner_plan(r), ck_runner_base(r), o, &n, err, sizeof err)) {
        fprintf(stderr, "ckbench run: --dump: %s\n", err);
        return -1;
    }
    printf("dumped %zu tensors matching '%s' to %s (manifest.json)\n", n, c->dump_glob, c->dump_dir);
    return 0;
}
