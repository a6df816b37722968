/* losses.c: cross-entropies, regression losses and the dice loss (jx/losses.h). Every
 * log of a probability is a log_softmax or a softplus, so values and gradients stay
 * finite at logits of +-1000. */
#include <jx/losses.h>

#include "nn_util.h"

/* a and b float, same shape and dtype. */
static int check_pair(jx_loc loc, const char *what, const char *na, jx_val a, const char *nb, jx_val b) {
    if (!jx__nn_float(loc, what, na, a) || !jx__nn_float(loc, what, nb, b)) return 0;
    jx_aval x = jx_aval_of(a), y = jx_aval_of(b);
    if (jx_aval_equal(&x, &y)) return 1;
    jx__nn_fail(loc, JX_ERR_SHAPE, what, "%s %s and %s %s differ", na, jx__nn_avs(a), nb,
                      jx__nn_avs(b));
    return 0;
}

/* Per-position CE and the mask of positions not ignored. */
static jx_val ce_int(jx_loc loc, const char *what, jx_val logits, jx_val labels, int64_t ignore,
                     jx_val *valid) {
    if (!jx__nn_rank(loc, what, "logits", logits, -1) || !jx__nn_valid(loc, what, "labels", labels))
        return JX_NONE;
    jx_aval l = jx_aval_of(logits), y = jx_aval_of(labels);
    if (!jx_dtype_is_int(y.dtype))
        return jx__nn_fail(loc, JX_ERR_DTYPE, what, "labels %s must be integers", jx__nn_avs(labels));
    int same = y.rank == l.rank - 1;
    for (int i = 0; same && i < y.rank; i++) same = y.shape[i] == l.shape[i];
    if (!same)
        return jx__nn_fail(loc, JX_ERR_SHAPE, what, "labels %s should have the shape of logits %s without its last (class) axis",
                                 jx__nn_avs(labels), jx__nn_avs(logits));
    int64_t k = l.shape[l.rank - 1];
    jx_val lse = jx_logsumexp_at(loc, logits, -1);
    jx_val picked = jx_reduce_sum_at(loc, jx_mul_at(loc, logits, jx_one_hot_at(loc, labels, k, l.dtype)),
                                     JX_INTS(l.rank - 1));
    jx_val loss = jx_sub_at(loc, lse, picked);
    if (ignore == JX_LOSS_NO_IGNORE) {
        *valid = JX_NONE;
        return loss;
    }
    *valid = jx_ne_at(loc, labels, jx_scalar_at(loc, y.dtype, (double)ignore));
    return jx_select_at(loc, *valid, loss, jx_zeros_like_at(loc, loss));
}

jx_val jx_loss_softmax_ce_int_at(jx_loc loc, jx_val logits, jx_val labels, int64_t ignore_label) {
    jx_val valid;
    return ce_int(loc, "softmax_ce_int", logits, labels, ignore_label, &valid);
}

jx_val jx_loss_softmax_ce_int_mean_at(jx_loc loc, jx_val logits, jx_val labels, int64_t ignore_label) {
    jx_val valid;
    jx_val loss = ce_int(loc, "softmax_ce_int_mean", logits, labels, ignore_label, &valid);
    if (jx_trace_status() != JX_OK) return JX_NONE;
    jx_val total = jx_reduce_sum_at(loc, loss, JX_NOINTS);
    if (!jx__nn_given(valid)) return jx_mean_at(loc, loss, JX_NOINTS);
    jx_val count = jx_reduce_sum_at(loc, jx_convert_at(loc, valid, jx_dtype_of(loss)), JX_NOINTS);
    return jx_div_at(loc, total, jx_max_at(loc, count, jx_scalar_like_at(loc, loss, 1.0)));
}

jx_val jx_loss_softmax_ce_at(jx_loc loc, jx_val logits, jx_val targets) {
    const char *what = "softmax_ce";
    if (!check_pair(loc, what, "logits", logits, "targets", targets) ||
        !jx__nn_rank(loc, what, "logits", logits, -1))
        return JX_NONE;
    jx_val lp = jx_log_softmax_at(loc, logits, -1);
    return jx_neg_at(loc, jx_reduce_sum_at(loc, jx_mul_at(loc, targets, lp), JX_INTS(jx_rank(logits) - 1)));
}

