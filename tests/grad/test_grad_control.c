/* test_grad_control.c: derivatives through call, cond, scan and while: jvp against finite
 * differences, vjp against jvp, gradients against the branch taken or the unrolled loop,
 * higher orders, and reverse mode's error for while loops. */
#include <stdlib.h>

#include "gradcheck.h"
#include "ir.h"

/* ------------------------------------------------------------------ helpers */

/* jvp against finite differences and vjp against jvp for f at x; both transformed
 * functions must typecheck too (their nested bodies are built by the rules). */
static int check_at(const char *name, const jx_fn *f, jx_array *const *x) {
    double ej = jt_jvp_error(f, x, 1e-6, 7), ev = jt_vjp_error(f, x, 11);
    jx_fn *jf = jx_jvp(f), *vf = jx_vjp(f);
    int typed = jf && vf && jx_fn_typecheck(jf) == JX_OK && jx_fn_typecheck(vf) == JX_OK;
    if (!typed) fprintf(stderr, "\n  %s: transformed function does not typecheck: %s\n", name, jx_errmsg());
    jx_fn_release(jf);
    jx_fn_release(vf);
    int good = typed && ej <= 1e-6 && ev <= 1e-10;
    if (!good) fprintf(stderr, "\n  %s: jvp error %g, vjp identity error %g\n", name, ej, ev);
    return good;
}

/* Like jt_check_grads with nout outputs; non-f64 inputs are zeros. */
static int check(const char *name, jx_body body, void *user, int nin, const jx_aval *av, int nout, double lo,
                 double hi) {
    jx_fn *f = jx_trace(name, body, user, nin, av, nout);
    if (!f) {
        fprintf(stderr, "\n  %s: trace failed: %s\n", name, jx_errmsg());
        return 0;
    }
    uint64_t seed = 99;
    jx_array *x[8];
    for (int i = 0; i < nin; i++) {
        jx_ints s = {av[i].shape, av[i].rank};
        x[i] = av[i].dtype == JX_F64 ? jt_random(s, lo, hi, &seed) : jx_array_zeros(av[i].dtype, s);
    }
    int good = check_at(name, f, x);
    for (int i = 0; i < nin; i++) jx_array_release(x[i]);
    jx_fn_release(f);
    return good;
}

/* xbar = J(x)^T ones through jx_vjp: n inputs, one output. out receives n arrays. */
static jx_status vjp_ones(const jx_fn *f, int n, jx_array *const *x, jx_array **xbar) {
    jx_fn *v = jx_vjp(f);
    if (!v) {
        fprintf(stderr, "\n  vjp failed: %s\n", jx_errmsg());
        return jx_errcode();
    }
    jx_aval a = jx_fn_output_aval(f, 0);
    jx_array *in[9], *out[9];
    for (int i = 0; i < n; i++) in[i] = x[i];
    in[n] = jx_array_ones(a.dtype, (jx_ints){a.shape, a.rank});
    jx_status st = jt_eval(v, n + 1, in, n + 1, out);
    if (st == JX_OK) {
        jx_array_release(out[0]);
        for (int i = 0; i < n; i++) xbar[i] = out[i + 1];
    } else {
        fprintf(stderr, "\n  vjp eval failed: %s\n", jx_errmsg());
    }
    jx_array_release(in[n]);
    jx_fn_release(v);
    return st;
}

static int has_prim(const jx_fn *f, jx_prim p) {
    for (int k = 0; k < f->neqn; k++)
        if (f->eqns[k].prim == (int16_t)p) return 1;
    return 0;
}

/* ------------------------------------------------------------------ call */

static void callee(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(jx_sin(in[0]), in[1]);
    out[1] = jx_cos(in[0]);
}

static void f_call(jx_val *out, const jx_val *in, void *user) {
    jx_val r[2];
    jx_call((const jx_fn *)user, 2, in, 2, r);
    out[0] = jx_add(jx_mul(r[0], r[1]), in[1]);
}

