/* The compute-bf16 bound of linear / qkv (docs/ops.md, "Compute bf16"): the
 * reference already holds the narrowing of x, so a kernel may differ from it
 * only by its f32 accumulation, the DAZ/FTZ of bf16 dot-product instructions
 * and the reference's own final rounding. The contract bounds the
 * accumulation's depth: every product reaches y through at most
 * L = min(K, 256) + ceil(K / 256) + 1 f32 roundings (blocks of at most 256
 * terms summed in any order, the block sums and the bias added after). Per
 * output, with xb = bf16(x) and S = sum_k |xb_k w_k| + |bias|:
 *
 *     |y - r| <= gamma(L + 1) * S + 2^-126 * sum_k (2 + |xb_k| + |w_k|),
 *     gamma(m) = m u / (1 - m u), u = 2^-24
 *
 * (one more rounding for the reference's own; the second term a subnormal
 * operand or partial result flushed to zero at each of the K steps). A
 * worst-case bound over a sequential sum (L = K) would be too loose: at
 * K = 4096 it is as large as truncating x instead of rounding it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "parity.h"

static double value_at(const ck_case_buf *b, size_t i)
{
    const void *d = b->init ? b->init : b->data;
    if (b->dtype == CK_DTYPE_BF16)
        return ck_bf16_to_f32(((const uint16_t *)d)[i]);
    return ((const float *)d)[i];
}

double *ck_parity_cbf16_bounds(const ck_case *c, const char *out)
{
    const ck_shape *s = ck_case_shape(c);
    char wname[8], bname[8];
    if (s->op == CK_OP_LINEAR && strcmp(out, "y") == 0) {
        strcpy(wname, "w");
        strcpy(bname, "bias");
    } else if (s->op == CK_OP_QKV && strlen(out) == 1 && strchr("qkv", out[0])) {
        wname[0] = 'w', bname[0] = 'b';
        wname[1] = bname[1] = out[0];
        wname[2] = bname[2] = '\0';
    } else {
        return NULL;
    }
    const ck_case_buf *x = ck_case_find(c, "x"), *w = ck_case_find(c, wname), *bias = ck_case_find(c, bname);
    if (!x || !w || x->ndim != 2)
        return NULL;
    size_t T = x->dims[0], K = x->dims[1], N = K ? w->count / K : (bias ? bias->count : 0);
    double *bound = malloc((T * N > 0 ? T * N : 1) * sizeof *bound);
    if (!bound)
        return NULL;
    const double u = 0x1p-24, tiny = 0x1p-126;
    double L = (double)(K < 256 ? K : 256) + (double)((K + 255) / 256) + 1.0;
    double gamma = (L + 1.0) * u / (1.0 - (L + 1.0) * u);
    for (size_t t = 0; t < T; t++)
        for (size_t n = 0; n < N; n++) {
            double sum = bias ? fabs(value_at(bias, n)) : 0.0, flush = 0.0;
            for (size_t k = 0; k < K; k++) {
                double xb = ck_bf16_to_f32(ck_f32_to_bf16((float)value_at(x, t * K + k)));
                double wk = value_at(w, n * K + k);
                sum += fabs(xb * wk);
                flush += 2.0 + fabs(xb) + fabs(wk);
            }
            bound[t * N + n] = gamma * sum + tiny * flush;
        }
    return bound;
}
