/* The scalar reference plugin: plain C that defines the semantics of every
 * op (docs/ops.md). Runs everywhere, so it has no probe. Every other plugin
 * is checked against these kernels by `ckbench parity`.
 *
 * The kernel table is the one list below; quantised-weight reference kernels
 * (quant-*.c) are added to it as further rows. */
#include "scalar.h"
#include "scalar-bwd.h"
#include "scalar-fused.h"
#include "quant-ref.h"

static const ck_kernel_desc scalar_kernels[] = {
#define CK_KERNEL(dt, op, DT, OP, flags) CK_KERNEL_ROW(scalar, dt, op, DT, OP, flags)
#define CK_KERNEL_FN(dt, op, DT, OP, flags, fn) CK_KERNEL_ROW_FN(scalar, dt, op, DT, OP, flags, fn)
#include "kernels.def"
#undef CK_KERNEL
#undef CK_KERNEL_FN
};

static const ck_plugin_desc scalar_plugin = {
    .abi_version = CK_ABI_VERSION,
    .struct_size = sizeof(ck_plugin_desc),
    .kernel_size = sizeof(ck_kernel_desc),
    .args_revision = CK_ARGS_REVISION,
    .name = "scalar",
    .version = "0.1.0",
    .description = "reference kernels in plain C: the semantics every plugin is checked against",
    .probe = NULL,
    .kernels = scalar_kernels,
    .n_kernels = sizeof scalar_kernels / sizeof scalar_kernels[0],
    .init = NULL,
    .fini = NULL,
};

CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &scalar_plugin;
}
