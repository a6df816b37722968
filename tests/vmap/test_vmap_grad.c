/* test_vmap_grad.c: vmap composed with grad, in both orders and nested: per-example
 * gradients of an MLP (vmap of grad) against a loop of single-example grads; grad of a
 * vmapped loss against the sum of per-example grads; vmap of jvp and of vjp; vmap of the
 * grad of a function with a loop and a branch inside; vmap of vmap of grad; jacfwd and
 * jacrev of a vmapped function against the per-slice Jacobians. */
#include <stdlib.h>

#include "gradcheck.h"
#include "vmap_check.h"

#define NM JX_NOT_MAPPED

/* ------------------------------------------------------------------ helpers */

static jx_fn *trace(const char *name, jx_body body, int nin, const jx_aval *av, int nout) {
    return jt_trace_or_say(name, body, NULL, nin, av, nout);
}

/* Reports a NULL result of a transformation with its error message. */
static jx_fn *made(jx_fn *f, const char *what) {
    if (!f) fprintf(stderr, "\n  %s: %s\n", what, jx_errmsg());
    return f;
}

/* Asserts a and b have the same shape and values within tol (relative to max(1, |b|)). */
static void assert_same(const jx_array *a, const jx_array *b, double tol) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    jx_aval x = jx_array_aval(a), y = jx_array_aval(b);
    CU_ASSERT_FATAL(jx_aval_equal(&x, &y));
    int64_t n = jx_array_size(b);
    double *w = malloc(sizeof *w * (size_t)(n + 1));
    for (int64_t k = 0; k < n; k++) w[k] = jx_array_get(b, k);
    JT_ASSERT_ARRAY(a, w, n, tol);
    free(w);
}

/* ------------------------------------------------------------------ the MLP 20-16-16-5 */

enum { NIN = 20, NH = 16, NOUT = 5, NB = 8, NPARAM = 6 };

/* loss(W1, b1, W2, b2, W3, b3, x, y) for one example: cross-entropy of a relu MLP on x
 * (NIN,) against the integer label y. */
static void b_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val h = in[6];
    for (int l = 0; l < 3; l++) {
        h = jx_add(jx_matmul(h, in[2 * l]), in[2 * l + 1]);
        if (l < 2) h = jx_relu(h);
    }
    jx_val lp = jx_log_softmax(h, 0), hot = jx_one_hot(in[7], NOUT, JX_F64);
    out[0] = jx_neg(jx_reduce_sum(jx_mul(hot, lp), JX_NOINTS));
}

static const int64_t param_shape[NPARAM][2] = {{NIN, NH}, {NH, 0}, {NH, NH}, {NH, 0}, {NH, NOUT}, {NOUT, 0}};

static jx_ints pshape(int i) { return (jx_ints){param_shape[i], param_shape[i][1] ? 2 : 1}; }

/* The loss's avals (one example). */
static void loss_avals(jx_aval *av) {
    for (int i = 0; i < NPARAM; i++) av[i] = jx_aval_make(JX_F64, pshape(i));
    av[6] = JX_AVAL(JX_F64, NIN);
    av[7] = JX_SCALAR(JX_I32);
}

/* Random parameters, a batch x (NB, NIN) and labels y (NB,) into in[0..8). */
static void mlp_inputs(jx_array **in, uint64_t seed) {
    for (int i = 0; i < NPARAM; i++) in[i] = jt_random(pshape(i), -0.6, 0.6, &seed);
    in[6] = jt_random(JX_INTS(NB, NIN), -1, 1, &seed);
    double y[NB];
    for (int b = 0; b < NB; b++) y[b] = (double)((b * 3 + 1) % NOUT);
    in[7] = jt_array(JX_I32, JX_INTS(NB), y);
}

static const int64_t params_argnums[NPARAM] = {0, 1, 2, 3, 4, 5};
static const int64_t mlp_axes[8] = {NM, NM, NM, NM, NM, NM, 0, 0};

/* vmap(grad(loss)) with the parameters unmapped and x, y mapped: each output slice is the
 * gradient of one example, as 8 separate grads give it; no loop in the IR, and the IR is
 * the same size for a batch of 8 and of 64. */
