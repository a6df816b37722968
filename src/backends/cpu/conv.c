/* conv.c: conv_general_dilated on GEMMs for the CPU backend (im2col), for what oneDNN's
 * primitives (conv_dnnl.c, tried first) do not take. For one batch
 * element n, group g and a tile of output positions [s0, s1):
 *     y[n, g*Og:(g+1)*Og, s0:s1] (Og, T) = w_g (Og, Cg*K) . col (Cg*K, T)
 * where col holds, for each input channel c of the group and tap (kz, ky, kx), the
 * input element each output position reads (zero on padding and on the holes of a
 * dilated input). Padding (also negative), strides, lhs dilation (transposed convs and
 * the input gradient) and rhs dilation all go through one table per spatial dim, so the
 * gradient convolutions grad emits run here as they are; stride-1 rows are copied as
 * runs. 1x1 convs without padding, strides or dilation read the input in place. Work
 * items (n, tile, channel part) run on the pool; when there are too few of them (kernel
 * gradients: small outputs, huge K) the channels are split into parts whose sums are
 * added in part order. Tiles and parts depend only on the shapes, so the results do not
 * depend on the thread count. */
#include "blas.h"
#include "../debug.h"
#include "../dims.h"
#include "../interp/strided.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

typedef struct conv_job {
    jx_dtype t;
    size_t esz;
    int64_t n, c, o, cg, og, groups;    /* batch, channels, out channels, per group */
    int64_t in[3], k[3], out[3];        /* spatial dims padded in front to 3 */
    int64_t isz, ksz, osz, ckk;         /* products; ckk = cg * ksz, the GEMM's K */
    int64_t *tab[3];                    /* per dim: input index of (tap t, output o) at [t*out+o], or -1 */
    int64_t *xrun;                      /* per x tap: (lo, hi, off) when tab[2] reads x[o + off] */
                                        /* for o in [lo, hi) and pads elsewhere, else lo = -1 */
    bool direct;                        /* 1x1, identity tables: col is the input itself */
    int64_t tile, ntiles;               /* output positions per work item and their count */
    int64_t cpart, nparts;              /* the K split: input channels per part, parts */
    char *parts;                        /* parts 1.. of the sums: nparts - 1 arrays like y */
    const char *x, *w;                  /* x (N, C, in...), w (O, Cg, k...) */
    char *y;                            /* y (N, O, out...) */
    atomic_bool oom;
} conv_job;

/* dst[i] = x[ox + i] for i < run along a row whose tap reads src[o + r[2]] for o in
 * [r[0], r[1]) and padding elsewhere: the stride-1 case as zeros and one memcpy. */
static void copy_run(void *dst, const void *src, int64_t ox, int64_t run, const int64_t *r, size_t esz) {
    int64_t end = ox + run;
    int64_t a = r[0] < ox ? ox : r[0] > end ? end : r[0];
    int64_t z = r[1] < a ? a : r[1] > end ? end : r[1];
    char *d = dst;
    memset(d, 0, (size_t)(a - ox) * esz);
    memcpy(d + (size_t)(a - ox) * esz, (const char *)src + (size_t)(a + r[2]) * esz, (size_t)(z - a) * esz);
    memset(d + (size_t)(z - ox) * esz, 0, (size_t)(end - z) * esz);
}

/* For each tap t of the last spatial dim, (lo, hi, off) in r[3t..3t+2] when its table
 * row reads o + off for o in [lo, hi) and pads elsewhere; lo = -1 when it does not
 * (strides, lhs dilation). */
static void find_runs(const int64_t *tab, int64_t k, int64_t out, int64_t *r) {
    for (int64_t t = 0; t < k; t++, r += 3) {
        const int64_t *row = tab + t * out;
        int64_t o = 0;
        while (o < out && row[o] < 0) o++;
        r[0] = o;
        r[2] = o < out ? row[o] - o : 0;
        while (o < out && row[o] == o + r[2]) o++;
        r[1] = o;
        while (o < out && row[o] < 0) o++;
        if (o < out) r[0] = -1;
    }
}

/* Copies the im2col rows of nc channels (xg: the first of them) for output positions
 * [s0, s1) into col (nc * ksz, s1 - s0). */
