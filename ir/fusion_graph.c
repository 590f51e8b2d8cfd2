/* fusion_graph.c — the dataflow of a section for the fusion pass: each node
 * of ck_section_nodes, every layer expanded, with ids for the tensors it
 * reads and writes, following the transformer's wiring by role. */
#include <stdlib.h>
#include <string.h>

#include "ck_fusion.h"

typedef struct wiring {
    int next_id;
    int input; /* model input: token ids or image patches */
    int res;   /* the residual stream */
    int h;     /* the last norm's output */
    int q, k, v, a, o, g, u, m, d;
    int b;                /* the bridge's last output (mlp2x_gelu: through gelu to its second linear) */
    int after_final_norm; /* the footer projection reads the final norm, else the residual */
} wiring;

static size_t act_bytes(const ck_shape *s)
{
    switch (s->op) {
    case CK_OP_LINEAR: return s->T * s->N * 4;
    case CK_OP_RMSNORM:
    case CK_OP_LAYERNORM:
    case CK_OP_EMBEDDING: return s->T * s->D * 4;
    case CK_OP_ATTENTION: return s->T * s->n_heads * s->head_dim * 4;
    default: return s->n * 4;
    }
}

static void set_io(ck_fnode *f, int i0, int i1, int i2, int o0, int o1, int o2)
{
    f->in[0] = i0, f->in[1] = i1, f->in[2] = i2;
    f->out[0] = o0, f->out[1] = o1, f->out[2] = o2;
}

static void wire(wiring *w, ck_fnode *f)
{
    const ck_shape *s = &f->shape;
    size_t qb = s->T * s->n_heads * s->head_dim * 4, kvb = s->T * s->n_kv_heads * s->head_dim * 4;
    int id = w->next_id; /* this node's first output */
    set_io(f, -1, -1, -1, id, -1, -1);
    f->out_bytes[0] = act_bytes(s);
    int outs = 1;
    switch (f->role) {
    case CK_ROLE_PATCH_EMBED:
    case CK_ROLE_TOKEN_EMBED: f->in[0] = w->input, w->res = id; break;
    case CK_ROLE_POS_ADD:
    case CK_ROLE_PRE_NORM: f->in[0] = w->res, w->res = id; break;
    case CK_ROLE_ATTN_NORM:
    case CK_ROLE_MLP_NORM:
    case CK_ROLE_FINAL_NORM: f->in[0] = w->res, w->h = id; break;
    case CK_ROLE_QKV:
        set_io(f, w->h, -1, -1, id, id + 1, id + 2);
        f->out_bytes[0] = qb, f->out_bytes[1] = kvb, f->out_bytes[2] = kvb;
        w->q = id, w->k = id + 1, w->v = id + 2, outs = 3;
        break;
    case CK_ROLE_ROPE:
        set_io(f, w->q, w->k, -1, id, id + 1, -1);
        f->out_bytes[0] = qb, f->out_bytes[1] = kvb;
        w->q = id, w->k = id + 1, outs = 2;
        break;
    case CK_ROLE_Q_NORM: f->in[0] = w->q, w->q = id; break;
    case CK_ROLE_K_NORM: f->in[0] = w->k, w->k = id; break;
    case CK_ROLE_ATTENTION: set_io(f, w->q, w->k, w->v, id, -1, -1), w->a = id; break;
    case CK_ROLE_OUT_PROJ: f->in[0] = w->a, w->o = id; break;
    case CK_ROLE_POST_ATTN_NORM: f->in[0] = w->o, w->o = id; break;
    case CK_ROLE_POST_MLP_NORM: f->in[0] = w->d, w->d = id; break;
    case CK_ROLE_ATTN_RESIDUAL: f->in[0] = w->res, f->in[1] = w->o, w->res = id; break;
    case CK_ROLE_MLP_GATE: f->in[0] = w->h, w->g = id; break;
    case CK_ROLE_MLP_UP: f->in[0] = w->h, w->u = id; break;
    case CK_ROLE_MLP_ACT:
        if (s->op == CK_OP_SWIGLU || s->op == CK_OP_GEGLU)
            f->in[0] = w->g, f->in[1] = w->u;
        else
            f->in[0] = w->u;
        w->m = id;
        break;
    case CK_ROLE_MLP_DOWN: f->in[0] = w->m, w->d = id; break;
    case CK_ROLE_MLP_RESIDUAL: f->in[0] = w->res, f->in[1] = w->d, w->res = id; break;
    case CK_ROLE_BRIDGE: f->in[0] = w->after_final_norm ? w->h : w->res, w->b = id; break;
    case CK_ROLE_BRIDGE_ACT:
    case CK_ROLE_BRIDGE_OUT: f->in[0] = w->b, w->b = id; break;
    case CK_ROLE_LM_HEAD: f->in[0] = w->after_final_norm ? w->h : w->res; break;
    default: break;
    }
    w->after_final_norm = f->role == CK_ROLE_FINAL_NORM;
    w->next_id = id + outs;
}

size_t ck_section_fnodes(const ck_model *m, size_t sec, const ck_graph_opts *opts, ck_fnode **out)
{
    *out = NULL;
    ck_node nodes[CK_MAX_SECTION_NODES];
    size_t k = ck_section_nodes(m, sec, opts, nodes);
    size_t layers = m->sections[sec].n_layers, n_layer_nodes = 0;
    for (size_t i = 0; i < k; i++)
        n_layer_nodes += nodes[i].part == CK_PART_LAYER;
    size_t total = k - n_layer_nodes + n_layer_nodes * layers;
    ck_fnode *v = calloc(total ? total : 1, sizeof *v);
    if (!v || k == 0) {
        free(v);
        return 0;
    }
    wiring w = {.next_id = 1, .input = 0, .res = -1, .h = -1};
    size_t n = 0;
    for (size_t i = 0; i < k; i++) {
        if (nodes[i].part == CK_PART_LAYER && (i == 0 || nodes[i - 1].part != CK_PART_LAYER)) {
            size_t first = i, last = i;
            while (last < k && nodes[last].part == CK_PART_LAYER)
                last++;
            for (size_t l = 0; l < layers; l++)
                for (size_t j = first; j < last; j++) {
                    ck_fnode *f = &v[n++];
                    f->op = nodes[j].shape.op, f->role = nodes[j].role, f->layer = (uint32_t)l;
                    f->shape = nodes[j].shape;
                    wire(&w, f);
                }
            i = last - 1;
            continue;
        }
        ck_fnode *f = &v[n++];
        f->op = nodes[i].shape.op, f->role = nodes[i].role, f->shape = nodes[i].shape;
        wire(&w, f);
    }
    *out = v;
    return n;
}
