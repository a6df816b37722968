/* lower_window.c: pooling as movement and elementwise ops, for a backend with no pooling
 * path of its own (window_ok NULL: the CUDA backend), so that fusion makes loop kernels
 * of it instead of a step run on the host; the jit's pipeline applies it while inlining
 * (pipeline.c).
 *
 * Every window tap is a strided slice of the operand padded with the reduction's
 * identity (a tap in the padding then changes nothing, as the interpreter skips it), and
 * the taps are folded in the window's row-major order with the interpreter's step
 * (impl_linalg.c), so the results are its bits:
 *  - reduce_window_max/min: acc = take ? v : acc, take = acc == acc && (v != v || v > acc);
 *  - reduce_window_sum: in f64 from +0.0, rounded once at the end;
 *  - select_and_gather_add / select_and_scatter_add (the max pool's derivatives): each
 *    window's first maximum (a NaN counts as the maximum; padding is never chosen), then
 *    the gather reads the tangent's tap there, and the scatter puts each window's source
 *    at its chosen tap: each tap's results are spread over the operand's shape by an
 *    interior pad (window o's tap w lands at o * stride + w - lo) and the taps are summed
 *    into +0.0 from the last to the first. At each element these are the windows that
 *    chose it in the interpreter's order (windows in row-major order are their taps there
 *    in reverse), so the same bits, with no atomics and no scatter, whether windows
 *    overlap (a 3x3 pool of stride 2 or 1) or not (2x2 of stride 2; the +0.0 of the taps
 *    not chosen change no sum, which is never -0.0).
 * Taken when the window has at most MAX_TAPS taps; i64 operands (whose identity no double
 * holds) stay as they are. */
#include <math.h>
#include <string.h>

#include "plan.h"

enum { MAX_TAPS = 16 };

typedef struct wgeom {
    int rank;
    int64_t x[JX_MAX_RANK], y[JX_MAX_RANK], win[JX_MAX_RANK], str[JX_MAX_RANK], lo[JX_MAX_RANK], hi[JX_MAX_RANK];
    int64_t ntaps;
} wgeom;

static bool is_window(int prim) {
    return prim == JX_PRIM_REDUCE_WINDOW_MAX || prim == JX_PRIM_REDUCE_WINDOW_MIN ||
           prim == JX_PRIM_REDUCE_WINDOW_SUM || prim == JX_PRIM_SELECT_AND_SCATTER_ADD ||
           prim == JX_PRIM_SELECT_AND_GATHER_ADD;
}

/* e's window over its operand x (aval xa); false when an attribute is missing. */
static bool geom_of(const jx__eqn *e, const jx_aval *xa, wgeom *g) {
    jx_ints w = jx__attr_ints(e->nattr, e->attrs, JX_A_WINDOW), s = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES);
    jx_ints lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO), hi = jx__attr_ints(e->nattr, e->attrs, JX_A_HI);
    int r = xa->rank;
    if (w.n != r || s.n != r || lo.n != r || hi.n != r) return false;
    g->rank = r;
    g->ntaps = 1;
    for (int d = 0; d < r; d++) {
        g->x[d] = xa->shape[d], g->win[d] = w.v[d], g->str[d] = s.v[d], g->lo[d] = lo.v[d], g->hi[d] = hi.v[d];
        int64_t span = g->x[d] + g->lo[d] + g->hi[d] - g->win[d];
        if (g->win[d] < 1 || g->str[d] < 1 || span < 0) return false;
        g->y[d] = span / g->str[d] + 1;
        g->ntaps *= g->win[d];
        if (g->ntaps > MAX_TAPS) return false;
    }
    return true;
}

bool jx__window_lowerable(const jx_fn *f, const jx__eqn *e) {
    if (!is_window(e->prim) || e->nout != 1) return false;
    bool sel = e->prim == JX_PRIM_SELECT_AND_SCATTER_ADD || e->prim == JX_PRIM_SELECT_AND_GATHER_ADD;
    if (e->nin != (sel ? 2 : 1)) return false;
    jx_aval xa = jx__atom_aval(f, &e->in[sel ? 1 : 0]);
    wgeom g;
    return xa.dtype != JX_I64 && xa.dtype != JX_BOOL && jx_aval_size(&xa) != 0 && geom_of(e, &xa, &g);
}


/* x padded by lo/hi with value, once for all of a window op's taps (x itself where
 * nothing is padded). Each tap used to be the slice of x that it reads, padded to g->y:
 * such a slice has a shape of its own, so fusion could not take it into the group of
 * the taps before it (whose values later taps read) and every tap of a padded pool was
 * a kernel and a pass over memory of its own (a 3x3 SAME pool's gradient: 18 kernels);
 * slices of the padded operand have the taps' shape and join their group, which leaves
 * the padding as one kernel. */
