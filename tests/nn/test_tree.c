/* test_tree.c: trees: building by path, flatten/unflatten round trips, glob selection,
 * structure checks and their messages, printing, and functions of trees (trace, run,
 * value_and_grad against hand-written gradients). */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdlib.h>

#include "harness.h"
#include "jx/nn.h"

/* {enc: {w: f32[3,2], b: f32[2]}, layers: [ {w: f32[2]}, {w: f32[2]} ], step: i32[]} */
static jx_tree *sample(void) {
    jx_tree *t = jx_tree_dict();
    double w[6] = {1, 2, 3, 4, 5, 6}, b[2] = {0.5, -0.5};
    CU_ASSERT(jx_tree_set_array(t, "enc.w", jt_array(JX_F32, JX_INTS(3, 2), w)) == JX_OK);
    CU_ASSERT(jx_tree_set_array(t, "enc.b", jt_array(JX_F32, JX_INTS(2), b)) == JX_OK);
    jx_tree *l = jx_tree_list();
    for (int i = 0; i < 2; i++) {
        jx_tree *d = jx_tree_dict();
        CU_ASSERT(jx_tree_set_array(d, "w", jx_array_full(JX_F32, JX_INTS(2), i + 1)) == JX_OK);
        CU_ASSERT(jx_tree_append(l, d) == JX_OK);
    }
    CU_ASSERT(jx_tree_set(t, "layers", l) == JX_OK);
    CU_ASSERT(jx_tree_set_array(t, "step", jx_array_scalar(JX_I32, 7)) == JX_OK);
    return t;
}

