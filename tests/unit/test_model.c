/* The model parser accepts the shipped models, refuses bad fields with a
 * message that names file, section, field, expectation and finding, and the
 * graph yields the op instances (shapes) parity and bench run. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_ir.h"

static ck_model *load_shipped(const char *name)
{
    const char *root = getenv("CK_SOURCE_DIR");
    char path[1024], err[CK_ERR_LEN];
    snprintf(path, sizeof path, "%s/ir/models/%s", root ? root : ".", name);
    ck_model *m = ck_model_load(path, err, sizeof err);
    cr_assert_not_null(m, "%s: %s", name, err);
    return m;
}

/* A minimal valid decoder; tests break one field at a time. */
static const char *const base_model = "{\"name\": \"t\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"text\", "
                                      "\"kind\": \"decoder\", \"n_layers\": 2, \"d_model\": 32, \"n_heads\": 4, "
                                      "\"n_kv_heads\": 2, \"head_dim\": 8, \"d_ff\": 40, \"seq_len\": 16, "
                                      "\"vocab\": 50, \"norm\": \"rmsnorm\", \"activation\": \"swiglu\", "
                                      "\"position\": \"rope\", \"rope_theta\": 10000}]}";

/* base_model with the first `from` replaced by `to`. */
static char *mutate(const char *from, const char *to)
{
    const char *at = strstr(base_model, from);
    cr_assert_not_null(at, "test bug: '%s' not in the base model", from);
    size_t head = (size_t)(at - base_model), n = strlen(base_model) - strlen(from) + strlen(to) + 1;
    char *out = malloc(n);
    snprintf(out, n, "%.*s%s%s", (int)head, base_model, to, at + strlen(from));
    return out;
}

static void expect_error(const char *text, const char *message)
{
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_parse(text, strlen(text), "bad.json", err, sizeof err);
    cr_assert_null(m, "accepted: %s", text);
    cr_assert_str_eq(err, message);
}

static void expect_mutation_error(const char *from, const char *to, const char *message)
{
    char *text = mutate(from, to);
    expect_error(text, message);
    free(text);
}

