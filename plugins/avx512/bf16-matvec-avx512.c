/* bf16-matvec/avx512: the small-T linear path for bf16 weights, each
 * widened exactly to f32 (matvec-avx512.h). */
#include "matvec-avx512.h"

#define LOAD16(p) ck512_load_bf16(p)
#define LOADN(p, n) ck512_load_bf16_tail(p, n)
CK512_DEFINE_MATVEC(ck512_matvec_bf16, uint16_t, LOAD16, LOADN, CK512_MATVEC_ROW1_MAX_K, 4096, 2048, 2048, 1)
