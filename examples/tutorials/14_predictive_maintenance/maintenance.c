/* 14_predictive_maintenance: which machines will fail? A small MLP reads eight sensor
 * features of a machine and gives the probability of a failure before the next service.
 * Failures are rare (5.5%), so the loss weighs them up (a sigmoid cross-entropy with
 * failures weighted by the square root of the class ratio) and the score is F1, not
 * accuracy, which predicting "no failure" always would win. One training epoch is one
 * call: jx_scan runs the mini-batch steps (jx_tree_value_and_grad, an Adam update from
 * jx/optim.h) inside one jitted function. The sensor data is synthetic, drawn alike in
 * C and Python. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/nn.h>
#include <jx/plot.h>

#include "tut.h"

enum { F = 8, H = 32, MAXLEAVES = 32 };

/* n machines: features normal; failure when a uniform draw falls below
 * sigmoid(-6.5 + 1.5 temp + 1.2 vib^2 - pressure + rpm * current) (the other three
 * features are noise), as data.py draws it. */
static void make_data(int64_t n, uint64_t seed, float *x, float *y) {
    float *u = malloc(sizeof(float) * (size_t)n);
    tut_normal(seed, n * F, x), tut_uniform(seed + 1, n, u);
    for (int64_t i = 0; i < n; i++) {
        const float *f = x + i * F;
        double l = -6.5 + 1.5 * f[0] + 1.2 * (double)f[1] * f[1] - f[2] + (double)f[3] * f[4];
        y[i] = u[i] < 1 / (1 + exp(-l));
    }
    free(u);
}

/* Logits of x f32[b,F]: dense-relu-dense-relu-dense. */
static jx_val mlp(const jx_tree *p, jx_val x) {
    jx_val h = jx_relu(jx_nn_dense(x, jx_tree_get_val(p, "l1.w"), jx_tree_get_val(p, "l1.b")));
    h = jx_relu(jx_nn_dense(h, jx_tree_get_val(p, "l2.w"), jx_tree_get_val(p, "l2.b")));
    return jx_reshape(jx_nn_dense(h, jx_tree_get_val(p, "l3.w"), jx_tree_get_val(p, "l3.b")), JX_INTS(-1));
}

typedef struct setup {
    double pos_weight;      /* failures weigh this much more: sqrt(negatives / positives) */
    const jx_optim *opt;
    const jx_tree *params, *state; /* the structures, to rebuild trees inside the scan */
    int np, ns;             /* their leaf counts */
} setup;

/* in[0]: params, in[1]: {x, y} one batch. out[0]: the weighted mean cross-entropy. */
static void loss(jx_tree **out, jx_tree *const *in, void *user) {
    const setup *s = user;
    jx_val y = jx_tree_get_val(in[1], "y"), l = jx_loss_sigmoid_bce(mlp(in[0], jx_tree_get_val(in[1], "x")), y);
    jx_val w = jx_add_s(jx_mul_s(y, s->pos_weight - 1), 1);
    out[0] = jx_tree_val(jx_mean(jx_mul(w, l), JX_NOINTS));
}

/* The scan body, one step: carry = params' and state's leaves, xs = (x[b,F], y[b]); out:
 * the new leaves, then the batch's loss. */
static void step(jx_val *out, const jx_val *in, void *user) {
    const setup *s = user;
    jx_tree *p = jx_tree_unflatten_vals(s->params, s->np, in), *st = jx_tree_unflatten_vals(s->state, s->ns, in + s->np);
    jx_tree *b = jx_tree_dict(), *np = NULL, *nst = NULL, *val = NULL, *g = NULL;
    jx_tree_set_val(b, "x", in[s->np + s->ns]);
    jx_tree_set_val(b, "y", in[s->np + s->ns + 1]);
    jx_tree *args[2] = {p, b};
    if (jx_tree_value_and_grad(loss, user, 2, args, 0, 1, &val, &g) == JX_OK &&
        jx_optim_update(s->opt, g, st, p, &np, &nst) == JX_OK) {
        jx_tree_flatten_vals(np, out, s->np);
        jx_tree_flatten_vals(nst, out + s->np, s->ns);
        out[s->np + s->ns] = jx_tree_leaf_val(val);
    }
    jx_tree_free(p), jx_tree_free(st), jx_tree_free(b), jx_tree_free(np), jx_tree_free(nst), jx_tree_free(val), jx_tree_free(g);
}

/* One epoch: in: params' and state's leaves, x f32[nb,b,F], y f32[nb,b]. out: the new
 * leaves, the batches' losses f32[nb]. */
static void epoch(jx_val *out, const jx_val *in, void *user) {
    const setup *s = user;
    int nc = s->np + s->ns;
    jx_scan(step, user, jx_dim(in[nc], 0), 0, nc, in, 2, in + nc, 1, out);
}

