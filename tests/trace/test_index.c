/* test_index.c: gather and scatter_add: plain take, shared batch dims, clamping and
 * dropping out-of-range indices, accumulation, embedding and one-hot patterns, and
 * every shape/dtype error at the caller's line. */
#include <stdint.h>

#include "harness.h"

/* What a body does, passed as user data; line receives the op's line. */
typedef struct params {
    int axis, nbatch, line;
} params;

static void gather_body(jx_val *out, const jx_val *in, void *user) {
    params *p = user;
    p->line = __LINE__ + 1;
    out[0] = jx_gather(in[0], in[1], p->axis, p->nbatch);
}

static void scatter_body(jx_val *out, const jx_val *in, void *user) {
    params *p = user;
    p->line = __LINE__ + 1;
    out[0] = jx_scatter_add(in[0], in[1], in[2], p->axis, p->nbatch);
}

/* Traces body on the avals of in[] and evaluates it; one output. */
static jx_array *run(jx_body body, params *p, int nin, jx_array **in) {
    jx_aval av[3];
    for (int i = 0; i < nin; i++) av[i] = jx_array_aval(in[i]);
    jx_array *y = NULL;
    jx_status st = jt_trace_eval(body, p, nin, av, in, 1, &y);
    if (st != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_EQUAL(st, JX_OK);
    return y;
}

static void release_all(int n, jx_array **a) {
    for (int i = 0; i < n; i++) jx_array_release(a[i]);
}

static void assert_shape(const jx_array *a, jx_ints want) {
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL_FATAL(jx_array_rank(a), want.n);
    for (int i = 0; i < want.n; i++) CU_ASSERT_EQUAL(jx_array_shape(a)[i], want.v[i]);
}

/* ------------------------------------------------------------------ gather */

static void test_gather_embedding(void) {
    /* a table of 4 rows of 3, looked up by a (2,2) block of ids: (2,2,3) */
    jx_array *table = jx_array_arange(JX_F32, 0, 12, 1);
    jx_array *t = jx_array_new(JX_F32, JX_INTS(4, 3), jx_array_data(table));
    jx_array *ids = jx_array_new(JX_I32, JX_INTS(2, 2), (int32_t[]){2, 0, 3, 2});
    jx_array *in[2] = {t, ids};
    params p = {0, 0, 0};
    jx_array *y = run(gather_body, &p, 2, in);
    assert_shape(y, JX_INTS(2, 2, 3));
    double want[12] = {6, 7, 8, 0, 1, 2, 9, 10, 11, 6, 7, 8};
    JT_ASSERT_ARRAY(y, want, 12, 0);
    jx_array_release(y);
    jx_array_release(table);
    release_all(2, in);
}

static void test_gather_negative_axis_i64(void) {
    /* columns of a (2,4) matrix by i64 ids: numpy.take(x, [3,0,3], axis=-1) */
    jx_array *x = jx_array_new(JX_F64, JX_INTS(2, 4), (double[]){0, 1, 2, 3, 10, 11, 12, 13});
    jx_array *ids = jx_array_new(JX_I64, JX_INTS(3), (int64_t[]){3, 0, 3});
    jx_array *in[2] = {x, ids};
    params p = {-1, 0, 0};
    jx_array *y = run(gather_body, &p, 2, in);
    assert_shape(y, JX_INTS(2, 3));
    double want[6] = {3, 0, 3, 13, 10, 13};
    JT_ASSERT_ARRAY(y, want, 6, 0);
    jx_array_release(y);
    release_all(2, in);
}

static void test_gather_clamps(void) {
    jx_array *x = jx_array_new(JX_I32, JX_INTS(3), (int32_t[]){7, 8, 9});
    jx_array *ids = jx_array_new(JX_I32, JX_INTS(5), (int32_t[]){-5, 1, 100, INT32_MIN, INT32_MAX});
    jx_array *in[2] = {x, ids};
    params p = {0, 0, 0};
    jx_array *y = run(gather_body, &p, 2, in);
    double want[5] = {7, 8, 9, 7, 9};
    JT_ASSERT_ARRAY(y, want, 5, 0);
    jx_array_release(y);
    jx_array_release(ids);
    /* u32 ids are unsigned: 0xffffffff is far past the end, not -1 */
    in[1] = ids = jx_array_new(JX_U32, JX_INTS(2), (uint32_t[]){0xffffffffu, 0});
    y = run(gather_body, &p, 2, in);
    double want2[2] = {9, 7};
    JT_ASSERT_ARRAY(y, want2, 2, 0);
    jx_array_release(y);
    release_all(2, in);
}

static void test_gather_batched(void) {
    /* nbatch 1: out[b,i] = x[b, idx[b,i]] */
    jx_array *x = jx_array_new(JX_F32, JX_INTS(2, 4), (float[]){0, 1, 2, 3, 10, 11, 12, 13});
    jx_array *ids = jx_array_new(JX_I32, JX_INTS(2, 3), (int32_t[]){3, 3, 0, 1, 2, 9});
    jx_array *in[2] = {x, ids};
    params p = {1, 1, 0};
    jx_array *y = run(gather_body, &p, 2, in);
    assert_shape(y, JX_INTS(2, 3));
    double want[6] = {3, 3, 0, 11, 12, 13};
    JT_ASSERT_ARRAY(y, want, 6, 0);
    jx_array_release(y);
    release_all(2, in);
}

static void test_gather_batched_middle_axis(void) {
    /* x (2,3,4), axis 2, nbatch 1, idx (2,2): out (2,3,2), out[b,p,i] = x[b,p,idx[b,i]] */
    jx_array *x = jx_array_arange(JX_F32, 0, 24, 1);
    jx_array *xr = jx_array_new(JX_F32, JX_INTS(2, 3, 4), jx_array_data(x));
    int32_t idv[4] = {1, 3, 2, 0};
    jx_array *ids = jx_array_new(JX_I32, JX_INTS(2, 2), idv);
    jx_array *in[2] = {xr, ids};
    params p = {-1, 1, 0};
    jx_array *y = run(gather_body, &p, 2, in);
    assert_shape(y, JX_INTS(2, 3, 2));
    double want[12];
    for (int b = 0; b < 2; b++)
        for (int q = 0; q < 3; q++)
            for (int i = 0; i < 2; i++) want[(b * 3 + q) * 2 + i] = (b * 3 + q) * 4 + idv[b * 2 + i];
    JT_ASSERT_ARRAY(y, want, 12, 0);
    jx_array_release(y);
    jx_array_release(x);
    release_all(2, in);
}

static void test_gather_scalar_index_and_dtypes(void) {
    /* a rank-0 index drops the axis: row 1 of a (3,2) i64 table */
    jx_array *x = jx_array_new(JX_I64, JX_INTS(3, 2), (int64_t[]){1, 2, INT64_MAX, INT64_MIN, 5, 6});
    jx_array *ids = jx_array_new(JX_I32, JX_NOINTS, (int32_t[]){1});
    jx_array *in[2] = {x, ids};
    params p = {0, 0, 0};
    jx_array *y = run(gather_body, &p, 2, in);
    assert_shape(y, JX_INTS(2));
    const int64_t *yv = jx_array_data(y);
    CU_ASSERT_EQUAL(yv[0], INT64_MAX);
    CU_ASSERT_EQUAL(yv[1], INT64_MIN);
    jx_array_release(y);
    release_all(2, in);
    /* bool and f16 (a storage type) move untouched */
    in[0] = x = jx_array_new(JX_BOOL, JX_INTS(3), (uint8_t[]){1, 0, 1});
    in[1] = ids = jx_array_new(JX_I32, JX_INTS(3), (int32_t[]){1, 2, 1});
    y = run(gather_body, &p, 2, in);
    double want[3] = {0, 1, 0};
    JT_ASSERT_ARRAY(y, want, 3, 0);
    jx_array_release(y);
    jx_array_release(x);
    in[0] = x = jx_array_new(JX_F16, JX_INTS(3), (uint16_t[]){0x3c00, 0xc000, 0x7bff});
    y = run(gather_body, &p, 2, in);
    CU_ASSERT_EQUAL(jx_array_dtype(y), JX_F16);
    const uint16_t *hv = jx_array_data(y);
    CU_ASSERT(hv[0] == 0xc000 && hv[1] == 0x7bff && hv[2] == 0xc000);
    jx_array_release(y);
    release_all(2, in);
}

static void test_gather_empty(void) {
    params p = {0, 0, 0};
    /* no indices: (0,3) */
    jx_array *x = jx_array_ones(JX_F32, JX_INTS(4, 3));
    jx_array *ids = jx_array_zeros(JX_I32, JX_INTS(0));
    jx_array *in[2] = {x, ids};
    jx_array *y = run(gather_body, &p, 2, in);
    assert_shape(y, JX_INTS(0, 3));
    jx_array_release(y);
    release_all(2, in);
    /* an empty axis has nothing to clamp into: zeros */
    in[0] = x = jx_array_zeros(JX_F32, JX_INTS(2, 0));
    in[1] = ids = jx_array_new(JX_I32, JX_INTS(3), (int32_t[]){0, 1, -1});
    p.axis = 1;
    y = run(gather_body, &p, 2, in);
    assert_shape(y, JX_INTS(2, 3));
    double want[6] = {0};
    JT_ASSERT_ARRAY(y, want, 6, 0);
    jx_array_release(y);
    release_all(2, in);
}

/* ------------------------------------------------------------------ scatter_add */

static void test_scatter_add_duplicates_and_drops(void) {
    jx_array *x = jx_array_new(JX_F32, JX_INTS(5), (float[]){0, 0, 0, 0, 100});
    jx_array *ids = jx_array_new(JX_I32, JX_INTS(6), (int32_t[]){1, 3, 1, 7, -1, 1});
    jx_array *upd = jx_array_new(JX_F32, JX_INTS(6), (float[]){1, 2, 3, 4, 5, 0.5f});
    jx_array *in[3] = {x, ids, upd};
    params p = {0, 0, 0};
    jx_array *y = run(scatter_body, &p, 3, in);
    double want[5] = {0, 4.5, 0, 2, 105}; /* 7 dropped, -1 wraps to 4 */
    JT_ASSERT_ARRAY(y, want, 5, 0);
    jx_array_release(y);
    release_all(3, in);
}

static void test_scatter_add_rows(void) {
    /* the gradient of an embedding lookup: rows of updates summed into the table */
    jx_array *x = jx_array_zeros(JX_F64, JX_INTS(4, 2));
    jx_array *ids = jx_array_new(JX_U32, JX_INTS(3), (uint32_t[]){0, 2, 0});
    jx_array *upd = jx_array_new(JX_F64, JX_INTS(3, 2), (double[]){1, 2, 3, 4, 5, 6});
    jx_array *in[3] = {x, ids, upd};
    params p = {-2, 0, 0};
    jx_array *y = run(scatter_body, &p, 3, in);
    assert_shape(y, JX_INTS(4, 2));
    double want[8] = {6, 8, 0, 0, 3, 4, 0, 0};
    JT_ASSERT_ARRAY(y, want, 8, 0);
    jx_array_release(y);
    release_all(3, in);
}

static void test_scatter_add_one_hot(void) {
    /* nbatch 1: each row gets a 1 at its label, a one-hot matrix; label 4 is dropped */
    jx_array *x = jx_array_zeros(JX_F32, JX_INTS(4, 4));
    jx_array *ids = jx_array_new(JX_I64, JX_INTS(4, 1), (int64_t[]){2, 0, 3, 4});
    jx_array *upd = jx_array_ones(JX_F32, JX_INTS(4, 1));
    jx_array *in[3] = {x, ids, upd};
    params p = {1, 1, 0};
    jx_array *y = run(scatter_body, &p, 3, in);
    double want[16] = {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0};
    JT_ASSERT_ARRAY(y, want, 16, 0);
    jx_array_release(ids);
    jx_array_release(upd);
    /* and gather reads the labels' entries back (a one-hot's inverse) */
    in[0] = y;
    in[1] = ids = jx_array_new(JX_I32, JX_INTS(4), (int32_t[]){2, 0, 3, 1});
    params g = {1, 1, 0};
    jx_array *picked = run(gather_body, &g, 2, in);
    double want2[4] = {1, 1, 1, 0};
    JT_ASSERT_ARRAY(picked, want2, 4, 0);
    jx_array_release(picked);
    jx_array_release(x);
    release_all(2, in);
}

static void test_scatter_add_integers_wrap(void) {
    jx_array *x = jx_array_new(JX_I32, JX_INTS(2), (int32_t[]){INT32_MAX, INT32_MIN});
    jx_array *ids = jx_array_new(JX_I32, JX_INTS(2), (int32_t[]){0, 1});
    jx_array *upd = jx_array_new(JX_I32, JX_INTS(2), (int32_t[]){1, -1});
    jx_array *in[3] = {x, ids, upd};
    params p = {0, 0, 0};
    jx_array *y = run(scatter_body, &p, 3, in);
    const int32_t *yv = jx_array_data(y);
    CU_ASSERT(yv[0] == INT32_MIN && yv[1] == INT32_MAX);
    jx_array_release(y);
    jx_array_release(x);
    jx_array_release(upd);
    in[0] = x = jx_array_new(JX_U8, JX_INTS(2), (uint8_t[]){255, 7});
    in[2] = upd = jx_array_new(JX_U8, JX_INTS(2), (uint8_t[]){1, 250});
    y = run(scatter_body, &p, 3, in);
    const uint8_t *bv = jx_array_data(y);
    CU_ASSERT(bv[0] == 0 && bv[1] == 1);
    jx_array_release(y);
    jx_array_release(x);
    jx_array_release(upd);
    in[0] = x = jx_array_new(JX_I64, JX_INTS(2), (int64_t[]){INT64_MAX, 3});
    in[2] = upd = jx_array_new(JX_I64, JX_INTS(2), (int64_t[]){1, -5});
    y = run(scatter_body, &p, 3, in);
    const int64_t *lv = jx_array_data(y);
    CU_ASSERT(lv[0] == INT64_MIN && lv[1] == -2);
    jx_array_release(y);
    release_all(3, in);
}

/* ------------------------------------------------------------------ errors */

/* Tracing body on avals must fail with code and msg at the op's line. */
static void expect_err(jx_body body, params *p, int nin, const jx_aval *av, jx_status code,
                       const char *msg) {
    p->line = -1;
    jx_fn *f = jx_trace("bad", body, p, nin, av, 1);
    CU_ASSERT_PTR_NULL(f);
    jx_fn_release(f);
    CU_ASSERT_EQUAL(jx_errcode(), code);
    JT_ASSERT_ERR(msg);
    JT_ASSERT_ERR(jt_place(__FILE__, p->line));
}

static void test_gather_errors(void) {
    jx_aval x = JX_AVAL(JX_F32, 2, 3), i3 = JX_AVAL(JX_I32, 3);
    params p = {0, 0, 0};
    expect_err(gather_body, &p, 2, (jx_aval[]){x, JX_AVAL(JX_F32, 3)}, JX_ERR_DTYPE,
               "gather: indices must be i32, i64 or u32, got f32[3]");
    expect_err(gather_body, &p, 2, (jx_aval[]){x, JX_AVAL(JX_U8, 3)}, JX_ERR_DTYPE,
               "indices must be i32, i64 or u32, got u8[3]");
    p.axis = 2;
    expect_err(gather_body, &p, 2, (jx_aval[]){x, i3}, JX_ERR_AXIS, "gather: axis 2 out of range for rank 2");
    p.axis = -3;
    expect_err(gather_body, &p, 2, (jx_aval[]){x, i3}, JX_ERR_AXIS, "axis -3 out of range for rank 2");
    p.axis = 0;
    expect_err(gather_body, &p, 2, (jx_aval[]){JX_SCALAR(JX_F32), i3}, JX_ERR_AXIS,
               "axis 0 out of range for rank 0");
    p.nbatch = 1;
    expect_err(gather_body, &p, 2, (jx_aval[]){x, i3}, JX_ERR_AXIS, "nbatch 1 must be between 0 and axis 0");
    p.axis = 1;
    p.nbatch = -1;
    expect_err(gather_body, &p, 2, (jx_aval[]){x, i3}, JX_ERR_AXIS, "nbatch -1 must be between 0 and axis 1");
    p.nbatch = 1;
    expect_err(gather_body, &p, 2, (jx_aval[]){x, JX_SCALAR(JX_I32)}, JX_ERR_SHAPE,
               "nbatch 1 exceeds the rank of indices i32[]");
    expect_err(gather_body, &p, 2, (jx_aval[]){x, JX_AVAL(JX_I32, 3, 2)}, JX_ERR_SHAPE,
               "batch dimensions differ: f32[2,3] vs indices i32[3,2] (nbatch 1)");
    p.nbatch = 0;
    expect_err(gather_body, &p, 2, (jx_aval[]){JX_AVAL(JX_F32, 2, 2, 2, 2, 2), JX_AVAL(JX_I32, 1, 1, 1, 1, 1)},
               JX_ERR_SHAPE, "result of f32[2,2,2,2,2] indexed by i32[1,1,1,1,1] has rank 9, above 8");
}

static void test_scatter_add_errors(void) {
    jx_aval x = JX_AVAL(JX_F32, 4, 2), i3 = JX_AVAL(JX_I32, 3);
    params p = {0, 0, 0};
    expect_err(scatter_body, &p, 3, (jx_aval[]){x, i3, JX_AVAL(JX_F32, 2, 3)}, JX_ERR_SHAPE,
               "scatter_add: updates must be f32[3,2] (the gather shape of f32[4,2] by i32[3]), got f32[2,3]");
    expect_err(scatter_body, &p, 3, (jx_aval[]){x, i3, JX_AVAL(JX_F64, 3, 2)}, JX_ERR_DTYPE,
               "updates f64[3,2] differ in dtype from x f32[4,2]");
    expect_err(scatter_body, &p, 3, (jx_aval[]){JX_AVAL(JX_BOOL, 4), i3, JX_AVAL(JX_BOOL, 3)}, JX_ERR_DTYPE,
               "x must be f32, f64, i32, i64, u32 or u8, got bool[4]");
    expect_err(scatter_body, &p, 3, (jx_aval[]){x, JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 3, 2)}, JX_ERR_DTYPE,
               "indices must be i32, i64 or u32, got f32[3]");
    p.axis = 5;
    expect_err(scatter_body, &p, 3, (jx_aval[]){x, i3, JX_AVAL(JX_F32, 3, 2)}, JX_ERR_AXIS,
               "scatter_add: axis 5 out of range for rank 2");
}

