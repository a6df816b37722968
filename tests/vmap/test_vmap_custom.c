/* test_vmap_custom.c: vmap of custom_jvp_call, custom_vjp_call, checkpoint and grad's
 * tangent forms of the last two: values against a loop of calls, and the user's rule
 * still used by grad (and jvp) of the vmapped function. The rules here are deliberately
 * not the true derivatives, so a test can tell them apart from differentiating fn. */
#include <stdlib.h>

#include "vmap_check.h"

/* ------------------------------------------------------------------ helpers */

static double arr_val(int64_t k, int seed) {
    return 0.3 * (double)((k * 5 + seed * 3) % 13) - 1.7 + 0.05 * seed;
}

static jx_array *arr(jx_dtype t, jx_ints shape, int seed) { return jt_pattern(t, shape, arr_val, seed); }

static jx_fn *trace(const char *name, jx_body body, void *user, int nin, const jx_aval *av, int nout) {
    return jt_trace_or_say(name, body, user, nin, av, nout);
}

/* The nested functions a body uses. */
typedef struct fns {
    jx_fn *f, *a, *b;
} fns;

static void release_fns(fns *u) {
    jx_fn_release(u->f);
    jx_fn_release(u->a);
    jx_fn_release(u->b);
}

/* sum(call(vf)(in...)[0]): a scalar loss over a vmapped function, for grad. */
static jx_fn *g_vf;
static void b_sum_call(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val y[2];
    jx_call(g_vf, jx_fn_num_inputs(g_vf), in, jx_fn_num_outputs(g_vf), y);
    out[0] = jx_reduce_sum(y[0], JX_NOINTS);
}

/* grad of sum(vmap(f, in_axes, size)) at in[], outputs into g[0..nin). */
static jx_status grad_sum_vmap(const jx_fn *f, jx_ints in_axes, int64_t size, int nin, jx_array **in, jx_array **g) {
    g_vf = jx_vmap(f, in_axes, JX_NOINTS, size);
    jx_aval av[4];
    for (int i = 0; i < nin; i++) av[i] = jx_array_aval(in[i]);
    jx_fn *h = g_vf ? trace("sum_vmap", b_sum_call, NULL, nin, av, 1) : NULL;
    int64_t argv[4] = {0, 1, 2, 3};
    jx_fn *gh = h ? jx_grad(h, ((jx_ints){argv, nin})) : NULL;
    jx_status st = gh ? jt_eval(gh, nin, in, nin, g) : JX_ERR_ARG;
    if (st != JX_OK) fprintf(stderr, "\n  grad of vmap: %s\n", jx_errmsg());
    jx_fn_release(gh);
    jx_fn_release(h);
    jx_fn_release(g_vf);
    return st;
}

static double clip(double v) { return v < -1 ? -1 : v > 1 ? 1 : v; }

/* ------------------------------------------------------------------ custom_jvp */

static void b_square(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], in[0]);
}
/* A deliberately different derivative: 2x clipped to [-1, 1]. */
static void b_square_jvp(jx_val *out, const jx_val *in, void *u) {
    b_square(out, in, u);
    out[1] = jx_mul(jx_clamp(jx_mul(in[0], jx_scalar(JX_F64, 2.0)), -1.0, 1.0), in[1]);
}
/* custom_jvp_call of u->f (its inputs all from in) with the rule u->a. */
static void b_use_jvp(jx_val *out, const jx_val *in, void *user) {
    fns *u = user;
    jx_custom_jvp_call(u->f, u->a, jx_fn_num_inputs(u->f), in, 1, out);
}

