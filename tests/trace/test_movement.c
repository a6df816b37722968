/* test_movement.c: the data-movement ops traced and evaluated on small inputs
 * (x = 1, 2, 3, ... in row-major order), checked against hand-computed values in f32,
 * i32 and f64, plus every other dtype for the byte movers, rank 0 and size-0 dims.
 * Error messages and the IR they record are in test_movement_errors.c. */
#include "harness.h"
#include "ir.h"

/* Op parameters for the bodies below. */
typedef struct P {
    jx_ints a, b, c;
    int n, axis; /* concatenate: operand count and axis */
} P;

static void b_bcast(jx_val *o, const jx_val *in, void *u) { P *p = u; o[0] = jx_broadcast_in_dim(in[0], p->a, p->b); }
static void b_bcast_to(jx_val *o, const jx_val *in, void *u) { P *p = u; o[0] = jx_broadcast_to(in[0], p->a); }
static void b_reshape(jx_val *o, const jx_val *in, void *u) { P *p = u; o[0] = jx_reshape(in[0], p->a); }
static void b_transpose(jx_val *o, const jx_val *in, void *u) { P *p = u; o[0] = jx_transpose(in[0], p->a); }
static void b_squeeze(jx_val *o, const jx_val *in, void *u) { P *p = u; o[0] = jx_squeeze(in[0], p->a); }
static void b_expand(jx_val *o, const jx_val *in, void *u) { P *p = u; o[0] = jx_expand_dims(in[0], p->a); }
static void b_rev(jx_val *o, const jx_val *in, void *u) { P *p = u; o[0] = jx_rev(in[0], p->a); }
static void b_slice(jx_val *o, const jx_val *in, void *u) { P *p = u; o[0] = jx_slice(in[0], p->a, p->b, p->c); }
static void b_dslice(jx_val *o, const jx_val *in, void *u) { P *p = u; o[0] = jx_dynamic_slice(in[0], in + 1, p->a); }
static void b_dus(jx_val *o, const jx_val *in, void *u) { (void)u; o[0] = jx_dynamic_update_slice(in[0], in[1], in + 2); }
static void b_pad(jx_val *o, const jx_val *in, void *u) { P *p = u; o[0] = jx_pad(in[0], in[1], p->a, p->b, p->c); }
static void b_concat(jx_val *o, const jx_val *in, void *u) { P *p = u; o[0] = jx_concatenate(p->n, in, p->axis); }

static const jx_dtype main_dtypes[] = {JX_F32, JX_I32, JX_F64};

/* An array of the given shape holding start, start+1, ... */
static jx_array *seq(jx_dtype t, jx_ints shape, double start) {
    int64_t n = 1;
    for (int i = 0; i < shape.n; i++) n *= shape.v[i];
    jx_array *a = jx_array_arange(t, start, start + (double)n, 1);
    jx_array *r = jx_array_new(t, shape, jx_array_data(a));
    jx_array_release(a);
    return r;
}

/* Traces body on in[0..nin), evaluates it, and checks dtype, shape and values. */
static void expect_in(jx_body body, void *u, int nin, jx_array **in, jx_ints shape, const double *want) {
    jx_aval av[16];
    for (int i = 0; i < nin; i++) av[i] = jx_array_aval(in[i]);
    jx_array *y = NULL;
    jx_status st = jt_trace_eval(body, u, nin, av, in, 1, &y);
    if (st != JX_OK) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_EQUAL(st, JX_OK);
    if (!y) return;
    jx_aval want_av = jx_aval_make(av[0].dtype, shape), got = jx_array_aval(y);
    CU_ASSERT(jx_aval_equal(&got, &want_av));
    if (!jx_aval_equal(&got, &want_av)) fprintf(stderr, "\n  got %s\n", jx_aval_str(&got, (char[64]){0}, 64));
    int64_t n = jx_aval_size(&want_av);
    JT_ASSERT_ARRAY(y, want, n, 0);
    jx_array_release(y);
}

