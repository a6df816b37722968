/* pass_util.c: rebuilding a function for the IR passes (see pass_util.h). Passes decide
 * which equations stay and which variables are replaced; this file replays the result on
 * a fresh trace so that every output of a pass is type-checked by the shape rules. */
#include <stdlib.h>
#include <string.h>

#include "pass_util.h"

/* Old nested function -> its rebuilt version, so a body shared by several equations is
 * rebuilt once and stays shared (CSE compares nested functions by pointer). */
typedef struct memo_slot {
    const jx_fn *old;
    jx_fn *new_fn;
} memo_slot;

typedef struct rebuild {
    const jx_fn *f;
    const jx__eqn *eqns; /* f->eqns, or a pass's edited copy */
    jx__trace *t;
    jx__pass_fn nested;
    memo_slot *memo;
    size_t memo_cap; /* a power of two, or 0 */
    /* the last few loc files copied into the trace's arena (the old function's arena may
     * own them and die before the new function does) */
    const char *file_old[8], *file_new[8];
    int file_next;
} rebuild;

static size_t ptr_hash(const void *p) {
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 17);
}

/* nested(old), computed once per distinct old function; NULL with the error recorded. */
static jx_fn *map_nested(rebuild *r, jx_fn *old) {
    size_t mask = r->memo_cap - 1, i = ptr_hash(old) & mask;
    while (r->memo[i].old && r->memo[i].old != old) i = (i + 1) & mask;
    if (r->memo[i].old) return r->memo[i].new_fn;
    jx_fn *g = r->nested(old);
    if (!g) {
        jx_status code = jx_errcode();
        jx__trace_fail(r->t, code != JX_OK ? code : JX_ERR_INTERNAL, jx__noloc, NULL, "%s", jx_errmsg());
        return NULL;
    }
    r->memo[i].old = old;
    r->memo[i].new_fn = g;
    return g;
}

static const char *keep_file(rebuild *r, const char *file) {
    if (!file) return NULL;
    for (int i = 0; i < 8; i++)
        if (r->file_old[i] == file) return r->file_new[i];
    const char *c = jx__arena_strdup(&r->t->arena, file);
    if (!c) return file; /* out of memory: the bind will notice soon enough */
    r->file_old[r->file_next] = file;
    r->file_new[r->file_next] = c;
    r->file_next = (r->file_next + 1) & 7;
    return c;
}

static bool has_fns(const jx__eqn *e) {
    for (int a = 0; a < e->nattr; a++)
        if (e->attrs[a].kind == JX_AK_FNS) return true;
    return false;
}

/* e's attributes with nested functions mapped, in one malloc'd block (free() it);
 * NULL on failure (error recorded on the trace). */
static jx__attr *map_attrs(rebuild *r, const jx__eqn *e) {
    size_t nfns = 0;
    for (int a = 0; a < e->nattr; a++)
        if (e->attrs[a].kind == JX_AK_FNS) nfns += (size_t)e->attrs[a].n;
    jx__attr *at = malloc(sizeof *at * (size_t)e->nattr + sizeof(jx_fn *) * (nfns ? nfns : 1));
    if (!at) {
        jx__trace_fail(r->t, JX_ERR_NOMEM, e->loc, "pass", "out of memory");
        return NULL;
    }
    jx_fn **fns = (jx_fn **)(at + e->nattr);
    memcpy(at, e->attrs, sizeof *at * (size_t)e->nattr);
    for (int a = 0; a < e->nattr; a++) {
        if (at[a].kind != JX_AK_FNS) continue;
        for (int j = 0; j < at[a].n; j++) {
            fns[j] = map_nested(r, at[a].u.fns[j]);
            if (!fns[j]) {
                free(at);
                return NULL;
            }
        }
        at[a].u.fns = fns;
        fns += at[a].n;
    }
    return at;
}