static void test_custom_jvp(void) {
    jx_aval a = JX_AVAL(JX_F64, 3), a2[2] = {a, a};
    fns u = {trace("square", b_square, NULL, 1, &a, 1), trace("square_jvp", b_square_jvp, NULL, 2, a2, 2), NULL};
    jx_fn *f = trace("use", b_use_jvp, &u, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *x0 = arr(JX_F64, JX_INTS(4, 3), 1), *x1 = arr(JX_F64, JX_INTS(3, 4), 2);
    jt_check_vmap("custom_jvp x@0", f, JX_INTS(0), 1, &x0, 1e-12);
    jt_check_vmap("custom_jvp x@1", f, JX_INTS(1), 1, &x1, 1e-12);
    /* grad of the vmapped function uses the clipped rule */
    jx_array *g = NULL;
    CU_ASSERT_EQUAL_FATAL(grad_sum_vmap(f, JX_INTS(0), 4, 1, &x0, &g), JX_OK);
    double want[12];
    for (int k = 0; k < 12; k++) want[k] = clip(2 * jx_array_get(x0, k));
    JT_ASSERT_ARRAY(g, want, 12, 0);
    jx_array_release(g);
    /* and so does forward mode */
    jx_fn *vf = jx_vmap(f, JX_INTS(0), JX_NOINTS, 4), *jf = vf ? jx_jvp(vf) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(jf);
    jx_array *dx = jx_array_ones(JX_F64, JX_INTS(4, 3)), *in[2] = {x0, dx}, *o[2] = {NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(jt_eval(jf, 2, in, 2, o), JX_OK);
    JT_ASSERT_ARRAY(o[1], want, 12, 0);
    jt_release_arrays(2, o);
    jx_array_release(dx);
    jx_fn_release(jf);
    jx_fn_release(vf);
    jx_array_release(x0);
    jx_array_release(x1);
    jx_fn_release(f);
    release_fns(&u);
}

/* fn(x, w) = x * w with a rule that scales the x part by 5: a mapped x and a shared w. */
static void b_xw(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], in[1]);
}
static void b_xw_jvp(jx_val *out, const jx_val *in, void *u) {
    b_xw(out, in, u);
    out[1] = jx_add(jx_mul(jx_mul(in[2], in[1]), jx_scalar(JX_F64, 5.0)), jx_mul(in[3], in[0]));
}

