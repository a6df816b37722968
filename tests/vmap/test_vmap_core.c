/* test_vmap_core.c: the vmap API: in_axes (incl. negative and not mapped), out_axes
 * (incl. negative), axis_size without a mapped input, every error message with the
 * caller's line, nested vmap against a double loop, an MLP whose IR size does not grow
 * with the batch, and calls inlined under vmap. */
#include <stdlib.h>

#include "../../src/vmap/vmap.h"
#include "vmap_check.h"

/* f(x[2,3], y[3]) = (x * broadcast(y) + sin(x), exp(y)) */
static void body_xy(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_add(jx_mul(in[0], in[1]), jx_sin(in[0]));
    out[1] = jx_exp(in[1]);
}
static jx_fn *trace_xy(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 2, 3), JX_AVAL(JX_F32, 3)};
    return jx_trace("xy", body_xy, NULL, 2, av, 2);
}

static void test_in_axes(void) {
    jx_fn *f = trace_xy();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    struct {
        int64_t a, b;
        jx_ints xs, ys;
    } cases[] = {
        {0, 0, JX_INTS(4, 2, 3), JX_INTS(4, 3)},
        {1, 1, JX_INTS(2, 4, 3), JX_INTS(3, 4)},
        {-1, -1, JX_INTS(2, 3, 4), JX_INTS(3, 4)},
        {2, JX_NOT_MAPPED, JX_INTS(2, 3, 4), JX_INTS(3)},
        {JX_NOT_MAPPED, -2, JX_INTS(2, 3), JX_INTS(4, 3)},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        jx_array *in[2] = {jt_rnd(JX_F32, cases[k].xs, -2, 2, 1 + (unsigned)k),
                           jt_rnd(JX_F32, cases[k].ys, -2, 2, 7 + (unsigned)k)};
        char what[64];
        snprintf(what, sizeof what, "in_axes case %zu", k);
        jt_check_vmap(what, f, (jx_ints){(int64_t[]){cases[k].a, cases[k].b}, 2}, 2, in, 1e-6);
        jt_release_arrays(2, in);
    }
    /* JX_NOINTS maps axis 0 of every input */
    jx_array *in[2] = {jt_rnd(JX_F32, JX_INTS(5, 2, 3), -1, 1, 3), jt_rnd(JX_F32, JX_INTS(5, 3), -1, 1, 4)};
    jx_fn *g = jx_vmap(f, JX_NOINTS, JX_NOINTS, 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_aval a0 = jx_fn_input_aval(g, 0), want = JX_AVAL(JX_F32, 5, 2, 3);
    CU_ASSERT(jx_aval_equal(&a0, &want));
    CU_ASSERT_STRING_EQUAL(jx_fn_name(g), "vmap_xy");
    jt_check_vmapped("in_axes default", f, g, JX_NOINTS, JX_NOINTS, 5, 2, in, 1e-6);
    jx_fn_release(g);
    jt_release_arrays(2, in);
    jx_fn_release(f);
}

static void test_out_axes(void) {
    jx_fn *f = trace_xy();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {jt_rnd(JX_F32, JX_INTS(4, 2, 3), -2, 2, 11), jt_rnd(JX_F32, JX_INTS(3, 4), -2, 2, 12)};
    jx_ints ia = JX_INTS(0, 1);
    jt_check_vmap_out("out_axes (1,1)", f, ia, JX_INTS(1, 1), 2, in, 1e-6);
    jt_check_vmap_out("out_axes (-1,0)", f, ia, JX_INTS(-1, 0), 2, in, 1e-6);
    jt_check_vmap_out("out_axes (2,-2)", f, ia, JX_INTS(2, -2), 2, in, 1e-6);
    jx_fn *g = jx_vmap(f, ia, JX_INTS(-1, 1), 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_aval o0 = jx_fn_output_aval(g, 0), o1 = jx_fn_output_aval(g, 1);
    jx_aval w0 = JX_AVAL(JX_F32, 2, 3, 4), w1 = JX_AVAL(JX_F32, 3, 4);
    CU_ASSERT(jx_aval_equal(&o0, &w0));
    CU_ASSERT(jx_aval_equal(&o1, &w1));
    jx_fn_release(g);
    jt_release_arrays(2, in);
    jx_fn_release(f);
}

/* Outputs that do not depend on the mapped input are broadcast; one output is an input. */
static void body_unmapped_out(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_exp(in[1]);
    out[1] = in[0];
    out[2] = jx_scalar(JX_F32, 2.5);
}
static void test_unmapped_outputs(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 2)};
    jx_fn *f = jx_trace("unmapped", body_unmapped_out, NULL, 2, av, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[2] = {jt_rnd(JX_F32, JX_INTS(3, 4), -1, 1, 5), jt_rnd(JX_F32, JX_INTS(2), -1, 1, 6)};
    jt_check_vmap_out("unmapped outputs", f, JX_INTS(-1, JX_NOT_MAPPED), JX_INTS(1, 0, 0), 2, in, 1e-6);
    jt_release_arrays(2, in);
    jx_fn_release(f);
}

/* axis_size with no mapped input: every slice is f(x). */
static void body_exp(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_exp(in[0]);
}
static void test_axis_size_only(void) {
    jx_aval av = JX_AVAL(JX_F64, 2);
    jx_fn *f = jx_trace("e", body_exp, NULL, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_vmap(f, JX_INTS(JX_NOT_MAPPED), JX_INTS(-1), 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *x = jt_array(JX_F64, JX_INTS(2), (double[]){0, 1}), *y = NULL;
    CU_ASSERT_EQUAL(jx_eval(g, 1, &x, 1, &y), JX_OK);
    double e = exp(1.0);
    jt_check_array(__LINE__, y, JX_F64, JX_INTS(2, 3), (double[]){1, 1, 1, e, e, e}, 1e-12);
    jx_array_release(x);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ errors */

static void test_errors_api(void) {
    jx_fn *f = trace_xy();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int line = __LINE__; jx_fn *g = jx_vmap(f, JX_INTS(0, 0, 0), JX_NOINTS, 3);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("vmap: in_axes has 3 entries but xy takes 2 inputs");
    JT_ASSERT_ERR(jt_place(__FILE__, line));

    line = __LINE__; g = jx_vmap(f, JX_NOINTS, JX_INTS(0, 0, 1), 3);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("vmap: out_axes has 3 entries but xy gives 2 outputs");
    JT_ASSERT_ERR(jt_place(__FILE__, line));

    line = __LINE__; g = jx_vmap(f, JX_INTS(0, 3), JX_NOINTS, 3);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("vmap: in_axes[1] = 3 is out of range for input 1 of rank 2");
    JT_ASSERT_ERR(jt_place(__FILE__, line));

    line = __LINE__; g = jx_vmap(f, JX_INTS(-4, 0), JX_NOINTS, 3);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("vmap: in_axes[0] = -4 is out of range for input 0 of rank 3");
    JT_ASSERT_ERR(jt_place(__FILE__, line));

    line = __LINE__; g = jx_vmap(f, JX_INTS(JX_NOT_MAPPED, JX_NOT_MAPPED), JX_NOINTS, -1);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("vmap: no input is mapped and axis_size is not given");
    JT_ASSERT_ERR(jt_place(__FILE__, line));

    line = __LINE__; g = jx_vmap(f, JX_INTS(0, 0), JX_INTS(3, 0), 3);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("vmap: out_axes[0] = 3 is out of range for output 0 of rank 3");
    JT_ASSERT_ERR(jt_place(__FILE__, line));

    line = __LINE__; g = jx_vmap(f, JX_NOINTS, JX_NOINTS, -1);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("vmap: axis_size is not given");
    JT_ASSERT_ERR(jt_place(__FILE__, line));

    /* an output that depends on the mapped axis cannot be declared unmapped */
    line = __LINE__; g = jx_vmap(f, JX_NOINTS, JX_INTS(0, JX_NOT_MAPPED), 3);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("output 1 of xy depends on the mapped axis but out_axes[1] is not mapped");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    jx_fn_release(f);
}

/* Inputs' mapped sizes are checked where values with their shapes meet: batching f
 * inline on values of a trace (what the control-flow rules do). */
typedef struct inline_case {
    const jx_fn *f;
    int dims[2];
    int64_t size;
    jx_loc loc;
} inline_case;
static void body_inline(jx_val *out, const jx_val *in, void *user) {
    inline_case *c = user;
    jx__vctx cx = {c->loc, c->size, NULL};
    int yd[2];
    out[0] = out[1] = in[0]; /* replaced on success */
    jx__vmap_inline(&cx, c->f, in, c->dims, out, yd);
}
static void test_errors_sizes(void) {
    jx_fn *f = trace_xy();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_aval av[2] = {JX_AVAL(JX_F32, 3, 2, 3), JX_AVAL(JX_F32, 3, 4)};
    inline_case c = {f, {0, 1}, 3, JX_HERE};
    jx_fn *g = jx_trace("t", body_inline, &c, 2, av, 2);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("vmap: mapped inputs have different sizes: input 0 has size 3 (axis 0), "
                  "input 1 has size 4 (axis 1)");
    JT_ASSERT_ERR(jt_place(__FILE__, c.loc.line));

    c.size = 5;
    c.loc = JX_HERE;
    g = jx_trace("t", body_inline, &c, 2, av, 2);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("vmap: axis_size 5 does not match input 0 of size 3 (axis 0)");
    JT_ASSERT_ERR(jt_place(__FILE__, c.loc.line));

    /* and it works when they agree */
    jx_aval ok[2] = {JX_AVAL(JX_F32, 3, 2, 3), JX_AVAL(JX_F32, 3, 3)};
    c.size = 3;
    g = jx_trace("t", body_inline, &c, 2, ok, 2);
    CU_ASSERT_PTR_NOT_NULL(g);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* A primitive without a batch rule names itself and the line that used it. */
static int sin_line;
static void body_sin(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    sin_line = __LINE__; out[0] = jx_sin(in[0]);
}
static void test_errors_no_rule(void) {
    jx_aval av = JX_AVAL(JX_F32, 3);
    jx_fn *f = jx_trace("s", body_sin, NULL, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx__vmap_rules_init();
    jx__batch_rule saved = jx__batch_rules[JX_PRIM_SIN];
    jx__batch_rules[JX_PRIM_SIN] = NULL;
    jx_fn *g = jx_vmap(f, JX_NOINTS, JX_NOINTS, 2);
    jx__batch_rules[JX_PRIM_SIN] = saved;
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("sin: cannot be batched yet (no batch rule)");
    JT_ASSERT_ERR(jt_place(__FILE__, sin_line));
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ nesting */

static void test_nested(void) {
    jx_fn *f = trace_xy();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    /* inner: x mapped at 0 (size 4), y not mapped; outer: inner's x at 1, y at 0 (size 5) */
    jx_fn *inner = jx_vmap(f, JX_INTS(0, JX_NOT_MAPPED), JX_INTS(0, 0), 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(inner);
    jx_fn *outer = jx_vmap(inner, JX_INTS(1, 0), JX_INTS(0, 0), 5);
    CU_ASSERT_PTR_NOT_NULL_FATAL(outer);
    jx_aval a0 = jx_fn_input_aval(outer, 0), a1 = jx_fn_input_aval(outer, 1);
    jx_aval w0 = JX_AVAL(JX_F32, 4, 5, 2, 3), w1 = JX_AVAL(JX_F32, 5, 3);
    CU_ASSERT(jx_aval_equal(&a0, &w0));
    CU_ASSERT(jx_aval_equal(&a1, &w1));
    jx_array *in[2] = {jt_rnd(JX_F32, JX_INTS(4, 5, 2, 3), -2, 2, 21), jt_rnd(JX_F32, JX_INTS(5, 3), -2, 2, 22)};
    jx_array *y[2] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(outer, 2, in, 2, y), JX_OK);
    /* out[0][j][i] = f(x[i][j], y[j])[0]; out[1][j][i] = f(...)[1] */
    int bad = 0;
    for (int j = 0; j < 5; j++)
        for (int i = 0; i < 4; i++) {
            jx_array *xi = jt_slice_axis(in[0], 0, i), *xij = jt_slice_axis(xi, 0, j);
            jx_array *yj = jt_slice_axis(in[1], 0, j), *args[2] = {xij, yj}, *r[2] = {0};
            CU_ASSERT_EQUAL(jx_eval(f, 2, args, 2, r), JX_OK);
            for (int o = 0; o < 2; o++) {
                jx_array *oj = jt_slice_axis(y[o], 0, j), *oji = jt_slice_axis(oj, 0, i);
                int64_t n = jx_array_size(r[o]);
                double *w = malloc(sizeof *w * (size_t)n);
                for (int64_t k = 0; k < n; k++) w[k] = jx_array_get(r[o], k);
                bad += !(oji && jx_array_size(oji) == n && jt_max_err(oji, w, n) <= 1e-6);
                free(w);
                jx_array_release(oj);
                jx_array_release(oji);
            }
            jt_release_arrays(2, r);
            jx_array_release(xi);
            jx_array_release(xij);
            jx_array_release(yj);
        }
    CU_ASSERT_EQUAL(bad, 0);
    jt_release_arrays(2, y);
    jt_release_arrays(2, in);
    jx_fn_release(outer);
    jx_fn_release(inner);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ an MLP */

/* One example x[6] through dense(6->5), relu, dense(5->4), log_softmax. */
static void body_mlp(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val h = jx_relu(jx_add(jx_matmul(in[0], in[1]), in[2]));
    out[0] = jx_log_softmax(jx_add(jx_matmul(h, in[3]), in[4]), -1);
}
static void test_mlp_eqn_count(void) {
    jx_aval av[5] = {JX_AVAL(JX_F32, 6), JX_AVAL(JX_F32, 6, 5), JX_AVAL(JX_F32, 5),
                     JX_AVAL(JX_F32, 5, 4), JX_AVAL(JX_F32, 4)};
    jx_fn *f = jx_trace("mlp", body_mlp, NULL, 5, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_ints ia = JX_INTS(0, JX_NOT_MAPPED, JX_NOT_MAPPED, JX_NOT_MAPPED, JX_NOT_MAPPED);
    int64_t sizes[3] = {1, 8, 128};
    int counts[3] = {-1, -2, -3};
    for (int k = 0; k < 3; k++) {
        jx_fn *g = jx_vmap(f, ia, JX_NOINTS, sizes[k]);
        if (!g) fprintf(stderr, "\n  vmap(mlp) failed: %s\n", jx_errmsg());
        CU_ASSERT_PTR_NOT_NULL(g);
        if (g) counts[k] = jx_fn_num_eqns_total(g);
        jx_fn_release(g);
    }
    printf("\n  mlp: %d equations; vmapped: %d (batch 1), %d (batch 8), %d (batch 128)\n",
           jx_fn_num_eqns_total(f), counts[0], counts[1], counts[2]);
    CU_ASSERT(counts[0] > 0);
    CU_ASSERT_EQUAL(counts[0], counts[1]);
    CU_ASSERT_EQUAL(counts[1], counts[2]);
    jx_array *in[5] = {jt_rnd(JX_F32, JX_INTS(8, 6), -1, 1, 31), jt_rnd(JX_F32, JX_INTS(6, 5), -1, 1, 32),
                       jt_rnd(JX_F32, JX_INTS(5), -1, 1, 33), jt_rnd(JX_F32, JX_INTS(5, 4), -1, 1, 34),
                       jt_rnd(JX_F32, JX_INTS(4), -1, 1, 35)};
    jt_check_vmap("mlp batch 8", f, ia, 5, in, 1e-5);
    jt_release_arrays(5, in);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ calls */

typedef struct { const jx_fn *f; } callee;
static void body_caller(jx_val *out, const jx_val *in, void *user) {
    const callee *c = user;
    jx_val r[2];
    jx_call(c->f, 2, in, 2, r);
    out[0] = jx_mul(r[0], jx_scalar(JX_F32, 3.0));
    out[1] = jx_sub(r[1], in[1]);
}
static void test_call_inlined(void) {
    jx_fn *f = trace_xy();
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    callee c = {f};
    jx_aval av[2] = {JX_AVAL(JX_F32, 2, 3), JX_AVAL(JX_F32, 3)};
    jx_fn *h = jx_trace("caller", body_caller, &c, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    jx_array *in[2] = {jt_rnd(JX_F32, JX_INTS(2, 3, 4), -2, 2, 41), jt_rnd(JX_F32, JX_INTS(4, 3), -2, 2, 42)};
    jt_check_vmap("call inside", h, JX_INTS(-1, 0), 2, in, 1e-6);
    jx_fn *g = jx_vmap(h, JX_INTS(-1, 0), JX_NOINTS, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), jx_fn_num_eqns_total(g)); /* no nested function left */
    char *text = jx_fn_to_string(g);
    CU_ASSERT_PTR_NOT_NULL(text);
    if (text) CU_ASSERT_PTR_NULL(strstr(text, "= call["));
    free(text);
    jx_fn_release(g);
    jt_release_arrays(2, in);
    jx_fn_release(h);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"in_axes: 0, last, middle, negative, not mapped", test_in_axes},
        {"out_axes incl. negative", test_out_axes},
        {"unmapped outputs are broadcast", test_unmapped_outputs},
        {"axis_size without a mapped input", test_axis_size_only},
        {"errors of the API name the caller", test_errors_api},
        {"errors on mapped sizes", test_errors_sizes},
        {"a primitive without a batch rule", test_errors_no_rule},
        {"vmap of vmap against a double loop", test_nested},
        {"vmapped MLP: the IR does not grow with the batch", test_mlp_eqn_count},
        {"calls are inlined", test_call_inlined},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmap_core", tests);
}
