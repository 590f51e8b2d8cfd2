/* Loader test: a plugin that offers no kernels. */
#include "ck_plugin.h"

static const ck_plugin_desc desc = {
    CK_ABI_VERSION, sizeof(ck_plugin_desc), "empty_table",   "0", "no kernels", NULL, NULL, 0, NULL,
    NULL,           sizeof(ck_kernel_desc), CK_ARGS_REVISION};
CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)
{
    return &desc;
}
