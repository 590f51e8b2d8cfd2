/* f32-gelu/avx512, the tanh form
 *   y = 0.5 * x * (1 + tanh(u)),  u = 0.7978845608028654 * (x + 0.044715 x^3)
 * computed as y = x / (1 + exp(-2u)), the same function (1 + tanh(u) =
 * 2 / (1 + exp(-2u))) without the cancellation 1 + tanh(u) suffers for
 * negative x (act-avx512.h). y may alias x. */
#include "act-avx512.h"
#include "avx512-kernels.h"

CK512_DEFINE_UNARY(ck_avx512_f32_gelu, ck512_gelu16)
