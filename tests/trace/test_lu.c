/* test_lu.c: lu (square, tall and wide batches) and solve, inv, slogdet against JAX (ref/lu_ref.h, made by
 * ref/lu_ref.py): the packed factors, pivots, permutation and the gradient, L U =
 * a[permutation], jvp/vjp against finite differences in f64, vmap against a loop, the
 * text form, and errors naming the shapes and the line. */
#include <stdlib.h>

#include "gradcheck.h"
#include "vmap/vmap_check.h"

#include "ref/lu_ref.h"

/* sin(0.37 k + seed) + cos(0.61 k^2), as lu_ref.py makes it */
static jx_array *pattern(jx_dtype t, jx_ints shape, double seed) {
    double v[128];
    int64_t n = 1;
    for (int d = 0; d < shape.n; d++) n *= shape.v[d];
    for (int64_t k = 0; k < n; k++) v[k] = sin(0.37 * (double)k + seed) + cos(0.61 * (double)k * (double)k);
    return jt_array(t, shape, v);
}

static jx_array *ct(jx_ints shape) {
    double v[64];
    for (int k = 0; k < 64; k++) v[k] = cos(0.3 * k);
    return jt_array(JX_F64, shape, v);
}

static void lu_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_lu(in[0], &out[0], &out[1], &out[2]);
}

static void lu_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val y[3];
    jx_lu(in[0], &y[0], &y[1], &y[2]);
    out[0] = jx_reduce_sum(jx_mul(y[0], in[1]), JX_NOINTS);
}

static void assert_ints(const jx_array *a, const int32_t *want, int n) {
    CU_ASSERT_EQUAL_FATAL(jx_array_aval(a).dtype, JX_I32);
    const int32_t *v = jx_array_data(a);
    for (int i = 0; i < n; i++) CU_ASSERT_EQUAL(v[i], want[i]);
}

static void test_lu(void) {
    static const int64_t shapes[3][3] = {{2, 4, 4}, {2, 5, 3}, {2, 3, 5}};
    const double *lus[3] = {lu_sq, lu_tall, lu_wide}, *gs[3] = {lu_sq_g, lu_tall_g, lu_wide_g};
    const int32_t *pivs[3] = {lu_sq_piv, lu_tall_piv, lu_wide_piv}, *perms[3] = {lu_sq_perm, lu_tall_perm, lu_wide_perm};
    for (int s = 0; s < 3; s++) {
        jx_ints sh = {shapes[s], 3};
        int n = (int)(sh.v[0] * sh.v[1] * sh.v[2]), k = (int)(sh.v[1] < sh.v[2] ? sh.v[1] : sh.v[2]);
        for (int f = 0; f < 2; f++) {
            jx_array *in[1] = {pattern(f ? JX_F32 : JX_F64, sh, 0.4)}, *y[3] = {0};
            jx_aval av = jx_aval_make(f ? JX_F32 : JX_F64, sh);
            jx_fn *fn = jt_trace_or_say("lu", lu_body, NULL, 1, &av, 3);
            CU_ASSERT_PTR_NOT_NULL_FATAL(fn);
            CU_ASSERT_EQUAL_FATAL(jt_eval(fn, 1, in, 3, y), JX_OK);
            JT_ASSERT_ARRAY(y[0], lus[s], n, f ? 2e-5 : 1e-13);
            assert_ints(y[1], pivs[s], 2 * k);
            assert_ints(y[2], perms[s], 2 * (int)sh.v[1]);
            jt_release_arrays(3, y);
            jt_release_arrays(1, in);
            jx_fn_release(fn);
        }
        jx_aval av[2] = {jx_aval_make(JX_F64, sh), jx_aval_make(JX_F64, sh)};
        jx_fn *l = jt_trace_or_say("lu loss", lu_loss, NULL, 2, av, 1), *g = l ? jx_grad(l, JX_NOINTS) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        jx_array *in[2] = {pattern(JX_F64, sh, 0.4), ct(sh)}, *gx = NULL;
        CU_ASSERT_EQUAL_FATAL(jt_eval(g, 2, in, 1, &gx), JX_OK);
        JT_ASSERT_ARRAY(gx, gs[s], n, 1e-11);
        jt_release_arrays(2, in);
        jx_array_release(gx);
        jx_fn_release(g);
        jx_fn_release(l);
    }
}

