/* codegen_loop.c: one LOOP group as an LLVM function
 *     void k(void **bufs, int64_t begin, int64_t end)
 * bufs: the group's inputs (g->in order) then its outputs (g->out), row-major. The
 * iteration space is the outputs' shape (all of them share it), walked flat from begin
 * to end: the start is unravelled once, then an inner loop runs along the last dim (the
 * one LLVM vectorises) and a carry steps the outer dims.
 *
 * Each output element is computed by evaluating the group's equations backwards from it
 * at an index: elementwise ops pass the index on, movement ops map it (broadcast,
 * transpose, reshape, slice), iota reads it, a reduction loops over its reduced dims in
 * row-major order with one sequential accumulator, or, for a floating sum or product of
 * more than JX__RED_BLOCK values, in blocks combined pairwise (reduce_util.h): the
 * interpreter's order either way, so results are bit-identical to it and independent of
 * how the range is split; a value that comes from outside the group is loaded.
 *
 * A reduction whose operand's last axis is kept (a column sum: the bias gradient's
 * f32[128,512] -> f32[512]) would read its operand with a stride there. When such a
 * "column reduction" has the space's shape and is read at the written element, the walk
 * goes by tiles of at most COL_TILE elements of an output row, and before evaluating a
 * tile it accumulates the reduction for the whole tile into a stack array: loops over
 * the reduced dims (ascending) around an innermost loop along the tile, so the operand
 * is read contiguously and the loop vectorises. Each output element still folds its
 * values in the interpreter's order, sequentially: bit-identical as before. Values are
 * memoised per (variable, index) so a DAG is not expanded into a tree; every output is
 * computed before any is stored, so an output may share an input's storage when that
 * input is only read at the written element (jx__kernel_inplace_ok). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../trace/reduce_util.h"
#include "codegen.h"

/* ------------------------------------------------------------------ evaluation */

static LLVMValueRef eval_var(jx__cg *cg, int32_t v, const jx__cg_idx *I);

/* Atom a read for the output element at I (rank-0 operands broadcast). */
static LLVMValueRef eval_atom(jx__cg *cg, const jx__atom *a, const jx__cg_idx *I) {
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

/* The identity of reduction prim over dtype t. */
static LLVMValueRef red_identity(jx__cg *cg, int prim, jx_dtype t) {
    LLVMTypeRef ty = jx__cg_type(cg, t);
    bool fl = t == JX_F32 || t == JX_F64, sg = t == JX_I32 || t == JX_I64;
    int bits = (int)jx_dtype_size(t) * 8;
    switch (prim) {
    case JX_PRIM_REDUCE_SUM: return fl ? LLVMConstReal(ty, 0) : LLVMConstInt(ty, 0, 0);
    case JX_PRIM_REDUCE_PROD: return fl ? LLVMConstReal(ty, 1) : LLVMConstInt(ty, 1, 0);
    case JX_PRIM_REDUCE_MAX:
        if (fl) return LLVMConstReal(ty, -INFINITY);
        return sg ? LLVMConstInt(ty, 1ull << (bits - 1), 0) : LLVMConstInt(ty, 0, 0);
    default: /* min */
        if (fl) return LLVMConstReal(ty, INFINITY);
        if (t == JX_BOOL) return LLVMConstInt(ty, 1, 0);
        return sg ? LLVMConstInt(ty, ~0ull >> (65 - bits), 0) : LLVMConstAllOnes(ty);
    }
}

/* Sum and product: acc op v (ints wrap). Max, min, argmax, argmin: whether v replaces
 * acc (NaN wins). The interpreter's folds exactly. */
static LLVMValueRef red_step(jx__cg *cg, int prim, jx_dtype t, LLVMValueRef acc, LLVMValueRef v) {
    LLVMBuilderRef b = cg->b;
    bool fl = t == JX_F32 || t == JX_F64, sg = t == JX_I32 || t == JX_I64;
    switch (prim) {
    case JX_PRIM_REDUCE_SUM: return fl ? LLVMBuildFAdd(b, acc, v, "") : LLVMBuildAdd(b, acc, v, "");
    case JX_PRIM_REDUCE_PROD: return fl ? LLVMBuildFMul(b, acc, v, "") : LLVMBuildMul(b, acc, v, "");
    default: {
        bool mx = prim == JX_PRIM_REDUCE_MAX || prim == JX_PRIM_ARGMAX;
        if (fl)
            return LLVMBuildOr(b, LLVMBuildFCmp(b, mx ? LLVMRealOGT : LLVMRealOLT, v, acc, ""),
                               LLVMBuildFCmp(b, LLVMRealUNO, v, v, ""), "");
        return LLVMBuildICmp(b, mx ? (sg ? LLVMIntSGT : LLVMIntUGT) : (sg ? LLVMIntSLT : LLVMIntULT), v, acc, "");
    }
    }
}

/* Reduction (not arg*) accumulator acc with v folded in. */
static LLVMValueRef red_fold(jx__cg *cg, int prim, jx_dtype t, LLVMValueRef acc, LLVMValueRef v) {
    LLVMValueRef n = red_step(cg, prim, t, acc, v);
    if (prim == JX_PRIM_REDUCE_MAX || prim == JX_PRIM_REDUCE_MIN) n = LLVMBuildSelect(cg->b, n, v, acc, "");
    return n;
}

/* Which dims of its operand the reduction (or argmax/argmin) e reduces. */
static void red_dims(const jx__eqn *e, bool red[JX_MAX_RANK]) {
    memset(red, 0, sizeof(bool) * JX_MAX_RANK);
    if (e->prim == JX_PRIM_ARGMAX || e->prim == JX_PRIM_ARGMIN) {
        red[jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0)] = true;
        return;
    }
    jx_ints axes = jx__attr_ints(e->nattr, e->attrs, JX_A_AXES);
    for (int i = 0; i < axes.n; i++) red[axes.v[i]] = true;
}

