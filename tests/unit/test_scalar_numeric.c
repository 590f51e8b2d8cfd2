/* The shared 16-bit float conversions of ck_plugin.h, which every plugin
 * and the reference use: bf16 and IEEE binary16, round to nearest with ties
 * to even, NaN stays NaN, overflow goes to inf, subnormals are exact. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ck_plugin.h"

static float from_bits(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static uint32_t to_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

Test(scalar_numeric, bf16_rounds_to_nearest_ties_to_even)
{
    /* 1 + 2^-8 is exactly between bf16 1.0 (0x3f80) and 0x3f81: even wins */
    cr_assert_eq(ck_f32_to_bf16(from_bits(0x3f808000u)), 0x3f80);
    /* 0x3f818000 is between 0x3f81 and 0x3f82: even (0x3f82) wins */
    cr_assert_eq(ck_f32_to_bf16(from_bits(0x3f818000u)), 0x3f82);
    /* just above / below the tie */
    cr_assert_eq(ck_f32_to_bf16(from_bits(0x3f808001u)), 0x3f81);
    cr_assert_eq(ck_f32_to_bf16(from_bits(0x3f807fffu)), 0x3f80);
    /* negative ties behave the same on the magnitude */
    cr_assert_eq(ck_f32_to_bf16(from_bits(0xbf808000u)), 0xbf80);
    cr_assert_eq(ck_f32_to_bf16(from_bits(0xbf818000u)), 0xbf82);
    /* a carry that crosses into the next binade */
    cr_assert_eq(ck_f32_to_bf16(from_bits(0x3fffffffu)), 0x4000);
}

Test(scalar_numeric, bf16_special_values)
{
    cr_assert_eq(ck_f32_to_bf16(INFINITY), 0x7f80);
    cr_assert_eq(ck_f32_to_bf16(-INFINITY), 0xff80);
    cr_assert_eq(ck_f32_to_bf16(0.0f), 0x0000);
    cr_assert_eq(ck_f32_to_bf16(-0.0f), 0x8000);
    /* the largest finite f32 rounds up to inf in bf16 */
    cr_assert_eq(ck_f32_to_bf16(from_bits(0x7f7fffffu)), 0x7f80);
    /* NaNs, including a signalling one whose payload sits in the low bits
     * that rounding would drop, stay NaN (and become quiet) */
    uint32_t nans[] = {0x7fc00000u, 0x7f800001u, 0xff800001u, 0x7fffffffu};
    for (size_t i = 0; i < sizeof nans / sizeof nans[0]; i++) {
        uint16_t h = ck_f32_to_bf16(from_bits(nans[i]));
        cr_assert(isnan(ck_bf16_to_f32(h)), "NaN 0x%08x became 0x%04x", nans[i], h);
        cr_assert(h & 0x0040, "NaN 0x%08x is not quiet: 0x%04x", nans[i], h);
        cr_assert_eq(h >> 15, nans[i] >> 31, "NaN sign lost");
    }
    /* subnormals round like everything else */
    cr_assert_eq(ck_f32_to_bf16(from_bits(0x00008000u)), 0x0000);
    cr_assert_eq(ck_f32_to_bf16(from_bits(0x00018000u)), 0x0002);
}

Test(scalar_numeric, every_bf16_survives_a_round_trip)
{
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = ck_bf16_to_f32((uint16_t)h);
        cr_assert_eq(to_bits(f), h << 16, "widening 0x%04x", h);
        uint16_t back = ck_f32_to_bf16(f);
        if (isnan(f))
            cr_assert(isnan(ck_bf16_to_f32(back)));
        else
            cr_assert_eq(back, h, "0x%04x -> %.9g -> 0x%04x", h, (double)f, back);
    }
}

/* bf16 rounding against the definition: the nearer of the two bf16
 * neighbours, the even one on a tie, checked on a sweep of f32 bit patterns. */
Test(scalar_numeric, bf16_matches_the_definition_on_a_sweep)
{
    for (uint64_t u = 0; u < 0x7f800000u; u += 0x1235u) {
        float f = from_bits((uint32_t)u);
        uint16_t lo = (uint16_t)(u >> 16), hi = (uint16_t)(lo + 1);
        /* above the largest finite bf16, the upper neighbour is 2^128 (IEEE
         * rounds as if the exponent were unbounded, then overflows to inf) */
        double up = hi == 0x7f80 ? ldexp(1.0, 128) : (double)ck_bf16_to_f32(hi);
        double dl = (double)f - ck_bf16_to_f32(lo), dh = up - f;
        uint16_t want = dl < dh ? lo : dh < dl ? hi : ((lo & 1) ? hi : lo);
        cr_assert_eq(ck_f32_to_bf16(f), want, "0x%08x", (unsigned)u);
    }
}

