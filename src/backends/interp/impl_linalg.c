/* impl_linalg.c: reference implementations of convolution and the windowed reductions
 * (conv_general_dilated, reduce_window_*, select_and_scatter_add/gather_add). Direct loops, kept
 * plain because later GEMM and cuDNN versions are tested against them; the index
 * arithmetic is precomputed into per-dim tables so the inner loops only load and add. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../trace/ir.h"
#include "../dims.h"

static jx_status oom(const jx__eqn *e) {
    return jx__fail(JX_ERR_NOMEM, e->loc, jx__prims[e->prim].name, "out of memory");
}

/* The attribute lists the shape rule checked; an IR that skipped it is a jx bug. */
static bool get_lists(const jx__eqn *e, int n, int count, const jx__akey *keys, jx_ints *out) {
    for (int i = 0; i < count; i++) {
        out[i] = jx__attr_ints(e->nattr, e->attrs, keys[i]);
        if (out[i].n != n) {
            jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "attribute %s has %d entries, expected %d",
                     jx__attr_names[keys[i]], out[i].n, n);
            return false;
        }
    }
    return true;
}

/* ------------------------------------------------------------------ convolution */

/* Spatial dims are padded in front to 3 (size 1, one tap) so one loop nest serves
 * 1-D, 2-D and 3-D. */
typedef struct conv_plan {
    int64_t n, c, o, cg, og; /* batch, in channels, out channels, per group */
    int64_t in[3], k[3], out[3];
    int64_t *tab[3]; /* tap_table of each spatial dim */
} conv_plan;

/* x (N, C, in...), w (O, Cg, k...), y (N, O, out...); acc holds one output plane. */
#define CONV_KERNEL(T, NAME)                                                                   \
    static void NAME(const conv_plan *p, const T *x, const T *w, T *y, double *acc) {          \
        int64_t isz = p->in[0] * p->in[1] * p->in[2], ksz = p->k[0] * p->k[1] * p->k[2];       \
        int64_t osz = p->out[0] * p->out[1] * p->out[2];                                       \
        for (int64_t n = 0; n < p->n; n++)                                                     \
            for (int64_t o = 0; o < p->o; o++) {                                               \
                int64_t g = o / p->og;                                                         \
                memset(acc, 0, sizeof *acc * (size_t)osz);                                     \
                for (int64_t c = 0; c < p->cg; c++) {                                          \
                    const T *xc = x + (n * p->c + g * p->cg + c) * isz;                        \
                    const T *wc = w + (o * p->cg + c) * ksz;                                   \
                    for (int64_t kz = 0; kz < p->k[0]; kz++)                                   \
                        for (int64_t ky = 0; ky < p->k[1]; ky++)                               \
                            for (int64_t kx = 0; kx < p->k[2]; kx++) {                         \
                                double wv = wc[(kz * p->k[1] + ky) * p->k[2] + kx];            \
                                const int64_t *tz = p->tab[0] + kz * p->out[0];                \
                                const int64_t *ty = p->tab[1] + ky * p->out[1];                \
                                const int64_t *tx = p->tab[2] + kx * p->out[2];                \
                                for (int64_t oz = 0; oz < p->out[0]; oz++) {                   \
                                    if (tz[oz] < 0) continue;                                  \
                                    for (int64_t oy = 0; oy < p->out[1]; oy++) {               \
                                        if (ty[oy] < 0) continue;                              \
                                        const T *row = xc + (tz[oz] * p->in[1] + ty[oy]) * p->in[2]; \
                                        double *arow = acc + (oz * p->out[1] + oy) * p->out[2]; \
                                        for (int64_t ox = 0; ox < p->out[2]; ox++)             \
                                            if (tx[ox] >= 0) arow[ox] += wv * row[tx[ox]];     \
                                    }                                                          \
                                }                                                              \
                            }                                                                  \
                }                                                                              \
                T *yo = y + (n * p->o + o) * osz;                                              \
                for (int64_t i = 0; i < osz; i++) yo[i] = (T)acc[i];                           \
            }                                                                                  \
    }
