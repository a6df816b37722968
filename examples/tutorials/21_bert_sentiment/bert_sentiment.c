/* 21_bert_sentiment: a small BERT-style encoder (token and position embeddings, two
 * pre-LN blocks of masked multi-head self-attention and a gelu MLP) is pre-trained on
 * unlabelled reviews by masked-token prediction (15% of the words hidden, predicted
 * through the embedding table tied to the output), then fine-tuned on a few labelled
 * reviews from its [cls] state; the same encoder fine-tuned from its random start is the
 * baseline. BERT and IMDB are not installable: the encoder is pre-trained here, on the
 * generated reviews of common/sentiment.h. Shows jx_nn_mha with a padding mask,
 * jx_nn_layer_norm, jx_gelu, a leaf used twice (tied embedding: grad sums both uses),
 * the cross-entropy's ignore label, one encoder under two heads, and a jitted step run
 * twice. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/nn.h>

#include "sentiment.h"
#include "tut.h"

enum { T = 21, D = 32, HEADS = 2, HD = D / HEADS, F = 64, LAYERS = 2, NTEST = 1000, IGNORE = -1 };

static jx_val get(const jx_tree *p, const char *fmt, int layer) {
    char path[64];
    snprintf(path, sizeof path, fmt, layer);
    return jx_tree_get_val(p, path);
}

/* The states (B,T,D) of ids (B,T): [cls] first, right-padded; padding is never attended. */
static jx_val encode(const jx_tree *p, jx_val ids) {
    int64_t b = jx_dim(ids, 0);
    jx_val x = jx_add(jx_nn_embedding(jx_tree_get_val(p, "tok"), ids),
                      jx_broadcast_to(jx_tree_get_val(p, "pos"), JX_INTS(b, T, D)));
    jx_val keep = jx_reshape(jx_ne(ids, jx_zeros_like(ids)), JX_INTS(b, 1, 1, T));
    for (int i = 0; i < LAYERS; i++) {
        jx_nn_mha_params a = {get(p, "l%d.wq", i), get(p, "l%d.bq", i), get(p, "l%d.wk", i), get(p, "l%d.bk", i),
                              get(p, "l%d.wv", i), get(p, "l%d.bv", i), get(p, "l%d.wo", i), get(p, "l%d.bo", i)};
        jx_val h = jx_nn_layer_norm(x, get(p, "l%d.ln1_s", i), get(p, "l%d.ln1_b", i), 1e-6);
        x = jx_add(x, jx_nn_mha(h, h, &a, keep));
        h = jx_nn_layer_norm(x, get(p, "l%d.ln2_s", i), get(p, "l%d.ln2_b", i), 1e-6);
        h = jx_gelu(jx_nn_dense(h, get(p, "l%d.w1", i), get(p, "l%d.b1", i)));
        x = jx_add(x, jx_nn_dense(h, get(p, "l%d.w2", i), get(p, "l%d.b2", i)));
    }
    return jx_nn_layer_norm(x, jx_tree_get_val(p, "lnf_s"), jx_tree_get_val(p, "lnf_b"), 1e-6);
}

/* in: params, {ids, y (B,T): the hidden words' ids, IGNORE elsewhere}. out[0]: the mean
 * cross-entropy over the hidden words; the output layer is the embedding table. */
static void mlm_loss(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val z = encode(in[0], jx_tree_get_val(in[1], "ids")), tok = jx_tree_get_val(in[0], "tok");
    jx_val logits = jx_einsum("btd,vd->btv", 2, (jx_val[]){z, tok});
    logits = jx_add(logits, jx_broadcast_to(jx_tree_get_val(in[0], "mlm_b"), JX_INTS(jx_dim(z, 0), T, jx_dim(tok, 0))));
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[1], "y"), IGNORE));
}

static jx_val classify(const jx_tree *p, jx_val ids) {
    jx_val z = encode(p, ids);
    jx_val first = jx_reshape(jx_slice(z, JX_INTS(0, 0, 0), JX_INTS(jx_dim(z, 0), 1, D), JX_NOINTS), JX_INTS(-1, D));
    return jx_nn_dense(first, jx_tree_get_val(p, "cls.w"), jx_tree_get_val(p, "cls.b"));
}

/* in: params, {ids, y (B)}. out[0]: the mean cross-entropy of the [cls] logits. */
static void cls_loss(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val logits = classify(in[0], jx_tree_get_val(in[1], "ids"));
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[1], "y"), JX_LOSS_NO_IGNORE));
}

static void logits_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "logits", classify(in[0], jx_tree_get_val(in[1], "ids")));
}

static void put(jx_tree *p, const char *fmt, int layer, jx_array *a) {
    char path[64];
    snprintf(path, sizeof path, fmt, layer);
    jx_tree_set_array(p, path, a);
}

