/* mnist_feed.c: see mnist_feed.h. */
#include "mnist_feed.h"

#include <stdio.h>

int tut_mnist_open(const char *prog, const trainer_opts *o, int quick, int64_t eval_batch, const char **dir,
                   jx_idx_split *train, jx_idx_split *test, int64_t *ntrain, int64_t *ntest) {
    *dir = o->data ? o->data : tut_mnist_dir();
    if (mnist_load(prog, *dir, train, test) != 0) return -1;
    *ntrain = jx_array_shape(train->labels)[0], *ntest = jx_array_shape(test->labels)[0];
    if (o->limit > 0 && o->limit < *ntrain) *ntrain = o->limit;
    if (quick && *ntest > 1000) *ntest = 1000;
    *ntest -= *ntest % eval_batch;
    return 0;
}

jx_tree *tut_feed_batch(int64_t i, int64_t step, void *user) {
    const tut_feed *f = user;
    jx_tree *b = jx_tree_dict();
    if (!b) return NULL;
    jx_ints shape = f->nhwc ? JX_INTS(f->n, 28, 28, 1) : JX_INTS(f->n, MNIST_PIXELS);
    int ok = jx_tree_set_array(b, "x", mnist_images(f->split->images, f->idx, i * f->n, f->n, shape)) == JX_OK;
    if (ok && f->labels) ok = jx_tree_set_array(b, "y", mnist_labels(f->split->labels, f->idx, i * f->n, f->n, 0)) == JX_OK;
    if (ok && f->key) ok = jx_tree_set_array(b, "key", jx_array_retain(f->key)) == JX_OK &&
                           jx_tree_set_array(b, "step", jx_array_scalar(JX_I32, (double)step)) == JX_OK;
    if (ok) return b;
    jx_tree_free(b);
    return NULL;
}