static void test_call(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 2, 3), JX_AVAL(JX_F64, 2, 3)};
    jx_fn *g = jx_trace("callee", callee, NULL, 2, a, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT(jt_check_grads("call", f_call, g, 2, a, -2, 2, 1e-6));
    /* jvp inlines the call: no call equation is left to transpose */
    jx_fn *f = jx_trace("f_call", f_call, g, 2, a, 1);
    jx_fn *jf = jx_jvp(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jf);
    CU_ASSERT(has_prim(f, JX_PRIM_CALL));
    CU_ASSERT(!has_prim(jf, JX_PRIM_CALL));
    jx_fn_release(jf);
    jx_fn_release(f);
    jx_fn_release(g);
}

/* ------------------------------------------------------------------ cond */

/* Branches over (x, y) that also read w, a value of the enclosing body. */
typedef struct cond_env {
    jx_val w;
    int index; /* literal index for f_cond_lit; -1: the index is input 0 */
} cond_env;

static void br0(jx_val *out, const jx_val *in, void *u) {
    cond_env *e = u;
    out[0] = jx_add(jx_mul(in[0], e->w), jx_sin(in[1]));
}
static void br1(jx_val *out, const jx_val *in, void *u) {
    cond_env *e = u;
    out[0] = jx_cos(jx_mul(jx_mul(in[0], in[1]), e->w));
}
static void br2(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sub(jx_mul(in[0], in[0]), in[1]);
}

/* out = cond(index, x, y) * y, with w = sin(y) captured by the branches. */
static void cond_body(jx_val *out, jx_val index, jx_val x, jx_val y, int nb, cond_env *e) {
    static const jx_body brs[3] = {br0, br1, br2};
    e->w = jx_sin(y);
    jx_val in[2] = {x, y}, r;
    jx_switch(index, nb, brs, e, 2, in, 1, &r);
    out[0] = jx_mul(r, y);
}

static void f_cond_lit(jx_val *out, const jx_val *in, void *u) {
    cond_env *e = u;
    cond_body(out, jx_scalar(JX_I32, e->index), in[0], in[1], e->index < 2 ? 2 : 3, e);
}

static void f_cond_dyn(jx_val *out, const jx_val *in, void *u) { cond_body(out, in[0], in[1], in[2], 3, u); }

static void f_cond_bool(jx_val *out, const jx_val *in, void *u) { cond_body(out, in[0], in[1], in[2], 2, u); }

/* The branch alone, for comparing gradients: out = branch(x, y) * y, w = sin(y). */
static void f_branch(jx_val *out, const jx_val *in, void *u) {
    static const jx_body brs[3] = {br0, br1, br2};
    cond_env *e = u;
    e->w = jx_sin(in[1]);
    jx_val r;
    brs[e->index](&r, in, e);
    out[0] = jx_mul(r, in[1]);
}

static void test_cond_checks(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 4), JX_AVAL(JX_F64, 4)};
    for (int b = 0; b < 3; b++) {
        cond_env e = {JX_NONE, b};
        CU_ASSERT(check("cond literal index", f_cond_lit, &e, 2, a, 1, -1.5, 1.5));
    }
}

static void test_cond_equals_branch(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 4), JX_AVAL(JX_F64, 4)};
    uint64_t seed = 5;
    jx_array *x[2] = {jt_random(JX_INTS(4), -1, 1, &seed), jt_random(JX_INTS(4), -1, 1, &seed)};
    for (int b = 0; b < 3; b++) {
        cond_env e = {JX_NONE, b};
        jx_fn *fc = jx_trace("cond", f_cond_lit, &e, 2, a, 1), *fb = jx_trace("branch", f_branch, &e, 2, a, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fc);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fb);
        jx_array *gc[2] = {NULL, NULL}, *gb[2] = {NULL, NULL};
        CU_ASSERT_EQUAL_FATAL(vjp_ones(fc, 2, x, gc), JX_OK);
        CU_ASSERT_EQUAL_FATAL(vjp_ones(fb, 2, x, gb), JX_OK);
        for (int i = 0; i < 2; i++) {
            double want[4];
            for (int k = 0; k < 4; k++) want[k] = jx_array_get(gb[i], k);
            JT_ASSERT_ARRAY(gc[i], want, 4, 1e-14);
            jx_array_release(gc[i]);
            jx_array_release(gb[i]);
        }
        jx_fn_release(fc);
        jx_fn_release(fb);
    }
    jx_array_release(x[0]);
    jx_array_release(x[1]);
}