static void test_gather_ir_avals(void) {
    /* the traced function carries the output aval the rule computed */
    params p = {1, 0, 0};
    jx_aval av[2] = {JX_AVAL(JX_U32, 5, 6, 7), JX_AVAL(JX_I64, 2, 3)};
    jx_fn *f = jx_trace("g", gather_body, &p, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_aval o = jx_fn_output_aval(f, 0), want = JX_AVAL(JX_U32, 5, 2, 3, 7);
    CU_ASSERT(jx_aval_equal(&o, &want));
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 4); /* lt, add, select wrap the signed indices */
    CU_ASSERT_EQUAL(jx_fn_typecheck(f), JX_OK);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"gather: embedding lookup", test_gather_embedding},
        {"gather: negative axis, i64 ids", test_gather_negative_axis_i64},
        {"gather: indices clamp", test_gather_clamps},
        {"gather: nbatch 1", test_gather_batched},
        {"gather: nbatch 1 with a middle axis", test_gather_batched_middle_axis},
        {"gather: scalar index, other dtypes", test_gather_scalar_index_and_dtypes},
        {"gather: size-0 dims", test_gather_empty},
        {"gather: output aval in the IR", test_gather_ir_avals},
        {"scatter_add: duplicates add, out of range dropped", test_scatter_add_duplicates_and_drops},
        {"scatter_add: rows (embedding gradient)", test_scatter_add_rows},
        {"scatter_add: one-hot", test_scatter_add_one_hot},
        {"scatter_add: integers wrap", test_scatter_add_integers_wrap},
        {"gather errors name the line", test_gather_errors},
        {"scatter_add errors name the line", test_scatter_add_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("index", tests);
}
