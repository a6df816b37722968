/* trace.c: the tracer. A thread-local stack of traces; ops bind equations onto the
 * innermost one after running the primitive's shape rule; values of enclosing traces
 * used inside a nested body are captured as extra inputs (closure conversion). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static _Thread_local jx__trace *top;
static atomic_uint next_id = 1;

jx__trace *jx__trace_top(void) { return top; }

jx__trace *jx__trace_find(uint32_t id) {
    for (jx__trace *t = top; t; t = t->parent)
        if (t->id == id) return t;
    return NULL;
}

#define GROW(ptr, cap, need)                                                   \
    (((need) <= (cap)) ? true : grow_((void **)&(ptr), &(cap), (need), sizeof *(ptr)))
static bool grow_(void **p, int32_t *cap, int32_t need, size_t elem) {
    int32_t nc = *cap ? *cap * 2 : 16;
    while (nc < need) nc *= 2;
    void *q = realloc(*p, (size_t)nc * elem);
    if (!q) return false;
    *p = q;
    *cap = nc;
    return true;
}

/* Sets t's sticky error (the first one wins) and this thread's last error. */
static void trace_vfail(jx__trace *t, jx_status code, jx_loc loc, const char *what, const char *fmt, va_list ap) {
    if (t->status != JX_OK) return;
    jx__vfail(code, loc, what, fmt, ap);
    t->status = code;
    const char *m = jx_errmsg();
    t->errmsg = malloc(strlen(m) + 1);
    if (t->errmsg) strcpy(t->errmsg, m);
}

void jx__trace_fail(jx__trace *t, jx_status code, jx_loc loc, const char *what, const char *fmt,
                    ...) {
    va_list ap;
    va_start(ap, fmt);
    trace_vfail(t, code, loc, what, fmt, ap);
    va_end(ap);
}

jx_status jx_verror_at(jx_loc loc, jx_status code, const char *what, const char *fmt, va_list ap) {
    if (top) trace_vfail(top, code, loc, what, fmt, ap);
    else jx__vfail(code, loc, what, fmt, ap);
    return code;
}

jx_status jx_error_at(jx_loc loc, jx_status code, const char *what, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    jx_verror_at(loc, code, what, fmt, ap);
    va_end(ap);
    return code;
}

static bool oom(jx__trace *t) {
    jx__trace_fail(t, JX_ERR_NOMEM, t->loc, t->name, "out of memory while tracing");
    return false;
}

/* A new handle for an atom. */
static jx_val new_handle(jx__trace *t, jx__atom a) {
    if (!GROW(t->vals, t->capvals, t->nvals + 1)) {
        oom(t);
        return (jx_val){t->id, -1};
    }
    t->vals[t->nvals] = a;
    return (jx_val){t->id, t->nvals++};
}

static int32_t new_var(jx__trace *t, const jx_aval *a) {
    if (!GROW(t->vars, t->capvars, t->nvars + 1)) return oom(t), -1;
    t->vars[t->nvars] = *a;
    return t->nvars++;
}

static jx__atom var_atom(jx__trace *t, int32_t var) {
    jx__atom a;
    memset(&a, 0, sizeof a);
    a.var = var;
    a.dtype = t->vars[var].dtype;
    return a;
}

jx_val jx__lit_val(jx__trace *t, jx__atom lit) { return new_handle(t, lit); }

static jx_val add_input(jx__trace *t, const jx_aval *a) {
    int32_t v = new_var(t, a);
    if (v < 0) return (jx_val){t->id, -1};
    if (!GROW(t->inputs, t->capin, t->nin + 1)) return oom(t), (jx_val){t->id, -1};
    t->inputs[t->nin++] = v;
    return new_handle(t, var_atom(t, v));
}

