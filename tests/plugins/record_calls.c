/* Host-contract test: add and quantize kernels that trust their arguments,
 * as docs/plugin.md lets a kernel do, and count their calls in an exported
 * counter, so a test can prove that arguments the host refuses never reach
 * a kernel. */
#include "ck_plugin.h"

CK_PLUGIN_EXPORT int ck_test_record_calls;
CK_PLUGIN_EXPORT int ck_test_record_aliased; /* the in-place kernel's last call had y == a */

static int add(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_add_args *a = args;
    ck_test_record_calls++;
    for (size_t i = 0; i < a->n; i++)
        a->y[i] = a->a[i] + a->b[i];
    return CK_OK;
}

static int add_inplace(const ck_exec_ctx *ctx, const void *args)
{
    const ck_add_args *a = args;
    ck_test_record_aliased = a->a == a->y;
    return add(ctx, args);
}

static int quantize(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    const ck_quant_args *a = args;
    ck_test_record_calls++;
    unsigned char *dst = a->dst;
    for (size_t i = 0; i < a->n / CK_QBLOCK * 34; i++) /* whole blocks only: the host's n % 32 rule */
        dst[i] = 0;
    return CK_OK;
}

static const ck_kernel_desc kernels[] = {
    {CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/record", add},
    {CK_OP_ADD, CK_DTYPE_F32, CK_KF_INPLACE, "f32-add/record-inplace", add_inplace},
    {CK_OP_QUANTIZE, CK_DTYPE_Q8_0, 0, "q8_0-quantize/record", quantize},
};
static const ck_plugin_desc desc = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .name = "record_calls",
    .version = "1.0.0",
    .description = "kernels that count their calls",
    .kernels = kernels,
    .n_kernels = sizeof kernels / sizeof kernels[0],
    .kernel_size = sizeof(ck_kernel_desc),
};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
