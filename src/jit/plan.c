/* plan.c: from fusion groups to a program of steps (plan.h), with its buffer plan.
 *
 * Every variable a step stores gets a slot. Walking the steps in order, a slot whose
 * variable's last reader has run is free, and a later variable of the same byte size
 * takes it; a LOOP kernel output may take the slot of an input that dies at that step
 * when the kernel reads that input only at the element it writes (in place). Inputs of
 * the function own their slots (the caller's arrays), except donated ones, which become
 * free after their last reader like any temporary. The executor (exec.c) follows the plan
 * with reference-counted arrays, so a buffer still shared elsewhere is never written. */
#include <stdlib.h>
#include <string.h>

#include "plan.h"

static size_t var_bytes(const jx_fn *f, int32_t v) {
    return (size_t)jx_aval_size(&f->vars[v]) * jx_dtype_size(f->vars[v].dtype);
}

/* The nested programs of a CONTROL step; false (error set) on failure, or when the
 * equation is not one the executor runs itself (then the step becomes OPAQUE). */
static bool build_subs(jx__step *s, const jx__eqn *e, bool fuse, const jx__backend *be, void *mod, bool *ok) {
    const jx_fn *fns[64];
    int n = 0;
    *ok = true;
    if (e->prim == JX_PRIM_COND) {
        const jx__attr *a = jx__attr_get(e->nattr, e->attrs, JX_A_BRANCHES);
        if (!a || a->kind != JX_AK_FNS || a->n < 1 || a->n > 64) return false;
        for (int i = 0; i < a->n; i++) fns[n++] = a->u.fns[i];
    } else if (e->prim == JX_PRIM_WHILE) {
        fns[n++] = jx__eqn_fn(e, JX_A_COND, 0);
        fns[n++] = jx__eqn_fn(e, JX_A_BODY, 0);
    } else if (e->prim == JX_PRIM_SCAN) {
        fns[n++] = jx__eqn_fn(e, JX_A_BODY, 0);
    } else if (e->prim == JX_PRIM_PMAP) {
        fns[n++] = jx__eqn_fn(e, JX_A_FN, 0);
    } else {
        return false;
    }
    for (int i = 0; i < n; i++)
        if (!fns[i]) return false;
    s->subs = calloc((size_t)n, sizeof *s->subs);
    if (!s->subs) return *ok = false, false;
    s->nsubs = n;
    /* loop-carried inputs (and scan's x slices) belong to the loop, which donates them */
    int ndon = e->prim == JX_PRIM_WHILE ? (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CARRY, 0)
               : e->prim == JX_PRIM_SCAN
                   ? e->nin - (int)jx__attr_int(e->nattr, e->attrs, JX_A_NUM_CONSTS, 0)
                   : 0;
    for (int i = 0; i < n; i++) {
        bool loop_body = (e->prim == JX_PRIM_WHILE && i == 1) || e->prim == JX_PRIM_SCAN;
        bool *don = calloc((size_t)fns[i]->nin + 1, sizeof *don);
        if (!don) return *ok = false, false;
        for (int j = 0; loop_body && j < ndon && j < fns[i]->nin; j++) don[j] = true;
        s->subs[i] = jx__prog_build(fns[i], fuse, be, mod, don);
        free(don);
        if (!s->subs[i]) return *ok = false, false;
    }
    return true;
}

/* Whether g is one elementwise equation: its output element i reads only element i of
 * each operand, so it may write over an operand that dies there (an OPAQUE step does so
 * by copying its result into a donated array). */
static bool elementwise_eqn(const jx_fn *f, const jx__group *g) {
    if (g->neqn != 1) return false;
    const jx__eqn *e = &f->eqns[g->eqns[0]];
    jx__pclass c = jx__prims[e->prim].cls;
    return c == JX__UNARY || c == JX__BINARY || c == JX__COMPARE || e->prim == JX_PRIM_SELECT;
}

/* Decides how step s (group g of f) runs: kernel, library or interpreter. */
/* Whether conv c of CONV group g (transposes in it) is taken through view *cv, the
 * backend reading or writing each place fusion gave it a transpose through strides. */
static bool views_ok(const jx__backend *be, const jx_fn *f, const jx__eqn *c, const jx__group *g, jx__conv_view *cv) {
    if (!be->conv_views_ok || !jx__conv_view_of(f, g, cv)) return false;
    if (cv->bwd_data && (!be->conv_bwd_data_ok || !be->conv_bwd_data_ok(f, c))) return false;
    for (int j = 0; j < 2; j++)
        if (cv->src[j] != &c->in[j] && !(j == 1 && cv->bwd_data) &&
            !be->conv_views_ok(f, c, j == 1 && cv->out != c->out[0] ? 3 : j))
            return false;
    return cv->out == c->out[0] || be->conv_views_ok(f, c, 2);
}