jx_val jx_loss_smooth_labels_at(jx_loc loc, jx_val targets, double alpha) {
    if (!jx__nn_rank(loc, "smooth_labels", "targets", targets, -1)) return JX_NONE;
    double k = (double)jx_dim(targets, -1);
    jx_val t = jx_mul_at(loc, targets, jx_scalar_like_at(loc, targets, 1 - alpha));
    return jx_add_at(loc, t, jx_scalar_like_at(loc, targets, alpha / k));
}

jx_val jx_loss_sigmoid_bce_at(jx_loc loc, jx_val logits, jx_val labels) {
    if (!check_pair(loc, "sigmoid_bce", "logits", logits, "labels", labels)) return JX_NONE;
    /* -y log s(x) - (1 - y) log s(-x) = y softplus(-x) + (1 - y) softplus(x) */
    jx_val one_minus = jx_sub_at(loc, jx_scalar_like_at(loc, labels, 1.0), labels);
    return jx_add_at(loc, jx_mul_at(loc, labels, jx_softplus_at(loc, jx_neg_at(loc, logits))),
                     jx_mul_at(loc, one_minus, jx_softplus_at(loc, logits)));
}

jx_val jx_loss_squared_error_at(jx_loc loc, jx_val pred, jx_val target) {
    if (!check_pair(loc, "squared_error", "predictions", pred, "targets", target)) return JX_NONE;
    jx_val e = jx_sub_at(loc, pred, target);
    return jx_mul_at(loc, e, e);
}

jx_val jx_loss_abs_error_at(jx_loc loc, jx_val pred, jx_val target) {
    if (!check_pair(loc, "abs_error", "predictions", pred, "targets", target)) return JX_NONE;
    return jx_abs_at(loc, jx_sub_at(loc, pred, target));
}

jx_val jx_loss_huber_at(jx_loc loc, jx_val pred, jx_val target, double delta) {
    if (!check_pair(loc, "huber", "predictions", pred, "targets", target)) return JX_NONE;
    if (!(delta > 0)) return jx__nn_fail(loc, JX_ERR_ARG, "huber", "delta %g must be positive", delta);
    jx_val a = jx_abs_at(loc, jx_sub_at(loc, pred, target));
    jx_val q = jx_min_at(loc, a, jx_scalar_like_at(loc, a, delta));
    jx_val lin = jx_sub_at(loc, a, q);
    return jx_add_at(loc, jx_mul_at(loc, jx_scalar_like_at(loc, a, 0.5), jx_mul_at(loc, q, q)),
                     jx_mul_at(loc, jx_scalar_like_at(loc, a, delta), lin));
}

jx_val jx_loss_dice_at(jx_loc loc, jx_val logits, jx_val targets, int sigmoid, double smooth) {
    const char *what = "dice";
    if (!check_pair(loc, what, "logits", logits, "targets", targets) ||
        !jx__nn_rank(loc, what, "logits", logits, -2))
        return JX_NONE;
    int r = jx_rank(logits);
    jx_val p = sigmoid ? jx_logistic_at(loc, logits) : jx_softmax_at(loc, logits, -1);
    jx_val pt = jx_mul_at(loc, p, targets), sp = p, st = targets;
    if (r > 2) { /* sum over the positions between N and C */
        int64_t axes[JX_MAX_RANK];
        for (int i = 1; i < r - 1; i++) axes[i - 1] = i;
        jx_ints ax = {axes, r - 2};
        pt = jx_reduce_sum_at(loc, pt, ax);
        sp = jx_reduce_sum_at(loc, sp, ax);
        st = jx_reduce_sum_at(loc, st, ax);
    }
    jx_val s = jx_scalar_like_at(loc, logits, smooth);
    jx_val num = jx_add_at(loc, jx_mul_at(loc, jx_scalar_like_at(loc, logits, 2.0), pt), s);
    jx_val den = jx_add_at(loc, jx_add_at(loc, sp, st), s);
    return jx_sub_at(loc, jx_scalar_like_at(loc, logits, 1.0), jx_div_at(loc, num, den));
}
