/* 22_image_captioning: a CNN encoder reads a 16x16 image (two stride-equals-kernel
 * convolutions, jx_nn_conv2d with strides 4 and 2, then a dense layer) into the initial
 * state of a GRU decoder that writes the caption word by word. Training uses teacher
 * forcing: the decoder reads the true caption shifted right (<bos> first) as one
 * jx_nn_rnn scan and is scored by cross-entropy on every word up to <eos>
 * (jx_loss_softmax_ce_int_mean ignoring the padding). Captioning a new image is greedy:
 * a second jitted function unrolls L cells, each feeding back the argmax word
 * (jx_argmax, jx_nn_embedding). The metric is the share of test images whose caption is
 * exactly right. Images and captions are generated (scenes.c), as data.py draws them. See
 * README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/nn.h>

#include "scenes.h"
#include "tut.h"

enum { E = 16, H = 64, NTEST = 512, SHOWN = 6 };

/* The decoder's initial state (B,H) for images x (B,S,S,3). */
static jx_val encode(const jx_tree *p, jx_val x) {
    jx_nn_conv2d_opts s4 = {.stride = {4, 4}}, s2 = {.stride = {2, 2}}; /* VALID */
    jx_val w1 = jx_reshape(jx_tree_get_val(p, "conv1"), JX_INTS(4, 4, 3, 16));
    jx_val w2 = jx_reshape(jx_tree_get_val(p, "conv2"), JX_INTS(2, 2, 16, 32));
    jx_val h = jx_relu(jx_nn_conv2d(x, w1, jx_tree_get_val(p, "conv1_b"), &s4)); /* (B,4,4,16) */
    h = jx_relu(jx_nn_conv2d(h, w2, jx_tree_get_val(p, "conv2_b"), &s2));        /* (B,2,2,32) */
    h = jx_reshape(h, JX_INTS(jx_dim(x, 0), 128));
    return jx_tanh(jx_nn_dense(h, jx_tree_get_val(p, "enc"), jx_tree_get_val(p, "enc_b")));
}

static void gru_params(const jx_tree *p, jx_val pr[4]) {
    pr[0] = jx_tree_get_val(p, "gru.wi"), pr[1] = jx_tree_get_val(p, "gru.bi");
    pr[2] = jx_tree_get_val(p, "gru.wh"), pr[3] = JX_NONE;
}

/* A tut_step loss: in = params, {x, inputs, targets}; out[0] = the mean cross-entropy of
 * the words (padding ignored) under teacher forcing. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    const jx_tree *p = in[0];
    jx_val pr[4], h0 = encode(p, jx_tree_get_val(in[1], "x"));
    gru_params(p, pr);
    jx_val emb = jx_nn_embedding(jx_tree_get_val(p, "embed"), jx_tree_get_val(in[1], "inputs")); /* (B,L,E) */
    jx_val hs = jx_nn_rnn(JX_NN_CELL_GRU, pr, emb, &h0, 0, NULL);
    jx_val logits = jx_nn_dense(hs, jx_tree_get_val(p, "out_w"), jx_tree_get_val(p, "out_b"));
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[1], "targets"), PAD));
}

/* in = params, {x}; out = {words (B,L) i32}: greedy decoding, each word fed back. */
static void caption_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    const jx_tree *p = in[0];
    jx_val x = jx_tree_get_val(in[1], "x"), pr[4], words[L];
    gru_params(p, pr);
    jx_val h = encode(p, x), w = jx_full(JX_I32, JX_INTS(jx_dim(x, 0)), BOS);
    for (int t = 0; t < L; t++) {
        h = jx_nn_gru_cell(jx_nn_embedding(jx_tree_get_val(p, "embed"), w), h, pr[0], pr[1], pr[2], pr[3]);
        w = words[t] = jx_argmax(jx_nn_dense(h, jx_tree_get_val(p, "out_w"), jx_tree_get_val(p, "out_b")), 1, JX_I32);
    }
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "words", jx_stack(L, words, 1));
}

