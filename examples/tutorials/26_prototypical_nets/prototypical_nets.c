/* 26_prototypical_nets: few-shot classification with prototypical networks (Snell et al.
 * 2017) on generated glyphs (common/glyphs.h: a stand-in for Omniglot, hundreds of
 * handwriting-like classes of 20 drawings each). An episode is a small classification
 * task: `way` classes never seen together before, `shot` labelled support images of each
 * and `query` images of each to classify. An embedding network (a dense 784-256-64 MLP)
 * maps every image to a vector; a class's prototype is the mean of its support
 * embeddings and a query goes to the nearest prototype (softmax over negative squared
 * distances). Training runs on episodes of 200 classes; the score is the query accuracy
 * on episodes of 100 held-out classes, which the network never saw. The loss is written
 * for one episode and jx_vmap_call maps it over a batch of episodes (the parameters
 * unmapped) inside the jitted step. See README.md. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/nn.h>

#include "glyphs.h"
#include "mlp.h"
#include "tut.h"

enum { PIXELS = GLYPH_SIDE * GLYPH_SIDE, PER = 20, TEST_CLS = 100, EMBED = 64, HID = 256, STEPS = 100,
       EVAL_BATCH = 50, MAXWAY = 20, MAXIMG = 200 };
static const char *const names[2] = {"embed1", "embed2"};
static const int64_t widths[3] = {PIXELS, HID, EMBED};
static const mlp net = {2, names, widths};

/* An episode's shape: way classes, shot support and query images of each. */
typedef struct shape { long way, shot, query; } shape;

/* The per-episode function's user data: its sizes and the parameter tree's structure. */
typedef struct episode_ctx { shape s; const jx_tree *like; } episode_ctx;

/* One episode. in: the parameters' leaves (unflattened like ctx->like), x (n,784): the
 * way*shot support images (class-major), then the way*query queries (class-major). out:
 * the loss (mean softmax cross-entropy of the queries), the accuracy, the predicted
 * class of each query (i32, way*query). */
static void episode(jx_val *out, const jx_val *in, void *user) {
    const episode_ctx *c = user;
    int np = jx_tree_num_leaves(c->like);
    int64_t ns = c->s.way * c->s.shot, nq = c->s.way * c->s.query;
    jx_tree *p = jx_tree_unflatten_vals(c->like, np, in);
    jx_val z = mlp_forward(&net, p, in[np]), zz[2];
    jx_tree_free(p);
    jx_split(z, JX_INTS(ns, nq), 0, zz);
    jx_val protos = jx_mean(jx_reshape(zz[0], JX_INTS(c->s.way, c->s.shot, EMBED)), JX_INTS(1)); /* (way, 64) */
    /* -|q - p|^2 = 2 q.p - |p|^2 - |q|^2; the last term is the same for every class and
     * the softmax ignores it */
    jx_val logits = jx_sub(jx_mul_s(jx_dot_general(zz[1], protos, JX_INTS(1), JX_INTS(1), JX_NOINTS, JX_NOINTS), 2),
                           jx_sum(jx_square(protos), JX_INTS(1)));
    jx_val y = jx_reshape(jx_iota(JX_I32, JX_INTS(c->s.way, c->s.query), 0), JX_INTS(nq));
    out[0] = jx_loss_softmax_ce_int_mean(logits, y, JX_LOSS_NO_IGNORE);
    out[2] = jx_argmax(logits, 1, JX_I32);
    out[1] = jx_mean(jx_convert(jx_eq(out[2], y), JX_F32), JX_NOINTS);
}

/* The episode function mapped over a batch x (E, n, 784): loss, accuracy (E), pred (E, nq). */
static void episodes(const jx_fn *ep, const jx_tree *params, jx_val x, jx_val *out) {
    jx_val in[16];
    int np = jx_tree_flatten_vals(params, in, 15);
    int64_t axes[16];
    for (int i = 0; i < np; i++) axes[i] = JX_NOT_MAPPED;
    axes[np] = 0, in[np] = x;
    jx_vmap_call(ep, (jx_ints){axes, np + 1}, JX_NOINTS, np + 1, in, 3, out);
}

/* in: params, {x (E, n, 784)}. out[0]: the mean loss over the episodes. user: the traced episode. */
static void loss_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_val r[3];
    episodes(user, in[0], jx_tree_get_val(in[1], "x"), r);
    out[0] = jx_tree_val(jx_mean(r[0], JX_NOINTS));
}

/* in: params, {x}. out: {acc (E), pred (E, nq)}. */
static void eval_body(jx_tree **out, jx_tree *const *in, void *user) {
    jx_val r[3];
    episodes(user, in[0], jx_tree_get_val(in[1], "x"), r);
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "acc", r[1]);
    jx_tree_set_val(out[0], "pred", r[2]);
}

