/* fuse_rows.c: row groups, for backends whose loop kernels compute a row's values once
 * per row (the CPU's: src/backends/cpu/codegen_rows.c).
 *
 * fuse.c never lets a group read a reduction's result at more than one element (that
 * would fold the reduction again for each), so a softmax is four kernels: max, exp,
 * sum, divide, each a pass over memory. Here a LOOP group A merges into the one LOOP
 * group B that reads its results, when B's space S has rank r >= 2 and either
 *  - A's space is S's row shape S[0..r-2] (up to dims of 1), every reduction in A folds
 *    the last axes of its operand into exactly that shape, and B reads A's results only
 *    through elementwise ops and reshapes that keep the row shape, down to broadcasts
 *    along the row (broadcast_in_dim with dims 0, 1, ...): the kernel then reaches each
 *    of A's values at one index per row, where it computed them first; or
 *  - A's space is S and B reads A's results at most twice, in elementwise ops of shape
 *    S or in reductions of the last axis into the row shape (the kernel buffers such a
 *    reduction's operand row and reads it again from there).
 * Repeated until nothing merges: softmax, log-softmax and layer norm become one kernel
 * each, and so do their gradients. */
#include <stdlib.h>
#include <string.h>

#include "fuse_state.h"

static bool is_elementwise(int prim) {
    int c = jx__prims[prim].cls;
    return c == JX__UNARY || c == JX__BINARY || c == JX__COMPARE || prim == JX_PRIM_SELECT;
}

static bool is_reshape(int prim) {
    return prim == JX_PRIM_RESHAPE || prim == JX_PRIM_SQUEEZE || prim == JX_PRIM_EXPAND_DIMS;
}

static bool same_shape(const jx_aval *a, const jx_aval *b) {
    return a->rank == b->rank && !memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->rank);
}

/* Whether a has S's row shape exactly. */
static bool row_shape(const jx_aval *a, const jx_aval *S) {
    return a->rank == S->rank - 1 && !memcmp(a->shape, S->shape, sizeof(int64_t) * (size_t)a->rank);
}

/* Whether a has S's row shape once dims of 1 are dropped from both. */
static bool row_like(const jx_aval *a, const jx_aval *S) {
    int i = 0, j = 0;
    for (;; i++, j++) {
        while (i < a->rank && a->shape[i] == 1) i++;
        while (j < S->rank - 1 && S->shape[j] == 1) j++;
        if (i == a->rank || j == S->rank - 1) return i == a->rank && j == S->rank - 1;
        if (a->shape[i] != S->shape[j]) return false;
    }
}

/* Whether reduction e folds the last axes of its operand (and only those) into S's row
 * shape; last_only: the last axis alone. */
static bool row_reduction(const jx_fn *f, const jx__eqn *e, const jx_aval *S, bool last_only) {
    if (jx__prims[e->prim].cls != JX__REDUCE || e->in[0].var < 0) return false;
    if (!row_shape(&f->vars[e->out[0]], S)) return false;
    const jx_aval *x = &f->vars[e->in[0].var];
    jx_ints ax = jx__attr_ints(e->nattr, e->attrs, JX_A_AXES);
    if (e->prim == JX_PRIM_ARGMAX || e->prim == JX_PRIM_ARGMIN)
        return jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0) == x->rank - 1;
    if (ax.n < 1 || (last_only && ax.n != 1)) return false;
    for (int i = 0; i < ax.n; i++)
        if (ax.v[i] != x->rank - ax.n + i) return false;
    return true;
}

/* Whether broadcast e maps its operand's dims onto the first dims of its result. */
static bool row_broadcast(const jx__eqn *e) {
    if (e->prim != JX_PRIM_BROADCAST_IN_DIM) return false;
    jx_ints bd = jx__attr_ints(e->nattr, e->attrs, JX_A_DIMS);
    for (int j = 0; j < bd.n; j++)
        if (bd.v[j] != j) return false;
    return true;
}

static bool escapes(const fstate *s, int32_t id, int32_t v) {
    if (s->fn_out[v]) return true;
    for (int32_t u = s->ustart[v]; u < s->ustart[v + 1]; u++)
        if (s->gid[s->users[u]] != id) return true;
    return false;
}

/* Group id's space: the shape of its results read elsewhere (false: none, or several). */
static bool group_space(const fstate *s, int32_t id, jx_aval *space) {
    const jx_fn *f = s->f;
    bool any = false;
    for (int32_t k = 0; k < f->neqn; k++) {
        if (s->gid[k] != id) continue;
        const jx__eqn *e = &f->eqns[k];
        for (int o = 0; o < e->nout; o++) {
            int32_t v = e->out[o];
            if (!escapes(s, id, v)) continue;
            if (any && !same_shape(space, &f->vars[v])) return false;
            *space = f->vars[v], any = true;
        }
    }
    return any;
}

