/* jx/checkpoint.h: checkpoints of trees in the safetensors format.
 *
 * A checkpoint is one .safetensors file (an 8-byte little-endian header length, a JSON
 * header, then the tensors' little-endian bytes), so Python's safetensors, numpy and
 * PyTorch read it. Each tree is saved under a name, and each leaf under
 * "<name>.<path>": params.dense1.w, opt.mu.dense1.w, opt.count. The __metadata__ map
 * holds the step, the epoch and the PRNG key, so a restored run continues where the
 * saved one stopped:
 *
 *     const char *names[2] = {"params", "opt"};
 *     const jx_tree *trees[2] = {params, opt_state};
 *     jx_ckpt_meta meta = {.step = step, .epoch = epoch, .key = {k0, k1}};
 *     jx_checkpoint_save("run/epoch3.safetensors", 2, names, trees, &meta);
 *     ...
 *     jx_tree *restored[2];
 *     jx_checkpoint_load("run/epoch3.safetensors", 2, names, trees, restored, &meta);
 *
 * Saving is atomic: the file is written to a temporary beside it, flushed with fsync
 * and renamed over the target, so a crash or a failure leaves the old file (or none),
 * never a partial one. Loading checks everything before it returns: a truncated or
 * corrupt file, a missing tensor, a wrong dtype or shape is an error naming the file and
 * the tensor, e.g. "run/epoch3.safetensors: tensor 'params.dense1.w': f32[784,256] in
 * the file, f32[784,512] expected". Tensors in the file that no tree asks for are
 * ignored (so a model can load a part of a checkpoint). */
#ifndef JX_CHECKPOINT_H
#define JX_CHECKPOINT_H

#include <jx.h>
#include <jx/tree.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What __metadata__ carries besides the tensors. */
typedef struct jx_ckpt_meta {
    int64_t step;    /* "step" */
    int64_t epoch;   /* "epoch" */
    uint32_t key[2]; /* "prng_key": the run's PRNG key, "k0,k1" */
} jx_ckpt_meta;

/* Writes the n trees (leaves: host arrays) under their names to path, atomically.
 * meta may be NULL (nothing is written in __metadata__ but the format). Returns JX_OK,
 * or an error (JX_ERR_IO naming the file and the system's reason; JX_ERR_ARG for a leaf
 * that is not an array or a duplicate tensor name) with the old file untouched. */
jx_status jx_checkpoint_save(const char *path, int n, const char *const *names, const jx_tree *const *trees,
                             const jx_ckpt_meta *meta);

/* Reads the trees saved under names[0..n) from path: out[i] gets a new tree of like[i]'s
 * structure (like's leaves give the expected dtypes and shapes; any leaf kind) with host
 * arrays from the file. meta (may be NULL) receives the metadata (zeros where absent).
 * On any error nothing is returned (out[i] NULL) and jx_errmsg() names the file and the
 * tensor. */
jx_status jx_checkpoint_load(const char *path, int n, const char *const *names, const jx_tree *const *like,
                             jx_tree **out, jx_ckpt_meta *meta);

/* Reads every tensor of path into one new tree, nested by the dots of the names
 * ("params.dense1.w" becomes params -> dense1 -> w), for inspecting a checkpoint (print
 * it with jx_tree_print). NULL with jx_errmsg() set on error. */
jx_tree *jx_checkpoint_read(const char *path, jx_ckpt_meta *meta);

#ifdef __cplusplus
}
#endif
#endif /* JX_CHECKPOINT_H */
