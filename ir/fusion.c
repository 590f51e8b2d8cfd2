/* fusion.c — the fusion-flag pass (ck_fusion.h, docs/fusion.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ck_fusion.h"
#include "ck_plan.h"

static const char *const fusion_names[CK_FUSE_COUNT] = {
    [CK_FUSE_GATE_UP] = "gate_up",   [CK_FUSE_NORM_MLP] = "norm_mlp",     [CK_FUSE_ACT_DOWN] = "act_down",
    [CK_FUSE_NORM_QKV] = "norm_qkv", [CK_FUSE_ATTN_PROJ] = "attn_proj",   [CK_FUSE_QKV_ROPE] = "qkv_rope",
    [CK_FUSE_ADD_NORM] = "add_norm", [CK_FUSE_EMBED_NORM] = "embed_norm",
};

static const uint32_t fusion_ops[CK_FUSE_COUNT] = {
    [CK_FUSE_GATE_UP] = CK_OP_GATE_UP,   [CK_FUSE_NORM_MLP] = CK_OP_NORM_MLP,     [CK_FUSE_ACT_DOWN] = CK_OP_ACT_DOWN,
    [CK_FUSE_NORM_QKV] = CK_OP_NORM_QKV, [CK_FUSE_ATTN_PROJ] = CK_OP_ATTN_PROJ,   [CK_FUSE_QKV_ROPE] = CK_OP_QKV_ROPE,
    [CK_FUSE_ADD_NORM] = CK_OP_ADD_NORM, [CK_FUSE_EMBED_NORM] = CK_OP_EMBED_NORM,
};

const char *ck_fusion_name(unsigned f)
{
    return f < CK_FUSE_COUNT ? fusion_names[f] : "?";
}

uint32_t ck_fusion_op(unsigned f)
{
    return f < CK_FUSE_COUNT ? fusion_ops[f] : CK_OP_NONE;
}

int ck_fusion_parse(const char *spec, uint32_t *mask, char *err, size_t err_len)
{
    *mask = 0;
    if (!spec || strcmp(spec, "none") == 0)
        return 0;
    if (strcmp(spec, "all") == 0) {
        *mask = CK_FUSE_ALL;
        return 0;
    }
    const char *p = spec;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        unsigned f = 0;
        while (f < CK_FUSE_COUNT && !(strlen(fusion_names[f]) == l && strncmp(fusion_names[f], p, l) == 0))
            f++;
        if (f == CK_FUSE_COUNT) {
            if (err)
                snprintf(err, err_len,
                         "--fuse: unknown fusion '%.*s'; expected all, none or a comma list of embed_norm, "
                         "norm_qkv, qkv_rope, attn_proj, norm_mlp, gate_up, act_down, add_norm",
                         (int)l, p);
            return -1;
        }
        *mask |= 1u << f;
        if (f == CK_FUSE_ACT_DOWN) /* every activation act_down has */
            *mask |= CK_FUSE_ACT_DOWN_UNARY;
        p = e ? e + 1 : p + l;
    }
    return 0;
}

void ck_fusion_format(uint32_t mask, char *buf, size_t len)
{
    mask &= CK_FUSE_FUSIONS; /* the condition bit is no fusion of its own */
    if (mask == 0 || mask == CK_FUSE_FUSIONS) {
        snprintf(buf, len, "%s", mask ? "all" : "none");
        return;
    }
    size_t at = 0;
    buf[0] = 0;
    for (unsigned f = 0; f < CK_FUSE_COUNT; f++)
        if (mask & (1u << f)) {
            int k = snprintf(buf + at, len > at ? len - at : 0, "%s%s", at ? "," : "", fusion_names[f]);
            if (k > 0)
                at += (size_t)k;
        }
}

/* ---- matching ---------------------------------------------------------------- */

static int is_norm(uint32_t op)
{
    return op == CK_OP_RMSNORM || op == CK_OP_LAYERNORM;
}

static int reads(const ck_fnode *n, int id)
{
    for (int i = 0; i < CK_FNODE_IO; i++)
        if (id >= 0 && n->in[i] == id)
            return 1;
    return 0;
}

