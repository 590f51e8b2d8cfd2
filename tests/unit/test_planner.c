/* The planner's invariants on every shipped model and mode (sizes from
 * shapes, no overlaps, rising offsets, alignment, section boundaries), the
 * LLaVA totals against a derivation written here from the dimensions alone,
 * byte-identical layout.json, and the arena's mapping of a plan. */
#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ck_arena.h"
#include "ck_plan.h"

#define MIB2 ((size_t)2 << 20)

static ck_model *load_shipped(const char *name)
{
    const char *root = getenv("CK_SOURCE_DIR");
    char path[1024], err[CK_ERR_LEN];
    snprintf(path, sizeof path, "%s/ir/models/%s", root ? root : ".", name);
    ck_model *m = ck_model_load(path, err, sizeof err);
    cr_assert_not_null(m, "%s: %s", name, err);
    return m;
}

static ck_plan *plan_of(const ck_model *m, ck_plan_opts o)
{
    ck_plan *p = NULL;
    char err[CK_ERR_LEN];
    cr_assert_eq(ck_plan_build(m, &o, &p, err, sizeof err), 0, "%s", err);
    return p;
}

/* Bytes of a tensor, by the dtype table of docs/layout.md, not the planner's. */
static size_t expected_bytes(const ck_buffer *b)
{
    size_t elems = 1;
    for (unsigned d = 0; d < b->ndim; d++)
        elems *= b->shape[d];
    switch (b->dtype) {
    case CK_DTYPE_F32:
    case CK_DTYPE_I32: return elems * 4;
    case CK_DTYPE_BF16:
    case CK_DTYPE_F16: return elems * 2;
    case CK_DTYPE_Q8_0: return elems / 32 * 34;
    case CK_DTYPE_Q4_0: return elems / 32 * 18;
    }
    cr_assert_fail("%s: unexpected dtype %u", b->name, b->dtype);
    return 0;
}

static void check_invariants(const ck_plan *p, const char *what)
{
    size_t prev_end = 0, by_kind[CK_BUF_KIND_COUNT] = {0};
    cr_assert_gt(p->n_buffers, 0, "%s", what);
    for (size_t i = 0; i < p->n_buffers; i++) {
        const ck_buffer *b = &p->buffers[i];
        cr_assert_eq(b->size, expected_bytes(b), "%s: %s size %zu", what, b->name, b->size);
        cr_assert_gt(b->size, 0, "%s: %s is empty", what, b->name);
        cr_assert_eq(b->offset % p->opts.align, 0, "%s: %s at 0x%zx not aligned to %zu", what, b->name, b->offset,
                     p->opts.align);
        /* rising in execution order and disjoint: each starts after the previous one ends */
        cr_assert_geq(b->offset, prev_end, "%s: %s overlaps the buffer before it", what, b->name);
        prev_end = b->offset + b->size;
        const ck_section_plan *sp = &p->sections[b->section];
        cr_assert(b->offset >= sp->all.start && prev_end <= sp->all.end, "%s: %s outside its section", what, b->name);
        const ck_span *part = b->part == CK_PART_HEADER     ? &sp->header
                              : b->part == CK_PART_FOOTER   ? &sp->footer
                              : b->part == CK_PART_KV_CACHE ? &sp->kv_cache
                                                            : &sp->layers[b->layer];
        cr_assert(b->offset >= part->start && prev_end <= part->end, "%s: %s outside its part", what, b->name);
        by_kind[b->kind] += b->size;
    }
    for (size_t s = 0; s < p->n_sections; s++) {
        const ck_section_plan *sp = &p->sections[s];
        cr_assert_eq(sp->all.start % MIB2, 0, "%s: section %zu starts at 0x%zx", what, s, sp->all.start);
        cr_assert_eq(sp->header.start, sp->all.start, "%s: section %zu header", what, s);
        cr_assert_leq(sp->header.end, sp->layers[0].start);
        for (size_t l = 1; l < sp->n_layers; l++)
            cr_assert_leq(sp->layers[l - 1].end, sp->layers[l].start);
        cr_assert_leq(sp->layers[sp->n_layers - 1].end, sp->footer.start);
        if (s > 0)
            cr_assert_leq(p->sections[s - 1].all.end, sp->all.start);
    }
    for (int k = 0; k < CK_BUF_KIND_COUNT; k++)
        cr_assert_eq(by_kind[k], p->by_kind[k], "%s: total of %s", what, ck_buf_kind_name((ck_buf_kind)k));
    cr_assert_geq(p->total, prev_end, "%s: total below the last buffer's end", what);
    cr_assert_lt(p->total - prev_end, p->opts.align);
}

