/* test_grad_custom.c: custom_jvp_call, custom_vjp_call and checkpoint: the user's
 * derivatives are really used (forward and reverse), checkpoint recomputes instead of
 * storing residuals with bit-identical gradients, signature errors name the caller's
 * line, the text form round-trips, and the tangent primitives carry their jvp for the
 * backends to run. */
#include <stdlib.h>

#include "../../src/jit/plan.h"
#include "gradcheck.h"

/* The nested functions a body uses, passed as user data. */
typedef struct fns {
    jx_fn *f, *a, *b;
} fns;

/* ------------------------------------------------------------------ helpers */

static jx_fn *trace1(const char *name, jx_body body, void *user, int nin, const jx_aval *av, int nout) {
    jx_fn *f = jx_trace(name, body, user, nin, av, nout);
    if (!f) fprintf(stderr, "\n  trace %s: %s\n", name, jx_errmsg());
    return f;
}

/* Evaluates f on one f64 vector and returns output `which` (others released). */
static jx_array *eval_vec(const jx_fn *f, const double *xv, int64_t n, int which) {
    jx_array *x = jx_array_new(JX_F64, JX_INTS(n), xv), *out[4] = {NULL};
    int m = jx_fn_num_outputs(f);
    jx_status st = jt_eval(f, 1, &x, m, out);
    if (st != JX_OK) fprintf(stderr, "\n  eval: %s\n", jx_errmsg());
    jx_array_release(x);
    for (int i = 0; i < m; i++)
        if (i != which) jx_array_release(out[i]);
    return st == JX_OK ? out[which] : NULL;
}

static void release3(fns *u) {
    jx_fn_release(u->f);
    jx_fn_release(u->a);
    jx_fn_release(u->b);
}

/* ------------------------------------------------------------------ custom_jvp */

static void b_square(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], in[0]);
}
/* A deliberately different derivative: 2x clipped to [-1, 1]. */
static void b_square_jvp_clipped(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], in[0]);
    out[1] = jx_mul(jx_clamp(jx_mul(in[0], jx_scalar(JX_F64, 2.0)), -1.0, 1.0), in[1]);
}
static void b_use_custom_jvp(jx_val *out, const jx_val *in, void *user) {
    fns *u = user;
    jx_val y;
    jx_custom_jvp_call(u->f, u->a, 1, in, 1, &y);
    out[0] = jx_reduce_sum(y, JX_NOINTS);
}