jx__trace *jx__trace_begin(jx_loc loc, const char *name, int nin, const jx_aval *in,
                           jx_val *in_vals, bool allow_capture) {
    jx__trace *t = calloc(1, sizeof *t);
    if (!t) {
        jx__fail(JX_ERR_NOMEM, loc, name, "out of memory");
        return NULL;
    }
    t->id = atomic_fetch_add(&next_id, 1);
    if (t->id == 0) t->id = atomic_fetch_add(&next_id, 1);
    t->parent = top;
    t->loc = loc;
    t->name = jx__arena_strdup(&t->arena, name ? name : "fn");
    t->allow_capture = allow_capture;
    top = t;
    if (!t->name) {
        t->name = "fn"; /* static: the failed trace still needs a name for its messages */
        oom(t);
    }
    for (int i = 0; i < nin; i++) {
        jx_val v = add_input(t, &in[i]);
        if (in_vals) in_vals[i] = v;
    }
    return t;
}

static void trace_free(jx__trace *t) {
    JX__ASSERT(top == t);
    top = t->parent;
    free(t->vals);
    free(t->vars);
    free(t->eqns);
    free(t->inputs);
    free(t->caps);
    free(t->errmsg);
    free(t);
}

void jx__trace_abort(jx__trace *t) {
    jx__arena_free(&t->arena);
    trace_free(t);
}

jx_aval jx__val_aval(jx_val v) {
    jx_aval bad;
    memset(&bad, 0, sizeof bad);
    bad.rank = -1;
    bad.dtype = JX_DTYPE_COUNT;
    jx__trace *t = v.trace ? jx__trace_find(v.trace) : NULL;
    if (!t || v.id < 0 || v.id >= t->nvals) return bad;
    jx__atom a = t->vals[v.id];
    if (a.var >= 0) return t->vars[a.var];
    jx_aval s;
    memset(&s, 0, sizeof s);
    s.dtype = a.dtype;
    return s;
}

bool jx__resolve(jx__trace *t, jx_loc loc, const char *what, jx_val v, jx__atom *atom) {
    if (t->status != JX_OK) return false;
    if (v.trace == t->id) {
        if (v.id < 0 || v.id >= t->nvals) {
            jx__trace_fail(t, JX_ERR_TRACE, loc, what, "invalid value (JX_NONE or the result of a failed op)");
            return false;
        }
        *atom = t->vals[v.id];
        return true;
    }
    if (v.trace == 0 || v.id < 0) {
        jx__trace_fail(t, JX_ERR_TRACE, loc, what, "invalid value (JX_NONE or the result of a failed op)");
        return false;
    }
    jx__trace *owner = NULL;
    for (jx__trace *p = t->parent; p; p = p->parent)
        if (p->id == v.trace) owner = p;
    if (!owner || v.id >= owner->nvals) {
        jx__trace_fail(t, JX_ERR_TRACE, loc, what,
                       "value from a trace that has ended or belongs to another thread");
        return false;
    }
    jx__atom oa = owner->vals[v.id];
    if (oa.var < 0) { /* a literal: just copy it */
        *atom = oa;
        return true;
    }
    if (!t->allow_capture) {
        jx__trace_fail(t, JX_ERR_TRACE, loc, what,
                       "value of the enclosing trace '%s' used inside trace '%s': pass it as an input",
                       owner->name, t->name);
        return false;
    }
    for (int i = 0; i < t->ncaps; i++)
        if (t->caps[i].outer.trace == v.trace && t->caps[i].outer.id == v.id) {
            *atom = var_atom(t, t->caps[i].var);
            return true;
        }
    int32_t var = new_var(t, &owner->vars[oa.var]);
    if (var < 0) return false;
    if (!GROW(t->caps, t->capcaps, t->ncaps + 1)) return oom(t);
    t->caps[t->ncaps].outer = v;
    t->caps[t->ncaps].var = var;
    t->ncaps++;
    *atom = var_atom(t, var);
    return true;
}

