/* shape_linalg.c: shape and dtype rules for convolution and the windowed reductions
 * (conv_general_dilated, reduce_window_*, select_and_scatter_add, select_and_gather_add;
 * see prims.def).
 * The per-dim attribute lists are always stored explicitly, one entry per dim. */
#include "ir.h"

/* Attribute values are bounded so that every index computed from them (here and in
 * the kernels) stays far from int64 overflow. */
#define ATTR_LIMIT ((int64_t)1 << 48)

/* Fetches the int list `key`, which must have n entries each in [min, ATTR_LIMIT];
 * ctx names the operands in the message. */
static jx_status get_list(int nattr, const jx__attr *attrs, jx__akey key, int n, int64_t min,
                          const char *per, const char *ctx, jx_ints *out, jx__rule_err *err) {
    const char *name = jx__attr_names[key];
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    if (!a || a->kind != JX_AK_INTS)
        return jx__rule_fail(err, JX_ERR_ARG, "attribute %s (a list of %d ints) is missing: %s", name,
                             n, ctx);
    jx_ints v = {a->u.ints, a->n};
    if (v.n != n)
        return jx__rule_fail(err, JX_ERR_ARG, "%s %s has %d entries, expected %d (one per %s): %s", name,
                             jx__ints_str(v), v.n, n, per, ctx);
    for (int i = 0; i < n; i++)
        if (v.v[i] < min || v.v[i] > ATTR_LIMIT || v.v[i] < -ATTR_LIMIT)
            return jx__rule_fail(err, JX_ERR_ARG, "%s %s: entry %d is %s: %s", name, jx__ints_str(v), i,
                                 v.v[i] < min ? "not positive" : "out of range",
                                 ctx);
    *out = v;
    return JX_OK;
}

/* Output size of a strided window over an input of `in` elements dilated by in_dil
 * (in_dil-1 holes between elements), padded by lo/hi, with a window of k taps dilated
 * by k_dil: floor((Di + lo + hi - Dk) / stride) + 1, or 0 when the window does not fit.
 * False if the padded size overflows. */
static bool window_out(int64_t in, int64_t in_dil, int64_t lo, int64_t hi, int64_t k,
                       int64_t k_dil, int64_t stride, int64_t *out) {
    int64_t di = 0, dk = 0, padded;
    if (in > 0 && (__builtin_mul_overflow(in - 1, in_dil, &di) || __builtin_add_overflow(di, 1, &di)))
        return false;
    if (k > 0 && (__builtin_mul_overflow(k - 1, k_dil, &dk) || __builtin_add_overflow(dk, 1, &dk)))
        return false;
    if (__builtin_add_overflow(di, lo, &padded) || __builtin_add_overflow(padded, hi, &padded))
        return false;
    *out = padded < dk ? 0 : (padded - dk) / stride + 1;
    return true;
}

static bool is_f32_f64(jx_dtype t) { return t == JX_F32 || t == JX_F64; }

/* lhs (N, C, spatial...) * rhs (O, C/groups, spatial...) -> (N, O, spatial...). */
static jx_status conv_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                           jx_aval *out, int *nout, jx__rule_err *err) {
    (void)nin;
    (void)maxout;
    const jx_aval *x = &in[0], *w = &in[1];
    char ctx[400];
    snprintf(ctx, sizeof ctx, "%s * %s", jx__avs(x), jx__avs(w));
    if (!is_f32_f64(x->dtype) || x->dtype != w->dtype)
        return jx__rule_fail(err, JX_ERR_DTYPE, "operands must be f32 or f64 of one dtype: %s", ctx);
    if (x->rank < 3 || x->rank > 5 || w->rank != x->rank)
        return jx__rule_fail(err, JX_ERR_SHAPE,
                             "operands need equal ranks 3 to 5 (batch or output channels, input "
                             "channels, 1 to 3 spatial dims): %s", ctx);
    int nsp = x->rank - 2;
    jx_ints strides, lo, hi, ldil, rdil;
    const char *per = "spatial dim";
    jx_status st;
    if ((st = get_list(nattr, attrs, JX_A_STRIDES, nsp, 1, per, ctx, &strides, err)) ||
        (st = get_list(nattr, attrs, JX_A_LO, nsp, INT64_MIN, per, ctx, &lo, err)) ||
        (st = get_list(nattr, attrs, JX_A_HI, nsp, INT64_MIN, per, ctx, &hi, err)) ||
        (st = get_list(nattr, attrs, JX_A_LHS_DILATION, nsp, 1, per, ctx, &ldil, err)) ||
        (st = get_list(nattr, attrs, JX_A_RHS_DILATION, nsp, 1, per, ctx, &rdil, err)))
        return st;
    const jx__attr *ga = jx__attr_get(nattr, attrs, JX_A_GROUPS);
    if (!ga || ga->kind != JX_AK_INT)
        return jx__rule_fail(err, JX_ERR_ARG, "attribute groups (an int) is missing: %s", ctx);
    int64_t groups = ga->u.i;
    if (groups < 1)
        return jx__rule_fail(err, JX_ERR_ARG, "feature groups must be positive, got %lld: %s",
                             (long long)groups, ctx);
    if (w->shape[0] % groups != 0)
        return jx__rule_fail(err, JX_ERR_SHAPE, "output channels %lld are not divisible by %lld groups: %s",
                             (long long)w->shape[0], (long long)groups, ctx);
    if (w->shape[1] > INT64_MAX / groups || x->shape[1] != groups * w->shape[1])
        return jx__rule_fail(err, JX_ERR_SHAPE, "input channels %lld differ from kernel's %lld x %lld groups: %s",
                             (long long)x->shape[1], (long long)w->shape[1], (long long)groups, ctx);
    *out = *x;
    out->shape[1] = w->shape[0];
    for (int d = 0; d < nsp; d++)
        if (!window_out(x->shape[2 + d], ldil.v[d], lo.v[d], hi.v[d], w->shape[2 + d], rdil.v[d],
                        strides.v[d], &out->shape[2 + d]))
            return jx__rule_fail(err, JX_ERR_SHAPE, "spatial dim %d overflows: %s", d, ctx);
    *nout = 1;
    return JX_OK;
}

