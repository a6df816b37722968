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

#include <jx/layers.h>
#include <jx/optim.h>
#include <jx/plot.h>
#include <jx/tree.h>

#include "../../common/data_parallel.h"
#include "cartpole.h" /* common/ */
#include "tut.h"

enum { HID = 64, ROLL = 5, EVAL_EPISODES = 10 };
#define GAMMA 0.99
#define VALUE_COEF 0.5
#define ENTROPY_COEF 0.01

/* logits (n,2) and values (n) of states s (n,4): two tanh MLPs, the actor and the critic
 * (a shared trunk let the critic's large returns swamp the policy's features). */
static void net(const jx_tree *p, jx_val s, jx_val *logits, jx_val *value) {
    jx_val h = jx_tanh(jx_nn_dense(s, jx_tree_get_val(p, "actor.hidden.w"), jx_tree_get_val(p, "actor.hidden.b")));
    *logits = jx_nn_dense(h, jx_tree_get_val(p, "actor.out.w"), jx_tree_get_val(p, "actor.out.b"));
    jx_val g = jx_tanh(jx_nn_dense(s, jx_tree_get_val(p, "critic.hidden.w"), jx_tree_get_val(p, "critic.hidden.b")));
    *value = jx_reshape(jx_nn_dense(g, jx_tree_get_val(p, "critic.out.w"), jx_tree_get_val(p, "critic.out.b")),
                        JX_INTS(-1));
}

/* in: params, batch {s (n,4), a one-hot (n,2), ret (n)}: the A2C loss. */
static void loss_fn(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val logits, value, a = jx_tree_get_val(in[1], "a"), ret = jx_tree_get_val(in[1], "ret");
    net(in[0], jx_tree_get_val(in[1], "s"), &logits, &value);
    jx_val logp = jx_log_softmax(logits, 1), adv = jx_stop_gradient(jx_sub(ret, value));
    jx_val pg = jx_neg(jx_mean(jx_mul(jx_sum(jx_mul(logp, a), JX_INTS(1)), adv), JX_NOINTS));
    jx_val vl = jx_mean(jx_square(jx_sub(ret, value)), JX_NOINTS);
    jx_val ent = jx_neg(jx_mean(jx_sum(jx_mul(jx_exp(logp), logp), JX_INTS(1)), JX_NOINTS));
    out[0] = jx_tree_val(jx_sub(jx_add(pg, jx_mul(jx_scalar(JX_F32, VALUE_COEF), vl)),
                                jx_mul(jx_scalar(JX_F32, ENTROPY_COEF), ent)));
}

/* One worker's update: in params, opt state, its shard of the batch; the gradient is
 * averaged over the workers before the (identical) Adam step. */
static void update(jx_tree **out, jx_tree *const *in, void *user) {
    jx_tree *args[2] = {in[0], in[2]}, *vals[1], *grads;
    if (jx_tree_value_and_grad(loss_fn, NULL, 2, args, 0, 1, vals, &grads) != JX_OK) return;
    dp_mean_tree(&grads), dp_mean_tree(&vals[0]);
    jx_optim_update((const jx_optim *)user, grads, in[1], in[0], &out[0], &out[1]);
    out[2] = jx_tree_dict();
    jx_tree_set(out[2], "loss", vals[0]);
    jx_tree_free(grads);
}

/* The policy's probabilities and the values of n states. */
static void act_fn(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val logits, value;
    net(in[0], jx_tree_get_val(in[1], "s"), &logits, &value);
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "p", jx_softmax(logits, 1));
    jx_tree_set_val(out[0], "v", value);
}

static jx_array *weights(uint64_t seed, int64_t r, int64_t c, double scale) {
    float *v = malloc(sizeof(float) * (size_t)(r * c));
    tut_normal(seed, r * c, v);
    for (int64_t i = 0; i < r * c; i++) v[i] = (float)(v[i] * scale);
    jx_array *a = jx_array_new(JX_F32, JX_INTS(r, c), v);
    free(v);
    return a;
}

typedef struct policy {
    jx_tree_fn *f;
    jx_exec *x;
} policy;

/* The jitted policy for batches of n states (NULL fields on an error). */
static policy make_policy(const jx_tree *params, int64_t n, jx_device device, const jx_jit_opts *jo) {
    jx_tree *sb = jx_tree_dict(), *in[2] = {(jx_tree *)params, sb};
    jx_tree_set_array(sb, "s", jx_array_zeros(JX_F32, JX_INTS(n, 4)));
    policy p = {jx_tree_trace("policy", act_fn, NULL, 2, in, 1), NULL};
    jx_tree_free(sb);
    p.x = p.f ? jx_jit(jx_tree_fn_fn(p.f), device, jo) : NULL;
    return p;
}

