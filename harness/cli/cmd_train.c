/* ckbench train-step: forward, loss, backward and AdamW over a tiny model in
 * its single allocation, a few steps on one fixed batch; the loss must fall.
 * --time reports the time of a training step per layer. docs/training.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_gguf.h"
#include "ck_ir.h"
#include "ck_share.h"
#include "ck_train.h"
#include "cli_run.h"
#include "commands.h"
#include "common/model_path.h"
#include "common/progress.h"
#include "inspect/dump.h"

typedef struct train_cli {
    const char *plugin, *model;
    size_t steps, layers;
    int threads, time_reps;
    ck_train_opts opts;
    const char *save; /* checkpoint directory (issue 22) */
} train_cli;

static int usage(FILE *f)
{
    fprintf(f, "usage: ckbench train-step --plugin P --model M [--steps N] [--lr X] [--seed S] [--threads N]\n"
               "       [--layers L] [--time [REPS]] [--share NAME] [--save DIR]\n"
               "Runs N training steps (default 5) on one fixed batch (seeded token ids; the targets are the ids\n"
               "shifted by one) of model M in its single training allocation: forward, cross-entropy loss,\n"
               "backward through every decoder layer in reverse, AdamW (lr X, default 0.01) on every decoder\n"
               "weight. Vision encoders are frozen (forward only). P's kernels are used where it has them,\n"
               "scalar's otherwise (the counts are printed); a chain P1+P2 takes each op, forward and backward,\n"
               "from the first plugin that has its kernel, then scalar. Prints the loss per step; exit 1 unless\n"
               "the loss after the last step is below the first. --time then times REPS more steps (default\n"
               "3) and prints the mean time of a training step per layer (forward + backward + adam). --layers\n"
               "L keeps only the first L layers of every section: a real model's shapes at a size that fits.\n"
               "--share NAME maps the arena as /dev/shm/ckernel-NAME for 'ckbench inspect'. --save DIR writes\n"
               "the weights and Adam moments after the last step as a checkpoint ('ckbench diff' compares two).\n");
    return f == stdout ? 0 : 2;
}

/* A number for option `opt`, whole (`whole`) or real, within [lo, hi]. */
static int number(const char *opt, const char *v, int whole, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double d = whole ? (double)strtoll(v, &end, 10) : strtod(v, &end);
    if (end == v || *end || errno || !(d >= lo && d <= hi)) {
        fprintf(stderr, "ckbench train-step: %s: expected %s from %g to %g, found '%s'\n", opt,
                whole ? "an integer" : "a number", lo, hi, v);
        return -1;
    }
    *out = d;
    return 0;
}

static int parse(int argc, char **argv, train_cli *c)
{
    double d;
    memset(c, 0, sizeof *c);
    c->opts = ck_train_defaults();
    c->steps = 5;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (strcmp(a, "--time") == 0) { /* an optional value */
            c->time_reps = 3;
            if (i + 1 < argc && argv[i + 1][0] != '-') {
                if (number(a, argv[++i], 1, 1, 1000, &d))
                    return -1;
                c->time_reps = (int)d;
            }
            continue;
        }
        const char *v = i + 1 < argc ? argv[++i] : NULL;
        if (!v) {
            fprintf(stderr, "ckbench train-step: %s needs a value\n", a);
            return -1;
        }
        if (strcmp(a, "--plugin") == 0)
            c->plugin = v;
        else if (strcmp(a, "--model") == 0) {
            if (!(c->model = ck_model_arg("ckbench train-step", v)))
                return -1;
        } else if (strcmp(a, "--steps") == 0) {
            if (number(a, v, 1, 2, 100000, &d))
                return -1;
            c->steps = (size_t)d;
        } else if (strcmp(a, "--lr") == 0) {
            if (number(a, v, 0, 1e-12, 10, &d))
                return -1;
            c->opts.lr = (float)d;
        } else if (strcmp(a, "--seed") == 0) {
            if (number(a, v, 1, 0, 9e15, &d))
                return -1;
            c->opts.seed = (uint64_t)d;
        } else if (strcmp(a, "--layers") == 0) {
            if (number(a, v, 1, 1, 100000, &d))
                return -1;
            c->layers = (size_t)d;
        } else if (strcmp(a, "--threads") == 0) {
            if (number(a, v, 1, 0, 1024, &d))
                return -1;
            c->threads = (int)d;
        } else if (strcmp(a, "--share") == 0) {
            char err[CK_ERR_LEN];
            if (ck_share_check_name(v, err, sizeof err)) {
                fprintf(stderr, "ckbench train-step: %s\n", err);
                return -1;
            }
            c->opts.share_name = v;
        } else if (strcmp(a, "--save") == 0)
            c->save = v;
        else {
            fprintf(stderr, "ckbench train-step: unknown option '%s'; see 'ckbench train-step --help'\n", a);
            return -1;
        }
    }
    if (!c->plugin || !c->model) {
        fprintf(stderr, "ckbench train-step: --plugin and --model are required\n");
        return -1;
    }
    return 0;
}

