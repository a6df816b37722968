/* 06_style_transfer: neural style transfer (Gatys et al. 2015) on a digit. With no VGG
 * to hand, the program first pre-trains its own small feature network -- two 3x3
 * convolutions (8 and 16 channels, relu, 2x2 average pooling) and a linear classifier --
 * on MNIST for two epochs. Then the image itself becomes the parameter: starting from the
 * content image (a test digit), Adam moves its pixels to keep the second layer's features
 * of the content (content loss) while matching the Gram matrices of both layers'
 * features of a style image, diagonal stripes (style loss): jx_tree_value_and_grad with
 * respect to the image, the network fixed. The score is the style loss's reduction. See
 * README.md. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jx/nn.h>

#include "../../common/mnist_data.h"
#include "mnist_feed.h"
#include "tut.h"

enum { S = 28, C1 = 8, C2 = 16, PRE_EPOCHS = 2, STEPS = 50, PERIOD = 10 };
#define PRE_LR 1e-3
#define STYLE_W 1000.0

/* A (3,3,c,o) HWIO kernel of tut_weights(seed) He-scaled (the scale rounded to f32), as data.py. */
static jx_array *kernel(uint64_t seed, int64_t c, int64_t o) {
    jx_array *w = tut_weights(seed, 9 * c, o, (float)sqrt(2.0 / (9 * c)));
    jx_array *r = jx_array_new(JX_F32, JX_INTS(3, 3, c, o), jx_array_data(w));
    jx_array_release(w);
    return r;
}

static jx_tree *init_params(uint64_t seed) {
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "c1.w", kernel(seed + 1, 1, C1));
    jx_tree_set_array(p, "c1.b", jx_array_zeros(JX_F32, JX_INTS(C1)));
    jx_tree_set_array(p, "c2.w", kernel(seed + 2, C1, C2));
    jx_tree_set_array(p, "c2.b", jx_array_zeros(JX_F32, JX_INTS(C2)));
    jx_tree_set_array(p, "fc.w", tut_weights(seed + 3, 7 * 7 * C2, 10, (float)sqrt(1.0 / (7 * 7 * C2))));
    jx_tree_set_array(p, "fc.b", jx_array_zeros(JX_F32, JX_INTS(10)));
    return p;
}

/* relu(conv3x3(x) + b), SAME padding, NHWC. */
static jx_val conv(const jx_tree *p, const char *w, const char *b, jx_val x) {
    jx_nn_conv2d_opts same = {.padding = JX_NN_PAD_SAME};
    return jx_relu(jx_nn_conv2d(x, jx_tree_get_val(p, w), jx_tree_get_val(p, b), &same));
}

/* 2x2 average pooling of (B,H,W,C): a reshape and a mean. */
static jx_val pool(jx_val x) {
    int64_t b = jx_dim(x, 0), h = jx_dim(x, 1), w = jx_dim(x, 2), c = jx_dim(x, 3);
    return jx_mean(jx_reshape(x, JX_INTS(b, h / 2, 2, w / 2, 2, c)), JX_INTS(2, 4));
}

/* The two layers' features of x (B,28,28,1): f1 (B,28,28,C1), f2 (B,14,14,C2). */
static void features(const jx_tree *p, jx_val x, jx_val *f1, jx_val *f2) {
    *f1 = conv(p, "c1.w", "c1.b", x);
    *f2 = conv(p, "c2.w", "c2.b", pool(*f1));
}

/* The Gram matrix (C,C) of one image's features (1,H,W,C): F^T F / (H W). */
static jx_val gram(jx_val f) {
    int64_t n = jx_dim(f, 1) * jx_dim(f, 2), c = jx_dim(f, 3);
    jx_val m = jx_reshape(f, JX_INTS(n, c));
    return jx_div(jx_matmul(jx_transpose(m, JX_INTS(1, 0)), m), jx_scalar(JX_F32, (double)n));
}

/* A tut_step loss for pre-training. in: params, {x (B,28,28,1), y (B)}. out[0]: the
 * mean cross-entropy of the linear classifier on the pooled second layer. */
static void ce_loss(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val x = jx_tree_get_val(in[1], "x"), f1, f2;
    features(in[0], x, &f1, &f2);
    jx_val h = jx_reshape(pool(f2), JX_INTS(jx_dim(x, 0), 7 * 7 * C2));
    jx_val logits = jx_add(jx_matmul(h, jx_tree_get_val(in[0], "fc.w")), jx_tree_get_val(in[0], "fc.b"));
    out[0] = jx_tree_val(jx_mean(jx_loss_softmax_ce_int(logits, jx_tree_get_val(in[1], "y"), JX_LOSS_NO_IGNORE),
                                 JX_NOINTS));
}

