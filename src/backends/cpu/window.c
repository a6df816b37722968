/* window.c: pooling for the CPU backend: reduce_window_{max,min,sum} and the max pool's
 * gradients select_and_scatter_add / select_and_gather_add, as tight loops on the thread
 * pool instead of the interpreter's per-tap tables (src/backends/interp/impl_linalg.c).
 * Taken when the window moves over at most two adjacent dims: the operand is then seen
 * as x (B, H, W, C), B the dims before them and C the dims after (one image's channels
 * in NHWC, 1 in NCHW), so the innermost loops run over C contiguous elements and gcc
 * vectorises them. Results are the interpreter's bit for bit: each output visits its
 * taps in the window's row-major order with the same comparisons (a NaN wins; the
 * first maximum is the selected one), sums accumulate in double, and the scatter adds
 * each image's windows in row-major order, so overlapping windows sum as there. Work is
 * split over (b, output row), or over b for the scatter, in chunks that depend only on
 * the shapes, so the results do not depend on the thread count. */
#include <math.h>
#include <string.h>

#include "cpu.h"

enum { OP_MAX, OP_MIN, OP_SUM, OP_SCATTER, OP_GATHER };
enum { CB = 256 }; /* channels per block of the per-window accumulators (on the stack) */

typedef struct win_job {
    int op;
    int64_t b, c;                           /* batch (dims before the window), channels (after) */
    int64_t in[2], out[2], win[2], str[2], lo[2]; /* the two window dims (H, W) */
    const void *x;                          /* the operand x (B, H, W, C) */
    const void *s;                          /* scatter: source (B, OH, OW, C); gather: tangent like x */
    void *y;                                /* reduce, gather: (B, OH, OW, C); scatter: like x */
} win_job;

static int op_of(int prim) {
    switch (prim) {
    case JX_PRIM_REDUCE_WINDOW_MAX: return OP_MAX;
    case JX_PRIM_REDUCE_WINDOW_MIN: return OP_MIN;
    case JX_PRIM_REDUCE_WINDOW_SUM: return OP_SUM;
    case JX_PRIM_SELECT_AND_SCATTER_ADD: return OP_SCATTER;
    case JX_PRIM_SELECT_AND_GATHER_ADD: return OP_GATHER;
    default: return -1;
    }
}

/* Fills j's geometry from e's attributes, operand aval x and windowed aval w (the
 * reduction's result, the scatter's source, the gather's result); false when the window
 * moves over more than two dims, or two that are not adjacent. */
static bool job_make(const jx__eqn *e, const jx_aval *x, const jx_aval *w, win_job *j) {
    jx_ints win = jx__attr_ints(e->nattr, e->attrs, JX_A_WINDOW), str = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES),
            lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO);
    int r = x->rank;
    if (r < 1 || w->rank != r || win.n != r || str.n != r || lo.n != r) return false;
    int first = -1, last = -1;
    for (int d = 0; d < r; d++)
        if (win.v[d] != 1 || str.v[d] != 1 || lo.v[d] != 0 || w->shape[d] != x->shape[d]) {
            if (first < 0) first = d;
            last = d;
        }
    if (first < 0) first = last = r - 1; /* nothing moves: a copy, as a 1-wide window on the last dim */
    if (last - first > 1) return false;
    memset(j, 0, sizeof *j);
    j->op = op_of(e->prim);
    j->b = j->c = 1;
    for (int d = 0; d < first; d++) j->b *= x->shape[d];
    for (int d = last + 1; d < r; d++) j->c *= x->shape[d];
    for (int k = 0; k < 2; k++) { /* H = dim first when two dims move, else 1 */
        int d = k == 0 ? (last > first ? first : -1) : last;
        j->in[k] = d < 0 ? 1 : x->shape[d];
        j->out[k] = d < 0 ? 1 : w->shape[d];
        j->win[k] = d < 0 ? 1 : win.v[d];
        j->str[k] = d < 0 ? 1 : str.v[d];
        j->lo[k] = d < 0 ? 0 : lo.v[d];
    }
    return j->win[0] > 0 && j->win[1] > 0 && j->str[0] > 0 && j->str[1] > 0;
}

/* The taps [*k0, *k1) of window dim k that output o reads inside x (the rest is padding). */
static void tap_range(const win_job *j, int k, int64_t o, int64_t *k0, int64_t *k1) {
    int64_t base = o * j->str[k] - j->lo[k]; /* x index of tap 0 */
    *k0 = base < 0 ? -base : 0;
    *k1 = j->in[k] - base < j->win[k] ? j->in[k] - base : j->win[k];
    if (*k1 < *k0) *k1 = *k0;
}