/* Training: each weight is followed by its f32 gradient, m and v, same shape. */
static void check_training_companions(const ck_plan *p)
{
    size_t weights = 0;
    for (size_t i = 0; i < p->n_buffers; i++) {
        const ck_buffer *w = &p->buffers[i];
        if (w->kind != CK_BUF_WEIGHT)
            continue;
        weights++;
        cr_assert_lt(i + 3, p->n_buffers);
        const ck_buf_kind want[3] = {CK_BUF_GRADIENT, CK_BUF_OPTIMIZER_M, CK_BUF_OPTIMIZER_V};
        for (int k = 0; k < 3; k++) {
            const ck_buffer *c = &p->buffers[i + 1 + (size_t)k];
            cr_assert_eq(c->kind, want[k], "%s: companion %d is %s", w->name, k, c->name);
            cr_assert_eq(c->dtype, CK_DTYPE_F32);
            cr_assert_eq(c->ndim, w->ndim);
            cr_assert_arr_eq(c->shape, w->shape, w->ndim * sizeof(size_t));
        }
    }
    cr_assert_gt(weights, 0);
}

Test(planner, invariants_hold_for_every_model_mode_and_alignment)
{
    const char *models[] = {"tiny-llava.json", "tiny-gqa.json", "tiny-quant.json", "qwen2.5-0.5b.json", "llava.json"};
    const size_t aligns[] = {8, 64, 4096, MIB2};
    for (size_t mi = 0; mi < sizeof models / sizeof models[0]; mi++) {
        ck_model *m = load_shipped(models[mi]);
        for (size_t ai = 0; ai < sizeof aligns / sizeof aligns[0]; ai++) {
            char what[128];
            for (int mode = 0; mode < 3; mode++) {
                ck_plan_opts o = {.training = mode == 1, .decode = mode == 2, .decode_pos = 3, .align = aligns[ai]};
                ck_plan *p = plan_of(m, o);
                snprintf(what, sizeof what, "%s mode %d align %zu", models[mi], mode, aligns[ai]);
                check_invariants(p, what);
                if (mode == 1)
                    check_training_companions(p);
                ck_plan_free(p);
            }
        }
        ck_model_free(m);
    }
}

Test(planner, quantised_weights_are_sized_in_blocks)
{
    ck_model *m = load_shipped("tiny-quant.json");
    const uint32_t dts[] = {CK_DTYPE_Q8_0, CK_DTYPE_Q4_0};
    for (int i = 0; i < 2; i++) {
        ck_plan *p = plan_of(m, (ck_plan_opts){.weight_dtype = dts[i]});
        check_invariants(p, ck_dtype_name(dts[i]));
        int seen = 0;
        for (size_t b = 0; b < p->n_buffers; b++)
            if (strcmp(p->buffers[b].name, "text.layer.0.mlp_down.w") == 0) {
                /* [64, 96]: 64 rows of 3 blocks */
                cr_assert_eq(p->buffers[b].size, 64u * 3u * (dts[i] == CK_DTYPE_Q8_0 ? 34u : 18u));
                seen = 1;
            }
        cr_assert(seen);
        ck_plan_free(p);
    }
    ck_model_free(m);
}

Test(planner, refuses_bad_options)
{
    ck_model *m = load_shipped("tiny-quant.json");
    ck_plan *p = NULL;
    char err[CK_ERR_LEN];
    cr_assert_eq(ck_plan_build(m, &(ck_plan_opts){.align = 48}, &p, err, sizeof err), -1);
    cr_assert_null(p);
    cr_assert_str_eq(err, "plan of model \"tiny-quant\": alignment: expected a power of two from 8 to 2097152, "
                          "found 48");
    cr_assert_eq(ck_plan_build(m, &(ck_plan_opts){.training = 1, .weight_dtype = CK_DTYPE_Q4_0}, &p, err, sizeof err),
                 -1);
    cr_assert(strstr(err, "training: expected f32, bf16 or f16 weights"), "%s", err);
    cr_assert_eq(ck_plan_build(m, &(ck_plan_opts){.training = 1, .decode = 1}, &p, err, sizeof err), -1);
    cr_assert(strstr(err, "expected one mode, found both"), "%s", err);
    ck_model_free(m);
}

