/* tree_fn.c: functions of trees. A tree body is traced into a positional jx_fn (inputs
 * and outputs flattened) plus the structures needed to rebuild trees around it, so the
 * core's transformations (grad, jit) apply unchanged. jx_trace needs the number of
 * outputs before the body runs, so the body is traced twice: once to learn its output
 * structure (JAX does the same to find a function's out_tree), once for real. */
#include <stdlib.h>
#include <string.h>

#include "tree_internal.h"

struct jx_tree_fn {
    jx_fn *fn;
    int nin, nout;
    jx_tree **in;  /* input structures (aval leaves) */
    jx_tree **out; /* output structures (aval leaves) */
    int *offset;   /* nin + 1 flat offsets of the inputs */
    int *out_offset;
};

static jx_tree *to_aval(const char *path, const jx_tree *leaf, int index, void *user) {
    (void)path, (void)index, (void)user;
    return jx_tree_aval(jx_tree_leaf_aval(leaf));
}

/* The state a body adapter needs while tracing. */
typedef struct adapter {
    jx_loc loc;
    jx_tree_body body;
    void *user;
    int nin, nout;
    jx_tree *const *in_like;
    const int *offset;
    jx_tree **out_seen; /* probe: the output trees the body made (aval leaves) */
    int probing;
    int nflat_out;
} adapter;

static void free_trees(int n, jx_tree **t) {
    for (int i = 0; t && i < n; i++) {
        jx_tree_free(t[i]);
        t[i] = NULL;
    }
}

static void adapter_body(jx_val *out, const jx_val *in, void *user) {
    adapter *a = user;
    jx_tree **tin = calloc((size_t)a->nin + 1, sizeof *tin);
    jx_tree **tout = calloc((size_t)a->nout + 1, sizeof *tout);
    if (!tin || !tout) {
        jx_error_at(a->loc, JX_ERR_NOMEM, "tree_trace", "out of memory");
        goto done;
    }
    for (int i = 0; i < a->nin; i++) {
        tin[i] = jx_tree_unflatten_vals_at(a->loc, a->in_like[i], a->offset[i + 1] - a->offset[i], in + a->offset[i]);
        if (!tin[i]) goto done;
    }
    a->body(tout, tin, a->user);
    if (jx_trace_status() != JX_OK) goto done;
    for (int i = 0; i < a->nout; i++)
        if (!tout[i]) {
            jx_error_at(a->loc, JX_ERR_ARG, "tree_trace", "the body left output tree %d NULL", i);
            goto done;
        }
    if (a->probing) {
        for (int i = 0; i < a->nout; i++) {
            a->out_seen[i] = jx__tree_rebuild(tout[i], to_aval, NULL);
            if (!a->out_seen[i]) {
                jx_error_at(a->loc, JX_ERR_NOMEM, "tree_trace", "out of memory");
                goto done;
            }
        }
        goto done;
    }
    int k = 0;
    for (int i = 0; i < a->nout; i++) {
        if (jx_tree_check_same_at(a->loc, a->out_seen[i], "the first trace", tout[i], "the second trace", 1))
            goto done;
        k += jx_tree_flatten_vals(tout[i], out + k, a->nflat_out - k);
    }
done:
    free_trees(a->nin, tin);
    free_trees(a->nout, tout);
    free(tin);
    free(tout);
}

void jx_tree_fn_free(jx_tree_fn *f) {
    if (!f) return;
    jx_fn_release(f->fn);
    free_trees(f->nin, f->in);
    free_trees(f->nout, f->out);
    free(f->in);
    free(f->out);
    free(f->offset);
    free(f->out_offset);
    free(f);
}

