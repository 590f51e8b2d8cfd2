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

int ck_stats_compute(const void *p, uint32_t dtype, size_t n, ck_stats *s)
{
    memset(s, 0, sizeof *s);
    if (dtype != CK_DTYPE_F32 && dtype != CK_DTYPE_BF16 && dtype != CK_DTYPE_F16 && dtype != CK_DTYPE_I32)
        return -1;
    double sum = 0, sq = 0;
    s->n = n;
    for (size_t i = 0; i < n; i++) {
        double x = ck_stats_value(p, dtype, i);
        if (!isfinite(x)) {
            if (s->nan + s->inf == 0)
                s->first_bad = i;
            s->nan += isnan(x) != 0;
            s->inf += isinf(x) != 0;
            continue;
        }
        s->min = s->finite == 0 || x < s->min ? x : s->min;
        s->max = s->finite == 0 || x > s->max ? x : s->max;
        s->finite++;
        sum += x;
        sq += x * x;
    }
    if (!s->finite)
        return 0;
    s->mean = sum / (double)s->finite;
    s->std = sqrt(fmax(0.0, sq / (double)s->finite - s->mean * s->mean));
    double width = s->max - s->min;
    for (size_t i = 0; i < n; i++) {
        double x = ck_stats_value(p, dtype, i);
        if (!isfinite(x))
            continue;
        size_t b = width > 0 ? (size_t)((x - s->min) / width * CK_HIST_BINS) : 0;
        s->hist[b < CK_HIST_BINS ? b : CK_HIST_BINS - 1]++;
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
