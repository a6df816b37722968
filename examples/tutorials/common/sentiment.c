/* sentiment.c: see sentiment.h; common/sentiment.py draws the same reviews. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "sentiment.h"

#include <stdlib.h>
#include <string.h>

#include "tut.h"

#define COUNT(a) ((int)(sizeof(a) / sizeof(a[0])))
enum { PER_SENTENCE = 18 };
static const double FLIP = 0.05;

static const char *const NOUNS[] = {"movie", "film", "plot", "acting", "story", "music", "ending", "cast", "script", "dialogue"};
static const char *const VERBS[] = {"was", "is"};
static const char *const INTENSIFIERS[] = {"very", "really", "quite", "truly", "so"};
static const char *const POSITIVE[] = {"good", "great", "fun", "moving", "brilliant", "charming", "clever", "superb"};
static const char *const NEGATIVE[] = {"bad", "boring", "dull", "awful", "weak", "silly", "poor", "terrible"};
static const char *const PREFIXES[] = {"honestly ,", "overall ,", "i think", "to be fair ,", "i did not expect much ,",
                                       "i never read the book ,", "after a long week ,", "in the end ,"};
static const char *const SPECIALS[] = {"<pad>", "<unk>", "<cls>", "<mask>"};

static const char *pick(double u, const char *const *words, int n) { return words[(int)(u * n)]; }

static void append(char *s, const char *w) {
    if (*s) strcat(s, " ");
    strcat(s, w);
}

/* A clause from 7 uniforms, appended to s; returns its sentiment (+1 or -1). want (+-1)
 * forces the sentiment: the adjective's polarity then follows from the negation. */
static int clause(char *s, const double *u, int want) {
    int negated = u[2] < 0.35, pos = want == 0 ? u[5] < 0.5 : (want > 0) != negated;
    append(s, "the"), append(s, pick(u[0], NOUNS, COUNT(NOUNS))), append(s, pick(u[1], VERBS, COUNT(VERBS)));
    if (negated) append(s, u[2] < 0.25 ? "not" : "never");
    if (u[3] < 0.4) append(s, pick(u[4], INTENSIFIERS, COUNT(INTENSIFIERS)));
    append(s, pos ? pick(u[6], POSITIVE, COUNT(POSITIVE)) : pick(u[6], NEGATIVE, COUNT(NEGATIVE)));
    return (pos ? 1 : -1) * (negated ? -1 : 1);
}

int sent_corpus_make(sent_corpus *c, int64_t n, uint64_t seed) {
    float *u = malloc(sizeof(float) * (size_t)(n * PER_SENTENCE));
    *c = (sent_corpus){n, calloc((size_t)n, sizeof(char *)), malloc(sizeof(int32_t) * (size_t)n)};
    if (!u || !c->text || !c->label) {
        free(u), free(c->text), free(c->label);
        *c = (sent_corpus){0};
        return -1;
    }
    tut_uniform(seed, n * PER_SENTENCE, u);
    for (int64_t i = 0; i < n; i++) {
        double r[PER_SENTENCE];
        char s[256] = "";
        for (int k = 0; k < PER_SENTENCE; k++) r[k] = u[i * PER_SENTENCE + k];
        if (r[1] >= 0.4) append(s, pick(r[16], PREFIXES, COUNT(PREFIXES)));
        int sentiment = clause(s, r + 2, 0);
        if (r[0] >= 0.5) append(s, "but"), sentiment = clause(s, r + 9, -sentiment); /* "but" turns the review */
        c->label[i] = (sentiment > 0) ^ (r[17] < FLIP);
        if (!(c->text[i] = strdup(s))) {
            sent_corpus_free(c);
            free(u);
            return -1;
        }
    }
    free(u);
    return 0;
}

void sent_corpus_free(sent_corpus *c) {
    for (int64_t i = 0; c->text && i < c->n; i++) free(c->text[i]);
    free(c->text), free(c->label);
    *c = (sent_corpus){0};
}

typedef struct counted {
    char *word;
    int64_t count;
} counted;

