/* 04_dqn_cartpole: deep Q-learning (Mnih et al. 2015) balancing a pole on a cart. A
 * 4-64-64-2 MLP estimates the return of each action; it learns from minibatches drawn from
 * a replay buffer against a target network synchronised every 500 steps, with the Huber
 * loss and Adam. Shows an RL loop in C around two jitted functions over parameter trees:
 * the training step (common/tut.h's tut_step_body: loss, gradients through
 * jx_tree_value_and_grad with jx_stop_gradient on the TD target, the update) and the greedy policy's Q values. Every random draw comes
 * from common/tut.h's streams, consumed in the same order by numpy_ref.py and jax_ref.py.
 * See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/layers.h>
#include <jx/losses.h>
#include <jx/optim.h>
#include <jx/plot.h>
#include <jx/tree.h>

#include "cartpole.h" /* common/ */
#include "tut.h"

enum { HID = 64, BUFFER = 10000, WARMUP = 1000, SYNC = 500, EVAL_EPISODES = 10 };
#define GAMMA 0.99

static jx_val qnet(const jx_tree *p, jx_val s) {
    jx_val h = jx_relu(jx_nn_dense(s, jx_tree_get_val(p, "l1.w"), jx_tree_get_val(p, "l1.b")));
    h = jx_relu(jx_nn_dense(h, jx_tree_get_val(p, "l2.w"), jx_tree_get_val(p, "l2.b")));
    return jx_nn_dense(h, jx_tree_get_val(p, "l3.w"), jx_tree_get_val(p, "l3.b"));
}

/* in: params, target params, batch {s, a (one-hot), r, s2, notdone}: the mean Huber TD error. */
static void loss_fn(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    const jx_tree *b = in[2];
    jx_val q = jx_sum(jx_mul(qnet(in[0], jx_tree_get_val(b, "s")), jx_tree_get_val(b, "a")), JX_INTS(1));
    jx_val next = jx_reduce_max(qnet(in[1], jx_tree_get_val(b, "s2")), JX_INTS(1));
    jx_val target = jx_add(jx_tree_get_val(b, "r"),
                           jx_mul(jx_scalar(JX_F32, GAMMA), jx_mul(jx_tree_get_val(b, "notdone"), next)));
    out[0] = jx_tree_val(jx_mean(jx_loss_huber(q, jx_stop_gradient(target), 1.0), JX_NOINTS));
}

static void q_fn(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_val(qnet(in[0], jx_tree_get_val(in[1], "s")));
}

static jx_tree *one(const char *name, jx_array *a) {
    jx_tree *t = jx_tree_dict();
    jx_tree_set_array(t, name, a);
    return t;
}

typedef struct agent {
    jx_tree_fn *q;
    jx_exec *qx;
    jx_tree *params;
} agent;

/* The greedy action at state s (ties go to 0); -1 on an error. */
static int greedy(const agent *g, const double *s) {
    float sf[4] = {(float)s[0], (float)s[1], (float)s[2], (float)s[3]};
    jx_tree *b = one("s", jx_array_new(JX_F32, JX_INTS(1, 4), sf)), *in[2] = {g->params, b}, *out = NULL;
    int a = -1;
    if (jx_tree_fn_run(g->q, g->qx, 2, in, 1, &out) == JX_OK) {
        const float *q = jx_array_data(jx_tree_leaf_array(jx_tree_leaf(out, 0)));
        a = q[1] > q[0];
    }
    jx_tree_free(b), jx_tree_free(out);
    return a;
}

