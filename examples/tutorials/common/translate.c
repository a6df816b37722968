/* translate.c: see translate.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jx/losses.h>

#include "translate.h"
#include "tut.h"

enum { NOUN0 = 3, VERB0 = NOUN0 + TR_NOUNS, ADJ0 = VERB0 + TR_VERBS, PART0 = ADJ0 + TR_ADJS };

static const char *const words[2][TR_VOCAB] = {
    {"", "", "", "cat", "dog", "bird", "fish", "horse", "mouse", "child", "king", "queen", "farmer", "teacher",
     "doctor", "sees", "likes", "finds", "follows", "feeds", "helps", "big", "small", "red", "old", "young", "happy",
     "quiet", "brave", "clever", "green", "-", "-"},
    {"", "", "", "kato", "hundo", "birdo", "fiso", "cevalo", "muso", "infano", "rego", "regino", "farmisto",
     "instruisto", "kuracisto", "vidas", "amas", "trovas", "sekvas", "nutras", "helpas", "granda", "eta", "ruga",
     "maljuna", "juna", "gaja", "kvieta", "brava", "lerta", "verda", "o", "ga"},
};

const char *tr_word(int32_t id, int target) { return id >= 0 && id < TR_VOCAB ? words[target != 0][id] : "?"; }

static int pick(float u, int n) { return (int)((double)u * n); }

/* A noun phrase from u[0] (how many adjectives), u[1..2] (which), u[3] (the noun):
 * source order adjectives then noun; target order noun then the adjectives reversed. */
static void phrase(const float *u, int32_t *src, int *ns, int32_t *tgt, int *nt) {
    int na = pick(u[0], 3);
    int32_t adj[2] = {ADJ0 + pick(u[1], TR_ADJS), ADJ0 + pick(u[2], TR_ADJS)}, noun = NOUN0 + pick(u[3], TR_NOUNS);
    for (int i = 0; i < na; i++) src[(*ns)++] = adj[i];
    src[(*ns)++] = noun;
    tgt[(*nt)++] = noun;
    for (int i = na - 1; i >= 0; i--) tgt[(*nt)++] = adj[i];
}

tr_data tr_generate(uint64_t seed, int64_t n) {
    tr_data d = {n, calloc((size_t)(n * TR_SRC), sizeof(int32_t)), calloc((size_t)(n * TR_TGT), sizeof(int32_t))};
    float *u = malloc(sizeof(float) * (size_t)(9 * n));
    if (!d.src || !d.tgt || !u) {
        free(u), tr_free(&d);
        return d;
    }
    tut_uniform(seed, 9 * n, u);
    for (int64_t k = 0; k < n; k++) {
        const float *v = u + 9 * k; /* subject phrase v[0..3], verb v[4], object phrase v[5..8] */
        int32_t s1[3], t1[3], s2[3], t2[3], *src = d.src + k * TR_SRC, *tgt = d.tgt + k * TR_TGT;
        int n1 = 0, m1 = 0, n2 = 0, m2 = 0, ns = 0, nt = 0;
        phrase(v, s1, &n1, t1, &m1);
        phrase(v + 5, s2, &n2, t2, &m2);
        int32_t verb = VERB0 + pick(v[4], TR_VERBS);
        for (int i = 0; i < n1; i++) src[ns++] = s1[i];
        src[ns++] = verb;
        for (int i = 0; i < n2; i++) src[ns++] = s2[i];
        src[ns] = TR_EOS;
        tgt[nt++] = TR_BOS;
        for (int i = 0; i < m2; i++) tgt[nt++] = t2[i];
        tgt[nt++] = PART0;
        for (int i = 0; i < m1; i++) tgt[nt++] = t1[i];
        tgt[nt++] = PART0 + 1;
        tgt[nt++] = verb;
        tgt[nt] = TR_EOS;
    }
    free(u);
    return d;
}

void tr_free(tr_data *d) {
    free(d->src), free(d->tgt);
    d->src = d->tgt = NULL;
}

