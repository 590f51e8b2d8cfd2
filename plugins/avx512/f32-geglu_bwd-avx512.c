/* f32-geglu_bwd/avx512: the shared x86 backward kernel (plugins/x86-bwd/f32-geglu_bwd.inc)
 * over this plugin's vector width; the semantics are documented there. */
#include "bwd-avx512.h"
#include "../x86-bwd/f32-geglu_bwd.inc"