/* The index is an input: every branch (and a clamped index) at one set of points. */
static void test_cond_dynamic_index(void) {
    cond_env e = {JX_NONE, -1};
    jx_aval a[3] = {JX_SCALAR(JX_I32), JX_AVAL(JX_F64, 2, 2), JX_AVAL(JX_F64, 2, 2)};
    jx_fn *f = jx_trace("cond_dyn", f_cond_dyn, &e, 3, a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    uint64_t seed = 3;
    jx_array *x[3] = {NULL, jt_random(JX_INTS(2, 2), -1, 1, &seed), jt_random(JX_INTS(2, 2), -1, 1, &seed)};
    int idx[5] = {0, 1, 2, 7, -3};
    for (int k = 0; k < 5; k++) {
        x[0] = jx_array_scalar(JX_I32, idx[k]);
        CU_ASSERT(check_at("cond dynamic index", f, x));
        jx_array_release(x[0]);
    }
    jx_array_release(x[1]);
    jx_array_release(x[2]);
    jx_fn_release(f);
    jx_aval b[3] = {JX_SCALAR(JX_BOOL), JX_SCALAR(JX_F64), JX_SCALAR(JX_F64)};
    f = jx_trace("cond_bool", f_cond_bool, &e, 3, b, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *y[3] = {NULL, jx_array_scalar(JX_F64, 0.7), jx_array_scalar(JX_F64, -0.4)};
    for (int k = 0; k < 2; k++) {
        y[0] = jx_array_scalar(JX_BOOL, k);
        CU_ASSERT(check_at("cond bool index", f, y));
        jx_array_release(y[0]);
    }
    jx_array_release(y[1]);
    jx_array_release(y[2]);
    jx_fn_release(f);
}

/* Branches with an integer output and an output that is constant in one branch. */
static void mixed0(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sin(in[0]);
    out[1] = jx_scalar(JX_I32, 4);
    out[2] = jx_mul(in[0], in[0]);
}
static void mixed1(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_cos(in[0]);
    out[1] = jx_scalar(JX_I32, 9);
    out[2] = jx_full(JX_F64, JX_INTS(3), 2.0);
}
static void f_cond_mixed(jx_val *out, const jx_val *in, void *u) {
    static const jx_body brs[2] = {mixed0, mixed1};
    jx_val r[3];
    jx_switch(jx_scalar(JX_I32, *(int *)u), 2, brs, NULL, 1, in, 3, r);
    out[0] = jx_add(jx_mul(r[0], r[2]), jx_convert(r[1], JX_F64));
    out[1] = r[1];
}

static void test_cond_mixed_outputs(void) {
    jx_aval a = JX_AVAL(JX_F64, 3);
    for (int b = 0; b < 2; b++) CU_ASSERT(check("cond mixed outputs", f_cond_mixed, &b, 1, &a, 2, -1, 1));
}

/* ------------------------------------------------------------------ scan */

/* Cumulative product: c' = c * x_t, y_t = c'. Outputs the final carry and the ys. */
static void cumprod_step(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], in[1]);
    out[1] = out[0];
}
static void f_cumprod(jx_val *out, const jx_val *in, void *u) {
    int rev = u ? *(int *)u : 0;
    jx_scan(cumprod_step, NULL, 5, rev, 1, &in[0], 1, &in[1], 1, out);
}

static void test_scan_cumprod(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 2), JX_AVAL(JX_F64, 5, 2)};
    for (int rev = 0; rev < 2; rev++) CU_ASSERT(check("scan cumprod", f_cumprod, &rev, 2, a, 2, 0.5, 1.5));
}

/* grad of prod(x) = c0 * x_0 * ... : d/dx_i = prod / x_i, d/dc0 = prod / c0. */
static void f_prod(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val r[2];
    jx_scan(cumprod_step, NULL, 4, 0, 1, &in[0], 1, &in[1], 1, r);
    out[0] = r[0];
}

