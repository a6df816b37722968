/* train_step.c: see train_step.h. */
#include "train_step.h"

#include <stdio.h>

int tut_mnist_open(const char *prog, const trainer_opts *o, int quick, int64_t eval_batch, const char **dir,
                   idx_split *train, idx_split *test, int64_t *ntrain, int64_t *ntest) {
    *dir = o->data ? o->data : tut_mnist_dir();
    if (mnist_load(prog, *dir, train, test) != 0) return -1;
    *ntrain = jx_array_shape(train->labels)[0], *ntest = jx_array_shape(test->labels)[0];
    if (o->limit > 0 && o->limit < *ntrain) *ntrain = o->limit;
    if (quick && *ntest > 1000) *ntest = 1000;
    *ntest -= *ntest % eval_batch;
    return 0;
}

void tut_grad_step(jx_tree **out, jx_tree *params, jx_tree *state, jx_tree *batch, jx_tree_body loss,
                   const jx_optim *opt) {
    jx_tree *args[2] = {params, batch}, *value, *grads;
    if (jx_tree_value_and_grad(loss, NULL, 2, args, 0, 1, &value, &grads) != JX_OK) return;
    jx_optim_update(opt, grads, state, params, &out[0], &out[1]);
    out[2] = jx_tree_dict();
    jx_tree_set(out[2], "loss", value);
    jx_tree_free(grads);
}

int tut_feed_fill(jx_tree *b, int64_t i, int64_t step, void *user) {
    const tut_feed *f = user;
    jx_ints shape = f->nhwc ? JX_INTS(f->n, 28, 28, 1) : JX_INTS(f->n, MNIST_PIXELS);
    int ok = jx_tree_set_array(b, "x", mnist_images(f->split->images, f->idx, i * f->n, f->n, shape)) == JX_OK;
    if (ok && f->labels) ok = jx_tree_set_array(b, "y", mnist_labels(f->split->labels, f->idx, i * f->n, f->n, 0)) == JX_OK;
    if (ok && f->key) ok = jx_tree_set_array(b, "key", jx_array_retain(f->key)) == JX_OK &&
                           jx_tree_set_array(b, "step", jx_array_scalar(JX_I32, (double)step)) == JX_OK;
    return ok ? 0 : -1;
}

jx_exec *tut_jit_step(const jx_tree_fn *step, const trainer_opts *o) {
    int64_t donate[256];
    int nd = jx_tree_fn_input_offset(step, 2); /* the leaves of params and optimizer state */
    if (nd > 256) nd = 256;                    /* donating fewer is as correct, only slower */
    for (int i = 0; i < nd; i++) donate[i] = i;
    jx_jit_opts jo = {o->threads, {donate, nd}, 0, NULL, JX_SUBNORMALS_DEFAULT};
    return jx_jit(jx_tree_fn_fn(step), o->device, &jo);
}

int tut_train(const char *prog, const char *what, const jx_tree_fn *step, jx_exec *x, jx_tree **params,
              jx_tree **state, int epochs, int64_t steps, tut_batch_fn fill, void *user, double *curve) {
    for (int e = 0; e < epochs; e++) {
        double sum = 0;
        for (int64_t s = 0; s < steps; s++) {
            jx_tree *b = jx_tree_dict(), *in[3] = {*params, *state, b}, *out[3];
            int ok = b && fill(b, s, e * steps + s, user) == 0 && jx_tree_fn_run(step, x, 3, in, 3, out) == JX_OK;
            jx_tree_free(b);
            if (!ok) return tut_fail(prog, "a training step");
            jx_tree_free(*params), jx_tree_free(*state); /* donated: their storage now holds out[0..1] */
            *params = out[0], *state = out[1];
            double loss = jx_array_get(jx_tree_get_array(out[2], "loss"), 0);
            jx_tree_free(out[2]);
            sum += loss;
            if (curve) curve[e * steps + s] = loss;
        }
        printf("epoch %d: mean %s %.4f\n", e + 1, what, sum / (double)steps);
        fflush(stdout);
    }
    return 0;
}