#define DEF_IM2COL(NAME, T)                                                                     \
    static void NAME(const conv_job *j, const T *xg, int64_t nc, T *col, int64_t s0, int64_t s1) { \
        int64_t w = s1 - s0, o1 = j->out[1], o2 = j->out[2];                                    \
        for (int64_t c = 0; c < nc; c++)                                                        \
            for (int64_t kz = 0; kz < j->k[0]; kz++)                                            \
                for (int64_t ky = 0; ky < j->k[1]; ky++)                                        \
                    for (int64_t kx = 0; kx < j->k[2]; kx++) {                                  \
                        T *row = col + (((c * j->k[0] + kz) * j->k[1] + ky) * j->k[2] + kx) * w; \
                        const T *xc = xg + c * j->isz;                                          \
                        const int64_t *tz = j->tab[0] + kz * j->out[0];                         \
                        const int64_t *ty = j->tab[1] + ky * o1, *tx = j->tab[2] + kx * o2;      \
                        const int64_t *xr = j->xrun + 3 * kx;                                   \
                        int64_t s = s0, oz = s0 / (o1 * o2), oy = s0 / o2 % o1, ox = s0 % o2;    \
                        while (s < s1) {                                                        \
                            int64_t run = o2 - ox < s1 - s ? o2 - ox : s1 - s;                  \
                            T *dst = row + (s - s0);                                            \
                            if (tz[oz] < 0 || ty[oy] < 0) {                                     \
                                memset(dst, 0, sizeof(T) * (size_t)run);                        \
                            } else {                                                            \
                                const T *src = xc + (tz[oz] * j->in[1] + ty[oy]) * j->in[2];    \
                                if (xr[0] >= 0)                                                 \
                                    copy_run(dst, src, ox, run, xr, sizeof(T));                 \
                                else                                                            \
                                    for (int64_t i = 0; i < run; i++) {                         \
                                        int64_t ix = tx[ox + i];                                \
                                        dst[i] = ix >= 0 ? src[ix] : (T)0;                      \
                                    }                                                           \
                            }                                                                   \
                            s += run;                                                           \
                            ox = 0;                                                             \
                            if (++oy == o1) oy = 0, oz++;                                       \
                        }                                                                       \
                    }                                                                           \
    }
DEF_IM2COL(im2col_f32, float)
DEF_IM2COL(im2col_f64, double)

/* Work items [begin, end): item = (n * ntiles + tile) * nparts + part. Part p of the
 * channels sums into y (p = 0) or into parts[p - 1]. */
static void conv_items(void *ctx, int64_t begin, int64_t end) {
    conv_job *j = ctx;
    char *col = NULL;
    if (!j->direct) {
        int64_t rows = j->cpart * j->ksz;
        col = malloc(rows > 0 ? (size_t)(rows * j->tile) * j->esz : 1);
        if (!col) {
            atomic_store(&j->oom, true);
            return;
        }
    }
    int64_t ysize = j->n * j->o * j->osz;
    for (int64_t it = begin; it < end; it++) {
        int64_t part = it % j->nparts, rest = it / j->nparts;
        int64_t n = rest / j->ntiles, s0 = rest % j->ntiles * j->tile;
        int64_t s1 = s0 + j->tile < j->osz ? s0 + j->tile : j->osz;
        int64_t c0 = part * j->cpart, nc = j->cg - c0 < j->cpart ? j->cg - c0 : j->cpart;
        char *dst = part == 0 ? j->y : j->parts + (size_t)((part - 1) * ysize) * j->esz;
        for (int64_t g = 0; g < j->groups; g++) {
            const char *xg = j->x + (size_t)((n * j->c + g * j->cg + c0) * j->isz) * j->esz;
            const void *b = xg + (size_t)s0 * j->esz;
            int64_t ldb = j->isz;
            if (!j->direct) {
                if (j->t == JX_F32)
                    im2col_f32(j, (const float *)xg, nc, (float *)col, s0, s1);
                else
                    im2col_f64(j, (const double *)xg, nc, (double *)col, s0, s1);
                b = col;
                ldb = s1 - s0;
            }
            const char *wg = j->w + (size_t)(g * j->og * j->ckk + c0 * j->ksz) * j->esz;
            char *yg = dst + (size_t)((n * j->o + g * j->og) * j->osz + s0) * j->esz;
            jx__cpu_gemm(j->t, false, false, j->og, s1 - s0, nc * j->ksz, wg, j->ckk, b, ldb, yg, j->osz);
        }
    }
    free(col);
}

