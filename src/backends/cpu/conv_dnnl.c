/* conv_dnnl.c: f32 2-D convolutions on oneDNN's convolution primitives, tried by
 * jx__cpu_conv before its im2col + GEMM path (conv.c), which keeps whatever this file
 * declines (f64, 1-D and 3-D, feature groups, lhs dilation, negative padding) or fails on.
 *
 * A jx conv y (N,O,Ho,Wo) = x (N,C,H,W) * w (O,C,kh,kw) becomes one of two primitives:
 *  - forward: the conv itself (also the input gradient grad emits for a stride-1 conv,
 *    a forward conv with the flipped kernel);
 *  - backward weights, when w's window is larger than y's (the kernel gradient grad
 *    emits: x' (C,N,H,W) * dy' (O,N,Ho,Wo) -> dw' (C,O,kh,kw)): read as oneDNN's
 *    diff_weights of a conv whose batch is jx's contracted channel dim, whose strides
 *    are jx's rhs dilation and whose dilation is jx's window strides. oneDNN's memory
 *    descriptors take the transposed layouts by strides, so nothing is copied to get
 *    there (its own reorders to the blocked layouts it computes in aside).
 *
 * Determinism: the batch (for backward weights, the contracted batch) is cut into chunks
 * of a size fixed by the shapes alone; each chunk runs on one jx__pool worker with oneDNN
 * single-threaded (OpenMP's thread count set to 1 on that thread for the call), and the
 * kernel-gradient partial sums of the chunks are added in chunk order. Each output is
 * therefore computed by the same primitive with the same inputs whatever the thread
 * count: results are bit-identical run to run and across thread counts, as the GEMM path.
 * Primitives are built once per shape and kept in a process-wide cache (oneDNN's
 * just-in-time code generation costs milliseconds); scratchpads are the caller's. */
#include "blas.h"
#include "../interp/strided.h"

#ifdef JX_HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* libgomp's, declared here: clang has no omp.h without -fopenmp. */
int omp_get_max_threads(void);
void omp_set_num_threads(int n);

enum { FORM_FWD, FORM_WGRAD };
enum { CHUNKS = 16 }; /* batch chunks per conv: enough for a large pool, shape-only */
enum { ARG_A, ARG_B, ARG_OUT, NARGS };

/* The conv as oneDNN sees it, and the strides of jx's arrays in its logical dims. */
typedef struct dkey {
    int form;
    int64_t n, c, o, h, w, kh, kw, ho, wo; /* oneDNN's src (n,c,h,w), weights (o,c,kh,kw) */
    int64_t s[2], d[2], pl[2], pr[2];      /* strides, dilations (0: none), padding */
    int64_t chunk;                         /* batch elements per work item */
    int64_t st[NARGS][4];                  /* jx's strides of src, weights/diff_dst, dst/diff_weights */
} dkey;

/* The primitives for one chunk size. */
typedef struct dsub {
    dnnl_primitive_t conv, reorder[NARGS]; /* reorder: user to primitive layout (out: back) */
    dnnl_memory_desc_t user[NARGS], prim[NARGS], scratch;
    size_t off[NARGS], scratch_off, bytes; /* a work buffer per item: copies and scratchpad */
} dsub;

typedef struct dconv {
    dkey k;
    bool ok;
    dsub sub[2]; /* chunks of k.chunk, then the last one when n % chunk != 0 */
    struct dconv *next;
} dconv;

static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;
static dconv *cache;
static dnnl_engine_t engine;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void) {
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) engine = NULL;
}

static size_t align64(size_t n) { return (n + 63) / 64 * 64; }

/* The memory descriptor of arg (dims d0..d3 with batch mb) in jx's layout. */
static bool user_md(const dkey *k, int arg, int64_t mb, dnnl_memory_desc_t *md) {
    dnnl_dims_t dims, st;
    const int64_t *v = arg == ARG_A                                ? (int64_t[4]){mb, k->c, k->h, k->w}
                       : (arg == ARG_B) == (k->form == FORM_FWD) ? (int64_t[4]){k->o, k->c, k->kh, k->kw}
                                                                   : (int64_t[4]){mb, k->o, k->ho, k->wo};
    for (int i = 0; i < 4; i++) dims[i] = v[i], st[i] = k->st[arg][i];
    return dnnl_memory_desc_init_by_strides(md, 4, dims, dnnl_f32, st) == dnnl_success;
}

