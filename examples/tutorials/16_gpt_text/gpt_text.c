/* 16_gpt_text: a small GPT (a decoder-only Transformer) learns to predict the next
 * character of the GNU GPL's text, then writes some of its own. Shows the Transformer
 * block of common/transformer.h with jx_nn_causal_mask alone (no encoder), next-token
 * cross-entropy over every position of a window in one jitted training step (tree
 * value_and_grad, Adam with donated parameters), a jitted evaluation that is the loss
 * function traced once more, and sampling from the model by calling its jitted forward
 * once per new character. The text is Debian's /usr/share/common-licenses/GPL-3 (every
 * Debian system has it; --data another file); the score is the perplexity per character
 * of its last 10%, never trained on. See README.md. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/layers.h>
#include <jx/losses.h>
#include <jx/optim.h>
#include <jx/tree.h>

#include "transformer.h"
#include "tut.h"

enum { CTX = 32, D = 64, HEADS = 4, FF = 128, GEN = 240 };

typedef struct model {
    int layers;
    jx_array *pos; /* (CTX, D) */
} model;

/* The text as ids into its sorted set of distinct bytes. */
typedef struct corpus {
    int64_t n, ntrain, vocab;
    int32_t *ids;
    unsigned char chars[256]; /* id -> byte */
} corpus;

static int read_corpus(const char *path, corpus *c) {
    FILE *f = fopen(path, "rb");
    if (!f) return 1;
    unsigned char *buf = malloc(1 << 22); /* the first 4 MiB of the text */
    size_t n = buf ? fread(buf, 1, 1 << 22, f) : 0;
    fclose(f);
    errno = 0; /* from here on a failure is the text's length */
    int map[256] = {0}, seen[256] = {0};
    for (size_t i = 0; i < n; i++) seen[buf[i]] = 1;
    c->vocab = 0;
    for (int b = 0; b < 256; b++)
        if (seen[b]) map[b] = (int)c->vocab, c->chars[c->vocab++] = (unsigned char)b;
    c->n = (int64_t)n, c->ntrain = c->n * 9 / 10;
    c->ids = malloc(sizeof(int32_t) * (n ? n : 1));
    for (size_t i = 0; c->ids && i < n; i++) c->ids[i] = map[buf[i]];
    free(buf);
    return !c->ids || c->ntrain < 4 * (CTX + 1) || c->n - c->ntrain < CTX + 1;
}

/* Logits (B,T,V) of params for ids (B,T), T <= CTX. */
static jx_val forward(const model *m, const jx_tree *params, jx_val ids) {
    jx_val x = tfm_embed(jx_tree_get_val(params, "tok_emb"), ids, m->pos);
    x = tfm_stack(params, "block", m->layers, x, jx_nn_causal_mask(jx_dim(ids, 1)), JX_NONE, JX_NONE);
    return jx_nn_dense(x, jx_tree_get_val(params, "head.w"), jx_tree_get_val(params, "head.b"));
}

/* in[0] params, in[1] {x, y} (B,CTX): the mean cross-entropy of predicting y[t] (the
 * character after x[t]) from x[0..t], over every position. Also the test evaluation. */
static void loss(jx_tree **out, jx_tree *const *in, void *user) {
    jx_val logits = forward(user, in[0], jx_tree_get_val(in[1], "x"));
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(logits, jx_tree_get_val(in[1], "y"), JX_LOSS_NO_IGNORE));
}

static void logits_body(jx_tree **out, jx_tree *const *in, void *user) {
    out[0] = jx_tree_val(forward(user, in[0], jx_tree_get_val(in[1], "x")));
}

static jx_tree *init_params(int layers, int64_t vocab, uint64_t seed) {
    tfm_dims dims = {D, HEADS, FF};
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "tok_emb", tut_weights(seed, vocab, D, 1.0));
    tfm_stack_init(p, "block", layers, &dims, 0, seed + 100);
    jx_tree_set_array(p, "head.w", tfm_kernel(seed + 1, D, vocab));
    jx_tree_set_array(p, "head.b", jx_array_zeros(JX_F32, JX_INTS(vocab)));
    return p;
}

/* n windows {x, y} (n, CTX): window i starts at starts[i]; y is x shifted by one. */
static jx_tree *windows(const corpus *c, const int64_t *starts, int64_t n, int32_t *x, int32_t *y) {
    for (int64_t i = 0; i < n; i++) {
        memcpy(x + i * CTX, c->ids + starts[i], sizeof(int32_t) * CTX);
        memcpy(y + i * CTX, c->ids + starts[i] + 1, sizeof(int32_t) * CTX);
    }
    jx_tree *t = jx_tree_dict();
    jx_tree_set_array(t, "x", jx_array_new(JX_I32, JX_INTS(n, CTX), x));
    jx_tree_set_array(t, "y", jx_array_new(JX_I32, JX_INTS(n, CTX), y));
    return t;
}

