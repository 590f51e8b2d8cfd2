/* kernel_caps.c — the host rule for capability flags (ck_host.h): which
 * newer argument fields a call uses, and a kernel that honours them or, if
 * the plugin has none, the scalar reference's. In one place so that run,
 * train-step, parity and bench cannot disagree on it: a plugin built before
 * window, softcap or rotary_dim existed never reads them, and would compute
 * plain attention or full rope without a word; one built before act_down's
 * gelu_erf and quick_gelu would run tanh gelu in their place. */
#include <pthread.h>
#include <stdio.h>

#include "ck_host.h"

static uint32_t attention_needs(const ck_attention_args *a)
{
    return a->window || a->softcap != 0.0f ? CK_KF_ATTN_WINDOW_SOFTCAP : 0;
}

static uint32_t attention_bwd_needs(const ck_attention_bwd_args *a)
{
    return a->window || a->softcap != 0.0f ? CK_KF_ATTN_WINDOW_SOFTCAP : 0;
}

static uint32_t rope_needs(const ck_rope_args *a)
{
    return a->rotary_dim && a->rotary_dim != a->head_dim ? CK_KF_ROPE_PARTIAL : 0;
}

static uint32_t act_down_needs(const ck_fused_act_down_args *a)
{
    return a->act_kind == CK_ACTIVATION_GELU_ERF || a->act_kind == CK_ACTIVATION_QUICK_GELU ? CK_KF_ACT_DOWN_UNARY : 0;
}

uint32_t ck_args_needs(uint32_t op, const void *args)
{
    if (!args)
        return 0;
    switch (op) {
    case CK_OP_ATTENTION: return attention_needs(args);
    case CK_OP_ATTENTION_BWD: return attention_bwd_needs(args);
    case CK_OP_ATTN_PROJ: return attention_needs(&((const ck_fused_attn_proj_args *)args)->attn);
    case CK_OP_ROPE:
    case CK_OP_ROPE_BWD: return rope_needs(args);
    case CK_OP_QKV_ROPE: return rope_needs(&((const ck_fused_qkv_rope_args *)args)->rope);
    case CK_OP_ACT_DOWN: return act_down_needs(args);
    default: return 0;
    }
}

uint32_t ck_shape_needs(const ck_shape *s)
{
    ck_attention_args a = {.window = s->window, .softcap = s->softcap};
    ck_rope_args r = {.head_dim = s->head_dim, .rotary_dim = s->rotary_dim};
    uint32_t op = ck_op_forward_of(s->op);
    return op == CK_OP_ATTENTION ? ck_args_needs(op, &a) : op == CK_OP_ROPE ? ck_args_needs(op, &r) : 0;
}

int ck_kernel_honours(const ck_kernel_desc *k, const void *args)
{
    uint32_t need = ck_args_needs(k->op, args);
    return (k->flags & need) == need;
}

/* Each capability flag once: what it lets a kernel read, and its macro. */
static const struct {
    uint32_t flag;
    const char *name, *macro;
} capabilities[] = {
    {CK_KF_ATTN_WINDOW_SOFTCAP, "window/softcap", "CK_KF_ATTN_WINDOW_SOFTCAP"},
    {CK_KF_ROPE_PARTIAL, "partial rotary_dim", "CK_KF_ROPE_PARTIAL"},
    {CK_KF_ACT_DOWN_UNARY, "act_down gelu_erf/quick_gelu", "CK_KF_ACT_DOWN_UNARY"},
};

#define N_CAPABILITIES (sizeof capabilities / sizeof capabilities[0])

/* The names (macros) of the flags in caps, joined by " and ", into buf. */
static const char *join_caps(uint32_t caps, int macros, char *buf, size_t len)
{
    size_t at = 0;
    buf[0] = 0;
    for (size_t i = 0; i < N_CAPABILITIES; i++)
        if (caps & capabilities[i].flag) {
            int k = snprintf(buf + at, len - at, "%s%s", at ? " and " : "",
                             macros ? capabilities[i].macro : capabilities[i].name);
            if (k < 0 || (size_t)k >= len - at)
                break;
            at += (size_t)k;
        }
    return at ? buf : "none";
}

/* Every combination of the flags, named once (callers keep the pointer; a
 * pthread_once because parity and bench workers may ask at the same time). */
static char cap_names[1u << N_CAPABILITIES][128];
static pthread_once_t cap_names_once = PTHREAD_ONCE_INIT;

static void name_combinations(void)
{
    for (uint32_t index = 0; index < (1u << N_CAPABILITIES); index++) {
        uint32_t caps = 0;
        for (size_t i = 0; i < N_CAPABILITIES; i++)
            if (index & (1u << i))
                caps |= capabilities[i].flag;
        join_caps(caps, 0, cap_names[index], sizeof cap_names[index]);
    }
}

const char *ck_capability_name(uint32_t caps)
{
    pthread_once(&cap_names_once, name_combinations);
    uint32_t index = 0;
    for (size_t i = 0; i < N_CAPABILITIES; i++)
        if (caps & capabilities[i].flag)
            index |= 1u << i;
    return cap_names[index][0] ? cap_names[index] : "none";
}

const ck_kernel_desc *ck_kernel_for_args(const ck_plugin *p, const ck_plugin *scalar, uint32_t op, uint32_t dtype,
                                         uint32_t flags, const void *args, int *fallback, char *why, size_t why_len)
{
    const ck_kernel_desc *k = ck_plugin_kernel(p, op, dtype, flags);
    if (why && why_len)
        why[0] = 0;
    *fallback = 0;
    if (k && ck_kernel_honours(k, args))
        return k;
    if (k && why && why_len) {
        char macros[128];
        uint32_t need = ck_args_needs(op, args) & ~k->flags;
        snprintf(why, why_len, "%s does not claim %s (%s)", k->name, ck_capability_name(need),
                 join_caps(need, 1, macros, sizeof macros));
    }
    if (!scalar || scalar == p)
        return NULL;
    const ck_kernel_desc *r = ck_plugin_kernel(scalar, op, dtype, flags);
    if (r && !ck_kernel_honours(r, args))
        r = NULL;
    *fallback = r != NULL;
    return r;
}