static bool any_md(const dnnl_memory_desc_t *u, dnnl_memory_desc_t *md) {
    return dnnl_memory_desc_init_by_tag(md, u->ndims, u->dims, dnnl_f32, dnnl_format_tag_any) == dnnl_success;
}

static dnnl_primitive_attr_t user_scratchpad(void) {
    dnnl_primitive_attr_t a = NULL;
    if (dnnl_primitive_attr_create(&a) != dnnl_success) return NULL;
    dnnl_primitive_attr_set_scratchpad_mode(a, dnnl_scratchpad_mode_user);
    return a;
}

/* A primitive from a primitive descriptor; the descriptor is destroyed. NULL on failure. */
static dnnl_primitive_t make_prim(dnnl_primitive_desc_t pd) {
    dnnl_primitive_t p = NULL;
    if (pd && dnnl_primitive_create(&p, pd) != dnnl_success) p = NULL;
    if (pd) dnnl_primitive_desc_destroy(pd);
    return p;
}

static size_t scratch_size(const_dnnl_primitive_desc_t pd) {
    const dnnl_memory_desc_t *m = dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0);
    return m ? dnnl_memory_desc_get_size(m) : 0;
}

/* Builds s's convolution for batch mb: the primitive, its layouts and the reorders from
 * and to jx's. */
static bool sub_make(const dkey *k, int64_t mb, dsub *s) {
    memset(s, 0, sizeof *s);
    dnnl_memory_desc_t any[NARGS];
    for (int a = 0; a < NARGS; a++)
        if (!user_md(k, a, mb, &s->user[a]) || !any_md(&s->user[a], &any[a])) return false;
    dnnl_dims_t st = {k->s[0], k->s[1]}, di = {k->d[0], k->d[1]}, pl = {k->pl[0], k->pl[1]},
                pr = {k->pr[0], k->pr[1]};
    dnnl_convolution_desc_t fd, bd;
    dnnl_primitive_attr_t attr = user_scratchpad();
    dnnl_primitive_desc_t fpd = NULL, pd = NULL;
    bool fwd = k->form == FORM_FWD;
    const dnnl_memory_desc_t *dst_any = fwd ? &any[ARG_OUT] : &any[ARG_B];
    const dnnl_memory_desc_t *wei_any = fwd ? &any[ARG_B] : &any[ARG_OUT];
    bool ok = attr && dnnl_dilated_convolution_forward_desc_init(&fd, dnnl_forward_training, dnnl_convolution_direct,
                                                         &any[ARG_A], wei_any, NULL, dst_any, st, di, pl,
                                                         pr) == dnnl_success;
    ok = ok && dnnl_primitive_desc_create(&fpd, &fd, fwd ? attr : NULL, engine, NULL) == dnnl_success;
    if (ok && !fwd) {
        ok = dnnl_dilated_convolution_backward_weights_desc_init(&bd, dnnl_convolution_direct, &any[ARG_A], wei_any,
                                                         NULL, dst_any, st, di, pl, pr) == dnnl_success &&
             dnnl_primitive_desc_create(&pd, &bd, attr, engine, fpd) == dnnl_success;
        dnnl_primitive_desc_destroy(fpd);
    } else {
        pd = fpd;
    }
    fpd = NULL;
    static const dnnl_query_t fq[NARGS] = {dnnl_query_src_md, dnnl_query_weights_md, dnnl_query_dst_md};
    static const dnnl_query_t bq[NARGS] = {dnnl_query_src_md, dnnl_query_diff_dst_md,
                                           dnnl_query_diff_weights_md};
    size_t bytes = 0, scratch = 0;
    for (int a = 0; ok && a < NARGS; a++) {
        s->prim[a] = *dnnl_primitive_desc_query_md(pd, (fwd ? fq : bq)[a], 0);
        s->off[a] = bytes;
        if (dnnl_memory_desc_equal(&s->prim[a], &s->user[a])) continue;
        dnnl_primitive_desc_t rpd = NULL;
        const dnnl_memory_desc_t *from = a == ARG_OUT ? &s->prim[a] : &s->user[a];
        const dnnl_memory_desc_t *to = a == ARG_OUT ? &s->user[a] : &s->prim[a];
        ok = dnnl_reorder_primitive_desc_create(&rpd, from, engine, to, engine, attr) == dnnl_success;
        if (ok) {
            size_t r = scratch_size(rpd);
            scratch = r > scratch ? r : scratch;
        }
        ok = ok && (s->reorder[a] = make_prim(rpd)) != NULL;
        bytes += align64(dnnl_memory_desc_get_size(&s->prim[a]));
    }
    if (ok) {
        size_t c = scratch_size(pd);
        scratch = c > scratch ? c : scratch;
        scratch = scratch > 64 ? scratch : 64; /* never an empty descriptor */
        s->scratch_off = bytes;
        s->bytes = bytes + align64(scratch);
        dnnl_dims_t sd = {(int64_t)scratch};
        ok = dnnl_memory_desc_init_by_tag(&s->scratch, 1, sd, dnnl_u8, dnnl_a) == dnnl_success;
    }
    s->conv = ok ? make_prim(pd) : NULL;
    if (!ok && pd) dnnl_primitive_desc_destroy(pd);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return s->conv != NULL;
}

