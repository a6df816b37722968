/* ctc.h: Connectionist Temporal Classification (Graves et al. 2006) for the tutorials: the
 * loss written with jx ops (the forward algorithm in log space as one scan over the
 * frames, so grad differentiates it and jit compiles the loop), best-path decoding and
 * the label error rate's edit distance on the host. Class 0 is the blank; label
 * sequences (B,L) are padded with 0 after their lengths. common/ctc.py is the same in
 * NumPy (with the gradient by the forward-backward algorithm). */
#ifndef JX_TUT_CTC_H
#define JX_TUT_CTC_H

#include <jx.h>
#include <stdint.h>

/* -log p(labels | logits) per sequence (optax.ctc_loss with no padded frames):
 * logits (B,T,C) f32, labels (B,L) i32 in 1..C-1 (0 after lengths[b]), lengths (B) i32
 * in 1..L  ->  (B). Every frame of every sequence is used. */
jx_val ctc_loss(jx_val logits, jx_val labels, jx_val lengths);

/* Best-path decoding of one sequence's logits (T,C) (or log-probabilities): the argmax of
 * each frame, repeats merged, blanks dropped, into out (room for T). Returns its length. */
int ctc_greedy(const float *logits, int64_t t, int64_t c, int *out);

/* Levenshtein distance between a (na labels) and b (nb): insertions, deletions and
 * substitutions each cost 1. */
int ctc_edit_distance(const int *a, int na, const int *b, int nb);

#endif
