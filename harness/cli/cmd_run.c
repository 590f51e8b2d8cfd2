/* ckbench run and ckbench diverge: the whole planned model through one
 * plugin; and the same side by side with scalar, naming the first op whose
 * error leaves its tolerance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ck_fusion.h"
#include "ck_ir.h"
#include "ck_run.h"
#include "cli_generate.h"
#include "commands.h"

typedef struct run_cli {
    const char *plugin, *model, *tokens_arg, *weights, *gguf;
    uint32_t weight_dtype;
    uint32_t fuse;
    int decode;
    size_t decode_pos;
    int threads;
    size_t window;
    uint64_t seed;
    int32_t *tokens;
    size_t n_tokens;
    size_t generate; /* run --generate M: tokens to generate greedily (cli_generate.c) */
} run_cli;

static int usage(const char *cmd, FILE *f)
{
    fprintf(f,
            "usage: ckbench %s --plugin P --model M [--tokens 1,2,3] [--weights seeded|FILE.gguf]\n"
            "       [--weight-dtype f32|bf16|f16|q8_0|q4_0] [--fuse all|none|LIST] [--decode-pos P]\n"
            "       [--seed S] [--threads N]%s\n",
            cmd, strcmp(cmd, "run") == 0 ? " [--window LAYERS] [--generate M]" : "");
    if (strcmp(cmd, "run") == 0)
        fprintf(f, "Runs the whole planned model (every section, in execution order) in its single allocation\n"
                   "through plugin P (scalar stands in for ops P lacks), and prints a digest of the output.\n"
                   "--window N keeps N layers of a section resident at a time (larger-than-memory models).\n"
                   "--decode-pos P runs one token at position P through the decoder sections against the\n"
                   "per-layer KV cache (its rows before P seeded, standing in for the prefill).\n"
                   "--generate M generates M tokens greedily from position P (default 0): each step's argmax of\n"
                   "the logits is the next step's token; prints the ids and the time per token.\n");
    else
        fprintf(f, "Runs scalar and P side by side over the same graph, feeding both the reference inputs at\n"
                   "every op, and names the first op whose output leaves its tolerance (layer, op, tensor,\n"
                   "offset from layout.json, error). Exit 1 if one does.\n");
    return f == stdout ? 0 : 2;
}

static int parse_tokens(run_cli *c)
{
    if (!c->tokens_arg)
        return 0;
    size_t n = 1;
    for (const char *p = c->tokens_arg; *p; p++)
        n += *p == ',';
    c->tokens = calloc(n, sizeof *c->tokens);
    const char *p = c->tokens_arg;
    for (size_t i = 0; i < n; i++) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v < 0 || v > INT32_MAX || (*end && *end != ',')) {
            fprintf(stderr, "ckbench: --tokens: expected comma-separated non-negative integers, found '%s'\n",
                    c->tokens_arg);
            return -1;
        }
        c->tokens[i] = (int32_t)v;
        p = end + (*end == ',');
    }
    c->n_tokens = n;
    return 0;
}

static int parse(int argc, char **argv, run_cli *c)
{
    memset(c, 0, sizeof *c);
    c->seed = 1;
    c->threads = 0;
    for (int i = 1; i < argc; i += 2) { /* every option takes one value */
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0)
            return 1;
        if (!v) {
            fprintf(stderr, "ckbench %s: %s needs a value\n", argv[0], a);
            return -1;
        }
        if (strcmp(a, "--plugin") == 0)
            c->plugin = v;
        else if (strcmp(a, "--model") == 0)
            c->model = v;
        else if (strcmp(a, "--tokens") == 0)
            c->tokens_arg = v;
        else if (strcmp(a, "--weights") == 0)
            c->weights = v;
        else if (strcmp(a, "--weight-dtype") == 0) {
            c->weight_dtype = ck_dtype_from_name(v);
            if (!c->weight_dtype || c->weight_dtype == CK_DTYPE_I32) {
                fprintf(stderr, "ckbench %s: --weight-dtype: expected f32, bf16, f16, q8_0 or q4_0, found '%s'\n",
                        argv[0], v);
                return -1;
            }
        } else if (strcmp(a, "--fuse") == 0) {
            char ferr[256];
            if (ck_fusion_parse(v, &c->fuse, ferr, sizeof ferr)) {
                fprintf(stderr, "ckbench %s: %s\n", argv[0], ferr);
                return -1;
            }
        } else if (strcmp(a, "--seed") == 0)
            c->seed = strtoull(v, NULL, 10);
        else if (strcmp(a, "--decode-pos") == 0) {
            char *end;
            c->decode = 1;
            c->decode_pos = strtoull(v, &end, 10);
            if (end == v || *end || v[0] == '-') {
                fprintf(stderr, "ckbench %s: --decode-pos: expected a position (0 or more), found '%s'\n", argv[0], v);
                return -1;
            }
        } else if (strcmp(a, "--threads") == 0)
            c->threads = atoi(v);
        else if (strcmp(a, "--window") == 0 && strcmp(argv[0], "run") == 0)
            c->window = strtoull(v, NULL, 10);
        else if (strcmp(a, "--generate") == 0 && strcmp(argv[0], "run") == 0) {
            char *end;
            c->generate = strtoull(v, &end, 10);
            if (end == v || *end || v[0] == '-' || c->generate == 0) {
                fprintf(stderr, "ckbench run: --generate: expected a token count (1 or more), found '%s'\n", v);
                return -1;
            }
            c->decode = 1; /* generation is the decode loop */
        } else {
            fprintf(stderr, "ckbench %s: unknown option '%s'; see 'ckbench %s --help'\n", argv[0], a, argv[0]);
            return -1;
        }
    }
    if (!c->plugin || !c->model) {
        fprintf(stderr, "ckbench %s: --plugin and --model are required\n", argv[0]);
        return -1;
    }
    if (c->weights && strcmp(c->weights, "seeded") != 0) {
        size_t l = strlen(c->weights);
        if (l < 5 || strcmp(c->weights + l - 5, ".gguf") != 0) {
            fprintf(stderr, "ckbench %s: --weights: expected 'seeded' or a .gguf file, found '%s'\n", argv[0],
                    c->weights);
            return -1;
        }
        c->gguf = c->weights;
    }
    return parse_tokens(c);
}