/* The cached primitives for k, built on first use (with oneDNN at one thread, as they
 * run); NULL when oneDNN cannot do this conv. */
static dconv *lookup(const dkey *k) {
    pthread_mutex_lock(&cache_mu);
    dconv *d = cache;
    while (d && memcmp(&d->k, k, sizeof *k) != 0) d = d->next;
    if (!d && (d = calloc(1, sizeof *d))) {
        d->k = *k;
        int saved = omp_get_max_threads();
        omp_set_num_threads(1);
        d->ok = sub_make(k, k->chunk, &d->sub[0]) && (k->n % k->chunk == 0 || sub_make(k, k->n % k->chunk, &d->sub[1]));
        omp_set_num_threads(saved);
        d->next = cache;
        cache = d;
    }
    pthread_mutex_unlock(&cache_mu);
    return d && d->ok ? d : NULL;
}

/* The strides of jx's operand `a` (its own dims) in oneDNN's logical dims: the same
 * order, or for FORM_WGRAD the first two dims swapped. */
static void oriented(int form, const int64_t *st, int64_t *out) {
    bool swap = form == FORM_WGRAD;
    for (int d = 0; d < 4; d++) out[d] = st[swap && d < 2 ? 1 - d : d];
}

/* Maps jx's conv onto oneDNN's parameters; false when this file does not take it.
 * jst: the element strides of x, w and y in their own dims (NULL: row-major). */
static bool key_make(const jx__eqn *e, const jx_aval *xa, const jx_aval *wa, const jx_aval *ya,
                     const int64_t (*jst)[4], dkey *k) {
    if (xa->dtype != JX_F32 || wa->dtype != JX_F32 || xa->rank != 4 || wa->rank != 4) return false;
    if (jx__attr_int(e->nattr, e->attrs, JX_A_GROUPS, 1) != 1) return false;
    jx_ints ws = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES), lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO);
    jx_ints ld = jx__attr_ints(e->nattr, e->attrs, JX_A_LHS_DILATION);
    jx_ints rd = jx__attr_ints(e->nattr, e->attrs, JX_A_RHS_DILATION);
    if (ws.n != 2 || lo.n != 2 || ld.n != 2 || rd.n != 2 || ld.v[0] != 1 || ld.v[1] != 1) return false;
    const int64_t *xs = xa->shape, *wsh = wa->shape, *ys = ya->shape;
    memset(k, 0, sizeof *k);
    k->form = wsh[2] * wsh[3] > ys[2] * ys[3] ? FORM_WGRAD : FORM_FWD;
    for (int i = 0; i < 2; i++) {
        int64_t in = xs[2 + i], kj = wsh[2 + i], out = ys[2 + i];
        if (k->form == FORM_FWD) { /* window stride, kernel dilation, output size as jx's */
            k->s[i] = ws.v[i], k->d[i] = rd.v[i] - 1;
            k->pr[i] = (out - 1) * ws.v[i] + (kj - 1) * rd.v[i] + 1 - in - lo.v[i];
        } else { /* jx's kernel is the output gradient, jx's output the kernel's gradient */
            k->s[i] = rd.v[i], k->d[i] = ws.v[i] - 1;
            k->pr[i] = (kj - 1) * rd.v[i] + (out - 1) * ws.v[i] + 1 - in - lo.v[i];
        }
        k->pl[i] = lo.v[i];
        if (k->pl[i] < 0 || k->pr[i] < 0) return false;
    }
    k->h = xs[2], k->w = xs[3];
    if (k->form == FORM_FWD) {
        k->n = xs[0], k->c = xs[1], k->o = wsh[0];
        k->kh = wsh[2], k->kw = wsh[3], k->ho = ys[2], k->wo = ys[3];
    } else { /* x (C,N,H,W), w = dy (O,N,Ho,Wo), y = dw (C,O,kh,kw) */
        k->n = xs[1], k->c = xs[0], k->o = wsh[0];
        k->kh = ys[2], k->kw = ys[3], k->ho = wsh[2], k->wo = wsh[3];
    }
    const jx_aval *avs[NARGS] = {xa, wa, ya};
    for (int a = 0; a < NARGS; a++) {
        int64_t row[4];
        jx__row_strides(4, avs[a]->shape, row);
        oriented(k->form, jst ? jst[a] : row, k->st[a]);
    }
    k->chunk = k->n < CHUNKS ? 1 : (k->n + CHUNKS - 1) / CHUNKS;
    return k->n > 0 && k->c > 0 && k->o > 0;
}

