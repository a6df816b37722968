/* shape_collective.c: shape and dtype rules for the collectives over a named axis (psum,
 * pmax, pmin, axis_index, all_gather). Each carries the axis name as a string attribute;
 * the value a slice sees keeps its shape, except all_gather's (every slice's x stacked
 * along a new leading axis of the size it records). */
#include "ir.h"

/* The axis name attribute, which every collective needs (non-empty). */
static jx_status need_name(int nattr, const jx__attr *attrs, jx__rule_err *err) {
    const char *s = jx__attr_str(nattr, attrs, JX_A_AXIS_NAME);
    if (!s || !*s) return jx__rule_fail(err, JX_ERR_ARG, "needs a string attribute 'axis_name'");
    return JX_OK;
}

static jx_status one_operand(int nin, int maxout, jx__rule_err *err) {
    if (nin != 1) return jx__rule_fail(err, JX_ERR_ARG, "takes 1 operand, got %d", nin);
    if (maxout < 1) return jx__rule_fail(err, JX_ERR_ARG, "no room for the output");
    return JX_OK;
}

/* psum/pmax/pmin: x of any arithmetic dtype (pmax/pmin also order bools), same aval out. */
static jx_status rule_reduce(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                             int maxout, jx_aval *out, int *nout, jx__rule_err *err, bool allow_bool) {
    if (one_operand(nin, maxout, err) || need_name(nattr, attrs, err)) return err->code;
    jx_dtype t = in[0].dtype;
    bool ok = t == JX_F32 || t == JX_F64 || jx_dtype_is_int(t) || (allow_bool && t == JX_BOOL);
    if (!ok)
        return jx__rule_fail(err, JX_ERR_DTYPE, "dtype %s not supported (%s): %s", jx_dtype_name(t),
                             allow_bool ? "bool, ints, f32, f64" : "ints, f32, f64", jx__avs(&in[0]));
    out[0] = in[0];
    *nout = 1;
    return JX_OK;
}

static jx_status rule_psum(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                           jx_aval *out, int *nout, jx__rule_err *err) {
    return rule_reduce(nin, in, nattr, attrs, maxout, out, nout, err, false);
}

static jx_status rule_pextreme(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                               int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    return rule_reduce(nin, in, nattr, attrs, maxout, out, nout, err, true);
}

/* axis_index: no operand; an i32 scalar. */
static jx_status rule_axis_index(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                 int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    (void)in;
    if (nin != 0) return jx__rule_fail(err, JX_ERR_ARG, "takes no operand, got %d", nin);
    if (maxout < 1) return jx__rule_fail(err, JX_ERR_ARG, "no room for the output");
    if (need_name(nattr, attrs, err)) return err->code;
    out[0] = (jx_aval){JX_I32, 0, {0}};
    *nout = 1;
    return JX_OK;
}

/* all_gather: x -> [axis_size, x's shape...]. */
static jx_status rule_all_gather(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                 int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    if (one_operand(nin, maxout, err) || need_name(nattr, attrs, err)) return err->code;
    const jx__attr *a = jx__attr_get(nattr, attrs, JX_A_AXIS_SIZE);
    if (!a || a->kind != JX_AK_INT || a->u.i < 0)
        return jx__rule_fail(err, JX_ERR_ARG, "needs a non-negative integer attribute 'axis_size'");
    if (in[0].rank >= JX_MAX_RANK)
        return jx__rule_fail(err, JX_ERR_SHAPE, "%s has the most dimensions an array may have (%d): "
                             "no room for the gathered axis", jx__avs(&in[0]), JX_MAX_RANK);
    jx_aval o = {in[0].dtype, in[0].rank + 1, {a->u.i}};
    for (int d = 0; d < in[0].rank; d++) o.shape[d + 1] = in[0].shape[d];
    out[0] = o;
    *nout = 1;
    return JX_OK;
}

/* ppermute: pairs (src, dst, src, dst, ...) of device numbers, no src or dst twice. */
static jx_status rule_ppermute(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                               int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    if (one_operand(nin, maxout, err) || need_name(nattr, attrs, err)) return err->code;
    const jx__attr *a = jx__attr_get(nattr, attrs, JX_A_PAIRS);
    if (!a || a->kind != JX_AK_INTS || a->n % 2)
        return jx__rule_fail(err, JX_ERR_ARG, "needs an attribute 'pairs' of (source, destination) device pairs");
    for (int q = 0; q < a->n; q++) {
        if (a->u.ints[q] < 0)
            return jx__rule_fail(err, JX_ERR_ARG, "pair %d has a negative device number", q / 2);
        for (int r = q % 2; r < q; r += 2)
            if (a->u.ints[r] == a->u.ints[q])
                return jx__rule_fail(err, JX_ERR_ARG, "device %lld is a %s in two pairs", (long long)a->u.ints[q],
                                     q % 2 ? "destination" : "source");
    }
    out[0] = in[0];
    *nout = 1;
    return JX_OK;
}

/* all_to_all (tiled): x's split_axis is cut into axis_size chunks, one per device; the
 * chunks received are concatenated along concat_axis. */
static jx_status rule_all_to_all(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                 int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    if (one_operand(nin, maxout, err) || need_name(nattr, attrs, err)) return err->code;
    int64_t n = jx__attr_int(nattr, attrs, JX_A_AXIS_SIZE, -1);
    int64_t k = jx__attr_int(nattr, attrs, JX_A_SPLIT_AXIS, -1), m = jx__attr_int(nattr, attrs, JX_A_CONCAT_AXIS, -1);
    if (n < 1) return jx__rule_fail(err, JX_ERR_ARG, "needs a positive integer attribute 'axis_size'");
    if (k < 0 || k >= in[0].rank || m < 0 || m >= in[0].rank)
        return jx__rule_fail(err, JX_ERR_AXIS, "split_axis %lld or concat_axis %lld out of range for %s", (long long)k,
                             (long long)m, jx__avs(&in[0]));
    if (in[0].shape[k] % n)
        return jx__rule_fail(err, JX_ERR_SHAPE, "split_axis %lld of %s does not divide into %lld chunks", (long long)k,
                             jx__avs(&in[0]), (long long)n);
    out[0] = in[0];
    out[0].shape[k] /= n;
    out[0].shape[m] *= n;
    *nout = 1;
    return JX_OK;
}

void jx__shape_register_collective(jx__shape_rule *t) {
    t[JX_PRIM_PPERMUTE] = rule_ppermute;
    t[JX_PRIM_ALL_TO_ALL] = rule_all_to_all;
    t[JX_PRIM_PSUM] = rule_psum;
    t[JX_PRIM_PMAX] = rule_pextreme;
    t[JX_PRIM_PMIN] = rule_pextreme;
    t[JX_PRIM_AXIS_INDEX] = rule_axis_index;
    t[JX_PRIM_ALL_GATHER] = rule_all_gather;
}
