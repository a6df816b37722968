/* test_cuda_conv.c: convolutions on cuDNN (src/backends/cuda/conv.c) over the fake driver
 * and its fake cuDNN (fake_cudnn.c), which computes the conv its descriptors describe.
 * Each conv cuDNN can express (strides, padding, rhs dilation, feature groups, 1-D, 3-D,
 * f64, the kernel-gradient form with a kernel as large as the image) runs as one
 * cudnnConvolutionForward and matches the interpreter; padding cuDNN cannot express and
 * lhs dilation become a pad kernel and a conv cuDNN takes (src/jit/lower_conv.c; the
 * rewrite's values checked on the CPU, as the fake runs no generated kernel); f32 convs use FMA math (no TF32) unless
 * JX_MATMUL_TF32 is asked for; a program of convs given device arrays is captured as a
 * CUDA graph and replayed; the convs grad emits all go to cuDNN, and
 * a CNN block's training step (conv, relu, a 2x2 or an overlapping 3x3 max pool, their
 * gradients: the pooling lowered to loop kernels, src/jit/lower_window.c) runs with no
 * step on the host. */
#define _POSIX_C_SOURCE 200809L

#include "../../src/backends/cuda/cuda.h"
#include "../../src/jit/plan.h"
#include "../../src/trace/ir.h"
#include "fake_load.h"
#include "harness.h"
#include "rel_err.h"

static jxfake_stats *fk;

static jx_array *filled(jx_dtype t, jx_ints shape, int seed) {
    jx_array *a = jx_array_zeros(t, shape);
    for (int64_t i = 0; i < jx_array_size(a); i++) {
        double v = (double)(((i * 7 + seed * 5) % 13) - 6) / 8 + 0x1p-12 * (double)(i % 5);
        if (t == JX_F64) ((double *)jx_array_data_mut(a))[i] = v;
        else ((float *)jx_array_data_mut(a))[i] = (float)v;
    }
    return a;
}


typedef struct conv_case {
    const char *what;
    jx_dtype t;
    int rank;
    int64_t x[5], w[5];
    int64_t stride[3], lo[3], hi[3], lhs[3], rhs[3], groups;
    bool padded; /* cuDNN takes it after a pad kernel (lower_conv.c) */
} conv_case;

static void conv_body(jx_val *out, const jx_val *in, void *u) {
    const conv_case *c = u;
    int n = c->rank - 2;
    jx_conv_opts o = {{c->stride, n}, {c->lo, n}, {c->hi, n}, {c->lhs, n}, {c->rhs, n}, c->groups};
    out[0] = jx_conv(in[0], in[1], &o);
}

static long convs(void) { return fk->convs + fk->convs_replayed; }

/* Runs case c on CUDA with device operands against the interpreter; the error (which
 * means nothing for a padded case: the fake runs no generated kernel, the pad). */
static double run_case(const conv_case *c, const jx_jit_opts *opts, long *ran) {
    jx_ints xs = {c->x, c->rank}, ws = {c->w, c->rank};
    jx_aval av[2] = {jx_aval_make(c->t, xs), jx_aval_make(c->t, ws)};
    jx_fn *f = jx_trace(c->what, conv_body, (void *)c, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, opts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *host[2] = {filled(c->t, xs, 1), filled(c->t, ws, 2)}, *dev[2], *got = NULL, *want = NULL;
    for (int i = 0; i < 2; i++) CU_ASSERT_PTR_NOT_NULL_FATAL(dev[i] = jx_array_to(host[i], JX_DEVICE_CUDA));
    long before = convs();
    jx_status st = jx_exec_run(x, 2, dev, 1, &got);
    if (st != JX_OK) fprintf(stderr, "\n  %s: %s\n", c->what, jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, JX_OK);
    *ran = convs() - before;
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, 2, host, 1, &want), JX_OK);
    double e = rel_err(got, want);
    jx_array_release(got), jx_array_release(want);
    for (int i = 0; i < 2; i++) jx_array_release(host[i]), jx_array_release(dev[i]);
    jx_exec_release(x);
    jx_fn_release(f);
    return e;
}

