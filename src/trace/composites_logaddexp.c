/* composites_logaddexp.c: jnp.logaddexp and jax.nn.softplus (= logaddexp(x, 0)) with
 * JAX's values and JAX's derivatives. JAX defines logaddexp with a custom jvp,
 *   d logaddexp = t1 exp(x1 - out) + t2 exp(x2 - out)   (+inf read as 0 in both places),
 * because differentiating its stable formula max + log1p(exp(-|delta|)) gives 0 instead
 * of 1/2 where x1 == x2 (max's and abs's tie rules); here too the formula and that jvp
 * are a custom_jvp_call, so grad, vmap and jit treat it as JAX does. */
#include <math.h>

#include "ops_util.h"

/* max(x1, x2) + log1p(exp(-|x1 - x2|)); x1 + x2 where the difference is NaN (a NaN, or
 * infinities of one sign), as lax's logaddexp. */
static jx_val value(jx_loc loc, jx_val x1, jx_val x2) {
    jx_val delta = jx_sub_at(loc, x1, x2);
    jx_val amax = jx_max_at(loc, x1, x2);
    jx_val v = jx_add_at(loc, amax, jx_log1p_at(loc, jx_exp_at(loc, jx_neg_at(loc, jx_abs_at(loc, delta)))));
    return jx_select_at(loc, jx_ne_at(loc, delta, delta), jx_add_at(loc, x1, x2), v);
}

static void value_body(jx_val *out, const jx_val *in, void *user) {
    jx_loc *loc = user;
    out[0] = value(*loc, in[0], in[1]);
}

/* x with +inf replaced by 0 (lax's _replace_inf), so exp(inf - inf) does not give NaN. */
static jx_val replace_inf(jx_loc loc, jx_val x) {
    jx_val inf = jx_eq_at(loc, x, jx_scalar_like_at(loc, x, INFINITY));
    return jx_select_at(loc, inf, jx_scalar_like_at(loc, x, 0), x);
}

/* (x1, x2, t1, t2) -> (out, t1 exp(x1 - out) + t2 exp(x2 - out)). Where x1 == x2 the
 * weights are written logistic(x1 - x2) (= 1/2, as exp(x1 - out) is): differentiating
 * out inside this rule takes the plain formula's derivative (0 at a tie), where JAX
 * differentiates its custom rule again, so only this form gives JAX's second derivative
 * there (1/4); elsewhere the two agree and JAX's expression is kept, infinities and
 * all. */
static jx_val weight(jx_loc loc, jx_val tie, jx_val x, jx_val ry, jx_val delta) {
    jx_val w = jx_exp_at(loc, jx_sub_at(loc, replace_inf(loc, x), ry));
    return jx_select_at(loc, tie, jx_logistic_at(loc, delta), w);
}

static void jvp_body(jx_val *out, const jx_val *in, void *user) {
    jx_loc loc = *(jx_loc *)user;
    jx_val y = value(loc, in[0], in[1]), ry = replace_inf(loc, y);
    jx_val delta = jx_sub_at(loc, in[0], in[1]), tie = jx_eq_at(loc, delta, jx_scalar_like_at(loc, delta, 0));
    jx_val w1 = weight(loc, tie, in[0], ry, delta), w2 = weight(loc, tie, in[1], ry, jx_neg_at(loc, delta));
    out[0] = y;
    out[1] = jx_add_at(loc, jx_mul_at(loc, in[2], w1), jx_mul_at(loc, in[3], w2));
}

jx_val jx_logaddexp_at(jx_loc loc, jx_val x1, jx_val x2) {
    jx_aval a, b, ab;
    if (!jx__ops_aval(loc, "logaddexp", x1, &a) || !jx__ops_aval(loc, "logaddexp", x2, &b)) return jx__ops_invalid();
    if ((a.dtype != JX_F32 && a.dtype != JX_F64) || a.dtype != b.dtype)
        return jx__ops_fail(loc, JX_ERR_DTYPE, "logaddexp", "needs two f32 or two f64 operands, got %s and %s",
                            jx__avs(&a), jx__avs(&b));
    if (!jx__broadcast_shapes(&a, &b, &ab))
        return jx__ops_fail(loc, JX_ERR_SHAPE, "logaddexp", "operands %s and %s do not broadcast", jx__avs(&a),
                            jx__avs(&b));
    jx_val in[2] = {jx__broadcast_to_aval(loc, x1, &ab), jx__broadcast_to_aval(loc, x2, &ab)};
    jx_aval avals[4] = {ab, ab, ab, ab};
    jx_fn *f = jx_trace_at(loc, "logaddexp", value_body, &loc, 2, avals, 1);
    jx_fn *jvp = f ? jx_trace_at(loc, "logaddexp_jvp", jvp_body, &loc, 4, avals, 2) : NULL;
    jx_val out = jx__ops_invalid();
    if (jvp) jx_custom_jvp_call_at(loc, f, jvp, 2, in, 1, &out);
    else jx_error_at(loc, jx_errcode(), "logaddexp", "%s", jx_errmsg());
    jx_fn_release(f);
    jx_fn_release(jvp);
    return out;
}

jx_val jx_softplus_at(jx_loc loc, jx_val x) {
    jx_aval a;
    if (!jx__ops_aval(loc, "softplus", x, &a)) return jx__ops_invalid();
    return jx_logaddexp_at(loc, x, jx_scalar_like_at(loc, x, 0));
}
