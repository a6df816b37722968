/* ops_linalg.c: the public convolution and windowed-reduction ops. They fill in the
 * defaults of absent option lists so every equation stores its lists explicitly. */
#include "ops_util.h"

/* An option list: v when given (it must have n entries), else n copies of def in buf.
 * False (error recorded) on a wrong length. */
static bool opt_list(jx_loc loc, const char *what, const char *name, jx_ints v, int n, int64_t def,
                     int64_t *buf, const jx_aval *x, jx_ints *out) {
    if (v.n == 0) {
        for (int i = 0; i < n; i++) buf[i] = def;
        *out = (jx_ints){buf, n};
        return true;
    }
    if (v.n != n || !v.v) {
        jx__ops_fail(loc, JX_ERR_ARG, what, "%s has %d entries, expected %d for %s", name, v.n, n, jx__avs(x));
        return false;
    }
    *out = v;
    return true;
}

jx_val jx_conv_at(jx_loc loc, jx_val lhs, jx_val rhs, const jx_conv_opts *opts) {
    static const char what[] = "conv_general_dilated";
    jx_conv_opts o = {{0}, {0}, {0}, {0}, {0}, 0};
    if (opts) o = *opts;
    jx_aval x = jx__val_aval(lhs);
    /* With a bad rank the shape rule names the problem; lists then stay as given. */
    int nsp = x.rank >= 3 && x.rank <= 5 ? x.rank - 2 : -1;
    jx_ints strides = o.strides, lo = o.pad_lo, hi = o.pad_hi, ld = o.lhs_dilation, rd = o.rhs_dilation;
    int64_t b[5][3];
    if (nsp > 0 && !(opt_list(loc, what, "strides", o.strides, nsp, 1, b[0], &x, &strides) &&
                     opt_list(loc, what, "pad_lo", o.pad_lo, nsp, 0, b[1], &x, &lo) &&
                     opt_list(loc, what, "pad_hi", o.pad_hi, nsp, 0, b[2], &x, &hi) &&
                     opt_list(loc, what, "lhs_dilation", o.lhs_dilation, nsp, 1, b[3], &x, &ld) &&
                     opt_list(loc, what, "rhs_dilation", o.rhs_dilation, nsp, 1, b[4], &x, &rd)))
        return jx__ops_invalid();
    jx__attr attrs[6] = {
        jx__a_ints(JX_A_STRIDES, strides), jx__a_ints(JX_A_LO, lo),
        jx__a_ints(JX_A_HI, hi),           jx__a_ints(JX_A_LHS_DILATION, ld),
        jx__a_ints(JX_A_RHS_DILATION, rd), jx__a_int(JX_A_GROUPS, o.feature_groups ? o.feature_groups : 1),
    };
    jx_val in[2] = {lhs, rhs};
    return jx__bind1(loc, JX_PRIM_CONV, 2, in, 6, attrs);
}

/* Binds a windowed primitive over operand x (the last of in[]) with its window
 * attributes; JX_NOINTS strides mean 1 and JX_NOINTS padding 0. */
static jx_val bind_window(jx_loc loc, jx_prim prim, int nin, const jx_val *in, jx_ints window,
                          jx_ints strides, jx_ints lo, jx_ints hi) {
    const char *what = jx__prims[prim].name;
    jx_aval x = jx__val_aval(in[nin - 1]);
    int64_t b[3][JX_MAX_RANK];
    if (x.rank >= 0) {
        if (window.n != x.rank || (window.n && !window.v))
            return jx__ops_fail(loc, JX_ERR_ARG, what, "window %s has %d entries, expected %d for %s",
                            window.v || !window.n ? jx__ints_str(window) : "NULL", window.n, x.rank, jx__avs(&x));
        if (!(opt_list(loc, what, "strides", strides, x.rank, 1, b[0], &x, &strides) &&
              opt_list(loc, what, "pad_lo", lo, x.rank, 0, b[1], &x, &lo) &&
              opt_list(loc, what, "pad_hi", hi, x.rank, 0, b[2], &x, &hi)))
            return jx__ops_invalid();
    }
    jx__attr attrs[4] = {jx__a_ints(JX_A_WINDOW, window), jx__a_ints(JX_A_STRIDES, strides),
                         jx__a_ints(JX_A_LO, lo), jx__a_ints(JX_A_HI, hi)};
    return jx__bind1(loc, prim, nin, in, 4, attrs);
}

jx_val jx_reduce_window_at(jx_loc loc, jx_val x, jx_window_kind kind, jx_ints window,
                           jx_ints strides, jx_ints pad_lo, jx_ints pad_hi) {
    static const jx_prim prims[] = {JX_PRIM_REDUCE_WINDOW_SUM, JX_PRIM_REDUCE_WINDOW_MAX,
                                    JX_PRIM_REDUCE_WINDOW_MIN};
    if ((unsigned)kind > JX_WINDOW_MIN)
        return jx__ops_fail(loc, JX_ERR_ARG, "reduce_window", "unknown window kind %d", (int)kind);
    return bind_window(loc, prims[kind], 1, &x, window, strides, pad_lo, pad_hi);
}

jx_val jx_select_and_scatter_add_at(jx_loc loc, jx_val source, jx_val operand,
                                    jx_ints window, jx_ints strides, jx_ints pad_lo,
                                    jx_ints pad_hi) {
    jx_val in[2] = {source, operand};
    return bind_window(loc, JX_PRIM_SELECT_AND_SCATTER_ADD, 2, in, window, strides, pad_lo, pad_hi);
}
