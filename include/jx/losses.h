/* jx/losses.h: loss functions over traced values, with Optax's semantics.
 *
 * Each loss returns per-example (or per-element) values, as Optax does, so that a user
 * can weigh, mask or reduce them (jx_mean for the usual average). Every loss is
 * written to stay finite, with finite gradients, at extreme logits (+-1000 and beyond):
 * cross-entropies go through log_softmax / log_sigmoid, never log(softmax).
 *
 *     jx_val logits = model(x);                                       // (B,10)
 *     jx_val loss = jx_mean(jx_loss_softmax_ce_int(logits, labels, JX_LOSS_NO_IGNORE),
 *                           JX_NOINTS);
 *
 * Errors (wrong shapes, dtypes) are reported at the caller's line, as for the layers.
 */
#ifndef JX_LOSSES_H
#define JX_LOSSES_H

#include <jx.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ignore_label value meaning "no label is ignored". */
#define JX_LOSS_NO_IGNORE INT64_MIN

/* Softmax cross-entropy with integer labels (optax's
 * softmax_cross_entropy_with_integer_labels): logits (...,K) float, labels (...) of any
 * integer dtype in [0, K)  ->  (...) = logsumexp(logits) - logits[label]. Positions whose
 * label equals ignore_label give 0 and no gradient (segmentation's void class, PyTorch's
 * ignore_index); JX_LOSS_NO_IGNORE ignores none. Labels outside [0, K) that are not
 * ignored give logsumexp(logits) (no logit picked). */
jx_val jx_loss_softmax_ce_int_at(jx_loc loc, jx_val logits, jx_val labels, int64_t ignore_label);
#define jx_loss_softmax_ce_int(...) jx_loss_softmax_ce_int_at(JX_HERE, __VA_ARGS__)
/* The mean of jx_loss_softmax_ce_int over the positions not ignored (0 when all are):
 * a scalar, PyTorch's CrossEntropyLoss(ignore_index=...) with mean reduction. */
jx_val jx_loss_softmax_ce_int_mean_at(jx_loc loc, jx_val logits, jx_val labels, int64_t ignore_label);
#define jx_loss_softmax_ce_int_mean(...) jx_loss_softmax_ce_int_mean_at(JX_HERE, __VA_ARGS__)

/* Softmax cross-entropy with a distribution of targets (optax.softmax_cross_entropy):
 * logits and targets (...,K) of one float dtype  ->  (...) = -sum(targets * log_softmax). */
jx_val jx_loss_softmax_ce_at(jx_loc loc, jx_val logits, jx_val targets);
#define jx_loss_softmax_ce(...) jx_loss_softmax_ce_at(JX_HERE, __VA_ARGS__)
/* Label smoothing (optax.smooth_labels): (1 - alpha) * targets + alpha / K, targets
 * (...,K). Feed the result to jx_loss_softmax_ce. */
jx_val jx_loss_smooth_labels_at(jx_loc loc, jx_val targets, double alpha);
#define jx_loss_smooth_labels(...) jx_loss_smooth_labels_at(JX_HERE, __VA_ARGS__)

/* Sigmoid binary cross-entropy on logits (optax.sigmoid_binary_cross_entropy):
 * logits and labels (labels in [0, 1], same shape and dtype)  ->  elementwise
 * -labels log sigmoid(x) - (1 - labels) log sigmoid(-x), through softplus so that it
 * stays exact at +-1000. */
jx_val jx_loss_sigmoid_bce_at(jx_loc loc, jx_val logits, jx_val labels);
#define jx_loss_sigmoid_bce(...) jx_loss_sigmoid_bce_at(JX_HERE, __VA_ARGS__)

/* Regression losses, elementwise on predictions and targets of one shape and dtype:
 * squared error (p - t)^2 (optax.squared_error; the MSE is its mean), absolute error
 * |p - t| (L1), and Huber (optax.huber_loss): 0.5 e^2 for |e| <= delta, else
 * delta (|e| - 0.5 delta). */
jx_val jx_loss_squared_error_at(jx_loc loc, jx_val pred, jx_val target);
#define jx_loss_squared_error(...) jx_loss_squared_error_at(JX_HERE, __VA_ARGS__)
jx_val jx_loss_abs_error_at(jx_loc loc, jx_val pred, jx_val target);
#define jx_loss_abs_error(...) jx_loss_abs_error_at(JX_HERE, __VA_ARGS__)
jx_val jx_loss_huber_at(jx_loc loc, jx_val pred, jx_val target, double delta);
#define jx_loss_huber(...) jx_loss_huber_at(JX_HERE, __VA_ARGS__)

/* Soft dice loss on logits, per sample and class: logits and targets (N,...,C) of one
 * float dtype (targets one-hot or soft masks); probabilities are softmax over C (or,
 * with sigmoid set, an independent sigmoid per class, for multi-label masks). For each
 * sample n and class c, over the positions between:
 *   1 - (2 sum(p t) + smooth) / (sum(p) + sum(t) + smooth)   ->  (N,C).
 * smooth (1 is usual) keeps empty classes at 0 loss. */
jx_val jx_loss_dice_at(jx_loc loc, jx_val logits, jx_val targets, int sigmoid, double smooth);
#define jx_loss_dice(...) jx_loss_dice_at(JX_HERE, __VA_ARGS__)

#ifdef __cplusplus
}
#endif
#endif /* JX_LOSSES_H */