/* p(right) and V for n states; -1 on an error. */
static int run_policy(const policy *pol, const jx_tree *params, int64_t n, const float *s, float *pright, float *v) {
    jx_tree *b = jx_tree_dict(), *out = NULL;
    jx_tree_set_array(b, "s", jx_array_new(JX_F32, JX_INTS(n, 4), s));
    jx_tree *in[2] = {(jx_tree *)params, b};
    int ok = jx_tree_fn_run(pol->f, pol->x, 2, in, 1, &out) == JX_OK;
    if (ok) {
        const float *p = jx_array_data(jx_tree_get_array(out, "p")), *vv = jx_array_data(jx_tree_get_array(out, "v"));
        for (int64_t i = 0; i < n; i++) pright[i] = p[2 * i + 1], v[i] = vv[i];
    }
    jx_tree_free(b), jx_tree_free(out);
    return ok ? 0 : -1;
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

    jx_tree *params = jx_tree_dict();
    jx_tree_set_array(params, "actor.hidden.w", weights(o.seed + 10, 4, HID, sqrt(2.0 / 4)));
    jx_tree_set_array(params, "actor.hidden.b", jx_array_zeros(JX_F32, JX_INTS(HID)));
    jx_tree_set_array(params, "actor.out.w", weights(o.seed + 11, HID, 2, 0.01));
    jx_tree_set_array(params, "actor.out.b", jx_array_zeros(JX_F32, JX_INTS(2)));
    jx_tree_set_array(params, "critic.hidden.w", weights(o.seed + 13, 4, HID, sqrt(2.0 / 4)));
    jx_tree_set_array(params, "critic.hidden.b", jx_array_zeros(JX_F32, JX_INTS(HID)));
    jx_tree_set_array(params, "critic.out.w", weights(o.seed + 12, HID, 1, 1.0 / sqrt(HID)));
    jx_tree_set_array(params, "critic.out.b", jx_array_zeros(JX_F32, JX_INTS(1)));
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    opt.clip_norm = 0.5; /* clipped by global norm, as A2C implementations do */
    jx_tree *state = jx_optim_init(&opt, params);

    /* the rollout: N environments x ROLL steps, env-major so that each worker's shard
     * holds whole environments */
    float *s = malloc(sizeof(float) * (size_t)N * 4), *pr = malloc(sizeof(float) * (size_t)N);
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
    jx_tree_fn *step = workers > 1 ? dp_trace_step("a2c_update", update, &opt, 3, tin, 3, (int)workers)
                                   : jx_tree_trace("a2c_update", update, &opt, 3, tin, 3);
    jx_tree_free(b0);
    jx_jit_opts jo = JX_JIT_DEFAULTS;
    jo.nthreads = o.threads;
    jx_exec *sx = step ? jx_jit(jx_tree_fn_fn(step), o.device, &jo) : NULL;
    policy pol = make_policy(params, N, o.device, &jo), pol1 = make_policy(params, 1, o.device, &jo);
    if (!sx || !pol.x || !pol1.x) return tut_fail(prog, "building the update");

    int status = 0;
    tut_timer t = tut_timer_start();
    for (int64_t u = 0; u < updates && !status; u++) {
        for (int k = 0; k < ROLL && !status; k++) {
            for (int64_t e = 0; e < N; e++)
                for (int d = 0; d < 4; d++) s[e * 4 + d] = (float)env[e].s[d];
            if (run_policy(&pol, params, N, s, pr, v)) { status = tut_fail(prog, "the policy"); break; }
            for (int64_t e = 0; e < N; e++) {
                int64_t row = e * ROLL + k, term;
                int a = u_act[(u * ROLL + k) * N + e] < pr[e], t2;
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
        if (run_policy(&pol, params, N, s, pr, v)) { status = tut_fail(prog, "the critic"); break; }
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
            double m = 0;
            int64_t n = nep < 10 ? nep : 10;
            for (int64_t i = nep - n; i < nep; i++) m += returns[i] / (double)n;
            printf("step %lld: %lld episodes, mean return of the last %lld %.1f\n", (long long)((u + 1) * N * ROLL),
                   (long long)nep, (long long)n, m);
        }
    }
    tut_timer_stop(&t, "training");

    double mean = 0; /* greedy play from fixed starts */
    for (int e = 0; e < EVAL_EPISODES && !status; e++) {
        cartpole c;
        int term, done = 0;
        cartpole_reset(&c, eval_start + 4 * e);
        while (!done) {
            float sf[4] = {(float)c.s[0], (float)c.s[1], (float)c.s[2], (float)c.s[3]}, p1, v1;
            if (run_policy(&pol1, params, 1, sf, &p1, &v1)) { status = tut_fail(prog, "the greedy policy"); break; }
            done = cartpole_step(&c, p1 > 0.5f, &term);
        }
        mean += c.steps / (double)EVAL_EPISODES;
    }
    if (!status) {
        printf("greedy policy: mean return %.1f over %d episodes (random actions: about 22; the most: %d)\n", mean,
               EVAL_EPISODES, CARTPOLE_MAX_STEPS);
        tut_metric("eval_return", mean);
        char path[4096];
        jx_plot_series sr = {"episode return", NULL, returns, nep};
        if (nep && jx_plot_available() &&
            jx_plot_lines(tut_path(path, sizeof path, &o, "returns.png"), "A2C on CartPole: return per episode",
                          "episode", "return", 1, &sr, 0, 0) == JX_OK)
            printf("wrote %s\n", path);
    }
    jx_exec_release(sx), jx_exec_release(pol.x), jx_tree_fn_free(step), jx_tree_fn_free(pol.f);
    jx_exec_release(pol1.x), jx_tree_fn_free(pol1.f);
    jx_tree_free(params), jx_tree_free(state);
    free(u_act), free(u_start), free(s), free(pr), free(v), free(bs), free(ba), free(bret), free(rew), free(nd);
    free(env), free(returns), free(ep);
    if (status) return status;
    return tut_quick_check(quick, "greedy mean return", mean, 60, 1); /* random play: about 22 */
}