/* L U - a[permutation] on a (3, 6, 6) batch: zero. */
static void residual_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val lu, piv, perm;
    jx_lu(in[0], &lu, &piv, &perm);
    jx_val r = jx_iota(JX_I32, JX_INTS(6, 6), 0), c = jx_iota(JX_I32, JX_INTS(6, 6), 1);
    jx_val L = jx_add(jx_mul(lu, jx_convert(jx_gt(r, c), JX_F64)), jx_convert(jx_eq(r, c), JX_F64));
    jx_val U = jx_mul(lu, jx_convert(jx_le(r, c), JX_F64));
    jx_val pa = jx_gather(in[0], perm, 1, 1);
    out[0] = jx_sub(jx_matmul(L, U), pa);
}

static void test_residual(void) {
    jx_array *in[1] = {pattern(JX_F64, JX_INTS(3, 6, 6), 1.3)};
    jx_array *y = jt_eval1(residual_body, NULL, 1, in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    CU_ASSERT(jt_max_err(y, (double[108]){0}, 108) <= 1e-14);
    jx_array_release(y);
}

/* f64 finite differences of the factors, and vmap against a loop (batch axis 1 and 2). */
static void lu_only(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val piv, perm;
    jx_lu(in[0], &out[0], &piv, &perm);
}

static void vfill(const jt_vinput *in, int64_t n, double *v) {
    for (int64_t i = 0; i < n; i++) v[i] = sin(0.9 * (double)i + in->lo) + cos(0.61 * (double)(i * i));
}

static void test_grads_vmap(void) {
    jx_aval sq = JX_AVAL(JX_F64, 2, 4, 4), tall = JX_AVAL(JX_F64, 5, 3), wide = JX_AVAL(JX_F64, 2, 3, 4);
    CU_ASSERT(jt_check_grads("lu", lu_only, NULL, 1, &sq, -1, 1, 1e-6));
    CU_ASSERT(jt_check_grads("lu tall", lu_only, NULL, 1, &tall, -1, 1, 1e-6));
    CU_ASSERT(jt_check_grads("lu wide", lu_only, NULL, 1, &wide, -1, 1, 1e-6));
    for (int axis = 1; axis < 3; axis++) {
        jt_vinput v = {JX_AVAL(JX_F64, 2, 3, 3), axis, 0.3, 0};
        CU_ASSERT(jt_check_vmap_avals("lu", lu_body, NULL, 1, &v, 3, 3, vfill, 1e-12, NULL));
    }
}

/* jnp.linalg.solve, inv and slogdet (kind 0, 1, 2) of the square batch and the loss
 * JAX differentiates: sum(x * ct), sum(inv * ct), sum(logabsdet * [1, -2]). */
static void comp_body(jx_val *out, const jx_val *in, void *u) {
    int kind = *(int *)u;
    if (kind == 0) out[0] = jx_solve(in[0], in[1]);
    if (kind == 1) out[0] = jx_inv(in[0]);
    if (kind == 2) jx_slogdet(in[0], &out[1], &out[0]);
}

static void comp_loss(jx_val *out, const jx_val *in, void *u) {
    jx_val y[2];
    comp_body(y, in, u);
    out[0] = jx_reduce_sum(jx_mul(y[0], in[2]), JX_NOINTS);
}

static void test_composites(void) {
    const double *ys[3] = {solve_x, inv_y, slogdet_log}, *gs[3] = {solve_ga, inv_g, slogdet_g};
    const int n[3] = {24, 32, 2};
    for (int kind = 0; kind < 3; kind++) {
        jx_ints ysh = kind == 0 ? JX_INTS(2, 4, 3) : kind == 1 ? JX_INTS(2, 4, 4) : JX_INTS(2);
        jx_array *in[3] = {pattern(JX_F64, JX_INTS(2, 4, 4), 0.4), pattern(JX_F64, JX_INTS(2, 4, 3), 1.1),
                           kind == 2 ? jt_array(JX_F64, JX_INTS(2), (double[]){1, -2}) : ct(ysh)};
        jx_aval av[3] = {JX_AVAL(JX_F64, 2, 4, 4), JX_AVAL(JX_F64, 2, 4, 3), jx_aval_make(JX_F64, ysh)};
        jx_fn *f = jt_trace_or_say("composite", comp_body, &kind, 2, av, kind == 2 ? 2 : 1);
        jx_fn *l = jt_trace_or_say("composite loss", comp_loss, &kind, 3, av, 1);
        jx_fn *g = l ? jx_grad(l, JX_NOINTS) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        jx_array *y[2] = {0}, *gx = NULL;
        CU_ASSERT_EQUAL_FATAL(jt_eval(f, 2, in, kind == 2 ? 2 : 1, y), JX_OK);
        JT_ASSERT_ARRAY(y[0], ys[kind], n[kind], 1e-12);
        if (kind == 2) JT_ASSERT_ARRAY(y[1], slogdet_sign, 2, 0);
        CU_ASSERT_EQUAL_FATAL(jt_eval(g, 3, in, 1, &gx), JX_OK);
        JT_ASSERT_ARRAY(gx, gs[kind], 32, 1e-11);
        jt_release_arrays(2, y);
        jt_release_arrays(3, in);
        jx_array_release(gx);
        jx_fn_release(g);
        jx_fn_release(l);
        jx_fn_release(f);
    }
}

/* jnp.linalg.solve with broadcast batch dims, and the gradient of sum(x * ct), vs JAX. */
static void solve_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_solve(in[0], in[1]);
}
static void solve_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_mul(jx_solve(in[0], in[1]), in[2]), JX_NOINTS);
}

