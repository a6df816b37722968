/* exec.c: runs a program (plan.h) step by step. Variables live in reference-counted
 * arrays; each slot of the buffer plan keeps the array of its last dead variable as a
 * spare, which the next variable of that slot reuses instead of allocating. An array is
 * only ever written when nobody else can see it: its reference count is the frame's own
 * (plus, for a donated input, the caller's). LOOP steps run their kernel on the thread
 * pool, DOT/CONV/WINDOW steps call the BLAS/conv/pooling paths, CONTROL steps run nested programs
 * (exec_control.c), OPAQUE steps run their equations through the interpreter's rules. */
#include <stdlib.h>
#include <string.h>

#include "../trace/pass_util.h"
#include "plan.h"

struct jx__frame {
    const jx__rt *rt;
    const jx__prog *p;
    jx_array **env;   /* per variable, while it is live */
    jx_array **spare; /* per slot: a dead variable's array, ready for reuse */
    jx_array **don;   /* inputs of this run whose extra reference the caller gave up */
    int ndon;
};

jx__frame *jx__frame_new(const jx__rt *rt, const jx__prog *p) {
    jx__frame *fr = calloc(1, sizeof *fr);
    if (!fr) return jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory"), NULL;
    fr->rt = rt;
    fr->p = p;
    fr->env = calloc((size_t)p->f->nvars + 1, sizeof *fr->env);
    fr->spare = calloc((size_t)p->nslots + 1, sizeof *fr->spare);
    fr->don = calloc((size_t)p->f->nin + 1, sizeof *fr->don);
    if (!fr->env || !fr->spare || !fr->don) {
        jx__frame_free(fr);
        return jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory"), NULL;
    }
    return fr;
}

void jx__frame_free(jx__frame *fr) {
    if (!fr) return;
    for (int v = 0; fr->env && v < fr->p->f->nvars; v++) jx_array_release(fr->env[v]);
    for (int s = 0; fr->spare && s < fr->p->nslots; s++) jx_array_release(fr->spare[s]);
    free(fr->env);
    free(fr->spare);
    free(fr->don);
    free(fr);
}

/* Whether a is an input of this run that the caller donated. */
static bool is_donated(const jx__frame *fr, const jx_array *a) {
    for (int i = 0; i < fr->ndon; i++)
        if (fr->don[i] == a) return true;
    return false;
}

/* Whether the frame may overwrite a's data: nobody but the frame (and, for an input the
 * caller donated, the caller) holds it. */
static bool writable(const jx__frame *fr, const jx_array *a) {
    return atomic_load(&((jx_array *)a)->refs) == 1 + (is_donated(fr, a) ? 1 : 0);
}

/* Drops variable v: its array becomes its slot's spare when the frame may reuse it. */
static void kill_var(jx__frame *fr, int32_t v) {
    jx_array *a = fr->env[v];
    fr->env[v] = NULL;
    if (!a) return;
    int32_t s = fr->p->slot[v];
    if (s >= 0 && writable(fr, a) && a->nbytes == fr->p->slot_bytes[s]) {
        jx_array_release(fr->spare[s]);
        fr->spare[s] = a;
    } else {
        jx_array_release(a);
    }
}

/* Storage for variable v produced by a step that writes every element: the array of an
 * input dying here (in_var >= 0, in place), the slot's spare, or a new array. A caller's
 * donated array only ever holds variables of its own aval, so the array object handed
 * back keeps its shape. NULL with the error set. */
static jx_array *out_array(jx__frame *fr, int32_t v, int32_t in_var) {
    const jx__prog *p = fr->p;
    const jx_aval *av = &p->f->vars[v];
    int32_t s = p->slot[v];
    if (in_var >= 0 && !fr->rt->nancheck) {
        jx_array *a = fr->env[in_var];
        if (a && writable(fr, a) && jx_aval_equal(&a->aval, av)) return jx_array_retain(a);
    }
    jx_array *a = s >= 0 ? fr->spare[s] : NULL;
    if (a && writable(fr, a) && a->nbytes == p->slot_bytes[s] && (!is_donated(fr, a) || jx_aval_equal(&a->aval, av))) {
        fr->spare[s] = NULL;
        a->aval = *av;
        return a;
    }
    return jx__array_alloc_uninit(av);
}

/* An operand as an array: a borrowed variable or a new rank-0 literal (*tmp set). */
static jx_array *operand(jx__frame *fr, const jx__atom *a, jx_array **tmp) {
    *tmp = NULL;
    if (a->var >= 0) return fr->env[a->var];
    return *tmp = jx__lit_array(a);
}