static void print_times(const ck_trainer *t, const ck_model *m, int reps)
{
    size_t n;
    const ck_train_time *tt = ck_trainer_times(t, &n);
    double total = 0;
    printf("time of a training step per part (mean of %d steps, ms): forward + backward + adam\n", reps);
    printf("  %-10s %-10s %10s %10s %10s %10s\n", "section", "part", "forward", "backward", "adam", "total");
    for (size_t i = 0; i < n; i++) {
        char part[32];
        double f = tt[i].forward / reps * 1e3, b = tt[i].backward / reps * 1e3, a = tt[i].adam / reps * 1e3;
        if (tt[i].part == CK_PART_LAYER)
            snprintf(part, sizeof part, "layer %u", tt[i].layer);
        else
            snprintf(part, sizeof part, "%s", ck_part_name((ck_part)tt[i].part));
        printf("  %-10s %-10s %10.3f %10.3f %10.3f %10.3f%s\n", m->sections[tt[i].section].name, part, f, b, a,
               f + b + a, m->sections[tt[i].section].kind == CK_SECTION_DECODER ? "" : "  (frozen)");
        total += f + b + a;
    }
    printf("  %-21s %43.3f\n", "step", total);
}

/* --time: more steps with the per-part clocks on; 0, or 1 if one failed. */
static int timed_steps(const train_cli *c, ck_trainer *t, const ck_model *m, const ck_exec_ctx *ctx, ck_progress *prog)
{
    char err[CK_ERR_LEN];
    float loss;
    ck_trainer_time_enable(t, 1);
    ck_trainer_time_reset(t);
    ck_progress_section(prog, "timed steps (--time)");
    for (int r = 0; r < c->time_reps; r++) {
        int failed = ck_trainer_step(t, ctx, &loss, err, sizeof err);
        ck_progress_step(prog, c->steps + (size_t)r + 1, NULL);
        if (failed) {
            ck_progress_finish(prog);
            fprintf(stderr, "ckbench train-step: --time: %s\n", err);
            return 1;
        }
    }
    ck_progress_finish(prog);
    print_times(t, m, c->time_reps);
    return 0;
}

/* The weights and Adam moments as a checkpoint directory (inspect/dump.h). */
static int save(const train_cli *c, ck_trainer *t)
{
    static const char *const kinds[] = {"weight", "optimizer_m", "optimizer_v", NULL};
    ck_dump_opts o = {.kinds = kinds, .step = c->steps, .source = "checkpoint"};
    ck_runner *r = ck_trainer_runner(t);
    char err[CK_ERR_LEN];
    size_t n;
    if (ck_dump_write(c->save, ck_runner_plan(r), ck_runner_base(r), &o, &n, err, sizeof err)) {
        fprintf(stderr, "ckbench train-step: --save: %s\n", err);
        return -1;
    }
    printf("checkpoint: %zu tensors (weights, adam_m, adam_v) after step %zu in %s\n", n, c->steps, c->save);
    return 0;
}

/* A chain's line: how many ops each plugin runs, forward, loss + backward
 * and adam together, in run's format. */
static void print_chain_counts(ck_trainer *t, const ck_chain *ch)
{
    const ck_runner *r = ck_trainer_runner(t);
    size_t counts[CK_CHAIN_MAX + 1] = {0};
    for (size_t i = 0; i < ck_runner_n_steps(r); i++)
        cli_count_kernel(ch, ck_runner_step(r, i)->plugin, ck_runner_step(r, i)->fallback, counts);
    for (size_t i = 0; i < ck_trainer_n_ops(t); i++)
        cli_count_kernel(ch, ck_trainer_op(t, i).plugin, ck_trainer_op(t, i).fallback, counts);
    cli_print_kernel_counts(ch, counts);
}