static const conv_case cases[] = {
    {"2-D, SAME, stride 1", JX_F32, 4, {2, 3, 7, 7}, {4, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, false},
    {"2-D, VALID, stride 2", JX_F32, 4, {2, 3, 9, 9}, {4, 3, 3, 3}, {2, 2}, {0, 0}, {0, 0}, {1, 1}, {1, 1}, 1, false},
    {"2-D, rhs dilation 2", JX_F32, 4, {1, 2, 9, 8}, {3, 2, 3, 3}, {1, 1}, {2, 2}, {2, 2}, {1, 1}, {2, 2}, 1, false},
    {"2-D, 2 feature groups", JX_F32, 4, {2, 4, 6, 6}, {6, 2, 3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 2, false},
    {"2-D, stride 2, low padding over high", JX_F32, 4, {1, 2, 8, 8}, {2, 2, 3, 3}, {2, 2}, {1, 1}, {0, 0}, {1, 1},
     {1, 1}, 1, false},
    {"2-D, kernel-gradient form", JX_F32, 4, {3, 2, 7, 7}, {4, 2, 7, 7}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1,
     false},
    {"1-D", JX_F32, 3, {2, 3, 10}, {4, 3, 3}, {1}, {1}, {1}, {1}, {1}, 1, false},
    {"3-D", JX_F32, 5, {1, 2, 5, 5, 5}, {3, 2, 3, 3, 3}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, 1, false},
    {"2-D f64", JX_F64, 4, {2, 3, 6, 6}, {2, 3, 3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 1, false},
    /* cuDNN pads both sides alike and dilates no input: a pad kernel first */
    {"2-D, stride 2, SAME on an even size", JX_F32, 4, {1, 2, 8, 8}, {2, 2, 3, 3}, {2, 2}, {0, 0}, {1, 1}, {1, 1},
     {1, 1}, 1, true},
    {"2-D, lhs dilation 2", JX_F32, 4, {1, 2, 4, 4}, {2, 2, 3, 3}, {1, 1}, {2, 2}, {2, 2}, {2, 2}, {1, 1}, 1, true},
    {"2-D, lhs dilation 2, cropped", JX_F32, 4, {1, 2, 5, 5}, {2, 2, 3, 3}, {1, 1}, {-1, 0}, {1, -1}, {2, 2}, {1, 1}, 1,
     true},
    {"1-D, lhs dilation 3, stride 2", JX_F64, 3, {2, 2, 6}, {3, 2, 2}, {2}, {1}, {2}, {3}, {1}, 1, true},
};

static void test_cases(void) {
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        long ran = -1;
        double e = run_case(&cases[i], NULL, &ran);
        bool bad = ran != 1 || (!cases[i].padded && e > 1e-5);
        if (bad) fprintf(stderr, "\n  %s: error %g, %ld cuDNN convs", cases[i].what, e, ran);
        CU_ASSERT_FALSE(bad);
        CU_ASSERT_EQUAL(fk->last_conv_math, cases[i].t == JX_F32 ? 3 : 0); /* FMA: no TF32 */
    }
}

/* The padded cases as the CUDA jit rewrites them (lower_conv.c): every conv left is one
 * cuDNN takes, and the rewrite computes the conv, through the interpreter and through
 * the CPU jit (the pad a loop kernel there). */
static void test_explicit_pads(void) {
    int n = 0;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const conv_case *c = &cases[i];
        if (!c->padded) continue;
        jx_ints xs = {c->x, c->rank}, ws = {c->w, c->rank};
        jx_aval av[2] = {jx_aval_make(c->t, xs), jx_aval_make(c->t, ws)};
        jx_fn *f = jx_trace(c->what, conv_body, (void *)c, 2, av, 1);
        jx_fn *g = f ? jx__jit_prepare(jx__noloc, f, &jx__cuda_backend) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        int ncv = 0, nok = 0;
        for (int k = 0; k < g->neqn; k++) {
            ncv += g->eqns[k].prim == JX_PRIM_CONV;
            nok += g->eqns[k].prim == JX_PRIM_CONV && jx__cuda_conv_ok(g, &g->eqns[k]);
        }
        CU_ASSERT_TRUE(ncv == 1 && nok == 1);
        jx_array *in[2] = {filled(c->t, xs, 1), filled(c->t, ws, 2)}, *want = NULL, *ev = NULL, *got = NULL;
        jx_exec *x = jx_jit(g, JX_DEVICE_CPU, NULL);
        CU_ASSERT_FATAL(jx_eval(f, 2, in, 1, &want) == JX_OK && jx_eval(g, 2, in, 1, &ev) == JX_OK);
        CU_ASSERT_FATAL(x && jx_exec_run(x, 2, in, 1, &got) == JX_OK);
        double e = rel_err(ev, want), ej = rel_err(got, want);
        if (e > 1e-6 || ej > 1e-5) fprintf(stderr, "\n  %s: lowered %g, its CPU jit %g", c->what, e, ej);
        CU_ASSERT_TRUE(e <= 1e-6 && ej <= 1e-5);
        n++;
        jx_array_release(want), jx_array_release(ev), jx_array_release(got);
        jx_array_release(in[0]), jx_array_release(in[1]);
        jx_exec_release(x);
        jx_fn_release(g), jx_fn_release(f);
    }
    CU_ASSERT_EQUAL(n, 4);
}

static void test_tf32(void) {
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.matmul_precision = JX_MATMUL_TF32;
    conv_case c = cases[0];
    c.what = "2-D, TF32";
    long ran = 0;
    double e = run_case(&c, &o, &ran);
    CU_ASSERT_EQUAL(ran, 1);
    CU_ASSERT_EQUAL(fk->last_conv_math, 0); /* CUDNN_DEFAULT_MATH: tensor cores may round to TF32 */
    CU_ASSERT_TRUE(e > 1e-6 && e < 2e-3);
}

static void two_convs(jx_val *out, const jx_val *in, void *u) {
    jx_conv_opts o = {.pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1)};
    out[0] = jx_conv(jx_conv(in[0], in[1], &o), in[2], &o);
}

