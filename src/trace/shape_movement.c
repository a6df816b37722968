/* shape_movement.c: shape and dtype rules for the data-movement primitives (see
 * prims.def): broadcast_in_dim, reshape, transpose, squeeze, expand_dims, slice,
 * dynamic_slice, dynamic_update_slice, pad, concatenate, rev. The IR stores axes
 * normalised (non-negative); the public wrappers in ops_movement.c normalise them. */
#include "ir.h"

/* Keeps pad/slice arithmetic far from int64 overflow. */
#define BIG (INT64_MAX / 4)

#define FAIL(code, ...) jx__rule_fail(err, (code), __VA_ARGS__)

static const char *akey_name(jx__akey k) { return jx__attr_names[k]; }

/* The int-list attribute `key`, which must be present with `n` entries (n < 0: any
 * count up to JX_MAX_RANK). `rank` is only used to word the message. */
static jx_status get_ints(int nattr, const jx__attr *attrs, jx__akey key, int n, int rank,
                          jx_ints *out, jx__rule_err *err) {
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    if (!a) return FAIL(JX_ERR_ARG, "missing attribute %s", akey_name(key));
    if (a->kind != JX_AK_INTS || a->n < 0 || (a->n > 0 && !a->u.ints))
        return FAIL(JX_ERR_ARG, "attribute %s must be a list of ints", akey_name(key));
    out->v = a->u.ints;
    out->n = a->n;
    if (n >= 0 && a->n != n)
        return FAIL(JX_ERR_ARG, "%s has %d entries for rank %d", akey_name(key), a->n, rank);
    if (a->n > JX_MAX_RANK)
        return FAIL(JX_ERR_ARG, "%s %s has more than %d entries", akey_name(key), jx__ints_str(*out),
                    JX_MAX_RANK);
    return JX_OK;
}

/* Axis list check: every entry in [0, rank), none twice. */
static jx_status check_axes(jx__akey key, jx_ints v, int rank, jx__rule_err *err) {
    for (int i = 0; i < v.n; i++) {
        if (v.v[i] < 0 || v.v[i] >= rank)
            return FAIL(JX_ERR_AXIS, "%s %s out of range for rank %d", akey_name(key), jx__ints_str(v), rank);
        for (int j = 0; j < i; j++)
            if (v.v[j] == v.v[i])
                return FAIL(JX_ERR_AXIS, "%s %s repeat axis %lld", akey_name(key), jx__ints_str(v),
                            (long long)v.v[i]);
    }
    return JX_OK;
}

/* A `shape` attribute as an output aval of dtype t: at most JX_MAX_RANK non-negative
 * dims whose product fits in int64. */
static jx_status shape_attr(int nattr, const jx__attr *attrs, jx_dtype t, jx_aval *out,
                            jx__rule_err *err) {
    jx_ints s;
    if (get_ints(nattr, attrs, JX_A_SHAPE, -1, 0, &s, err)) return err->code;
    int64_t size = 1;
    for (int i = 0; i < s.n; i++) {
        if (s.v[i] < 0) return FAIL(JX_ERR_SHAPE, "negative dimension in shape %s", jx__ints_str(s));
        if (s.v[i] && size > INT64_MAX / s.v[i])
            return FAIL(JX_ERR_SHAPE, "shape %s has too many elements", jx__ints_str(s));
        size *= s.v[i];
    }
    *out = jx_aval_make(t, s);
    return JX_OK;
}

static jx_ints shape_ints(const jx_aval *a) { return (jx_ints){a->shape, a->rank}; }

/* Start operands of dynamic_slice / dynamic_update_slice: one integer scalar per dim. */
static jx_status check_starts(int nstarts, const jx_aval *starts, const jx_aval *x,
                              jx__rule_err *err) {
    if (nstarts != x->rank)
        return FAIL(JX_ERR_ARG, "takes %d start indices for %s, got %d", x->rank, jx__avs(x), nstarts);
    for (int i = 0; i < nstarts; i++) {
        jx_dtype t = starts[i].dtype;
        if (starts[i].rank != 0 || (t != JX_I32 && t != JX_I64 && t != JX_U32))
            return FAIL(JX_ERR_DTYPE, "start index %d must be an i32, i64 or u32 scalar, got %s", i,
                        jx__avs(&starts[i]));
    }
    return JX_OK;
}

