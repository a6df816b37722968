/* test_vmap_control.c: vmap of call, cond, while and scan against a loop of calls on
 * slices: unbatched and batched index/predicate, batched consts, mapped axes not at 0,
 * while lanes finishing at different iterations, scan with only the carry / only the
 * xs / only the consts mapped, nesting, and composition with grad. The batched IR is
 * checked to hold one loop or branch equation (no loop of calls), and a batched index to
 * become selects. */
#include <stdlib.h>

#include "vmap_check.h"

/* ------------------------------------------------------------------ helpers */

/* A deterministic array of small, distinct values (seed picks the pattern). */
static double arr_val(int64_t k, int seed) {
    return 0.25 * (double)((k * 7 + seed * 3) % 11) - 1.0 + 0.1 * seed;
}

static jx_array *arr(jx_dtype t, jx_ints shape, int seed) { return jt_pattern(t, shape, arr_val, seed); }

static jx_array *ints(jx_dtype t, jx_ints shape, const double *v) { return jt_array(t, shape, v); }

static jx_fn *trace(const char *name, jx_body body, int nin, const jx_aval *av, int nout) {
    return jt_trace_or_say(name, body, NULL, nin, av, nout);
}

/* ------------------------------------------------------------------ call */

static void b_callee(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(jx_sin(in[0]), in[1]);
    out[1] = jx_add(in[1], jx_scalar(JX_F32, 1.0)); /* unbatched when in[1] is */
}
static jx_fn *g_callee;
static void b_call(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_call(g_callee, 2, in, 2, out);
}

static void test_call(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 3)};
    g_callee = trace("callee", b_callee, 2, av, 2);
    jx_fn *f = trace("call", b_call, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {arr(JX_F32, JX_INTS(4, 3), 1), arr(JX_F32, JX_INTS(3), 2)};
    jt_check_vmap("call x@0", f, JX_INTS(0, JX_NOT_MAPPED), 2, in, 1e-6);
    jt_release_arrays(2, in);
    jx_array *in2[2] = {arr(JX_F32, JX_INTS(3, 5), 1), arr(JX_F32, JX_INTS(5, 3), 2)};
    jt_check_vmap("call x@1 w@0", f, JX_INTS(1, 0), 2, in2, 1e-6);
    jt_release_arrays(2, in2);
    jx_fn_release(f);
    jx_fn_release(g_callee);
}

/* ------------------------------------------------------------------ cond */

/* (x, w) -> (out0, out1): out0 is batched with x in branch 0 only, out1 never. */
static void br0(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul(in[0], jx_scalar(JX_F32, 2.0));
    out[1] = jx_add(in[1], jx_scalar(JX_F32, 1.0));
}
static void br1(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = in[1];
    out[1] = jx_mul(in[1], jx_scalar(JX_F32, 3.0));
}
static void br2(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(jx_sin(in[0]), in[1]);
    out[1] = jx_neg(in[1]);
}
static void b_cond3(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_body br[3] = {br0, br1, br2};
    jx_switch(in[0], 3, br, NULL, 2, in + 1, 2, out);
}
static void b_cond_bool(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_body br[2] = {br0, br2};
    jx_switch(jx_gt(in[1], jx_scalar(JX_F32, 0.0)), 2, br, NULL, 2, in, 2, out);
    out[1] = jx_add(out[1], in[0]); /* an out of the cond used again */
}
/* the bool predicate reads one element of x: batched with x */
static void b_cond_bool_x(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_body br[2] = {br0, br2};
    jx_val p = jx_gt(jx_reduce_sum(in[0], JX_NOINTS), jx_scalar(JX_F32, 0.0));
    jx_switch(p, 2, br, NULL, 2, in, 2, out);
}

