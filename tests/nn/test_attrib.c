/* test_attrib.c: attribution (jx/attrib.h) and the ablation check built on taps:
 * integrated gradients and gradient x input equal JAX's (ref/ig_ref.h, written by
 * ref/gen_ig.py) in f64; completeness within a stated tolerance at a stated number of
 * steps; the path integral is one vmapped pass (the IR does not grow with the steps);
 * on a small trained classifier, ablating each class's top-attributed hidden units
 * costs that class more accuracy than ablating random ones (fixed seeds, numbers
 * asserted). */
#include <stdlib.h>

#include "harness.h"
#include "jx/nn.h"
#include "nn/ref/ig_ref.h"

/* f(W1, b1, w2, x) = sum(tanh(x W1 + b1) * w2) + 0.5 sum(x^3), as gen_ig.py. */
static void f_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val h = jx_tanh(jx_add(jx_matmul(in[3], in[0]), in[1]));
    jx_val cube = jx_mul(jx_mul(in[3], in[3]), in[3]);
    out[0] = jx_add(jx_sum(jx_mul(h, in[2]), JX_NOINTS), jx_mul_s(jx_sum(cube, JX_NOINTS), 0.5));
}

static jx_fn *model_fn(jx_dtype dt) {
    jx_aval av[4] = {JX_AVAL(dt, IG_I, IG_H), JX_AVAL(dt, IG_H), JX_AVAL(dt, IG_H), JX_AVAL(dt, IG_I)};
    return jx_trace("f", f_body, NULL, 4, av, 1);
}

/* Runs fn on the reference inputs (and the baseline when with_base); returns output 0. */
static jx_array *run_ref(const jx_fn *fn, jx_dtype dt, int with_base) {
    jx_array *in[5] = {jt_array(dt, JX_INTS(IG_I, IG_H), ig_W1), jt_array(dt, JX_INTS(IG_H), ig_b1),
                       jt_array(dt, JX_INTS(IG_H), ig_w2), jt_array(dt, JX_INTS(IG_I), ig_x),
                       jt_array(dt, JX_INTS(IG_I), ig_base)};
    jx_array *out = NULL;
    if (jt_eval(fn, 4 + with_base, in, 1, &out) != JX_OK) fprintf(stderr, "\n%s\n", jx_errmsg());
    for (int i = 0; i < 5; i++) jx_array_release(in[i]);
    return out;
}