CONV_KERNEL(float, conv_f32)
CONV_KERNEL(double, conv_f64)

static jx_status impl_conv(const jx__eqn *e, jx_array *const *in, const jx_aval *out_avals,
                           jx_array **out) {
    const jx_aval *xa = &in[0]->aval, *wa = &in[1]->aval, *ya = &out_avals[0];
    int nsp = xa->rank - 2;
    static const jx__akey keys[] = {JX_A_STRIDES, JX_A_LO, JX_A_LHS_DILATION, JX_A_RHS_DILATION};
    jx_ints l[4]; /* strides lo lhs_dilation rhs_dilation */
    if (!get_lists(e, nsp, 4, keys, l)) return jx_errcode();
    conv_plan p;
    memset(&p, 0, sizeof p);
    p.n = xa->shape[0];
    p.c = xa->shape[1];
    p.o = wa->shape[0];
    p.cg = wa->shape[1];
    p.og = p.o / jx__attr_int(e->nattr, e->attrs, JX_A_GROUPS, 1);
    jx_status st = JX_OK;
    for (int d = 0; d < 3; d++) {
        int s = d - (3 - nsp); /* the spatial dim, or < 0 for a padding dim */
        p.in[d] = s < 0 ? 1 : xa->shape[2 + s];
        p.k[d] = s < 0 ? 1 : wa->shape[2 + s];
        p.out[d] = s < 0 ? 1 : ya->shape[2 + s];
        p.tab[d] = s < 0 ? jx__conv_tap_table(1, 1, 0, 1, 1, 1, 1)
                         : jx__conv_tap_table(p.in[d], l[2].v[s], l[1].v[s], p.k[d], l[3].v[s], l[0].v[s], p.out[d]);
        if (!p.tab[d]) st = oom(e);
    }
    int64_t osz = p.out[0] * p.out[1] * p.out[2];
    double *acc = st == JX_OK ? malloc(sizeof *acc * (size_t)(osz ? osz : 1)) : NULL;
    jx_array *y = acc ? jx__array_alloc(ya) : NULL;
    if (st == JX_OK && !acc) st = oom(e);
    if (st == JX_OK && !y) st = jx_errcode();
    if (st == JX_OK) {
        if (xa->dtype == JX_F32)
            conv_f32(&p, in[0]->data, in[1]->data, y->data, acc);
        else
            conv_f64(&p, in[0]->data, in[1]->data, y->data, acc);
        out[0] = y;
    }
    for (int d = 0; d < 3; d++) free(p.tab[d]);
    free(acc);
    return st;
}

/* ------------------------------------------------------------------ windows */

/* A window over every dim of the operand x. The kernels go tap by tap (the window's
 * positions in row-major order) and, for each tap, over every output: per output the
 * taps arrive in the same order as a window walked on its own, so the results are those
 * of that walk, at the speed of strided loops (no per-output recursion). */
typedef struct win_plan {
    int rank;
    int64_t nout;                 /* output (or source) elements */
    int64_t ntaps;                /* window positions */
    int64_t win[JX_MAX_RANK];     /* window size per dim */
    int64_t out[JX_MAX_RANK];     /* output shape */
    int64_t xstride[JX_MAX_RANK]; /* row-major strides of x */
    int64_t *tab[JX_MAX_RANK];    /* tap_table of each dim */
} win_plan;

static void win_plan_free(win_plan *p) {
    for (int d = 0; d < p->rank; d++) free(p->tab[d]);
}