/* act_down's activations: swiglu and gelu for every act_down kernel,
 * gelu_erf and quick_gelu only with CK_FUSE_ACT_DOWN_UNARY allowed. */
static int act_down_activation(uint32_t op, uint32_t allowed)
{
    if (op == CK_OP_SWIGLU || op == CK_OP_GELU)
        return 1;
    return (op == CK_OP_GELU_ERF || op == CK_OP_QUICK_GELU) && (allowed & CK_FUSE_ACT_DOWN_UNARY);
}

/* The length of the run of nodes forming fusion f at i (ops in order, each
 * member reading its predecessor's output), or 0. */
static size_t match_at(const ck_fnode *v, size_t n, size_t i, unsigned f, uint32_t allowed)
{
    const ck_fnode *a = &v[i], *b = i + 1 < n ? &v[i + 1] : NULL, *c = i + 2 < n ? &v[i + 2] : NULL;
    if (!b)
        return 0;
    switch (f) {
    case CK_FUSE_EMBED_NORM: return a->op == CK_OP_EMBEDDING && is_norm(b->op) && reads(b, a->out[0]) ? 2 : 0;
    case CK_FUSE_ADD_NORM: /* every row the add writes normed: not a prompt's footer, which norms the last */
        return a->op == CK_OP_ADD && is_norm(b->op) && reads(b, a->out[0]) && a->shape.n == b->shape.T * b->shape.D ? 2
                                                                                                                    : 0;
    case CK_FUSE_NORM_QKV: return is_norm(a->op) && b->op == CK_OP_QKV && reads(b, a->out[0]) ? 2 : 0;
    case CK_FUSE_QKV_ROPE: return a->op == CK_OP_QKV && b->op == CK_OP_ROPE && reads(b, a->out[0]) ? 2 : 0;
    case CK_FUSE_ATTN_PROJ: return a->op == CK_OP_ATTENTION && b->op == CK_OP_LINEAR && reads(b, a->out[0]) ? 2 : 0;
    case CK_FUSE_NORM_MLP:
        if (!(is_norm(a->op) && b->op == CK_OP_LINEAR && reads(b, a->out[0])))
            return 0;
        return c && c->op == CK_OP_LINEAR && reads(c, a->out[0]) ? 3 : 2;
    case CK_FUSE_GATE_UP:
        return c && a->op == CK_OP_LINEAR && b->op == CK_OP_LINEAR && c->op == CK_OP_SWIGLU && a->in[0] == b->in[0] &&
                       reads(c, a->out[0]) && reads(c, b->out[0])
                   ? 3
                   : 0;
    case CK_FUSE_ACT_DOWN:
        return act_down_activation(a->op, allowed) && b->op == CK_OP_LINEAR && reads(b, a->out[0]) ? 2 : 0;
    }
    return 0;
}

/* Fusions whose first member's output is defined to be written (it is the
 * residual stream): embed.y and add.y. */
static int writes_first_output(unsigned f)
{
    return f == CK_FUSE_EMBED_NORM || f == CK_FUSE_ADD_NORM;
}

static int read_in(const ck_fnode *v, size_t from, size_t to, int id)
{
    for (size_t j = from; j < to; j++)
        if (reads(&v[j], id))
            return 1;
    return 0;
}

static size_t bytes_of(const ck_fnode *v, size_t n, int id)
{
    for (size_t j = 0; j < n; j++)
        for (int k = 0; k < CK_FNODE_IO; k++)
            if (id >= 0 && v[j].out[k] == id)
                return v[j].out_bytes[k];
    return 0; /* a model input (token ids, image): read once either way */
}

/* An intermediate: an output of a member, read inside the group, that the
 * fused kernel may leave unwritten. */
static int is_intermediate(const ck_fnode *v, size_t i, size_t len, unsigned f, size_t member, int k)
{
    int id = v[i + member].out[k];
    if (id < 0 || (member == 0 && k == 0 && writes_first_output(f)))
        return 0;
    return read_in(v, i + member + 1, i + len, id);
}

