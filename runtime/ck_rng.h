/* ck_rng.h — a small portable random generator for test inputs:
 * xoshiro256** seeded through splitmix64, uniforms with 53 random bits and
 * normals from Marsaglia's polar method in double. Only integer arithmetic,
 * IEEE division, sqrt and log are involved, so a seed gives the same numbers
 * on every machine (and the f32 values rounded from them are identical). */
#ifndef CK_RNG_H
#define CK_RNG_H

#include <math.h>
#include <stdint.h>

typedef struct ck_rng {
    uint64_t s[4];
    double spare; /* the polar method makes normals in pairs */
    int has_spare;
} ck_rng;

static inline uint64_t ck_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static inline void ck_rng_seed(ck_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = ck_splitmix64(&seed);
    r->has_spare = 0;
    r->spare = 0.0;
}

static inline uint64_t ck_rng_rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t ck_rng_u64(ck_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = ck_rng_rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = ck_rng_rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1). */
static inline double ck_rng_uniform(ck_rng *r)
{
    return (double)(ck_rng_u64(r) >> 11) * 0x1.0p-53;
}

/* Uniform integer in [0, n), n > 0 (multiply-shift; bias below 2^-32). */
static inline uint64_t ck_rng_below(ck_rng *r, uint64_t n)
{
    return (uint64_t)(((unsigned __int128)ck_rng_u64(r) * n) >> 64);
}

/* Standard normal. */
static inline double ck_rng_normal(ck_rng *r)
{
    if (r->has_spare) {
        r->has_spare = 0;
        return r->spare;
    }
    double u, v, s;
    do {
        u = 2.0 * ck_rng_uniform(r) - 1.0;
        v = 2.0 * ck_rng_uniform(r) - 1.0;
        s = u * u + v * v;
    } while (s >= 1.0 || s == 0.0);
    double f = sqrt(-2.0 * log(s) / s);
    r->spare = v * f;
    r->has_spare = 1;
    return u * f;
}

#endif /* CK_RNG_H */
