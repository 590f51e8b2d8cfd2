/* ck_kernel_table.h — one plugins/<p>/kernels.def per plugin makes both the
 * kernel declarations (in the plugin's header) and the descriptor table (in
 * its plugin.c), so the two lists and the names cannot drift apart. Rows:
 *
 *   CK_KERNEL(dt, op, DT, OP, flags)          ck_<isa>_<dt>_<op>, named "<dt>-<op>/<isa>"
 *   CK_KERNEL_FN(dt, op, DT, OP, flags, fn)   the same, served by function fn
 *
 * where dt/op are the names ("bf16", "linear") and DT/OP the enumerators
 * without their CK_DTYPE_ / CK_OP_ prefixes. A plugin defines CK_KERNEL and
 * CK_KERNEL_FN in terms of the macros below, with its ISA name, and includes
 * its kernels.def. */
#ifndef CK_KERNEL_TABLE_H
#define CK_KERNEL_TABLE_H

#include "ck_plugin.h"

#define CK_KERNEL_DECL(isa, dt, op) int ck_##isa##_##dt##_##op(const ck_exec_ctx *ctx, const void *args);
#define CK_KERNEL_DECL_FN(fn) int fn(const ck_exec_ctx *ctx, const void *args);
#define CK_KERNEL_ROW(isa, dt, op, DT, OP, flags)                                                                      \
    {CK_OP_##OP, CK_DTYPE_##DT, (flags), #dt "-" #op "/" #isa, ck_##isa##_##dt##_##op},
#define CK_KERNEL_ROW_FN(isa, dt, op, DT, OP, flags, fn) {CK_OP_##OP, CK_DTYPE_##DT, (flags), #dt "-" #op "/" #isa, fn},

#endif
