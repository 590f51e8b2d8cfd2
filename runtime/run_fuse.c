/* run_fuse.c — grouping bound steps into units: a fused kernel where the
 * plugin offers one and the fusion pass allows it, else one step a unit. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "run_internal.h"

/* ---- fusion: group bound steps into units ---------------------------------- */

static uint32_t norm_kind(uint32_t op)
{
    return op == CK_OP_LAYERNORM ? CK_NORM_LAYER : CK_NORM_RMS;
}

/* The fused args from the members' own (already bound) args. */
static void build_fused(unit *u, const step *m)
{
    switch (u->fusion) {
    case CK_FUSE_EMBED_NORM:
        u->args.embed_norm = (ck_fused_embed_norm_args){m[0].args.emb, m[1].args.norm, norm_kind(m[1].pub.op)};
        break;
    case CK_FUSE_NORM_QKV:
        u->args.norm_qkv = (ck_fused_norm_qkv_args){m[0].args.norm, m[1].args.qkv, norm_kind(m[0].pub.op)};
        break;
    case CK_FUSE_QKV_ROPE: u->args.qkv_rope = (ck_fused_qkv_rope_args){m[0].args.qkv, m[1].args.rope}; break;
    case CK_FUSE_ATTN_PROJ: u->args.attn_proj = (ck_fused_attn_proj_args){m[0].args.attn, m[1].args.linear}; break;
    case CK_FUSE_NORM_MLP: {
        ck_linear_args none = {0};
        u->args.norm_mlp =
            (ck_fused_norm_mlp_args){m[0].args.norm, u->count == 3 ? m[1].args.linear : none,
                                     u->count == 3 ? m[2].args.linear : m[1].args.linear, norm_kind(m[0].pub.op)};
        break;
    }
    case CK_FUSE_GATE_UP:
        u->args.gate_up = (ck_fused_gate_up_args){m[0].args.linear, m[1].args.linear, m[2].args.swiglu};
        break;
    case CK_FUSE_ACT_DOWN: {
        ck_fused_act_down_args a = {0};
        a.act_kind = ck_activation_of(m[0].pub.op);
        if (m[0].pub.op == CK_OP_SWIGLU)
            a.swiglu = m[0].args.swiglu;
        else
            a.gelu = m[0].args.unary;
        a.down = m[1].args.linear;
        u->args.act_down = a;
        break;
    }
    case CK_FUSE_ADD_NORM:
        u->args.add_norm = (ck_fused_add_norm_args){m[0].args.add, m[1].args.norm, norm_kind(m[1].pub.op)};
        break;
    }
}

/* The outputs a fused group defines (the ones a fused kernel must write). */
static void fused_outputs(unit *u, const step *m)
{
    size_t keep[3] = {u->count - 1, SIZE_MAX, SIZE_MAX};
    if (u->fusion == CK_FUSE_EMBED_NORM || u->fusion == CK_FUSE_ADD_NORM)
        keep[1] = 0;
    if (u->fusion == CK_FUSE_QKV_ROPE)
        keep[0] = 0; /* q, k rotated in place, v as written */
    if (u->fusion == CK_FUSE_NORM_MLP && u->count == 3)
        keep[1] = 1;
    u->pub.n_out = 0;
    for (int k = 0; k < 3; k++)
        for (size_t o = 0; keep[k] != SIZE_MAX && o < m[keep[k]].pub.n_out && u->pub.n_out < 3; o++)
            u->pub.out[u->pub.n_out++] = m[keep[k]].pub.out[o];
}

static uint32_t weight_dtype_of(const ck_runner *r)
{
    return r->plan->opts.weight_dtype ? r->plan->opts.weight_dtype : r->model->dtype;
}

static uint32_t fusion_dtype(const ck_runner *r, unsigned f)
{
    return ck_fusion_kernel_dtype(f, weight_dtype_of(r));
}