jx_tree_fn *jx_tree_trace_at(jx_loc loc, const char *name, jx_tree_body body, void *user, int nin,
                             jx_tree *const *in, int nout) {
    if (!body || nin < 0 || nout < 1 || (nin && !in)) {
        jx_error_at(loc, JX_ERR_ARG, "tree_trace", "%s", !body ? "NULL body" : "bad input or output count");
        return NULL;
    }
    for (int i = 0; i < nin; i++)
        if (!in[i]) {
            jx_error_at(loc, JX_ERR_ARG, "tree_trace", "input tree %d is NULL", i);
            return NULL;
        }
    jx_tree_fn *f = calloc(1, sizeof *f);
    jx_aval *avals = NULL;
    if (!f) goto oom;
    f->nin = nin, f->nout = nout;
    f->in = calloc((size_t)nin + 1, sizeof *f->in);
    f->out = calloc((size_t)nout, sizeof *f->out);
    f->offset = calloc((size_t)nin + 1, sizeof *f->offset);
    f->out_offset = calloc((size_t)nout + 1, sizeof *f->out_offset);
    if (!f->in || !f->out || !f->offset || !f->out_offset) goto oom;
    for (int i = 0; i < nin; i++) {
        f->in[i] = jx__tree_rebuild(in[i], to_aval, NULL);
        if (!f->in[i]) goto oom;
        f->offset[i + 1] = f->offset[i] + jx_tree_num_leaves(in[i]);
    }
    avals = malloc((size_t)(f->offset[nin] + 1) * sizeof *avals);
    if (!avals) goto oom;
    for (int i = 0; i < nin; i++) jx_tree_flatten_avals(in[i], avals + f->offset[i], f->offset[i + 1] - f->offset[i]);

    adapter a = {loc, body, user, nin, nout, f->in, f->offset, f->out, 1, 0};
    jx_fn *probe = jx_trace_at(loc, name, adapter_body, &a, f->offset[nin], avals, 0);
    if (!probe) goto fail;
    jx_fn_release(probe);
    for (int i = 0; i < nout; i++) f->out_offset[i + 1] = f->out_offset[i] + jx_tree_num_leaves(f->out[i]);
    a.probing = 0;
    a.nflat_out = f->out_offset[nout];
    f->fn = jx_trace_at(loc, name, adapter_body, &a, f->offset[nin], avals, a.nflat_out);
    if (!f->fn) goto fail;
    free(avals);
    return f;
oom:
    jx_error_at(loc, JX_ERR_NOMEM, "tree_trace", "out of memory");
fail:
    free(avals);
    jx_tree_fn_free(f);
    return NULL;
}

const jx_fn *jx_tree_fn_fn(const jx_tree_fn *f) { return f ? f->fn : NULL; }
int jx_tree_fn_num_inputs(const jx_tree_fn *f) { return f ? f->nin : 0; }
int jx_tree_fn_num_outputs(const jx_tree_fn *f) { return f ? f->nout : 0; }
int jx_tree_fn_input_offset(const jx_tree_fn *f, int i) {
    return f && i >= 0 && i <= f->nin ? f->offset[i] : -1;
}
int jx_tree_fn_input_leaves(const jx_tree_fn *f, int i) {
    return f && i >= 0 && i < f->nin ? f->offset[i + 1] - f->offset[i] : -1;
}
const jx_tree *jx_tree_fn_output(const jx_tree_fn *f, int i) {
    return f && i >= 0 && i < f->nout ? f->out[i] : NULL;
}

jx_status jx_tree_fn_run_at(jx_loc loc, const jx_tree_fn *f, jx_exec *exec, int nin, jx_tree *const *in,
                            int nout, jx_tree **out) {
    if (!f || nin != f->nin || nout != f->nout || !out)
        return jx_error_at(loc, JX_ERR_ARG, "tree_fn_run", "%d input and %d output trees for a function of %d and %d",
                           nin, nout, f ? f->nin : 0, f ? f->nout : 0);
    for (int i = 0; i < nout; i++) out[i] = NULL;
    char an[32], bn[32];
    for (int i = 0; i < nin; i++) {
        snprintf(an, sizeof an, "input %d", i);
        snprintf(bn, sizeof bn, "the argument");
        if (jx_tree_check_same_at(loc, f->in[i], an, in[i], bn, 1)) return jx_errcode();
    }
    int nfi = f->offset[nin], nfo = f->out_offset[nout];
    jx_array **fin = calloc((size_t)nfi + 1, sizeof *fin), **fout = calloc((size_t)nfo + 1, sizeof *fout);
    jx_status st = JX_OK;
    if (!fin || !fout) {
        st = jx_error_at(loc, JX_ERR_NOMEM, "tree_fn_run", "out of memory");
        goto done;
    }
    for (int i = 0; i < nin; i++) jx_tree_flatten_arrays(in[i], fin + f->offset[i], f->offset[i + 1] - f->offset[i]);
    for (int i = 0; i < nfi; i++)
        if (!fin[i]) {
            st = jx_error_at(loc, JX_ERR_ARG, "tree_fn_run", "flat input %d is not an array leaf", i);
            goto done;
        }
    st = exec ? jx_exec_run(exec, nfi, fin, nfo, fout) : jx_eval(f->fn, nfi, fin, nfo, fout);
    if (st) goto done;
    for (int i = 0; i < nout; i++) {
        int n = f->out_offset[i + 1] - f->out_offset[i];
        out[i] = jx_tree_unflatten_arrays_at(loc, f->out[i], n, fout + f->out_offset[i]);
        if (!out[i]) {
            st = jx_errcode();
            break;
        }
    }
done:
    if (st) {
        for (int i = 0; fout && i < nfo; i++) jx_array_release(fout[i]);
        free_trees(nout, out);
    }
    free(fin);
    free(fout);
    return st;
}

