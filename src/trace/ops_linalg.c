/* ops_linalg.c: the public convolution and windowed-reduction ops. They fill in the
 * defaults of absent option lists so every equation stores its lists explicitly, and
 * trace a convolution with other dimension numbers (NHWC/HWIO, ...) or SAME/VALID
 * padding as transposes around the one canonical conv_general_dilated primitive. */
#include <string.h>

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

/* The canonical primitive: lhs (N,C,sp...), rhs (O,I,sp...), lists in spatial order. */
static jx_val conv_canonical(jx_loc loc, jx_val lhs, jx_val rhs, const jx_conv_opts *o) {
    static const char what[] = "conv_general_dilated";
    jx_aval x = jx__val_aval(lhs);
    /* With a bad rank the shape rule names the problem; lists then stay as given. */
    int nsp = x.rank >= 3 && x.rank <= 5 ? x.rank - 2 : -1;
    jx_ints strides = o->strides, lo = o->pad_lo, hi = o->pad_hi, ld = o->lhs_dilation, rd = o->rhs_dilation;
    int64_t b[5][3];
    if (nsp > 0 && !(opt_list(loc, what, "strides", o->strides, nsp, 1, b[0], &x, &strides) &&
                     opt_list(loc, what, "pad_lo", o->pad_lo, nsp, 0, b[1], &x, &lo) &&
                     opt_list(loc, what, "pad_hi", o->pad_hi, nsp, 0, b[2], &x, &hi) &&
                     opt_list(loc, what, "lhs_dilation", o->lhs_dilation, nsp, 1, b[3], &x, &ld) &&
                     opt_list(loc, what, "rhs_dilation", o->rhs_dilation, nsp, 1, b[4], &x, &rd)))
        return jx__ops_invalid();
    jx__attr attrs[6] = {
        jx__a_ints(JX_A_STRIDES, strides), jx__a_ints(JX_A_LO, lo),
        jx__a_ints(JX_A_HI, hi),           jx__a_ints(JX_A_LHS_DILATION, ld),
        jx__a_ints(JX_A_RHS_DILATION, rd), jx__a_int(JX_A_GROUPS, o->feature_groups ? o->feature_groups : 1),
    };
    jx_val in[2] = {lhs, rhs};
    return jx__bind1(loc, JX_PRIM_CONV, 2, in, 6, attrs);
}

/* Index of letter c in spec s (length n), or -1. */
static int spec_find(const char *s, int n, char c) {
    for (int i = 0; i < n; i++)
        if (s[i] == c) return i;
    return -1;
}

/* Permutations that bring lhs, rhs and the output of dimension numbers d into the
 * canonical order (lax's conv_general_permutations): (N, C, spatial...) for lhs and the
 * output, (O, I, spatial...) for rhs, spatial dims in rhs's order. False with a reason
 * in why when the specs do not fit operands of rank n. */
static bool conv_perms(const jx_conv_dims *d, int n, int64_t *lp, int64_t *rp, int64_t *op, const char **why) {
    const char *spec[3] = {d->lhs, d->rhs, d->out};
    static const char fixed[3][2] = {{'N', 'C'}, {'O', 'I'}, {'N', 'C'}};
    int64_t *perm[3] = {lp, rp, op};
    for (int k = 0; k < 3; k++) {
        if (!spec[k] || (int)strlen(spec[k]) != n) {
            *why = "every spec needs one letter per operand dim";
            return false;
        }
        for (int i = 0; i < n; i++)
            if (spec_find(spec[k], i, spec[k][i]) >= 0) {
                *why = "a letter repeats";
                return false;
            }
        perm[k][0] = spec_find(spec[k], n, fixed[k][0]);
        perm[k][1] = spec_find(spec[k], n, fixed[k][1]);
        if (perm[k][0] < 0 || perm[k][1] < 0) {
            *why = "lhs and out need 'N' and 'C', rhs 'O' and 'I'";
            return false;
        }
    }
    int s = 2;
    for (int i = 0; i < n; i++) {
        char c = d->rhs[i];
        if (c == 'O' || c == 'I') continue;
        int li = spec_find(d->lhs, n, c), oi = spec_find(d->out, n, c);
        if (li < 0 || oi < 0 || c == 'N' || c == 'C') {
            *why = "the spatial letters differ between the specs";
            return false;
        }
        lp[s] = li;
        op[s] = oi;
        rp[s++] = i;
    }
    return true;
}

/* lo/hi of SAME (out = ceil(in / stride), the odd cell at the end) or VALID padding
 * over canonical x (N,C,sp...) and w (O,I,sp...); 0 strides/dilations mean 1. */
