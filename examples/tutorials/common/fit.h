/* fit.h: the Adam training run that the vision tutorials (09, 10, 18) share: trace
 * common/tut.h's tut_step_body around a loss, jit it with the parameter and optimizer
 * trees donated, and run a tut_loop over it.
 *
 *     tut_loop l = {"training loss", o.epochs, steps, next_batch, &feed, NULL, epoch_line};
 *     if (tut_fit(prog, &o, loss_body, o.lr, &params, first_batch, &l, "training")) ...
 */
#ifndef JX_TUT_FIT_H
#define JX_TUT_FIT_H

#include "tut.h"

/* Trains *params (replaced by the trained tree) with Adam at lr (b1 0.9, b2 0.999, eps
 * 1e-8, its state created here and freed): the step tut_step_body(loss) over (params,
 * state, batch) is traced on b0, a batch of the loop's shape (b0 is freed), and jitted
 * for o; then l runs. With timed (may be NULL) the loop alone is timed, printing
 * "timed: S s (TIMED)". Returns 0, or 1 after printing "prog: ...: message". */
int tut_fit(const char *prog, const trainer_opts *o, jx_tree_body loss, double lr, jx_tree **params, jx_tree *b0,
            const tut_loop *l, const char *timed);

#endif