jx_status jx__bind(jx_loc loc, jx_prim prim, int nin, const jx_val *in, int nattr,
                   const jx__attr *attrs, int maxout, jx_val *out, int *nout) {
    jx__trace *t = top;
    const char *pname = (unsigned)prim < JX_PRIM_COUNT ? jx__prims[prim].name : "?";
    for (int i = 0; i < maxout; i++) out[i] = (jx_val){t ? t->id : 0, -1};
    if (nout) *nout = 0;
    if (!t) return jx__fail(JX_ERR_TRACE, loc, pname, "called outside of a trace (use jx_trace)");
    if (t->status != JX_OK) return t->status;
    if (nin < 0 || (nin > 0 && !in)) {
        jx__trace_fail(t, JX_ERR_ARG, loc, pname, "bad operand list (%d operands)", nin);
        return t->status;
    }
    jx__atom abuf[16];
    jx_aval vbuf[16];
    jx__atom *atoms = nin <= 16 ? abuf : malloc(sizeof *atoms * (size_t)nin);
    jx_aval *avals = nin <= 16 ? vbuf : malloc(sizeof *avals * (size_t)nin);
    jx_aval obuf[16];
    jx_aval *oavals = maxout <= 16 ? obuf : malloc(sizeof *oavals * (size_t)maxout);
    jx_status st = JX_OK;
    if (!atoms || !avals || !oavals) {
        oom(t);
        goto done;
    }
    for (int i = 0; i < nin; i++) {
        if (!jx__resolve(t, loc, pname, in[i], &atoms[i])) goto done;
        avals[i] = atoms[i].var >= 0 ? t->vars[atoms[i].var] : jx__atom_aval(NULL, &atoms[i]);
    }
    const jx__prim_info *pi = &jx__prims[prim];
    if (pi->nin >= 0 && nin != pi->nin) {
        jx__trace_fail(t, JX_ERR_ARG, loc, pname, "takes %d operands, got %d", pi->nin, nin);
        goto done;
    }
    jx__shape_rules_init();
    jx__shape_rule rule = jx__shape_rules[prim];
    if (!rule) {
        jx__trace_fail(t, JX_ERR_UNSUPPORTED, loc, pname, "has no shape rule yet");
        goto done;
    }
    int no = 0;
    jx__rule_err err = {JX_OK, {0}};
    if (rule(nin, avals, nattr, attrs, maxout, oavals, &no, &err) != JX_OK) {
        jx__trace_fail(t, err.code ? err.code : JX_ERR_SHAPE, loc, pname, "%s", err.msg);
        goto done;
    }
    JX__ASSERT(no >= 0 && no <= maxout);
    if (!GROW(t->eqns, t->capeqn, t->neqn + 1)) {
        oom(t);
        goto done;
    }
    jx__eqn *e = &t->eqns[t->neqn];
    memset(e, 0, sizeof *e);
    e->prim = (int16_t)prim;
    e->nin = nin;
    e->nout = no;
    e->nattr = (int16_t)nattr;
    e->in = nin ? jx__arena_dup(&t->arena, atoms, sizeof *atoms * (size_t)nin) : NULL;
    e->out = jx__arena_alloc(&t->arena, sizeof(int32_t) * (size_t)(no ? no : 1));
    e->attrs = jx__attrs_copy(&t->arena, nattr, attrs);
    /* the file name may live in another function's arena (a parsed one): own a copy */
    if (loc.file && loc.file != t->file_src) {
        t->file_own = jx__arena_strdup(&t->arena, loc.file);
        t->file_src = t->file_own ? loc.file : NULL;
    }
    e->loc.file = loc.file ? t->file_own : NULL;
    e->loc.line = loc.line;
    if ((loc.file && !e->loc.file) || (nin && !e->in) || !e->out || (nattr && !e->attrs)) {
        oom(t);
        goto done;
    }
    for (int i = 0; i < no; i++) {
        int32_t v = new_var(t, &oavals[i]);
        if (v < 0) goto done;
        e->out[i] = v;
    }
    t->neqn++;
    for (int i = 0; i < no; i++) out[i] = new_handle(t, var_atom(t, e->out[i]));
    if (nout) *nout = no;
done:
    st = t->status;
    if (atoms != abuf) free(atoms);
    if (avals != vbuf) free(avals);
    if (oavals != obuf) free(oavals);
    return st;
}

