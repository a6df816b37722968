/* codegen_loop.c: one LOOP group as an LLVM function
 *     void k(void **bufs, int64_t begin, int64_t end)
 * bufs: the group's inputs (g->in order) then its outputs (g->out), row-major. The
 * iteration space is the outputs' shape (all of them share it), walked flat from begin
 * to end: the start is unravelled once, then an inner loop runs along the last dim (the
 * one LLVM vectorises) and a carry steps the outer dims.
 *
 * Each output element is computed by evaluating the group's equations backwards from it
 * at an index: elementwise ops pass the index on, movement ops map it (broadcast,
 * transpose, reshape, slice, rev, concatenate, pad, and gather through the index it
 * reads), iota reads it, a scatter_add or a cumulative op folds the values landing on
 * the element (codegen_owner.c), a reduction folds its operand in the
 * interpreter's order (codegen_reduce.c), so results are bit-identical to it and
 * independent of how the range is split; a value that comes from outside the group is
 * loaded. Column reductions (codegen_colred.c) make the walk go by tiles of an output
 * row, each tile's reductions accumulated first; the row's own reductions (a softmax's
 * max and sum) are computed once at the start of each row (codegen_rows.c). Values are memoised per (variable,
 * index) so a DAG is not expanded into a tree; every output is computed before any is
 * stored, so an output may share an input's storage when that input is only read at the
 * written element (jx__kernel_inplace_ok). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen.h"

/* ------------------------------------------------------------------ evaluation */

static LLVMValueRef eval_var(jx__cg *cg, int32_t v, const jx__cg_idx *I);

/* Atom a read for the output element at I (rank-0 operands broadcast). */
LLVMValueRef jx__cg_eval_atom(jx__cg *cg, const jx__atom *a, const jx__cg_idx *I) {
    if (a->var < 0) return jx__cg_literal(cg, a);
    if (!I) return eval_var(cg, a->var, NULL); /* the index's allocation failed: out of memory */
    const jx_aval *av = &cg->f->vars[a->var];
    if (av->rank == 0 && I->rank != 0) return eval_var(cg, a->var, jx__cg_make_idx(cg, av, NULL, jx__cg_i64(cg, 0)));
    return eval_var(cg, a->var, I);
}

static LLVMValueRef load_input(jx__cg *cg, int32_t v, const jx__cg_idx *I) {
    int s = cg->slot[v];
    if (s < 0) return NULL;
    const jx_aval *av = &cg->f->vars[v];
    LLVMTypeRef ty = jx__cg_type(cg, av->dtype);
    if (!cg->root || I->lin != cg->root->lin) cg->identity_in[s] = false; /* none yet: a column sum */
    LLVMValueRef lin = I->lin;
    LLVMValueRef p = LLVMBuildInBoundsGEP2(cg->b, ty, cg->bufs[s], &lin, 1, "");
    return LLVMBuildLoad2(cg->b, ty, p, "");
}

/* i64 v clamped into [0, n - 1]: a data-dependent or shifted index read in bounds. */
static LLVMValueRef clamp_index(jx__cg *cg, LLVMValueRef v, int64_t n) {
    v = LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, v, jx__cg_i64(cg, 0), ""), jx__cg_i64(cg, 0), v, "");
    return LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGT, v, jx__cg_i64(cg, n - 1), ""), jx__cg_i64(cg, n - 1),
                           v, "");
}

/* Concatenate e at I: every operand read at I moved to its own part of the axis (the
 * index clamped into the operand, so every read is in bounds), the one whose part holds
 * I selected; at most JX__CONCAT_LOOP_MAX operands (fuse.c). */
