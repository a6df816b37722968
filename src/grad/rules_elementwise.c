/* rules_elementwise.c: jvp and transpose rules for the elementwise primitives
 * (see prims.def). Tangent code uses the public ops with the equation's place, so the
 * IR grad produces points at the user's lines. Every op applied to a tangent is linear
 * in it with primal-only other operands (mul, div by a primal, neg, select on a primal
 * predicate, convert, add), so reverse mode can transpose it. Derivatives follow JAX's
 * conventions (lax.py) so values, including at ties and zeros, match. */
#include <math.h>

#include "grad.h"

/* ------------------------------------------------------------------ helpers */

/* A literal of like's dtype. */
static jx_val lit(jx_loc l, jx_val like, double v) { return jx_scalar_like_at(l, like, v); }

/* t * j, or the symbolic zero when t is one. */
static jx_val scale(jx_loc l, jx_val t, jx_val j) { return jx__is_zero(t) ? JX_ZERO : jx_mul_at(l, t, j); }

/* Writes dy[0] = a + b stretched to the output's aval: a rank-0 operand's tangent
 * broadcasts like the operand did, and a tangent must have the output's full shape. */
static jx_status put(const jx__eqn *e, const jx_val *y, jx_val *dy, jx_val a, jx_val b) {
    jx_aval o = jx__val_aval(y[0]);
    jx_val t = jx__add_tan(e->loc, a, b);
    if (!jx__is_zero(t) && jx_rank(t) != o.rank) t = jx_add_at(e->loc, t, jx__zeros(e->loc, &o));
    dy[0] = t;
    return jx_trace_status();
}

/* x == 0 ? 1 : x (JAX's _replace_zero), keeping pow's derivatives finite at zero. */
static jx_val replace_zero(jx_loc l, jx_val x) {
    return jx_select_at(l, jx_eq_at(l, x, lit(l, x, 0)), lit(l, x, 1), x);
}

/* ------------------------------------------------------------------ jvp: unary */

/* Piecewise constant or gradient-blocking primitives, and comparisons (whose bool
 * output carries no tangent): the primal only. */
static jx_status jvp_zero(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    (void)dx;
    (void)dy; /* already JX_ZERO */
    jx__rebind(e, x, y);
    return jx_trace_status();
}

/* d/dx x^n = n x^(n-1) (n a C int attribute; n = 0 is constant). */
static jx_val integer_pow_tan(jx_loc l, const jx__eqn *e, jx_val x, jx_val t) {
    int64_t n = jx__attr_int(e->nattr, e->attrs, JX_A_Y, 1);
    if (n == 0) return JX_ZERO;
    if (n == 1) return t;
    jx_val p = n == 2 ? x : jx_integer_pow_at(l, x, (int)(n - 1));
    return jx_mul_at(l, t, jx_mul_at(l, lit(l, x, (double)n), p));
}

/* trigamma(x) = polygamma(1, x), digamma's derivative, written with jx's ops so that it
 * differentiates again (jvp's operations on t stay linear: trigamma only multiplies it):
 * x < 0 reflects (psi1(x) = pi^2 / sin^2(pi x) - psi1(1 - x)),
 * then psi1(z) = sum_{k<10} 1/(z+k)^2 + psi1(z + 10), the last by its asymptotic series
 * 1/w + 1/(2w^2) + sum B_2k / w^(2k+1) through w^-15 (error below 1e-15 for w >= 10). */