static LLVMValueRef col_load(jx__cg *cg, int c, jx_dtype t, LLVMValueRef at);

/* The number of values each output of reduction e folds, and whether it is a floating
 * sum or product longer than a block (folded by emit_blocked). */
static int64_t red_count(const jx_aval *xa, const bool *red) {
    int64_t n = 1;
    for (int d = 0; d < xa->rank; d++)
        if (red[d]) n *= xa->shape[d];
    return n;
}

static bool red_blocked(const jx__eqn *e, const jx_aval *xa, const bool *red) {
    return (e->prim == JX_PRIM_REDUCE_SUM || e->prim == JX_PRIM_REDUCE_PROD) &&
           (xa->dtype == JX_F32 || xa->dtype == JX_F64) && red_count(xa, red) > JX__RED_BLOCK;
}

/* A while loop: cond() emitted at the head decides whether body runs again. */
typedef struct wloop {
    LLVMBasicBlockRef head, body, exit;
} wloop;

static void wloop_begin(jx__cg *cg, wloop *w, LLVMValueRef (*cond)(jx__cg *, void *), void *arg) {
    w->head = jx__cg_block(cg, "whead"), w->body = jx__cg_block(cg, "wbody"), w->exit = jx__cg_block(cg, "wexit");
    LLVMBuildBr(cg->b, w->head);
    LLVMPositionBuilderAtEnd(cg->b, w->head);
    LLVMBuildCondBr(cg->b, cond(cg, arg), w->body, w->exit);
    LLVMPositionBuilderAtEnd(cg->b, w->body);
}

static void wloop_end(jx__cg *cg, wloop *w) {
    LLVMBuildBr(cg->b, w->head);
    LLVMPositionBuilderAtEnd(cg->b, w->exit);
}

static LLVMValueRef even_cond(jx__cg *cg, void *slot) { /* the counter in slot is even */
    LLVMValueRef t = LLVMBuildLoad2(cg->b, cg->i64, slot, "");
    return LLVMBuildICmp(cg->b, LLVMIntEQ, LLVMBuildAnd(cg->b, t, jx__cg_i64(cg, 1), ""), jx__cg_i64(cg, 0), "");
}

static LLVMValueRef nonempty_cond(jx__cg *cg, void *slot) { /* the stack top in slot > 0 */
    LLVMValueRef t = LLVMBuildLoad2(cg->b, cg->i64, slot, "");
    return LLVMBuildICmp(cg->b, LLVMIntSGT, t, jx__cg_i64(cg, 0), "");
}

/* stack[top - 1] after top is decremented. */
static LLVMValueRef pop(jx__cg *cg, LLVMTypeRef sty, LLVMTypeRef ty, LLVMValueRef stack, LLVMValueRef top) {
    LLVMValueRef t = LLVMBuildSub(cg->b, LLVMBuildLoad2(cg->b, cg->i64, top, ""), jx__cg_i64(cg, 1), "");
    LLVMBuildStore(cg->b, t, top);
    LLVMValueRef idx[2] = {jx__cg_i64(cg, 0), t};
    return LLVMBuildLoad2(cg->b, ty, LLVMBuildInBoundsGEP2(cg->b, sty, stack, idx, 2, ""), "");
}

/* Reduction e's operand at flat reduced index r (unravelled into the reduced dims) for
 * the output at I. */
static LLVMValueRef red_operand(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I, const jx_aval *xa,
                                const bool *red, LLVMValueRef r) {
    LLVMValueRef dims[JX_MAX_RANK] = {0}, rem = r;
    int nred = 0;
    for (int d = 0; d < xa->rank; d++) nred += red[d];
    for (int d = xa->rank - 1, k = I->rank - 1; d >= 0; d--) {
        if (!red[d]) {
            dims[d] = I->dim[k--];
            continue;
        }
        if (--nred == 0) { /* the outermost reduced dim takes what is left */
            dims[d] = rem;
            continue;
        }
        LLVMValueRef sz = jx__cg_i64(cg, xa->shape[d]);
        dims[d] = LLVMBuildURem(cg->b, rem, sz, "");
        rem = LLVMBuildUDiv(cg->b, rem, sz, "");
    }
    return eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, xa, dims, NULL));
}

/* The blocked fold's state: the stack of partial results, its top, a counter. */
typedef struct bstate {
    LLVMTypeRef ty, sty;
    LLVMValueRef stack, top, cnt, acc;
} bstate;

/* After block s (its sum in bs->acc): one merge per trailing zero bit of s + 1, each
 * absorbing the stack's top from the left, then the sum pushed. */