/* Training batches: window starts uniform over the training text, from the stream
 * seed (batch numbers per step, as data.py). */
typedef struct batches {
    const corpus *c;
    int64_t size;
    const float *u; /* epochs * steps * size uniforms */
    int64_t *starts;
    int32_t *x, *y;
} batches;

static jx_tree *next_batch(int64_t s, int64_t step, void *user) {
    const batches *b = user;
    (void)s;
    for (int64_t i = 0; i < b->size; i++)
        b->starts[i] = (int64_t)((double)b->u[step * b->size + i] * (double)(b->c->ntrain - CTX - 1));
    return windows(b->c, b->starts, b->size, b->x, b->y);
}

/* Writes GEN characters after the prompt (the first CTX characters of the test text),
 * each drawn from the model's distribution at temperature 0.8 with common/tut.h's
 * uniform stream seed. */
static int generate(const corpus *c, const jx_tree_fn *fn, jx_exec *x, jx_tree *params, uint64_t seed, char *text) {
    int32_t win[CTX];
    float u[GEN];
    double *p = malloc(sizeof(double) * (size_t)c->vocab);
    tut_uniform(seed, GEN, u);
    memcpy(win, c->ids + c->ntrain, sizeof win);
    int status = !p;
    for (int g = 0; g < GEN && !status; g++) {
        jx_tree *b = jx_tree_dict(), *in[2] = {params, b}, *out = NULL;
        jx_tree_set_array(b, "x", jx_array_new(JX_I32, JX_INTS(1, CTX), win));
        status = jx_tree_fn_run(fn, x, 2, in, 1, &out) != JX_OK;
        if (!status) {
            const float *l = (const float *)jx_array_data(jx_tree_leaf_array(jx_tree_leaf(out, 0))) + (CTX - 1) * c->vocab;
            double mx = l[0], sum = 0, acc = 0;
            for (int64_t v = 1; v < c->vocab; v++) mx = l[v] > mx ? l[v] : mx;
            for (int64_t v = 0; v < c->vocab; v++) sum += p[v] = exp((l[v] - mx) / 0.8);
            int64_t pick = c->vocab - 1;
            for (int64_t v = 0; v < c->vocab; v++)
                if ((acc += p[v] / sum) > u[g]) {
                    pick = v;
                    break;
                }
            memmove(win, win + 1, sizeof(int32_t) * (CTX - 1));
            win[CTX - 1] = (int32_t)pick;
            text[g] = (char)c->chars[pick];
        }
        jx_tree_free(out), jx_tree_free(b);
    }
    text[GEN] = 0;
    free(p);
    return status;
}

