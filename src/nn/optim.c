/* optim.c: Optax's update rules as traced ops over flattened trees: MultiSteps
 * accumulation, clip_by_global_norm, trace (momentum, Nesterov), scale_by_adam,
 * add_decayed_weights with a path mask, scale_by_rms, and the learning-rate schedule.
 * Every formula keeps Optax's operation order so the f32 results agree with it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jx/optim.h>

#include "nn_util.h"

jx_optim jx_optim_sgd(jx_schedule lr, double momentum, int nesterov) {
    jx_optim o = {0};
    o.kind = JX_OPTIM_SGD, o.lr = lr, o.momentum = momentum, o.nesterov = nesterov;
    return o;
}

jx_optim jx_optim_adam(jx_schedule lr, double b1, double b2, double eps) {
    jx_optim o = {0};
    o.kind = JX_OPTIM_ADAM, o.lr = lr, o.b1 = b1, o.b2 = b2, o.eps = eps;
    return o;
}

jx_optim jx_optim_adamw(jx_schedule lr, double b1, double b2, double eps, double weight_decay, const char *mask) {
    jx_optim o = jx_optim_adam(lr, b1, b2, eps);
    o.kind = JX_OPTIM_ADAMW, o.weight_decay = weight_decay, o.decay_mask = mask;
    return o;
}

jx_optim jx_optim_rmsprop(jx_schedule lr, double decay, double eps) {
    jx_optim o = {0};
    o.kind = JX_OPTIM_RMSPROP, o.lr = lr, o.decay = decay, o.eps = eps;
    return o;
}

/* Which moment trees the rule keeps. */
static int has_trace(const jx_optim *o) { return o->kind == JX_OPTIM_SGD && o->momentum != 0; }
static int has_mu(const jx_optim *o) { return o->kind == JX_OPTIM_ADAM || o->kind == JX_OPTIM_ADAMW; }
static int has_nu(const jx_optim *o) { return has_mu(o) || o->kind == JX_OPTIM_RMSPROP; }
static int has_acc(const jx_optim *o) { return o->every_k > 1; }

static jx_status check_optim(jx_loc loc, const jx_optim *o) {
    if (!o) return jx_error_at(loc, JX_ERR_ARG, "optim", "NULL optimizer");
    if ((unsigned)o->kind > JX_OPTIM_RMSPROP) return jx_error_at(loc, JX_ERR_ARG, "optim", "unknown kind %d", (int)o->kind);
    if (o->kind == JX_OPTIM_RMSPROP && !(o->decay >= 0 && o->decay < 1))
        return jx_error_at(loc, JX_ERR_ARG, "optim", "rmsprop decay %g is not in [0, 1)", o->decay);
    if (has_mu(o) && !(o->b1 >= 0 && o->b1 < 1 && o->b2 >= 0 && o->b2 < 1))
        return jx_error_at(loc, JX_ERR_ARG, "optim", "adam betas %g, %g are not in [0, 1)", o->b1, o->b2);
    return JX_OK;
}

/* zeros like params (array or aval leaves). */
static jx_tree *zeros_like(const jx_tree *params) {
    int n = jx_tree_num_leaves(params);
    jx_array **z = calloc((size_t)n + 1, sizeof *z);
    if (!z) return NULL;
    for (int i = 0; i < n; i++) {
        jx_aval a = jx_tree_leaf_aval(jx_tree_leaf(params, i));
        z[i] = jx_array_zeros(a.dtype, (jx_ints){a.shape, a.rank});
    }
    jx_tree *t = jx_tree_unflatten_arrays(params, n, z);
    free(z);
    return t;
}

jx_tree *jx_optim_init_at(jx_loc loc, const jx_optim *o, const jx_tree *params) {
    if (check_optim(loc, o)) return NULL;
    if (!params) {
        jx_error_at(loc, JX_ERR_ARG, "optim_init", "NULL params");
        return NULL;
    }
    jx_tree *s = jx_tree_dict();
    jx_status st = jx_tree_set_array_at(loc, s, "count", jx_array_scalar(JX_I32, 0));
    const char *names[4] = {"trace", "mu", "nu", "acc"};
    int want[4] = {has_trace(o), has_mu(o), has_nu(o), has_acc(o)};
    for (int i = 0; i < 4 && !st; i++)
        if (want[i]) {
            jx_tree *z = zeros_like(params);
            st = z ? jx_tree_set_at(loc, s, names[i], z) : jx_error_at(loc, JX_ERR_NOMEM, "optim_init", "out of memory");
        }
    if (!st && has_acc(o)) st = jx_tree_set_array_at(loc, s, "mini_step", jx_array_scalar(JX_I32, 0));
    if (st) {
        jx_tree_free(s);
        return NULL;
    }
    return s;
}