/* Scenes first..first+b as a batch {x, inputs (<bos> then the caption shifted), targets}. */
static jx_tree *batch_tree(const scenes *s, int64_t first, int64_t b, int32_t *inputs) {
    const int32_t *cap = s->caption + first * L;
    for (int64_t i = 0; i < b; i++) {
        inputs[i * L] = BOS;
        memcpy(inputs + i * L + 1, cap + i * L, sizeof(int32_t) * (L - 1));
    }
    jx_tree *t = jx_tree_dict();
    jx_tree_set_array(t, "x", jx_array_new(JX_F32, JX_INTS(b, S, S, 3), s->img + first * S * S * 3));
    jx_tree_set_array(t, "inputs", jx_array_new(JX_I32, JX_INTS(b, L), inputs));
    jx_tree_set_array(t, "targets", jx_array_new(JX_I32, JX_INTS(b, L), cap));
    return t;
}

typedef struct feed {
    const scenes *s;
    int64_t size;
    int32_t *inputs;
} feed;

static jx_tree *next_batch(int64_t i, int64_t step, void *user) {
    const feed *f = user;
    (void)step;
    return batch_tree(f->s, i * f->size, f->size, f->inputs);
}

static jx_tree *init_params(uint64_t seed) {
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "conv1", tut_weights(seed + 10, 48, 16, sqrt(2.0 / 48)));
    jx_tree_set_array(p, "conv1_b", jx_array_zeros(JX_F32, JX_INTS(16)));
    jx_tree_set_array(p, "conv2", tut_weights(seed + 11, 64, 32, sqrt(2.0 / 64)));
    jx_tree_set_array(p, "conv2_b", jx_array_zeros(JX_F32, JX_INTS(32)));
    jx_tree_set_array(p, "enc", tut_weights(seed + 12, 128, H, 1 / sqrt(128)));
    jx_tree_set_array(p, "enc_b", jx_array_zeros(JX_F32, JX_INTS(H)));
    jx_tree_set_array(p, "embed", tut_weights(seed + 13, V, E, 1.0));
    jx_tree_set_array(p, "gru.wi", tut_weights(seed + 14, E, 3 * H, 1 / sqrt(E)));
    jx_tree_set_array(p, "gru.bi", jx_array_zeros(JX_F32, JX_INTS(3 * H)));
    jx_tree_set_array(p, "gru.wh", tut_weights(seed + 15, H, 3 * H, 1 / sqrt(H)));
    jx_tree_set_array(p, "out_w", tut_weights(seed + 16, H, V, 1 / sqrt(H)));
    jx_tree_set_array(p, "out_b", jx_array_zeros(JX_F32, JX_INTS(V)));
    return p;
}

/* The first SHOWN test images, one per row as its red, green and blue channels (the plot
 * draws gray tiles), with the generated caption under the middle one. */
static void plot_captions(const trainer_opts *o, const scenes *te, const int32_t *words) {
    static float pix[SHOWN * 3 * S * S];
    static char text[SHOWN][80];
    const char *labels[SHOWN * 3] = {0};
    for (int i = 0; i < SHOWN; i++) {
        for (int c = 0; c < 3; c++)
            for (int j = 0; j < S * S; j++) pix[(i * 3 + c) * S * S + j] = te->img[(i * S * S + j) * 3 + c];
        labels[i * 3 + 1] = scene_text(text[i], sizeof text[i], words + i * L, L);
    }
    char path[4096];
    if (jx_plot_images(tut_path(path, sizeof path, o, "captions.png"),
                       "Test images (red, green, blue channels) and greedy captions", SHOWN, 3, S, S, pix, NULL, labels,
                       NULL, 8) == JX_OK)
        printf("wrote %s\n", path);
}

