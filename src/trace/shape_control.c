/* shape_control.c: shape and dtype rules for the control primitives (see prims.def):
 * they check the operands against the nested functions' signatures, so an IR that
 * passes typecheck can be evaluated without further checks. */
#include <stdio.h>
#include <stdlib.h>

#include "ir.h"

/* The single function of a JX_AK_FNS attribute (n == 1), or NULL with err set. */
static const jx_fn *one_fn(int nattr, const jx__attr *attrs, jx__akey key, jx__rule_err *err) {
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    if (!a || a->kind != JX_AK_FNS || a->n != 1 || !a->u.fns[0]) {
        jx__rule_fail(err, JX_ERR_ARG, "attribute '%s' must be one function", jx__attr_names[key]);
        return NULL;
    }
    return a->u.fns[0];
}

/* A required integer attribute; false with err set when it is missing. */
static bool req_int(int nattr, const jx__attr *attrs, jx__akey key, int64_t lo, int64_t hi,
                    int64_t *v, jx__rule_err *err) {
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    if (!a || a->kind != JX_AK_INT) {
        jx__rule_fail(err, JX_ERR_ARG, "attribute '%s' (an integer) is missing", jx__attr_names[key]);
        return false;
    }
    if (a->u.i < lo || a->u.i > hi) {
        jx__rule_fail(err, JX_ERR_ARG, "attribute '%s' is %lld, must be in [%lld, %lld]",
                      jx__attr_names[key], (long long)a->u.i, (long long)lo, (long long)hi);
        return false;
    }
    *v = a->u.i;
    return true;
}

static jx_aval fn_in(const jx_fn *f, int i) { return f->vars[f->in[i]]; }
static jx_aval fn_out(const jx_fn *f, int i) { return jx__atom_aval(f, &f->out[i]); }

/* Checks that f (called `what` in messages) takes exactly the n avals in[]. */
static jx_status check_inputs(const jx_fn *f, const char *what, int n, const jx_aval *in,
                              jx__rule_err *err) {
    if (f->nin != n)
        return jx__rule_fail(err, JX_ERR_ARG, "%s takes %d inputs, got %d operands", what, f->nin, n);
    for (int i = 0; i < n; i++) {
        jx_aval want = fn_in(f, i);
        if (!jx_aval_equal(&want, &in[i]))
            return jx__rule_fail(err, JX_ERR_SHAPE, "%s input %d is %s, operand is %s", what, i,
                                 jx__avs(&want), jx__avs(&in[i]));
    }
    return JX_OK;
}

static jx_status check_room(int n, int maxout, jx__rule_err *err) {
    if (n > maxout) return jx__rule_fail(err, JX_ERR_ARG, "gives %d outputs, room for %d", n, maxout);
    return JX_OK;
}

/* call[fn]: operands are fn's inputs; outputs are fn's outputs. */
static jx_status rule_call(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                           jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_fn *f = one_fn(nattr, attrs, JX_A_FN, err);
    if (!f) return err->code;
    char what[96];
    snprintf(what, sizeof what, "function '%s'", jx_fn_name(f));
    if (check_inputs(f, what, nin, in, err) || check_room(f->nout, maxout, err)) return err->code;
    for (int i = 0; i < f->nout; i++) out[i] = fn_out(f, i);
    *nout = f->nout;
    return JX_OK;
}

/* cond[branches]: index (an integer or bool scalar), then the branches' operands. */
static jx_status rule_cond(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                           jx_aval *out, int *nout, jx__rule_err *err) {
    const jx__attr *a = jx__attr_get(nattr, attrs, JX_A_BRANCHES);
    if (!a || a->kind != JX_AK_FNS || a->n < 1)
        return jx__rule_fail(err, JX_ERR_ARG, "attribute 'branches' must be one or more functions");
    if (nin < 1) return jx__rule_fail(err, JX_ERR_ARG, "needs an index operand");
    bool is_bool = in[0].dtype == JX_BOOL;
    if (in[0].rank != 0 || !(is_bool || jx_dtype_is_int(in[0].dtype)))
        return jx__rule_fail(err, JX_ERR_DTYPE, "index must be an integer or bool scalar, got %s",
                             jx__avs(&in[0]));
    if (is_bool && a->n != 2)
        return jx__rule_fail(err, JX_ERR_ARG, "a bool index needs exactly 2 branches, got %d", a->n);
    const jx_fn *b0 = a->u.fns[0];
    for (int b = 0; b < a->n; b++) {
        const jx_fn *f = a->u.fns[b];
        char what[32];
        snprintf(what, sizeof what, "branch %d", b);
        if (check_inputs(f, what, nin - 1, in + 1, err)) return err->code;
        if (f->nout != b0->nout)
            return jx__rule_fail(err, JX_ERR_ARG, "branch %d gives %d outputs, branch 0 gives %d", b,
                                 f->nout, b0->nout);
        for (int i = 0; i < f->nout; i++) {
            jx_aval got = fn_out(f, i), want = fn_out(b0, i);
            if (jx_aval_equal(&got, &want)) continue;
            if (f->nout == 1)
                return jx__rule_fail(err, JX_ERR_SHAPE, "branch %d gives %s, branch 0 gives %s", b,
                                     jx__avs(&got), jx__avs(&want));
            return jx__rule_fail(err, JX_ERR_SHAPE, "branch %d gives %s for output %d, branch 0 gives %s",
                                 b, jx__avs(&got), i, jx__avs(&want));
        }
    }
    if (check_room(b0->nout, maxout, err)) return err->code;
    for (int i = 0; i < b0->nout; i++) out[i] = fn_out(b0, i);
    *nout = b0->nout;
    return JX_OK;
}