/* ------------------------------------------------------------------ schedules */

jx_schedule jx_schedule_constant(double value) {
    jx_schedule s = {0};
    s.kind = JX_SCHEDULE_CONSTANT, s.init_value = value;
    return s;
}

jx_schedule jx_schedule_exponential_decay(double init_value, int64_t transition_steps, double decay_rate,
                                          int staircase) {
    jx_schedule s = jx_schedule_constant(init_value);
    if (transition_steps <= 0) return s; /* optax: a constant schedule then */
    s.kind = JX_SCHEDULE_EXPONENTIAL, s.transition_steps = transition_steps, s.decay_rate = decay_rate;
    s.staircase = staircase;
    return s;
}

jx_schedule jx_schedule_warmup_cosine_decay(double init_value, double peak_value, int64_t warmup_steps,
                                            int64_t decay_steps, double end_value) {
    jx_schedule s = jx_schedule_constant(init_value);
    s.kind = JX_SCHEDULE_WARMUP_COSINE, s.peak_value = peak_value, s.end_value = end_value;
    s.warmup_steps = warmup_steps, s.decay_steps = decay_steps;
    return s;
}

jx_schedule jx_schedule_piecewise_constant(double init_value, int n, const int64_t *boundaries, const double *scales) {
    jx_schedule s = jx_schedule_constant(init_value);
    s.kind = JX_SCHEDULE_PIECEWISE;
    s.npieces = n < 0 ? 0 : n > JX_SCHEDULE_MAX_PIECES ? JX_SCHEDULE_MAX_PIECES : n;
    for (int i = 0; i < s.npieces; i++) s.boundaries[i] = boundaries[i], s.scales[i] = scales[i];
    return s;
}

double jx_schedule_value(const jx_schedule *s, int64_t step) {
    double c = (double)step;
    switch (s ? s->kind : JX_SCHEDULE_CONSTANT) {
    case JX_SCHEDULE_CONSTANT: return s ? s->init_value : 0;
    case JX_SCHEDULE_EXPONENTIAL: {
        double p = c / (double)s->transition_steps;
        if (s->staircase) p = floor(p);
        return c <= 0 ? s->init_value : s->init_value * pow(s->decay_rate, p);
    }
    case JX_SCHEDULE_WARMUP_COSINE: {
        double w = (double)s->warmup_steps, d = (double)(s->decay_steps - s->warmup_steps);
        if (c < w) return (s->init_value - s->peak_value) * (1 - fmin(fmax(c, 0), w) / w) + s->peak_value;
        double alpha = s->peak_value != 0 ? s->end_value / s->peak_value : 0;
        double cosv = d > 0 ? 0.5 * (1 + cos(3.14159265358979323846 * fmin(c - w, d) / d)) : 1;
        return s->peak_value * ((1 - alpha) * cosv + alpha);
    }
    case JX_SCHEDULE_PIECEWISE: {
        double v = s->init_value;
        for (int i = 0; i < s->npieces; i++)
            if (step >= s->boundaries[i]) v *= s->scales[i];
        return v;
    }
    }
    return 0;
}

#define F32(v) jx_scalar_at(loc, JX_F32, (v))