/* y[i] += parts[0][i] + ... in part order, for i in [begin, end). */
#define DEF_SUM_PARTS(NAME, T)                                                                  \
    static void NAME(void *ctx, int64_t begin, int64_t end) {                                   \
        const conv_job *j = ctx;                                                                \
        int64_t ysize = j->n * j->o * j->osz;                                                   \
        T *y = (T *)j->y;                                                                       \
        for (int64_t p = 1; p < j->nparts; p++) {                                               \
            const T *q = (const T *)j->parts + (p - 1) * ysize;                                 \
            for (int64_t i = begin; i < end; i++) y[i] += q[i];                                 \
        }                                                                                       \
    }
DEF_SUM_PARTS(sum_parts_f32, float)
DEF_SUM_PARTS(sum_parts_f64, double)

enum {
    ITEMS_TARGET = 48,    /* enough work items to keep a large pool busy */
    TILE_MIN = 256,       /* no tile below this many output positions by splitting */
    COL_MAX = 1 << 20,    /* a col buffer holds at most this many elements (when T allows) */
    ITEM_WORK = 1 << 19,  /* no split leaves an item below this many multiply-adds */
    PARTS_MAX = 1 << 24   /* elements of partial sums at most */
};

/* Splits the channels (the GEMM's K) into parts when there are too few (n, tile) items
 * for the pool, as in a kernel gradient (small output, huge K): each part sums into its
 * own copy of y, added in part order afterwards. Shape-only, like the tiles. */
static void choose_parts(conv_job *j) {
    int64_t items = j->n * j->ntiles, ysize = j->n * j->o * j->osz, p = 1;
    if (items < ITEMS_TARGET && j->cg > 1) {
        p = (ITEMS_TARGET + items - 1) / items;
        p = p < j->cg ? p : j->cg;
        double per_channel = (double)j->o * (double)j->tile * (double)j->ksz;
        while (p > 1 && (per_channel * (double)((j->cg + p - 1) / p) < ITEM_WORK ||
                         (double)(p - 1) * (double)ysize > PARTS_MAX))
            p--;
    }
    j->cpart = (j->cg + p - 1) / p;
    j->nparts = j->cpart ? (j->cg + j->cpart - 1) / j->cpart : 1;
}

/* Output positions per work item: all of them, halved while the col buffer is too large
 * or there are too few items for the pool and the items stay big. Shape-only. */
static int64_t choose_tile(const conv_job *j) {
    int64_t t = j->osz;
    double per_pos = (double)j->o * (double)j->ckk; /* multiply-adds per output position */
    while (t > TILE_MIN &&
           ((double)j->ckk * (double)t > COL_MAX ||
            (j->n * ((j->osz + t - 1) / t) < ITEMS_TARGET && per_pos * (double)t >= 2.0 * ITEM_WORK)))
        t = ((t + 1) / 2 + 15) / 16 * 16;
    return t;
}

static jx_status fail_oom(const jx__eqn *e, const jx_aval *xa, const jx_aval *wa) {
    return jx__fail(JX_ERR_NOMEM, e->loc, "conv_general_dilated", "out of memory: %s * %s", jx__avs(xa),
                    jx__avs(wa));
}

