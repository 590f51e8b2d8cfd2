/* ckbench run and ckbench diverge: the whole planned model through one
 * plugin; and the same side by side with scalar, naming the first op whose
 * error leaves its tolerance. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/counters.h"
#include "ck_gguf.h"
#include "ck_fusion.h"
#include "ck_ir.h"
#include "ck_run.h"
#include "ck_share.h"
#include "cli_generate.h"
#include "commands.h"
#include "common/model_path.h"
#include "common/progress.h"
#include "inspect/dump.h"
#include "inspect/patch.h"

typedef struct run_cli {
    const char *plugin, *model, *tokens_arg, *weights, *gguf;
    uint32_t weight_dtype;
    uint32_t compute; /* ck_compute */
    uint32_t fuse;
    int decode;
    size_t decode_pos;
    int threads;
    size_t window;
    uint64_t seed;
    int32_t *tokens;
    size_t n_tokens;
    const char *dump_glob, *dump_dir, *share; /* issue 22: observing a run */
    ck_patch_set patches;
    size_t generate; /* run --generate M: tokens to generate greedily (cli_generate.c) */
} run_cli;

static int usage(const char *cmd, FILE *f)
{
    fprintf(f,
            "usage: ckbench %s --plugin P|P1+P2 --model M [--tokens 1,2,3] [--weights seeded|FILE.gguf]\n"
            "       [--weight-dtype f32|bf16|f16|q8_0|q4_0] [--fuse all|none|LIST] [--decode-pos P]\n"
            "       [--seed S] [--threads N] [--compute f32|bf16]%s\n",
            cmd,
            strcmp(cmd, "run") == 0 ? " [--window LAYERS] [--generate M]\n       [--dump GLOB DIR] [--share NAME] "
                                      "[--patch NAME[A:B]=FILE.npy|zero]"
                                    : "");
    if (strcmp(cmd, "run") == 0)
        fprintf(f, "Runs the whole planned model (every section, in execution order) in its single allocation\n"
                   "through plugin P (scalar stands in for ops P lacks), and prints a digest of the output.\n"
                   "A chain P1+P2 takes each op's kernel from the first plugin that has one, then scalar.\n"
                   "--window N keeps N layers of a section resident at a time (larger-than-memory models).\n"
                   "--decode-pos P runs one token at position P through the decoder sections against the\n"
                   "per-layer KV cache (its rows before P seeded, standing in for the prefill).\n"
                   "--dump GLOB DIR writes every tensor whose layout.json name matches GLOB as .npy, with\n"
                   "manifest.json. --share NAME maps the arena as /dev/shm/ckernel-NAME for 'ckbench inspect'.\n"
                   "--patch overwrites an activation (or columns A..B-1 of it) right after the step that writes\n"
                   "it and reports how far the output moved from an unpatched run (repeatable).\n"
                   "--compute bf16 runs bf16-weight linear / qkv with x rounded to bf16 (docs/ops.md), unfused.\n"
                   "--generate M generates M tokens greedily from position P (default 0): each step's argmax of\n"
                   "the logits is the next step's token; prints the ids and the time per token (not with --dump\n"
                   "or --patch).\n");
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

/* --dump GLOB DIR, --share NAME, --patch SPEC: 1 if argv[*i] is one of
 * them (consumed; *i < 0 after a bad one, said in one line), else 0. */
static int parse_observe(int argc, char **argv, int *i, run_cli *c)
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
        else if (strcmp(a, "--model") == 0) {
            if (!(c->model = ck_model_arg(strcmp(argv[0], "run") ? "ckbench diverge" : "ckbench run", v)))
                return -1;
        } else if (strcmp(a, "--tokens") == 0)
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
        } else if (strcmp(a, "--compute") == 0) {
            ck_compute cc;
            if (ck_compute_from_name(v, &cc)) {
                fprintf(stderr, "ckbench %s: --compute: expected f32 or bf16, found '%s'\n", argv[0], v);
                return -1;
            }
            c->compute = cc;
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
        } else if (strcmp(argv[0], "run") == 0 && parse_observe(argc, argv, &i, c) != 0) {
            if (i < 0)
                return -1;
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
            int dtype = ck_dtype_from_name(c->weights) != CK_DTYPE_NONE; /* bench's old spelling */
            fprintf(stderr, "ckbench %s: --weights: expected 'seeded' or a .gguf file, found '%s'%s%s%s\n", argv[0],
                    c->weights, dtype ? "; the weight dtype is --weight-dtype, e.g. '--weight-dtype " : "",
                    dtype ? c->weights : "", dtype ? "'" : "");
            return -1;
        }
        c->gguf = c->weights;
    }
    if (c->window && (c->dump_glob || c->patches.n)) {
        fprintf(stderr,
                "ckbench run: --dump and --patch need every layer resident; they do not combine with --window\n");
        return -1;
    }
    size_t ml = strlen(c->model);
    if (!c->weights && ml > 5 && strcmp(c->model + ml - 5, ".gguf") == 0)
        c->gguf = c->model; /* a GGUF model runs its own weights unless told --weights seeded */
    return parse_tokens(c);
}

