/* RoPE cos/sin tables, computed once per section by the host in double
 * precision and rounded once to f32, so every plugin rotates by the same
 * numbers and rope stays in the exact parity class. */
#include <math.h>

#include "ck_host.h"

void ck_rope_tables(double theta, size_t head_dim, size_t max_pos, float *cos_tab, float *sin_tab)
{
    size_t half = head_dim / 2;
    for (size_t p = 0; p < max_pos; p++) {
        for (size_t i = 0; i < half; i++) {
            double inv_freq = pow(theta, -2.0 * (double)i / (double)head_dim);
            double a = (double)p * inv_freq;
            cos_tab[p * half + i] = (float)cos(a);
            sin_tab[p * half + i] = (float)sin(a);
        }
    }
}