static void test_solve_broadcast(void) {
    const struct {
        jx_aval a, b, x;
        const double *x_ref, *ga, *gb;
    } c[] = {
        {JX_AVAL(JX_F64, 4, 4), JX_AVAL(JX_F64, 3, 4, 2), JX_AVAL(JX_F64, 3, 4, 2), solve_bc1_x, solve_bc1_ga, solve_bc1_gb},
        {JX_AVAL(JX_F64, 2, 1, 3, 3), JX_AVAL(JX_F64, 4, 3, 1), JX_AVAL(JX_F64, 2, 4, 3, 1), solve_bc2_x, solve_bc2_ga,
         solve_bc2_gb},
    };
    for (size_t k = 0; k < sizeof c / sizeof *c; k++) {
        jx_aval av[3] = {c[k].a, c[k].b, c[k].x};
        jx_array *in[3] = {pattern(JX_F64, (jx_ints){c[k].a.shape, c[k].a.rank}, 0.4),
                           pattern(JX_F64, (jx_ints){c[k].b.shape, c[k].b.rank}, 1.1), ct((jx_ints){c[k].x.shape, c[k].x.rank})};
        jx_fn *f = jt_trace_or_say("solve", solve_body, NULL, 2, av, 1);
        jx_fn *l = jt_trace_or_say("solve loss", solve_loss, NULL, 3, av, 1);
        jx_fn *g = l ? jx_grad(l, JX_INTS(0, 1)) : NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        jx_array *y = NULL, *gx[2] = {0};
        CU_ASSERT_EQUAL_FATAL(jt_eval(f, 2, in, 1, &y), JX_OK);
        jx_aval ya = jx_array_aval(y);
        CU_ASSERT(jx_aval_equal(&ya, &c[k].x));
        JT_ASSERT_ARRAY(y, c[k].x_ref, jx_aval_size(&c[k].x), 1e-12);
        CU_ASSERT_EQUAL_FATAL(jt_eval(g, 3, in, 2, gx), JX_OK);
        JT_ASSERT_ARRAY(gx[0], c[k].ga, jx_aval_size(&c[k].a), 1e-11);
        JT_ASSERT_ARRAY(gx[1], c[k].gb, jx_aval_size(&c[k].b), 1e-11);
        jx_array_release(y);
        jt_release_arrays(2, gx);
        jt_release_arrays(3, in);
        jx_fn_release(g);
        jx_fn_release(l);
        jx_fn_release(f);
    }
}