static jx_val padded(jx_loc loc, const wgeom *g, jx_val x, jx_val value) {
    int64_t none[JX_MAX_RANK] = {0};
    bool pad = false;
    for (int d = 0; d < g->rank; d++) pad = pad || g->lo[d] || g->hi[d];
    return pad ? jx_pad_at(loc, x, value, (jx_ints){g->lo, g->rank}, (jx_ints){g->hi, g->rank},
                           (jx_ints){none, g->rank})
               : x;
}

/* Tap t (row-major over the window) of xp, the operand padded (padded()): shape g->y,
 * window o's element o * str + w. */
static jx_val tap(jx_loc loc, const wgeom *g, jx_val xp, int64_t t) {
    int64_t start[JX_MAX_RANK], limit[JX_MAX_RANK];
    for (int d = g->rank - 1; d >= 0; d--) {
        start[d] = t % g->win[d], t /= g->win[d];
        limit[d] = start[d] + (g->y[d] - 1) * g->str[d] + 1;
    }
    return jx_slice_at(loc, xp, (jx_ints){start, g->rank}, (jx_ints){limit, g->rank}, (jx_ints){g->str, g->rank});
}

/* The reduction's identity in x's dtype: what a padded tap holds. */
static double identity(int prim, jx_dtype t) {
    bool mx = prim == JX_PRIM_REDUCE_WINDOW_MAX;
    switch (t) {
    case JX_F32:
    case JX_F64: return prim == JX_PRIM_REDUCE_WINDOW_SUM ? 0 : mx ? -INFINITY : INFINITY;
    case JX_I32: return mx ? INT32_MIN : INT32_MAX;
    case JX_U32: return mx ? 0 : UINT32_MAX;
    default: return mx ? 0 : UINT8_MAX; /* u8 */
    }
}

static jx_val reduce_lowered(jx_loc loc, const jx__eqn *e, const wgeom *g, jx_val x, jx_dtype t) {
    jx_val id = jx_scalar_like_at(loc, x, identity(e->prim, t));
    if (e->prim == JX_PRIM_REDUCE_WINDOW_SUM) {
        jx_val acc = jx_full_at(loc, JX_F64, (jx_ints){g->y, g->rank}, 0.0), xp = padded(loc, g, x, id);
        for (int64_t k = 0; k < g->ntaps; k++)
            acc = jx_add_at(loc, acc, jx_convert_at(loc, tap(loc, g, xp, k), JX_F64));
        return t == JX_F64 ? acc : jx_convert_at(loc, acc, t);
    }
    bool mx = e->prim == JX_PRIM_REDUCE_WINDOW_MAX;
    jx_val acc = jx_full_at(loc, t, (jx_ints){g->y, g->rank}, identity(e->prim, t)), xp = padded(loc, g, x, id);
    for (int64_t k = 0; k < g->ntaps; k++) {
        jx_val v = tap(loc, g, xp, k);
        jx_val beyond = mx ? jx_gt_at(loc, v, acc) : jx_lt_at(loc, v, acc);
        if (t == JX_F32 || t == JX_F64)
            beyond = jx_and_at(loc, jx_eq_at(loc, acc, acc), jx_or_at(loc, jx_ne_at(loc, v, v), beyond));
        acc = jx_select_at(loc, beyond, v, acc);
    }
    return acc;
}

/* Per window, the tap of its first maximum (i32, shape g->y) and whether it has any tap
 * outside the padding (*have; JX_NONE when no window reaches the padding). */
static jx_val first_max(jx_loc loc, const wgeom *g, jx_val x, jx_val *have) {
    bool any_pad = false;
    for (int d = 0; d < g->rank; d++) any_pad = any_pad || g->lo[d] > 0 || g->hi[d] > 0;
    jx_val ninf = jx_scalar_like_at(loc, x, -INFINITY), no = jx_scalar_at(loc, JX_BOOL, 0);
    jx_val inside = any_pad ? padded(loc, g, jx_full_at(loc, JX_BOOL, (jx_ints){g->x, g->rank}, 1), no) : JX_NONE;
    jx_val xp = padded(loc, g, x, ninf);
    jx_val best = tap(loc, g, xp, 0), at = jx_full_at(loc, JX_I32, (jx_ints){g->y, g->rank}, 0);
    jx_val seen = any_pad ? tap(loc, g, inside, 0) : JX_NONE;
    for (int64_t k = 1; k < g->ntaps; k++) {
        jx_val v = tap(loc, g, xp, k);
        jx_val take = jx_and_at(loc, jx_eq_at(loc, best, best), jx_or_at(loc, jx_gt_at(loc, v, best), jx_ne_at(loc, v, v)));
        if (any_pad) {
            jx_val in = tap(loc, g, inside, k);
            take = jx_and_at(loc, in, jx_or_at(loc, jx_not_at(loc, seen), take));
            seen = jx_or_at(loc, seen, in);
        }
        best = jx_select_at(loc, take, v, best);
        at = jx_select_at(loc, take, jx_full_at(loc, JX_I32, (jx_ints){g->y, g->rank}, (double)k), at);
    }
    *have = seen;
    return at;
}

