/* shape_reduce.c: shape and dtype rules for the reductions (reduce_*, argmax/argmin),
 * the cumulative ops, and (via shape_dot.c) dot_general. */
#include "reduce_util.h"

/* sum/prod want arithmetic dtypes; max/min also order bools. f16/bf16 are storage only. */
static bool numeric(jx_dtype t) { return t == JX_F32 || t == JX_F64 || jx_dtype_is_int(t); }
static bool ordered(jx_dtype t) { return numeric(t) || t == JX_BOOL; }

static jx_status want_dtype(jx__rule_err *err, const jx_aval *x, bool allow_bool) {
    if (allow_bool ? ordered(x->dtype) : numeric(x->dtype)) return JX_OK;
    return jx__rule_fail(err, JX_ERR_DTYPE, "dtype %s not supported (%s): %s", jx_dtype_name(x->dtype),
                         allow_bool ? "bool, ints, f32, f64" : "ints, f32, f64", jx__avs(x));
}

static jx_status one_operand(int nin, int maxout, jx__rule_err *err) {
    if (nin != 1) return jx__rule_fail(err, JX_ERR_ARG, "takes 1 operand, got %d", nin);
    if (maxout < 1) return jx__rule_fail(err, JX_ERR_ARG, "no room for the output");
    return JX_OK;
}

/* An integer attribute that must be present. */
static jx_status need_int(int nattr, const jx__attr *attrs, jx__akey key, int64_t *v,
                          jx__rule_err *err) {
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    if (!a || a->kind != JX_AK_INT)
        return jx__rule_fail(err, JX_ERR_ARG, "needs an integer attribute '%s'", jx__attr_names[key]);
    *v = a->u.i;
    return JX_OK;
}

/* reduce_sum/max/min/prod: axes sorted, distinct, in range; the output drops them. */
static jx_status reduce_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                             int maxout, jx_aval *out, int *nout, jx__rule_err *err,
                             bool allow_bool) {
    if (one_operand(nin, maxout, err)) return err->code;
    const jx__attr *a = jx__attr_get(nattr, attrs, JX_A_AXES);
    if (!a || a->kind != JX_AK_INTS) return jx__rule_fail(err, JX_ERR_ARG, "needs an attribute 'axes'");
    jx_ints axes = {a->u.ints, a->n};
    const jx_aval *x = &in[0];
    if (want_dtype(err, x, allow_bool)) return err->code;
    bool drop[JX_MAX_RANK] = {false};
    for (int i = 0; i < axes.n; i++) {
        if (axes.v[i] < 0 || axes.v[i] >= x->rank)
            return jx__rule_fail(err, JX_ERR_AXIS, "axis %lld out of range for rank %d",
                                 (long long)axes.v[i], x->rank);
        if (i > 0 && axes.v[i] <= axes.v[i - 1])
            return jx__rule_fail(err, JX_ERR_AXIS, "axes %s must be sorted and distinct",
                                 jx__ints_str(axes));
        drop[axes.v[i]] = true;
    }
    jx_aval o = {x->dtype, 0, {0}};
    for (int d = 0; d < x->rank; d++)
        if (!drop[d]) o.shape[o.rank++] = x->shape[d];
    out[0] = o;
    *nout = 1;
    return JX_OK;
}

static jx_status rule_sum_prod(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                               int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    return reduce_rule(nin, in, nattr, attrs, maxout, out, nout, err, false);
}

static jx_status rule_max_min(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                              int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    return reduce_rule(nin, in, nattr, attrs, maxout, out, nout, err, true);
}

/* The axis attribute of argmax and the cumulative ops: present and normalised. */
static jx_status axis_attr(int nattr, const jx__attr *attrs, const jx_aval *x, int *axis,
                           jx__rule_err *err) {
    int64_t v = 0;
    if (need_int(nattr, attrs, JX_A_AXIS, &v, err)) return err->code;
    if (v < 0 || v >= x->rank)
        return jx__rule_fail(err, JX_ERR_AXIS, "axis %lld out of range for rank %d", (long long)v, x->rank);
    *axis = (int)v;
    return JX_OK;
}

/* argmax/argmin: the axis is dropped; the index dtype is i32 or i64. */
static jx_status rule_arg(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                          int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    if (one_operand(nin, maxout, err)) return err->code;
    const jx_aval *x = &in[0];
    int axis;
    if (want_dtype(err, x, true) || axis_attr(nattr, attrs, x, &axis, err)) return err->code;
    const jx__attr *dt = jx__attr_get(nattr, attrs, JX_A_DTYPE);
    if (!dt || dt->kind != JX_AK_DTYPE) return jx__rule_fail(err, JX_ERR_ARG, "needs an attribute 'dtype'");
    if (dt->u.i != JX_I32 && dt->u.i != JX_I64)
        return jx__rule_fail(err, JX_ERR_DTYPE, "index dtype must be i32 or i64, got %s",
                             jx_dtype_name((jx_dtype)dt->u.i));
    if (x->shape[axis] == 0)
        return jx__rule_fail(err, JX_ERR_SHAPE, "axis %d of %s is empty: no element to pick", axis, jx__avs(x));
    jx_aval o = {(jx_dtype)dt->u.i, 0, {0}};
    for (int d = 0; d < x->rank; d++)
        if (d != axis) o.shape[o.rank++] = x->shape[d];
    out[0] = o;
    *nout = 1;
    return JX_OK;
}

/* cumsum/cumprod/cummax/cummin: same aval; reverse is 0 or 1. */
static jx_status cum_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                          int maxout, jx_aval *out, int *nout, jx__rule_err *err, bool allow_bool) {
    if (one_operand(nin, maxout, err)) return err->code;
    const jx_aval *x = &in[0];
    int axis;
    int64_t rev = 0;
    if (want_dtype(err, x, allow_bool) || axis_attr(nattr, attrs, x, &axis, err) ||
        need_int(nattr, attrs, JX_A_REVERSE, &rev, err))
        return err->code;
    if (rev != 0 && rev != 1) return jx__rule_fail(err, JX_ERR_ARG, "reverse must be 0 or 1, got %lld", (long long)rev);
    out[0] = *x;
    *nout = 1;
    return JX_OK;
}

static jx_status rule_cum_arith(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    return cum_rule(nin, in, nattr, attrs, maxout, out, nout, err, false);
}

static jx_status rule_cum_order(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    return cum_rule(nin, in, nattr, attrs, maxout, out, nout, err, true);
}

void jx__shape_register_reduce(jx__shape_rule *t) {
    t[JX_PRIM_REDUCE_SUM] = rule_sum_prod;
    t[JX_PRIM_REDUCE_PROD] = rule_sum_prod;
    t[JX_PRIM_REDUCE_MAX] = rule_max_min;
    t[JX_PRIM_REDUCE_MIN] = rule_max_min;
    t[JX_PRIM_ARGMAX] = rule_arg;
    t[JX_PRIM_ARGMIN] = rule_arg;
    t[JX_PRIM_CUMSUM] = rule_cum_arith;
    t[JX_PRIM_CUMPROD] = rule_cum_arith;
    t[JX_PRIM_CUMMAX] = rule_cum_order;
    t[JX_PRIM_CUMMIN] = rule_cum_order;
    t[JX_PRIM_DOT_GENERAL] = jx__shape_dot_general;
}
