/* ck_cost.h — the analytic cost of one op instance: the minimum bytes it must
 * move and the floating-point operations it does. The bench runner divides
 * these by the measured time to report GB/s, GFLOP/s and arithmetic
 * intensity, and compares them with the machine's calibrated roofs.
 *
 * Bytes are a lower bound on memory traffic: every input is read once, every
 * output written once (an in-place operand counts as one read and one write),
 * weights in their storage dtype including the f16 scales of quantised blocks,
 * and only the rows a kernel must touch (an embedding reads T rows of its
 * table, a rope reads T rows of its tables). Caches may make real traffic
 * lower for small shapes; that is why the runner shows the figure next to the
 * measured time rather than instead of it.
 *
 * Of those bytes, `written` are outputs (lines the op writes without reading:
 * a store to them fetches the line first, unless it streams) and `updated`
 * the operands read and written in place (rope's q and k, adam's state,
 * embedding_bwd's table rows), counted twice in bytes; the rest is read
 * only. The roofline prices each part at what the machine measured for it
 * (harness/bench/roofline.c): at DRAM an update's write-back costs a core
 * little beside its read, a new line's store more beside one read than
 * beside two.
 *
 * Flops count the arithmetic of docs/ops.md, one per add, multiply, divide,
 * square root, exp or tanh (a transcendental counts as one: the figure is
 * for comparing kernels, not for counting instructions):
 *   rmsnorm    4 T D     square, sum, scale by 1/rms, scale by gamma
 *   layernorm  8 T D     mean; subtract, square, sum; subtract, scale, gamma, beta
 *   linear     2 T K N   (+ T N with a bias)
 *   qkv        2 T D (H + 2 Hkv) hd   (+ T (H + 2 Hkv) hd with biases)
 *   rope       3 T (H + Hkv) hd       4 multiplies + 2 adds per pair
 *   attention  per head and visible (query, key) pair: 2 hd (q.k) + 2 hd (p.v)
 *              + 5 (scale, max, subtract, exp, sum); per head and query row
 *              hd more (the final normalisation). Causal rows see
 *              min(S, q_pos + t + 1) keys, a window only its last W of them.
 *   swiglu     4 n       exp, add, divide, multiply
 *   gelu       9 n       the tanh form's 8 arithmetic operations + tanh
 *   gelu_erf   24 n      Phi(x) as exp(-x^2/2) times a degree-9 polynomial
 *                        in 4 / (4 + |x|) (docs/ops.md), then x Phi(x)
 *   quick_gelu 4 n       as swiglu: multiply, exp, add, divide
 *   add        1 n
 *   embedding  0
 *   adam       16 n      docs/ops.md's update, operation by operation
 *   quantize   3 n       abs-max, scale, round; dequantize: 1 n
 * where n is the shape's element count, or T * D when it gives rows instead.
 *
 * Backward ops (training: weights f32; gradients written once):
 *   rmsnorm_bwd 10 T D, layernorm_bwd 14 T D   x, dy in; dx, dgamma (dbeta) out
 *   linear_bwd  4 T K N (+ T N for db)         dx = dy.W and dw = dy^T.x
 *   qkv_bwd     as linear_bwd with K = D, N = (H + 2 Hkv) hd
 *   rope_bwd    as rope
 *   attention_bwd per head and visible pair 10 hd + 5 (8 hd + 5 when the
 *               forward's probs are given: materialize = 1)
 *   swiglu_bwd 11 n, geglu_bwd 22 n, gelu_bwd 16 n, gelu_erf_bwd 28 n
 *               (Phi and the density), quick_gelu_bwd 10 n, embedding_bwd T D
 *               (scatter-add rows)
 *   cross_entropy 7 T V (V = vocab): softmax, loss, dlogits
 * Fused ops have no single ck_shape; they cost {0, 0} here.
 */
#ifndef CK_COST_H
#define CK_COST_H

#include <stdint.h>

#include "ck_host.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ck_cost {
    uint64_t bytes;   /* minimum bytes moved (read + written) */
    uint64_t flops;   /* floating-point operations */
    uint64_t written; /* of bytes: outputs the op writes without reading them (new lines) */
    uint64_t updated; /* operands updated in place: counted twice in bytes, once read and once written */
} ck_cost;

/* The cost of one call of the op described by s. An unknown op costs
 * {0, 0}; callers treat a zero byte count as "no figure". */
ck_cost ck_op_cost(const ck_shape *s);

/* flops / bytes, 0 when bytes is 0. */
double ck_cost_intensity(ck_cost c);

#ifdef __cplusplus
}
#endif
#endif /* CK_COST_H */