/* Stable argsort of u[0..n) into order (insertion sort: numpy's kind="stable"). */
static void argsort(const float *u, int n, int *order) {
    for (int i = 0; i < n; i++) {
        int j = i;
        for (; j > 0 && u[order[j - 1]] > u[i]; j--) order[j] = order[j - 1];
        order[j] = i;
    }
}

/* The episodes of one stream, drawn as data.py draws them: episode g takes ncls + way *
 * PER uniforms from tut_uniform(seed) at g * that; the first ncls, argsorted, pick the
 * classes (the first `way`), and for class slot c the next PER, argsorted, pick its
 * images (the first shot as support, the next query as queries) among the PER
 * instances of images (class-major). */
typedef struct sampler {
    const float *images;
    int64_t ncls;
    shape s;
    int64_t per_step; /* episodes per call */
    float *u;
    int *cls;         /* the classes of the last batch: per_step x way */
} sampler;

static int64_t per_episode(const sampler *sm) { return sm->ncls + sm->s.way * PER; }

/* The batch of episodes (s * per_step ...) as {x (per_step, n, 784)}; a tut_batch_fn. */
static jx_tree *sample(int64_t s, int64_t step, void *user) {
    (void)step;
    sampler *sm = user;
    int64_t n = sm->s.way * (sm->s.shot + sm->s.query), ns = sm->s.way * sm->s.shot;
    jx_array *x = jx_array_zeros(JX_F32, JX_INTS(sm->per_step, n, PIXELS));
    jx_tree *b = jx_tree_dict();
    int *order = malloc(sizeof(int) * (size_t)sm->ncls);
    if (!x || !b || !order || jx_tree_set_array(b, "x", x) != JX_OK) {
        free(order), jx_tree_free(b);
        return NULL;
    }
    float *d = jx_array_data_mut(x);
    for (int64_t e = 0; e < sm->per_step; e++) {
        const float *u = sm->u + (s * sm->per_step + e) * per_episode(sm);
        int *cls = sm->cls + e * sm->s.way, pick[PER];
        argsort(u, (int)sm->ncls, order);
        for (int c = 0; c < sm->s.way; c++) {
            cls[c] = order[c];
            argsort(u + sm->ncls + c * PER, PER, pick);
            for (int j = 0; j < sm->s.shot + sm->s.query; j++) { /* support (class-major), then the queries */
                int64_t k = j < sm->s.shot ? c * sm->s.shot + j : ns + c * sm->s.query + (j - sm->s.shot);
                const float *img = sm->images + (cls[c] * PER + pick[j]) * PIXELS;
                memcpy(d + (e * n + k) * PIXELS, img, sizeof(float) * PIXELS);
            }
        }
    }
    free(order);
    return b;
}

/* Mean query accuracy over neps test episodes (in calls of EVAL_BATCH). first_pred, when
 * not NULL, gets the first episode's predictions and first_cls its classes. */
static double evaluate(const jx_tree_fn *ev, jx_exec *ev_x, const jx_tree *params, sampler *sm, int64_t neps,
                       int *first_pred, int *first_cls) {
    double sum = 0;
    for (int64_t s = 0; s < neps / EVAL_BATCH; s++) {
        jx_tree *b = sample(s, 0, sm), *in[2] = {(jx_tree *)params, b}, *out = NULL;
        if (!b || jx_tree_fn_run(ev, ev_x, 2, in, 1, &out) != JX_OK) {
            jx_tree_free(b);
            return -1;
        }
        const float *acc = jx_array_data(jx_tree_get_array(out, "acc"));
        for (int e = 0; e < EVAL_BATCH; e++) sum += acc[e];
        if (s == 0 && first_pred) {
            const int32_t *pr = jx_array_data(jx_tree_get_array(out, "pred"));
            for (int64_t q = 0; q < sm->s.way * sm->s.query; q++) first_pred[q] = pr[q];
            for (int c = 0; c < sm->s.way; c++) first_cls[c] = sm->cls[c];
        }
        jx_tree_free(b), jx_tree_free(out);
    }
    return sum / (double)(neps / EVAL_BATCH * EVAL_BATCH);
}

/* Draws test episode 0: a row per class, its support images then its queries, each query
 * captioned with the class it was given (or "wrong: C"). */
