/* test_surgery.c: model surgery (jx/surgery.h): selections by pattern, kind and
 * predicate and their printed views; partition and merge; freezing (no cotangent
 * equations, no optimizer state, bit-identical frozen leaves after jitted training);
 * replace, insert and adapters on a sequential model with hand-computed outputs;
 * reinitialisation; loading a checkpoint into a differing tree. */
#define _POSIX_C_SOURCE 200809L /* open_memstream, mkdtemp */
#include <stdlib.h>
#include <unistd.h>

#include "harness.h"
#include "jx/nn.h"

static void set(jx_tree *t, const char *path, jx_ints shape, const double *v) {
    CU_ASSERT_FATAL(jx_tree_set_array(t, path, v ? jt_array(JX_F32, shape, v) : jx_array_zeros(JX_F32, shape)) == JX_OK);
}

/* encoder.{block1,block2}.{conv1: {w, b}, norm: {scale, bias}}, encoder.block2.pool: {},
 * head: {w, b} */
static jx_tree *model(void) {
    jx_tree *t = jx_tree_dict();
    const char *blocks[2] = {"encoder.block1", "encoder.block2"};
    for (int i = 0; i < 2; i++) {
        char p[64];
        snprintf(p, sizeof p, "%s.conv1.w", blocks[i]), set(t, p, JX_INTS(3, 3, 1 + i, 2), NULL);
        snprintf(p, sizeof p, "%s.conv1.b", blocks[i]), set(t, p, JX_INTS(2), NULL);
        snprintf(p, sizeof p, "%s.norm.scale", blocks[i]), set(t, p, JX_INTS(2), NULL);
        snprintf(p, sizeof p, "%s.norm.bias", blocks[i]), set(t, p, JX_INTS(2), NULL);
    }
    set(t, "head.w", JX_INTS(2, 3), NULL);
    set(t, "head.b", JX_INTS(3), NULL);
    return t;
}

static char *printed(jx_status (*f)(FILE *, const jx_sel *, const jx_tree *), const jx_sel *s, const jx_tree *t) {
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    CU_ASSERT(f(m, s, t) == JX_OK);
    fclose(m);
    return buf;
}

static void assert_paths(const jx_sel *s, int n, const char *const *want) {
    CU_ASSERT_EQUAL_FATAL(jx_sel_count(s), n);
    for (int i = 0; i < n; i++) CU_ASSERT_STRING_EQUAL(jx_sel_path(s, i), want[i]);
}

static int big(const char *path, jx_aval a, void *user) {
    (void)path, (void)user;
    return jx_aval_size(&a) > 6;
}

static void test_select(void) {
    jx_tree *t = model();
    jx_sel *s = jx_sel_pattern(t, "encoder.*.conv*");
    const char *conv[4] = {"encoder.block1.conv1.w", "encoder.block1.conv1.b", "encoder.block2.conv1.w",
                           "encoder.block2.conv1.b"};
    assert_paths(s, 4, conv);
    char *text = printed(jx_sel_print, s, t);
    CU_ASSERT_STRING_EQUAL(text, "encoder.block1.conv1.w  f32[3,3,1,2]  18\n"
                                 "encoder.block1.conv1.b  f32[2]  2\n"
                                 "encoder.block2.conv1.w  f32[3,3,2,2]  36\n"
                                 "encoder.block2.conv1.b  f32[2]  2\n"
                                 "selected: 4 of 10 leaves, 58 of 75 parameters\n");
    free(text);
    jx_sel *k = jx_sel_kind(t, JX_LAYER_CONV);
    assert_paths(k, 4, conv);
    jx_sel_free(k);
    k = jx_sel_kind(t, JX_LAYER_DENSE);
    const char *head[2] = {"head.w", "head.b"};
    assert_paths(k, 2, head);
    jx_sel_free(k);
    k = jx_sel_where(t, big, NULL);
    const char *bigs[2] = {"encoder.block1.conv1.w", "encoder.block2.conv1.w"};
    assert_paths(k, 2, bigs);
    CU_ASSERT(jx_sel_add(k, t, "**.bias") == JX_OK); /* kept in flatten order */
    const char *more[4] = {"encoder.block1.conv1.w", "encoder.block1.norm.bias", "encoder.block2.conv1.w",
                           "encoder.block2.norm.bias"};
    assert_paths(k, 4, more);
    jx_sel_free(k);
    k = jx_sel_invert(s, t);
    CU_ASSERT_EQUAL(jx_sel_count(k), 6);
    CU_ASSERT_STRING_EQUAL(jx_sel_path(k, 0), "encoder.block1.norm.scale");
    CU_ASSERT(!jx_sel_has(k, "encoder.block1.conv1.w") && jx_sel_has(k, "head.b"));
    jx_sel_free(k);
    jx_sel_free(s);
    s = jx_sel_pattern(t, "nothing");
    CU_ASSERT_EQUAL(jx_sel_count(s), 0);
    jx_sel_free(s);
    /* the model view */
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    jx_tree *small = jx_tree_select(t, "head.**");
    CU_ASSERT(jx_tree_print_model(m, small) == JX_OK);
    fclose(m);
    CU_ASSERT_STRING_EQUAL(buf, "head  dense  9\n  w  f32[2,3]  6\n  b  f32[3]  3\ntotal  2 leaves  9 parameters\n");
    free(buf);
    jx_tree_free(small);
    CU_ASSERT_EQUAL(jx_layer_kind_of(jx_tree_get(t, "encoder.block1.norm")), JX_LAYER_NORM);
    CU_ASSERT_EQUAL(jx_layer_kind_of(jx_tree_get(t, "encoder")), JX_LAYER_NONE);
    jx_tree_free(t);
}

