/* f32-quick_gelu/avx512, CLIP's activation y = x sigmoid(1.702 x):
 * act-avx512.h's lanes (shared with the fused act_down, same bits), in the
 * body and the masked tail. y may alias x; a large y is written with
 * streaming stores. */
#include "act-avx512.h"
#include "avx512-kernels.h"

CK512_DEFINE_UNARY(ck_avx512_f32_quick_gelu, ck512_quick_gelu16)