static void plot_episode(const trainer_opts *o, sampler *sm, const int *pred, const int *cls) {
    shape s = sm->s;
    int64_t cols = s.shot + s.query, n = s.way * cols;
    float *pix = malloc(sizeof(float) * (size_t)(n * PIXELS));
    char(*text)[24] = malloc(sizeof *text * (size_t)n), (*rows)[24] = malloc(sizeof *rows * (size_t)s.way);
    const char **labels = malloc(sizeof *labels * (size_t)n), **row_labels = malloc(sizeof *row_labels * (size_t)s.way);
    jx_tree *b = sample(0, 0, sm); /* the episode again (the first of the first batch) */
    if (pix && text && rows && labels && row_labels && b) {
        const float *x = jx_array_data(jx_tree_get_array(b, "x"));
        for (int c = 0; c < s.way; c++) {
            snprintf(rows[c], sizeof rows[c], "class %d", cls[c]);
            row_labels[c] = rows[c];
            for (int j = 0; j < cols; j++) {
                int64_t k = j < s.shot ? c * s.shot + j : s.way * s.shot + c * s.query + (j - s.shot), t = c * cols + j;
                memcpy(pix + t * PIXELS, x + k * PIXELS, sizeof(float) * PIXELS);
                int pc = j < s.shot ? c : pred[c * s.query + j - s.shot];
                if (j < s.shot) snprintf(text[t], sizeof text[t], "support");
                else if (pc == c) snprintf(text[t], sizeof text[t], "query: right");
                else snprintf(text[t], sizeof text[t], "wrong: %d", cls[pc]);
                labels[t] = text[t];
            }
        }
        char path[4096];
        if (jx_plot_images(tut_path(path, sizeof path, o, "episode.png"),
                           "A held-out episode: support images, then queries", (int)s.way, (int)cols, GLYPH_SIDE,
                           GLYPH_SIDE, pix, NULL, labels, row_labels, 3) == JX_OK)
            printf("wrote %s\n", path);
    }
    jx_tree_free(b);
    free(pix), free(text), free(rows), free(labels), free(row_labels);
}

/* A sampler over ncls classes of PER images: neps episodes of s from stream seed, per_step a call. */
static int sampler_make(sampler *sm, const float *images, int64_t ncls, shape s, int64_t per_step, int64_t neps,
                        uint64_t seed) {
    *sm = (sampler){images, ncls, s, per_step, NULL, malloc(sizeof(int) * (size_t)(per_step * s.way))};
    sm->u = malloc(sizeof(float) * (size_t)(neps * per_episode(sm)));
    if (!sm->u || !sm->cls) return -1;
    tut_uniform(seed, neps * per_episode(sm), sm->u);
    return 0;
}

