/* jx/optim.h: optimizers with Optax's semantics, traced so that one jitted step
 * computes the loss, the gradients and the update together.
 *
 * An optimizer is a small value (jx_optim) describing the chain Optax would build:
 * optional gradient accumulation (optax.MultiSteps), optional clipping by global norm,
 * the update rule (sgd with momentum or Nesterov, adam, adamw with a decay mask by
 * path, rmsprop) and a learning-rate schedule. Its state is a tree of host arrays, so a
 * checkpoint saves it like the parameters:
 *
 *     jx_optim opt = jx_optim_adamw(jx_schedule_warmup_cosine_decay(0, 1e-3, 100, 10000, 1e-5),
 *                                   0.9, 0.999, 1e-8, 1e-4, "**.w");
 *     jx_tree *state = jx_optim_init(&opt, params);         // {count, mu, nu}
 *     // inside the traced step, with grads from jx_tree_value_and_grad:
 *     jx_optim_update(&opt, grads, state_in, params_in, &new_params, &new_state);
 *
 * Numbers follow Optax's formulas and operation order in the parameters' dtype (the
 * schedules in f32), so 10-step trajectories agree with Optax's to f32 rounding
 * (tests/nn/test_optim.c, vectors from tests/nn/data/gen_optim.py). */
#ifndef JX_OPTIM_H
#define JX_OPTIM_H

#include <jx.h>
#include <jx/tree.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ schedules */

typedef enum jx_schedule_kind {
    JX_SCHEDULE_CONSTANT,
    JX_SCHEDULE_EXPONENTIAL,   /* init * rate^(step / transition_steps), floored if staircase */
    JX_SCHEDULE_WARMUP_COSINE, /* linear init -> peak over warmup, cosine peak -> end until decay_steps */
    JX_SCHEDULE_PIECEWISE      /* init, times scales[i] from boundaries[i] on */
} jx_schedule_kind;

#define JX_SCHEDULE_MAX_PIECES 8

typedef struct jx_schedule {
    jx_schedule_kind kind;
    double init_value, peak_value, end_value, decay_rate;
    int64_t transition_steps, warmup_steps, decay_steps;
    int staircase;
    int npieces;
    int64_t boundaries[JX_SCHEDULE_MAX_PIECES];
    double scales[JX_SCHEDULE_MAX_PIECES];
} jx_schedule;

/* optax.constant_schedule, exponential_decay, warmup_cosine_decay_schedule,
 * piecewise_constant_schedule (n boundaries ascending, at most JX_SCHEDULE_MAX_PIECES;
 * more are ignored, as is a schedule with transition_steps <= 0, which stays at init). */
jx_schedule jx_schedule_constant(double value);
jx_schedule jx_schedule_exponential_decay(double init_value, int64_t transition_steps, double decay_rate,
                                          int staircase);
jx_schedule jx_schedule_warmup_cosine_decay(double init_value, double peak_value, int64_t warmup_steps,
                                            int64_t decay_steps, double end_value);
jx_schedule jx_schedule_piecewise_constant(double init_value, int n, const int64_t *boundaries,
                                           const double *scales);
/* The value at step, inside a body: step an integer scalar value; an f32 scalar. */
jx_val jx_schedule_at(jx_loc loc, const jx_schedule *s, jx_val step);
#define jx_schedule(...) jx_schedule_at(JX_HERE, __VA_ARGS__)
/* The value at step on the host (double precision), for logging. */
double jx_schedule_value(const jx_schedule *s, int64_t step);

/* ------------------------------------------------------------------ optimizers */

typedef enum jx_optim_kind { JX_OPTIM_SGD, JX_OPTIM_ADAM, JX_OPTIM_ADAMW, JX_OPTIM_RMSPROP } jx_optim_kind;

typedef struct jx_optim {
    jx_optim_kind kind;
    jx_schedule lr;
    double momentum;         /* sgd: 0 for none */
    int nesterov;            /* sgd with momentum */
    double b1, b2, eps;      /* adam, adamw; eps also rmsprop's */
    double decay;            /* rmsprop's second-moment decay */
    double weight_decay;     /* adamw */
    const char *decay_mask;  /* adamw: decay only leaves whose paths match (jx_path_match);
                              * NULL decays every leaf. Borrowed: keep the string alive. */
    double clip_norm;        /* > 0: clip gradients by this global norm first */
    int every_k;             /* > 1: accumulate the mean gradient over k calls, update on the k-th */
} jx_optim;

/* optax.sgd(lr, momentum, nesterov), adam(lr, b1, b2, eps), adamw(lr, b1, b2, eps,
 * weight_decay, mask), rmsprop(lr, decay, eps). Set clip_norm and every_k in the result
 * to chain clip_by_global_norm before it and wrap it in MultiSteps. */
jx_optim jx_optim_sgd(jx_schedule lr, double momentum, int nesterov);
jx_optim jx_optim_adam(jx_schedule lr, double b1, double b2, double eps);
jx_optim jx_optim_adamw(jx_schedule lr, double b1, double b2, double eps, double weight_decay, const char *mask);
jx_optim jx_optim_rmsprop(jx_schedule lr, double decay, double eps);

/* The initial state for params (a tree of arrays or avals): a new tree of host arrays,
 * {count: i32[] and, as the rule needs, trace, mu, nu (zeros like params), acc and
 * mini_step (accumulation)}. Free it. NULL with jx_errmsg() on a bad optimizer. */
jx_tree *jx_optim_init_at(jx_loc loc, const jx_optim *o, const jx_tree *params);
#define jx_optim_init(...) jx_optim_init_at(JX_HERE, __VA_ARGS__)

/* One step inside a body: grads and params trees of one structure, state as made by
 * jx_optim_init (all traced leaves). Sets *new_params = params + updates and
 * *new_state (new trees of traced values; free them). A structure mismatch is an error
 * naming the path. Returns the trace's status. */
jx_status jx_optim_update_at(jx_loc loc, const jx_optim *o, const jx_tree *grads, const jx_tree *state,
                             const jx_tree *params, jx_tree **new_params, jx_tree **new_state);
#define jx_optim_update(...) jx_optim_update_at(JX_HERE, __VA_ARGS__)

/* The global L2 norm of a tree of traced values (optax.global_norm), an f32 scalar when
 * the leaves are f32. */
jx_val jx_global_norm_at(jx_loc loc, const jx_tree *t);
#define jx_global_norm(...) jx_global_norm_at(JX_HERE, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif /* JX_OPTIM_H */
