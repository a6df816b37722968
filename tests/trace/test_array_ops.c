/* test_array_ops.c: stack, split, tile, repeat, clip with traced bounds, top_k along any
 * axis and the scalar-operand ops, against numpy's definitions written as C loops here;
 * their derivatives against finite differences (f64), vmap against a loop, and their
 * errors with the caller's line. */
#include <stdlib.h>

#include "gradcheck.h"
#include "ir.h"
#include "vmap/vmap_check.h"

/* x[k] = k + 1 for k < n */
static jx_array *iota_arr(jx_dtype t, jx_ints shape) {
    int64_t n = 1;
    for (int i = 0; i < shape.n; i++) n *= shape.v[i];
    double *v = malloc((size_t)(n ? n : 1) * sizeof *v);
    for (int64_t k = 0; k < n; k++) v[k] = (double)(k + 1);
    jx_array *a = jt_array(t, shape, v);
    free(v);
    return a;
}

static void check_shape(const jx_array *y, jx_ints want) {
    CU_ASSERT_EQUAL_FATAL(y->aval.rank, want.n);
    for (int d = 0; d < want.n; d++) CU_ASSERT_EQUAL(y->aval.shape[d], want.v[d]);
}

/* ------------------------------------------------------------------ stack, split */

static void stack_body(jx_val *out, const jx_val *in, void *u) { out[0] = jx_stack(3, in, *(int *)u); }

static void test_stack(void) {
    /* three (2,3) operands, stacked on axes 0, 1, 2 and -1 */
    int axes[4] = {0, 1, 2, -1};
    for (int a = 0; a < 4; a++) {
        jx_array *in[3];
        for (int i = 0; i < 3; i++) {
            double v[6];
            for (int k = 0; k < 6; k++) v[k] = 10 * i + k;
            in[i] = jt_array(JX_F32, JX_INTS(2, 3), v);
        }
        jx_array *y = jt_eval1(stack_body, &axes[a], 3, in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        int ax = axes[a] < 0 ? 2 : axes[a];
        int64_t shape[3], m = 0;
        for (int d = 0, j = 0; d < 3; d++) shape[d] = d == ax ? 3 : (j++ == 0 ? 2 : 3);
        check_shape(y, (jx_ints){shape, 3});
        double want[18];
        /* y[idx] = x_i[r][c] with i at position ax */
        for (int p = 0; p < 18; p++) {
            int64_t i0 = p / (shape[1] * shape[2]), i1 = p / shape[2] % shape[1], i2 = p % shape[2];
            int64_t idx[3] = {i0, i1, i2}, rest[2], r = 0;
            for (int d = 0; d < 3; d++)
                if (d != ax) rest[r++] = idx[d];
            want[p] = 10.0 * (double)idx[ax] + (double)(rest[0] * 3 + rest[1]);
            m++;
        }
        JT_ASSERT_ARRAY(y, want, m, 0);
        jx_array_release(y);
    }
}

static void split_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_split(in[0], JX_INTS(1, 0, 3), -1, out);
}

/* one output for the gradient check: the pieces reordered and scaled */
static void split_grad_body(jx_val *out, const jx_val *in, void *u) {
    jx_val p[3];
    split_body(p, in, u);
    jx_val q[2] = {p[2], jx_mul_s(p[0], 2.0)};
    out[0] = jx_concatenate(2, q, 1);
}

static void test_split(void) {
    jx_aval av = JX_AVAL(JX_F64, 2, 4);
    jx_array *x = iota_arr(JX_F64, JX_INTS(2, 4)), *out[3] = {NULL, NULL, NULL};
    CU_ASSERT_EQUAL_FATAL(jt_trace_eval(split_body, NULL, 1, &av, &x, 3, out), JX_OK);
    check_shape(out[0], JX_INTS(2, 1));
    check_shape(out[1], JX_INTS(2, 0));
    check_shape(out[2], JX_INTS(2, 3));
    JT_ASSERT_ARRAY(out[0], ((double[]){1, 5}), 2, 0);
    JT_ASSERT_ARRAY(out[2], ((double[]){2, 3, 4, 6, 7, 8}), 6, 0);
    jt_release_arrays(3, out);
    jx_array_release(x);
    /* split is linear: its vjp pads the cotangents back into place */
    CU_ASSERT(jt_check_grads("split", split_grad_body, NULL, 1, &av, -1, 1, 1e-9));
}

/* ------------------------------------------------------------------ tile, repeat */

typedef struct tr_case {
    int64_t shape[3];
    int rank;
    int64_t reps[4];
    int nreps;
} tr_case;