static LLVMValueRef eval_concatenate(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I) {
    const jx_fn *f = cg->f;
    int axis = (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    LLVMValueRef pos = I->dim[axis], r = NULL;
    int64_t start = 0;
    for (int k = 0; k < e->nin; k++) {
        jx_aval ak = jx__atom_aval(f, &e->in[k]);
        int64_t n = ak.shape[axis];
        if (n == 0) continue; /* no part of the axis, and no element to read */
        LLVMValueRef dims[JX_MAX_RANK];
        for (int d = 0; d < ak.rank; d++) dims[d] = I->dim[d];
        dims[axis] = clamp_index(cg, LLVMBuildSub(cg->b, pos, jx__cg_i64(cg, start), ""), n);
        LLVMValueRef x = jx__cg_eval_atom(cg, &e->in[k], jx__cg_make_idx(cg, &ak, dims, NULL));
        r = r ? LLVMBuildSelect(cg->b, LLVMBuildICmp(cg->b, LLVMIntSGE, pos, jx__cg_i64(cg, start), ""), x, r, "") : x;
        start += n;
    }
    return r ? r : LLVMConstNull(jx__cg_type(cg, f->vars[e->out[0]].dtype)); /* an empty result */
}

/* Pad e at I: the operand at (I - lo) / (interior + 1), clamped into it so that the read
 * is in bounds, where every dim lands on an element of it; the padding value elsewhere
 * (the edges, and the interior padding between elements: a transposed conv's dilated
 * input). */
static LLVMValueRef eval_pad(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I) {
    const jx_fn *f = cg->f;
    jx_aval xa = jx__atom_aval(f, &e->in[0]), va = jx__atom_aval(f, &e->in[1]);
    jx_ints lo = jx__attr_ints(e->nattr, e->attrs, JX_A_LO), gap = jx__attr_ints(e->nattr, e->attrs, JX_A_INTERIOR);
    LLVMValueRef pad = jx__cg_eval_atom(cg, &e->in[1], jx__cg_make_idx(cg, &va, NULL, NULL)), inside = NULL;
    if (jx_aval_size(&xa) == 0) return pad;
    LLVMValueRef dims[JX_MAX_RANK];
    for (int d = 0; d < xa.rank; d++) {
        int64_t n = xa.shape[d], k = d < gap.n && n > 1 ? gap.v[d] + 1 : 1;
        LLVMValueRef t = lo.v[d] ? LLVMBuildSub(cg->b, I->dim[d], jx__cg_i64(cg, lo.v[d]), "") : I->dim[d];
        LLVMValueRef at = k > 1 ? LLVMBuildSDiv(cg->b, t, jx__cg_i64(cg, k), "") : t;
        LLVMValueRef below = LLVMBuildICmp(cg->b, LLVMIntSLT, t, jx__cg_i64(cg, 0), "");
        LLVMValueRef above = LLVMBuildICmp(cg->b, LLVMIntSGT, at, jx__cg_i64(cg, n - 1), "");
        LLVMValueRef out = LLVMBuildOr(cg->b, below, above, "");
        if (k > 1) { /* between two elements */
            LLVMValueRef r = LLVMBuildSub(cg->b, t, LLVMBuildMul(cg->b, at, jx__cg_i64(cg, k), ""), "");
            out = LLVMBuildOr(cg->b, out, LLVMBuildICmp(cg->b, LLVMIntNE, r, jx__cg_i64(cg, 0), ""), "");
        }
        LLVMValueRef in = LLVMBuildNot(cg->b, out, "");
        inside = inside ? LLVMBuildAnd(cg->b, inside, in, "") : in;
        at = LLVMBuildSelect(cg->b, below, jx__cg_i64(cg, 0), at, "");
        dims[d] = LLVMBuildSelect(cg->b, above, jx__cg_i64(cg, n - 1), at, "");
    }
    LLVMValueRef x = jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &xa, dims, NULL));
    return inside ? LLVMBuildSelect(cg->b, inside, x, pad, "") : x;
}

/* Gather e's geometry: x (B, P, A, S) indexed along axis by indices (B, I); the output
 * (B, P, I, S). */
