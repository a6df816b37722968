/* 13_collaborative_filtering: matrix factorisation of a user x item rating matrix. Each
 * user and each item gets a learned embedding (a row of a table, picked with
 * jx_nn_embedding) and a bias; a rating is predicted as mean + biases + the dot product
 * of the two embeddings. The parameters are a tree, jx_tree_value_and_grad gives the
 * gradients of the regularised squared error, an Adam step from jx/optim.h updates them,
 * and the whole step -- the mini-batch cut from the ratings with a dynamic slice
 * included -- is one jitted function. The ratings are synthetic (a hidden low-rank matrix
 * plus noise, drawn alike in C and Python); the score is the RMSE on held-out ratings
 * against predicting the global mean. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/nn.h>
#include <jx/plot.h>

#include "tut.h"

enum { RANK = 8, DIM = 16 };

typedef struct sizes {
    int64_t users, items, ntrain, ntest;
} sizes;

typedef struct ratings {
    int32_t *u, *i;
    float *r;
} ratings;

/* The hidden truth: user and item factors, normal; a rating of (u, i) is
 * 3 + p_u . q_i / sqrt(RANK) + 0.3 noise, as data.py draws it. Train and test pairs are
 * uniform over users and items, from separate streams. */
static ratings draw(const sizes *s, int64_t n, uint64_t seed, const float *p, const float *q) {
    ratings d = {malloc(sizeof(int32_t) * (size_t)n), malloc(sizeof(int32_t) * (size_t)n), malloc(sizeof(float) * (size_t)n)};
    float *uu = malloc(sizeof(float) * (size_t)n), *ii = malloc(sizeof(float) * (size_t)n), *e = malloc(sizeof(float) * (size_t)n);
    tut_uniform(seed, n, uu), tut_uniform(seed + 1, n, ii), tut_normal(seed + 2, n, e);
    for (int64_t k = 0; k < n; k++) {
        d.u[k] = (int32_t)((double)uu[k] * (double)s->users), d.i[k] = (int32_t)((double)ii[k] * (double)s->items);
        double dot = 0;
        for (int j = 0; j < RANK; j++) dot += (double)p[d.u[k] * RANK + j] * q[d.i[k] * RANK + j];
        d.r[k] = (float)(3 + dot / sqrt(RANK) + 0.3 * e[k]);
    }
    free(uu), free(ii), free(e);
    return d;
}

static void ratings_free(ratings *d) { free(d->u), free(d->i), free(d->r); }

typedef struct model {
    double mean, lambda; /* the training ratings' mean; the L2 weight on the embeddings */
    int64_t batch;
    const jx_optim *opt;
} model;

/* Predicted ratings of the pairs (u, i): in: params, u i32[b], i i32[b]. */
static jx_val predict(const model *m, const jx_tree *params, jx_val u, jx_val i, jx_val *pu, jx_val *qi) {
    *pu = jx_nn_embedding(jx_tree_get_val(params, "user.emb"), u);
    *qi = jx_nn_embedding(jx_tree_get_val(params, "item.emb"), i);
    jx_val bu = jx_nn_embedding(jx_tree_get_val(params, "user.bias"), u);
    jx_val bi = jx_nn_embedding(jx_tree_get_val(params, "item.bias"), i);
    jx_val dot = jx_sum(jx_mul(*pu, *qi), JX_INTS(1));
    return jx_add_s(jx_add(dot, jx_reshape(jx_add(bu, bi), JX_INTS(-1))), m->mean);
}

/* in[0]: params; in[1]: {u, i, r} of one batch. out[0]: the squared error plus
 * lambda (|p_u|^2 + |q_i|^2), both averaged over the batch; out[1]: {sse}. */
static void loss(jx_tree **out, jx_tree *const *in, void *user) {
    const model *m = user;
    jx_val pu, qi, r = jx_tree_get_val(in[1], "r");
    jx_val err = jx_sub(predict(m, in[0], jx_tree_get_val(in[1], "u"), jx_tree_get_val(in[1], "i"), &pu, &qi), r);
    jx_val sse = jx_sum(jx_square(err), JX_NOINTS), reg = jx_add(jx_sum(jx_square(pu), JX_NOINTS), jx_sum(jx_square(qi), JX_NOINTS));
    out[0] = jx_tree_val(jx_div_s(jx_add(sse, jx_mul_s(reg, m->lambda)), (double)jx_dim(r, 0)));
    out[1] = jx_tree_dict();
    jx_tree_set_val(out[1], "sse", sse);
}