jx_status jx_tree_value_and_grad_at(jx_loc loc, jx_tree_body body, void *user, int nin, jx_tree *const *in,
                                    int argnum, int nout, jx_tree **out, jx_tree **grad) {
    if (!out || !grad || argnum < 0 || argnum >= nin)
        return jx_error_at(loc, JX_ERR_ARG, "tree_value_and_grad", "argnum %d out of range for %d inputs", argnum, nin);
    *grad = NULL;
    for (int i = 0; i < nout; i++) out[i] = NULL;
    jx_tree_fn *f = jx_tree_trace_at(loc, "loss", body, user, nin, in, nout);
    if (!f) /* a nested trace failed: make its error the enclosing trace's */
        return jx_error_at((jx_loc){NULL, 0}, jx_errcode() ? jx_errcode() : JX_ERR_TRACE, NULL, "%s", jx_errmsg());
    jx_fn *g = NULL;
    int64_t *argnums = NULL;
    jx_val *xs = NULL, *ys = NULL;
    jx_aval l = jx_tree_leaf_aval(f->out[0]);
    int nwrt = jx_tree_fn_input_leaves(f, argnum);
    if (!jx_tree_is_leaf(f->out[0]) || l.rank != 0 || !jx_dtype_is_float(l.dtype)) {
        char s[64];
        jx_error_at(loc, JX_ERR_ARG, "tree_value_and_grad", "the loss (output 0) must be one float scalar leaf, not %s",
                    jx_tree_is_leaf(f->out[0]) ? jx_aval_str(&l, s, sizeof s) : "a tree");
        goto done;
    }
    if (nwrt == 0) {
        jx_error_at(loc, JX_ERR_ARG, "tree_value_and_grad", "input %d has no leaves to differentiate", argnum);
        goto done;
    }
    argnums = malloc((size_t)nwrt * sizeof *argnums);
    int nfi = f->offset[nin], nfo = f->out_offset[nout];
    xs = malloc((size_t)(nfi + 1) * sizeof *xs);
    ys = malloc((size_t)(nfo + nwrt) * sizeof *ys);
    if (!argnums || !xs || !ys) {
        jx_error_at(loc, JX_ERR_NOMEM, "tree_value_and_grad", "out of memory");
        goto done;
    }
    for (int i = 0; i < nwrt; i++) argnums[i] = f->offset[argnum] + i;
    g = jx_value_and_grad_at(loc, f->fn, (jx_ints){argnums, nwrt});
    if (!g) {
        jx_error_at((jx_loc){NULL, 0}, jx_errcode(), NULL, "%s", jx_errmsg());
        goto done;
    }
    for (int i = 0; i < nin; i++) jx_tree_flatten_vals(in[i], xs + f->offset[i], f->offset[i + 1] - f->offset[i]);
    jx_call_at(loc, g, nfi, xs, nfo + nwrt, ys);
    if (jx_trace_status() != JX_OK) goto done;
    for (int i = 0; i < nout; i++) {
        out[i] = jx_tree_unflatten_vals_at(loc, f->out[i], f->out_offset[i + 1] - f->out_offset[i], ys + f->out_offset[i]);
        if (!out[i]) goto done;
    }
    *grad = jx_tree_unflatten_vals_at(loc, f->in[argnum], nwrt, ys + nfo);
done:
    free(argnums);
    free(xs);
    free(ys);
    jx_fn_release(g);
    jx_tree_fn_free(f);
    jx_status st = jx_trace_status();
    if (st == JX_OK && !*grad) st = jx_errcode() ? jx_errcode() : JX_ERR_INTERNAL;
    if (st != JX_OK) {
        free_trees(nout, out);
        jx_tree_free(*grad);
        *grad = NULL;
    }
    return st;
}