typedef struct gather_geom {
    jx_aval xa, ia;
    int axis, nbatch, ni;
} gather_geom;

static gather_geom gather_geom_of(const jx__cg *cg, const jx__eqn *e) {
    gather_geom g = {jx__atom_aval(cg->f, &e->in[0]), jx__atom_aval(cg->f, &e->in[1]),
                     (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0), (int)jx__attr_int(e->nattr, e->attrs, JX_A_NBATCH, 0),
                     0};
    g.ni = g.ia.rank - g.nbatch;
    return g;
}

/* The index gather e reads at output dims dim[], clamped into the axis as the interpreter
 * clamps. */
static LLVMValueRef gather_index(jx__cg *cg, const jx__eqn *e, const gather_geom *g, const LLVMValueRef *dim) {
    LLVMValueRef idims[JX_MAX_RANK];
    int64_t na = g->xa.shape[g->axis];
    for (int d = 0; d < g->nbatch; d++) idims[d] = dim[d];
    for (int d = 0; d < g->ni; d++) idims[g->nbatch + d] = dim[g->axis + d];
    LLVMValueRef a = jx__cg_eval_atom(cg, &e->in[1], jx__cg_make_idx(cg, &g->ia, idims, NULL));
    return clamp_index(cg, jx__cg_convert(cg, a, g->ia.dtype, JX_I64), na);
}

/* At the start of a row (outer dims row_dims): the index of each gather of the group
 * whose result is the space and whose index dims are all outer ones (an embedding
 * lookup: a row of the table per row of the result). Computed there, the row's reads
 * are contiguous and vectorise as loads; computed per element, LLVM cannot see that the
 * index does not change along the row and gathers element by element. */
static void emit_gather_rows(jx__cg *cg, const jx_aval *space) {
    cg->ngidx = 0;
    for (int32_t k = 0; k < cg->g->neqn && cg->ngidx < JX__CG_MAXGIDX; k++) {
        const jx__eqn *e = &cg->f->eqns[cg->g->eqns[k]];
        if (e->prim != JX_PRIM_GATHER || !jx__cg_same_shape(&cg->f->vars[e->out[0]], space)) continue;
        gather_geom g = gather_geom_of(cg, e);
        if (g.xa.shape[g.axis] == 0 || g.axis + g.ni > space->rank - 1) continue; /* an index dim is the row's */
        cg->gidx[cg->ngidx].e = e;
        cg->gidx[cg->ngidx++].at = gather_index(cg, e, &g, cg->row_dims);
    }
}

/* Gather e at I: x at (b, p, clamp(indices[b, i]), s) for the output index (b, p, i, s),
 * as the interpreter computes it (an empty axis gives zeros); the index the row's start
 * computed when I lies in that row. */
static LLVMValueRef eval_gather(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I) {
    gather_geom g = gather_geom_of(cg, e);
    if (g.xa.shape[g.axis] == 0) return LLVMConstNull(jx__cg_type(cg, g.xa.dtype));
    LLVMValueRef a = NULL, xdims[JX_MAX_RANK];
    for (int k = 0; k < cg->ngidx && !a; k++) {
        bool same = cg->gidx[k].e == e && I->rank == cg->row_rank + 1;
        for (int d = 0; same && d < cg->row_rank; d++) same = I->dim[d] == cg->row_dims[d];
        if (same) a = cg->gidx[k].at;
    }
    if (!a) a = gather_index(cg, e, &g, I->dim);
    for (int d = 0; d < g.axis; d++) xdims[d] = I->dim[d];
    xdims[g.axis] = a;
    for (int d = g.axis + 1; d < g.xa.rank; d++) xdims[d] = I->dim[d - 1 + g.ni];
    return jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &g.xa, xdims, NULL));
}