/* Legal only if no node after the group reads an intermediate. */
static int legal(const ck_fnode *v, size_t n, size_t i, size_t len, unsigned f)
{
    for (size_t m = 0; m < len; m++)
        for (int k = 0; k < CK_FNODE_IO; k++)
            if (is_intermediate(v, i, len, f, m, k) && read_in(v, i + len, n, v[i + m].out[k]))
                return 0;
    return 1;
}

/* Activation bytes the unfused members move minus those the fused op moves:
 * it reads each outside input once and writes only what is not an
 * intermediate. */
static size_t bytes_saved(const ck_fnode *v, size_t n, size_t i, size_t len, unsigned f)
{
    size_t unfused = 0, fused = 0;
    for (size_t m = 0; m < len; m++)
        for (int k = 0; k < CK_FNODE_IO; k++) {
            const ck_fnode *x = &v[i + m];
            if (x->in[k] >= 0) {
                size_t b = bytes_of(v, n, x->in[k]);
                unfused += b;
                int produced_inside = 0, seen_before = 0;
                for (size_t p = 0; p < m; p++) {
                    for (int q = 0; q < CK_FNODE_IO; q++)
                        produced_inside |= v[i + p].out[q] == x->in[k];
                    seen_before |= reads(&v[i + p], x->in[k]);
                }
                for (int q = 0; q < k; q++)
                    seen_before |= x->in[q] == x->in[k];
                if (!produced_inside && !seen_before)
                    fused += b;
            }
            if (x->out[k] >= 0) {
                unfused += x->out_bytes[k];
                if (!is_intermediate(v, i, len, f, m, k))
                    fused += x->out_bytes[k];
            }
        }
    return unfused > fused ? unfused - fused : 0;
}

/* The best candidate starting at each node, then a choice of non-overlapping
 * groups that saves the most bytes: weighted interval scheduling on a line,
 * solved exactly from the end (ties go to the unfused node, then to the
 * earlier fusion in enum order, so the result is deterministic). */