static void test_partition_merge(void) {
    jx_tree *t = model();
    jx_sel *s = jx_sel_pattern(t, "head");
    jx_tree *sel = NULL, *rest = NULL;
    CU_ASSERT_FATAL(jx_tree_partition(t, s, &sel, &rest) == JX_OK);
    CU_ASSERT_EQUAL(jx_tree_num_leaves(sel), 2);
    CU_ASSERT_EQUAL(jx_tree_num_leaves(rest), 8);
    CU_ASSERT(jx_tree_get_array(sel, "head.w") == jx_tree_get_array(t, "head.w")); /* shared, not copied */
    jx_tree *m = jx_tree_merge(rest, sel);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT(jx_tree_check_same(t, "model", m, "merged", 1) == JX_OK); /* same order too */
    jx_tree_free(m);
    int line = __LINE__ + 1;
    CU_ASSERT_PTR_NULL(jx_tree_merge(t, sel));
    JT_ASSERT_ERR("tree_merge: 'head.w' is in both trees");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    /* lists keep their indices: element 0 leaves an empty dict behind */
    jx_tree *l = jx_tree_list(), *d0 = jx_tree_dict(), *d1 = jx_tree_dict(), *root = jx_tree_dict();
    CU_ASSERT(jx_tree_set_array(d0, "w", jx_array_zeros(JX_F32, JX_INTS(1))) == JX_OK);
    CU_ASSERT(jx_tree_set_array(d1, "w", jx_array_zeros(JX_F32, JX_INTS(2))) == JX_OK);
    CU_ASSERT(jx_tree_append(l, d0) == JX_OK && jx_tree_append(l, d1) == JX_OK);
    CU_ASSERT(jx_tree_set(root, "layers", l) == JX_OK);
    jx_sel *s1 = jx_sel_pattern(root, "layers.1");
    jx_tree *a = NULL, *b = NULL;
    CU_ASSERT_FATAL(jx_tree_partition(root, s1, &a, &b) == JX_OK);
    CU_ASSERT_EQUAL(jx_tree_num_children(jx_tree_get(a, "layers")), 2);
    CU_ASSERT_EQUAL(jx_tree_get_array(a, "layers.1.w"), jx_tree_get_array(root, "layers.1.w"));
    jx_tree *back = jx_tree_merge(b, a);
    CU_ASSERT(back && jx_tree_check_same(root, "root", back, "merged", 1) == JX_OK);
    jx_tree_free(back), jx_tree_free(a), jx_tree_free(b), jx_tree_free(root);
    jx_sel_free(s1);
    jx_tree_free(sel), jx_tree_free(rest), jx_tree_free(t);
    jx_sel_free(s);
}

/* ------------------------------------------------------------------ freezing */