/* x = seq(1..) of xshape in f32, i32 and f64; one-input ops. */
static void expect1(jx_body body, P p, jx_ints xshape, jx_ints shape, const double *want) {
    for (size_t k = 0; k < sizeof main_dtypes / sizeof *main_dtypes; k++) {
        jx_array *x = seq(main_dtypes[k], xshape, 1);
        expect_in(body, &p, 1, &x, shape, want);
        jx_array_release(x);
    }
}

static void test_broadcast_in_dim(void) {
    expect1(b_bcast, (P){.a = JX_INTS(2, 3), .b = JX_INTS(1)}, JX_INTS(3), JX_INTS(2, 3),
            (double[]){1, 2, 3, 1, 2, 3});
    expect1(b_bcast, (P){.a = JX_INTS(3, 2), .b = JX_INTS(0)}, JX_INTS(3), JX_INTS(3, 2),
            (double[]){1, 1, 2, 2, 3, 3});
    expect1(b_bcast, (P){.a = JX_INTS(3, 2), .b = JX_INTS(-2)}, JX_INTS(3), JX_INTS(3, 2),
            (double[]){1, 1, 2, 2, 3, 3});
    /* a size-1 operand dim stretches; a new middle dim */
    expect1(b_bcast, (P){.a = JX_INTS(2, 2, 3), .b = JX_INTS(0, 1)}, JX_INTS(2, 1), JX_INTS(2, 2, 3),
            (double[]){1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2});
    expect1(b_bcast, (P){.a = JX_INTS(2, 3), .b = JX_NOINTS}, JX_NOINTS, JX_INTS(2, 3),
            (double[]){1, 1, 1, 1, 1, 1});
    expect1(b_bcast, (P){.a = JX_INTS(0, 3), .b = JX_INTS(1)}, JX_INTS(3), JX_INTS(0, 3), NULL);
    expect1(b_bcast, (P){.a = JX_INTS(2, 0), .b = JX_INTS(1)}, JX_INTS(1), JX_INTS(2, 0), NULL);
}

static void test_broadcast_to(void) {
    expect1(b_bcast_to, (P){.a = JX_INTS(2, 2, 3)}, JX_INTS(2, 1), JX_INTS(2, 2, 3),
            (double[]){1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2});
    expect1(b_bcast_to, (P){.a = JX_INTS(2, 3)}, JX_INTS(3), JX_INTS(2, 3), (double[]){1, 2, 3, 1, 2, 3});
    expect1(b_bcast_to, (P){.a = JX_INTS(2)}, JX_NOINTS, JX_INTS(2), (double[]){1, 1});
    expect1(b_bcast_to, (P){.a = JX_INTS(2, 3)}, JX_INTS(2, 3), JX_INTS(2, 3), (double[]){1, 2, 3, 4, 5, 6});
}

static void test_reshape(void) {
    const double w6[] = {1, 2, 3, 4, 5, 6};
    expect1(b_reshape, (P){.a = JX_INTS(3, 2)}, JX_INTS(2, 3), JX_INTS(3, 2), w6);
    expect1(b_reshape, (P){.a = JX_INTS(-1)}, JX_INTS(2, 3), JX_INTS(6), w6);
    expect1(b_reshape, (P){.a = JX_INTS(3, -1, 1)}, JX_INTS(6), JX_INTS(3, 2, 1), w6);
    expect1(b_reshape, (P){.a = JX_INTS(1, 1)}, JX_NOINTS, JX_INTS(1, 1), w6);
    expect1(b_reshape, (P){.a = JX_NOINTS}, JX_INTS(1, 1), JX_NOINTS, w6);
    expect1(b_reshape, (P){.a = JX_INTS(0, 5)}, JX_INTS(2, 0), JX_INTS(0, 5), NULL);
    expect1(b_reshape, (P){.a = JX_INTS(-1, 3)}, JX_INTS(3, 0), JX_INTS(0, 3), NULL);
}