typedef struct loaded {
    ck_model *model;
    ck_plugin *plugin, *scalar;
} loaded;

static int load_all(const run_cli *c, loaded *l)
{
    char err[CK_ERR_LEN];
    memset(l, 0, sizeof *l);
    if (!(l->model = ck_model_load(c->model, err, sizeof err)) ||
        !(l->scalar = ck_plugin_load("scalar", err, sizeof err)) ||
        !(l->plugin = strcmp(c->plugin, "scalar") == 0 ? l->scalar : ck_plugin_load(c->plugin, err, sizeof err))) {
        fprintf(stderr, "ckbench: %s\n", err);
        return -1;
    }
    if (!l->plugin->runnable) {
        fprintf(stderr, "ckbench: plugin '%s' does not run here: %s\n", l->plugin->desc->name, l->plugin->why);
        return -1;
    }
    return 0;
}

static void unload_all(loaded *l)
{
    if (l->plugin && l->plugin != l->scalar)
        ck_plugin_unload(l->plugin);
    ck_plugin_unload(l->scalar);
    ck_model_free(l->model);
}

/* FNV-1a over the output's bytes: equal digests mean bit-identical outputs. */
static uint64_t digest(const float *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n * sizeof *p; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Which requested fusions applied, and which did not and why. */
static void print_fusions(const ck_runner *r, uint32_t requested, const ck_plugin *p, const ck_model *m)
{
    if (!requested)
        return;
    char mask[256];
    ck_fusion_format(requested, mask, sizeof mask);
    printf("fusions requested: %s\n", mask);
    size_t layers = 0;
    for (size_t i = 0; i < m->n_sections; i++)
        layers += m->sections[i].n_layers;
    for (unsigned f = 0; f < CK_FUSE_COUNT; f++) {
        if (!(requested & (1u << f)))
            continue;
        size_t n = ck_runner_fusion(r, f);
        if (n)
            printf("  %-10s applied %zu times\n", ck_fusion_name(f), n);
        else if (!ck_plugin_kernel(p, ck_fusion_op(f), CK_DTYPE_F32, CK_KF_FUSED) &&
                 !ck_plugin_kernel(p, ck_fusion_op(f), m->dtype, CK_KF_FUSED))
            printf("  %-10s not applied: plugin '%s' has no fused %s kernel\n", ck_fusion_name(f), p->desc->name,
                   ck_op_name(ck_fusion_op(f)));
        else
            printf("  %-10s not applied: no legal sequence, or another fusion saved more on the same ops\n",
                   ck_fusion_name(f));
    }
    printf("activation bytes saved per forward: %zu (%.1f KiB per layer)\n", ck_runner_bytes_saved(r),
           layers ? (double)ck_runner_bytes_saved(r) / (double)layers / 1024.0 : 0.0);
}

int ck_cmd_run(int argc, char **argv)
{
    run_cli c;
    int pr = parse(argc, argv, &c);
    if (pr) {
        free(c.tokens);
        return pr > 0 ? usage("run", stdout) : usage("run", stderr);
    }
    loaded l;
    int status = 2;
    char err[CK_ERR_LEN];
    ck_runner *r = NULL;
    ck_exec_ctx *ctx = NULL;
    if (load_all(&c, &l))
        goto out;
    ck_run_opts o = {.seed = c.seed,
                     .window_layers = c.window,
                     .tokens = c.tokens,
                     .n_tokens = c.n_tokens,
                     .gguf_path = c.gguf,
                     .weight_dtype = c.weight_dtype,
                     .fuse_mask = c.fuse,
                     .decode = c.decode,
                     .decode_pos = c.decode_pos};
    if (!(r = ck_runner_create(l.model, l.plugin, l.scalar, &o, err, sizeof err))) {
        fprintf(stderr, "ckbench run: %s\n", err);
        goto out;
    }
    ctx = ck_exec_create(c.threads);
    if (c.generate) {
        status = cli_generate(r, ctx, c.decode_pos, c.generate);
        goto out;
    }
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err)) {
        fprintf(stderr, "ckbench run: %s\n", err);
        status = 1;
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    size_t n_out, fallbacks = 0;
    const float *y = ck_runner_output(r, &n_out);
    for (size_t i = 0; i < ck_runner_n_steps(r); i++)
        fallbacks += ck_runner_step(r, i)->fallback;
    double sum = 0, sq = 0;
    int finite = 1;
    for (size_t i = 0; i < n_out; i++) {
        finite &= isfinite(y[i]) != 0;
        sum += y[i];
        sq += (double)y[i] * y[i];
    }
    printf("model %s through %s: %zu steps (%zu by scalar fallback), %d threads, %.3f s\n", ck_model_name(l.model),
           l.plugin->desc->name, ck_runner_n_steps(r), fallbacks, ctx->n_threads,
           (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
    print_fusions(r, c.fuse, l.plugin, l.model);
    printf("allocation: %zu bytes in one mapping%s%s\n", ck_runner_plan(r)->total,
           ck_runner_arena_note(r)[0] ? "; " : "", ck_runner_arena_note(r));
    printf("output: %zu values, mean %.6g, rms %.6g, digest %016llx%s\n", n_out, n_out ? sum / (double)n_out : 0.0,
           n_out ? sqrt(sq / (double)n_out) : 0.0, (unsigned long long)digest(y, n_out), finite ? "" : " (NOT FINITE)");
    status = finite ? 0 : 1;
out:
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    unload_all(&l);
    free(c.tokens);
    return status;
}

/* ---- diverge ---------------------------------------------------------------- */

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
    int pr = parse(argc, argv, &c);
    if (pr) {
        free(c.tokens);
        return pr > 0 ? usage("diverge", stdout) : usage("diverge", stderr);
    }
    loaded l;
    int status = 2;
    char err[CK_ERR_LEN];
    ck_runner *ref = NULL, *dut = NULL;
    ck_exec_ctx *ctx = NULL;
    if (load_all(&c, &l))
        goto out;
    ck_run_opts o = {.seed = c.seed,
                     .tokens = c.tokens,
                     .n_tokens = c.n_tokens,
                     .gguf_path = c.gguf,
                     .weight_dtype = c.weight_dtype,
                     .decode = c.decode,
                     .decode_pos = c.decode_pos};
    ck_run_opts fused = o;
    fused.fuse_mask = c.fuse;
    if (!(ref = ck_runner_create(l.model, l.scalar, l.scalar, &o, err, sizeof err)) ||
        !(dut = ck_runner_create(l.model, l.plugin, l.scalar, &fused, err, sizeof err)) ||
        ck_runner_prepare(ref, err, sizeof err) || ck_runner_prepare(dut, err, sizeof err)) {
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
                printf("first divergence at step %zu of %zu: %s (%s, %s kernel%s)\n"
                       "  tensor %s at offset 0x%zx (+%zu bytes into it), element %zu: got %.9g, reference %.9g\n"
                       "  abs error %.3g, rel error %.3g, %zu of %zu elements outside %s\n",
                       i, ck_runner_n_steps(dut), s->label, ck_op_name(s->op), ck_dtype_name(s->dtype),
                       s->fallback ? ", scalar fallback" : "", s->out[k].name, s->out[k].offset,
                       w.index * sizeof(float), w.index, w.got, w.want, w.abs_err, w.rel_err, w.failing, n,
                       tol.cls == CK_PARITY_EXACT ? "bit-exactness" : "tolerance");
                status = 1;
                goto out;
            }
        }
    }
    if (status == 0)
        printf("no divergence: all %zu steps of %s through %s within tolerance of scalar\n", ck_runner_n_steps(dut),
               ck_model_name(l.model), l.plugin->desc->name);
    if (status == 0 && c.fuse)
        print_fusions(dut, c.fuse, l.plugin, l.model);
out:
    ck_exec_destroy(ctx);
    ck_runner_free(ref);
    ck_runner_free(dut);
    unload_all(&l);
    free(c.tokens);
    return status;
}