int main(int argc, char **argv) {
    const char *prog = "tut_22_image_captioning";
    trainer_opts o = {.epochs = 10, .batch = 64, .lr = 3e-3, .seed = 0};
    long ntrain = 8192;
    trainer_extra ex[] = {{"--train", "N", "training images (default 8192)", TRAINER_LONG, 64, 1 << 20, &ntrain}};
    int quick, r = tut_parse(prog, "Image captioning with a CNN encoder and a GRU decoder (teacher forcing, greedy "
                                   "decoding) on generated scenes; prints the exact caption accuracy.",
                             argc, argv, &o, ex, 1, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 3;
    if (o.batch > ntrain) {
        fprintf(stderr, "%s: --batch %d is larger than the %ld training images\n", prog, o.batch, ntrain);
        return 2;
    }
    scenes tr = scenes_make(o.seed + 1, ntrain), te = scenes_make(o.seed + 101, NTEST);
    int32_t *inputs = malloc(sizeof(int32_t) * (size_t)((ntrain > NTEST ? ntrain : NTEST) * L));
    if (!tr.img || !te.img || !inputs) return fprintf(stderr, "%s: out of memory\n", prog), 1;
    int64_t steps = ntrain / o.batch;
    printf("%s: %ld training images %dx%d, captions of up to %d words, %d epochs of %lld steps\n", prog, ntrain, S,
           S, L - 1, o.epochs, (long long)steps);

    jx_tree *params = init_params(o.seed);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params);
    jx_tree *b0 = batch_tree(&tr, 0, o.batch, inputs), *tin[3] = {params, state, b0};
    tut_step body = {loss_body, &opt, 1, NULL, NULL}; /* loss, gradients, Adam: common/tut.h */
    jx_tree_fn *step = jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3);
    jx_tree_free(b0);
    jx_exec *exec = tut_jit(step, &o, 2);
    if (!exec) return tut_fail(prog, "building the training step");

    feed fd = {&tr, o.batch, inputs};
    tut_loop loop = {"cross-entropy", o.epochs, steps, next_batch, &fd, NULL, NULL};
    tut_timer t = tut_timer_start();
    int status = tut_train(prog, step, exec, &params, &state, &loop);
    tut_timer_stop(&t, "training");

    jx_tree *tb = batch_tree(&te, 0, NTEST, inputs), *ein[2] = {params, tb}, *out = NULL;
    jx_tree_fn *cap = status ? NULL : jx_tree_trace("caption", caption_body, NULL, 2, ein, 1);
    jx_exec *cexec = tut_jit(cap, &o, 0);
    if (!status && (!cexec || jx_tree_fn_run(cap, cexec, 2, ein, 1, &out) != JX_OK))
        status = tut_fail(prog, "captioning the test set");
    double acc = NAN;
    if (!status) {
        const int32_t *w = jx_array_data(jx_tree_get_array(out, "words"));
        int64_t right = 0, start = 0;
        char a[96], b[96];
        for (int64_t i = 0; i < NTEST; i++) {
            right += strcmp(scene_text(a, sizeof a, w + i * L, L), scene_text(b, sizeof b, te.caption + i * L, L)) == 0;
            start += memcmp(w + i * L, te.caption + i * L, 5 * sizeof(int32_t)) == 0;
        }
        acc = (double)right / NTEST;
        printf("test exact caption accuracy %.2f%% of %d images (first five words right: %.1f%%)\n", 100 * acc, NTEST,
               100.0 * (double)start / NTEST);
        printf("e.g. \"%s\" for \"%s\"\n", scene_text(a, sizeof a, w, L), scene_text(b, sizeof b, te.caption, L));
        tut_metric("caption_accuracy", acc);
        if (jx_plot_available()) plot_captions(&o, &te, w);
    }
    jx_tree_free(out), jx_tree_free(tb), jx_exec_release(cexec), jx_tree_fn_free(cap);
    jx_exec_release(exec), jx_tree_fn_free(step), jx_tree_free(params), jx_tree_free(state);
    scenes_free(&tr), scenes_free(&te), free(inputs);
    if (status) return status;
    /* a random caption from the grammar is right once in 288 (4 x 3 colours and shapes
     * twice, 2 relations); the quick run reaches about 70% */
    return tut_quick_check(quick, "exact caption accuracy", acc, 0.3, 1);
}