Test(model, loads_shipped_models)
{
    const char *names[] = {"llava.json",
                           "tiny-llava.json",
                           "tiny-gqa.json",
                           "tiny-quant.json",
                           "tiny-features.json",
                           "llama-3.1-8b.json",
                           "llama-3.2-1b.json",
                           "qwen2.5-0.5b.json",
                           "qwen2.5-7b.json",
                           "mistral-7b-v0.1.json",
                           "phi-3-mini.json",
                           "qwen3-0.6b.json",
                           "gemma-3-1b.json",
                           "tiny-gemma3.json",
                           "gemma-2-2b.json",
                           "tiny-window.json",
                           "llava-onevision-qwen2-0.5b.json"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        ck_model_free(load_shipped(names[i]));
}

Test(model, llava_dimensions)
{
    ck_model *m = load_shipped("llava.json");
    cr_assert_str_eq(ck_model_name(m), "llava");
    cr_assert_eq(m->n_sections, 2);
    const ck_section *v = &m->sections[0], *t = &m->sections[1];
    cr_assert_eq(v->kind, CK_SECTION_VISION_ENCODER);
    cr_assert_eq(v->d_model, 1024);
    cr_assert_eq(v->n_layers, 23, "LLaVA-1.5 runs 23 of CLIP's 24 layers (vision_feature_layer -2)");
    cr_assert_eq(v->final_norm, 0);
    cr_assert_eq(v->seq_len, 577);
    cr_assert_eq(v->has_bridge, 1);
    cr_assert_eq(v->bridge_to, 1);
    cr_assert_eq(v->activation, CK_ACT_QUICK_GELU, "CLIP ViT-L/14-336: hidden_act quick_gelu");
    cr_assert_eq(t->kind, CK_SECTION_DECODER);
    cr_assert_eq(t->d_ff, 11008);
    cr_assert_eq(t->vocab, 32000);
    cr_assert_eq(m->dtype, CK_DTYPE_BF16);
    ck_model_free(m);
}

Test(model, base_model_is_valid)
{
    char err[CK_ERR_LEN];
    ck_model *m = ck_model_parse(base_model, strlen(base_model), "ok.json", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_model_free(m);
}

Test(model, refuses_kv_heads_not_dividing_heads)
{
    expect_mutation_error("\"n_kv_heads\": 2", "\"n_kv_heads\": 3",
                          "bad.json: section 0 \"text\": field \"n_kv_heads\": expected a divisor of n_heads (4), "
                          "found 3");
}

Test(model, refuses_unknown_field)
{
    expect_mutation_error("\"n_layers\"", "\"n_layer\"",
                          "bad.json: section 0 \"text\": field \"n_layer\": expected a known section field "
                          "(docs/layout.md), found an unknown field");
    expect_mutation_error("\"dtype\"", "\"dtpye\"",
                          "bad.json: field \"dtpye\": expected a known model field (docs/layout.md), found an "
                          "unknown field");
}

Test(model, refuses_zero_and_negative_dimensions)
{
    expect_mutation_error("\"d_ff\": 40", "\"d_ff\": 0",
                          "bad.json: section 0 \"text\": field \"d_ff\": expected an integer in [1, 4294967296], "
                          "found 0");
    expect_mutation_error("\"n_layers\": 2", "\"n_layers\": -2",
                          "bad.json: section 0 \"text\": field \"n_layers\": expected an integer in [1, 4096], "
                          "found -2");
    expect_mutation_error("\"d_ff\": 40", "\"d_ff\": 40.5",
                          "bad.json: section 0 \"text\": field \"d_ff\": expected an integer in [1, 4294967296], "
                          "found 40.5");
}

Test(model, refuses_attention_weights_that_overflow)
{
    expect_mutation_error("\"d_model\": 32, \"n_heads\": 4, \"n_kv_heads\": 2, \"head_dim\": 8, \"d_ff\": 40",
                          "\"d_model\": 4294967296, \"n_heads\": 65536, \"n_kv_heads\": 2, \"head_dim\": 65536, "
                          "\"d_ff\": 1",
                          "bad.json: section 0 \"text\": field \"d_model\": expected d_model x max(d_model, n_heads x "
                          "head_dim) weights whose byte size fits in size_t, found 4294967296");
}

Test(model, refuses_sizes_that_overflow)
{
    char *text = mutate("\"d_model\": 32, \"n_heads\": 4, \"n_kv_heads\": 2, \"head_dim\": 8, \"d_ff\": 40",
                        "\"d_model\": 4294967296, \"n_heads\": 65536, \"n_kv_heads\": 2, \"head_dim\": 65536, "
                        "\"d_ff\": 4294967296");
    expect_error(text, "bad.json: section 0 \"text\": field \"d_ff\": expected d_ff x d_model weights whose byte "
                       "size fits in size_t, found 4294967296");
    free(text);
}

Test(model, refuses_wrong_types_and_choices)
{
    expect_mutation_error("\"norm\": \"rmsnorm\"", "\"norm\": \"batchnorm\"",
                          "bad.json: section 0 \"text\": field \"norm\": expected one of rmsnorm, layernorm, found "
                          "\"batchnorm\"");
    expect_mutation_error("\"vocab\": 50", "\"vocab\": 50, \"causal\": \"yes\"",
                          "bad.json: section 0 \"text\": field \"causal\": expected true or false, found \"yes\"");
    expect_mutation_error("\"activation\": \"swiglu\"", "\"activation\": \"gelu_new\"",
                          "bad.json: section 0 \"text\": field \"activation\": expected one of swiglu, gelu, geglu, "
                          "gelu_erf, quick_gelu, found \"gelu_new\"");
    expect_mutation_error("\"dtype\": \"f32\"", "\"dtype\": \"f64\"",
                          "bad.json: field \"dtype\": expected one of f32, bf16, f16, found \"f64\"");
}

Test(model, refuses_missing_required_field)
{
    expect_mutation_error("\"vocab\": 50, ", "",
                          "bad.json: section 0 \"text\": field \"vocab\": expected an integer in [1, 4294967296], "
                          "found nothing (the field is required)");
}

Test(model, refuses_fields_of_another_kind)
{
    expect_mutation_error("\"vocab\": 50", "\"vocab\": 50, \"patch_size\": 14",
                          "bad.json: section 0 \"text\": field \"patch_size\": expected no such field in a decoder "
                          "section, found 14");
    expect_mutation_error("\"position\": \"rope\"", "\"position\": \"learned\"",
                          "bad.json: section 0 \"text\": field \"rope_theta\": expected no such field with "
                          "\"position\": \"learned\", found 10000");
}

/* The fields of published configurations (docs/layout.md): each refusal is one line. */
Test(model, refuses_bad_new_fields)
{
    expect_mutation_error("\"vocab\": 50", "\"vocab\": 50, \"sliding_window\": 0",
                          "bad.json: section 0 \"text\": field \"sliding_window\": expected an integer in [1, "
                          "4294967296], found 0");
    expect_mutation_error("\"vocab\": 50", "\"vocab\": 50, \"causal\": false, \"sliding_window\": 4",
                          "bad.json: section 0 \"text\": field \"sliding_window\": expected it only with causal "
                          "attention (a window masks earlier keys), found it with \"causal\": false");
    expect_mutation_error("\"vocab\": 50", "\"vocab\": 50, \"attn_logit_softcap\": -50",
                          "bad.json: section 0 \"text\": field \"attn_logit_softcap\": expected a number in (0, "
                          "1e+06), found -50");
    expect_mutation_error("\"vocab\": 50", "\"vocab\": 50, \"final_logit_softcap\": \"30\"",
                          "bad.json: section 0 \"text\": field \"final_logit_softcap\": expected a number in (0, "
                          "1e+06), found \"30\"");
    expect_mutation_error("\"vocab\": 50", "\"vocab\": 50, \"query_pre_attn_scalar\": 0",
                          "bad.json: section 0 \"text\": field \"query_pre_attn_scalar\": expected a number in "
                          "(0, 1e+12), found 0");
    expect_mutation_error("\"vocab\": 50", "\"vocab\": 50, \"rotary_dim\": 5",
                          "bad.json: section 0 \"text\": field \"rotary_dim\": expected an even number of at most "
                          "head_dim (8), found 5");
    expect_mutation_error("\"vocab\": 50", "\"vocab\": 50, \"rotary_dim\": 10",
                          "bad.json: section 0 \"text\": field \"rotary_dim\": expected an even number of at most "
                          "head_dim (8), found 10");
    expect_mutation_error("\"position\": \"rope\", \"rope_theta\": 10000",
                          "\"position\": \"learned\", \"rotary_dim\": 4",
                          "bad.json: section 0 \"text\": field \"rotary_dim\": expected no such field with "
                          "\"position\": \"learned\", found 4");
    expect_mutation_error("\"vocab\": 50", "\"vocab\": 50, \"embedding_scale\": 0",
                          "bad.json: section 0 \"text\": field \"embedding_scale\": expected a number in (0, 1e+06), "
                          "found 0");
    expect_mutation_error("\"vocab\": 50", "\"vocab\": 50, \"tie_word_embeddings\": 1",
                          "bad.json: section 0 \"text\": field \"tie_word_embeddings\": expected true or false, "
                          "found 1");
    expect_mutation_error("\"rope_theta\": 10000", "\"rope_theta\": 10000, \"rope_scaling\": {\"type\": \"yarn\"}",
                          "bad.json: section 0 \"text\": field \"type\": expected one of llama3, found \"yarn\"");
    expect_mutation_error("\"rope_theta\": 10000",
                          "\"rope_theta\": 10000, \"rope_scaling\": {\"type\": \"llama3\", \"factor\": 8, "
                          "\"low_freq_factor\": 4, \"high_freq_factor\": 1, \"original_context\": 8192}",
                          "bad.json: section 0 \"text\": field \"rope_scaling.high_freq_factor\": expected more than "
                          "low_freq_factor (4), found 1");
    expect_mutation_error("\"rope_theta\": 10000", "\"rope_theta\": 10000, \"rope_scaling\": {\"factr\": 8}",
                          "bad.json: section 0 \"text\": field \"factr\": expected a known rope_scaling field "
                          "(docs/layout.md), found an unknown field");
    expect_mutation_error("\"position\": \"rope\", \"rope_theta\": 10000",
                          "\"position\": \"learned\", \"rope_scaling\": {}",
                          "bad.json: section 0 \"text\": field \"rope_scaling\": expected no such field with "
                          "\"position\": \"learned\", found an object");
}

Test(model, a_model_name_may_carry_a_version_a_section_name_not)
{
    char err[CK_ERR_LEN];
    char *text = mutate("\"name\": \"t\"", "\"name\": \"llama-3.1-8b\"");
    ck_model *m = ck_model_parse(text, strlen(text), "ok.json", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    cr_assert_str_eq(ck_model_name(m), "llama-3.1-8b");
    ck_model_free(m);
    free(text);
    expect_mutation_error("\"name\": \"text\"", "\"name\": \"te.xt\"",
                          "bad.json: section 0 \"?\": field \"name\": expected 1 to 24 characters of [A-Za-z0-9_-], "
                          "found \"te.xt\"");
}

Test(model, refuses_local_layers_without_their_pair)
{
    expect_mutation_error("\"rope_theta\": 10000", "\"rope_theta\": 10000, \"global_every\": 6",
                          "bad.json: section 0 \"text\": field \"global_every\": expected it only with "
                          "\"sliding_window\" or \"rope_local_theta\" (what makes a layer local), found neither");
    expect_mutation_error("\"rope_theta\": 10000", "\"rope_theta\": 10000, \"rope_local_theta\": 10000",
                          "bad.json: section 0 \"text\": field \"global_every\": expected an integer in [1, 4096] "
                          "with \"rope_local_theta\" (which layers are local?), found nothing");
}

/* Mistral: every layer windowed; Gemma 2: even layers (global_every 2);
 * Gemma 3: five of six; a window as wide as the context masks nothing. */
Test(model, windows_per_layer)
{
    static const struct {
        const char *fields;
        size_t want[6];
    } cases[] = {
        {"\"sliding_window\": 4", {4, 4, 4, 4, 4, 4}},
        {"\"sliding_window\": 4, \"global_every\": 2", {4, 0, 4, 0, 4, 0}},
        {"\"sliding_window\": 4, \"global_every\": 6", {4, 4, 4, 4, 4, 0}},
        {"\"sliding_window\": 16", {0, 0, 0, 0, 0, 0}},
        {"\"rope_local_theta\": 100, \"global_every\": 2", {0, 0, 0, 0, 0, 0}},
    };
    char err[CK_ERR_LEN], to[160];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(to, sizeof to, "\"n_layers\": 6, %s", cases[i].fields);
        char *text = mutate("\"n_layers\": 2", to);
        ck_model *m = ck_model_parse(text, strlen(text), "ok.json", err, sizeof err);
        cr_assert_not_null(m, "%s: %s", cases[i].fields, err);
        for (size_t l = 0; l < 6; l++)
            cr_assert_eq(ck_section_layer_window(&m->sections[0], l), cases[i].want[l], "%s: layer %zu",
                         cases[i].fields, l);
        ck_model_free(m);
        free(text);
    }
}

Test(model, gemma2_fields)
{
    ck_model *m = load_shipped("gemma-2-2b.json");
    const ck_section *s = &m->sections[0];
    cr_assert_float_eq(s->attn_softcap, 50.0, 0.0);
    cr_assert_float_eq(s->final_softcap, 30.0, 0.0);
    cr_assert_float_eq(s->attn_scalar, 256.0, 0.0);
    cr_assert_eq(s->rotary_dim, 256);
    cr_assert_eq(ck_section_layer_window(s, 0), 4096);
    cr_assert_eq(ck_section_layer_window(s, 1), 0);
    ck_model_free(m);
}

Test(model, bridge_types)
{
    ck_model *m = load_shipped("llava-onevision-qwen2-0.5b.json");
    cr_assert_eq(m->sections[0].bridge_type, CK_BRIDGE_MLP2X_GELU);
    ck_node nodes[CK_MAX_SECTION_NODES];
    size_t n = ck_section_nodes(m, 0, NULL, nodes);
    /* the footer: linear 1152 -> 896, gelu (torch's nn.GELU(): the erf form)
     * over 729 x 896, linear 896 -> 896 */
    cr_assert_eq(nodes[n - 3].role, CK_ROLE_BRIDGE);
    cr_assert(nodes[n - 3].shape.K == 1152 && nodes[n - 3].shape.N == 896 && nodes[n - 3].shape.T == 729);
    cr_assert(nodes[n - 2].role == CK_ROLE_BRIDGE_ACT && nodes[n - 2].shape.op == CK_OP_GELU_ERF);
    cr_assert_eq(nodes[n - 2].shape.n, 729 * 896);
    cr_assert(nodes[n - 1].role == CK_ROLE_BRIDGE_OUT && nodes[n - 1].shape.K == 896 && nodes[n - 1].shape.N == 896);
    ck_model_free(m);
    m = load_shipped("llava.json");
    cr_assert_eq(m->sections[0].bridge_type, CK_BRIDGE_MLP2X_GELU, "LLaVA-1.5's projector is two linears");
    ck_model_free(m);
}

/* "activation" names the MLP's op: the CLIP activations are ops of their
 * own (an ungated MLP: up, the activation, down), "gelu" stays the tanh form */
Test(model, activations_pick_their_ops)
{
    static const char *const names[] = {"gelu", "gelu_erf", "quick_gelu"};
    static const uint32_t ops[] = {CK_OP_GELU, CK_OP_GELU_ERF, CK_OP_QUICK_GELU};
    for (size_t i = 0; i < 3; i++) {
        char to[64], err[CK_ERR_LEN];
        snprintf(to, sizeof to, "\"activation\": \"%s\"", names[i]);
        char *text = mutate("\"activation\": \"swiglu\"", to);
        ck_model *m = ck_model_parse(text, strlen(text), "ok.json", err, sizeof err);
        cr_assert_not_null(m, "%s: %s", names[i], err);
        ck_node nodes[CK_MAX_SECTION_NODES];
        size_t n = ck_section_nodes(m, 0, NULL, nodes), found = 0;
        for (size_t k = 0; k < n; k++)
            if (nodes[k].role == CK_ROLE_MLP_ACT) {
                cr_assert_eq(nodes[k].shape.op, ops[i], "%s", names[i]);
                cr_assert_eq(nodes[k].shape.n, 16 * 40);
                found++;
            } else {
                cr_assert_neq(nodes[k].role, CK_ROLE_MLP_GATE, "%s: no gate", names[i]);
            }
        cr_assert_eq(found, 1);
        ck_model_free(m);
        free(text);
    }
}

Test(model, refuses_qk_norm_with_layernorm)
{
    expect_mutation_error("\"norm\": \"rmsnorm\"", "\"norm\": \"layernorm\", \"qk_norm\": true",
                          "bad.json: section 0 \"text\": field \"qk_norm\": expected it only with \"norm\": "
                          "\"rmsnorm\" (an rmsnorm of each head), found true with layernorm");
}

Test(model, accepts_head_dim_independent_of_width)
{
    char err[CK_ERR_LEN];
    char *text = mutate("\"head_dim\": 8", "\"head_dim\": 6");
    ck_model *m = ck_model_parse(text, strlen(text), "ok.json", err, sizeof err);
    cr_assert_not_null(m, "%s", err);
    ck_node nodes[CK_MAX_SECTION_NODES];
    size_t n = ck_section_nodes(m, 0, NULL, nodes), seen = 0;
    for (size_t i = 0; i < n; i++) {
        const ck_shape *sh = &nodes[i].shape;
        if (nodes[i].role == CK_ROLE_QKV)
            seen += sh->D == 32 && sh->n_heads * sh->head_dim == 24;
        if (nodes[i].role == CK_ROLE_OUT_PROJ)
            seen += sh->K == 24 && sh->N == 32;
    }
    cr_assert_eq(seen, 2, "qkv reads D = 32 and writes 4 x 6; out_proj maps 24 back to 32");
    ck_model_free(m);
    free(text);
}

Test(model, refuses_bad_json_and_duplicates)
{
    expect_error("{\"name\": \"t\",\n \"dtype\": }", "bad.json: expected valid JSON, found a syntax error at line 2 "
                                                     "(byte 24)");
    expect_error("{} x", "bad.json: expected valid JSON, found a syntax error at line 1 (byte 3)");
    expect_mutation_error("\"d_ff\": 40", "\"d_ff\": 40, \"d_ff\": 40",
                          "bad.json: section 0 \"text\": field \"d_ff\": expected the field once, found it twice");
    expect_error("[]", "bad.json: expected a JSON object at the top, found an array");
}

Test(model, refuses_vision_token_count_mismatch)
{
    const char *text = "{\"name\": \"v\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"vis\", \"kind\": "
                       "\"vision_encoder\", \"n_layers\": 1, \"d_model\": 16, \"n_heads\": 2, \"head_dim\": 8, "
                       "\"d_ff\": 32, \"seq_len\": 18, \"image_size\": 12, \"patch_size\": 3, \"channels\": 3, "
                       "\"norm\": \"layernorm\", \"activation\": \"gelu\", \"position\": \"learned\"}]}";
    expect_error(text, "bad.json: section 0 \"vis\": field \"seq_len\": expected floor(image_size / patch_size)^2 "
                       "+ 1 class token = 17, found 18");
}

Test(model, refuses_bridge_to_unknown_section)
{
    const char *text = "{\"name\": \"v\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"vis\", \"kind\": "
                       "\"vision_encoder\", \"n_layers\": 1, \"d_model\": 16, \"n_heads\": 2, \"head_dim\": 8, "
                       "\"d_ff\": 32, \"seq_len\": 17, \"image_size\": 12, \"patch_size\": 3, \"channels\": 3, "
                       "\"norm\": \"layernorm\", \"activation\": \"gelu\", \"position\": \"learned\", "
                       "\"bridge\": {\"to\": \"txt\"}}]}";
    expect_error(text, "bad.json: section 0 \"vis\": field \"bridge.to\": expected the name of a later section, "
                       "found \"txt\"");
    const char *typed = "{\"name\": \"v\", \"dtype\": \"f32\", \"sections\": [{\"name\": \"vis\", \"kind\": "
                        "\"vision_encoder\", \"n_layers\": 1, \"d_model\": 16, \"n_heads\": 2, \"head_dim\": 8, "
                        "\"d_ff\": 32, \"seq_len\": 17, \"image_size\": 12, \"patch_size\": 3, \"channels\": 3, "
                        "\"norm\": \"layernorm\", \"activation\": \"gelu\", \"position\": \"learned\", "
                        "\"final_logit_softcap\": 30, \"bridge\": {\"to\": \"txt\", \"type\": \"mlp3x_gelu\"}}]}";
    expect_error(typed, "bad.json: section 0 \"vis\": field \"final_logit_softcap\": expected no such field in a "
                        "vision_encoder section (it has no logits), found 30");
    char *fixed = strdup(typed), *at = strstr(fixed, "\"final_logit_softcap\": 30, ");
    memmove(at, at + strlen("\"final_logit_softcap\": 30, "), strlen(at + strlen("\"final_logit_softcap\": 30, ")) + 1);
    expect_error(fixed, "bad.json: section 0 \"vis\": field \"type\": expected one of linear, mlp2x_gelu, found "
                        "\"mlp3x_gelu\"");
    free(fixed);
}

Test(model, refuses_missing_file)
{
    char err[CK_ERR_LEN];
    cr_assert_null(ck_model_load("/nonexistent/m.json", err, sizeof err));
    cr_assert_str_eq(err, "/nonexistent/m.json: cannot open the model file: No such file or directory");
}

/* ---- op instances -------------------------------------------------------- */

static const ck_shape *find(const ck_shape *s, size_t n, const char *label)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s[i].label, label) == 0)
            return &s[i];
    return NULL;
}