static void merge_push(jx__cg *cg, int prim, jx_dtype t, const bstate *bs, LLVMValueRef s) {
    LLVMBuilderRef b = cg->b;
    LLVMBuildStore(b, LLVMBuildAdd(b, s, jx__cg_i64(cg, 1), ""), bs->cnt);
    wloop m;
    wloop_begin(cg, &m, even_cond, bs->cnt);
    LLVMValueRef left = pop(cg, bs->sty, bs->ty, bs->stack, bs->top);
    LLVMBuildStore(b, red_fold(cg, prim, t, left, LLVMBuildLoad2(b, bs->ty, bs->acc, "")), bs->acc);
    LLVMBuildStore(b, LLVMBuildLShr(b, LLVMBuildLoad2(b, cg->i64, bs->cnt, ""), jx__cg_i64(cg, 1), ""), bs->cnt);
    wloop_end(cg, &m);
    LLVMValueRef tp = LLVMBuildLoad2(b, cg->i64, bs->top, "");
    LLVMValueRef idx[2] = {jx__cg_i64(cg, 0), tp};
    LLVMBuildStore(b, LLVMBuildLoad2(b, bs->ty, bs->acc, ""), LLVMBuildInBoundsGEP2(b, bs->sty, bs->stack, idx, 2, ""));
    LLVMBuildStore(b, LLVMBuildAdd(b, tp, jx__cg_i64(cg, 1), ""), bs->top);
}

/* Blocks in groups of RED_LANES folded side by side: for each position r of a block, the
 * loop body folds element r of each of the group's blocks into that block's accumulator
 * (RED_LANES copies of the body, each accumulator a register of its own). It is each
 * block's own sequential fold, so the same bits, but the folds are independent chains
 * that the CPU overlaps, where one block's fold waits for each add to finish. Then the
 * group's sums go through the merges in block order. */
enum { RED_LANES = 8 };
static void emit_block_groups(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I, const jx_aval *xa,
                              const bool *red, int64_t groups, const bstate *bs) {
    LLVMBuilderRef b = cg->b;
    jx_dtype t = xa->dtype;
    LLVMValueRef lane[RED_LANES];
    for (int g = 0; g < RED_LANES; g++) lane[g] = jx__cg_alloca(cg, bs->ty);
    jx__cg_loop lq, lr;
    LLVMValueRef q = jx__cg_loop_begin(cg, &lq, jx__cg_i64(cg, 0), jx__cg_i64(cg, groups));
    for (int g = 0; g < RED_LANES; g++) LLVMBuildStore(b, red_identity(cg, e->prim, t), lane[g]);
    LLVMValueRef first = LLVMBuildMul(b, q, jx__cg_i64(cg, RED_LANES), "");
    LLVMValueRef r = jx__cg_loop_begin(cg, &lr, jx__cg_i64(cg, 0), jx__cg_i64(cg, JX__RED_BLOCK));
    int memo_mark = cg->nmemo;
    for (int g = 0; g < RED_LANES; g++) {
        LLVMValueRef blk = LLVMBuildAdd(b, first, jx__cg_i64(cg, g), "");
        LLVMValueRef flat = LLVMBuildAdd(b, LLVMBuildMul(b, blk, jx__cg_i64(cg, JX__RED_BLOCK), ""), r, "");
        LLVMValueRef v = red_operand(cg, e, I, xa, red, flat);
        LLVMBuildStore(b, red_fold(cg, e->prim, t, LLVMBuildLoad2(b, bs->ty, lane[g], ""), v), lane[g]);
    }
    cg->nmemo = memo_mark;
    jx__cg_loop_end(cg, &lr, r);
    for (int g = 0; g < RED_LANES; g++) { /* in block order: merges, or max/min folded on */
        LLVMValueRef sum = LLVMBuildLoad2(b, bs->ty, lane[g], "");
        if (!bs->stack) {
            LLVMBuildStore(b, red_fold(cg, e->prim, t, LLVMBuildLoad2(b, bs->ty, bs->acc, ""), sum), bs->acc);
            continue;
        }
        LLVMBuildStore(b, sum, bs->acc);
        merge_push(cg, e->prim, t, bs, LLVMBuildAdd(b, first, jx__cg_i64(cg, g), ""));
    }
    jx__cg_loop_end(cg, &lq, q);
}

/* reduce_max or reduce_min of n >= RED_LANES * JX__RED_BLOCK values at I: block groups
 * side by side (emit_block_groups), each block's result folded on in block order, then
 * the values after them. Blocks are contiguous runs, so this is the sequential fold's
 * result bit for bit: the first of equal extremes (a -0 or a +0) and the last NaN. */
static LLVMValueRef emit_extreme(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I, const jx_aval *xa,
                                 const bool *red) {
    jx_dtype t = xa->dtype;
    bstate bs = {jx__cg_type(cg, t), NULL, NULL, NULL, NULL, NULL};
    int64_t n = red_count(xa, red), groups = n / JX__RED_BLOCK / RED_LANES;
    bs.acc = jx__cg_alloca(cg, bs.ty);
    LLVMBuildStore(cg->b, red_identity(cg, e->prim, t), bs.acc);
    emit_block_groups(cg, e, I, xa, red, groups, &bs);
    jx__cg_loop rest;
    LLVMValueRef r = jx__cg_loop_begin(cg, &rest, jx__cg_i64(cg, groups * RED_LANES * JX__RED_BLOCK), jx__cg_i64(cg, n));
    int memo_mark = cg->nmemo;
    LLVMValueRef v = red_operand(cg, e, I, xa, red, r);
    LLVMBuildStore(cg->b, red_fold(cg, e->prim, t, LLVMBuildLoad2(cg->b, bs.ty, bs.acc, ""), v), bs.acc);
    cg->nmemo = memo_mark;
    jx__cg_loop_end(cg, &rest, r);
    return LLVMBuildLoad2(cg->b, bs.ty, bs.acc, "");
}

/* A floating sum or product of n > JX__RED_BLOCK values at output index I, in the
 * blocked pairwise order of reduce_util.h: per block a sequential fold over the flat
 * reduced index, then the binary-counter merges on a stack of JX__RED_STACK partial
 * results, then the stack folded from its top. Whole groups of RED_LANES full blocks
 * go side by side (emit_block_groups), the blocks after them one by one. */