/* in: params {dense1, dense2}, batch {x (4,3), y (4,2)}. out: the mean squared error. */
static void mlp_loss(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val h = jx_relu(jx_nn_apply_dense(jx_tree_get_val(in[1], "x"), jx_tree_get(in[0], "dense1")));
    jx_val y = jx_nn_apply_dense(h, jx_tree_get(in[0], "dense2"));
    out[0] = jx_tree_val(jx_mean(jx_loss_squared_error(y, jx_tree_get_val(in[1], "y")), JX_NOINTS));
}

/* in: trainable, frozen, opt state, batch. out: new trainable, new state, {loss}. */
static void frozen_step(jx_tree **out, jx_tree *const *in, void *user) {
    jx_tree *args[2] = {in[0], in[3]}, *vals[1], *grads;
    if (jx_tree_value_and_grad_frozen(mlp_loss, NULL, 2, args, 0, in[1], 1, vals, &grads) != JX_OK) return;
    jx_optim_update((const jx_optim *)user, grads, in[2], in[0], &out[0], &out[1]);
    out[2] = vals[0];
    jx_tree_free(grads);
}

/* The same without freezing: in: params, opt state, batch. */
static void full_step(jx_tree **out, jx_tree *const *in, void *user) {
    jx_tree *args[2] = {in[0], in[2]}, *vals[1], *grads;
    if (jx_tree_value_and_grad(mlp_loss, NULL, 2, args, 0, 1, vals, &grads) != JX_OK) return;
    jx_optim_update((const jx_optim *)user, grads, in[1], in[0], &out[0], &out[1]);
    out[2] = vals[0];
    jx_tree_free(grads);
}

static jx_tree *mlp(void) {
    jx_tree *p = jx_tree_dict();
    double w1[15], w2[10];
    for (int i = 0; i < 15; i++) w1[i] = 0.1 * (i % 7) - 0.3;
    for (int i = 0; i < 10; i++) w2[i] = 0.2 * (i % 5) - 0.4;
    set(p, "dense1.w", JX_INTS(3, 5), w1);
    set(p, "dense1.b", JX_INTS(5), NULL);
    set(p, "dense2.w", JX_INTS(5, 2), w2);
    set(p, "dense2.b", JX_INTS(2), NULL);
    return p;
}

static jx_tree *mlp_batch(void) {
    jx_tree *b = jx_tree_dict();
    double x[12], y[8];
    for (int i = 0; i < 12; i++) x[i] = 0.25 * i - 1;
    for (int i = 0; i < 8; i++) y[i] = i % 3;
    set(b, "x", JX_INTS(4, 3), x);
    set(b, "y", JX_INTS(4, 2), y);
    return b;
}

static void test_freeze(void) {
    jx_tree *params = mlp(), *batch = mlp_batch(), *frozen, *train;
    jx_sel *s = jx_sel_pattern(params, "dense1");
    CU_ASSERT_FATAL(jx_tree_partition(params, s, &frozen, &train) == JX_OK);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(0.05), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, train), *full_state = jx_optim_init(&opt, params);
    /* optimizer state: count plus mu and nu of dense2's two leaves only */
    CU_ASSERT_EQUAL(jx_tree_num_leaves(state), 5);
    CU_ASSERT_EQUAL(jx_tree_num_leaves(full_state), 9);
    CU_ASSERT_EQUAL(jx_tree_count_matching(state, "**.dense1.**"), 0);
    jx_tree *fin[4] = {train, frozen, state, batch}, *pin[3] = {params, full_state, batch};
    jx_tree_fn *fs = jx_tree_trace("frozen_step", frozen_step, &opt, 4, fin, 3);
    jx_tree_fn *ps = jx_tree_trace("full_step", full_step, &opt, 3, pin, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fs);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ps);
    /* The gradient IR after simplification: 2 forward matmuls + dW2, against 2 + dW2,
     * dh and dW1 when everything trains; the frozen w1 has no cotangent at all. */
    jx_fn *fsimp = jx_fn_simplify(jx_tree_fn_fn(fs)), *psimp = jx_fn_simplify(jx_tree_fn_fn(ps));
    CU_ASSERT_EQUAL(jt_count_in_ir(fsimp, "dot_general"), 3);
    CU_ASSERT_EQUAL(jt_count_in_ir(psimp, "dot_general"), 5);
    CU_ASSERT(jx_fn_num_outputs(fsimp) == 2 + 5 + 1); /* dense2 {w, b}, its state, the loss */
    jx_fn_release(fsimp), jx_fn_release(psimp);
    /* three jitted steps: the frozen leaves come out bit for bit as they went in */
    float w1[15];
    CU_ASSERT(jx_array_copy_to(jx_tree_get_array(frozen, "dense1.w"), w1, sizeof w1) == JX_OK);
    float w2 = (float)jx_array_get(jx_tree_get_array(train, "dense2.w"), 0);
    jx_exec *ex = jx_jit(jx_tree_fn_fn(fs), JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ex);
    double loss0 = 0, loss = 0;
    for (int step = 0; step < 3; step++) {
        jx_tree *in[4] = {train, frozen, state, batch}, *out[3];
        CU_ASSERT_FATAL(jx_tree_fn_run(fs, ex, 4, in, 3, out) == JX_OK);
        loss = jx_array_get(jx_tree_get_array(out[2], ""), 0);
        if (step == 0) loss0 = loss;
        jx_tree_free(train), jx_tree_free(state), jx_tree_free(out[2]);
        train = out[0], state = out[1];
    }
    CU_ASSERT(loss < loss0);
    CU_ASSERT(memcmp(jx_array_data(jx_tree_get_array(frozen, "dense1.w")), w1, sizeof w1) == 0);
    CU_ASSERT((float)jx_array_get(jx_tree_get_array(train, "dense2.w"), 0) != w2);
    jx_exec_release(ex);
    jx_tree_fn_free(fs), jx_tree_fn_free(ps);
    jx_sel_free(s);
    jx_tree_free(params), jx_tree_free(batch), jx_tree_free(frozen), jx_tree_free(train);
    jx_tree_free(state), jx_tree_free(full_state);
    jx_jit_cache_clear(); /* for the leak checkers */
}