#define PI 3.14159265358979323846
static jx_val trigamma(jx_loc l, jx_val x) {
    static const double bern[] = {7.0 / 6, -691.0 / 2730, 5.0 / 66, -1.0 / 30, 1.0 / 42, -1.0 / 30, 1.0 / 6};
    jx_val neg = jx_lt_at(l, x, lit(l, x, 0));
    jx_val z = jx_select_at(l, neg, jx_sub_at(l, lit(l, x, 1), x), x);
    jx_val acc = jx_integer_pow_at(l, z, -2);
    for (int k = 1; k < 10; k++) acc = jx_add_at(l, acc, jx_integer_pow_at(l, jx_add_at(l, z, lit(l, z, k)), -2));
    jx_val w = jx_add_at(l, z, lit(l, z, 10)), w2 = jx_integer_pow_at(l, w, -2);
    jx_val s = lit(l, w, bern[0]);
    for (int k = 1; k < 7; k++) s = jx_add_at(l, lit(l, w, bern[k]), jx_mul_at(l, w2, s));
    jx_val iw = jx_integer_pow_at(l, w, -1);
    jx_val asym = jx_add_at(l, jx_add_at(l, iw, jx_mul_at(l, lit(l, w, 0.5), w2)), jx_mul_at(l, jx_mul_at(l, iw, w2), s));
    jx_val pos = jx_add_at(l, acc, asym);
    /* sin^2(pi x) has period 1: reduce x by its nearest integer first (exact) */
    jx_val sp = jx_sin_at(l, jx_mul_at(l, lit(l, x, PI), jx_sub_at(l, x, jx_round_at(l, x))));
    jx_val refl = jx_sub_at(l, jx_div_at(l, lit(l, x, PI * PI), jx_mul_at(l, sp, sp)), pos);
    /* the poles: 0, the negative integers and -inf give +inf, as in JAX */
    jx_val pole = jx_and_at(l, jx_le_at(l, x, lit(l, x, 0)), jx_eq_at(l, x, jx_floor_at(l, x)));
    return jx_select_at(l, pole, lit(l, x, INFINITY), jx_select_at(l, neg, refl, pos));
}

/* 1 - x^2, (x - 1)(x + 1) and the like: a + s * x^2 */
static jx_val one_sq(jx_loc l, jx_val x, double a, double s) {
    return jx_add_at(l, lit(l, x, a), jx_mul_at(l, lit(l, x, s), jx_mul_at(l, x, x)));
}

/* One rule for the unary primitives: x the operand, r the rebound result, t = dx. */
static jx_status jvp_unary(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK) return jx_trace_status();
    jx_loc l = e->loc;
    jx_val v = x[0], r = y[0], t = dx[0], d = JX_ZERO;
    switch ((jx_prim)e->prim) {
    case JX_PRIM_NEG: d = jx_neg_at(l, t); break;
    case JX_PRIM_EXP: d = jx_mul_at(l, t, r); break;
    case JX_PRIM_LOG: d = jx_div_at(l, t, v); break;
    case JX_PRIM_LOG1P: d = jx_div_at(l, t, jx_add_at(l, v, lit(l, v, 1))); break;
    case JX_PRIM_EXPM1: d = jx_mul_at(l, t, jx_add_at(l, r, lit(l, r, 1))); break;
    /* 1 - tanh^2 as (1 + r)(1 - r): no cancellation near |r| = 1 */
    case JX_PRIM_TANH:
        d = jx_mul_at(l, t, jx_mul_at(l, jx_add_at(l, lit(l, r, 1), r), jx_sub_at(l, lit(l, r, 1), r)));
        break;
    case JX_PRIM_LOGISTIC: d = jx_mul_at(l, t, jx_mul_at(l, r, jx_sub_at(l, lit(l, r, 1), r))); break;
    case JX_PRIM_SIN: d = jx_mul_at(l, t, jx_cos_at(l, v)); break;
    case JX_PRIM_COS: d = jx_mul_at(l, t, jx_neg_at(l, jx_sin_at(l, v))); break;
    case JX_PRIM_SQRT: d = jx_mul_at(l, t, jx_div_at(l, lit(l, r, 0.5), r)); break;
    case JX_PRIM_RSQRT: d = jx_mul_at(l, t, jx_mul_at(l, lit(l, r, -0.5), jx_div_at(l, r, v))); break;
    /* JAX: select(x >= 0, t, -t), so abs'(0) = abs'(-0.0) = 1 */
    case JX_PRIM_ABS: d = jx_select_at(l, jx_ge_at(l, v, lit(l, v, 0)), t, jx_neg_at(l, t)); break;
    case JX_PRIM_INTEGER_POW: d = integer_pow_tan(l, e, v, t); break;
    /* the rest as lax.py and special.py define them */
    case JX_PRIM_ERF:
    case JX_PRIM_ERFC: {
        double c = e->prim == JX_PRIM_ERF ? 1.1283791670955126 : -1.1283791670955126; /* 2/sqrt(pi) */
        d = jx_mul_at(l, lit(l, v, c), jx_mul_at(l, t, jx_exp_at(l, jx_neg_at(l, jx_mul_at(l, v, v)))));
        break;
    }
    case JX_PRIM_LGAMMA: d = jx_mul_at(l, t, jx_digamma_at(l, v)); break;
    case JX_PRIM_DIGAMMA: d = jx_mul_at(l, t, trigamma(l, v)); break;
    case JX_PRIM_TAN: d = jx_mul_at(l, t, jx_add_at(l, lit(l, r, 1), jx_mul_at(l, r, r))); break;
    case JX_PRIM_ASIN: d = jx_mul_at(l, t, jx_rsqrt_at(l, one_sq(l, v, 1, -1))); break;
    case JX_PRIM_ACOS: d = jx_mul_at(l, t, jx_neg_at(l, jx_rsqrt_at(l, one_sq(l, v, 1, -1)))); break;
    case JX_PRIM_ATAN: d = jx_div_at(l, t, one_sq(l, v, 1, 1)); break;
    case JX_PRIM_SINH: d = jx_mul_at(l, t, jx_cosh_at(l, v)); break;
    case JX_PRIM_COSH: d = jx_mul_at(l, t, jx_sinh_at(l, v)); break;
    case JX_PRIM_ASINH: d = jx_mul_at(l, t, jx_rsqrt_at(l, one_sq(l, v, 1, 1))); break;
    case JX_PRIM_ACOSH: d = jx_mul_at(l, t, jx_rsqrt_at(l, one_sq(l, v, -1, 1))); break;
    case JX_PRIM_ATANH:
        d = jx_mul_at(l, jx_div_at(l, lit(l, v, 1), jx_add_at(l, lit(l, v, 1), v)),
                      jx_div_at(l, t, jx_sub_at(l, lit(l, v, 1), v)));
        break;
    case JX_PRIM_CONVERT: {
        /* between float dtypes the tangent converts; an int or half result has none */
        jx_dtype to = jx__val_aval(r).dtype;
        if (jx__differentiable(to)) d = jx_convert_at(l, t, to);
        break;
    }
    default:
        jx__trace_fail(jx__trace_top(), JX_ERR_INTERNAL, l, jx__prims[e->prim].name, "no unary jvp case");
        break;
    }
    dy[0] = d;
    return jx_trace_status();
}

