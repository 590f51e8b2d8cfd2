/* A GGUF file as the model: the tests write llama, qwen2, qwen3, gemma,
 * gemma2, gemma3 and phi3 files with the spec's key names
 * (tests/support/gguf_writer.c) and mixed dtypes (q8_0 layers, f16
 * embedding and head, f32 norms); the model built from the metadata, its
 * plan's per-tensor dtypes and totals, `ckbench plan / parity / run --model
 * FILE.gguf` (the run on the file's own weights, phi3's fused tensors split
 * by rows), and a one-line refusal for each thing that cannot be the model.
 * About 760 lines: every test builds its file with the one spec writer
 * below; split, the files would each need a copy of it. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ck_gguf.h"
#include "ck_ir.h"
#include "ck_plan.h"
#include "ck_run.h"
#include "gguf_writer.h"

enum { D = 64, L = 2, H = 4, HKV = 2, HD = 16, F = 96, V = 40, CTX = 24, MAXT = 32 };

/* A whole llama-family file in memory: tensors and their bytes. */
typedef struct spec {
    const char *arch;
    uint32_t layer_dt, embed_dt, head_dt; /* head_dt 0: tied (no output.weight) */
    int bias, tokens, qk_norm;            /* q/k/v biases; a token list in the metadata; q/k norms */
    int post_norms, fused;                /* gemma2 / 3: post_attention_norm, post_ffw_norm; phi3: attn_qkv, ffn_up */
    gguf_out_tensor t[MAXT];
    size_t shapes[MAXT][2];
    char names[MAXT][64];
    void *data[MAXT];
    size_t n;
} spec;

static uint64_t rng = 0x243f6a8885a308d3ull;
static uint32_t next(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 11);
}

/* Bytes of a [rows, cols] tensor in dt with small values: f16 of magnitude
 * 2^-7..2^-6, q8_0 blocks with scale 2^-8, f32 norms of 1. */
static void *fill(uint32_t dt, size_t rows, size_t cols, size_t *bytes)
{
    size_t n = rows * cols;
    *bytes = dt == CK_DTYPE_Q8_0 ? n / 32 * 34 : n * (dt == CK_DTYPE_F32 ? 4 : 2);
    unsigned char *p = malloc(*bytes);
    for (size_t i = 0; i < n && dt == CK_DTYPE_F32; i++)
        ((float *)p)[i] = 1.0f;
    for (size_t i = 0; i < n && dt == CK_DTYPE_F16; i++)
        ((uint16_t *)p)[i] = (uint16_t)(0x2000 | (next() & 0x83ff));
    for (size_t b = 0; b < n / 32 && dt == CK_DTYPE_Q8_0; b++) {
        uint16_t scale = 0x1c00; /* 2^-8 */
        memcpy(p + b * 34, &scale, 2);
        for (int k = 0; k < 32; k++)
            p[b * 34 + 2 + k] = (unsigned char)(next() & 0xff);
    }
    return p;
}

static void add(spec *s, const char *name, uint32_t dt, size_t rows, size_t cols)
{
    size_t i = s->n++;
    cr_assert_lt(i, MAXT);
    snprintf(s->names[i], sizeof s->names[i], "%s", name);
    s->shapes[i][0] = rows, s->shapes[i][1] = cols;
    size_t bytes;
    s->data[i] = fill(dt, rows, cols, &bytes);
    s->t[i] = (gguf_out_tensor){
        s->names[i], dt, rows == 1 ? 1 : 2, rows == 1 ? &s->shapes[i][1] : s->shapes[i], s->data[i], bytes, 0};
}

static void build(spec *s)
{
    char name[64];
    s->n = 0;
    add(s, "token_embd.weight", s->embed_dt, V, D);
    for (int l = 0; l < L; l++) {
        static const struct {
            const char *what;
            size_t rows, cols;
        } m[] = {{"attn_q.weight", H * HD, D},      {"attn_k.weight", HKV * HD, D}, {"attn_v.weight", HKV * HD, D},
                 {"attn_output.weight", D, H * HD}, {"ffn_gate.weight", F, D},      {"ffn_up.weight", F, D},
                 {"ffn_down.weight", D, F}};
        snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
        add(s, name, CK_DTYPE_F32, 1, D);
        snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
        add(s, name, CK_DTYPE_F32, 1, D);
        for (size_t k = 0; k < sizeof m / sizeof m[0]; k++) {
            if (s->fused && (k == 1 || k == 2 || k == 4)) /* k, v in attn_qkv; gate in ffn_up */
                continue;
            snprintf(name, sizeof name, "blk.%d.%s", l, s->fused && k == 0 ? "attn_qkv.weight" : m[k].what);
            size_t rows = !s->fused ? m[k].rows : k == 0 ? (H + 2 * HKV) * HD : k == 5 ? 2 * F : m[k].rows;
            add(s, name, s->layer_dt, rows, m[k].cols);
        }
        for (int k = 0; k < 2 && s->post_norms; k++) {
            snprintf(name, sizeof name, "blk.%d.%s", l, k ? "post_ffw_norm.weight" : "post_attention_norm.weight");
            add(s, name, CK_DTYPE_F32, 1, D);
        }
        for (int k = 0; k < 2 && s->qk_norm; k++) {
            snprintf(name, sizeof name, "blk.%d.attn_%c_norm.weight", l, "qk"[k]);
            add(s, name, CK_DTYPE_F32, 1, HD);
        }
        for (int k = 0; k < 3 && s->bias; k++) {
            snprintf(name, sizeof name, "blk.%d.attn_%c.bias", l, "qkv"[k]);
            add(s, name, CK_DTYPE_F32, 1, k == 0 ? H * HD : HKV * HD);
        }
    }
    add(s, "output_norm.weight", CK_DTYPE_F32, 1, D);
    if (s->head_dt)
        add(s, "output.weight", s->head_dt, V, D);
}