Test(planner, decode_adds_a_kv_cache_per_decoder_layer)
{
    ck_model *m = load_shipped("tiny-llava.json");
    ck_plan *p = plan_of(m, (ck_plan_opts){.decode = 1, .decode_pos = 5});
    size_t caches = 0;
    for (size_t i = 0; i < p->n_buffers; i++) {
        const ck_buffer *b = &p->buffers[i];
        if (b->kind != CK_BUF_KV_CACHE)
            continue;
        caches++;
        cr_assert_eq(b->section, 1, "%s", b->name);
        cr_assert_eq(b->ndim, 3);
        cr_assert_eq(b->shape[0], 19); /* seq_len: the whole context */
        cr_assert_eq(b->shape[1], 2);  /* kv heads */
        cr_assert_eq(b->shape[2], 8);
    }
    cr_assert_eq(caches, 2 * 2); /* k and v for each of 2 text layers */
    /* after the footer, outside every layer span (a window pages layers, never the cache) */
    const ck_section_plan *sp = &p->sections[1];
    for (size_t i = 0; i < p->n_buffers; i++) {
        const ck_buffer *b = &p->buffers[i];
        if (b->kind != CK_BUF_KV_CACHE)
            continue;
        cr_assert_eq(b->part, CK_PART_KV_CACHE, "%s", b->name);
        cr_assert(b->offset >= sp->kv_cache.start && b->offset + b->size <= sp->kv_cache.end, "%s", b->name);
        cr_assert_geq(b->offset, sp->footer.end, "%s", b->name);
        for (size_t l = 0; l < sp->n_layers; l++)
            cr_assert(b->offset >= sp->layers[l].end || b->offset + b->size <= sp->layers[l].start, "%s", b->name);
    }
    cr_assert_eq(sp->kv_cache.end, sp->all.end, "the cache closes the section");
    ck_plan_free(p);
    ck_model_free(m);
}

/* ---- LLaVA totals, derived from the published dimensions --------------- */

typedef struct totals {
    unsigned long long weights, activations, tables, kv;
} totals;

/* ViT-L/14 at 336 px: D 1024, F 4096, 23 of its 24 layers (LLaVA-1.5 takes
 * the penultimate layer's states, without the post-norm), 577 tokens (576
 * patches of 3 x 14 x 14 = 588 values + CLS), LayerNorm with beta, GELU,
 * biases; bf16 matrices; the mlp2x_gelu bridge: 1024 -> 4096, gelu,
 * 4096 -> 4096, with biases. */
static totals vision_totals(void)
{
    const unsigned long long D = 1024, F = 4096, L = 23, T = 577, P = 576, K = 588, OUT = 4096, bf = 2, f = 4;
    totals t = {0, 0, 0, 0};
    t.weights += D * K * bf;                                  /* patch projection, no bias */
    t.weights += D * f + T * D * f;                           /* CLS + learned positions */
    t.weights += 2 * D * f;                                   /* pre-norm gamma, beta */
    unsigned long long layer_w = 2 * D * f                    /* attention norm */
                                 + 3 * D * D * bf + 3 * D * f /* q, k, v and their biases */
                                 + D * D * bf + D * f         /* output projection */
                                 + 2 * D * f                  /* mlp norm */
                                 + F * D * bf + F * f         /* up */
                                 + D * F * bf + D * f;        /* down */
    t.weights += L * layer_w;
    t.weights += OUT * D * bf + OUT * f + OUT * OUT * bf + OUT * f; /* bridge, bridge_out */
    t.activations += P * K * f + P * D * f + T * D * f + T * D * f; /* pixels, patches, +pos, pre-norm */
    /* per layer: norm, q, k, v, attention, projection, residual, norm, down, residual (T x D) and up, gelu (T x F) */
    t.activations += L * (10 * T * D * f + 2 * T * F * f);
    t.activations += 3 * T * OUT * f; /* bridge, its gelu, bridge_out */
    return t;
}

/* LLaMA-7B: D 4096, F 11008, 32 layers, 2048 tokens, vocab 32000, RMSNorm,
 * SwiGLU, no biases, RoPE tables [2048, 64] cos and sin; bf16 matrices. */