static void test_scan_prod_value(void) {
    jx_aval a[2] = {JX_SCALAR(JX_F64), JX_AVAL(JX_F64, 4)};
    jx_fn *f = jx_trace("prod", f_prod, NULL, 2, a, 1);
    jx_fn *g = jx_grad(f, JX_INTS(0, 1));
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    double xv[4] = {2, -3, 0.5, 4}, p = 1.5 * 2 * -3 * 0.5 * 4;
    jx_array *in[2] = {jx_array_scalar(JX_F64, 1.5), jx_array_new(JX_F64, JX_INTS(4), xv)}, *o[2] = {NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 2, in, 2, o), JX_OK);
    double gc = p / 1.5, gx[4];
    for (int i = 0; i < 4; i++) gx[i] = p / xv[i];
    JT_ASSERT_ARRAY(o[0], &gc, 1, 1e-14);
    JT_ASSERT_ARRAY(o[1], gx, 4, 1e-14);
    for (int i = 0; i < 2; i++) {
        jx_array_release(in[i]);
        jx_array_release(o[i]);
    }
    jx_fn_release(g);
    jx_fn_release(f);
}

/* An RNN: h' = tanh(W h + U x_t + b), y_t = sin(h') * h', with W, U, b captured. */
typedef struct rnn {
    jx_val W, U, b;
} rnn;

static void rnn_step(jx_val *out, const jx_val *in, void *u) {
    rnn *r = u;
    jx_val pre = jx_add(jx_add(jx_matmul(r->W, in[0]), jx_matmul(r->U, in[1])), r->b);
    out[0] = jx_tanh(pre);
    out[1] = jx_mul(jx_sin(out[0]), out[0]);
}

/* inputs: h0 f64[3], xs f64[6,2], W f64[3,3], U f64[3,2], b f64[3] */
static void f_rnn(jx_val *out, const jx_val *in, void *u) {
    rnn r = {in[2], in[3], in[4]};
    jx_scan(rnn_step, &r, 6, u ? *(int *)u : 0, 1, &in[0], 1, &in[1], 1, out);
}

static void test_scan_rnn(void) {
    jx_aval a[5] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 6, 2), JX_AVAL(JX_F64, 3, 3), JX_AVAL(JX_F64, 3, 2),
                    JX_AVAL(JX_F64, 3)};
    for (int rev = 0; rev < 2; rev++) CU_ASSERT(check("scan rnn", f_rnn, &rev, 5, a, 2, -1, 1));
}

/* c' = sin(c * w) * x_t + c, over scalars: as a scan and unrolled in C. */
enum { NSTEP = 5 };
static jx_val step_expr(jx_val c, jx_val xt, jx_val w) { return jx_add(jx_mul(jx_sin(jx_mul(c, w)), xt), c); }

static void scalar_step(jx_val *out, const jx_val *in, void *u) {
    out[0] = step_expr(in[0], in[1], *(jx_val *)u);
    out[1] = jx_mul(out[0], out[0]);
}

typedef struct unroll_opts {
    int rev, ys; /* ys: output sum of the ys instead of the final carry */
} unroll_opts;

/* inputs: c0, xs f64[NSTEP], w */
static void f_scan_scalar(jx_val *out, const jx_val *in, void *u) {
    const unroll_opts *o = u;
    jx_val w = in[2], r[2];
    jx_scan(scalar_step, &w, NSTEP, o->rev, 1, &in[0], 1, &in[1], 1, r);
    out[0] = o->ys ? jx_reduce_sum(r[1], JX_NOINTS) : r[0];
}

static void f_unrolled(jx_val *out, const jx_val *in, void *u) {
    const unroll_opts *o = u;
    jx_val c = in[0], acc = jx_scalar(JX_F64, 0);
    for (int s = 0; s < NSTEP; s++) {
        int64_t t = o->rev ? NSTEP - 1 - s : s;
        jx_val xt = jx_reshape(jx_slice(in[1], JX_INTS(t), JX_INTS(t + 1), JX_NOINTS), JX_NOINTS);
        c = step_expr(c, xt, in[2]);
        acc = jx_add(acc, jx_mul(c, c));
    }
    out[0] = o->ys ? acc : c;
}