/* The value at I of output v of equation e. */
static LLVMValueRef eval_eqn(jx__cg *cg, const jx__eqn *e, int32_t v, const jx__cg_idx *I) {
    const jx_fn *f = cg->f;
    const jx_aval *oa = &f->vars[e->out[0]];
    const jx_aval in0 = e->nin > 0 ? jx__atom_aval(f, &e->in[0]) : *oa;
    LLVMValueRef dims[JX_MAX_RANK] = {0};
    switch (e->prim) {
    case JX_PRIM_IOTA: {
        LLVMValueRef k = I->dim[jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0)];
        if (oa->dtype == JX_F32 || oa->dtype == JX_F64) return LLVMBuildSIToFP(cg->b, k, jx__cg_type(cg, oa->dtype), "");
        return jx__cg_convert(cg, k, JX_I64, oa->dtype);
    }
    case JX_PRIM_BROADCAST_IN_DIM: {
        jx_ints bd = jx__attr_ints(e->nattr, e->attrs, JX_A_DIMS);
        for (int j = 0; j < in0.rank; j++)
            dims[j] = in0.shape[j] == oa->shape[bd.v[j]] ? I->dim[bd.v[j]] : jx__cg_i64(cg, 0);
        return jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &in0, dims, NULL));
    }
    case JX_PRIM_TRANSPOSE: {
        jx_ints perm = jx__attr_ints(e->nattr, e->attrs, JX_A_PERM);
        for (int d = 0; d < oa->rank; d++) dims[perm.v[d]] = I->dim[d];
        return jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &in0, dims, NULL));
    }
    case JX_PRIM_SLICE: { /* output index i reads start + i * stride */
        jx_ints start = jx__attr_ints(e->nattr, e->attrs, JX_A_START);
        jx_ints step = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES);
        for (int d = 0; d < oa->rank; d++) {
            int64_t s0 = d < start.n ? start.v[d] : 0, k = d < step.n ? step.v[d] : 1;
            LLVMValueRef i = k == 1 ? I->dim[d] : LLVMBuildMul(cg->b, I->dim[d], jx__cg_i64(cg, k), "");
            dims[d] = s0 ? LLVMBuildAdd(cg->b, i, jx__cg_i64(cg, s0), "") : i;
        }
        return jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &in0, dims, NULL));
    }
    case JX_PRIM_RESHAPE:
    case JX_PRIM_SQUEEZE:
    case JX_PRIM_EXPAND_DIMS: return jx__cg_eval_atom(cg, &e->in[0], jx__cg_reshape_idx(cg, &in0, I));
    case JX_PRIM_REV: { /* output index i along a reversed dim reads n - 1 - i */
        jx_ints rd = jx__attr_ints(e->nattr, e->attrs, JX_A_DIMS);
        for (int d = 0; d < oa->rank; d++) dims[d] = I->dim[d];
        for (int j = 0; j < rd.n; j++)
            dims[rd.v[j]] = LLVMBuildSub(cg->b, jx__cg_i64(cg, oa->shape[rd.v[j]] - 1), I->dim[rd.v[j]], "");
        return jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &in0, dims, NULL));
    }
    case JX_PRIM_CONCATENATE: return eval_concatenate(cg, e, I);
    case JX_PRIM_PAD: return eval_pad(cg, e, I);
    case JX_PRIM_GATHER: return eval_gather(cg, e, I);
    case JX_PRIM_SCATTER_ADD:
    case JX_PRIM_CUMSUM:
    case JX_PRIM_CUMPROD:
    case JX_PRIM_CUMMAX:
    case JX_PRIM_CUMMIN: return jx__cg_eval_owner(cg, e, I);
    case JX_PRIM_THREEFRY2X32: { /* both words are computed for each; LLVM keeps one copy */
        LLVMValueRef w[4];
        for (int i = 0; i < 4; i++) w[i] = jx__cg_eval_atom(cg, &e->in[i], I);
        return jx__cg_threefry(cg, w, v == e->out[1]);
    }
    default: break;
    }
    if (jx__prims[e->prim].cls == JX__REDUCE) return jx__cg_eval_reduce(cg, e, I);
    jx__pclass c = jx__prims[e->prim].cls;
    if (c != JX__UNARY && c != JX__BINARY && c != JX__COMPARE && e->prim != JX_PRIM_SELECT)
        return jx__cg_unsupported(cg, e, oa->dtype, "this primitive in a loop kernel");
    LLVMValueRef in[3];
    jx_dtype dt[3];
    for (int i = 0; i < e->nin && i < 3; i++) {
        in[i] = jx__cg_eval_atom(cg, &e->in[i], I);
        dt[i] = e->in[i].var >= 0 ? f->vars[e->in[i].var].dtype : e->in[i].dtype;
    }
    if (e->prim == JX_PRIM_SELECT) dt[0] = dt[1]; /* the operation's dtype is the branches' */
    return jx__cg_elementwise(cg, e, dt, in);
}

