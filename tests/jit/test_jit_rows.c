/* test_jit_rows.c: row groups (src/jit/fuse_rows.c) and the kernels that compute a
 * row's values once per row (src/backends/cpu/codegen_rows.c). With the CPU backend a
 * softmax, a log-softmax and a layer norm are one loop group each (four each
 * without); a reduction read across rows (a row maximum broadcast along the columns) is
 * not merged, since the kernel would fold it again for every element. The jit's results
 * are the interpreter's bit for bit on one and two threads (rows split between calls),
 * with rows held in a stack buffer (f32 and f64), rank-3 spaces and the gradient of a
 * softmax; rows longer than a buffer holds (9000 f32) keep a kernel per pass. */
#include <jx/nn.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/jit/jit.h"
#include "jit_util.h"

static void softmax(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_softmax(in[0], -1);
}

static void log_softmax(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_log_softmax(in[0], -1);
}

static void layer_norm(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_nn_layer_norm(in[0], JX_NONE, JX_NONE, 1e-5);
}

/* sum(softmax(x) * w): its gradient in x reads the softmax and a row sum of it times w */
static void softmax_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_reduce_sum(jx_mul(jx_softmax(in[0], -1), in[1]), JX_INTS(0, 1));
}

/* x[i, j] - max(x[j, :]): the row maxima broadcast along the columns */
static void across(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_aval a = jx_aval_of(in[0]);
    jx_val m = jx_reduce_max(jx_exp(in[0]), JX_INTS(1));
    out[0] = jx_sub(in[0], jx_broadcast_in_dim(m, JX_INTS(a.shape[0], a.shape[1]), JX_INTS(1)));
}

static jx_fn *trace1(const char *name, jx_body body, jx_dtype t, jx_ints shape) {
    jx_aval av = {t, shape.n, {0}};
    for (int d = 0; d < shape.n; d++) av.shape[d] = shape.v[d];
    jx_fn *f = jx_trace(name, body, NULL, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    return f;
}

static int loop_groups(const jx_fn *f, const jx__backend *be) {
    jx__fusion *fu = jx__fuse(f, true, be);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fu);
    int n = 0;
    for (int g = 0; g < fu->ngroups; g++) n += fu->groups[g].kind == JX__G_LOOP;
    jx__fusion_free(fu);
    return n;
}

/* Loop groups of body over f32[rows, cols] without a backend and with the CPU's. */
static void check_groups(const char *name, jx_body body, int64_t rows, int64_t cols, int without, int with) {
    jx_fn *f = trace1(name, body, JX_F32, JX_INTS(rows, cols));
    int n = loop_groups(f, NULL);
    if (n != without) fprintf(stderr, "\n  %s: %d loop groups without row groups\n", name, n);
    CU_ASSERT_EQUAL(n, without);
    CU_ASSERT_EQUAL(loop_groups(f, &jx__cpu_backend), with);
    jx_fn_release(f);
}

static void test_groups(void) {
    check_groups("softmax", softmax, 8, 64, 4, 1);
    check_groups("log_softmax", log_softmax, 8, 64, 4, 1);
    check_groups("layer_norm", layer_norm, 8, 64, 4, 1);
    check_groups("softmax", softmax, 2, 9000, 4, 4); /* longer than a buffer */
    check_groups("across", across, 64, 64, 2, 2);    /* maxima read at the column index */
}

/* f's jit results on 1 and 2 threads against the interpreter's, bit for bit. */
static void check_bits(const jx_fn *f, int nin, jx_array **in) {
    jx_array *want = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, nin, in, 1, &want), JX_OK);
    for (int nt = 1; nt <= 2; nt++) {
        jx_jit_opts o = JX_JIT_DEFAULTS;
        o.nthreads = nt;
        jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        jx_array *got = NULL;
        CU_ASSERT_EQUAL(jx_exec_run(x, nin, in, 1, &got), JX_OK);
        if (!ju_same_bits(got, want)) fprintf(stderr, "\n  %s on %d threads: not the interpreter's bits\n", f->name, nt);
        CU_ASSERT(ju_same_bits(got, want));
        jx_array_release(got);
        jx_exec_release(x);
    }
    jx_array_release(want);
}

static void check1(const char *name, jx_body body, jx_dtype t, jx_ints shape, double scale) {
    jx_fn *f = trace1(name, body, t, shape);
    jx_array *in = ju_ramp(shape, scale, -3);
    if (t == JX_F64) {
        jx_array *d = jx_array_astype(in, JX_F64);
        jx_array_release(in);
        in = d;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(in);
    check_bits(f, 1, &in);
    jx_array_release(in);
    jx_fn_release(f);
}

static void test_bits(void) {
    check1("softmax", softmax, JX_F32, JX_INTS(37, 300), 0.0137);     /* blocked sums, buffered */
    check1("softmax", softmax, JX_F32, JX_INTS(5, 2048), 0.0011);     /* 8 blocks side by side */
    check1("softmax", softmax, JX_F32, JX_INTS(3, 9000), 0.0007);     /* too long: not merged */
    check1("softmax", softmax, JX_F32, JX_INTS(3, 5, 7), 0.21);       /* rank 3, short rows */
    check1("softmax", softmax, JX_F64, JX_INTS(7, 300), 0.0137);
    check1("log_softmax", log_softmax, JX_F32, JX_INTS(129, 10), 0.31);
    check1("layer_norm", layer_norm, JX_F32, JX_INTS(33, 1030), 0.0059);
    check1("layer_norm", layer_norm, JX_F64, JX_INTS(4, 257), 0.013);
    check1("across", across, JX_F32, JX_INTS(40, 40), 0.013);
}

static void test_grad(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 19, 301), JX_AVAL(JX_F32, 19, 301)};
    jx_fn *f = jx_trace("softmax_loss", softmax_loss, NULL, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_INTS(0));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    /* the backward pass of softmax: s * (w - sum(s * w)) along each row, one kernel with
     * the forward one */
    CU_ASSERT_EQUAL(loop_groups(g, &jx__cpu_backend), 1);
    jx_array *in[2] = {ju_ramp(JX_INTS(19, 301), 0.011, -2), ju_ramp(JX_INTS(19, 301), 0.003, -0.5)};
    check_bits(g, 2, in);
    for (int i = 0; i < 2; i++) jx_array_release(in[i]);
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"softmax, log-softmax, layer norm are one group each; long rows and reads across rows are not merged", test_groups},
        {"row kernels give the interpreter's bits (buffered rows, long rows, rank 3, f64)", test_bits},
        {"the gradient of a softmax: one kernel, the interpreter's bits", test_grad},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_rows", tests);
}
