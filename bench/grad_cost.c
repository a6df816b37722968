/* grad_cost.c: what differentiation costs and how big its IR is.
 *  1. time to build jx_grad of a 1000-op function (add/mul/tanh/sub chain);
 *  2. equations in jx_value_and_grad of an MLP 784-512-512-10 softmax cross-entropy
 *     loss against a hand-written forward+backward of the same model (the target is
 *     at most 1.3x);
 *  3. the same for a small CNN (conv 3x3 + bias + tanh + 2x2 max pool + dense).
 *   usage: bench_grad_cost [reps] */
#include <jx.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"

enum { OPS = 1000, B = 128, IN = 784, H = 512, C = 10 };

static void chain(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val x = in[0], y = in[1];
    for (int i = 0; i < OPS / 4; i++) x = jx_sub(jx_tanh(jx_mul(jx_add(x, y), y)), y);
    out[0] = jx_reduce_sum(x, JX_NOINTS);
}

static const jx_fn *chain_fn;
static void grad_once(void *arg) {
    (void)arg;
    jx_fn *g = jx_grad(chain_fn, JX_INTS(0, 1));
    if (!g) fprintf(stderr, "grad_cost: %s\n", jx_errmsg());
    jx_fn_release(g);
}

/* in: x, onehot labels (B,C) f32, w1, b1, w2, b2, w3, b3 */
static jx_val logits_of(const jx_val *in, jx_val *h1, jx_val *h2) {
    *h1 = jx_relu(jx_add(jx_matmul(in[0], in[2]), in[3]));
    *h2 = jx_relu(jx_add(jx_matmul(*h1, in[4]), in[5]));
    return jx_add(jx_matmul(*h2, in[6]), in[7]);
}

static void mlp_loss(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val h1, h2, logits = logits_of(in, &h1, &h2);
    out[0] = jx_neg(jx_mean(jx_sum(jx_mul(jx_log_softmax(logits, -1), in[1]), JX_INTS(1)), JX_NOINTS));
}

/* The same loss and its gradients with respect to the six parameters, by hand. */
static void mlp_manual(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val h1, h2, logits = logits_of(in, &h1, &h2);
    jx_val logp = jx_log_softmax(logits, -1);
    out[0] = jx_neg(jx_mean(jx_sum(jx_mul(logp, in[1]), JX_INTS(1)), JX_NOINTS));
    jx_val d3 = jx_div(jx_sub(jx_exp(logp), in[1]), jx_scalar(JX_F32, B)); /* dL/dlogits */
    jx_val tr = jx_transpose(h2, JX_INTS(1, 0));
    out[5] = jx_matmul(tr, d3);
    out[6] = jx_reduce_sum(d3, JX_INTS(0));
    jx_val d2 = jx_matmul(d3, jx_transpose(in[6], JX_INTS(1, 0)));
    d2 = jx_select(jx_gt(h2, jx_scalar(JX_F32, 0)), d2, jx_zeros_like(d2));
    out[3] = jx_matmul(jx_transpose(h1, JX_INTS(1, 0)), d2);
    out[4] = jx_reduce_sum(d2, JX_INTS(0));
    jx_val d1 = jx_matmul(d2, jx_transpose(in[4], JX_INTS(1, 0)));
    d1 = jx_select(jx_gt(h1, jx_scalar(JX_F32, 0)), d1, jx_zeros_like(d1));
    out[1] = jx_matmul(jx_transpose(in[0], JX_INTS(1, 0)), d1);
    out[2] = jx_reduce_sum(d1, JX_INTS(0));
}

/* CNN: in: x (8,1,12,12), onehot (8,10), w (4,1,3,3), b (4), wd (144,10), bd (10) */
static jx_val cnn_forward(const jx_val *in, jx_val *act, jx_val *flat) {
    jx_conv_opts o = {.pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1)};
    jx_val z = jx_add(jx_conv(in[0], in[2], &o), jx_reshape(in[3], JX_INTS(1, 4, 1, 1)));
    *act = jx_tanh(z);
    jx_val p = jx_reduce_window(*act, JX_WINDOW_MAX, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_NOINTS, JX_NOINTS);
    *flat = jx_reshape(p, JX_INTS(8, 144));
    return jx_add(jx_matmul(*flat, in[4]), in[5]);
}

static void cnn_loss(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val act, flat, logits = cnn_forward(in, &act, &flat);
    out[0] = jx_neg(jx_mean(jx_sum(jx_mul(jx_log_softmax(logits, -1), in[1]), JX_INTS(1)), JX_NOINTS));
}