/* in: params' leaves, x f32[m,F]. out: the failure probabilities f32[m]. */
static void predict(jx_val *out, const jx_val *in, void *user) {
    const setup *s = user;
    jx_tree *p = jx_tree_unflatten_vals(s->params, s->np, in);
    out[0] = jx_sigmoid(mlp(p, in[s->np]));
    jx_tree_free(p);
}

/* He-normal weights from common/tut.h's streams (seed, seed + 1, ...), zero biases. */
static jx_tree *init_params(uint64_t seed) {
    const int64_t shape[3][2] = {{F, H}, {H, H}, {H, 1}};
    const char *names[3] = {"l1", "l2", "l3"};
    jx_tree *p = jx_tree_dict();
    for (int l = 0; l < 3; l++) {
        int64_t n = shape[l][0] * shape[l][1];
        float *w = malloc(sizeof(float) * (size_t)n);
        tut_normal(seed + (uint64_t)l, n, w);
        for (int64_t i = 0; i < n; i++) w[i] *= (float)sqrt(2.0 / (double)shape[l][0]);
        char path[16];
        snprintf(path, sizeof path, "%s.w", names[l]);
        jx_tree_set_array(p, path, jx_array_new(JX_F32, JX_INTS(shape[l][0], shape[l][1]), w));
        snprintf(path, sizeof path, "%s.b", names[l]);
        jx_tree_set_array(p, path, jx_array_zeros(JX_F32, JX_INTS(shape[l][1])));
        free(w);
    }
    return p;
}

static jx_exec *compile(const char *name, jx_body f, setup *s, int nin, const jx_aval *av, int nout, int threads) {
    jx_fn *fn = jx_trace(name, f, s, nin, av, nout);
    jx_jit_opts jo = JX_JIT_DEFAULTS;
    jo.nthreads = threads;
    jx_exec *ex = fn ? jx_jit(fn, JX_DEVICE_CPU, &jo) : NULL;
    jx_fn_release(fn);
    return ex;
}

/* F1, accuracy at threshold 0.5, and the ROC curve (fpr, tpr: m + 1 points) and its area. */
static double scores(int64_t m, const float *prob, const float *y, double *f1, double *acc, double *fpr, double *tpr) {
    int64_t tp = 0, fp = 0, pos = 0, right = 0, *order = malloc(sizeof(int64_t) * (size_t)m);
    for (int64_t i = 0; i < m; i++) {
        int p = prob[i] > 0.5f, t = y[i] > 0.5f;
        tp += p && t, fp += p && !t, pos += t, right += p == t, order[i] = i;
    }
    *f1 = tp ? 2.0 * (double)tp / (double)(tp + fp + pos) : 0, *acc = (double)right / (double)m;
    /* sort by descending probability (insertion into a heap would do; m is small) */
    for (int64_t gap = m / 2; gap > 0; gap /= 2)
        for (int64_t i = gap; i < m; i++)
            for (int64_t j = i; j >= gap && prob[order[j - gap]] < prob[order[j]]; j -= gap) {
                int64_t t = order[j];
                order[j] = order[j - gap], order[j - gap] = t;
            }
    double auc = 0, t = 0, f = 0;
    fpr[0] = tpr[0] = 0;
    for (int64_t i = 0; i < m; i++) {
        if (y[order[i]] > 0.5f) t += 1.0 / (double)pos;
        else f += 1.0 / (double)(m - pos), auc += t / (double)(m - pos);
        fpr[i + 1] = f, tpr[i + 1] = t;
    }
    free(order);
    return auc;
}