static void test_cond_unbatched_index(void) {
    jx_aval av[3] = {JX_SCALAR(JX_I32), JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 3)};
    jx_fn *f = trace("cond3", b_cond3, 3, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    double idx[4] = {0, 1, 2, 9};
    for (int k = 0; k < 4; k++) {
        jx_array *in[3] = {ints(JX_I32, JX_NOINTS, &idx[k]), arr(JX_F32, JX_INTS(4, 3), 1), arr(JX_F32, JX_INTS(3), 2)};
        jt_check_vmap("cond index unmapped, x@0", f, JX_INTS(JX_NOT_MAPPED, 0, JX_NOT_MAPPED), 3, in, 1e-6);
        jt_release_arrays(3, in);
        jx_array *in2[3] = {ints(JX_I32, JX_NOINTS, &idx[k]), arr(JX_F32, JX_INTS(3, 5), 1), arr(JX_F32, JX_INTS(5, 3), 3)};
        jt_check_vmap("cond index unmapped, x@-1 w@0", f, JX_INTS(JX_NOT_MAPPED, -1, 0), 3, in2, 1e-6);
        jt_release_arrays(3, in2);
        jx_array *in3[3] = {ints(JX_I32, JX_NOINTS, &idx[k]), arr(JX_F32, JX_INTS(3), 1), arr(JX_F32, JX_INTS(3, 2), 3)};
        jt_check_vmap("cond index unmapped, w@1", f, JX_INTS(JX_NOT_MAPPED, JX_NOT_MAPPED, 1), 3, in3, 1e-6);
        jt_release_arrays(3, in3);
    }
    /* one cond is left, not a select per branch */
    jx_fn *g = jx_vmap(f, JX_INTS(JX_NOT_MAPPED, 0, JX_NOT_MAPPED), JX_NOINTS, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jt_count_in_ir(g, " = cond["), 1);
    jx_fn_release(g);
    jx_fn_release(f);
}

static void test_cond_batched_index(void) {
    jx_aval av[3] = {JX_SCALAR(JX_I32), JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 3)};
    jx_fn *f = trace("cond3", b_cond3, 3, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    double idx[6] = {0, 1, 2, -4, 7, 1}; /* out of range ones are clamped */
    jx_array *in[3] = {ints(JX_I32, JX_INTS(6), idx), arr(JX_F32, JX_INTS(6, 3), 1), arr(JX_F32, JX_INTS(3), 2)};
    jt_check_vmap("cond index@0 x@0", f, JX_INTS(0, 0, JX_NOT_MAPPED), 3, in, 1e-6);
    jt_release_arrays(3, in);
    jx_array *in2[3] = {ints(JX_I32, JX_INTS(6), idx), arr(JX_F32, JX_INTS(3, 6), 1), arr(JX_F32, JX_INTS(3, 6), 2)};
    jt_check_vmap("cond index@0 x@1 w@1", f, JX_INTS(0, 1, 1), 3, in2, 1e-6);
    jt_release_arrays(3, in2);
    /* only the index is mapped */
    jx_array *in3[3] = {ints(JX_I32, JX_INTS(6), idx), arr(JX_F32, JX_INTS(3), 1), arr(JX_F32, JX_INTS(3), 2)};
    jt_check_vmap("cond only index mapped", f, JX_INTS(0, JX_NOT_MAPPED, JX_NOT_MAPPED), 3, in3, 1e-6);
    jt_release_arrays(3, in3);
    /* selects, no cond left */
    jx_fn *g = jx_vmap(f, JX_INTS(0, 0, JX_NOT_MAPPED), JX_NOINTS, 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jt_count_in_ir(g, " = cond["), 0);
    CU_ASSERT(jt_count_in_ir(g, " = select ") >= 2);
    jx_fn_release(g);
    jx_fn_release(f);
}

