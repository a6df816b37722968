/* pipeline.c: the IR passes jit runs before fusion: inline every call-like equation
 * (call, custom_jvp_call, custom_vjp_call, checkpoint: at run time each is just its `fn`;
 * grad's custom_vjp_tangent and checkpoint_tangent: the tangent half of their `jvp`), in
 * nested functions too, lowering pooling to loop ops for a backend without a pooling
 * path (lower_window.c) and sorts for a backend with owner folds (lower_sort.c) on the
 * way, then simplify (fold, CSE, DCE, which drops the jvp's primal half
 * where nothing else uses it), then convs a backend declines as a pad and a conv
 * (lower_conv.c), once the kernels' form is final. JX_DUMP=ir prints the function
 * given and the one compiled, JX_DUMP=passes the IR after each pass. */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

/* Whether e is run as its `fn` attribute inlined. */
static bool inlinable(const jx__eqn *e) {
    switch (e->prim) {
    case JX_PRIM_CALL:
    case JX_PRIM_CUSTOM_JVP:
    case JX_PRIM_CUSTOM_VJP:
    case JX_PRIM_CHECKPOINT:
    case JX_PRIM_CUSTOM_VJP_TAN:
    case JX_PRIM_CHECKPOINT_TAN: return true;
    default: return false;
    }
}

/* Whether e (inlinable) runs as the second half of its function's outputs: the tangent
 * primitives, whose `jvp` gives (y..., dy...) and which give dy. */
static bool tangent_half(const jx__eqn *e) {
    return e->prim == JX_PRIM_CUSTOM_VJP_TAN || e->prim == JX_PRIM_CHECKPOINT_TAN;
}

static bool has_fns(const jx__eqn *e) {
    for (int a = 0; a < e->nattr; a++)
        if (e->attrs[a].kind == JX_AK_FNS) return true;
    return false;
}

/* What a replay does besides inlining: the backend it lowers for (NULL: none) and which
 * of its two stages it is: before simplify, pooling and sorts; after simplify, convs
 * (their lowering depends on the kernel's final form: a backend's conv_ok may take an
 * input gradient whose kernel is rev(transpose(w)), jx__conv_bwd_chain, which simplify
 * may still change by folding transposes or merging equal kernels). */
typedef struct stage {
    const jx__backend *be;
    bool convs;
} stage;

/* Whether e is pooling that backend be (NULL: none) has no path for. */
static bool lowers_window(const jx__backend *be, const jx_fn *f, const jx__eqn *e) {
    return be && !be->window_ok && jx__window_lowerable(f, e);
}

/* Whether e is lowered at stage st: pooling its backend has no path for, a sort or top_k
 * it would run on the host, or (after simplify) a conv it declines whose lhs dilation and
 * padding can become a pad. */
static bool lowers(const stage *st, const jx_fn *f, const jx__eqn *e) {
    if (st->convs) return st->be && jx__conv_lowerable(st->be, f, e);
    return lowers_window(st->be, f, e) || jx__sort_lowerable(st->be, f, e);
}

/* Whether f or a function nested in it holds something to inline (or to lower for be). */
static bool needs_inline(const jx_fn *f, const stage *st) {
    for (int k = 0; k < f->neqn; k++) {
        const jx__eqn *e = &f->eqns[k];
        if (inlinable(e) || lowers(st, f, e)) return true;
        for (int a = 0; a < e->nattr; a++)
            if (e->attrs[a].kind == JX_AK_FNS)
                for (int j = 0; j < e->attrs[a].n; j++)
                    if (needs_inline(e->attrs[a].u.fns[j], st)) return true;
    }
    return false;
}

/* Frees a block made by inline_attrs, releasing its nfns functions. */
static void release_attrs(jx__attr *at, int nattr, int nfns) {
    if (!at) return;
    jx_fn **fns = (jx_fn **)(at + nattr);
    for (int i = 0; i < nfns; i++) jx_fn_release(fns[i]);
    free(at);
}