static void test_per_example_grads(void) {
    jx_aval av[8];
    loss_avals(av);
    jx_fn *f = trace("loss", b_loss, 8, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = made(jx_grad(f, (jx_ints){params_argnums, NPARAM}), "grad");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *in[8];
    mlp_inputs(in, 11);
    jt_check_vmap("vmap(grad(mlp loss))", g, (jx_ints){mlp_axes, 8}, 8, in, 1e-12);
    /* x mapped at its last axis: x is given as (NIN, NB) */
    int64_t axes_t[8] = {NM, NM, NM, NM, NM, NM, 1, 0};
    uint64_t seed = 5;
    jx_array *xt = jt_random(JX_INTS(NIN, NB), -1, 1, &seed);
    jx_array *in_t[8];
    for (int i = 0; i < 8; i++) in_t[i] = i == 6 ? xt : in[i];
    jt_check_vmap("vmap(grad(mlp loss)), x mapped at 1", g, (jx_ints){axes_t, 8}, 8, in_t, 1e-12);
    /* the IR does not grow with the batch and holds no loop */
    int counts[2];
    int64_t sizes[2] = {NB, 64};
    for (int k = 0; k < 2; k++) {
        jx_fn *v = made(jx_vmap(g, (jx_ints){mlp_axes, 8}, JX_NOINTS, sizes[k]), "vmap");
        CU_ASSERT_PTR_NOT_NULL_FATAL(v);
        counts[k] = jx_fn_num_eqns_total(v);
        CU_ASSERT_EQUAL(jt_count_in_ir(v, " = scan["), 0);
        CU_ASSERT_EQUAL(jt_count_in_ir(v, " = while["), 0);
        jx_fn_release(v);
    }
    CU_ASSERT(counts[0] > 0);
    CU_ASSERT_EQUAL(counts[0], counts[1]);
    jx_array_release(xt);
    jt_release_arrays(8, in);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* grad of sum(vmap(loss)) over the batch equals the sum of the per-example grads. */
static jx_fn *g_vloss;
static void b_batch_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val l;
    jx_call(g_vloss, 8, in, 1, &l);
    out[0] = jx_reduce_sum(l, JX_NOINTS);
}

static void test_grad_of_vmap(void) {
    jx_aval av[8];
    loss_avals(av);
    jx_fn *f = trace("loss", b_loss, 8, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    g_vloss = made(jx_vmap(f, (jx_ints){mlp_axes, 8}, JX_NOINTS, NB), "vmap");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g_vloss);
    av[6] = JX_AVAL(JX_F64, NB, NIN);
    av[7] = JX_AVAL(JX_I32, NB);
    jx_fn *bl = trace("batch_loss", b_batch_loss, 8, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bl);
    jx_fn *gb = made(jx_grad(bl, (jx_ints){params_argnums, NPARAM}), "grad of vmap");
    jx_fn *g = made(jx_grad(f, (jx_ints){params_argnums, NPARAM}), "grad");
    CU_ASSERT_PTR_NOT_NULL_FATAL(gb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *in[8], *got[NPARAM] = {0};
    mlp_inputs(in, 23);
    CU_ASSERT_EQUAL_FATAL(jt_eval(gb, 8, in, NPARAM, got), JX_OK);
    /* the sum of the per-example grads, one jx_eval per example */
    double *want[NPARAM];
    for (int p = 0; p < NPARAM; p++) want[p] = calloc((size_t)jx_array_size(in[p]), sizeof(double));
    for (int b = 0; b < NB; b++) {
        jx_array *xs[8], *gs[NPARAM] = {0};
        for (int i = 0; i < 8; i++) xs[i] = i < 6 ? jx_array_retain(in[i]) : jt_slice_axis(in[i], 0, b);
        CU_ASSERT_EQUAL_FATAL(jx_eval(g, 8, xs, NPARAM, gs), JX_OK);
        for (int p = 0; p < NPARAM; p++)
            for (int64_t k = 0; k < jx_array_size(gs[p]); k++) want[p][k] += jx_array_get(gs[p], k);
        jt_release_arrays(8, xs);
        jt_release_arrays(NPARAM, gs);
    }
    for (int p = 0; p < NPARAM; p++) {
        CU_ASSERT_EQUAL(jx_array_size(got[p]), jx_array_size(in[p]));
        JT_ASSERT_ARRAY(got[p], want[p], jx_array_size(in[p]), 1e-12);
        free(want[p]);
    }
    jt_release_arrays(NPARAM, got);
    jt_release_arrays(8, in);
    jx_fn_release(gb);
    jx_fn_release(g);
    jx_fn_release(bl);
    jx_fn_release(g_vloss);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ vmap of jvp and vjp */

/* f(A (3,4), x (4,)) = (tanh(A @ x) * sum(x), sum(x * x)) */
static void b_two(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(jx_tanh(jx_matmul(in[0], in[1])), jx_reduce_sum(in[1], JX_NOINTS));
    out[1] = jx_reduce_sum(jx_mul(in[1], in[1]), JX_NOINTS);
}

static jx_fn *trace_two(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, 3, 4), JX_AVAL(JX_F64, 4)};
    return trace("two", b_two, 2, av, 2);
}

static void test_vmap_of_jvp(void) {
    jx_fn *f = trace_two();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *j = made(jx_jvp(f), "jvp");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    uint64_t seed = 3;
    enum { B = 5 };
    jx_array *A = jt_random(JX_INTS(3, 4), -1, 1, &seed), *x = jt_random(JX_INTS(4), -1, 1, &seed);
    jx_array *dA = jt_random(JX_INTS(3, 4), -1, 1, &seed), *dx = jt_random(JX_INTS(4), -1, 1, &seed);
    jx_array *Ab = jt_random(JX_INTS(3, 4, B), -1, 1, &seed), *xb = jt_random(JX_INTS(B, 4), -1, 1, &seed);
    jx_array *dAb = jt_random(JX_INTS(B, 3, 4), -1, 1, &seed), *dxb = jt_random(JX_INTS(4, B), -1, 1, &seed);
    /* only the tangent mapped: a batch of directional derivatives at one point */
    jx_array *in1[4] = {A, x, dA, dxb};
    jt_check_vmap("vmap(jvp) dx mapped", j, JX_INTS(NM, NM, NM, 1), 4, in1, 1e-12);
    /* primals mapped, tangents not */
    jx_array *in2[4] = {Ab, xb, dA, dx};
    jt_check_vmap("vmap(jvp) primals mapped", j, JX_INTS(2, 0, NM, NM), 4, in2, 1e-12);
    /* all mapped, at different axes */
    jx_array *in3[4] = {Ab, xb, dAb, dxb};
    jt_check_vmap("vmap(jvp) all mapped", j, JX_INTS(-1, 0, 0, -1), 4, in3, 1e-12);
    jx_array *all[8] = {A, x, dA, dx, Ab, xb, dAb, dxb};
    jt_release_arrays(8, all);
    jx_fn_release(j);
    jx_fn_release(f);
}

static void test_vmap_of_vjp(void) {
    jx_fn *f = trace_two();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *j = made(jx_vjp(f), "vjp");
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    uint64_t seed = 9;
    enum { B = 4 };
    jx_array *A = jt_random(JX_INTS(3, 4), -1, 1, &seed), *x = jt_random(JX_INTS(4), -1, 1, &seed);
    jx_array *yb0 = jt_random(JX_INTS(3), -1, 1, &seed), *yb1 = jx_array_scalar(JX_F64, 0.7);
    jx_array *Ab = jt_random(JX_INTS(B, 3, 4), -1, 1, &seed), *xb = jt_random(JX_INTS(4, B), -1, 1, &seed);
    jx_array *yb0b = jt_random(JX_INTS(3, B), -1, 1, &seed), *yb1b = jt_random(JX_INTS(B), -1, 1, &seed);
    /* only one cotangent mapped: rows of the Jacobian at one point (what jacrev does) */
    jx_array *in1[4] = {A, x, yb0b, yb1};
    jt_check_vmap("vmap(vjp) ybar0 mapped", j, JX_INTS(NM, NM, 1, NM), 4, in1, 1e-12);
    jx_array *in2[4] = {Ab, xb, yb0, yb1};
    jt_check_vmap("vmap(vjp) primals mapped", j, JX_INTS(0, 1, NM, NM), 4, in2, 1e-12);
    jx_array *in3[4] = {A, xb, yb0b, yb1b};
    jt_check_vmap("vmap(vjp) x and cotangents mapped", j, JX_INTS(NM, -1, -1, 0), 4, in3, 1e-12);
    jx_array *all[8] = {A, x, yb0, yb1, Ab, xb, yb0b, yb1b};
    jt_release_arrays(8, all);
    jx_fn_release(j);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ loops and branches */

/* Branches of the cond in the loop body: (c, w) -> c */
static void br_square(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], jx_tanh(jx_mul(in[0], in[1])));
}
static void br_scale(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sub(jx_mul(in[0], in[1]), jx_sin(in[0]));
}