static void test_custom_jvp_shared_input(void) {
    jx_aval a = JX_AVAL(JX_F64, 3), a2[2] = {a, a}, a4[4] = {a, a, a, a};
    fns u = {trace("xw", b_xw, NULL, 2, a2, 1), trace("xw_jvp", b_xw_jvp, NULL, 4, a4, 2), NULL};
    jx_fn *f = trace("use_xw", b_use_jvp, &u, 2, a2, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {arr(JX_F64, JX_INTS(5, 3), 1), arr(JX_F64, JX_INTS(3), 2)}, *g[2] = {NULL, NULL};
    jt_check_vmap("custom_jvp w unmapped", f, JX_INTS(0, JX_NOT_MAPPED), 2, in, 1e-12);
    CU_ASSERT_EQUAL_FATAL(grad_sum_vmap(f, JX_INTS(0, JX_NOT_MAPPED), 5, 2, in, g), JX_OK);
    double wx[15], ww[3] = {0, 0, 0};
    for (int b = 0; b < 5; b++)
        for (int i = 0; i < 3; i++) {
            wx[b * 3 + i] = 5 * jx_array_get(in[1], i);
            ww[i] += jx_array_get(in[0], b * 3 + i);
        }
    JT_ASSERT_ARRAY(g[0], wx, 15, 1e-12);
    JT_ASSERT_ARRAY(g[1], ww, 3, 1e-12);
    jt_release_arrays(2, g);
    jt_release_arrays(2, in);
    jx_fn_release(f);
    release_fns(&u);
}

/* ------------------------------------------------------------------ custom_vjp */

/* fn(x, w) = sin(x) * w; fwd keeps (x, w); bwd gives 10x and 3x the true cotangents. */
static void b_sinw(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(jx_sin(in[0]), in[1]);
}
static void b_sinw_fwd(jx_val *out, const jx_val *in, void *u) {
    b_sinw(out, in, u);
    out[1] = in[0];
    out[2] = in[1];
}
static void b_sinw_bwd(jx_val *out, const jx_val *in, void *u) { /* (x, w, g) */
    (void)u;
    out[0] = jx_mul(jx_mul(jx_mul(jx_cos(in[0]), in[1]), in[2]), jx_scalar(JX_F64, 10.0));
    out[1] = jx_mul(jx_mul(jx_sin(in[0]), in[2]), jx_scalar(JX_F64, 3.0));
}
static void b_use_vjp(jx_val *out, const jx_val *in, void *user) {
    fns *u = user;
    jx_custom_vjp_call(u->f, u->a, u->b, 2, in, 1, out);
}
static void b_use_ckpt(jx_val *out, const jx_val *in, void *user) {
    fns *u = user;
    jx_checkpoint(u->f, 2, in, 1, out);
}

static fns sinw_fns(void) {
    jx_aval a = JX_AVAL(JX_F64, 3), a2[2] = {a, a}, a3[3] = {a, a, a};
    fns u = {trace("sinw", b_sinw, NULL, 2, a2, 1), trace("sinw_fwd", b_sinw_fwd, NULL, 2, a2, 3),
             trace("sinw_bwd", b_sinw_bwd, NULL, 3, a3, 2)};
    return u;
}

/* Asserts g, the gradient of sum(vmap(sinw-like f)) over 4 lanes with w (3) shared, at
 * in: element i of lane b of x (at flat b * sb + i * si) gets kx cos(x) w, and w the sum
 * over lanes of kw sin(x). */
static void assert_sinw_grad(jx_array *const *in, jx_array *const *g, int sb, int si, double kx,
                             double kw) {
    double wx[12], ww[3] = {0, 0, 0};
    for (int b = 0; b < 4; b++)
        for (int i = 0; i < 3; i++) {
            int k = b * sb + i * si;
            double x = jx_array_get(in[0], k), w = jx_array_get(in[1], i);
            wx[k] = kx * cos(x) * w;
            ww[i] += kw * sin(x);
        }
    JT_ASSERT_ARRAY(g[0], wx, 12, 1e-12);
    JT_ASSERT_ARRAY(g[1], ww, 3, 1e-12);
}

static void test_custom_vjp(void) {
    fns u = sinw_fns();
    jx_aval a2[2] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 3)};
    jx_fn *f = trace("use_vjp", b_use_vjp, &u, 2, a2, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {arr(JX_F64, JX_INTS(4, 3), 1), arr(JX_F64, JX_INTS(3), 2)}, *g[2] = {NULL, NULL};
    jt_check_vmap("custom_vjp w unmapped", f, JX_INTS(0, JX_NOT_MAPPED), 2, in, 1e-12);
    jx_array *in2[2] = {arr(JX_F64, JX_INTS(3, 4), 1), arr(JX_F64, JX_INTS(4, 3), 2)};
    jt_check_vmap("custom_vjp x@1 w@0", f, JX_INTS(1, 0), 2, in2, 1e-12);
    jt_release_arrays(2, in2);
    /* grad of the vmapped function runs the batched bwd; the shared w sums the lanes */
    CU_ASSERT_EQUAL_FATAL(grad_sum_vmap(f, JX_INTS(0, JX_NOT_MAPPED), 4, 2, in, g), JX_OK);
    assert_sinw_grad(in, g, 3, 1, 10, 3);
    jt_release_arrays(2, g);
    jt_release_arrays(2, in);
    jx_fn_release(f);
    release_fns(&u);
}

/* ------------------------------------------------------------------ checkpoint */