static void test_scan_equals_unrolled(void) {
    jx_aval a[3] = {JX_SCALAR(JX_F64), JX_AVAL(JX_F64, NSTEP), JX_SCALAR(JX_F64)};
    double xv[NSTEP] = {0.3, -1.2, 0.8, 2.0, -0.5};
    jx_array *in[3] = {jx_array_scalar(JX_F64, 0.9), jx_array_new(JX_F64, JX_INTS(NSTEP), xv),
                       jx_array_scalar(JX_F64, 1.3)};
    for (int k = 0; k < 4; k++) {
        unroll_opts o = {k & 1, k >> 1};
        jx_fn *fs = jx_trace("scan", f_scan_scalar, &o, 3, a, 1), *fu = jx_trace("unrolled", f_unrolled, &o, 3, a, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fu);
        jx_fn *gs = jx_grad(fs, JX_INTS(0, 1, 2)), *gu = jx_grad(fu, JX_INTS(0, 1, 2));
        if (!gs || !gu) fprintf(stderr, "\n  %s\n", jx_errmsg());
        CU_ASSERT_PTR_NOT_NULL_FATAL(gs);
        CU_ASSERT_PTR_NOT_NULL_FATAL(gu);
        jx_array *os[3] = {NULL}, *ou[3] = {NULL};
        CU_ASSERT_EQUAL_FATAL(jt_eval(gs, 3, in, 3, os), JX_OK);
        CU_ASSERT_EQUAL_FATAL(jt_eval(gu, 3, in, 3, ou), JX_OK);
        for (int i = 0; i < 3; i++) {
            double want[NSTEP];
            int64_t n = jx_array_size(ou[i]);
            for (int64_t j = 0; j < n; j++) want[j] = jx_array_get(ou[i], j);
            CU_ASSERT(jx_array_get(ou[i], 0) != 0);
            JT_ASSERT_ARRAY(os[i], want, n, 1e-13);
            jx_array_release(os[i]);
            jx_array_release(ou[i]);
        }
        jx_fn_release(gs);
        jx_fn_release(gu);
        jx_fn_release(fs);
        jx_fn_release(fu);
    }
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
}

/* A carry that starts as a constant (no tangent) and gets one from a captured weight,
 * next to an integer step counter, and a cond inside the body on the counter's parity. */
typedef struct counter_env {
    jx_val w;
} counter_env;

static void even_br(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(jx_mul(jx_sin(in[0]), in[1]), in[0]);
}
static void odd_br(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sub(in[0], jx_mul(in[1], in[1]));
}

static void counter_step(jx_val *out, const jx_val *in, void *u) {
    static const jx_body brs[2] = {even_br, odd_br};
    counter_env *e = u;
    jx_val idx = jx_rem(in[0], jx_scalar(JX_I32, 2)), ops[2] = {in[1], jx_mul(in[2], e->w)}, r;
    jx_switch(idx, 2, brs, NULL, 2, ops, 1, &r);
    out[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    out[1] = r;
    out[2] = jx_mul(r, in[2]);
}

/* inputs: w f64[2], xs f64[4,2] */
static void f_counter(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    counter_env e = {in[0]};
    jx_val init[2] = {jx_scalar(JX_I32, 0), jx_full(JX_F64, JX_INTS(2), 0.5)}, r[3];
    jx_scan(counter_step, &e, 4, 0, 2, init, 1, &in[1], 1, r);
    out[0] = r[1];
    out[1] = r[2];
}

static void test_scan_counter_and_cond(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 2), JX_AVAL(JX_F64, 4, 2)};
    CU_ASSERT(check("scan with counter and cond", f_counter, NULL, 2, a, 2, -1, 1));
}

/* Length 0: the carry passes through and the ys are empty. */
static void f_empty(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val r[2];
    jx_scan(cumprod_step, NULL, 0, 0, 1, &in[0], 1, &in[1], 1, r);
    out[0] = jx_sin(r[0]);
}

static void test_scan_empty(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 2), JX_AVAL(JX_F64, 0, 2)};
    CU_ASSERT(check("scan of length 0", f_empty, NULL, 2, a, 1, -1, 1));
}

/* Nested: an outer scan over rows whose body scans the row; and a cond whose branch is a
 * scan. Integer xs (converted) ride along with the float ones. */
