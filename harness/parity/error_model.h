/* error_model.h — what error_model.c (forward and fused ops),
 * error_model_act.c (gelu_erf, quick_gelu) and error_model_bwd.c (backward
 * ops) share: the constants of the model (the
 * comment at the top of error_model.c says what each is), the state of one
 * case's computation, and where an op's bounds go. Only those three include it. */
#ifndef CK_ERROR_MODEL_H
#define CK_ERROR_MODEL_H

#include <math.h>

#include "parity.h"

#define U 0x1p-24
#define LAMBDA 10.0 /* 2 n e^-50: < 1e-17 per element for n < 2^16 */
#define EPS_F (8.0 * U)
#define TINY 0x1p-146
#define EXP_MAX 88.72283935546875 /* exp overflows f32 beyond */
#define EXP_FLOOR 0x1p-126        /* FLT_MIN */

static inline double gamma_n(double n)
{
    return n * U / (1.0 - n * U);
}

static inline double pdot(double n)
{
    return LAMBDA * sqrt(n) * U;
}

typedef struct model {
    const ck_case *c;
    const ck_run_outcome *ref;
    double *b;                         /* one per element of every output, in case order */
    double *scratch[CK_CASE_MAX_BUFS]; /* bounds of a fused op's intermediates */
    unsigned char done[CK_CASE_MAX_BUFS];
} model;

/* Where an op's bounds for output p go (an output, or a fused op's
 * intermediate), and the reference's values there; NULL if p is in no
 * output buffer. */
double *em_bounds_at(model *m, const float *p, const float **r);

/* The backward ops that have a model (error_model_bwd.c), named in the
 * bounds column of case_ops.def. */
int em_linear_bwd(model *m, uint32_t op, const void *args);
int em_qkv_bwd(model *m, uint32_t op, const void *args);
int em_swiglu_bwd(model *m, uint32_t op, const void *args);
int em_geglu_bwd(model *m, uint32_t op, const void *args);
int em_attention_bwd(model *m, uint32_t op, const void *args);
int em_rmsnorm_bwd(model *m, uint32_t op, const void *args);

/* gelu_erf and quick_gelu (error_model_act.c) */
int em_gelu_erf(model *m, uint32_t op, const void *args);
int em_quick_gelu(model *m, uint32_t op, const void *args);

#endif /* CK_ERROR_MODEL_H */