static jx_status win_plan_make(const jx__eqn *e, const jx_aval *x, const jx_aval *y, win_plan *p) {
    memset(p, 0, sizeof *p);
    static const jx__akey keys[] = {JX_A_WINDOW, JX_A_STRIDES, JX_A_LO};
    jx_ints l[3]; /* window strides lo */
    if (!get_lists(e, x->rank, 3, keys, l)) return jx_errcode();
    p->rank = x->rank;
    p->nout = jx_aval_size(y);
    p->ntaps = 1;
    int64_t stride = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        p->win[d] = l[0].v[d];
        p->out[d] = y->shape[d];
        p->xstride[d] = stride;
        stride *= x->shape[d];
        p->ntaps *= p->win[d];
    }
    bool ok = true;
    for (int d = 0; d < x->rank; d++) {
        p->tab[d] = jx__conv_tap_table(x->shape[d], 1, l[2].v[d], p->win[d], 1, l[1].v[d], p->out[d]);
        ok = ok && p->tab[d];
    }
    if (!ok) {
        win_plan_free(p);
        return oom(e);
    }
    return JX_OK;
}

/* Steps the row-major multi-index oi through shape. */
static void next_index(int64_t *oi, const int64_t *shape, int rank) {
    for (int d = rank - 1; d >= 0; d--) {
        if (++oi[d] < shape[d]) return;
        oi[d] = 0;
    }
}

/* Runs BODY for every output J with OFF, the x offset it reads at tap W (a window
 * multi-index), or -1 where that is padding: rows of the last dim in a loop of their own. */
#define FOR_TAP(P, W, J, OFF, BODY)                                                            \
    do {                                                                                       \
        int last_ = (P)->rank - 1;                                                             \
        if (last_ < 0) {                                                                       \
            int64_t J = 0, OFF = 0;                                                            \
            BODY;                                                                              \
            break;                                                                             \
        }                                                                                      \
        int64_t oi_[JX_MAX_RANK] = {0}, inner_ = (P)->out[last_], xs_ = (P)->xstride[last_];  \
        const int64_t *tl_ = (P)->tab[last_] + (W)[last_] * inner_;                            \
        for (int64_t j0_ = 0; j0_ < (P)->nout; j0_ += inner_, next_index(oi_, (P)->out, last_)) { \
            int64_t base_ = 0;                                                                 \
            bool pad_ = false;                                                                 \
            for (int d_ = 0; d_ < last_ && !pad_; d_++) {                                      \
                int64_t i_ = (P)->tab[d_][(W)[d_] * (P)->out[d_] + oi_[d_]];                   \
                pad_ = i_ < 0;                                                                 \
                base_ += i_ * (P)->xstride[d_];                                                \
            }                                                                                  \
            if (pad_) continue;                                                                \
            for (int64_t o_ = 0; o_ < inner_; o_++) {                                          \
                int64_t J = j0_ + o_, OFF = tl_[o_] < 0 ? -1 : base_ + tl_[o_] * xs_;          \
                BODY;                                                                          \
            }                                                                                  \
        }                                                                                      \
    } while (0)

enum { RW_SUM, RW_MAX, RW_MIN };

/* Sums accumulate in double, as the reference should be the accurate one. */
#define RW_SUM_KERNEL(T, NAME)                                                                 \
    static void NAME(win_plan *p, const T *x, T *y, double *acc) {                             \
        int64_t w[JX_MAX_RANK] = {0};                                                          \
        for (int64_t j = 0; j < p->nout; j++) acc[j] = 0;                                      \
        for (int64_t t = 0; t < p->ntaps; t++, next_index(w, p->win, p->rank)) {               \
            FOR_TAP(p, w, j, o, if (o >= 0) acc[j] += x[o]);                                   \
        }                                                                                      \
        for (int64_t j = 0; j < p->nout; j++) y[j] = (T)acc[j];                                \
    }
RW_SUM_KERNEL(float, rw_sum_f32)
RW_SUM_KERNEL(double, rw_sum_f64)