/* All steps on cuDNN: captured once, replayed after, the workspace the graph's own. */
static void test_graph(void) {
    jx_aval av[3] = {JX_AVAL(JX_F32, 2, 3, 6, 6), JX_AVAL(JX_F32, 4, 3, 3, 3), JX_AVAL(JX_F32, 2, 4, 3, 3)};
    jx_fn *f = jx_trace("two_convs", two_convs, NULL, 3, av, 1);
    jx_exec *x = f ? jx_jit(f, JX_DEVICE_CUDA, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *host[3], *dev[3], *want = NULL;
    for (int i = 0; i < 3; i++) {
        host[i] = filled(JX_F32, (jx_ints){av[i].shape, av[i].rank}, i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(dev[i] = jx_array_to(host[i], JX_DEVICE_CUDA));
    }
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, 3, host, 1, &want), JX_OK);
    long cap = fk->captures_ended, direct = fk->convs, replayed = fk->convs_replayed;
    for (int run = 0; run < 3; run++) {
        jx_array *got = NULL;
        CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 3, dev, 1, &got), JX_OK);
        CU_ASSERT_TRUE(rel_err(got, want) <= 1e-5);
        jx_array_release(got);
    }
    CU_ASSERT_EQUAL(fk->captures_ended - cap, 1);
    CU_ASSERT_EQUAL(fk->convs - direct, 0);
    CU_ASSERT_EQUAL(fk->convs_replayed - replayed, 6);
    CU_ASSERT_EQUAL(fk->capture_violations, 0);
    jx_array *got = NULL; /* host inputs: step by step */
    CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 3, host, 1, &got), JX_OK);
    CU_ASSERT_TRUE(rel_err(got, want) <= 1e-5);
    CU_ASSERT_EQUAL(fk->convs - direct, 2);
    jx_array_release(got), jx_array_release(want);
    for (int i = 0; i < 3; i++) jx_array_release(host[i]), jx_array_release(dev[i]);
    jx_exec_release(x);
    jx_fn_release(f);
}

/* The backward pass of a conv: which of grad's convs run on cuDNN (counted; the fake
 * runs no generated kernel, so the values of the flips and transposes around them are
 * not checked here: test_cuda_run does on a GPU). */