static void test_custom_jvp_used(void) {
    jx_aval a = JX_AVAL(JX_F64, 3), a2[2] = {a, a};
    fns u = {trace1("square", b_square, NULL, 1, &a, 1),
             trace1("square_jvp", b_square_jvp_clipped, NULL, 2, a2, 2), NULL};
    jx_fn *f = trace1("use", b_use_custom_jvp, &u, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_NOINTS), *j = jx_jvp(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    double xv[3] = {-2, 0.25, 3}, want_g[3] = {-1, 0.5, 1}, want_y = 4 + 0.0625 + 9;
    jx_array *gx = eval_vec(g, xv, 3, 0);
    JT_ASSERT_ARRAY(gx, want_g, 3, 0);
    /* forward mode: dx = ones gives the sum of the clipped derivatives */
    jx_array *x = jx_array_new(JX_F64, JX_INTS(3), xv), *dx = jx_array_new(JX_F64, JX_INTS(3), (double[]){1, 1, 1});
    jx_array *in[2] = {x, dx}, *o[2] = {NULL, NULL};
    CU_ASSERT_EQUAL(jt_eval(j, 2, in, 2, o), JX_OK);
    double want_dy = 0.5;
    JT_ASSERT_ARRAY(o[0], &want_y, 1, 0);
    JT_ASSERT_ARRAY(o[1], &want_dy, 1, 0);
    for (int i = 0; i < 2; i++) jx_array_release(o[i]), jx_array_release(in[i]);
    jx_array_release(gx);
    jx_fn_release(g);
    jx_fn_release(j);
    jx_fn_release(f);
    release3(&u);
}

/* log1pexp(x) = log1p(exp(x)): differentiated naively its f32 gradient at 100 is
 * inf/inf = NaN; with the stable jvp 1 - 1/(1 + e^x) it is exactly 1. */
static void b_log1pexp(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_log1p(jx_exp(in[0]));
}
static void b_log1pexp_jvp(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val one = jx_scalar_like(in[0], 1.0);
    out[0] = jx_log1p(jx_exp(in[0]));
    jx_val d = jx_sub(one, jx_div(one, jx_add(one, jx_exp(in[0]))));
    out[1] = jx_mul(d, in[1]);
}
static void b_use_log1pexp(jx_val *out, const jx_val *in, void *user) {
    fns *u = user;
    jx_custom_jvp_call(u->f, u->a, 1, in, 1, out);
    out[0] = jx_reduce_sum(out[0], JX_NOINTS);
}

static double grad_at(const jx_fn *f, jx_dtype t, double xv) {
    jx_fn *g = jx_grad(f, JX_NOINTS);
    if (!g) return fprintf(stderr, "\n  grad: %s\n", jx_errmsg()), -12345;
    jx_array *x = jx_array_scalar(t, xv), *y = NULL;
    double r = jt_eval(g, 1, &x, 1, &y) == JX_OK ? jx_array_get(y, 0) : -12345;
    jx_array_release(x);
    jx_array_release(y);
    jx_fn_release(g);
    return r;
}

static void test_custom_jvp_log1pexp(void) {
    jx_aval a = JX_SCALAR(JX_F32), a2[2] = {a, a};
    fns u = {trace1("log1pexp", b_log1pexp, NULL, 1, &a, 1), trace1("log1pexp_jvp", b_log1pexp_jvp, NULL, 2, a2, 2), NULL};
    jx_fn *stable = trace1("stable", b_use_log1pexp, &u, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(stable);
    CU_ASSERT(isnan(grad_at(u.f, JX_F32, 100.0))); /* the naive derivative */
    CU_ASSERT_EQUAL(grad_at(stable, JX_F32, 100.0), 1.0);
    CU_ASSERT_DOUBLE_EQUAL(grad_at(stable, JX_F32, 0.0), 0.5, 1e-7);
    jx_fn_release(stable);
    release3(&u);
}

/* A correct custom jvp passes the numeric checks in both modes (its jvp fn is linear
 * in dx, so reverse mode transposes it). */
static fns g_l64;
static void b_use_log1pexp_vec(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_custom_jvp_call(g_l64.f, g_l64.a, 1, in, 1, out);
    out[0] = jx_mul(out[0], in[0]);
}

static void test_custom_jvp_gradcheck(void) {
    jx_aval shapes[3] = {JX_SCALAR(JX_F64), JX_AVAL(JX_F64, 4), JX_AVAL(JX_F64, 2, 0)};
    for (int s = 0; s < 3; s++) {
        jx_aval a2[2] = {shapes[s], shapes[s]};
        g_l64 = (fns){trace1("l", b_log1pexp, NULL, 1, &shapes[s], 1), trace1("lj", b_log1pexp_jvp, NULL, 2, a2, 2), NULL};
        CU_ASSERT(jt_check_grads("log1pexp", b_use_log1pexp_vec, NULL, 1, &shapes[s], -3, 3, 1e-6));
        release3(&g_l64);
    }
}

/* ------------------------------------------------------------------ custom_vjp */

static void b_sin(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sin(in[0]);
}
static void b_sin_fwd(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sin(in[0]);
    out[1] = jx_cos(in[0]);
}
/* Gradient scaled by 0.5: (cos x, ybar) -> 0.5 * cos x * ybar. */
static void b_sin_bwd_half(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(jx_mul(in[0], in[1]), jx_scalar(JX_F64, 0.5));
}
static void b_use_custom_vjp(jx_val *out, const jx_val *in, void *user) {
    fns *u = user;
    jx_val y;
    jx_custom_vjp_call(u->f, u->a, u->b, 1, in, 1, &y);
    out[0] = jx_reduce_sum(y, JX_NOINTS);
}

static void test_custom_vjp_reverse_and_forward(void) {
    jx_aval a = JX_AVAL(JX_F64, 3), a2[2] = {a, a};
    fns u = {trace1("sin", b_sin, NULL, 1, &a, 1), trace1("sin_fwd", b_sin_fwd, NULL, 1, &a, 2),
             trace1("sin_bwd", b_sin_bwd_half, NULL, 2, a2, 1)};
    jx_fn *f = trace1("use", b_use_custom_vjp, &u, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_NOINTS), *j = jx_jvp(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    double xv[3] = {-1, 0.5, 2}, want[3], dxv[3] = {1, 2, -1}, want_dy = 0;
    for (int i = 0; i < 3; i++) want[i] = 0.5 * cos(xv[i]), want_dy += cos(xv[i]) * dxv[i];
    jx_array *gx = eval_vec(g, xv, 3, 0);
    JT_ASSERT_ARRAY(gx, want, 3, 1e-15);
    /* forward mode differentiates fn itself: the full cos(x) */
    jx_array *in[2] = {jx_array_new(JX_F64, JX_INTS(3), xv), jx_array_new(JX_F64, JX_INTS(3), dxv)}, *o[2] = {0};
    CU_ASSERT_EQUAL(jt_eval(j, 2, in, 2, o), JX_OK);
    JT_ASSERT_ARRAY(o[1], &want_dy, 1, 1e-14);
    for (int i = 0; i < 2; i++) jx_array_release(o[i]), jx_array_release(in[i]);
    jx_array_release(gx);
    jx_fn_release(g);
    jx_fn_release(j);
    jx_fn_release(f);
    release3(&u);
}

/* Two inputs, no residuals used but the inputs themselves: f(x, y) = x * y with
 * bwd (x, y, g) -> (g * y, 0.5 * g * x) on a rank-0 y; fwd keeps x and y. */
static void b_mul(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], in[1]);
}
static void b_mul_fwd(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], in[1]);
    out[1] = in[0];
    out[2] = in[1];
}
static void b_mul_bwd(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[2], in[1]);
    out[1] = jx_mul(jx_reduce_sum(jx_mul(in[2], in[0]), JX_NOINTS), jx_scalar(JX_F64, 0.5));
}
static void b_use_mul(jx_val *out, const jx_val *in, void *user) {
    fns *u = user;
    jx_val y;
    jx_custom_vjp_call(u->f, u->a, u->b, 2, in, 1, &y);
    out[0] = jx_reduce_sum(jx_sin(y), JX_NOINTS);
}