static void release(spec *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->data[i]);
}

/* The metadata of the spec, with `drop` left out and n_extra `extra` added. */
static void write_file_kvs(spec *s, const char *path, const char *drop, const gguf_out_kv *extra, size_t n_extra)
{
    char k[16][64];
    const char *a = s->arch;
    snprintf(k[0], 64, "%s.embedding_length", a);
    snprintf(k[1], 64, "%s.block_count", a);
    snprintf(k[2], 64, "%s.feed_forward_length", a);
    snprintf(k[3], 64, "%s.attention.head_count", a);
    snprintf(k[4], 64, "%s.attention.head_count_kv", a);
    snprintf(k[5], 64, "%s.attention.key_length", a);
    snprintf(k[6], 64, "%s.rope.freq_base", a);
    snprintf(k[7], 64, "%s.rope.dimension_count", a);
    snprintf(k[8], 64, "%s.attention.layer_norm_rms_epsilon", a);
    snprintf(k[9], 64, "%s.context_length", a);
    gguf_out_kv all[] = {{"general.architecture", GGUF_STRING, 0, 0, a},
                         {k[0], GGUF_U32, D, 0, NULL},
                         {k[1], GGUF_U32, L, 0, NULL},
                         {k[2], GGUF_U32, F, 0, NULL},
                         {k[3], GGUF_U32, H, 0, NULL},
                         {k[4], GGUF_U32, HKV, 0, NULL},
                         {k[5], GGUF_U32, HD, 0, NULL},
                         {k[6], GGUF_F32, 0, 500000.0, NULL},
                         {k[7], GGUF_U32, HD, 0, NULL},
                         {k[8], GGUF_F32, 0, 1e-5, NULL},
                         {k[9], GGUF_U64, CTX, 0, NULL},
                         {"tokenizer.ggml.tokens", GGUF_ARRAY, V, 0, NULL},
                         {0},
                         {0}};
    size_t n = 0, total = sizeof all / sizeof all[0] - 2;
    gguf_out_kv kvs[24];
    for (size_t i = 0; i < total; i++)
        if (!(drop && strcmp(all[i].key, drop) == 0) && (s->tokens || all[i].type != GGUF_ARRAY))
            kvs[n++] = all[i];
    for (size_t i = 0; i < n_extra && n < sizeof kvs / sizeof kvs[0]; i++)
        kvs[n++] = extra[i];
    cr_assert_eq(gguf_write_kv(path, kvs, n, s->t, s->n), 0);
}

static void write_file(spec *s, const char *path, const char *drop, const gguf_out_kv *extra)
{
    write_file_kvs(s, path, drop, extra, extra ? 1 : 0);
}

static char tmpdir[64];

