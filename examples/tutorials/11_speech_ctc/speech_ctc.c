/* 11_speech_ctc: speech recognition in the style of DeepSpeech 2 on synthetic speech. A
 * 1-D convolution over time (jx_nn_conv2d on (B,T,1,F)) and a bidirectional GRU (two
 * jx_nn_rnn scans, one reversed) turn a spectrogram into per-frame scores over the
 * phonemes and CTC's blank; the CTC loss (common/ctc.h: the forward algorithm in log space
 * as a jx_scan) sums over every alignment of the label sequence to the frames, so no
 * frame-level labels are needed. Loss, gradients (through both scans) and Adam are one
 * jitted step; the test set is decoded greedily (best path) and scored by the label
 * error rate. The data are generated (utterances.c), as data.py draws them. See README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/nn.h>

#include "ctc.h"
#include "tut.h"
#include "utterances.h"

enum { C = K + 1, CONV = 32, KW = 5, H = 32, NTEST = 512, SHOWN = 4 };

/* logits (B,T,C) of params for x (B,T,F). */
static jx_val logits_of(const jx_tree *p, jx_val x) {
    int64_t b = jx_dim(x, 0);
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    jx_val w = jx_reshape(jx_tree_get_val(p, "conv"), JX_INTS(KW, 1, F, CONV)); /* HWIO, time as H */
    jx_val h = jx_relu(jx_nn_conv2d(jx_reshape(x, JX_INTS(b, T, 1, F)), w, jx_tree_get_val(p, "conv_b"), &same));
    h = jx_reshape(h, JX_INTS(b, T, CONV));
    jx_val zero = jx_broadcast_to(jx_scalar(JX_F32, 0), JX_INTS(b, H)), both[2];
    for (int d = 0; d < 2; d++) { /* forward in time, then backward */
        const jx_tree *g = jx_tree_get(p, d ? "bwd" : "fwd");
        jx_val pr[4] = {jx_tree_get_val(g, "wi"), jx_tree_get_val(g, "bi"), jx_tree_get_val(g, "wh"), JX_NONE};
        both[d] = jx_nn_rnn(JX_NN_CELL_GRU, pr, h, &zero, d, NULL);
    }
    return jx_nn_dense(jx_concatenate(2, both, 2), jx_tree_get_val(p, "out_w"), jx_tree_get_val(p, "out_b"));
}

/* A tut_step loss: in = params, {x, labels, lengths}; out[0] = the batch's mean CTC loss. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val l = ctc_loss(logits_of(in[0], jx_tree_get_val(in[1], "x")), jx_tree_get_val(in[1], "labels"),
                        jx_tree_get_val(in[1], "lengths"));
    out[0] = jx_tree_val(jx_mean(l, JX_NOINTS));
}

/* in = params, {x}; out = {logits}. */
static void logits_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "logits", logits_of(in[0], jx_tree_get_val(in[1], "x")));
}

/* Utterances first..first+b of u as a batch tree {x, labels, lengths}. */
static jx_tree *batch_tree(const utterances *u, int64_t first, int64_t b) {
    jx_tree *t = jx_tree_dict();
    jx_tree_set_array(t, "x", jx_array_new(JX_F32, JX_INTS(b, T, F), u->x + first * T * F));
    jx_tree_set_array(t, "labels", jx_array_new(JX_I32, JX_INTS(b, LMAX), u->labels + first * LMAX));
    jx_tree_set_array(t, "lengths", jx_array_new(JX_I32, JX_INTS(b), u->length + first));
    return t;
}

typedef struct feed {
    const utterances *u;
    int64_t size;
    double *curve;
} feed;

static jx_tree *next_batch(int64_t s, int64_t step, void *user) {
    const feed *f = user;
    (void)step;
    return batch_tree(f->u, s * f->size, f->size);
}

static void epoch_line(int e, double loss, void *user) {
    ((feed *)user)->curve[e] = loss;
    printf("epoch %d: mean CTC loss %.4f\n", e + 1, loss);
}

/* "5 7 4 3" into buf. */
static const char *label_text(char *buf, const int *l, int n) {
    int at = 0;
    buf[0] = 0;
    for (int i = 0; i < n; i++) at += snprintf(buf + at, 8, i ? " %d" : "%d", l[i]);
    return buf;
}

/* The first SHOWN test spectrograms (time across, low frequencies at the bottom) with the
 * reference labels and the decoded ones under each. */
static void plot_decoded(const trainer_opts *o, const utterances *u, int dec[][T], const int *ndec) {
    static float pix[SHOWN * F * T];
    static char text[SHOWN][96];
    const char *labels[SHOWN];
    for (int i = 0; i < SHOWN; i++) {
        for (int f = 0; f < F; f++)
            for (int t = 0; t < T; t++) pix[(i * F + (F - 1 - f)) * T + t] = u->x[(i * T + t) * F + f];
        int ref[LMAX];
        for (int j = 0; j < u->length[i]; j++) ref[j] = u->labels[i * LMAX + j];
        char a[48], b[48];
        snprintf(text[i], sizeof text[i], "true %s / decoded %s", label_text(a, ref, u->length[i]),
                 label_text(b, dec[i], ndec[i]));
        labels[i] = text[i];
    }
    char path[4096];
    if (jx_plot_images(tut_path(path, sizeof path, o, "decoded.png"), "Test spectrograms and greedy CTC decoding",
                       SHOWN, 1, F, T, pix, NULL, labels, NULL, 8) == JX_OK)
        printf("wrote %s\n", path);
}

