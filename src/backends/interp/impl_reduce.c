/* impl_reduce.c: reference implementations of the reductions (reduce_*, argmax/argmin)
 * and the cumulative ops; registers dot_general from impl_dot.c. Kernels are typed
 * loops generated per dtype; integer sums and products wrap through unsigned types.
 * Floating sums and products longer than JX__RED_BLOCK fold in blocks combined pairwise
 * (the order reduce_util.h defines, which the code generators follow too). */
#include <math.h>
#include <stdlib.h>

#include "../../trace/reduce_util.h"
#include "strided.h"

/* X(OP, ENUM, T, U, LO, HI, NANQ): storage type T, arithmetic type U (unsigned for
 * ints, so overflow wraps), LO/HI the identities of max/min, NANQ the NaN test. */
#define NO_NAN(v) ((void)(v), 0)
#define RED_TYPES(X, OP)                                            \
    X(OP, BOOL, uint8_t, uint8_t, 0, 1, NO_NAN)                     \
    X(OP, U8, uint8_t, uint8_t, 0, UINT8_MAX, NO_NAN)               \
    X(OP, I32, int32_t, uint32_t, INT32_MIN, INT32_MAX, NO_NAN)     \
    X(OP, U32, uint32_t, uint32_t, 0, UINT32_MAX, NO_NAN)           \
    X(OP, I64, int64_t, uint64_t, INT64_MIN, INT64_MAX, NO_NAN)     \
    X(OP, F32, float, float, -INFINITY, INFINITY, isnan)            \
    X(OP, F64, double, double, -INFINITY, INFINITY, isnan)

/* Binary combiners: NaN wins in max/min (as lax.max), ints wrap in sum/prod. */
#define OP_SUM(T, U, NQ, a, v) ((T)((U)(a) + (U)(v)))
#define OP_PROD(T, U, NQ, a, v) ((T)((U)(a) * (U)(v)))
#define OP_MAX(T, U, NQ, a, v) (((v) > (a) || NQ(v)) ? (v) : (a))
#define OP_MIN(T, U, NQ, a, v) (((v) < (a) || NQ(v)) ? (v) : (a))
#define ID_SUM(LO, HI) 0
#define ID_PROD(LO, HI) 1
#define ID_MAX(LO, HI) LO
#define ID_MIN(LO, HI) HI

/* ------------------------------------------------------------------ reduce_* */

/* The input walked in row-major order as coalesced dims; ostride is each dim's stride
 * in the output, 0 for reduced dims. Adjacent dims of one kind merge, size-1 dims go. */
typedef struct red_geom {
    int rank;
    int64_t size[JX_MAX_RANK], ostride[JX_MAX_RANK];
} red_geom;

static void red_geom_make(const jx_aval *x, jx_ints axes, red_geom *g) {
    bool red[JX_MAX_RANK] = {false};
    for (int i = 0; i < axes.n; i++) red[axes.v[i]] = true;
    int64_t os[JX_MAX_RANK], acc = 1;
    for (int d = x->rank - 1; d >= 0; d--) {
        os[d] = red[d] ? 0 : acc;
        if (!red[d]) acc *= x->shape[d];
    }
    g->rank = 0;
    for (int d = 0; d < x->rank; d++) {
        if (x->shape[d] == 1) continue;
        int k = g->rank - 1;
        if (k >= 0 && (g->ostride[k] == 0) == red[d]) { /* same kind as the previous dim */
            g->size[k] *= x->shape[d];
            g->ostride[k] = os[d];
        } else {
            g->size[g->rank] = x->shape[d];
            g->ostride[g->rank++] = os[d];
        }
    }
    if (g->rank == 0) { /* a single element */
        g->size[0] = 1;
        g->ostride[0] = 1;
        g->rank = 1;
    }
}

/* y (nout elements) starts at the identity; each input element folds into its cell.
 * The last dim is either reduced (one accumulator) or kept (output stride 1). */