/* Fills j's shapes, tables and tiling from the avals and attributes. */
static jx_status conv_job_make(const jx__eqn *e, const jx_aval *xa, const jx_aval *wa, const jx_aval *ya,
                               conv_job *j) {
    memset(j, 0, sizeof *j);
    int nsp = xa->rank - 2;
    static const jx__akey keys[4] = {JX_A_STRIDES, JX_A_LO, JX_A_LHS_DILATION, JX_A_RHS_DILATION};
    jx_ints l[4];
    for (int i = 0; i < 4; i++) {
        l[i] = jx__attr_ints(e->nattr, e->attrs, keys[i]);
        if (l[i].n != nsp)
            return jx__fail(JX_ERR_INTERNAL, e->loc, "conv_general_dilated",
                            "attribute %s has %d entries, expected %d", jx__attr_names[keys[i]], l[i].n, nsp);
    }
    j->t = xa->dtype;
    j->esz = jx_dtype_size(xa->dtype);
    j->n = xa->shape[0];
    j->c = xa->shape[1];
    j->o = wa->shape[0];
    j->cg = wa->shape[1];
    j->groups = jx__attr_int(e->nattr, e->attrs, JX_A_GROUPS, 1);
    if (j->groups < 1 || j->o % j->groups != 0)
        return jx__fail(JX_ERR_INTERNAL, e->loc, "conv_general_dilated", "bad feature groups %lld for %s",
                        (long long)j->groups, jx__avs(wa));
    j->og = j->o / j->groups;
    j->isz = j->ksz = j->osz = 1;
    j->direct = true;
    for (int d = 0; d < 3; d++) {
        int s = d - (3 - nsp); /* the spatial dim, or < 0 for a padding dim */
        j->in[d] = s < 0 ? 1 : xa->shape[2 + s];
        j->k[d] = s < 0 ? 1 : wa->shape[2 + s];
        j->out[d] = s < 0 ? 1 : ya->shape[2 + s];
        j->isz *= j->in[d];
        j->ksz *= j->k[d];
        j->osz *= j->out[d];
        if (s < 0)
            j->tab[d] = jx__conv_tap_table(1, 1, 0, 1, 1, 1, 1);
        else /* strides lo lhs_dilation rhs_dilation */
            j->tab[d] = jx__conv_tap_table(j->in[d], l[2].v[s], l[1].v[s], j->k[d], l[3].v[s], l[0].v[s],
                                           j->out[d]);
        if (!j->tab[d])
            return fail_oom(e, xa, wa);
        bool ident = j->k[d] == 1 && j->out[d] == j->in[d];
        for (int64_t o = 0; ident && o < j->out[d]; o++) ident = j->tab[d][o] == o;
        j->direct = j->direct && ident;
    }
    j->xrun = malloc(sizeof *j->xrun * (size_t)(3 * j->k[2] + 1));
    if (!j->xrun)
        return fail_oom(e, xa, wa);
    find_runs(j->tab[2], j->k[2], j->out[2], j->xrun);
    j->ckk = j->cg * j->ksz;
    j->tile = choose_tile(j);
    j->ntiles = j->tile ? (j->osz + j->tile - 1) / j->tile : 0;
    choose_parts(j);
    if (j->nparts > 1 && !(j->parts = malloc((size_t)((j->nparts - 1) * j->n * j->o * j->osz) * j->esz)))
        return fail_oom(e, xa, wa);
    return JX_OK;
}

static void conv_job_free(conv_job *j) {
    for (int d = 0; d < 3; d++) free(j->tab[d]);
    free(j->xrun);
    free(j->parts);
}

/* Whether the GEMMs of a conv of these avals fit OpenBLAS's int dimensions. */
static bool conv_fits_blas(const jx_aval *xa, const jx_aval *wa, const jx_aval *ya) {
    int64_t isz = 1, osz = 1, ckk = wa->shape[1];
    for (int d = 2; d < xa->rank; d++) {
        isz *= xa->shape[d];
        osz *= ya->shape[d];
        ckk *= wa->shape[d];
    }
    return isz <= JX__BLAS_DIM_MAX && osz <= JX__BLAS_DIM_MAX && ckk <= JX__BLAS_DIM_MAX &&
           wa->shape[0] <= JX__BLAS_DIM_MAX;
}

static bool conv_avals_ok(const jx_aval *xa, const jx_aval *wa) {
    return xa->dtype == wa->dtype && (xa->dtype == JX_F32 || xa->dtype == JX_F64) && xa->rank >= 3 &&
           xa->rank <= 5 && wa->rank == xa->rank;
}

bool jx__cpu_conv_ok(const jx_fn *f, const jx__eqn *e) {
    if (e->prim != JX_PRIM_CONV || e->nin != 2 || e->nout != 1) return false;
    jx_aval xa = jx__atom_aval(f, &e->in[0]), wa = jx__atom_aval(f, &e->in[1]);
    jx_aval ya = f->vars[e->out[0]];
    return conv_avals_ok(&xa, &wa) && conv_fits_blas(&xa, &wa, &ya);
}

