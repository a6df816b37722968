/* pass_fold.c: constant folding and algebraic simplification, and jx_fn_simplify.
 * Folding evaluates a first-order equation whose operands are all literals and whose
 * outputs are scalars with the interpreter's own impl rule, so a folded function gives
 * bit-identical results. Identities only replace an equation by one of its operands
 * when that is exact in IEEE arithmetic and the avals agree. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../backends/fpenv.h"
#include "pass_util.h"

/* The thread's error, saved so that a fold that fails (and is simply skipped) leaves
 * no trace in jx_errmsg(). */
typedef struct saved_err {
    jx_status code;
    char msg[1024];
} saved_err;

static void err_save(saved_err *s) {
    s->code = jx_errcode();
    snprintf(s->msg, sizeof s->msg, "%s", jx_errmsg());
}

static void err_restore(const saved_err *s) {
    if (s->code == JX_OK)
        jx_clear_error();
    else
        jx__fail(s->code, jx__noloc, NULL, "%s", s->msg);
}

/* Evaluates e on the literal operands ops; on success its outputs become literals in
 * sub. Returns whether it folded. */
static bool fold_eval(const jx_fn *f, const jx__eqn *e, jx__atom *ops, jx__atom *sub) {
    if (jx__prims[e->prim].cls == JX__HIGHER || e->nout == 0 || e->nout > 16) return false;
    for (int i = 0; i < e->nin; i++)
        if (ops[i].var >= 0) return false;
    jx_aval oav[16];
    for (int i = 0; i < e->nout; i++) {
        oav[i] = f->vars[e->out[i]];
        if (oav[i].rank != 0) return false;
    }
    jx__impl_rules_init();
    jx__impl_rule rule = jx__impl_rules[e->prim];
    if (!rule) return false;
    jx_array *ibuf[16], *outs[16] = {0};
    jx_array **ins = e->nin <= 16 ? ibuf : calloc((size_t)e->nin, sizeof *ins);
    if (!ins) return false;
    saved_err saved;
    err_save(&saved);
    bool ok = true;
    for (int i = 0; i < e->nin; i++) {
        ins[i] = ok ? jx__lit_array(&ops[i]) : NULL;
        ok = ok && ins[i];
    }
    jx__eqn lit_e = *e; /* the rule sees literal operands, as the interpreter would show it */
    lit_e.in = ops;
    uint64_t fp = jx__fpenv_enter(jx__flush_default()); /* the executors' default mode */
    ok = ok && rule(&lit_e, ins, oav, outs) == JX_OK;
    jx__fpenv_leave(fp);
    for (int i = 0; i < e->nout; i++) ok = ok && outs[i] && jx_aval_equal(&outs[i]->aval, &oav[i]);
    for (int i = 0; i < e->nout && ok; i++) sub[e->out[i]] = jx__array_lit(outs[i]);
    for (int i = 0; i < e->nout; i++) jx_array_release(outs[i]);
    for (int i = 0; i < e->nin; i++) jx_array_release(ins[i]);
    if (ins != ibuf) free(ins);
    if (!ok) err_restore(&saved);
    return ok;
}

static bool arith_dtype(jx_dtype t) { return jx_dtype_is_int(t) || t == JX_F32 || t == JX_F64; }

/* x + z == x for every x: integer 0, or -0.0 for floats (-0.0 + +0.0 is +0.0). */
static bool is_add_identity(const jx__atom *a) {
    if (a->var >= 0 || !arith_dtype(a->dtype)) return false;
    return jx_dtype_is_float(a->dtype) ? a->lit.f == 0 && signbit(a->lit.f) : a->lit.i == 0;
}

/* x - z == x for every x: integer 0, or +0.0 for floats. */
static bool is_sub_identity(const jx__atom *a) {
    if (a->var >= 0 || !arith_dtype(a->dtype)) return false;
    return jx_dtype_is_float(a->dtype) ? a->lit.f == 0 && !signbit(a->lit.f) : a->lit.i == 0;
}

static bool is_one(const jx__atom *a) {
    if (a->var >= 0 || !arith_dtype(a->dtype)) return false;
    return jx_dtype_is_float(a->dtype) ? a->lit.f == 1 : a->lit.i == 1;
}

static bool ints_iota(jx_ints v) {
    for (int i = 0; i < v.n; i++)
        if (v.v[i] != i) return false;
    return true;
}