static void inner_step(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(jx_mul(jx_sin(in[0]), in[1]), in[0]);
}
static void outer_step(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val c;
    jx_scan(inner_step, NULL, 4, 1, 1, &in[0], 1, &in[1], 0, &c);
    out[0] = jx_mul(c, jx_convert(in[2], JX_F64));
    out[1] = jx_cos(c);
}
/* inputs: c0 f64[], xs f64[3,4] */
static void f_nested(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    int32_t kv[3] = {1, -2, 3};
    jx_array *k = jx_array_new(JX_I32, JX_INTS(3), kv);
    jx_val xs[2] = {in[1], jx_const(k)};
    jx_array_release(k);
    jx_scan(outer_step, NULL, 3, 0, 1, &in[0], 2, xs, 1, out);
}

static void scan_br(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val c;
    jx_scan(inner_step, NULL, 4, 0, 1, &in[0], 1, &in[1], 0, &c);
    out[0] = c;
}
static void plain_br(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(jx_sin(in[0]), jx_reduce_sum(in[1], JX_NOINTS));
}
static void f_scan_in_cond(jx_val *out, const jx_val *in, void *u) {
    static const jx_body brs[2] = {scan_br, plain_br};
    jx_switch(jx_scalar(JX_I32, *(int *)u), 2, brs, NULL, 2, in, 1, out);
}

static void test_nested(void) {
    jx_aval a[2] = {JX_SCALAR(JX_F64), JX_AVAL(JX_F64, 3, 4)};
    CU_ASSERT(check("scan in scan", f_nested, NULL, 2, a, 2, -1, 1));
    jx_aval b[2] = {JX_SCALAR(JX_F64), JX_AVAL(JX_F64, 4)};
    for (int i = 0; i < 2; i++) CU_ASSERT(check("scan in cond", f_scan_in_cond, &i, 2, b, 1, -1, 1));
}

/* The vjp functions themselves differentiated: forward over reverse (jvp of the
 * transposed scan and cond) and reverse over reverse. */
static void test_vjp_of_vjp(void) {
    jx_aval a[3] = {JX_SCALAR(JX_F64), JX_AVAL(JX_F64, NSTEP), JX_SCALAR(JX_F64)};
    jx_aval r[5] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 6, 2), JX_AVAL(JX_F64, 3, 3), JX_AVAL(JX_F64, 3, 2),
                    JX_AVAL(JX_F64, 3)};
    jx_aval c[2] = {JX_AVAL(JX_F64, 4), JX_AVAL(JX_F64, 4)};
    unroll_opts o = {1, 1};
    int rev = 1;
    cond_env e = {JX_NONE, 1};
    jx_fn *fs[3] = {jx_trace("scan", f_scan_scalar, &o, 3, a, 1), jx_trace("rnn", f_rnn, &rev, 5, r, 2),
                    jx_trace("cond", f_cond_lit, &e, 2, c, 1)};
    for (int k = 0; k < 3; k++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(fs[k]);
        jx_fn *g = jx_vjp(fs[k]);
        if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        uint64_t seed = 41;
        jx_array *x[8];
        int gn = jx_fn_num_inputs(g);
        for (int i = 0; i < gn; i++) {
            jx_aval av = jx_fn_input_aval(g, i);
            x[i] = jt_random((jx_ints){av.shape, av.rank}, -1, 1, &seed);
        }
        CU_ASSERT(check_at("vjp of vjp", g, x));
        for (int i = 0; i < gn; i++) jx_array_release(x[i]);
        jx_fn_release(g);
        jx_fn_release(fs[k]);
    }
}

/* ------------------------------------------------------------------ higher order */

/* f(x) = x^3 by a scan from 1: f'' = 6x; and sin through a cond: f''' = -cos(x). */
static void f_cube(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val xs = jx_broadcast_to(in[0], JX_INTS(3)), one = jx_scalar(JX_F64, 1), r[2];
    jx_scan(cumprod_step, NULL, 3, 0, 1, &one, 1, &xs, 1, r);
    out[0] = r[0];
}

static void sin_br(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sin(in[0]);
}
static void f_cond_sin(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    static const jx_body brs[2] = {sin_br, sin_br};
    jx_switch(jx_scalar(JX_I32, 1), 2, brs, NULL, 1, in, 1, out);
}