/* What the plugin offers of the requested fusions, for section `sec`. */
static uint32_t allowed_fusions(const ck_runner *r, size_t sec)
{
    /* fused kernels implement compute f32 only: with compute bf16, no group
     * may take a linear / qkv away from its compute-bf16 kernel */
    if (r->opts.compute == CK_COMPUTE_BF16 && ck_compute_applies(CK_OP_LINEAR, weight_dtype_of(r)))
        return 0;
    uint32_t offered = 0; /* any plugin of the chain; run_pick_kernel takes the first that has it */
    for (size_t i = 0; i < r->n_chain; i++)
        offered |= ck_fusion_offered(r->chain[i], weight_dtype_of(r));
    uint32_t allowed = r->opts.fuse_mask & offered;
    return ck_fusion_section_allowed(r->model, sec, allowed);
}

static int add_unit(ck_runner *r, size_t first, size_t count, int fusion)
{
    unit *nu = realloc(r->units, (r->n_units + 1) * sizeof *nu);
    if (!nu)
        return -1;
    r->units = nu;
    unit *u = &r->units[r->n_units++];
    memset(u, 0, sizeof *u);
    u->first = first, u->count = count, u->fusion = fusion;
    u->pub = r->steps[first].pub;
    u->pub.first = first;
    u->pub.count = count;
    if (fusion < 0)
        return 0;
    const step *m = &r->steps[first];
    /* labels are at most 95 characters: keep room for "+<fusion>" */
    int k = snprintf(u->pub.label, sizeof u->pub.label, "%.80s+%s", m[0].pub.label, ck_fusion_name((unsigned)fusion));
    (void)k;
    u->pub.op = ck_fusion_op((unsigned)fusion);
    u->pub.dtype = fusion_dtype(r, (unsigned)fusion);
    build_fused(u, m);
    fused_outputs(u, m);
    /* after the args: a kernel without a window, cap or partial rope they use is passed over */
    u->kernel = run_pick_kernel(r, u->pub.op, u->pub.dtype, CK_KF_FUSED, &u->args, &u->pub.plugin, &u->pub.fallback);
    return 0;
}

/* Run the fusion pass per section and lay out the units. */
/* Every unit's arguments against docs/ops.md's rules, once, before any
 * kernel sees them: a failure here is a binding bug, not a kernel's. */
int run_check_units(const ck_runner *r, char *err, size_t len)
{
    for (size_t i = 0; i < r->n_units; i++) {
        const unit *u = &r->units[i];
        const void *args = u->fusion < 0 ? (const void *)&r->steps[u->first].args : (const void *)&u->args;
        char why[CK_ERR_LEN];
        if (ck_op_check_args(u->pub.op, args, why, sizeof why))
            return run_failf(err, len, "%s: internal: bound arguments break the op's rules: %s", u->pub.label, why);
        if (u->fusion >= 0 && (!u->kernel || !ck_kernel_honours(u->kernel, args)))
            return run_failf(err, len, "%s: no fused %s kernel honours its %s, in the plugin nor in scalar",
                             u->pub.label, ck_op_name(u->pub.op), ck_capability_name(ck_args_needs(u->pub.op, args)));
    }
    return 0;
}

int run_group_units(ck_runner *r, char *err, size_t len)
{
    size_t at = 0;
    for (size_t si = 0; si < r->model->n_sections; si++) {
        ck_graph_opts g = {r->plan->opts.decode, r->plan->opts.decode_pos, r->plan->opts.weight_dtype,
                           r->plan->opts.last_logits};
        if (run_skipped_section(r, si))
            continue;
        ck_fnode *v = NULL;
        size_t n = ck_section_fnodes(r->model, si, &g, &v);
        ck_fusion_result res;
        if (!n || ck_fuse(v, n, allowed_fusions(r, si), &res)) {
            free(v);
            return run_failf(err, len, "%s: the fusion pass failed on section %zu", r->model->name, si);
        }
        for (size_t i = 0; i < res.n_steps; i++)
            if (add_unit(r, at + res.steps[i].first, res.steps[i].count, res.steps[i].fusion)) {
                ck_fusion_result_free(&res);
                free(v);
                return run_failf(err, len, "out of memory");
            }
        for (unsigned f = 0; f < CK_FUSE_COUNT; f++)
            r->fused_applied[f] += (uint32_t)res.applied[f];
        r->bytes_saved += res.bytes_saved;
        at += n;
        ck_fusion_result_free(&res);
        free(v);
    }
    if (at != r->n_steps)
        return run_failf(err, len, "internal: the fusion graph has %zu nodes, the runner %zu steps", at, r->n_steps);
    return run_check_units(r, err, len);
}