Test(graph, llava_forward_instances)
{
    ck_model *m = load_shipped("llava.json");
    ck_shape *s = NULL;
    ck_graph_opts o = {0};
    size_t n = ck_model_op_instances(m, &o, &s);
    /* the projector's second linear is new, and its gelu (erf) is an op of
     * its own, though it has the vision MLP's (quick_gelu) shape */
    cr_assert_eq(n, 22);
    const ck_shape *vact = find(s, n, "vision.layer.mlp_act"), *bact = find(s, n, "vision.footer.bridge_act");
    cr_assert(vact && vact->op == CK_OP_QUICK_GELU && vact->n == 577 * 4096);
    cr_assert(bact && bact->op == CK_OP_GELU_ERF && bact->n == 577 * 4096);
    const ck_shape *proj = find(s, n, "vision.footer.bridge_out");
    cr_assert_not_null(proj);
    cr_assert(proj->op == CK_OP_LINEAR && proj->T == 577 && proj->K == 4096 && proj->N == 4096);
    const ck_shape *patch = find(s, n, "vision.header.patch_embed");
    cr_assert_not_null(patch);
    cr_assert_eq(patch->op, CK_OP_LINEAR);
    cr_assert_eq(patch->T, 576);
    cr_assert_eq(patch->K, 588);
    cr_assert_eq(patch->N, 1024);
    cr_assert_eq(patch->dtype, CK_DTYPE_BF16);
    const ck_shape *pos = find(s, n, "vision.header.pos_add");
    cr_assert_eq(pos->op, CK_OP_ADD);
    cr_assert_eq(pos->n, 577 * 1024);
    const ck_shape *va = find(s, n, "vision.layer.attention");
    cr_assert_eq(va->causal, 0);
    cr_assert_eq(va->S, 577);
    cr_assert_eq(va->materialize, 0);
    const ck_shape *emb = find(s, n, "text.header.embedding");
    cr_assert_eq(emb->op, CK_OP_EMBEDDING);
    cr_assert_eq(emb->vocab, 32000);
    cr_assert_eq(emb->D, 4096);
    cr_assert_eq(emb->T, 2048);
    const ck_shape *rope = find(s, n, "text.layer.rope");
    cr_assert_eq(rope->max_pos, 2048);
    cr_assert_eq(rope->head_dim, 128);
    cr_assert_eq(rope->pairing, CK_ROPE_NEOX);
    const ck_shape *ta = find(s, n, "text.layer.attention");
    cr_assert_eq(ta->causal, 1);
    cr_assert_eq(ta->S, 2048);
    const ck_shape *ln = find(s, n, "vision.header.pre_norm");
    cr_assert_eq(ln->op, CK_OP_LAYERNORM);
    cr_assert_eq(ln->has_bias, 1);
    cr_assert_eq(ln->dtype, CK_DTYPE_F32);
    cr_assert_eq(find(s, n, "text.layer.mlp_act")->op, CK_OP_SWIGLU);
    cr_assert_eq(find(s, n, "text.layer.mlp_act")->n, (size_t)2048 * 11008);
    cr_assert_eq(find(s, n, "text.footer.lm_head")->N, 32000);
    /* distinct: no two instances equal but for the label */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++) {
            ck_shape a = s[i], b = s[j];
            memset(a.label, 0, sizeof a.label);
            memset(b.label, 0, sizeof b.label);
            cr_assert(memcmp(&a, &b, sizeof a) != 0, "%s and %s are the same instance", s[i].label, s[j].label);
        }
    free(s);
    ck_model_free(m);
}

