/* ctc.c: see ctc.h. */
#include "ctc.h"

#include <stdlib.h>

#define NEG (-1e30) /* log(0) that stays finite, so that gradients stay finite too */

/* x (B,S) shifted k places along S, NEG (or fill) coming in at the start. */
static jx_val shift(jx_val x, int64_t k, double fill) {
    return jx_pad(x, jx_scalar_like(x, fill), JX_INTS(0, k), JX_INTS(0, -k), JX_INTS(0, 0));
}

/* log(exp(a) + exp(b) + exp(c)), the maximum held out of the gradient (it cancels). */
static jx_val lse3(jx_val a, jx_val b, jx_val c) {
    jx_val m = jx_stop_gradient(jx_max(jx_max(a, b), c));
    jx_val s = jx_add(jx_add(jx_exp(jx_sub(a, m)), jx_exp(jx_sub(b, m))), jx_exp(jx_sub(c, m)));
    return jx_add(m, jx_log(s));
}

/* One frame: in = alpha (B,S) at t-1, the skip mask (B,S) (0 or NEG), emissions (B,S) at t;
 * out = alpha at t. */
static void alpha_step(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val a = in[0];
    out[0] = jx_add(lse3(a, shift(a, 1, NEG), jx_add(shift(a, 2, NEG), in[1])), in[2]);
    out[1] = in[1];
}

jx_val ctc_loss(jx_val logits, jx_val labels, jx_val lengths) {
    int64_t b = jx_dim(logits, 0), t = jx_dim(logits, 1), c = jx_dim(logits, 2), l = jx_dim(labels, 1);
    int64_t s = 2 * l + 1;
    /* the extended labels: blank, l1, blank, l2, ..., blank (B,S) */
    jx_val pair[2] = {jx_zeros_like(labels), labels};
    jx_val ext = jx_pad(jx_reshape(jx_stack(2, pair, 2), JX_INTS(b, 2 * l)), jx_scalar(JX_I32, 0), JX_INTS(0, 0),
                        JX_INTS(0, 1), JX_INTS(0, 0));
    /* s may be reached from s-2 when it is a label that differs from the one before it */
    jx_val skip = jx_and(jx_ne(ext, jx_scalar(JX_I32, 0)), jx_ne(ext, shift(ext, 2, 0)));
    jx_val skipm = jx_select(skip, jx_zeros_like(jx_convert(ext, JX_F32)), jx_full(JX_F32, JX_INTS(b, s), NEG));
    /* emissions e[b,t,s] = log_softmax(logits)[b,t,ext[b,s]], through a one-hot matmul */
    jx_val onehot = jx_convert(jx_eq(jx_reshape(ext, JX_INTS(b, s, 1)), jx_iota(JX_I32, JX_INTS(1, 1, c), 2)), JX_F32);
    jx_val lp[2] = {jx_log_softmax(logits, 2), onehot};
    jx_val e = jx_transpose(jx_einsum("btc,bsc->bts", 2, lp), JX_INTS(1, 0, 2)); /* (T,B,S) */
    /* before the first frame all the mass sits on a virtual state just before s = 0 */
    jx_val pos = jx_iota(JX_I32, JX_INTS(b, s), 1);
    jx_val init[2] = {jx_select(jx_eq(pos, jx_scalar(JX_I32, 0)), jx_full(JX_F32, JX_INTS(b, s), 0),
                                jx_full(JX_F32, JX_INTS(b, s), NEG)),
                      skipm},
           out[2];
    jx_scan(alpha_step, NULL, t, 0, 2, init, 1, &e, 0, out);
    /* a path ends on the last label or the blank after it */
    jx_val two_l = jx_mul(jx_reshape(lengths, JX_INTS(b, 1)), jx_scalar(JX_I32, 2));
    jx_val end = jx_or(jx_eq(pos, two_l), jx_eq(pos, jx_sub(two_l, jx_scalar(JX_I32, 1))));
    jx_val fin = jx_select(end, out[0], jx_full(JX_F32, JX_INTS(b, s), NEG));
    return jx_neg(jx_logsumexp(fin, 1));
}

int ctc_greedy(const float *logits, int64_t t, int64_t c, int *out) {
    int n = 0, prev = 0;
    for (int64_t i = 0; i < t; i++) {
        int best = 0;
        for (int64_t k = 1; k < c; k++)
            if (logits[i * c + k] > logits[i * c + best]) best = (int)k;
        if (best != prev && best != 0) out[n++] = best;
        prev = best;
    }
    return n;
}

int ctc_edit_distance(const int *a, int na, const int *b, int nb) {
    int *d = malloc(sizeof(int) * (size_t)(nb + 1));
    if (!d) return na > nb ? na : nb;
    for (int j = 0; j <= nb; j++) d[j] = j;
    for (int i = 1; i <= na; i++) {
        int prev = d[0];
        d[0] = i;
        for (int j = 1; j <= nb; j++) {
            int sub = prev + (a[i - 1] != b[j - 1]), del = d[j] + 1, ins = d[j - 1] + 1, cur = d[j];
            d[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
            prev = cur;
        }
    }
    int r = d[nb];
    free(d);
    return r;
}