static totals text_totals(int decode)
{
    const unsigned long long D = 4096, F = 11008, L = 32, S = 2048, V = 32000, HD = 128, bf = 2, f = 4;
    const unsigned long long T = decode ? 1 : S;
    totals t = {0, 0, 0, 0};
    t.tables = 2 * S * (HD / 2) * f;
    t.weights += V * D * bf; /* token embedding */
    t.weights += L * (D * f + 4 * D * D * bf + D * f + 3 * F * D * bf);
    t.weights += D * f + V * D * bf;    /* final norm, lm_head */
    t.activations += T * 4 + T * D * f; /* ids, embedded */
    /* per layer: norm, q, k, v, attention, projection, residual, norm, down, residual (T x D); gate, up, swiglu (T x F) */
    t.activations += L * (10 * T * D * f + 3 * T * F * f);
    t.activations += T * D * f + T * V * f; /* final norm, logits */
    if (decode)
        t.kv = L * 2 * S * D * f;
    return t;
}

static unsigned long long round_2m(unsigned long long x)
{
    return (x + MIB2 - 1) / MIB2 * MIB2;
}

Test(planner, llava_forward_totals_match_the_dimensions)
{
    ck_model *m = load_shipped("llava.json");
    ck_plan *p = plan_of(m, (ck_plan_opts){0});
    totals v = vision_totals(), t = text_totals(0);
    cr_assert_eq(p->by_kind[CK_BUF_WEIGHT], v.weights + t.weights);
    cr_assert_eq(p->by_kind[CK_BUF_ACTIVATION], v.activations + t.activations);
    cr_assert_eq(p->by_kind[CK_BUF_TABLE], t.tables);
    cr_assert_eq(p->by_kind[CK_BUF_GRADIENT] + p->by_kind[CK_BUF_OPTIMIZER_M] + p->by_kind[CK_BUF_KV_CACHE] +
                     p->by_kind[CK_BUF_ACTIVATION_GRADIENT],
                 0);
    /* every LLaVA tensor is a multiple of 64 bytes: the only padding is the
     * gap up to the text section's 2 MiB boundary */
    unsigned long long vision_bytes = v.weights + v.activations;
    cr_assert_eq(p->total, round_2m(vision_bytes) + t.weights + t.activations + t.tables);
    cr_assert_eq(p->total, 34844205056ull);
    ck_plan_free(p);
    ck_model_free(m);
}

Test(planner, llava_training_totals_match_the_dimensions)
{
    ck_model *m = load_shipped("llava.json");
    ck_plan *p = plan_of(m, (ck_plan_opts){.training = 1});
    totals v = vision_totals(), t = text_totals(0);
    /* gradients and both moments are f32 copies of every weight; the
     * published parameter count decides their size: bf16 matrices count
     * half their bytes, f32 vectors all of theirs */
    const unsigned long long vD = 1024, vF = 4096, tD = 4096, tF = 11008, V = 32000;
    unsigned long long vision_params = vD * 588 + vD + 577 * vD + 2 * vD +
                                       23 * (2 * vD + 4 * vD * vD + 4 * vD + 2 * vD + 2 * vF * vD + vF + vD) +
                                       4096 * vD + 4096 + 4096 * 4096 + 4096;
    unsigned long long text_params = V * tD + 32 * (2 * tD + 4 * tD * tD + 3 * tF * tD) + tD + V * tD;
    unsigned long long f32_copy = (vision_params + text_params) * 4;
    /* the decoder's backward pass (docs/training.md; the vision encoder is
     * frozen: no activation gradients): per layer, T x D for the two norms'
     * outputs and their shares of the residual gradient, q, k, v (32 kv
     * heads: T x D each), the attention output, the gate's share of the MLP
     * norm's output, the two residual outputs; T x F for gate, up and
     * swiglu. Then the embedding output, the final norm's output and the
     * logits (T x V). The lm_head adds targets (T i32) and the loss (one
     * f32, the last buffer: 60 bytes of padding round the total to 64). */
    const unsigned long long T = 2048, f = 4;
    unsigned long long act_grads = 32 * (11 * T * tD * f + 3 * T * tF * f) + T * tD * f + T * tD * f + T * V * f;
    cr_assert_eq(p->by_kind[CK_BUF_WEIGHT], v.weights + t.weights);
    cr_assert_eq(p->by_kind[CK_BUF_GRADIENT], f32_copy);
    cr_assert_eq(p->by_kind[CK_BUF_OPTIMIZER_M], f32_copy);
    cr_assert_eq(p->by_kind[CK_BUF_OPTIMIZER_V], f32_copy);
    cr_assert_eq(p->by_kind[CK_BUF_ACTIVATION_GRADIENT], act_grads);
    cr_assert_eq(p->by_kind[CK_BUF_ACTIVATION], v.activations + t.activations + T * 4 + 4);
    unsigned long long vision_bytes = v.weights + v.activations + 3 * vision_params * 4;
    unsigned long long text_bytes =
        t.weights + t.activations + T * 4 + 4 + 60 + t.tables + 3 * text_params * 4 + act_grads;
    cr_assert_eq(p->total, round_2m(vision_bytes) + text_bytes);
    cr_assert_gt(p->total, 100ull * 1000 * 1000 * 1000, "LLaVA training is over 100 GB");
    ck_plan_free(p);
    ck_model_free(m);
}