static LLVMValueRef eval_var(jx__cg *cg, int32_t v, const jx__cg_idx *I) {
    if (!I) return jx__cg_unsupported(cg, NULL, cg->f->vars[v].dtype, "out of memory");
    for (int i = cg->nmemo - 1; i >= 0; i--)
        if (cg->memo[i].var == v && cg->memo[i].idx == I) return cg->memo[i].val;
    LLVMValueRef r = jx__cg_row_value(cg, v, I);
    if (r) return r;
    if (cg->producer[v] < 0) {
        r = load_input(cg, v, I);
        if (!r) return jx__cg_unsupported(cg, NULL, cg->f->vars[v].dtype, "a value the group does not receive");
    } else {
        r = eval_eqn(cg, &cg->f->eqns[cg->producer[v]], v, I);
    }
    if (cg->nmemo == cg->capmemo) {
        jx__cg_memo *m = realloc(cg->memo, sizeof *m * (size_t)(2 * cg->capmemo + 32));
        if (!m) return r; /* not memoised: the value is still right */
        cg->memo = m;
        cg->capmemo = 2 * cg->capmemo + 32;
    }
    cg->memo[cg->nmemo++] = (jx__cg_memo){v, I, r};
    return r;
}

/* ------------------------------------------------------------------ the kernel */

bool jx__cg_same_shape(const jx_aval *a, const jx_aval *b) {
    return a->rank == b->rank && !memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->rank);
}

/* The body for one element at the root index: every output evaluated, then stored. */
static void emit_body(jx__cg *cg, const jx__cg_idx *root) {
    const jx__group *g = cg->g;
    LLVMValueRef vals[64], *v = g->nout <= 64 ? vals : malloc(sizeof(LLVMValueRef) * (size_t)g->nout);
    if (!v) {
        jx__cg_unsupported(cg, NULL, JX_F32, "out of memory");
        return;
    }
    for (int o = 0; o < g->nout; o++) v[o] = eval_var(cg, g->out[o], root);
    for (int o = 0; o < g->nout; o++) {
        LLVMTypeRef ty = jx__cg_type(cg, cg->f->vars[g->out[o]].dtype);
        LLVMValueRef lin = root->lin;
        LLVMBuildStore(cg->b, v[o], LLVMBuildInBoundsGEP2(cg->b, ty, cg->bufs[g->nin + o], &lin, 1, ""));
    }
    if (v != vals) free(v);
}

/* The flat walk of [begin, end) over the space (rank >= 1 here; rank 0 walks [1]):
 * unravel begin once, then rows along the last dim (in tiles of JX__CG_COL_TILE when there are
 * column reductions, accumulated first) with a carry into the outer dims. */