static void tile_body(jx_val *out, const jx_val *in, void *u) {
    const tr_case *c = u;
    out[0] = jx_tile(in[0], (jx_ints){c->reps, c->nreps});
}

/* numpy.tile: out index i maps to x index i % shape (after padding both to one rank). */
static void test_tile(void) {
    static const tr_case cases[] = {
        {{2, 3}, 2, {2, 1}, 2}, {{2, 3}, 2, {3}, 1}, {{3}, 1, {2, 1, 2}, 3}, {{2, 1, 2}, 3, {1, 3, 2}, 3},
        {{4}, 1, {0}, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        const tr_case *c = &cases[k];
        int r = c->rank > c->nreps ? c->rank : c->nreps;
        int64_t xs[4], rp[4], ys[4], n = 1;
        for (int d = 0; d < r; d++) {
            xs[d] = d < r - c->rank ? 1 : c->shape[d - (r - c->rank)];
            rp[d] = d < r - c->nreps ? 1 : c->reps[d - (r - c->nreps)];
            ys[d] = xs[d] * rp[d];
            n *= ys[d];
        }
        jx_array *in[1] = {iota_arr(JX_I32, (jx_ints){c->shape, c->rank})};
        jx_array *y = jt_eval1(tile_body, (void *)c, 1, in);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        check_shape(y, (jx_ints){ys, r});
        double *want = malloc((size_t)(n ? n : 1) * sizeof *want);
        for (int64_t p = 0; p < n; p++) {
            int64_t rem = p, xi = 0, scale = 1;
            for (int d = r - 1; d >= 0; d--) {
                int64_t i = rem % ys[d];
                rem /= ys[d];
                xi += (i % xs[d]) * scale;
                scale *= xs[d];
            }
            want[p] = (double)(xi + 1);
        }
        JT_ASSERT_ARRAY(y, want, n, 0);
        free(want);
        jx_array_release(y);
    }
    jx_aval av = JX_AVAL(JX_F64, 2, 3);
    CU_ASSERT(jt_check_grads("tile", tile_body, (void *)&cases[0], 1, &av, -1, 1, 1e-9));
}

static void repeat_body(jx_val *out, const jx_val *in, void *u) {
    const int *a = u;
    out[0] = jx_repeat(in[0], a[1], a[0]);
}

static void test_repeat(void) {
    jx_array *in[1] = {iota_arr(JX_F32, JX_INTS(2, 3))};
    int a[2] = {1, 2};
    jx_array *y = jt_eval1(repeat_body, a, 1, in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    check_shape(y, JX_INTS(2, 6));
    JT_ASSERT_ARRAY(y, ((double[]){1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6}), 12, 0);
    jx_array_release(y);
    in[0] = iota_arr(JX_F32, JX_INTS(2, 3));
    int b[2] = {-2, 3};
    y = jt_eval1(repeat_body, b, 1, in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    check_shape(y, JX_INTS(6, 3));
    JT_ASSERT_ARRAY(y, ((double[]){1, 2, 3, 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6, 4, 5, 6}), 18, 0);
    jx_array_release(y);
    jx_aval av = JX_AVAL(JX_F64, 2, 3);
    CU_ASSERT(jt_check_grads("repeat", repeat_body, a, 1, &av, -1, 1, 1e-9));
}

/* ------------------------------------------------------------------ clip, top_k */

static void clip_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_clip(in[0], in[1], in[2]);
}

static void test_clip(void) {
    /* x (2,3), per-column lo (3,), scalar hi */
    jx_array *in[3] = {jt_array(JX_F32, JX_INTS(2, 3), (double[]){-5, 0.5, 7, NAN, -1, 2}),
                       jt_array(JX_F32, JX_INTS(3), (double[]){-1, 0, 1}), jt_array(JX_F32, JX_NOINTS, (double[]){3})};
    jx_array *y = jt_eval1(clip_body, NULL, 3, in);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    JT_ASSERT_ARRAY(y, ((double[]){-1, 0.5, 3, NAN, 0, 2}), 6, 0);
    jx_array_release(y);
    /* gradients flow to x inside, to the bound that binds outside (no ties in the range) */
    jx_aval av[3] = {JX_AVAL(JX_F64, 2, 3), JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64)};
    CU_ASSERT(jt_check_grads("clip", clip_body, NULL, 3, av, -2, 2, 1e-6));
}

static void topk_body(jx_val *out, const jx_val *in, void *u) {
    jx_top_k_axis(in[0], 2, *(int *)u, &out[0], &out[1]);
}

static void test_top_k_axis(void) {
    double v[12] = {3, 9, 1, 4, 7, 2, 8, 6, 5, 0, 11, 10}; /* (3, 4) */
    jx_aval av = JX_AVAL(JX_F32, 3, 4);
    int axes[2] = {0, -1};
    for (int a = 0; a < 2; a++) {
        jx_array *x = jt_array(JX_F32, JX_INTS(3, 4), v), *out[2] = {NULL, NULL};
        CU_ASSERT_EQUAL_FATAL(jt_trace_eval(topk_body, &axes[a], 1, &av, &x, 2, out), JX_OK);
        if (a == 0) { /* the two largest of each column, descending */
            check_shape(out[0], JX_INTS(2, 4));
            JT_ASSERT_ARRAY(out[0], ((double[]){7, 9, 11, 10, 5, 2, 8, 6}), 8, 0);
            JT_ASSERT_ARRAY(out[1], ((double[]){1, 0, 2, 2, 2, 1, 1, 1}), 8, 0);
        } else {
            check_shape(out[0], JX_INTS(3, 2));
            JT_ASSERT_ARRAY(out[0], ((double[]){9, 4, 8, 7, 11, 10}), 6, 0);
            JT_ASSERT_ARRAY(out[1], ((double[]){1, 3, 2, 0, 2, 3}), 6, 0);
        }
        CU_ASSERT_EQUAL(jx_array_dtype(out[1]), JX_I32);
        jt_release_arrays(2, out);
        jx_array_release(x);
    }
}

/* ------------------------------------------------------------------ scalar operands */

static void scalar_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0];
    out[0] = jx_add_s(jx_mul_s(x, 2.0), 1.0);              /* 2x + 1 */
    out[1] = jx_rsub_s(10.0, jx_div_s(x, 4.0));             /* 10 - x/4 */
    out[2] = jx_min_s(jx_max_s(jx_sub_s(x, 3.0), -1.0), 2); /* clamp(x - 3, -1, 2) */
    out[3] = jx_rdiv_s(1.0, jx_pow_s(x, 2.0));              /* 1 / x^2 */
}

