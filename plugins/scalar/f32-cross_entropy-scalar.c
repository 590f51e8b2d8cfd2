/* f32-cross_entropy/scalar: loss = mean_t (logsumexp(l_t) - l_t[target_t]),
 * dlogits = (softmax(l_t) - onehot(target_t)) / T, in double, rounded once. */
#include <math.h>

#include "scalar-bwd.h"

int ck_scalar_f32_cross_entropy(const ck_exec_ctx *ctx, const void *args)
{
    const ck_cross_entropy_args *a = args;
    (void)ctx;
    if (a->T == 0) /* the mean over no tokens: undefined */
        return CK_E_UNSUPPORTED;
    for (size_t t = 0; t < a->T; t++)
        if (a->targets[t] < 0 || (size_t)a->targets[t] >= a->V)
            return CK_E_UNSUPPORTED;
    double total = 0;
    for (size_t t = 0; t < a->T; t++) {
        const float *l = a->logits + t * a->V;
        double mx = -INFINITY, sum = 0;
        for (size_t j = 0; j < a->V; j++)
            mx = l[j] > mx ? l[j] : mx;
        for (size_t j = 0; j < a->V; j++)
            sum += exp(l[j] - mx);
        /* sum >= 1: the max term is exp(0), and V >= 1 since every target is < V */
        // cppcheck-suppress invalidFunctionArg
        double lse = mx + log(sum);
        total += lse - l[a->targets[t]];
        if (a->dlogits)
            for (size_t j = 0; j < a->V; j++)
                a->dlogits[t * a->V + j] =
                    (float)((exp(l[j] - lse) - (j == (size_t)a->targets[t] ? 1.0 : 0.0)) / (double)a->T);
    }
    a->loss[0] = (float)(total / (double)a->T);
    return CK_OK;
}