static LLVMValueRef emit_blocked(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I, const jx_aval *xa,
                                 const bool *red) {
    LLVMBuilderRef b = cg->b;
    jx_dtype t = xa->dtype;
    bstate bs = {jx__cg_type(cg, t), LLVMArrayType(jx__cg_type(cg, t), JX__RED_STACK), NULL, NULL, NULL, NULL};
    int64_t n = red_count(xa, red), groups = n / JX__RED_BLOCK / RED_LANES;
    bs.stack = jx__cg_alloca(cg, bs.sty), bs.top = jx__cg_alloca(cg, cg->i64);
    bs.acc = jx__cg_alloca(cg, bs.ty), bs.cnt = jx__cg_alloca(cg, cg->i64);
    LLVMBuildStore(b, jx__cg_i64(cg, 0), bs.top);
    if (groups) emit_block_groups(cg, e, I, xa, red, groups, &bs);
    jx__cg_loop blk, in;
    LLVMValueRef s = jx__cg_loop_begin(cg, &blk, jx__cg_i64(cg, groups * RED_LANES),
                                       jx__cg_i64(cg, (n + JX__RED_BLOCK - 1) / JX__RED_BLOCK));
    LLVMValueRef from = LLVMBuildMul(b, s, jx__cg_i64(cg, JX__RED_BLOCK), "");
    LLVMValueRef to = LLVMBuildAdd(b, from, jx__cg_i64(cg, JX__RED_BLOCK), "");
    to = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, to, jx__cg_i64(cg, n), ""), to, jx__cg_i64(cg, n), "");
    LLVMBuildStore(b, red_identity(cg, e->prim, t), bs.acc);
    LLVMValueRef r = jx__cg_loop_begin(cg, &in, from, to);
    int memo_mark = cg->nmemo;
    LLVMValueRef v = red_operand(cg, e, I, xa, red, r);
    LLVMBuildStore(b, red_fold(cg, e->prim, t, LLVMBuildLoad2(b, bs.ty, bs.acc, ""), v), bs.acc);
    cg->nmemo = memo_mark;
    jx__cg_loop_end(cg, &in, r);
    merge_push(cg, e->prim, t, &bs, s);
    jx__cg_loop_end(cg, &blk, s);
    /* the stack folded from its top down */
    LLVMBuildStore(b, pop(cg, bs.sty, bs.ty, bs.stack, bs.top), bs.acc);
    wloop f;
    wloop_begin(cg, &f, nonempty_cond, bs.top);
    LLVMValueRef below = pop(cg, bs.sty, bs.ty, bs.stack, bs.top);
    LLVMBuildStore(b, red_fold(cg, e->prim, t, below, LLVMBuildLoad2(b, bs.ty, bs.acc, "")), bs.acc);
    wloop_end(cg, &f);
    return LLVMBuildLoad2(b, bs.ty, bs.acc, "");
}

/* reduce_* and argmax/argmin at output index I: loops over the reduced dims (ascending,
 * the last innermost) around one sequential accumulator; a column reduction at the
 * written element is loaded from its tile's accumulators. */
static LLVMValueRef eval_reduce(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I) {
    jx_aval xa = jx__atom_aval(cg->f, &e->in[0]);
    jx_dtype t = xa.dtype, ot = cg->f->vars[e->out[0]].dtype;
    bool arg = e->prim == JX_PRIM_ARGMAX || e->prim == JX_PRIM_ARGMIN;
    bool red[JX_MAX_RANK];
    red_dims(e, red);
    /* at the written element: the root index, or its last dim alone (row_of) */
    const jx__cg_idx *R = cg->root;
    bool at_root = I == R || (R && I->rank == 1 && R->rank >= 2 && I->dim[0] == R->dim[R->rank - 1]);
    for (int d = 0; at_root && I != R && d < R->rank - 1; d++) at_root = R->shape[d] == 1;
    for (int c = 0; c < cg->ncol && at_root; c++)
        if (&cg->f->eqns[cg->col_eqn[c]] == e)
            return col_load(cg, c, t, LLVMBuildSub(cg->b, I->dim[I->rank - 1], cg->col_j0, ""));
    if (t == JX_BOOL && (e->prim == JX_PRIM_REDUCE_SUM || e->prim == JX_PRIM_REDUCE_PROD))
        return jx__cg_unsupported(cg, e, ot, "bool sums and products");
    if (red_blocked(e, &xa, red)) return emit_blocked(cg, e, I, &xa, red);
    if ((e->prim == JX_PRIM_REDUCE_MAX || e->prim == JX_PRIM_REDUCE_MIN) && t != JX_BOOL &&
        red_count(&xa, red) >= RED_LANES * JX__RED_BLOCK)
        return emit_extreme(cg, e, I, &xa, red);
    LLVMTypeRef ty = jx__cg_type(cg, t);
    LLVMValueRef acc = jx__cg_alloca(cg, ty), best_i = NULL;
    LLVMBuildStore(cg->b, arg ? LLVMConstNull(ty) : red_identity(cg, e->prim, t), acc);
    if (arg) {
        best_i = jx__cg_alloca(cg, cg->i64);
        LLVMBuildStore(cg->b, jx__cg_i64(cg, 0), best_i);
    }
    jx__cg_loop loops[JX_MAX_RANK];
    LLVMValueRef ctr[JX_MAX_RANK] = {0}, lctr[JX_MAX_RANK] = {0}, dims[JX_MAX_RANK] = {0};
    int nl = 0;
    for (int d = 0; d < xa.rank; d++)
        if (red[d]) {
            ctr[d] = jx__cg_loop_begin(cg, &loops[nl], jx__cg_i64(cg, 0), jx__cg_i64(cg, xa.shape[d]));
            lctr[nl++] = ctr[d];
        }
    for (int d = 0, k = 0; d < xa.rank; d++) dims[d] = red[d] ? ctr[d] : I->dim[k++];
    int memo_mark = cg->nmemo;
    LLVMValueRef v = eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &xa, dims, NULL));
    LLVMValueRef a = LLVMBuildLoad2(cg->b, ty, acc, "");
    if (arg) { /* the first extreme; the first NaN wins outright */
        LLVMValueRef j = nl ? ctr[jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0)] : jx__cg_i64(cg, 0);
        LLVMValueRef take = red_step(cg, e->prim, t, a, v);
        if (t == JX_F32 || t == JX_F64)
            take = LLVMBuildAnd(cg->b, take, LLVMBuildFCmp(cg->b, LLVMRealORD, a, a, ""), "");
        take = LLVMBuildOr(cg->b, take, LLVMBuildICmp(cg->b, LLVMIntEQ, j, jx__cg_i64(cg, 0), ""), "");
        LLVMBuildStore(cg->b, LLVMBuildSelect(cg->b, take, v, a, ""), acc);
        LLVMValueRef bi = LLVMBuildLoad2(cg->b, cg->i64, best_i, "");
        LLVMBuildStore(cg->b, LLVMBuildSelect(cg->b, take, j, bi, ""), best_i);
    } else {
        LLVMBuildStore(cg->b, red_fold(cg, e->prim, t, a, v), acc);
    }
    cg->nmemo = memo_mark; /* values of the loop body do not dominate what follows */
    for (int l = nl - 1; l >= 0; l--) jx__cg_loop_end(cg, &loops[l], lctr[l]);
    if (arg) return LLVMBuildTrunc(cg->b, LLVMBuildLoad2(cg->b, cg->i64, best_i, ""), jx__cg_type(cg, ot), "");
    return LLVMBuildLoad2(cg->b, ty, acc, "");
}