/* ------------------------------------------------------------------ replace, insert, adapters */

/* in: params, {x}. out: {y}. user: the jx_seq. */
static void seq_body(jx_tree **out, jx_tree *const *in, void *user) {
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "y", jx_seq_apply((const jx_seq *)user, in[0], jx_tree_get_val(in[1], "x"), NULL));
}

static double run_seq(jx_seq *s, jx_tree *params) {
    double xv[2] = {1, 2};
    jx_tree *b = jx_tree_dict(), *out = NULL;
    set(b, "x", JX_INTS(1, 2), xv);
    jx_tree *in[2] = {params, b};
    jx_tree_fn *f = jx_tree_trace("seq", seq_body, s, 2, in, 1);
    double y = NAN;
    if (f && jx_tree_fn_run(f, NULL, 2, in, 1, &out) == JX_OK) y = jx_array_get(jx_tree_get_array(out, "y"), 0);
    else fprintf(stderr, "\n%s\n", jx_errmsg());
    jx_tree_fn_free(f), jx_tree_free(out), jx_tree_free(b);
    return y;
}

static jx_tree *dense(const double *w, int64_t i, int64_t o, const double *b) {
    jx_tree *d = jx_tree_dict();
    set(d, "w", JX_INTS(i, o), w);
    set(d, "b", JX_INTS(o), b);
    return d;
}