static void test_transpose(void) {
    expect1(b_transpose, (P){.a = JX_INTS(1, 0)}, JX_INTS(2, 3), JX_INTS(3, 2), (double[]){1, 4, 2, 5, 3, 6});
    expect1(b_transpose, (P){.a = JX_INTS(-1, -2)}, JX_INTS(2, 3), JX_INTS(3, 2), (double[]){1, 4, 2, 5, 3, 6});
    expect1(b_transpose, (P){.a = JX_NOINTS}, JX_NOINTS, JX_NOINTS, (double[]){1});
    expect1(b_transpose, (P){.a = JX_INTS(1, 0, 2)}, JX_INTS(0, 2, 3), JX_INTS(2, 0, 3), NULL);
    /* out[k][i][j] = x[i][j][k] for x of shape (2,3,4) */
    double w[24];
    for (int k = 0; k < 4; k++)
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++) w[k * 6 + i * 3 + j] = 1 + i * 12 + j * 4 + k;
    expect1(b_transpose, (P){.a = JX_INTS(-1, 0, 1)}, JX_INTS(2, 3, 4), JX_INTS(4, 2, 3), w);
    /* a perm that keeps the inner dim contiguous: memcpy runs */
    double w2[24];
    for (int j = 0; j < 3; j++)
        for (int i = 0; i < 2; i++)
            for (int k = 0; k < 4; k++) w2[j * 8 + i * 4 + k] = 1 + i * 12 + j * 4 + k;
    expect1(b_transpose, (P){.a = JX_INTS(1, 0, 2)}, JX_INTS(2, 3, 4), JX_INTS(3, 2, 4), w2);
}

static void test_squeeze_expand(void) {
    const double w3[] = {1, 2, 3};
    expect1(b_squeeze, (P){.a = JX_INTS(0, -1)}, JX_INTS(1, 3, 1), JX_INTS(3), w3);
    expect1(b_squeeze, (P){.a = JX_INTS(2)}, JX_INTS(1, 3, 1), JX_INTS(1, 3), w3);
    expect1(b_squeeze, (P){.a = JX_INTS(0)}, JX_INTS(1), JX_NOINTS, w3);
    expect1(b_squeeze, (P){.a = JX_INTS(1)}, JX_INTS(0, 1), JX_INTS(0), NULL);
    expect1(b_expand, (P){.a = JX_INTS(0, -1)}, JX_INTS(3), JX_INTS(1, 3, 1), w3);
    expect1(b_expand, (P){.a = JX_INTS(1)}, JX_INTS(3), JX_INTS(3, 1), w3);
    expect1(b_expand, (P){.a = JX_INTS(0)}, JX_NOINTS, JX_INTS(1), w3);
    expect1(b_expand, (P){.a = JX_INTS(-1)}, JX_INTS(0), JX_INTS(0, 1), NULL);
}

static void test_slice(void) {
    expect1(b_slice, (P){.a = JX_INTS(1, 0), .b = JX_INTS(3, 4), .c = JX_INTS(1, 2)}, JX_INTS(3, 4),
            JX_INTS(2, 2), (double[]){5, 7, 9, 11});
    expect1(b_slice, (P){.a = JX_INTS(1), .b = JX_INTS(5), .c = JX_INTS(3)}, JX_INTS(5), JX_INTS(2),
            (double[]){2, 5});
    expect1(b_slice, (P){.a = JX_INTS(0, 1), .b = JX_INTS(2, 3), .c = JX_NOINTS}, JX_INTS(2, 3),
            JX_INTS(2, 2), (double[]){2, 3, 5, 6});
    expect1(b_slice, (P){.a = JX_INTS(3), .b = JX_INTS(3), .c = JX_NOINTS}, JX_INTS(3), JX_INTS(0), NULL);
    expect1(b_slice, (P){.a = JX_NOINTS, .b = JX_NOINTS, .c = JX_NOINTS}, JX_NOINTS, JX_NOINTS, (double[]){1});
    expect1(b_slice, (P){.a = JX_INTS(0, 0), .b = JX_INTS(0, 2), .c = JX_INTS(2, 2)}, JX_INTS(0, 3),
            JX_INTS(0, 1), NULL);
}

/* starts given as scalar inputs of dtype st */
static void dslice_case(jx_dtype st, const double *starts, jx_ints sizes, const double *want) {
    for (size_t k = 0; k < sizeof main_dtypes / sizeof *main_dtypes; k++) {
        jx_array *in[3] = {seq(main_dtypes[k], JX_INTS(3, 4), 1), jx_array_scalar(st, starts[0]),
                           jx_array_scalar(st, starts[1])};
        expect_in(b_dslice, &(P){.a = sizes}, 3, in, sizes, want);
        for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    }
}