static const char *tmp_file(const char *name)
{
    static char path[160];
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/ck-ggufm-XXXXXX");
        cr_assert_not_null(mkdtemp(tmpdir));
    }
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static void remove_tmpdir(void)
{
    char cmd[128];
    if (!tmpdir[0])
        return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(gguf_model, .fini = remove_tmpdir);

/* Built in place: the tensors point at the spec's own names and shapes. */
static void llama_mixed(spec *s)
{
    *s = (spec){
        .arch = "llama", .layer_dt = CK_DTYPE_Q8_0, .embed_dt = CK_DTYPE_F16, .head_dt = CK_DTYPE_F16, .tokens = 1};
    build(s);
}

static const ck_buffer *buffer(const ck_plan *p, const char *name)
{
    for (size_t i = 0; i < p->n_buffers; i++)
        if (strcmp(p->buffers[i].name, name) == 0)
            return &p->buffers[i];
    return NULL;
}

Test(gguf_model, metadata_becomes_the_model_and_tensors_their_dtypes)
{
    spec s;
    llama_mixed(&s);
    const char *path = tmp_file("llama-mixed.gguf");
    write_file(&s, path, NULL, NULL);
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_open(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    const ck_section *t = &m->sections[0];
    cr_assert(t->d_model == D && t->n_layers == L && t->d_ff == F && t->n_heads == H && t->n_kv_heads == HKV &&
              t->head_dim == HD && t->seq_len == CTX && t->vocab == V);
    cr_assert_float_eq(t->rope_theta, 500000.0, 0.0);
    cr_assert_float_eq(t->norm_eps, 1e-5f, 1e-12f);
    cr_assert_eq(t->rope_pairing, CK_ROPE_GPTJ, "llama.cpp's llama rotates adjacent pairs");
    cr_assert_eq(t->tie_embeddings, 0);
    ck_plan *p = NULL;
    cr_assert_eq(ck_plan_build(m, &(ck_plan_opts){0}, &p, err, sizeof err), 0, "%s", err);
    const struct {
        const char *name;
        uint32_t dt;
    } want[] = {{"text.layer.1.qkv.wq", CK_DTYPE_Q8_0},         {"text.layer.0.mlp_down.w", CK_DTYPE_Q8_0},
                {"text.header.embedding.table", CK_DTYPE_F16},  {"text.footer.lm_head.w", CK_DTYPE_F16},
                {"text.layer.0.attn_norm.gamma", CK_DTYPE_F32}, {"text.footer.final_norm.gamma", CK_DTYPE_F32}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const ck_buffer *b = buffer(p, want[i].name);
        cr_assert_not_null(b, "%s", want[i].name);
        cr_assert_eq(b->dtype, want[i].dt, "%s is %s", want[i].name, ck_dtype_name(b->dtype));
    }
    ck_plan_free(p);
    ck_model_free(m);
    release(&s);
}

/* The file's own weights: the embedding rows are its f16 table widened. */
Test(gguf_model, a_run_uses_the_files_weights)
{
    spec s;
    llama_mixed(&s);
    const char *path = tmp_file("llama-run.gguf");
    write_file(&s, path, NULL, NULL);
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_open(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(scalar, "%s", err);
    ck_run_opts o = {.seed = 3, .gguf_path = path};
    ck_runner *r = ck_runner_create(m, scalar, scalar, &o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    ck_exec_ctx *ctx = ck_exec_create(1);
    cr_assert_eq(ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err), 0, "%s", err);
    const ck_plan *p = ck_runner_plan(r);
    const char *base = ck_runner_base(r);
    const int32_t *ids = (const int32_t *)(base + buffer(p, "text.header.embedding.ids")->offset);
    const float *out = (const float *)(base + buffer(p, "text.header.embedding.out")->offset);
    const uint16_t *table = s.data[0];
    for (size_t t = 0; t < CTX; t++)
        for (size_t k = 0; k < D; k++) {
            uint16_t h = table[(size_t)ids[t] * D + k];
            /* f16 normal: sign, 5-bit exponent (bias 15), 10-bit mantissa */
            float want = (h & 0x8000 ? -1.0f : 1.0f) * (1.0f + (float)(h & 0x3ff) / 1024.0f) *
                         (float)((double)(1u << ((h >> 10) & 0x1f)) / 32768.0);
            cr_assert_eq(out[t * D + k], want, "row %zu col %zu", t, k);
        }
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
    release(&s);
}

static int ckbench(const char *args, char *out, size_t cap)
{
    const char *bin = getenv("CK_CKBENCH");
    char cmd[1024];
    cr_assert_not_null(bin, "CK_CKBENCH is not set");
    snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", bin, args);
    FILE *f = popen(cmd, "r");
    cr_assert_not_null(f);
    size_t n = 0;
    char chunk[4096];
    for (size_t k; (k = fread(chunk, 1, sizeof chunk, f)) > 0;) { /* drain it all, keep the tail */
        if (n + k >= cap) {
            size_t drop = n + k - (cap - 1) < n ? n + k - (cap - 1) : n;
            memmove(out, out + drop, n - drop);
            n -= drop;
        }
        size_t take = k < cap - 1 - n ? k : cap - 1 - n;
        memcpy(out + n, chunk + k - take, take);
        n += take;
    }
    out[n] = 0;
    int rc = pclose(f);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

Test(gguf_model, plan_parity_bench_and_run_take_the_file)
{
    spec s;
    llama_mixed(&s);
    const char *path = tmp_file("llama-cli.gguf");
    write_file(&s, path, NULL, NULL);
    static char out[1 << 16];
    char args[512];
    snprintf(args, sizeof args, "plan --model %s --layout %s/layout.json", path, tmpdir);
    cr_assert_eq(ckbench(args, out, sizeof out), 0, "%s", out);
    cr_assert(strstr(out, "llama-cli"), "%s", out);
    /* one plugin against scalar on the file's own instances is what "parity
     * takes the file" needs; the gate proper (make test-parity) runs every
     * plugin and the edge suite */
    snprintf(args, sizeof args, "parity --plugin avx2 --model %s --suite model", path);
    cr_assert_eq(ckbench(args, out, sizeof out), 0, "%s", out);
    snprintf(args, sizeof args,
             "bench --plugin avx2 --model %s --min-time 0.01 --repetitions 1 --threads 1 --no-scalar --out "
             "%s/bench.json",
             path, tmpdir);
    /* avx2 has no q8_0 kernels (the quant plugin has): those rows say so and
     * the exit status is 1; the f16 head (at prefill, on the prompt's last
     * row) and the f32 ops are timed */
    int brc = ckbench(args, out, sizeof out);
    cr_assert(brc <= 1 && strstr(out, "linear f16 T=1 K=64 N=40") && strstr(out, "rmsnorm T=24 D=64"), "bench: %s",
              out);
    const char *plugins[] = {"scalar", "avx2", "avx512"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(args, sizeof args, "run --plugin %s --model %s", plugins[i], path);
        int rc = ckbench(args, out, sizeof out);
        if (strstr(out, "does not run here"))
            continue;
        cr_assert_eq(rc, 0, "%s: %s", plugins[i], out);
        cr_assert(strstr(out, "output:"), "%s", out);
    }
    release(&s);
}

/* qwen2: q / k / v biases, halves rotated (neox), a tied head. */
Test(gguf_model, qwen2_tied_with_biases)
{
    spec s = {.arch = "qwen2", .layer_dt = CK_DTYPE_F16, .embed_dt = CK_DTYPE_F16, .bias = 1};
    build(&s);
    const char *path = tmp_file("qwen2-tied.gguf");
    write_file(&s, path, NULL, NULL);
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_open(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    cr_assert_eq(m->sections[0].tie_embeddings, 1);
    cr_assert_eq(m->sections[0].qkv_bias, 1);
    cr_assert_eq(m->sections[0].rope_pairing, CK_ROPE_NEOX);
    cr_assert_eq(m->sections[0].vocab, V, "from token_embd.weight without a token list");
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    ck_run_opts o = {.seed = 3, .gguf_path = path};
    ck_runner *r = ck_runner_create(m, scalar, scalar, &o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    ck_exec_ctx *ctx = ck_exec_create(1);
    cr_assert_eq(ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err), 0, "%s", err);
    cr_assert_null(buffer(ck_runner_plan(r), "text.footer.lm_head.w"));
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
    release(&s);
}

/* qwen3: per-head q / k norms from the file, run on its weights. */
Test(gguf_model, qwen3_with_qk_norm)
{
    spec s = {.arch = "qwen3", .layer_dt = CK_DTYPE_Q8_0, .embed_dt = CK_DTYPE_F16, .qk_norm = 1, .tokens = 1};
    build(&s);
    const char *path = tmp_file("qwen3.gguf");
    write_file(&s, path, NULL, NULL);
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_open(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    cr_assert_eq(m->sections[0].qk_norm, 1);
    cr_assert_eq(m->sections[0].tie_embeddings, 1);
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    ck_run_opts o = {.seed = 3, .gguf_path = path};
    ck_runner *r = ck_runner_create(m, scalar, scalar, &o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    ck_exec_ctx *ctx = ck_exec_create(1);
    cr_assert_eq(ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err), 0, "%s", err);
    const ck_buffer *gb = buffer(ck_runner_plan(r), "text.layer.1.q_norm.gamma");
    cr_assert_not_null(gb);
    const float *gamma = (const float *)((const char *)ck_runner_base(r) + gb->offset);
    for (size_t i = 0; i < HD; i++)
        cr_assert_eq(gamma[i], 1.0f, "the file's q_norm gamma (1), not a seeded one");
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
    release(&s);
}

/* Llama 3.1's rope scaling as llama.cpp's converter stores it: rope_freqs
 * divisors, here for factor 8, low / high 1 / 4, original context 16. The
 * run's tables are those of the same scaling given in a model file. */
Test(gguf_model, rope_freqs_scale_the_tables_like_rope_scaling)
{
    spec s;
    llama_mixed(&s);
    add(&s, "rope_freqs.weight", CK_DTYPE_F32, 1, HD / 2);
    float *f = s.data[s.n - 1];
    const double pi = 3.14159265358979323846;
    for (size_t i = 0; i < HD / 2; i++) {
        double freq = pow(500000.0, -2.0 * (double)i / HD), wavelen = 2 * pi / freq;
        double smooth = (16.0 / wavelen - 1.0) / (4.0 - 1.0);
        f[i] = wavelen < 16.0 / 4 ? 1.0f : wavelen > 16.0 / 1 ? 8.0f : (float)(1.0 / ((1 - smooth) / 8.0 + smooth));
    }
    const char *path = tmp_file("llama31.gguf");
    write_file(&s, path, NULL, NULL);
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_open(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    cr_assert_not_null(m->sections[0].rope_freq_factors);
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    ck_run_opts o = {.seed = 3, .gguf_path = path};
    ck_runner *r = ck_runner_create(m, scalar, scalar, &o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(ck_runner_prepare(r, err, sizeof err), 0, "%s", err);
    const float *cos_tab =
        (const float *)((const char *)ck_runner_base(r) + buffer(ck_runner_plan(r), "text.header.rope.cos")->offset);
    float want_cos[CTX * HD / 2], want_sin[CTX * HD / 2];
    ck_rope_scaling sc = {8.0, 1.0, 4.0, 16};
    ck_rope_tables_scaled(500000.0, HD, CTX, &sc, want_cos, want_sin);
    for (size_t i = 0; i < CTX * HD / 2; i++)
        cr_assert(fabsf(cos_tab[i] - want_cos[i]) <= 1e-6f, "cos[%zu]: %.9g, with rope_scaling %.9g", i, cos_tab[i],
                  want_cos[i]);
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
    release(&s);
}

static void expect_refusal(const char *path, const char *message)
{
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_open(path, err, sizeof err);
    cr_assert_null(m, "accepted %s", path);
    cr_assert_str_eq(err, message);
    cr_assert_null(strchr(err, '\n'), "one line: %s", err);
}

Test(gguf_model, what_cannot_be_the_model_is_refused_in_one_line)
{
    char want[512];
    spec s;
    llama_mixed(&s);
    const char *p = tmp_file("no-blocks.gguf");
    write_file(&s, p, "llama.block_count", NULL);
    snprintf(want, sizeof want,
             "%s: llama.block_count: expected an unsigned integer, found nothing (the key is required)", p);
    expect_refusal(p, want);
    gguf_out_kv partial = {"llama.rope.dimension_count", GGUF_U32, 7, 0, NULL};
    p = tmp_file("partial.gguf");
    write_file(&s, p, "llama.rope.dimension_count", &partial);
    snprintf(want, sizeof want,
             "%s: llama.rope.dimension_count: expected an even number from 2 to the head dimension (16), found 7", p);
    expect_refusal(p, want);
    gguf_out_kv window = {"llama.attention.sliding_window", GGUF_U32, 4, 0, NULL};
    p = tmp_file("llama-window.gguf");
    write_file(&s, p, NULL, &window);
    snprintf(want, sizeof want,
             "%s: llama.attention.sliding_window: a window on llama is not implemented (which layers?)", p);
    expect_refusal(p, want);
    release(&s);
    s = (spec){.arch = "mamba", .layer_dt = CK_DTYPE_F16, .embed_dt = CK_DTYPE_F16, .head_dt = CK_DTYPE_F16};
    build(&s);
    p = tmp_file("mamba.gguf");
    write_file(&s, p, NULL, NULL);
    snprintf(want, sizeof want,
             "%s: general.architecture: expected llama, qwen2, qwen3, gemma, gemma2, gemma3 or phi3, found \"mamba\"",
             p);
    expect_refusal(p, want);
    release(&s);
    /* gemma3 needs its window; phi3's fused tensors their rows; scaled rope is refused */
    s = (spec){.arch = "gemma3", .layer_dt = CK_DTYPE_F16, .embed_dt = CK_DTYPE_F16, .qk_norm = 1, .post_norms = 1};
    build(&s);
    p = tmp_file("gemma3-nowindow.gguf");
    write_file(&s, p, NULL, NULL);
    snprintf(want, sizeof want,
             "%s: gemma3.attention.sliding_window: expected an unsigned integer, found nothing (the key is required)",
             p);
    expect_refusal(p, want);
    gguf_out_kv linear[] = {{"gemma3.attention.sliding_window", GGUF_U32, 4, 0, NULL},
                            {"gemma3.rope.scaling.type", GGUF_STRING, 0, 0, "linear"}};
    p = tmp_file("gemma3-linear.gguf");
    write_file_kvs(&s, p, NULL, linear, 2);
    snprintf(want, sizeof want,
             "%s: gemma3.rope.scaling.type: \"linear\" rope scaling is not implemented (expected none)", p);
    expect_refusal(p, want);
    release(&s);
    s = (spec){.arch = "phi3", .layer_dt = CK_DTYPE_F16, .embed_dt = CK_DTYPE_F16, .head_dt = CK_DTYPE_F16, .fused = 1};
    build(&s);
    size_t up = 0;
    while (strcmp(s.names[up], "blk.0.ffn_up.weight") != 0)
        up++;
    s.shapes[up][0] = 2 * F - 32; /* 160 rows, not gate and up */
    s.t[up].bytes = (2 * F - 32) * D * 2;
    p = tmp_file("phi3-short.gguf");
    write_file(&s, p, NULL, NULL);
    snprintf(want, sizeof want, "%s: blk.0.ffn_up.weight: expected [192, 64] (gate and up rows), found another shape",
             p);
    expect_refusal(p, want);
    release(&s);
}

Test(gguf_model, a_dtype_not_implemented_names_the_tensor)
{
    spec s;
    llama_mixed(&s);
    s.t[5].raw_ggml_type = 12; /* q4_k */
    const char *p = tmp_file("q4k.gguf");
    write_file(&s, p, NULL, NULL);
    char want[512];
    snprintf(want, sizeof want,
             "%s: tensor \"%s\": ggml type 12 (q4_k) is not implemented; expected f32, f16, bf16, q8_0 or q4_0", p,
             s.names[5]);
    expect_refusal(p, want);
    s.t[5].raw_ggml_type = 0;
    /* one layer's dtype unlike the others' */
    size_t i = 0;
    while (i < s.n && strcmp(s.names[i], "blk.1.ffn_down.weight") != 0)
        i++;
    cr_assert_lt(i, s.n);
    free(s.data[i]);
    s.data[i] = fill(CK_DTYPE_F16, D, F, &s.t[i].bytes);
    s.t[i].data = s.data[i];
    s.t[i].dtype = CK_DTYPE_F16;
    p = tmp_file("varying.gguf");
    write_file(&s, p, NULL, NULL);
    snprintf(want, sizeof want,
             "%s: blk.1.ffn_down.weight: f16 where blk.0 has q8_0; dtypes varying across layers are not implemented",
             p);
    expect_refusal(p, want);
    release(&s);
}

/* Bytes of a valid file, for the damage tests. */
static unsigned char *file_bytes(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    cr_assert_not_null(f);
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(*n);
    cr_assert_eq(fread(b, 1, *n, f), *n);
    fclose(f);
    return b;
}

static void expect_parse_error(const unsigned char *b, size_t n, const char *fragment)
{
    ck_gguf g;
    char err[CK_ERR_LEN];
    cr_assert_neq(ck_gguf_parse(&g, b, n, "bad.gguf", err, sizeof err), 0, "accepted (%s)", fragment);
    cr_assert(strstr(err, fragment), "\"%s\" does not say \"%s\"", err, fragment);
    cr_assert_null(strchr(err, '\n'));
}

Test(gguf_model, damaged_files_get_one_line)
{
    spec s;
    llama_mixed(&s);
    const char *p = tmp_file("whole.gguf");
    write_file(&s, p, NULL, NULL);
    size_t n;
    unsigned char *b = file_bytes(p, &n);
    ck_gguf g;
    char err[CK_ERR_LEN];
    cr_assert_eq(ck_gguf_parse(&g, b, n, "whole.gguf", err, sizeof err), 0, "%s", err);
    cr_assert_not_null(ck_gguf_kv_find(&g, "llama.block_count"));
    ck_gguf_close(&g);
    expect_parse_error(b, n / 2, "outside the file"); /* truncated in the data */
    expect_parse_error(b, 600, "truncated");          /* truncated in the metadata */
    unsigned char *c = malloc(n);
    memcpy(c, b, n);
    uint64_t huge = UINT64_MAX / 2;
    memcpy(c + 16, &huge, 8); /* metadata count */
    expect_parse_error(c, n, "metadata count");
    memcpy(c, b, n);
    uint32_t zero = 0;
    memcpy(c + 24 + 8 + 17 + 4, &zero, 4); /* general.alignment = 0: once a division by zero */
    expect_parse_error(c, n, "general.alignment 0 is not a power of two");
    memcpy(c, b, n);
    memcpy(c + 8, &huge, 8); /* tensor count */
    expect_parse_error(c, n, "tensor count");
    memcpy(c, b, n);
    memcpy(c + 24, &huge, 8); /* the first key's length */
    expect_parse_error(c, n, "metadata key of");
    /* the first string value's length: general.architecture's, after the
     * alignment entry (8 + 17 + 4 + 4 bytes) and its key (8 + 20) and type (4) */
    memcpy(c, b, n);
    memcpy(c + 24 + 33 + 28 + 4, &huge, 8);
    expect_parse_error(c, n, "truncated");
    free(c);
    free(b);
    release(&s);
}

static ck_model *open_ok(const char *path)
{
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_open(path, err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    return m;
}

/* Bytes of the plan's weights, derived from the test's own dimensions:
 * f16 matrices (q, k, v, out and three MLP), f32 norms (two, four with post
 * norms, plus q / k norms), the f16 embedding, a tied head, the final norm. */
static size_t derived_weights(int post_norms, int qk_norm)
{
    size_t matrices = (size_t)H * HD * D + 2 * HKV * HD * D + (size_t)D * H * HD + 3 * (size_t)F * D;
    size_t norms = (post_norms ? 4 : 2) * D + (qk_norm ? 2 * HD : 0);
    return (size_t)V * D * 2 + L * (matrices * 2 + norms * 4) + D * 4;
}

/* Run the file's own weights on scalar; the plan's totals against the derived. */
static ck_runner *run_file(const ck_model *m, const char *path, ck_plugin **scalar, int post_norms, int qk_norm,
                           size_t tables)
{
    char err[CK_ERR_LEN];
    *scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(*scalar, "%s", err);
    ck_run_opts o = {.seed = 3, .gguf_path = path};
    ck_runner *r = ck_runner_create(m, *scalar, *scalar, &o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    const ck_plan *p = ck_runner_plan(r);
    cr_assert_eq(p->by_kind[CK_BUF_WEIGHT], derived_weights(post_norms, qk_norm), "weights %zu, derived %zu",
                 p->by_kind[CK_BUF_WEIGHT], derived_weights(post_norms, qk_norm));
    cr_assert_eq(p->by_kind[CK_BUF_TABLE], tables, "tables %zu, derived %zu", p->by_kind[CK_BUF_TABLE], tables);
    ck_exec_ctx *ctx = ck_exec_create(1);
    cr_assert_eq(ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err), 0, "%s", err);
    ck_exec_destroy(ctx);
    return r;
}

/* gemma2: geglu, sqrt(D) embedding scale, post norms, a window on even
 * layers, llama.cpp's default caps 50 / 30 (the keys absent) */
Test(gguf_model, gemma2_windows_caps_and_post_norms)
{
    spec s = {.arch = "gemma2", .layer_dt = CK_DTYPE_F16, .embed_dt = CK_DTYPE_F16, .post_norms = 1, .tokens = 1};
    build(&s);
    const char *path = tmp_file("gemma2.gguf");
    gguf_out_kv window = {"gemma2.attention.sliding_window", GGUF_U32, 5, 0, NULL};
    write_file(&s, path, NULL, &window);
    ck_model *m = open_ok(path);
    const ck_section *t = &m->sections[0];
    cr_assert(t->activation == CK_ACT_GEGLU && t->post_norms && t->tie_embeddings && !t->qk_norm);
    cr_assert_float_eq(t->embedding_scale, 8.0, 1e-12, "sqrt(64)");
    cr_assert_float_eq(t->attn_softcap, 50.0, 0.0);
    cr_assert_float_eq(t->final_softcap, 30.0, 0.0);
    cr_assert_float_eq(t->attn_scalar, (double)HD, 0.0);
    cr_assert(ck_section_layer_window(t, 0) == 5 && ck_section_layer_window(t, 1) == 0);
    ck_plugin *scalar;
    ck_runner *r = run_file(m, path, &scalar, 1, 0, 2 * CTX * (HD / 2) * 4);
    const ck_buffer *gb = buffer(ck_runner_plan(r), "text.layer.1.post_mlp_norm.gamma");
    cr_assert_not_null(gb);
    cr_assert_eq(((const float *)((const char *)ck_runner_base(r) + gb->offset))[0], 1.0f, "the file's gamma");
    size_t n;
    const float *logits = ck_runner_output(r, &n);
    for (size_t i = 0; i < n; i++)
        cr_assert(fabsf(logits[i]) <= 30.0f, "logit %zu beyond the final cap: %g", i, (double)logits[i]);
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
    release(&s);
}

/* gemma3: q / k norms, local layers (five of six) with their window and
 * rope base 10000 (rope.freq_base_swa absent), no caps */
Test(gguf_model, gemma3_local_layers)
{
    spec s = {.arch = "gemma3", .layer_dt = CK_DTYPE_F16, .embed_dt = CK_DTYPE_F16, .post_norms = 1, .qk_norm = 1};
    build(&s);
    const char *path = tmp_file("gemma3.gguf");
    gguf_out_kv window = {"gemma3.attention.sliding_window", GGUF_U32, 7, 0, NULL};
    write_file(&s, path, NULL, &window);
    ck_model *m = open_ok(path);
    const ck_section *t = &m->sections[0];
    cr_assert(t->qk_norm && t->post_norms && t->global_every == 6 && t->attn_softcap == 0.0 && t->final_softcap == 0.0);
    cr_assert_float_eq(t->rope_local_theta, 10000.0, 0.0);
    cr_assert(ck_section_layer_window(t, 0) == 7 && ck_section_layer_window(t, 1) == 7, "layers 0, 1 are local");
    ck_plugin *scalar;
    ck_runner *r = run_file(m, path, &scalar, 1, 1, 2 * 2 * CTX * (HD / 2) * 4); /* global and local tables */
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
    /* a pattern the file states wins over the architecture's six */
    gguf_out_kv pattern[] = {window, {"gemma3.attention.sliding_window_pattern", GGUF_U32, 2, 0, NULL}};
    path = tmp_file("gemma3-pattern.gguf");
    write_file_kvs(&s, path, NULL, pattern, 2);
    m = open_ok(path);
    cr_assert(m->sections[0].global_every == 2 && ck_section_layer_window(&m->sections[0], 1) == 0);
    ck_model_free(m);
    release(&s);
}

/* phi3: q, k, v are row ranges of attn_qkv and gate, up of ffn_up, copied
 * straight from the file; the sliding window read from its key */
Test(gguf_model, phi3_splits_the_fused_tensors)
{
    spec s = {.arch = "phi3", .layer_dt = CK_DTYPE_Q8_0, .embed_dt = CK_DTYPE_F16, .head_dt = CK_DTYPE_F16, .fused = 1};
    build(&s);
    const char *path = tmp_file("phi3.gguf");
    gguf_out_kv kv[] = {{"phi3.attention.sliding_window", GGUF_U32, 9, 0, NULL},
                        {"phi3.rope.dimension_count", GGUF_U32, 8, 0, NULL}};
    write_file_kvs(&s, path, "phi3.rope.dimension_count", kv, 2);
    ck_model *m = open_ok(path);
    const ck_section *t = &m->sections[0];
    cr_assert(t->role_dtype[CK_ROLE_QKV] == CK_DTYPE_Q8_0 && t->role_dtype[CK_ROLE_MLP_GATE] == CK_DTYPE_Q8_0 &&
              t->role_dtype[CK_ROLE_MLP_UP] == CK_DTYPE_Q8_0);
    cr_assert(t->rotary_dim == 8 && ck_section_layer_window(t, 1) == 9 && t->rope_pairing == CK_ROPE_NEOX);
    char err[CK_ERR_LEN];
    ck_plugin *scalar = ck_plugin_load("scalar", err, sizeof err);
    ck_run_opts o = {.seed = 3, .gguf_path = path};
    ck_runner *r = ck_runner_create(m, scalar, scalar, &o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    ck_exec_ctx *ctx = ck_exec_create(1);
    cr_assert_eq(ck_runner_forward(r, ctx, NULL, NULL, err, sizeof err), 0, "%s", err);
    const size_t row = D / 32 * 34; /* a q8_0 row of 64 values */
    static const struct {
        const char *ours, *theirs;
        size_t first_row, rows;
    } parts[] = {{"text.layer.1.qkv.wq", "blk.1.attn_qkv.weight", 0, H * HD},
                 {"text.layer.1.qkv.wk", "blk.1.attn_qkv.weight", H * HD, HKV * HD},
                 {"text.layer.1.qkv.wv", "blk.1.attn_qkv.weight", (H + HKV) * HD, HKV * HD},
                 {"text.layer.1.mlp_gate.w", "blk.1.ffn_up.weight", 0, F},
                 {"text.layer.1.mlp_up.w", "blk.1.ffn_up.weight", F, F}};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        const ck_buffer *b = buffer(ck_runner_plan(r), parts[i].ours);
        cr_assert_not_null(b, "%s", parts[i].ours);
        cr_assert_eq(b->size, parts[i].rows * row, "%s", parts[i].ours);
        size_t k = 0;
        while (k < s.n && strcmp(s.names[k], parts[i].theirs) != 0)
            k++;
        cr_assert_lt(k, s.n);
        cr_assert_eq(memcmp((const char *)ck_runner_base(r) + b->offset,
                            (const char *)s.data[k] + parts[i].first_row * row, b->size),
                     0, "%s: not rows %zu.. of %s", parts[i].ours, parts[i].first_row, parts[i].theirs);
    }
    ck_exec_destroy(ctx);
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
    release(&s);
}

/* gemma (1): geglu, the embedding scale, a tied head; no windows */
Test(gguf_model, gemma_geglu_and_scale)
{
    spec s = {.arch = "gemma", .layer_dt = CK_DTYPE_F16, .embed_dt = CK_DTYPE_F16};
    build(&s);
    const char *path = tmp_file("gemma.gguf");
    write_file(&s, path, NULL, NULL);
    ck_model *m = open_ok(path);
    const ck_section *t = &m->sections[0];
    cr_assert(t->activation == CK_ACT_GEGLU && !t->post_norms && t->tie_embeddings && t->sliding_window == 0);
    cr_assert_float_eq(t->embedding_scale, 8.0, 1e-12);
    ck_plugin *scalar;
    ck_runner *r = run_file(m, path, &scalar, 0, 0, 2 * CTX * (HD / 2) * 4);
    ck_runner_free(r);
    ck_plugin_unload(scalar);
    ck_model_free(m);
    release(&s);
}