static void test_paths(void) {
    jx_tree *t = sample();
    CU_ASSERT_EQUAL(jx_tree_num_leaves(t), 5);
    CU_ASSERT_EQUAL(jx_tree_num_params(t), 6 + 2 + 2 + 2 + 1);
    const char *want[5] = {"enc.w", "enc.b", "layers.0.w", "layers.1.w", "step"};
    char buf[64];
    for (int i = 0; i < 5; i++) {
        CU_ASSERT(jx_tree_leaf_path(t, i, buf, sizeof buf) == JX_OK);
        CU_ASSERT_STRING_EQUAL(buf, want[i]);
    }
    CU_ASSERT(jx_tree_leaf_path(t, 5, buf, sizeof buf) == JX_ERR_ARG);
    CU_ASSERT(jx_tree_leaf_path(t, 2, buf, 4) == JX_ERR_ARG); /* does not fit */
    jx_array *a = jx_tree_get_array(t, "layers.1.w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(jx_array_get(a, 0), 2.0);
    CU_ASSERT_PTR_NULL(jx_tree_get(t, "enc.v"));
    JT_ASSERT_ERR("tree_get: no 'v' in path 'enc.v'");
    CU_ASSERT_PTR_NULL(jx_tree_get(t, "layers.2.w"));
    JT_ASSERT_ERR("no '2' in path 'layers.2.w'");
    CU_ASSERT(jx_tree_get(t, "") == t);
    /* replacing an entry keeps its place */
    CU_ASSERT(jx_tree_set_array(t, "enc.w", jx_array_zeros(JX_F32, JX_INTS(1))) == JX_OK);
    CU_ASSERT(jx_tree_leaf_path(t, 0, buf, sizeof buf) == JX_OK);
    CU_ASSERT_STRING_EQUAL(buf, "enc.w");
    CU_ASSERT_EQUAL(jx_tree_num_leaves(t), 5);
    /* bad paths */
    int line = __LINE__ + 1;
    CU_ASSERT(jx_tree_set_array(t, "enc..w", jx_array_zeros(JX_F32, JX_INTS(1))) == JX_ERR_ARG);
    JT_ASSERT_ERR("empty key in path 'enc..w'");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    CU_ASSERT(jx_tree_set_array(t, "step.x", jx_array_zeros(JX_F32, JX_INTS(1))) == JX_ERR_ARG);
    JT_ASSERT_ERR("goes through a array leaf at 'step'");
    CU_ASSERT(jx_tree_set_array(t, "layers.5.w", jx_array_zeros(JX_F32, JX_INTS(1))) == JX_ERR_ARG);
    JT_ASSERT_ERR("'5' in path 'layers.5.w' is not an index of a list of 2");
    jx_tree_free(t);
}

static void test_flatten_roundtrip(void) {
    jx_tree *t = sample();
    jx_array *leaves[5];
    CU_ASSERT_EQUAL(jx_tree_flatten_arrays(t, leaves, 5), 5);
    CU_ASSERT_EQUAL(jx_array_get(leaves[0], 5), 6.0);
    CU_ASSERT_EQUAL(jx_array_get(leaves[4], 0), 7.0);
    jx_array *mine[5];
    for (int i = 0; i < 5; i++) mine[i] = jx_array_retain(leaves[i]);
    jx_tree *u = jx_tree_unflatten_arrays(t, 5, mine);
    CU_ASSERT_PTR_NOT_NULL_FATAL(u);
    CU_ASSERT(jx_tree_check_same(t, "t", u, "u", 1) == JX_OK);
    CU_ASSERT(jx_tree_get_array(u, "enc.w") == jx_tree_get_array(t, "enc.w")); /* shared */
    jx_aval av[5];
    CU_ASSERT_EQUAL(jx_tree_flatten_avals(u, av, 5), 5);
    CU_ASSERT_EQUAL(av[0].rank, 2);
    CU_ASSERT_EQUAL(av[0].shape[0], 3);
    CU_ASSERT_EQUAL(av[4].dtype, JX_I32);
    /* wrong count: the arrays are still taken over (no leak under valgrind) */
    jx_array *two[2] = {jx_array_zeros(JX_F32, JX_INTS(1)), jx_array_zeros(JX_F32, JX_INTS(1))};
    CU_ASSERT_PTR_NULL(jx_tree_unflatten_arrays(t, 2, two));
    JT_ASSERT_ERR("tree_unflatten: 2 arrays for a tree of 5 leaves");
    jx_tree *c = jx_tree_copy(t);
    CU_ASSERT(jx_tree_check_same(t, "t", c, "copy", 1) == JX_OK);
    jx_tree_free(c);
    jx_tree_free(u);
    jx_tree_free(t);
}

static void test_mismatch(void) {
    jx_tree *a = sample(), *b = sample();
    CU_ASSERT(jx_tree_set_array(b, "enc.w", jx_array_zeros(JX_F32, JX_INTS(3, 3))) == JX_OK);
    CU_ASSERT(jx_tree_check_same(a, "params", b, "grads", 0) == JX_OK);
    CU_ASSERT(jx_tree_check_same(a, "params", b, "grads", 1) == JX_ERR_SHAPE);
    JT_ASSERT_ERR("tree mismatch: at 'enc.w': f32[3,2] in params, f32[3,3] in grads");
    jx_tree *l = jx_tree_get(b, "layers");
    CU_ASSERT(jx_tree_append(l, jx_tree_dict()) == JX_OK);
    CU_ASSERT(jx_tree_check_same(a, "params", b, "grads", 0) == JX_ERR_SHAPE);
    JT_ASSERT_ERR("at 'layers': a list of 2 in params, a list of 3 in grads");
    jx_tree *c = sample();
    CU_ASSERT(jx_tree_set(c, "enc.b", jx_tree_dict()) == JX_OK);
    CU_ASSERT(jx_tree_check_same(a, "params", c, "state", 0) == JX_ERR_SHAPE);
    JT_ASSERT_ERR("at 'enc.b': a leaf in params, a dict in state");
    jx_tree *d = jx_tree_dict();
    CU_ASSERT(jx_tree_set_array(d, "x", jx_array_zeros(JX_F32, JX_INTS(1))) == JX_OK);
    jx_tree *e = jx_tree_dict();
    CU_ASSERT(jx_tree_set_array(e, "y", jx_array_zeros(JX_F32, JX_INTS(1))) == JX_OK);
    CU_ASSERT(jx_tree_check_same(d, "a", e, "b", 0) == JX_ERR_SHAPE);
    JT_ASSERT_ERR("at '(root)': key 'x' in a, key 'y' in b");
    jx_tree_free(a), jx_tree_free(b), jx_tree_free(c), jx_tree_free(d), jx_tree_free(e);
}

static void test_select(void) {
    CU_ASSERT(jx_path_match("enc.*", "enc.w"));
    CU_ASSERT(!jx_path_match("enc.*", "enc.sub.w"));
    CU_ASSERT(jx_path_match("enc.**", "enc.sub.w"));
    CU_ASSERT(jx_path_match("**.w", "w"));
    CU_ASSERT(jx_path_match("**.w", "a.b.c.w"));
    CU_ASSERT(!jx_path_match("**.w", "a.b.cw"));
    CU_ASSERT(jx_path_match("**", "anything.at.all"));
    CU_ASSERT(jx_path_match("conv*.b", "conv12.b"));
    CU_ASSERT(!jx_path_match("conv*.b", "conv1.x.b"));
    CU_ASSERT(jx_path_match("a.**.b", "a.b"));
    CU_ASSERT(jx_path_match("a.**.b", "a.x.y.b"));
    CU_ASSERT(!jx_path_match("a.**.b", "ab"));
    CU_ASSERT(!jx_path_match("enc.w", "enc.wx"));
    jx_tree *t = sample();
    CU_ASSERT_EQUAL(jx_tree_count_matching(t, "**.w"), 3);
    CU_ASSERT_EQUAL(jx_tree_count_matching(t, "layers.*.w"), 2);
    CU_ASSERT_EQUAL(jx_tree_count_matching(t, "nothing"), 0);
    jx_tree *s = jx_tree_select(t, "**.w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(jx_tree_num_leaves(s), 3);
    CU_ASSERT(jx_tree_get_array(s, "layers.1.w") == jx_tree_get_array(t, "layers.1.w"));
    CU_ASSERT_EQUAL(jx_tree_num_params(s), 10);
    jx_tree_free(s);
    jx_tree_free(t);
}

static void test_print(void) {
    jx_tree *t = sample();
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    CU_ASSERT(jx_tree_print(f, t) == JX_OK);
    fclose(f);
    const char *want = "enc:\n"
                       "  w: f32[3,2]  6  24 B\n"
                       "  b: f32[2]  2  8 B\n"
                       "layers:\n"
                       "  0:\n"
                       "    w: f32[2]  2  8 B\n"
                       "  1:\n"
                       "    w: f32[2]  2  8 B\n"
                       "step: i32[]  1  4 B\n"
                       "total: 5 leaves, 13 parameters, 52 B\n";
    CU_ASSERT_STRING_EQUAL(buf, want);
    if (strcmp(buf, want)) fprintf(stderr, "\n%s", buf);
    free(buf);
    jx_tree *big = jx_tree_dict();
    CU_ASSERT(jx_tree_set_array(big, "dense.w", jx_array_zeros(JX_F32, JX_INTS(784, 512))) == JX_OK);
    f = open_memstream(&buf, &n);
    CU_ASSERT(jx_tree_print(f, big) == JX_OK);
    fclose(f);
    CU_ASSERT_STRING_EQUAL(buf, "dense:\n  w: f32[784,512]  401,408  1.5 MiB\n"
                                "total: 1 leaves, 401,408 parameters, 1.5 MiB\n");
    free(buf);
    jx_tree_free(big);
    jx_tree_free(t);
}

/* A linear model on trees: loss = sum((x @ p.w + p.b - y)^2), aux = the predictions. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val w = jx_tree_get_val(in[0], "w"), b = jx_tree_get_val(in[0], "b");
    jx_val x = jx_tree_get_val(in[1], "x"), y = jx_tree_get_val(in[1], "y");
    jx_val pred = jx_add(jx_matmul(x, w), b);
    out[0] = jx_tree_val(jx_sum(jx_square(jx_sub(pred, y)), JX_NOINTS));
    out[1] = jx_tree_dict();
    jx_tree_set_val(out[1], "pred", pred);
}

static jx_val sgd(const char *path, jx_val p, jx_val g, void *user) {
    (void)path;
    return jx_sub(p, jx_mul(jx_scalar_like(p, *(double *)user), g));
}

/* step(params, batch) -> (new params, loss): grad as a tree, then a map2 update. */
static void step_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_tree *vals[2], *grad;
    if (jx_tree_value_and_grad(loss_body, NULL, 2, in, 0, 2, vals, &grad) != JX_OK) return;
    out[0] = jx_tree_map2_vals(in[0], grad, sgd, user);
    out[1] = jx_tree_copy(vals[0]);
    jx_tree_free(vals[0]), jx_tree_free(vals[1]), jx_tree_free(grad);
}

static jx_tree *linear_params(void) {
    double w[2] = {0.5, -1}, b[1] = {0.25};
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "w", jt_array(JX_F64, JX_INTS(2, 1), w));
    jx_tree_set_array(p, "b", jt_array(JX_F64, JX_INTS(1), b));
    return p;
}