static long vjp_convs(int64_t stride, long *bwd, long *filter) {
    conv_case c = cases[0];
    c.stride[0] = c.stride[1] = stride;
    c.hi[0] = c.hi[1] = 1; /* 7x7: 7x7 at stride 1, 4x4 at stride 2 (cuDNN's count too) */
    jx_aval av[2] = {jx_aval_make(JX_F32, (jx_ints){c.x, 4}), jx_aval_make(JX_F32, (jx_ints){c.w, 4})};
    jx_fn *f = jx_trace("conv", conv_body, &c, 2, av, 1), *b = f ? jx_vjp(f) : NULL;
    jx_exec *x = b ? jx_jit(b, JX_DEVICE_CUDA, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *in[3], *out[3] = {NULL};
    for (int i = 0; i < 3; i++) in[i] = filled(JX_F32, (jx_ints){b->vars[b->in[i]].shape, b->vars[b->in[i]].rank}, i);
    long before = convs(), bwd0 = fk->convs_bwd_data, filter0 = fk->convs_bwd_filter;
    CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 3, in, 3, out), JX_OK);
    long n = convs() - before;
    *bwd = fk->convs_bwd_data - bwd0, *filter = fk->convs_bwd_filter - filter0;
    for (int i = 0; i < 3; i++) jx_array_release(in[i]), jx_array_release(out[i]);
    jx_exec_release(x);
    jx_fn_release(b), jx_fn_release(f);
    return n;
}

static void test_grad_convs(void) {
    long bwd = 0, filter = 0;
    /* the conv, its input gradient (cuDNN's backward data of w), its kernel gradient (backward filter) */
    CU_ASSERT_EQUAL(vjp_convs(1, &bwd, &filter), 3);
    CU_ASSERT_EQUAL(bwd, 1);
    CU_ASSERT_EQUAL(filter, 1);
    CU_ASSERT_EQUAL(vjp_convs(2, &bwd, &filter), 3); /* the input gradient lhs-dilated: backward data, no pad kernel */
    CU_ASSERT_EQUAL(bwd, 1);
    CU_ASSERT_EQUAL(filter, 1);
}

/* Runs f (two operands of avals av, one result) on CUDA: one cuDNN call counted by
 * *counter, no kernel, the interpreter's values. */
static void one_call(jx_fn *f, const jx_aval *av, const long *counter) {
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_dtype t = av[0].dtype;
    jx_array *host[2] = {filled(t, (jx_ints){av[0].shape, 4}, 1), filled(t, (jx_ints){av[1].shape, 4}, 2)};
    jx_array *got = NULL, *want = NULL;
    long calls = *counter, launches = fk->launches + fk->launches_replayed;
    CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, host, 1, &got), JX_OK);
    CU_ASSERT_EQUAL(*counter - calls, 1);
    CU_ASSERT_EQUAL(fk->launches + fk->launches_replayed - launches, 0);
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, 2, host, 1, &want), JX_OK);
    double e = rel_err(got, want), tol = t == JX_F64 ? 1e-14 : 1e-6;
    if (!(e <= tol)) fprintf(stderr, "\n  %s: relative error %g\n", f->name, e);
    CU_ASSERT(e <= tol);
    jx_array_release(got), jx_array_release(want), jx_array_release(host[0]), jx_array_release(host[1]);
    jx_exec_release(x);
}

/* A kernel gradient as grad writes it, transpose(conv(transpose(x), transpose(dy))) with
 * the forward stride as the rhs dilation and the forward's rhs dilation as the strides:
 * the three transposes join the conv's group and cuDNN's backward filter reads x and dy
 * through strides and writes dw packed; no kernel, values the interpreter's. */
typedef struct filter_case {
    const char *what;
    jx_dtype t;
    int64_t n, c, o, h, ho, k, s, d, pad;
} filter_case;

