/* 05_transformer_translation: a small encoder-decoder Transformer ("Attention is all you
 * need", pre-LayerNorm) learns to translate between two made-up languages that differ in
 * vocabulary and word order (common/translate.h). Shows jx's attention layers
 * (jx_nn_mha with padding and causal masks, jx_nn_layer_norm, jx_nn_embedding) in
 * blocks shared with the GPT of tutorial 16 (common/transformer.h), a masked
 * cross-entropy (jx_loss_softmax_ce_int_mean ignoring PAD), one jitted training step
 * (loss, gradients of a tree of 50 arrays, Adam), and greedy decoding by calling a second
 * jitted function once per output position. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/layers.h>
#include <jx/losses.h>
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

/* Logits (B,TD,V) of params for sources src (B,TR_SRC) and decoder inputs tin (B,TD). */
static jx_val forward(const model *m, const jx_tree *params, jx_val src, jx_val tin) {
    char name[32];
    int64_t b = jx_dim(src, 0);
    jx_val keys = jx_reshape(jx_ne(src, jx_scalar(JX_I32, TR_PAD)), JX_INTS(b, 1, 1, TR_SRC)); /* real source words */
    jx_val mem = tfm_embed(jx_tree_get_val(params, "src_emb"), src, m->pos);
    for (int l = 0; l < m->layers; l++) {
        snprintf(name, sizeof name, "enc%d", l);
        mem = tfm_block(params, name, mem, keys, JX_NONE, JX_NONE);
    }
    mem = tfm_ln(params, "enc_ln", mem);
    jx_val x = tfm_embed(jx_tree_get_val(params, "tgt_emb"), tin, m->pos), causal = jx_nn_causal_mask(TD);
    for (int l = 0; l < m->layers; l++) {
        snprintf(name, sizeof name, "dec%d", l);
        x = tfm_block(params, name, x, causal, mem, keys);
    }
    x = tfm_ln(params, "dec_ln", x);
    return jx_nn_dense(x, jx_tree_get_val(params, "out.w"), jx_tree_get_val(params, "out.b"));
}

/* tut_step loss: in[0] params, in[1] {src (B,TR_SRC), tgt (B,TR_TGT)}: teacher forcing,
 * the decoder reads tgt[:, :-1] and predicts tgt[:, 1:]; the mean cross-entropy over
 * the positions that are not PAD. */
static void loss(jx_tree **out, jx_tree *const *in, void *user) {
    jx_val src = jx_tree_get_val(in[1], "src"), tgt = jx_tree_get_val(in[1], "tgt");
    int64_t b = jx_dim(tgt, 0);
    jx_val tin = jx_slice(tgt, JX_INTS(0, 0), JX_INTS(b, TD), JX_NOINTS);
    jx_val labels = jx_slice(tgt, JX_INTS(0, 1), JX_INTS(b, TR_TGT), JX_NOINTS);
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(forward(user, in[0], src, tin), labels, TR_PAD));
}

/* in[0] params, in[1] {src, tin}: out[0] the logits. */
static void logits_body(jx_tree **out, jx_tree *const *in, void *user) {
    out[0] = jx_tree_val(forward(user, in[0], jx_tree_get_val(in[1], "src"), jx_tree_get_val(in[1], "tin")));
}

static jx_tree *init_params(int layers, uint64_t seed) {
    char name[32];
    tfm_dims dims = {D, HEADS, FF};
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "src_emb", tut_weights(seed, TR_VOCAB, D, 1.0));
    jx_tree_set_array(p, "tgt_emb", tut_weights(seed + 1, TR_VOCAB, D, 1.0));
    for (int l = 0; l < layers; l++) {
        snprintf(name, sizeof name, "enc%d", l);
        tfm_block_init(p, name, &dims, 0, seed + 100 + 16 * (uint64_t)l);
        snprintf(name, sizeof name, "dec%d", l);
        tfm_block_init(p, name, &dims, 1, seed + 200 + 16 * (uint64_t)l);
    }
    tfm_ln_init(p, "enc_ln", D);
    tfm_ln_init(p, "dec_ln", D);
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
    if (quick) ntrain = 2560, o.epochs = 2;
    if (o.limit > 0 && o.limit < ntrain) ntrain = o.limit;
    const int64_t ntest = quick ? 200 : 1000, steps = ntrain / o.batch;
    if (steps < 1) {
        fprintf(stderr, "%s: --batch %d is larger than the %ld training pairs\n", prog, o.batch, ntrain);
        return 2;
    }
    tr_data tr = tr_generate(o.seed + 1, ntrain), te = tr_generate(o.seed + 2, ntest);
    model m = {(int)layers, tfm_positions(TR_TGT, D)};
    jx_tree *params = init_params(m.layers, o.seed + 10);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params);
    printf("%lld training pairs, %lld test pairs, %lld parameters\n", (long long)ntrain, (long long)ntest,
           (long long)jx_tree_num_params(params));

    jx_tree *b0 = tr_pairs_tree(&tr, 0, o.batch), *tin[3] = {params, state, b0};
    tut_step body = {loss, &opt, 1, NULL, &m};
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
    if (!status) status = tr_evaluate(prog, logits_body, &m, params, &te, &o, &acc);
    free(curve), jx_exec_release(exec), jx_tree_fn_free(step);
    jx_tree_free(params), jx_tree_free(state), jx_array_release(m.pos), tr_free(&tr), tr_free(&te);
    if (status) return status;
    /* chance is 1 in 30 words; copying the source's words in place scores 4% */
    return tut_quick_check(quick, "token accuracy", acc, 0.6, 1);
}
