/* surgery_freeze.c: the gradient of a model with frozen parameters. The frozen leaves
 * enter the loss as an extra input tree that no gradient is asked for, so reverse mode
 * never builds a cotangent for them (and jit has nothing to run for them); the loss
 * body itself still sees one merged parameter tree. */
#include <stdlib.h>

#include <jx/surgery.h>

typedef struct frozen_ctx {
    jx_tree_body body;
    void *user;
    int nin, argnum;
} frozen_ctx;

/* in[0..nin) as the caller gave them, in[nin] the frozen leaves: calls the user's
 * body with in[argnum] merged with them. */
static void frozen_body(jx_tree **out, jx_tree *const *in, void *user) {
    const frozen_ctx *c = user;
    jx_tree **args = malloc((size_t)c->nin * sizeof *args);
    jx_tree *merged = args ? jx_tree_merge(in[c->argnum], in[c->nin]) : NULL;
    if (!merged) {
        if (!args) jx_error_at(JX_HERE, JX_ERR_NOMEM, "tree_value_and_grad_frozen", "out of memory");
        free(args);
        return;
    }
    for (int i = 0; i < c->nin; i++) args[i] = i == c->argnum ? merged : in[i];
    c->body(out, args, c->user);
    jx_tree_free(merged);
    free(args);
}

jx_status jx_tree_value_and_grad_frozen_at(jx_loc loc, jx_tree_body body, void *user, int nin,
                                           jx_tree *const *in, int argnum, const jx_tree *frozen,
                                           int nout, jx_tree **out, jx_tree **grad) {
    if (!body || !in || !frozen || nin < 1 || argnum < 0 || argnum >= nin)
        return jx_error_at(loc, JX_ERR_ARG, "tree_value_and_grad_frozen", "bad arguments (argnum %d of %d inputs)",
                           argnum, nin);
    jx_tree **args = malloc((size_t)(nin + 1) * sizeof *args);
    if (!args) return jx_error_at(loc, JX_ERR_NOMEM, "tree_value_and_grad_frozen", "out of memory");
    for (int i = 0; i < nin; i++) args[i] = in[i];
    args[nin] = (jx_tree *)frozen; /* only read */
    frozen_ctx c = {body, user, nin, argnum};
    jx_status st = jx_tree_value_and_grad_at(loc, frozen_body, &c, nin + 1, args, argnum, nout, out, grad);
    free(args);
    return st;
}