static void emit_walk(jx__cg *cg, const jx_aval *space, LLVMValueRef begin, LLVMValueRef end) {
    LLVMBuilderRef b = cg->b;
    int r = space->rank ? space->rank : 1;
    int64_t shape[JX_MAX_RANK];
    for (int d = 0; d < r; d++) shape[d] = space->rank ? space->shape[d] : 1;
    LLVMValueRef at[JX_MAX_RANK], pos = jx__cg_alloca(cg, cg->i64), rem = begin;
    for (int d = r - 1; d >= 0; d--) {
        at[d] = jx__cg_alloca(cg, cg->i64);
        LLVMBuildStore(b, LLVMBuildURem(b, rem, jx__cg_i64(cg, shape[d]), ""), at[d]);
        rem = LLVMBuildUDiv(b, rem, jx__cg_i64(cg, shape[d]), "");
    }
    LLVMBuildStore(b, begin, pos);
    /* rows */
    jx__cg_loop rows = {pos, jx__cg_block(cg, "rows"), NULL, NULL};
    LLVMBasicBlockRef row = jx__cg_block(cg, "row");
    rows.exit = jx__cg_block(cg, "done");
    LLVMBuildBr(b, rows.cond);
    LLVMPositionBuilderAtEnd(b, rows.cond);
    LLVMValueRef i = LLVMBuildLoad2(b, cg->i64, pos, "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, i, end, ""), row, rows.exit);
    LLVMPositionBuilderAtEnd(b, row);
    LLVMValueRef dims[JX_MAX_RANK] = {0};
    for (int d = 0; d < r - 1; d++) dims[d] = LLVMBuildLoad2(b, cg->i64, at[d], "");
    LLVMValueRef j0 = LLVMBuildLoad2(b, cg->i64, at[r - 1], "");
    LLVMValueRef left = LLVMBuildSub(b, end, i, ""), inrow = LLVMBuildSub(b, jx__cg_i64(cg, shape[r - 1]), j0, "");
    LLVMValueRef cnt = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, left, inrow, ""), left, inrow, "");
    if (r >= 2 && !cg->no_rows) {
        jx__cg_emit_row_values(cg, space, dims);
        emit_gather_rows(cg, space);
    }
    if (cg->ncol) {
        LLVMValueRef tile = jx__cg_i64(cg, JX__CG_COL_TILE);
        cnt = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, cnt, tile, ""), cnt, tile, "");
        cg->col_j0 = j0;
        for (int c = 0; c < cg->ncol; c++) jx__cg_emit_col_reduction(cg, c, dims, j0, cnt);
    }
    /* the inner loop along the last dim */
    jx__cg_loop inner;
    LLVMValueRef j1 = LLVMBuildAdd(b, j0, cnt, "");
    dims[r - 1] = jx__cg_loop_begin(cg, &inner, j0, j1);
    const jx__cg_idx *root = jx__cg_make_idx(cg, space, dims, NULL);
    if (root) {
        cg->root = root;
        emit_body(cg, root);
    }
    jx__cg_loop_end(cg, &inner, dims[r - 1]);
    jx__cg_loop_parallel(cg, &inner);
    /* next row or tile: carry into the outer dims at the end of a row */
    LLVMBuildStore(b, LLVMBuildAdd(b, i, cnt, ""), pos);
    LLVMValueRef carry = LLVMBuildICmp(b, LLVMIntEQ, j1, jx__cg_i64(cg, shape[r - 1]), "");
    LLVMBuildStore(b, LLVMBuildSelect(b, carry, jx__cg_i64(cg, 0), j1, ""), at[r - 1]);
    for (int d = r - 2; d >= 0; d--) {
        LLVMValueRef nv = LLVMBuildAdd(b, dims[d], LLVMBuildZExt(b, carry, cg->i64, ""), "");
        LLVMValueRef wrap = LLVMBuildICmp(b, LLVMIntEQ, nv, jx__cg_i64(cg, shape[d]), "");
        LLVMBuildStore(b, LLVMBuildSelect(b, wrap, jx__cg_i64(cg, 0), nv, ""), at[d]);
        carry = wrap;
    }
    LLVMBuildBr(b, rows.cond);
    LLVMPositionBuilderAtEnd(b, rows.exit);
}

