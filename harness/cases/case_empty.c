/* case_empty.c — an op's call with nothing to do (ck_case.h,
 * ck_case_make_empty): docs/ops.md's "a zero count (T, n, N, ...) that
 * leaves every output empty is a successful no-op that touches no
 * pointer", as a host may make it. */
#include "case_internal.h"

int ck_case_make_empty(ck_case *c, int *status)
{
    case_args *a = &c->args;
    *status = CK_OK;
    switch (c->shape.op) {
    case CK_OP_RMSNORM:
    case CK_OP_LAYERNORM: a->norm.T = 0; break;
    case CK_OP_LINEAR: a->linear.T = 0; break;
    case CK_OP_QKV: a->qkv.T = 0; break;
    case CK_OP_ROPE:
    case CK_OP_ROPE_BWD: a->rope.T = 0; break;
    case CK_OP_ATTENTION: a->attention.T = 0; break;
    case CK_OP_SWIGLU:
    case CK_OP_GEGLU: a->swiglu.n = 0; break;
    case CK_OP_GELU:
    case CK_OP_GELU_ERF:
    case CK_OP_QUICK_GELU: a->unary.n = 0; break;
    case CK_OP_ADD: a->add.n = 0; break;
    case CK_OP_EMBEDDING: a->embedding.T = 0; break;
    case CK_OP_ADAM: a->adam.n = 0; break;
    case CK_OP_QUANTIZE:
    case CK_OP_DEQUANTIZE: a->quant.n = 0; break;
    case CK_OP_SWIGLU_BWD:
    case CK_OP_GEGLU_BWD: a->swiglu_bwd.n = 0; break;
    case CK_OP_GELU_BWD:
    case CK_OP_GELU_ERF_BWD:
    case CK_OP_QUICK_GELU_BWD: a->unary_bwd.n = 0; break;
    case CK_OP_EMBEDDING_BWD: a->embedding_bwd.T = 0; break;
    case CK_OP_CROSS_ENTROPY: /* the mean over no tokens: declined (docs/ops.md) */
        a->cross_entropy.T = 0;
        *status = CK_E_UNSUPPORTED;
        break;
    case CK_OP_EMBED_NORM: a->embed_norm.embed.T = a->embed_norm.norm.T = 0; break;
    case CK_OP_NORM_QKV: a->norm_qkv.norm.T = a->norm_qkv.qkv.T = 0; break;
    case CK_OP_QKV_ROPE: a->qkv_rope.qkv.T = a->qkv_rope.rope.T = 0; break;
    case CK_OP_ATTN_PROJ: a->attn_proj.attn.T = a->attn_proj.proj.T = 0; break;
    case CK_OP_NORM_MLP: a->norm_mlp.norm.T = a->norm_mlp.gate.T = a->norm_mlp.up.T = 0; break;
    case CK_OP_GATE_UP:
        a->gate_up.gate.T = a->gate_up.up.T = 0;
        a->gate_up.act.n = 0;
        break;
    case CK_OP_ACT_DOWN:
        a->act_down.swiglu.n = a->act_down.gelu.n = 0;
        a->act_down.down.T = 0;
        break;
    case CK_OP_ADD_NORM:
        a->add_norm.add.n = 0;
        a->add_norm.norm.T = 0;
        break;
    default:
        /* the backward ops with weight gradients (norm_bwd's dgamma,
         * linear_bwd's and qkv_bwd's dW and db, attention_bwd's dk, dv):
         * over no rows those are written, as zeros (docs/ops.md) */
        return -1;
    }
    c->shape.T = c->shape.n = 0;
    for (size_t i = 0; i < c->n_members; i++)
        c->members[i].T = c->members[i].n = 0;
    return 0;
}