static void test_seq_surgery(void) {
    /* x = [1 2]; dense1 w [[1 0] [0 -1]] b [0 .5] -> [1 -1.5]; relu -> [1 0];
     * dense2 w [[2] [3]] b [1] -> 3 */
    static const double w1[4] = {1, 0, 0, -1}, b1[2] = {0, 0.5}, w2[2] = {2, 3}, b2[1] = {1};
    jx_tree *p = jx_tree_dict();
    CU_ASSERT(jx_tree_set(p, "dense1", dense(w1, 2, 2, b1)) == JX_OK);
    CU_ASSERT(jx_tree_set(p, "dense2", dense(w2, 2, 1, b2)) == JX_OK);
    jx_seq *s = jx_seq_new();
    CU_ASSERT(jx_seq_add(s, jx_nn_seq_dense("dense1", 2)) == JX_OK && jx_seq_add(s, jx_nn_seq_relu()) == JX_OK &&
              jx_seq_add(s, jx_nn_seq_dense("dense2", 1)) == JX_OK);
    CU_ASSERT_STRING_EQUAL(jx_seq_name(s, 1), "relu1"); /* named by its kind */
    CU_ASSERT_EQUAL(run_seq(s, p), 3.0);
    /* a low-rank adapter starts as a no-op (b = 0) ... */
    jx_array *key = jx_random_key_new(1);
    CU_ASSERT_FATAL(jx_tree_add_adapter(p, "dense1", 1, 2.0, key) == JX_OK);
    CU_ASSERT_EQUAL(jx_layer_kind_of(jx_tree_get(p, "dense1")), JX_LAYER_DENSE);
    CU_ASSERT_EQUAL(jx_layer_kind_of(jx_tree_get(p, "dense1.adapter")), JX_LAYER_ADAPTER);
    CU_ASSERT_EQUAL(jx_tree_num_params(jx_tree_get(p, "dense1.adapter")), 2 + 2 + 1);
    CU_ASSERT_EQUAL(run_seq(s, p), 3.0);
    /* ... and adds scale (x a) b: a = [1 1]^T, b = [1 1], scale 2/1: x a = 3, +[6 6]
     * -> dense1 [7 4.5] -> dense2 14 + 13.5 + 1 */
    static const double ones[2] = {1, 1};
    set(p, "dense1.adapter.a", JX_INTS(2, 1), ones);
    set(p, "dense1.adapter.b", JX_INTS(1, 2), ones);
    CU_ASSERT_EQUAL(run_seq(s, p), 28.5);
    CU_ASSERT(jx_tree_set(p, "dense1", dense(w1, 2, 2, b1)) == JX_OK); /* adapter off */
    /* insert mid = dense [[1 1] [1 1]] after relu1: [1 0] -> [1 1] -> 2 + 3 + 1 */
    static const double all1[4] = {1, 1, 1, 1};
    CU_ASSERT(jx_tree_insert_after(p, "dense1", "mid", dense(all1, 2, 2, NULL)) == JX_OK);
    CU_ASSERT_STRING_EQUAL(jx_tree_key(p, 1), "mid");
    CU_ASSERT(jx_seq_insert(s, jx_seq_find(s, "relu1") + 1, jx_nn_seq_dense("mid", 2)) == JX_OK);
    CU_ASSERT_STRING_EQUAL(jx_seq_name(s, 2), "mid");
    CU_ASSERT_EQUAL(run_seq(s, p), 6.0);
    /* a new head: w [[1] [-1]] b [0.25] -> 1 - 1 + 0.25 */
    static const double h[2] = {1, -1}, hb[1] = {0.25};
    CU_ASSERT(jx_tree_replace(p, "dense2", dense(h, 2, 1, hb)) == JX_OK);
    CU_ASSERT_EQUAL(run_seq(s, p), 0.25);
    /* the model as a list of layers */
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    CU_ASSERT(jx_seq_print(m, s, p) == JX_OK);
    fclose(m);
    CU_ASSERT_STRING_EQUAL(buf, "dense1  dense  6\n  w  f32[2,2]  4\n  b  f32[2]  2\n"
                                "relu1  relu\n"
                                "mid  dense  6\n  w  f32[2,2]  4\n  b  f32[2]  2\n"
                                "dense2  dense  3\n  w  f32[2,1]  2\n  b  f32[1]  1\n"
                                "total  4 layers  15 parameters\n");
    free(buf);
    /* the tail after relu1: [1 0] -> mid [1 1] -> head 0.25, whatever x */
    jx_seq *tail = jx_seq_slice(s, 2, 4);
    CU_ASSERT_EQUAL_FATAL(jx_seq_count(tail), 2);
    CU_ASSERT_STRING_EQUAL(jx_seq_name(tail, 0), "mid");
    CU_ASSERT_EQUAL(run_seq(tail, p), 0.25); /* x = [1 2] -> [3 3] -> 3 - 3 + 0.25 */
    jx_seq_free(tail);
    CU_ASSERT_PTR_NULL(jx_seq_slice(s, 3, 5));
    JT_ASSERT_ERR("seq_slice: layers [3, 5) of 4");
    /* errors */
    int line = __LINE__ + 1;
    CU_ASSERT(jx_tree_replace(p, "head", dense(h, 2, 1, hb)) == JX_ERR_ARG);
    JT_ASSERT_ERR("tree_replace: no 'head' in the tree to replace");
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    CU_ASSERT(jx_tree_insert_after(p, "dense1", "mid", jx_tree_dict()) == JX_ERR_ARG);
    JT_ASSERT_ERR("tree_insert_after: the tree already has a 'mid'");
    CU_ASSERT(jx_tree_add_adapter(p, "relu1", 1, 1, key) == JX_ERR_ARG);
    JT_ASSERT_ERR("'relu1' is not a dense or conv layer (it is missing)");
    CU_ASSERT(jx_seq_add(s, jx_nn_seq_named("mid", jx_nn_seq_relu())) == JX_ERR_ARG);
    JT_ASSERT_ERR("seq_insert: the model already has a layer 'mid'");
    jx_array_release(key);
    jx_seq_free(s);
    jx_tree_free(p);
}