/* The space: the shape every output shares. */
static bool group_space(const jx_fn *f, const jx__group *g, jx_aval *space) {
    *space = g->nout ? f->vars[g->out[0]] : (jx_aval){JX_F32, 1, {0}};
    for (int o = 1; o < g->nout; o++) {
        const jx_aval *a = &f->vars[g->out[o]];
        if (!jx__cg_same_shape(a, space)) return false;
    }
    return true;
}

/* Whether g is elementwise through and through: unary, binary, comparison and select
 * equations whose operands have the space's shape or are scalars. Such a kernel is
 * walked as one flat dim of a length it does not know (FLAT_DIM), so kernels equal but
 * for their shape (the optimiser's update of each parameter) become twins, compiled
 * once. */
enum { FLAT_DIM = INT64_MAX / 2 };
static bool flat_group(const jx_fn *f, const jx__group *g, const jx_aval *space) {
    for (int32_t i = 0; i < g->neqn; i++) {
        const jx__eqn *e = &f->eqns[g->eqns[i]];
        int c = jx__prims[e->prim].cls;
        if (c != JX__UNARY && c != JX__BINARY && c != JX__COMPARE && e->prim != JX_PRIM_SELECT) return false;
        for (int j = 0; j < e->nin; j++) {
            if (e->in[j].var < 0) continue;
            const jx_aval *a = &f->vars[e->in[j].var];
            if (a->rank != 0 && !jx__cg_same_shape(a, space)) return false;
        }
        for (int j = 0; j < e->nout; j++)
            if (!jx__cg_same_shape(&f->vars[e->out[j]], space)) return false;
    }
    return true;
}

static void cg_free(jx__cg *cg) {
    for (int i = 0; i < cg->nidx; i++) free(cg->idxs[i]);
    free(cg->idxs);
    free(cg->memo);
    free(cg->producer);
    free(cg->slot);
    free(cg->bufs);
    if (cg->b) LLVMDisposeBuilder(cg->b);
}

static jx_status cg_fail(jx__cg *cg, const jx__group *g, const char *why) {
    const jx__eqn *e = cg->fail_eqn;
    if (!e && g->neqn) e = &cg->f->eqns[g->eqns[0]];
    if (strcmp(why, "out of memory") == 0) /* not a decline: the jit must fail, not fall back */
        return jx__fail(JX_ERR_NOMEM, e ? e->loc : jx__noloc, "jit", "out of memory generating a kernel");
    if (!e) return jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "jit", "the CPU code generator cannot compile %s", why);
    jx_aval a = e->nin ? jx__atom_aval(cg->f, &e->in[0]) : cg->f->vars[e->out[0]];
    return jx__fail(JX_ERR_UNSUPPORTED, e->loc, jx__prims[e->prim].name,
                    "the CPU code generator cannot compile %s (operand %s)", why, jx__avs(&a));
}