int main(int argc, char **argv) {
    const char *prog = "tut_11_speech_ctc";
    trainer_opts o = {.epochs = 8, .batch = 32, .lr = 3e-3, .seed = 0};
    long ntrain = 2048;
    trainer_extra ex[] = {{"--train", "N", "training utterances (default 2048)", TRAINER_LONG, 64, 1 << 20, &ntrain}};
    int quick, r = tut_parse(prog, "Speech recognition with a conv + bidirectional GRU model and the CTC loss on "
                                   "synthetic speech; prints the test label error rate.", argc, argv, &o, ex, 1, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 3, ntrain = 768, o.batch = 8, o.lr = 1e-2; /* past CTC's all-blank phase in ~300 steps */
    if (o.batch > ntrain) {
        fprintf(stderr, "%s: --batch %d is larger than the %ld training utterances\n", prog, o.batch, ntrain);
        return 2;
    }
    utterances tr = utterances_make(o.seed + 1, ntrain), te = utterances_make(o.seed + 101, NTEST);
    if (!tr.x || !te.x) return fprintf(stderr, "%s: out of memory\n", prog), 1;
    int64_t steps = ntrain / o.batch;
    printf("%s: %ld training utterances of %d frames x %d bins, %d epochs of %lld steps\n", prog, ntrain, T, F,
           o.epochs, (long long)steps);

    jx_tree *params = jx_tree_dict();
    jx_tree_set_array(params, "conv", tut_weights(o.seed + 10, KW * F, CONV, 1 / sqrt(KW * F)));
    jx_tree_set_array(params, "conv_b", jx_array_zeros(JX_F32, JX_INTS(CONV)));
    for (int d = 0; d < 2; d++) {
        jx_tree *g = jx_tree_dict();
        jx_tree_set_array(g, "wi", tut_weights(o.seed + 20 + 10 * d, CONV, 3 * H, 1 / sqrt(CONV)));
        jx_tree_set_array(g, "bi", jx_array_zeros(JX_F32, JX_INTS(3 * H)));
        jx_tree_set_array(g, "wh", tut_weights(o.seed + 21 + 10 * d, H, 3 * H, 1 / sqrt(H)));
        jx_tree_set(params, d ? "bwd" : "fwd", g);
    }
    jx_tree_set_array(params, "out_w", tut_weights(o.seed + 40, 2 * H, C, 1 / sqrt(2 * H)));
    jx_tree_set_array(params, "out_b", jx_array_zeros(JX_F32, JX_INTS(C)));
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params);

    jx_tree *b0 = batch_tree(&tr, 0, o.batch), *tin[3] = {params, state, b0};
    tut_step body = {loss_body, &opt, 1, NULL, NULL}; /* loss, gradients, Adam: common/tut.h */
    jx_tree_fn *step = jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3);
    jx_tree_free(b0);
    jx_exec *exec = tut_jit(step, &o, 2);
    if (!exec) return tut_fail(prog, "building the training step");

    double *curve = calloc((size_t)o.epochs, sizeof(double));
    feed fd = {&tr, o.batch, curve};
    tut_loop loop = {"CTC loss", o.epochs, steps, next_batch, &fd, NULL, epoch_line};
    tut_timer t = tut_timer_start();
    int status = tut_train(prog, step, exec, &params, &state, &loop);
    tut_timer_stop(&t, "training");

    /* the test set in one call of a jitted forward pass, decoded on the host */
    jx_tree *tb = batch_tree(&te, 0, NTEST), *ein[2] = {params, tb}, *out = NULL;
    jx_tree_fn *ev = status ? NULL : jx_tree_trace("logits", logits_body, NULL, 2, ein, 1);
    jx_exec *eexec = tut_jit(ev, &o, 0);
    if (!status && (!eexec || jx_tree_fn_run(ev, eexec, 2, ein, 1, &out) != JX_OK))
        status = tut_fail(prog, "the test set");
    double ler = NAN;
    if (!status) {
        static int dec[NTEST][T], ndec[NTEST];
        const float *lg = jx_array_data(jx_tree_get_array(out, "logits"));
        int64_t errors = 0, total = 0, exact = 0;
        for (int64_t i = 0; i < NTEST; i++) {
            ndec[i] = ctc_greedy(lg + i * T * C, T, C, dec[i]);
            int d = ctc_edit_distance(dec[i], ndec[i], te.labels + i * LMAX, te.length[i]);
            errors += d, total += te.length[i], exact += d == 0;
        }
        ler = (double)errors / (double)total;
        printf("test label error rate %.2f%% (%.1f%% of %d utterances exactly right)\n", 100 * ler,
               100.0 * (double)exact / NTEST, NTEST);
        tut_metric("label_error_rate", ler);
        if (jx_plot_available()) {
            plot_decoded(&o, &te, dec, ndec);
            tut_plot_curve(&o, "loss.png", "CTC training loss", "epoch - 1", "mean CTC loss", "train", curve,
                           o.epochs);
        }
    }
    jx_tree_free(out), jx_tree_free(tb), jx_exec_release(eexec), jx_tree_fn_free(ev);
    jx_exec_release(exec), jx_tree_fn_free(step), jx_tree_free(params), jx_tree_free(state);
    utterances_free(&tr), utterances_free(&te), free(curve);
    if (status) return status;
    /* emitting nothing (the all-blank phase CTC starts in) scores 100%; the quick run
     * reaches about 3%, the full run about 1% */
    return tut_quick_check(quick, "test label error rate", ler, 0.5, 0);
}