/* max/min from the identity; a NaN (v != v, never true for ints) wins and stays. */
#define RW_EXT_KERNEL(T, NAME)                                                                 \
    static void NAME(win_plan *p, const T *x, T *y, int kind, T ident) {                       \
        int64_t w[JX_MAX_RANK] = {0};                                                          \
        for (int64_t j = 0; j < p->nout; j++) y[j] = ident;                                    \
        for (int64_t t = 0; t < p->ntaps; t++, next_index(w, p->win, p->rank)) {               \
            FOR_TAP(p, w, j, o, {                                                              \
                if (o < 0) continue;                                                           \
                T v = x[o];                                                                    \
                T acc = y[j];                                                                  \
                bool take = acc == acc && (v != v || (kind == RW_MAX ? v > acc : v < acc));    \
                y[j] = take ? v : acc; /* branch-free: the comparisons are data */             \
            });                                                                                \
        }                                                                                      \
    }
RW_EXT_KERNEL(float, rw_ext_f32)
RW_EXT_KERNEL(double, rw_ext_f64)
RW_EXT_KERNEL(uint8_t, rw_ext_u8)
RW_EXT_KERNEL(int32_t, rw_ext_i32)
RW_EXT_KERNEL(uint32_t, rw_ext_u32)
RW_EXT_KERNEL(int64_t, rw_ext_i64)

static jx_status impl_reduce_window(const jx__eqn *e, jx_array *const *in, const jx_aval *out_avals,
                                    jx_array **out) {
    win_plan p;
    jx_status st = win_plan_make(e, &in[0]->aval, &out_avals[0], &p);
    if (st != JX_OK) return st;
    jx_array *y = jx__array_alloc(&out_avals[0]);
    if (!y) {
        win_plan_free(&p);
        return jx_errcode();
    }
    int kind = e->prim == JX_PRIM_REDUCE_WINDOW_SUM ? RW_SUM : e->prim == JX_PRIM_REDUCE_WINDOW_MAX ? RW_MAX : RW_MIN;
    bool mx = kind == RW_MAX;
    double *acc = kind == RW_SUM ? malloc(sizeof *acc * (size_t)(p.nout ? p.nout : 1)) : NULL;
    if (kind == RW_SUM && !acc) {
        jx_array_release(y);
        win_plan_free(&p);
        return oom(e);
    }
    const void *x = in[0]->data;
    switch (in[0]->aval.dtype) {
    case JX_F32:
        if (kind == RW_SUM) rw_sum_f32(&p, x, y->data, acc);
        else rw_ext_f32(&p, x, y->data, kind, mx ? -INFINITY : INFINITY);
        break;
    case JX_F64:
        if (kind == RW_SUM) rw_sum_f64(&p, x, y->data, acc);
        else rw_ext_f64(&p, x, y->data, kind, mx ? -INFINITY : INFINITY);
        break;
    case JX_U8: rw_ext_u8(&p, x, y->data, kind, mx ? 0 : UINT8_MAX); break;
    case JX_I32: rw_ext_i32(&p, x, y->data, kind, mx ? INT32_MIN : INT32_MAX); break;
    case JX_U32: rw_ext_u32(&p, x, y->data, kind, mx ? 0 : UINT32_MAX); break;
    case JX_I64: rw_ext_i64(&p, x, y->data, kind, mx ? INT64_MIN : INT64_MAX); break;
    default:
        st = jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "unexpected dtype %s",
                      jx_dtype_name(in[0]->aval.dtype));
    }
    win_plan_free(&p);
    free(acc);
    if (st != JX_OK) {
        jx_array_release(y);
        return st;
    }
    out[0] = y;
    return JX_OK;
}

/* best[j] = the offset in x of window j's first maximum (-1: wholly padding); a NaN
 * counts as the maximum (the first NaN), as in argmax. Shared by the scatter and the
 * gather so the two stay each other's transpose. */
