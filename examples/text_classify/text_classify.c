/* text_classify.c: sentiment classification in the shape of the "getting started with NLP
 * in JAX" notebooks, in C with jx: tokenise the reviews, build a vocabulary from the
 * training set, turn each review into padded ids, embed them, then either pool (the mean
 * of the word vectors: a bag of words) or recur (a GRU reading in order), classify with a
 * dense head, train with Adam in one jitted step, and evaluate on the test reviews;
 * --predict classifies a sentence of your own.
 *
 *   usage: text_classify [--data DIR] [--model bag|gru] [--len N] [--min-count N]
 *                        [--predict TEXT] [--epochs N] [--batch N] [--lr X] [--limit N]
 *                        [--seed N] [--threads N] [--device cpu|interp|cuda] [--out DIR]
 *
 * Without --data the reviews are generated (examples/tutorials/common/sentiment.h: IMDB is
 * not installable; its negations and "but" turns defeat a bag of words); --data DIR reads
 * DIR/train.tsv and DIR/test.tsv, one "LABEL<tab>text" per line (label 0 or 1), e.g. IMDB
 * converted by a line of shell. Prints "test accuracy NN.NN%"; under --out DIR the
 * training loss curve (text_classify_loss.png). See README.md's "Text classification". */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/nn.h>

#include "sentiment.h"
#include "text_data.h"
#include "tut.h"

enum { D = 32, EVAL = 500, NTEST = 1000, NTRAIN = 4000 };

typedef struct model {
    int gru;   /* 0: the mean of the word vectors (bag of words); 1: a GRU's last state */
    int64_t len;
} model;

/* Logits (B,2) of ids (B,len): bag ids are right-padded, GRU ids left-padded. */
static jx_val forward(const model *m, const jx_tree *p, jx_val ids) {
    jx_val x = jx_nn_embedding(jx_tree_get_val(p, "emb"), ids); /* (B,len,D) */
    jx_val h;
    if (m->gru) {
        jx_val gru[4] = {jx_tree_get_val(p, "gru.wi"), jx_tree_get_val(p, "gru.bi"), jx_tree_get_val(p, "gru.wh"),
                         jx_tree_get_val(p, "gru.bh")};
        jx_val h0 = jx_broadcast_to(jx_scalar(JX_F32, 0), JX_INTS(jx_dim(ids, 0), D)), last;
        jx_nn_rnn(JX_NN_CELL_GRU, gru, x, &h0, 0, &last);
        h = last;
    } else { /* the mean over the real words: padding is masked out */
        jx_val mask = jx_convert(jx_ne(ids, jx_zeros_like(ids)), JX_F32);                  /* (B,len) */
        jx_val sum = jx_sum(jx_mul(x, jx_expand_dims(mask, JX_INTS(2))), JX_INTS(1));      /* (B,D) */
        jx_val count = jx_max_s(jx_sum(mask, JX_INTS(1)), 1);                               /* (B) */
        h = jx_relu(jx_nn_dense(jx_div(sum, jx_expand_dims(count, JX_INTS(1))), jx_tree_get_val(p, "hidden.w"),
                                jx_tree_get_val(p, "hidden.b")));
    }
    return jx_nn_dense(h, jx_tree_get_val(p, "head.w"), jx_tree_get_val(p, "head.b"));
}

/* in: params, {ids, y}. out[0]: the mean softmax cross-entropy. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_val logits = forward(user, in[0], jx_tree_get_val(in[1], "ids"));
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[1], "y"), JX_LOSS_NO_IGNORE));
}

/* in: params, {ids}. out: {p}: P(positive) (B). */
static void prob_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_val logits = forward(user, in[0], jx_tree_get_val(in[1], "ids"));
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "p", jx_reshape(jx_slice(jx_softmax(logits, 1), JX_INTS(0, 1), JX_INTS(jx_dim(logits, 0), 2),
                                                     JX_NOINTS), JX_INTS(-1)));
}