int ck_fuse(const ck_fnode *nodes, size_t n, uint32_t allowed, ck_fusion_result *res)
{
    memset(res, 0, sizeof *res);
    size_t cells = (n ? n : 1) * CK_FUSE_COUNT;
    size_t *cand_len = calloc(cells, sizeof *cand_len); /* [i][f]: legal allowed match length */
    size_t *cand_saved = calloc(cells, sizeof *cand_saved);
    size_t *best = calloc(n + 1, sizeof *best);         /* bytes saved by nodes [i, n) */
    int *choice = malloc((n ? n : 1) * sizeof *choice); /* fusion chosen at i, -1 none */
    res->steps = malloc((n ? n : 1) * sizeof *res->steps);
    if (!cand_len || !cand_saved || !best || !choice || !res->steps) {
        free(cand_len), free(cand_saved), free(best), free(choice), free(res->steps);
        res->steps = NULL;
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        for (unsigned f = 0; f < CK_FUSE_COUNT; f++) {
            size_t len = match_at(nodes, n, i, f, allowed);
            if (!len)
                continue;
            res->matched[f]++;
            if (!(allowed & (1u << f)))
                continue;
            if (!legal(nodes, n, i, len, f)) {
                res->blocked[f]++;
                continue;
            }
            cand_len[i * CK_FUSE_COUNT + f] = len;
            cand_saved[i * CK_FUSE_COUNT + f] = bytes_saved(nodes, n, i, len, f);
        }
    for (size_t i = n; i-- > 0;) {
        best[i] = best[i + 1];
        choice[i] = -1;
        for (unsigned f = 0; f < CK_FUSE_COUNT; f++) {
            size_t len = cand_len[i * CK_FUSE_COUNT + f];
            if (len && cand_saved[i * CK_FUSE_COUNT + f] + best[i + len] > best[i]) {
                best[i] = cand_saved[i * CK_FUSE_COUNT + f] + best[i + len];
                choice[i] = (int)f;
            }
        }
    }
    for (size_t i = 0; i < n;) {
        ck_step *s = &res->steps[res->n_steps++];
        s->first = i;
        s->fusion = choice[i];
        s->count = choice[i] >= 0 ? cand_len[i * CK_FUSE_COUNT + (unsigned)choice[i]] : 1;
        s->bytes_saved = choice[i] >= 0 ? cand_saved[i * CK_FUSE_COUNT + (unsigned)choice[i]] : 0;
        if (choice[i] >= 0)
            res->applied[choice[i]]++;
        res->bytes_saved += s->bytes_saved;
        i += s->count;
    }
    free(cand_len), free(cand_saved), free(best), free(choice);
    return 0;
}

void ck_fusion_result_free(ck_fusion_result *res)
{
    free(res->steps);
    res->steps = NULL;
    res->n_steps = 0;
}

uint32_t ck_fusion_section_allowed(const ck_model *m, size_t sec, uint32_t allowed)
{
    for (size_t i = 0; i < m->n_sections; i++)
        if (m->sections[i].has_bridge && m->sections[i].bridge_to == sec)
            allowed &= ~(1u << CK_FUSE_EMBED_NORM);
    /* mixed matrix dtypes (a GGUF file's): a fused kernel is picked for one
     * weight dtype, so only the f32 add_norm stays */
    for (size_t r = 0; r < CK_ROLE_DTYPE_SLOTS; r++)
        if (m->sections[sec].role_dtype[r] && m->sections[sec].role_dtype[r] != m->dtype)
            allowed &= 1u << CK_FUSE_ADD_NORM;
    /* the embedding scale is applied between the two members */
    if (m->sections[sec].embedding_scale != 0.0)
        allowed &= ~(1u << CK_FUSE_EMBED_NORM);
    return allowed;
}

int ck_plan_record_fusion(ck_plan *p, const ck_model *m, uint32_t requested, uint32_t allowed, const char *plugin_name)
{
    ck_plan_fusion *rec = &p->fusion;
    memset(rec, 0, sizeof *rec);
    rec->recorded = 1;
    rec->requested = requested & CK_FUSE_ALL;
    snprintf(rec->plugin, sizeof rec->plugin, "%s", plugin_name ? plugin_name : "");
    ck_graph_opts g = {p->opts.decode, p->opts.decode_pos, p->opts.weight_dtype, p->opts.last_logits};
    for (size_t sec = 0; sec < m->n_sections; sec++) {
        if (g.decode && m->sections[sec].kind != CK_SECTION_DECODER)
            continue;
        ck_fnode *v = NULL;
        size_t n = ck_section_fnodes(m, sec, &g, &v);
        ck_fusion_result res;
        if (!n || ck_fuse(v, n, ck_fusion_section_allowed(m, sec, allowed & requested), &res)) {
            free(v);
            return -1;
        }
        for (unsigned f = 0; f < CK_FUSE_COUNT; f++)
            rec->applied[f] += res.applied[f];
        rec->bytes_saved += res.bytes_saved;
        ck_fusion_result_free(&res);
        free(v);
    }
    return 0;
}

uint32_t ck_fusion_kernel_dtype(unsigned f, uint32_t weight_dtype)
{
    return f == CK_FUSE_ADD_NORM ? CK_DTYPE_F32 : weight_dtype;
}

uint32_t ck_fusion_offered(const ck_plugin *p, uint32_t weight_dtype)
{
    uint32_t offered = 0;
    for (unsigned f = 0; f < CK_FUSE_COUNT; f++)
        if (ck_plugin_kernel(p, fusion_ops[f], ck_fusion_kernel_dtype(f, weight_dtype), CK_KF_FUSED))
            offered |= 1u << f;
    const ck_kernel_desc *k = ck_plugin_kernel(p, CK_OP_ACT_DOWN, weight_dtype, CK_KF_FUSED);
    if (k && (k->flags & CK_KF_ACT_DOWN_UNARY))
        offered |= CK_FUSE_ACT_DOWN_UNARY;
    return offered;
}