static void pad_mode(jx_padding mode, const jx_aval *x, const jx_aval *w, const jx_conv_opts *o, int64_t *lo,
                     int64_t *hi) {
    for (int d = 0; d < x->rank - 2; d++) {
        lo[d] = hi[d] = 0;
        if (mode != JX_PADDING_SAME) continue;
        int64_t s = o->strides.n ? o->strides.v[d] : 1, rd = o->rhs_dilation.n ? o->rhs_dilation.v[d] : 1;
        int64_t in = x->shape[2 + d], ek = (w->shape[2 + d] - 1) * rd + 1;
        int64_t out = s > 0 ? (in + s - 1) / s : 0;
        int64_t total = (out - 1) * s + ek - in;
        if (total < 0) total = 0;
        lo[d] = total / 2;
        hi[d] = total - lo[d];
    }
}

jx_val jx_conv_at(jx_loc loc, jx_val lhs, jx_val rhs, const jx_conv_opts *opts) {
    jx_conv_opts o = {0};
    if (opts) o = *opts;
    return conv_canonical(loc, lhs, rhs, &o);
}

jx_val jx_conv_general_dilated_at(jx_loc loc, jx_val lhs, jx_val rhs, const jx_conv_opts *opts,
                                  jx_conv_dims dims, jx_padding padding) {
    static const char what[] = "conv_general_dilated";
    jx_conv_opts o = {0};
    if (opts) o = *opts;
    bool given = dims.lhs || dims.rhs || dims.out;
    if (!given && padding == JX_PADDING_EXPLICIT) return conv_canonical(loc, lhs, rhs, &o);
    jx_aval x, w;
    if (!jx__ops_aval(loc, what, lhs, &x) || !jx__ops_aval(loc, what, rhs, &w)) return jx__ops_invalid();
    if ((unsigned)padding > JX_PADDING_VALID)
        return jx__ops_fail(loc, JX_ERR_ARG, what, "unknown padding mode %d", (int)padding);
    if (padding != JX_PADDING_EXPLICIT && (o.pad_lo.n || o.pad_hi.n))
        return jx__ops_fail(loc, JX_ERR_ARG, what, "pad_lo/pad_hi given with %s padding: %s * %s",
                            padding == JX_PADDING_SAME ? "SAME" : "VALID", jx__avs(&x), jx__avs(&w));
    int n = x.rank;
    int64_t lp[JX_MAX_RANK], rp[JX_MAX_RANK], op[JX_MAX_RANK], inv[JX_MAX_RANK];
    for (int i = 0; i < n && i < JX_MAX_RANK; i++) lp[i] = rp[i] = op[i] = i;
    if (given) {
        const char *why = "";
        if (n < 3 || n > 5 || w.rank != n || !conv_perms(&dims, n, lp, rp, op, &why))
            return jx__ops_fail(loc, JX_ERR_ARG, what, "dimension numbers (%s, %s, %s) do not fit %s * %s: %s",
                                dims.lhs ? dims.lhs : "NULL", dims.rhs ? dims.rhs : "NULL",
                                dims.out ? dims.out : "NULL", jx__avs(&x), jx__avs(&w), why);
        lhs = jx_transpose_at(loc, lhs, (jx_ints){lp, n});
        rhs = jx_transpose_at(loc, rhs, (jx_ints){rp, n});
    }
    int64_t lo[JX_MAX_RANK], hi[JX_MAX_RANK];
    if (padding != JX_PADDING_EXPLICIT) {
        jx_aval cx = jx__val_aval(lhs), cw = jx__val_aval(rhs);
        if (cx.rank >= 3 && cw.rank == cx.rank) {
            pad_mode(padding, &cx, &cw, &o, lo, hi);
            o.pad_lo = (jx_ints){lo, cx.rank - 2};
            o.pad_hi = (jx_ints){hi, cx.rank - 2};
        }
    }
    jx_val y = conv_canonical(loc, lhs, rhs, &o);
    if (!given) return y;
    for (int i = 0; i < n; i++) inv[op[i]] = i;
    return jx_transpose_at(loc, y, (jx_ints){inv, n});
}

jx_val jx_conv2d_nhwc_at(jx_loc loc, jx_val x, jx_val w, int64_t sh, int64_t sw, jx_padding padding) {
    int64_t s[2] = {sh, sw};
    jx_conv_opts o = {.strides = {s, 2}};
    return jx_conv_general_dilated_at(loc, x, w, &o, JX_CONV_NHWC, padding);
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
