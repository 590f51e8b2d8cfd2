/* The build's facts, from the header scripts/build-info.sh writes into the
 * build directory (the Makefile adds it to this file's include path). */
#include "common/build_info.h"

#include "ck_build_info.h"
#include "ck_plugin.h"

const char *ck_build_version(void)
{
    return CK_BUILD_VERSION;
}

const char *ck_build_commit(void)
{
    return CK_BUILD_COMMIT;
}

const char *ck_build_cflags(void)
{
    return CK_BUILD_CFLAGS;
}

const char *ck_build_march(void)
{
    return CK_BUILD_MARCH;
}

const char *ck_build_sanitizers(void)
{
    return CK_BUILD_SANITIZERS;
}

unsigned ck_build_abi_version(void)
{
    return CK_ABI_VERSION;
}