static void filter_body(jx_val *out, const jx_val *in, void *u) {
    const filter_case *c = u;
    jx_conv_opts o = {.strides = JX_INTS(c->d, c->d), .pad_lo = JX_INTS(c->pad, c->pad),
                      .pad_hi = JX_INTS(c->pad, c->pad), .rhs_dilation = JX_INTS(c->s, c->s)};
    jx_val g = jx_conv(jx_transpose(in[0], JX_INTS(1, 0, 2, 3)), jx_transpose(in[1], JX_INTS(1, 0, 2, 3)), &o);
    out[0] = jx_transpose(g, JX_INTS(1, 0, 2, 3));
}

static void test_bwd_filter(void) {
    static const filter_case fcases[] = {
        {"stride 1, pad 1", JX_F32, 2, 3, 4, 7, 7, 3, 1, 1, 1},
        {"stride 2, pad 1", JX_F32, 2, 3, 4, 9, 5, 3, 2, 1, 1},
        {"stride 2, pad 1, f64", JX_F64, 1, 2, 3, 9, 5, 3, 2, 1, 1},
        {"rhs dilation 2, pad 2", JX_F32, 2, 2, 3, 7, 7, 3, 1, 2, 2},
    };
    for (size_t i = 0; i < sizeof fcases / sizeof fcases[0]; i++) {
        const filter_case *c = &fcases[i];
        jx_aval av[2] = {JX_AVAL(c->t, c->n, c->c, c->h, c->h), JX_AVAL(c->t, c->n, c->o, c->ho, c->ho)};
        jx_fn *f = jx_trace(c->what, filter_body, (void *)c, 2, av, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(f->vars[f->out[0].var].shape[2], c->k);
        jx__prog *p = jx__prog_build(f, true, &jx__cuda_backend, NULL, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        CU_ASSERT_EQUAL(p->nsteps, 1);
        CU_ASSERT(p->steps[0].kind == JX__G_CONV && p->steps[0].g->neqn == 4);
        jx__prog_free(p);
        one_call(f, av, &fk->convs_bwd_filter);
        jx_fn_release(f);
    }
}

/* An input gradient as grad writes it, conv(dy, rev(transpose(w)), lhs dilation s): the
 * rev and the transpose join the conv's group and cuDNN's backward data reads w itself,
 * skipping the dilation's zeros; no kernel, values the interpreter's. A forward conv that
 * pads one side more (stride 2 "SAME" of an even size) has no backward data of its
 * shape: its gradient keeps the pad kernel (the padded conv after it is one cuDNN's
 * backward data takes at stride 1). */
typedef struct bwd_case {
    const char *what;
    jx_dtype t;
    int64_t n, o, c, h, ho, k, s, d, lo, hi;
    bool taken;
} bwd_case;

static void bwd_body(jx_val *out, const jx_val *in, void *u) {
    const bwd_case *b = u;
    jx_val w = jx_rev(jx_transpose(in[1], JX_INTS(1, 0, 2, 3)), JX_INTS(2, 3));
    jx_conv_opts o = {.pad_lo = JX_INTS(b->lo, b->lo), .pad_hi = JX_INTS(b->hi, b->hi),
                      .lhs_dilation = JX_INTS(b->s, b->s), .rhs_dilation = JX_INTS(b->d, b->d)};
    out[0] = jx_conv(in[0], w, &o);
}

static void test_bwd_data(void) {
    static const bwd_case bcases[] = {
        {"stride 2, pad 1, 9x9", JX_F32, 2, 4, 3, 9, 5, 3, 2, 1, 1, 1, true},
        {"stride 2, pad 1, 9x9, f64", JX_F64, 1, 2, 3, 9, 5, 3, 2, 1, 1, 1, true},
        {"stride 1, rhs dilation 2, pad 2", JX_F32, 2, 3, 2, 7, 7, 3, 1, 2, 2, 2, true},
        {"stride 3, 2x2, no pad", JX_F32, 1, 2, 2, 8, 3, 2, 3, 1, 1, 1, true},
        {"stride 2 SAME of an even size", JX_F32, 1, 2, 2, 8, 4, 3, 2, 1, 2, 1, false},
    };
    for (size_t i = 0; i < sizeof bcases / sizeof bcases[0]; i++) {
        const bwd_case *b = &bcases[i];
        jx_aval av[2] = {JX_AVAL(b->t, b->n, b->o, b->ho, b->ho), JX_AVAL(b->t, b->o, b->c, b->k, b->k)};
        jx_fn *f = jx_trace(b->what, bwd_body, (void *)b, 2, av, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(f->vars[f->out[0].var].shape[2], b->h);
        jx_fn *g = jx__jit_prepare(jx__noloc, f, &jx__cuda_backend);
        jx__prog *p = g ? jx__prog_build(g, true, &jx__cuda_backend, NULL, NULL) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        if (b->taken) {
            CU_ASSERT_EQUAL(p->nsteps, 1);
            CU_ASSERT(p->steps[0].kind == JX__G_CONV && p->steps[0].view && p->steps[0].view->bwd_data);
        } else {
            CU_ASSERT_EQUAL(p->nsteps, 2); /* the pad a kernel (lower_conv.c), then the conv */
            CU_ASSERT(p->steps[0].g->kind == JX__G_LOOP && p->steps[1].kind == JX__G_CONV);
        }
        jx__prog_free(p);
        jx_fn_release(g);
        if (b->taken) one_call(f, av, &fk->convs_bwd_data);
        jx_fn_release(f);
    }
}

/* A max pool's window, stride and padding (per spatial dim). */
typedef struct pool_case {
    int64_t win, stride, pad;
} pool_case;

static void cnn_block(jx_val *out, const jx_val *in, void *u) {
    const pool_case *pc = u;
    jx_conv_opts o = {.pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1)};
    jx_val h = jx_relu(jx_conv(in[0], in[1], &o));
    jx_val p = jx_reduce_window(h, JX_WINDOW_MAX, JX_INTS(1, 1, pc->win, pc->win),
                                JX_INTS(1, 1, pc->stride, pc->stride), JX_INTS(0, 0, pc->pad, pc->pad),
                                JX_INTS(0, 0, pc->pad, pc->pad));
    out[0] = jx_sum(jx_mul(p, p), JX_NOINTS);
}

/* A CNN block's gradient on the device: captured as one graph, so no step of it (conv,
 * pooling, their gradients) runs on the host; with a 2x2 pool of stride 2 (mnist_cnn's)
 * and a padded 3x3 pool of stride 2 (overlapping windows: a ResNet stem's). (The fake
 * runs no generated kernel, so the values are test_cuda_run's to check on a GPU, and
 * test_jit_window's to check through the CPU.) */
static void cnn_step_on_device(pool_case pc) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 2, 3, 8, 8), JX_AVAL(JX_F32, 4, 3, 3, 3)};
    jx_fn *f = jx_trace("cnn_block", cnn_block, &pc, 2, av, 1);
    jx_fn *g = f ? jx_value_and_grad(f, JX_INTS(0, 1)) : NULL;
    jx_exec *x = g ? jx_jit(g, JX_DEVICE_CUDA, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *dev[2], *out[3] = {NULL};
    for (int i = 0; i < 2; i++) {
        jx_array *h = filled(JX_F32, (jx_ints){av[i].shape, av[i].rank}, i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(dev[i] = jx_array_to(h, JX_DEVICE_CUDA));
        jx_array_release(h);
    }
    long cap = fk->captures_ended, host = fk->copies_to_host, before = convs();
    CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, dev, 3, out), JX_OK);
    CU_ASSERT_EQUAL(fk->captures_ended - cap, 1);
    CU_ASSERT_EQUAL(fk->copies_to_host - host, 0);
    CU_ASSERT_EQUAL(convs() - before, 3);
    CU_ASSERT_EQUAL(fk->capture_violations, 0);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(jx_array_device(out[i]), JX_DEVICE_CUDA);
        jx_array_release(out[i]);
    }
    for (int i = 0; i < 2; i++) jx_array_release(dev[i]);
    jx_exec_release(x);
    jx_fn_release(g), jx_fn_release(f);
}