/* The one group reading group id's results (-1: none, several, or one is f's). */
static int32_t reader_group(const fstate *s, int32_t id) {
    const jx_fn *f = s->f;
    int32_t reader = -1;
    for (int32_t k = 0; k < f->neqn; k++) {
        if (s->gid[k] != id) continue;
        const jx__eqn *e = &f->eqns[k];
        for (int o = 0; o < e->nout; o++) {
            int32_t v = e->out[o];
            if (s->fn_out[v]) return -1;
            for (int32_t u = s->ustart[v]; u < s->ustart[v + 1]; u++) {
                int32_t g = s->gid[s->users[u]];
                if (g == id) continue;
                if (reader >= 0 && g != reader) return -1;
                reader = g;
            }
        }
    }
    return reader;
}

/* Whether A may merge into B (its one reader), B's space S, on a backend buffering rows
 * of up to row_bytes. mark: in the rows case, A's results and what B computes from them
 * at the row shape; in the other, A's results that B reduces along the rows (buffered:
 * read again from the buffer, at no cost). */
static bool mergeable(const fstate *s, int32_t a, const jx_aval *SA, int32_t b, const jx_aval *S, bool *mark,
                      int64_t row_bytes) {
    const jx_fn *f = s->f;
    if (S->rank < 2 || S->shape[S->rank - 1] < 2) return false;
    if (S->shape[S->rank - 1] * (int64_t)jx_dtype_size(S->dtype) > row_bytes) return false;
    bool rows = row_like(SA, S);
    if (!rows && !same_shape(SA, S)) return false;
    int reads = 0;
    for (int pass = rows ? 1 : 0; pass < 2; pass++)
        for (int32_t k = 0; k < f->neqn; k++) {
            const jx__eqn *e = &f->eqns[k];
            if (rows && s->gid[k] == a) {
                if (jx__prims[e->prim].cls == JX__REDUCE && !row_reduction(f, e, S, false)) return false;
                for (int o = 0; o < e->nout; o++) mark[e->out[o]] = escapes(s, a, e->out[o]);
                continue;
            }
            if (s->gid[k] != b) continue;
            if (pass == 0) { /* A's results that B reduces along the rows */
                if (row_reduction(f, e, S, true) && s->producer[e->in[0].var] >= 0 &&
                    s->gid[s->producer[e->in[0].var]] == a)
                    mark[e->in[0].var] = true;
                continue;
            }
            bool reads_a = false, reads_row = false, reads_other = false;
            for (int i = 0; i < e->nin; i++) {
                int32_t v = e->in[i].var;
                if (v < 0 || s->producer[v] < 0) continue;
                reads_a |= s->gid[s->producer[v]] == a;
                reads_other |= s->gid[s->producer[v]] == a && !mark[v];
                reads_row |= mark[v];
            }
            const jx_aval *o = &f->vars[e->out[0]];
            if (rows && reads_row) {
                if (row_broadcast(e) && same_shape(o, S)) continue;
                if (!(is_elementwise(e->prim) || is_reshape(e->prim)) || !row_like(o, S)) return false;
                mark[e->out[0]] = true;
            } else if (!rows && reads_a) {
                if (!(is_elementwise(e->prim) && same_shape(o, S)) && !row_reduction(f, e, S, true)) return false;
                if (reads_other && ++reads > 2) return false;
            }
        }
    return true;
}

void jx__fuse_rows(fstate *s, int64_t row_bytes) {
    const jx_fn *f = s->f;
    bool *rowdep = malloc(sizeof(bool) * (size_t)(f->nvars + 1));
    if (!rowdep) return; /* out of memory: the groups stay as they are, still right */
    for (bool again = true; again;) {
        again = false;
        for (int32_t i = 0; i < s->norder && !again; i++) {
            int32_t a = s->order[i];
            jx_aval SA, S;
            int32_t b = s->loopg[a] ? reader_group(s, a) : -1;
            if (b < 0 || !s->loopg[b] || !group_space(s, a, &SA) || !group_space(s, b, &S)) continue;
            memset(rowdep, 0, sizeof(bool) * (size_t)(f->nvars + 1));
            if (!mergeable(s, a, &SA, b, &S, rowdep, row_bytes)) continue;
            for (int32_t k = 0; k < f->neqn; k++)
                if (s->gid[k] == a) s->gid[k] = b;
            memmove(&s->order[i], &s->order[i + 1], sizeof(int32_t) * (size_t)(s->norder - i - 1));
            s->norder--;
            again = true;
        }
    }
    free(rowdep);
}
