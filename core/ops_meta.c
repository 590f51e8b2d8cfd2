/* Names of ops and dtypes, an op's kind, forward op and fused members, and
 * how a shape is named: the one table the harness, the planner and the docs
 * agree on, made from ck_ops.def. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ck_host.h"

/* Every op is in the registry, with the number ck_plugin.h gives it. */
#define CK_OP_ENTRY(ID, num, ...)                                                                                      \
    CK_STATIC_ASSERT(CK_OP_##ID == (num), "ck_ops.def: " #ID " is not op " #num " in ck_plugin.h");
#include "ck_ops.def"
#undef CK_OP_ENTRY
#define CK_OP_ENTRY(ID, ...) +1
enum {
    REGISTERED_OPS = 0
#include "ck_ops.def"
};
#undef CK_OP_ENTRY
CK_STATIC_ASSERT(REGISTERED_OPS == CK_OP_COUNT - 1, "ck_ops.def: an op of ck_plugin.h has no registry line");

typedef struct op_info {
    const char *name;
    uint32_t kind, forward;
    size_t args_size;
} op_info;

static const op_info ops[CK_OP_COUNT] = {
    [CK_OP_NONE] = {"none", 0, CK_OP_NONE, 0},
#define CK_OP_ENTRY(ID, num, name, args, kind, FWD, ...) [CK_OP_##ID] = {name, kind, CK_OP_##FWD, sizeof(args)},
#include "ck_ops.def"
#undef CK_OP_ENTRY
};

static const char *const dtype_names[CK_DTYPE_COUNT] = {
    [CK_DTYPE_NONE] = "none", [CK_DTYPE_F32] = "f32",   [CK_DTYPE_BF16] = "bf16", [CK_DTYPE_F16] = "f16",
    [CK_DTYPE_Q8_0] = "q8_0", [CK_DTYPE_Q4_0] = "q4_0", [CK_DTYPE_I32] = "i32",
};

const char *ck_op_name(uint32_t op)
{
    return op < CK_OP_COUNT ? ops[op].name : "?";
}

uint32_t ck_op_from_name(const char *name)
{
    for (uint32_t i = 1; name && i < CK_OP_COUNT; i++)
        if (strcmp(ops[i].name, name) == 0)
            return i;
    return CK_OP_NONE;
}

uint32_t ck_op_kind(uint32_t op)
{
    return op > CK_OP_NONE && op < CK_OP_COUNT ? ops[op].kind : 0;
}

size_t ck_op_args_size(uint32_t op)
{
    return op < CK_OP_COUNT ? ops[op].args_size : 0;
}

const char *ck_dtype_name(uint32_t dtype)
{
    return dtype < CK_DTYPE_COUNT && dtype_names[dtype] ? dtype_names[dtype] : "?";
}

uint32_t ck_dtype_from_name(const char *name)
{
    for (uint32_t i = 1; name && i < CK_DTYPE_COUNT; i++)
        if (dtype_names[i] && strcmp(dtype_names[i], name) == 0)
            return i;
    return CK_DTYPE_NONE;
}

/* The members of a fused op, in order (CK_OP_NONE ends the list). */
static const uint32_t fused_members[CK_OP_COUNT][4] = {
#define CK_FUSED_ENTRY(ID, m0, m1, m2) [CK_OP_##ID] = {CK_OP_##m0, CK_OP_##m1, CK_OP_##m2, CK_OP_NONE},
#include "ck_ops.def"
#undef CK_FUSED_ENTRY
};

const uint32_t *ck_op_members(uint32_t op)
{
    return ck_op_kind(op) == CK_OPK_FUSED ? fused_members[op] : NULL;
}

uint32_t ck_activation_of(uint32_t op)
{
    switch (op) {
    case CK_OP_SWIGLU: return CK_ACTIVATION_SWIGLU;
    case CK_OP_GELU: return CK_ACTIVATION_GELU;
    case CK_OP_GELU_ERF: return CK_ACTIVATION_GELU_ERF;
    case CK_OP_QUICK_GELU: return CK_ACTIVATION_QUICK_GELU;
    default: return UINT32_MAX;
    }
}

uint32_t ck_activation_op(uint32_t kind)
{
    static const uint32_t ops_of[] = {CK_OP_SWIGLU, CK_OP_GELU, CK_OP_GELU_ERF, CK_OP_QUICK_GELU};
    return kind < sizeof ops_of / sizeof ops_of[0] ? ops_of[kind] : CK_OP_NONE;
}

uint32_t ck_op_forward_of(uint32_t op)
{
    return op > CK_OP_NONE && op < CK_OP_COUNT ? ops[op].forward : op;
}

static void describe_more(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void describe_more(char *buf, size_t len, const char *fmt, ...)
{
    size_t n = strnlen(buf, len);
    if (n + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, len - n, fmt, ap);
    va_end(ap);
}

/* How a shape is named (the shape column of ck_ops.def): op, then what
 * tells two cases of it apart. */
static void shape_n(const ck_shape *s, const char *op, const char *dt, char *buf, size_t len)
{
    snprintf(buf, len, "%s n=%zu", op, s->n);
}

static void shape_norm(const ck_shape *s, const char *op, const char *dt, char *buf, size_t len)
{
    snprintf(buf, len, "%s T=%zu D=%zu", op, s->T, s->D);
}

/* with and without beta are two cases: the name must tell them apart */
static void shape_layernorm(const ck_shape *s, const char *op, const char *dt, char *buf, size_t len)
{
    snprintf(buf, len, "%s T=%zu D=%zu%s", op, s->T, s->D, s->has_bias ? " +bias" : "");
}

static void shape_linear(const ck_shape *s, const char *op, const char *dt, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s T=%zu K=%zu N=%zu%s", op, dt, s->T, s->K, s->N, s->has_bias ? " +bias" : "");
}

static void shape_qkv(const ck_shape *s, const char *op, const char *dt, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s T=%zu D=%zu H=%zu Hkv=%zu hd=%zu%s", op, dt, s->T, s->D, s->n_heads, s->n_kv_heads,
             s->head_dim, s->has_bias ? " +bias" : "");
}

/* a partial rotary_dim, a window or a cap makes another case: named */
static void shape_rope(const ck_shape *s, const char *op, const char *dt, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s T=%zu H=%zu Hkv=%zu hd=%zu pos=%zu", op, s->pairing ? "gptj" : "neox", s->T, s->n_heads,
             s->n_kv_heads, s->head_dim, s->pos);
    if (s->rotary_dim)
        describe_more(buf, len, " rd=%zu", s->rotary_dim);
}

