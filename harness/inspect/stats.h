/* stats.h — what the inspector and diff say about one tensor: min, max,
 * mean and std of its finite values, NaN and Inf counts with the first such
 * element, and a histogram over [min, max]. */
#ifndef CK_INSPECT_STATS_H
#define CK_INSPECT_STATS_H

#include <stddef.h>
#include <stdint.h>

#define CK_HIST_BINS 10

typedef struct ck_stats {
    size_t n, finite, nan, inf;
    double min, max, mean, std;
    size_t first_bad; /* index of the first NaN or Inf (when nan + inf > 0) */
    size_t hist[CK_HIST_BINS];
} ck_stats;

/* The value of element i of a tensor of this dtype (f32, bf16, f16, i32). */
double ck_stats_value(const void *p, uint32_t dtype, size_t i);
/* 0, or -1 for a dtype without element values (quantised blocks). */
int ck_stats_compute(const void *p, uint32_t dtype, size_t n, ck_stats *s);
/* The histogram as CK_HIST_BINS characters from ' ' (empty) to '@' (fullest). */
void ck_stats_sparkline(const ck_stats *s, char out[CK_HIST_BINS + 1]);

#endif
