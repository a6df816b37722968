/* 28_actor_critic: advantage actor-critic (A2C, the synchronous form of A3C; Mnih et al.
 * 2016) on CartPole with parallel workers. Each update, N environments (default 8) advance
 * 5 steps under the current policy; n-step returns bootstrapped from the critic give the
 * advantages; the loss is the policy gradient with the advantage, half the critic's
 * squared error and an entropy bonus, the gradient clipped to global norm 0.5. The workers are jx's CPU devices: the update is a
 * jx_pmap over --workers devices (examples/common/data_parallel.h), each device computes
 * the gradient of its environments' rollouts, jx_pmean averages them, and every device
 * applies the same Adam step — A3C's parallel actors, made deterministic. Random draws
 * come from common/tut.h's streams, as in numpy_ref.py and jax_ref.py. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/data_parallel.h"
#include "ac.h"       /* common/ */
#include "cartpole.h" /* common/ */
#include "tut.h"

enum { ROLL = 5, EVAL_EPISODES = 10 };
#define GAMMA 0.99
#define VALUE_COEF 0.5
#define ENTROPY_COEF 0.01

/* in: params, batch {s (n,4), a one-hot (n,2), ret (n)}: the A2C loss. */
static void loss_fn(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val logp, value, a = jx_tree_get_val(in[1], "a"), ret = jx_tree_get_val(in[1], "ret");
    ac_net(in[0], jx_tree_get_val(in[1], "s"), &logp, &value);
    jx_val adv = jx_stop_gradient(jx_sub(ret, value));
    jx_val pg = jx_neg(jx_mean(jx_mul(jx_sum(jx_mul(logp, a), JX_INTS(1)), adv), JX_NOINTS));
    jx_val vl = jx_mean(jx_square(jx_sub(ret, value)), JX_NOINTS);
    jx_val ent = jx_neg(jx_mean(jx_sum(jx_mul(jx_exp(logp), logp), JX_INTS(1)), JX_NOINTS));
    out[0] = jx_tree_val(jx_sub(jx_add(pg, jx_mul(jx_scalar(JX_F32, VALUE_COEF), vl)),
                                jx_mul(jx_scalar(JX_F32, ENTROPY_COEF), ent)));
}