typedef struct loaded {
    ck_model *model;
    ck_chain chain;             /* --plugin P or P1+P2+... */
    ck_plugin *plugin, *scalar; /* the chain's first, and scalar */
} loaded;

static int load_all(const run_cli *c, loaded *l)
{
    char err[CK_ERR_LEN];
    memset(l, 0, sizeof *l);
    if (!(l->model = ck_model_open(c->model, err, sizeof err)) ||
        ck_chain_load(&l->chain, c->plugin, err, sizeof err)) {
        fprintf(stderr, "ckbench: %s\n", err);
        return -1;
    }
    l->plugin = l->chain.plugins[0];
    l->scalar = l->chain.scalar;
    return 0;
}

static void unload_all(loaded *l)
{
    ck_chain_unload(&l->chain);
    ck_model_free(l->model);
}

static ck_runner *create_runner(const loaded *l, const ck_run_opts *o, char *err, size_t len)
{
    return ck_runner_create_chain(l->model, (const ck_plugin *const *)l->chain.plugins, l->chain.n, l->scalar, o, err,
                                  len);
}

/* How many units each plugin of the chain runs, for run's report line. */
static void print_chain_counts(const ck_runner *r, const ck_chain *ch)
{
    printf("kernels by plugin:");
    for (size_t p = 0; p <= ch->n; p++) {
        const ck_plugin *pl = p < ch->n ? ch->plugins[p] : ch->scalar;
        size_t n = 0;
        for (size_t i = 0; i < ck_runner_n_steps(r); i++) {
            const ck_run_step *s = ck_runner_step(r, i);
            n += p < ch->n ? s->plugin == pl->desc->name && !s->fallback : (size_t)s->fallback;
        }
        if (p < ch->n || n)
            printf("%s %s %zu%s", p ? "," : "", pl->desc->name, n, p < ch->n ? "" : " (fallback)");
    }
    printf("\n");
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
/* The forward's page faults (the mapping's first touch, and with --window
 * the layers faulted in and released) and whether its threads ran. */
static void print_run_counters(const double *c, const char *why, double wall_s, int threads)
{
    if (!c) {
        printf("counters: unavailable: %s\n", why[0] ? why : "counting failed");
        return;
    }
    long page = sysconf(_SC_PAGESIZE);
    printf("counters: %.0f page faults (%.1f MiB at %ld-byte pages: first touch and paging), cpu %.2f "
           "(task clock / (wall x threads)), %.0f involuntary context switches\n",
           c[CK_CTR_PAGE_FAULTS], c[CK_CTR_PAGE_FAULTS] * (double)page / (1 << 20), page,
           wall_s > 0 ? c[CK_CTR_TASK_CLOCK_NS] / (wall_s * 1e9 * threads) : 0.0, c[CK_CTR_INVOLUNTARY_SWITCHES]);
}

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

/* After each step of run: k of N steps, with the step's name. */
static int run_progress(void *user, ck_runner *r, size_t step)
{
    ck_progress_step(user, step + 1, ck_runner_step(r, step)->label);
    return 0;
}

void ck_print_host_restores(const ck_runner *r)
{
    const char *first;
    size_t n = ck_runner_host_restores(r, &first);
    if (n)
        printf("host state: put back after %zu kernel call%s (first: %s): a kernel left the floating-point "
               "control state or its exec context changed ('ckbench parity' names what)\n",
               n, n == 1 ? "" : "s", first ? first : "?");
}

/* An unpatched forward's output, copied: the baseline a patch is measured against. */
static float *forward_copy(ck_runner *r, const ck_exec_ctx *ctx, char *err, size_t len)
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

static void print_moved(const ck_patch_set *ps, const float *base, const float *y, size_t n)
{
    ck_moved m = ck_patch_moved(base, y, n);
    for (size_t i = 0; i < ps->n; i++)
        printf("patched %s after step %zu (%s)\n", ps->v[i].spec, ps->v[i].step,
               ps->v[i].zero ? "zeroed" : "from file");
    printf("output moved: %zu of %zu values changed, max |d| %.6g, rms d %.6g; unpatched digest %016llx%s\n", m.changed,
           m.n, m.max_abs, m.rms, (unsigned long long)digest(base, n), m.changed ? "" : " (bit-identical)");
}

static int print_dump(const run_cli *c, ck_runner *r, ck_dump_opts *o)
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

/* What run's step hook does: progress, then any --patch. */
typedef struct run_hook {
    ck_progress *prog;
    ck_patch_set *patches;
} run_hook;

static int run_step_hook(void *user, ck_runner *r, size_t step)
{
    run_hook *h = user;
    run_progress(h->prog, r, step);
    return h->patches->n ? ck_patch_hook(h->patches, r, step) : 0;
}

int ck_cmd_run(int argc, char **argv)
{
    run_cli c;
    int pr = parse(argc, argv, &c);
    if (pr) {
        free(c.tokens);
        ck_patch_free(&c.patches);
        return pr > 0 ? usage("run", stdout) : 2; /* the parser said why, in one line */
    }
    loaded l;
    int status = 2;
    char err[CK_ERR_LEN];
    ck_runner *r = NULL;
    ck_exec_ctx *ctx = NULL;
    ck_counters *ctr = NULL;
    float *baseline = NULL;
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
                     .decode_pos = c.decode_pos,
                     .share_name = c.share,
                     .compute = c.compute};
    ck_dump_opts dump = {.glob = c.dump_glob, .source = "run"};
    if (!(r = create_runner(&l, &o, err, sizeof err)) || ck_patch_bind(&c.patches, r, err, sizeof err)) {
        fprintf(stderr, "ckbench run: %s\n", err);
        goto out;
    }
    if (c.dump_glob && ck_dump_count(ck_runner_plan(r), &dump) == 0) {
        fprintf(stderr, "ckbench run: --dump: no tensor of %s matches '%s'\n", ck_model_name(l.model), c.dump_glob);
        goto out;
    }
    ctx = ck_exec_create(c.threads);
    status = 1;
    if (c.generate) {
        /* the generation loop runs the steps itself: no step hook, so no
         * patches or dumps there (--share still shows its steps) */
        if (c.patches.n || c.dump_glob) {
            fprintf(stderr, "ckbench run: --generate does not take --patch or --dump (they observe one forward)\n");
            status = 2;
            goto out;
        }
        status = cli_generate(r, ctx, c.decode_pos, c.generate, c.window);
        if (status == 0 && l.chain.n > 1)
            print_chain_counts(r, &l.chain);
        goto out;
    }
    if (c.patches.n && !(baseline = forward_copy(r, ctx, err, sizeof err))) {
        fprintf(stderr, "ckbench run: %s\n", err);
        goto out;
    }
    ck_counters_why cwhy;
    ctr = ck_counters_open(ctx, &cwhy);
    double counts[CK_CTR_COUNT];
    struct timespec t0, t1;
    int counting = ctr && ck_counters_start(ctr) == 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ck_progress prog;
    ck_progress_start(&prog, "run", ck_runner_n_steps(r));
    ck_progress_section(&prog, c.window ? "steps (weights seeded window by window)" : "seeding weights, then steps");
    run_hook hook = {&prog, &c.patches};
    int failed = ck_runner_forward(r, ctx, run_step_hook, &hook, err, sizeof err);
    ck_progress_finish(&prog);
    if (failed) {
        fprintf(stderr, "ckbench run: %s\n", err);
        goto out;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    counting = ctr && ck_counters_stop(ctr, counts) == 0 && counting;
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
    double seconds = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("model %s through %s: %zu steps (%zu by scalar fallback), %d threads, %.3f s%s\n", ck_model_name(l.model),
           l.chain.name, ck_runner_n_steps(r), fallbacks, ctx->n_threads, seconds,
           c.compute == CK_COMPUTE_BF16 ? ", compute bf16" : "");
    if (l.chain.n > 1)
        print_chain_counts(r, &l.chain);
    ck_print_host_restores(r);
    print_fusions(r, c.fuse, l.plugin, l.model);
    printf("allocation: %zu bytes in one mapping%s%s\n", ck_runner_plan(r)->total,
           ck_runner_arena_note(r)[0] ? "; " : "", ck_runner_arena_note(r));
    printf("output: %zu values, mean %.6g, rms %.6g, digest %016llx%s\n", n_out, n_out ? sum / (double)n_out : 0.0,
           n_out ? sqrt(sq / (double)n_out) : 0.0, (unsigned long long)digest(y, n_out), finite ? "" : " (NOT FINITE)");
    print_run_counters(counting ? counts : NULL, cwhy.software, seconds, ctx->n_threads);
    status = finite ? 0 : 1;
    if (c.patches.n)
        print_moved(&c.patches, baseline, y, n_out);
    if (c.dump_glob && print_dump(&c, r, &dump) != 0)
        status = 1;
out:
    ck_counters_close(ctr);
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    unload_all(&l);
    free(c.tokens);
    free(baseline);
    ck_patch_free(&c.patches);
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
        return pr > 0 ? usage("diverge", stdout) : 2;
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
                     .decode_pos = c.decode_pos,
                     .compute = c.compute};
    ck_run_opts fused = o;
    fused.fuse_mask = c.fuse;
    if (!(ref = ck_runner_create(l.model, l.scalar, l.scalar, &o, err, sizeof err)) ||
        !(dut = create_runner(&l, &fused, err, sizeof err)) || ck_runner_prepare(ref, err, sizeof err) ||
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
        print_fusions(dut, c.fuse, l.plugin, l.model);
out:
    ck_exec_destroy(ctx);
    ck_runner_free(ref);
    ck_runner_free(dut);
    unload_all(&l);
    free(c.tokens);
    return status;
}