static void test_ig_matches_jax(void) {
    jx_fn *f = model_fn(JX_F64), *ig = jx_integrated_gradients(f, 3, IG_M), *gxi = jx_grad_times_input(f, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ig);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gxi);
    CU_ASSERT_EQUAL(jx_fn_num_inputs(ig), 5);
    jx_array *a = run_ref(ig, JX_F64, 1), *g = run_ref(gxi, JX_F64, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    JT_ASSERT_ARRAY(a, ig_want, IG_I, 1e-12);
    JT_ASSERT_ARRAY(g, ig_gxi_want, IG_I, 1e-12);
    jx_array_release(a), jx_array_release(g);
    /* compiled, in f32 */
    jx_fn *f32 = model_fn(JX_F32), *ig32 = jx_integrated_gradients(f32, 3, IG_M);
    jx_exec *e = jx_jit(ig32, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    jx_array *in[5] = {jt_array(JX_F32, JX_INTS(IG_I, IG_H), ig_W1), jt_array(JX_F32, JX_INTS(IG_H), ig_b1),
                       jt_array(JX_F32, JX_INTS(IG_H), ig_w2), jt_array(JX_F32, JX_INTS(IG_I), ig_x),
                       jt_array(JX_F32, JX_INTS(IG_I), ig_base)};
    CU_ASSERT_FATAL(jx_exec_run(e, 5, in, 1, &a) == JX_OK);
    JT_ASSERT_ARRAY(a, ig_want, IG_I, 2e-5);
    jx_array_release(a);
    for (int i = 0; i < 5; i++) jx_array_release(in[i]);
    jx_exec_release(e);
    jx_fn_release(ig32), jx_fn_release(f32);
    jx_fn_release(ig), jx_fn_release(gxi), jx_fn_release(f);
    jx_jit_cache_clear();
}

/* sum(IG) against f(x) - f(b) = ig_fx_fb (JAX's), relative to |f(x) - f(b)|. */
static double completeness_error(int steps) {
    jx_fn *f = model_fn(JX_F64), *ig = jx_integrated_gradients(f, 3, steps);
    jx_array *a = ig ? run_ref(ig, JX_F64, 1) : NULL;
    double s = 0;
    for (int i = 0; a && i < IG_I; i++) s += jx_array_get(a, i);
    jx_array_release(a), jx_fn_release(ig), jx_fn_release(f);
    return a ? fabs(s - ig_fx_fb[0]) / fabs(ig_fx_fb[0]) : INFINITY;
}

static void test_ig_completeness(void) {
    /* the midpoint rule's error falls as 1/m^2: below 1e-3 at 16 steps, 1e-5 at 128 */
    double e16 = completeness_error(16), e128 = completeness_error(128);
    CU_ASSERT(e16 < 1e-3);
    CU_ASSERT(e128 < 1e-5);
    CU_ASSERT(e128 < e16 / 30); /* (128/16)^2 = 64, with room */
    /* one vmapped pass: the IR is the same size at 16 and 128 steps */
    jx_fn *f = model_fn(JX_F32), *a = jx_integrated_gradients(f, 3, 16), *b = jx_integrated_gradients(f, 3, 128);
    CU_ASSERT_FATAL(a && b);
    CU_ASSERT_EQUAL(jx_fn_num_eqns_total(a), jx_fn_num_eqns_total(b));
    CU_ASSERT_EQUAL(jt_count_in_ir(b, "while"), 0);
    jx_fn_release(a), jx_fn_release(b);
    /* errors */
    CU_ASSERT_PTR_NULL(jx_integrated_gradients(f, 3, 0));
    JT_ASSERT_ERR("integrated_gradients: 0 steps (at least 1)");
    CU_ASSERT_PTR_NULL(jx_integrated_gradients(f, 4, 8));
    JT_ASSERT_ERR("integrated_gradients: input 4 of a function of 4 inputs");
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ ablation */

enum { NC = 3, DIN = 6, HID = 12, NPER = 60, NTR = NC * NPER };

/* Three Gaussian blobs: class c centred at 2.5 e_c (and e_{c+3} * 1.5), unit noise from
 * a fixed LCG (Box-Muller). */
static void blobs(double *x, int32_t *y, uint64_t seed) {
    uint64_t s = seed;
    for (int i = 0; i < NTR; i++) {
        int c = i % NC;
        y[i] = c;
        for (int d = 0; d < DIN; d++) {
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double u1 = ((s >> 11) + 0.5) / 9007199254740992.0;
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            double u2 = ((s >> 11) + 0.5) / 9007199254740992.0;
            double n = sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
            x[i * DIN + d] = n + (d == c ? 2.5 : 0) + (d == c + 3 ? 1.5 : 0);
        }
    }
}

typedef struct net {
    jx_seq *seq;
    jx_taps *taps;
} net;

/* in: params, {x, y}. out: the mean cross-entropy. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    const net *n = user;
    jx_val logits = jx_seq_apply(n->seq, in[0], jx_tree_get_val(in[1], "x"), NULL);
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[1], "y"), JX_LOSS_NO_IGNORE));
}

static jx_val sgd_leaf(const char *path, jx_val p, jx_val g, void *user) {
    (void)path, (void)user;
    return jx_sub(p, jx_mul_s(g, 0.5));
}

/* in: params, data. out: new params. Plain gradient descent, lr 0.5. */
static void sgd_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_tree *v[1], *g;
    if (jx_tree_value_and_grad(loss_body, user, 2, in, 0, 1, v, &g) != JX_OK) return;
    out[0] = jx_tree_map2_vals(in[0], g, sgd_leaf, NULL);
    jx_tree_free(v[0]), jx_tree_free(g);
}

/* in: params, {x}. out: {logits}, the taps (hid). */
static void eval_body(jx_tree **out, jx_tree *const *in, void *user) {
    const net *n = user;
    jx_seq_ctx c = {.taps = n->taps};
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "logits", jx_seq_apply(n->seq, in[0], jx_tree_get_val(in[1], "x"), &c));
    out[1] = jx_taps_take(n->taps);
}

/* Accuracy (in correct counts) on class c of the data, with the taps as set; *hid gets
 * the captured hidden layer when asked. */
static int class_correct(net *n, jx_tree *params, jx_tree *data, const int32_t *y, int c, jx_tree **taps) {
    jx_tree *in[2] = {params, data}, *out[2] = {NULL, NULL};
    jx_tree_fn *f = jx_tree_trace("eval", eval_body, n, 2, in, 2);
    int k = -1;
    if (f && jx_tree_fn_run(f, NULL, 2, in, 2, out) == JX_OK) {
        jx_array *lg = jx_tree_get_array(out[0], "logits");
        k = 0;
        for (int i = 0; i < NTR; i++) {
            int best = 0;
            for (int j = 1; j < NC; j++)
                if (jx_array_get(lg, i * NC + j) > jx_array_get(lg, i * NC + best)) best = j;
            k += y[i] == c && best == c;
        }
    }
    if (taps) *taps = out[1];
    else jx_tree_free(out[1]);
    jx_tree_free(out[0]);
    jx_tree_fn_free(f);
    return k;
}

