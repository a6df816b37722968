/* test_vmap_collective.c: named axes and collectives: psum/pmax/pmin/pmean, axis_index
 * and all_gather under jx_vmap_named against sums/maxes computed here over the slices;
 * nested named vmaps (inner and outer names); grad of functions using collectives,
 * both inside the vmap and of the vmapped function; the IR text with axis_name
 * round-tripping; and the errors (an unbound name at the user's line, bad names). */
#include <stdbool.h>
#include <stdlib.h>

#include "gradcheck.h"
#include "vmap_check.h"

#define B 4 /* the mapped size */
#define N 3 /* each slice's length */

/* ------------------------------------------------------------------ helpers */

/* Runs g on in (borrowed) with jt_eval; out receives nout arrays. */
static jx_status run(const jx_fn *g, int nin, jx_array *const *in, int nout, jx_array **out) {
    if (!g) fprintf(stderr, "\n  no function: %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL(g);
    if (!g) return JX_ERR_ARG;
    jx_status st = jt_eval(g, nin, in, nout, out);
    if (st != JX_OK) fprintf(stderr, "\n  eval failed: %s\n", jx_errmsg());
    CU_ASSERT_EQUAL(st, JX_OK);
    return st;
}

/* f traced on nin f64 inputs of shape [N] (rank-0 when scalar). */
static jx_fn *trace_n(const char *name, jx_body body, int nin, int nout, bool scalar) {
    jx_aval av[4];
    for (int i = 0; i < nin; i++) av[i] = scalar ? JX_SCALAR(JX_F64) : JX_AVAL(JX_F64, N);
    jx_fn *f = jx_trace(name, body, NULL, nin, av, nout);
    if (!f) fprintf(stderr, "\n  %s: trace failed: %s\n", name, jx_errmsg());
    return f;
}

/* x[b][j] of a [B,N] array (mapped at 0) or of a [N,B] one (mapped at 1). */
static double at(const jx_array *x, int axis, int b, int j) {
    const double *d = jx_array_data(x);
    return axis == 0 ? d[b * N + j] : d[j * B + b];
}

/* ------------------------------------------------------------------ psum & co */

static void b_normalise(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_div(in[0], jx_psum(in[0], "i"));
}

/* x / psum(x) divides each slice by the sum over the slices, mapped at 0 or at 1. */
static void test_psum_normalises(void) {
    jx_fn *f = trace_n("normalise", b_normalise, 1, 1, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int axis = 0; axis < 2; axis++) {
        uint64_t seed = 5 + (uint64_t)axis;
        jx_ints shape = axis == 0 ? JX_INTS(B, N) : JX_INTS(N, B);
        jx_array *x = jt_random(shape, 1, 2, &seed);
        jx_fn *g = jx_vmap_named(f, JX_INTS(axis), JX_NOINTS, B, "i");
        jx_array *y = NULL;
        if (run(g, 1, &x, 1, &y) == JX_OK) {
            double want[B * N];
            for (int b = 0; b < B; b++)
                for (int j = 0; j < N; j++) {
                    double s = 0;
                    for (int c = 0; c < B; c++) s += at(x, axis, c, j);
                    want[b * N + j] = at(x, axis, b, j) / s;
                }
            jt_check_array(__LINE__, y, JX_F64, JX_INTS(B, N), want, 1e-12);
        }
        jx_fn_release(g);
        jx_array_release(x);
    }
    jx_fn_release(f);
}

static void b_all4(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_psum(in[0], "i");
    o[1] = jx_pmax(in[0], "i");
    o[2] = jx_pmin(in[0], "i");
    o[3] = jx_pmean(in[0], "i");
}

/* The four reductions over the slices: the same in every slice (broadcast by out_axes 0,
 * left unmapped by JX_NOT_MAPPED). */
static void test_psum_pmax_pmin_pmean(void) {
    jx_fn *f = trace_n("all4", b_all4, 1, 4, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    uint64_t seed = 11;
    jx_array *x = jt_random(JX_INTS(N, B), -2, 2, &seed);
    double want[4][N];
    for (int j = 0; j < N; j++) {
        double s = 0, mx = -INFINITY, mn = INFINITY;
        for (int b = 0; b < B; b++) {
            double v = at(x, 1, b, j);
            s += v, mx = fmax(mx, v), mn = fmin(mn, v);
        }
        want[0][j] = s, want[1][j] = mx, want[2][j] = mn, want[3][j] = s / B;
    }
    for (int mapped = 0; mapped < 2; mapped++) {
        int64_t oa = mapped ? 0 : JX_NOT_MAPPED;
        jx_fn *g = jx_vmap_named(f, JX_INTS(1), JX_INTS(oa, oa, oa, oa), B, "i");
        jx_array *y[4] = {NULL};
        if (run(g, 1, &x, 4, y) == JX_OK) {
            for (int k = 0; k < 4; k++) {
                double w[B * N];
                for (int b = 0; b < (mapped ? B : 1); b++) memcpy(w + b * N, want[k], sizeof want[k]);
                jt_check_array(__LINE__, y[k], JX_F64, mapped ? JX_INTS(B, N) : JX_INTS(N), w, 1e-12);
            }
        }
        jx_fn_release(g);
    }
    jx_array_release(x);
    jx_fn_release(f);
}

static void b_unmapped(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_add(jx_psum(in[0], "i"), in[1]);
    o[1] = jx_pmax(in[0], "i");
}

/* psum of an unmapped value is size * x (pmax: x); integer collectives are exact. */
static void test_psum_unmapped(void) {
    jx_fn *f = trace_n("unmapped", b_unmapped, 2, 2, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {jt_array(JX_F64, JX_INTS(N), (double[]){1, 2, 3}),
                       jt_array(JX_F64, JX_INTS(B, N), (double[]){0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3})};
    jx_fn *g = jx_vmap_named(f, JX_INTS(JX_NOT_MAPPED, 0), JX_INTS(0, JX_NOT_MAPPED), B, "i");
    jx_array *y[2] = {NULL};
    if (run(g, 2, in, 2, y) == JX_OK) {
        double w[B * N];
        for (int b = 0; b < B; b++)
            for (int j = 0; j < N; j++) w[b * N + j] = B * (j + 1) + b;
        jt_check_array(__LINE__, y[0], JX_F64, JX_INTS(B, N), w, 0);
        jt_check_array(__LINE__, y[1], JX_F64, JX_INTS(N), (double[]){1, 2, 3}, 0);
    }
    jx_fn_release(g);
    jx_fn_release(f);
    jx_array_release(in[0]);
    jx_array_release(in[1]);

    jx_aval ai = JX_AVAL(JX_I32, N);
    f = jx_trace("int_all4", b_all4, NULL, 1, &ai, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *xi = jt_array(JX_I32, JX_INTS(B, N), (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
    int64_t nm = JX_NOT_MAPPED;
    g = jx_vmap_named(f, JX_NOINTS, JX_INTS(nm, nm, nm, nm), B, "i");
    jx_array *yi[4] = {NULL};
    if (run(g, 1, &xi, 4, yi) == JX_OK) { /* pmean divides as integers: 22 / 4 = 5 */
        jt_check_array(__LINE__, yi[0], JX_I32, JX_INTS(N), (double[]){22, 26, 30}, 0);
        jt_check_array(__LINE__, yi[1], JX_I32, JX_INTS(N), (double[]){10, 11, 12}, 0);
        jt_check_array(__LINE__, yi[2], JX_I32, JX_INTS(N), (double[]){1, 2, 3}, 0);
        jt_check_array(__LINE__, yi[3], JX_I32, JX_INTS(N), (double[]){5, 6, 7}, 0);
    }
    jx_fn_release(g);
    jx_fn_release(f);
    jx_array_release(xi);
}

/* ------------------------------------------------------------------ axis_index, all_gather */

static void b_index(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_add(in[0], jx_convert(jx_axis_index("i"), JX_F64));
}

static void test_axis_index(void) {
    jx_fn *f = trace_n("index", b_index, 1, 1, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *x = jt_array(JX_F64, JX_INTS(N), (double[]){10, 20, 30});
    jx_fn *g = jx_vmap_named(f, JX_INTS(JX_NOT_MAPPED), JX_INTS(-1), B, "i"); /* no mapped input */
    jx_array *y = NULL;
    if (run(g, 1, &x, 1, &y) == JX_OK) {
        double w[N * B];
        for (int j = 0; j < N; j++)
            for (int b = 0; b < B; b++) w[j * B + b] = 10 * (j + 1) + b;
        jt_check_array(__LINE__, y, JX_F64, JX_INTS(N, B), w, 0);
    }
    jx_fn_release(g);
    jx_fn_release(f);
    jx_array_release(x);
}

static void b_gather(jx_val *o, const jx_val *in, void *u) {
    o[0] = jx_all_gather(in[0], "i", *(const int64_t *)u);
}

/* all_gather stacks the slices first whatever axis was mapped; every slice sees them all.
 * A size that is not the vmap's is an error naming both. */
static void test_all_gather(void) {
    int64_t size = B;
    jx_aval av = JX_AVAL(JX_F64, N);
    jx_fn *f = jx_trace("gather", b_gather, &size, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_aval o = jx_fn_output_aval(f, 0), want = JX_AVAL(JX_F64, B, N);
    CU_ASSERT(jx_aval_equal(&o, &want));
    uint64_t seed = 3;
    jx_array *x = jt_random(JX_INTS(N, B), -1, 1, &seed);
    jx_fn *g = jx_vmap_named(f, JX_INTS(1), JX_NOINTS, B, "i");
    jx_array *y = NULL;
    if (run(g, 1, &x, 1, &y) == JX_OK) {
        double w[B * B * N];
        for (int s = 0; s < B; s++)
            for (int b = 0; b < B; b++)
                for (int j = 0; j < N; j++) w[(s * B + b) * N + j] = at(x, 1, b, j);
        jt_check_array(__LINE__, y, JX_F64, JX_INTS(B, B, N), w, 0);
    }
    jx_fn_release(g);
    jx_array_release(x);
    x = jt_random(JX_INTS(B + 1, N), -1, 1, &seed);
    g = jx_vmap_named(f, JX_INTS(0), JX_NOINTS, B + 1, "i");
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("all_gather: axis_size is 4 but the vmap of axis 'i' has size 5");
    jx_fn_release(g);
    jx_array_release(x);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ nesting */

static void b_nested(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0];
    jx_val idx = jx_add(jx_mul(jx_convert(jx_axis_index("i"), JX_F64), jx_scalar(JX_F64, 100)),
                        jx_mul(jx_convert(jx_axis_index("j"), JX_F64), jx_scalar(JX_F64, 10)));
    o[0] = jx_add(jx_add(jx_mul(jx_psum(x, "j"), jx_scalar(JX_F64, 1000)), jx_pmax(x, "i")), idx);
}

/* vmap "i" (size 2, outer) of vmap "j" (size 3, inner) of a scalar function:
 * out[a][b] = 1000 * sum_b' x[a][b'] + max_a' x[a'][b] + 100 a + 10 b. */
static void test_nested_names(void) {
    jx_fn *f = trace_n("nested", b_nested, 1, 1, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *inner = jx_vmap_named(f, JX_NOINTS, JX_NOINTS, 3, "j");
    CU_ASSERT_PTR_NOT_NULL_FATAL(inner);
    uint64_t seed = 17;
    jx_array *x = jt_random(JX_INTS(2, 3), -1, 1, &seed);
    const double *d = jx_array_data(x);
    double w[6];
    for (int a = 0; a < 2; a++)
        for (int b = 0; b < 3; b++)
            w[a * 3 + b] = 1000 * (d[a * 3] + d[a * 3 + 1] + d[a * 3 + 2]) + fmax(d[b], d[3 + b]) +
                           100 * a + 10 * b;
    for (int order = 0; order < 2; order++) {
        /* order 1: the outer map over axis 1 of the transposed input, output moved back */
        jx_fn *g = jx_vmap_named(inner, JX_INTS(order), JX_INTS(order), 2, "i");
        jx_array *xt = NULL;
        if (order) {
            double t[6];
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 3; b++) t[b * 2 + a] = d[a * 3 + b];
            xt = jt_array(JX_F64, JX_INTS(3, 2), t);
        }
        jx_array *y = NULL;
        if (run(g, 1, order ? &xt : &x, 1, &y) == JX_OK) {
            double wt[6];
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 3; b++) wt[b * 2 + a] = w[a * 3 + b];
            jt_check_array(__LINE__, y, JX_F64, order ? JX_INTS(3, 2) : JX_INTS(2, 3), order ? wt : w, 1e-12);
        }
        jx_array_release(xt);
        jx_fn_release(g);
    }
    /* the inner vmap alone leaves the outer name bound to nothing */
    jx_array *row = jt_array(JX_F64, JX_INTS(3), d);
    jx_array *y = NULL;
    CU_ASSERT_EQUAL(jx_eval(inner, 1, &row, 1, &y), JX_ERR_ARG);
    JT_ASSERT_ERR("axis name 'i' is not bound by any vmap or pmap");
    jx_array_release(row);
    jx_array_release(x);
    jx_fn_release(inner);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ control flow */

static void br_index(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_add(in[0], jx_convert(jx_axis_index("i"), JX_F64));
}
static void br_psum(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_mul(in[0], jx_psum(in[0], "i"));
}
static void loop_body(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_add(in[1], jx_convert(jx_axis_index("i"), JX_F64));
}
static void b_control(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_body br[2] = {br_index, br_psum};
    jx_switch(in[0], 2, br, NULL, 1, &in[1], 1, &o[0]);
    jx_val zero = jx_scalar(JX_F64, 0);
    jx_fori_loop(0, 3, loop_body, NULL, 1, &zero, &o[1]);
}

/* Collectives inside cond branches and a loop body whose operands are all unmapped:
 * the name is still bound (cond picks a branch for every slice alike; the loop's carry
 * becomes mapped through axis_index). */
static void test_control_flow(void) {
    jx_aval av[2] = {JX_SCALAR(JX_I32), JX_AVAL(JX_F64, N)};
    jx_fn *f = jx_trace("control", b_control, NULL, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int64_t nm = JX_NOT_MAPPED;
    jx_fn *g = jx_vmap_named(f, JX_INTS(nm, nm), JX_NOINTS, B, "i");
    jx_array *c = jt_array(JX_F64, JX_INTS(N), (double[]){1, 2, 3});
    for (int k = 0; k < 2; k++) {
        jx_array *in[2] = {jt_array(JX_I32, JX_NOINTS, (double[]){k}), c}, *y[2] = {NULL};
        if (run(g, 2, in, 2, y) == JX_OK) {
            double w[B * N], wl[B];
            for (int b = 0; b < B; b++) {
                wl[b] = 3 * b;
                for (int j = 0; j < N; j++) w[b * N + j] = k ? (j + 1) * (j + 1) * B : j + 1 + b;
            }
            jt_check_array(__LINE__, y[0], JX_F64, JX_INTS(B, N), w, 0);
            jt_check_array(__LINE__, y[1], JX_F64, JX_INTS(B), wl, 0);
        }
        jx_array_release(in[0]);
    }
    jx_array_release(c);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ grad */

static void b_sin_psum(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_reduce_sum(jx_mul(jx_sin(in[0]), jx_psum(in[0], "i")), JX_NOINTS);
}
static void b_pmax_x(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_reduce_sum(jx_mul(jx_pmax(in[0], "i"), in[0]), JX_NOINTS);
}
static void b_gather_x(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val g = jx_all_gather(in[0], "i", B);
    o[0] = jx_reduce_sum(jx_mul(g, jx_broadcast_in_dim(in[0], JX_INTS(B, N), JX_INTS(1))), JX_NOINTS);
}

/* The gradient of L(X) = sum_b f(X[b]): for sum(sin(x) * S), S = psum(x): cos(x) S +
 * sum_b' sin(x_b'); for sum(pmax(x) * x): M + [x == M] sum_b' x_b'; for
 * sum(all_gather(x) * x) = sum_j S_j^2: 2 S. */
static void grad_want(int k, const double *x, double *w) {
    for (int j = 0; j < N; j++) {
        double s = 0, ss = 0, m = -INFINITY;
        for (int b = 0; b < B; b++) s += x[b * N + j], ss += sin(x[b * N + j]), m = fmax(m, x[b * N + j]);
        for (int b = 0; b < B; b++) {
            double v = x[b * N + j];
            w[b * N + j] = k == 0 ? cos(v) * s + ss : k == 1 ? m + (v == m ? s : 0) : 2 * s;
        }
    }
}

static void b_sum_of(jx_val *o, const jx_val *in, void *u) {
    jx_val y;
    jx_call((const jx_fn *)u, 1, in, 1, &y);
    o[0] = jx_reduce_sum(y, JX_NOINTS);
}

/* vmap_named(grad(f)) (psum's transpose is psum, so each slice gets the gradient of the
 * sum over slices) and grad(sum(vmap_named(f))) agree with the formulas. */
static void test_grad(void) {
    jx_body bodies[3] = {b_sin_psum, b_pmax_x, b_gather_x};
    for (int k = 0; k < 3; k++) {
        jx_fn *f = trace_n("f", bodies[k], 1, 1, false);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        uint64_t seed = 40 + (uint64_t)k;
        jx_array *x = jt_random(JX_INTS(B, N), -2, 2, &seed);
        double w[B * N];
        grad_want(k, jx_array_data(x), w);
        jx_fn *df = jx_grad(f, JX_NOINTS);
        jx_fn *g1 = jx_vmap_named(df, JX_NOINTS, JX_NOINTS, B, "i");
        jx_fn *vf = jx_vmap_named(f, JX_NOINTS, JX_NOINTS, B, "i");
        jx_aval av = JX_AVAL(JX_F64, B, N);
        jx_fn *L = vf ? jx_trace("L", b_sum_of, vf, 1, &av, 1) : NULL;
        jx_fn *g2 = L ? jx_grad(L, JX_NOINTS) : NULL;
        jx_array *y = NULL;
        if (run(g1, 1, &x, 1, &y) == JX_OK) jt_check_array(__LINE__, y, JX_F64, JX_INTS(B, N), w, 1e-12);
        if (run(g2, 1, &x, 1, &y) == JX_OK) jt_check_array(__LINE__, y, JX_F64, JX_INTS(B, N), w, 1e-12);
        jx_fn_release(g2);
        jx_fn_release(L);
        jx_fn_release(vf);
        jx_fn_release(g1);
        jx_fn_release(df);
        jx_array_release(x);
        jx_fn_release(f);
    }
}

/* ------------------------------------------------------------------ text, errors */

static void b_named(jx_val *o, const jx_val *in, void *u) {
    o[0] = jx_add(jx_psum(in[0], (const char *)u), jx_convert(jx_axis_index("batch"), JX_F64));
}

/* axis_name prints quoted (escaping quotes, backslashes and control bytes) and parses
 * back to a function that prints the same; a bad escape is a parse error. */
static void test_text_round_trip(void) {
    const char *names[] = {"batch", "a \"q\" \\ b\n\t#x"};
    const char *printed[] = {"psum[axis_name=\"batch\"]",
                             "psum[axis_name=\"a \\\"q\\\" \\\\ b\\x0a\\x09#x\"]"};
    for (int k = 0; k < 2; k++) {
        jx_aval av = JX_AVAL(JX_F64, N);
        jx_fn *f = jx_trace("named", b_named, (void *)names[k], 1, &av, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        char *t1 = jx_fn_to_string(f);
        CU_ASSERT_PTR_NOT_NULL_FATAL(t1);
        if (!strstr(t1, printed[k]) || !strstr(t1, "axis_index[axis_name=\"batch\"]"))
            fprintf(stderr, "\n  printed:\n%s\n", t1);
        CU_ASSERT_PTR_NOT_NULL(strstr(t1, printed[k]));
        CU_ASSERT_PTR_NOT_NULL(strstr(t1, "axis_index[axis_name=\"batch\"]"));
        jx_fn *g = jx_fn_parse(t1);
        if (!g) fprintf(stderr, "\n  parse failed: %s\n", jx_errmsg());
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        char *t2 = jx_fn_to_string(g);
        CU_ASSERT_STRING_EQUAL(t1, t2);
        CU_ASSERT_EQUAL(jx_fn_typecheck(g), JX_OK);
        free(t2);
        free(t1);
        jx_fn_release(g);
        jx_fn_release(f);
    }
    const char *bad = "{ lambda a:f64[] . let b:f64[] = psum[axis_name=\"x\\qy\"] a in (b) }";
    CU_ASSERT_PTR_NULL(jx_fn_parse(bad));
    JT_ASSERT_ERR("bad escape in the string \"x\\qy\"");
    const char *open = "{ lambda a:f64[] . let b:f64[] = psum[axis_name=\"xy] a in (b) }";
    CU_ASSERT_PTR_NULL(jx_fn_parse(open));
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_PARSE);
}

static int unbound_line;
static void b_unbound(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    unbound_line = __LINE__ + 1;
    o[0] = jx_psum(in[0], "batch");
}

/* An axis name no map binds fails when evaluated, at the line of the collective: under
 * no vmap, an unnamed vmap, or one with another name. */
static void test_unbound(void) {
    jx_fn *f = trace_n("unbound", b_unbound, 1, 1, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char want[600];
    snprintf(want, sizeof want, "%s psum: axis name 'batch' is not bound by any vmap or pmap",
             jt_place(__FILE__, unbound_line));
    jx_array *x = jt_array(JX_F64, JX_INTS(B, N), (double[B * N]){0});
    jx_array *x0 = jt_array(JX_F64, JX_INTS(N), (double[N]){0});
    jx_fn *gs[3] = {jx_fn_retain(f), jx_vmap(f, JX_NOINTS, JX_NOINTS, B),
                    jx_vmap_named(f, JX_NOINTS, JX_NOINTS, B, "other")};
    for (int k = 0; k < 3; k++) {
        jx_array *y = NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(gs[k]);
        CU_ASSERT_EQUAL(jx_eval(gs[k], 1, k ? &x : &x0, 1, &y), JX_ERR_ARG);
        CU_ASSERT_PTR_NULL(y);
        JT_ASSERT_ERR(want);
        jx_fn_release(gs[k]);
    }
    jx_array_release(x);
    jx_array_release(x0);
    jx_fn_release(f);
}

static void b_null_name(jx_val *o, const jx_val *in, void *u) {
    o[0] = u ? jx_pmax(in[0], "") : jx_psum(in[0], NULL);
}

static void test_bad_names(void) {
    jx_aval av = JX_AVAL(JX_F64, N);
    CU_ASSERT_PTR_NULL(jx_trace("null", b_null_name, NULL, 1, &av, 1));
    JT_ASSERT_ERR("psum: axis name is NULL");
    CU_ASSERT_PTR_NULL(jx_trace("empty", b_null_name, (void *)1, 1, &av, 1));
    JT_ASSERT_ERR("pmax: axis name is empty");
}

int main(void) {
    CU_TestInfo tests[] = {
        {"x / psum(x) normalises across the slices", test_psum_normalises},
        {"psum, pmax, pmin, pmean over the slices", test_psum_pmax_pmin_pmean},
        {"collectives of unmapped values, integer psum", test_psum_unmapped},
        {"axis_index", test_axis_index},
        {"all_gather", test_all_gather},
        {"nested named vmaps", test_nested_names},
        {"collectives inside control flow", test_control_flow},
        {"grad with collectives, inside and outside the vmap", test_grad},
        {"axis_name in the IR text round-trips", test_text_round_trip},
        {"an unbound axis name is an error at the user's line", test_unbound},
        {"bad axis names", test_bad_names},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmap collectives", tests);
}