/* Checks that body gives the carry avals in[0..nc) back as its outputs 0..nc). */
static jx_status check_carry_out(const jx_fn *body, int nc, const jx_aval *in, jx__rule_err *err) {
    if (body->nout < nc)
        return jx__rule_fail(err, JX_ERR_ARG, "body gives %d outputs, the carry has %d", body->nout, nc);
    for (int i = 0; i < nc; i++) {
        jx_aval got = fn_out(body, i);
        if (!jx_aval_equal(&got, &in[i]))
            return jx__rule_fail(err, JX_ERR_SHAPE, "body changes carry %d from %s to %s", i,
                                 jx__avs(&in[i]), jx__avs(&got));
    }
    return JX_OK;
}

/* while[cond body num_carry]: carry..., consts...; outputs the final carry. */
static jx_status rule_while(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                            jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_fn *c = one_fn(nattr, attrs, JX_A_COND, err);
    const jx_fn *b = c ? one_fn(nattr, attrs, JX_A_BODY, err) : NULL;
    int64_t nc;
    if (!b || !req_int(nattr, attrs, JX_A_NUM_CARRY, 0, nin, &nc, err)) return err->code;
    if (check_inputs(c, "cond", nin, in, err) || check_inputs(b, "body", nin, in, err)) return err->code;
    if (c->nout != 1) return jx__rule_fail(err, JX_ERR_ARG, "cond gives %d outputs, want 1", c->nout);
    jx_aval p = fn_out(c, 0);
    if (p.rank != 0 || p.dtype != JX_BOOL)
        return jx__rule_fail(err, JX_ERR_DTYPE, "cond gives %s, want a bool scalar", jx__avs(&p));
    if (b->nout != nc)
        return jx__rule_fail(err, JX_ERR_ARG, "body gives %d outputs, the carry has %d", b->nout, (int)nc);
    if (check_carry_out(b, (int)nc, in, err) || check_room((int)nc, maxout, err)) return err->code;
    for (int i = 0; i < nc; i++) out[i] = in[i];
    *nout = (int)nc;
    return JX_OK;
}

/* scan[body length reverse num_carry num_consts]: carry..., xs..., consts...;
 * outputs the final carry, then the ys stacked along a new leading dim. */
static jx_status rule_scan(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                           jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_fn *b = one_fn(nattr, attrs, JX_A_BODY, err);
    int64_t len, rev, nc, nk;
    if (!b || !req_int(nattr, attrs, JX_A_LENGTH, 0, INT64_MAX, &len, err) ||
        !req_int(nattr, attrs, JX_A_REVERSE, 0, 1, &rev, err) ||
        !req_int(nattr, attrs, JX_A_NUM_CARRY, 0, nin, &nc, err) ||
        !req_int(nattr, attrs, JX_A_NUM_CONSTS, 0, nin - nc, &nk, err))
        return err->code;
    int nx = nin - (int)nc - (int)nk;
    /* the body sees each x without its leading dim */
    jx_aval sbuf[16];
    jx_aval *seen = nin <= 16 ? sbuf : malloc(sizeof *seen * (size_t)nin);
    if (!seen) return jx__rule_fail(err, JX_ERR_NOMEM, "out of memory");
    jx_status st = JX_OK;
    for (int i = 0; i < nin; i++) seen[i] = in[i];
    for (int j = 0; j < nx && st == JX_OK; j++) {
        const jx_aval *x = &in[nc + j];
        if (x->rank < 1)
            st = jx__rule_fail(err, JX_ERR_SHAPE, "xs %d is %s, it needs a leading dim of size %lld", j,
                               jx__avs(x), (long long)len);
        else if (x->shape[0] != len)
            st = jx__rule_fail(err, JX_ERR_SHAPE, "xs %d has leading dim %lld, length is %lld", j,
                               (long long)x->shape[0], (long long)len);
        else
            seen[nc + j] = jx_aval_make(x->dtype, (jx_ints){x->shape + 1, x->rank - 1});
    }
    if (st == JX_OK) st = check_inputs(b, "body", nin, seen, err);
    if (seen != sbuf) free(seen);
    if (st != JX_OK || check_carry_out(b, (int)nc, in, err) || check_room(b->nout, maxout, err))
        return err->code;
    for (int i = 0; i < b->nout; i++) {
        jx_aval y = fn_out(b, i);
        if (i < nc) {
            out[i] = y;
            continue;
        }
        if (y.rank >= JX_MAX_RANK)
            return jx__rule_fail(err, JX_ERR_SHAPE, "body output %d is %s: stacking it exceeds rank %d", i,
                                 jx__avs(&y), JX_MAX_RANK);
        out[i] = y;
        out[i].rank = y.rank + 1;
        out[i].shape[0] = len;
        for (int d = 0; d < y.rank; d++) out[i].shape[d + 1] = y.shape[d];
    }
    *nout = b->nout;
    return JX_OK;
}