static int by_count(const void *a, const void *b) {
    const counted *x = a, *y = b;
    return x->count != y->count ? (x->count < y->count ? 1 : -1) : strcmp(x->word, y->word);
}

/* Calls f(word, user) for each space-separated word of text. */
static void each_word(const char *text, void (*f)(const char *w, void *user), void *user) {
    char w[64];
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, " ");
        if (n > 0 && n < sizeof w) {
            memcpy(w, p, n), w[n] = 0;
            f(w, user);
        }
        p += n + (p[n] == ' ');
    }
}

typedef struct counts {
    counted *w;
    int64_t n, cap;
    int failed;
} counts;

static void count_word(const char *w, void *user) {
    counts *c = user;
    for (int64_t i = 0; i < c->n; i++)
        if (!strcmp(c->w[i].word, w)) {
            c->w[i].count++;
            return;
        }
    if (c->n == c->cap) {
        counted *g = realloc(c->w, sizeof(counted) * (size_t)(c->cap = c->cap * 2 + 16));
        if (!g) { c->failed = 1; return; }
        c->w = g;
    }
    if (!(c->w[c->n].word = strdup(w))) { c->failed = 1; return; }
    c->w[c->n++].count = 1;
}

int sent_vocab_build(sent_vocab *v, const sent_corpus *c, int64_t min_count) {
    counts k = {0};
    for (int64_t i = 0; i < c->n && !k.failed; i++) each_word(c->text[i], count_word, &k);
    qsort(k.w, (size_t)k.n, sizeof(counted), by_count);
    *v = (sent_vocab){0, malloc(sizeof(char *) * (size_t)(k.n + SENT_SPECIALS))};
    for (int i = 0; v->word && i < SENT_SPECIALS; i++) v->word[v->n++] = strdup(SPECIALS[i]);
    for (int64_t i = 0; i < k.n; i++) {
        if (v->word && k.w[i].count >= min_count) v->word[v->n++] = k.w[i].word;
        else free(k.w[i].word);
    }
    free(k.w);
    int ok = v->word && !k.failed;
    for (int64_t i = 0; ok && i < v->n; i++) ok = v->word[i] != NULL;
    if (!ok) sent_vocab_free(v);
    return ok ? 0 : -1;
}

void sent_vocab_free(sent_vocab *v) {
    for (int64_t i = 0; v->word && i < v->n; i++) free(v->word[i]);
    free(v->word);
    *v = (sent_vocab){0};
}

int32_t sent_vocab_id(const sent_vocab *v, const char *word) {
    for (int64_t i = SENT_SPECIALS; i < v->n; i++)
        if (!strcmp(v->word[i], word)) return (int32_t)i;
    return SENT_UNK;
}

typedef struct encoding {
    const sent_vocab *v;
    int32_t buf[256];
    int64_t n;
} encoding;

static void encode_word(const char *w, void *user) {
    encoding *e = user;
    if (e->n < 256) e->buf[e->n++] = sent_vocab_id(e->v, w);
}

void sent_encode(const sent_vocab *v, const sent_corpus *c, int64_t len, int left, int32_t *ids) {
    for (int64_t i = 0; i < c->n; i++) {
        encoding e = {v, {0}, 0};
        each_word(c->text[i], encode_word, &e);
        int64_t k = e.n < len ? e.n : len, off = left ? len - k : 0;
        int32_t *row = ids + i * len;
        for (int64_t j = 0; j < len; j++) row[j] = SENT_PAD;
        memcpy(row + off, e.buf + e.n - k, sizeof(int32_t) * (size_t)k);
    }
}

jx_tree *sent_batch(const int32_t *ids, const int32_t *y, int64_t b, int64_t len) {
    jx_tree *t = jx_tree_dict();
    jx_tree_set_array(t, "ids", jx_array_new(JX_I32, JX_INTS(b, len), ids));
    if (y) jx_tree_set_array(t, "y", jx_array_new(JX_I32, JX_INTS(b), y));
    return t;
}

jx_tree *sent_next_batch(int64_t s, int64_t step, void *user) {
    const sent_batches *b = user;
    (void)step;
    return sent_batch(b->ids + s * b->size * b->len, b->y + s * b->size, b->size, b->len);
}