typedef struct djob {
    const dconv *d;
    const float *x, *w;
    float *y, *parts; /* parts: the kernel gradient of chunks 1.. (FORM_WGRAD) */
    atomic_bool failed;
} djob;

static bool exec_arg(dnnl_primitive_t p, dnnl_stream_t s, int n, const int *kinds, const dnnl_memory_desc_t *const *md,
                     void *const *ptr) {
    dnnl_memory_t m[4] = {0};
    dnnl_exec_arg_t args[4];
    bool ok = true;
    for (int i = 0; i < n; i++) {
        ok = ok && dnnl_memory_create(&m[i], md[i], engine, ptr[i]) == dnnl_success;
        args[i] = (dnnl_exec_arg_t){kinds[i], m[i]};
    }
    ok = ok && dnnl_primitive_execute(p, s, n, args) == dnnl_success && dnnl_stream_wait(s) == dnnl_success;
    for (int i = 0; i < n; i++)
        if (m[i]) dnnl_memory_destroy(m[i]);
    return ok;
}

/* Chunk i: the user arrays' addresses for its batch elements. */
static void chunk_ptrs(const djob *j, int64_t i, void **user) {
    const dkey *k = &j->d->k;
    int64_t n0 = i * k->chunk;
    user[ARG_A] = (void *)(j->x + n0 * k->st[ARG_A][0]);
    if (k->form == FORM_FWD) {
        user[ARG_B] = (void *)j->w;
        user[ARG_OUT] = j->y + n0 * k->st[ARG_OUT][0];
    } else {
        user[ARG_B] = (void *)(j->w + n0 * k->st[ARG_B][0]);
        user[ARG_OUT] = i == 0 ? j->y : j->parts + (i - 1) * k->o * k->c * k->kh * k->kw;
    }
}

