/* f32-matvec/avx512: the small-T linear path for f32 weights
 * (matvec-avx512.h). */
#include "matvec-avx512.h"

#define LOAD16(p) _mm512_loadu_ps(p)
#define LOADN(p, n) ck512_load_tail(p, n)
CK512_DEFINE_MATVEC(ck512_matvec_f32, float, LOAD16, LOADN, 0, 0, 0, 1024, 0)