/* The content and style losses of img (1,28,28,1) against target {f2, g1, g2}. */
static void losses(const jx_tree *net, jx_val img, const jx_tree *target, jx_val *content, jx_val *style) {
    jx_val f1, f2;
    features(net, img, &f1, &f2);
    *content = jx_mean(jx_square(jx_sub(f2, jx_tree_get_val(target, "f2"))), JX_NOINTS);
    *style = jx_add(jx_mean(jx_square(jx_sub(gram(f1), jx_tree_get_val(target, "g1"))), JX_NOINTS),
                    jx_mean(jx_square(jx_sub(gram(f2), jx_tree_get_val(target, "g2"))), JX_NOINTS));
}

/* A tut_step loss over the image. in: {img}, {net, target}. out[0]: content + STYLE_W style. */
static void style_loss(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val c, s;
    losses(jx_tree_get(in[1], "net"), jx_tree_get_val(in[0], "img"), jx_tree_get(in[1], "target"), &c, &s);
    out[0] = jx_tree_val(jx_add(c, jx_mul(jx_scalar(JX_F32, STYLE_W), s)));
}

/* in: net, {content, style}. out: the targets {f2 of the content, g1 and g2 of the style}. */
static void target_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val cf1, cf2, sf1, sf2;
    features(in[0], jx_tree_get_val(in[1], "content"), &cf1, &cf2);
    features(in[0], jx_tree_get_val(in[1], "style"), &sf1, &sf2);
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "f2", cf2);
    jx_tree_set_val(out[0], "g1", gram(sf1));
    jx_tree_set_val(out[0], "g2", gram(sf2));
}

/* in: {img}, {net, target}. out: {content, style}: the two losses of img. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val c, s;
    losses(jx_tree_get(in[1], "net"), jx_tree_get_val(in[0], "img"), jx_tree_get(in[1], "target"), &c, &s);
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "content", c);
    jx_tree_set_val(out[0], "style", s);
}

/* The style transfer's batches: the same {net, target} every step. */
static jx_tree *same_context(int64_t s, int64_t step, void *user) {
    (void)s, (void)step;
    return jx_tree_copy(user);
}

static void round_line(int e, double loss, void *user) {
    (void)user;
    printf("round %d: mean style transfer loss %.4f\n", e + 1, loss);
}

/* Runs the traced f (jitted when x is not NULL) on (a, b); its only output, or NULL. */
static jx_tree *run2(const jx_tree_fn *f, jx_exec *x, jx_tree *a, jx_tree *b) {
    jx_tree *in[2] = {a, b}, *out = NULL;
    return jx_tree_fn_run(f, x, 2, in, 1, &out) == JX_OK ? out : NULL;
}

/* The two losses of the image tree img: 0, or -1. */
static int image_losses(const jx_tree_fn *lf, jx_tree *img, jx_tree *ctx, double *content, double *style) {
    jx_tree *l = run2(lf, NULL, img, ctx);
    if (!l) return -1;
    *content = jx_array_get(jx_tree_get_array(l, "content"), 0), *style = jx_array_get(jx_tree_get_array(l, "style"), 0);
    jx_tree_free(l);
    return 0;
}

/* samples.png: content, style, result (clipped to [0, 1]). */
static void plot(const trainer_opts *o, const float *content, const float *style, const float *result) {
    float pix[3 * S * S];
    for (int i = 0; i < S * S; i++)
        pix[i] = content[i], pix[S * S + i] = style[i], pix[2 * S * S + i] = result[i] < 0 ? 0 : result[i] > 1 ? 1 : result[i];
    const char *labels[3] = {"content", "style", "result"};
    char path[4096];
    if (jx_plot_images(tut_path(path, sizeof path, o, "samples.png"), "style transfer", 1, 3, S, S, pix, NULL, labels,
                       NULL, 6) == JX_OK)
        printf("wrote %s\n", path);
}

/* The style image: 0.5 + 0.5 sin(2 pi (row + col) / PERIOD), as data.py. */
static jx_array *stripes(void) {
    float v[S * S];
    for (int r = 0; r < S; r++)
        for (int c = 0; c < S; c++) v[r * S + c] = (float)(0.5 + 0.5 * sin(2 * 3.141592653589793 * (r + c) / PERIOD));
    return jx_array_new(JX_F32, JX_INTS(1, S, S, 1), v);
}

