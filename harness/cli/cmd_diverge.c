/* ckbench diverge: the planned model through scalar and the plugin side by
 * side, each op of the plugin fed the reference's inputs, naming the first
 * op whose error leaves its tolerance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_run.h"
#include "commands.h"

typedef struct worst {
    double abs_err, rel_err;
    size_t index;
    float got, want;
    size_t failing;
} worst;

static worst compare_out(const float *got, const float *want, size_t n, ck_tolerance tol)
{
    worst w = {0};
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        int bad = tol.cls == CK_PARITY_EXACT ? memcmp(&got[i], &want[i], sizeof *got) != 0
                                             : !(d <= tol.atol + tol.rtol * fabs((double)want[i]));
        if (isnan(got[i]) || isnan(want[i])) {
            bad = isnan(got[i]) != isnan(want[i]);
            d = bad ? INFINITY : 0.0;
        }
        w.failing += (size_t)bad;
        if (d > w.abs_err || (bad && w.failing == 1)) {
            w.abs_err = d;
            w.rel_err = want[i] != 0 ? d / fabs((double)want[i]) : d;
            w.index = i;
            w.got = got[i];
            w.want = want[i];
        }
    }
    return w;
}

int ck_cmd_diverge(int argc, char **argv)
{
    run_cli c;
    int pr = cli_run_parse(argc, argv, &c);
    if (pr) {
        free(c.tokens);
        return pr > 0 ? cli_run_usage("diverge", stdout) : 2;
    }
    loaded l;
    int status = 2;
    char err[CK_ERR_LEN];
    ck_runner *ref = NULL, *dut = NULL;
    ck_exec_ctx *ctx = NULL;
    if (cli_run_load(&c, &l))
        goto out;
    ck_run_opts o = cli_run_opts(&c); /* the reference runs unfused */
    ck_run_opts fused = o;
    fused.fuse_mask = c.fuse;
    if (!(ref = ck_runner_create(l.model, l.scalar, l.scalar, &o, err, sizeof err)) ||
        !(dut = cli_run_runner(&l, &fused, err, sizeof err)) || ck_runner_prepare(ref, err, sizeof err) ||
        ck_runner_prepare(dut, err, sizeof err)) {
        fprintf(stderr, "ckbench diverge: %s\n", err);
        goto out;
    }
    ctx = ck_exec_create(c.threads);
    size_t total = ck_runner_plan(ref)->total;
    char *rb = ck_runner_base(ref), *db = ck_runner_base(dut);
    status = 0;
    for (size_t i = 0; i < ck_runner_n_steps(dut); i++) {
        const ck_run_step *s = ck_runner_step(dut, i);
        /* teacher forcing: the plugin's op sees exactly the reference's inputs */
        memcpy(db, rb, total);
        ck_tolerance tol = ck_op_tolerance(s->op, s->dtype); /* a fused op: its slowest member's bound */
        int failed = 0;
        for (size_t k = s->first; k < s->first + s->count && !failed; k++)
            failed = ck_runner_run_step(ref, k, ctx, err, sizeof err) != 0;
        if (failed || ck_runner_run_step(dut, i, ctx, err, sizeof err)) {
            fprintf(stderr, "ckbench diverge: %s\n", err);
            status = 1;
            break;
        }
        for (size_t k = 0; k < s->n_out; k++) {
            size_t n = s->out[k].bytes / sizeof(float);
            worst w =
                compare_out((const float *)(db + s->out[k].offset), (const float *)(rb + s->out[k].offset), n, tol);
            if (w.failing) {
                printf("first divergence at step %zu of %zu: %s (%s, %s kernel of %s%s)\n"
                       "  tensor %s at offset 0x%zx (+%zu bytes into it), element %zu: got %.9g, reference %.9g\n"
                       "  abs error %.3g, rel error %.3g, %zu of %zu elements outside %s\n",
                       i, ck_runner_n_steps(dut), s->label, ck_op_name(s->op), ck_dtype_name(s->dtype),
                       s->plugin ? s->plugin : "?", s->fallback ? ", scalar fallback" : "", s->out[k].name,
                       s->out[k].offset, w.index * sizeof(float), w.index, w.got, w.want, w.abs_err, w.rel_err,
                       w.failing, n, tol.cls == CK_PARITY_EXACT ? "bit-exactness" : "tolerance");
                status = 1;
                goto out;
            }
        }
    }
    if (status == 0)
        printf("no divergence: all %zu steps of %s through %s within tolerance of scalar\n", ck_runner_n_steps(dut),
               ck_model_name(l.model), l.chain.name);
    if (status == 0 && c.fuse)
        cli_print_fusions(dut, c.fuse, l.plugin, l.model);
out:
    ck_exec_destroy(ctx);
    ck_runner_free(ref);
    ck_runner_free(dut);
    cli_run_unload(&l);
    free(c.tokens);
    return status;
}