jx_val jx_schedule_at(jx_loc loc, const jx_schedule *s, jx_val step) {
    if (!s) return jx__nn_fail(loc, JX_ERR_ARG, "schedule", "NULL schedule");
    jx_aval a = jx_aval_of(step);
    if (a.rank < 0) return JX_NONE;
    if (a.rank != 0 || !jx_dtype_is_int(a.dtype)) {
        char b[64];
        return jx__nn_fail(loc, JX_ERR_ARG, "schedule", "step must be an integer scalar, got %s", jx_aval_str(&a, b, sizeof b));
    }
    jx_val c = jx_convert_at(loc, step, JX_F32);
    switch (s->kind) {
    case JX_SCHEDULE_CONSTANT: return jx_full_at(loc, JX_F32, JX_NOINTS, s->init_value);
    case JX_SCHEDULE_EXPONENTIAL: {
        jx_val p = jx_div_at(loc, c, F32((double)s->transition_steps));
        if (s->staircase) p = jx_floor_at(loc, p);
        jx_val decayed = jx_mul_at(loc, F32(s->init_value), jx_pow_at(loc, F32(s->decay_rate), p));
        return jx_select_at(loc, jx_le_at(loc, c, F32(0)), F32(s->init_value), decayed);
    }
    case JX_SCHEDULE_WARMUP_COSINE: {
        double w = (double)s->warmup_steps, d = (double)(s->decay_steps - s->warmup_steps);
        jx_val lin = F32(s->peak_value);
        if (w > 0) { /* optax.linear_schedule(init, peak, warmup) */
            jx_val frac = jx_sub_at(loc, F32(1), jx_div_at(loc, jx_clamp_at(loc, c, 0, w), F32(w)));
            lin = jx_add_at(loc, jx_mul_at(loc, F32(s->init_value - s->peak_value), frac), F32(s->peak_value));
        }
        double alpha = s->peak_value != 0 ? s->end_value / s->peak_value : 0;
        jx_val cc = jx_min_at(loc, jx_sub_at(loc, c, F32(w)), F32(d > 0 ? d : 0));
        jx_val cosv = d > 0 ? jx_mul_at(loc, F32(0.5), jx_add_at(loc, F32(1), jx_cos_at(loc, jx_div_at(loc, jx_mul_at(loc, F32(3.14159265358979323846), cc), F32(d)))))
                            : F32(1);
        jx_val cosine = jx_mul_at(loc, F32(s->peak_value), jx_add_at(loc, jx_mul_at(loc, F32(1 - alpha), cosv), F32(alpha)));
        return jx_select_at(loc, jx_lt_at(loc, c, F32(w)), lin, cosine);
    }
    case JX_SCHEDULE_PIECEWISE: {
        jx_val v = F32(s->init_value);
        for (int i = 0; i < s->npieces; i++)
            v = jx_select_at(loc, jx_ge_at(loc, c, F32((double)s->boundaries[i])), jx_mul_at(loc, v, F32(s->scales[i])), v);
        return v;
    }
    }
    return jx__nn_fail(loc, JX_ERR_ARG, "schedule", "unknown schedule kind %d", (int)s->kind);
}

#undef F32

/* ------------------------------------------------------------------ the update */

jx_val jx_global_norm_at(jx_loc loc, const jx_tree *t) {
    int n = jx_tree_num_leaves(t);
    jx_val *v = malloc((size_t)(n ? n : 1) * sizeof *v), sum = JX_NONE;
    if (!v) return jx__nn_fail(loc, JX_ERR_NOMEM, "global_norm", "out of memory");
    jx_tree_flatten_vals(t, v, n);
    for (int i = 0; i < n; i++) {
        jx_val s = jx_sum_at(loc, jx_mul_at(loc, v[i], v[i]), JX_NOINTS);
        sum = i ? jx_add_at(loc, sum, s) : s;
    }
    free(v);
    return n ? jx_sqrt_at(loc, sum) : jx__nn_fail(loc, JX_ERR_ARG, "global_norm", "a tree without leaves");
}

/* The flattened leaves of one state entry, checked against params' structure. */
static int state_leaves(jx_loc loc, const jx_tree *state, const char *name, const jx_tree *params, int n, jx_val *out) {
    jx_tree *t = jx_tree_get_at(loc, state, name);
    if (!t || jx_tree_check_same_at(loc, params, "params", t, name, 1)) return 0;
    jx_tree_flatten_vals(t, out, n);
    return 1;
}

#define S(x, v) jx_scalar_like_at(loc, (x), (v))

