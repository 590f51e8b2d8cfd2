/* test_plugin.h — the descriptor and entry point of a well-formed test
 * plugin, written once: CK_TEST_PLUGIN(name, description) after the
 * plugin's `static const ck_kernel_desc kernels[]`. Plugins that are
 * malformed on purpose (bad_abi.c, no_kernel_size.c, small_struct.c, ...)
 * write their own. */
#ifndef CK_TEST_PLUGIN_H
#define CK_TEST_PLUGIN_H

#include "ck_plugin.h"

#define CK_TEST_PLUGIN(NAME, DESCRIPTION)                                                                              \
    static const ck_plugin_desc desc = {.abi_version = CK_ABI_VERSION,                                                 \
                                        .struct_size = sizeof(ck_plugin_desc),                                         \
                                        .name = (NAME),                                                                \
                                        .version = "0",                                                                \
                                        .description = (DESCRIPTION),                                                  \
                                        .kernels = kernels,                                                            \
                                        .n_kernels = sizeof kernels / sizeof kernels[0],                               \
                                        .kernel_size = sizeof(ck_kernel_desc),                                         \
                                        .args_revision = CK_ARGS_REVISION};                                            \
    CK_PLUGIN_EXPORT const ck_plugin_desc *ck_plugin_entry(void)                                                       \
    {                                                                                                                  \
        return &desc;                                                                                                  \
    }

#endif