static void test_custom_vjp_two_inputs(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 2), JX_SCALAR(JX_F64)}, ab[3] = {a[0], a[1], a[0]};
    fns u = {trace1("mul", b_mul, NULL, 2, a, 1), trace1("mul_fwd", b_mul_fwd, NULL, 2, a, 3),
             trace1("mul_bwd", b_mul_bwd, NULL, 3, ab, 2)};
    jx_fn *f = trace1("use", b_use_mul, &u, 2, a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int64_t both[2] = {0, 1};
    jx_fn *g = jx_grad(f, (jx_ints){both, 2});
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    double xv[2] = {0.3, -0.7}, yv = 1.5;
    jx_array *in[2] = {jx_array_new(JX_F64, JX_INTS(2), xv), jx_array_scalar(JX_F64, yv)}, *o[2] = {0};
    CU_ASSERT_EQUAL(jt_eval(g, 2, in, 2, o), JX_OK);
    double wx[2], wy = 0;
    for (int i = 0; i < 2; i++) {
        double c = cos(xv[i] * yv);
        wx[i] = c * yv;
        wy += 0.5 * c * xv[i];
    }
    JT_ASSERT_ARRAY(o[0], wx, 2, 1e-15);
    JT_ASSERT_ARRAY(o[1], &wy, 1, 1e-15);
    for (int i = 0; i < 2; i++) jx_array_release(o[i]), jx_array_release(in[i]);
    jx_fn_release(g);
    jx_fn_release(f);
    release3(&u);
}

/* With the true derivative as bwd, both modes pass the numeric checks. */
static fns g_sv;
static void b_sin_bwd(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], in[1]);
}
static void b_use_sv(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_custom_vjp_call(g_sv.f, g_sv.a, g_sv.b, 1, in, 1, out);
    out[0] = jx_mul(out[0], jx_exp(in[0]));
}

static void test_custom_vjp_gradcheck(void) {
    jx_aval shapes[3] = {JX_SCALAR(JX_F64), JX_AVAL(JX_F64, 2, 3), JX_AVAL(JX_F64, 0)};
    for (int s = 0; s < 3; s++) {
        jx_aval a2[2] = {shapes[s], shapes[s]};
        g_sv = (fns){trace1("sin", b_sin, NULL, 1, &shapes[s], 1), trace1("fwd", b_sin_fwd, NULL, 1, &shapes[s], 2),
                     trace1("bwd", b_sin_bwd, NULL, 2, a2, 1)};
        CU_ASSERT(jt_check_grads("custom_vjp", b_use_sv, NULL, 1, &shapes[s], -2, 2, 1e-6));
        release3(&g_sv);
    }
}