#define FIRST_MAX(T, NAME)                                                                     \
    static void NAME(win_plan *p, const T *x, int64_t *best, T *bv) {                          \
        int64_t w[JX_MAX_RANK] = {0};                                                          \
        for (int64_t j = 0; j < p->nout; j++) best[j] = -1;                                    \
        for (int64_t t = 0; t < p->ntaps; t++, next_index(w, p->win, p->rank)) {               \
            FOR_TAP(p, w, j, o, {                                                              \
                if (o < 0) continue;                                                           \
                int64_t b = best[j];                                                           \
                T v = x[o];                                                                    \
                T m = bv[j];                                                                   \
                bool take = b < 0 || (m == m && (v > m || v != v)); /* branch-free */          \
                best[j] = take ? o : b;                                                        \
                bv[j] = take ? v : m;                                                          \
            });                                                                                \
        }                                                                                      \
    }
FIRST_MAX(float, first_max_f32)
FIRST_MAX(double, first_max_f64)

/* Each window's source element goes to the window's first maximum, in window order;
 * windows wholly in padding drop theirs. gather is the transpose: each window reads the
 * tangent at the first maximum; windows wholly in padding give 0. */
#define SAS_KERNELS(T, SFX)                                                                    \
    static void sas_##SFX(win_plan *p, const T *src, const T *x, T *y, int64_t *best) {        \
        first_max_##SFX(p, x, best, (T *)(best + p->nout));                                    \
        for (int64_t j = 0; j < p->nout; j++)                                                  \
            if (best[j] >= 0) y[best[j]] += src[j];                                            \
    }                                                                                          \
    static void sag_##SFX(win_plan *p, const T *t, const T *x, T *y, int64_t *best) {          \
        first_max_##SFX(p, x, best, (T *)(best + p->nout));                                    \
        for (int64_t j = 0; j < p->nout; j++) y[j] = best[j] >= 0 ? t[best[j]] : (T)0;         \
    }
SAS_KERNELS(float, f32)
SAS_KERNELS(double, f64)

/* select_and_scatter_add (source, operand) and select_and_gather_add (tangent, operand):
 * the window plan is over the operand, whose windowed shape is the source's / result's. */
static jx_status impl_select_and_add(const jx__eqn *e, jx_array *const *in, const jx_aval *out_avals,
                                     jx_array **out) {
    bool scatter = e->prim == JX_PRIM_SELECT_AND_SCATTER_ADD;
    win_plan p;
    jx_status st = win_plan_make(e, &in[1]->aval, scatter ? &in[0]->aval : &out_avals[0], &p);
    if (st != JX_OK) return st;
    /* the scatter accumulates into zeros; the gather writes every element */
    jx_array *y = scatter ? jx__array_alloc(&out_avals[0]) : jx__array_alloc_uninit(&out_avals[0]);
    if (!y) {
        win_plan_free(&p);
        return jx_errcode();
    }
    /* per window: the first maximum's offset, then its value (f32 or f64) */
    int64_t *best = malloc(2 * sizeof *best * (size_t)(p.nout ? p.nout : 1));
    if (!best) {
        jx_array_release(y);
        win_plan_free(&p);
        return oom(e);
    }
    bool f32 = in[1]->aval.dtype == JX_F32;
    if (scatter && f32) sas_f32(&p, in[0]->data, in[1]->data, y->data, best);
    else if (scatter) sas_f64(&p, in[0]->data, in[1]->data, y->data, best);
    else if (f32) sag_f32(&p, in[0]->data, in[1]->data, y->data, best);
    else sag_f64(&p, in[0]->data, in[1]->data, y->data, best);
    free(best);
    win_plan_free(&p);
    out[0] = y;
    return JX_OK;
}

void jx__impl_register_linalg(jx__impl_rule *t) {
    t[JX_PRIM_CONV] = impl_conv;
    t[JX_PRIM_REDUCE_WINDOW_SUM] = impl_reduce_window;
    t[JX_PRIM_REDUCE_WINDOW_MAX] = impl_reduce_window;
    t[JX_PRIM_REDUCE_WINDOW_MIN] = impl_reduce_window;
    t[JX_PRIM_SELECT_AND_SCATTER_ADD] = impl_select_and_add;
    t[JX_PRIM_SELECT_AND_GATHER_ADD] = impl_select_and_add;
}