/* ------------------------------------------------------------------ rules */

static jx_status broadcast_in_dim_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                       int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_aval *x = &in[0];
    jx_ints dims;
    if (shape_attr(nattr, attrs, x->dtype, &out[0], err)) return err->code;
    if (get_ints(nattr, attrs, JX_A_DIMS, x->rank, x->rank, &dims, err)) return err->code;
    for (int i = 0; i < dims.n; i++) {
        if (dims.v[i] < 0 || dims.v[i] >= out[0].rank)
            return FAIL(JX_ERR_AXIS, "dims %s out of range for output rank %d", jx__ints_str(dims), out[0].rank);
        if (i && dims.v[i] <= dims.v[i - 1])
            return FAIL(JX_ERR_AXIS, "dims %s must be strictly increasing", jx__ints_str(dims));
        int64_t d = x->shape[i], o = out[0].shape[dims.v[i]];
        if (d != 1 && d != o)
            return FAIL(JX_ERR_SHAPE, "cannot broadcast %s to %s with dims %s: operand dim %d has size %lld, output dim %lld has %lld",
                        jx__avs(x), jx__ints_str(shape_ints(&out[0])), jx__ints_str(dims), i, (long long)d,
                        (long long)dims.v[i], (long long)o);
    }
    *nout = 1;
    return JX_OK;
}

static jx_status reshape_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                              jx_aval *out, int *nout, jx__rule_err *err) {
    if (shape_attr(nattr, attrs, in[0].dtype, &out[0], err)) return err->code;
    if (jx_aval_size(&out[0]) != jx_aval_size(&in[0]))
        return FAIL(JX_ERR_SHAPE, "cannot reshape %s to %s", jx__avs(&in[0]), jx__ints_str(shape_ints(&out[0])));
    *nout = 1;
    return JX_OK;
}

static jx_status transpose_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                                jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_aval *x = &in[0];
    jx_ints perm;
    if (get_ints(nattr, attrs, JX_A_PERM, -1, x->rank, &perm, err)) return err->code;
    jx__rule_err scratch;
    if (perm.n != x->rank || check_axes(JX_A_PERM, perm, x->rank, &scratch))
        return FAIL(JX_ERR_AXIS, "perm %s is not a permutation of %d axes", jx__ints_str(perm), x->rank);
    out[0] = *x;
    for (int i = 0; i < x->rank; i++) out[0].shape[i] = x->shape[perm.v[i]];
    *nout = 1;
    return JX_OK;
}

static jx_status squeeze_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                              jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_aval *x = &in[0];
    jx_ints dims;
    if (get_ints(nattr, attrs, JX_A_DIMS, -1, x->rank, &dims, err)) return err->code;
    if (check_axes(JX_A_DIMS, dims, x->rank, err)) return err->code;
    bool drop[JX_MAX_RANK] = {false};
    for (int i = 0; i < dims.n; i++) {
        if (x->shape[dims.v[i]] != 1)
            return FAIL(JX_ERR_SHAPE, "cannot squeeze dim %lld of %s: its size is %lld, not 1",
                        (long long)dims.v[i], jx__avs(x), (long long)x->shape[dims.v[i]]);
        drop[dims.v[i]] = true;
    }
    out[0] = *x;
    out[0].rank = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i]) out[0].shape[out[0].rank++] = x->shape[i];
    *nout = 1;
    return JX_OK;
}

static jx_status expand_dims_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                  int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_aval *x = &in[0];
    jx_ints dims;
    if (get_ints(nattr, attrs, JX_A_DIMS, -1, x->rank, &dims, err)) return err->code;
    int r = x->rank + dims.n;
    if (r > JX_MAX_RANK)
        return FAIL(JX_ERR_SHAPE, "expanding %s by %d dims exceeds rank %d", jx__avs(x), dims.n, JX_MAX_RANK);
    if (check_axes(JX_A_DIMS, dims, r, err)) return err->code;
    bool added[JX_MAX_RANK] = {false};
    for (int i = 0; i < dims.n; i++) added[dims.v[i]] = true;
    out[0] = *x;
    out[0].rank = r;
    for (int i = 0, k = 0; i < r; i++) out[0].shape[i] = added[i] ? 1 : x->shape[k++];
    *nout = 1;
    return JX_OK;
}