static void test_cond_bool_index(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 3), JX_SCALAR(JX_F32)};
    jx_fn *f = trace("cond_bool", b_cond_bool, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    double p[5] = {1, -1, 0.5, -2, 0};
    jx_array *in[2] = {arr(JX_F32, JX_INTS(3, 5), 1), jt_array(JX_F32, JX_INTS(5), p)};
    jt_check_vmap("cond bool index@0, x@1", f, JX_INTS(1, 0), 2, in, 1e-6);
    jt_release_arrays(2, in);
    jx_array *in2[2] = {arr(JX_F32, JX_INTS(3), 1), jt_array(JX_F32, JX_INTS(5), p)};
    jt_check_vmap("cond bool index@0, x unmapped", f, JX_INTS(JX_NOT_MAPPED, 0), 2, in2, 1e-6);
    jt_release_arrays(2, in2);
    jx_array *in3[2] = {arr(JX_F32, JX_INTS(5, 3), 1), jt_array(JX_F32, JX_NOINTS, p)};
    jt_check_vmap("cond bool index unmapped", f, JX_INTS(0, JX_NOT_MAPPED), 2, in3, 1e-6);
    jt_release_arrays(2, in3);
    jx_fn_release(f);
    jx_aval av2[2] = {JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 3)};
    jx_fn *f2 = trace("cond_bool_x", b_cond_bool_x, 2, av2, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f2);
    jx_array *in4[2] = {arr(JX_F32, JX_INTS(6, 3), 0), arr(JX_F32, JX_INTS(3), 5)};
    jt_check_vmap("cond bool from x", f2, JX_INTS(0, JX_NOT_MAPPED), 2, in4, 1e-6);
    jt_release_arrays(2, in4);
    jx_fn_release(f2);
}

/* ------------------------------------------------------------------ while */

/* carry (i, v, acc): while i < 4 { i += 1; v = v * 0.5 + c; acc = acc + s } with c
 * (f32[3]) and s (f32 scalar) captured: the predicate reads i only. */
