/* special.c: lgamma and digamma for both backends (see special.h). digamma shifts x up
 * to at least 10 with psi(x) = psi(x + 1) - 1/x, then sums the asymptotic series
 * psi(x) ~ log x - 1/(2x) - sum B_2k / (2k x^2k) through x^-14 (error < 1e-16 there);
 * negative x reflect with psi(x) = psi(1 - x) - pi / tan(pi x). */
#define _DEFAULT_SOURCE /* lgamma_r */
#include "special.h"

#include <math.h>

double jx__lgamma(double x) {
    int sign;
    return lgamma_r(x, &sign);
}

float jx__lgammaf(float x) {
    int sign;
    return lgammaf_r(x, &sign);
}

double jx__digamma(double x) {
    if (isnan(x) || x == -INFINITY || (x <= 0 && x == floor(x))) return NAN;
    double r = 0;
    if (x < 0) {
        /* cot(pi x) has period 1: reduce to [-1/2, 1/2] first (exact), so that x near an
         * integer keeps its digits */
        r = -M_PI / tan(M_PI * (x - round(x)));
        x = 1 - x;
    }
    for (; x < 10; x += 1) r -= 1 / x;
    if (x == INFINITY) return INFINITY;
    double z = 1 / (x * x);
    double s = z * (1.0 / 12 -
                    z * (1.0 / 120 - z * (1.0 / 252 - z * (1.0 / 240 - z * (1.0 / 132 - z * (691.0 / 32760 - z / 12))))));
    return r + log(x) - 0.5 / x - s;
}

float jx__digammaf(float x) { return (float)jx__digamma((double)x); }
