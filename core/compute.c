/* The compute type of a run (ck_host.h, docs/ops.md "Compute bf16"): names,
 * where it applies, and the kernel flag that selects it, in one place for
 * parity, bench and run. */
#include <string.h>

#include "ck_host.h"

const char *ck_compute_name(ck_compute c)
{
    return c == CK_COMPUTE_BF16 ? "bf16" : "f32";
}

int ck_compute_from_name(const char *name, ck_compute *c)
{
    if (name && strcmp(name, "f32") == 0)
        *c = CK_COMPUTE_F32;
    else if (name && strcmp(name, "bf16") == 0)
        *c = CK_COMPUTE_BF16;
    else
        return -1;
    return 0;
}

/* Only bf16 weights: their products with a bf16 x are exact, which is what
 * the bf16 compute type promises. */
int ck_compute_applies(uint32_t op, uint32_t dtype)
{
    return (op == CK_OP_LINEAR || op == CK_OP_QKV) && dtype == CK_DTYPE_BF16;
}

uint32_t ck_compute_flags(ck_compute c, uint32_t op, uint32_t dtype)
{
    return c == CK_COMPUTE_BF16 && ck_compute_applies(op, dtype) ? CK_KF_COMPUTE_BF16 : 0;
}

ck_compute ck_kernel_compute(const ck_kernel_desc *k)
{
    return k->flags & CK_KF_COMPUTE_BF16 ? CK_COMPUTE_BF16 : CK_COMPUTE_F32;
}