/* The operand that e's single output always equals, or -1. Aval equality is checked by
 * the caller, so e.g. x + 0 with x broadcast to a larger shape is not replaced. */
static int identity_operand(const jx__eqn *e, const jx__atom *ops) {
    switch ((jx_prim)e->prim) {
    case JX_PRIM_ADD:
        return is_add_identity(&ops[1]) ? 0 : is_add_identity(&ops[0]) ? 1 : -1;
    case JX_PRIM_SUB: return is_sub_identity(&ops[1]) ? 0 : -1;
    case JX_PRIM_MUL: return is_one(&ops[1]) ? 0 : is_one(&ops[0]) ? 1 : -1;
    case JX_PRIM_DIV: return is_one(&ops[1]) ? 0 : -1;
    case JX_PRIM_CONVERT:
        return jx__attr_int(e->nattr, e->attrs, JX_A_DTYPE, -1) == (int64_t)ops[0].dtype ? 0 : -1;
    case JX_PRIM_RESHAPE: return 0;
    case JX_PRIM_TRANSPOSE: return ints_iota(jx__attr_ints(e->nattr, e->attrs, JX_A_PERM)) ? 0 : -1;
    case JX_PRIM_BROADCAST_IN_DIM: return ints_iota(jx__attr_ints(e->nattr, e->attrs, JX_A_DIMS)) ? 0 : -1;
    case JX_PRIM_SELECT:
        if (ops[0].var >= 0 || ops[0].dtype != JX_BOOL) return -1;
        return ops[0].lit.i ? 1 : 2;
    default: return -1;
    }
}

/* Applies an identity to e; returns whether it did. */
static bool fold_identity(const jx_fn *f, const jx__eqn *e, const jx__atom *ops, jx__atom *sub) {
    if (e->nout != 1 || e->nin < 1) return false;
    int i = identity_operand(e, ops);
    if (i < 0 || i >= e->nin) return false;
    jx_aval a = jx__atom_aval(f, &ops[i]);
    if (!jx_aval_equal(&a, &f->vars[e->out[0]])) return false;
    sub[e->out[0]] = ops[i];
    return true;
}

jx_fn *jx_fn_fold(const jx_fn *f) {
    if (!f) return jx__fail(JX_ERR_ARG, jx__noloc, "jx_fn_fold", "function is NULL"), NULL;
    int maxin = 1;
    for (int k = 0; k < f->neqn; k++)
        if (f->eqns[k].nin > maxin) maxin = f->eqns[k].nin;
    uint8_t *keep = malloc((size_t)(f->neqn ? f->neqn : 1));
    jx__atom *ops = malloc(sizeof *ops * (size_t)maxin);
    jx__atom *sub = jx__sub_identity(f);
    jx_fn *g = NULL;
    if (!keep || !ops || !sub) {
        jx__fail(JX_ERR_NOMEM, jx__noloc, "jx_fn_fold", "out of memory");
        goto done;
    }
    /* forward, so a folded literal feeds the next fold in the same sweep */
    for (int k = 0; k < f->neqn; k++) {
        const jx__eqn *e = &f->eqns[k];
        for (int i = 0; i < e->nin; i++) ops[i] = jx__sub_atom(sub, &e->in[i]);
        keep[k] = !fold_eval(f, e, ops, sub) && !fold_identity(f, e, ops, sub);
    }
    g = jx__fn_rebuild(f, keep, sub, jx_fn_fold);
done:
    free(keep);
    free(ops);
    free(sub);
    return g;
}

jx_fn *jx_fn_simplify(const jx_fn *f) {
    if (!f) return jx__fail(JX_ERR_ARG, jx__noloc, "jx_fn_simplify", "function is NULL"), NULL;
    static const jx__pass_fn passes[] = {jx_fn_fold, jx__fn_fold_dot_transpose, jx_fn_cse, jx_fn_dce};
    jx_fn *cur = NULL;
    int count = jx__count_eqns_total(f);
    for (int round = 0; round < 8; round++) {
        for (size_t p = 0; p < sizeof passes / sizeof *passes; p++) {
            jx_fn *next = passes[p](cur ? cur : f);
            jx_fn_release(cur);
            if (!next) return NULL;
            cur = next;
        }
        int n = jx__count_eqns_total(cur);
        if (n >= count) break;
        count = n;
    }
    return cur;
}