/* As data.py's init: normal(seed + k) * scale, in its shapes. */
static jx_array *w(uint64_t seed, int64_t r, int64_t c, double scale, jx_ints shape) {
    jx_array *a = tut_weights(seed, r, c, scale), *b = jx_array_new(JX_F32, shape, jx_array_data(a));
    jx_array_release(a);
    return b;
}

static jx_tree *init_params(uint64_t seed, int64_t vocab) {
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "tok", tut_weights(seed + 10, vocab, D, 0.5));
    jx_tree_set_array(p, "pos", tut_weights(seed + 11, T, D, 0.1));
    const double sd = 1 / sqrt(D);
    for (int i = 0; i < LAYERS; i++) {
        uint64_t s = seed + 20 + 10 * (uint64_t)i;
        put(p, "l%d.ln1_s", i, jx_array_ones(JX_F32, JX_INTS(D))), put(p, "l%d.ln1_b", i, jx_array_zeros(JX_F32, JX_INTS(D)));
        put(p, "l%d.wq", i, w(s, D, D, sd, JX_INTS(D, HEADS, HD))), put(p, "l%d.bq", i, jx_array_zeros(JX_F32, JX_INTS(HEADS, HD)));
        put(p, "l%d.wk", i, w(s + 1, D, D, sd, JX_INTS(D, HEADS, HD))), put(p, "l%d.bk", i, jx_array_zeros(JX_F32, JX_INTS(HEADS, HD)));
        put(p, "l%d.wv", i, w(s + 2, D, D, sd, JX_INTS(D, HEADS, HD))), put(p, "l%d.bv", i, jx_array_zeros(JX_F32, JX_INTS(HEADS, HD)));
        put(p, "l%d.wo", i, w(s + 3, D, D, sd, JX_INTS(HEADS, HD, D))), put(p, "l%d.bo", i, jx_array_zeros(JX_F32, JX_INTS(D)));
        put(p, "l%d.ln2_s", i, jx_array_ones(JX_F32, JX_INTS(D))), put(p, "l%d.ln2_b", i, jx_array_zeros(JX_F32, JX_INTS(D)));
        put(p, "l%d.w1", i, tut_weights(s + 4, D, F, sd)), put(p, "l%d.b1", i, jx_array_zeros(JX_F32, JX_INTS(F)));
        put(p, "l%d.w2", i, tut_weights(s + 5, F, D, 1 / sqrt(F))), put(p, "l%d.b2", i, jx_array_zeros(JX_F32, JX_INTS(D)));
    }
    jx_tree_set_array(p, "lnf_s", jx_array_ones(JX_F32, JX_INTS(D)));
    jx_tree_set_array(p, "lnf_b", jx_array_zeros(JX_F32, JX_INTS(D)));
    jx_tree_set_array(p, "mlm_b", jx_array_zeros(JX_F32, JX_INTS(vocab)));
    jx_tree_set_array(p, "cls.w", tut_weights(seed + 90, D, 2, sd));
    jx_tree_set_array(p, "cls.b", jx_array_zeros(JX_F32, JX_INTS(2)));
    return p;
}

/* ids (n,T): [cls], then the review right-padded to T - 1 tokens. */
static int32_t *encode_reviews(const sent_vocab *v, const sent_corpus *c) {
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(c->n * T)), *row = malloc(sizeof(int32_t) * (size_t)(c->n * (T - 1)));
    sent_encode(v, c, T - 1, 0, row);
    for (int64_t i = 0; i < c->n; i++) ids[i * T] = SENT_CLS, memcpy(ids + i * T + 1, row + i * (T - 1), sizeof(int32_t) * (T - 1));
    free(row);
    return ids;
}

/* Pre-training epoch e's inputs and targets, as data.py's masked(): each word hidden
 * with probability 0.15 (tut_uniform(seed + 100 + e) < 0.15). */
static void mask_words(const int32_t *ids, int64_t n, uint64_t seed, int e, int32_t *in, int32_t *target) {
    float *u = malloc(sizeof(float) * (size_t)(n * T));
    tut_uniform(seed + 100 + (uint64_t)e, n * T, u);
    for (int64_t k = 0; k < n * T; k++) {
        int hide = u[k] < 0.15f && ids[k] >= SENT_SPECIALS;
        in[k] = hide ? SENT_MASK : ids[k], target[k] = hide ? ids[k] : IGNORE;
    }
    free(u);
}

static jx_tree *mlm_batch(int64_t s, int64_t step, void *user) {
    const sent_batches *b = user;
    (void)step;
    jx_tree *t = sent_batch(b->ids + s * b->size * T, NULL, b->size, T);
    jx_tree_set_array(t, "y", jx_array_new(JX_I32, JX_INTS(b->size, T), b->y + s * b->size * T));
    return t;
}