/* The value of equation e's output at I. */
static LLVMValueRef eval_eqn(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I) {
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
        return eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &in0, dims, NULL));
    }
    case JX_PRIM_TRANSPOSE: {
        jx_ints perm = jx__attr_ints(e->nattr, e->attrs, JX_A_PERM);
        for (int d = 0; d < oa->rank; d++) dims[perm.v[d]] = I->dim[d];
        return eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &in0, dims, NULL));
    }
    case JX_PRIM_SLICE: { /* output index i reads start + i * stride */
        jx_ints start = jx__attr_ints(e->nattr, e->attrs, JX_A_START);
        jx_ints step = jx__attr_ints(e->nattr, e->attrs, JX_A_STRIDES);
        for (int d = 0; d < oa->rank; d++) {
            int64_t s0 = d < start.n ? start.v[d] : 0, k = d < step.n ? step.v[d] : 1;
            LLVMValueRef i = k == 1 ? I->dim[d] : LLVMBuildMul(cg->b, I->dim[d], jx__cg_i64(cg, k), "");
            dims[d] = s0 ? LLVMBuildAdd(cg->b, i, jx__cg_i64(cg, s0), "") : i;
        }
        return eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &in0, dims, NULL));
    }
    case JX_PRIM_RESHAPE:
    case JX_PRIM_SQUEEZE:
    case JX_PRIM_EXPAND_DIMS: return eval_atom(cg, &e->in[0], jx__cg_reshape_idx(cg, &in0, I));
    default: break;
    }
    if (jx__prims[e->prim].cls == JX__REDUCE) return eval_reduce(cg, e, I);
    jx__pclass c = jx__prims[e->prim].cls;
    if (c != JX__UNARY && c != JX__BINARY && c != JX__COMPARE && e->prim != JX_PRIM_SELECT)
        return jx__cg_unsupported(cg, e, oa->dtype, "this primitive in a loop kernel");
    LLVMValueRef in[3];
    jx_dtype dt[3];
    for (int i = 0; i < e->nin && i < 3; i++) {
        in[i] = eval_atom(cg, &e->in[i], I);
        dt[i] = e->in[i].var >= 0 ? f->vars[e->in[i].var].dtype : e->in[i].dtype;
    }
    if (e->prim == JX_PRIM_SELECT) dt[0] = dt[1]; /* the operation's dtype is the branches' */
    return jx__cg_elementwise(cg, e, dt, in);
}

