/* 25_seq2seq_attention: the recurrent translator that attention was invented for
 * (Bahdanau et al. 2015, in the form of Luong et al. 2015): a bidirectional GRU encoder
 * reads the source, a GRU decoder reads the target so far, and at each step the
 * decoder's state scores every source position ("general" score h W e_s), softmax over
 * the real source words gives the attention weights, and their weighted sum of encoder
 * states joins the decoder state to predict the next word. Same made-up language pair as
 * tutorial 05's Transformer (common/translate.h). Shows jx_nn_rnn with the GRU cell
 * (three scans: forward, backward with reverse = 1, and the decoder starting from the
 * encoder's final carry), jx_einsum for the scores and the context, a masked softmax
 * (jx_select), the gradient through all three scans in one jitted step, and the
 * attention matrix returned by a second traced function and drawn with jx_plot_heatmap.
 * See README.md. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/layers.h>
#include <jx/optim.h>
#include <jx/plot.h>
#include <jx/tree.h>

#include "transformer.h" /* tfm_kernel: normal / sqrt(fan in) */
#include "translate.h"
#include "tut.h"

enum { E = 32, H = 64, TD = TR_TGT - 1 };

static void gru_params(const jx_tree *p, const char *name, jx_val *out) {
    const char *k[4] = {"wi", "bi", "wh", "bh"};
    char path[64];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s.%s", name, k[i]);
        out[i] = jx_tree_get_val(p, path);
    }
}

/* Logits (B,TD,V) for sources src (B,TR_SRC) and decoder inputs tin (B,TD); *attn (may
 * be NULL) gets the attention weights (B,TD,TR_SRC). */
static jx_val attend(const jx_tree *p, jx_val src, jx_val tin, jx_val *attn) {
    int64_t b = jx_dim(src, 0);
    jx_val pf[4], pb[4], pd[4], last;
    gru_params(p, "enc_f", pf), gru_params(p, "enc_b", pb), gru_params(p, "dec", pd);
    jx_val es = jx_nn_embedding(jx_tree_get_val(p, "src_emb"), src), zero = jx_full(JX_F32, JX_INTS(b, H), 0);
    jx_val both[2] = {jx_nn_rnn(JX_NN_CELL_GRU, pf, es, &zero, 0, &last), jx_nn_rnn(JX_NN_CELL_GRU, pb, es, &zero, 1, NULL)};
    jx_val enc = jx_concatenate(2, both, 2); /* (B,S,2H) */
    jx_val dec = jx_nn_rnn(JX_NN_CELL_GRU, pd, jx_nn_embedding(jx_tree_get_val(p, "tgt_emb"), tin), &last, 0, NULL);
    jx_val q = jx_nn_dense(dec, jx_tree_get_val(p, "attn.w"), JX_NONE), qe[2] = {q, enc};
    jx_val keys = jx_reshape(jx_ne(src, jx_scalar(JX_I32, TR_PAD)), JX_INTS(b, 1, TR_SRC));
    jx_val scores = jx_select(keys, jx_einsum("btd,bsd->bts", 2, qe), jx_scalar(JX_F32, -FLT_MAX));
    jx_val a = jx_softmax(scores, -1), ae[2] = {a, enc};
    jx_val oc[2] = {jx_einsum("bts,bsd->btd", 2, ae), dec};
    jx_val o = jx_tanh(jx_nn_dense(jx_concatenate(2, oc, 2), jx_tree_get_val(p, "comb.w"), jx_tree_get_val(p, "comb.b")));
    if (attn) *attn = a;
    return jx_nn_dense(o, jx_tree_get_val(p, "out.w"), jx_tree_get_val(p, "out.b"));
}

/* tr_model's forward: the logits alone. */
static jx_val forward(void *user, const jx_tree *p, jx_val src, jx_val tin) {
    (void)user;
    return attend(p, src, tin, NULL);
}

/* in[1] {src, tgt}: out[0] the attention weights with the reference as decoder input. */
static void attention_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_val tgt = jx_tree_get_val(in[1], "tgt"), a;
    (void)user;
    attend(in[0], jx_tree_get_val(in[1], "src"), jx_slice(tgt, JX_INTS(0, 0), JX_INTS(jx_dim(tgt, 0), TD), JX_NOINTS), &a);
    out[0] = jx_tree_val(a);
}

static void gru_init(jx_tree *p, const char *name, uint64_t seed) {
    char path[64];
    snprintf(path, sizeof path, "%s.wi", name), jx_tree_set_array(p, path, tfm_kernel(seed, E, 3 * H));
    snprintf(path, sizeof path, "%s.bi", name), jx_tree_set_array(p, path, jx_array_zeros(JX_F32, JX_INTS(3 * H)));
    snprintf(path, sizeof path, "%s.wh", name), jx_tree_set_array(p, path, tfm_kernel(seed + 1, H, 3 * H));
    snprintf(path, sizeof path, "%s.bh", name), jx_tree_set_array(p, path, jx_array_zeros(JX_F32, JX_INTS(3 * H)));
}