static void int_scalar_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_mul_s(in[0], 3);
}

static int bad_line;
static void bad_scalar_body(jx_val *out, const jx_val *in, void *u) {
    bad_line = __LINE__ + 1;
    out[0] = jx_mul_s(in[0], *(double *)u);
}

static void test_scalar_ops(void) {
    jx_aval av = JX_AVAL(JX_F32, 4);
    jx_array *x = jt_array(JX_F32, JX_INTS(4), (double[]){1, 2, 4, 8}), *out[4] = {NULL};
    CU_ASSERT_EQUAL_FATAL(jt_trace_eval(scalar_body, NULL, 1, &av, &x, 4, out), JX_OK);
    JT_ASSERT_ARRAY(out[0], ((double[]){3, 5, 9, 17}), 4, 0);
    JT_ASSERT_ARRAY(out[1], ((double[]){9.75, 9.5, 9, 8}), 4, 0);
    JT_ASSERT_ARRAY(out[2], ((double[]){-1, -1, 1, 2}), 4, 0);
    JT_ASSERT_ARRAY(out[3], ((double[]){1, 0.25, 0.0625, 0.015625}), 4, 0);
    for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(jx_array_dtype(out[i]), JX_F32);
    jt_release_arrays(4, out);
    jx_array_release(x);
    /* one equation with a literal: no broadcast, the scalar in x's dtype */
    jx_aval ai3 = JX_AVAL(JX_I32, 3);
    jx_fn *f = jx_trace("s", int_scalar_body, NULL, 1, &ai3, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jt_count_in_ir(f, " = mul "), 1);
    CU_ASSERT_EQUAL(jt_count_in_ir(f, "3:i32"), 1);
    CU_ASSERT_EQUAL(jt_count_in_ir(f, "broadcast"), 0);
    jx_fn_release(f);
    /* a value the dtype cannot hold is an error naming the op and the line */
    jx_aval ai = JX_AVAL(JX_U8, 3);
    double bad[2] = {2.5, 300};
    for (int i = 0; i < 2; i++) {
        f = jx_trace("bad", bad_scalar_body, &bad[i], 1, &ai, 1);
        CU_ASSERT_PTR_NULL(f);
        JT_ASSERT_ERR(i ? "mul_s: 300 is not a value of u8 (x is u8[3]); convert x first"
                        : "mul_s: 2.5 is not a value of u8 (x is u8[3]); convert x first");
        JT_ASSERT_ERR(jt_place(__FILE__, bad_line));
    }
}

/* ------------------------------------------------------------------ vmap, errors */