/* Element offset of x (b, ih, iw, 0). */
static int64_t x_off(const win_job *j, int64_t b, int64_t ih, int64_t iw) {
    return ((b * j->in[0] + ih) * j->in[1] + iw) * j->c;
}

/* For output window (b, oh, ow) and channels [c0, c0 + n): bv, bi = the value and tap
 * (kh * win[1] + kw) of the first maximum, bi = -1 for a window wholly in padding; a NaN
 * counts as the maximum (the first NaN), as the interpreter's first_max does. */
#define DEF_FIRST_MAX(T, IT, NAME)                                                              \
    static void NAME(const win_job *j, int64_t b, int64_t oh, int64_t ow, int64_t c0, int64_t n, T *restrict bv, \
                     IT *restrict bi) {                                                          \
        const T *x = j->x;                                                                      \
        int64_t h0, h1, w0, w1;                                                                 \
        tap_range(j, 0, oh, &h0, &h1);                                                          \
        tap_range(j, 1, ow, &w0, &w1);                                                          \
        for (int64_t c = 0; c < n; c++) bi[c] = -1, bv[c] = 0;                                  \
        bool first = true;                                                                      \
        for (int64_t kh = h0; kh < h1; kh++)                                                    \
            for (int64_t kw = w0; kw < w1; kw++) {                                              \
                const T *restrict xp =                                                          \
                    x + x_off(j, b, oh * j->str[0] - j->lo[0] + kh, ow * j->str[1] - j->lo[1] + kw) + c0; \
                IT t = (IT)(kh * j->win[1] + kw);                                               \
                if (first) {                                                                    \
                    for (int64_t c = 0; c < n; c++) bv[c] = xp[c], bi[c] = t;                   \
                    first = false;                                                              \
                    continue;                                                                   \
                }                                                                               \
                for (int64_t c = 0; c < n; c++) {                                               \
                    T v = xp[c], m = bv[c];                                                     \
                    bool take = (m == m) & ((v > m) | (v != v)); /* no branches: vectorised */                                     \
                    bv[c] = take ? v : m;                                                       \
                    bi[c] = take ? t : bi[c];                                                   \
                }                                                                               \
            }                                                                                   \
    }

/* Reductions, for output rows [r0, r1) of (B * OH): max/min from the identity with the
 * interpreter's comparison (a NaN wins and stays), sums in double. */