Test(graph, decode_instances_are_one_token_against_the_cache)
{
    ck_model *m = load_shipped("llava.json");
    ck_shape *s = NULL;
    ck_graph_opts o = {.decode = 1, .decode_pos = 100};
    size_t n = ck_model_op_instances(m, &o, &s);
    cr_assert_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        cr_assert(strncmp(s[i].label, "vision.", 7) != 0, "encoder op in decode: %s", s[i].label);
        if (s[i].T)
            cr_assert_eq(s[i].T, 1, "%s", s[i].label);
    }
    const ck_shape *a = find(s, n, "text.layer.attention");
    cr_assert_eq(a->S, 101);
    cr_assert_eq(a->pos, 100);
    cr_assert_eq(find(s, n, "text.layer.rope")->pos, 100);
    free(s);
    o.decode_pos = 2048; /* past the context */
    char err[CK_ERR_LEN];
    cr_assert_eq(ck_model_op_instances(m, &o, &s), 0);
    cr_assert_null(s);
    cr_assert_eq(ck_graph_opts_check(m, &o, err, sizeof err), -1);
    cr_assert(strstr(err, "decode position: expected less than seq_len (2048), found 2048"), "%s", err);
    ck_model_free(m);
}

Test(graph, gqa_model_keeps_kv_heads_and_biases)
{
    ck_model *m = load_shipped("qwen2.5-0.5b.json");
    ck_shape *s = NULL;
    size_t n = ck_model_op_instances(m, NULL, &s);
    const ck_shape *q = find(s, n, "text.layer.qkv");
    cr_assert_not_null(q);
    cr_assert_eq(q->n_heads, 14);
    cr_assert_eq(q->n_kv_heads, 2);
    cr_assert_eq(q->head_dim, 64);
    cr_assert_eq(q->has_bias, 1);
    cr_assert_eq(find(s, n, "text.footer.lm_head")->N, 151936);
    free(s);
    ck_model_free(m);
}