#define DEF_RED(OP, E, T, U, LO, HI, NQ)                                                  \
    static void red_##OP##_##E(const void *xv, void *yv, const red_geom *g, int64_t nin,   \
                               int64_t nout) {                                             \
        const T *x = xv;                                                                   \
        T *y = yv;                                                                         \
        for (int64_t i = 0; i < nout; i++) y[i] = (T)ID_##OP(LO, HI);                      \
        if (nin == 0) return;                                                              \
        int r = g->rank;                                                                   \
        int64_t n = g->size[r - 1], idx[JX_MAX_RANK] = {0}, off = 0;                       \
        for (int64_t o = 0, outer = nin / n; o < outer; o++, x += n) {                      \
            if (g->ostride[r - 1] == 0) {                                                  \
                T acc = y[off];                                                            \
                for (int64_t j = 0; j < n; j++) acc = OP_##OP(T, U, NQ, acc, x[j]);       \
                y[off] = acc;                                                              \
            } else {                                                                       \
                T *yo = y + off;                                                           \
                for (int64_t j = 0; j < n; j++) yo[j] = OP_##OP(T, U, NQ, yo[j], x[j]);   \
            }                                                                              \
            for (int d = r - 2; d >= 0; d--) {                                             \
                off += g->ostride[d];                                                      \
                if (++idx[d] < g->size[d]) break;                                          \
                off -= g->ostride[d] * g->size[d];                                         \
                idx[d] = 0;                                                                \
            }                                                                              \
        }                                                                                  \
    }
RED_TYPES(DEF_RED, SUM)
RED_TYPES(DEF_RED, PROD)
RED_TYPES(DEF_RED, MAX)
RED_TYPES(DEF_RED, MIN)

typedef void (*red_kernel)(const void *, void *, const red_geom *, int64_t, int64_t);
#define RED_ENTRY(OP, E, T, U, LO, HI, NQ) [JX_##E] = red_##OP##_##E,
static const red_kernel red_kernels[4][JX_DTYPE_COUNT] = {
    {RED_TYPES(RED_ENTRY, SUM)},
    {RED_TYPES(RED_ENTRY, PROD)},
    {RED_TYPES(RED_ENTRY, MAX)},
    {RED_TYPES(RED_ENTRY, MIN)},
};

/* Index of prim within a group of four consecutive-by-role primitives, or -1. */
static int op_index(int prim, const int *group) {
    for (int i = 0; i < 4; i++)
        if (group[i] == prim) return i;
    return -1;
}

static jx_status no_kernel(const jx__eqn *e, const jx_array *x, jx_array *y) {
    jx_array_release(y);
    return jx__fail(JX_ERR_UNSUPPORTED, e->loc, jx__prims[e->prim].name, "no kernel for %s", jx__avs(&x->aval));
}

/* The blocked fold of reduce_util.h over nout rows of n > JX__RED_BLOCK contiguous values. */
#define DEF_BLOCKED(OP, T)                                                                     \
    static void blk_##OP##_##T(const T *x, T *y, int64_t nout, int64_t n) {                    \
        for (int64_t o = 0; o < nout; o++, x += n) {                                           \
            T stack[JX__RED_STACK], acc = 0;                                                   \
            int top = 0;                                                                       \
            for (int64_t s = 0, c = 1; s < n; s += JX__RED_BLOCK, c++) {                        \
                int64_t end = n - s < JX__RED_BLOCK ? n : s + JX__RED_BLOCK;                   \
                acc = (T)ID_##OP(0, 0);                                                        \
                for (int64_t j = s; j < end; j++) acc = OP_##OP(T, T, NO_NAN, acc, x[j]);      \
                for (int64_t t = c; !(t & 1); t >>= 1) acc = OP_##OP(T, T, NO_NAN, stack[--top], acc); \
                stack[top++] = acc;                                                            \
            }                                                                                  \
            acc = stack[--top];                                                                \
            while (top > 0) acc = OP_##OP(T, T, NO_NAN, stack[--top], acc);                    \
            y[o] = acc;                                                                        \
        }                                                                                      \
    }
DEF_BLOCKED(SUM, float)
DEF_BLOCKED(SUM, double)
DEF_BLOCKED(PROD, float)
DEF_BLOCKED(PROD, double)

/* Long floating sums and products (op 0 or 1): the reduced dims moved last (a strided
 * copy, unless they already are) so each output's values are contiguous, then folded in
 * blocks. False when out of memory. */
