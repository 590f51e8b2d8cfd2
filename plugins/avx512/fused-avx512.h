/* fused-avx512.h — what the fused kernels of the avx512 plugin share
 * (fused-rows-avx512.c): one row of a norm or an activation computed into a
 * buffer, and the GEMM's x packing fed by such rows instead of by a
 * materialised [T, K] activation. A fused norm+linear or activation+linear
 * thus never writes the intermediate: each group of MR rows is produced into
 * a per-thread buffer (L2) and packed straight from there.
 * Included only by files compiled with the plugin's ISA flags. */
#ifndef CK_FUSED_AVX512_H
#define CK_FUSED_AVX512_H

#include "avx512-helpers.h"
#include "gemm-avx512.h"

/* ---- norms of one row (same sums and order as f32-rmsnorm/layernorm) ----- */

/* A row the fused norms read: f32 a (+ b, when b is non-NULL), or bf16 h
 * widened. */
typedef struct ck512_row_src {
    const float *a, *b;
    const uint16_t *h;
} ck512_row_src;

/* One row: x = src's row is stored to out (when non-NULL), then y =
 * norm(x), kind CK_NORM_RMS or CK_NORM_LAYER (a->gamma, a->beta, a->D,
 * a->eps are used; a->x, a->y are not). The passes after the first read the
 * row through `again`: src itself (re-read from L1, recomputed, so out can
 * be streamed), or out when writing out overwrote src's inputs. The sums and
 * operation order are those of f32-rmsnorm-avx512.c and
 * f32-layernorm-avx512.c (private there). stream: non-temporal stores for out
 * and y (rows 64-byte aligned; the caller ends with _mm_sfence). */
void ck512_norm_from(uint32_t kind, const ck_norm_args *a, const ck512_row_src *src, const ck512_row_src *again,
                     float *out, float *y, int stream);
/* y = norm(x) for one row, ordinary stores. */
void ck512_norm_row(uint32_t kind, const ck_norm_args *a, const float *x, float *y);

/* Outputs of T x D floats at least this large are written with streaming
 * stores by the fused norms: far larger than L2, and read again only by the
 * next op, so the read-for-ownership of each line would be wasted traffic. */
#define CK512_FUSED_STREAM_BYTES ((size_t)16 << 20)
/* Whether [T, D] outputs at p and q are streamed (large, 64-byte aligned rows). */
int ck512_stream_rows(size_t T, size_t D, const float *p, const float *q);

/* The unfused norm kernel for kind (fallback paths), CK_E_UNSUPPORTED for an unknown kind. */
int ck512_norm_kernel(const ck_exec_ctx *ctx, uint32_t kind, const ck_norm_args *a);

/* ---- x packing from produced rows ---------------------------------------- */

/* Writes row t (K floats) of the activation the GEMM consumes into dst. */
typedef void (*ck512_row_fn)(const void *src, size_t t, size_t K, float *dst);

/* Packs the T x K activation whose rows `row` produces from `src` into px
 * (ck512_packed_x_bytes(T, K)) for impl, in parallel over groups of MR rows.
 * Returns CK_OK or CK_E_NOMEM (per-thread row buffers). */
int ck512_pack_x_rows(const ck_exec_ctx *ctx, const ck512_gemm_impl *impl, size_t T, size_t K, ck512_row_fn row,
                      const void *src, float *px);

/* Whether the packed GEMM (not the matvec) takes a linear of T rows and K:
 * only then is there a packing step to fuse into. */
static inline int ck512_fused_packs(size_t T, size_t K)
{
    return T >= CK512_MATVEC_MAX_T && K > 0 && K <= (size_t)INT32_MAX / CK512_NR;
}

/* The row source of a fused norm: row t of norm->x normalised (a ck512_row_fn). */
typedef struct ck512_norm_src {
    const ck_norm_args *norm;
    uint32_t kind;
} ck512_norm_src;
void ck512_norm_src_row(const void *src, size_t t, size_t K, float *dst);

/* ---- fused kernel bodies, shared by their weight dtypes ------------------ */

int ck512_norm_qkv(const ck_exec_ctx *ctx, const void *args, uint32_t dtype);
int ck512_norm_mlp(const ck_exec_ctx *ctx, const void *args, uint32_t dtype);
int ck512_act_down(const ck_exec_ctx *ctx, const void *args, uint32_t dtype);
int ck512_embed_norm(const ck_exec_ctx *ctx, const void *args, uint32_t dtype);

#endif /* CK_FUSED_AVX512_H */
