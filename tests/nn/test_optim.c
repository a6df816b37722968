/* test_optim.c: optimizers against Optax: 10-step trajectories on a fixed quadratic
 * (the whole step, loss, gradient as a tree and update, traced once, jitted with
 * params and state donated) and the schedules' values, from data/gen_optim.py. */
#include <stdlib.h>

#include "data/optim_vectors.h"
#include "harness.h"
#include "jx/nn.h"

static const double A_w[3] = {2, 0.5, 3}, A_b[2] = {1, 4}, T_w[3] = {1, -2, 0.5}, T_b[2] = {-1, 2};

/* loss = sum 0.5 A (p - T)^2 over both leaves */
static void quad_loss(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val total = JX_NONE;
    const char *names[2] = {"w", "b"};
    const double *A[2] = {A_w, A_b}, *T[2] = {T_w, T_b};
    for (int k = 0; k < 2; k++) {
        jx_val p = jx_tree_get_val(in[0], names[k]);
        int64_t n = jx_dim(p, 0);
        jx_array *a = jt_array(JX_F32, JX_INTS(n), A[k]), *t = jt_array(JX_F32, JX_INTS(n), T[k]);
        jx_val d = jx_sub(p, jx_const(t));
        jx_val l = jx_sum(jx_mul(jx_scalar(JX_F32, 0.5), jx_mul(jx_const(a), jx_mul(d, d))), JX_NOINTS);
        total = k ? jx_add(total, l) : l;
        jx_array_release(a), jx_array_release(t);
    }
    out[0] = jx_tree_val(total);
}

/* step(params, state) -> (params, state, loss) */
static void train_step(jx_tree **out, jx_tree *const *in, void *user) {
    const jx_optim *opt = user;
    jx_tree *loss[1], *grads;
    if (jx_tree_value_and_grad(quad_loss, NULL, 1, in, 0, 1, loss, &grads) != JX_OK) return;
    jx_optim_update(opt, grads, in[1], in[0], &out[0], &out[1]);
    out[2] = loss[0];
    jx_tree_free(grads);
}

static jx_tree *p0(void) {
    double w[3] = {0, 1, -1}, b[2] = {0.5, 0};
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "w", jt_array(JX_F32, JX_INTS(3), w));
    jx_tree_set_array(p, "b", jt_array(JX_F32, JX_INTS(2), b));
    return p;
}

/* Runs 10 jitted steps and returns the largest error against want (relative to
 * max(1e-3, |want|), so values near zero are held to an absolute 1e-3 scale). */
