/* ac.h: what the policy-gradient tutorials (23 PPO, 28 A2C) share: the actor and critic
 * (two 4-64 tanh MLPs over CartPole's state: log-probabilities of left/right and the
 * state's value), their initial parameters drawn as common/ac.py draws them, and the
 * jitted policy that the C rollout loops call. */
#ifndef TUT_AC_H
#define TUT_AC_H

#include <jx.h>
#include <jx/tree.h>
#include <stdint.h>

#include "tut.h"

enum { AC_HIDDEN = 64 };

/* log pi(.|s) (n,2) and V(s) (n) of states s (n,4), params as ac_init makes them. */
void ac_net(const jx_tree *params, jx_val s, jx_val *logp, jx_val *value);

/* {actor: {hidden, out}, critic: {hidden, out}} each {w, b}: He-normal hidden layers, the
 * actor's output at 0.01 scale (a near-uniform first policy), the critic's at 1/sqrt(64). */
jx_tree *ac_init(uint64_t seed);

/* The policy for batches of n states, jitted: ac_policy_run gives log pi and V. */
typedef struct ac_policy {
    jx_tree_fn *f;
    jx_exec *x;
    int64_t n;
} ac_policy;
/* 0, or -1 with jx_errmsg() set. */
int ac_policy_make(ac_policy *p, const jx_tree *params, int64_t n, const trainer_opts *o);
/* logp (n,2) and v (n) for the n states s (n,4); -1 on an error. */
int ac_policy_run(const ac_policy *p, const jx_tree *params, const float *s, float *logp, float *v);
void ac_policy_free(ac_policy *p);

/* The greedy policy's mean return over n CartPole episodes starting from starts (4 per
 * episode); -1 on an error. */
double ac_greedy_return(const ac_policy *one, const jx_tree *params, const float *starts, int n);

#endif