jx_val jx__bind1(jx_loc loc, jx_prim prim, int nin, const jx_val *in, int nattr,
                 const jx__attr *attrs) {
    jx_val out;
    jx__bind(loc, prim, nin, in, nattr, attrs, 1, &out, NULL);
    return out;
}

jx_fn *jx__trace_end(jx__trace *t, int nout, const jx_val *out, jx_val **caps_out,
                     int *ncaps_out) {
    JX__ASSERT(t == top);
    if (caps_out) *caps_out = NULL;
    if (ncaps_out) *ncaps_out = 0;
    jx__atom *outs = jx__arena_alloc(&t->arena, sizeof *outs * (size_t)(nout ? nout : 1));
    if (!outs) oom(t);
    for (int i = 0; i < nout && t->status == JX_OK; i++) {
        if (out[i].id < 0 && out[i].trace == t->id) {
            jx__trace_fail(t, JX_ERR_TRACE, t->loc, t->name, "output %d was not set", i);
            break;
        }
        jx__resolve(t, t->loc, t->name, out[i], &outs[i]);
    }
    jx_fn *f = NULL;
    if (t->status == JX_OK) f = jx__fn_alloc();
    if (t->status == JX_OK && !f) oom(t);
    if (t->status != JX_OK) {
        jx__fail(t->status, jx__noloc, NULL, "%s", t->errmsg ? t->errmsg : jx_status_message(t->status));
        free(f);
        jx__trace_abort(t);
        return NULL;
    }
    f->arena = t->arena;
    memset(&t->arena, 0, sizeof t->arena);
    f->name = t->name;
    f->nvars = t->nvars;
    f->vars = jx__arena_dup(&f->arena, t->vars, sizeof *t->vars * (size_t)(t->nvars ? t->nvars : 1));
    f->neqn = t->neqn;
    f->eqns = jx__arena_dup(&f->arena, t->eqns, sizeof *t->eqns * (size_t)(t->neqn ? t->neqn : 1));
    f->nin = t->nin + t->ncaps;
    f->in = jx__arena_alloc(&f->arena, sizeof(int32_t) * (size_t)(f->nin ? f->nin : 1));
    f->nout = nout;
    f->out = outs;
    jx_val *caps = NULL;
    if (t->ncaps && caps_out) caps = malloc(sizeof *caps * (size_t)t->ncaps);
    bool ok = f->vars && f->eqns && f->in && (!caps_out || !t->ncaps || caps);
    if (ok) {
        for (int i = 0; i < t->nin; i++) f->in[i] = t->inputs[i];
        for (int i = 0; i < t->ncaps; i++) {
            f->in[t->nin + i] = t->caps[i].var;
            if (caps) caps[i] = t->caps[i].outer;
        }
        if (caps_out) *caps_out = caps;
        if (ncaps_out) *ncaps_out = t->ncaps;
    }
    trace_free(t);
    if (!ok) {
        free(caps);
        jx_fn_release(f);
        jx__fail(JX_ERR_NOMEM, jx__noloc, NULL, "out of memory while finishing a trace");
        return NULL;
    }
    return f;
}