static bool reduce_blocked(int op, const jx_array *x, jx_ints axes, jx_array *y, int64_t nout) {
    const jx_aval *a = &x->aval;
    bool red[JX_MAX_RANK] = {false};
    for (int i = 0; i < axes.n; i++) red[axes.v[i]] = true;
    int64_t st[JX_MAX_RANK], shape[JX_MAX_RANK], pst[JX_MAX_RANK], dst[JX_MAX_RANK];
    int k = 0;
    bool moved = false;
    jx__row_strides(a->rank, a->shape, st);
    for (int pass = 0; pass < 2; pass++)
        for (int d = 0; d < a->rank; d++)
            if (red[d] == (pass == 1)) {
                moved |= k != d;
                shape[k] = a->shape[d], pst[k++] = st[d];
            }
    const void *src = x->data;
    void *tmp = NULL;
    int64_t n = jx_aval_size(a) / nout;
    if (moved) {
        size_t es = jx_dtype_size(a->dtype);
        if (!(tmp = malloc(es * (size_t)jx_aval_size(a)))) return false;
        jx__row_strides(a->rank, shape, dst);
        jx__strided_copy(a->rank, shape, es, tmp, 0, dst, x->data, 0, pst);
        src = tmp;
    }
    if (a->dtype == JX_F32)
        (op ? blk_PROD_float : blk_SUM_float)(src, y->data, nout, n);
    else
        (op ? blk_PROD_double : blk_SUM_double)(src, y->data, nout, n);
    free(tmp);
    return true;
}

static jx_status impl_reduce(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    static const int group[4] = {JX_PRIM_REDUCE_SUM, JX_PRIM_REDUCE_PROD, JX_PRIM_REDUCE_MAX, JX_PRIM_REDUCE_MIN};
    const jx_array *x = in[0];
    jx_array *y = jx__array_alloc(&oav[0]);
    if (!y) return jx_errcode();
    int op = op_index(e->prim, group);
    red_kernel k = op >= 0 ? red_kernels[op][x->aval.dtype] : NULL;
    if (!k || (op < 2 && x->aval.dtype == JX_BOOL)) return no_kernel(e, x, y);
    jx_ints axes = jx__attr_ints(e->nattr, e->attrs, JX_A_AXES);
    int64_t nin = jx_aval_size(&x->aval), nout = jx_aval_size(&oav[0]);
    bool fl = x->aval.dtype == JX_F32 || x->aval.dtype == JX_F64;
    if (op < 2 && fl && nout > 0 && nin / nout > JX__RED_BLOCK) {
        if (!reduce_blocked(op, x, axes, y, nout)) {
            jx_array_release(y);
            return jx__fail(JX_ERR_NOMEM, e->loc, jx__prims[e->prim].name, "out of memory for %s", jx__avs(&x->aval));
        }
        out[0] = y;
        return JX_OK;
    }
    red_geom g;
    red_geom_make(&x->aval, axes, &g);
    k(x->data, y->data, &g, nin, nout);
    out[0] = y;
    return JX_OK;
}

/* ------------------------------------------------------------------ along one axis */

/* x seen as (outer, n, inner) around axis. */
static void split_at(const jx_aval *x, int axis, int64_t *outer, int64_t *n, int64_t *inner) {
    *outer = *inner = 1;
    for (int d = 0; d < axis; d++) *outer *= x->shape[d];
    for (int d = axis + 1; d < x->rank; d++) *inner *= x->shape[d];
    *n = x->shape[axis];
}

/* Cumulative ops: y[o,j,:] = op(y[o,j-1,:], x[o,j,:]) walking j forward or backward. */
#define DEF_CUM(OP, E, T, U, LO, HI, NQ)                                                    \
    static void cum_##OP##_##E(const void *xv, void *yv, int64_t outer, int64_t n,           \
                               int64_t inner, int rev) {                                     \
        const T *x = xv;                                                                     \
        T *y = yv;                                                                           \
        int64_t step = rev ? -inner : inner;                                                 \
        for (int64_t o = 0; o < outer; o++) {                                                \
            int64_t first = o * n * inner + (rev ? (n - 1) * inner : 0);                     \
            for (int64_t s = 0; s < n; s++) {                                                \
                const T *xr = x + first + s * step;                                          \
                T *yr = y + first + s * step;                                                \
                if (s == 0)                                                                  \
                    for (int64_t i = 0; i < inner; i++) yr[i] = xr[i];                       \
                else                                                                         \
                    for (int64_t i = 0; i < inner; i++)                                      \
                        yr[i] = OP_##OP(T, U, NQ, yr[i - step], xr[i]);                      \
            }                                                                                \
        }                                                                                    \
    }
RED_TYPES(DEF_CUM, SUM)
RED_TYPES(DEF_CUM, PROD)
RED_TYPES(DEF_CUM, MAX)
RED_TYPES(DEF_CUM, MIN)

typedef void (*cum_kernel)(const void *, void *, int64_t, int64_t, int64_t, int);
#define CUM_ENTRY(OP, E, T, U, LO, HI, NQ) [JX_##E] = cum_##OP##_##E,
static const cum_kernel cum_kernels[4][JX_DTYPE_COUNT] = {
    {RED_TYPES(CUM_ENTRY, SUM)},
    {RED_TYPES(CUM_ENTRY, PROD)},
    {RED_TYPES(CUM_ENTRY, MAX)},
    {RED_TYPES(CUM_ENTRY, MIN)},
};

