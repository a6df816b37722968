/* test_taps.c: activation taps (jx/taps.h) on a small jx_seq model with hand-computed
 * values: a tap nobody asks for adds nothing to the IR; captures come out as an extra
 * output tree (the patched value when patched); ablation and function patches change
 * the output as computed by hand; a unit out of range is an error at the caller. */
#include <stdlib.h>

#include "harness.h"
#include "jx/nn.h"

/* x = [1 2]; dense1 w [[1 0] [0 -1]] b [0 .5] -> [1 -1.5]; relu1 -> [1 0];
 * dense2 w [[2] [3]] b [1] -> 3 */
static jx_tree *params(void) {
    static const double w1[4] = {1, 0, 0, -1}, b1[2] = {0, 0.5}, w2[2] = {2, 3}, b2[1] = {1};
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "dense1.w", jt_array(JX_F32, JX_INTS(2, 2), w1));
    jx_tree_set_array(p, "dense1.b", jt_array(JX_F32, JX_INTS(2), b1));
    jx_tree_set_array(p, "dense2.w", jt_array(JX_F32, JX_INTS(2, 1), w2));
    jx_tree_set_array(p, "dense2.b", jt_array(JX_F32, JX_INTS(1), b2));
    return p;
}

static jx_seq *seq(void) {
    const jx_nn_layer l[3] = {jx_nn_seq_dense("dense1", 2), jx_nn_seq_relu(), jx_nn_seq_dense("dense2", 1)};
    return jx_seq_of(l, 3); /* dense1 relu1 dense2 */
}

typedef struct ctx {
    jx_seq *s;
    jx_taps *taps;
    int line; /* set by the body: the line of the tapped call */
} ctx;

/* in: params, {x}. out: {y}, the captured taps. */
static void body(jx_tree **out, jx_tree *const *in, void *user) {
    ctx *c = user;
    out[0] = jx_tree_dict();
    jx_seq_ctx sc = {.taps = c->taps};
    c->line = __LINE__ + 1;
    jx_val y = jx_seq_apply(c->s, in[0], jx_tree_get_val(in[1], "x"), &sc);
    jx_tree_set_val(out[0], "y", y);
    out[1] = jx_taps_take(c->taps);
}

/* Runs the model with c's taps; *taps gets the captured tree. */
static jx_tree_fn *run(ctx *c, double *y, jx_tree **taps) {
    static const double xv[2] = {1, 2};
    jx_tree *p = params(), *b = jx_tree_dict(), *out[2] = {NULL, NULL};
    jx_tree_set_array(b, "x", jt_array(JX_F32, JX_INTS(1, 2), xv));
    jx_tree *in[2] = {p, b};
    jx_tree_fn *f = jx_tree_trace("tapped", body, c, 2, in, 2);
    *y = NAN;
    if (f && jx_tree_fn_run(f, NULL, 2, in, 2, out) == JX_OK) *y = jx_array_get(jx_tree_get_array(out[0], "y"), 0);
    jx_tree_free(out[0]);
    if (taps) *taps = out[1];
    else jx_tree_free(out[1]);
    jx_tree_free(p), jx_tree_free(b);
    return f;
}

static void test_zero_cost(void) {
    ctx plain = {seq(), NULL, 0}, asked = {plain.s, jx_taps_new(), 0};
    CU_ASSERT(jx_taps_capture(asked.taps, "nothing.*") == JX_OK);
    double y1, y2;
    jx_tree_fn *f1 = run(&plain, &y1, NULL), *f2 = run(&asked, &y2, NULL);
    CU_ASSERT_FATAL(f1 && f2);
    CU_ASSERT_EQUAL(y1, 3.0);
    CU_ASSERT_EQUAL(y2, 3.0);
    char *s1 = jx_fn_to_string(jx_tree_fn_fn(f1)), *s2 = jx_fn_to_string(jx_tree_fn_fn(f2));
    CU_ASSERT_STRING_EQUAL(s1, s2); /* nothing asked: the same IR as without taps */
    CU_ASSERT_EQUAL(jx_fn_num_outputs(jx_tree_fn_fn(f1)), 1);
    free(s1), free(s2);
    jx_tree_fn_free(f1), jx_tree_fn_free(f2);
    jx_taps_free(asked.taps);
    jx_seq_free(plain.s);
}

