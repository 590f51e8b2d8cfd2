/* Element-wise comparison of a plugin's output with the reference's (see
 * compare.h for the rules). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "compare.h"

static uint32_t bits_of(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Map float bits to integers that are ordered like the floats: negative
 * floats below zero, both zeros at 0. */
static int64_t ordered(float f)
{
    uint32_t u = bits_of(f);
    return (u & 0x80000000u) ? -(int64_t)(u & 0x7fffffffu) : (int64_t)u;
}

uint64_t ck_ulp_distance_f32(float a, float b)
{
    if (isnan(a) || isnan(b))
        return CK_ULP_INF;
    int64_t d = ordered(a) - ordered(b);
    return (uint64_t)(d < 0 ? -d : d);
}

static void reset(ck_cmp_result *r, size_t n)
{
    memset(r, 0, sizeof *r);
    r->pass = 1;
    r->n = n;
}

static void note_bad(ck_cmp_result *r, size_t i, ck_cmp_reason why, float y, float ref)
{
    if (r->n_bad++ == 0) {
        r->pass = 0;
        r->reason = why;
        r->first_bad = i;
        r->first_value = y;
        r->first_ref = ref;
        r->first_ulp = ck_ulp_distance_f32(y, ref);
    }
}

/* How a non-finite or unwritten y relates to ref; CK_CMP_OK if neither. */
static ck_cmp_reason special(uint32_t yb, float y, float ref, uint32_t poison)
{
    if (poison && yb == poison && bits_of(ref) != poison)
        return CK_CMP_UNWRITTEN;
    if (isfinite(ref) && isnan(y))
        return CK_CMP_NAN;
    if (isfinite(ref) && isinf(y))
        return CK_CMP_INF;
    return CK_CMP_OK;
}

void ck_compare_f32(const float *y, const float *ref, size_t n, ck_tolerance tol, uint32_t poison, ck_cmp_result *r)
{
    ck_compare_f32_bounded(y, ref, n, tol, NULL, poison, r);
}

void ck_compare_f32_bounded(const float *y, const float *ref, size_t n, ck_tolerance tol, const double *bounds,
                            uint32_t poison, ck_cmp_result *r)
{
    reset(r, n);
    int exact = tol.cls == CK_PARITY_EXACT;
    double sq_err = 0.0, sq_ref = 0.0, worst_ratio = -1.0;
    for (size_t i = 0; i < n; i++) {
        float a = y[i], b = ref[i];
        uint32_t ab = bits_of(a), bb = bits_of(b);
        ck_cmp_reason sp = special(ab, a, b, poison);
        if (sp != CK_CMP_OK) {
            note_bad(r, i, sp, a, b);
            if (worst_ratio < INFINITY) {
                worst_ratio = INFINITY;
                r->worst = i;
                r->worst_value = a;
                r->worst_ref = b;
            }
            continue;
        }
        if (!isfinite(b) || !isfinite(a)) {
            /* the reference itself is NaN/Inf (e.g. masked scores): the
             * plugin must produce the same kind of value */
            int same = (isnan(a) && isnan(b)) || ab == bb;
            if (!same)
                note_bad(r, i, CK_CMP_MISMATCH, a, b);
            continue;
        }
        double err = fabs((double)a - (double)b);
        double rel = b != 0.0f ? err / fabs((double)b) : (err > 0 ? INFINITY : 0.0);
        uint64_t ulp = ck_ulp_distance_f32(a, b);
        sq_err += err * err;
        sq_ref += (double)b * (double)b;
        if (err > r->max_abs)
            r->max_abs = err;
        if (rel > r->max_rel)
            r->max_rel = rel;
        if (ulp > r->max_ulp)
            r->max_ulp = ulp;
        double bound = exact ? 0.0 : bounds ? bounds[i] : tol.atol + tol.rtol * fabs((double)b);
        double ratio = bound > 0 ? err / bound : (err > 0 ? INFINITY : 0.0);
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            r->worst = i;
            r->worst_value = a;
            r->worst_ref = b;
        }
        int bad = exact ? ab != bb : !(err <= bound);
        if (bad)
            note_bad(r, i, CK_CMP_MISMATCH, a, b);
    }
    r->nmse = sq_ref > 0 ? sq_err / sq_ref : (sq_err > 0 ? INFINITY : 0.0);
}

void ck_compare_bytes(const void *y, const void *ref, size_t n, ck_cmp_result *r)
{
    reset(r, n);
    const unsigned char *a = y, *b = ref;
    for (size_t i = 0; i < n; i++) {
        if (a[i] == b[i])
            continue;
        if (r->n_bad++ == 0) {
            r->pass = 0;
            r->reason = CK_CMP_MISMATCH;
            r->first_bad = r->worst = i;
            r->first_value = r->worst_value = a[i];
            r->first_ref = r->worst_ref = b[i];
        }
        double err = fabs((double)a[i] - (double)b[i]);
        if (err > r->max_abs)
            r->max_abs = err;
    }
}

const char *ck_cmp_reason_name(ck_cmp_reason reason)
{
    switch (reason) {
    case CK_CMP_OK: return "ok";
    case CK_CMP_MISMATCH: return "mismatch";
    case CK_CMP_NAN: return "nan";
    case CK_CMP_INF: return "inf";
    case CK_CMP_UNWRITTEN: return "unwritten";
    }
    return "?";
}

void ck_cmp_describe(const ck_cmp_result *r, int exact, const char *name, char *out, size_t len)
{
    if (r->pass) {
        snprintf(out, len, "'%s' matches", name);
        return;
    }
    switch (r->reason) {
    case CK_CMP_NAN:
    case CK_CMP_INF:
        snprintf(out, len, "'%s'[%zu] is %s where the reference is %.9g (%zu bad elements of %zu)", name, r->first_bad,
                 r->reason == CK_CMP_NAN ? "NaN" : "Inf", r->first_ref, r->n_bad, r->n);
        break;
    case CK_CMP_UNWRITTEN:
        snprintf(out, len, "'%s'[%zu] was never written (still the fill pattern; %zu bad elements of %zu)", name,
                 r->first_bad, r->n_bad, r->n);
        break;
    default:
        if (exact)
            snprintf(out, len,
                     "'%s' not bit-identical: first at [%zu]: %.9g vs reference %.9g (%llu ULP); %zu of %zu "
                     "elements differ",
                     name, r->first_bad, r->first_value, r->first_ref, (unsigned long long)r->first_ulp, r->n_bad,
                     r->n);
        else
            snprintf(out, len,
                     "'%s' out of tolerance: worst at [%zu]: %.9g vs reference %.9g; %zu of %zu elements "
                     "outside the bound",
                     name, r->worst, r->worst_value, r->worst_ref, r->n_bad, r->n);
        break;
    }
}