static bool memo_init(rebuild *r, const uint8_t *keep) {
    size_t n = 0;
    for (int k = 0; k < r->f->neqn; k++)
        if (!keep || keep[k])
            for (int a = 0; a < r->eqns[k].nattr; a++)
                if (r->eqns[k].attrs[a].kind == JX_AK_FNS) n += (size_t)r->eqns[k].attrs[a].n;
    if (!n || !r->nested) return true;
    r->memo_cap = 8;
    while (r->memo_cap < 2 * n) r->memo_cap *= 2;
    r->memo = calloc(r->memo_cap, sizeof *r->memo);
    return r->memo != NULL;
}

static void memo_free(rebuild *r) {
    for (size_t i = 0; r->memo && i < r->memo_cap; i++) jx_fn_release(r->memo[i].new_fn);
    free(r->memo);
}

static jx_val atom_val(jx__trace *t, const jx_val *env, jx__atom a) {
    return a.var >= 0 ? env[a.var] : jx__lit_val(t, a);
}

/* Replays equation k; false once the trace has an error. */
static bool replay(rebuild *r, int k, const jx__atom *sub, jx_val *env, jx_val *args, jx_val *outs) {
    const jx__eqn *e = &r->eqns[k];
    jx__trace *t = r->t;
    for (int i = 0; i < e->nin; i++) args[i] = atom_val(t, env, jx__sub_atom(sub, &e->in[i]));
    jx__attr *attrs = r->nested && has_fns(e) ? map_attrs(r, e) : e->attrs;
    if (!attrs && e->nattr) return false;
    jx_loc loc = e->loc;
    loc.file = keep_file(r, loc.file);
    int no = 0;
    jx__bind(loc, (jx_prim)e->prim, e->nin, args, e->nattr, attrs, e->nout, outs, &no);
    if (attrs != e->attrs) free(attrs);
    if (t->status != JX_OK) return false;
    const char *pname = jx__prims[e->prim].name;
    if (no != e->nout) {
        jx__trace_fail(t, JX_ERR_TYPECHECK, loc, "typecheck", "equation %d (%s): recorded %d outputs, rule gives %d",
                       k, pname, e->nout, no);
        return false;
    }
    for (int i = 0; i < no; i++) {
        const jx_aval *got = &t->vars[t->vals[outs[i].id].var], *want = &r->f->vars[e->out[i]];
        if (!jx_aval_equal(got, want)) {
            jx__trace_fail(t, JX_ERR_TYPECHECK, loc, "typecheck", "equation %d (%s): recorded %s, rule gives %s", k,
                           pname, jx__avs(want), jx__avs(got));
            return false;
        }
        env[e->out[i]] = outs[i];
    }
    return true;
}

jx_fn *jx__fn_rebuild(const jx_fn *f, const uint8_t *keep, const jx__atom *sub, jx__pass_fn nested) {
    return jx__fn_rebuild_eqns(f, f->eqns, keep, sub, nested);
}

jx_fn *jx__fn_rebuild_eqns(const jx_fn *f, const jx__eqn *eqns, const uint8_t *keep, const jx__atom *sub,
                           jx__pass_fn nested) {
    int maxin = f->nin, maxout = f->nout;
    for (int k = 0; k < f->neqn; k++) {
        if (eqns[k].nin > maxin) maxin = eqns[k].nin;
        if (eqns[k].nout > maxout) maxout = eqns[k].nout;
    }
    rebuild r;
    memset(&r, 0, sizeof r);
    r.f = f;
    r.eqns = eqns;
    r.nested = nested;
    jx_aval *inav = malloc(sizeof *inav * (size_t)(f->nin ? f->nin : 1));
    jx_val *env = malloc(sizeof *env * (size_t)(f->nvars ? f->nvars : 1));
    jx_val *args = malloc(sizeof *args * (size_t)(maxin ? maxin : 1));
    jx_val *outs = malloc(sizeof *outs * (size_t)(maxout ? maxout : 1));
    jx_fn *g = NULL;
    if (!inav || !env || !args || !outs || !memo_init(&r, keep)) {
        jx__fail(JX_ERR_NOMEM, jx__noloc, f->name, "out of memory in a pass");
        goto done;
    }
    for (int i = 0; i < f->nin; i++) inav[i] = f->vars[f->in[i]];
    r.t = jx__trace_begin(jx__noloc, f->name, f->nin, inav, args, false);
    if (!r.t) goto done;
    /* unset variables read as invalid values, so a bad substitution fails cleanly */
    for (int v = 0; v < f->nvars; v++) env[v] = (jx_val){r.t->id, -1};
    for (int i = 0; i < f->nin; i++) env[f->in[i]] = args[i];
    for (int k = 0; k < f->neqn; k++)
        if ((!keep || keep[k]) && !replay(&r, k, sub, env, args, outs)) break;
    for (int i = 0; i < f->nout && r.t->status == JX_OK; i++)
        outs[i] = atom_val(r.t, env, jx__sub_atom(sub, &f->out[i]));
    g = jx__trace_end(r.t, f->nout, outs, NULL, NULL);
done:
    memo_free(&r);
    free(inav);
    free(env);
    free(args);
    free(outs);
    return g;
}