typedef struct wctx {
    jx_val c, s, n;
} wctx;
static void w_cond_i(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_lt(in[0], jx_scalar(JX_I32, 4));
}
static void w_body(jx_val *out, const jx_val *in, void *u) {
    wctx *w = u;
    out[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    out[1] = jx_add(jx_mul(in[1], jx_scalar(JX_F32, 0.5)), w->c);
    out[2] = jx_add(in[2], w->s);
}
/* (v0, c, s) -> (i, v, acc) */
static void b_while_fixed(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    wctx w = {in[1], in[2], JX_NONE};
    jx_val init[3] = {jx_scalar(JX_I32, 0), in[0], jx_scalar(JX_F32, 0.0)};
    jx_while(w_cond_i, w_body, &w, 3, init, out);
}

static void test_while_unbatched_pred(void) {
    jx_aval av[3] = {JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 3), JX_SCALAR(JX_F32)};
    jx_fn *f = trace("while_fixed", b_while_fixed, 3, av, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[3] = {arr(JX_F32, JX_INTS(4, 3), 1), arr(JX_F32, JX_INTS(3), 2), arr(JX_F32, JX_NOINTS, 3)};
    jt_check_vmap("while v0@0", f, JX_INTS(0, JX_NOT_MAPPED, JX_NOT_MAPPED), 3, in, 1e-6);
    jt_release_arrays(3, in);
    /* carries unbatched on entry become batched through the consts (fixed point) */
    jx_array *in2[3] = {arr(JX_F32, JX_INTS(3), 1), arr(JX_F32, JX_INTS(3, 4), 2), arr(JX_F32, JX_INTS(4), 3)};
    jt_check_vmap("while consts c@1 s@0", f, JX_INTS(JX_NOT_MAPPED, 1, 0), 3, in2, 1e-6);
    jt_release_arrays(3, in2);
    jx_fn *g = jx_vmap(f, JX_INTS(JX_NOT_MAPPED, 1, 0), JX_NOINTS, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jt_count_in_ir(g, " = while["), 1);
    CU_ASSERT_EQUAL(jt_count_in_ir(g, " = select "), 0); /* the predicate is the same for every lane */
    jx_fn_release(g);
    jx_fn_release(f);
}

/* A count-up loop to a per-lane limit n: carry (i, v): while i < n { i += 1; v = v*1.5 + 1 }. */
static void w_cond_n(jx_val *out, const jx_val *in, void *u) {
    wctx *w = u;
    out[0] = jx_lt(in[0], w->n);
}
static void w_body_n(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    out[1] = jx_add(jx_mul(in[1], jx_scalar(JX_F32, 1.5)), jx_scalar(JX_F32, 1.0));
}
/* (n, v0) -> (i, v) */
static void b_while_count(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    wctx w = {JX_NONE, JX_NONE, in[0]};
    jx_val init[2] = {jx_scalar(JX_I32, 0), in[1]};
    jx_while(w_cond_n, w_body_n, &w, 2, init, out);
}

static void test_while_batched_pred(void) {
    jx_aval av[2] = {JX_SCALAR(JX_I32), JX_AVAL(JX_F32, 2)};
    jx_fn *f = trace("while_count", b_while_count, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    double n[5] = {0, 3, 1, 5, 2};
    jx_array *in[2] = {ints(JX_I32, JX_INTS(5), n), arr(JX_F32, JX_INTS(2, 5), 1)};
    jt_check_vmap("while limit@0 v@1", f, JX_INTS(0, 1), 2, in, 1e-6);
    /* the lanes stopped at their own limits */
    jx_fn *g = jx_vmap(f, JX_INTS(0, 1), JX_NOINTS, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *o[2] = {NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 2, in, 2, o), JX_OK);
    JT_ASSERT_ARRAY(o[0], n, 5, 0);
    CU_ASSERT_EQUAL(jt_count_in_ir(g, " = while["), 1);
    jt_release_arrays(2, o);
    jx_fn_release(g);
    jt_release_arrays(2, in);
    jx_array *in2[2] = {ints(JX_I32, JX_INTS(5), n), arr(JX_F32, JX_INTS(2), 1)};
    jt_check_vmap("while limit@0 v unmapped", f, JX_INTS(0, JX_NOT_MAPPED), 2, in2, 1e-6);
    jt_release_arrays(2, in2);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ scan */

/* body (c, x_t) -> (c + x_t * k, c * x_t) with k captured: (c0 f32[3], xs f32[L,3], k f32[3]) */
static void s_body(jx_val *out, const jx_val *in, void *u) {
    jx_val *k = u;
    out[0] = jx_add(in[0], jx_mul(in[1], *k));
    out[1] = jx_mul(in[0], in[1]);
}
static void b_scan(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val k = in[2];
    jx_scan(s_body, &k, 4, 0, 1, in, 1, in + 1, 1, out);
}
static void b_scan_rev(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val k = in[2];
    jx_scan(s_body, &k, 4, 1, 1, in, 1, in + 1, 1, out);
}

static void test_scan(void) {
    jx_aval av[3] = {JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 4, 3), JX_AVAL(JX_F32, 3)};
    jx_body bodies[2] = {b_scan, b_scan_rev};
    for (int r = 0; r < 2; r++) {
        jx_fn *f = trace(r ? "scan_rev" : "scan", bodies[r], 3, av, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        jx_array *a1[3] = {arr(JX_F32, JX_INTS(5, 3), 1), arr(JX_F32, JX_INTS(4, 3), 2), arr(JX_F32, JX_INTS(3), 3)};
        jt_check_vmap("scan carry only", f, JX_INTS(0, JX_NOT_MAPPED, JX_NOT_MAPPED), 3, a1, 1e-5);
        jt_release_arrays(3, a1);
        jx_array *a2[3] = {arr(JX_F32, JX_INTS(3), 1), arr(JX_F32, JX_INTS(5, 4, 3), 2), arr(JX_F32, JX_INTS(3), 3)};
        jt_check_vmap("scan xs only @0", f, JX_INTS(JX_NOT_MAPPED, 0, JX_NOT_MAPPED), 3, a2, 1e-5);
        jt_release_arrays(3, a2);
        jx_array *a3[3] = {arr(JX_F32, JX_INTS(3), 1), arr(JX_F32, JX_INTS(4, 3, 5), 2), arr(JX_F32, JX_INTS(3), 3)};
        jt_check_vmap("scan xs only @2", f, JX_INTS(JX_NOT_MAPPED, 2, JX_NOT_MAPPED), 3, a3, 1e-5);
        jt_release_arrays(3, a3);
        jx_array *a4[3] = {arr(JX_F32, JX_INTS(3), 1), arr(JX_F32, JX_INTS(4, 3), 2), arr(JX_F32, JX_INTS(3, 5), 3)};
        jt_check_vmap("scan consts only @1", f, JX_INTS(JX_NOT_MAPPED, JX_NOT_MAPPED, 1), 3, a4, 1e-5);
        jt_release_arrays(3, a4);
        jx_array *a5[3] = {arr(JX_F32, JX_INTS(3, 5), 1), arr(JX_F32, JX_INTS(4, 5, 3), 2), arr(JX_F32, JX_INTS(5, 3), 3)};
        jt_check_vmap("scan all mapped", f, JX_INTS(1, 1, 0), 3, a5, 1e-5);
        jt_release_arrays(3, a5);
        jx_fn *g = jx_vmap(f, JX_INTS(JX_NOT_MAPPED, 0, JX_NOT_MAPPED), JX_INTS(0, 2), 5);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        CU_ASSERT_EQUAL(jt_count_in_ir(g, " = scan["), 1);
        jx_fn_release(g);
        jx_array *a6[3] = {arr(JX_F32, JX_INTS(3), 1), arr(JX_F32, JX_INTS(5, 4, 3), 2), arr(JX_F32, JX_INTS(3), 3)};
        jt_check_vmap_out("scan out_axes (0, 2)", f, JX_INTS(JX_NOT_MAPPED, 0, JX_NOT_MAPPED), JX_INTS(0, 2), 3, a6, 1e-5);
        jt_release_arrays(3, a6);
        jx_fn_release(f);
    }
}

/* ------------------------------------------------------------------ nesting and grad */

static void test_nested_vmap(void) {
    jx_aval av[2] = {JX_SCALAR(JX_I32), JX_AVAL(JX_F32, 2)};
    jx_fn *f = trace("while_count", b_while_count, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    double n[6] = {0, 4, 2, 1, 3, 5};
    jx_array *in[2] = {ints(JX_I32, JX_INTS(3, 2), n), arr(JX_F32, JX_INTS(3, 2), 1)};
    CU_ASSERT(jt_check_vmap_nested("vmap of vmap of while", f, JX_INTS(0, 0), JX_NOINTS, 3,
                                   JX_INTS(1, JX_NOT_MAPPED), JX_NOINTS, 2, 2, in, 1e-6));
    jt_release_arrays(2, in);
    jx_fn_release(f);
}

/* scalar loss through a scan and a cond with a data-dependent index, for per-example
 * gradients: (x f32[3], w f32[3]) -> sum(scan(...)) */
static void s_body2(jx_val *out, const jx_val *in, void *u) {
    jx_val *k = u;
    out[0] = jx_add(jx_mul(in[0], *k), jx_sin(in[1]));
    out[1] = jx_mul(in[0], in[0]);
}
static void b_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val k = in[1], c0 = jx_reduce_sum(in[0], JX_NOINTS), ys[2];
    jx_val xs = jx_reshape(in[0], JX_INTS(3));
    jx_scan(s_body2, &k, 3, 0, 1, &c0, 1, &xs, 1, ys);
    jx_body br[2] = {br0, br2};
    jx_val ops[2] = {in[0], in[1]}, co[2];
    jx_switch(jx_gt(ys[0], jx_scalar(JX_F32, 0.0)), 2, br, NULL, 2, ops, 2, co);
    out[0] = jx_add(jx_add(ys[0], jx_reduce_sum(ys[1], JX_NOINTS)), jx_reduce_sum(jx_mul(co[0], co[1]), JX_NOINTS));
}

static void test_vmap_of_grad(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 3), JX_SCALAR(JX_F32)};
    jx_fn *f = trace("loss", b_loss, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_INTS(0, 1));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *in[2] = {arr(JX_F32, JX_INTS(6, 3), 1), arr(JX_F32, JX_INTS(6), 2)};
    jt_check_vmap("vmap(grad(scan+cond)) all mapped", g, JX_INTS(0, 0), 2, in, 1e-4);
    jt_release_arrays(2, in);
    jx_array *in2[2] = {arr(JX_F32, JX_INTS(3, 6), 1), arr(JX_F32, JX_NOINTS, 2)};
    jt_check_vmap("vmap(grad(scan+cond)) x@1", g, JX_INTS(1, JX_NOT_MAPPED), 2, in2, 1e-4);
    jt_release_arrays(2, in2);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* grad of sum(vmap(f)): the gradient of each lane, and of the shared w the sum over lanes */
static jx_fn *g_vloss;
static void b_sum_vloss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val y;
    jx_call(g_vloss, 2, in, 1, &y);
    out[0] = jx_reduce_sum(y, JX_NOINTS);
}

static void test_grad_of_vmap(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 3), JX_SCALAR(JX_F32)};
    jx_fn *f = trace("loss", b_loss, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    g_vloss = jx_vmap(f, JX_INTS(0, JX_NOT_MAPPED), JX_NOINTS, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g_vloss);
    jx_aval bav[2] = {JX_AVAL(JX_F32, 4, 3), JX_SCALAR(JX_F32)};
    jx_fn *h = trace("sum_vloss", b_sum_vloss, 2, bav, 1);
    jx_fn *gh = h ? jx_grad(h, JX_INTS(0, 1)) : NULL, *gf = jx_grad(f, JX_INTS(0, 1));
    CU_ASSERT_PTR_NOT_NULL_FATAL(gh);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gf);
    jx_array *in[2] = {arr(JX_F32, JX_INTS(4, 3), 1), arr(JX_F32, JX_NOINTS, 2)}, *o[2] = {NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(jt_eval(gh, 2, in, 2, o), JX_OK);
    double want_x[12], want_w = 0;
    for (int b = 0; b < 4; b++) {
        jx_array *xs[2] = {jt_slice_axis(in[0], 0, b), jx_array_retain(in[1])}, *go[2] = {NULL, NULL};
        CU_ASSERT_EQUAL_FATAL(jx_eval(gf, 2, xs, 2, go), JX_OK);
        for (int i = 0; i < 3; i++) want_x[b * 3 + i] = jx_array_get(go[0], i);
        want_w += jx_array_get(go[1], 0);
        jt_release_arrays(2, xs);
        jt_release_arrays(2, go);
    }
    JT_ASSERT_ARRAY(o[0], want_x, 12, 1e-4);
    JT_ASSERT_ARRAY(o[1], &want_w, 1, 1e-4);
    jt_release_arrays(2, o);
    jt_release_arrays(2, in);
    jx_fn_release(gf);
    jx_fn_release(gh);
    jx_fn_release(h);
    jx_fn_release(g_vloss);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"call", test_call},
        {"cond with an unmapped index", test_cond_unbatched_index},
        {"cond with a mapped index", test_cond_batched_index},
        {"cond with a bool index", test_cond_bool_index},
        {"while with an unmapped predicate", test_while_unbatched_pred},
        {"while with a mapped predicate", test_while_batched_pred},
        {"scan", test_scan},
        {"vmap of vmap", test_nested_vmap},
        {"vmap of grad", test_vmap_of_grad},
        {"grad of vmap", test_grad_of_vmap},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmap_control", tests);
}