static void test_higher_order(void) {
    jx_aval a = JX_SCALAR(JX_F64);
    jx_fn *f = jx_trace("cube", f_cube, NULL, 1, &a, 1);
    jx_fn *g1 = jx_grad(f, JX_NOINTS), *g2 = g1 ? jx_grad(g1, JX_NOINTS) : NULL;
    if (!g2) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g2);
    jx_fn *h = jx_trace("cond_sin", f_cond_sin, NULL, 1, &a, 1);
    jx_fn *h1 = jx_grad(h, JX_NOINTS), *h2 = h1 ? jx_grad(h1, JX_NOINTS) : NULL;
    jx_fn *h3 = h2 ? jx_grad(h2, JX_NOINTS) : NULL;
    if (!h3) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(h3);
    for (double xv = -1.5; xv <= 1.5; xv += 0.75) {
        jx_array *x = jx_array_scalar(JX_F64, xv), *y = NULL, *z = NULL;
        CU_ASSERT_EQUAL(jt_eval(g2, 1, &x, 1, &y), JX_OK);
        CU_ASSERT_EQUAL(jt_eval(h3, 1, &x, 1, &z), JX_OK);
        double w1 = 6 * xv, w2 = -cos(xv);
        JT_ASSERT_ARRAY(y, &w1, 1, 1e-13);
        JT_ASSERT_ARRAY(z, &w2, 1, 1e-14);
        jx_array_release(x);
        jx_array_release(y);
        jx_array_release(z);
    }
    jx_fn *fs[7] = {f, g1, g2, h, h1, h2, h3};
    for (int i = 0; i < 7; i++) jx_fn_release(fs[i]);
}

/* ------------------------------------------------------------------ while */

/* Four steps of x = sin(x) * w + x, counted by an integer carry; w captured. */
static int while_line;

static void four_cond(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_lt(in[0], jx_scalar(JX_I32, 4));
}
static void four_body(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    out[1] = jx_add(jx_mul(jx_sin(in[1]), *(jx_val *)u), in[1]);
}
static void f_while(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val w = in[1], init[2] = {jx_scalar(JX_I32, 0), in[0]}, r[2];
    while_line = __LINE__ + 1;
    jx_while(four_cond, four_body, &w, 2, init, r);
    out[0] = r[1];
}

static void test_while_jvp(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 3)};
    jx_fn *f = jx_trace("fixed_count", f_while, NULL, 2, a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    uint64_t seed = 17;
    jx_array *x[2] = {jt_random(JX_INTS(3), -1, 1, &seed), jt_random(JX_INTS(3), -1, 1, &seed)};
    double err = jt_jvp_error(f, x, 1e-6, 3);
    if (!(err <= 1e-7)) fprintf(stderr, "\n  while jvp error %g\n", err);
    CU_ASSERT(err <= 1e-7);
    jx_array_release(x[0]);
    jx_array_release(x[1]);
    jx_fn_release(f);
}

/* Newton's iteration for sqrt(a) until converged: d/da = 1 / (2 sqrt(a)). */
static void newton_cond(jx_val *out, const jx_val *in, void *u) {
    jx_val a = *(jx_val *)u;
    jx_val r = jx_abs(jx_sub(jx_mul(in[0], in[0]), a));
    out[0] = jx_gt(r, jx_mul(a, jx_scalar(JX_F64, 1e-15)));
}
static void newton_body(jx_val *out, const jx_val *in, void *u) {
    jx_val a = *(jx_val *)u;
    out[0] = jx_mul(jx_scalar(JX_F64, 0.5), jx_add(in[0], jx_div(a, in[0])));
}
static void f_newton(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val a = in[0], x0 = jx_add(in[0], jx_scalar(JX_F64, 1));
    jx_while(newton_cond, newton_body, &a, 1, &x0, out);
}

