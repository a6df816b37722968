/* 23_ppo: proximal policy optimisation (Schulman et al. 2017) on CartPole. Each iteration
 * 8 environments run 128 steps under the current policy; generalised advantage estimation
 * (GAE, lambda 0.95) turns rewards and the critic's values into advantages; then 4 epochs
 * over the 1,024 transitions in shuffled minibatches of 256 minimise the clipped surrogate
 * min(r A, clip(r, 0.8, 1.2) A) with r = pi(a|s) / pi_old(a|s), plus the critic's error and
 * an entropy bonus. Shows several jitted functions driven by a C loop: the policy (for all
 * environments at once) and the minibatch update (jx_exp of the log-ratio, jx_clamp,
 * jx_min, per-minibatch advantage normalisation, clipped Adam), all over one parameter
 * tree. Random draws come from common/tut.h's streams, as in the references. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ac.h"       /* common/ */
#include "cartpole.h" /* common/ */
#include "tut.h"

enum { ENVS = 8, ROLL = 128, EPOCHS = 4, MINIBATCH = 256, EVAL_EPISODES = 10 };
#define GAMMA 0.99
#define LAMBDA 0.95
#define CLIP_EPS 0.2
#define VALUE_COEF 0.5
#define ENTROPY_COEF 0.01

/* in: params, minibatch {s, a one-hot, logp_old, adv, ret}: the PPO loss. */
static void loss_fn(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    const jx_tree *b = in[1];
    jx_val logp, value, adv = jx_tree_get_val(b, "adv"), ret = jx_tree_get_val(b, "ret");
    ac_net(in[0], jx_tree_get_val(b, "s"), &logp, &value);
    jx_val logp_a = jx_sum(jx_mul(logp, jx_tree_get_val(b, "a")), JX_INTS(1));
    adv = jx_div(jx_sub(adv, jx_mean(adv, JX_NOINTS)), jx_add(jx_sqrt(jx_var(adv, JX_NOINTS)), jx_scalar(JX_F32, 1e-8)));
    jx_val ratio = jx_exp(jx_sub(logp_a, jx_tree_get_val(b, "logp_old")));
    jx_val surr = jx_min(jx_mul(ratio, adv), jx_mul(jx_clamp(ratio, 1 - CLIP_EPS, 1 + CLIP_EPS), adv));
    jx_val pg = jx_neg(jx_mean(surr, JX_NOINTS)), vl = jx_mean(jx_square(jx_sub(ret, value)), JX_NOINTS);
    jx_val ent = jx_neg(jx_mean(jx_sum(jx_mul(jx_exp(logp), logp), JX_INTS(1)), JX_NOINTS));
    out[0] = jx_tree_val(jx_sub(jx_add(pg, jx_mul(jx_scalar(JX_F32, VALUE_COEF), vl)),
                                jx_mul(jx_scalar(JX_F32, ENTROPY_COEF), ent)));
}

/* The minibatch order: indices sorted by a stream of uniforms, ties by index (numpy's
 * stable argsort). */
static const float *sort_keys;
static int by_key(const void *a, const void *b) {
    int i = *(const int *)a, j = *(const int *)b;
    return sort_keys[i] < sort_keys[j] ? -1 : sort_keys[i] > sort_keys[j] ? 1 : (i > j) - (i < j);
}