/* ------------------------------------------------------------------ checkpoint */

static void b_chain(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sin(jx_sin(jx_mul(jx_sin(in[0]), in[0])));
}
static void b_use_chain(jx_val *out, const jx_val *in, void *user) {
    fns *u = user;
    jx_val y;
    if (u) jx_checkpoint(u->f, 1, in, 1, &y);
    else b_chain(&y, in, NULL);
    out[0] = jx_reduce_sum(jx_exp(y), JX_NOINTS);
}

/* Number of residuals jx_linearize stores across for f. */
static int num_residuals(const jx_fn *f) {
    jx_fn *lin = NULL, *known = jx_linearize(f, &lin);
    if (!known) return fprintf(stderr, "\n  linearize: %s\n", jx_errmsg()), -1;
    int r = jx_fn_num_outputs(known) - jx_fn_num_outputs(f);
    jx_fn_release(known);
    jx_fn_release(lin);
    return r;
}

static void test_checkpoint_same_grads_fewer_residuals(void) {
    jx_aval a = JX_AVAL(JX_F64, 5);
    fns u = {trace1("chain", b_chain, NULL, 1, &a, 1), NULL, NULL};
    jx_fn *plain = trace1("plain", b_use_chain, NULL, 1, &a, 1), *ck = trace1("ck", b_use_chain, &u, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ck);
    jx_fn *gp = jx_grad(plain, JX_NOINTS), *gc = jx_grad(ck, JX_NOINTS);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gc);
    double xv[5] = {-1.5, -0.2, 0, 0.7, 2.1};
    jx_array *x = jx_array_new(JX_F64, JX_INTS(5), xv), *yp = NULL, *yc = NULL;
    CU_ASSERT_EQUAL(jt_eval(gp, 1, &x, 1, &yp), JX_OK);
    CU_ASSERT_EQUAL(jt_eval(gc, 1, &x, 1, &yc), JX_OK);
    CU_ASSERT_FATAL(yp && yc);
    CU_ASSERT_EQUAL(memcmp(jx_array_data(yp), jx_array_data(yc), 5 * sizeof(double)), 0);
    /* residuals: the plain function keeps cos/sin values of every step; checkpoint only x
     * and what the exp after it needs */
    int rp = num_residuals(plain), rc = num_residuals(ck);
    CU_ASSERT(rp > 0 && rc > 0);
    CU_ASSERT(rc < rp);
    CU_ASSERT_EQUAL(rc, 2); /* x and exp(y) */
    if (!(rc < rp) || rc != 2) fprintf(stderr, "\n  residuals: plain %d, checkpoint %d\n", rp, rc);
    /* the backward pass of the checkpointed vjp recomputes sin(x) */
    jx_fn *v = jx_vjp(ck);
    char *s = v ? jx_fn_to_string(v) : NULL;
    CU_ASSERT_PTR_NOT_NULL(s);
    CU_ASSERT(s && strstr(s, "checkpoint"));
    free(s);
    jx_fn_release(v);
    jx_array_release(x);
    jx_array_release(yp);
    jx_array_release(yc);
    jx_fn_release(gp);
    jx_fn_release(gc);
    jx_fn_release(plain);
    jx_fn_release(ck);
    release3(&u);
}

static fns g_ck;
static void b_use_ck(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val y;
    jx_checkpoint(g_ck.f, 1, in, 1, &y);
    out[0] = jx_mul(y, in[0]);
}

static void test_checkpoint_gradcheck(void) {
    jx_aval shapes[3] = {JX_SCALAR(JX_F64), JX_AVAL(JX_F64, 3, 2), JX_AVAL(JX_F64, 0, 4)};
    for (int s = 0; s < 3; s++) {
        g_ck = (fns){trace1("chain", b_chain, NULL, 1, &shapes[s], 1), NULL, NULL};
        CU_ASSERT(jt_check_grads("checkpoint", b_use_ck, NULL, 1, &shapes[s], -2, 2, 1e-6));
        release3(&g_ck);
    }
}

