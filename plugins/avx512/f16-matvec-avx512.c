/* f16-matvec/avx512: the small-T linear path for IEEE f16 weights, each
 * converted exactly to f32 by vcvtph2ps (matvec-avx512.h). */
#include "matvec-avx512.h"

#define LOAD16(p) ck512_load_f16(p)
#define LOADN(p, n) ck512_load_f16_tail(p, n)
CK512_DEFINE_MATVEC(ck512_matvec_f16, uint16_t, LOAD16, LOADN, CK512_MATVEC_ROW1_MAX_K, 4096, 2048, 2048, 0)