/* a x - b for a vector b (one for each matrix of a (3, 5, 5)), a inv(a) - I, and the
 * slogdet of a singular matrix (sign 0, -inf) and of a permuted identity (sign -1). */
static void resid_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val x = jx_solve(in[0], in[1]);
    out[0] = jx_sub(jx_reduce_sum(jx_mul(in[0], jx_expand_dims(x, JX_INTS(1))), JX_INTS(2)),
                    jx_broadcast_to(in[1], JX_INTS(3, 5)));
    jx_val eye = jx_convert(jx_eq(jx_iota(JX_I32, JX_INTS(5, 5), 0), jx_iota(JX_I32, JX_INTS(5, 5), 1)), JX_F64);
    out[1] = jx_sub(jx_matmul(in[0], jx_inv(in[0])), jx_broadcast_to(eye, JX_INTS(3, 5, 5)));
    jx_slogdet(in[2], &out[2], &out[3]);
}

static void test_residuals(void) {
    jx_array *in[3] = {pattern(JX_F64, JX_INTS(3, 5, 5), 2.0), pattern(JX_F64, JX_INTS(5), 0.9),
                       jt_array(JX_F64, JX_INTS(2, 2, 2), (double[]){1, 2, 2, 4, 0, 1, 1, 0})};
    jx_aval av[3] = {JX_AVAL(JX_F64, 3, 5, 5), JX_AVAL(JX_F64, 5), JX_AVAL(JX_F64, 2, 2, 2)};
    jx_fn *f = jt_trace_or_say("residuals", resid_body, NULL, 3, av, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *y[4] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(f, 3, in, 4, y), JX_OK);
    CU_ASSERT(jt_max_err(y[0], (double[15]){0}, 15) <= 1e-13);
    CU_ASSERT(jt_max_err(y[1], (double[75]){0}, 75) <= 1e-13);
    JT_ASSERT_ARRAY(y[2], ((double[]){0, -1}), 2, 0);
    JT_ASSERT_ARRAY(y[3], ((double[]){-INFINITY, 0}), 2, 0);
    jt_release_arrays(4, y);
    jt_release_arrays(3, in);
    jx_fn_release(f);
}

static void logdet_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val s;
    jx_slogdet(in[0], &s, &out[0]);
}

static void test_composite_grads_vmap(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, 2, 4, 4), JX_AVAL(JX_F64, 2, 4, 3)};
    int kind[2] = {0, 1};
    CU_ASSERT(jt_check_grads("solve", comp_body, &kind[0], 2, av, -1, 1, 1e-6));
    CU_ASSERT(jt_check_grads("inv", comp_body, &kind[1], 1, av, -1, 1, 1e-6));
    CU_ASSERT(jt_check_grads("slogdet", logdet_body, NULL, 1, av, -1, 1, 1e-6));
    jt_vinput in[2] = {{JX_AVAL(JX_F64, 2, 3, 3), 1, 0.3, 0}, {JX_AVAL(JX_F64, 2, 3, 2), JX_NOT_MAPPED, 0.8, 0}};
    CU_ASSERT(jt_check_vmap_avals("solve", comp_body, &kind[0], 2, in, 1, 3, vfill, 1e-11, NULL));
    CU_ASSERT(jt_check_vmap_avals("inv", comp_body, &kind[1], 1, in, 1, 3, vfill, 1e-11, NULL));
    int sd = 2;
    CU_ASSERT(jt_check_vmap_avals("slogdet", comp_body, &sd, 1, in, 2, 3, vfill, 1e-11, NULL));
}

