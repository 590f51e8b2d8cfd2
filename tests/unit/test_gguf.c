/* GGUF weights: a file the test writes from a seeded run gives the same
 * logits as the seeded run (by layout.json names and by llama.cpp names,
 * f32/bf16 and q8_0), and bad files are refused in one line. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ck_gguf.h"
#include "ck_ir.h"
#include "ck_run.h"
#include "gguf_writer.h"

static char path_buf[1024];

static const char *model_path(const char *name)
{
    const char *src = getenv("CK_SOURCE_DIR");
    snprintf(path_buf, sizeof path_buf, "%s/ir/models/%s", src ? src : ".", name);
    return path_buf;
}

typedef struct world {
    ck_model *m;
    ck_plugin *scalar;
    ck_exec_ctx *ctx;
} world;

static world open_world(const char *model)
{
    char err[CK_ERR_LEN];
    world w = {ck_model_load(model_path(model), err, sizeof err), NULL, ck_exec_create(1)};
    cr_assert_not_null(w.m, "%s", err);
    w.scalar = ck_plugin_load("scalar", err, sizeof err);
    cr_assert_not_null(w.scalar, "%s", err);
    return w;
}

static void close_world(world *w)
{
    ck_exec_destroy(w->ctx);
    ck_plugin_unload(w->scalar);
    ck_model_free(w->m);
}

/* Forward and copy the logits out. */
static float *logits(world *w, const ck_run_opts *o, size_t *n, char *err)
{
    ck_runner *r = ck_runner_create(w->m, w->scalar, w->scalar, o, err, CK_ERR_LEN);
    if (!r)
        return NULL;
    float *out = NULL;
    if (ck_runner_forward(r, w->ctx, NULL, NULL, err, CK_ERR_LEN) == 0) {
        const float *y = ck_runner_output(r, n);
        out = malloc(*n * sizeof *out);
        memcpy(out, y, *n * sizeof *out);
    }
    ck_runner_free(r);
    return out;
}

/* Write every planned weight of a seeded run to `file`, named by layout.json
 * or through `rename` (NULL: keep). Returns the number written. */
static size_t export_weights(world *w, const ck_run_opts *o, const char *file,
                             void (*rename)(const ck_buffer *, char *, size_t))
{
    char err[CK_ERR_LEN];
    ck_runner *r = ck_runner_create(w->m, w->scalar, w->scalar, o, err, sizeof err);
    cr_assert_not_null(r, "%s", err);
    cr_assert_eq(ck_runner_prepare(r, err, sizeof err), 0, "%s", err);
    const ck_plan *p = ck_runner_plan(r);
    gguf_out_tensor *t = calloc(p->n_buffers, sizeof *t);
    char(*names)[128] = calloc(p->n_buffers, 128);
    size_t n = 0;
    for (size_t i = 0; i < p->n_buffers; i++) {
        const ck_buffer *b = &p->buffers[i];
        if (b->kind != CK_BUF_WEIGHT)
            continue;
        snprintf(names[n], 128, "%s", b->name);
        if (rename)
            rename(b, names[n], 128);
        t[n] =
            (gguf_out_tensor){names[n], b->dtype, b->ndim, b->shape, (char *)ck_runner_base(r) + b->offset, b->size, 0};
        n++;
    }
    cr_assert_eq(gguf_write(file, t, n), 0);
    free(t);
    free(names);
    ck_runner_free(r);
    return n;
}

static void llama_names(const ck_buffer *b, char *out, size_t len)
{
    static const char *const map[][2] = {
        {"attn_norm.gamma", "attn_norm.weight"},
        {"qkv.wq", "attn_q.weight"},
        {"qkv.wk", "attn_k.weight"},
        {"qkv.wv", "attn_v.weight"},
        {"qkv.bq", "attn_q.bias"},
        {"qkv.bk", "attn_k.bias"},
        {"qkv.bv", "attn_v.bias"},
        {"out_proj.w", "attn_output.weight"},
        {"mlp_norm.gamma", "ffn_norm.weight"},
        {"mlp_gate.w", "ffn_gate.weight"},
        {"mlp_up.w", "ffn_up.weight"},
        {"mlp_down.w", "ffn_down.weight"},
        {"header.embedding.table", "token_embd.weight"},
        {"footer.final_norm.gamma", "output_norm.weight"},
        {"footer.lm_head.w", "output.weight"},
    };
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++) {
        size_t l = strlen(b->name), k = strlen(map[i][0]);
        if (l > k && strcmp(b->name + l - k, map[i][0]) == 0) {
            if (b->part == CK_PART_LAYER)
                snprintf(out, len, "blk.%u.%s", b->layer, map[i][1]);
            else
                snprintf(out, len, "%s", map[i][1]);
            return;
        }
    }
}