/* An NHWC layer's conv: the transposes around the core's NCHW conv, of the image and of
 * the result, are read and written by cuDNN through strides (conv_views_ok: fusion puts
 * them in the conv's group); the filter comes as OIHW (cuDNN's filters take no strides,
 * so an HWIO filter's transpose stays a kernel, which the fake would not run). */
static void nhwc_body(jx_val *out, const jx_val *in, void *u) {
    jx_conv_opts o = {.pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1)};
    jx_val x = jx_transpose(in[0], JX_INTS(0, 3, 1, 2));
    out[0] = jx_transpose(jx_conv(x, in[1], &o), JX_INTS(0, 2, 3, 1));
}

static void test_nhwc_views(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 2, 7, 6, 3), JX_AVAL(JX_F32, 4, 3, 3, 3)};
    jx_fn *f = jx_trace("nhwc", nhwc_body, NULL, 2, av, 1);
    jx_fn *g = f ? jx__jit_prepare(jx__noloc, f, &jx__cuda_backend) : NULL;
    jx__prog *p = g ? jx__prog_build(g, true, &jx__cuda_backend, NULL, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nsteps, 1); /* one CONV step, both transposes in it */
    CU_ASSERT(p->steps[0].kind == JX__G_CONV && p->steps[0].g->neqn == 3 && p->steps[0].view);
    jx__prog_free(p);
    jx_fn_release(g);
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *host[2] = {filled(JX_F32, JX_INTS(2, 7, 6, 3), 1), filled(JX_F32, JX_INTS(4, 3, 3, 3), 2)}, *dev[2];
    for (int i = 0; i < 2; i++) CU_ASSERT_PTR_NOT_NULL_FATAL(dev[i] = jx_array_to(host[i], JX_DEVICE_CUDA));
    jx_array *got = NULL, *want = NULL;
    long before = convs(), launches = fk->launches + fk->launches_replayed;
    CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, dev, 1, &got), JX_OK);
    CU_ASSERT_EQUAL(convs() - before, 1);
    CU_ASSERT_EQUAL(fk->launches + fk->launches_replayed - launches, 0); /* no transpose kernel */
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, 2, host, 1, &want), JX_OK);
    CU_ASSERT(rel_err(got, want) < 1e-5);
    jx_array_release(got), jx_array_release(want);
    for (int i = 0; i < 2; i++) jx_array_release(host[i]), jx_array_release(dev[i]);
    jx_exec_release(x);
    jx_fn_release(f);
}