static jx_tree *init_params(const model *m, uint64_t seed, int64_t vocab) {
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "emb", tut_weights(seed + 10, vocab, D, 1.0));
    if (m->gru) {
        jx_tree_set_array(p, "gru.wi", tut_weights(seed + 11, D, 3 * D, 1 / sqrt(D)));
        jx_tree_set_array(p, "gru.bi", jx_array_zeros(JX_F32, JX_INTS(3 * D)));
        jx_tree_set_array(p, "gru.wh", tut_weights(seed + 12, D, 3 * D, 1 / sqrt(D)));
        jx_tree_set_array(p, "gru.bh", jx_array_zeros(JX_F32, JX_INTS(3 * D)));
    } else {
        jx_tree_set_array(p, "hidden.w", tut_weights(seed + 11, D, D, sqrt(2.0 / D)));
        jx_tree_set_array(p, "hidden.b", jx_array_zeros(JX_F32, JX_INTS(D)));
    }
    jx_tree_set_array(p, "head.w", tut_weights(seed + 13, D, 2, 1 / sqrt(D)));
    jx_tree_set_array(p, "head.b", jx_array_zeros(JX_F32, JX_INTS(2)));
    return p;
}

/* P(positive) of n encoded reviews, EVAL at a time (the last batch padded); 0 or 1. */
static int probabilities(const jx_tree_fn *f, jx_exec *x, jx_tree *params, const int32_t *ids, int64_t n,
                         int64_t len, float *p) {
    int32_t *buf = malloc(sizeof(int32_t) * (size_t)(EVAL * len));
    int status = buf ? 0 : 1;
    for (int64_t first = 0; first < n && !status; first += EVAL) {
        int64_t k = n - first < EVAL ? n - first : EVAL;
        memset(buf, 0, sizeof(int32_t) * (size_t)(EVAL * len));
        memcpy(buf, ids + first * len, sizeof(int32_t) * (size_t)(k * len));
        jx_tree *b = sent_batch(buf, NULL, EVAL, len), *in[2] = {params, b}, *out = NULL;
        if (jx_tree_fn_run(f, x, 2, in, 1, &out) == JX_OK)
            memcpy(p + first, jx_array_data(jx_tree_get_array(out, "p")), sizeof(float) * (size_t)k);
        else status = 1;
        jx_tree_free(b), jx_tree_free(out);
    }
    free(buf);
    return status;
}

/* The reviews: generated, or DIR/{train,test}.tsv. 0, or 1 after printing the error. */
static int load(const char *prog, const trainer_opts *o, sent_corpus *train, sent_corpus *test) {
    char path[4096], msg[4200];
    if (!o->data) {
        long n = o->limit > 0 ? o->limit : NTRAIN;
        if (sent_corpus_make(train, n, o->seed + 1) == 0 && sent_corpus_make(test, NTEST, o->seed + 2) == 0) return 0;
        fprintf(stderr, "%s: out of memory generating %ld reviews\n", prog, n);
        return 1;
    }
    snprintf(path, sizeof path, "%s/train.tsv", o->data);
    if (text_read_tsv(train, path, o->limit, msg, sizeof msg) == 0) {
        snprintf(path, sizeof path, "%s/test.tsv", o->data);
        if (text_read_tsv(test, path, 0, msg, sizeof msg) == 0) return 0;
        sent_corpus_free(train);
    }
    fprintf(stderr, "%s: %s\n", prog, msg);
    return 1;
}