/* A conv adapter is conv(x, a) then (r, O): on a 1x1 kernel it equals the dense one. */
static void conv_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "y", jx_nn_apply_conv(jx_tree_get_val(in[1], "x"), jx_tree_get(in[0], "c"), NULL));
}

static void test_conv_adapter(void) {
    jx_tree *p = jx_tree_dict(), *b = jx_tree_dict(), *out = NULL;
    static const double w[1] = {1}, x[2] = {3, 4}, a[1] = {-1}, bb[1] = {5};
    set(p, "c.w", JX_INTS(1, 1, 1, 1), w); /* 1x1 kernel, one channel in and out */
    set(b, "x", JX_INTS(1, 1, 2, 1), x);   /* two pixels */
    jx_array *key = jx_random_key_new(3);
    CU_ASSERT_FATAL(jx_tree_add_adapter(p, "c", 1, 1.0, key) == JX_OK);
    CU_ASSERT_EQUAL(jx_array_rank(jx_tree_get_array(p, "c.adapter.a")), 4);
    set(p, "c.adapter.a", JX_INTS(1, 1, 1, 1), a);
    set(p, "c.adapter.b", JX_INTS(1, 1), bb);
    jx_tree *in[2] = {p, b};
    jx_tree_fn *f = jx_tree_trace("conv", conv_body, NULL, 2, in, 1);
    CU_ASSERT_FATAL(f && jx_tree_fn_run(f, NULL, 2, in, 1, &out) == JX_OK);
    /* y = x w + 1 * (x a) b = 3 - 15, 4 - 20 */
    jx_array *y = jx_tree_get_array(out, "y");
    CU_ASSERT_EQUAL(jx_array_get(y, 0), -12.0);
    CU_ASSERT_EQUAL(jx_array_get(y, 1), -16.0);
    jx_tree_fn_free(f), jx_tree_free(out), jx_tree_free(p), jx_tree_free(b);
    jx_array_release(key);
}

static void test_reinit(void) {
    jx_tree *t = model();
    set(t, "head.b", JX_INTS(3), (double[]){1, 2, 3});
    set(t, "encoder.block1.norm.scale", JX_INTS(2), (double[]){7, 7});
    jx_array *keep = jx_tree_get_array(t, "encoder.block2.conv1.w");
    jx_sel *s = jx_sel_pattern(t, "head");
    jx_sel_add(s, t, "encoder.block1.norm");
    jx_array *key = jx_random_key_new(0);
    CU_ASSERT_FATAL(jx_tree_reinit(t, s, key) == JX_OK);
    jx_array *hw = jx_tree_get_array(t, "head.w");
    double sum2 = 0;
    for (int i = 0; i < 6; i++) sum2 += jx_array_get(hw, i) * jx_array_get(hw, i);
    CU_ASSERT(sum2 > 0); /* lecun normal, no longer zeros */
    CU_ASSERT_EQUAL(jx_array_get(jx_tree_get_array(t, "head.b"), 2), 0.0);
    CU_ASSERT_EQUAL(jx_array_get(jx_tree_get_array(t, "encoder.block1.norm.scale"), 0), 1.0);
    CU_ASSERT(jx_tree_get_array(t, "encoder.block2.conv1.w") == keep); /* not selected: untouched */
    /* the same key draws the same values */
    jx_tree *t2 = model();
    CU_ASSERT(jx_tree_reinit(t2, s, key) == JX_OK);
    CU_ASSERT(memcmp(jx_array_data(hw), jx_array_data(jx_tree_get_array(t2, "head.w")), 24) == 0);
    jx_tree_free(t2);
    jx_array_release(key);
    jx_sel_free(s);
    jx_tree_free(t);
}

/* ------------------------------------------------------------------ loading what fits */

