/* RoPE cos/sin tables, computed once per section by the host in double
 * precision and rounded once to f32, so every plugin rotates by the same
 * numbers and rope stays in the exact parity class. */
#include <math.h>

#include "ck_host.h"

/* The llama3 rule, in double like the rest of the table. */
static double scaled_inv_freq(double inv_freq, const ck_rope_scaling *sc)
{
    const double pi = 3.14159265358979323846;
    double old_ctx = (double)sc->original_context, wavelen = 2.0 * pi / inv_freq;
    if (wavelen < old_ctx / sc->high_freq_factor)
        return inv_freq;
    if (wavelen > old_ctx / sc->low_freq_factor)
        return inv_freq / sc->factor;
    double smooth = (old_ctx / wavelen - sc->low_freq_factor) / (sc->high_freq_factor - sc->low_freq_factor);
    return (1.0 - smooth) * inv_freq / sc->factor + smooth * inv_freq;
}

static void tables(double theta, size_t head_dim, size_t max_pos, const ck_rope_scaling *sc, const float *factors,
                   float *cos_tab, float *sin_tab)
{
    size_t half = head_dim / 2;
    for (size_t p = 0; p < max_pos; p++) {
        for (size_t i = 0; i < half; i++) {
            double inv_freq = pow(theta, -2.0 * (double)i / (double)head_dim);
            if (sc && sc->factor > 0.0)
                inv_freq = scaled_inv_freq(inv_freq, sc);
            if (factors)
                inv_freq /= (double)factors[i];
            double a = (double)p * inv_freq;
            cos_tab[p * half + i] = (float)cos(a);
            sin_tab[p * half + i] = (float)sin(a);
        }
    }
}

void ck_rope_tables_scaled(double theta, size_t head_dim, size_t max_pos, const ck_rope_scaling *sc, float *cos_tab,
                           float *sin_tab)
{
    tables(theta, head_dim, max_pos, sc, NULL, cos_tab, sin_tab);
}

void ck_rope_tables_factors(double theta, size_t head_dim, size_t max_pos, const float *factors, float *cos_tab,
                            float *sin_tab)
{
    tables(theta, head_dim, max_pos, NULL, factors, cos_tab, sin_tab);
}

void ck_rope_tables(double theta, size_t head_dim, size_t max_pos, float *cos_tab, float *sin_tab)
{
    ck_rope_tables_scaled(theta, head_dim, max_pos, NULL, cos_tab, sin_tab);
}