static jx_status impl_cum(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    static const int group[4] = {JX_PRIM_CUMSUM, JX_PRIM_CUMPROD, JX_PRIM_CUMMAX, JX_PRIM_CUMMIN};
    const jx_array *x = in[0];
    jx_array *y = jx__array_alloc(&oav[0]);
    if (!y) return jx_errcode();
    int op = op_index(e->prim, group);
    cum_kernel k = op >= 0 ? cum_kernels[op][x->aval.dtype] : NULL;
    if (!k || (op < 2 && x->aval.dtype == JX_BOOL)) return no_kernel(e, x, y);
    int64_t outer, n, inner;
    split_at(&x->aval, (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0), &outer, &n, &inner);
    k(x->data, y->data, outer, n, inner, jx__attr_int(e->nattr, e->attrs, JX_A_REVERSE, 0) != 0);
    out[0] = y;
    return JX_OK;
}

/* argmax/argmin: the first index of the extreme; the first NaN wins outright (numpy). */
#define CMP_ARGMAX(v, b) ((v) > (b))
#define CMP_ARGMIN(v, b) ((v) < (b))
#define DEF_ARG(OP, E, T, U, LO, HI, NQ)                                                    \
    static void arg_##OP##_##E(const void *xv, void *yv, jx_dtype it, int64_t outer,         \
                               int64_t n, int64_t inner) {                                   \
        const T *x = xv;                                                                     \
        for (int64_t o = 0; o < outer; o++)                                                  \
            for (int64_t i = 0; i < inner; i++) {                                            \
                const T *p = x + o * n * inner + i;                                          \
                T best = p[0];                                                               \
                int64_t bi = 0;                                                              \
                for (int64_t j = 1; j < n && !NQ(best); j++) {                               \
                    T v = p[j * inner];                                                      \
                    if (CMP_##OP(v, best) || NQ(v)) best = v, bi = j;                        \
                }                                                                            \
                if (it == JX_I32)                                                            \
                    ((int32_t *)yv)[o * inner + i] = (int32_t)bi;                            \
                else                                                                         \
                    ((int64_t *)yv)[o * inner + i] = bi;                                     \
            }                                                                                \
    }
RED_TYPES(DEF_ARG, ARGMAX)
RED_TYPES(DEF_ARG, ARGMIN)

typedef void (*arg_kernel)(const void *, void *, jx_dtype, int64_t, int64_t, int64_t);
#define ARG_ENTRY(OP, E, T, U, LO, HI, NQ) [JX_##E] = arg_##OP##_##E,
static const arg_kernel arg_kernels[2][JX_DTYPE_COUNT] = {
    {RED_TYPES(ARG_ENTRY, ARGMAX)},
    {RED_TYPES(ARG_ENTRY, ARGMIN)},
};

static jx_status impl_arg(const jx__eqn *e, jx_array *const *in, const jx_aval *oav, jx_array **out) {
    const jx_array *x = in[0];
    jx_array *y = jx__array_alloc(&oav[0]);
    if (!y) return jx_errcode();
    arg_kernel k = arg_kernels[e->prim == JX_PRIM_ARGMIN][x->aval.dtype];
    int64_t outer, n, inner;
    split_at(&x->aval, (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0), &outer, &n, &inner);
    if (!k || n == 0) return no_kernel(e, x, y);
    k(x->data, y->data, oav[0].dtype, outer, n, inner);
    out[0] = y;
    return JX_OK;
}

void jx__impl_register_reduce(jx__impl_rule *t) {
    t[JX_PRIM_REDUCE_SUM] = impl_reduce;
    t[JX_PRIM_REDUCE_PROD] = impl_reduce;
    t[JX_PRIM_REDUCE_MAX] = impl_reduce;
    t[JX_PRIM_REDUCE_MIN] = impl_reduce;
    t[JX_PRIM_ARGMAX] = impl_arg;
    t[JX_PRIM_ARGMIN] = impl_arg;
    t[JX_PRIM_CUMSUM] = impl_cum;
    t[JX_PRIM_CUMPROD] = impl_cum;
    t[JX_PRIM_CUMMAX] = impl_cum;
    t[JX_PRIM_CUMMIN] = impl_cum;
    t[JX_PRIM_DOT_GENERAL] = jx__impl_dot_general;
}