static LLVMValueRef eval_var(jx__cg *cg, int32_t v, const jx__cg_idx *I) {
    if (!I) return jx__cg_unsupported(cg, NULL, cg->f->vars[v].dtype, "out of memory");
    for (int i = cg->nmemo - 1; i >= 0; i--)
        if (cg->memo[i].var == v && cg->memo[i].idx == I) return cg->memo[i].val;
    LLVMValueRef r;
    if (cg->producer[v] < 0) {
        r = load_input(cg, v, I);
        if (!r) return jx__cg_unsupported(cg, NULL, cg->f->vars[v].dtype, "a value the group does not receive");
    } else {
        r = eval_eqn(cg, &cg->f->eqns[cg->producer[v]], I);
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

/* ------------------------------------------------------------------ column reductions */

/* Elements of an output row per tile: rows up to 4096 are read as one stream (the best
 * of 512-4096 for f32[4096,4096]); at most 32 KiB of stack per column reduction. */
enum { COL_TILE = 4096 };
/* The most stack a blocked column reduction's partial sums take (16 levels of f32 tiles:
 * 2^15 blocks, 4M values per column). */
enum { COL_STACK = 16 * COL_TILE * 4 };

/* Pointer to column reduction c's accumulator at tile position at. */
static LLVMValueRef col_ptr(jx__cg *cg, int c, jx_dtype t, LLVMValueRef at) {
    LLVMValueRef idx[2] = {jx__cg_i64(cg, 0), at};
    return LLVMBuildInBoundsGEP2(cg->b, LLVMArrayType(jx__cg_type(cg, t), COL_TILE), cg->col_acc[c], idx, 2, "");
}

static LLVMValueRef col_load(jx__cg *cg, int c, jx_dtype t, LLVMValueRef at) {
    return LLVMBuildLoad2(cg->b, jx__cg_type(cg, t), col_ptr(cg, c, t, at), "");
}

static bool same_shape(const jx_aval *a, const jx_aval *b) {
    return a->rank == b->rank && !memcmp(a->shape, b->shape, sizeof(int64_t) * (size_t)a->rank);
}

/* Whether a is space's last dim alone, space being (1, ..., 1, C) and a (C): a
 * reduction's result reshaped as batch norm's statistics are, read at the written
 * element through the reshape. */
static bool row_of(const jx_aval *space, const jx_aval *a) {
    if (a->rank != 1 || space->rank < 2 || a->shape[0] != space->shape[space->rank - 1]) return false;
    for (int d = 0; d < space->rank - 1; d++)
        if (space->shape[d] != 1) return false;
    return true;
}

/* Whether eqn k is a reduction that can be accumulated by columns in space: sum, prod,
 * max or min, of the space's shape (or its row_of), keeping its operand's last axis. */
static bool col_reduction(const jx__cg *cg, int32_t k, const jx_aval *space) {
    const jx__eqn *e = &cg->f->eqns[k];
    int p = e->prim;
    if (p != JX_PRIM_REDUCE_SUM && p != JX_PRIM_REDUCE_PROD && p != JX_PRIM_REDUCE_MAX && p != JX_PRIM_REDUCE_MIN)
        return false;
    jx_aval xa = jx__atom_aval(cg->f, &e->in[0]);
    if (xa.dtype == JX_F16 || xa.dtype == JX_BF16) return false;
    if (xa.dtype == JX_BOOL && (p == JX_PRIM_REDUCE_SUM || p == JX_PRIM_REDUCE_PROD)) return false;
    bool red[JX_MAX_RANK];
    red_dims(e, red);
    if (red_blocked(e, &xa, red)) { /* its tile-wide stack (emit_col_blocked) stays within COL_STACK */
        int64_t nblocks = (red_count(&xa, red) + JX__RED_BLOCK - 1) / JX__RED_BLOCK, depth = 1;
        while (depth < 63 && (INT64_C(1) << depth) <= nblocks) depth++;
        if (depth * COL_TILE * (int64_t)jx_dtype_size(xa.dtype) > COL_STACK) return false;
    }
    const jx_aval *out = &cg->f->vars[e->out[0]];
    return space->rank >= 1 && xa.rank > out->rank && !red[xa.rank - 1] &&
           (same_shape(out, space) || row_of(space, out));
}

/* Finds the column reductions: those reached from the outputs through elementwise
 * equations only (so read at the written element). */
static void find_col_reductions(jx__cg *cg, const jx_aval *space) {
    const jx_fn *f = cg->f;
    bool *seen = calloc((size_t)f->nvars + 1, sizeof(bool));
    int32_t *stack = malloc(sizeof(int32_t) * ((size_t)f->nvars + 1));
    int n = 0;
    for (int o = 0; seen && stack && o < cg->g->nout; o++)
        if (!seen[cg->g->out[o]]) seen[cg->g->out[o]] = true, stack[n++] = cg->g->out[o];
    while (seen && stack && n > 0) {
        int32_t v = stack[--n], k = cg->producer[v];
        if (k < 0) continue;
        const jx__eqn *e = &f->eqns[k];
        jx__pclass c = jx__prims[e->prim].cls;
        if (c == JX__REDUCE) {
            if (cg->ncol < JX__CG_MAXCOL && col_reduction(cg, k, space)) cg->col_eqn[cg->ncol++] = k;
            continue;
        }
        if (e->prim == JX_PRIM_RESHAPE && e->in[0].var >= 0 && row_of(space, &f->vars[e->in[0].var])) {
            int32_t u = e->in[0].var;
            if (!seen[u]) seen[u] = true, stack[n++] = u;
            continue;
        }
        if (c != JX__UNARY && c != JX__BINARY && c != JX__COMPARE && e->prim != JX_PRIM_SELECT) continue;
        for (int i = 0; i < e->nin; i++) {
            int32_t u = e->in[i].var;
            if (u >= 0 && !seen[u] && same_shape(&f->vars[u], space)) seen[u] = true, stack[n++] = u;
        }
    }
    free(seen);
    free(stack);
    for (int c = 0; c < cg->ncol; c++) {
        jx_dtype t = jx__atom_aval(f, &f->eqns[cg->col_eqn[c]].in[0]).dtype;
        cg->col_acc[c] = jx__cg_alloca(cg, LLVMArrayType(jx__cg_type(cg, t), COL_TILE));
    }
}

/* The operand of column reduction e at reduced dims dims[] (the others from outer[]) and
 * tile position at, folded into the accumulator at p. */
static void col_fold_at(jx__cg *cg, const jx__eqn *e, const jx_aval *xa, LLVMValueRef *dims, LLVMValueRef j0,
                        LLVMValueRef at, LLVMValueRef p) {
    dims[xa->rank - 1] = LLVMBuildAdd(cg->b, j0, at, "");
    int memo_mark = cg->nmemo;
    LLVMValueRef v = eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, xa, dims, NULL));
    LLVMBuildStore(cg->b, red_fold(cg, e->prim, xa->dtype, LLVMBuildLoad2(cg->b, jx__cg_type(cg, xa->dtype), p, ""), v),
                   p);
    cg->nmemo = memo_mark;
}

