/* stats.c — summary statistics of one tensor (stats.h). */
#include <math.h>
#include <string.h>

#include "ck_plugin.h"
#include "inspect/stats.h"

double ck_stats_value(const void *p, uint32_t dtype, size_t i)
{
    switch (dtype) {
    case CK_DTYPE_F32: return ((const float *)p)[i];
    case CK_DTYPE_BF16: return ck_bf16_to_f32(((const uint16_t *)p)[i]);
    case CK_DTYPE_F16: return ck_f16_to_f32(((const uint16_t *)p)[i]);
    default: return ((const int32_t *)p)[i];
    }
}

#define CHUNK 4096

/* Elements [i, i + n) as floats: the tensor itself when f32 (the common
 * case, and the inspector's hot loop), else converted into tmp. */
static const float *chunk(const void *p, uint32_t dtype, size_t i, size_t n, float *tmp)
{
    if (dtype == CK_DTYPE_F32)
        return (const float *)p + i;
    for (size_t k = 0; k < n; k++)
        tmp[k] = (float)ck_stats_value(p, dtype, i + k);
    return tmp;
}

static void moments(const void *p, uint32_t dtype, ck_stats *s, float *tmp)
{
    double sum = 0, sq = 0;
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < s->n; i += CHUNK) {
        size_t n = s->n - i < CHUNK ? s->n - i : CHUNK;
        const float *x = chunk(p, dtype, i, n, tmp);
        for (size_t k = 0; k < n; k++) {
            if (!isfinite(x[k])) {
                if (s->nan + s->inf == 0)
                    s->first_bad = i + k;
                s->nan += isnan(x[k]) != 0;
                s->inf += isinf(x[k]) != 0;
                continue;
            }
            lo = x[k] < lo ? x[k] : lo;
            hi = x[k] > hi ? x[k] : hi;
            sum += x[k];
            sq += (double)x[k] * x[k];
        }
    }
    s->finite = s->n - s->nan - s->inf;
    if (!s->finite)
        return;
    s->min = lo;
    s->max = hi;
    s->mean = sum / (double)s->finite;
    s->std = sqrt(fmax(0.0, sq / (double)s->finite - s->mean * s->mean));
}

int ck_stats_compute(const void *p, uint32_t dtype, size_t n, ck_stats *s)
{
    float tmp[CHUNK];
    memset(s, 0, sizeof *s);
    if (dtype != CK_DTYPE_F32 && dtype != CK_DTYPE_BF16 && dtype != CK_DTYPE_F16 && dtype != CK_DTYPE_I32)
        return -1;
    s->n = n;
    moments(p, dtype, s, tmp);
    double width = s->max - s->min;
    for (size_t i = 0; s->finite && i < n; i += CHUNK) {
        size_t m = n - i < CHUNK ? n - i : CHUNK;
        const float *x = chunk(p, dtype, i, m, tmp);
        for (size_t k = 0; k < m; k++) {
            if (!isfinite(x[k]))
                continue;
            size_t b = width > 0 ? (size_t)((x[k] - s->min) / width * CK_HIST_BINS) : 0;
            s->hist[b < CK_HIST_BINS ? b : CK_HIST_BINS - 1]++;
        }
    }
    return 0;
}

void ck_stats_sparkline(const ck_stats *s, char out[CK_HIST_BINS + 1])
{
    static const char ramp[] = " .:-=+*#%@";
    size_t top = 0;
    for (int b = 0; b < CK_HIST_BINS; b++)
        top = s->hist[b] > top ? s->hist[b] : top;
    for (int b = 0; b < CK_HIST_BINS; b++)
        out[b] = top ? ramp[s->hist[b] == 0 ? 0 : 1 + s->hist[b] * 8 / top] : ' ';
    out[CK_HIST_BINS] = 0;
}