static jx_tree *init_params(uint64_t seed) {
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "src_emb", tut_weights(seed, TR_VOCAB, E, 1.0));
    jx_tree_set_array(p, "tgt_emb", tut_weights(seed + 1, TR_VOCAB, E, 1.0));
    gru_init(p, "enc_f", seed + 2), gru_init(p, "enc_b", seed + 4), gru_init(p, "dec", seed + 6);
    jx_tree_set_array(p, "attn.w", tfm_kernel(seed + 8, H, 2 * H));
    jx_tree_set_array(p, "comb.w", tfm_kernel(seed + 9, 3 * H, H));
    jx_tree_set_array(p, "comb.b", jx_array_zeros(JX_F32, JX_INTS(H)));
    jx_tree_set_array(p, "out.w", tfm_kernel(seed + 10, H, TR_VOCAB));
    jx_tree_set_array(p, "out.b", jx_array_zeros(JX_F32, JX_INTS(TR_VOCAB)));
    return p;
}

/* The attention matrix of test pair k (a sentence with adjectives on both sides), rows
 * the target's words and EOS, columns the source's, to o->out/attention.png. */
static int plot_attention(const char *prog, jx_tree *params, const tr_data *te, const trainer_opts *o) {
    int64_t k = 0;
    while (k + 1 < te->n && te->src[k * TR_SRC + 6] != TR_EOS) k++; /* 6 words: 2 + 1 + 1 + 2 */
    jx_tree *b = tr_pairs_tree(te, k, 1), *in[2] = {params, b}, *out = NULL;
    jx_tree_fn *fn = jx_tree_trace("attention", attention_body, NULL, 2, in, 1);
    jx_exec *x = tut_jit(fn, o, 0);
    int status = !x || jx_tree_fn_run(fn, x, 2, in, 1, &out) != JX_OK;
    if (status) tut_fail(prog, "the attention matrix");
    else if (o->out && jx_plot_available()) {
        const int32_t *src = te->src + k * TR_SRC, *tgt = te->tgt + k * TR_TGT + 1;
        int rows = 0, cols = 0;
        while (rows < TD && tgt[rows] != TR_PAD) rows++;
        while (cols < TR_SRC && src[cols] != TR_PAD) cols++;
        const float *a = jx_array_data(jx_tree_leaf_array(jx_tree_leaf(out, 0)));
        double v[TD * TR_SRC];
        const char *rl[TD], *cl[TR_SRC];
        for (int r = 0; r < rows; r++) {
            rl[r] = tgt[r] == TR_EOS ? "EOS" : tr_word(tgt[r], 1);
            for (int c = 0; c < cols; c++) v[r * cols + c] = a[r * TR_SRC + c];
        }
        for (int c = 0; c < cols; c++) cl[c] = src[c] == TR_EOS ? "EOS" : tr_word(src[c], 0);
        char path[4096];
        if (jx_plot_heatmap(tut_path(path, sizeof path, o, "attention.png"), "Attention weights",
                            rows, cols, v, rl, cl, 40) == JX_OK)
            printf("wrote %s\n", path);
    }
    jx_tree_free(out), jx_tree_free(b), jx_exec_release(x), jx_tree_fn_free(fn);
    return status;
}

int main(int argc, char **argv) {
    const char *prog = "tut_25_seq2seq_attention";
    trainer_opts o = {.epochs = 2, .batch = 64, .lr = 3e-3, .seed = 0};
    long ntrain = 6400;
    trainer_extra ex[] = {{"--pairs", "N", "training sentence pairs (default 6400)", TRAINER_LONG, 64, 1 << 22, &ntrain}};
    int quick, r = tut_parse(prog, "Translation with a GRU encoder-decoder and attention (jx_nn_rnn as scans, einsum, "
                                   "masked softmax, Adam, jit). --epochs: passes over the training pairs.",
                             argc, argv, &o, ex, 1, &quick);
    if (r) return r == 1 ? 0 : 2;
    tr_data tr, te;
    const int64_t steps = tr_setup(prog, quick, &o, ntrain, &tr, &te);
    if (!steps) return 2;
    jx_tree *params = init_params(o.seed + 10);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params);
    printf("%lld parameters\n", (long long)jx_tree_num_params(params));

    jx_tree *b0 = tr_pairs_tree(&tr, 0, o.batch), *tin[3] = {params, state, b0};
    tr_model tm = {forward, NULL};
    tut_step body = {tr_loss, &opt, 1, NULL, &tm}; /* teacher-forced cross-entropy, gradients, Adam */
    jx_tree_fn *step = jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3);
    jx_tree_free(b0);
    jx_exec *exec = tut_jit(step, &o, 2);
    if (!exec) return tut_fail(prog, "building the training step");

    tr_batches bs = {&tr, o.batch};
    tut_loop loop = {"train cross-entropy", o.epochs, steps, tr_next_batch, &bs, NULL, NULL};
    tut_timer t = tut_timer_start();
    int status = tut_train(prog, step, exec, &params, &state, &loop);
    tut_timer_stop(&t, "training");

    double acc = NAN;
    if (!status) status = tr_evaluate(prog, &tm, params, &te, &o, &acc);
    if (!status) status = plot_attention(prog, params, &te, &o);
    jx_exec_release(exec), jx_tree_fn_free(step), jx_tree_free(params), jx_tree_free(state), tr_free(&tr), tr_free(&te);
    if (status) return status;
    /* chance is 1 in 30 words; copying the source's words in place scores 4% */
    return tut_quick_check(quick, "token accuracy", acc, 0.6, 1);
}