static void test_text(void) {
    jx_aval av = JX_AVAL(JX_F32, 3, 4);
    jx_fn *f = jt_trace_or_say("text", lu_body, NULL, 1, &av, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jt_assert_text_round_trip(f, 2, (const char *[]){"= lu ", "i32[3]"});
    jx_fn_release(f);
}

static int err_line;
static void err_body(jx_val *out, const jx_val *in, void *u) {
    int which = *(int *)u;
    jx_val piv, perm;
    if (which == 0) err_line = __LINE__, jx_lu(in[0], &out[0], &piv, &perm);
    if (which == 1) err_line = __LINE__, out[0] = jx_solve(in[0], in[1]);
    if (which == 2) err_line = __LINE__, out[0] = jx_inv(in[0]);
    if (which == 3) err_line = __LINE__, jx_slogdet(in[0], &piv, &out[0]);
}

static void test_errors(void) {
    const struct {
        int which;
        jx_aval av;
        const char *msg;
    } e[] = {
        {0, JX_AVAL(JX_F32, 4), "lu: wants matrices (..., m, n), got f32[4]"},
        {0, JX_AVAL(JX_I32, 2, 2), "lu: wants f32 or f64, got i32[2,2]"},
    };
    for (size_t k = 0; k < sizeof e / sizeof *e; k++)
        jt_assert_trace_fails(err_body, (void *)&e[k].which, 1, &e[k].av, e[k].msg, __FILE__, &err_line);
    const struct {
        int which;
        jx_aval av[2];
        const char *msg;
    } c[] = {
        {1, {JX_AVAL(JX_F64, 2, 3, 3), JX_AVAL(JX_F64, 3, 3, 1)},
         "solve: the batch dims of a f64[2,3,3] and b f64[3,3,1] do not broadcast"},
        {1, {JX_AVAL(JX_F64, 3, 3), JX_AVAL(JX_F64, 4)}, "solve: b f64[4] must be (3) or (..., 3, k) (a is f64[3,3])"},
        {1, {JX_AVAL(JX_F64, 3, 3), JX_AVAL(JX_F64, 2, 4, 1)}, "solve: b f64[2,4,1] must be (3) or (..., 3, k) (a is f64[3,3])"},
        {2, {JX_AVAL(JX_F64, 3, 4), JX_AVAL(JX_F64, 4)}, "inv: wants square matrices (..., m, m), got f64[3,4]"},
        {3, {JX_AVAL(JX_F64, 2, 3, 4), JX_AVAL(JX_F64, 4)}, "slogdet: wants square matrices (..., m, m), got f64[2,3,4]"},
    };
    for (size_t k = 0; k < sizeof c / sizeof *c; k++)
        jt_assert_trace_fails(err_body, (void *)&c[k].which, 2, c[k].av, c[k].msg, __FILE__, &err_line);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"lu (square, tall, wide) vs JAX", test_lu},
        {"L U = a[permutation]", test_residual},
        {"jvp/vjp vs finite differences, vmap vs a loop", test_grads_vmap},
        {"solve, inv, slogdet vs JAX", test_composites},
        {"solve with broadcast batch dims vs JAX", test_solve_broadcast},
        {"a x = b, a inv(a) = I, slogdet of singular and permuted", test_residuals},
        {"solve, inv, slogdet: finite differences, vmap", test_composite_grads_vmap},
        {"text form", test_text},
        {"errors", test_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("lu", tests);
}