static void shape_attention(const ck_shape *s, const char *op, const char *dt, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s%s T=%zu S=%zu H=%zu Hkv=%zu hd=%zu pos=%zu", op, s->causal ? "causal" : "bidir",
             s->materialize ? " mat" : "", s->T, s->S, s->n_heads, s->n_kv_heads, s->head_dim, s->pos);
    if (s->window)
        describe_more(buf, len, " W=%zu", s->window);
    if (s->softcap != 0.0f)
        describe_more(buf, len, " cap=%g", (double)s->softcap);
    if (s->scale != 0.0f)
        describe_more(buf, len, " scale=%g", (double)s->scale);
}

static void shape_embedding(const ck_shape *s, const char *op, const char *dt, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s T=%zu vocab=%zu D=%zu", op, dt, s->T, s->vocab, s->D);
}

static void shape_quant(const ck_shape *s, const char *op, const char *dt, char *buf, size_t len)
{
    snprintf(buf, len, "%s %s n=%zu", op, dt, s->n);
}

static void shape_cross_entropy(const ck_shape *s, const char *op, const char *dt, char *buf, size_t len)
{
    snprintf(buf, len, "%s T=%zu V=%zu%s", op, s->T, s->vocab, s->loss_only ? " loss-only" : "");
}

void ck_shape_describe(const ck_shape *s, char *buf, size_t len)
{
    const char *op = ck_op_name(s->op), *dt = ck_dtype_name(s->dtype);
    switch (s->op) {
#define CK_OP_ENTRY(ID, num, name, args, kind, FWD, cost, tol, shape, ...)                                             \
    case CK_OP_##ID:                                                                                                   \
        shape(s, op, dt, buf, len);                                                                                    \
        break;
#include "ck_ops.def"
#undef CK_OP_ENTRY
    default: shape_n(s, op, dt, buf, len); break;
    }
}