static void test_capture(void) {
    ctx c = {seq(), jx_taps_new(), 0};
    CU_ASSERT(jx_taps_capture(c.taps, "dense*") == JX_OK && jx_taps_capture(c.taps, "relu1") == JX_OK);
    double y;
    jx_tree *t = NULL;
    jx_tree_fn *f = run(&c, &y, &t);
    CU_ASSERT_FATAL(f && t);
    CU_ASSERT_EQUAL(y, 3.0);
    CU_ASSERT_EQUAL(jx_tree_num_leaves(t), 3);
    CU_ASSERT_STRING_EQUAL(jx_tree_key(t, 0), "dense1");
    CU_ASSERT_STRING_EQUAL(jx_tree_key(t, 1), "relu1");
    CU_ASSERT_STRING_EQUAL(jx_tree_key(t, 2), "dense2");
    JT_ASSERT_ARRAY(jx_tree_get_array(t, "dense1"), ((double[]){1, -1.5}), 2, 0);
    JT_ASSERT_ARRAY(jx_tree_get_array(t, "relu1"), ((double[]){1, 0}), 2, 0);
    JT_ASSERT_ARRAY(jx_tree_get_array(t, "dense2"), ((double[]){3}), 1, 0);
    jx_tree_free(t);
    jx_tree_fn_free(f);
    jx_taps_free(c.taps);
    jx_seq_free(c.s);
}

static jx_val twice(jx_val v, void *user) {
    (void)user;
    return jx_mul_s(v, 2.0);
}

static void test_patch(void) {
    ctx c = {seq(), jx_taps_new(), 0};
    double y;
    int64_t u0 = 0, u1 = 1;
    /* relu1 unit 0 ablated: [0 0] -> 1 */
    CU_ASSERT(jx_taps_ablate(c.taps, "relu1", 1, &u0, 0.0) == JX_OK);
    CU_ASSERT(jx_taps_capture(c.taps, "relu1") == JX_OK);
    jx_tree *t = NULL;
    jx_tree_fn_free(run(&c, &y, &t));
    CU_ASSERT_EQUAL(y, 1.0);
    JT_ASSERT_ARRAY(jx_tree_get_array(t, "relu1"), ((double[]){0, 0}), 2, 0); /* the patched value */
    jx_tree_free(t);
    /* and unit 1 set to 5: [0 5] -> 15 + 1 */
    CU_ASSERT(jx_taps_ablate(c.taps, "relu1", 1, &u1, 5.0) == JX_OK);
    jx_tree_fn_free(run(&c, &y, NULL));
    CU_ASSERT_EQUAL(y, 16.0);
    /* a function patch: dense1 doubled -> [2 -3] -> relu [2 0] -> 5 */
    jx_taps_clear(c.taps);
    CU_ASSERT(jx_taps_patch(c.taps, "dense1", twice, NULL) == JX_OK);
    jx_tree_fn_free(run(&c, &y, NULL));
    CU_ASSERT_EQUAL(y, 5.0);
    /* a unit out of range */
    jx_taps_clear(c.taps);
    int64_t u7 = 7;
    CU_ASSERT(jx_taps_ablate(c.taps, "relu1", 1, &u7, 0.0) == JX_OK);
    jx_tree_fn *f = run(&c, &y, NULL);
    CU_ASSERT_PTR_NULL(f);
    JT_ASSERT_ERR("tap: unit 7 of tap 'relu1' is out of range for f32[1,2]");
    JT_ASSERT_ERR(jt_place(__FILE__, c.line));
    jx_taps_free(c.taps);
    jx_seq_free(c.s);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"a tap nobody asks for costs nothing", test_zero_cost},
        {"capture as extra outputs", test_capture},
        {"ablation and patches", test_patch},
        CU_TEST_INFO_NULL,
    };
    return jt_run("taps", tests);
}