/* ------------------------------------------------------------------ jvp: binary */

static jx_status jvp_add(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    return put(e, y, dy, dx[0], dx[1]);
}

static jx_status jvp_sub(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    return put(e, y, dy, dx[0], jx__is_zero(dx[1]) ? JX_ZERO : jx_neg_at(e->loc, dx[1]));
}

static jx_status jvp_mul(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    return put(e, y, dy, scale(e->loc, dx[0], x[1]), scale(e->loc, dx[1], x[0]));
}

/* d(a/b) = da / b - db * (r / b) */
static jx_status jvp_div(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK) return jx_trace_status();
    jx_loc l = e->loc;
    jx_val a = jx__is_zero(dx[0]) ? JX_ZERO : jx_div_at(l, dx[0], x[1]);
    jx_val b = jx__is_zero(dx[1]) ? JX_ZERO : jx_mul_at(l, dx[1], jx_neg_at(l, jx_div_at(l, y[0], x[1])));
    return put(e, y, dy, a, b);
}

/* rem(a, b) = a - b * trunc(a / b): d/da = 1, d/db = -trunc(a / b) */
static jx_status jvp_rem(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK) return jx_trace_status();
    jx_loc l = e->loc;
    jx_val b = JX_ZERO;
    if (!jx__is_zero(dx[1])) {
        jx_val q = jx_div_at(l, x[0], x[1]);
        jx_val tr = jx_mul_at(l, jx_sign_at(l, q), jx_floor_at(l, jx_abs_at(l, q)));
        b = jx_mul_at(l, dx[1], jx_neg_at(l, tr));
    }
    return put(e, y, dy, dx[0], b);
}

/* d/da a^b = b a^(b-1) (JAX's float-exponent form: NaN at a = 0, b = 0, as 0 * inf);
 * d/db a^b = log(a == 0 ? 1 : a) a^b (finite where a = 0). */