/* Second order through checkpoint: the hessian of sum(exp(chain(x))) matches. */
static void test_checkpoint_second_order(void) {
    jx_aval a = JX_AVAL(JX_F64, 3);
    fns u = {trace1("chain", b_chain, NULL, 1, &a, 1), NULL, NULL};
    jx_fn *plain = trace1("plain", b_use_chain, NULL, 1, &a, 1), *ck = trace1("ck", b_use_chain, &u, 1, &a, 1);
    jx_fn *hp = jx_hessian(plain, 0), *hc = jx_hessian(ck, 0);
    if (!hc) fprintf(stderr, "\n  hessian: %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(hp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(hc);
    double xv[3] = {0.3, -1.1, 0.8};
    jx_array *x = jx_array_new(JX_F64, JX_INTS(3), xv), *yp = NULL, *yc = NULL;
    CU_ASSERT_EQUAL(jt_eval(hp, 1, &x, 1, &yp), JX_OK);
    CU_ASSERT_EQUAL(jt_eval(hc, 1, &x, 1, &yc), JX_OK);
    double want[9];
    for (int i = 0; i < 9; i++) want[i] = jx_array_get(yp, i);
    JT_ASSERT_ARRAY(yc, want, 9, 1e-12);
    jx_array_release(x);
    jx_array_release(yp);
    jx_array_release(yc);
    jx_fn_release(hp);
    jx_fn_release(hc);
    jx_fn_release(plain);
    jx_fn_release(ck);
    release3(&u);
}

/* ------------------------------------------------------------------ errors */

/* Each case calls one op with something wrong; the body records the call's line. */
typedef struct err_case {
    int op; /* 0 custom_jvp, 1 custom_vjp, 2 checkpoint */
    const jx_fn *f, *a, *b;
    int nin, nout;
    const char *want;
} err_case;
static int g_line;

static void b_err(jx_val *out, const jx_val *in, void *user) {
    const err_case *c = user;
    jx_val y[4]; /* room for any nout of the cases */
    switch (c->op) {
    case 0:
        g_line = __LINE__ + 1;
        jx_custom_jvp_call(c->f, c->a, c->nin, in, c->nout, y);
        break;
    case 1:
        g_line = __LINE__ + 1;
        jx_custom_vjp_call(c->f, c->a, c->b, c->nin, in, c->nout, y);
        break;
    default:
        g_line = __LINE__ + 1;
        jx_checkpoint(c->f, c->nin, in, c->nout, y);
        break;
    }
    out[0] = jx_val_ok(y[0]) ? y[0] : in[0];
}

static void b_first(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = in[0];
}
static void b_pair(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = in[0];
    out[1] = in[0];
}
static void b_sum(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(in[0], JX_NOINTS);
}
static void b_jvp_bad_out(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = in[0];
    out[1] = jx_reduce_sum(in[1], JX_NOINTS);
}

static void test_errors(void) {
    jx_aval v3 = JX_AVAL(JX_F64, 3), v2 = JX_AVAL(JX_F64, 2), s = JX_SCALAR(JX_F64);
    jx_aval v33[2] = {v3, v3}, v32[2] = {v3, v2}, v3s[2] = {v3, s};
    jx_fn *sq = trace1("sq", b_square, NULL, 1, &v3, 1);
    jx_fn *sq2 = trace1("sq2", b_square, NULL, 1, &v2, 1);
    jx_fn *id_v3 = trace1("id", b_first, NULL, 1, &v3, 1);           /* (x) -> (x) */
    jx_fn *jvp_ok = trace1("jvp_ok", b_pair, NULL, 2, v33, 2);       /* (x, dx) -> (x, x) */
    jx_fn *jvp_bad_in = trace1("jvp_bad_in", b_pair, NULL, 2, v32, 2);
    jx_fn *jvp_bad_out = trace1("jvp_bad_out", b_jvp_bad_out, NULL, 2, v33, 2);
    jx_fn *pair = trace1("pair", b_pair, NULL, 1, &v3, 2);           /* (x) -> (x, x): fwd with a residual */
    jx_fn *fwd_sum = trace1("fwd_sum", b_sum, NULL, 1, &v3, 1);      /* (x) -> (f64[]) */
    jx_fn *bwd_ok = trace1("bwd_ok", b_first, NULL, 2, v33, 1);      /* (res, g) -> (res) */
    jx_fn *bwd_bad_in = trace1("bwd_bad_in", b_first, NULL, 2, v3s, 1);
    jx_fn *bwd_bad_out = trace1("bwd_bad_out", b_sum, NULL, 2, v33, 1);
    (void)jvp_ok;
    (void)id_v3;
    CU_ASSERT_FATAL(sq && sq2 && jvp_bad_in && jvp_bad_out && pair && fwd_sum && bwd_ok && bwd_bad_in && bwd_bad_out);
    err_case cases[] = {
        {0, sq, NULL, NULL, 1, 1, "custom_jvp_call: jvp function is NULL"},
        {0, NULL, sq, NULL, 1, 1, "custom_jvp_call: primal function is NULL"},
        {0, sq, jvp_ok, NULL, 2, 1, "custom_jvp_call: 'sq' takes 1 inputs, got 2"},
        {0, sq, jvp_ok, NULL, 1, 2, "custom_jvp_call: 'sq' gives 1 outputs, got room for 2"},
        {0, sq2, jvp_ok, NULL, 1, 1, "custom_jvp_call: function 'sq2' input 0 is f64[2], operand is f64[3]"},
        {0, sq, sq, NULL, 1, 1, "custom_jvp_call: jvp function has 1 inputs, want 2"},
        {0, sq, jvp_bad_in, NULL, 1, 1, "custom_jvp_call: jvp function input 1 is f64[2], want f64[3]"},
        {0, sq, pair, NULL, 1, 1, "custom_jvp_call: jvp function has 1 inputs, want 2"},
        {0, sq, jvp_bad_out, NULL, 1, 1, "custom_jvp_call: jvp function output 1 is f64[], want f64[3]"},
        {1, sq, pair, NULL, 1, 1, "custom_vjp_call: bwd function is NULL"},
        {1, sq, fwd_sum, bwd_ok, 1, 1, "custom_vjp_call: fwd function output 0 is f64[], want f64[3]"},
        {1, sq, sq2, bwd_ok, 1, 1, "custom_vjp_call: fwd function input 0 is f64[2], want f64[3]"},
        {1, sq, pair, bwd_bad_in, 1, 1, "custom_vjp_call: bwd function input 1 is f64[], want f64[3]"},
        {1, sq, pair, bwd_bad_out, 1, 1, "custom_vjp_call: bwd function output 0 is f64[], want f64[3]"},
        {1, sq, sq, bwd_ok, 1, 1, "custom_vjp_call: bwd function has 2 inputs, want 1"},
        {2, NULL, NULL, NULL, 1, 1, "checkpoint: primal function is NULL"},
        {2, sq, NULL, NULL, 1, 3, "checkpoint: 'sq' gives 1 outputs, got room for 3"},
        {2, sq2, NULL, NULL, 1, 1, "checkpoint: function 'sq2' input 0 is f64[2], operand is f64[3]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        g_line = -1;
        jx_fn *f = jx_trace("err", b_err, &cases[i], 1, &v3, 1);
        CU_ASSERT_PTR_NULL(f);
        JT_ASSERT_ERR(cases[i].want);
        JT_ASSERT_ERR(jt_place(__FILE__, g_line));
        jx_fn_release(f);
    }
    /* outside of a trace */
    jx_val in = {0, 0}, out;
    int line = __LINE__ + 1;
    jx_checkpoint(sq, 1, &in, 1, &out);
    JT_ASSERT_ERR("checkpoint: called outside of a trace");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    jx_fn *all[] = {sq, sq2, id_v3, jvp_ok, jvp_bad_in, jvp_bad_out, pair, fwd_sum, bwd_ok, bwd_bad_in, bwd_bad_out};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) jx_fn_release(all[i]);
}

/* ------------------------------------------------------------------ text form */

static fns g_rt;
static jx_fn *g_rt_sq, *g_rt_sqjvp;
/* All three: custom_vjp(sin), checkpoint(sin) of that, plus custom_jvp(square). */
static void b_rt(jx_val *out, const jx_val *in, void *user) {
    fns *u = user;
    jx_val y1, y2, z;
    jx_custom_vjp_call(u->f, u->a, u->b, 1, in, 1, &y1);
    jx_checkpoint(u->f, 1, &y1, 1, &y2);
    jx_custom_jvp_call(g_rt_sq, g_rt_sqjvp, 1, in, 1, &z);
    out[0] = jx_add(jx_reduce_sum(y2, JX_NOINTS), jx_reduce_sum(z, JX_NOINTS));
}

/* Prints f, parses it back, checks it prints identically and evaluates the same. */
static void roundtrip(const jx_fn *f, int nin, jx_array *const *x) {
    char *s = jx_fn_to_string(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    jx_fn *p = jx_fn_parse(s);
    if (!p) fprintf(stderr, "\n  parse: %s\n%s\n", jx_errmsg(), s);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    char *s2 = jx_fn_to_string(p);
    CU_ASSERT(s2 && strcmp(s, s2) == 0);
    int m = jx_fn_num_outputs(f);
    jx_array *a[4] = {0}, *b[4] = {0};
    CU_ASSERT_EQUAL(jt_eval(f, nin, x, m, a), JX_OK);
    CU_ASSERT_EQUAL(jt_eval(p, nin, x, m, b), JX_OK);
    for (int i = 0; i < m; i++) {
        CU_ASSERT(a[i] && b[i] && memcmp(jx_array_data(a[i]), jx_array_data(b[i]), sizeof(double)) == 0);
        jx_array_release(a[i]);
        jx_array_release(b[i]);
    }
    free(s);
    free(s2);
    jx_fn_release(p);
}

static void test_text_roundtrip(void) {
    jx_aval a = JX_AVAL(JX_F64, 3), a2[2] = {a, a};
    g_rt = (fns){trace1("sin", b_sin, NULL, 1, &a, 1), trace1("sin_fwd", b_sin_fwd, NULL, 1, &a, 2),
                 trace1("sin_bwd", b_sin_bwd_half, NULL, 2, a2, 1)};
    g_rt_sq = trace1("square", b_square, NULL, 1, &a, 1);
    g_rt_sqjvp = trace1("square_jvp", b_square_jvp_clipped, NULL, 2, a2, 2);
    jx_fn *f = trace1("all", b_rt, &g_rt, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char *s = jx_fn_to_string(f);
    CU_ASSERT(s && strstr(s, "custom_jvp_call") && strstr(s, "custom_vjp_call") && strstr(s, "checkpoint"));
    free(s);
    double xv[3] = {0.5, -1, 2};
    jx_array *x = jx_array_new(JX_F64, JX_INTS(3), xv);
    roundtrip(f, 1, &x);
    /* the vjp holds the grad-internal tangent primitives' transposes; jvp holds them */
    jx_fn *j = jx_jvp(f), *v = jx_vjp(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    char *sj = jx_fn_to_string(j);
    CU_ASSERT(sj && strstr(sj, "custom_vjp_tangent") && strstr(sj, "checkpoint_tangent"));
    free(sj);
    jx_array *xx[2] = {x, x};
    roundtrip(j, 2, xx);
    jx_array *one = jx_array_scalar(JX_F64, 1.0), *xo[2] = {x, one};
    roundtrip(v, 2, xo);
    jx_array_release(one);
    jx_array_release(x);
    jx_fn_release(j);
    jx_fn_release(v);
    jx_fn_release(f);
    jx_fn_release(g_rt_sq);
    jx_fn_release(g_rt_sqjvp);
    release3(&g_rt);
}

/* checkpoint_tangent bound without its jvp function: the shape rule refuses it. */
static void b_tangent_without_jvp(jx_val *out, const jx_val *in, void *u) {
    jx_fn *f = u;
    jx__attr a = jx__a_fns(JX_A_FN, 1, &f);
    jx_val ops[2] = {in[0], in[0]};
    jx__bind(JX_HERE, JX_PRIM_CHECKPOINT_TAN, 2, ops, 1, &a, 1, out, NULL);
}

/* grad attaches fn's jvp to custom_vjp_tangent and checkpoint_tangent, so the backends
 * run them without differentiating anything: the interpreter evaluates that function,
 * and the jit inlines its tangent half (no tangent primitive is left to run as a host
 * step), with the interpreter's values. */
static void test_tangents_carry_jvp(void) {
    jx_aval a = JX_AVAL(JX_F64, 3);
    jx_aval a2[2] = {a, a};
    g_rt = (fns){trace1("sin", b_sin, NULL, 1, &a, 1), trace1("sin_fwd", b_sin_fwd, NULL, 1, &a, 2),
                 trace1("sin_bwd", b_sin_bwd_half, NULL, 2, a2, 1)};
    g_rt_sq = trace1("square", b_square, NULL, 1, &a, 1);
    g_rt_sqjvp = trace1("square_jvp", b_square_jvp_clipped, NULL, 2, a2, 2);
    jx_fn *f = trace1("all", b_rt, &g_rt, 1, &a, 1), *j = f ? jx_jvp(f) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    int tangents = 0;
    for (int k = 0; k < j->neqn; k++) {
        const jx__eqn *e = &j->eqns[k];
        if (e->prim != JX_PRIM_CUSTOM_VJP_TAN && e->prim != JX_PRIM_CHECKPOINT_TAN) continue;
        tangents++;
        const jx_fn *jv = jx__eqn_fn(e, JX_A_JVP, 0), *fn = jx__eqn_fn(e, JX_A_FN, 0);
        CU_ASSERT(jv && fn && jv->nin == 2 * fn->nin && jv->nout == 2 * fn->nout);
    }
    CU_ASSERT_EQUAL(tangents, 2);
    jx_fn *p = jx__jit_prepare(jx__noloc, j, NULL);
    char *sp = p ? jx_fn_to_string(p) : NULL;
    CU_ASSERT(sp && !strstr(sp, "_tangent") && !strstr(sp, "checkpoint"));
    free(sp);
    double xv[3] = {0.5, -1, 2}, dv[3] = {1, 0.25, -3};
    jx_array *in[2] = {jx_array_new(JX_F64, JX_INTS(3), xv), jx_array_new(JX_F64, JX_INTS(3), dv)};
    jx_array *want[2] = {NULL, NULL}, *got[2] = {NULL, NULL};
    CU_ASSERT_EQUAL(jx_eval(j, 2, in, 2, want), JX_OK);
    jx_exec *x = jx_jit(j, JX_DEVICE_CPU, NULL);
    CU_ASSERT_EQUAL(x ? jx_exec_run(x, 2, in, 2, got) : JX_ERR_INTERNAL, JX_OK);
    for (int i = 0; i < 2; i++) { /* y and dy: sums, one element each */
        CU_ASSERT(want[i] && got[i] && jx_array_size(got[i]) == 1 && jx_array_size(want[i]) == 1);
        if (want[i] && got[i]) CU_ASSERT_DOUBLE_EQUAL(jx_array_get(got[i], 0), jx_array_get(want[i], 0), 1e-12);
        jx_array_release(want[i]);
        jx_array_release(got[i]);
        jx_array_release(in[i]);
    }
    jx_exec_release(x);
    /* bound without its jvp, the primitive is refused at the binding line */
    jx_fn *bad = jx_trace("bad", b_tangent_without_jvp, g_rt_sq, 1, &a, 1);
    CU_ASSERT_PTR_NULL(bad);
    CU_ASSERT(strstr(jx_errmsg(), "test_grad_custom.c:") && strstr(jx_errmsg(), "checkpoint_tangent") &&
              strstr(jx_errmsg(), "attribute 'jvp' must be one function"));
    jx_fn_release(bad);
    jx_fn_release(p);
    jx_fn_release(j);
    jx_fn_release(f);
    jx_fn_release(g_rt_sq);
    jx_fn_release(g_rt_sqjvp);
    release3(&g_rt);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"custom_jvp: the user's (clipped) derivative is used", test_custom_jvp_used},
        {"custom_jvp: stable log1pexp gradient at 100 is 1", test_custom_jvp_log1pexp},
        {"custom_jvp: numeric checks", test_custom_jvp_gradcheck},
        {"custom_vjp: bwd used in reverse mode, fn in forward mode", test_custom_vjp_reverse_and_forward},
        {"custom_vjp: two inputs, one rank 0", test_custom_vjp_two_inputs},
        {"custom_vjp: numeric checks", test_custom_vjp_gradcheck},
        {"checkpoint: identical grads, fewer residuals", test_checkpoint_same_grads_fewer_residuals},
        {"checkpoint: numeric checks", test_checkpoint_gradcheck},
        {"tangent primitives carry their jvp: interpreter and jit run it, no grad at run time", test_tangents_carry_jvp},
        {"checkpoint: second order", test_checkpoint_second_order},
        {"signature errors name the caller's line", test_errors},
        {"text form round trip", test_text_roundtrip},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad custom", tests);
}
