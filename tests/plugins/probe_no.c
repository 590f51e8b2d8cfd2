/* Loader test: a well-formed plugin whose probe refuses this CPU. */
#include <stdio.h>

#include "ck_plugin.h"

static int noop(const ck_exec_ctx *ctx, const void *args)
{
    (void)ctx;
    (void)args;
    return 0;
}
static int probe(char *why, size_t len)
{
    snprintf(why, len, "needs the unicorn extension");
    return 0;
}
static const ck_kernel_desc kernels[] = {{CK_OP_ADD, CK_DTYPE_F32, 0, "f32-add/probe_no", noop}};
static const ck_plugin_desc desc = {
    CK_ABI_VERSION, sizeof(ck_plugin_desc), "probe_no",      "1.0", "probe says no", probe, kernels, 1, NULL,
    NULL,           sizeof(ck_kernel_desc), CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