static jx_status jvp_pow(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK) return jx_trace_status();
    jx_loc l = e->loc;
    jx_val a = JX_ZERO, b = JX_ZERO;
    if (!jx__is_zero(dx[0])) {
        jx_val p = x[1];
        a = jx_mul_at(l, dx[0], jx_mul_at(l, p, jx_pow_at(l, x[0], jx_sub_at(l, p, lit(l, p, 1)))));
    }
    if (!jx__is_zero(dx[1])) b = jx_mul_at(l, dx[1], jx_mul_at(l, jx_log_at(l, replace_zero(l, x[0])), y[0]));
    return put(e, y, dy, a, b);
}

/* max/min: each operand's share of the result, 1/2 each at a tie (JAX's _balanced_eq):
 * share(u, w) = u == r ? (w == r ? 0.5 : 1) : 0. */
static jx_val share(jx_loc l, jx_val u, jx_val w, jx_val r) {
    jx_val half_or_one = jx_select_at(l, jx_eq_at(l, w, r), lit(l, r, 0.5), lit(l, r, 1));
    return jx_select_at(l, jx_eq_at(l, u, r), half_or_one, lit(l, r, 0));
}

static jx_status jvp_minmax(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK) return jx_trace_status();
    jx_loc l = e->loc;
    jx_val a = jx__is_zero(dx[0]) ? JX_ZERO : jx_mul_at(l, dx[0], share(l, x[0], x[1], y[0]));
    jx_val b = jx__is_zero(dx[1]) ? JX_ZERO : jx_mul_at(l, dx[1], share(l, x[1], x[0], y[0]));
    return put(e, y, dy, a, b);
}

/* atan2(a, b): d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2) */
static jx_status jvp_atan2(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK) return jx_trace_status();
    jx_loc l = e->loc;
    jx_val den = jx_add_at(l, jx_mul_at(l, x[0], x[0]), jx_mul_at(l, x[1], x[1]));
    jx_val a = jx__is_zero(dx[0]) ? JX_ZERO : jx_mul_at(l, dx[0], jx_div_at(l, x[1], den));
    jx_val b = jx__is_zero(dx[1]) ? JX_ZERO : jx_mul_at(l, dx[1], jx_div_at(l, jx_neg_at(l, x[0]), den));
    return put(e, y, dy, a, b);
}

/* select(p, t, f): the tangent selects the same way; a zero branch becomes a literal 0 */
static jx_status jvp_select(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    if (jx__rebind(e, x, y) != JX_OK) return jx_trace_status();
    jx_loc l = e->loc;
    jx_val t = jx__is_zero(dx[1]) ? lit(l, y[0], 0) : dx[1];
    jx_val f = jx__is_zero(dx[2]) ? lit(l, y[0], 0) : dx[2];
    return put(e, y, dy, jx_select_at(l, x[0], t, f), JX_ZERO);
}

/* ------------------------------------------------------------------ transpose */

static jx_status tr_add(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                        const jx_val *ct, jx_val *ct_in) {
    (void)x;
    for (int i = 0; i < 2; i++)
        if (lin[i]) ct_in[i] = jx__unbroadcast(e->loc, ct[0], &av[i]);
    return jx_trace_status();
}

static jx_status tr_sub(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                        const jx_val *ct, jx_val *ct_in) {
    tr_add(e, x, av, lin, ct, ct_in);
    if (lin[1]) ct_in[1] = jx_neg_at(e->loc, ct_in[1]);
    return jx_trace_status();
}

static jx_status tr_neg(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                        const jx_val *ct, jx_val *ct_in) {
    (void)x;
    (void)av;
    (void)lin;
    ct_in[0] = jx_neg_at(e->loc, ct[0]);
    return jx_trace_status();
}

/* A bilinear primitive seen with both operands linear is a bug in some jvp rule. */
static jx_status nonlinear(const jx__eqn *e, const char *what) {
    jx__trace_fail(jx__trace_top(), JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "%s", what);
    return jx_trace_status();
}

/* mul is linear in one operand at a time: the other is a residual. */
static jx_status tr_mul(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                        const jx_val *ct, jx_val *ct_in) {
    if (lin[0] && lin[1]) return nonlinear(e, "transpose of a product of two tangents");
    int k = lin[0] ? 0 : 1;
    ct_in[k] = jx__unbroadcast(e->loc, jx_mul_at(e->loc, ct[0], x[1 - k]), &av[k]);
    return jx_trace_status();
}