static jx_fn *inline_fn(jx_loc loc, const jx_fn *f, const stage *st);

/* e's attributes with each nested function inlined, in one malloc'd block whose tail
 * holds the new functions (*nfns of them, new references). NULL with the error on t. */
static jx__attr *inline_attrs(jx__trace *t, jx_loc loc, const jx__eqn *e, const stage *st, int *nfns) {
    int n = 0;
    for (int a = 0; a < e->nattr; a++)
        if (e->attrs[a].kind == JX_AK_FNS) n += e->attrs[a].n;
    jx__attr *at = calloc(1, sizeof *at * (size_t)e->nattr + sizeof(jx_fn *) * (size_t)(n + 1));
    *nfns = 0;
    if (!at) {
        jx__trace_fail(t, JX_ERR_NOMEM, loc, "jit", "out of memory while inlining");
        return NULL;
    }
    memcpy(at, e->attrs, sizeof *at * (size_t)e->nattr);
    jx_fn **fns = (jx_fn **)(at + e->nattr);
    for (int a = 0; a < e->nattr; a++) {
        if (at[a].kind != JX_AK_FNS) continue;
        at[a].u.fns = (jx_fn *const *)(fns + *nfns);
        for (int j = 0; j < at[a].n; j++) {
            const jx_fn *old = e->attrs[a].u.fns[j];
            jx_fn *g = needs_inline(old, st) ? inline_fn(loc, old, st) : jx_fn_retain((jx_fn *)old);
            if (!g) {
                jx__trace_fail(t, jx_errcode() != JX_OK ? jx_errcode() : JX_ERR_INTERNAL, jx__noloc, NULL, "%s",
                               jx_errmsg());
                release_attrs(at, e->nattr, *nfns);
                return NULL;
            }
            fns[(*nfns)++] = g;
        }
    }
    return at;
}

/* Replays f's equations on the current trace t with inputs in[], inlining call-likes
 * (and lowering what stage st lowers: lower_window.c, lower_sort.c; lower_conv.c after
 * simplify); out[] receives f's outputs.
 * Returns t's status. */
static jx_status replay(jx__trace *t, jx_loc loc, const jx_fn *f, const jx_val *in, jx_val *out, const stage *st) {
    jx_val *env = malloc(sizeof *env * (size_t)(f->nvars ? f->nvars : 1));
    if (!env) {
        jx__trace_fail(t, JX_ERR_NOMEM, loc, "jit", "out of memory while inlining");
        return t->status;
    }
    for (int i = 0; i < f->nin; i++) env[f->in[i]] = in[i];
    for (int k = 0; k < f->neqn && t->status == JX_OK; k++) {
        const jx__eqn *e = &f->eqns[k];
        jx_loc eloc = e->loc.file ? e->loc : loc;
        jx_val *args = malloc(sizeof *args * (size_t)(e->nin + 1));
        jx_val *outs = malloc(sizeof *outs * (size_t)(e->nout + 1));
        if (!args || !outs) {
            jx__trace_fail(t, JX_ERR_NOMEM, eloc, "jit", "out of memory while inlining");
        } else {
            for (int i = 0; i < e->nin; i++)
                args[i] = e->in[i].var >= 0 ? env[e->in[i].var] : jx__lit_val(t, e->in[i]);
            const jx_fn *g = inlinable(e) ? jx__eqn_fn(e, tangent_half(e) ? JX_A_JVP : JX_A_FN, 0) : NULL;
            jx_val *both = g && tangent_half(e) ? malloc(sizeof *both * (size_t)(2 * e->nout + 1)) : NULL;
            if (g && tangent_half(e)) {
                if (!both) jx__trace_fail(t, JX_ERR_NOMEM, eloc, "jit", "out of memory while inlining");
                else if (replay(t, eloc, g, args, both, st) == JX_OK)
                    for (int i = 0; i < e->nout; i++) outs[i] = both[e->nout + i];
            } else if (g) {
                replay(t, eloc, g, args, outs, st);
            } else if (lowers(st, f, e)) {
                if (st->convs) jx__conv_lower(eloc, f, e, args, outs);
                else if (lowers_window(st->be, f, e)) jx__window_lower(eloc, f, e, args, outs);
                else jx__sort_lower(eloc, f, e, args, outs);
            } else if (has_fns(e)) {
                /* cond/while/scan keep their nested functions, inlined themselves */
                int nfns = 0;
                jx__attr *attrs = inline_attrs(t, eloc, e, st, &nfns);
                if (attrs) jx__bind(eloc, (jx_prim)e->prim, e->nin, args, e->nattr, attrs, e->nout, outs, NULL);
                release_attrs(attrs, e->nattr, nfns); /* the bind retained what it keeps */
            } else {
                jx__bind(eloc, (jx_prim)e->prim, e->nin, args, e->nattr, e->attrs, e->nout, outs, NULL);
            }
            for (int i = 0; i < e->nout && t->status == JX_OK; i++) env[e->out[i]] = outs[i];
            free(both);
        }
        free(args);
        free(outs);
    }
    for (int i = 0; i < f->nout && t->status == JX_OK; i++)
        out[i] = f->out[i].var >= 0 ? env[f->out[i].var] : jx__lit_val(t, f->out[i]);
    free(env);
    return t->status;
}