static void cnn_manual(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val act, flat, logits = cnn_forward(in, &act, &flat);
    jx_val logp = jx_log_softmax(logits, -1);
    out[0] = jx_neg(jx_mean(jx_sum(jx_mul(logp, in[1]), JX_INTS(1)), JX_NOINTS));
    jx_val dl = jx_div(jx_sub(jx_exp(logp), in[1]), jx_scalar(JX_F32, 8));
    out[3] = jx_matmul(jx_transpose(flat, JX_INTS(1, 0)), dl);
    out[4] = jx_reduce_sum(dl, JX_INTS(0));
    jx_val dp = jx_reshape(jx_matmul(dl, jx_transpose(in[4], JX_INTS(1, 0))), JX_INTS(8, 4, 6, 6));
    jx_val da = jx_select_and_scatter_add(dp, act, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_INTS(0, 0, 0, 0),
                                          JX_INTS(0, 0, 0, 0));
    jx_val dz = jx_mul(da, jx_sub(jx_scalar(JX_F32, 1), jx_mul(act, act)));
    out[2] = jx_reduce_sum(dz, JX_INTS(0, 2, 3));
    jx_conv_opts o = {.pad_lo = JX_INTS(1, 1), .pad_hi = JX_INTS(1, 1)};
    jx_val dw = jx_conv(jx_transpose(in[0], JX_INTS(1, 0, 2, 3)), jx_transpose(dz, JX_INTS(1, 0, 2, 3)), &o);
    out[1] = jx_transpose(dw, JX_INTS(1, 0, 2, 3));
}

/* Evaluates both on the same pseudo-random inputs; the largest |difference| of outputs. */
static double max_diff(const jx_fn *a, const jx_fn *b, int nin, const jx_aval *av) {
    jx_array *in[8], *oa[8] = {0}, *ob[8] = {0};
    uint32_t s = 7;
    for (int i = 0; i < nin; i++) {
        in[i] = jx_array_zeros(JX_F32, (jx_ints){av[i].shape, av[i].rank});
        float *d = jx_array_data_mut(in[i]);
        for (int64_t k = 0; k < jx_array_size(in[i]); k++) {
            s = s * 1664525u + 1013904223u;
            /* input 1 is one-hot (B,10): the hand-written backward assumes rows sum to 1 */
            d[k] = i == 1 ? (float)(k % 10 == (k / 10 * 7 + 3) % 10) : 0.2f * ((float)(s >> 8) / 8388608.0f - 1.0f);
        }
    }
    int n = jx_fn_num_outputs(a);
    double worst = -1;
    if (jx_eval(a, nin, in, n, oa) == JX_OK && jx_eval(b, nin, in, n, ob) == JX_OK) {
        worst = 0;
        for (int j = 0; j < n; j++)
            for (int64_t k = 0; k < jx_array_size(oa[j]); k++) {
                double d = fabs(jx_array_get(oa[j], k) - jx_array_get(ob[j], k));
                if (d > worst) worst = d;
            }
    }
    for (int j = 0; j < n; j++) jx_array_release(oa[j]), jx_array_release(ob[j]);
    for (int i = 0; i < nin; i++) jx_array_release(in[i]);
    return worst;
}

/* Prints the equation counts of value_and_grad(loss) against a hand-written version. */
static void compare(const char *what, jx_body loss, jx_body manual, int nin, const jx_aval *av, jx_ints argnums) {
    jx_fn *l = jx_trace(what, loss, NULL, nin, av, 1);
    jx_fn *vg = l ? jx_value_and_grad(l, argnums) : NULL;
    jx_fn *m = jx_trace("manual", manual, NULL, nin, av, argnums.n + 1);
    jx_fn *ms = m ? jx_fn_simplify(m) : NULL;
    if (!vg || !ms) {
        fprintf(stderr, "grad_cost: %s\n", jx_errmsg());
    } else {
        int a = jx_fn_num_eqns_total(vg), h = jx_fn_num_eqns_total(ms);
        printf("%s value_and_grad: %d equations; hand-written forward+backward: %d; ratio %.2f (target <= 1.3)\n",
               what, a, h, (double)a / h);
        printf("%s: largest difference between the two gradients: %.2e\n", what, max_diff(vg, ms, nin, av));
    }
    jx_fn_release(ms);
    jx_fn_release(m);
    jx_fn_release(vg);
    jx_fn_release(l);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    jx_aval ca[2] = {JX_AVAL(JX_F32, 16), JX_AVAL(JX_F32, 16)};
    jx_fn *cf = jx_trace("chain", chain, NULL, 2, ca, 1);
    if (!cf) return fprintf(stderr, "grad_cost: %s\n", jx_errmsg()), 1;
    chain_fn = cf;
    double t = bench_best(reps, grad_once, NULL);
    printf("grad of a %d-op function: %.2f ms to build (best of %d)\n", OPS, t * 1e3, reps);

    jx_aval av[8] = {JX_AVAL(JX_F32, B, IN), JX_AVAL(JX_F32, B, C), JX_AVAL(JX_F32, IN, H), JX_AVAL(JX_F32, H),
                     JX_AVAL(JX_F32, H, H),  JX_AVAL(JX_F32, H),    JX_AVAL(JX_F32, H, C), JX_AVAL(JX_F32, C)};
    compare("MLP", mlp_loss, mlp_manual, 8, av, JX_INTS(2, 3, 4, 5, 6, 7));
    jx_aval cv[6] = {JX_AVAL(JX_F32, 8, 1, 12, 12), JX_AVAL(JX_F32, 8, 10), JX_AVAL(JX_F32, 4, 1, 3, 3),
                     JX_AVAL(JX_F32, 4), JX_AVAL(JX_F32, 144, 10), JX_AVAL(JX_F32, 10)};
    compare("CNN", cnn_loss, cnn_manual, 6, cv, JX_INTS(2, 3, 4, 5));
    jx_fn_release(cf);
    return 0;
}