int main(int argc, char **argv) {
    const char *prog = "tut_28_actor_critic";
    trainer_opts o = {.epochs = 60, .batch = 8, .lr = 2e-3, .seed = 0};
    long workers = 2;
    trainer_extra ex[] = {{"--workers", "N", "parallel workers: CPU devices of the pmap (default 2; divides --batch)",
                           TRAINER_LONG, 1, 64, &workers}};
    int quick, r = tut_parse(prog, "Advantage actor-critic on CartPole with parallel workers (jx_pmap over CPU "
                                   "devices, pmean of the gradients). --batch: environments; --epochs: thousands "
                                   "of environment steps.", argc, argv, &o, ex, 1, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (o.batch % workers) {
        fprintf(stderr, "%s: --batch %d environments do not split over --workers %ld\n", prog, o.batch, workers);
        return 2;
    }
    if (quick) o.epochs = 15;
    if (workers > 1 && jx_set_cpu_device_count((int)workers) != JX_OK) return tut_fail(prog, "--workers");
    const int64_t N = o.batch, updates = (int64_t)o.epochs * 1000 / (N * ROLL);
    float *u_act = malloc(sizeof(float) * (size_t)(updates * ROLL * N));
    float *u_start = malloc(sizeof(float) * (size_t)(4 * (updates * ROLL * N + N))), eval_start[4 * EVAL_EPISODES];
    tut_uniform(o.seed + 1, updates * ROLL * N, u_act), tut_uniform(o.seed + 4, 4 * (updates * ROLL * N + N), u_start);
    tut_uniform(o.seed + 5, 4 * EVAL_EPISODES, eval_start);

    jx_tree *params = ac_init(o.seed);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    opt.clip_norm = 0.5; /* clipped by global norm, as A2C implementations do */
    jx_tree *state = jx_optim_init(&opt, params);

    /* the rollout: N environments x ROLL steps, env-major so that each worker's shard
     * holds whole environments */
    float *s = malloc(sizeof(float) * (size_t)N * 4), *lp = malloc(sizeof(float) * (size_t)N * 2);
    float *v = malloc(sizeof(float) * (size_t)N), *bs = malloc(sizeof(float) * (size_t)(N * ROLL * 4));
    float *ba = malloc(sizeof(float) * (size_t)(N * ROLL * 2)), *bret = malloc(sizeof(float) * (size_t)(N * ROLL));
    float *rew = malloc(sizeof(float) * (size_t)(N * ROLL)), *nd = malloc(sizeof(float) * (size_t)(N * ROLL));
    cartpole *env = malloc(sizeof *env * (size_t)N);
    double *returns = malloc(sizeof(double) * (size_t)(updates * ROLL * N + 1)), *ep = calloc((size_t)N, sizeof(double));
    int64_t nep = 0, starts = 0;
    for (int64_t e = 0; e < N; e++) cartpole_reset(&env[e], u_start + 4 * starts++);

    jx_tree *b0 = jx_tree_dict();
    jx_tree_set_array(b0, "s", jx_array_zeros(JX_F32, JX_INTS(N * ROLL, 4)));
    jx_tree_set_array(b0, "a", jx_array_zeros(JX_F32, JX_INTS(N * ROLL, 2)));
    jx_tree_set_array(b0, "ret", jx_array_zeros(JX_F32, JX_INTS(N * ROLL)));
    jx_tree *tin[3] = {params, state, b0};
    tut_step body = {loss_fn, &opt, 1, dp_mean_trees, NULL}; /* the gradient averaged over the workers */
    jx_tree_fn *step = workers > 1 ? dp_trace_step("a2c_update", tut_step_body, &body, 3, tin, 3, (int)workers)
                                   : jx_tree_trace("a2c_update", tut_step_body, &body, 3, tin, 3);
    jx_tree_free(b0);
    jx_exec *sx = tut_jit(step, &o, 0);
    ac_policy pol = {0}, pol1 = {0};
    if (!sx || ac_policy_make(&pol, params, N, &o) || ac_policy_make(&pol1, params, 1, &o))
        return tut_fail(prog, "building the update");

    int status = 0;
    tut_timer t = tut_timer_start();
    for (int64_t u = 0; u < updates && !status; u++) {
        for (int k = 0; k < ROLL && !status; k++) {
            for (int64_t e = 0; e < N; e++)
                for (int d = 0; d < 4; d++) s[e * 4 + d] = (float)env[e].s[d];
            if (ac_policy_run(&pol, params, s, lp, v)) { status = tut_fail(prog, "the policy"); break; }
            for (int64_t e = 0; e < N; e++) {
                int64_t row = e * ROLL + k, term;
                int a = u_act[(u * ROLL + k) * N + e] < expf(lp[e * 2 + 1]), t2;
                memcpy(bs + row * 4, s + e * 4, sizeof(float) * 4);
                ba[row * 2] = a == 0, ba[row * 2 + 1] = a == 1;
                int done = cartpole_step(&env[e], a, &t2);
                term = t2;
                rew[row] = 1, nd[row] = done ? 0.0f : 1.0f, ep[e] += 1;
                (void)term;
                if (done) {
                    returns[nep++] = ep[e], ep[e] = 0;
                    cartpole_reset(&env[e], u_start + 4 * starts++);
                }
            }
        }
        if (status) break;
        /* n-step returns, bootstrapped from the critic's value of the states reached */
        for (int64_t e = 0; e < N; e++)
            for (int d = 0; d < 4; d++) s[e * 4 + d] = (float)env[e].s[d];
        if (ac_policy_run(&pol, params, s, lp, v)) { status = tut_fail(prog, "the critic"); break; }
        for (int64_t e = 0; e < N; e++) {
            float ret = v[e];
            for (int k = ROLL - 1; k >= 0; k--) {
                int64_t row = e * ROLL + k;
                ret = rew[row] + (float)GAMMA * nd[row] * ret;
                bret[row] = ret;
            }
        }
        jx_tree *b = jx_tree_dict(), *out[3];
        jx_tree_set_array(b, "s", jx_array_new(JX_F32, JX_INTS(N * ROLL, 4), bs));
        jx_tree_set_array(b, "a", jx_array_new(JX_F32, JX_INTS(N * ROLL, 2), ba));
        jx_tree_set_array(b, "ret", jx_array_new(JX_F32, JX_INTS(N * ROLL), bret));
        jx_tree *in[3] = {params, state, b};
        if (jx_tree_fn_run(step, sx, 3, in, 3, out) != JX_OK) status = tut_fail(prog, "an update");
        jx_tree_free(b);
        if (status) break;
        jx_tree_free(params), jx_tree_free(state), jx_tree_free(out[2]);
        params = out[0], state = out[1];
        if ((u + 1) * N * ROLL % 5000 == 0) {
            cartpole_progress((u + 1) * N * ROLL, returns, nep);
        }
    }
    tut_timer_stop(&t, "training");

    double mean = status ? 0 : ac_greedy_return(&pol1, params, eval_start, EVAL_EPISODES);
    if (mean < 0) status = tut_fail(prog, "the greedy policy");
    if (!status) {
        cartpole_report(&o, "A2C on CartPole: return per episode", mean, EVAL_EPISODES, returns, nep);
    }
    jx_exec_release(sx), jx_tree_fn_free(step), ac_policy_free(&pol), ac_policy_free(&pol1);
    jx_tree_free(params), jx_tree_free(state);
    free(u_act), free(u_start), free(s), free(lp), free(v), free(bs), free(ba), free(bret), free(rew), free(nd);
    free(env), free(returns), free(ep);
    if (status) return status;
    return tut_quick_check(quick, "greedy mean return", mean, 60, 1); /* random play: about 22 */
}
