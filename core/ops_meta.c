/* Names and parity rules of ops and dtypes: the one table the harness, the
 * planner and the docs agree on (docs/ops.md explains each bound). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ck_host.h"

/* Every op is in the registry, with the number ck_plugin.h gives it. */
#define CK_OP_ENTRY(ID, num, name, args, kind, FWD, cost)                                                              \
    CK_STATIC_ASSERT(CK_OP_##ID == (num), "ck_ops.def: " #ID " is not op " #num " in ck_plugin.h");
#include "ck_ops.def"
#undef CK_OP_ENTRY
#define CK_OP_ENTRY(ID, num, name, args, kind, FWD, cost) +1
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
#define CK_OP_ENTRY(ID, num, name, args, kind, FWD, cost) [CK_OP_##ID] = {name, kind, CK_OP_##FWD, sizeof(args)},
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

/* A fused op is held to its slowest member's bound: exact only if every
 * member is, else the largest atol and rtol among them. */
static ck_tolerance fused_tolerance(uint32_t op, uint32_t dtype)
{
    ck_tolerance t = {CK_PARITY_EXACT, 0.0, 0.0};
    const uint32_t *m = fused_members[op];
    for (int i = 0; i < 4 && m[i] != CK_OP_NONE; i++) {
        ck_tolerance u = ck_op_tolerance(m[i], dtype);
        if (u.cls == CK_PARITY_TOLERANCE) {
            t.cls = CK_PARITY_TOLERANCE;
            t.atol = u.atol > t.atol ? u.atol : t.atol;
            t.rtol = u.rtol > t.rtol ? u.rtol : t.rtol;
        }
    }
    return t;
}

ck_tolerance ck_op_tolerance(uint32_t op, uint32_t dtype)
{
    const ck_tolerance exact = {CK_PARITY_EXACT, 0.0, 0.0};
    if (ck_op_kind(op) == CK_OPK_FUSED)
        return fused_tolerance(op, dtype);
    switch (op) {
    /* correctly rounded IEEE operations in a fixed order */
    case CK_OP_ADD:
    case CK_OP_ROPE:
    case CK_OP_ADAM:
    case CK_OP_EMBEDDING:
    case CK_OP_QUANTIZE:
    case CK_OP_DEQUANTIZE:
    case CK_OP_ROPE_BWD:
    case CK_OP_EMBEDDING_BWD: return exact;
    /* Tolerance ops: bounds calibrated on the parity inputs. The parity gate
     * judges the forward ops, fused or not (f32/bf16/f16 weights), by its
     * error model instead (harness/parity/error_model.c), and linear, qkv,
     * swiglu and rmsnorm backward too; these remain for the other backward
     * ops and quantised weights, and as a summary elsewhere.
     * Calibration (harness/cases/case_buf.c): activations N(0,1) with one row in 16 scaled by 32,
     * weights N(0,0.02), at the models' shapes, against f32 kernels that sum
     * sequentially or in SIMD lanes, with FMA; docs/ops.md gives each. */
    case CK_OP_RMSNORM:
    case CK_OP_LAYERNORM:
        /* worst f32 kernel at D=4096 uses 4% of it; an unrefined rsqrt
         * estimate (2^-14) does not fit */
        return (ck_tolerance){CK_PARITY_TOLERANCE, 1e-5, 3e-5};
    case CK_OP_LINEAR:
    case CK_OP_QKV:
        if (dtype == CK_DTYPE_Q8_0 || dtype == CK_DTYPE_Q4_0) /* the quant issue (8) owns this bound */
            return (ck_tolerance){CK_PARITY_TOLERANCE, 1e-4, 1e-4};
        /* f32/bf16/f16 weights are widened exactly: f32 accumulation error
         * only; worst f32 kernel at K=11008 uses 20% of it */
        return (ck_tolerance){CK_PARITY_TOLERANCE, 2e-4, 2e-4};
    case CK_OP_ATTENTION:
        /* f32 scores of the scaled-up rows (|score| ~ 1e3) shift near-tied
         * probabilities; worst f32 kernel at S=2048, hd=128 uses 20% */
        return (ck_tolerance){CK_PARITY_TOLERANCE, 1e-3, 2e-3};
    /* transcendental: exp/tanh approximations; gelu's 1 + tanh(u) cancels
     * for u << 0, hence the absolute part */
    case CK_OP_SWIGLU:
    case CK_OP_GEGLU: /* gelu's error times up, as swiglu's silu */
    case CK_OP_GELU: return (ck_tolerance){CK_PARITY_TOLERANCE, 1e-6, 1e-5};
    /* backward ops, calibrated the same way (docs/ops.md) */
    case CK_OP_RMSNORM_BWD:
    case CK_OP_LAYERNORM_BWD:
        /* row sums of D terms, then elementwise; dgamma sums T rows:
         * worst f32 kernel at T=64 D=4096 uses 12% */
        return (ck_tolerance){CK_PARITY_TOLERANCE, 2e-5, 2e-4};
    case CK_OP_LINEAR_BWD:
    case CK_OP_QKV_BWD:
        /* dW sums T products of outlier activations: |dW| ~ 1e2 at T=512,
         * f32 error ~7e-4 where it crosses 0; worst at T=512 uses 11% */
        return (ck_tolerance){CK_PARITY_TOLERANCE, 4e-3, 2e-4};
    case CK_OP_ATTENTION_BWD:
        /* twice the forward's: |dP| ~ 1e3 magnifies P's rounding; f32 exp
         * and P use 14% at T=S=512 hd=128 (f32 scores too: 40% at T=S=256);
         * avx2/avx512, with P, dP, dq in double, use 1.3% */
        return (ck_tolerance){CK_PARITY_TOLERANCE, 2e-3, 4e-3};
    case CK_OP_SWIGLU_BWD:
    case CK_OP_GEGLU_BWD:
    case CK_OP_GELU_BWD:
        /* f32 exp-based sigmoid forms (no cancellation): worst uses 12% */
        return (ck_tolerance){CK_PARITY_TOLERANCE, 1e-6, 1e-5};
    case CK_OP_CROSS_ENTROPY:
        /* dlogits ~ 1/(T V), hence the tiny atol; f32 row sums over V:
         * worst at T=64 V=151936 uses 5% */
        return (ck_tolerance){CK_PARITY_TOLERANCE, 1e-8, 1e-4};
    default: return (ck_tolerance){CK_PARITY_TOLERANCE, 1e-4, 1e-3};
    }
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

void ck_shape_describe(const ck_shape *s, char *buf, size_t len)
{
    const char *op = ck_op_name(s->op);
    const char *dt = ck_dtype_name(s->dtype);
    if (s->op == CK_OP_CROSS_ENTROPY) {
        snprintf(buf, len, "%s T=%zu V=%zu", op, s->T, s->vocab);
        return;
    }
    switch (ck_op_forward_of(s->op)) {
    case CK_OP_RMSNORM: snprintf(buf, len, "%s T=%zu D=%zu", op, s->T, s->D); break;
    case CK_OP_LAYERNORM: /* with and without beta are two cases: the name must tell them apart */
        snprintf(buf, len, "%s T=%zu D=%zu%s", op, s->T, s->D, s->has_bias ? " +bias" : "");
        break;
    case CK_OP_LINEAR:
        snprintf(buf, len, "%s %s T=%zu K=%zu N=%zu%s", op, dt, s->T, s->K, s->N, s->has_bias ? " +bias" : "");
        break;
    case CK_OP_QKV:
        snprintf(buf, len, "%s %s T=%zu D=%zu H=%zu Hkv=%zu hd=%zu%s", op, dt, s->T, s->D, s->n_heads, s->n_kv_heads,
                 s->head_dim, s->has_bias ? " +bias" : "");
        break;
    case CK_OP_ROPE: /* a partial rotary_dim, a window or a cap makes another case: named */
        snprintf(buf, len, "%s %s T=%zu H=%zu Hkv=%zu hd=%zu pos=%zu", op, s->pairing ? "gptj" : "neox", s->T,
                 s->n_heads, s->n_kv_heads, s->head_dim, s->pos);
        if (s->rotary_dim)
            describe_more(buf, len, " rd=%zu", s->rotary_dim);
        break;
    case CK_OP_ATTENTION:
        snprintf(buf, len, "%s %s%s T=%zu S=%zu H=%zu Hkv=%zu hd=%zu pos=%zu", op, s->causal ? "causal" : "bidir",
                 s->materialize ? " mat" : "", s->T, s->S, s->n_heads, s->n_kv_heads, s->head_dim, s->pos);
        if (s->window)
            describe_more(buf, len, " W=%zu", s->window);
        if (s->softcap != 0.0f)
            describe_more(buf, len, " cap=%g", (double)s->softcap);
        break;
    case CK_OP_EMBEDDING: snprintf(buf, len, "%s %s T=%zu vocab=%zu D=%zu", op, dt, s->T, s->vocab, s->D); break;
    case CK_OP_QUANTIZE:
    case CK_OP_DEQUANTIZE: snprintf(buf, len, "%s %s n=%zu", op, dt, s->n); break;
    default: snprintf(buf, len, "%s n=%zu", op, s->n); break;
    }
}
