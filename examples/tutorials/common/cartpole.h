/* cartpole.h: (tutorials 04 and 28) the classic cart-pole balancing task (Barto, Sutton and Anderson 1983), with
 * the constants and Euler step of Gymnasium's CartPole-v1, computed in double as
 * data.py computes it: a pole on a cart, pushed left or right each 0.02 s; reward 1 per
 * step until the pole leans past 12 degrees, the cart leaves [-2.4, 2.4], or 500 steps. */
#ifndef TUT_CARTPOLE_H
#define TUT_CARTPOLE_H

#include <math.h>
#include <stdio.h>

#include "tut.h"

enum { CARTPOLE_MAX_STEPS = 500 };

typedef struct cartpole {
    double s[4]; /* x, x_dot, theta, theta_dot */
    int steps;
} cartpole;

/* Starts from four uniforms in [0, 1): each state variable in [-0.05, 0.05). */
static inline void cartpole_reset(cartpole *c, const float *u) {
    for (int i = 0; i < 4; i++) c->s[i] = ((double)u[i] - 0.5) * 0.1;
    c->steps = 0;
}

/* Applies action 0 (push left) or 1 (right). Returns 1 when the episode ends: *terminal
 * is 1 when the pole fell or the cart left (not when the step limit cut it short). */
static inline int cartpole_step(cartpole *c, int action, int *terminal) {
    const double g = 9.8, mc = 1.0, mp = 0.1, total = mc + mp, len = 0.5, pml = mp * len, tau = 0.02;
    double x = c->s[0], xd = c->s[1], th = c->s[2], thd = c->s[3];
    double force = action ? 10.0 : -10.0, ct = cos(th), st = sin(th);
    double temp = (force + pml * thd * thd * st) / total;
    double thacc = (g * st - ct * temp) / (len * (4.0 / 3.0 - mp * ct * ct / total));
    double xacc = temp - pml * thacc * ct / total;
    c->s[0] = x + tau * xd, c->s[1] = xd + tau * xacc, c->s[2] = th + tau * thd, c->s[3] = thd + tau * thacc;
    c->steps++;
    *terminal = fabs(c->s[0]) > 2.4 || fabs(c->s[2]) > 12 * 2 * 3.141592653589793 / 360;
    return *terminal || c->steps >= CARTPOLE_MAX_STEPS;
}

/* The progress line of a training run: "step N: E episodes, mean return of the last 10 R". */
static inline void cartpole_progress(int64_t step, const double *returns, int64_t nep) {
    int64_t n = nep < 10 ? nep : 10;
    double m = 0;
    for (int64_t i = nep - n; i < nep; i++) m += returns[i] / (double)n;
    printf("step %lld: %lld episodes, mean return of the last %lld %.1f\n", (long long)step, (long long)nep,
           (long long)n, m);
}

/* The end of a run: the greedy policy's mean return over `episodes` (printed, and as the
 * metric eval_return) and the PNG of every training episode's return (title: what trained). */
static inline void cartpole_report(const trainer_opts *o, const char *title, double mean, int episodes,
                                   const double *returns, int64_t nep) {
    printf("greedy policy: mean return %.1f over %d episodes (random actions: about 22; the most: %d)\n", mean,
           episodes, CARTPOLE_MAX_STEPS);
    tut_metric("eval_return", mean);
    tut_plot_curve(o, "returns.png", title, "episode", "return", "episode return", returns, nep);
}

#endif