static bool lower_step(jx__prog *p, jx__step *s, jx__group *g, bool fuse, const jx__backend *be, void *mod) {
    const jx_fn *f = p->f;
    const jx__eqn *e0 = &f->eqns[g->eqns[0]];
    s->g = g;
    s->kind = g->kind;
    switch (g->kind) {
    case JX__G_LOOP:
        if (!mod) {
            s->kind = JX__G_OPAQUE, s->note = "no code generator";
            break;
        }
        if (!(s->kernel = be->kernel_add(mod, f, g))) {
            if (jx_errcode() == JX_ERR_NOMEM) return false; /* fail rather than run slower */
            /* the code generator declined: run the group's equations one by one */
            s->kind = JX__G_OPAQUE, s->note = "kernel not generated";
            jx_clear_error();
            break;
        }
        s->inplace = malloc(sizeof *s->inplace * (size_t)(g->nout + 1));
        if (!s->inplace) return false;
        {
            /* Work per iteration: the largest array the group reads or writes over its
             * iterations, so that a reduction of many values into a few outputs (a row
             * max of f32[4096,4096]: 4096 iterations of 4096 values) is split too. */
            int64_t size = be->kernel_size(s->kernel), most = jx__group_largest(f, g);
            int64_t per = size > 0 ? most / size : most; /* elements per iteration */
            s->grain = per >= 16384 ? 1 : 16384 / (per ? per : 1);
        }
        break;
    case JX__G_DOT: { /* the dot, and the epilogue fusion gave it (when the backend computes it) */
        jx__dot_epi ep;
        bool epi = g->neqn > 1 && be->dot_epilogue_ok && jx__dot_epi_of(f, g, &ep);
        if ((g->neqn == 1 && !be->dot_ok(f, e0)) || (g->neqn > 1 && (!epi || !be->dot_epilogue_ok(f, ep.dot, ep.kind))))
            s->kind = JX__G_OPAQUE, s->note = "no BLAS path";
        else if (epi && !(s->epi = malloc(sizeof *s->epi))) return false;
        else if (epi) *s->epi = ep;
        break;
    }
    case JX__G_CONV: { /* the conv, and the transposes fusion gave it (when the backend reads through them) */
        const jx__eqn *c = jx__group_conv(f, g);
        if (g->neqn > 1 && !(s->view = malloc(sizeof *s->view))) return false;
        if (!c || !be->conv_ok(f, c) || (g->neqn > 1 && !views_ok(be, f, c, g, s->view))) {
            s->kind = JX__G_OPAQUE, s->note = "no conv path";
            free(s->view);
            s->view = NULL;
        }
        break;
    }
    case JX__G_WINDOW:
        if (g->neqn != 1 || !be->window_ok || !be->window_ok(f, e0))
            s->kind = JX__G_OPAQUE, s->note = "no pooling path";
        break;
    case JX__G_CONTROL: {
        bool ok = true;
        if (g->neqn != 1 || !build_subs(s, e0, fuse, be, mod, &ok)) {
            if (!ok) return false;
            s->kind = JX__G_OPAQUE, s->note = "interpreted";
        }
        break;
    }
    default: s->kind = JX__G_OPAQUE; break;
    }
    if (s->kind == JX__G_OPAQUE && elementwise_eqn(f, g) &&
        !(s->inplace = malloc(sizeof *s->inplace * (size_t)(g->nout + 1))))
        return false;
    return true;
}

/* Per variable, the last step reading it (nsteps for f's outputs; -1 for none). */
static void liveness(jx__prog *p) {
    const jx_fn *f = p->f;
    for (int v = 0; v < f->nvars; v++) p->last[v] = -1;
    for (int k = 0; k < p->nsteps; k++) {
        const jx__group *g = p->steps[k].g;
        for (int i = 0; i < g->nin; i++) p->last[g->in[i]] = k;
    }
    for (int i = 0; i < f->nout; i++)
        if (f->out[i].var >= 0) p->last[f->out[i].var] = p->nsteps;
}

/* A pool of free slots (each with its byte size). */
typedef struct slots {
    int32_t *free_list;
    int32_t nfree;
} slots;