static void test_dynamic_slice(void) {
    dslice_case(JX_I32, (double[]){1, 2}, JX_INTS(2, 2), (double[]){7, 8, 11, 12});
    dslice_case(JX_I64, (double[]){1, 2}, JX_INTS(2, 2), (double[]){7, 8, 11, 12});
    dslice_case(JX_U32, (double[]){0, 1}, JX_INTS(1, 3), (double[]){2, 3, 4});
    /* row 5 clamps to 1; col -3 wraps to 1 (JAX) */
    dslice_case(JX_I32, (double[]){5, -3}, JX_INTS(2, 2), (double[]){6, 7, 10, 11});
    dslice_case(JX_I64, (double[]){-9, 99}, JX_INTS(3, 1), (double[]){4, 8, 12});
    dslice_case(JX_U32, (double[]){4000000000.0, 0}, JX_INTS(1, 4), (double[]){9, 10, 11, 12});
    dslice_case(JX_I32, (double[]){1, 1}, JX_INTS(0, 2), NULL);
    dslice_case(JX_I32, (double[]){2, 1}, JX_INTS(3, 4), (double[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12});
}

/* literal starts: the interpreter hands them over as rank-0 arrays */
static void b_dslice_lit(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx__trace *t = jx__trace_top();
    jx_val s[2] = {jx__lit_val(t, jx__lit_make(JX_I32, 2)), jx__lit_val(t, jx__lit_make(JX_I64, -1))};
    o[0] = jx_dynamic_slice(in[0], s, JX_INTS(2, 3));
}

static void test_dynamic_slice_literal_starts(void) {
    jx_array *x = seq(JX_F32, JX_INTS(3, 4), 1);
    expect_in(b_dslice_lit, NULL, 1, &x, JX_INTS(2, 3), (double[]){6, 7, 8, 10, 11, 12}); /* -1 wraps to 3, clamps to 1 */
    jx_array_release(x);
}

static void test_dynamic_slice_rank0(void) {
    jx_array *in[2] = {jx_array_scalar(JX_F64, 7), jx_array_scalar(JX_F64, 9)};
    expect_in(b_dslice, &(P){.a = JX_NOINTS}, 1, in, JX_NOINTS, (double[]){7});
    expect_in(b_dus, NULL, 2, in, JX_NOINTS, (double[]){9}); /* no starts: the update replaces x */
    jx_array_release(in[0]);
    jx_array_release(in[1]);
}

static void dus_case(jx_dtype st, const double *starts, const double *want) {
    for (size_t k = 0; k < sizeof main_dtypes / sizeof *main_dtypes; k++) {
        jx_dtype t = main_dtypes[k];
        jx_array *in[4] = {seq(t, JX_INTS(3, 4), 1), seq(t, JX_INTS(2, 2), 100), jx_array_scalar(st, starts[0]),
                           jx_array_scalar(st, starts[1])};
        expect_in(b_dus, NULL, 4, in, JX_INTS(3, 4), want);
        for (int i = 0; i < 4; i++) jx_array_release(in[i]);
    }
}

static void test_dynamic_update_slice(void) {
    dus_case(JX_I32, (double[]){1, 1}, (double[]){1, 2, 3, 4, 5, 100, 101, 8, 9, 102, 103, 12});
    dus_case(JX_I64, (double[]){0, 2}, (double[]){1, 2, 100, 101, 5, 6, 102, 103, 9, 10, 11, 12});
    /* row 7 clamps to 1; col -1 wraps to 3, then clamps to 2 (JAX) */
    dus_case(JX_I32, (double[]){7, -1}, (double[]){1, 2, 3, 4, 5, 6, 100, 101, 9, 10, 102, 103});
    dus_case(JX_U32, (double[]){9, 9}, (double[]){1, 2, 3, 4, 5, 6, 100, 101, 9, 10, 102, 103});
    /* a size-0 update changes nothing */
    jx_array *in[4] = {seq(JX_F32, JX_INTS(2, 2), 1), jx_array_zeros(JX_F32, JX_INTS(0, 2)),
                       jx_array_scalar(JX_I32, 1), jx_array_scalar(JX_I32, 1)};
    expect_in(b_dus, NULL, 4, in, JX_INTS(2, 2), (double[]){1, 2, 3, 4});
    for (int i = 0; i < 4; i++) jx_array_release(in[i]);
}

static void pad_case(jx_ints xshape, P p, jx_ints shape, const double *want) {
    for (size_t k = 0; k < sizeof main_dtypes / sizeof *main_dtypes; k++) {
        jx_array *in[2] = {seq(main_dtypes[k], xshape, 1), jx_array_scalar(main_dtypes[k], -1)};
        expect_in(b_pad, &p, 2, in, shape, want);
        jx_array_release(in[0]);
        jx_array_release(in[1]);
    }
}

static void test_pad(void) {
    pad_case(JX_INTS(3), (P){.a = JX_INTS(1), .b = JX_INTS(2), .c = JX_INTS(1)}, JX_INTS(8),
             (double[]){-1, 1, -1, 2, -1, 3, -1, -1});
    /* negative lo/hi crop: [1,p,2,p,3,p,4] -> [p,2,p,3] */
    pad_case(JX_INTS(4), (P){.a = JX_INTS(-1), .b = JX_INTS(-2), .c = JX_INTS(1)}, JX_INTS(4),
             (double[]){-1, 2, -1, 3});
    /* [1,p,p,2,p,p,3] -> crop 3 in front, add 2 behind */
    pad_case(JX_INTS(3), (P){.a = JX_INTS(-3), .b = JX_INTS(2), .c = JX_INTS(2)}, JX_INTS(6),
             (double[]){2, -1, -1, 3, -1, -1});
    pad_case(JX_INTS(2, 2), (P){.a = JX_INTS(1, 0), .b = JX_INTS(0, 1), .c = JX_NOINTS}, JX_INTS(3, 3),
             (double[]){-1, -1, -1, 1, 2, -1, 3, 4, -1});
    pad_case(JX_INTS(2, 3), (P){.a = JX_INTS(0, -1), .b = JX_INTS(1, 0), .c = JX_INTS(1, 0)}, JX_INTS(4, 2),
             (double[]){2, 3, -1, -1, 5, 6, -1, -1});
    pad_case(JX_NOINTS, (P){.a = JX_NOINTS, .b = JX_NOINTS, .c = JX_NOINTS}, JX_NOINTS, (double[]){1});
    pad_case(JX_INTS(0), (P){.a = JX_INTS(1), .b = JX_INTS(1), .c = JX_INTS(3)}, JX_INTS(2), (double[]){-1, -1});
    pad_case(JX_INTS(2), (P){.a = JX_INTS(-2), .b = JX_INTS(0), .c = JX_INTS(0)}, JX_INTS(0), NULL);
    pad_case(JX_INTS(2), (P){.a = JX_INTS(-3), .b = JX_INTS(2), .c = JX_INTS(0)}, JX_INTS(1), (double[]){-1});
    pad_case(JX_INTS(2, 0), (P){.a = JX_INTS(0, 1), .b = JX_INTS(0, 0), .c = JX_INTS(0, 0)}, JX_INTS(2, 1),
             (double[]){-1, -1});
}

static void concat_case(int n, jx_ints *shapes, int axis, jx_ints shape, const double *want) {
    for (size_t k = 0; k < sizeof main_dtypes / sizeof *main_dtypes; k++) {
        jx_array *in[4];
        for (int i = 0; i < n; i++) in[i] = seq(main_dtypes[k], shapes[i], 1 + 10 * i);
        expect_in(b_concat, &(P){.n = n, .axis = axis}, n, in, shape, want);
        for (int i = 0; i < n; i++) jx_array_release(in[i]);
    }
}

static void test_concatenate(void) {
    concat_case(2, (jx_ints[]){JX_INTS(2, 3), JX_INTS(2, 2)}, -1, JX_INTS(2, 5),
                (double[]){1, 2, 3, 11, 12, 4, 5, 6, 13, 14});
    concat_case(3, (jx_ints[]){JX_INTS(1, 2), JX_INTS(2, 2), JX_INTS(0, 2)}, 0, JX_INTS(3, 2),
                (double[]){1, 2, 11, 12, 13, 14});
    concat_case(3, (jx_ints[]){JX_INTS(2, 0), JX_INTS(2, 1), JX_INTS(2, 2)}, 1, JX_INTS(2, 3),
                (double[]){11, 21, 22, 12, 23, 24});
    concat_case(1, (jx_ints[]){JX_INTS(2, 2)}, 1, JX_INTS(2, 2), (double[]){1, 2, 3, 4});
    concat_case(2, (jx_ints[]){JX_INTS(2, 1, 2), JX_INTS(2, 1, 2)}, 1, JX_INTS(2, 2, 2),
                (double[]){1, 2, 11, 12, 3, 4, 13, 14});
}

static void test_rev(void) {
    expect1(b_rev, (P){.a = JX_INTS(0, -1)}, JX_INTS(2, 3), JX_INTS(2, 3), (double[]){6, 5, 4, 3, 2, 1});
    expect1(b_rev, (P){.a = JX_INTS(1)}, JX_INTS(2, 3), JX_INTS(2, 3), (double[]){3, 2, 1, 6, 5, 4});
    expect1(b_rev, (P){.a = JX_INTS(0)}, JX_INTS(2, 3), JX_INTS(2, 3), (double[]){4, 5, 6, 1, 2, 3});
    expect1(b_rev, (P){.a = JX_INTS(0)}, JX_INTS(0, 3), JX_INTS(0, 3), NULL);
    expect1(b_rev, (P){.a = JX_NOINTS}, JX_NOINTS, JX_NOINTS, (double[]){1});
    double w[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) w[i * 12 + j * 4 + k] = 1 + (1 - i) * 12 + j * 4 + (3 - k);
    expect1(b_rev, (P){.a = JX_INTS(2, 0)}, JX_INTS(2, 3, 4), JX_INTS(2, 3, 4), w);
}

/* Every element size (1, 2, 4, 8 bytes) goes through the same byte movers. */
static void test_all_dtypes(void) {
    static const jx_dtype all[] = {JX_BOOL, JX_U8, JX_I32, JX_U32, JX_I64, JX_F16, JX_BF16, JX_F32, JX_F64};
    for (size_t k = 0; k < sizeof all / sizeof *all; k++) {
        jx_dtype t = all[k];
        double one = t == JX_BOOL ? 1 : 0; /* bool holds 1 for every non-zero value */
        jx_array *x = seq(t, JX_INTS(2, 3), 1);
        double w_t[6] = {1, 4, 2, 5, 3, 6}, w_r[6] = {6, 5, 4, 3, 2, 1};
        if (one) for (int i = 0; i < 6; i++) w_t[i] = w_r[i] = 1;
        expect_in(b_transpose, &(P){.a = JX_INTS(1, 0)}, 1, &x, JX_INTS(3, 2), w_t);
        expect_in(b_rev, &(P){.a = JX_INTS(0, 1)}, 1, &x, JX_INTS(2, 3), w_r);
        jx_array *in[2] = {seq(t, JX_INTS(1, 3), 1), jx_array_scalar(t, 0)};
        P pp = {.a = JX_INTS(0, 1), .b = JX_INTS(0, 0), .c = JX_INTS(0, 1)};
        expect_in(b_pad, &pp, 2, in, JX_INTS(1, 6), (double[]){0, 1, 0, one ? 1 : 2, 0, one ? 1 : 3});
        jx_array_release(in[0]);
        jx_array_release(in[1]);
        jx_array *cs[2] = {x, x};
        double w_c[12] = {1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6};
        if (one) for (int i = 0; i < 12; i++) w_c[i] = 1;
        expect_in(b_concat, &(P){.n = 2, .axis = 1}, 2, cs, JX_INTS(2, 6), w_c);
        jx_array_release(x);
    }
}

/* A larger case against a naive index loop: 4-d transpose, broadcast and slice. */
static void test_larger_against_naive(void) {
    enum { A = 3, B = 4, C = 5, D = 6, N = A * B * C * D };
    static double w[N];
    /* perm (3,1,0,2): out[d][b][a][c] = x[a][b][c][d] */
    for (int a = 0; a < A; a++)
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++)
                for (int d = 0; d < D; d++)
                    w[((d * B + b) * A + a) * C + c] = 1 + ((a * B + b) * C + c) * D + d;
    expect1(b_transpose, (P){.a = JX_INTS(3, 1, 0, 2)}, JX_INTS(A, B, C, D), JX_INTS(D, B, A, C), w);
    /* x[1:3, 0:4:2, 1:5:3, 0:6:4] */
    static double ws[2 * 2 * 2 * 2];
    int m = 0;
    for (int a = 1; a < 3; a++)
        for (int b = 0; b < 4; b += 2)
            for (int c = 1; c < 5; c += 3)
                for (int d = 0; d < 6; d += 4) ws[m++] = 1 + ((a * B + b) * C + c) * D + d;
    expect1(b_slice, (P){.a = JX_INTS(1, 0, 1, 0), .b = JX_INTS(3, 4, 5, 6), .c = JX_INTS(1, 2, 3, 4)},
            JX_INTS(A, B, C, D), JX_INTS(2, 2, 2, 2), ws);
    /* broadcast (B,1,D) into (A,B,C,D) with dims (1,2,3) */
    m = 0;
    for (int a = 0; a < A; a++)
        for (int b = 0; b < B; b++)
            for (int c = 0; c < C; c++)
                for (int d = 0; d < D; d++) w[m++] = 1 + b * D + d;
    expect1(b_bcast, (P){.a = JX_INTS(A, B, C, D), .b = JX_INTS(1, 2, 3)}, JX_INTS(B, 1, D), JX_INTS(A, B, C, D), w);
}

