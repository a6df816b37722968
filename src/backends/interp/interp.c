/* interp.c: the reference evaluator. Walks a jx_fn's equations in order, calling each
 * primitive's impl rule on host arrays, and frees every array after its last use.
 * Every other backend is tested against it. */
#include <stdlib.h>
#include <string.h>

#include "../../trace/ir.h"
#include "../fpenv.h"

/* A rank-0 array holding a literal exactly (integers are not routed through double). */
static jx_array *literal_array(const jx__atom *a) {
    jx_aval av;
    memset(&av, 0, sizeof av);
    av.dtype = a->dtype;
    jx_array *x = jx__array_alloc(&av);
    if (!x) return NULL;
    switch (a->dtype) {
    case JX_BOOL:
    case JX_U8: *(uint8_t *)x->data = (uint8_t)a->lit.i; break;
    case JX_I32: *(int32_t *)x->data = (int32_t)a->lit.i; break;
    case JX_U32: *(uint32_t *)x->data = (uint32_t)a->lit.i; break;
    case JX_I64: *(int64_t *)x->data = a->lit.i; break;
    case JX_F16: *(uint16_t *)x->data = jx_f32_to_f16((float)a->lit.f); break;
    case JX_BF16: *(uint16_t *)x->data = jx_f32_to_bf16((float)a->lit.f); break;
    case JX_F32: *(float *)x->data = (float)a->lit.f; break;
    case JX_F64: *(double *)x->data = a->lit.f; break;
    default: break;
    }
    return x;
}

jx_status jx__interp_eqn(const jx_fn *f, const jx__eqn *e, jx_array **env) {
    jx_status st = JX_OK;
    jx_array *ibuf[16], *obuf[16];
    jx_aval abuf[16];
    jx_array **ins = e->nin <= 16 ? ibuf : calloc((size_t)e->nin, sizeof *ins);
    jx_array **outs = e->nout <= 16 ? obuf : calloc((size_t)e->nout, sizeof *outs);
    jx_aval *oav = e->nout <= 16 ? abuf : calloc((size_t)e->nout, sizeof *oav);
    if (!ins || !outs || !oav) {
        st = jx__fail(JX_ERR_NOMEM, e->loc, jx__prims[e->prim].name, "out of memory");
    } else {
        for (int i = 0; i < e->nin; i++) {
            ins[i] = e->in[i].var >= 0 ? env[e->in[i].var] : literal_array(&e->in[i]);
            if (!ins[i] && st == JX_OK) /* a literal without memory, or a bug */
                st = e->in[i].var < 0 ? jx__fail(JX_ERR_NOMEM, e->loc, jx__prims[e->prim].name, "out of memory")
                                      : jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "operand %d unavailable", i);
        }
        for (int i = 0; i < e->nout; i++) {
            oav[i] = f->vars[e->out[i]];
            outs[i] = NULL;
        }
        jx__impl_rule rule = jx__impl_rules[e->prim];
        if (st == JX_OK && !rule)
            st = jx__fail(JX_ERR_UNSUPPORTED, e->loc, jx__prims[e->prim].name,
                          "the interpreter has no rule for this primitive");
        if (st == JX_OK) st = rule(e, ins, oav, outs);
        for (int i = 0; i < e->nout; i++) {
            if (st == JX_OK && (!outs[i] || !jx_aval_equal(&outs[i]->aval, &oav[i])))
                st = jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name,
                              "impl produced %s for output %d, expected %s",
                              outs[i] ? jx__avs(&outs[i]->aval) : "nothing", i, jx__avs(&oav[i]));
            if (st == JX_OK) {
                jx_array_release(env[e->out[i]]);
                env[e->out[i]] = outs[i];
            } else {
                jx_array_release(outs[i]);
            }
        }
        for (int i = 0; i < e->nin; i++)
            if (e->in[i].var < 0) jx_array_release(ins[i]);
    }
    if (ins != ibuf) free(ins);
    if (outs != obuf) free(outs);
    if (oav != abuf) free(oav);
    return st;
}