Test(graph, weight_dtype_override)
{
    ck_model *m = load_shipped("tiny-quant.json");
    ck_shape *s = NULL;
    ck_graph_opts o = {.weight_dtype = CK_DTYPE_Q8_0};
    size_t n = ck_model_op_instances(m, &o, &s);
    cr_assert_gt(n, 0);
    for (size_t i = 0; i < n; i++) {
        uint32_t op = s[i].op;
        uint32_t want = op == CK_OP_LINEAR || op == CK_OP_QKV || op == CK_OP_EMBEDDING ? CK_DTYPE_Q8_0 : CK_DTYPE_F32;
        cr_assert_eq(s[i].dtype, want, "%s", s[i].label);
    }
    free(s);
    ck_model_free(m);

    /* LLaVA's patch projection has K = 3 x 14 x 14 = 588: not whole blocks */
    char err[CK_ERR_LEN];
    m = load_shipped("llava.json");
    cr_assert_eq(ck_model_op_instances(m, &o, &s), 0);
    cr_assert_eq(ck_graph_opts_check(m, &o, err, sizeof err), -1);
    cr_assert_str_eq(err, "model \"llava\": section 0 \"vision\": weight dtype q8_0 needs every row a multiple of 32 "
                          "values, found patch_embed (channels x patch_size^2) K=588");
    ck_model_free(m);
}

Test(graph, null_arguments)
{
    ck_shape *s = (ck_shape *)1;
    cr_assert_eq(ck_model_op_instances(NULL, NULL, &s), 0);
    cr_assert_null(s);
    cr_assert_null(ck_model_name(NULL));
    ck_model_free(NULL);
}
