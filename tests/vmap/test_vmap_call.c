/* test_vmap_call.c: jx_vmap_call, vmap applied to traced values inside a body: values
 * against a loop, the size taken from the inputs, and the errors naming inputs and sizes. */
#include "harness.h"

static void affine(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_add(jx_mul(in[0], in[1]), jx_scalar(JX_F32, 1));
}

typedef struct {
    jx_fn *f;
    int64_t ax0, ax1, out;
} call_ctx;

static const int calls_line = __LINE__ + 3; /* the jx_vmap_call below: errors name it */
static void calls(jx_val *out, const jx_val *in, void *user) {
    call_ctx *c = user;
    jx_vmap_call(c->f, JX_INTS(c->ax0, c->ax1), JX_INTS(c->out), 2, in, 1, out);
}

static jx_fn *affine_fn(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 3), JX_AVAL(JX_F32, 3)};
    return jx_trace("affine", affine, NULL, 2, av, 1);
}

static void test_values(void) {
    call_ctx c = {affine_fn(), 0, 1, 1};
    double x[6] = {1, 2, 3, 4, 5, 6}, y[6] = {1, 2, 3, 4, 5, 6};
    jx_array *in[2] = {jt_array(JX_F32, JX_INTS(2, 3), x), jt_array(JX_F32, JX_INTS(3, 2), y)};
    jx_array *out = jt_eval1(calls, &c, 2, in);
    /* out[j, b] = x[b, j] * y[j, b] + 1 */
    double want[6];
    for (int b = 0; b < 2; b++)
        for (int j = 0; j < 3; j++) want[j * 2 + b] = x[b * 3 + j] * y[j * 2 + b] + 1;
    jt_check_array(__LINE__, out, JX_F32, JX_INTS(3, 2), want, 0);
    jx_fn_release(c.f);
}

static void test_unmapped_input(void) {
    call_ctx c = {affine_fn(), JX_NOT_MAPPED, 0, 0};
    double x[3] = {1, 2, 3}, y[12];
    for (int i = 0; i < 12; i++) y[i] = i;
    jx_array *in[2] = {jt_array(JX_F32, JX_INTS(3), x), jt_array(JX_F32, JX_INTS(4, 3), y)};
    jx_array *out = jt_eval1(calls, &c, 2, in);
    double want[12];
    for (int b = 0; b < 4; b++)
        for (int j = 0; j < 3; j++) want[b * 3 + j] = x[j] * y[b * 3 + j] + 1;
    jt_check_array(__LINE__, out, JX_F32, JX_INTS(4, 3), want, 0);
    jx_fn_release(c.f);
}

static void test_size_mismatch(void) {
    call_ctx c = {affine_fn(), 0, 1, 0};
    jx_aval av[2] = {JX_AVAL(JX_F32, 3, 3), JX_AVAL(JX_F32, 3, 4)};
    jx_fn *g = jx_trace("mismatch", calls, &c, 2, av, 1);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("vmap: mapped inputs have different sizes: input 0 has size 3 (axis 0), input 1 has size 4 (axis 1)");
    JT_ASSERT_ERR(jt_place(__FILE__, calls_line));
    jx_fn_release(g);
    jx_fn_release(c.f);
}

static void test_axis_out_of_range(void) {
    call_ctx c = {affine_fn(), 0, 2, 0};
    jx_aval av[2] = {JX_AVAL(JX_F32, 2, 3), JX_AVAL(JX_F32, 3, 2)};
    jx_fn *g = jx_trace("range", calls, &c, 2, av, 1);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR("vmap: in_axes[1] = 2 is out of range for input 1 of rank 2");
    JT_ASSERT_ERR("test_vmap_call.c:");
    jx_fn_release(g);
    jx_fn_release(c.f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"jx_vmap_call maps traced values (in and out axes)", test_values},
        {"an unmapped input is shared by every lane", test_unmapped_input},
        {"mapped inputs of different sizes name both", test_size_mismatch},
        {"an out-of-range axis names the input and its rank", test_axis_out_of_range},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmap_call", tests);
}