/* Transposes larger than one cache tile, with ragged edges and a batch dim. */
static void test_tiled_transpose(void) {
    enum { Bt = 3, R = 37, C = 70 };
    static double w[Bt * R * C];
    for (int b = 0; b < Bt; b++)
        for (int c = 0; c < C; c++)
            for (int r = 0; r < R; r++) w[(b * C + c) * R + r] = 1 + (b * R + r) * C + c;
    expect1(b_transpose, (P){.a = JX_INTS(0, 2, 1)}, JX_INTS(Bt, R, C), JX_INTS(Bt, C, R), w);
    for (int c = 0; c < C; c++)
        for (int r = 0; r < R; r++) w[c * R + r] = 1 + r * C + c;
    expect1(b_transpose, (P){.a = JX_INTS(1, 0)}, JX_INTS(R, C), JX_INTS(C, R), w);
    /* batch dim moved innermost-but-one: (R,C,B) -> (C,B,R) */
    for (int c = 0; c < C; c++)
        for (int b = 0; b < Bt; b++)
            for (int r = 0; r < R; r++) w[(c * Bt + b) * R + r] = 1 + (r * C + c) * Bt + b;
    expect1(b_transpose, (P){.a = JX_INTS(1, 2, 0)}, JX_INTS(R, C, Bt), JX_INTS(C, Bt, R), w);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"broadcast_in_dim", test_broadcast_in_dim},
        {"broadcast_to", test_broadcast_to},
        {"reshape", test_reshape},
        {"transpose", test_transpose},
        {"squeeze and expand_dims", test_squeeze_expand},
        {"slice", test_slice},
        {"dynamic_slice", test_dynamic_slice},
        {"dynamic_slice with literal starts", test_dynamic_slice_literal_starts},
        {"dynamic slices of rank 0", test_dynamic_slice_rank0},
        {"dynamic_update_slice", test_dynamic_update_slice},
        {"pad", test_pad},
        {"concatenate", test_concatenate},
        {"rev", test_rev},
        {"every dtype", test_all_dtypes},
        {"larger cases against naive loops", test_larger_against_naive},
        {"tiled transposes", test_tiled_transpose},
        CU_TEST_INFO_NULL,
    };
    return jt_run("movement ops", tests);
}