static int train(const train_cli *c, ck_model *m, const ck_chain *ch)
{
    char err[CK_ERR_LEN];
    ck_exec_ctx *ctx = NULL;
    ck_trainer *t =
        ck_trainer_create_chain(m, (const ck_plugin *const *)ch->plugins, ch->n, ch->scalar, &c->opts, err, sizeof err);
    int status = 2;
    float first = 0, loss = 0;
    if (!t) {
        fprintf(stderr, "ckbench train-step: %s\n", err);
        goto out;
    }
    ctx = ck_exec_create(c->threads);
    ck_train_counts n = ck_trainer_counts(t);
    /* one plugin by its own name, as before chains; a chain as it was spelt */
    printf("train-step %s through %s: %d threads, one allocation of %zu bytes, lr %g, seed %llu\n", m->name,
           ch->n > 1 ? ch->name : ch->plugins[0]->desc->name, ctx->n_threads,
           ck_runner_plan(ck_trainer_runner(t))->total, (double)c->opts.lr, (unsigned long long)c->opts.seed);
    printf("kernels: forward %zu ops (%zu by scalar fallback), loss + backward %zu ops (%zu by scalar fallback), "
           "adam %zu weights (%zu by scalar fallback); %zu frozen section%s (forward only)\n",
           n.forward, n.forward_fallback, n.backward, n.backward_fallback, n.adam, n.adam_fallback, n.frozen_sections,
           n.frozen_sections == 1 ? "" : "s");
    if (ch->n > 1)
        print_chain_counts(t, ch);
    status = 1;
    ck_progress prog;
    ck_progress_start(&prog, "train-step", c->steps + (size_t)c->time_reps);
    ck_progress_section(&prog, "training steps");
    for (size_t s = 1; s <= c->steps; s++) {
        if (ck_trainer_step(t, ctx, &loss, err, sizeof err)) {
            ck_progress_finish(&prog);
            fprintf(stderr, "ckbench train-step: step %zu: %s\n", s, err);
            goto out;
        }
        if (s == 1)
            first = loss;
        ck_progress_clear(&prog);
        printf("step %zu: loss %.6f\n", s, (double)loss);
        fflush(stdout);
        ck_progress_step(&prog, s, NULL);
    }
    if (!c->time_reps)
        ck_progress_finish(&prog);
    if (c->save && save(c, t))
        goto out;
    if (ck_trainer_loss(t, ctx, &loss, err, sizeof err)) {
        ck_progress_finish(&prog);
        fprintf(stderr, "ckbench train-step: %s\n", err);
        goto out;
    }
    int fell = isfinite(loss) && loss < first;
    ck_print_host_restores(ck_trainer_runner(t));
    printf("after %zu steps: loss %.6f (%s from %.6f)\n", c->steps, (double)loss, fell ? "fell" : "DID NOT FALL",
           (double)first);
    if (!fell) {
        ck_progress_finish(&prog);
        fprintf(stderr, "ckbench train-step: the loss did not fall over %zu steps on a fixed batch (%.6f -> %.6f)\n",
                c->steps, (double)first, (double)loss);
        goto out;
    }
    status = c->time_reps ? timed_steps(c, t, m, ctx, &prog) : 0;
out:
    ck_exec_destroy(ctx);
    ck_trainer_free(t);
    return status;
}

int ck_cmd_train_step(int argc, char **argv)
{
    train_cli c;
    int pr = parse(argc, argv, &c);
    if (pr) /* a bad argument has said so in one line */
        return pr > 0 ? usage(stdout) : 2;
    char err[CK_ERR_LEN];
    ck_chain ch = {0};
    ck_model *m = ck_model_open(c.model, err, sizeof err);
    /* the chain's refusals (empty item, a plugin twice, unknown, not runnable) are run's own lines */
    int chain_ok = m && ck_chain_load(&ch, c.plugin, err, sizeof err) == 0;
    int status = 2;
    for (size_t i = 0; m && c.layers && i < m->n_sections; i++)
        if (m->sections[i].n_layers > c.layers)
            m->sections[i].n_layers = c.layers;
    if (!chain_ok)
        fprintf(stderr, "ckbench train-step: %s\n", err);
    else
        status = train(&c, m, &ch);
    if (chain_ok)
        ck_chain_unload(&ch);
    ck_model_free(m);
    return status;
}
