/* gelu, tanh form: y = 0.5*x*(1 + tanh(u)), u = 0.7978845608028654*(x + 0.044715*x^3),
 * computed through the identity 0.5*(1 + tanh(u)) = 1/(1 + exp(-2u)):
 *   y = x / (1 + exp(-2u))
 * One exp (the shared ~1 ULP vector exp) and one division instead of a
 * tanh's exp, division and polynomial, and no cancellation in 1 + tanh(u)
 * for negative x, where the tanh route in f32 loses the small result's
 * digits. The limits are the formula's: x -> -inf gives -0, x -> +inf
 * gives x. Same lane arithmetic in the body and the masked tail, so the
 * split does not change any result. y may alias x; a large, not in-place y
 * is written with streaming stores. */
#include "avx2-helpers.h"
#include "avx2-kernels.h"


AVX2_DEFINE_UNARY(ck_avx2_f32_gelu, avx2_gelu_ps)