static jx_status slice_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                            jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_aval *x = &in[0];
    jx_ints start, limit, strides;
    if (get_ints(nattr, attrs, JX_A_START, x->rank, x->rank, &start, err) ||
        get_ints(nattr, attrs, JX_A_LIMIT, x->rank, x->rank, &limit, err) ||
        get_ints(nattr, attrs, JX_A_STRIDES, x->rank, x->rank, &strides, err))
        return err->code;
    out[0] = *x;
    for (int i = 0; i < x->rank; i++) {
        if (strides.v[i] < 1) return FAIL(JX_ERR_ARG, "strides %s must be >= 1", jx__ints_str(strides));
        if (start.v[i] < 0 || start.v[i] > limit.v[i] || limit.v[i] > x->shape[i])
            return FAIL(JX_ERR_SHAPE, "start %s and limit %s do not fit %s at dim %d (want 0 <= start <= limit <= %lld)",
                        jx__ints_str(start), jx__ints_str(limit), jx__avs(x), i, (long long)x->shape[i]);
        int64_t n = limit.v[i] - start.v[i];
        out[0].shape[i] = n / strides.v[i] + (n % strides.v[i] != 0);
    }
    *nout = 1;
    return JX_OK;
}

static jx_status dynamic_slice_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                    int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    if (nin < 1) return FAIL(JX_ERR_ARG, "takes an operand and its start indices, got no operands");
    const jx_aval *x = &in[0];
    if (check_starts(nin - 1, in + 1, x, err)) return err->code;
    jx_ints sizes;
    if (get_ints(nattr, attrs, JX_A_SIZES, x->rank, x->rank, &sizes, err)) return err->code;
    out[0] = *x;
    for (int i = 0; i < x->rank; i++) {
        if (sizes.v[i] < 0 || sizes.v[i] > x->shape[i])
            return FAIL(JX_ERR_SHAPE, "sizes %s do not fit %s at dim %d", jx__ints_str(sizes), jx__avs(x), i);
        out[0].shape[i] = sizes.v[i];
    }
    *nout = 1;
    return JX_OK;
}

static jx_status dynamic_update_slice_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                           int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    if (nin < 2)
        return FAIL(JX_ERR_ARG, "takes an operand, an update and start indices, got %d operands", nin);
    const jx_aval *x = &in[0], *u = &in[1];
    if (u->dtype != x->dtype)
        return FAIL(JX_ERR_DTYPE, "update %s has another dtype than operand %s", jx__avs(u), jx__avs(x));
    if (u->rank != x->rank)
        return FAIL(JX_ERR_SHAPE, "update %s has another rank than operand %s", jx__avs(u), jx__avs(x));
    for (int i = 0; i < x->rank; i++)
        if (u->shape[i] > x->shape[i])
            return FAIL(JX_ERR_SHAPE, "update %s does not fit in operand %s at dim %d", jx__avs(u), jx__avs(x), i);
    if (check_starts(nin - 2, in + 2, x, err)) return err->code;
    out[0] = *x;
    *nout = 1;
    return JX_OK;
}