static void vfill(const jt_vinput *in, int64_t n, double *v) {
    for (int64_t i = 0; i < n; i++) v[i] = in->lo + (in->hi - in->lo) * (0.5 + 0.5 * sin(2.1 * (double)i + 0.3));
}

static void test_vmap(void) {
    int ax = 1;
    jt_vinput s3[3] = {{JX_AVAL(JX_F64, 2, 3), 1, -1, 1}, {JX_AVAL(JX_F64, 2, 3), JX_NOT_MAPPED, -1, 1},
                       {JX_AVAL(JX_F64, 2, 3), 0, -1, 1}};
    CU_ASSERT(jt_check_vmap_avals("stack", stack_body, &ax, 3, s3, 1, 4, vfill, 0, NULL));
    jt_vinput one = {JX_AVAL(JX_F64, 2, 4), 2, -1, 1};
    CU_ASSERT(jt_check_vmap_avals("split", split_body, NULL, 1, &one, 3, 4, vfill, 0, NULL));
    static const tr_case tc = {{2, 3}, 2, {2, 1, 2}, 3};
    jt_vinput two = {JX_AVAL(JX_F64, 2, 3), 1, -1, 1};
    CU_ASSERT(jt_check_vmap_avals("tile", tile_body, (void *)&tc, 1, &two, 1, 4, vfill, 0, NULL));
    int r[2] = {0, 3};
    CU_ASSERT(jt_check_vmap_avals("repeat", repeat_body, r, 1, &two, 1, 4, vfill, 0, NULL));
    jt_vinput c3[3] = {{JX_AVAL(JX_F64, 2, 3), 0, -2, 2}, {JX_AVAL(JX_F64, 3), 0, -1, 0},
                       {JX_AVAL(JX_F64), JX_NOT_MAPPED, 0.5, 1}};
    CU_ASSERT(jt_check_vmap_avals("clip", clip_body, NULL, 3, c3, 1, 4, vfill, 0, NULL));
    int k0 = 0;
    jt_vinput t1 = {JX_AVAL(JX_F64, 5, 3), 1, -3, 3};
    CU_ASSERT(jt_check_vmap_avals("top_k axis 0", topk_body, &k0, 1, &t1, 2, 4, vfill, 0, NULL));
}

typedef void (*err_fn)(jx_val *out, const jx_val *in);
static int err_line;
static void e_stack(jx_val *out, const jx_val *in) { err_line = __LINE__, out[0] = jx_stack(2, in, 0); }
static void e_stack_ax(jx_val *out, const jx_val *in) { err_line = __LINE__, out[0] = jx_stack(1, in, 4); }
static void e_split(jx_val *out, const jx_val *in) {
    jx_val o[2];
    err_line = __LINE__, jx_split(in[0], JX_INTS(1, 1), 0, o);
    out[0] = o[0];
}
static void e_tile(jx_val *out, const jx_val *in) { err_line = __LINE__, out[0] = jx_tile(in[0], JX_INTS(-1)); }
static void e_repeat(jx_val *out, const jx_val *in) { err_line = __LINE__, out[0] = jx_repeat(in[0], 2, 3); }
static void e_topk(jx_val *out, const jx_val *in) {
    jx_val i;
    err_line = __LINE__, jx_top_k_axis(in[0], 1, -4, &out[0], &i);
}
static void err_body(jx_val *out, const jx_val *in, void *u) { (*(err_fn *)u)(out, in); }

static void test_errors(void) {
    static const struct {
        err_fn f;
        const char *msg;
    } cases[] = {
        {e_stack, "stack: operand 1 is f32[2], operand 0 f32[3]: all must be equal"},
        {e_stack_ax, "stack: axis 4 is out of range for 1 operands of f32[3]"},
        {e_split, "split: sizes do not add up to the axis: sizes (1,1) along axis 0 of f32[3]"},
        {e_tile, "tile: reps (-1) on f32[3]: negative or too large"},
        {e_repeat, "repeat: axis 3 is out of range for f32[3]"},
        {e_topk, "top_k: axis -4 is out of range for f32[3]"},
    };
    jx_aval av[2] = {JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 2)};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++)
        jt_assert_trace_fails(err_body, (void *)&cases[k].f, 2, av, cases[k].msg, __FILE__, &err_line);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"stack", test_stack},
        {"split", test_split},
        {"tile", test_tile},
        {"repeat", test_repeat},
        {"clip with traced bounds", test_clip},
        {"top_k along any axis", test_top_k_axis},
        {"scalar operands", test_scalar_ops},
        {"vmap vs a loop", test_vmap},
        {"errors", test_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("array_ops", tests);
}