static void round_trip(const char *model, uint32_t wdt, void (*rename)(const ck_buffer *, char *, size_t))
{
    char err[CK_ERR_LEN], file[] = "/tmp/ck_gguf_XXXXXX";
    int fd = mkstemp(file);
    cr_assert(fd >= 0);
    close(fd);
    world w = open_world(model);
    ck_run_opts seeded = {.seed = 7, .weight_dtype = wdt};
    size_t n_ref, n_file;
    float *ref = logits(&w, &seeded, &n_ref, err);
    cr_assert_not_null(ref, "%s", err);
    cr_assert(export_weights(&w, &seeded, file, rename) > 0);
    ck_run_opts from_file = {.seed = 7, .gguf_path = file}; /* the seed still draws the input ids */
    float *got = logits(&w, &from_file, &n_file, err);
    unlink(file);
    cr_assert_not_null(got, "%s", err);
    cr_assert_eq(n_ref, n_file);
    cr_assert(memcmp(ref, got, n_ref * sizeof *ref) == 0, "%s: logits from the GGUF file differ", model);
    free(ref), free(got);
    close_world(&w);
}

Test(gguf, weights_by_layout_names_give_identical_logits)
{
    round_trip("tiny-gqa.json", 0, NULL);
}
Test(gguf, weights_by_llama_cpp_names_give_identical_logits)
{
    round_trip("tiny-gqa.json", 0, llama_names);
}
Test(gguf, q8_0_file_plans_q8_0_weights_by_itself)
{
    round_trip("tiny-quant.json", CK_DTYPE_Q8_0, llama_names);
}
Test(gguf, f32_two_section_model)
{
    round_trip("tiny-llava.json", 0, NULL);
}

static void expect_refused(const char *bytes, size_t len, const char *want)
{
    char file[] = "/tmp/ck_gguf_bad_XXXXXX", err[CK_ERR_LEN];
    int fd = mkstemp(file);
    cr_assert(fd >= 0);
    cr_assert_eq(write(fd, bytes, len), (ssize_t)len);
    close(fd);
    ck_gguf g;
    int rc = ck_gguf_open(&g, file, err, sizeof err);
    unlink(file);
    cr_assert_eq(rc, -1, "a bad file was accepted");
    cr_assert(strstr(err, want) != NULL, "expected \"%s\" in \"%s\"", want, err);
    cr_assert(strchr(err, '\n') == NULL);
}

Test(gguf, bad_files_are_refused_in_one_line)
{
    expect_refused("GGML\3\0\0\0", 8, "not a GGUF file");
    expect_refused("GGUF\7\0\0\0"
                   "\0\0\0\0\0\0\0\0"
                   "\0\0\0\0\0\0\0\0",
                   24, "GGUF version 7, expected 2 or 3");
    expect_refused("GGUF\3\0\0\0\1\0\0\0", 12, "truncated: tensor count");
    /* one tensor whose name claims to be longer than the file */
    expect_refused("GGUF\3\0\0\0"
                   "\1\0\0\0\0\0\0\0"
                   "\0\0\0\0\0\0\0\0"
                   "\377\377\0\0\0\0\0\0x",
                   33, "truncated: tensor name");
}

Test(gguf, a_tensor_of_the_wrong_dtype_is_named)
{
    char err[CK_ERR_LEN], file[] = "/tmp/ck_gguf_dt_XXXXXX";
    int fd = mkstemp(file);
    close(fd);
    world w = open_world("tiny-quant.json");
    ck_run_opts q8 = {.seed = 3, .weight_dtype = CK_DTYPE_Q8_0};
    export_weights(&w, &q8, file, NULL);
    ck_run_opts f32 = {.seed = 3, .gguf_path = file, .weight_dtype = CK_DTYPE_F32};
    size_t n;
    float *y = logits(&w, &f32, &n, err);
    unlink(file);
    cr_assert_null(y);
    cr_assert(strstr(err, ": expected f32 with 2 dims") != NULL && strstr(err, "found q8_0") != NULL, "%s", err);
    close_world(&w);
}