/* Row `row` of a tile-wide stack of type sty, position at. */
static LLVMValueRef stack_ptr(jx__cg *cg, LLVMTypeRef sty, LLVMValueRef stack, LLVMValueRef row, LLVMValueRef at) {
    LLVMValueRef idx[3] = {jx__cg_i64(cg, 0), row, at};
    return LLVMBuildInBoundsGEP2(cg->b, sty, stack, idx, 3, "");
}

/* acc[at] = stack[top - 1][at] op acc[at] over the tile, top decremented (op: e's fold). */
static void col_pop_fold(jx__cg *cg, const jx__eqn *e, int c, jx_dtype t, LLVMTypeRef sty, LLVMValueRef stack,
                         LLVMValueRef top, LLVMValueRef cnt, bool fold) {
    LLVMValueRef tp = LLVMBuildSub(cg->b, LLVMBuildLoad2(cg->b, cg->i64, top, ""), jx__cg_i64(cg, 1), "");
    LLVMBuildStore(cg->b, tp, top);
    jx__cg_loop l;
    LLVMValueRef at = jx__cg_loop_begin(cg, &l, jx__cg_i64(cg, 0), cnt);
    LLVMTypeRef ty = jx__cg_type(cg, t);
    LLVMValueRef left = LLVMBuildLoad2(cg->b, ty, stack_ptr(cg, sty, stack, tp, at), "");
    LLVMValueRef p = col_ptr(cg, c, t, at);
    LLVMBuildStore(cg->b, fold ? red_fold(cg, e->prim, t, left, LLVMBuildLoad2(cg->b, ty, p, "")) : left, p);
    jx__cg_loop_end(cg, &l, at);
}

/* A column reduction of n > JX__RED_BLOCK values per element (a floating sum or product:
 * batch norm's statistics over N*H*W rows) in emit_blocked's order, for the whole tile at
 * once: per block the sequential fold along the flat reduced index, each value folded
 * into every tile position's accumulator (contiguous reads), then the binary-counter
 * merges on a tile-wide stack as deep as the block count has bits. */
static void emit_col_blocked(jx__cg *cg, int c, const jx__eqn *e, const jx_aval *xa, const bool *red,
                             LLVMValueRef *dims, LLVMValueRef j0, LLVMValueRef cnt) {
    LLVMBuilderRef b = cg->b;
    jx_dtype t = xa->dtype;
    LLVMTypeRef ty = jx__cg_type(cg, t);
    int64_t n = red_count(xa, red), nblocks = (n + JX__RED_BLOCK - 1) / JX__RED_BLOCK;
    int depth = 1;
    while (depth < 63 && (INT64_C(1) << depth) <= nblocks) depth++;
    LLVMTypeRef sty = LLVMArrayType(LLVMArrayType(ty, COL_TILE), (unsigned)depth);
    LLVMValueRef stack = jx__cg_alloca(cg, sty), top = jx__cg_alloca(cg, cg->i64), bc = jx__cg_alloca(cg, cg->i64);
    LLVMBuildStore(b, jx__cg_i64(cg, 0), top);
    jx__cg_loop blk, init, in, tile, push;
    LLVMValueRef s = jx__cg_loop_begin(cg, &blk, jx__cg_i64(cg, 0), jx__cg_i64(cg, nblocks));
    LLVMValueRef at = jx__cg_loop_begin(cg, &init, jx__cg_i64(cg, 0), cnt);
    LLVMBuildStore(b, red_identity(cg, e->prim, t), col_ptr(cg, c, t, at));
    jx__cg_loop_end(cg, &init, at);
    LLVMValueRef from = LLVMBuildMul(b, s, jx__cg_i64(cg, JX__RED_BLOCK), "");
    LLVMValueRef to = LLVMBuildAdd(b, from, jx__cg_i64(cg, JX__RED_BLOCK), "");
    to = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, to, jx__cg_i64(cg, n), ""), to, jx__cg_i64(cg, n), "");
    LLVMValueRef r = jx__cg_loop_begin(cg, &in, from, to), rem = r;
    for (int d = xa->rank - 1; d >= 0; d--) {
        if (!red[d]) continue;
        LLVMValueRef sz = jx__cg_i64(cg, xa->shape[d]);
        dims[d] = LLVMBuildURem(b, rem, sz, "");
        rem = LLVMBuildUDiv(b, rem, sz, "");
    }
    at = jx__cg_loop_begin(cg, &tile, jx__cg_i64(cg, 0), cnt);
    col_fold_at(cg, e, xa, dims, j0, at, col_ptr(cg, c, t, at));
    jx__cg_loop_end(cg, &tile, at);
    jx__cg_loop_end(cg, &in, r);
    /* merges: one per trailing zero bit of the block count s + 1 */
    LLVMBuildStore(b, LLVMBuildAdd(b, s, jx__cg_i64(cg, 1), ""), bc);
    wloop m;
    wloop_begin(cg, &m, even_cond, bc);
    col_pop_fold(cg, e, c, t, sty, stack, top, cnt, true);
    LLVMBuildStore(b, LLVMBuildLShr(b, LLVMBuildLoad2(b, cg->i64, bc, ""), jx__cg_i64(cg, 1), ""), bc);
    wloop_end(cg, &m);
    LLVMValueRef tp = LLVMBuildLoad2(b, cg->i64, top, "");
    at = jx__cg_loop_begin(cg, &push, jx__cg_i64(cg, 0), cnt);
    LLVMBuildStore(b, LLVMBuildLoad2(b, ty, col_ptr(cg, c, t, at), ""), stack_ptr(cg, sty, stack, tp, at));
    jx__cg_loop_end(cg, &push, at);
    LLVMBuildStore(b, LLVMBuildAdd(b, tp, jx__cg_i64(cg, 1), ""), top);
    jx__cg_loop_end(cg, &blk, s);
    /* the stack folded from its top down */
    col_pop_fold(cg, e, c, t, sty, stack, top, cnt, false);
    wloop f;
    wloop_begin(cg, &f, nonempty_cond, top);
    col_pop_fold(cg, e, c, t, sty, stack, top, cnt, true);
    wloop_end(cg, &f);
}

