/* rules_elementwise.c: jvp and transpose rules for the elementwise primitives
 * (see prims.def). Tangent code uses the public ops with the equation's place, so the
 * IR grad produces points at the user's lines. */
#include "grad.h"

/* ------------------------------------------------------------------ jvp */

static jx_status jvp_add(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    jx_aval a = jx__val_aval(y[0]);
    /* a rank-0 operand's tangent broadcasts like the operand did */
    dy[0] = jx__add_tan(e->loc, dx[0], dx[1]);
    if (!jx__is_zero(dy[0]) && jx_rank(dy[0]) != a.rank) dy[0] = jx_add_at(e->loc, dy[0], jx__zeros(e->loc, &a));
    return jx_trace_status();
}

static jx_status jvp_sub(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    jx_val nb = jx__is_zero(dx[1]) ? JX_ZERO : jx_neg_at(e->loc, dx[1]);
    jx_val t[2] = {dx[0], nb};
    return jvp_add(e, x, t, y, dy);
}

static jx_status jvp_neg(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    dy[0] = jx_neg_at(e->loc, dx[0]);
    return jx_trace_status();
}

static jx_status jvp_mul(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    jx_val a = jx__is_zero(dx[0]) ? JX_ZERO : jx_mul_at(e->loc, dx[0], x[1]);
    jx_val b = jx__is_zero(dx[1]) ? JX_ZERO : jx_mul_at(e->loc, x[0], dx[1]);
    dy[0] = jx__add_tan(e->loc, a, b);
    return jx_trace_status();
}

static jx_status jvp_sin(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    dy[0] = jx_mul_at(e->loc, dx[0], jx_cos_at(e->loc, x[0]));
    return jx_trace_status();
}

static jx_status jvp_cos(const jx__eqn *e, const jx_val *x, const jx_val *dx, jx_val *y, jx_val *dy) {
    jx__rebind(e, x, y);
    dy[0] = jx_mul_at(e->loc, dx[0], jx_neg_at(e->loc, jx_sin_at(e->loc, x[0])));
    return jx_trace_status();
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

/* mul is linear in one operand at a time: the other is a residual. */
static jx_status tr_mul(const jx__eqn *e, const jx_val *x, const jx_aval *av, const bool *lin,
                        const jx_val *ct, jx_val *ct_in) {
    if (lin[0] && lin[1]) {
        jx__trace_fail(jx__trace_top(), JX_ERR_INTERNAL, e->loc, "mul", "transpose of a product of two tangents");
        return jx_trace_status();
    }
    int l = lin[0] ? 0 : 1;
    ct_in[l] = jx__unbroadcast(e->loc, jx_mul_at(e->loc, ct[0], x[1 - l]), &av[l]);
    return jx_trace_status();
}

void jx__grad_register_elementwise(jx__jvp_rule *jvp, jx__transpose_rule *tr) {
    jvp[JX_PRIM_ADD] = jvp_add;
    jvp[JX_PRIM_SUB] = jvp_sub;
    jvp[JX_PRIM_NEG] = jvp_neg;
    jvp[JX_PRIM_MUL] = jvp_mul;
    jvp[JX_PRIM_SIN] = jvp_sin;
    jvp[JX_PRIM_COS] = jvp_cos;
    tr[JX_PRIM_ADD] = tr_add;
    tr[JX_PRIM_SUB] = tr_sub;
    tr[JX_PRIM_NEG] = tr_neg;
    tr[JX_PRIM_MUL] = tr_mul;
}