int main(int argc, char **argv) {
    const char *prog = "tut_04_dqn_cartpole";
    trainer_opts o = {.epochs = 20, .batch = 64, .lr = 1e-3, .seed = 0};
    int quick, r = tut_parse(prog, "Deep Q-learning on CartPole (replay, target network, Huber, Adam; jitted tree "
                                   "functions). --epochs: thousands of environment steps.", argc, argv, &o, NULL, 0,
                             &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 5;
    const int64_t total = (int64_t)o.epochs * 1000, B = o.batch, decay = total / 2;
    float *u_explore = malloc(sizeof(float) * (size_t)total), *u_action = malloc(sizeof(float) * (size_t)total);
    float *u_sample = malloc(sizeof(float) * (size_t)(total * B)), *u_start = malloc(sizeof(float) * (size_t)(4 * total));
    float eval_start[4 * EVAL_EPISODES];
    tut_uniform(o.seed + 1, total, u_explore), tut_uniform(o.seed + 2, total, u_action);
    tut_uniform(o.seed + 3, total * B, u_sample), tut_uniform(o.seed + 4, 4 * total, u_start);
    tut_uniform(o.seed + 5, 4 * EVAL_EPISODES, eval_start);

    agent g = {0};
    g.params = jx_tree_dict();
    int64_t dims[4] = {4, HID, HID, 2};
    for (int l = 0; l < 3; l++) {
        char w[8], b[8];
        snprintf(w, sizeof w, "l%d.w", l + 1), snprintf(b, sizeof b, "l%d.b", l + 1);
        jx_tree_set_array(g.params, w, tut_weights(o.seed + 10 + (uint64_t)l, dims[l], dims[l + 1], sqrt(2.0 / (double)dims[l])));
        jx_tree_set_array(g.params, b, jx_array_zeros(JX_F32, JX_INTS(dims[l + 1])));
    }
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, g.params), *target = jx_tree_copy(g.params);

    /* the replay buffer, and one batch's host arrays */
    float *rs = malloc(sizeof(float) * BUFFER * 4), *rs2 = malloc(sizeof(float) * BUFFER * 4);
    float *rnd = malloc(sizeof(float) * BUFFER);
    int *ra = malloc(sizeof(int) * BUFFER);
    float *bs = malloc(sizeof(float) * (size_t)B * 4), *bs2 = malloc(sizeof(float) * (size_t)B * 4);
    float *ba = malloc(sizeof(float) * (size_t)B * 2), *br = malloc(sizeof(float) * (size_t)B);
    float *bnd = malloc(sizeof(float) * (size_t)B);
    for (int64_t j = 0; j < B; j++) br[j] = 1; /* every step's reward */

    jx_tree *batch = jx_tree_dict();
    jx_tree_set_array(batch, "s", jx_array_zeros(JX_F32, JX_INTS(B, 4)));
    jx_tree_set_array(batch, "a", jx_array_zeros(JX_F32, JX_INTS(B, 2)));
    jx_tree_set_array(batch, "r", jx_array_zeros(JX_F32, JX_INTS(B)));
    jx_tree_set_array(batch, "s2", jx_array_zeros(JX_F32, JX_INTS(B, 4)));
    jx_tree_set_array(batch, "notdone", jx_array_zeros(JX_F32, JX_INTS(B)));
    jx_tree *tin[4] = {g.params, state, target, batch}, *qb = one("s", jx_array_zeros(JX_F32, JX_INTS(1, 4)));
    jx_tree *qin[2] = {g.params, qb};
    tut_step body = {loss_fn, &opt, 2, NULL, NULL}; /* loss(params, target, batch) */
    jx_tree_fn *step = jx_tree_trace("dqn_step", tut_step_body, &body, 4, tin, 3);
    g.q = jx_tree_trace("q", q_fn, NULL, 2, qin, 1);
    jx_tree_free(batch), jx_tree_free(qb);
    jx_exec *sx = tut_jit(step, &o, 0);
    g.qx = tut_jit(g.q, &o, 0);
    if (!sx || !g.qx) return tut_fail(prog, "building the step");

    double *returns = malloc(sizeof(double) * (size_t)total);
    int64_t nep = 0, size = 0, starts = 0;
    double ep_return = 0;
    cartpole env;
    cartpole_reset(&env, u_start + 4 * starts++);
    int status = 0;
    tut_timer t = tut_timer_start();
    for (int64_t i = 0; i < total && !status; i++) {
        double eps = 1 - 0.95 * (double)i / (double)decay;
        if (eps < 0.05) eps = 0.05;
        int a = u_explore[i] < eps ? u_action[i] >= 0.5f : greedy(&g, env.s), term;
        if (a < 0) { status = tut_fail(prog, "the policy"); break; }
        int64_t k = i % BUFFER;
        for (int d = 0; d < 4; d++) rs[k * 4 + d] = (float)env.s[d];
        int done = cartpole_step(&env, a, &term);
        for (int d = 0; d < 4; d++) rs2[k * 4 + d] = (float)env.s[d];
        ra[k] = a, rnd[k] = term ? 0.0f : 1.0f, size += size < BUFFER;
        ep_return += 1;
        if (done) {
            returns[nep++] = ep_return, ep_return = 0;
            cartpole_reset(&env, u_start + 4 * starts++);
        }
        if (i >= WARMUP) { /* one step of learning on B transitions drawn from the buffer */
            for (int64_t j = 0; j < B; j++) {
                int64_t m = (int64_t)(u_sample[i * B + j] * (float)size);
                memcpy(bs + j * 4, rs + m * 4, sizeof(float) * 4), memcpy(bs2 + j * 4, rs2 + m * 4, sizeof(float) * 4);
                ba[j * 2] = ra[m] == 0, ba[j * 2 + 1] = ra[m] == 1, bnd[j] = rnd[m];
            }
            batch = jx_tree_dict();
            jx_tree_set_array(batch, "s", jx_array_new(JX_F32, JX_INTS(B, 4), bs));
            jx_tree_set_array(batch, "a", jx_array_new(JX_F32, JX_INTS(B, 2), ba));
            jx_tree_set_array(batch, "r", jx_array_new(JX_F32, JX_INTS(B), br));
            jx_tree_set_array(batch, "s2", jx_array_new(JX_F32, JX_INTS(B, 4), bs2));
            jx_tree_set_array(batch, "notdone", jx_array_new(JX_F32, JX_INTS(B), bnd));
            jx_tree *in[4] = {g.params, state, target, batch}, *out[3];
            if (jx_tree_fn_run(step, sx, 4, in, 3, out) != JX_OK) status = tut_fail(prog, "a training step");
            jx_tree_free(batch);
            if (status) break;
            jx_tree_free(g.params), jx_tree_free(state), jx_tree_free(out[2]);
            g.params = out[0], state = out[1];
        }
        if (i % SYNC == 0) jx_tree_free(target), target = jx_tree_copy(g.params);
        if ((i + 1) % 1000 == 0) {
            cartpole_progress(i + 1, returns, nep);
        }
    }
    tut_timer_stop(&t, "training");

    double mean = 0;
    for (int e = 0; e < EVAL_EPISODES && !status; e++) { /* the greedy policy from fixed starts */
        cartpole c;
        int term, a, done = 0;
        cartpole_reset(&c, eval_start + 4 * e);
        while (!done && (a = greedy(&g, c.s)) >= 0) done = cartpole_step(&c, a, &term);
        if (!done) status = tut_fail(prog, "the greedy policy");
        mean += c.steps / (double)EVAL_EPISODES;
    }
    if (!status) {
        cartpole_report(&o, "DQN on CartPole: return per episode", mean, EVAL_EPISODES, returns, nep);
    }
    jx_exec_release(sx), jx_exec_release(g.qx), jx_tree_fn_free(step), jx_tree_fn_free(g.q);
    jx_tree_free(g.params), jx_tree_free(state), jx_tree_free(target);
    free(u_explore), free(u_action), free(u_sample), free(u_start), free(rs), free(rs2), free(rnd), free(ra);
    free(bs), free(bs2), free(ba), free(br), free(bnd), free(returns);
    if (status) return status;
    return tut_quick_check(quick, "greedy mean return", mean, 60, 1); /* random play: about 22 */
}