/* f with every call-like equation inlined (and what be cannot take lowered), recursively;
 * a new reference or NULL. */
static jx_fn *inline_fn(jx_loc loc, const jx_fn *f, const stage *st) {
    jx_aval *av = malloc(sizeof *av * (size_t)(f->nin + 1));
    jx_val *ins = malloc(sizeof *ins * (size_t)(f->nin + 1));
    jx_val *outs = malloc(sizeof *outs * (size_t)(f->nout + 1));
    jx_fn *g = NULL;
    if (av && ins && outs) {
        for (int i = 0; i < f->nin; i++) av[i] = f->vars[f->in[i]];
        jx__trace *t = jx__trace_begin(loc, f->name, f->nin, av, ins, false);
        if (t) {
            for (int i = 0; i < f->nout; i++) outs[i] = (jx_val){t->id, -1};
            replay(t, loc, f, ins, outs, st);
            g = jx__trace_end(t, f->nout, outs, NULL, NULL);
        }
    } else {
        jx__fail(JX_ERR_NOMEM, loc, "jit", "out of memory while inlining");
    }
    free(av);
    free(ins);
    free(outs);
    return g;
}

static void dump_fn(const char *name, const char *what, const jx_fn *f) {
    FILE *out = jx__dump_open(name, what);
    fprintf(out, "# %s: %d equations (%d with nested functions)\n", what, jx_fn_num_eqns(f),
            jx_fn_num_eqns_total(f));
    jx_fn_print(out, f);
    jx__dump_close(out);
}

jx_fn *jx__jit_prepare(jx_loc loc, const jx_fn *f, const jx__backend *be) {
    unsigned dump = jx__dump_flags();
    if (dump & JX__DUMP_IR) dump_fn(f->name, "ir-given", f);
    stage before = {be, false}, after = {be, true};
    jx_fn *inl = needs_inline(f, &before) ? inline_fn(loc, f, &before) : jx_fn_retain((jx_fn *)f);
    if (!inl) return NULL;
    if (dump & JX__DUMP_PASSES) dump_fn(f->name, "after-inline", inl);
    jx_fn *s = jx_fn_simplify(inl);
    jx_fn_release(inl);
    if (!s) return NULL;
    if (dump & JX__DUMP_PASSES) dump_fn(f->name, "after-simplify", s);
    if (needs_inline(s, &after)) { /* convs the backend declines, as a pad and a conv */
        jx_fn *c = inline_fn(loc, s, &after);
        jx_fn_release(s);
        if (!(s = c)) return NULL;
        if (dump & JX__DUMP_PASSES) dump_fn(f->name, "after-conv-pads", s);
    }
    if (dump & JX__DUMP_IR) dump_fn(f->name, "ir-compiled", s);
    return s;
}
