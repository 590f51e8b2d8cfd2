/* avx512-kernels.h — the kernel entry points of the avx512 plugin, for the
 * kernel table in plugin.c. Deliberately free of intrinsics: plugin.c is
 * compiled without ISA flags so that the probe runs on any x86-64. */
#ifndef CK_AVX512_KERNELS_H
#define CK_AVX512_KERNELS_H

#include "ck_kernel_table.h"
#include "ck_plugin.h"

/* Set once by the plugin's init() (after the probe said yes) from CPUID:
 * the CPU has the AVX512_BF16 dot-product instructions (vdpbf16ps). Read by
 * ck512_gemm_for to choose the bf16-weight GEMM at run time. */
extern int ck_avx512_has_bf16;

/* Set once by init() from ck_prefetch_level_l2() (plugins/shared): the
 * decode loops' software prefetch goes into L2 (_MM_HINT_T1), not L1 (Zen
 * 4). Read by matvec-avx512.h and f32-attention-decode-avx512.c. */
extern int ck_avx512_prefetch_l2;

/* every kernel of the table: kernels.def */
#define CK_KERNEL(dt, op, DT, OP, flags) CK_KERNEL_DECL(avx512, dt, op)
#define CK_KERNEL_FN(dt, op, DT, OP, flags, fn) CK_KERNEL_DECL_FN(fn)
#include "kernels.def"
#undef CK_KERNEL
#undef CK_KERNEL_FN
/* backward (training) kernels */

#endif /* CK_AVX512_KERNELS_H */