/* The axes list `key` of a pmap: n entries, each -1 (not mapped) or in [0, rank[i]]. */
static jx_status pmap_axes(int nattr, const jx__attr *attrs, jx__akey key, int n, const int *rank,
                           jx__rule_err *err) {
    const jx__attr *a = jx__attr_get(nattr, attrs, key);
    if (!a || a->kind != JX_AK_INTS || a->n != n)
        return jx__rule_fail(err, JX_ERR_ARG, "attribute '%s' must list %d axes", jx__attr_names[key], n);
    for (int i = 0; i < n; i++)
        if (a->u.ints[i] < -1 || a->u.ints[i] > rank[i])
            return jx__rule_fail(err, JX_ERR_AXIS, "%s[%d] is %lld, must be -1 (not mapped) or in [0, %d]",
                                 jx__attr_names[key], i, (long long)a->u.ints[i], rank[i]);
    return JX_OK;
}

/* pmap[fn axis_name axis_size in_axes out_axes]: operand i is fn's input i with an axis
 * of size axis_size inserted at in_axes[i] (-1: as it is); output j is fn's output j
 * with that axis inserted at out_axes[j] (-1: device 0's, which every device has). */
static jx_status rule_pmap(int nin, const jx_aval *in, int nattr, const jx__attr *attrs, int maxout,
                           jx_aval *out, int *nout, jx__rule_err *err) {
    const jx_fn *f = one_fn(nattr, attrs, JX_A_FN, err);
    int64_t n = 0;
    const char *name = jx__attr_str(nattr, attrs, JX_A_AXIS_NAME);
    if (!f || !req_int(nattr, attrs, JX_A_AXIS_SIZE, 1, 1 << 20, &n, err)) return err->code;
    if (!name || !*name) return jx__rule_fail(err, JX_ERR_ARG, "needs a string attribute 'axis_name'");
    if (f->nin != nin) return jx__rule_fail(err, JX_ERR_ARG, "fn takes %d inputs, got %d operands", f->nin, nin);
    if (check_room(f->nout, maxout, err)) return err->code;
    int rank[64];
    if (nin > 64 || f->nout > 64) return jx__rule_fail(err, JX_ERR_ARG, "more than 64 inputs or outputs");
    for (int i = 0; i < nin; i++) rank[i] = in[i].rank - 1;
    if (pmap_axes(nattr, attrs, JX_A_IN_AXES, nin, rank, err)) return err->code;
    for (int j = 0; j < f->nout; j++) rank[j] = fn_out(f, j).rank;
    if (pmap_axes(nattr, attrs, JX_A_OUT_AXES, f->nout, rank, err)) return err->code;
    jx_ints ia = jx__attr_ints(nattr, attrs, JX_A_IN_AXES), oa = jx__attr_ints(nattr, attrs, JX_A_OUT_AXES);
    for (int i = 0; i < nin; i++) {
        jx_aval want = fn_in(f, i), got = in[i];
        int a = (int)ia.v[i];
        if (a >= 0) {
            if (got.shape[a] != n)
                return jx__rule_fail(err, JX_ERR_SHAPE, "operand %d (%s) has size %lld at mapped axis %d, the pmap has %lld",
                                     i, jx__avs(&in[i]), (long long)got.shape[a], a, (long long)n);
            for (int d = a; d + 1 < got.rank; d++) got.shape[d] = got.shape[d + 1];
            got.rank--;
        }
        if (!jx_aval_equal(&want, &got))
            return jx__rule_fail(err, JX_ERR_SHAPE, "fn input %d is %s, operand %d without its mapped axis is %s", i,
                                 jx__avs(&want), i, jx__avs(&got));
    }
    for (int j = 0; j < f->nout; j++) {
        jx_aval y = fn_out(f, j);
        int a = (int)oa.v[j];
        if (a >= 0) {
            if (y.rank >= JX_MAX_RANK) return jx__rule_fail(err, JX_ERR_SHAPE, "output %d has no room for the mapped axis", j);
            for (int d = y.rank; d > a; d--) y.shape[d] = y.shape[d - 1];
            y.shape[a] = n;
            y.rank++;
        }
        out[j] = y;
    }
    *nout = f->nout;
    return JX_OK;
}

void jx__shape_register_control(jx__shape_rule *t) {
    t[JX_PRIM_PMAP] = rule_pmap;
    t[JX_PRIM_CALL] = rule_call;
    t[JX_PRIM_COND] = rule_cond;
    t[JX_PRIM_WHILE] = rule_while;
    t[JX_PRIM_SCAN] = rule_scan;
}