int main(int argc, char **argv) {
    const char *prog = "tut_06_style_transfer";
    trainer_opts o = {.epochs = 8, .batch = 64, .lr = 0.05, .limit = 4000};
    int quick, r = tut_parse(prog, "Neural style transfer on a digit: pre-trains a small CNN on MNIST, then optimises "
                                   "the image's pixels (the gradient with respect to the input) for content and Gram "
                                   "style losses. --epochs: rounds of 50 image steps; --lr: the image's Adam rate; "
                                   "--batch, --limit: the pre-training's batches and images.",
                             argc, argv, &o, NULL, 0, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 2, o.limit = 1000;
    const char *dir;
    jx_idx_split train, test;
    int64_t n, nt;
    if (tut_mnist_open(prog, &o, quick, 1000, &dir, &train, &test, &n, &nt) != 0) return 1;
    const int64_t steps = n / o.batch;
    if (steps < 1) {
        fprintf(stderr, "%s: --batch %d is larger than the %lld training images\n", prog, o.batch, (long long)n);
        jx_idx_split_free(&train), jx_idx_split_free(&test);
        return 2;
    }
    printf("%s: pre-training on %lld images from %s for %d epochs, then %d rounds of %d image steps\n", prog,
           (long long)n, dir, PRE_EPOCHS, o.epochs, STEPS);

    /* 1. pre-training the feature network */
    jx_tree *net = init_params(o.seed);
    jx_optim popt = jx_optim_adam(jx_schedule_constant(PRE_LR), 0.9, 0.999, 1e-8);
    jx_tree *nstate = jx_optim_init(&popt, net);
    tut_feed tf = {&train, NULL, o.batch, 1, 1, NULL}; /* x (B,28,28,1) and y, in file order */
    jx_tree *b0 = tut_feed_batch(0, 0, &tf), *pin[3] = {net, nstate, b0};
    tut_step pbody = {ce_loss, &popt, 1, NULL, NULL};
    jx_tree_fn *pstep = jx_tree_trace("pretrain_step", tut_step_body, &pbody, 3, pin, 3);
    jx_tree_free(b0);
    jx_exec *px = tut_jit(pstep, &o, 2);
    int status = px ? 0 : tut_fail(prog, "building the pre-training step");
    if (!status) {
        tut_timer t = tut_timer_start();
        tut_loop loop = {"pre-training loss", PRE_EPOCHS, steps, tut_feed_batch, &tf, NULL, NULL};
        status = tut_train(prog, pstep, px, &net, &nstate, &loop);
        tut_timer_stop(&t, "training");
    }

    /* 2. the targets, then the image's steps: its pixels are the parameters */
    jx_array *content = mnist_images(test.images, NULL, 0, 1, JX_INTS(1, S, S, 1)), *style = stripes();
    jx_tree *images = jx_tree_dict(), *img = jx_tree_dict(), *ctx = jx_tree_dict(), *istate = NULL;
    jx_tree_set_array(images, "content", jx_array_retain(content));
    jx_tree_set_array(images, "style", jx_array_retain(style));
    jx_tree_set_array(img, "img", jx_array_retain(content));
    jx_tree_fn *tf_fn = NULL, *lf = NULL, *istep = NULL;
    jx_exec *ix = NULL;
    jx_optim iopt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    if (!status) {
        jx_tree *tin[2] = {net, images};
        tf_fn = jx_tree_trace("targets", target_body, NULL, 2, tin, 1);
        jx_tree *target = tf_fn ? run2(tf_fn, NULL, net, images) : NULL;
        if (target) {
            jx_tree_set(ctx, "net", jx_tree_copy(net));
            jx_tree_set(ctx, "target", target);
            istate = jx_optim_init(&iopt, img);
            jx_tree *lin[2] = {img, ctx}, *sin[3] = {img, istate, ctx};
            tut_step sbody = {style_loss, &iopt, 1, NULL, NULL};
            lf = jx_tree_trace("losses", loss_body, NULL, 2, lin, 1);
            istep = jx_tree_trace("style_step", tut_step_body, &sbody, 3, sin, 3);
            ix = lf && istep ? tut_jit(istep, &o, 2) : NULL;
        }
        if (!ix) status = tut_fail(prog, "building the style transfer step");
    }
    double c0 = 0, s0 = 0, c = 0, s = 0;
    if (!status && image_losses(lf, img, ctx, &c0, &s0) != 0) status = tut_fail(prog, "the content image's losses");
    if (!status) {
        tut_timer t = tut_timer_start();
        tut_loop loop = {"style transfer loss", o.epochs, STEPS, same_context, ctx, NULL, round_line};
        status = tut_train(prog, istep, ix, &img, &istate, &loop);
        tut_timer_stop(&t, "style transfer");
    }
    if (!status && image_losses(lf, img, ctx, &c, &s) != 0) status = tut_fail(prog, "the result's losses");
    if (!status) {
        printf("style loss %.5f -> %.5f (1/%.0f of the start), content loss 0 -> %.5f\n", s0, s, s0 / s, c);
        tut_metric("style_loss_ratio", s / s0);
        if (jx_plot_available())
            plot(&o, jx_array_data(content), jx_array_data(style), jx_array_data(jx_tree_get_array(img, "img")));
        /* an image that does not move keeps the ratio at 1; the quick run brings it to about
         * 0.004 on MNIST and 0.012 on Fashion-MNIST (the fallback without ../shared) */
        status = tut_quick_check(quick, "style loss ratio", s / s0, 0.5, 0);
    }
    jx_array_release(content), jx_array_release(style);
    jx_tree_free(net), jx_tree_free(nstate), jx_tree_free(images), jx_tree_free(img), jx_tree_free(ctx), jx_tree_free(istate);
    jx_exec_release(px), jx_exec_release(ix);
    jx_tree_fn_free(pstep), jx_tree_fn_free(tf_fn), jx_tree_fn_free(lf), jx_tree_fn_free(istep);
    jx_idx_split_free(&train), jx_idx_split_free(&test);
    return status;
}