/* in: params, opt state, {u, i, r} (the whole training set), {start i32[]}. out:
 * params, opt state, {loss, sse}. The batch is ratings [start, start + batch). */
static void train_step(jx_tree **out, jx_tree *const *in, void *user) {
    const model *m = user;
    jx_val start = jx_tree_get_val(in[3], "start");
    jx_tree *batch = jx_tree_dict();
    const char *keys[3] = {"u", "i", "r"};
    for (int k = 0; k < 3; k++) jx_tree_set_val(batch, keys[k], jx_dynamic_slice(jx_tree_get_val(in[2], keys[k]), &start, JX_INTS(m->batch)));
    jx_tree *args[2] = {in[0], batch}, *vals[2], *grads;
    if (jx_tree_value_and_grad(loss, user, 2, args, 0, 2, vals, &grads) == JX_OK) {
        jx_optim_update(m->opt, grads, in[1], in[0], &out[0], &out[1]);
        out[2] = vals[1];
        jx_tree_set(out[2], "loss", vals[0]);
        jx_tree_free(grads);
    }
    jx_tree_free(batch);
}

/* in: params, {u, i, r} of the test ratings. out: {sse}. */
static void test_sse(jx_tree **out, jx_tree *const *in, void *user) {
    jx_val pu, qi, err = jx_sub(predict(user, in[0], jx_tree_get_val(in[1], "u"), jx_tree_get_val(in[1], "i"), &pu, &qi),
                                jx_tree_get_val(in[1], "r"));
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "sse", jx_sum(jx_square(err), JX_NOINTS));
}

static jx_tree *ratings_tree(const ratings *d, int64_t n) {
    jx_tree *t = jx_tree_dict();
    jx_tree_set_array(t, "u", jx_array_new(JX_I32, JX_INTS(n), d->u));
    jx_tree_set_array(t, "i", jx_array_new(JX_I32, JX_INTS(n), d->i));
    jx_tree_set_array(t, "r", jx_array_new(JX_F32, JX_INTS(n), d->r));
    return t;
}

/* Embeddings 0.1 * normal (common/tut.h's streams), biases zero. */
static jx_tree *init_params(const sizes *s, uint64_t seed) {
    float *pu = malloc(sizeof(float) * (size_t)(s->users * DIM)), *qi = malloc(sizeof(float) * (size_t)(s->items * DIM));
    tut_normal(seed, s->users * DIM, pu), tut_normal(seed + 1, s->items * DIM, qi);
    for (int64_t k = 0; k < s->users * DIM; k++) pu[k] *= 0.1f;
    for (int64_t k = 0; k < s->items * DIM; k++) qi[k] *= 0.1f;
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "user.emb", jx_array_new(JX_F32, JX_INTS(s->users, DIM), pu));
    jx_tree_set_array(p, "user.bias", jx_array_zeros(JX_F32, JX_INTS(s->users, 1)));
    jx_tree_set_array(p, "item.emb", jx_array_new(JX_F32, JX_INTS(s->items, DIM), qi));
    jx_tree_set_array(p, "item.bias", jx_array_zeros(JX_F32, JX_INTS(s->items, 1)));
    free(pu), free(qi);
    return p;
}

static double leaf(const jx_tree *t, const char *path) { return jx_array_get(jx_tree_get_array(t, path), 0); }

