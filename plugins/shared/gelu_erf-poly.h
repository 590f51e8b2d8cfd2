/* gelu_erf-poly.h — the f32 approximation of Phi(-a), a = |x|, that the
 * SIMD gelu_erf kernels share (docs/ops.md, "gelu_erf"), so that every ISA
 * rounds the same way and the error model's allowance is derived once:
 *
 *   Phi(-a) = exp(-a^2 / 2) * R(a),   R(a) = Phi(-a) exp(a^2 / 2)
 *   R(a)   ~= s * Q(s),  s = 4 / (4 + a),  Q of degree 9 (the constants below)
 *
 * R is smooth on [0, inf) and tends to 1 / (a sqrt(2 pi)) = s (1 - s)^-1 /
 * (4 sqrt(2 pi)), so in s it is a polynomial times s all the way to a = inf;
 * one formula serves every x with no branch, and Phi(-a) keeps its relative
 * accuracy where it is tiny (x << 0, where 1 + erf(x / sqrt 2) would cancel).
 * The constants are a least-squares fit of the relative error on 4000
 * Chebyshev points of s in (0, 1] (long double erfcl), rounded to f32. Over
 * a in [0, 14] (beyond, Phi(-a) < FLT_MIN) s and Q evaluated in f32 with
 * FMA Horner are within 5.8 u (u = 2^-24) of R, measured on 200001 points;
 * the error model allows 8 u for it (harness/parity/error_model_act.c). */
#ifndef CK_GELU_ERF_POLY_H
#define CK_GELU_ERF_POLY_H

#define CK_GERF_K 4.0f /* s = K / (K + a) */
#define CK_GERF_Q0 9.973556548e-02f
#define CK_GERF_Q1 9.973654151e-02f
#define CK_GERF_Q2 9.346278012e-02f
#define CK_GERF_Q3 8.164731413e-02f
#define CK_GERF_Q4 5.870703235e-02f
#define CK_GERF_Q5 6.459610909e-02f
#define CK_GERF_Q6 -3.345336765e-02f
#define CK_GERF_Q7 9.752919525e-02f
#define CK_GERF_Q8 -8.202393353e-02f
#define CK_GERF_Q9 2.006276324e-02f

#endif /* CK_GELU_ERF_POLY_H */