/* Whether tap k is window's chosen one (and the window has one). */
static jx_val chosen(jx_loc loc, const wgeom *g, jx_val at, jx_val have, int64_t k) {
    jx_val is = jx_eq_at(loc, at, jx_full_at(loc, JX_I32, (jx_ints){g->y, g->rank}, (double)k));
    return have.id >= 0 ? jx_and_at(loc, is, have) : is;
}

static jx_val gather_lowered(jx_loc loc, const wgeom *g, jx_val tangent, jx_val x) {
    jx_val have, at = first_max(loc, g, x, &have);
    jx_val zero = jx_scalar_like_at(loc, tangent, 0);
    jx_val out = jx_full_at(loc, jx_aval_of(tangent).dtype, (jx_ints){g->y, g->rank}, 0);
    jx_val tp = padded(loc, g, tangent, zero);
    for (int64_t k = 0; k < g->ntaps; k++)
        out = jx_select_at(loc, chosen(loc, g, at, have, k), tap(loc, g, tp, k), out);
    return out;
}

/* The scatter: tap k's results (part[k], shape g->y) spread over
 * the operand's shape by an interior pad, summed into +0.0 from the last tap to the
 * first (the interpreter's order at each element; see the top). */
static jx_val spread_sum(jx_loc loc, const wgeom *g, const jx_val *part, jx_val zero) {
    jx_val acc = jx_full_at(loc, jx_aval_of(zero).dtype, (jx_ints){g->x, g->rank}, 0.0);
    for (int64_t k = g->ntaps - 1; k >= 0; k--) {
        int64_t w[JX_MAX_RANK], lo[JX_MAX_RANK], hi[JX_MAX_RANK], gap[JX_MAX_RANK];
        for (int64_t d = g->rank - 1, t = k; d >= 0; d--) w[d] = t % g->win[d], t /= g->win[d];
        for (int d = 0; d < g->rank; d++) { /* window o's tap w[d] is element o * str + w[d] - lo */
            lo[d] = w[d] - g->lo[d], gap[d] = g->str[d] - 1;
            hi[d] = g->x[d] - (lo[d] + (g->y[d] - 1) * g->str[d] + 1);
        }
        jx_val spread = jx_pad_at(loc, part[k], zero, (jx_ints){lo, g->rank}, (jx_ints){hi, g->rank},
                                  (jx_ints){gap, g->rank});
        acc = jx_add_at(loc, acc, spread);
    }
    return acc;
}

static jx_val scatter_lowered(jx_loc loc, const wgeom *g, jx_val src, jx_val x) {
    jx_val have, at = first_max(loc, g, x, &have), zero = jx_scalar_like_at(loc, src, 0);
    jx_val part[MAX_TAPS];
    for (int64_t k = 0; k < g->ntaps; k++)
        part[k] = jx_select_at(loc, chosen(loc, g, at, have, k), src, jx_zeros_like_at(loc, src));
    return spread_sum(loc, g, part, zero);
}

jx_status jx__window_lower(jx_loc loc, const jx_fn *f, const jx__eqn *e, const jx_val *in, jx_val *out) {
    bool sel = e->prim == JX_PRIM_SELECT_AND_SCATTER_ADD || e->prim == JX_PRIM_SELECT_AND_GATHER_ADD;
    jx_aval xa = jx__atom_aval(f, &e->in[sel ? 1 : 0]);
    wgeom g;
    if (!geom_of(e, &xa, &g))
        return jx__fail(JX_ERR_INTERNAL, loc, jx__prims[e->prim].name, "window attributes do not fit %s",
                        jx__avs(&xa));
    if (e->prim == JX_PRIM_SELECT_AND_SCATTER_ADD) out[0] = scatter_lowered(loc, &g, in[0], in[1]);
    else if (e->prim == JX_PRIM_SELECT_AND_GATHER_ADD) out[0] = gather_lowered(loc, &g, in[0], in[1]);
    else out[0] = reduce_lowered(loc, e, &g, in[0], xa.dtype);
    return jx_errcode();
}