char *tr_format(const int32_t *tokens, int64_t n, int target, char *buf, unsigned long size) {
    size_t len = 0;
    buf[0] = 0;
    for (int64_t i = 0; i < n && tokens[i] != TR_EOS && tokens[i] != TR_PAD; i++) {
        if (tokens[i] == TR_BOS) continue;
        int w = snprintf(buf + len, size - len, "%s%s", len ? " " : "", tr_word(tokens[i], target));
        if (w < 0 || (size_t)w >= size - len) break;
        len += (size_t)w;
    }
    return buf;
}

int tr_greedy(tr_decode_fn decode, void *user, int64_t n, int32_t *out) {
    const int64_t T = TR_TGT - 1;
    int32_t *in = calloc((size_t)(n * T), sizeof(int32_t));
    float *logits = malloc(sizeof(float) * (size_t)(n * T * TR_VOCAB));
    int status = !in || !logits;
    for (int64_t i = 0; i < n && !status; i++) in[i * T] = TR_BOS;
    for (int64_t t = 0; t < T && !status; t++) {
        status = decode(user, in, logits);
        for (int64_t i = 0; i < n && !status; i++) {
            const float *l = logits + (i * T + t) * TR_VOCAB;
            int32_t best = 0;
            for (int32_t v = 1; v < TR_VOCAB; v++)
                if (l[v] > l[best]) best = v;
            out[i * T + t] = best;
            if (t + 1 < T) in[i * T + t + 1] = best;
        }
    }
    free(in), free(logits);
    return status;
}

double tr_accuracy(const int32_t *out, const tr_data *d, double *exact) {
    const int64_t T = TR_TGT - 1;
    int64_t right = 0, total = 0, whole = 0;
    for (int64_t i = 0; i < d->n; i++) {
        int ok = 1;
        for (int64_t t = 0; t < T; t++) {
            int32_t ref = d->tgt[i * TR_TGT + t + 1];
            if (ref == TR_PAD) break;
            total++;
            right += out[i * T + t] == ref;
            ok &= out[i * T + t] == ref;
        }
        whole += ok;
    }
    if (exact) *exact = d->n ? (double)whole / (double)d->n : 0;
    return total ? (double)right / (double)total : 0;
}

int64_t tr_setup(const char *prog, int quick, trainer_opts *o, long ntrain, tr_data *tr, tr_data *te) {
    if (quick) ntrain = 2560, o->epochs = 2;
    if (o->limit > 0 && o->limit < ntrain) ntrain = o->limit;
    *tr = (tr_data){0}, *te = (tr_data){0};
    if (ntrain / o->batch < 1) {
        fprintf(stderr, "%s: --batch %d is larger than the %ld training pairs\n", prog, o->batch, ntrain);
        return 0;
    }
    *tr = tr_generate(o->seed + 1, ntrain), *te = tr_generate(o->seed + 2, quick ? 200 : 1000);
    if (!tr->src || !te->src) {
        fprintf(stderr, "%s: out of memory for %ld sentence pairs\n", prog, ntrain);
        tr_free(tr), tr_free(te);
        return 0;
    }
    printf("%ld training pairs, %lld test pairs\n", ntrain, (long long)te->n);
    return ntrain / o->batch;
}

jx_tree *tr_pairs_tree(const tr_data *d, int64_t first, int64_t n) {
    jx_tree *t = jx_tree_dict();
    jx_tree_set_array(t, "src", jx_array_new(JX_I32, JX_INTS(n, TR_SRC), d->src + first * TR_SRC));
    jx_tree_set_array(t, "tgt", jx_array_new(JX_I32, JX_INTS(n, TR_TGT), d->tgt + first * TR_TGT));
    return t;
}

jx_tree *tr_next_batch(int64_t s, int64_t step, void *user) {
    const tr_batches *b = user;
    (void)step;
    return tr_pairs_tree(b->d, s * b->size, b->size);
}