static void test_while_newton(void) {
    jx_aval a = JX_SCALAR(JX_F64);
    jx_fn *f = jx_trace("newton", f_newton, NULL, 1, &a, 1), *jf = f ? jx_jvp(f) : NULL;
    if (!jf) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(jf);
    double av[3] = {2, 9, 0.25};
    for (int k = 0; k < 3; k++) {
        jx_array *in[2] = {jx_array_scalar(JX_F64, av[k]), jx_array_scalar(JX_F64, 1)}, *o[2] = {NULL, NULL};
        CU_ASSERT_EQUAL_FATAL(jt_eval(jf, 2, in, 2, o), JX_OK);
        double want[2] = {sqrt(av[k]), 0.5 / sqrt(av[k])};
        JT_ASSERT_ARRAY(o[0], &want[0], 1, 1e-15);
        JT_ASSERT_ARRAY(o[1], &want[1], 1, 1e-12);
        for (int i = 0; i < 2; i++) {
            jx_array_release(in[i]);
            jx_array_release(o[i]);
        }
    }
    jx_fn_release(jf);
    jx_fn_release(f);
}

static void f_while_sum(jx_val *out, const jx_val *in, void *u) {
    jx_val r;
    f_while(&r, in, u);
    out[0] = jx_reduce_sum(r, JX_NOINTS);
}

static void test_while_grad_error(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 3)};
    jx_fn *f = jx_trace("loop", f_while_sum, NULL, 2, a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_INTS(0, 1));
    CU_ASSERT_PTR_NULL(g);
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_UNSUPPORTED);
    JT_ASSERT_ERR("while: reverse-mode differentiation does not work for while loops with dynamic trip counts: use scan");
    JT_ASSERT_ERR(jt_place(__FILE__, while_line));
    jx_fn *v = jx_vjp(f);
    CU_ASSERT_PTR_NULL(v);
    JT_ASSERT_ERR(jt_place(__FILE__, while_line));
    jx_fn_release(g);
    jx_fn_release(f);
}

/* A while whose result is only an auxiliary output gets no cotangent: grad works. */
static void f_while_aux(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_reduce_sum(jx_mul(jx_sin(in[0]), in[1]), JX_NOINTS);
    f_while(&out[1], in, u);
}

static void test_while_aux_output(void) {
    jx_aval a[2] = {JX_AVAL(JX_F64, 2), JX_AVAL(JX_F64, 2)};
    jx_fn *f = jx_trace("aux", f_while_aux, NULL, 2, a, 2), *g = f ? jx_value_and_grad(f, JX_INTS(0)) : NULL;
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    double xv[2] = {0.5, -1}, wv[2] = {2, 0.25};
    jx_array *in[2] = {jx_array_new(JX_F64, JX_INTS(2), xv), jx_array_new(JX_F64, JX_INTS(2), wv)};
    jx_array *o[3] = {NULL, NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 2, in, 3, o), JX_OK);
    double aux[2], gx[2];
    for (int i = 0; i < 2; i++) {
        double x = xv[i];
        for (int s = 0; s < 4; s++) x = sin(x) * wv[i] + x;
        aux[i] = x;
        gx[i] = cos(xv[i]) * wv[i];
    }
    JT_ASSERT_ARRAY(o[1], aux, 2, 1e-15);
    JT_ASSERT_ARRAY(o[2], gx, 2, 1e-15);
    for (int i = 0; i < 3; i++) jx_array_release(o[i]);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"jvp and vjp through call (inlined)", test_call},
        {"cond with 2 and 3 branches capturing outer values", test_cond_checks},
        {"grad through cond equals the branch's", test_cond_equals_branch},
        {"cond on a dynamic (clamped) and a bool index", test_cond_dynamic_index},
        {"cond with integer and constant outputs", test_cond_mixed_outputs},
        {"scan cumulative product, both directions", test_scan_cumprod},
        {"grad of a product by scan", test_scan_prod_value},
        {"scan RNN with captured weights", test_scan_rnn},
        {"grad through scan equals the unrolled loop", test_scan_equals_unrolled},
        {"scan with a counter carry and a cond inside", test_scan_counter_and_cond},
        {"scan of length 0", test_scan_empty},
        {"scan in scan, scan in cond", test_nested},
        {"derivatives of vjps through scan and cond", test_vjp_of_vjp},
        {"higher derivatives through scan and cond", test_higher_order},
        {"jvp of a fixed-count while", test_while_jvp},
        {"jvp of Newton's iteration", test_while_newton},
        {"grad through while names the loop", test_while_grad_error},
        {"grad beside a while giving an auxiliary output", test_while_aux_output},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad control", tests);
}
