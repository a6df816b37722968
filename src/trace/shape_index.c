/* shape_index.c: shape and dtype rules for gather, scatter_add, sort, top_k and
 * threefry2x32 (see prims.def). Axes arrive normalised (the op wrappers do it), so a
 * negative axis here is an error, as it is in parsed IR. */
#include "ir.h"

/* Reads a required integer attribute; false (error set) when absent or of another kind. */
static bool need_int(int nattr, const jx__attr *attrs, jx__akey key, int64_t *v,
                     jx__rule_err *err) {
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    if (!a || a->kind != JX_AK_INT) {
        jx__rule_fail(err, JX_ERR_ARG, "missing integer attribute '%s'", jx__attr_names[key]);
        return false;
    }
    *v = a->u.i;
    return true;
}

static bool is_index_dtype(jx_dtype t) { return t == JX_I32 || t == JX_I64 || t == JX_U32; }

/* The dtypes scatter_add accumulates and top_k ranks (arithmetic ones, no storage types). */
static bool is_numeric(jx_dtype t) {
    return t == JX_F32 || t == JX_F64 || t == JX_I32 || t == JX_I64 || t == JX_U32 || t == JX_U8;
}

/* gather's output aval from x and indices; shared with scatter_add, whose updates must
 * have exactly this aval. */
static jx_status gather_aval(const jx_aval *x, const jx_aval *idx, int nattr,
                             const jx__attr *attrs, jx_aval *out, jx__rule_err *err) {
    int64_t axis, nbatch;
    if (!need_int(nattr, attrs, JX_A_AXIS, &axis, err) ||
        !need_int(nattr, attrs, JX_A_NBATCH, &nbatch, err))
        return err->code;
    if (axis < 0 || axis >= x->rank)
        return jx__rule_fail(err, JX_ERR_AXIS, "axis %lld out of range for rank %d", (long long)axis,
                             x->rank);
    if (nbatch < 0 || nbatch > axis)
        return jx__rule_fail(err, JX_ERR_AXIS, "nbatch %lld must be between 0 and axis %lld",
                             (long long)nbatch, (long long)axis);
    if (!is_index_dtype(idx->dtype))
        return jx__rule_fail(err, JX_ERR_DTYPE, "indices must be i32, i64 or u32, got %s", jx__avs(idx));
    if (nbatch > idx->rank)
        return jx__rule_fail(err, JX_ERR_SHAPE, "nbatch %lld exceeds the rank of indices %s",
                             (long long)nbatch, jx__avs(idx));
    for (int i = 0; i < nbatch; i++)
        if (x->shape[i] != idx->shape[i])
            return jx__rule_fail(err, JX_ERR_SHAPE, "batch dimensions differ: %s vs indices %s (nbatch %lld)",
                                 jx__avs(x), jx__avs(idx), (long long)nbatch);
    int rank = x->rank - 1 + idx->rank - (int)nbatch;
    if (rank > JX_MAX_RANK)
        return jx__rule_fail(err, JX_ERR_SHAPE, "result of %s indexed by %s has rank %d, above %d",
                             jx__avs(x), jx__avs(idx), rank, JX_MAX_RANK);
    out->dtype = x->dtype;
    out->rank = rank;
    int r = 0;
    for (int i = 0; i < axis; i++) out->shape[r++] = x->shape[i];
    for (int i = (int)nbatch; i < idx->rank; i++) out->shape[r++] = idx->shape[i];
    for (int i = (int)axis + 1; i < x->rank; i++) out->shape[r++] = x->shape[i];
    return JX_OK;
}

static jx_status gather_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                             int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    (void)nin;
    (void)maxout;
    if (gather_aval(&in[0], &in[1], nattr, attrs, &out[0], err) != JX_OK) return err->code;
    *nout = 1;
    return JX_OK;
}

static jx_status scatter_add_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                                  int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    (void)nin;
    (void)maxout;
    const jx_aval *x = &in[0], *upd = &in[2];
    if (!is_numeric(x->dtype))
        return jx__rule_fail(err, JX_ERR_DTYPE, "x must be f32, f64, i32, i64, u32 or u8, got %s", jx__avs(x));
    jx_aval want;
    if (gather_aval(x, &in[1], nattr, attrs, &want, err) != JX_OK) return err->code;
    if (upd->dtype != x->dtype)
        return jx__rule_fail(err, JX_ERR_DTYPE, "updates %s differ in dtype from x %s", jx__avs(upd), jx__avs(x));
    if (!jx_aval_equal(upd, &want))
        return jx__rule_fail(err, JX_ERR_SHAPE, "updates must be %s (the gather shape of %s by %s), got %s",
                             jx__avs(&want), jx__avs(x), jx__avs(&in[1]), jx__avs(upd));
    out[0] = *x;
    *nout = 1;
    return JX_OK;
}

