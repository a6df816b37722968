/* 05_transformer_translation: a small encoder-decoder Transformer ("Attention is all you
 * need", pre-LayerNorm) learns to translate between two made-up languages that differ in
 * vocabulary and word order (common/translate.h). Shows jx's attention layers
 * (jx_nn_mha with padding and causal masks, jx_nn_layer_norm, jx_nn_embedding) in
 * blocks shared with the GPT of tutorial 16 (common/transformer.h), the masked
 * cross-entropy of common/translate.h (ignoring PAD), one jitted training step
 * (loss, gradients of a tree of 50 arrays, Adam), and greedy decoding by calling a second
 * jitted function once per output position. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/layers.h>
#include <jx/optim.h>
#include <jx/tree.h>

#include "transformer.h"
#include "translate.h"
#include "tut.h"

enum { D = 64, HEADS = 4, FF = 128, TD = TR_TGT - 1 /* decoder positions */ };

typedef struct model {
    int layers;
    jx_array *pos; /* (TR_TGT, D) position codes */
} model;

/* tr_model's forward: logits (B,TD,V) of params for sources src (B,TR_SRC) and decoder
 * inputs tin (B,TD). */
static jx_val forward(void *user, const jx_tree *params, jx_val src, jx_val tin) {
    const model *m = user;
    int64_t b = jx_dim(src, 0);
    jx_val keys = jx_reshape(jx_ne(src, jx_scalar(JX_I32, TR_PAD)), JX_INTS(b, 1, 1, TR_SRC)); /* real source words */
    jx_val mem = tfm_embed(jx_tree_get_val(params, "src_emb"), src, m->pos);
    mem = tfm_stack(params, "enc", m->layers, mem, keys, JX_NONE, JX_NONE);
    jx_val x = tfm_embed(jx_tree_get_val(params, "tgt_emb"), tin, m->pos);
    x = tfm_stack(params, "dec", m->layers, x, jx_nn_causal_mask(TD), mem, keys);
    return jx_nn_dense(x, jx_tree_get_val(params, "out.w"), jx_tree_get_val(params, "out.b"));
}

static jx_tree *init_params(int layers, uint64_t seed) {
    tfm_dims dims = {D, HEADS, FF};
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "src_emb", tut_weights(seed, TR_VOCAB, D, 1.0));
    jx_tree_set_array(p, "tgt_emb", tut_weights(seed + 1, TR_VOCAB, D, 1.0));
    tfm_stack_init(p, "enc", layers, &dims, 0, seed + 100);
    tfm_stack_init(p, "dec", layers, &dims, 1, seed + 200);
    jx_tree_set_array(p, "out.w", tfm_kernel(seed + 2, D, TR_VOCAB));
    jx_tree_set_array(p, "out.b", jx_array_zeros(JX_F32, JX_INTS(TR_VOCAB)));
    return p;
}

int main(int argc, char **argv) {
    const char *prog = "tut_05_transformer_translation";
    trainer_opts o = {.epochs = 2, .batch = 64, .lr = 2e-3, .seed = 0};
    long ntrain = 6400, layers = 1;
    trainer_extra ex[] = {{"--pairs", "N", "training sentence pairs (default 6400)", TRAINER_LONG, 64, 1 << 22, &ntrain},
                          {"--layers", "L", "encoder and decoder blocks (default 1 each)", TRAINER_LONG, 1, 8, &layers}};
    int quick, r = tut_parse(prog, "Translation between two made-up languages with an encoder-decoder Transformer "
                                   "(jx_nn_mha with masks, layer norm, Adam, jit; greedy decoding). --epochs: passes "
                                   "over the training pairs.", argc, argv, &o, ex, 2, &quick);
    if (r) return r == 1 ? 0 : 2;
    tr_data tr, te;
    const int64_t steps = tr_setup(prog, quick, &o, ntrain, &tr, &te);
    if (!steps) return 2;
    model m = {(int)layers, tfm_positions(TR_TGT, D)};
    jx_tree *params = init_params(m.layers, o.seed + 10);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params);
    printf("%lld parameters\n", (long long)jx_tree_num_params(params));

    jx_tree *b0 = tr_pairs_tree(&tr, 0, o.batch), *tin[3] = {params, state, b0};
    tr_model tm = {forward, &m};
    tut_step body = {tr_loss, &opt, 1, NULL, &tm}; /* teacher-forced cross-entropy, gradients, Adam */
    jx_tree_fn *step = jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3);
    jx_tree_free(b0);
    jx_exec *exec = tut_jit(step, &o, 2);
    if (!exec) return tut_fail(prog, "building the training step");

    double *curve = malloc(sizeof(double) * (size_t)(o.epochs * steps));
    tr_batches bs = {&tr, o.batch};
    tut_loop loop = {"train cross-entropy", o.epochs, steps, tr_next_batch, &bs, curve, NULL};
    tut_timer t = tut_timer_start();
    int status = tut_train(prog, step, exec, &params, &state, &loop);
    tut_timer_stop(&t, "training");
    if (!status) tut_plot_curve(&o, "loss.png", "Training cross-entropy per step", "step", "nats per token",
                                "train", curve, o.epochs * steps);

    /* greedy decoding of the test sources: one jitted call per output position */
    double acc = NAN;
    if (!status) status = tr_evaluate(prog, &tm, params, &te, &o, &acc);
    free(curve), jx_exec_release(exec), jx_tree_fn_free(step);
    jx_tree_free(params), jx_tree_free(state), jx_array_release(m.pos), tr_free(&tr), tr_free(&te);
    if (status) return status;
    /* chance is 1 in 30 words; copying the source's words in place scores 4% */
    return tut_quick_check(quick, "token accuracy", acc, 0.6, 1);
}
