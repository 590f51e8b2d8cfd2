/* Hostile plugin: its probe dereferences NULL. The loader must contain it. */
#include <signal.h>

#include "ck_plugin.h"

static int noop(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    (void)args;
    return 0;
}
static int probe(char *why, size_t len)
{
    (void)why;
    (void)len;
    raise(SIGSEGV); /* a real fault, not UB: sanitizer builds must see the same signal */
    return 1;
}
static const ck_kernel_desc kernels[] = {{CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/probe_crash", noop}};
static const ck_plugin_desc desc = {
    CK_ABI_VERSION, sizeof(ck_plugin_desc), "probe_crash",   "0", "probe crashes", probe, kernels, 1, NULL,
    NULL,           sizeof(ck_kernel_desc), CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