static bool run_chunk(const djob *j, int64_t i, dnnl_stream_t s) {
    const dkey *k = &j->d->k;
    const dsub *sub = &j->d->sub[(i + 1) * k->chunk > k->n];
    void *user[NARGS], *prim[NARGS];
    chunk_ptrs(j, i, user);
    char *buf = sub->bytes ? aligned_alloc(64, sub->bytes) : NULL;
    if (sub->bytes && !buf) return false;
    bool ok = true;
    for (int a = 0; a < NARGS; a++) prim[a] = sub->reorder[a] ? buf + sub->off[a] : user[a];
    for (int a = ARG_A; ok && a < ARG_OUT; a++)
        if (sub->reorder[a])
            ok = exec_arg(sub->reorder[a], s, 3, (int[]){DNNL_ARG_FROM, DNNL_ARG_TO, DNNL_ARG_SCRATCHPAD},
                          (const dnnl_memory_desc_t *[]){&sub->user[a], &sub->prim[a], &sub->scratch},
                          (void *[]){user[a], prim[a], buf + sub->scratch_off});
    bool fwd = k->form == FORM_FWD;
    int kinds[4] = {DNNL_ARG_SRC, fwd ? DNNL_ARG_WEIGHTS : DNNL_ARG_DIFF_DST,
                    fwd ? DNNL_ARG_DST : DNNL_ARG_DIFF_WEIGHTS, DNNL_ARG_SCRATCHPAD};
    ok = ok && exec_arg(sub->conv, s, 4, kinds,
                        (const dnnl_memory_desc_t *[]){&sub->prim[0], &sub->prim[1], &sub->prim[2], &sub->scratch},
                        (void *[]){prim[0], prim[1], prim[2], buf + sub->scratch_off});
    if (ok && sub->reorder[ARG_OUT])
        ok = exec_arg(sub->reorder[ARG_OUT], s, 3, (int[]){DNNL_ARG_FROM, DNNL_ARG_TO, DNNL_ARG_SCRATCHPAD},
                      (const dnnl_memory_desc_t *[]){&sub->prim[ARG_OUT], &sub->user[ARG_OUT], &sub->scratch},
                      (void *[]){prim[ARG_OUT], user[ARG_OUT], buf + sub->scratch_off});
    free(buf);
    return ok;
}

static void chunks(void *ctx, int64_t begin, int64_t end) {
    djob *j = ctx;
    dnnl_stream_t s = NULL;
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    bool ok = dnnl_stream_create(&s, engine, dnnl_stream_default_flags) == dnnl_success;
    for (int64_t i = begin; ok && i < end; i++) ok = run_chunk(j, i, s);
    if (s) dnnl_stream_destroy(s);
    omp_set_num_threads(saved);
    if (!ok) atomic_store(&j->failed, true);
}

/* y += parts[0] + parts[1] + ... in chunk order over elements [begin, end). */
static void sum_parts(void *ctx, int64_t begin, int64_t end) {
    const djob *j = ctx;
    const dkey *k = &j->d->k;
    int64_t size = k->o * k->c * k->kh * k->kw, nchunks = (k->n + k->chunk - 1) / k->chunk;
    for (int64_t p = 1; p < nchunks; p++) {
        const float *q = j->parts + (p - 1) * size;
        for (int64_t i = begin; i < end; i++) j->y[i] += q[i];
    }
}

bool jx__dnnl_built(void) { return true; }

bool jx__dnnl_conv_ok(const jx_fn *f, const jx__eqn *e) {
    if (e->prim != JX_PRIM_CONV || e->nin != 2 || e->nout != 1) return false;
    jx_aval xa = jx__atom_aval(f, &e->in[0]), wa = jx__atom_aval(f, &e->in[1]);
    dkey k;
    return key_make(e, &xa, &wa, &f->vars[e->out[0]], NULL, &k);
}

bool jx__dnnl_conv(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                   const int64_t (*st)[4], const jx_aval *oav, void *out) {
    dkey k;
    if (!key_make(e, &av[0], &av[1], oav, st, &k)) return false;
    pthread_once(&engine_once, engine_init);
    const dconv *d = engine ? lookup(&k) : NULL;
    if (!d) return false;
    int64_t nchunks = (k.n + k.chunk - 1) / k.chunk, size = k.o * k.c * k.kh * k.kw;
    djob j = {d, in[0], in[1], out, NULL, false};
    if (k.form == FORM_WGRAD && nchunks > 1 && !(j.parts = malloc(sizeof(float) * (size_t)(size * (nchunks - 1)))))
        return false;
    atomic_init(&j.failed, false);
    jx__pool_for(p, nchunks, 1, chunks, &j);
    if (j.parts && !atomic_load(&j.failed)) jx__pool_for(p, size, 1 << 14, sum_parts, &j);
    free(j.parts);
    return !atomic_load(&j.failed);
}

#else /* !JX_HAVE_DNNL */

bool jx__dnnl_built(void) { return false; }

bool jx__dnnl_conv_ok(const jx_fn *f, const jx__eqn *e) {
    (void)f, (void)e;
    return false;
}

bool jx__dnnl_conv(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                   const int64_t (*st)[4], const jx_aval *oav, void *out) {
    (void)p, (void)e, (void)av, (void)in, (void)st, (void)oav, (void)out;
    return false;
}

#endif
