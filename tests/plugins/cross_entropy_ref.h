/* cross_entropy_ref.h — what every cross_entropy test plugin shares with the
 * scalar reference, written once: the arguments it declines (no rows, a
 * target outside [0, V): the reference declines them, so must they) and
 * the mean loss from the rows' summed losses. */
#ifndef CK_CROSS_ENTROPY_REF_H
#define CK_CROSS_ENTROPY_REF_H

#include "ck_plugin.h"

static inline int ref_ce_declines(const ck_cross_entropy_args *a)
{
    if (a->T == 0)
        return 1;
    for (size_t t = 0; t < a->T; t++)
        if (a->targets[t] < 0 || (size_t)a->targets[t] >= a->V)
            return 1;
    return 0;
}

static inline int ref_ce_store_loss(const ck_cross_entropy_args *a, double total)
{
    a->loss[0] = (float)(total / (double)a->T);
    return CK_OK;
}

#endif
