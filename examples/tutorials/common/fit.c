/* fit.c: tut_fit (fit.h). */
#include "fit.h"

int tut_fit(const char *prog, const trainer_opts *o, jx_tree_body loss, double lr, jx_tree **params, jx_tree *b0,
            const tut_loop *l, const char *timed) {
    jx_optim opt = jx_optim_adam(jx_schedule_constant(lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, *params), *in[3] = {*params, state, b0};
    tut_step body = {loss, &opt, 1, NULL, NULL}; /* loss, gradients, Adam */
    jx_tree_fn *step = state && b0 ? jx_tree_trace("train_step", tut_step_body, &body, 3, in, 3) : NULL;
    jx_tree_free(b0);
    jx_exec *x = tut_jit(step, o, 2); /* params and optimizer state donated */
    int status = x ? 0 : tut_fail(prog, "building the training step");
    tut_timer t = tut_timer_start();
    if (!status) status = tut_train(prog, step, x, params, &state, l);
    if (timed) tut_timer_stop(&t, timed);
    jx_exec_release(x), jx_tree_fn_free(step), jx_tree_free(state);
    return status;
}
