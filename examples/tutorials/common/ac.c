/* ac.c: see ac.h. */
#include <math.h>
#include <string.h>

#include <jx/layers.h>

#include "ac.h"
#include "cartpole.h"
#include "tut.h"

void ac_net(const jx_tree *p, jx_val s, jx_val *logp, jx_val *value) {
    jx_val h = jx_tanh(jx_nn_dense(s, jx_tree_get_val(p, "actor.hidden.w"), jx_tree_get_val(p, "actor.hidden.b")));
    *logp = jx_log_softmax(jx_nn_dense(h, jx_tree_get_val(p, "actor.out.w"), jx_tree_get_val(p, "actor.out.b")), 1);
    jx_val g = jx_tanh(jx_nn_dense(s, jx_tree_get_val(p, "critic.hidden.w"), jx_tree_get_val(p, "critic.hidden.b")));
    *value = jx_reshape(jx_nn_dense(g, jx_tree_get_val(p, "critic.out.w"), jx_tree_get_val(p, "critic.out.b")),
                        JX_INTS(-1));
}

jx_tree *ac_init(uint64_t seed) {
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "actor.hidden.w", tut_weights(seed + 10, 4, AC_HIDDEN, sqrt(2.0 / 4)));
    jx_tree_set_array(p, "actor.hidden.b", jx_array_zeros(JX_F32, JX_INTS(AC_HIDDEN)));
    jx_tree_set_array(p, "actor.out.w", tut_weights(seed + 11, AC_HIDDEN, 2, 0.01));
    jx_tree_set_array(p, "actor.out.b", jx_array_zeros(JX_F32, JX_INTS(2)));
    jx_tree_set_array(p, "critic.hidden.w", tut_weights(seed + 13, 4, AC_HIDDEN, sqrt(2.0 / 4)));
    jx_tree_set_array(p, "critic.hidden.b", jx_array_zeros(JX_F32, JX_INTS(AC_HIDDEN)));
    jx_tree_set_array(p, "critic.out.w", tut_weights(seed + 12, AC_HIDDEN, 1, 1.0 / sqrt(AC_HIDDEN)));
    jx_tree_set_array(p, "critic.out.b", jx_array_zeros(JX_F32, JX_INTS(1)));
    return p;
}

static void policy_body(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val logp, value;
    ac_net(in[0], jx_tree_get_val(in[1], "s"), &logp, &value);
    out[0] = jx_tree_dict();
    jx_tree_set_val(out[0], "logp", logp);
    jx_tree_set_val(out[0], "v", value);
}

int ac_policy_make(ac_policy *p, const jx_tree *params, int64_t n, const trainer_opts *o) {
    jx_tree *sb = jx_tree_dict(), *in[2] = {(jx_tree *)params, sb};
    jx_tree_set_array(sb, "s", jx_array_zeros(JX_F32, JX_INTS(n, 4)));
    p->f = jx_tree_trace("policy", policy_body, NULL, 2, in, 1);
    p->x = tut_jit(p->f, o, 0);
    p->n = n;
    jx_tree_free(sb);
    return p->x ? 0 : -1;
}

int ac_policy_run(const ac_policy *p, const jx_tree *params, const float *s, float *logp, float *v) {
    jx_tree *b = jx_tree_dict(), *out = NULL;
    jx_tree_set_array(b, "s", jx_array_new(JX_F32, JX_INTS(p->n, 4), s));
    jx_tree *in[2] = {(jx_tree *)params, b};
    int ok = jx_tree_fn_run(p->f, p->x, 2, in, 1, &out) == JX_OK;
    if (ok) {
        memcpy(logp, jx_array_data(jx_tree_get_array(out, "logp")), sizeof(float) * (size_t)(2 * p->n));
        memcpy(v, jx_array_data(jx_tree_get_array(out, "v")), sizeof(float) * (size_t)p->n);
    }
    jx_tree_free(b), jx_tree_free(out);
    return ok ? 0 : -1;
}

void ac_policy_free(ac_policy *p) {
    jx_exec_release(p->x), jx_tree_fn_free(p->f);
    p->x = NULL, p->f = NULL;
}

double ac_greedy_return(const ac_policy *one, const jx_tree *params, const float *starts, int n) {
    double mean = 0;
    for (int e = 0; e < n; e++) {
        cartpole c;
        int term, done = 0;
        cartpole_reset(&c, starts + 4 * e);
        while (!done) {
            float s[4] = {(float)c.s[0], (float)c.s[1], (float)c.s[2], (float)c.s[3]}, logp[2], v;
            if (ac_policy_run(one, params, s, logp, &v)) return -1;
            done = cartpole_step(&c, logp[1] > logp[0], &term);
        }
        mean += c.steps / (double)n;
    }
    return mean;
}
