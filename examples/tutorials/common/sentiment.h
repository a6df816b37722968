/* sentiment.h: the generated movie-review corpus that stands in for IMDB in the text
 * tutorials (02 RNN sentiment, 21 BERT-style sentiment) and examples/text_classify, made
 * alike by common/sentiment.py (same sentences, labels, vocabulary and ids).
 *
 * A review is [prefix] clause [but clause], a clause "the NOUN was|is [not|never]
 * [INTENSIFIER] ADJECTIVE" whose sentiment is the adjective's polarity, flipped by a
 * negation. After "but" the second clause opposes the first and decides the label. So a
 * bag of words is not enough: "the plot was good but the acting was bad" and "the acting
 * was bad but the plot was good" hold the same words with opposite labels, and some
 * prefixes carry a "not" that negates nothing ("i did not expect much , ..."). 5% of the
 * labels are flipped (reviewers whose score disagrees with their words): about 95% is the
 * best test accuracy.
 *
 *     sent_corpus c;
 *     sent_vocab v;
 *     if (sent_corpus_make(&c, 4000, seed) || sent_vocab_build(&v, &c, 1)) ...;
 *     int32_t *ids = malloc(sizeof(int32_t) * c.n * 20);
 *     sent_encode(&v, &c, 20, 1, ids);               // (n,20), left-padded with SENT_PAD
 *     sent_vocab_free(&v), sent_corpus_free(&c);
 */
#ifndef JX_TUT_SENTIMENT_H
#define JX_TUT_SENTIMENT_H

#include <stdint.h>

#include <jx/tree.h>

/* The ids that come before the words in every vocabulary. */
enum { SENT_PAD = 0, SENT_UNK = 1, SENT_CLS = 2, SENT_MASK = 3, SENT_SPECIALS = 4 };

typedef struct sent_corpus {
    int64_t n;
    char **text;     /* n reviews, words separated by one space */
    int32_t *label;  /* n labels: 1 positive, 0 negative */
} sent_corpus;

/* n reviews from tut_uniform(seed) (18 uniforms each). Returns 0, or -1 (c zeroed) when
 * memory runs out. Free with sent_corpus_free. */
int sent_corpus_make(sent_corpus *c, int64_t n, uint64_t seed);
void sent_corpus_free(sent_corpus *c);

typedef struct sent_vocab {
    int64_t n;    /* words, specials included */
    char **word;  /* "<pad>", "<unk>", "<cls>", "<mask>", then the corpus's words */
} sent_vocab;

/* The vocabulary of c: the specials, then the words seen at least min_count times by
 * falling count (ties in strcmp order). Returns 0, or -1 (v zeroed) when memory runs
 * out. Free with sent_vocab_free. */
int sent_vocab_build(sent_vocab *v, const sent_corpus *c, int64_t min_count);
void sent_vocab_free(sent_vocab *v);

/* The id of word (SENT_UNK when it is not in v). */
int32_t sent_vocab_id(const sent_vocab *v, const char *word);

/* ids (c->n, len): each review's word ids, padded with SENT_PAD on the left (left != 0:
 * a recurrent model reads to its last state) or the right; a longer review keeps its
 * last len tokens. */
void sent_encode(const sent_vocab *v, const sent_corpus *c, int64_t len, int left, int32_t *ids);

/* A batch as a tree {ids i32 (b,len), y i32 (b)} (no y when y is NULL): copies of b rows. */
jx_tree *sent_batch(const int32_t *ids, const int32_t *y, int64_t b, int64_t len);

/* Encoded reviews cut into batches of size rows: a tut_loop's user data for
 * sent_next_batch, whose batch s is rows [s size, (s + 1) size). */
typedef struct sent_batches {
    const int32_t *ids, *y;
    int64_t size, len;
} sent_batches;
jx_tree *sent_next_batch(int64_t s, int64_t step, void *user);

#endif
