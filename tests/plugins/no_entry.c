/* Loader test: a shared object that exports no ck_plugin_entry. */
#include "ck_plugin.h"

CK_PLUGIN_EXPORT int ck_plugin_entry_misspelt(void);
CK_PLUGIN_EXPORT int ck_plugin_entry_misspelt(void)
{
    return 0;
}
