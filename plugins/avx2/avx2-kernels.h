/* avx2-kernels.h — the kernel entry points of the avx2 plugin, for the
 * kernel table in plugin.c. Free of intrinsics on purpose: plugin.c is
 * compiled without ISA flags so that its probe runs on any x86-64. */
#ifndef CK_AVX2_KERNELS_H
#define CK_AVX2_KERNELS_H

#include "ck_kernel_table.h"
#include "ck_plugin.h"

/* every kernel of the table: kernels.def */
#define CK_KERNEL(dt, op, DT, OP, flags) CK_KERNEL_DECL(avx2, dt, op)
#define CK_KERNEL_FN(dt, op, DT, OP, flags, fn) CK_KERNEL_DECL_FN(fn)
#include "kernels.def"
#undef CK_KERNEL
#undef CK_KERNEL_FN
/* backward (training) kernels */

#endif /* CK_AVX2_KERNELS_H */