static void test_cnn_step_on_device(void) {
    cnn_step_on_device((pool_case){2, 2, 0});
    cnn_step_on_device((pool_case){3, 2, 1});
}

/* Gradients where the kernel is not a plain rev(transpose(w)): a strided NHWC layer behind
 * a checkpoint (its HWIO->OIHW transpose folded into grad's (1,0,2,3): no backward data,
 * so a pad and a forward conv) and a kernel shared by two strided convs (one flipped
 * kernel read twice). Every conv of the program is one cuDNN plans (the pipeline decides
 * on pads once the kernels' form is final, after simplify: pipeline.c). */
static void nhwc_s2(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_conv_opts o = {.strides = JX_INTS(2, 2), .pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1)};
    out[0] = jx_conv_general_dilated(in[0], in[1], &o, JX_CONV_NHWC, JX_PADDING_EXPLICIT);
}

static void two_strided(jx_val *out, const jx_val *in, void *u) {
    const jx_fn *layer = u; /* NHWC, checkpointed: its gradient is inlined, then simplified, by the jit */
    jx_conv_opts o = {.strides = JX_INTS(2, 2), .pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1)};
    jx_val y, z;
    if (layer) jx_checkpoint(layer, 2, in, 1, &y);
    else y = jx_conv(in[0], in[1], &o);
    z = layer ? y : jx_conv(in[2], in[1], &o); /* the same kernel again */
    out[0] = jx_add(jx_sum(jx_mul(y, y), JX_NOINTS), jx_sum(jx_mul(z, z), JX_NOINTS));
}

/* An input gradient written as grad writes an NHWC layer's before simplify: the kernel
 * rev(transpose(transpose(w_hwio, to OIHW), (1,0,2,3))), which simplify folds into one
 * transpose that cuDNN's backward data cannot take. */