static int32_t new_slot(jx__prog *p, size_t bytes) {
    p->slot_bytes[p->nslots] = bytes;
    return p->nslots++;
}

static int32_t take_free(jx__prog *p, slots *fs, size_t bytes) {
    for (int i = fs->nfree - 1; i >= 0; i--)
        if (p->slot_bytes[fs->free_list[i]] == bytes) {
            int32_t s = fs->free_list[i];
            fs->free_list[i] = fs->free_list[--fs->nfree];
            return s;
        }
    return new_slot(p, bytes);
}

/* Whether output o of step s (a LOOP kernel or one elementwise equation) may take input
 * i's storage: i dies here, every position of that variable in a kernel's inputs is read
 * elementwise, avals agree (so a
 * donated array handed back as the output keeps its shape). */
static bool can_inplace(const jx__prog *p, const jx__step *s, int k, int i, int o, const bool *taken) {
    const jx__group *g = s->g;
    int32_t v = g->in[i];
    if (p->last[v] != k || p->slot[v] < 0 || taken[p->slot[v]]) return false;
    if (!jx_aval_equal(&p->f->vars[v], &p->f->vars[g->out[o]])) return false;
    for (int j = 0; s->kernel && j < g->nin; j++)
        if (g->in[j] == v && !p->be->kernel_inplace_ok(s->kernel, j, o)) return false;
    return true;
}

/* Slots for every stored variable, the in-place choices and the per-step free lists. */
static bool assign(jx__prog *p) {
    const jx_fn *f = p->f;
    size_t nv = (size_t)f->nvars + 1;
    slots fs = {malloc(sizeof(int32_t) * nv), 0};
    bool *external = calloc(nv, sizeof *external); /* per slot: never free */
    bool *taken = calloc(nv, sizeof *taken);       /* per slot: taken in place this step */
    bool ok = fs.free_list && external && taken;
    for (size_t v = 0; v < nv - 1; v++) p->slot[v] = -1;
    for (int i = 0; ok && i < f->nin; i++) {
        int32_t v = f->in[i];
        if (p->slot[v] >= 0) continue;
        p->slot[v] = new_slot(p, var_bytes(f, v));
        external[p->slot[v]] = !(p->donate && p->donate[i]);
    }
    for (int k = 0; ok && k < p->nsteps; k++) {
        jx__step *s = &p->steps[k];
        const jx__group *g = s->g;
        for (int o = 0; o < g->nout; o++) {
            int32_t v = g->out[o];
            if (s->inplace) s->inplace[o] = -1;
            for (int i = 0; s->inplace && i < g->nin; i++)
                if (can_inplace(p, s, k, i, o, taken) && !external[p->slot[g->in[i]]]) {
                    s->inplace[o] = i;
                    p->slot[v] = p->slot[g->in[i]];
                    taken[p->slot[v]] = true;
                    break;
                }
            if (p->slot[v] < 0) p->slot[v] = take_free(p, &fs, var_bytes(f, v));
        }
        /* variables whose last reader is this step, and outputs nobody reads */
        s->free = malloc(sizeof(int32_t) * (size_t)(g->nin + g->nout + 1));
        if (!s->free) {
            ok = false;
            break;
        }
        for (int i = 0; i < g->nin + g->nout; i++) {
            int32_t v = i < g->nin ? g->in[i] : g->out[i - g->nin];
            bool dies = i < g->nin ? p->last[v] == k : p->last[v] < 0;
            for (int j = 0; dies && j < s->nfree; j++) dies = s->free[j] != v;
            if (!dies) continue;
            s->free[s->nfree++] = v;
            int32_t sl = p->slot[v];
            if (sl >= 0 && !external[sl] && !taken[sl]) fs.free_list[fs.nfree++] = sl;
        }
        for (int o = 0; o < g->nout; o++)
            if (p->slot[g->out[o]] >= 0) taken[p->slot[g->out[o]]] = false;
    }
    free(fs.free_list);
    free(external);
    free(taken);
    if (!ok) jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory while planning buffers");
    return ok;
}