int main(int argc, char **argv) {
    const char *prog = "tut_26_prototypical_nets";
    trainer_opts o = {.epochs = 5, .batch = 8, .lr = 1e-3, .limit = 200};
    long test_eps = 500;
    shape s = {5, 5, 5};
    trainer_extra ex[] = {
        {"--way", "N", "classes per episode (default 5)", TRAINER_LONG, 2, MAXWAY, &s.way},
        {"--shot", "K", "support images per class (default 5)", TRAINER_LONG, 1, PER - 1, &s.shot},
        {"--query", "Q", "query images per class (default 5)", TRAINER_LONG, 1, PER - 1, &s.query},
        {"--test-episodes", "N", "held-out episodes scored (default 500, a multiple of 50)", TRAINER_LONG, EVAL_BATCH,
         100000, &test_eps}};
    int quick, r = tut_parse(prog, "Few-shot classification with prototypical networks on generated glyphs (an "
                                   "Omniglot stand-in): an MLP embedding trained on episodes of 200 classes, scored on "
                                   "N-way K-shot episodes of 100 held-out classes (jx_vmap_call over episodes inside "
                                   "the jitted step). --batch: episodes per step; --epochs: epochs of 100 steps; "
                                   "--limit: training classes (default 200); --data: unused (generated data).",
                             argc, argv, &o, ex, 4, &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 1, test_eps = 100;
    const int64_t ncls = o.limit, n = s.way * (s.shot + s.query), B = o.batch, steps = STEPS;
    if (s.shot + s.query > PER || n > MAXIMG || s.way > ncls || s.way > TEST_CLS || test_eps % EVAL_BATCH) {
        fprintf(stderr, "%s: an episode takes shot + query <= %d of each class's drawings, at most %d images, "
                        "way <= --limit (%lld) and <= %d held-out classes; --test-episodes a multiple of %d\n",
                prog, PER, MAXIMG, (long long)ncls, TEST_CLS, EVAL_BATCH);
        return 2;
    }
    /* the classes: ncls for training, then TEST_CLS held out; PER drawings of each */
    int *seg = malloc(sizeof(int) * (size_t)((ncls + TEST_CLS) * GLYPH_SEG));
    float *train = malloc(sizeof(float) * (size_t)(ncls * PER * PIXELS));
    float *test = malloc(sizeof(float) * (size_t)(TEST_CLS * PER * PIXELS));
    sampler ts = {0}, vs = {0};
    if (!seg || !train || !test || sampler_make(&ts, train, ncls, s, B, o.epochs * steps * B, o.seed + 3) ||
        sampler_make(&vs, test, TEST_CLS, s, EVAL_BATCH, test_eps, o.seed + 4)) {
        fprintf(stderr, "%s: out of memory\n", prog);
        return 1;
    }
    glyph_classes(o.seed + 1000, ncls + TEST_CLS, seg);
    glyph_instances(o.seed + 1, seg, ncls, PER, train);
    glyph_instances(o.seed + 2, seg + ncls * GLYPH_SEG, TEST_CLS, PER, test);
    printf("%s: %ld-way %ld-shot episodes (%ld queries per class) of generated glyphs: training on %lld classes, "
           "%d epochs of %lld steps of %lld episodes; testing on %d held-out classes\n", prog, s.way, s.shot, s.query,
           (long long)ncls, o.epochs, (long long)steps, (long long)B, TEST_CLS);

    jx_tree *params = mlp_init(&net, o.seed);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params);
    episode_ctx ctx = {s, params}; /* its structure, for tracing */
    jx_aval eav[16];
    int np = jx_tree_flatten_avals(params, eav, 15);
    eav[np] = JX_AVAL(JX_F32, n, PIXELS);
    jx_fn *ep = jx_trace("episode", episode, &ctx, np + 1, eav, 3);
    jx_tree *tb = jx_tree_dict(), *eb = jx_tree_dict();
    jx_tree_set(tb, "x", jx_tree_aval(JX_AVAL(JX_F32, B, n, PIXELS)));
    jx_tree_set(eb, "x", jx_tree_aval(JX_AVAL(JX_F32, EVAL_BATCH, n, PIXELS)));
    jx_tree *tin[3] = {params, state, tb}, *ein[2] = {params, eb};
    tut_step body = {loss_body, &opt, 1, NULL, (void *)ep};
    jx_tree_fn *step = ep ? jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3) : NULL;
    jx_tree_fn *ev = ep ? jx_tree_trace("eval", eval_body, (void *)ep, 2, ein, 1) : NULL;
    jx_tree_free(tb), jx_tree_free(eb);
    jx_exec *step_x = step && ev ? tut_jit(step, &o, 2) : NULL; /* params and optimizer state donated */
    jx_exec *ev_x = step_x ? tut_jit(ev, &o, 0) : NULL;
    if (!ev_x) return tut_fail(prog, "building the steps");

    int status = 0, pred[MAXIMG], cls[MAXWAY];
    double before = evaluate(ev, ev_x, params, &vs, test_eps, NULL, NULL), after = -1;
    double *curve = malloc(sizeof *curve * (size_t)(o.epochs * steps));
    tut_timer t = tut_timer_start();
    tut_loop loop = {"episode loss", o.epochs, steps, sample, &ts, curve, NULL};
    if (before < 0) status = tut_fail(prog, "scoring the untrained network");
    else status = tut_train(prog, step, step_x, &params, &state, &loop);
    tut_timer_stop(&t, "training");
    if (!status && (after = evaluate(ev, ev_x, params, &vs, test_eps, pred, cls)) < 0)
        status = tut_fail(prog, "scoring the test episodes");
    if (!status) {
        printf("held-out classes, %ld-way %ld-shot: query accuracy %.2f%% over %ld episodes (untrained "
               "embedding %.2f%%, chance %.0f%%)\n", s.way, s.shot, 100 * after, test_eps, 100 * before,
               100.0 / (double)s.way);
        tut_metric("test_accuracy", after);
        tut_plot_curve(&o, "loss.png", "Prototypical network: training episodes' loss", "step", "cross-entropy",
                       "episode loss (mean over the batch)", curve, o.epochs * steps);
        if (jx_plot_available()) plot_episode(&o, &vs, pred, cls);
        /* An untrained embedding is already a fair nearest-mean classifier (66% on 5-way
         * 5-shot glyph episodes; chance 20%): the check asks training to add 3 points to
         * it and reach 50%. The quick run (100 steps) reaches 91%. */
        double bound = before + 0.03 > 0.5 ? before + 0.03 : 0.5;
        status = tut_quick_check(quick, "held-out accuracy", after, bound, 1);
    }
    free(curve), free(ts.u), free(ts.cls), free(vs.u), free(vs.cls);
    free(seg), free(train), free(test);
    jx_tree_free(params), jx_tree_free(state);
    jx_exec_release(step_x), jx_exec_release(ev_x), jx_tree_fn_free(step), jx_tree_fn_free(ev), jx_fn_release(ep);
    return status;
}