void tr_loss(jx_tree **out, jx_tree *const *in, void *user) {
    const tr_model *m = user;
    jx_val src = jx_tree_get_val(in[1], "src"), tgt = jx_tree_get_val(in[1], "tgt");
    int64_t b = jx_dim(tgt, 0);
    jx_val tin = jx_slice(tgt, JX_INTS(0, 0), JX_INTS(b, TR_TGT - 1), JX_NOINTS);
    jx_val labels = jx_slice(tgt, JX_INTS(0, 1), JX_INTS(b, TR_TGT), JX_NOINTS);
    out[0] = jx_tree_val(jx_loss_softmax_ce_int_mean(m->forward(m->user, in[0], src, tin), labels, TR_PAD));
}

/* in[0] params, in[1] {src, tin}: out[0] the logits of the tr_model user. */
static void logits_body(jx_tree **out, jx_tree *const *in, void *user) {
    const tr_model *m = user;
    out[0] = jx_tree_val(m->forward(m->user, in[0], jx_tree_get_val(in[1], "src"), jx_tree_get_val(in[1], "tin")));
}

/* tr_greedy's model: a jitted logits function on the test sources. */
typedef struct decoder {
    const jx_tree_fn *fn;
    jx_exec *x;
    jx_tree *params;
    jx_array *src;
    int64_t n;
} decoder;

static jx_tree *decoder_inputs(const decoder *dc, jx_array *tin) {
    jx_tree *b = jx_tree_dict();
    jx_tree_set_array(b, "src", jx_array_retain(dc->src));
    jx_tree_set_array(b, "tin", tin);
    return b;
}

static int decode(void *user, const int32_t *in, float *logits) {
    decoder *dc = user;
    jx_tree *b = decoder_inputs(dc, jx_array_new(JX_I32, JX_INTS(dc->n, TR_TGT - 1), in)), *args[2] = {dc->params, b};
    jx_tree *out = NULL;
    int status = jx_tree_fn_run(dc->fn, dc->x, 2, args, 1, &out) != JX_OK;
    if (!status)
        memcpy(logits, jx_array_data(jx_tree_leaf_array(jx_tree_leaf(out, 0))),
               sizeof(float) * (size_t)(dc->n * (TR_TGT - 1) * TR_VOCAB));
    jx_tree_free(out), jx_tree_free(b);
    return status;
}

int tr_evaluate(const char *prog, const tr_model *m, jx_tree *params, const tr_data *te,
                const trainer_opts *o, double *acc) {
    const int64_t n = te->n, T = TR_TGT - 1;
    decoder dc = {NULL, NULL, params, jx_array_new(JX_I32, JX_INTS(n, TR_SRC), te->src), n};
    jx_tree *b = decoder_inputs(&dc, jx_array_zeros(JX_I32, JX_INTS(n, T))), *in[2] = {params, b};
    jx_tree_fn *fn = jx_tree_trace("logits", logits_body, (void *)m, 2, in, 1);
    dc.fn = fn, dc.x = tut_jit(fn, o, 0);
    int32_t *pred = malloc(sizeof(int32_t) * (size_t)(n * T));
    int status = !pred || !dc.x || tr_greedy(decode, &dc, n, pred);
    if (status) tut_fail(prog, "decoding the test set");
    else {
        double exact;
        char s[256], ref[256], out[256];
        *acc = tr_accuracy(pred, te, &exact);
        for (int i = 0; i < 3 && i < n; i++)
            printf("  %s\n    -> %s\n    (reference: %s)\n", tr_format(te->src + i * TR_SRC, TR_SRC, 0, s, sizeof s),
                   tr_format(pred + i * T, T, 1, out, sizeof out), tr_format(te->tgt + i * TR_TGT, TR_TGT, 1, ref, sizeof ref));
        printf("greedy decoding of %lld test sentences: token accuracy %.2f%%, whole sentences right %.2f%%\n",
               (long long)n, 100 * *acc, 100 * exact);
        tut_metric("token_accuracy", *acc);
    }
    free(pred), jx_tree_free(b), jx_array_release(dc.src), jx_exec_release(dc.x), jx_tree_fn_free(fn);
    return status;
}