jx_status jx__cg_emit_kernel(LLVMContextRef ctx, LLVMModuleRef mod, const jx_fn *f, const jx__group *g,
                             jx__kernel *k) {
    jx__cg cg = {.ctx = ctx, .mod = mod, .f = f, .g = g, .identity_in = k->identity_in};
    cg.i1 = LLVMInt1TypeInContext(ctx), cg.i8 = LLVMInt8TypeInContext(ctx), cg.i16 = LLVMInt16TypeInContext(ctx);
    cg.i32 = LLVMInt32TypeInContext(ctx), cg.i64 = LLVMInt64TypeInContext(ctx);
    cg.f32 = LLVMFloatTypeInContext(ctx), cg.f64 = LLVMDoubleTypeInContext(ctx);
    jx_aval space;
    if (!group_space(f, g, &space)) return cg_fail(&cg, g, "outputs of different shapes");
    k->size = g->nout ? jx_aval_size(&space) : 0;
    jx__cg_view view; /* the group with adjacent dims merged where its values allow (codegen_collapse.c) */
    if (g->nout && space.rank >= 1 && flat_group(f, g, &space)) {
        space = (jx_aval){space.dtype, 1, {FLAT_DIM}};
        memset(&view, 0, sizeof view);
    } else if (jx__cg_collapse(f, g, &view)) {
        cg.f = f = &view.f;
        space = f->vars[g->out[0]];
    }
    cg.producer = malloc(sizeof(int32_t) * (size_t)(f->nvars + 1));
    cg.slot = malloc(sizeof(int32_t) * (size_t)(f->nvars + 1));
    cg.bufs = calloc((size_t)(g->nin + g->nout + 1), sizeof(LLVMValueRef));
    cg.b = LLVMCreateBuilderInContext(ctx);
    if (!cg.producer || !cg.slot || !cg.bufs) {
        cg_free(&cg);
        jx__cg_view_free(&view);
        return jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory generating a kernel");
    }
    for (int32_t v = 0; v < f->nvars; v++) cg.producer[v] = cg.slot[v] = -1;
    for (int32_t i = 0; i < g->neqn; i++) {
        const jx__eqn *e = &f->eqns[g->eqns[i]];
        for (int o = 0; o < e->nout; o++) cg.producer[e->out[o]] = g->eqns[i];
    }
    for (int32_t i = 0; i < g->nin; i++) cg.slot[g->in[i]] = i, cg.identity_in[i] = true;

    LLVMTypeRef pp = LLVMPointerType(LLVMPointerType(cg.i8, 0), 0);
    LLVMTypeRef ft = LLVMFunctionType(LLVMVoidTypeInContext(ctx), (LLVMTypeRef[]){pp, cg.i64, cg.i64}, 3, 0);
    cg.fn = LLVMAddFunction(mod, k->name, ft);
    cg.entry = jx__cg_block(&cg, "entry");
    LLVMPositionBuilderAtEnd(cg.b, cg.entry);
    LLVMValueRef bufs = LLVMGetParam(cg.fn, 0);
    for (int s = 0; s < g->nin + g->nout; s++) {
        jx_dtype t = f->vars[s < g->nin ? g->in[s] : g->out[s - g->nin]].dtype;
        LLVMValueRef at = LLVMBuildInBoundsGEP2(cg.b, LLVMPointerType(cg.i8, 0), bufs, (LLVMValueRef[]){jx__cg_i64(&cg, s)}, 1, "");
        LLVMValueRef p = LLVMBuildLoad2(cg.b, LLVMPointerType(cg.i8, 0), at, "");
        cg.bufs[s] = LLVMBuildBitCast(cg.b, p, LLVMPointerType(jx__cg_type(&cg, t), 0), "");
    }
    LLVMBasicBlockRef work = jx__cg_block(&cg, "work"), out = jx__cg_block(&cg, "out");
    LLVMValueRef begin = LLVMGetParam(cg.fn, 1), end = LLVMGetParam(cg.fn, 2);
    LLVMBuildCondBr(cg.b, LLVMBuildICmp(cg.b, LLVMIntSLT, begin, end, ""), work, out);
    LLVMPositionBuilderAtEnd(cg.b, work);
    cg.no_rows = k->no_col_tiles;
    if (g->nout && !k->no_col_tiles) jx__cg_find_col_reductions(&cg, &space);
    if (g->nout) emit_walk(&cg, &space, begin, end);
    LLVMBuildBr(cg.b, out);
    LLVMPositionBuilderAtEnd(cg.b, out);
    LLVMBuildRetVoid(cg.b);
    jx_status st = cg.fail_why ? cg_fail(&cg, g, cg.fail_why) : JX_OK;
    if (st != JX_OK) LLVMDeleteFunction(cg.fn);
    cg_free(&cg);
    jx__cg_view_free(&view);
    return st;
}