int main(int argc, char **argv) {
    const char *prog = "tut_23_ppo";
    trainer_opts o = {.epochs = 50, .batch = MINIBATCH, .lr = 3e-4, .seed = 0};
    int quick, r = tut_parse(prog, "PPO on CartPole (clipped surrogate, GAE, minibatch epochs; jitted tree "
                                   "functions). --epochs: thousands of environment steps; --batch: minibatch.",
                             argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 20;
    const int64_t T = ENVS * ROLL, iters = (int64_t)o.epochs * 1000 / T, B = o.batch;
    if (T % B) {
        fprintf(stderr, "%s: --batch %lld does not divide the %lld transitions of an iteration\n", prog, (long long)B,
                (long long)T);
        return 2;
    }
    float *u_act = malloc(sizeof(float) * (size_t)(iters * T)), *u_perm = malloc(sizeof(float) * (size_t)(iters * EPOCHS * T));
    float *u_start = malloc(sizeof(float) * (size_t)(4 * (iters * T + ENVS))), eval_start[4 * EVAL_EPISODES];
    tut_uniform(o.seed + 1, iters * T, u_act), tut_uniform(o.seed + 3, iters * EPOCHS * T, u_perm);
    tut_uniform(o.seed + 4, 4 * (iters * T + ENVS), u_start), tut_uniform(o.seed + 5, 4 * EVAL_EPISODES, eval_start);

    jx_tree *params = ac_init(o.seed);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-5);
    opt.clip_norm = 0.5;
    jx_tree *state = jx_optim_init(&opt, params);

    /* one iteration's transitions, time-major: row t * ENVS + e */
    float *s = malloc(sizeof(float) * ENVS * 4), *lp = malloc(sizeof(float) * ENVS * 2), *v = malloc(sizeof(float) * ENVS);
    float *ts = malloc(sizeof(float) * (size_t)T * 4), *ta = malloc(sizeof(float) * (size_t)T * 2);
    float *tlp = malloc(sizeof(float) * (size_t)T), *tv = malloc(sizeof(float) * (size_t)T);
    float *tnd = malloc(sizeof(float) * (size_t)T), *tadv = malloc(sizeof(float) * (size_t)T);
    float *tret = malloc(sizeof(float) * (size_t)T);
    float *ms = malloc(sizeof(float) * (size_t)B * 4), *ma = malloc(sizeof(float) * (size_t)B * 2);
    float *mlp = malloc(sizeof(float) * (size_t)B), *madv = malloc(sizeof(float) * (size_t)B);
    float *mret = malloc(sizeof(float) * (size_t)B);
    int *perm = malloc(sizeof(int) * (size_t)T);
    cartpole env[ENVS];
    double *returns = malloc(sizeof(double) * (size_t)(iters * T + 1)), ep[ENVS] = {0};
    int64_t nep = 0, starts = 0;
    for (int e = 0; e < ENVS; e++) cartpole_reset(&env[e], u_start + 4 * starts++);

    jx_tree *b0 = jx_tree_dict();
    jx_tree_set_array(b0, "s", jx_array_zeros(JX_F32, JX_INTS(B, 4)));
    jx_tree_set_array(b0, "a", jx_array_zeros(JX_F32, JX_INTS(B, 2)));
    jx_tree_set_array(b0, "logp_old", jx_array_zeros(JX_F32, JX_INTS(B)));
    jx_tree_set_array(b0, "adv", jx_array_zeros(JX_F32, JX_INTS(B)));
    jx_tree_set_array(b0, "ret", jx_array_zeros(JX_F32, JX_INTS(B)));
    jx_tree *tin[3] = {params, state, b0};
    tut_step body = {loss_fn, &opt, 1, NULL, NULL};
    jx_tree_fn *step = jx_tree_trace("ppo_update", tut_step_body, &body, 3, tin, 3);
    jx_tree_free(b0);
    jx_exec *sx = tut_jit(step, &o, 0);
    ac_policy pol = {0}, pol1 = {0};
    if (!sx || ac_policy_make(&pol, params, ENVS, &o) || ac_policy_make(&pol1, params, 1, &o))
        return tut_fail(prog, "building the update");

    int status = 0;
    tut_timer t = tut_timer_start();
    for (int64_t it = 0; it < iters && !status; it++) {
        for (int k = 0; k < ROLL && !status; k++) { /* the rollout */
            for (int e = 0; e < ENVS; e++)
                for (int d = 0; d < 4; d++) s[e * 4 + d] = (float)env[e].s[d];
            if (ac_policy_run(&pol, params, s, lp, v)) { status = tut_fail(prog, "the policy"); break; }
            for (int e = 0; e < ENVS; e++) {
                int64_t row = (int64_t)k * ENVS + e;
                int a = u_act[it * T + row] < expf(lp[e * 2 + 1]), term;
                memcpy(ts + row * 4, s + e * 4, sizeof(float) * 4);
                ta[row * 2] = a == 0, ta[row * 2 + 1] = a == 1, tlp[row] = lp[e * 2 + a], tv[row] = v[e];
                int done = cartpole_step(&env[e], a, &term);
                tnd[row] = done ? 0.0f : 1.0f, ep[e] += 1;
                if (done) {
                    returns[nep++] = ep[e], ep[e] = 0;
                    cartpole_reset(&env[e], u_start + 4 * starts++);
                }
            }
        }
        if (status) break;
        for (int e = 0; e < ENVS; e++)
            for (int d = 0; d < 4; d++) s[e * 4 + d] = (float)env[e].s[d];
        if (ac_policy_run(&pol, params, s, lp, v)) { status = tut_fail(prog, "the critic"); break; }
        for (int e = 0; e < ENVS; e++) { /* GAE, backwards in time; every reward is 1 */
            float gae = 0, next = v[e];
            for (int k = ROLL - 1; k >= 0; k--) {
                int64_t row = (int64_t)k * ENVS + e;
                float delta = 1.0f + (float)GAMMA * tnd[row] * next - tv[row];
                gae = delta + (float)(GAMMA * LAMBDA) * tnd[row] * gae;
                tadv[row] = gae, tret[row] = gae + tv[row], next = tv[row];
            }
        }
        for (int ep_i = 0; ep_i < EPOCHS && !status; ep_i++) {
            for (int i = 0; i < T; i++) perm[i] = i;
            sort_keys = u_perm + (it * EPOCHS + ep_i) * T;
            qsort(perm, (size_t)T, sizeof *perm, by_key);
            for (int64_t m0 = 0; m0 < T && !status; m0 += B) {
                for (int64_t j = 0; j < B; j++) {
                    int64_t row = perm[m0 + j];
                    memcpy(ms + j * 4, ts + row * 4, sizeof(float) * 4), memcpy(ma + j * 2, ta + row * 2, sizeof(float) * 2);
                    mlp[j] = tlp[row], madv[j] = tadv[row], mret[j] = tret[row];
                }
                jx_tree *b = jx_tree_dict(), *out[3];
                jx_tree_set_array(b, "s", jx_array_new(JX_F32, JX_INTS(B, 4), ms));
                jx_tree_set_array(b, "a", jx_array_new(JX_F32, JX_INTS(B, 2), ma));
                jx_tree_set_array(b, "logp_old", jx_array_new(JX_F32, JX_INTS(B), mlp));
                jx_tree_set_array(b, "adv", jx_array_new(JX_F32, JX_INTS(B), madv));
                jx_tree_set_array(b, "ret", jx_array_new(JX_F32, JX_INTS(B), mret));
                jx_tree *in[3] = {params, state, b};
                if (jx_tree_fn_run(step, sx, 3, in, 3, out) != JX_OK) status = tut_fail(prog, "an update");
                jx_tree_free(b);
                if (status) break;
                jx_tree_free(params), jx_tree_free(state), jx_tree_free(out[2]);
                params = out[0], state = out[1];
            }
        }
        if ((it + 1) % 5 && it + 1 < iters) continue; /* a progress line every 5 iterations */
        cartpole_progress((it + 1) * T, returns, nep);
    }
    tut_timer_stop(&t, "training");

    double mean = status ? 0 : ac_greedy_return(&pol1, params, eval_start, EVAL_EPISODES);
    if (mean < 0) status = tut_fail(prog, "the greedy policy");
    if (!status) {
        cartpole_report(&o, "PPO on CartPole: return per episode", mean, EVAL_EPISODES, returns, nep);
    }
    jx_exec_release(sx), jx_tree_fn_free(step), ac_policy_free(&pol), ac_policy_free(&pol1);
    jx_tree_free(params), jx_tree_free(state);
    free(u_act), free(u_perm), free(u_start), free(s), free(lp), free(v), free(ts), free(ta), free(tlp), free(tv);
    free(tnd), free(tadv), free(tret), free(ms), free(ma), free(mlp), free(madv), free(mret), free(perm), free(returns);
    if (status) return status;
    return tut_quick_check(quick, "greedy mean return", mean, 60, 1); /* random play: about 22 */
}