/* Loop body: i, c -> c' = cond(c[0] > 0, ...)(c, w) + cos(i * x) * 0.5, with w, x
 * captured from the enclosing trace (user points at them). */
static void loop_body(jx_val *out, const jx_val *in, void *u) {
    const jx_val *wx = u;
    jx_val c = in[1], pred = jx_gt(jx_reduce_sum(jx_slice(c, JX_INTS(0), JX_INTS(1), JX_NOINTS), JX_NOINTS),
                                   jx_scalar(JX_F64, 0));
    jx_body br[2] = {br_square, br_scale};
    jx_val in2[2] = {c, wx[0]}, r;
    jx_switch(pred, 2, br, NULL, 2, in2, 1, &r);
    jx_val t = jx_mul(jx_convert(in[0], JX_F64), wx[1]);
    out[0] = jx_add(r, jx_mul(jx_cos(t), jx_scalar(JX_F64, 0.5)));
}

/* f(w (3,), x (3,)) = sum(loop of 4 steps from c = x * w) */
static void b_loopy(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val c0 = jx_mul(in[1], in[0]), c;
    jx_fori_loop(0, 4, loop_body, (void *)in, 1, &c0, &c);
    out[0] = jx_reduce_sum(c, JX_NOINTS);
}

static void test_vmap_grad_loop_cond(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 3)};
    jx_fn *f = trace("loopy", b_loopy, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(jt_check_grads("loopy", b_loopy, NULL, 2, av, -1, 1, 1e-7));
    jx_fn *g = made(jx_grad(f, JX_INTS(0, 1)), "grad");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    /* x[b, 0] > 0 for even b, < 0 for odd b, and w[0] > 0: the lanes take different
     * branches from the first step on */
    double xv[6 * 3], wv[3] = {0.8, -0.3, 1.2};
    for (int k = 0; k < 18; k++) xv[k] = (k % 2 ? -1 : 1) * (0.2 + 0.1 * (k % 5));
    jx_array *x = jt_array(JX_F64, JX_INTS(6, 3), xv), *w = jt_array(JX_F64, JX_INTS(3), wv);
    jx_array *in1[2] = {w, x};
    jt_check_vmap("vmap(grad(loop with cond)) x mapped", g, JX_INTS(NM, 0), 2, in1, 1e-12);
    uint64_t seed = 4;
    jx_array *wb = jt_random(JX_INTS(3, 6), -1.5, 1.5, &seed);
    jx_array *in2[2] = {wb, x};
    jt_check_vmap("vmap(grad(loop with cond)) both mapped", g, JX_INTS(1, 0), 2, in2, 1e-12);
    jx_fn *v = made(jx_vmap(g, JX_INTS(NM, 0), JX_NOINTS, 6), "vmap");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(jt_count_in_ir(v, " = cond["), 0); /* a batched predicate becomes selects */
    CU_ASSERT(jt_count_in_ir(v, " = scan[") >= 1);     /* the loop stays one loop */
    jx_fn_release(v);
    jx_array *all[3] = {x, w, wb};
    jt_release_arrays(3, all);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* vmap(vmap(grad)): f(w (3,), x (3,)) = sum(tanh(w * x) * x); the inner vmap maps x over 4
 * examples, the outer one maps w over 2 weight vectors and x over 2 batches (axis 1). */
static void b_small(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_mul(jx_tanh(jx_mul(in[0], in[1])), in[1]), JX_NOINTS);
}