Test(planner, llava_decode_totals_match_the_dimensions)
{
    ck_model *m = load_shipped("llava.json");
    ck_plan *p = plan_of(m, (ck_plan_opts){.decode = 1, .decode_pos = 100});
    totals v = vision_totals(), t = text_totals(1);
    cr_assert_eq(p->by_kind[CK_BUF_WEIGHT], v.weights + t.weights);
    cr_assert_eq(p->by_kind[CK_BUF_ACTIVATION], v.activations + t.activations);
    cr_assert_eq(p->by_kind[CK_BUF_KV_CACHE], t.kv);
    ck_plan_free(p);
    ck_model_free(m);
}

/* ---- layout.json -------------------------------------------------------- */

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    cr_assert_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

Test(planner, layout_json_is_byte_identical_and_parses)
{
    char dir[] = "/tmp/ck-plan-XXXXXX", a[128], b[128], err[CK_ERR_LEN];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(a, sizeof a, "%s/a.json", dir);
    snprintf(b, sizeof b, "%s/b.json", dir);
    ck_model *m = load_shipped("tiny-llava.json");
    for (int i = 0; i < 2; i++) {
        ck_plan *p = plan_of(m, (ck_plan_opts){.training = 1});
        cr_assert_eq(ck_plan_write_json(p, i ? b : a, err, sizeof err), 0, "%s", err);
        ck_plan_free(p);
    }
    size_t la, lb;
    char *ta = slurp(a, &la), *tb = slurp(b, &lb);
    cr_assert_eq(la, lb);
    cr_assert_eq(memcmp(ta, tb, la), 0);
    /* it is JSON, and it holds the buffers the plan holds */
    cJSON *root = cJSON_Parse(ta);
    cr_assert_not_null(root);
    cr_assert_str_eq(cJSON_GetObjectItem(root, "model")->valuestring, "tiny-llava");
    cr_assert_str_eq(cJSON_GetObjectItem(root, "mode")->valuestring, "training");
    const cJSON *secs = cJSON_GetObjectItem(root, "sections");
    cr_assert_eq(cJSON_GetArraySize(secs), 2);
    const cJSON *layer0 = cJSON_GetArrayItem(cJSON_GetObjectItem(cJSON_GetArrayItem(secs, 1), "layers"), 0);
    const cJSON *t0 = cJSON_GetArrayItem(cJSON_GetObjectItem(layer0, "tensors"), 0);
    cr_assert_str_eq(cJSON_GetObjectItem(t0, "name")->valuestring, "text.layer.0.attn_norm.gamma");
    cr_assert_str_eq(cJSON_GetObjectItem(t0, "kind")->valuestring, "weight");
    cr_assert_eq(strncmp(cJSON_GetObjectItem(t0, "offset")->valuestring, "0x", 2), 0);
    cJSON_Delete(root);
    free(ta);
    free(tb);
    unlink(a);
    unlink(b);
    rmdir(dir);
    ck_model_free(m);
}