jx__atom *jx__sub_identity(const jx_fn *f) {
    jx__atom *sub = calloc((size_t)(f->nvars ? f->nvars : 1), sizeof *sub);
    if (!sub) {
        jx__fail(JX_ERR_NOMEM, jx__noloc, f->name, "out of memory in a pass");
        return NULL;
    }
    for (int v = 0; v < f->nvars; v++) {
        sub[v].var = v;
        sub[v].dtype = f->vars[v].dtype;
    }
    return sub;
}

bool jx__atom_same(const jx__atom *a, const jx__atom *b) {
    if (a->var >= 0 || b->var >= 0) return a->var == b->var;
    return a->dtype == b->dtype && memcmp(&a->lit, &b->lit, sizeof a->lit) == 0;
}

jx_array *jx__lit_array(const jx__atom *a) {
    jx_aval av;
    memset(&av, 0, sizeof av);
    av.dtype = a->dtype;
    jx_array *x = jx__array_alloc(&av);
    if (!x) return NULL;
    void *d = x->data;
    switch (a->dtype) {
    case JX_BOOL:
    case JX_U8: *(uint8_t *)d = (uint8_t)a->lit.i; break;
    case JX_I32: *(int32_t *)d = (int32_t)(uint32_t)a->lit.i; break;
    case JX_U32: *(uint32_t *)d = (uint32_t)a->lit.i; break;
    case JX_I64: *(int64_t *)d = a->lit.i; break;
    case JX_F16: *(uint16_t *)d = jx_f32_to_f16((float)a->lit.f); break;
    case JX_BF16: *(uint16_t *)d = jx_f32_to_bf16((float)a->lit.f); break;
    case JX_F32: *(float *)d = (float)a->lit.f; break;
    case JX_F64: *(double *)d = a->lit.f; break;
    default: break;
    }
    return x;
}

jx__atom jx__array_lit(const jx_array *x) {
    jx__atom a;
    memset(&a, 0, sizeof a);
    a.var = -1;
    a.dtype = x->aval.dtype;
    const void *d = x->data;
    switch (a.dtype) {
    case JX_BOOL: a.lit.i = *(const uint8_t *)d != 0; break;
    case JX_U8: a.lit.i = *(const uint8_t *)d; break;
    case JX_I32: a.lit.i = *(const int32_t *)d; break;
    case JX_U32: a.lit.i = *(const uint32_t *)d; break;
    case JX_I64: a.lit.i = *(const int64_t *)d; break;
    case JX_F16: a.lit.f = jx_f16_to_f32(*(const uint16_t *)d); break;
    case JX_BF16: a.lit.f = jx_bf16_to_f32(*(const uint16_t *)d); break;
    case JX_F32: a.lit.f = *(const float *)d; break;
    case JX_F64: a.lit.f = *(const double *)d; break;
    default: break;
    }
    return a;
}