static void test_ablation(void) {
    double x[NTR * DIN], w1[DIN * HID], w2[HID * NC];
    int32_t y[NTR];
    blobs(x, y, 5);
    for (int i = 0; i < DIN * HID; i++) w1[i] = 0.3 * sin(1.7 * i + 0.3);
    for (int i = 0; i < HID * NC; i++) w2[i] = 0.3 * cos(2.3 * i + 0.1);
    jx_tree *p = jx_tree_dict(), *data = jx_tree_dict();
    jx_tree_set_array(p, "dense1.w", jt_array(JX_F32, JX_INTS(DIN, HID), w1));
    jx_tree_set_array(p, "dense1.b", jx_array_zeros(JX_F32, JX_INTS(HID)));
    jx_tree_set_array(p, "dense2.w", jt_array(JX_F32, JX_INTS(HID, NC), w2));
    jx_tree_set_array(p, "dense2.b", jx_array_zeros(JX_F32, JX_INTS(NC)));
    jx_tree_set_array(data, "x", jt_array(JX_F32, JX_INTS(NTR, DIN), x));
    jx_tree_set_array(data, "y", jx_array_new(JX_I32, JX_INTS(NTR), y));
    const jx_nn_layer layers[3] = {jx_nn_seq_dense("dense1", HID), jx_nn_seq_named("hid", jx_nn_seq_relu()),
                                   jx_nn_seq_dense("dense2", NC)};
    net n = {jx_seq_of(layers, 3), jx_taps_new()};
    /* 100 full-batch gradient steps, interpreted (bit-reproducible everywhere) */
    jx_tree *in[2] = {p, data};
    jx_tree_fn *step = jx_tree_trace("sgd", sgd_body, &n, 2, in, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(step);
    for (int i = 0; i < 100; i++) {
        jx_tree *np = NULL;
        in[0] = p;
        CU_ASSERT_FATAL(jx_tree_fn_run(step, NULL, 2, in, 1, &np) == JX_OK);
        jx_tree_free(p);
        p = np;
    }
    jx_tree_fn_free(step);
    /* unit attribution to class c: mean over class c of h_u * w2[u, c] (gradient x
     * activation of logit c, exact for the last dense layer) */
    jx_taps_capture(n.taps, "hid");
    jx_tree *t = NULL;
    int base[NC];
    for (int c = 0; c < NC; c++) base[c] = class_correct(&n, p, data, y, c, c == 0 ? &t : NULL);
    jx_taps_clear(n.taps);
    jx_array *h = jx_tree_get_array(t, "hid"), *W2 = jx_tree_get_array(p, "dense2.w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int top_drop[NC], rand_drop10[NC]; /* random: the sum of 10 draws' drops */
    uint64_t s = 99;
    for (int c = 0; c < NC; c++) {
        double attr[HID] = {0};
        for (int i = 0; i < NTR; i++)
            if (y[i] == c)
                for (int u = 0; u < HID; u++) attr[u] += jx_array_get(h, i * HID + u) * jx_array_get(W2, u * NC + c);
        int64_t top[2] = {0, 1};
        for (int u = 0; u < HID; u++) { /* the two largest */
            if (u == top[0] || u == top[1]) continue;
            if (attr[u] > attr[top[0]]) top[1] = top[0], top[0] = u;
            else if (attr[u] > attr[top[1]]) top[1] = u;
        }
        if (attr[top[1]] > attr[top[0]]) {
            int64_t tmp = top[0];
            top[0] = top[1], top[1] = tmp;
        }
        jx_taps_ablate(n.taps, "hid", 2, top, 0.0);
        top_drop[c] = base[c] - class_correct(&n, p, data, y, c, NULL);
        jx_taps_clear(n.taps);
        rand_drop10[c] = 0;
        for (int r = 0; r < 10; r++) {
            int64_t pick[2];
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            pick[0] = (int64_t)((s >> 33) % HID);
            s = s * 6364136223846793005ULL + 1442695040888963407ULL;
            pick[1] = (pick[0] + 1 + (int64_t)((s >> 33) % (HID - 1))) % HID;
            jx_taps_ablate(n.taps, "hid", 2, pick, 0.0);
            rand_drop10[c] += base[c] - class_correct(&n, p, data, y, c, NULL);
            jx_taps_clear(n.taps);
        }
        printf("\n  class %d: %d/%d correct, top-2 ablated: -%d, random 2 (mean of 10): -%.1f", c, base[c], NPER,
               top_drop[c], rand_drop10[c] / 10.0);
    }
    /* the numbers this seed gives (interpreter, f32) */
    static const int want_base[NC] = {60, 59, 60}, want_top[NC] = {4, 19, 25}, want_rand10[NC] = {21, 12, 15};
    for (int c = 0; c < NC; c++) {
        CU_ASSERT(top_drop[c] * 10 > rand_drop10[c]); /* top units hurt more than random ones */
        CU_ASSERT_EQUAL(base[c], want_base[c]);
        CU_ASSERT_EQUAL(top_drop[c], want_top[c]);
        CU_ASSERT_EQUAL(rand_drop10[c], want_rand10[c]);
    }
    jx_tree_free(t), jx_tree_free(p), jx_tree_free(data);
    jx_taps_free(n.taps), jx_seq_free(n.seq);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"integrated gradients and gradient x input equal JAX's", test_ig_matches_jax},
        {"integrated gradients: completeness, one vmapped pass", test_ig_completeness},
        {"ablating top-attributed units hurts more than random", test_ablation},
        CU_TEST_INFO_NULL,
    };
    return jt_run("attrib", tests);
}
