/* transformer.h: the pre-LayerNorm Transformer block of tutorials 05 (translation: an
 * encoder and a decoder) and 16 (a GPT: decoder blocks alone), on jx's layers
 * (jx_nn_mha, jx_nn_layer_norm, jx_nn_dense, jx_nn_embedding). common/transformer.py
 * holds the same block in NumPy (forward and backward by hand) and JAX.
 *
 *     x = x + mha(ln1(x), ln1(x), mask)            self-attention
 *     x = x + mha(ln2(x), mem, mem_mask)           cross-attention (decoder blocks only)
 *     x = x + w2 relu(w1 ln3(x) + b1) + b2         the MLP
 *
 * Parameters live in a tree under a prefix ("enc0", "dec1"...): ln1, ln2, ln3 {scale,
 * bias}; attn, cross {wq (D,H,D/H), bq (H,D/H), wk, bk, wv, bv, wo (H,D/H,D), bo (D)},
 * Flax's MultiHeadDotProductAttention layout; mlp {w1 (D,F), b1, w2 (F,D), b2}. Kernels
 * are normal / sqrt(fan in) from common/tut.h's streams, biases zero, scales one. */
#ifndef JX_TUT_TRANSFORMER_H
#define JX_TUT_TRANSFORMER_H

#include <jx.h>
#include <jx/tree.h>

/* The shape of a block: model width d, heads (dividing d), MLP width ff. */
typedef struct tfm_dims {
    int64_t d, heads, ff;
} tfm_dims;

/* Adds a block's parameters under prefix to params; cross adds the cross-attention
 * (ln2, cross). Kernel k of the block (wq wk wv wo, cross's four, w1 w2 in that order)
 * is drawn from stream seed + k, as transformer.py's block_init. */
void tfm_block_init(jx_tree *params, const char *prefix, const tfm_dims *dims, int cross, uint64_t seed);

/* One block on x (B,T,D): mask broadcastable to (B,H,T,T) (true: attend) or JX_NONE;
 * mem (B,S,D) and mem_mask (broadcastable to (B,H,T,S)) for a decoder block made with
 * cross, else JX_NONE. Returns (B,T,D). */
jx_val tfm_block(const jx_tree *params, const char *prefix, jx_val x, jx_val mask, jx_val mem, jx_val mem_mask);

/* Adds `layers` blocks under prefix0, prefix1, ... (block l from seed + 16 l) and a
 * final layer norm under prefix_ln: a Transformer's encoder or decoder. */
void tfm_stack_init(jx_tree *params, const char *prefix, int layers, const tfm_dims *dims, int cross, uint64_t seed);
/* The blocks prefix0 ... prefix{layers-1} of tfm_stack_init on x, then prefix_ln:
 * masks and mem as tfm_block. Returns (B,T,D). */
jx_val tfm_stack(const jx_tree *params, const char *prefix, int layers, jx_val x, jx_val mask, jx_val mem,
                 jx_val mem_mask);

/* Adds a layer norm's {scale ones, bias zeros} (d) under name. */
void tfm_ln_init(jx_tree *params, const char *name, int64_t d);
/* Layer norm (eps 1e-5) with the parameters under name. */
jx_val tfm_ln(const jx_tree *params, const char *name, jx_val x);

/* The sinusoidal position code (t, d) of "Attention is all you need": sin(p / 10000^(2i/d))
 * at column 2i, cos at 2i + 1 (computed in double). */
jx_array *tfm_positions(int64_t t, int64_t d);

/* Token embeddings plus positions: table (V,D) picked by ids (B,T), plus the first T rows of
 * pos (at least T rows, D columns: a constant)  ->  (B,T,D). */
jx_val tfm_embed(jx_val table, jx_val ids, jx_array *pos);

/* An (r, c) f32 array of normal(seed) / sqrt(r) (a kernel with fan in r). */
jx_array *tfm_kernel(uint64_t seed, int64_t r, int64_t c);

#endif