Test(scalar_numeric, f16_round_trip_of_every_value)
{
    for (uint32_t h = 0; h < 0x10000u; h++) {
        float f = ck_f16_to_f32((uint16_t)h);
        uint16_t back = ck_f32_to_f16(f);
        if ((h & 0x7c00u) == 0x7c00u && (h & 0x3ffu)) {
            cr_assert(isnan(f), "0x%04x is a NaN", h);
            cr_assert(isnan(ck_f16_to_f32(back)));
        } else {
            cr_assert_eq(back, h, "0x%04x -> %.9g -> 0x%04x", h, (double)f, back);
        }
    }
}

Test(scalar_numeric, f16_known_values)
{
    cr_assert_eq(ck_f16_to_f32(0x3c00), 1.0f);
    cr_assert_eq(ck_f16_to_f32(0xc000), -2.0f);
    cr_assert_eq(ck_f16_to_f32(0x7bff), 65504.0f);
    cr_assert_eq(ck_f16_to_f32(0x0001), 0x1p-24f);        /* smallest subnormal */
    cr_assert_eq(ck_f16_to_f32(0x03ff), 1023 * 0x1p-24f); /* largest subnormal */
    cr_assert_eq(ck_f16_to_f32(0x0400), 0x1p-14f);        /* smallest normal */
    cr_assert(isinf(ck_f16_to_f32(0x7c00)) && ck_f16_to_f32(0x7c00) > 0);
    cr_assert(isinf(ck_f16_to_f32(0xfc00)) && ck_f16_to_f32(0xfc00) < 0);
    cr_assert(isnan(ck_f16_to_f32(0x7e00)));
}

Test(scalar_numeric, f16_rounds_to_nearest_ties_to_even_and_overflows_to_inf)
{
    cr_assert_eq(ck_f32_to_f16(1.0f + 0x1p-11f), 0x3c00);     /* tie: even 1.0 */
    cr_assert_eq(ck_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02); /* tie: even 0x3c02 */
    cr_assert_eq(ck_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01);
    cr_assert_eq(ck_f32_to_f16(65504.0f), 0x7bff);
    cr_assert_eq(ck_f32_to_f16(65519.0f), 0x7bff); /* below the midpoint to 65536 */
    cr_assert_eq(ck_f32_to_f16(65520.0f), 0x7c00); /* the tie rounds to even: inf */
    cr_assert_eq(ck_f32_to_f16(1e10f), 0x7c00);
    cr_assert_eq(ck_f32_to_f16(-1e10f), 0xfc00);
    cr_assert_eq(ck_f32_to_f16(INFINITY), 0x7c00);
    cr_assert_eq(ck_f32_to_f16(0x1p-24f), 0x0001);
    cr_assert_eq(ck_f32_to_f16(0x1p-25f), 0x0000);        /* tie: even 0 */
    cr_assert_eq(ck_f32_to_f16(1.5f * 0x1p-24f), 0x0002); /* tie: even 2 */
    cr_assert_eq(ck_f32_to_f16(1.5f * 0x1p-25f), 0x0001);
    cr_assert_eq(ck_f32_to_f16(-0.0f), 0x8000);
    cr_assert_eq(ck_f32_to_f16(0x1p-14f - 0x1p-26f), 0x0400); /* rounds up into the normals */
    cr_assert(isnan(ck_f16_to_f32(ck_f32_to_f16(NAN))));
    cr_assert(isnan(ck_f16_to_f32(ck_f32_to_f16(from_bits(0x7f800001u)))));
}

#if defined(__FLT16_MAX__)
/* Against the compiler's own binary16 conversion where it has one. */
Test(scalar_numeric, f16_matches_the_compilers_float16_on_a_sweep)
{
    for (uint64_t u = 0; u < 0x7f800000u; u += 0x1231u) {
        for (int sign = 0; sign < 2; sign++) {
            float f = from_bits((uint32_t)u | (sign ? 0x80000000u : 0));
            _Float16 h = (_Float16)f;
            uint16_t want;
            memcpy(&want, &h, sizeof want);
            cr_assert_eq(ck_f32_to_f16(f), want, "0x%08x", (unsigned)u);
        }
    }
}
#endif