int main(int argc, char **argv) {
    const char *prog = "tut_14_predictive_maintenance";
    trainer_opts o = {.epochs = 10, .batch = 250, .lr = 3e-3, .seed = 0};
    int quick, r = tut_parse(prog, "Failure prediction from synthetic sensor features: an MLP with a weighted loss "
                                   "for the rare failures (jx_scan over an epoch's steps, jx_tree_value_and_grad, "
                                   "Adam, jx_jit). --limit: training machines (default 50,000).",
                             argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    int64_t n = o.limit > 0 ? o.limit : 50000, m = 10000;
    if (quick) n = 5000, m = 2000, o.epochs = 5;
    const int64_t nb = n / o.batch, b = o.batch;
    if (nb < 1) {
        fprintf(stderr, "%s: --batch %d is larger than the %lld training machines\n", prog, o.batch, (long long)n);
        return 2;
    }
    float *x = malloc(sizeof(float) * (size_t)(n * F)), *y = malloc(sizeof(float) * (size_t)n);
    float *xt = malloc(sizeof(float) * (size_t)(m * F)), *yt = malloc(sizeof(float) * (size_t)m);
    make_data(n, o.seed + 200, x, y), make_data(m, o.seed + 300, xt, yt);
    double pos = 0;
    for (int64_t i = 0; i < n; i++) pos += y[i];
    printf("%lld training machines, %.0f failures (%.1f%%): failures weigh %.1f times more\n", (long long)n, pos,
           100 * pos / (double)n, sqrt(((double)n - pos) / pos));

    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *params = init_params(o.seed + 10), *state = jx_optim_init(&opt, params);
    setup s = {sqrt(((double)n - pos) / pos), &opt, params, state, jx_tree_num_leaves(params), jx_tree_num_leaves(state)};
    int nc = s.np + s.ns;
    jx_aval av[MAXLEAVES];
    jx_tree_flatten_avals(params, av, s.np), jx_tree_flatten_avals(state, av + s.np, s.ns);
    av[nc] = JX_AVAL(JX_F32, nb, b, F), av[nc + 1] = JX_AVAL(JX_F32, nb, b);
    jx_exec *ep = compile("epoch", epoch, &s, nc + 2, av, nc + 1, o.threads);
    av[s.np] = JX_AVAL(JX_F32, m, F);
    jx_exec *pr = ep ? compile("predict", predict, &s, s.np + 1, av, 1, o.threads) : NULL;
    if (!pr) return tut_fail(prog, "building the epoch");

    jx_array *leaves[MAXLEAVES + 2];
    jx_tree_flatten_arrays(params, leaves, s.np), jx_tree_flatten_arrays(state, leaves + s.np, s.ns);
    for (int i = 0; i < nc; i++) jx_array_retain(leaves[i]);
    leaves[nc] = jx_array_new(JX_F32, JX_INTS(nb, b, F), x), leaves[nc + 1] = jx_array_new(JX_F32, JX_INTS(nb, b), y);
    double *curve = malloc(sizeof(double) * (size_t)(o.epochs * nb));
    int status = 0;
    tut_timer t = tut_timer_start();
    for (int e = 0; e < o.epochs; e++) {
        jx_array *out[MAXLEAVES + 1];
        if (jx_exec_run(ep, nc + 2, leaves, nc + 1, out) != JX_OK) { status = tut_fail(prog, "an epoch"); break; }
        for (int i = 0; i < nc; i++) jx_array_release(leaves[i]), leaves[i] = out[i];
        double sum = 0;
        for (int64_t i = 0; i < nb; i++) sum += curve[e * nb + i] = jx_array_get(out[nc], i);
        jx_array_release(out[nc]);
        printf("epoch %d: mean weighted loss %.4f\n", e + 1, sum / (double)nb);
    }
    tut_timer_stop(&t, "training");

    double f1 = 0, acc = 0, auc = 0;
    double *fpr = malloc(sizeof(double) * (size_t)(m + 1)), *tpr = malloc(sizeof(double) * (size_t)(m + 1));
    jx_array *prob = NULL;
    if (!status) {
        jx_array *old = leaves[s.np];
        leaves[s.np] = jx_array_new(JX_F32, JX_INTS(m, F), xt);
        if (jx_exec_run(pr, s.np + 1, leaves, 1, &prob) != JX_OK) status = tut_fail(prog, "predicting");
        jx_array_release(leaves[s.np]), leaves[s.np] = old;
    }
    if (!status) {
        auc = scores(m, jx_array_data(prob), yt, &f1, &acc, fpr, tpr);
        double never = 0;
        for (int64_t i = 0; i < m; i++) never += (yt[i] < 0.5f) / (double)m;
        printf("test: F1 %.4f, accuracy %.4f (\"never fails\" scores %.4f), ROC area %.4f\n", f1, acc, never, auc);
        tut_metric("f1", f1);
        char path[4096];
        double diag[2] = {0, 1};
        jx_plot_series roc[2] = {{"MLP", fpr, tpr, m + 1}, {"chance", diag, diag, 2}};
        jx_plot_series ls = {"weighted loss per batch", NULL, curve, o.epochs * nb};
        if (jx_plot_available() &&
            jx_plot_lines(tut_path(path, sizeof path, &o, "roc.png"), "Failure prediction: ROC curve (test)",
                          "false positive rate", "true positive rate", 2, roc, 600, 560) == JX_OK &&
            jx_plot_lines(tut_path(path + 2048, 2048, &o, "loss.png"), "Failure prediction: training loss", "step",
                          "weighted cross-entropy", 1, &ls, 0, 0) == JX_OK)
            printf("wrote %s and %s\n", path, path + 2048);
    }
    for (int i = 0; i < nc + 2; i++) jx_array_release(leaves[i]);
    jx_array_release(prob), jx_exec_release(ep), jx_exec_release(pr);
    jx_tree_free(params), jx_tree_free(state);
    free(x), free(y), free(xt), free(yt), free(curve), free(fpr), free(tpr);
    if (status) return status;
    /* always "fails" scores F1 = 2p/(1+p), 0.10 at p = 5.5%; "never fails" 0 */
    return tut_quick_check(quick, "test F1", f1, 0.3, 1);
}