/* The window attributes of reduce_window and select_and_*_add over x; writes the
 * windowed output aval. */
static jx_status window_shape(const jx_aval *x, int nattr, const jx__attr *attrs, jx_aval *out,
                              jx__rule_err *err) {
    const char *ctx = jx__avs(x);
    jx_ints win, strides, lo, hi;
    const char *per = "operand dim";
    jx_status st;
    if ((st = get_list(nattr, attrs, JX_A_WINDOW, x->rank, 1, per, ctx, &win, err)) ||
        (st = get_list(nattr, attrs, JX_A_STRIDES, x->rank, 1, per, ctx, &strides, err)) ||
        (st = get_list(nattr, attrs, JX_A_LO, x->rank, INT64_MIN, per, ctx, &lo, err)) ||
        (st = get_list(nattr, attrs, JX_A_HI, x->rank, INT64_MIN, per, ctx, &hi, err)))
        return st;
    *out = *x;
    for (int d = 0; d < x->rank; d++)
        if (!window_out(x->shape[d], 1, lo.v[d], hi.v[d], win.v[d], 1, strides.v[d], &out->shape[d]))
            return jx__rule_fail(err, JX_ERR_SHAPE, "dim %d overflows: %s", d, ctx);
    return JX_OK;
}

static jx_status reduce_window_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                    int maxout, jx_aval *out, int *nout, jx__rule_err *err,
                                    bool ints_ok) {
    (void)nin;
    (void)maxout;
    jx_dtype t = in[0].dtype;
    if (!is_f32_f64(t) && !(ints_ok && jx_dtype_is_int(t)))
        return jx__rule_fail(err, JX_ERR_DTYPE, "operand must be f32 or f64%s: %s",
                             ints_ok ? " or an integer type" : "", jx__avs(&in[0]));
    jx_status st = window_shape(&in[0], nattr, attrs, out, err);
    if (st == JX_OK) *nout = 1;
    return st;
}

static jx_status reduce_window_sum_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                        int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    return reduce_window_rule(nin, in, nattr, attrs, maxout, out, nout, err, false);
}

static jx_status reduce_window_ext_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                        int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    return reduce_window_rule(nin, in, nattr, attrs, maxout, out, nout, err, true);
}

/* (source, operand): source has the windowed shape of operand; the result, operand's. */
static jx_status select_and_scatter_add_rule(int nin, const jx_aval *in, int nattr,
                                             const jx__attr *attrs, int maxout, jx_aval *out,
                                             int *nout, jx__rule_err *err) {
    (void)nin;
    (void)maxout;
    const jx_aval *src = &in[0], *x = &in[1];
    if (!is_f32_f64(x->dtype) || src->dtype != x->dtype)
        return jx__rule_fail(err, JX_ERR_DTYPE, "source and operand must be f32 or f64 of one dtype: %s, %s",
                             jx__avs(src), jx__avs(x));
    jx_aval want;
    jx_status st = window_shape(x, nattr, attrs, &want, err);
    if (st != JX_OK) return st;
    if (!jx_aval_equal(src, &want))
        return jx__rule_fail(err, JX_ERR_SHAPE, "source %s differs from the windowed shape %s of operand %s",
                             jx__avs(src), jx__avs(&want), jx__avs(x));
    *out = *x;
    *nout = 1;
    return JX_OK;
}

/* (tangent, operand): the tangent has operand's aval; the result, the windowed shape. */
static jx_status select_and_gather_add_rule(int nin, const jx_aval *in, int nattr,
                                            const jx__attr *attrs, int maxout, jx_aval *out,
                                            int *nout, jx__rule_err *err) {
    (void)nin;
    (void)maxout;
    const jx_aval *t = &in[0], *x = &in[1];
    if (!is_f32_f64(x->dtype) || t->dtype != x->dtype)
        return jx__rule_fail(err, JX_ERR_DTYPE, "tangent and operand must be f32 or f64 of one dtype: %s, %s",
                             jx__avs(t), jx__avs(x));
    if (!jx_aval_equal(t, x))
        return jx__rule_fail(err, JX_ERR_SHAPE, "tangent %s differs from operand %s", jx__avs(t), jx__avs(x));
    jx_status st = window_shape(x, nattr, attrs, out, err);
    if (st == JX_OK) *nout = 1;
    return st;
}

void jx__shape_register_linalg(jx__shape_rule *t) {
    t[JX_PRIM_CONV] = conv_rule;
    t[JX_PRIM_REDUCE_WINDOW_SUM] = reduce_window_sum_rule;
    t[JX_PRIM_REDUCE_WINDOW_MAX] = reduce_window_ext_rule;
    t[JX_PRIM_REDUCE_WINDOW_MIN] = reduce_window_ext_rule;
    t[JX_PRIM_SELECT_AND_SCATTER_ADD] = select_and_scatter_add_rule;
    t[JX_PRIM_SELECT_AND_GATHER_ADD] = select_and_gather_add_rule;
}