static void test_vmap_vmap_grad(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 3)};
    jx_fn *f = trace("small", b_small, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = made(jx_grad(f, JX_INTS(0, 1)), "grad");
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_fn *v1 = made(jx_vmap(g, JX_INTS(NM, 0), JX_NOINTS, 4), "inner vmap");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v1);
    jx_fn *v2 = made(jx_vmap(v1, JX_INTS(0, 1), JX_INTS(0, -1), 2), "outer vmap");
    CU_ASSERT_PTR_NOT_NULL_FATAL(v2);
    uint64_t seed = 21;
    jx_array *w = jt_random(JX_INTS(3), -1, 1, &seed), *x = jt_random(JX_INTS(4, 3), -1, 1, &seed);
    jx_array *ws = jt_random(JX_INTS(2, 3), -1, 1, &seed), *xs = jt_random(JX_INTS(4, 2, 3), -1, 1, &seed);
    jx_array *in1[2] = {w, x}, *in2[2] = {ws, xs};
    jt_check_vmapped("vmap(grad)", g, v1, JX_INTS(NM, 0), JX_NOINTS, 4, 2, in1, 1e-12);
    jt_check_vmapped("vmap(vmap(grad))", v1, v2, JX_INTS(0, 1), JX_INTS(0, -1), 2, 2, in2, 1e-12);
    /* and grad(w) of the doubly-mapped function at one slice, by hand */
    jx_array *out[2] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(v2, 2, in2, 2, out), JX_OK);
    CU_ASSERT_EQUAL(jx_array_rank(out[0]), 3); /* (2, 4, 3) */
    CU_ASSERT_EQUAL(jx_array_shape(out[0])[0], 2);
    CU_ASSERT_EQUAL(jx_array_shape(out[0])[1], 4);
    CU_ASSERT_EQUAL(jx_array_shape(out[1])[2], 2); /* x's grads mapped last: (4, 3, 2) */
    for (int b = 0; b < 2; b++)
        for (int e = 0; e < 4; e++)
            for (int i = 0; i < 3; i++) {
                double wi = jx_array_get(ws, b * 3 + i), xi = jx_array_get(xs, (e * 2 + b) * 3 + i);
                double s = 1 / cosh(wi * xi), want_w = s * s * xi * xi;
                double want_x = s * s * wi * xi + tanh(wi * xi);
                CU_ASSERT_DOUBLE_EQUAL(jx_array_get(out[0], (b * 4 + e) * 3 + i), want_w, 1e-12);
                CU_ASSERT_DOUBLE_EQUAL(jx_array_get(out[1], (e * 3 + i) * 2 + b), want_x, 1e-12);
            }
    jt_release_arrays(2, out);
    jx_array *all[4] = {w, x, ws, xs};
    jt_release_arrays(4, all);
    jx_fn_release(v2);
    jx_fn_release(v1);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ jacobians of vmap */