/* One pre-training epoch's batches (first, so that mlm_batch reads them), its number and
 * its mean loss. */
typedef struct pre_epoch {
    sent_batches b;
    int epoch;
    double mean;
} pre_epoch;

static void pre_line(int e, double mean, void *user) {
    pre_epoch *p = user;
    (void)e;
    p->mean = mean;
    printf("pre-training epoch %d: mean masked-token loss %.4f\n", p->epoch + 1, mean);
}

static void tune_line(int e, double mean, void *user) {
    (void)user;
    printf("fine-tuning epoch %d: mean training loss %.4f\n", e + 1, mean);
}

/* Runs a jitted (params, state, batch) step over l's epochs from fresh Adam state; the
 * trained params replace *params. 0, or 1 after printing the error. */
static int run(const char *prog, const jx_tree_fn *f, jx_exec *x, const jx_optim *opt, jx_tree **params, const tut_loop *l) {
    jx_tree *state = jx_optim_init(opt, *params);
    int status = tut_train(prog, f, x, params, &state, l);
    jx_tree_free(state);
    return status;
}

/* The accuracy of params on the test reviews through the jitted classifier; -1 on error. */
static double accuracy(const jx_tree_fn *f, jx_exec *x, jx_tree *params, jx_tree *test, const int32_t *y) {
    jx_tree *in[2] = {params, test}, *out = NULL;
    if (jx_tree_fn_run(f, x, 2, in, 1, &out) != JX_OK) return -1;
    const float *l = jx_array_data(jx_tree_get_array(out, "logits"));
    int64_t right = 0;
    for (int64_t i = 0; i < NTEST; i++) right += (l[2 * i + 1] > l[2 * i]) == y[i];
    jx_tree_free(out);
    return (double)right / NTEST;
}