static jx_status run_loop(jx__frame *fr, const jx__step *s) {
    const jx__group *g = s->g;
    void *bb[32];
    void **bufs = g->nin + g->nout <= 32 ? bb : malloc(sizeof *bufs * (size_t)(g->nin + g->nout));
    jx_array *ob[16] = {0}; /* NULL: a failure part-way releases only what was made */
    jx_array **outs = g->nout <= 16 ? ob : calloc((size_t)g->nout, sizeof *outs);
    jx_status st = JX_OK;
    if (!bufs || !outs) st = jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
    for (int i = 0; st == JX_OK && i < g->nin; i++) bufs[i] = fr->env[g->in[i]]->data;
    for (int o = 0; st == JX_OK && o < g->nout; o++) {
        int in = s->inplace ? s->inplace[o] : -1;
        outs[o] = out_array(fr, g->out[o], in >= 0 ? g->in[in] : -1);
        if (!outs[o]) st = jx_errcode();
        else bufs[g->nin + o] = outs[o]->data;
    }
    if (st == JX_OK) fr->p->be->kernel_run(fr->rt->runner, s->kernel, bufs, s->grain);
    for (int o = 0; o < g->nout && outs; o++) {
        if (st == JX_OK) fr->env[g->out[o]] = outs[o];
        else jx_array_release(outs[o]);
    }
    if (bufs != bb) free(bufs);
    if (outs != ob) free(outs);
    return st;
}

/* DOT, CONV and WINDOW: one equation (one or two operands) through the library path; a
 * CONV group holding transposes too (fuse.c) reads and writes through them. */
static jx_status run_lib(jx__frame *fr, const jx__step *s) {
    const jx_fn *f = fr->p->f;
    const jx__conv_view *view = s->view;
    const jx__eqn *e = view ? view->conv : &f->eqns[s->g->eqns[0]];
    jx_array *tmp[2] = {NULL, NULL}, *x[2];
    jx_aval av[2];
    const void *in[2];
    int nin = e->nin < 2 ? e->nin : 2; /* the planner only takes equations of 1 or 2 operands */
    for (int i = 0; i < nin; i++) {
        x[i] = operand(fr, view ? view->src[i] : &e->in[i], &tmp[i]);
        if (!x[i]) {
            jx_array_release(tmp[0]);
            return jx_errcode();
        }
        av[i] = view ? jx__atom_aval(f, &e->in[i]) : x[i]->aval; /* a view: the conv's operand */
        in[i] = x[i]->data;
    }
    int32_t v = view ? view->out : e->out[0];
    const jx_aval *oav = &f->vars[e->out[0]];
    jx_array *out = out_array(fr, v, -1);
    jx_status st = out ? JX_OK : jx_errcode();
    if (st == JX_OK)
        st = fr->p->be->lib_run(fr->rt->runner, s->kind, e, av, in, view ? (const int64_t(*)[4])view->st : NULL, oav,
                                out->data);
    if (st == JX_OK) fr->env[v] = out;
    else jx_array_release(out);
    jx_array_release(tmp[0]);
    jx_array_release(tmp[1]);
    return st;
}

/* After a step that made its own array for variable v (not through out_array): the
 * spare of v's slot, whose memory that array replaces, is dropped. */
static void drop_spare(jx__frame *fr, int32_t v) {
    int32_t sl = fr->p->slot[v];
    if (sl < 0) return;
    jx_array_release(fr->spare[sl]);
    fr->spare[sl] = NULL;
}

static jx_status run_control(jx__frame *fr, const jx__step *s) {
    const jx__eqn *e = &fr->p->f->eqns[s->g->eqns[0]];
    jx_array **in = calloc((size_t)e->nin + 1, sizeof *in), **tmp = calloc((size_t)e->nin + 1, sizeof *tmp);
    jx_array **out = calloc((size_t)e->nout + 1, sizeof *out);
    jx_status st = in && tmp && out ? JX_OK : jx__fail(JX_ERR_NOMEM, e->loc, jx__prims[e->prim].name, "out of memory");
    for (int i = 0; st == JX_OK && i < e->nin; i++)
        if (!(in[i] = operand(fr, &e->in[i], &tmp[i]))) st = jx_errcode();
    if (st == JX_OK) st = jx__control_run(fr->rt, s, fr->p->f, e, in, out);
    for (int o = 0; st == JX_OK && o < e->nout; o++) {
        int32_t v = e->out[o];
        drop_spare(fr, v);
        jx_array_release(fr->env[v]);
        fr->env[v] = out[o];
    }
    for (int i = 0; tmp && i < e->nin; i++) jx_array_release(tmp[i]);
    free(in);
    free(tmp);
    free(out);
    return st;
}