static void hwio_chain(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val w = jx_rev(jx_transpose(jx_transpose(in[1], JX_INTS(3, 2, 0, 1)), JX_INTS(1, 0, 2, 3)), JX_INTS(2, 3));
    jx_conv_opts o = {.pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1), .lhs_dilation = JX_INTS(2, 2)};
    out[0] = jx_conv(in[0], w, &o);
}

static void test_grads_all_planned(void) {
    jx_aval hv[2] = {JX_AVAL(JX_F32, 2, 4, 5, 5), JX_AVAL(JX_F32, 3, 3, 3, 4)};
    jx_fn *hf = jx_trace("hwio_chain", hwio_chain, NULL, 2, hv, 1);
    jx_fn *hg = hf ? jx__jit_prepare(jx__noloc, hf, &jx__cuda_backend) : NULL;
    jx__prog *hp = hg ? jx__prog_build(hg, true, &jx__cuda_backend, NULL, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(hp);
    const jx__step *last = &hp->steps[hp->nsteps - 1]; /* the pad, then a conv cuDNN plans */
    CU_ASSERT(last->kind == JX__G_CONV && jx__cuda_conv_plan_get(hp->f, last, false) != NULL);
    jx__prog_free(hp);
    jx_fn_release(hg), jx_fn_release(hf);
    for (int nhwc = 0; nhwc < 2; nhwc++) {
        jx_aval av[3] = {nhwc ? JX_AVAL(JX_F32, 2, 9, 9, 3) : JX_AVAL(JX_F32, 2, 3, 9, 9),
                         nhwc ? JX_AVAL(JX_F32, 3, 3, 3, 4) : JX_AVAL(JX_F32, 4, 3, 3, 3), JX_AVAL(JX_F32, 2, 3, 9, 9)};
        jx_fn *layer = nhwc ? jx_trace("nhwc_s2", nhwc_s2, NULL, 2, av, 1) : NULL;
        jx_fn *f = jx_trace("two_strided", two_strided, layer, nhwc ? 2 : 3, av, 1);
        jx_fn_release(layer);
        jx_fn *g = f ? jx_grad(f, JX_INTS(0, 1)) : NULL;
        jx_fn *h = g ? jx__jit_prepare(jx__noloc, g, &jx__cuda_backend) : NULL;
        jx__prog *p = h ? jx__prog_build(h, true, &jx__cuda_backend, NULL, NULL) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(p);
        int convs = 0;
        for (int k = 0; k < p->nsteps; k++) {
            const jx__step *s = &p->steps[k];
            if (s->g->kind != JX__G_CONV) continue;
            convs++;
            CU_ASSERT(s->kind == JX__G_CONV && jx__cuda_conv_plan_get(p->f, s, false) != NULL);
        }
        if (convs != (nhwc ? 3 : 5)) fprintf(stderr, "\n  %d convs\n", convs);
        CU_ASSERT_EQUAL(convs, nhwc ? 3 : 5); /* forward, input gradient, kernel gradient; the shared: 2 + 1 + 2 */
        jx__prog_free(p);
        jx_fn_release(h), jx_fn_release(g), jx_fn_release(f);
    }
}

int main(void) {
    void *h;
    if (!(fk = jxfake_load("test_cuda_conv", &h))) return 1;
    CU_TestInfo tests[] = {
        {"cuDNN's convs against the interpreter; the rest after a pad kernel", test_cases},
        {"lhs dilation and one-sided padding as an explicit pad", test_explicit_pads},
        {"JX_MATMUL_TF32: cuDNN's default math", test_tf32},
        {"a program of convs captured as a graph", test_graph},
        {"grad's convs of stride-1 and stride-2 convs all on cuDNN", test_grad_convs},
        {"a CNN block's training step with no host step", test_cnn_step_on_device},
        {"an NHWC conv read and written through strides", test_nhwc_views},
        {"an input gradient on cuDNN's backward data", test_bwd_data},
        {"a kernel gradient on cuDNN's backward filter", test_bwd_filter},
        {"every conv of strided NHWC and weight-shared gradients on cuDNN", test_grads_all_planned},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("cuda convolutions (fake cuDNN)", tests);
    jx_jit_cache_clear();
    dlclose(h);
    return rc;
}