static void test_checkpoint(void) {
    fns u = sinw_fns();
    jx_aval a2[2] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 3)};
    jx_fn *f = trace("use_ckpt", b_use_ckpt, &u, 2, a2, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {arr(JX_F64, JX_INTS(3, 4), 1), arr(JX_F64, JX_INTS(3), 2)}, *g[2] = {NULL, NULL};
    jt_check_vmap("checkpoint x@1", f, JX_INTS(1, JX_NOT_MAPPED), 2, in, 1e-12);
    jx_fn *vf = jx_vmap(f, JX_INTS(1, JX_NOT_MAPPED), JX_NOINTS, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vf);
    char *txt = jx_fn_to_string(vf);
    CU_ASSERT(txt && strstr(txt, " = checkpoint["));
    free(txt);
    jx_fn_release(vf);
    /* grad of the vmapped checkpoint: the true derivatives, recomputed */
    CU_ASSERT_EQUAL_FATAL(grad_sum_vmap(f, JX_INTS(1, JX_NOT_MAPPED), 4, 2, in, g), JX_OK);
    assert_sinw_grad(in, g, 1, 4, 1, 1);
    jt_release_arrays(2, g);
    jt_release_arrays(2, in);
    jx_fn_release(f);
    release_fns(&u);
}

/* ------------------------------------------------------------------ the tangent forms */

/* vmap(jvp(f)) batches custom_vjp_tangent / checkpoint_tangent (x, w, dx, dw), with a
 * primal and its tangent mapped differently; jvp(vmap(f)) must agree with it. */
static void check_tangent(const char *what, jx_body use) {
    fns u = sinw_fns();
    jx_aval a2[2] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 3)};
    jx_fn *f = trace(what, use, &u, 2, a2, 1);
    jx_fn *jf = f ? jx_jvp(f) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(jf);
    char *txt = jx_fn_to_string(jf);
    CU_ASSERT(txt && strstr(txt, "_tangent["));
    free(txt);
    jx_array *in[4] = {arr(JX_F64, JX_INTS(4, 3), 1), arr(JX_F64, JX_INTS(3), 2), arr(JX_F64, JX_INTS(3), 3),
                       arr(JX_F64, JX_INTS(3, 4), 4)};
    jt_check_vmap(what, jf, JX_INTS(0, JX_NOT_MAPPED, JX_NOT_MAPPED, 1), 4, in, 1e-12);
    jx_array *in2[4] = {arr(JX_F64, JX_INTS(3), 1), arr(JX_F64, JX_INTS(3), 2), arr(JX_F64, JX_INTS(4, 3), 3),
                        arr(JX_F64, JX_INTS(3), 4)};
    jt_check_vmap(what, jf, JX_INTS(JX_NOT_MAPPED, JX_NOT_MAPPED, 0, JX_NOT_MAPPED), 4, in2, 1e-12);
    jt_release_arrays(4, in2);
    /* jvp of the vmapped function */
    jx_fn *vf = jx_vmap(f, JX_INTS(0, JX_NOT_MAPPED), JX_NOINTS, 4), *jvf = vf ? jx_jvp(vf) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(jvf);
    jx_array *in3[4] = {arr(JX_F64, JX_INTS(4, 3), 1), arr(JX_F64, JX_INTS(3), 2), arr(JX_F64, JX_INTS(4, 3), 3),
                        arr(JX_F64, JX_INTS(3), 4)};
    jt_check_vmapped(what, jf, jvf, JX_INTS(0, JX_NOT_MAPPED, 0, JX_NOT_MAPPED), JX_NOINTS, 4, 4, in3, 1e-12);
    jt_release_arrays(4, in3);
    jt_release_arrays(4, in);
    jx_fn_release(jvf);
    jx_fn_release(vf);
    jx_fn_release(jf);
    jx_fn_release(f);
    release_fns(&u);
}

static void test_custom_vjp_tangent(void) { check_tangent("vmap(jvp(custom_vjp))", b_use_vjp); }
static void test_checkpoint_tangent(void) { check_tangent("vmap(jvp(checkpoint))", b_use_ckpt); }

int main(void) {
    CU_TestInfo tests[] = {
        {"custom_jvp: values, grad and jvp use the rule", test_custom_jvp},
        {"custom_jvp with a shared input", test_custom_jvp_shared_input},
        {"custom_vjp: values, grad uses bwd", test_custom_vjp},
        {"checkpoint", test_checkpoint},
        {"custom_vjp_tangent", test_custom_vjp_tangent},
        {"checkpoint_tangent", test_checkpoint_tangent},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmap_custom", tests);
}