/* Accumulates column reduction c for the tile [j0, j0 + cnt) of the output row whose
 * other dims are outer[]: identities, then for each reduced index (ascending) a loop
 * along the tile folding the operand's element in (blocked: emit_col_blocked). */
static void emit_col_reduction(jx__cg *cg, int c, const LLVMValueRef *outer, LLVMValueRef j0, LLVMValueRef cnt) {
    const jx__eqn *e = &cg->f->eqns[cg->col_eqn[c]];
    jx_aval xa = jx__atom_aval(cg->f, &e->in[0]);
    jx_dtype t = xa.dtype;
    bool red[JX_MAX_RANK];
    red_dims(e, red);
    if (red_blocked(e, &xa, red)) {
        LLVMValueRef dims[JX_MAX_RANK] = {0};
        for (int d = 0, k = 0; d < xa.rank - 1; d++)
            if (!red[d]) dims[d] = outer[k++];
        emit_col_blocked(cg, c, e, &xa, red, dims, j0, cnt);
        return;
    }
    jx__cg_loop init, tile, loops[JX_MAX_RANK];
    LLVMValueRef at = jx__cg_loop_begin(cg, &init, jx__cg_i64(cg, 0), cnt);
    LLVMBuildStore(cg->b, red_identity(cg, e->prim, t), col_ptr(cg, c, t, at));
    jx__cg_loop_end(cg, &init, at);
    LLVMValueRef dims[JX_MAX_RANK] = {0}, lctr[JX_MAX_RANK] = {0};
    int nl = 0;
    for (int d = 0, k = 0; d < xa.rank; d++) {
        if (red[d]) {
            dims[d] = lctr[nl] = jx__cg_loop_begin(cg, &loops[nl], jx__cg_i64(cg, 0), jx__cg_i64(cg, xa.shape[d]));
            nl++;
        } else if (d < xa.rank - 1) {
            dims[d] = outer[k++];
        }
    }
    at = jx__cg_loop_begin(cg, &tile, jx__cg_i64(cg, 0), cnt);
    col_fold_at(cg, e, &xa, dims, j0, at, col_ptr(cg, c, t, at));
    jx__cg_loop_end(cg, &tile, at);
    for (int l = nl - 1; l >= 0; l--) jx__cg_loop_end(cg, &loops[l], lctr[l]);
}

/* ------------------------------------------------------------------ the kernel */

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
 * unravel begin once, then rows along the last dim (in tiles of COL_TILE when there are
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
    if (cg->ncol) {
        LLVMValueRef tile = jx__cg_i64(cg, COL_TILE);
        cnt = LLVMBuildSelect(b, LLVMBuildICmp(b, LLVMIntSLT, cnt, tile, ""), cnt, tile, "");
        cg->col_j0 = j0;
        for (int c = 0; c < cg->ncol; c++) emit_col_reduction(cg, c, dims, j0, cnt);
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
        if (!same_shape(a, space)) return false;
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
            if (a->rank != 0 && !same_shape(a, space)) return false;
        }
        for (int j = 0; j < e->nout; j++)
            if (!same_shape(&f->vars[e->out[j]], space)) return false;
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
    if (g->nout && space.rank >= 1 && flat_group(f, g, &space)) space = (jx_aval){space.dtype, 1, {FLAT_DIM}};
    cg.producer = malloc(sizeof(int32_t) * (size_t)(f->nvars + 1));
    cg.slot = malloc(sizeof(int32_t) * (size_t)(f->nvars + 1));
    cg.bufs = calloc((size_t)(g->nin + g->nout + 1), sizeof(LLVMValueRef));
    cg.b = LLVMCreateBuilderInContext(ctx);
    if (!cg.producer || !cg.slot || !cg.bufs) {
        cg_free(&cg);
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
    if (g->nout && !k->no_col_tiles) find_col_reductions(&cg, &space);
    if (g->nout) emit_walk(&cg, &space, begin, end);
    LLVMBuildBr(cg.b, out);
    LLVMPositionBuilderAtEnd(cg.b, out);
    LLVMBuildRetVoid(cg.b);
    jx_status st = cg.fail_why ? cg_fail(&cg, g, cg.fail_why) : JX_OK;
    if (st != JX_OK) LLVMDeleteFunction(cg.fn);
    cg_free(&cg);
    return st;
}