/* Shapes equal, dtypes aside (sort moves operands of different dtypes together). */
static bool same_shape(const jx_aval *a, const jx_aval *b) {
    if (a->rank != b->rank) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

static bool is_storage_only(jx_dtype t) { return t == JX_F16 || t == JX_BF16; }

static jx_status sort_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                           jx_aval *out, int *nout, jx__rule_err *err) {
    int64_t axis, num_keys;
    if (nin < 1) return jx__rule_fail(err, JX_ERR_ARG, "needs at least one operand");
    if (nin > maxout)
        return jx__rule_fail(err, JX_ERR_ARG, "%d operands but room for %d outputs", nin, maxout);
    if (!need_int(nattr, attrs, JX_A_AXIS, &axis, err) ||
        !need_int(nattr, attrs, JX_A_NUM_KEYS, &num_keys, err))
        return err->code;
    if (num_keys < 1 || num_keys > nin)
        return jx__rule_fail(err, JX_ERR_ARG, "num_keys %lld out of range for %d operands",
                             (long long)num_keys, nin);
    for (int i = 1; i < nin; i++)
        if (!same_shape(&in[i], &in[0]))
            return jx__rule_fail(err, JX_ERR_SHAPE, "operands differ in shape: %s vs %s (operand %d)",
                                 jx__avs(&in[0]), jx__avs(&in[i]), i);
    if (axis < 0 || axis >= in[0].rank)
        return jx__rule_fail(err, JX_ERR_AXIS, "axis %lld out of range for rank %d", (long long)axis,
                             in[0].rank);
    for (int i = 0; i < num_keys; i++)
        if (is_storage_only(in[i].dtype))
            return jx__rule_fail(err, JX_ERR_DTYPE, "cannot sort by %s keys (operand %d): convert to f32 first",
                                 jx__avs(&in[i]), i);
    for (int i = 0; i < nin; i++) out[i] = in[i];
    *nout = nin;
    return JX_OK;
}

static jx_status top_k_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                            jx_aval *out, int *nout, jx__rule_err *err) {
    (void)nin;
    const jx_aval *x = &in[0];
    int64_t k;
    if (maxout < 2) return jx__rule_fail(err, JX_ERR_ARG, "needs room for 2 outputs, got %d", maxout);
    if (!need_int(nattr, attrs, JX_A_K, &k, err)) return err->code;
    if (x->rank < 1) return jx__rule_fail(err, JX_ERR_SHAPE, "operand must have rank >= 1, got %s", jx__avs(x));
    if (!is_numeric(x->dtype))
        return jx__rule_fail(err, JX_ERR_DTYPE, "operand must be f32, f64, i32, i64, u32 or u8, got %s", jx__avs(x));
    int64_t last = x->shape[x->rank - 1];
    if (k < 0 || k > last)
        return jx__rule_fail(err, JX_ERR_SHAPE, "k %lld out of range for %s (the last dim is %lld)",
                             (long long)k, jx__avs(x), (long long)last);
    out[0] = *x;
    out[0].shape[x->rank - 1] = k;
    out[1] = out[0];
    out[1].dtype = JX_I32;
    *nout = 2;
    return JX_OK;
}

static jx_status threefry_rule(int nin, const jx_aval *in, int nattr, const jx__attr *attrs,
                               int maxout, jx_aval *out, int *nout, jx__rule_err *err) {
    (void)nin;
    (void)nattr;
    (void)attrs;
    static const char *const names[4] = {"k0", "k1", "x0", "x1"};
    if (maxout < 2) return jx__rule_fail(err, JX_ERR_ARG, "needs room for 2 outputs, got %d", maxout);
    for (int i = 0; i < 4; i++)
        if (in[i].dtype != JX_U32)
            return jx__rule_fail(err, JX_ERR_DTYPE, "%s must be u32, got %s", names[i], jx__avs(&in[i]));
    if (!jx_aval_equal(&in[2], &in[3]))
        return jx__rule_fail(err, JX_ERR_SHAPE, "x0 and x1 differ in shape: %s vs %s", jx__avs(&in[2]),
                             jx__avs(&in[3]));
    for (int i = 0; i < 2; i++)
        if (in[i].rank != 0 && !jx_aval_equal(&in[i], &in[2]))
            return jx__rule_fail(err, JX_ERR_SHAPE, "key %s must be a scalar or have the counters' shape %s, got %s",
                                 names[i], jx__avs(&in[2]), jx__avs(&in[i]));
    out[0] = out[1] = in[2];
    *nout = 2;
    return JX_OK;
}

void jx__shape_register_index(jx__shape_rule *t) {
    t[JX_PRIM_GATHER] = gather_rule;
    t[JX_PRIM_SCATTER_ADD] = scatter_add_rule;
    t[JX_PRIM_SORT] = sort_rule;
    t[JX_PRIM_TOP_K] = top_k_rule;
    t[JX_PRIM_THREEFRY2X32] = threefry_rule;
}