static jx_status run_opaque(jx__frame *fr, const jx__step *s) {
    const jx__prog *p = fr->p;
    const jx__group *g = s->g;
    jx_status st = jx__run_eqns_interp(p->f, g, fr->env, fr->rt->nancheck);
    /* outputs adopt the arrays the rules made, except that an output planned in place of a
     * donated input is copied into it, so the caller gets its own array back updated */
    for (int o = 0; st == JX_OK && s->inplace && o < g->nout; o++) {
        int i = s->inplace[o];
        jx_array *a = i >= 0 ? fr->env[g->in[i]] : NULL, *r = fr->env[g->out[o]];
        if (!a || !r || !is_donated(fr, a) || !writable(fr, a) || !jx_aval_equal(&a->aval, &r->aval)) continue;
        if (a->nbytes) memcpy(a->data, r->data, a->nbytes);
        jx_array_release(r);
        fr->env[g->out[o]] = jx_array_retain(a);
    }
    for (int o = 0; o < g->nout; o++) drop_spare(fr, g->out[o]);
    /* values internal to the group (a kernel the code generator declined) */
    for (int j = 0; j < g->neqn; j++) {
        const jx__eqn *e = &p->f->eqns[g->eqns[j]];
        for (int o = 0; o < e->nout; o++)
            if (p->slot[e->out[o]] < 0) {
                jx_array_release(fr->env[e->out[o]]);
                fr->env[e->out[o]] = NULL;
            }
    }
    return st;
}

/* After a step, with JX_DEBUG_NANS: a NaN in its outputs is traced to the first equation
 * that made it by running the step's equations again with the interpreter. */
static jx_status check_step(jx__frame *fr, const jx__step *s) {
    const jx__group *g = s->g;
    bool nan = false;
    for (int o = 0; o < g->nout && !nan; o++) nan = jx__array_has_nan(fr->env[g->out[o]]);
    if (!nan) return JX_OK;
    const jx_fn *f = fr->p->f;
    jx_array **env = calloc((size_t)f->nvars + 1, sizeof *env);
    if (!env) return jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
    for (int i = 0; i < g->nin; i++) env[g->in[i]] = jx_array_retain(fr->env[g->in[i]]);
    jx_status st = jx__run_eqns_interp(f, g, env, true);
    if (st == JX_OK) st = jx__nan_fail(&f->eqns[g->eqns[g->neqn - 1]]);
    for (int v = 0; v < f->nvars; v++) jx_array_release(env[v]);
    free(env);
    return st;
}

static jx_status run_step(jx__frame *fr, const jx__step *s) {
    jx_status st;
    switch (s->kind) {
    case JX__G_LOOP: st = run_loop(fr, s); break;
    case JX__G_DOT:
    case JX__G_CONV:
    case JX__G_WINDOW: st = run_lib(fr, s); break;
    case JX__G_CONTROL: st = run_control(fr, s); break;
    default: return run_opaque(fr, s); /* checks NaNs itself, equation by equation */
    }
    if (st == JX_OK && fr->rt->nancheck) st = check_step(fr, s);
    return st;
}

jx_status jx__frame_run(jx__frame *fr, jx_array *const *in, const bool *donated, jx_array **out) {
    const jx__prog *p = fr->p;
    const jx_fn *f = p->f;
    fr->ndon = 0;
    for (int i = 0; i < f->nin; i++) {
        jx_array_release(fr->env[f->in[i]]); /* an input listed twice keeps one reference */
        fr->env[f->in[i]] = jx_array_retain(in[i]);
        if (donated && donated[i] && p->donate[i]) fr->don[fr->ndon++] = in[i];
    }
    for (int i = 0; i < f->nin; i++)
        if (p->last[f->in[i]] < 0) kill_var(fr, f->in[i]);
    jx_status st = JX_OK;
    int64_t t0 = p->prof ? jx__prof_now() : 0, t = t0;
    for (int k = 0; k < p->nsteps && st == JX_OK; k++) {
        const jx__step *s = &p->steps[k];
        st = run_step(fr, s);
        for (int i = 0; i < s->nfree; i++) kill_var(fr, s->free[i]);
        if (p->prof) {
            int64_t u = jx__prof_now();
            jx__prof_step(p->prof, k, u - t);
            t = u;
        }
    }
    if (p->prof) jx__prof_run(p->prof, t - t0); /* a failed run too: its steps were counted */
    for (int i = 0; i < f->nout; i++) out[i] = NULL;
    for (int i = 0; i < f->nout && st == JX_OK; i++) {
        out[i] = f->out[i].var >= 0 ? jx_array_retain(fr->env[f->out[i].var]) : jx__lit_array(&f->out[i]);
        if (!out[i])
            st = jx_errcode() != JX_OK ? jx_errcode()
                                       : jx__fail(JX_ERR_INTERNAL, jx__noloc, f->name, "output %d unavailable", i);
    }
    if (st != JX_OK)
        for (int i = 0; i < f->nout; i++) {
            jx_array_release(out[i]);
            out[i] = NULL;
        }
    for (int v = 0; v < f->nvars; v++) { /* outputs, and everything after a failure */
        jx_array_release(fr->env[v]);
        fr->env[v] = NULL;
    }
    fr->ndon = 0;
    return st;
}