static jx_status pad_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                          jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_aval *x = &in[0], *pv = &in[1];
    if (pv->rank != 0 || pv->dtype != x->dtype)
        return FAIL(JX_ERR_DTYPE, "padding value must be a %s scalar to pad %s, got %s",
                    jx_dtype_name(x->dtype), jx__avs(x), jx__avs(pv));
    jx_ints lo, hi, interior;
    if (get_ints(nattr, attrs, JX_A_LO, x->rank, x->rank, &lo, err) ||
        get_ints(nattr, attrs, JX_A_HI, x->rank, x->rank, &hi, err) ||
        get_ints(nattr, attrs, JX_A_INTERIOR, x->rank, x->rank, &interior, err))
        return err->code;
    out[0] = *x;
    for (int i = 0; i < x->rank; i++) {
        int64_t d = x->shape[i], in_ = interior.v[i];
        if (in_ < 0) return FAIL(JX_ERR_ARG, "interior %s must be >= 0", jx__ints_str(interior));
        if (lo.v[i] < -BIG || lo.v[i] > BIG || hi.v[i] < -BIG || hi.v[i] > BIG ||
            in_ > BIG || (d > 1 && in_ > BIG / (d - 1)))
            return FAIL(JX_ERR_ARG, "padding of %s is too large at dim %d", jx__avs(x), i);
        int64_t n = lo.v[i] + hi.v[i] + d + (d > 1 ? (d - 1) * in_ : 0);
        if (n < 0)
            return FAIL(JX_ERR_SHAPE, "padding %s with lo %s hi %s interior %s gives dim %d size %lld",
                        jx__avs(x), jx__ints_str(lo), jx__ints_str(hi), jx__ints_str(interior), i, (long long)n);
        out[0].shape[i] = n;
    }
    *nout = 1;
    return JX_OK;
}

static jx_status concatenate_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                  int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    if (nin < 1) return FAIL(JX_ERR_ARG, "needs at least one operand");
    const jx__attr *a = jx__attr_get(nattr, attrs, JX_A_AXIS);
    if (!a || a->kind != JX_AK_INT) return FAIL(JX_ERR_ARG, "missing int attribute axis");
    const jx_aval *x = &in[0];
    if (a->u.i < 0 || a->u.i >= x->rank)
        return FAIL(JX_ERR_AXIS, "axis %lld out of range for rank %d", (long long)a->u.i, x->rank);
    int axis = (int)a->u.i;
    out[0] = *x;
    for (int k = 1; k < nin; k++) {
        const jx_aval *y = &in[k];
        if (y->dtype != x->dtype)
            return FAIL(JX_ERR_DTYPE, "operand %d is %s but operand 0 is %s", k, jx__avs(y), jx__avs(x));
        bool same = y->rank == x->rank;
        for (int i = 0; same && i < x->rank; i++) same = i == axis || y->shape[i] == x->shape[i];
        if (!same)
            return FAIL(JX_ERR_SHAPE, "operand %d %s does not match operand 0 %s outside axis %d", k,
                        jx__avs(y), jx__avs(x), axis);
        if (y->shape[axis] > INT64_MAX / 2 - out[0].shape[axis])
            return FAIL(JX_ERR_SHAPE, "concatenated size along axis %d is too large", axis);
        out[0].shape[axis] += y->shape[axis];
    }
    *nout = 1;
    return JX_OK;
}

static jx_status rev_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                          jx_aval *out, int *nout, jx__rule_err *err) {
    jx_ints dims;
    if (get_ints(nattr, attrs, JX_A_DIMS, -1, in[0].rank, &dims, err)) return err->code;
    if (check_axes(JX_A_DIMS, dims, in[0].rank, err)) return err->code;
    out[0] = in[0];
    *nout = 1;
    return JX_OK;
}

void jx__shape_register_movement(jx__shape_rule *t) {
    t[JX_PRIM_BROADCAST_IN_DIM] = broadcast_in_dim_rule;
    t[JX_PRIM_RESHAPE] = reshape_rule;
    t[JX_PRIM_TRANSPOSE] = transpose_rule;
    t[JX_PRIM_SQUEEZE] = squeeze_rule;
    t[JX_PRIM_EXPAND_DIMS] = expand_dims_rule;
    t[JX_PRIM_SLICE] = slice_rule;
    t[JX_PRIM_DYNAMIC_SLICE] = dynamic_slice_rule;
    t[JX_PRIM_DYNAMIC_UPDATE_SLICE] = dynamic_update_slice_rule;
    t[JX_PRIM_PAD] = pad_rule;
    t[JX_PRIM_CONCATENATE] = concatenate_rule;
    t[JX_PRIM_REV] = rev_rule;
}
