/* cli_run.c — what `ckbench run` and `ckbench diverge` share (cli_run.h):
 * their options, the model and plugin chain they load, and the report lines
 * both print. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_fusion.h"
#include "ck_gguf.h"
#include "cli_run.h"
#include "commands.h"
#include "common/model_path.h"

int cli_run_usage(const char *cmd, FILE *f)
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

/* run's and diverge's options: 0, 1 for --help, -1 when bad (said in one
 * line). */
int cli_run_parse(int argc, char **argv, run_cli *c)
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
        else if (strcmp(argv[0], "run") == 0 &&
                 (cli_generate_option(argv, &i, c) || cli_observe_option(argc, argv, &i, c))) {
            if (i < 0) /* said */
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

int cli_run_load(const run_cli *c, loaded *l)
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

void cli_run_unload(loaded *l)
{
    ck_chain_unload(&l->chain);
    ck_model_free(l->model);
}

ck_run_opts cli_run_opts(const run_cli *c)
{
    return (ck_run_opts){.seed = c->seed,
                         .window_layers = c->window,
                         .tokens = c->tokens,
                         .n_tokens = c->n_tokens,
                         .gguf_path = c->gguf,
                         .weight_dtype = c->weight_dtype,
                         .decode = c->decode,
                         .decode_pos = c->decode_pos,
                         .share_name = c->share,
                         .compute = c->compute};
}

ck_runner *cli_run_runner(const loaded *l, const ck_run_opts *o, char *err, size_t len)
{
    return ck_runner_create_chain(l->model, (const ck_plugin *const *)l->chain.plugins, l->chain.n, l->scalar, o, err,
                                  len);
}

void cli_count_kernel(const ck_chain *ch, const char *by, int fallback, size_t counts[CK_CHAIN_MAX + 1])
{
    for (size_t p = 0; p <= ch->n; p++)
        counts[p] += p < ch->n ? by == ch->plugins[p]->desc->name && !fallback : fallback != 0;
}

void cli_print_kernel_counts(const ck_chain *ch, const size_t counts[CK_CHAIN_MAX + 1])
{
    printf("kernels by plugin:");
    for (size_t p = 0; p <= ch->n; p++) {
        const ck_plugin *pl = p < ch->n ? ch->plugins[p] : ch->scalar;
        if (p < ch->n || counts[p])
            printf("%s %s %zu%s", p ? "," : "", pl->desc->name, counts[p], p < ch->n ? "" : " (fallback)");
    }
    printf("\n");
}

void cli_print_chain_counts(const ck_runner *r, const ck_chain *ch)
{
    size_t counts[CK_CHAIN_MAX + 1] = {0};
    for (size_t i = 0; i < ck_runner_n_steps(r); i++)
        cli_count_kernel(ch, ck_runner_step(r, i)->plugin, ck_runner_step(r, i)->fallback, counts);
    cli_print_kernel_counts(ch, counts);
}

/* FNV-1a over the output's bytes: equal digests mean bit-identical outputs. */
uint64_t cli_digest(const float *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < n * sizeof *p; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

/* Whether m has an activation act_down takes only with CK_KF_ACT_DOWN_UNARY. */
static int uses_unary_act_down(const ck_model *m)
{
    for (size_t i = 0; i < m->n_sections; i++) {
        const ck_section *s = &m->sections[i];
        if (s->activation == CK_ACT_GELU_ERF || s->activation == CK_ACT_QUICK_GELU ||
            (s->has_bridge && s->bridge_type == CK_BRIDGE_MLP2X_GELU))
            return 1;
    }
    return 0;
}

/* Which requested fusions applied, and which did not and why. */
void cli_print_fusions(const ck_runner *r, uint32_t requested, const ck_plugin *p, const ck_model *m)
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
        const ck_kernel_desc *k = ck_plugin_kernel(p, CK_OP_ACT_DOWN, m->dtype, CK_KF_FUSED);
        if (f == CK_FUSE_ACT_DOWN && k && !(k->flags & CK_KF_ACT_DOWN_UNARY) && uses_unary_act_down(m))
            printf("  %-10s gelu_erf and quick_gelu run unfused: %s does not claim CK_KF_ACT_DOWN_UNARY\n",
                   ck_fusion_name(f), k->name);
    }
    printf("activation bytes saved per forward: %zu (%.1f KiB per layer)\n", ck_runner_bytes_saved(r),
           layers ? (double)ck_runner_bytes_saved(r) / (double)layers / 1024.0 : 0.0);
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