int main(int argc, char **argv) {
    const char *prog = "tut_13_collaborative_filtering";
    trainer_opts o = {.epochs = 10, .batch = 1000, .lr = 0.01, .seed = 0};
    int quick, r = tut_parse(prog, "Matrix factorisation of synthetic ratings (embeddings, jx_tree_value_and_grad, "
                                   "Adam from jx/optim.h, jx_jit). --epochs: passes over the 100,000 training "
                                   "ratings; --batch: ratings per step.", argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    sizes s = {2000, 1000, 100000, 10000};
    if (quick) s = (sizes){300, 200, 20000, 2000}, o.epochs = 5;
    const int64_t nb = s.ntrain / o.batch;
    if (nb < 1) {
        fprintf(stderr, "%s: --batch %d is larger than the %lld training ratings\n", prog, o.batch, (long long)s.ntrain);
        return 2;
    }
    float *p = malloc(sizeof(float) * (size_t)(s.users * RANK)), *q = malloc(sizeof(float) * (size_t)(s.items * RANK));
    tut_normal(o.seed + 100, s.users * RANK, p), tut_normal(o.seed + 101, s.items * RANK, q);
    ratings tr = draw(&s, s.ntrain, o.seed + 200, p, q), te = draw(&s, s.ntest, o.seed + 300, p, q);
    free(p), free(q);
    double mean = 0, base = 0;
    for (int64_t k = 0; k < s.ntrain; k++) mean += tr.r[k] / (double)s.ntrain;
    for (int64_t k = 0; k < s.ntest; k++) base += (te.r[k] - mean) * (te.r[k] - mean) / (double)s.ntest;
    base = sqrt(base);

    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    model m = {mean, 0.02, o.batch, &opt};
    jx_tree *params = init_params(&s, o.seed + 10), *state = jx_optim_init(&opt, params);
    jx_tree *train = ratings_tree(&tr, s.ntrain), *test = ratings_tree(&te, s.ntest), *st = jx_tree_dict();
    jx_tree_set_array(st, "start", jx_array_scalar(JX_I32, 0));
    jx_tree *sin[4] = {params, state, train, st}, *tin[2] = {params, test};
    jx_tree_fn *step = jx_tree_trace("train_step", train_step, &m, 4, sin, 3);
    jx_tree_fn *eval = jx_tree_trace("test_sse", test_sse, &m, 2, tin, 1);
    trainer_opts cpu = o; /* compiled for the CPU whatever --device says, as it always was */
    cpu.device = JX_DEVICE_CPU;
    jx_exec *sx = tut_jit(step, &cpu, 2), *ex = tut_jit(eval, &cpu, 0); /* params, state donated */
    if (!sx || !ex) return tut_fail(prog, "building the step");

    double *rmse = malloc(sizeof(double) * (size_t)o.epochs), *train_rmse = malloc(sizeof(double) * (size_t)o.epochs);
    int status = 0;
    tut_timer t = tut_timer_start();
    for (int e = 0; e < o.epochs && !status; e++) {
        double sse = 0;
        for (int64_t b = 0; b < nb && !status; b++) {
            jx_tree_free(st);
            st = jx_tree_dict();
            jx_tree_set_array(st, "start", jx_array_scalar(JX_I32, (double)(b * o.batch)));
            jx_tree *in[4] = {params, state, train, st}, *out[3];
            if (jx_tree_fn_run(step, sx, 4, in, 3, out) != JX_OK) { status = tut_fail(prog, "a step"); break; }
            jx_tree_free(params), jx_tree_free(state);
            params = out[0], state = out[1];
            sse += leaf(out[2], "sse");
            jx_tree_free(out[2]);
        }
        jx_tree *in[2] = {params, test}, *out;
        if (!status && jx_tree_fn_run(eval, ex, 2, in, 1, &out) != JX_OK) status = tut_fail(prog, "the test error");
        if (status) break;
        train_rmse[e] = sqrt(sse / (double)(nb * o.batch)), rmse[e] = sqrt(leaf(out, "sse") / (double)s.ntest);
        jx_tree_free(out);
        printf("epoch %d: training RMSE %.4f, test RMSE %.4f\n", e + 1, train_rmse[e], rmse[e]);
    }
    tut_timer_stop(&t, "training");
    if (!status) {
        printf("test RMSE %.4f against %.4f predicting the global mean (the noise alone gives 0.3)\n",
               rmse[o.epochs - 1], base);
        tut_metric("test_rmse", rmse[o.epochs - 1]);
        char path[4096];
        double *flat = malloc(sizeof(double) * (size_t)o.epochs), *x = malloc(sizeof(double) * (size_t)o.epochs);
        for (int e = 0; e < o.epochs; e++) flat[e] = base, x[e] = e + 1;
        jx_plot_series ps[3] = {{"training RMSE", x, train_rmse, o.epochs}, {"test RMSE", x, rmse, o.epochs},
                                {"global mean (baseline)", x, flat, o.epochs}};
        if (jx_plot_available() && jx_plot_lines(tut_path(path, sizeof path, &o, "rmse.png"),
                                                 "Matrix factorisation: rating error", "epoch", "RMSE", 3, ps, 0, 0) == JX_OK)
            printf("wrote %s\n", path);
        free(flat), free(x);
    }
    double final = status ? INFINITY : rmse[o.epochs - 1];
    jx_tree_free(params), jx_tree_free(state), jx_tree_free(train), jx_tree_free(test), jx_tree_free(st);
    jx_exec_release(sx), jx_exec_release(ex), jx_tree_fn_free(step), jx_tree_fn_free(eval);
    ratings_free(&tr), ratings_free(&te), free(rmse), free(train_rmse);
    if (status) return status;
    /* the smoke test: at least 10% below the global-mean baseline */
    return tut_quick_check(quick, "test RMSE / baseline", final / base, 0.9, 0);
}