int main(int argc, char **argv) {
    const char *prog = "tut_16_gpt_text";
    trainer_opts o = {.epochs = 8, .batch = 32, .lr = 3e-3, .seed = 0};
    long layers = 2;
    trainer_extra ex[] = {{"--layers", "L", "Transformer blocks (default 2)", TRAINER_LONG, 1, 8, &layers}};
    int quick, r = tut_parse(prog, "A character-level GPT trained on the GPL's text (causal self-attention, Adam, jit, "
                                   "sampling). --epochs: passes of the training text's length in windows; --data: "
                                   "the text file (default /usr/share/common-licenses/GPL-3).", argc, argv, &o, ex, 1,
                             &quick);
    if (r) return r == 1 ? 0 : 2;
    if (quick) o.epochs = 4, layers = 1;
    const char *path = o.data ? o.data : "/usr/share/common-licenses/GPL-3";
    corpus c = {0};
    errno = 0;
    if (read_corpus(path, &c)) {
        if (errno) fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(errno));
        else fprintf(stderr, "%s: %s: too short: its last tenth, the test text, needs %d characters (%d in all)\n",
                          prog, path, CTX + 1, 10 * (CTX + 1));
        free(c.ids);
        return 2;
    }
    if (o.limit > 0 && o.limit < c.ntrain && o.limit >= 4 * (CTX + 1)) c.ntrain = o.limit;
    const int64_t steps = c.ntrain / ((int64_t)o.batch * CTX) > 0 ? c.ntrain / ((int64_t)o.batch * CTX) : 1;
    const int64_t ntw = (c.n - c.ntrain - 1) / CTX; /* test windows, end to end */
    double unigram = 0;
    {
        int64_t count[256] = {0};
        for (int64_t i = 0; i < c.ntrain; i++) count[c.ids[i]]++;
        for (int64_t i = 0; i < ntw * CTX; i++) {
            int64_t k = count[c.ids[c.ntrain + 1 + i]];
            unigram += -log((k + 1.0) / (double)(c.ntrain + c.vocab)) / (double)(ntw * CTX);
        }
    }
    printf("%s: %lld characters (%lld distinct), %lld for training, %lld test windows of %d\n", path,
           (long long)c.n, (long long)c.vocab, (long long)c.ntrain, (long long)ntw, CTX);

    model m = {(int)layers, tfm_positions(CTX, D)};
    jx_tree *params = init_params(m.layers, c.vocab, o.seed + 10);
    jx_optim opt = jx_optim_adam(jx_schedule_constant(o.lr), 0.9, 0.999, 1e-8);
    jx_tree *state = jx_optim_init(&opt, params);
    printf("%lld parameters in %d arrays\n", (long long)jx_tree_num_params(params), jx_tree_num_leaves(params));
    int64_t nwin = ntw > o.batch ? ntw : o.batch;
    int64_t *starts = malloc(sizeof(int64_t) * (size_t)nwin);
    int32_t *x = malloc(sizeof(int32_t) * (size_t)(nwin * CTX)), *y = malloc(sizeof(int32_t) * (size_t)(nwin * CTX));
    float *u = malloc(sizeof(float) * (size_t)(o.epochs * steps * o.batch));
    tut_uniform(o.seed + 1, o.epochs * steps * o.batch, u);
    batches bs = {&c, o.batch, u, starts, x, y};

    jx_tree *b0 = next_batch(0, 0, &bs), *tin[3] = {params, state, b0};
    tut_step body = {loss, &opt, 1, NULL, &m};
    jx_tree_fn *step = jx_tree_trace("train_step", tut_step_body, &body, 3, tin, 3);
    jx_tree_free(b0);
    jx_exec *exec = tut_jit(step, &o, 2);
    if (!exec) return tut_fail(prog, "building the training step");

    double *curve = malloc(sizeof(double) * (size_t)(o.epochs * steps));
    tut_loop loop = {"train cross-entropy (nats per character)", o.epochs, steps, next_batch, &bs, curve, NULL};
    tut_timer t = tut_timer_start();
    int status = tut_train(prog, step, exec, &params, &state, &loop);
    tut_timer_stop(&t, "training");
    if (!status) tut_plot_curve(&o, "loss.png", "Training cross-entropy per step", "step", "nats per character",
                                "train", curve, o.epochs * steps);

    /* the test text, end-to-end windows, in one call of the loss traced again */
    for (int64_t i = 0; i < ntw; i++) starts[i] = c.ntrain + i * CTX;
    jx_tree *tb = windows(&c, starts, ntw, x, y), *ein[2] = {params, tb}, *ev = NULL;
    jx_tree_fn *efn = status ? NULL : jx_tree_trace("test_loss", loss, &m, 2, ein, 1);
    jx_exec *eexec = tut_jit(efn, &o, 0);
    double ppl = NAN;
    if (!status && (!eexec || jx_tree_fn_run(efn, eexec, 2, ein, 1, &ev) != JX_OK))
        status = tut_fail(prog, "evaluating the test text");
    if (!status) {
        double ce = jx_array_get(jx_tree_leaf_array(jx_tree_leaf(ev, 0)), 0);
        ppl = exp(ce);
        printf("test perplexity %.3f per character (%.3f bits; a unigram model: %.3f) over %lld characters\n", ppl,
               ce / log(2), exp(unigram), (long long)(ntw * CTX));
        tut_metric("test_perplexity", ppl);
    }
    /* sampling: the forward pass on one window, jitted, once per character */
    jx_tree *gb = jx_tree_dict(), *gin[2] = {params, gb};
    jx_tree_set_array(gb, "x", jx_array_zeros(JX_I32, JX_INTS(1, CTX)));
    jx_tree_fn *gfn = status ? NULL : jx_tree_trace("logits", logits_body, &m, 2, gin, 1);
    jx_exec *gexec = tut_jit(gfn, &o, 0);
    char text[GEN + 1];
    if (!status && (!gexec || generate(&c, gfn, gexec, params, o.seed + 2, text)))
        status = tut_fail(prog, "sampling");
    if (!status) {
        printf("sample (temperature 0.8) after \"");
        for (int i = 0; i < CTX; i++) putchar(c.chars[c.ids[c.ntrain + i]]);
        printf("\":\n%s\n", text);
    }
    jx_tree_free(gb), jx_exec_release(gexec), jx_tree_fn_free(gfn);
    jx_tree_free(ev), jx_tree_free(tb), jx_exec_release(eexec), jx_tree_fn_free(efn);
    jx_exec_release(exec), jx_tree_fn_free(step), jx_tree_free(params), jx_tree_free(state);
    jx_array_release(m.pos), free(curve), free(u), free(starts), free(x), free(y), free(c.ids);
    if (status) return status;
    return tut_quick_check(quick, "test perplexity / unigram perplexity", ppl / exp(unigram), 0.75, 0);
}