/* The GEMM path for operands read and written through strides: x and w copied into
 * row-major buffers, y computed into one and copied out (oneDNN failing at run time on
 * a conv whose transposes the planner handed to it). */
static jx_status conv_gemm_views(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                                 const int64_t (*st)[4], const jx_aval *oav, void *out) {
    const jx_aval *avs[3] = {&av[0], &av[1], oav};
    void *buf[3] = {NULL, NULL, NULL};
    int64_t row[3][JX_MAX_RANK];
    jx_status st_ok = JX_OK;
    for (int a = 0; a < 3 && st_ok == JX_OK; a++) {
        jx__row_strides(avs[a]->rank, avs[a]->shape, row[a]);
        size_t bytes = (size_t)jx_aval_size(avs[a]) * jx_dtype_size(avs[a]->dtype);
        if (!(buf[a] = malloc(bytes ? bytes : 1)))
            st_ok = jx__fail(JX_ERR_NOMEM, e->loc, "conv_general_dilated", "out of memory for %s", jx__avs(avs[a]));
        else if (a < 2)
            jx__strided_copy(avs[a]->rank, avs[a]->shape, jx_dtype_size(avs[a]->dtype), buf[a], 0, row[a], in[a], 0,
                             st[a]);
    }
    if (st_ok == JX_OK) st_ok = jx__cpu_conv_gemm(p, e, av, (const void *const *)buf, oav, buf[2]);
    if (st_ok == JX_OK)
        jx__strided_copy(oav->rank, oav->shape, jx_dtype_size(oav->dtype), out, 0, st[2], buf[2], 0, row[2]);
    for (int a = 0; a < 3; a++) free(buf[a]);
    return st_ok;
}

jx_status jx__cpu_conv(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                       const jx_aval *oav, void *out) {
    return jx__cpu_conv_views(p, e, av, in, NULL, oav, out);
}

jx_status jx__cpu_conv_views(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                             const int64_t (*st)[4], const jx_aval *oav, void *out) {
    if (conv_avals_ok(&av[0], &av[1]) && jx_aval_size(oav) > 0 && jx__jit_dnnl_enabled() &&
        jx__dnnl_conv(p, e, av, in, st, oav, out))
        return JX_OK;
    return st ? conv_gemm_views(p, e, av, in, st, oav, out) : jx__cpu_conv_gemm(p, e, av, in, oav, out);
}

bool jx__cpu_conv_views_ok(const jx_fn *f, const jx__eqn *e, int which) {
    (void)which;
    return jx__jit_dnnl_enabled() && jx__cpu_conv_ok(f, e) && jx__dnnl_conv_ok(f, e);
}

jx_status jx__cpu_conv_gemm(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                            const jx_aval *oav, void *out) {
    if (!conv_avals_ok(&av[0], &av[1]) || !conv_fits_blas(&av[0], &av[1], oav))
        return jx__fail(JX_ERR_UNSUPPORTED, e->loc, "conv_general_dilated", "no GEMM path for %s * %s",
                        jx__avs(&av[0]), jx__avs(&av[1]));
    if (jx_aval_size(oav) == 0) return JX_OK;
    conv_job j;
    jx_status st = conv_job_make(e, &av[0], &av[1], oav, &j);
    if (st != JX_OK) {
        conv_job_free(&j);
        return st;
    }
    jx__cpu_blas_single();
    j.x = in[0];
    j.w = in[1];
    j.y = out;
    atomic_init(&j.oom, false);
    jx__pool_for(p, j.n * j.ntiles * j.nparts, 1, conv_items, &j);
    if (j.nparts > 1 && !atomic_load(&j.oom))
        jx__pool_for(p, jx_aval_size(oav), 1 << 14, j.t == JX_F32 ? sum_parts_f32 : sum_parts_f64, &j);
    conv_job_free(&j);
    if (atomic_load(&j.oom))
        return jx__fail(JX_ERR_NOMEM, e->loc, "conv_general_dilated", "out of memory for im2col of %s * %s",
                        jx__avs(&av[0]), jx__avs(&av[1]));
    return JX_OK;
}
