/* typecheck.c: jx_fn_typecheck, the IR's own consistency check. It re-runs every
 * equation's shape rule on the avals of its operands and compares the result with the
 * recorded output avals, and checks SSA form (each variable defined once, before use),
 * variable ids, literal dtypes, and nested functions recursively. Errors name the
 * equation, its primitive and the user's line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

/* What is being checked: the path to a nested function, for messages, and a buffer of
 * "defined" flags per variable. */
typedef struct tc {
    const jx_fn *f;
    const char *path; /* "" at the top, "equation 2 (scan) body: " inside */
    uint8_t *defined;
} tc;

static jx_status check_fn(const jx_fn *f, const char *path);

static bool aval_ok(const jx_aval *a) {
    if ((unsigned)a->dtype >= JX_DTYPE_COUNT || a->rank < 0 || a->rank > JX_MAX_RANK) return false;
    for (int i = 0; i < a->rank; i++)
        if (a->shape[i] < 0) return false;
    return true;
}

__attribute__((format(printf, 4, 5))) static jx_status eqn_fail(const tc *c, int k, const jx__eqn *e,
                                                                const char *fmt, ...) {
    char detail[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    const char *pname = (unsigned)e->prim < JX_PRIM_COUNT ? jx__prims[e->prim].name : "?";
    return jx__fail(JX_ERR_TYPECHECK, e->loc, "typecheck", "%sequation %d (%s): %s", c->path, k, pname, detail);
}

static jx_status fn_fail(const tc *c, const char *what, int i, const char *detail) {
    return jx__fail(JX_ERR_TYPECHECK, jx__noloc, "typecheck", "%sfunction '%s': %s %d %s", c->path,
                    c->f->name ? c->f->name : "?", what, i, detail);
}

/* An operand (or function output) reads a defined variable or a valid literal. */
static const char *atom_problem(const tc *c, const jx__atom *a, char *buf, size_t n) {
    if (a->var < 0) {
        if ((unsigned)a->dtype < JX_DTYPE_COUNT) return NULL;
        snprintf(buf, n, "is a literal of invalid dtype %d", (int)a->dtype);
    } else if (a->var >= c->f->nvars) {
        snprintf(buf, n, "is variable %d, out of range (%d variables)", (int)a->var, (int)c->f->nvars);
    } else if (!c->defined[a->var]) {
        snprintf(buf, n, "reads variable %d before it is defined", (int)a->var);
    } else {
        return NULL;
    }
    return buf;
}

/* Nested functions of e, checked with a longer path. */
static jx_status check_nested(const tc *c, int k, const jx__eqn *e) {
    for (int a = 0; a < e->nattr; a++) {
        const jx__attr *at = &e->attrs[a];
        if (at->kind != JX_AK_FNS) continue;
        const char *aname = at->key < JX_A_COUNT ? jx__attr_names[at->key] : "?";
        for (int j = 0; j < at->n; j++) {
            if (!at->u.fns[j]) return eqn_fail(c, k, e, "%s[%d] is NULL", aname, j);
            char path[512];
            snprintf(path, sizeof path, "%sequation %d (%s) %s[%d]: ", c->path, k, jx__prims[e->prim].name, aname, j);
            if (check_fn(at->u.fns[j], path) != JX_OK) return JX_ERR_TYPECHECK;
        }
    }
    return JX_OK;
}

/* Runs e's shape rule and compares with the recorded outputs. */
static jx_status check_rule(const tc *c, int k, const jx__eqn *e) {
    jx__shape_rule rule = jx__shape_rules[e->prim];
    if (!rule) return eqn_fail(c, k, e, "has no shape rule");
    int maxout = e->nout + 8;
    jx_aval ibuf[16], obuf[24];
    jx_aval *in = e->nin <= 16 ? ibuf : malloc(sizeof *in * (size_t)e->nin);
    jx_aval *out = maxout <= 24 ? obuf : malloc(sizeof *out * (size_t)maxout);
    jx_status st = JX_OK;
    if (!in || !out) {
        st = jx__fail(JX_ERR_NOMEM, e->loc, "typecheck", "out of memory");
        goto done;
    }
    for (int i = 0; i < e->nin; i++) in[i] = jx__atom_aval(c->f, &e->in[i]);
    int no = 0;
    jx__rule_err err = {JX_OK, {0}};
    if (rule(e->nin, in, e->nattr, e->attrs, maxout, out, &no, &err) != JX_OK) {
        st = eqn_fail(c, k, e, "%s", err.msg);
        goto done;
    }
    if (no != e->nout) {
        st = eqn_fail(c, k, e, "recorded %d outputs, rule gives %d", (int)e->nout, no);
        goto done;
    }
    for (int i = 0; i < no && st == JX_OK; i++) {
        const jx_aval *rec = &c->f->vars[e->out[i]];
        if (jx_aval_equal(rec, &out[i])) continue;
        char which[32] = "";
        if (no > 1) snprintf(which, sizeof which, "output %d ", i);
        st = eqn_fail(c, k, e, "%srecorded %s, rule gives %s", which, jx__avs(rec), jx__avs(&out[i]));
    }
done:
    if (in != ibuf) free(in);
    if (out != obuf) free(out);
    return st;
}

static jx_status check_eqn(const tc *c, int k, const jx__eqn *e) {
    if ((unsigned)e->prim >= JX_PRIM_COUNT) return eqn_fail(c, k, e, "unknown primitive %d", (int)e->prim);
    const jx__prim_info *pi = &jx__prims[e->prim];
    if (e->nin < 0 || e->nout < 0 || (e->nin && !e->in) || (e->nout && !e->out) || (e->nattr && !e->attrs))
        return eqn_fail(c, k, e, "malformed equation (%d operands, %d outputs)", (int)e->nin, (int)e->nout);
    if (pi->nin >= 0 && e->nin != pi->nin)
        return eqn_fail(c, k, e, "takes %d operands, has %d", pi->nin, (int)e->nin);
    if (pi->nout >= 0 && e->nout != pi->nout)
        return eqn_fail(c, k, e, "gives %d outputs, has %d", pi->nout, (int)e->nout);
    char buf[160];
    for (int i = 0; i < e->nin; i++) {
        const char *p = atom_problem(c, &e->in[i], buf, sizeof buf);
        if (p) return eqn_fail(c, k, e, "operand %d %s", i, p);
    }
    if (check_nested(c, k, e) != JX_OK) return JX_ERR_TYPECHECK;
    for (int i = 0; i < e->nout; i++) {
        int32_t v = e->out[i];
        if (v < 0 || v >= c->f->nvars)
            return eqn_fail(c, k, e, "output %d is variable %d, out of range (%d variables)", i, (int)v,
                            (int)c->f->nvars);
        if (c->defined[v]) return eqn_fail(c, k, e, "output %d redefines variable %d", i, (int)v);
    }
    jx_status st = check_rule(c, k, e);
    for (int i = 0; i < e->nout; i++) c->defined[e->out[i]] = 1;
    return st;
}

static jx_status check_fn(const jx_fn *f, const char *path) {
    tc c = {f, path, NULL};
    if (f->nvars < 0 || f->nin < 0 || f->neqn < 0 || f->nout < 0 || (f->nvars && !f->vars) ||
        (f->nin && !f->in) || (f->neqn && !f->eqns) || (f->nout && !f->out))
        return jx__fail(JX_ERR_TYPECHECK, jx__noloc, "typecheck", "%sfunction '%s' is malformed", path,
                        f->name ? f->name : "?");
    c.defined = calloc((size_t)(f->nvars ? f->nvars : 1), 1);
    if (!c.defined) return jx__fail(JX_ERR_NOMEM, jx__noloc, "typecheck", "out of memory");
    jx_status st = JX_OK;
    char buf[160];
    for (int i = 0; i < f->nin && st == JX_OK; i++) {
        int32_t v = f->in[i];
        if (v < 0 || v >= f->nvars) {
            snprintf(buf, sizeof buf, "is variable %d, out of range (%d variables)", (int)v, (int)f->nvars);
            st = fn_fail(&c, "input", i, buf);
        } else if (c.defined[v]) {
            snprintf(buf, sizeof buf, "repeats variable %d", (int)v);
            st = fn_fail(&c, "input", i, buf);
        } else if (!aval_ok(&f->vars[v])) {
            st = fn_fail(&c, "input", i, "has an invalid aval");
        } else {
            c.defined[v] = 1;
        }
    }
    for (int k = 0; k < f->neqn && st == JX_OK; k++) st = check_eqn(&c, k, &f->eqns[k]);
    for (int i = 0; i < f->nout && st == JX_OK; i++) {
        const char *p = atom_problem(&c, &f->out[i], buf, sizeof buf);
        if (p) st = fn_fail(&c, "output", i, p);
    }
    free(c.defined);
    return st;
}

jx_status jx_fn_typecheck(const jx_fn *f) {
    if (!f) return jx__fail(JX_ERR_ARG, jx__noloc, "jx_fn_typecheck", "function is NULL");
    jx__shape_rules_init();
    return check_fn(f, "");
}
