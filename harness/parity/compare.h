/* compare.h — how parity compares a plugin's output with the reference's.
 *
 * Exact class: bit-identical (two NaNs count as equal whatever their payload);
 * else the first differing index, both values, their ULP distance and how many
 * elements differ. Tolerance class: per element |y - ref| <= atol + rtol*|ref|,
 * with max abs error, max relative error, max ULP distance, NMSE and the worst
 * element's index reported whether the buffer passes or not. In both classes a
 * NaN or Inf where the reference has a finite value fails, and so does an
 * element that still holds the harness's fill pattern (never written). */
#ifndef CK_COMPARE_H
#define CK_COMPARE_H

#include <stddef.h>
#include <stdint.h>

#include "ck_host.h"

typedef enum ck_cmp_reason {
    CK_CMP_OK = 0,
    CK_CMP_MISMATCH,  /* finite but different (exact) / out of tolerance */
    CK_CMP_NAN,       /* NaN where the reference is finite */
    CK_CMP_INF,       /* Inf where the reference is finite */
    CK_CMP_UNWRITTEN, /* the element still holds the fill pattern */
} ck_cmp_reason;

typedef struct ck_cmp_result {
    int pass;
    ck_cmp_reason reason; /* of the first failing element */
    size_t n;             /* elements compared */
    size_t n_bad;         /* elements that differ (exact) / fail the bound */
    size_t first_bad;     /* index of the first of them */
    double first_value, first_ref;
    uint64_t first_ulp;
    double max_abs, max_rel, nmse;
    uint64_t max_ulp; /* over finite pairs */
    size_t worst;     /* index with the largest error relative to its bound */
    double worst_value, worst_ref;
} ck_cmp_result;

#define CK_ULP_INF UINT64_MAX /* distance involving a NaN */

/* Steps between two floats on the number line (+0 and -0 are 0 apart);
 * CK_ULP_INF if either is NaN. */
uint64_t ck_ulp_distance_f32(float a, float b);

/* Compare n floats. poison, if non-zero, is a bit pattern meaning "never
 * written" when found in y but not in ref. */
void ck_compare_f32(const float *y, const float *ref, size_t n, ck_tolerance tol, uint32_t poison, ck_cmp_result *r);
/* The same with a bound per element (|y - ref| <= bound[i]) in place of
 * atol + rtol * |ref|; tol.cls still says exact or not. */
void ck_compare_f32_bounded(const float *y, const float *ref, size_t n, ck_tolerance tol, const double *bound,
                            uint32_t poison, ck_cmp_result *r);

/* Compare raw bytes (quantised blocks): exact, first differing byte. */
void ck_compare_bytes(const void *y, const void *ref, size_t n, ck_cmp_result *r);

const char *ck_cmp_reason_name(ck_cmp_reason reason); /* "mismatch", "nan", ... */

/* One sentence about a failing result for output buffer `name`. */
void ck_cmp_describe(const ck_cmp_result *r, int exact, const char *name, char *out, size_t len);

#endif /* CK_COMPARE_H */