int main(int argc, char **argv) {
    const char *prog = "tut_21_bert_sentiment";
    trainer_opts o = {.epochs = 5, .batch = 32, .lr = 2e-3, .seed = 0};
    long npre = 4000, pre_epochs = 3, ntrain = 1500;
    trainer_extra ex[] = {
        {"--pretrain", "N", "unlabelled reviews for the pre-training (default 4000)", TRAINER_LONG, 64, 1 << 22, &npre},
        {"--pretrain-epochs", "N", "passes of masked-token pre-training (default 3)", TRAINER_LONG, 0, 1000, &pre_epochs},
        {"--train", "N", "labelled reviews for the fine-tuning (default 1500)", TRAINER_LONG, 64, 1 << 22, &ntrain},
    };
    int quick, r = tut_parse(prog, "BERT-style sentiment: a small encoder pre-trained by masked-token prediction on "
                                   "generated reviews, then fine-tuned, against the same encoder trained from scratch. "
                                   "--epochs: fine-tuning passes; --limit caps --train.", argc, argv, &o, ex, 3, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) npre = 2000, pre_epochs = 3, ntrain = 400, o.epochs = 2;
    if (o.limit && o.limit < ntrain) ntrain = o.limit;
    if (ntrain < o.batch || npre < o.batch) {
        fprintf(stderr, "%s: --batch %d is larger than --train %ld or --pretrain %ld\n", prog, o.batch, ntrain, npre);
        return 2;
    }
    sent_corpus train, test, pre;
    sent_vocab v;
    if (sent_corpus_make(&train, ntrain, o.seed + 1) || sent_corpus_make(&test, NTEST, o.seed + 2) ||
        sent_corpus_make(&pre, npre, o.seed + 3) || sent_vocab_build(&v, &pre, 1)) {
        fprintf(stderr, "%s: out of memory generating the reviews\n", prog);
        return 1;
    }
    int32_t *pids = encode_reviews(&v, &pre), *ids = encode_reviews(&v, &train), *tids = encode_reviews(&v, &test);
    int32_t *min = malloc(sizeof(int32_t) * (size_t)(npre * T)), *mtarget = malloc(sizeof(int32_t) * (size_t)(npre * T));
    const int64_t psteps = npre / o.batch, steps = ntrain / o.batch;
    printf("%s: %ld unlabelled reviews to pre-train on, %ld labelled to fine-tune on, %d to test; %lld words\n", prog,
           npre, ntrain, NTEST, (long long)v.n);

    /* three jitted functions of one encoder: the two training steps and the classifier */
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *params = init_params(o.seed, v.n), *state = jx_optim_init(&opt, params);
    mask_words(pids, npre, o.seed, 0, min, mtarget);
    sent_batches mb0 = {min, mtarget, o.batch, T};
    jx_tree *mb = mlm_batch(0, 0, &mb0), *cb = sent_batch(ids, train.label, o.batch, T), *tb = sent_batch(tids, NULL, NTEST, T);
    jx_tree *min3[3] = {params, state, mb}, *cin3[3] = {params, state, cb}, *ein[2] = {params, tb};
    tut_step mbody = {mlm_loss, &opt, 1, NULL, NULL}, cbody = {cls_loss, &opt, 1, NULL, NULL};
    jx_tree_fn *mstep = jx_tree_trace("mlm_step", tut_step_body, &mbody, 3, min3, 3);
    jx_tree_fn *cstep = jx_tree_trace("cls_step", tut_step_body, &cbody, 3, cin3, 3);
    jx_tree_fn *ev = jx_tree_trace("classify", logits_body, NULL, 2, ein, 1);
    jx_tree_free(mb), jx_tree_free(cb), jx_tree_free(state);
    jx_exec *mx = mstep && cstep && ev ? tut_jit(mstep, &o, 2) : NULL, *cx = mx ? tut_jit(cstep, &o, 2) : NULL;
    jx_exec *ex_ = cx ? tut_jit(ev, &o, 0) : NULL;
    if (!ex_) return tut_fail(prog, "building the steps");

    /* 1. pre-training: each epoch hides other words */
    double *mcurve = malloc(sizeof(double) * (size_t)(pre_epochs * psteps + 1)), mlm = NAN;
    int status = 0;
    tut_timer t = tut_timer_start();
    for (int e = 0; e < pre_epochs && !status; e++) {
        mask_words(pids, npre, o.seed, e, min, mtarget);
        pre_epoch pe = {{min, mtarget, o.batch, T}, e, 0};
        tut_loop l = {"masked-token loss", 1, psteps, mlm_batch, &pe, mcurve + e * psteps, pre_line};
        status = run(prog, mstep, mx, &opt, &params, &l);
        mlm = pe.mean;
    }
    tut_timer_stop(&t, "pre-training");

    /* 2. fine-tuning, from the pre-trained encoder and from the random one */
    jx_tree *scratch = init_params(o.seed, v.n);
    double *curve[2] = {malloc(sizeof(double) * (size_t)(o.epochs * steps)), malloc(sizeof(double) * (size_t)(o.epochs * steps))};
    sent_batches cbs = {ids, train.label, o.batch, T};
    jx_tree **which[2] = {&params, &scratch};
    for (int k = 0; k < 2 && !status; k++) {
        tut_loop l = {"training loss", o.epochs, steps, sent_next_batch, &cbs, curve[k], tune_line};
        t = tut_timer_start();
        status = run(prog, cstep, cx, &opt, which[k], &l);
        tut_timer_stop(&t, "training");
    }
    double acc = status ? -1 : accuracy(ev, ex_, params, tb, test.label);
    double base = status ? -1 : accuracy(ev, ex_, scratch, tb, test.label);
    if (!status && (acc < 0 || base < 0)) status = tut_fail(prog, "classifying the test reviews");
    if (!status) {
        printf("test accuracy %.2f%% pre-trained and fine-tuned, %.2f%% trained from scratch\n", 100 * acc, 100 * base);
        printf("masked-token loss %.4f after pre-training (%.4f guessing among the %lld words)\n", mlm,
               log((double)(v.n - SENT_SPECIALS)), (long long)(v.n - SENT_SPECIALS));
        tut_metric("test_accuracy", acc);
        tut_plot_curve(&o, "pretraining.png", "Masked-token pre-training", "step", "cross-entropy",
                       "masked-token loss (per step)", mcurve, pre_epochs * psteps);
        char path[4096];
        jx_plot_series s[2] = {{"pre-trained encoder", NULL, curve[0], o.epochs * steps},
                               {"random encoder (from scratch)", NULL, curve[1], o.epochs * steps}};
        if (jx_plot_available() && jx_plot_lines(tut_path(path, sizeof path, &o, "finetuning.png"),
                                                 "Fine-tuning on labelled reviews: training loss", "step",
                                                 "cross-entropy", 2, s, 0, 0) == JX_OK)
            printf("wrote %s\n", path);
    }
    free(mcurve), free(curve[0]), free(curve[1]), free(pids), free(ids), free(tids), free(min), free(mtarget);
    jx_tree_free(params), jx_tree_free(scratch), jx_tree_free(tb);
    jx_exec_release(mx), jx_exec_release(cx), jx_exec_release(ex_);
    jx_tree_fn_free(mstep), jx_tree_fn_free(cstep), jx_tree_fn_free(ev);
    sent_vocab_free(&v), sent_corpus_free(&train), sent_corpus_free(&test), sent_corpus_free(&pre);
    if (status) return status;
    /* the smoke test: the masked-token loss well under guessing uniformly among the
     * words (ln 56 = 4.03); the fine-tuned accuracy of a quick run is too close to chance
     * to test (see README.md) */
    return tut_quick_check(quick, "masked-token loss", mlm, 3.5, 0);
}
