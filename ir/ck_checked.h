/* ck_checked.h — the one place size arithmetic is checked for overflow.
 * Every byte size the model validator and the planner compute goes through
 * these helpers: a result that does not fit in size_t is an error, never a
 * silent wrap-around that would make two tensors overlap. */
#ifndef CK_CHECKED_H
#define CK_CHECKED_H

#include <stdbool.h>
#include <stddef.h>

/* *out = a * b; false on overflow (*out is then unspecified). */
static inline bool ck_mul_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* *out = a + b; false on overflow. */
static inline bool ck_add_ok(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* *out = a * b * c; false on overflow. */
static inline bool ck_mul3_ok(size_t a, size_t b, size_t c, size_t *out)
{
    size_t ab;
    return ck_mul_ok(a, b, &ab) && ck_mul_ok(ab, c, out);
}

/* *out = x rounded up to a multiple of `align` (a power of two); false on
 * overflow. */
static inline bool ck_align_up_ok(size_t x, size_t align, size_t *out)
{
    size_t bumped;
    if (!ck_add_ok(x, align - 1, &bumped))
        return false;
    *out = bumped & ~(align - 1);
    return true;
}

static inline bool ck_is_pow2(size_t x)
{
    return x != 0 && (x & (x - 1)) == 0;
}

#endif /* CK_CHECKED_H */