/* div is linear in the numerator only. */
static jx_status tr_div(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                        const jx_val *ct, jx_val *ct_in) {
    if (lin[1]) return nonlinear(e, "transpose of a division by a tangent");
    ct_in[0] = jx__unbroadcast(e->loc, jx_div_at(e->loc, ct[0], x[1]), &av[0]);
    return jx_trace_status();
}

static jx_status tr_convert(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                            const jx_val *ct, jx_val *ct_in) {
    (void)x;
    (void)lin;
    ct_in[0] = jx_convert_at(e->loc, ct[0], av[0].dtype);
    return jx_trace_status();
}

/* select is linear in its branches; the predicate is always a residual. */
static jx_status tr_select(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                           const jx_val *ct, jx_val *ct_in) {
    if (lin[0]) return nonlinear(e, "transpose with a tangent predicate");
    jx_val z = lit(e->loc, ct[0], 0);
    if (lin[1]) ct_in[1] = jx__unbroadcast(e->loc, jx_select_at(e->loc, x[0], ct[0], z), &av[1]);
    if (lin[2]) ct_in[2] = jx__unbroadcast(e->loc, jx_select_at(e->loc, x[0], z, ct[0]), &av[2]);
    return jx_trace_status();
}

/* ------------------------------------------------------------------ registration */

void jx__grad_register_elementwise(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    static const jx_prim unary[] = {JX_PRIM_NEG,  JX_PRIM_EXP,   JX_PRIM_LOG,         JX_PRIM_LOG1P,
                                    JX_PRIM_EXPM1, JX_PRIM_TANH, JX_PRIM_LOGISTIC,   JX_PRIM_SIN,
                                    JX_PRIM_COS,  JX_PRIM_SQRT,  JX_PRIM_RSQRT,       JX_PRIM_ABS,
                                    JX_PRIM_INTEGER_POW, JX_PRIM_CONVERT, JX_PRIM_ERF,   JX_PRIM_ERFC,
                                    JX_PRIM_LGAMMA, JX_PRIM_DIGAMMA, JX_PRIM_TAN,   JX_PRIM_ASIN,
                                    JX_PRIM_ACOS, JX_PRIM_ATAN,  JX_PRIM_SINH,  JX_PRIM_COSH,
                                    JX_PRIM_ASINH, JX_PRIM_ACOSH, JX_PRIM_ATANH};
    static const jx_prim zero[] = {JX_PRIM_SIGN, JX_PRIM_FLOOR, JX_PRIM_CEIL, JX_PRIM_ROUND,
                                   JX_PRIM_STOP_GRADIENT, JX_PRIM_IS_FINITE};
    for (size_t i = 0; i < sizeof unary / sizeof *unary; i++) jvp[unary[i]] = jvp_unary;
    for (size_t i = 0; i < sizeof zero / sizeof *zero; i++) jvp[zero[i]] = jvp_zero;
    for (int p = JX_PRIM_EQ; p <= JX_PRIM_GE; p++) jvp[p] = jvp_zero;
    jvp[JX_PRIM_ADD] = jvp_add;
    jvp[JX_PRIM_SUB] = jvp_sub;
    jvp[JX_PRIM_MUL] = jvp_mul;
    jvp[JX_PRIM_DIV] = jvp_div;
    jvp[JX_PRIM_REM] = jvp_rem;
    jvp[JX_PRIM_POW] = jvp_pow;
    jvp[JX_PRIM_MAX] = jvp[JX_PRIM_MIN] = jvp_minmax;
    jvp[JX_PRIM_ATAN2] = jvp_atan2;
    jvp[JX_PRIM_SELECT] = jvp_select;
    tr[JX_PRIM_ADD] = tr_add;
    tr[JX_PRIM_SUB] = tr_sub;
    tr[JX_PRIM_NEG] = tr_neg;
    tr[JX_PRIM_MUL] = tr_mul;
    tr[JX_PRIM_DIV] = tr_div;
    tr[JX_PRIM_CONVERT] = tr_convert;
    tr[JX_PRIM_SELECT] = tr_select;
}
