/* grad_cost.c: what differentiation costs and how big its IR is.
 *  1. time to build jx_grad of a 1000-op function (add/mul/tanh/sub chain);
 *  2. equations in jx_value_and_grad of an MLP 784-512-512-10 softmax cross-entropy
 *     loss against a hand-written forward+backward of the same model (the target is
 *     at most 1.3x).
 *   usage: bench_grad_cost [reps] */
#include <jx.h>
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
    jx_fn *loss = jx_trace("mlp_loss", mlp_loss, NULL, 8, av, 1);
    jx_fn *vg = loss ? jx_value_and_grad(loss, JX_INTS(2, 3, 4, 5, 6, 7)) : NULL;
    jx_fn *man = jx_trace("mlp_manual", mlp_manual, NULL, 8, av, 7);
    jx_fn *mans = man ? jx_fn_simplify(man) : NULL;
    if (!vg || !mans) {
        fprintf(stderr, "grad_cost: %s\n", jx_errmsg());
    } else {
        int a = jx_fn_num_eqns_total(vg), h = jx_fn_num_eqns_total(mans);
        printf("MLP value_and_grad: %d equations; hand-written forward+backward: %d; ratio %.2f (target <= 1.3)\n",
               a, h, (double)a / h);
    }
    jx_fn_release(mans);
    jx_fn_release(man);
    jx_fn_release(vg);
    jx_fn_release(loss);
    jx_fn_release(cf);
    return 0;
}