Test(planner, failed_write_leaves_nothing)
{
    char dir[] = "/tmp/ck-plan-XXXXXX", target[128], err[CK_ERR_LEN];
    cr_assert_not_null(mkdtemp(dir));
    snprintf(target, sizeof target, "%s/sub", dir);
    cr_assert_eq(mkdir(target, 0755), 0); /* rename over a directory fails after the write */
    ck_model *m = load_shipped("tiny-gqa.json");
    ck_plan *p = plan_of(m, (ck_plan_opts){0});
    cr_assert_eq(ck_plan_write_json(p, target, err, sizeof err), -1);
    cr_assert(strstr(err, "cannot write the layout"), "%s", err);
    /* only the directory we made is there: no temporary file left behind */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "test \"$(ls -A %s)\" = sub", dir);
    cr_assert_eq(system(cmd), 0, "leftovers in %s", dir);
    rmdir(target);
    rmdir(dir);
    ck_plan_free(p);
    ck_model_free(m);
}

/* ---- arena -------------------------------------------------------------- */

Test(arena, maps_a_tiny_plan_and_every_byte_is_usable)
{
    ck_model *m = load_shipped("tiny-llava.json");
    ck_plan *p = plan_of(m, (ck_plan_opts){.training = 1});
    ck_arena ar;
    char err[CK_ERR_LEN];
    cr_assert_eq(ck_arena_map(&ar, p->total, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_geq(ar.mapped, p->total);
    cr_assert_eq((uintptr_t)ar.base % MIB2, 0, "base aligned to 2 MiB for the section boundaries");
    for (size_t i = 0; i < p->n_buffers; i++)
        memset((char *)ar.base + p->buffers[i].offset, (int)(i & 0xff), p->buffers[i].size);
    for (size_t i = 0; i < p->n_buffers; i++) {
        const unsigned char *b = (const unsigned char *)ar.base + p->buffers[i].offset;
        cr_assert_eq(b[0], i & 0xff);
        cr_assert_eq(b[p->buffers[i].size - 1], i & 0xff, "%s was overwritten", p->buffers[i].name);
    }
    cr_assert_eq(ck_arena_release(&ar, 0, p->total), 0);
    cr_assert_eq(((unsigned char *)ar.base)[0], 0, "released pages read back as zero");
    ck_arena_unmap(&ar);
    cr_assert_null(ar.base);
    ck_plan_free(p);
    ck_model_free(m);
}

Test(arena, llava_training_maps_without_being_touched)
{
    ck_model *m = load_shipped("llava.json");
    ck_plan *p = plan_of(m, (ck_plan_opts){.training = 1});
    ck_arena ar;
    char err[CK_ERR_LEN];
    cr_assert_gt(p->total, 100ull * 1000 * 1000 * 1000);
    cr_assert_eq(ck_arena_map(&ar, p->total, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_geq(ar.mapped, p->total);
    /* a window: the vision header is faulted in and given back */
    const ck_span *h = &p->sections[0].header;
    cr_assert_eq(ck_arena_touch(&ar, h->start, h->end - h->start), 0);
    cr_assert_eq(ck_arena_release(&ar, h->start, h->end - h->start), 0);
    cr_assert_eq(ck_arena_touch(&ar, ar.mapped, 1), -1, "a window past the end of the mapping is refused");
    ck_arena_unmap(&ar);
    ck_plan_free(p);
    ck_model_free(m);
}

Test(arena, hugepage_requests_fall_back_with_a_reason)
{
    const ck_hugepages modes[] = {CK_HUGEPAGES_2M, CK_HUGEPAGES_1G};
    for (int i = 0; i < 2; i++) {
        ck_arena ar;
        char err[CK_ERR_LEN];
        ck_arena_opts o = {.hugepages = modes[i], .numa = CK_NUMA_INTERLEAVE};
        cr_assert_eq(ck_arena_map(&ar, 3 * MIB2 + 5, &o, err, sizeof err), 0, "%s", err);
        if (ar.hugepages != modes[i])
            cr_assert(strstr(ar.note, modes[i] == CK_HUGEPAGES_1G ? "1 GiB hugepages" : "2 MiB hugepages"),
                      "fallback without a reason: '%s'", ar.note);
        cr_assert_eq(ck_arena_touch(&ar, 0, 3 * MIB2 + 5), 0);
        ck_arena_unmap(&ar);
    }
    ck_hugepages h;
    cr_assert_eq(ck_hugepages_parse("2M", &h), 0);
    cr_assert_eq(h, CK_HUGEPAGES_2M);
    cr_assert_eq(ck_hugepages_parse("thp", &h), 0);
    cr_assert_eq(h, CK_HUGEPAGES_THP);
    cr_assert_eq(ck_hugepages_parse("3M", &h), -1);
}

/* The runner's mode: base pages with transparent hugepages asked for, never
 * hugetlbfs (which needs pages an administrator reserved), 2 MiB aligned so
 * that the kernel can back them; where THP is off, the note says so. */
Test(arena, thp_asks_for_transparent_hugepages_only)
{
    ck_arena ar;
    char err[CK_ERR_LEN];
    ck_arena_opts o = {.hugepages = CK_HUGEPAGES_THP};
    cr_assert_eq(ck_arena_map(&ar, 3 * MIB2 + 5, &o, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ar.hugepages, CK_HUGEPAGES_NONE, "no hugetlbfs pages");
    cr_assert_null(strstr(ar.note, "MiB hugepages"), "hugetlbfs was tried: '%s'", ar.note);
    cr_assert_eq((uintptr_t)ar.base % MIB2, 0, "2 MiB aligned");
    cr_assert(ar.thp || strstr(ar.note, "transparent hugepages are off") || strstr(ar.note, "madvise"),
              "neither granted nor a reason: '%s'", ar.note);
    cr_assert_eq(ck_arena_touch(&ar, 0, 3 * MIB2 + 5), 0);
    ck_arena_unmap(&ar);
    o.hugepages = CK_HUGEPAGES_NONE;
    cr_assert_eq(ck_arena_map(&ar, MIB2, &o, err, sizeof err), 0, "%s", err);
    cr_assert_eq(ar.thp, 0, "none asks for nothing");
    ck_arena_unmap(&ar);
}

/* ---- training: what the backward pass needs ------------------------------ */

/* Each activation gradient is f32, in a decoder, and right after the
 * activation it is the gradient of (same name without ".grad", same shape)
 * or, for a reader's share ("x.grad"), inside the part of that reader. */
Test(planner, training_plans_activation_gradients_for_decoders_only)
{
    ck_model *m = load_shipped("tiny-llava.json");
    ck_plan *p = plan_of(m, (ck_plan_opts){.training = 1});
    size_t grads = 0, shares = 0, targets = 0, losses = 0;
    for (size_t i = 0; i < p->n_buffers; i++) {
        const ck_buffer *b = &p->buffers[i];
        if (strstr(b->name, ".targets")) {
            targets++;
            cr_assert_eq(b->dtype, CK_DTYPE_I32);
            cr_assert_eq(b->shape[0], 19, "one target per text row");
        }
        if (strstr(b->name, ".loss")) {
            losses++;
            cr_assert_eq(b->size, 4);
        }
        if (b->kind != CK_BUF_ACTIVATION_GRADIENT)
            continue;
        grads++;
        cr_assert_eq(b->dtype, CK_DTYPE_F32, "%s", b->name);
        cr_assert_eq(p->section_kinds[b->section], CK_SECTION_DECODER, "%s: the vision encoder is frozen", b->name);
        size_t len = strlen(b->name);
        cr_assert(len > 5 && strcmp(b->name + len - 5, ".grad") == 0, "%s", b->name);
        if (strcmp(b->name + len - 7, ".x.grad") == 0) {
            shares++;
            continue;
        }
        const ck_buffer *a = &p->buffers[i - 1];
        cr_assert_eq(strncmp(a->name, b->name, len - 5), 0, "%s does not follow its activation (%s)", b->name, a->name);
        cr_assert_eq(a->name[len - 5], '\0');
        cr_assert_eq(a->ndim, b->ndim);
        cr_assert_arr_eq(a->shape, b->shape, a->ndim * sizeof(size_t), "%s", b->name);
    }
    /* per text layer (2): attn_norm out, q, k, v, attention, attn_residual,
     * mlp_norm out, gate, up, act, mlp_residual (11) and the shares of both
     * norms and the gate (3); header: embedding; footer: final norm, logits */
    cr_assert_eq(grads, 2 * (11 + 3) + 1 + 2);
    cr_assert_eq(shares, 2 * 3);
    cr_assert_eq(targets, 1);
    cr_assert_eq(losses, 1);
    ck_plan_free(p);
    /* forward plans have none */
    p = plan_of(m, (ck_plan_opts){0});
    cr_assert_eq(p->by_kind[CK_BUF_ACTIVATION_GRADIENT], 0);
    ck_plan_free(p);
    ck_model_free(m);
}
