/* conv_layout.c: what the NHWC layout costs over the canonical NCHW one under the jit.
 * jx traces conv_general_dilated with dimension numbers as transposes around the one
 * canonical primitive (docs/decisions.md); this prints, for a conv layer's forward pass
 * and for its forward + backward (value_and_grad of sum(conv(x, w)^2)), the jitted time
 * with NCHW/OIHW operands and with NHWC/HWIO ones, and their ratio; then what one of
 * the transposes costs alone against a memcpy of the same bytes.
 *   usage: bench_conv_layout [reps] */
#include <jx.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>

#include "bench_util.h"

static void conv_body(jx_val *out, const jx_val *in, void *u) {
    const jx_conv_dims *d = u;
    jx_conv_opts o = {0};
    out[0] = jx_conv_general_dilated(in[0], in[1], &o, *d, JX_PADDING_SAME);
}

static void nhwc_to_nchw(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_transpose(in[0], JX_INTS(0, 3, 1, 2));
}

static void loss_body(jx_val *out, const jx_val *in, void *u) {
    jx_val y;
    conv_body(&y, in, u);
    out[0] = jx_reduce_sum(jx_mul(y, y), JX_NOINTS);
}

struct run {
    jx_exec *x;
    jx_array *in[2];
    int nout, nin;
};

static void run_exec(void *arg) {
    struct run *r = arg;
    jx_array *out[3] = {NULL, NULL, NULL};
    if (jx_exec_run(r->x, r->nin, r->in, r->nout, out) != JX_OK) fprintf(stderr, "%s\n", jx_errmsg());
    for (int i = 0; i < r->nout; i++) jx_array_release(out[i]);
}

/* Jitted time of body (grad: value_and_grad of it) on x, w; -1 on failure. */
static double time_one(int reps, jx_body body, bool grad, jx_conv_dims *d, jx_aval xa, jx_aval wa) {
    jx_aval av[2] = {xa, wa};
    jx_fn *f = jx_trace("conv", body, d, wa.rank ? 2 : 1, av, 1);
    jx_fn *g = f && grad ? jx_value_and_grad(f, JX_INTS(0, 1)) : NULL;
    jx_jit_opts opts = JX_JIT_DEFAULTS;
    struct run r = {jx_jit(grad ? g : f, JX_DEVICE_CPU, &opts), {NULL, NULL}, grad ? 3 : 1, wa.rank ? 2 : 1};
    if (!r.x) return fprintf(stderr, "%s\n", jx_errmsg()), -1;
    r.in[0] = jx_array_full(JX_F32, (jx_ints){xa.shape, xa.rank}, 0.5);
    if (r.nin == 2) r.in[1] = jx_array_full(JX_F32, (jx_ints){wa.shape, wa.rank}, 0.01);
    run_exec(&r);
    double t = bench_best(reps, run_exec, &r);
    jx_array_release(r.in[0]);
    jx_array_release(r.in[1]);
    jx_exec_release(r.x);
    jx_fn_release(g);
    jx_fn_release(f);
    return t;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 10;
    /* (N, C, H, W) -> O channels, 3x3 SAME */
    static const int64_t layers[][4 + 1] = {{32, 32, 28, 28, 64}, {32, 64, 14, 14, 128}, {8, 3, 64, 64, 32}};
    jx_conv_dims nchw = JX_CONV_NCHW, nhwc = JX_CONV_NHWC;
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        int64_t n = layers[i][0], c = layers[i][1], h = layers[i][2], w = layers[i][3], o = layers[i][4];
        for (int grad = 0; grad < 2; grad++) {
            jx_body body = grad ? loss_body : conv_body;
            double t0 = time_one(reps, body, grad, &nchw, JX_AVAL(JX_F32, n, c, h, w), JX_AVAL(JX_F32, o, c, 3, 3));
            double t1 = time_one(reps, body, grad, &nhwc, JX_AVAL(JX_F32, n, h, w, c), JX_AVAL(JX_F32, 3, 3, c, o));
            if (t0 < 0 || t1 < 0) return 1;
            printf("x %2lldx%3lldx%2lldx%2lld -> %3lld ch, 3x3 SAME, %-12s NCHW %8.3f ms | NHWC %8.3f ms | x%.2f\n",
                   (long long)n, (long long)c, (long long)h, (long long)w, (long long)o,
                   grad ? "fwd+bwd:" : "forward:", t0 * 1e3, t1 * 1e3, t1 / t0);
        }
    }
    /* the first layer's input transpose alone (a rank-0 second aval: one input) */
    double tt = time_one(reps, nhwc_to_nchw, false, NULL, JX_AVAL(JX_F32, 32, 28, 28, 32), jx_aval_make(JX_F32, JX_NOINTS));
    printf("transpose f32[32,28,28,32] NHWC -> NCHW alone: %.3f ms\n", tt * 1e3);
    bench_memcpy(reps, (size_t)32 * 28 * 28 * 32 * 4);
    return 0;
}