static jx_tree *linear_batch(void) {
    double x[6] = {1, 2, 3, 4, 5, 6}, y[3] = {1, 0, -1};
    jx_tree *d = jx_tree_dict();
    jx_tree_set_array(d, "x", jt_array(JX_F64, JX_INTS(3, 2), x));
    jx_tree_set_array(d, "y", jt_array(JX_F64, JX_INTS(3, 1), y));
    return d;
}

static void test_trace_grad(void) {
    jx_tree *p = linear_params(), *d = linear_batch();
    jx_tree *in[2] = {p, d};
    double lr = 0.01;
    jx_tree_fn *f = jx_tree_trace("step", step_body, &lr, 2, in, 2);
    if (!f) fprintf(stderr, "%s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_inputs(jx_tree_fn_fn(f)), 4);
    CU_ASSERT_EQUAL(jx_fn_num_outputs(jx_tree_fn_fn(f)), 3);
    CU_ASSERT_EQUAL(jx_tree_fn_input_offset(f, 1), 2);
    CU_ASSERT_EQUAL(jx_tree_fn_input_leaves(f, 1), 2);
    jx_tree *out[2];
    CU_ASSERT_FATAL(jx_tree_fn_run(f, NULL, 2, in, 2, out) == JX_OK);
    /* by hand: pred = x@w + b = [-1.25,-2.25,-3.25]; r = pred - y = [-2.25,-2.25,-2.25];
     * loss = 3*2.25^2; dw = 2 x^T r = 2*(-2.25)*[9,12]; db = 2*sum(r) = -13.5 */
    CU_ASSERT_DOUBLE_EQUAL(jx_array_get(jx_tree_leaf_array(out[1]), 0), 3 * 2.25 * 2.25, 1e-12);
    jx_array *w = jx_tree_get_array(out[0], "w"), *b = jx_tree_get_array(out[0], "b");
    CU_ASSERT_DOUBLE_EQUAL(jx_array_get(w, 0), 0.5 - 0.01 * (-4.5 * 9), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(jx_array_get(w, 1), -1 - 0.01 * (-4.5 * 12), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(jx_array_get(b, 0), 0.25 - 0.01 * (-13.5), 1e-12);
    /* the jitted function gives the same trees */
    jx_exec *x = jx_jit(jx_tree_fn_fn(f), JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_tree *out2[2];
    CU_ASSERT_FATAL(jx_tree_fn_run(f, x, 2, in, 2, out2) == JX_OK);
    CU_ASSERT_DOUBLE_EQUAL(jx_array_get(jx_tree_get_array(out2[0], "w"), 1), jx_array_get(w, 1), 1e-12);
    jx_exec_release(x);
    /* a batch of another structure is rejected, naming the path */
    jx_tree *bad = linear_batch();
    jx_tree_set_array(bad, "y", jx_array_zeros(JX_F64, JX_INTS(3)));
    jx_tree *in2[2] = {out[0], bad}, *out3[2];
    CU_ASSERT(jx_tree_fn_run(f, NULL, 2, in2, 2, out3) == JX_ERR_SHAPE);
    JT_ASSERT_ERR("tree mismatch: at 'y': f64[3,1] in input 1, f64[3] in the argument");
    jx_tree_free(bad);
    for (int i = 0; i < 2; i++) jx_tree_free(out[i]), jx_tree_free(out2[i]);
    jx_tree_fn_free(f);
    jx_tree_free(p), jx_tree_free(d);
}

/* A loss that is not a scalar is an error naming the problem. */
static void bad_loss(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_val(jx_tree_get_val(in[0], "w"));
}
static void bad_step(jx_tree **out, jx_tree *const *in, void *user) {
    jx_tree *v[1], *g;
    if (jx_tree_value_and_grad(bad_loss, user, 1, in, 0, 1, v, &g) != JX_OK) return;
    out[0] = g;
    jx_tree_free(v[0]);
}

static void test_grad_errors(void) {
    jx_tree *p = linear_params();
    jx_tree_fn *f = jx_tree_trace("step", bad_step, NULL, 1, &p, 1);
    CU_ASSERT_PTR_NULL(f);
    JT_ASSERT_ERR("tree_value_and_grad: the loss (output 0) must be one float scalar leaf, not f64[2,1]");
    jx_tree_free(p);
}

int main(void) {
    CU_TestInfo tests[] = {{"paths", test_paths},
                           {"flatten round trip", test_flatten_roundtrip},
                           {"mismatched structures", test_mismatch},
                           {"select by pattern", test_select},
                           {"print", test_print},
                           {"trace and grad over trees", test_trace_grad},
                           {"grad errors", test_grad_errors},
                           CU_TEST_INFO_NULL};
    return jt_run("nn/tree", tests);
}