/* jacfwd and jacrev of vf = vmap(f) over x (B, 4) with A unmapped: by x, block diagonal
 * with f's Jacobian at each example on the diagonal (B, 3, B, 4); by A (B, 3, 3, 4), the
 * per-example Jacobians stacked. Also vmap(jacfwd(f)) gives the same per-example ones. */
static void b_one(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val y[2];
    b_two(y, in, u);
    out[0] = jx_add(y[0], y[1]);
}

static void test_jacobian_of_vmap(void) {
    enum { B = 3 };
    jx_aval av[2] = {JX_AVAL(JX_F64, 3, 4), JX_AVAL(JX_F64, 4)};
    jx_fn *f = trace("one", b_one, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *vf = made(jx_vmap(f, JX_INTS(NM, 0), JX_NOINTS, B), "vmap");
    CU_ASSERT_PTR_NOT_NULL_FATAL(vf);
    uint64_t seed = 17;
    jx_array *A = jt_random(JX_INTS(3, 4), -1, 1, &seed), *X = jt_random(JX_INTS(B, 4), -1, 1, &seed);
    jx_array *in[2] = {A, X};
    for (int mode = 0; mode < 2; mode++) {
        const char *name = mode ? "jacrev" : "jacfwd";
        jx_fn *jX = made(mode ? jx_jacrev(vf, 1) : jx_jacfwd(vf, 1), name);
        jx_fn *jA = made(mode ? jx_jacrev(vf, 0) : jx_jacfwd(vf, 0), name);
        jx_fn *j1 = made(mode ? jx_jacrev(f, 1) : jx_jacfwd(f, 1), name);
        jx_fn *j0 = made(mode ? jx_jacrev(f, 0) : jx_jacfwd(f, 0), name);
        CU_ASSERT_PTR_NOT_NULL_FATAL(jX);
        CU_ASSERT_PTR_NOT_NULL_FATAL(jA);
        CU_ASSERT_PTR_NOT_NULL_FATAL(j1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(j0);
        CU_ASSERT_EQUAL(jt_count_in_ir(jX, " = scan["), 0);
        jx_array *Jx = NULL, *JA = NULL;
        CU_ASSERT_EQUAL_FATAL(jt_eval(jX, 2, in, 1, &Jx), JX_OK);
        CU_ASSERT_EQUAL_FATAL(jt_eval(jA, 2, in, 1, &JA), JX_OK);
        CU_ASSERT_EQUAL(jx_array_rank(Jx), 4);
        CU_ASSERT_EQUAL(jx_array_size(Jx), B * 3 * B * 4);
        CU_ASSERT_EQUAL(jx_array_size(JA), B * 3 * 3 * 4);
        for (int b = 0; b < B; b++) {
            jx_array *xs[2] = {jx_array_retain(A), jt_slice_axis(X, 0, b)}, *J1 = NULL, *J0 = NULL;
            CU_ASSERT_EQUAL_FATAL(jx_eval(j1, 2, xs, 1, &J1), JX_OK);
            CU_ASSERT_EQUAL_FATAL(jx_eval(j0, 2, xs, 1, &J0), JX_OK);
            for (int c = 0; c < B; c++)
                for (int i = 0; i < 3; i++)
                    for (int k = 0; k < 4; k++) {
                        double want = b == c ? jx_array_get(J1, i * 4 + k) : 0;
                        CU_ASSERT_DOUBLE_EQUAL(jx_array_get(Jx, ((b * 3 + i) * B + c) * 4 + k), want, 1e-12);
                    }
            jx_array *JAb = jt_slice_axis(JA, 0, b);
            assert_same(JAb, J0, 1e-12);
            jx_array *rel[5] = {xs[0], xs[1], J1, J0, JAb};
            jt_release_arrays(5, rel);
        }
        /* vmap of the Jacobian: per-example Jacobians at once */
        jt_check_vmap(mode ? "vmap(jacrev)" : "vmap(jacfwd)", j1, JX_INTS(NM, 0), 2, in, 1e-12);
        jx_array_release(Jx);
        jx_array_release(JA);
        jx_fn *all[4] = {jX, jA, j1, j0};
        for (int k = 0; k < 4; k++) jx_fn_release(all[k]);
    }
    jx_array_release(A);
    jx_array_release(X);
    jx_fn_release(vf);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"per-example grads of an MLP: vmap(grad) = loop of grads", test_per_example_grads},
        {"grad of sum(vmap(loss)) = sum of per-example grads", test_grad_of_vmap},
        {"vmap of jvp", test_vmap_of_jvp},
        {"vmap of vjp", test_vmap_of_vjp},
        {"vmap(grad) through fori_loop and cond", test_vmap_grad_loop_cond},
        {"vmap(vmap(grad))", test_vmap_vmap_grad},
        {"jacfwd/jacrev of a vmapped function", test_jacobian_of_vmap},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmap grad", tests);
}
