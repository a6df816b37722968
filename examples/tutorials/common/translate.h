/* translate.h: the synthetic translation task of tutorials 05 (a Transformer) and 25
 * (a recurrent encoder-decoder with attention), drawn alike in C and in Python
 * (common/translate.py). No English-French corpus ships with Debian or PyPI, so the
 * "languages" are made up, with the two things that make translation need attention:
 * a vocabulary mapping and word reordering.
 *
 * A source sentence is NP1 V NP2 (subject, verb, object), each noun phrase 0-2
 * adjectives then a noun ("the big red dog sees a cat" reads "big red dog sees cat").
 * Its translation puts the object first, each noun before its adjectives in reverse
 * order, a particle after each noun phrase, and the verb last:
 *     big red dog sees old cat   ->   kato alto o hundo roso grando ga vidas
 * Token ids: 0 PAD, 1 BOS, 2 EOS, then nouns, verbs, adjectives and the two particles;
 * source word k translates to target word k (separate spellings, one id space). */
#ifndef JX_TUT_TRANSLATE_H
#define JX_TUT_TRANSLATE_H

#include <stdint.h>

#include <jx/tree.h>

#include "../../common/trainer_opts.h"

enum {
    TR_PAD = 0, TR_BOS = 1, TR_EOS = 2,
    TR_NOUNS = 12, TR_VERBS = 6, TR_ADJS = 10,
    TR_VOCAB = 3 + TR_NOUNS + TR_VERBS + TR_ADJS + 2, /* 33 */
    TR_SRC = 8,  /* source tokens: at most 7 words, EOS, PAD */
    TR_TGT = 11, /* target tokens: BOS, at most 9 words, EOS, PAD */
};

/* n sentence pairs: src (n, TR_SRC) and tgt (n, TR_TGT), row-major int32. */
typedef struct tr_data {
    int64_t n;
    int32_t *src, *tgt;
} tr_data;

/* n pairs from common/tut.h's uniform stream `seed` (9 numbers per sentence, as
 * translate.py's generate). Fields NULL when out of memory. */
tr_data tr_generate(uint64_t seed, int64_t n);
void tr_free(tr_data *d);

/* The spelling of token id in the source (target 0) or target (target 1) language;
 * "" for PAD, BOS and EOS. */
const char *tr_word(int32_t id, int target);

/* Writes the words of tokens[0..n) up to the first EOS or PAD, space-separated, into
 * buf (truncated to size). Returns buf. */
char *tr_format(const int32_t *tokens, int64_t n, int target, char *buf, unsigned long size);

/* Greedy decoding: decode(user, in, logits) computes the logits (n, TR_TGT - 1,
 * TR_VOCAB) of a model that reads the decoder inputs in (n, TR_TGT - 1) (BOS then the
 * tokens so far, PAD after), the model being causal (position t sees inputs <= t).
 * Called TR_TGT - 1 times; fills out (n, TR_TGT - 1) with the predicted tokens.
 * Returns 0, or decode's nonzero status. */
typedef int (*tr_decode_fn)(void *user, const int32_t *in, float *logits);
int tr_greedy(tr_decode_fn decode, void *user, int64_t n, int32_t *out);

/* Token accuracy of predictions out (n, TR_TGT - 1) against tgt[:, 1:], over the
 * reference's words and its EOS (PAD positions are not counted); *exact (may be NULL)
 * gets the share of sentences right to their EOS. */
double tr_accuracy(const int32_t *out, const tr_data *d, double *exact);

/* The data of both translation tutorials: --quick 2,560 training pairs and 2 epochs,
 * else ntrain pairs (capped by --limit), from stream o->seed + 1; 200 (quick) or 1,000
 * test pairs from o->seed + 2. Prints their numbers. Returns the steps per epoch
 * (pairs / o->batch), or 0 after printing "prog: ..." (a batch larger than the pairs;
 * out of memory): *tr and *te are then freed. */
int64_t tr_setup(const char *prog, int quick, trainer_opts *o, long ntrain, tr_data *tr, tr_data *te);

/* Pairs [first, first + n) of d as a tree {src (n, TR_SRC), tgt (n, TR_TGT)} (i32). */
jx_tree *tr_pairs_tree(const tr_data *d, int64_t first, int64_t n);

/* A tut_batch_fn (common/tut.h) over tr_batches: step s of each epoch trains on pairs
 * [s * size, (s + 1) * size), in the data's order. */
typedef struct tr_batches {
    const tr_data *d;
    int64_t size;
} tr_batches;
jx_tree *tr_next_batch(int64_t s, int64_t step, void *user);

/* A translation model: forward(user, params, src (B, TR_SRC), tin (B, TR_TGT - 1))
 * returns the logits (B, TR_TGT - 1, TR_VOCAB), position t seeing tin[:, 0..t]. */
typedef struct tr_model {
    jx_val (*forward)(void *user, const jx_tree *params, jx_val src, jx_val tin);
    void *user;
} tr_model;

/* A tut_step loss (loss_user: a tr_model): in[0] params, in[1] {src, tgt} (a batch of
 * tr_pairs_tree); teacher forcing, the model reads tgt[:, :-1] and predicts tgt[:, 1:];
 * out[0] the mean cross-entropy over the positions that are not PAD. */
void tr_loss(jx_tree **out, jx_tree *const *in, void *user);

/* The test of both translation tutorials: traces m's forward on (params, {src (n,
 * TR_SRC), tin (n, TR_TGT - 1)}), jits it for o, decodes te's sources greedily with it (tr_greedy), prints
 * three translations beside their references, the token accuracy and the share of whole
 * sentences right, and "metric: token_accuracy A". Returns 0 with *acc set, or prints
 * "prog: decoding the test set: ..." and returns 1. */
int tr_evaluate(const char *prog, const tr_model *m, jx_tree *params, const tr_data *te,
                const trainer_opts *o, double *acc);

#endif
