/* 02_rnn_sentiment: a GRU reads a review word by word and its last state says whether the
 * review is positive. Words are tokenised and numbered by a vocabulary built from the
 * training reviews, embedded (jx_nn_embedding: a learned table), read by jx_nn_rnn's GRU
 * cell (one scan in the IR: grad differentiates through time, jit compiles the loop) and
 * classified by a dense layer; the training step -- loss, gradients as a tree, Adam -- is
 * one jitted function. A second jitted function returns the classifier's answer after
 * every word, to show the GRU changing its mind at "not" and "but". IMDB is not
 * installable: the reviews are generated (common/sentiment.h), with negations and turns
 * that a bag of words cannot read. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/nn.h>

#include "sentiment.h"
#include "tut.h"

enum { T = 20, E = 16, H = 32, NTEST = 1000, SHOWN = 4 };

/* The GRU's states (B,T,H) for token ids (B,T), left-padded: the last state has read
 * the whole review. */
static jx_val states(const jx_tree *p, jx_val ids) {
    jx_val x = jx_nn_embedding(jx_tree_get_val(p, "emb"), ids); /* (B,T,E) */
    jx_val gru[4] = {jx_tree_get_val(p, "gru.wi"), jx_tree_get_val(p, "gru.bi"), jx_tree_get_val(p, "gru.wh"),
                     jx_tree_get_val(p, "gru.bh")};
    jx_val h0 = jx_broadcast_to(jx_scalar(JX_F32, 0), JX_INTS(jx_dim(ids, 0), H));
    return jx_nn_rnn(JX_NN_CELL_GRU, gru, x, &h0, 0, NULL);
}

static jx_val head(const jx_tree *p, jx_val h) {
    return jx_nn_dense(h, jx_tree_get_val(p, "head.w"), jx_tree_get_val(p, "head.b"));
}

/* in: params, {ids (B,T), y (B)}. out[0]: the mean softmax cross-entropy of the logits
 * of the last state. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val hs = states(in[0], jx_tree_get_val(in[1], "ids"));
    jx_val last = jx_reshape(jx_slice(hs, JX_INTS(0, T - 1, 0), JX_INTS(jx_dim(hs, 0), T, H), JX_NOINTS), JX_INTS(-1, H));
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(head(in[0], last), jx_tree_get_val(in[1], "y"), JX_LOSS_NO_IGNORE));
}

/* in: params, {ids}. out: {logits (B,T,2)}: the answer after each word. */
static void read_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "logits", head(in[0], states(in[0], jx_tree_get_val(in[1], "ids"))));
}

static jx_tree *init_params(uint64_t seed, int64_t vocab) {
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "emb", tut_weights(seed + 10, vocab, E, 1.0));
    jx_tree_set_array(p, "gru.wi", tut_weights(seed + 11, E, 3 * H, 1 / sqrt(E)));
    jx_tree_set_array(p, "gru.bi", jx_array_zeros(JX_F32, JX_INTS(3 * H)));
    jx_tree_set_array(p, "gru.wh", tut_weights(seed + 12, H, 3 * H, 1 / sqrt(H)));
    jx_tree_set_array(p, "gru.bh", jx_array_zeros(JX_F32, JX_INTS(3 * H)));
    jx_tree_set_array(p, "head.w", tut_weights(seed + 13, H, 2, 1 / sqrt(H)));
    jx_tree_set_array(p, "head.b", jx_array_zeros(JX_F32, JX_INTS(2)));
    return p;
}

/* P(positive) after each word of the first SHOWN test reviews with a "but" or a "not". */
static void plot_reading(const trainer_opts *o, const sent_corpus *c, const float *logits) {
    double p[SHOWN][T], x[SHOWN][T];
    jx_plot_series s[SHOWN];
    int n = 0;
    for (int64_t i = 0; i < c->n && n < SHOWN; i++) {
        if (!strstr(c->text[i], " but ") && !strstr(c->text[i], " not ")) continue;
        int words = 1;
        for (const char *q = c->text[i]; *q; q++) words += *q == ' ';
        if (words > T) continue;
        for (int t = 0; t < words; t++) {
            const float *l = logits + (i * T + T - words + t) * 2;
            p[n][t] = 1 / (1 + exp((double)l[0] - l[1])), x[n][t] = t + 1;
        }
        s[n] = (jx_plot_series){c->text[i], x[n], p[n], words}, n++;
    }
    char path[4096];
    if (n > 0 && jx_plot_lines(tut_path(path, sizeof path, o, "reading.png"),
                               "P(positive) after each word of four test reviews", "words read", "P(positive)", n, s,
                               1000, 500) == JX_OK)
        printf("wrote %s\n", path);
}