static double trajectory(const jx_optim *opt, const double *want) {
    jx_tree *params = p0(), *state = jx_optim_init(opt, params);
    CU_ASSERT_PTR_NOT_NULL_FATAL(state);
    jx_tree *in[2] = {params, state};
    jx_tree_fn *f = jx_tree_trace("train_step", train_step, (void *)opt, 2, in, 3);
    if (!f) fprintf(stderr, "\n%s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    /* donate every parameter and state leaf: the step updates them in place */
    int64_t donate[64];
    int nd = jx_tree_fn_input_offset(f, 2);
    for (int i = 0; i < nd; i++) donate[i] = i;
    jx_jit_opts jo = JX_JIT_DEFAULTS;
    jo.donate = (jx_ints){donate, nd};
    jx_exec *x = jx_jit(jx_tree_fn_fn(f), JX_DEVICE_CPU, &jo);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    double err = 0;
    for (int s = 0; s < 10; s++) {
        jx_tree *out[3];
        jx_status st = jx_tree_fn_run(f, x, 2, in, 3, out);
        CU_ASSERT_EQUAL_FATAL(st, JX_OK);
        jx_tree_free(in[0]), jx_tree_free(in[1]), jx_tree_free(out[2]);
        in[0] = out[0], in[1] = out[1];
        jx_array *leaves[2];
        jx_tree_flatten_arrays(in[0], leaves, 2);
        for (int i = 0; i < 5; i++) {
            double got = jx_array_get(i < 3 ? leaves[0] : leaves[1], i < 3 ? i : i - 3), w = want[5 * s + i];
            double e = fabs(got - w) / fmax(1e-3, fabs(w));
            if (e > err) err = e;
        }
    }
    jx_exec_release(x);
    jx_tree_fn_free(f);
    jx_tree_free(in[0]), jx_tree_free(in[1]);
    return err;
}

#define CHECK_TRAJ(opt, want)                                                          \
    do {                                                                               \
        double e_ = trajectory(&(opt), (want));                                        \
        if (!(e_ <= 2e-6)) fprintf(stderr, "\n  %s: error %g\n", #want, e_);           \
        CU_ASSERT(e_ <= 2e-6);                                                         \
    } while (0)

static void test_sgd(void) {
    jx_optim o = jx_optim_sgd(jx_schedule_constant(0.1), 0, 0);
    CHECK_TRAJ(o, traj_sgd);
    o = jx_optim_sgd(jx_schedule_constant(0.1), 0.9, 0);
    CHECK_TRAJ(o, traj_momentum);
    o = jx_optim_sgd(jx_schedule_constant(0.1), 0.9, 1);
    CHECK_TRAJ(o, traj_nesterov);
    o = jx_optim_sgd(jx_schedule_constant(0.1), 0, 0);
    o.clip_norm = 0.5;
    CHECK_TRAJ(o, traj_clip_sgd);
    o = jx_optim_sgd(jx_schedule_constant(0.1), 0.9, 0);
    o.every_k = 3;
    CHECK_TRAJ(o, traj_multisteps);
}

static void test_adaptive(void) {
    jx_optim o = jx_optim_adam(jx_schedule_constant(0.1), 0.9, 0.999, 1e-8);
    CHECK_TRAJ(o, traj_adam);
    o = jx_optim_adamw(jx_schedule_constant(0.1), 0.9, 0.999, 1e-8, 0.5, "w");
    CHECK_TRAJ(o, traj_adamw);
    o = jx_optim_rmsprop(jx_schedule_constant(0.05), 0.9, 1e-8);
    CHECK_TRAJ(o, traj_rmsprop);
    o = jx_optim_adam(jx_schedule_warmup_cosine_decay(0.0, 0.2, 3, 10, 0.02), 0.9, 0.999, 1e-8);
    CHECK_TRAJ(o, traj_adam_cosine);
}

typedef struct sched_case {
    jx_schedule s;
} sched_case;

static void sched_body(jx_val *out, const jx_val *in, void *user) {
    out[0] = jx_schedule(&((sched_case *)user)->s, in[0]);
}

static void check_schedule(jx_schedule s, const double *want) {
    sched_case c = {s};
    jx_aval av = JX_SCALAR(JX_I32);
    jx_fn *f = jx_trace("schedule", sched_body, &c, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    double err = 0, herr = 0;
    for (int step = 0; step < 30; step++) {
        jx_array *in = jx_array_scalar(JX_I32, step), *y = NULL;
        CU_ASSERT_FATAL(jx_eval(f, 1, &in, 1, &y) == JX_OK);
        err = fmax(err, fabs(jx_array_get(y, 0) - want[step]));
        herr = fmax(herr, fabs(jx_schedule_value(&s, step) - want[step]));
        jx_array_release(in), jx_array_release(y);
    }
    if (err > 1e-6 || herr > 1e-6) fprintf(stderr, "\n  schedule error %g, host %g\n", err, herr);
    CU_ASSERT(err <= 1e-6);
    CU_ASSERT(herr <= 1e-6);
    jx_fn_release(f);
}

static void test_schedules(void) {
    check_schedule(jx_schedule_exponential_decay(1.0, 5, 0.5, 0), sched_exp);
    check_schedule(jx_schedule_exponential_decay(1.0, 5, 0.5, 1), sched_exp_stair);
    check_schedule(jx_schedule_warmup_cosine_decay(0.0, 1.0, 5, 20, 0.1), sched_cosine);
    int64_t b[2] = {5, 10};
    double sc[2] = {0.5, 0.1};
    check_schedule(jx_schedule_piecewise_constant(1.0, 2, b, sc), sched_piecewise);
}

/* Gradients of another structure are rejected, naming the path. */
static void bad_update(jx_tree **out, jx_tree *const *in, void *user) {
    const jx_optim *opt = user;
    jx_tree *g = jx_tree_dict();
    jx_tree_set_val(g, "w", jx_tree_get_val(in[0], "w"));
    jx_optim_update(opt, g, in[1], in[0], &out[0], &out[1]);
    jx_tree_free(g);
}

static void test_errors(void) {
    jx_optim o = jx_optim_adam(jx_schedule_constant(0.1), 0.9, 0.999, 1e-8);
    jx_tree *params = p0(), *state = jx_optim_init(&o, params);
    jx_tree *in[2] = {params, state};
    CU_ASSERT_PTR_NULL(jx_tree_trace("bad", bad_update, &o, 2, in, 2));
    JT_ASSERT_ERR("tree mismatch: at '(root)': a dict of 2 in params, a dict of 1 in grads");
    jx_optim bad = jx_optim_adam(jx_schedule_constant(0.1), 1.5, 0.999, 1e-8);
    CU_ASSERT_PTR_NULL(jx_optim_init(&bad, params));
    JT_ASSERT_ERR("optim: adam betas 1.5, 0.999 are not in [0, 1)");
    jx_tree_free(params), jx_tree_free(state);
}

int main(void) {
    CU_TestInfo tests[] = {{"sgd, momentum, nesterov, clipping, accumulation", test_sgd},
                           {"adam, adamw with mask, rmsprop, cosine schedule", test_adaptive},
                           {"schedules", test_schedules},
                           {"errors", test_errors},
                           CU_TEST_INFO_NULL};
    return jt_run("nn/optim", tests);
}
