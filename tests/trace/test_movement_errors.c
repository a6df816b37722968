/* test_movement_errors.c: the data-movement ops' error messages (each naming the
 * caller's line), and the IR they record: normalised axes, skipped no-op equations. */
#include "harness.h"
#include "ir.h"

/* Marks the line of the op call that should fail (the op macro names the same line). */
static int err_line;
#define AT(expr) (err_line = __LINE__, (expr))

typedef enum {
    E_RESHAPE, E_RESHAPE_INFER, E_RESHAPE_TWO_HOLES, E_RESHAPE_NEG, E_RESHAPE_BADLIST,
    E_TRANSPOSE_DUP, E_TRANSPOSE_SHORT, E_SLICE_LEN, E_SLICE_BOUNDS, E_SLICE_STRIDE,
    E_BCAST_SIZE, E_BCAST_ORDER, E_BCAST_COUNT, E_BCAST_RANGE, E_BCAST_TO, E_BCAST_TO_RANK,
    E_SQUEEZE_SIZE, E_SQUEEZE_RANGE, E_SQUEEZE_DUP, E_EXPAND_RANGE, E_EXPAND_RANK, E_REV_RANGE,
    E_PAD_DTYPE, E_PAD_NEG, E_PAD_INTERIOR, E_PAD_LEN, E_CONCAT_DTYPE, E_CONCAT_SHAPE,
    E_CONCAT_AXIS, E_CONCAT_RANK0, E_CONCAT_NONE, E_DSLICE_DTYPE, E_DSLICE_SIZES,
    E_DSLICE_NONSCALAR, E_DSLICE_NULL, E_DUS_FIT, E_DUS_DTYPE, E_DUS_RANK, E_INVALID_OPERAND,
} ecase;

typedef struct {
    ecase id;
    int nin;
    jx_aval in[3];
    jx_status code;
    const char *msg;
} err_case;

static void err_body(jx_val *o, const jx_val *in, void *u) {
    const err_case *c = u;
    jx_val x = in[0], s2[2] = {in[c->nin > 1 ? 1 : 0], in[c->nin > 2 ? 2 : 0]};
    switch (c->id) {
    case E_RESHAPE: o[0] = AT(jx_reshape(x, JX_INTS(4, 2))); break;
    case E_RESHAPE_INFER: o[0] = AT(jx_reshape(x, JX_INTS(4, -1))); break;
    case E_RESHAPE_TWO_HOLES: o[0] = AT(jx_reshape(x, JX_INTS(-1, -1))); break;
    case E_RESHAPE_NEG: o[0] = AT(jx_reshape(x, JX_INTS(-2, -3))); break;
    case E_RESHAPE_BADLIST: o[0] = AT(jx_reshape(x, ((jx_ints){NULL, 2}))); break;
    case E_TRANSPOSE_DUP: o[0] = AT(jx_transpose(x, JX_INTS(0, 0))); break;
    case E_TRANSPOSE_SHORT: o[0] = AT(jx_transpose(x, JX_INTS(0))); break;
    case E_SLICE_LEN: o[0] = AT(jx_slice(x, JX_INTS(0), JX_INTS(1, 1), JX_NOINTS)); break;
    case E_SLICE_BOUNDS: o[0] = AT(jx_slice(x, JX_INTS(0, 1), JX_INTS(2, 4), JX_NOINTS)); break;
    case E_SLICE_STRIDE: o[0] = AT(jx_slice(x, JX_INTS(0, 0), JX_INTS(2, 3), JX_INTS(1, 0))); break;
    case E_BCAST_SIZE: o[0] = AT(jx_broadcast_in_dim(x, JX_INTS(2, 4), JX_INTS(0, 1))); break;
    case E_BCAST_ORDER: o[0] = AT(jx_broadcast_in_dim(x, JX_INTS(3, 3), JX_INTS(1, 0))); break;
    case E_BCAST_COUNT: o[0] = AT(jx_broadcast_in_dim(x, JX_INTS(2, 3), JX_INTS(0))); break;
    case E_BCAST_RANGE: o[0] = AT(jx_broadcast_in_dim(x, JX_INTS(2, 3), JX_INTS(0, 5))); break;
    case E_BCAST_TO: o[0] = AT(jx_broadcast_to(x, JX_INTS(4, 3))); break;
    case E_BCAST_TO_RANK: o[0] = AT(jx_broadcast_to(x, JX_INTS(3))); break;
    case E_SQUEEZE_SIZE: o[0] = AT(jx_squeeze(x, JX_INTS(1))); break;
    case E_SQUEEZE_RANGE: o[0] = AT(jx_squeeze(x, JX_INTS(2))); break;
    case E_SQUEEZE_DUP: o[0] = AT(jx_squeeze(x, JX_INTS(0, -2))); break;
    case E_EXPAND_RANGE: o[0] = AT(jx_expand_dims(x, JX_INTS(3))); break;
    case E_EXPAND_RANK: o[0] = AT(jx_expand_dims(x, JX_INTS(0))); break;
    case E_REV_RANGE: o[0] = AT(jx_rev(x, JX_INTS(-3))); break;
    case E_PAD_DTYPE: o[0] = AT(jx_pad(x, in[1], JX_INTS(1), JX_INTS(1), JX_INTS(0))); break;
    case E_PAD_NEG: o[0] = AT(jx_pad(x, in[1], JX_INTS(-3), JX_INTS(-1), JX_NOINTS)); break;
    case E_PAD_INTERIOR: o[0] = AT(jx_pad(x, in[1], JX_INTS(0), JX_INTS(0), JX_INTS(-1))); break;
    case E_PAD_LEN: o[0] = AT(jx_pad(x, in[1], JX_INTS(0, 0), JX_INTS(0), JX_INTS(0))); break;
    case E_CONCAT_DTYPE:
    case E_CONCAT_SHAPE: o[0] = AT(jx_concatenate(2, in, 0)); break;
    case E_CONCAT_AXIS: o[0] = AT(jx_concatenate(2, in, 2)); break;
    case E_CONCAT_RANK0: o[0] = AT(jx_concatenate(1, in, 0)); break;
    case E_CONCAT_NONE: o[0] = AT(jx_concatenate(0, in, 0)); break;
    case E_DSLICE_DTYPE:
    case E_DSLICE_NONSCALAR: o[0] = AT(jx_dynamic_slice(x, s2, JX_INTS(1, 1))); break;
    case E_DSLICE_SIZES: o[0] = AT(jx_dynamic_slice(x, s2, JX_INTS(2, 4))); break;
    case E_DSLICE_NULL: o[0] = AT(jx_dynamic_slice(x, NULL, JX_INTS(1, 1))); break;
    case E_DUS_FIT:
    case E_DUS_DTYPE:
    case E_DUS_RANK: o[0] = AT(jx_dynamic_update_slice(x, in[1], s2)); break;
    case E_INVALID_OPERAND: o[0] = AT(jx_transpose(JX_NONE, JX_INTS(1, 0))); break;
    }
}

