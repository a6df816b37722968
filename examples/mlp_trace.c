/* mlp_trace.c: the main job until the jit and the MNIST trainer exist. Traces the loss
 * of an MLP 784-512-512-10 (the JAX tutorial's model) on a batch of 128, prints its IR,
 * simplifies it, and evaluates it with the reference interpreter.
 *
 *   usage: mlp_trace [--quiet]      (--quiet: do not print the IR) */
#define _POSIX_C_SOURCE 200809L
#include <jx.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum { BATCH = 128, IN = 784, HIDDEN = 512, CLASSES = 10 };

/* in: x (B,784), labels (B) i32, w1 (784,512), b1 (512), w2 (512,512), b2 (512),
 *     w3 (512,10), b3 (10).  out[0]: mean cross-entropy, a scalar. */
static void mlp_loss(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val h = jx_relu(jx_add(jx_matmul(in[0], in[2]), in[3]));
    h = jx_relu(jx_add(jx_matmul(h, in[4]), in[5]));
    jx_val logits = jx_add(jx_matmul(h, in[6]), in[7]);
    jx_val logp = jx_log_softmax(logits, -1);
    jx_val target = jx_one_hot(in[1], CLASSES, JX_F32);
    out[0] = jx_neg(jx_mean(jx_sum(jx_mul(logp, target), JX_INTS(1)), JX_NOINTS));
}

/* Deterministic pseudo-random floats in [-scale, scale). */
static jx_array *random_array(jx_ints shape, float scale, uint32_t *state) {
    jx_array *a = jx_array_zeros(JX_F32, shape);
    if (!a) return NULL;
    float *d = jx_array_data_mut(a);
    for (int64_t i = 0; i < jx_array_size(a); i++) {
        *state = *state * 1664525u + 1013904223u;
        d[i] = scale * ((float)(*state >> 8) / 8388608.0f - 1.0f);
    }
    return a;
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    int quiet = argc > 1 && strcmp(argv[1], "--quiet") == 0;
    jx_aval avals[8] = {
        JX_AVAL(JX_F32, BATCH, IN),  JX_AVAL(JX_I32, BATCH),        JX_AVAL(JX_F32, IN, HIDDEN),
        JX_AVAL(JX_F32, HIDDEN),     JX_AVAL(JX_F32, HIDDEN, HIDDEN), JX_AVAL(JX_F32, HIDDEN),
        JX_AVAL(JX_F32, HIDDEN, CLASSES), JX_AVAL(JX_F32, CLASSES),
    };
    double t0 = now();
    jx_fn *f = jx_trace("mlp_loss", mlp_loss, NULL, 8, avals, 1);
    double t1 = now();
    if (!f) {
        fprintf(stderr, "mlp_trace: %s\n", jx_errmsg());
        return 1;
    }
    jx_fn *g = jx_fn_simplify(f);
    if (!g) {
        fprintf(stderr, "mlp_trace: %s\n", jx_errmsg());
        jx_fn_release(f);
        return 1;
    }
    printf("traced mlp_loss: %d equations in %.3f ms; %d after simplify\n", jx_fn_num_eqns(f),
           (t1 - t0) * 1e3, jx_fn_num_eqns(g));
    if (!quiet) jx_fn_print(stdout, g);

    uint32_t seed = 42;
    jx_array *in[8] = {
        random_array(JX_INTS(BATCH, IN), 1.0f, &seed), jx_array_zeros(JX_I32, JX_INTS(BATCH)),
        random_array(JX_INTS(IN, HIDDEN), 0.05f, &seed), jx_array_zeros(JX_F32, JX_INTS(HIDDEN)),
        random_array(JX_INTS(HIDDEN, HIDDEN), 0.05f, &seed), jx_array_zeros(JX_F32, JX_INTS(HIDDEN)),
        random_array(JX_INTS(HIDDEN, CLASSES), 0.05f, &seed), jx_array_zeros(JX_F32, JX_INTS(CLASSES)),
    };
    int32_t *labels = jx_array_data_mut(in[1]);
    for (int i = 0; i < BATCH; i++) labels[i] = i % CLASSES;
    jx_array *loss = NULL;
    double t2 = now();
    jx_status st = jx_eval(g, 8, in, 1, &loss);
    double t3 = now();
    int rc = 0;
    if (st != JX_OK) {
        fprintf(stderr, "mlp_trace: %s\n", jx_errmsg());
        rc = 1;
    } else {
        printf("loss on a random batch of %d: %.6f (ln 10 = 2.302585 for a near-uniform guess)\n",
               BATCH, jx_array_get(loss, 0));
        printf("evaluated with the reference interpreter in %.1f ms\n", (t3 - t2) * 1e3);
    }
    jx_array_release(loss);
    for (int i = 0; i < 8; i++) jx_array_release(in[i]);
    jx_fn_release(g);
    jx_fn_release(f);
    return rc;
}