jx_status jx_optim_update_at(jx_loc loc, const jx_optim *o, const jx_tree *grads, const jx_tree *state,
                             const jx_tree *params, jx_tree **new_params, jx_tree **new_state) {
    if (!new_params || !new_state) return jx_error_at(loc, JX_ERR_ARG, "optim_update", "NULL result pointer");
    *new_params = *new_state = NULL;
    if (check_optim(loc, o)) return jx_errcode();
    if (!grads || !state || !params) return jx_error_at(loc, JX_ERR_ARG, "optim_update", "NULL tree");
    if (jx_tree_check_same_at(loc, params, "params", grads, "grads", 1)) return jx_errcode();
    int n = jx_tree_num_leaves(params);
    jx_val *buf = calloc((size_t)(9 * n + 1), sizeof *buf);
    if (!buf) return jx_error_at(loc, JX_ERR_NOMEM, "optim_update", "out of memory");
    jx_val *p = buf, *g = buf + n, *tr = buf + 2 * n, *mu = buf + 3 * n, *nu = buf + 4 * n, *acc = buf + 5 * n;
    jx_val *np = buf + 6 * n, *nacc = buf + 7 * n, *u = buf + 8 * n;
    jx_tree *ns = NULL;
    jx_tree_flatten_vals(params, p, n);
    jx_tree_flatten_vals(grads, g, n);
    jx_val count = jx_tree_get_val_at(loc, state, "count"), mini = JX_NONE, emit = JX_NONE;
    if ((has_trace(o) && !state_leaves(loc, state, "trace", params, n, tr)) ||
        (has_mu(o) && !state_leaves(loc, state, "mu", params, n, mu)) ||
        (has_nu(o) && !state_leaves(loc, state, "nu", params, n, nu)) ||
        (has_acc(o) && !state_leaves(loc, state, "acc", params, n, acc)))
        goto done;
    if (has_acc(o)) { /* optax.MultiSteps: the running mean of the gradients */
        mini = jx_tree_get_val_at(loc, state, "mini_step");
        jx_val m1 = jx_add_at(loc, mini, jx_scalar_like_at(loc, mini, 1));
        emit = jx_eq_at(loc, mini, jx_scalar_like_at(loc, mini, o->every_k - 1));
        for (int i = 0; i < n; i++) {
            nacc[i] = jx_add_at(loc, acc[i], jx_div_at(loc, jx_sub_at(loc, g[i], acc[i]), jx_convert_at(loc, m1, jx_dtype_of(g[i]))));
            g[i] = nacc[i];
        }
    }
    if (o->clip_norm > 0) { /* optax.clip_by_global_norm */
        /* the norm of the gradients actually used (the accumulated ones under MultiSteps) */
        jx_tree *gt = jx_tree_unflatten_vals_at(loc, params, n, g);
        if (!gt) goto done;
        jx_val gn = jx_global_norm_at(loc, gt);
        jx_tree_free(gt);
        jx_val trigger = jx_lt_at(loc, gn, jx_scalar_like_at(loc, gn, o->clip_norm));
        for (int i = 0; i < n; i++) {
            jx_val gi = jx_convert_at(loc, gn, jx_dtype_of(g[i]));
            g[i] = jx_select_at(loc, trigger, g[i], jx_mul_at(loc, jx_div_at(loc, g[i], gi), S(g[i], o->clip_norm)));
        }
    }
    jx_val lr = jx_schedule_at(loc, &o->lr, count);
    jx_val c1 = jx_convert_at(loc, jx_add_at(loc, count, jx_scalar_like_at(loc, count, 1)), JX_F32);
    for (int i = 0; i < n; i++) {
        jx_val gi = g[i];
        switch (o->kind) {
        case JX_OPTIM_SGD:
            u[i] = gi;
            if (has_trace(o)) { /* optax.trace: t = g + m t; nesterov: g + m t */
                tr[i] = jx_add_at(loc, gi, jx_mul_at(loc, S(gi, o->momentum), tr[i]));
                u[i] = o->nesterov ? jx_add_at(loc, gi, jx_mul_at(loc, S(gi, o->momentum), tr[i])) : tr[i];
            }
            break;
        case JX_OPTIM_ADAM:
        case JX_OPTIM_ADAMW: { /* optax.scale_by_adam, eps_root 0 */
            mu[i] = jx_add_at(loc, jx_mul_at(loc, S(gi, 1 - o->b1), gi), jx_mul_at(loc, S(gi, o->b1), mu[i]));
            nu[i] = jx_add_at(loc, jx_mul_at(loc, S(gi, 1 - o->b2), jx_mul_at(loc, gi, gi)), jx_mul_at(loc, S(gi, o->b2), nu[i]));
            jx_val bc1 = jx_sub_at(loc, jx_scalar_at(loc, JX_F32, 1), jx_pow_at(loc, jx_scalar_at(loc, JX_F32, o->b1), c1));
            jx_val bc2 = jx_sub_at(loc, jx_scalar_at(loc, JX_F32, 1), jx_pow_at(loc, jx_scalar_at(loc, JX_F32, o->b2), c1));
            jx_val mh = jx_div_at(loc, mu[i], jx_convert_at(loc, bc1, jx_dtype_of(gi)));
            jx_val nh = jx_div_at(loc, nu[i], jx_convert_at(loc, bc2, jx_dtype_of(gi)));
            u[i] = jx_div_at(loc, mh, jx_add_at(loc, jx_sqrt_at(loc, nh), S(gi, o->eps)));
            if (o->kind == JX_OPTIM_ADAMW && o->weight_decay != 0) { /* optax.add_decayed_weights */
                char path[JX_TREE_PATH_MAX];
                if (jx_tree_leaf_path(params, i, path, sizeof path)) goto done;
                if (!o->decay_mask || jx_path_match(o->decay_mask, path))
                    u[i] = jx_add_at(loc, u[i], jx_mul_at(loc, S(gi, o->weight_decay), p[i]));
            }
            break;
        }
        case JX_OPTIM_RMSPROP: /* optax.scale_by_rms, initial_scale 0 */
            nu[i] = jx_add_at(loc, jx_mul_at(loc, S(gi, 1 - o->decay), jx_mul_at(loc, gi, gi)), jx_mul_at(loc, S(gi, o->decay), nu[i]));
            u[i] = jx_mul_at(loc, gi, jx_rsqrt_at(loc, jx_add_at(loc, nu[i], S(gi, o->eps))));
            break;
        }
        /* optax.scale_by_learning_rate, then apply_updates */
        np[i] = jx_add_at(loc, p[i], jx_mul_at(loc, u[i], jx_neg_at(loc, jx_convert_at(loc, lr, jx_dtype_of(gi)))));
    }
    jx_val ncount = jx_add_at(loc, count, jx_scalar_like_at(loc, count, 1));
    if (has_acc(o)) { /* only the k-th call changes params and the inner state */
        for (int i = 0; i < n; i++) np[i] = jx_select_at(loc, emit, np[i], p[i]);
        /* the moments were overwritten with their new values: reread the old ones */
        jx_val *prev = calloc((size_t)n + 1, sizeof *prev);
        if (!prev) goto done;
        const char *names[3] = {"trace", "mu", "nu"};
        jx_val *now[3] = {tr, mu, nu};
        int want[3] = {has_trace(o), has_mu(o), has_nu(o)};
        for (int k = 0; k < 3; k++)
            if (want[k] && state_leaves(loc, state, names[k], params, n, prev))
                for (int i = 0; i < n; i++) now[k][i] = jx_select_at(loc, emit, now[k][i], prev[i]);
        free(prev);
        ncount = jx_select_at(loc, emit, ncount, count);
        for (int i = 0; i < n; i++) nacc[i] = jx_select_at(loc, emit, jx_zeros_like_at(loc, nacc[i]), nacc[i]);
        mini = jx_select_at(loc, emit, jx_scalar_like_at(loc, mini, 0), jx_add_at(loc, mini, jx_scalar_like_at(loc, mini, 1)));
    }
    if (jx_trace_status() != JX_OK) goto done;
    ns = jx_tree_dict();
    jx_tree_set_val_at(loc, ns, "count", ncount);
    const char *names[4] = {"trace", "mu", "nu", "acc"};
    jx_val *vals[4] = {tr, mu, nu, nacc};
    int want[4] = {has_trace(o), has_mu(o), has_nu(o), has_acc(o)};
    for (int k = 0; k < 4; k++)
        if (want[k]) jx_tree_set_at(loc, ns, names[k], jx_tree_unflatten_vals_at(loc, params, n, vals[k]));
    if (has_acc(o)) jx_tree_set_val_at(loc, ns, "mini_step", mini);
    *new_params = jx_tree_unflatten_vals_at(loc, params, n, np);
done:
    free(buf);
    jx_status st = jx_trace_status();
    if (st == JX_OK && (!*new_params || !ns)) st = jx_errcode() ? jx_errcode() : JX_ERR_INTERNAL;
    if (st != JX_OK) {
        jx_tree_free(*new_params);
        jx_tree_free(ns);
        *new_params = NULL;
        ns = NULL;
    }
    *new_state = ns;
    return st;
}