jx__prog *jx__prog_build(const jx_fn *f, bool fuse, const jx__backend *be, void *mod, const bool *donate) {
    jx__prog *p = calloc(1, sizeof *p);
    if (!p) return jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory"), NULL;
    p->f = jx_fn_retain((jx_fn *)f);
    p->be = be;
    size_t nv = (size_t)f->nvars + 1;
    p->last = malloc(sizeof *p->last * nv);
    p->slot = malloc(sizeof *p->slot * nv);
    p->slot_bytes = calloc(nv, sizeof *p->slot_bytes);
    p->donate = calloc((size_t)f->nin + 1, sizeof *p->donate);
    p->fu = jx__fuse(f, fuse, be);
    if (!p->last || !p->slot || !p->slot_bytes || !p->donate || !p->fu) {
        jx__prog_free(p);
        return jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory"), NULL;
    }
    for (int i = 0; donate && i < f->nin; i++) p->donate[i] = donate[i];
    p->nsteps = p->fu->ngroups;
    p->steps = calloc((size_t)p->nsteps + 1, sizeof *p->steps);
    bool ok = p->steps != NULL;
    if (!ok) jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
    for (int k = 0; ok && k < p->nsteps; k++) ok = lower_step(p, &p->steps[k], &p->fu->groups[k], fuse, be, mod);
    if (ok) {
        liveness(p);
        ok = assign(p);
    }
    if (!ok) {
        if (jx_errcode() == JX_OK) jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
        jx__prog_free(p);
        return NULL;
    }
    return p;
}

void jx__prog_free(jx__prog *p) {
    if (!p) return;
    jx__prof_free(p->prof); /* prints its table, so before the steps go */
    if (p->be_state && p->be && p->be->prog_state_free) p->be->prog_state_free(p->be_state);
    for (int k = 0; p->steps && k < p->nsteps; k++) {
        jx__step *s = &p->steps[k];
        free(s->inplace);
        free(s->free);
        free(s->view);
        free(s->epi);
        for (int i = 0; i < s->nsubs; i++) jx__prog_free(s->subs[i]);
        free(s->subs);
    }
    free(p->steps);
    jx__fusion_free(p->fu);
    free(p->last);
    free(p->slot);
    free(p->slot_bytes);
    free(p->donate);
    jx_fn_release(p->f);
    free(p);
}

const char *jx__step_kind_name(jx__gkind k) {
    static const char *const names[] = {"LOOP", "DOT", "CONV", "WINDOW", "CONTROL", "OPAQUE"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

static void print_var(FILE *out, const jx__prog *p, int32_t v) {
    fprintf(out, " %%%d:%s", v, jx__avs(&p->f->vars[v]));
    if (p->slot[v] >= 0) fprintf(out, "@s%d", p->slot[v]);
}

void jx__prog_print(FILE *out, const jx__prog *p, int indent) {
    const jx_fn *f = p->f;
    size_t total = 0;
    for (int s = 0; s < p->nslots; s++) total += p->slot_bytes[s];
    fprintf(out, "%*splan of %s: %d steps, %d slots, %zu bytes\n", indent, "", f->name, p->nsteps, p->nslots, total);
    fprintf(out, "%*s  inputs:", indent, "");
    for (int i = 0; i < f->nin; i++) {
        print_var(out, p, f->in[i]);
        if (p->donate[i]) fprintf(out, "(donated)");
    }
    fprintf(out, "\n");
    for (int k = 0; k < p->nsteps; k++) {
        const jx__step *s = &p->steps[k];
        const jx__group *g = s->g;
        fprintf(out, "%*s  step %d %s [", indent, "", k, jx__step_kind_name(s->kind));
        for (int j = 0; j < g->neqn; j++)
            fprintf(out, "%s%s", j ? " " : "", jx__prims[f->eqns[g->eqns[j]].prim].name);
        fprintf(out, "]");
        if (s->note) fprintf(out, " (%s)", s->note);
        fprintf(out, "\n%*s    in:", indent, "");
        for (int i = 0; i < g->nin; i++) print_var(out, p, g->in[i]);
        fprintf(out, "\n%*s    out:", indent, "");
        for (int o = 0; o < g->nout; o++) {
            print_var(out, p, g->out[o]);
            if (s->inplace && s->inplace[o] >= 0) fprintf(out, "(in place of input %d)", s->inplace[o]);
        }
        if (s->nfree) {
            fprintf(out, "\n%*s    free:", indent, "");
            for (int i = 0; i < s->nfree; i++) fprintf(out, " %%%d", s->free[i]);
        }
        fprintf(out, "\n");
        for (int i = 0; i < s->nsubs; i++) jx__prog_print(out, s->subs[i], indent + 6);
    }
    fprintf(out, "%*s  outputs:", indent, "");
    for (int i = 0; i < f->nout; i++) {
        if (f->out[i].var >= 0) print_var(out, p, f->out[i].var);
        else fprintf(out, " literal");
    }
    fprintf(out, "\n");
}