int main(int argc, char **argv) {
    const char *prog = "text_classify";
    trainer_opts o = {.epochs = 5, .batch = 64, .lr = 1e-2, .out = TRAINER_OUT("text_classify"), .checkpoints = 1,
                      .data_help = "DIR holding train.tsv and test.tsv (LABEL<tab>text lines; default: generated reviews)"};
    const char *model_name = "gru", *predict = NULL;
    long len = 24, min_count = 1;
    trainer_extra ex[] = {
        {"--model", "bag|gru", "pool the word vectors (a bag of words) or read them with a GRU (default gru)",
         TRAINER_STRING, 0, 0, &model_name},
        {"--len", "N", "tokens kept per review (default 24)", TRAINER_LONG, 1, 4096, &len},
        {"--min-count", "N", "words seen fewer times in training become <unk> (default 1)", TRAINER_LONG, 1, 1L << 30, &min_count},
        {"--predict", "TEXT", "after training, classify TEXT", TRAINER_STRING, 0, 0, &predict},
    };
    int r = trainer_parse(prog, "Sentiment classification: tokenise, vocabulary, embed, pool or recur, classify, "
                                "evaluate (jx's nn layer, jit). --limit: training reviews.", argc, argv, &o, ex, 4);
    if (r) return r == 1 ? 0 : 2;
    if (strcmp(model_name, "bag") && strcmp(model_name, "gru")) {
        fprintf(stderr, "%s: --model is bag or gru, not '%s'\n", prog, model_name);
        return 2;
    }
    model m = {!strcmp(model_name, "gru"), len};

    /* 1. the reviews, tokenised; 2. the vocabulary of the training set; 3. padded ids */
    sent_corpus train, test;
    sent_vocab v;
    if (load(prog, &o, &train, &test)) return 1;
    if (sent_vocab_build(&v, &train, min_count)) {
        fprintf(stderr, "%s: out of memory building the vocabulary\n", prog);
        return 1;
    }
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(train.n * len)), *tids = malloc(sizeof(int32_t) * (size_t)(test.n * len));
    sent_encode(&v, &train, len, m.gru, ids), sent_encode(&v, &test, len, m.gru, tids);
    int64_t B = o.batch < train.n ? o.batch : train.n, steps = train.n / B;
    printf("%s: %lld training reviews from %s, %lld test reviews, a vocabulary of %lld words; the first:\n  %s  (%s)\n",
           prog, (long long)train.n, o.data ? o.data : "the generator", (long long)test.n, (long long)v.n, train.text[0],
           train.label[0] ? "positive" : "negative");

    /* 4. the model and its jitted training step and scorer */
    jx_tree *params = init_params(&m, o.seed, v.n);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    int32_t *blank = calloc((size_t)(EVAL * len), sizeof(int32_t)); /* the scorer's shapes: EVAL rows of padding */
    jx_tree *state = jx_optim_init(&opt, params), *b0 = sent_batch(ids, train.label, B, len), *e0 = sent_batch(blank, NULL, EVAL, len);
    jx_tree *tin[3] = {params, state, b0}, *ein[2] = {params, e0};
    tut_step body = {loss_body, &opt, 1, NULL, &m};
    jx_tree_fn *step = jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3);
    jx_tree_fn *pr = jx_tree_trace("probabilities", prob_body, &m, 2, ein, 1);
    jx_tree_free(b0), jx_tree_free(e0), free(blank);
    jx_exec *step_x = step && pr ? tut_jit(step, &o, 2) : NULL, *pr_x = step_x ? tut_jit(pr, &o, 0) : NULL;
    if (!pr_x) return tut_fail(prog, "building the model");

    /* 5. training; 6. evaluation */
    double *curve = malloc(sizeof *curve * (size_t)(o.epochs * steps));
    sent_batches bs = {ids, train.label, B, len};
    tut_loop loop = {"training loss", o.epochs, steps, sent_next_batch, &bs, curve, NULL};
    int status = tut_train(prog, step, step_x, &params, &state, &loop);
    float *p = malloc(sizeof(float) * (size_t)test.n);
    if (!status && probabilities(pr, pr_x, params, tids, test.n, len, p)) status = tut_fail(prog, "scoring the test set");
    if (!status) {
        int64_t right = 0;
        for (int64_t i = 0; i < test.n; i++) right += (p[i] > 0.5f) == test.label[i];
        printf("test accuracy %.2f%% (%lld of %lld reviews, %s model)\n", 100.0 * (double)right / (double)test.n,
               (long long)right, (long long)test.n, m.gru ? "GRU" : "bag-of-words");
        tut_plot_curve(&o, "text_classify_loss.png", "text_classify: training loss", "step", "cross-entropy",
                       "training loss (per step)", curve, o.epochs * steps);
    }
    if (!status && predict) { /* 7. a sentence of your own, through the same steps */
        char tok[4096];
        text_tokenise(predict, tok, sizeof tok);
        sent_corpus one = {1, (char *[]){tok}, (int32_t[]){0}};
        int32_t *oid = malloc(sizeof(int32_t) * (size_t)len);
        sent_encode(&v, &one, len, m.gru, oid);
        float q;
        if (probabilities(pr, pr_x, params, oid, 1, len, &q)) status = tut_fail(prog, "--predict");
        else {
            printf("\"%s\" ->", tok);
            for (int64_t t = 0; t < len; t++)
                if (oid[t] != SENT_PAD) printf(" %s", v.word[oid[t]]);
            printf(": P(positive) %.3f\n", q);
        }
        free(oid);
    }
    free(p), free(curve), free(ids), free(tids);
    jx_tree_free(params), jx_tree_free(state);
    jx_exec_release(step_x), jx_exec_release(pr_x), jx_tree_fn_free(step), jx_tree_fn_free(pr);
    sent_vocab_free(&v), sent_corpus_free(&train), sent_corpus_free(&test);
    return status;
}