int main(int argc, char **argv) {
    const char *prog = "tut_02_rnn_sentiment";
    trainer_opts o = {.epochs = 5, .batch = 64, .lr = 1e-2, .seed = 0};
    long ntrain = 4000;
    trainer_extra ex[] = {{"--train", "N", "generated training reviews (default 4000)", TRAINER_LONG, 64, 1 << 22, &ntrain}};
    int quick, r = tut_parse(prog, "Sentiment of generated movie reviews with a GRU (embedding, jx_nn_rnn as a scan, "
                                   "Adam, jit). --limit caps --train.", argc, argv, &o, ex, 1, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 3, ntrain = 2000;
    if (o.limit && o.limit < ntrain) ntrain = o.limit;
    if (ntrain < o.batch) {
        fprintf(stderr, "%s: --batch %d is larger than the %ld training reviews\n", prog, o.batch, ntrain);
        return 2;
    }
    sent_corpus train, test;
    sent_vocab v;
    if (sent_corpus_make(&train, ntrain, o.seed + 1) || sent_corpus_make(&test, NTEST, o.seed + 2) ||
        sent_vocab_build(&v, &train, 1)) {
        fprintf(stderr, "%s: out of memory generating the reviews\n", prog);
        return 1;
    }
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(ntrain * T)), *tids = malloc(sizeof(int32_t) * NTEST * T);
    sent_encode(&v, &train, T, 1, ids), sent_encode(&v, &test, T, 1, tids);
    const int64_t steps = ntrain / o.batch;
    printf("%s: %ld training reviews, a vocabulary of %lld words, e.g. \"%s\" (%s)\n", prog, ntrain, (long long)v.n,
           train.text[0], train.label[0] ? "positive" : "negative");

    jx_tree *params = init_params(o.seed, v.n);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params), *b0 = sent_batch(ids, train.label, o.batch, T),
           *e0 = sent_batch(tids, NULL, NTEST, T);
    jx_tree *tin[3] = {params, state, b0}, *ein[2] = {params, e0};
    tut_step body = {loss_body, &opt, 1, NULL, NULL}; /* loss, gradients, Adam: common/tut.h */
    jx_tree_fn *step = jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3);
    jx_tree_fn *rd = jx_tree_trace("read", read_body, NULL, 2, ein, 1);
    jx_tree_free(b0);
    jx_exec *step_x = step && rd ? tut_jit(step, &o, 2) : NULL; /* params and optimizer state donated */
    jx_exec *rd_x = step_x ? tut_jit(rd, &o, 0) : NULL;
    if (!rd_x) return tut_fail(prog, "building the steps");

    double *curve = malloc(sizeof *curve * (size_t)(o.epochs * steps));
    sent_batches bs = {ids, train.label, o.batch, T};
    tut_loop loop = {"training loss", o.epochs, steps, sent_next_batch, &bs, curve, NULL};
    tut_timer t = tut_timer_start();
    int status = tut_train(prog, step, step_x, &params, &state, &loop);
    tut_timer_stop(&t, "training");

    jx_tree *in[2] = {params, e0}, *out = NULL;
    if (!status && jx_tree_fn_run(rd, rd_x, 2, in, 1, &out) != JX_OK) status = tut_fail(prog, "reading the test set");
    double acc = 0;
    if (!status) {
        const float *l = jx_array_data(jx_tree_get_array(out, "logits"));
        int64_t right = 0, turns = 0, turns_right = 0, counts[4] = {0};
        for (int64_t i = 0; i < NTEST; i++) {
            const float *last = l + (i * T + T - 1) * 2;
            int pred = last[1] > last[0], ok = pred == test.label[i], turn = strstr(test.text[i], " but ") != NULL;
            right += ok, turns += turn, turns_right += ok && turn, counts[test.label[i] * 2 + pred]++;
        }
        acc = (double)right / NTEST;
        printf("test accuracy %.2f%% over %d reviews (%.2f%% of the %lld with a \"but\"; 5%% of the labels are noise)\n",
               100 * acc, NTEST, 100.0 * (double)turns_right / (double)turns, (long long)turns);
        tut_metric("test_accuracy", acc);
        tut_plot_curve(&o, "loss.png", "GRU sentiment: training loss", "step", "cross-entropy",
                       "training loss (per step)", curve, o.epochs * steps);
        char path[4096];
        const char *names[2] = {"negative", "positive"};
        if (jx_plot_available() && jx_plot_confusion(tut_path(path, sizeof path, &o, "confusion.png"),
                                                     "Test reviews: true (rows) and predicted", 2, counts, names, 80) == JX_OK)
            printf("wrote %s\n", path);
        if (jx_plot_available()) plot_reading(&o, &test, l);
    }
    jx_tree_free(out), jx_tree_free(e0), free(curve), free(ids), free(tids);
    jx_tree_free(params), jx_tree_free(state);
    jx_exec_release(step_x), jx_exec_release(rd_x), jx_tree_fn_free(step), jx_tree_fn_free(rd);
    sent_vocab_free(&v), sent_corpus_free(&train), sent_corpus_free(&test);
    /* chance is 50% (the classes are balanced); the quick run (93 steps) reaches 94.6% */
    return status ? status : tut_quick_check(quick, "test accuracy", acc, 0.75, 1);
}