#define DEF_REDUCE(T, NAME)                                                                     \
    static void NAME(const win_job *j, int64_t r0, int64_t r1) {                                \
        const T *x = j->x;                                                                      \
        T *y = j->y;                                                                            \
        int64_t C = j->c;                                                                       \
        for (int64_t r = r0; r < r1; r++) {                                                     \
            int64_t b = r / j->out[0], oh = r % j->out[0], h0, h1;                              \
            tap_range(j, 0, oh, &h0, &h1);                                                      \
            for (int64_t ow = 0; ow < j->out[1]; ow++) {                                        \
                T *restrict yp = y + (r * j->out[1] + ow) * C;                                  \
                int64_t w0, w1;                                                                 \
                tap_range(j, 1, ow, &w0, &w1);                                                  \
                for (int64_t c0 = 0; c0 < C; c0 += CB) {                                        \
                    int64_t n = C - c0 < CB ? C - c0 : CB;                                      \
                    double acc[CB];                                                             \
                    T ident = j->op == OP_MAX ? (T)-INFINITY : (T)INFINITY;                     \
                    if (j->op == OP_SUM)                                                        \
                        for (int64_t c = 0; c < n; c++) acc[c] = 0;                             \
                    else                                                                        \
                        for (int64_t c = 0; c < n; c++) yp[c0 + c] = ident;                     \
                    for (int64_t kh = h0; kh < h1; kh++)                                        \
                        for (int64_t kw = w0; kw < w1; kw++) {                                  \
                            const T *restrict xp = x + x_off(j, b, oh * j->str[0] - j->lo[0] + kh, \
                                                             ow * j->str[1] - j->lo[1] + kw) + c0; \
                            T *restrict yc = yp + c0;                                           \
                            if (j->op == OP_SUM)                                                \
                                for (int64_t c = 0; c < n; c++) acc[c] += xp[c];                \
                            else if (j->op == OP_MAX)                                           \
                                for (int64_t c = 0; c < n; c++) {                               \
                                    T v = xp[c], a = yc[c];                                     \
                                    yc[c] = (a == a) & ((v != v) | (v > a)) ? v : a;                \
                                }                                                               \
                            else                                                                \
                                for (int64_t c = 0; c < n; c++) {                               \
                                    T v = xp[c], a = yc[c];                                     \
                                    yc[c] = (a == a) & ((v != v) | (v < a)) ? v : a;                \
                                }                                                               \
                        }                                                                       \
                    if (j->op == OP_SUM)                                                        \
                        for (int64_t c = 0; c < n; c++) yp[c0 + c] = (T)acc[c];                 \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

/* The gather, for output rows [r0, r1): each window reads the tangent at its first
 * maximum, 0 for a window wholly in padding. */
#define DEF_GATHER(T, IT, NAME, FIRST)                                                          \
    static void NAME(const win_job *j, int64_t r0, int64_t r1) {                                \
        const T *t = j->s;                                                                      \
        T *y = j->y;                                                                            \
        int64_t C = j->c;                                                                       \
        T bv[CB];                                                                               \
        IT bi[CB];                                                                              \
        for (int64_t r = r0; r < r1; r++) {                                                     \
            int64_t b = r / j->out[0], oh = r % j->out[0], h0, h1;                              \
            tap_range(j, 0, oh, &h0, &h1);                                                      \
            for (int64_t ow = 0; ow < j->out[1]; ow++) {                                        \
                T *restrict yp = y + (r * j->out[1] + ow) * C;                                  \
                int64_t w0, w1;                                                                 \
                tap_range(j, 1, ow, &w0, &w1);                                                  \
                for (int64_t c0 = 0; c0 < C; c0 += CB) {                                        \
                    int64_t n = C - c0 < CB ? C - c0 : CB;                                      \
                    FIRST(j, b, oh, ow, c0, n, bv, bi);                                         \
                    T *restrict yc = yp + c0;                                                   \
                    for (int64_t c = 0; c < n; c++) yc[c] = 0;                                  \
                    for (int64_t kh = h0; kh < h1; kh++)                                        \
                        for (int64_t kw = w0; kw < w1; kw++) {                                  \
                            const T *restrict tp = t + x_off(j, b, oh * j->str[0] - j->lo[0] + kh, \
                                                             ow * j->str[1] - j->lo[1] + kw) + c0; \
                            IT k = (IT)(kh * j->win[1] + kw);                                   \
                            for (int64_t c = 0; c < n; c++) yc[c] = bi[c] == k ? tp[c] : yc[c]; \
                        }                                                                       \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

/* The scatter, for images [b0, b1): y starts at zero and each window, in row-major order,
 * adds its source element at its first maximum (windows wholly in padding add nothing).
 * Its other taps add +0, which leaves every value as it is: y starts at +0 and a sum is
 * -0 only when both terms are, so y never holds -0 (nor a signalling NaN), and the store
 * needs no branch. */
#define DEF_SCATTER(T, IT, NAME, FIRST)                                                         \
    static void NAME(const win_job *j, int64_t b0, int64_t b1) {                                \
        const T *src = j->s;                                                                    \
        T *y = j->y;                                                                            \
        int64_t C = j->c;                                                                       \
        T bv[CB];                                                                               \
        IT bi[CB];                                                                              \
        for (int64_t b = b0; b < b1; b++) {                                                     \
            T *yb = y + x_off(j, b, 0, 0);                                                      \
            for (int64_t i = 0; i < j->in[0] * j->in[1] * C; i++) yb[i] = 0;                    \
            for (int64_t oh = 0; oh < j->out[0]; oh++) {                                        \
                int64_t h0, h1;                                                                 \
                tap_range(j, 0, oh, &h0, &h1);                                                  \
                for (int64_t ow = 0; ow < j->out[1]; ow++) {                                    \
                    const T *sp = src + ((b * j->out[0] + oh) * j->out[1] + ow) * C;            \
                    int64_t w0, w1;                                                             \
                    tap_range(j, 1, ow, &w0, &w1);                                              \
                    for (int64_t c0 = 0; c0 < C; c0 += CB) {                                    \
                        int64_t n = C - c0 < CB ? C - c0 : CB;                                  \
                        FIRST(j, b, oh, ow, c0, n, bv, bi);                                     \
                        const T *restrict sc = sp + c0;                                         \
                        for (int64_t kh = h0; kh < h1; kh++)                                    \
                            for (int64_t kw = w0; kw < w1; kw++) {                              \
                                T *restrict yc = y + x_off(j, b, oh * j->str[0] - j->lo[0] + kh, \
                                                           ow * j->str[1] - j->lo[1] + kw) + c0; \
                                IT k = (IT)(kh * j->win[1] + kw);                               \
                                for (int64_t c = 0; c < n; c++) {                               \
                                    T s = sc[c];                                                \
                                    s = bi[c] == k ? s : (T)0; /* in this form gcc vectorises */ \
                                    yc[c] = yc[c] + s;                                          \
                                }                                                               \
                            }                                                                   \
                    }                                                                           \
                }                                                                               \
            }                                                                                   \
        }                                                                                       \
    }

/* Tap indices as wide as the values, so the comparisons vectorise lane for lane. */
DEF_FIRST_MAX(float, int32_t, first_max_f32)
DEF_FIRST_MAX(double, int64_t, first_max_f64)
DEF_REDUCE(float, reduce_f32)
DEF_REDUCE(double, reduce_f64)
DEF_GATHER(float, int32_t, gather_f32, first_max_f32)
DEF_GATHER(double, int64_t, gather_f64, first_max_f64)
DEF_SCATTER(float, int32_t, scatter_f32, first_max_f32)
DEF_SCATTER(double, int64_t, scatter_f64, first_max_f64)

typedef struct run_ctx {
    const win_job *j;
    bool f32;
} run_ctx;

static void chunk(void *ctx, int64_t r0, int64_t r1) {
    const run_ctx *rc = ctx;
    const win_job *j = rc->j;
    switch (j->op) {
    case OP_SCATTER: rc->f32 ? scatter_f32(j, r0, r1) : scatter_f64(j, r0, r1); break;
    case OP_GATHER: rc->f32 ? gather_f32(j, r0, r1) : gather_f64(j, r0, r1); break;
    default: rc->f32 ? reduce_f32(j, r0, r1) : reduce_f64(j, r0, r1); break;
    }
}

/* The operand's and the windowed aval of e (operand last for the select_and_* pair). */
static bool avals_of(const jx__eqn *e, const jx_aval *av, const jx_aval *oav, jx_aval *x, jx_aval *w) {
    int op = op_of(e->prim);
    if (op < 0 || e->nout != 1 || e->nin != (op >= OP_SCATTER ? 2 : 1)) return false;
    *x = av[op >= OP_SCATTER ? 1 : 0];
    *w = op == OP_SCATTER ? av[0] : *oav;
    if (x->dtype != JX_F32 && x->dtype != JX_F64) return false;
    return oav->dtype == x->dtype && (op < OP_SCATTER || av[0].dtype == x->dtype);
}

bool jx__cpu_window_ok(const jx_fn *f, const jx__eqn *e) {
    int op = op_of(e->prim);
    if (op < 0 || e->nout != 1 || e->nin != (op >= OP_SCATTER ? 2 : 1)) return false;
    jx_aval av[2];
    for (int i = 0; i < e->nin; i++) av[i] = jx__atom_aval(f, &e->in[i]);
    jx_aval x, w;
    win_job j;
    /* the f32 kernels keep tap indices in int32 */
    return avals_of(e, av, &f->vars[e->out[0]], &x, &w) && job_make(e, &x, &w, &j) &&
           j.win[0] * j.win[1] <= INT32_MAX;
}

jx_status jx__cpu_window(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                         const jx_aval *oav, void *out) {
    jx_aval x, w;
    win_job j;
    if (!avals_of(e, av, oav, &x, &w) || !job_make(e, &x, &w, &j))
        return jx__fail(JX_ERR_UNSUPPORTED, e->loc, jx__prims[e->prim].name, "no pooling path for %s",
                        jx__avs(&av[0]));
    bool scatter = j.op == OP_SCATTER;
    j.x = in[j.op >= OP_SCATTER ? 1 : 0];
    j.s = j.op >= OP_SCATTER ? in[0] : NULL;
    j.y = out;
    /* units: images for the scatter (its windows overlap within one), else output rows */
    int64_t units = scatter ? j.b : j.b * j.out[0];
    int64_t per = (scatter ? j.out[0] : 1) * j.out[1] * j.c * j.win[0] * j.win[1];
    if (scatter && per < j.in[0] * j.in[1] * j.c) per = j.in[0] * j.in[1] * j.c;
    run_ctx rc = {&j, x.dtype == JX_F32};
    jx__pool_for(p, units, per >= 16384 ? 1 : 16384 / (per ? per : 1), chunk, &rc);
    return JX_OK;
}