static void test_load_matching(void) {
    char dir[] = "/tmp/jx_surgery_XXXXXX";
    CU_ASSERT_FATAL(mkdtemp(dir) != NULL);
    char path[64];
    snprintf(path, sizeof path, "%s/old.safetensors", dir);
    /* saved: conv.w f32[2,2], dense2.{w f32[4,10], b f32[10]}, old.b f32[1] */
    jx_tree *saved = jx_tree_dict();
    set(saved, "conv.w", JX_INTS(2, 2), (double[]){1, 2, 3, 4});
    set(saved, "dense2.w", JX_INTS(4, 10), NULL);
    set(saved, "dense2.b", JX_INTS(10), NULL);
    set(saved, "old.b", JX_INTS(1), NULL);
    const char *names[1] = {"params"};
    const jx_tree *trees[1] = {saved};
    CU_ASSERT_FATAL(jx_checkpoint_save(path, 1, names, trees, NULL) == JX_OK);
    /* the new model: the same conv, a 3-class head renamed, an adapter */
    jx_tree *like = jx_tree_dict();
    set(like, "conv.w", JX_INTS(2, 2), NULL);
    set(like, "head.w", JX_INTS(4, 3), NULL);
    set(like, "head.b", JX_INTS(3), NULL);
    set(like, "conv.adapter.a", JX_INTS(2, 1), NULL);
    const char *const rename[1][2] = {{"dense2", "head"}};
    jx_tree *out = NULL;
    jx_load_report r;
    CU_ASSERT_FATAL(jx_checkpoint_load_matching(path, "params", like, 1, rename, &out, &r) == JX_OK);
    CU_ASSERT_EQUAL(r.nloaded, 1);
    CU_ASSERT_STRING_EQUAL(r.loaded[0], "conv.w");
    CU_ASSERT_EQUAL_FATAL(r.nmissing, 1);
    CU_ASSERT_STRING_EQUAL(r.missing[0], "conv.adapter.a");
    CU_ASSERT_EQUAL_FATAL(r.nmisshaped, 2);
    CU_ASSERT_STRING_EQUAL(r.misshaped[0], "head.w: f32[4,10] in the file, f32[4,3] in the tree");
    CU_ASSERT_STRING_EQUAL(r.misshaped[1], "head.b: f32[10] in the file, f32[3] in the tree");
    CU_ASSERT_EQUAL_FATAL(r.nextra, 1);
    CU_ASSERT_STRING_EQUAL(r.extra[0], "old.b");
    CU_ASSERT_EQUAL(jx_array_get(jx_tree_get_array(out, "conv.w"), 3), 4.0);
    CU_ASSERT(jx_tree_get_array(out, "head.w") == jx_tree_get_array(like, "head.w")); /* kept */
    char *buf = NULL;
    size_t n = 0;
    FILE *m = open_memstream(&buf, &n);
    jx_load_report_print(m, &r);
    fclose(m);
    CU_ASSERT_STRING_EQUAL(buf, "loaded 1, missing 1, extra 1, mis-shaped 2\n"
                                "  missing: conv.adapter.a (kept)\n"
                                "  mis-shaped: head.w: f32[4,10] in the file, f32[4,3] in the tree (kept)\n"
                                "  mis-shaped: head.b: f32[10] in the file, f32[3] in the tree (kept)\n"
                                "  extra: old.b (ignored)\n");
    free(buf);
    jx_load_report_free(&r);
    jx_tree_free(out);
    /* a missing file is an error */
    CU_ASSERT(jx_checkpoint_load_matching("/nonexistent/x.safetensors", "params", like, 0, NULL, &out, &r) != JX_OK);
    JT_ASSERT_ERR("/nonexistent/x.safetensors");
    CU_ASSERT_PTR_NULL(out);
    jx_tree_free(like), jx_tree_free(saved);
    unlink(path);
    rmdir(dir);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"select by pattern, kind, predicate; views", test_select},
        {"partition and merge", test_partition_merge},
        {"freezing: IR, optimizer state, bit-identical", test_freeze},
        {"replace, insert, adapter on a jx_seq", test_seq_surgery},
        {"conv adapter", test_conv_adapter},
        {"reinit a selection", test_reinit},
        {"load a checkpoint into a differing tree", test_load_matching},
        CU_TEST_INFO_NULL,
    };
    return jt_run("surgery", tests);
}