#define F23 JX_AVAL(JX_F32, 2, 3)
#define I0 JX_SCALAR(JX_I32)
static void test_error_messages(void) {
    const err_case cases[] = {
        {E_RESHAPE, 1, {F23}, JX_ERR_SHAPE, "reshape: cannot reshape f32[2,3] to (4,2)"},
        {E_RESHAPE_INFER, 1, {F23}, JX_ERR_SHAPE, "reshape: cannot reshape f32[2,3] to (4,-1)"},
        {E_RESHAPE_TWO_HOLES, 1, {F23}, JX_ERR_ARG, "reshape: shape (-1,-1) has more than one -1"},
        {E_RESHAPE_NEG, 1, {F23}, JX_ERR_SHAPE, "reshape: negative dimension in shape (-2,-3)"},
        {E_RESHAPE_BADLIST, 1, {F23}, JX_ERR_ARG, "reshape: shape is not a valid int list (2 entries"},
        {E_TRANSPOSE_DUP, 1, {F23}, JX_ERR_AXIS, "transpose: perm (0,0) is not a permutation of 2 axes"},
        {E_TRANSPOSE_SHORT, 1, {F23}, JX_ERR_AXIS, "transpose: perm (0) is not a permutation of 2 axes"},
        {E_SLICE_LEN, 1, {F23}, JX_ERR_ARG, "slice: start has 1 entries for rank 2"},
        {E_SLICE_BOUNDS, 1, {F23}, JX_ERR_SHAPE,
         "slice: start (0,1) and limit (2,4) do not fit f32[2,3] at dim 1 (want 0 <= start <= limit <= 3)"},
        {E_SLICE_STRIDE, 1, {F23}, JX_ERR_ARG, "slice: strides (1,0) must be >= 1"},
        {E_BCAST_SIZE, 1, {F23}, JX_ERR_SHAPE,
         "broadcast_in_dim: cannot broadcast f32[2,3] to (2,4) with dims (0,1): operand dim 1 has size 3, output dim 1 has 4"},
        {E_BCAST_ORDER, 1, {JX_AVAL(JX_F32, 3, 3)}, JX_ERR_AXIS, "broadcast_in_dim: dims (1,0) must be strictly increasing"},
        {E_BCAST_COUNT, 1, {F23}, JX_ERR_ARG, "broadcast_in_dim: dims has 1 entries for rank 2"},
        {E_BCAST_RANGE, 1, {F23}, JX_ERR_AXIS, "broadcast_in_dim: dims (0,5) out of range for output rank 2"},
        {E_BCAST_TO, 1, {F23}, JX_ERR_SHAPE, "broadcast_to: cannot broadcast f32[2,3] to (4,3)"},
        {E_BCAST_TO_RANK, 1, {F23}, JX_ERR_SHAPE, "broadcast_to: cannot broadcast f32[2,3] to (3)"},
        {E_SQUEEZE_SIZE, 1, {F23}, JX_ERR_SHAPE, "squeeze: cannot squeeze dim 1 of f32[2,3]: its size is 3, not 1"},
        {E_SQUEEZE_RANGE, 1, {F23}, JX_ERR_AXIS, "squeeze: dims (2) out of range for rank 2"},
        {E_SQUEEZE_DUP, 1, {JX_AVAL(JX_F32, 1, 3)}, JX_ERR_AXIS, "squeeze: dims (0,0) repeat axis 0"},
        {E_EXPAND_RANGE, 1, {F23}, JX_ERR_AXIS, "expand_dims: dims (3) out of range for rank 3"},
        {E_EXPAND_RANK, 1, {JX_AVAL(JX_F32, 1, 1, 1, 1, 1, 1, 1, 1)}, JX_ERR_SHAPE,
         "expand_dims: expanding f32[1,1,1,1,1,1,1,1] by 1 dims exceeds rank 8"},
        {E_REV_RANGE, 1, {F23}, JX_ERR_AXIS, "rev: dims (-3) out of range for rank 2"},
        {E_PAD_DTYPE, 2, {JX_AVAL(JX_F32, 3), I0}, JX_ERR_DTYPE,
         "pad: padding value must be a f32 scalar to pad f32[3], got i32[]"},
        {E_PAD_NEG, 2, {JX_AVAL(JX_F32, 3), JX_SCALAR(JX_F32)}, JX_ERR_SHAPE,
         "pad: padding f32[3] with lo (-3) hi (-1) interior (0) gives dim 0 size -1"},
        {E_PAD_INTERIOR, 2, {JX_AVAL(JX_F32, 3), JX_SCALAR(JX_F32)}, JX_ERR_ARG, "pad: interior (-1) must be >= 0"},
        {E_PAD_LEN, 2, {JX_AVAL(JX_F32, 3), JX_SCALAR(JX_F32)}, JX_ERR_ARG, "pad: lo has 2 entries for rank 1"},
        {E_CONCAT_DTYPE, 2, {JX_AVAL(JX_F32, 2), JX_AVAL(JX_I32, 2)}, JX_ERR_DTYPE,
         "concatenate: operand 1 is i32[2] but operand 0 is f32[2]"},
        {E_CONCAT_SHAPE, 2, {F23, JX_AVAL(JX_F32, 3, 2)}, JX_ERR_SHAPE,
         "concatenate: operand 1 f32[3,2] does not match operand 0 f32[2,3] outside axis 0"},
        {E_CONCAT_AXIS, 2, {F23, F23}, JX_ERR_AXIS, "concatenate: axis 2 out of range for rank 2"},
        {E_CONCAT_RANK0, 1, {JX_SCALAR(JX_F32)}, JX_ERR_AXIS, "concatenate: axis 0 out of range for rank 0"},
        {E_CONCAT_NONE, 1, {F23}, JX_ERR_ARG, "concatenate: needs at least one operand (got 0)"},
        {E_DSLICE_DTYPE, 3, {F23, I0, JX_SCALAR(JX_F32)}, JX_ERR_DTYPE,
         "dynamic_slice: start index 1 must be an i32, i64 or u32 scalar, got f32[]"},
        {E_DSLICE_NONSCALAR, 3, {F23, JX_AVAL(JX_I32, 1), I0}, JX_ERR_DTYPE,
         "dynamic_slice: start index 0 must be an i32, i64 or u32 scalar, got i32[1]"},
        {E_DSLICE_SIZES, 3, {F23, I0, I0}, JX_ERR_SHAPE, "dynamic_slice: sizes (2,4) do not fit f32[2,3] at dim 1"},
        {E_DSLICE_NULL, 1, {F23}, JX_ERR_ARG, "dynamic_slice: starts is NULL for f32[2,3]"},
        {E_DUS_FIT, 3, {F23, JX_AVAL(JX_F32, 3, 3), I0}, JX_ERR_SHAPE,
         "dynamic_update_slice: update f32[3,3] does not fit in operand f32[2,3] at dim 0"},
        {E_DUS_DTYPE, 3, {F23, JX_AVAL(JX_I32, 1, 1), I0}, JX_ERR_DTYPE,
         "dynamic_update_slice: update i32[1,1] has another dtype than operand f32[2,3]"},
        {E_DUS_RANK, 3, {F23, JX_AVAL(JX_F32, 1), I0}, JX_ERR_SHAPE,
         "dynamic_update_slice: update f32[1] has another rank than operand f32[2,3]"},
        {E_INVALID_OPERAND, 1, {F23}, JX_ERR_TRACE, "transpose: invalid value"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        const err_case *c = &cases[i];
        err_line = -1;
        jx_fn *f = jx_trace("err", err_body, (void *)c, c->nin, c->in, 1);
        CU_ASSERT_PTR_NULL(f);
        jx_fn_release(f);
        if (jx_errcode() != c->code) fprintf(stderr, "\n  case %zu: code %s\n", i, jx_status_name(jx_errcode()));
        CU_ASSERT_EQUAL(jx_errcode(), c->code);
        JT_ASSERT_ERR(c->msg);
        JT_ASSERT_ERR(jt_place(__FILE__, err_line));
    }
}

/* The first error sticks: later ops do nothing and the message names the first line. */
static void sticky_body(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val y = AT(jx_reshape(in[0], JX_INTS(7)));
    jx_val z = jx_transpose(in[0], JX_INTS(0, 0));
    CU_ASSERT(!jx_val_ok(y) && !jx_val_ok(z));
    o[0] = jx_rev(jx_squeeze(y, JX_INTS(0)), JX_INTS(0));
}

static void test_sticky_error(void) {
    jx_aval a = F23;
    jx_fn *f = jx_trace("sticky", sticky_body, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NULL(f);
    JT_ASSERT_ERR("reshape: cannot reshape f32[2,3] to (7)");
    JT_ASSERT_ERR(jt_place(__FILE__, err_line));
}

static void test_outside_trace(void) {
    jx_clear_error();
    int line = __LINE__ + 1;
    jx_val y = jx_reshape(JX_NONE, JX_INTS(2, 3));
    CU_ASSERT(!jx_val_ok(y));
    JT_ASSERT_ERR("reshape: called outside of a trace");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    line = __LINE__ + 1;
    y = jx_concatenate(0, NULL, 0);
    CU_ASSERT(!jx_val_ok(y));
    JT_ASSERT_ERR("concatenate: needs at least one operand");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
}

/* ------------------------------------------------------------------ the IR */

typedef struct {
    int which;
} ir_case;

static void ir_body(jx_val *o, const jx_val *in, void *u) {
    const ir_case *c = u;
    jx_val x = in[0]; /* f32[2,1,3] */
    switch (c->which) {
    case 0: o[0] = jx_transpose(x, JX_INTS(-1, 0, -2)); break;
    case 1: o[0] = jx_squeeze(x, JX_INTS(-2)); break;
    case 2: o[0] = jx_expand_dims(x, JX_INTS(-1, 0)); break;
    case 3: o[0] = jx_rev(x, JX_INTS(-1)); break;
    case 4: o[0] = jx_concatenate(2, (jx_val[]){x, x}, -3); break;
    case 5: o[0] = jx_broadcast_in_dim(x, JX_INTS(2, 4, 3), JX_INTS(0, -2, -1)); break;
    case 6: o[0] = jx_slice(x, JX_INTS(0, 0, 1), JX_INTS(2, 1, 3), JX_NOINTS); break;
    case 7: o[0] = jx_pad(x, jx__lit_val(jx__trace_top(), jx__lit_make(JX_F32, 0)), JX_INTS(0, 0, 0),
                          JX_INTS(1, 0, 0), JX_NOINTS); break;
    case 8: o[0] = jx_broadcast_to(x, JX_INTS(5, 2, 4, 3)); break;
    case 9: o[0] = jx_reshape(x, JX_INTS(3, -1)); break;
    /* no-ops: no equation */
    case 10: o[0] = jx_reshape(x, JX_INTS(2, -1, 3)); break;
    case 11: o[0] = jx_transpose(x, JX_INTS(0, 1, -1)); break;
    case 12: o[0] = jx_broadcast_to(x, JX_INTS(2, 1, 3)); break;
    case 13: o[0] = jx_broadcast_in_dim(x, JX_INTS(2, 1, 3), JX_INTS(0, 1, 2)); break;
    case 14: o[0] = jx_concatenate(1, &x, -1); break;
    case 15: o[0] = jx_slice(x, JX_INTS(0, 0, 0), JX_INTS(2, 1, 3), JX_INTS(1, 1, 1)); break;
    case 16: o[0] = jx_squeeze(x, JX_NOINTS); break;
    case 17: o[0] = jx_expand_dims(x, JX_NOINTS); break;
    case 18: o[0] = jx_rev(x, JX_NOINTS); break;
    }
}

/* The one equation of case `which`: its primitive, the attribute `key` and output aval. */
static void expect_eqn(int which, jx_prim prim, jx__akey key, jx_ints want, jx_ints shape) {
    jx_aval a = JX_AVAL(JX_F32, 2, 1, 3);
    ir_case c = {which};
    jx_fn *f = jx_trace("ir", ir_body, &c, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 1);
    if (jx_fn_num_eqns(f) == 1) {
        const jx__eqn *e = &f->eqns[0];
        CU_ASSERT_EQUAL((int)e->prim, (int)prim);
        if (key == JX_A_AXIS) {
            CU_ASSERT_EQUAL(jx__attr_int(e->nattr, e->attrs, key, -99), want.v[0]);
        } else {
            jx_ints got = jx__attr_ints(e->nattr, e->attrs, key);
            CU_ASSERT_EQUAL(got.n, want.n);
            for (int i = 0; i < got.n && i < want.n; i++) CU_ASSERT_EQUAL(got.v[i], want.v[i]);
        }
        jx_aval o = jx_fn_output_aval(f, 0), wo = jx_aval_make(JX_F32, shape);
        CU_ASSERT(jx_aval_equal(&o, &wo));
    }
    jx_fn_release(f);
}

static void test_ir_normalised_axes(void) {
    expect_eqn(0, JX_PRIM_TRANSPOSE, JX_A_PERM, JX_INTS(2, 0, 1), JX_INTS(3, 2, 1));
    expect_eqn(1, JX_PRIM_SQUEEZE, JX_A_DIMS, JX_INTS(1), JX_INTS(2, 3));
    expect_eqn(2, JX_PRIM_EXPAND_DIMS, JX_A_DIMS, JX_INTS(4, 0), JX_INTS(1, 2, 1, 3, 1));
    expect_eqn(3, JX_PRIM_REV, JX_A_DIMS, JX_INTS(2), JX_INTS(2, 1, 3));
    expect_eqn(4, JX_PRIM_CONCATENATE, JX_A_AXIS, JX_INTS(0), JX_INTS(4, 1, 3));
    expect_eqn(5, JX_PRIM_BROADCAST_IN_DIM, JX_A_DIMS, JX_INTS(0, 1, 2), JX_INTS(2, 4, 3));
    expect_eqn(6, JX_PRIM_SLICE, JX_A_STRIDES, JX_INTS(1, 1, 1), JX_INTS(2, 1, 2));
    expect_eqn(7, JX_PRIM_PAD, JX_A_INTERIOR, JX_INTS(0, 0, 0), JX_INTS(3, 1, 3));
    expect_eqn(8, JX_PRIM_BROADCAST_IN_DIM, JX_A_DIMS, JX_INTS(1, 2, 3), JX_INTS(5, 2, 4, 3));
    expect_eqn(9, JX_PRIM_RESHAPE, JX_A_SHAPE, JX_INTS(3, 2), JX_INTS(3, 2));
}

static void test_ir_skips_noops(void) {
    jx_aval a = JX_AVAL(JX_F32, 2, 1, 3);
    for (int which = 10; which <= 18; which++) {
        ir_case c = {which};
        jx_fn *f = jx_trace("noop", ir_body, &c, 1, &a, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        if (jx_fn_num_eqns(f) != 0) fprintf(stderr, "\n  case %d kept %d equations\n", which, jx_fn_num_eqns(f));
        CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 0);
        jx_aval o = jx_fn_output_aval(f, 0);
        CU_ASSERT(jx_aval_equal(&o, &a));
        jx_fn_release(f);
    }
}

int main(void) {
    CU_TestInfo tests[] = {
        {"error messages name the shapes and the line", test_error_messages},
        {"the first error sticks", test_sticky_error},
        {"ops outside a trace", test_outside_trace},
        {"the IR stores normalised axes", test_ir_normalised_axes},
        {"no-op ops record no equation", test_ir_skips_noops},
        CU_TEST_INFO_NULL,
    };
    return jt_run("movement errors and IR", tests);
}