jx_status jx__inline_fn(jx_loc loc, const jx_fn *f, const jx_val *in, jx_val *out) {
    jx__trace *t = top;
    if (!t) return jx__fail(JX_ERR_TRACE, loc, "call", "called outside of a trace");
    jx_val *env = malloc(sizeof *env * (size_t)(f->nvars ? f->nvars : 1));
    jx_val ebuf[16];
    if (!env) return oom(t), t->status;
    for (int i = 0; i < f->nin; i++) env[f->in[i]] = in[i];
    for (int k = 0; k < f->neqn && t->status == JX_OK; k++) {
        const jx__eqn *e = &f->eqns[k];
        jx_loc eloc = e->loc.file ? e->loc : loc;
        jx_val *ins = e->nin <= 16 ? ebuf : malloc(sizeof *ins * (size_t)e->nin);
        if (!ins) {
            oom(t);
            break;
        }
        for (int i = 0; i < e->nin; i++)
            ins[i] = e->in[i].var >= 0 ? env[e->in[i].var] : jx__lit_val(t, e->in[i]);
        jx_val obuf[8];
        jx_val *outs = e->nout <= 8 ? obuf : malloc(sizeof *outs * (size_t)e->nout);
        if (outs) {
            jx__bind(eloc, (jx_prim)e->prim, e->nin, ins, e->nattr, e->attrs,
                     e->nout, outs, NULL);
            for (int i = 0; i < e->nout; i++) env[e->out[i]] = outs[i];
            if (outs != obuf) free(outs);
        } else {
            oom(t);
        }
        if (ins != ebuf) free(ins);
    }
    for (int i = 0; i < f->nout && t->status == JX_OK; i++)
        out[i] = f->out[i].var >= 0 ? env[f->out[i].var] : jx__lit_val(t, f->out[i]);
    free(env);
    return t->status;
}

/* ------------------------------------------------------------------ public API */

jx_fn *jx_trace_at(jx_loc loc, const char *name, jx_body body, void *user, int nin,
                   const jx_aval *in, int nout) {
    const char *nm = name ? name : "fn";
    if (!body) return jx__fail(JX_ERR_ARG, loc, "jx_trace", "body is NULL"), NULL;
    if (nin < 0 || nout < 0 || (nin > 0 && !in))
        return jx__fail(JX_ERR_ARG, loc, "jx_trace", "bad argument counts (nin %d, nout %d)", nin, nout), NULL;
    for (int i = 0; i < nin; i++)
        if (in[i].rank < 0 || in[i].rank > JX_MAX_RANK || (unsigned)in[i].dtype >= JX_DTYPE_COUNT)
            return jx__fail(JX_ERR_ARG, loc, "jx_trace", "input %d of '%s' has an invalid aval", i, nm), NULL;
    jx_val *ins = malloc(sizeof *ins * (size_t)(nin ? nin : 1));
    jx_val *outs = malloc(sizeof *outs * (size_t)(nout ? nout : 1));
    if (!ins || !outs) {
        free(ins);
        free(outs);
        return jx__fail(JX_ERR_NOMEM, loc, "jx_trace", "out of memory"), NULL;
    }
    jx__trace *t = jx__trace_begin(loc, nm, nin, in, ins, false);
    jx_fn *f = NULL;
    if (t) {
        for (int i = 0; i < nout; i++) outs[i] = (jx_val){t->id, -1};
        body(outs, ins, user);
        while (top != t && top) jx__trace_abort(top); /* a body that left traces open */
        f = jx__trace_end(t, nout, outs, NULL, NULL);
    }
    free(ins);
    free(outs);
    return f;
}

jx_status jx_trace_status(void) { return top ? top->status : JX_OK; }

jx_aval jx_aval_of(jx_val x) { return jx__val_aval(x); }
int jx_rank(jx_val x) { return jx__val_aval(x).rank; }
jx_dtype jx_dtype_of(jx_val x) { return jx__val_aval(x).dtype; }
int jx_val_ok(jx_val x) { return jx__val_aval(x).rank >= 0; }
int64_t jx_dim(jx_val x, int axis) {
    jx_aval a = jx__val_aval(x);
    int ax = a.rank >= 0 ? jx__norm_axis(axis, a.rank) : -1;
    return ax < 0 ? -1 : a.shape[ax];
}