jx_status jx__interp_eval(const jx_fn *f, jx_array *const *in, jx_array **out) {
    jx__impl_rules_init();
    size_t nv = (size_t)(f->nvars ? f->nvars : 1);
    jx_array **env = calloc(nv, sizeof *env);
    int32_t *last = malloc(nv * sizeof *last);
    if (!env || !last) {
        free(env);
        free(last);
        return jx__fail(JX_ERR_NOMEM, jx__noloc, f->name, "out of memory");
    }
    /* last use of each variable: an equation index, or neqn for outputs */
    for (size_t v = 0; v < nv; v++) last[v] = -1;
    for (int32_t k = 0; k < f->neqn; k++)
        for (int i = 0; i < f->eqns[k].nin; i++)
            if (f->eqns[k].in[i].var >= 0) last[f->eqns[k].in[i].var] = k;
    for (int i = 0; i < f->nout; i++)
        if (f->out[i].var >= 0) last[f->out[i].var] = f->neqn;
    for (int i = 0; i < f->nin; i++) {
        jx_array_release(env[f->in[i]]); /* an input listed twice keeps one reference */
        env[f->in[i]] = jx_array_retain(in[i]);
    }
    jx_status st = JX_OK;
    for (int32_t k = 0; k < f->neqn && st == JX_OK; k++) {
        const jx__eqn *e = &f->eqns[k];
        st = jx__interp_eqn(f, e, env);
        for (int i = 0; i < e->nin; i++) {
            int32_t v = e->in[i].var;
            if (v >= 0 && last[v] == k) {
                jx_array_release(env[v]);
                env[v] = NULL;
            }
        }
        for (int i = 0; i < e->nout; i++) /* results nobody reads */
            if (last[e->out[i]] < 0) {
                jx_array_release(env[e->out[i]]);
                env[e->out[i]] = NULL;
            }
    }
    for (int i = 0; i < f->nout; i++) out[i] = NULL;
    for (int i = 0; i < f->nout && st == JX_OK; i++) {
        out[i] = f->out[i].var >= 0 ? jx_array_retain(env[f->out[i].var]) : literal_array(&f->out[i]);
        if (!out[i])
            st = f->out[i].var < 0 ? jx__fail(JX_ERR_NOMEM, jx__noloc, f->name, "out of memory")
                                   : jx__fail(JX_ERR_INTERNAL, jx__noloc, f->name, "output %d unavailable", i);
    }
    if (st != JX_OK)
        for (int i = 0; i < f->nout; i++) {
            jx_array_release(out[i]);
            out[i] = NULL;
        }
    for (size_t v = 0; v < nv; v++) jx_array_release(env[v]);
    free(env);
    free(last);
    return st;
}

jx_status jx_eval(const jx_fn *f, int nin, jx_array *const *in, int nout, jx_array **out) {
    if (!f) return jx__fail(JX_ERR_ARG, jx__noloc, "jx_eval", "function is NULL");
    if (nin != f->nin)
        return jx__fail(JX_ERR_ARG, jx__noloc, "jx_eval", "'%s' takes %d inputs, got %d", f->name, f->nin, nin);
    if (nout != f->nout)
        return jx__fail(JX_ERR_ARG, jx__noloc, "jx_eval", "'%s' gives %d outputs, got room for %d", f->name,
                        f->nout, nout);
    if ((nin && !in) || (nout && !out))
        return jx__fail(JX_ERR_ARG, jx__noloc, "jx_eval", "input or output list is NULL");
    for (int i = 0; i < nin; i++) {
        if (!in[i]) return jx__fail(JX_ERR_ARG, jx__noloc, "jx_eval", "input %d of '%s' is NULL", i, f->name);
        const jx_aval *want = &f->vars[f->in[i]];
        if (!jx_aval_equal(&in[i]->aval, want))
            return jx__fail(JX_ERR_SHAPE, jx__noloc, "jx_eval", "input %d of '%s': expected %s, got %s", i,
                            f->name, jx__avs(want), jx__avs(&in[i]->aval));
        if (!jx__array_host(in[i])) return jx_errcode(); /* a device array is read back once */
    }
    uint64_t fp = jx__fpenv_enter(jx__flush_default()); /* as the jit's default (fpenv.h) */
    jx_status st = jx__interp_eval(f, in, out);
    jx__fpenv_leave(fp);
    return st;
}
