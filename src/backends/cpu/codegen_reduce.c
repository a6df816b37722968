/* codegen_reduce.c: reductions inside a loop kernel (codegen_loop.c evaluates them
 * through jx__cg_eval_reduce): reduce_sum, _prod, _max, _min, argmax and argmin at an
 * output index, in the order the interpreter folds them (src/trace/reduce_util.h), so
 * the results are its bits: one sequential accumulator over the reduced dims (ascending,
 * the last innermost), or for a floating sum or product of more than JX__RED_BLOCK values
 * blocks combined pairwise; a column reduction at the written element is read from its
 * tile's accumulators (codegen_colred.c). Long sums and every long max or min fold 8
 * blocks side by side as independent chains (emit_block_groups), the same bits. A
 * floating max or min of 32 values or more is first folded in any order, vectorised, and
 * folded in order only where that result's bits could differ (emit_checked). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../../trace/reduce_util.h"
#include "codegen.h"

/* The identity of reduction prim over dtype t. */
LLVMValueRef jx__cg_red_identity(jx__cg *cg, int prim, jx_dtype t) {
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
LLVMValueRef jx__cg_red_fold(jx__cg *cg, int prim, jx_dtype t, LLVMValueRef acc, LLVMValueRef v) {
    LLVMValueRef n = red_step(cg, prim, t, acc, v);
    if (prim == JX_PRIM_REDUCE_MAX || prim == JX_PRIM_REDUCE_MIN) n = LLVMBuildSelect(cg->b, n, v, acc, "");
    return n;
}

/* Which dims of its operand the reduction (or argmax/argmin) e reduces. */
void jx__cg_red_dims(const jx__eqn *e, bool red[JX_MAX_RANK]) {
    memset(red, 0, sizeof(bool) * JX_MAX_RANK);
    if (e->prim == JX_PRIM_ARGMAX || e->prim == JX_PRIM_ARGMIN) {
        red[jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0)] = true;
        return;
    }
    jx_ints axes = jx__attr_ints(e->nattr, e->attrs, JX_A_AXES);
    for (int i = 0; i < axes.n; i++) red[axes.v[i]] = true;
}


/* The number of values each output of reduction e folds, and whether it is a floating
 * sum or product longer than a block (folded by emit_blocked). */
int64_t jx__cg_red_count(const jx_aval *xa, const bool *red) {
    int64_t n = 1;
    for (int d = 0; d < xa->rank; d++)
        if (red[d]) n *= xa->shape[d];
    return n;
}

bool jx__cg_red_blocked(const jx__eqn *e, const jx_aval *xa, const bool *red) {
    return (e->prim == JX_PRIM_REDUCE_SUM || e->prim == JX_PRIM_REDUCE_PROD) &&
           (xa->dtype == JX_F32 || xa->dtype == JX_F64) && jx__cg_red_count(xa, red) > JX__RED_BLOCK;
}


void jx__cg_wloop_begin(jx__cg *cg, jx__cg_wloop *w, LLVMValueRef (*cond)(jx__cg *, void *), void *arg) {
    w->head = jx__cg_block(cg, "whead"), w->body = jx__cg_block(cg, "wbody"), w->exit = jx__cg_block(cg, "wexit");
    LLVMBuildBr(cg->b, w->head);
    LLVMPositionBuilderAtEnd(cg->b, w->head);
    LLVMBuildCondBr(cg->b, cond(cg, arg), w->body, w->exit);
    LLVMPositionBuilderAtEnd(cg->b, w->body);
}

void jx__cg_wloop_end(jx__cg *cg, jx__cg_wloop *w) {
    LLVMBuildBr(cg->b, w->head);
    LLVMPositionBuilderAtEnd(cg->b, w->exit);
}

LLVMValueRef jx__cg_even_cond(jx__cg *cg, void *slot) { /* the counter in slot is even */
    LLVMValueRef t = LLVMBuildLoad2(cg->b, cg->i64, slot, "");
    return LLVMBuildICmp(cg->b, LLVMIntEQ, LLVMBuildAnd(cg->b, t, jx__cg_i64(cg, 1), ""), jx__cg_i64(cg, 0), "");
}

LLVMValueRef jx__cg_nonempty_cond(jx__cg *cg, void *slot) { /* the stack top in slot > 0 */
    LLVMValueRef t = LLVMBuildLoad2(cg->b, cg->i64, slot, "");
    return LLVMBuildICmp(cg->b, LLVMIntSGT, t, jx__cg_i64(cg, 0), "");
}

/* stack[top - 1] after top is decremented. */
LLVMValueRef jx__cg_pop(jx__cg *cg, LLVMTypeRef sty, LLVMTypeRef ty, LLVMValueRef stack, LLVMValueRef top) {
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
    return jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, xa, dims, NULL));
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
    jx__cg_wloop m;
    jx__cg_wloop_begin(cg, &m, jx__cg_even_cond, bs->cnt);
    LLVMValueRef left = jx__cg_pop(cg, bs->sty, bs->ty, bs->stack, bs->top);
    LLVMBuildStore(b, jx__cg_red_fold(cg, prim, t, left, LLVMBuildLoad2(b, bs->ty, bs->acc, "")), bs->acc);
    LLVMBuildStore(b, LLVMBuildLShr(b, LLVMBuildLoad2(b, cg->i64, bs->cnt, ""), jx__cg_i64(cg, 1), ""), bs->cnt);
    jx__cg_wloop_end(cg, &m);
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
 * group's sums go through the merges in block order. On the host, unless the operand's
 * row is in a row buffer already, a group's values are first written to a stack buffer
 * in order by a loop of their own (vectorised, and reading memory front to back: the
 * chains' reads, RED_LANES streams a block apart, ran at a third of the bandwidth); not
 * for a GPU, where 4 KB per thread would be local memory for every resident thread. */
enum { RED_LANES = 8 };
static void emit_block_groups(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I, const jx_aval *xa,
                              const bool *red, int64_t groups, const bstate *bs) {
    LLVMBuilderRef b = cg->b;
    jx_dtype t = xa->dtype;
    LLVMValueRef lane[RED_LANES];
    for (int g = 0; g < RED_LANES; g++) lane[g] = jx__cg_alloca(cg, bs->ty);
    enum { STAGED = RED_LANES * JX__RED_BLOCK };
    LLVMTypeRef sty = LLVMArrayType(bs->ty, STAGED);
    LLVMValueRef stage = jx__cg_for_gpu(cg) || jx__cg_row_buffered(cg, e->in[0].var) ? NULL : jx__cg_alloca(cg, sty);
    jx__cg_loop lq, lr;
    LLVMValueRef q = jx__cg_loop_begin(cg, &lq, jx__cg_i64(cg, 0), jx__cg_i64(cg, groups));
    for (int g = 0; g < RED_LANES; g++) LLVMBuildStore(b, jx__cg_red_identity(cg, e->prim, t), lane[g]);
    LLVMValueRef first = LLVMBuildMul(b, q, jx__cg_i64(cg, RED_LANES), "");
    LLVMValueRef base = LLVMBuildMul(b, first, jx__cg_i64(cg, JX__RED_BLOCK), "");
    int memo_mark = cg->nmemo;
    if (stage) {
        jx__cg_loop ls;
        LLVMValueRef j = jx__cg_loop_begin(cg, &ls, jx__cg_i64(cg, 0), jx__cg_i64(cg, STAGED));
        LLVMValueRef v = red_operand(cg, e, I, xa, red, LLVMBuildAdd(b, base, j, ""));
        LLVMValueRef idx[2] = {jx__cg_i64(cg, 0), j};
        LLVMBuildStore(b, v, LLVMBuildInBoundsGEP2(b, sty, stage, idx, 2, ""));
        cg->nmemo = memo_mark;
        jx__cg_loop_end(cg, &ls, j);
    }
    LLVMValueRef r = jx__cg_loop_begin(cg, &lr, jx__cg_i64(cg, 0), jx__cg_i64(cg, JX__RED_BLOCK));
    for (int g = 0; g < RED_LANES; g++) {
        LLVMValueRef at = LLVMBuildAdd(b, jx__cg_i64(cg, (int64_t)g * JX__RED_BLOCK), r, ""), v;
        if (stage) {
            LLVMValueRef idx[2] = {jx__cg_i64(cg, 0), at};
            v = LLVMBuildLoad2(b, bs->ty, LLVMBuildInBoundsGEP2(b, sty, stage, idx, 2, ""), "");
        } else {
            v = red_operand(cg, e, I, xa, red, LLVMBuildAdd(b, base, at, ""));
        }
        LLVMBuildStore(b, jx__cg_red_fold(cg, e->prim, t, LLVMBuildLoad2(b, bs->ty, lane[g], ""), v), lane[g]);
    }
    cg->nmemo = memo_mark;
    jx__cg_loop_end(cg, &lr, r);
    for (int g = 0; g < RED_LANES; g++) { /* in block order: merges, or max/min folded on */
        LLVMValueRef sum = LLVMBuildLoad2(b, bs->ty, lane[g], "");
        if (!bs->stack) {
            LLVMBuildStore(b, jx__cg_red_fold(cg, e->prim, t, LLVMBuildLoad2(b, bs->ty, bs->acc, ""), sum), bs->acc);
            continue;
        }
        LLVMBuildStore(b, sum, bs->acc);
        merge_push(cg, e->prim, t, bs, LLVMBuildAdd(b, first, jx__cg_i64(cg, g), ""));
    }
    jx__cg_loop_end(cg, &lq, q);
}

/* A floating max or min in any order: FAST_LANES accumulators, lane g folding values g,
 * g + FAST_LANES, ..., which the SLP vectoriser turns into one vector register, then the
 * lanes and the values after them folded on. Whatever the order, the extreme found
 * compares equal to the sequential fold's; it has the same bits too unless it is a NaN
 * (which NaN is last depends on the order) or compares equal to zero (-0 and +0, and
 * under denormals-are-zero every subnormal, compare equal): emit_checked checks. */
enum { FAST_LANES = 16 };
static LLVMValueRef emit_any_order(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I, const jx_aval *xa,
                                   const bool *red, LLVMTypeRef ty) {
    LLVMBuilderRef b = cg->b;
    jx_dtype t = xa->dtype;
    int64_t n = jx__cg_red_count(xa, red), full = n / FAST_LANES;
    LLVMValueRef lane[FAST_LANES];
    for (int g = 0; g < FAST_LANES; g++) {
        lane[g] = jx__cg_alloca(cg, ty);
        LLVMBuildStore(b, jx__cg_red_identity(cg, e->prim, t), lane[g]);
    }
    jx__cg_loop lq, rest;
    LLVMValueRef q = jx__cg_loop_begin(cg, &lq, jx__cg_i64(cg, 0), jx__cg_i64(cg, full));
    LLVMValueRef first = LLVMBuildMul(b, q, jx__cg_i64(cg, FAST_LANES), "");
    int memo_mark = cg->nmemo;
    for (int g = 0; g < FAST_LANES; g++) {
        LLVMValueRef v = red_operand(cg, e, I, xa, red, LLVMBuildAdd(b, first, jx__cg_i64(cg, g), ""));
        LLVMBuildStore(b, jx__cg_red_fold(cg, e->prim, t, LLVMBuildLoad2(b, ty, lane[g], ""), v), lane[g]);
    }
    cg->nmemo = memo_mark;
    jx__cg_loop_end(cg, &lq, q);
    for (int g = 1; g < FAST_LANES; g++)
        LLVMBuildStore(b, jx__cg_red_fold(cg, e->prim, t, LLVMBuildLoad2(b, ty, lane[0], ""),
                                          LLVMBuildLoad2(b, ty, lane[g], "")), lane[0]);
    LLVMValueRef r = jx__cg_loop_begin(cg, &rest, jx__cg_i64(cg, full * FAST_LANES), jx__cg_i64(cg, n));
    LLVMValueRef v = red_operand(cg, e, I, xa, red, r);
    LLVMBuildStore(b, jx__cg_red_fold(cg, e->prim, t, LLVMBuildLoad2(b, ty, lane[0], ""), v), lane[0]);
    cg->nmemo = memo_mark;
    jx__cg_loop_end(cg, &rest, r);
    return LLVMBuildLoad2(b, ty, lane[0], "");
}

/* reduce_max or reduce_min of n >= RED_LANES * JX__RED_BLOCK values at I, exactly: block
 * groups side by side (emit_block_groups), each block's result folded on in block order,
 * then the values after them. Blocks are contiguous runs, so this is the sequential
 * fold's result bit for bit: the first of equal extremes (a -0 or a +0) and the last NaN. */
static LLVMValueRef emit_extreme(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I, const jx_aval *xa,
                                 const bool *red) {
    jx_dtype t = xa->dtype;
    bstate bs = {jx__cg_type(cg, t), NULL, NULL, NULL, NULL, NULL};
    int64_t n = jx__cg_red_count(xa, red), groups = n / JX__RED_BLOCK / RED_LANES;
    bs.acc = jx__cg_alloca(cg, bs.ty);
    LLVMBuildStore(cg->b, jx__cg_red_identity(cg, e->prim, t), bs.acc);
    emit_block_groups(cg, e, I, xa, red, groups, &bs);
    jx__cg_loop rest;
    LLVMValueRef r = jx__cg_loop_begin(cg, &rest, jx__cg_i64(cg, groups * RED_LANES * JX__RED_BLOCK), jx__cg_i64(cg, n));
    int memo_mark = cg->nmemo;
    LLVMValueRef v = red_operand(cg, e, I, xa, red, r);
    LLVMBuildStore(cg->b, jx__cg_red_fold(cg, e->prim, t, LLVMBuildLoad2(cg->b, bs.ty, bs.acc, ""), v), bs.acc);
    cg->nmemo = memo_mark;
    jx__cg_loop_end(cg, &rest, r);
    return LLVMBuildLoad2(cg->b, bs.ty, bs.acc, "");
}

typedef LLVMValueRef (*exact_fn)(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I, const jx_aval *xa,
                                 const bool *red);

/* A floating reduce_max or reduce_min of at least 2 * FAST_LANES values: folded in any
 * order first (emit_any_order, vectorised), a result kept unless it is a NaN or compares
 * equal to zero; those are folded again by exact (the interpreter's order). */
static LLVMValueRef emit_checked(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I, const jx_aval *xa,
                                 const bool *red, exact_fn exact) {
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef ty = jx__cg_type(cg, xa->dtype);
    LLVMValueRef m = emit_any_order(cg, e, I, xa, red, ty), res = jx__cg_alloca(cg, ty);
    LLVMBuildStore(b, m, res);
    LLVMValueRef redo = LLVMBuildFCmp(b, LLVMRealUEQ, m, LLVMConstReal(ty, 0), ""); /* NaN or == 0 */
    LLVMBasicBlockRef slow = jx__cg_block(cg, "exact"), join = jx__cg_block(cg, "extreme");
    LLVMBuildCondBr(b, redo, slow, join);
    LLVMPositionBuilderAtEnd(b, slow);
    LLVMBuildStore(b, exact(cg, e, I, xa, red), res);
    LLVMBuildBr(b, join);
    LLVMPositionBuilderAtEnd(b, join);
    return LLVMBuildLoad2(b, ty, res, "");
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
    int64_t n = jx__cg_red_count(xa, red), groups = n / JX__RED_BLOCK / RED_LANES;
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
    LLVMBuildStore(b, jx__cg_red_identity(cg, e->prim, t), bs.acc);
    LLVMValueRef r = jx__cg_loop_begin(cg, &in, from, to);
    int memo_mark = cg->nmemo;
    LLVMValueRef v = red_operand(cg, e, I, xa, red, r);
    LLVMBuildStore(b, jx__cg_red_fold(cg, e->prim, t, LLVMBuildLoad2(b, bs.ty, bs.acc, ""), v), bs.acc);
    cg->nmemo = memo_mark;
    jx__cg_loop_end(cg, &in, r);
    merge_push(cg, e->prim, t, &bs, s);
    jx__cg_loop_end(cg, &blk, s);
    /* the stack folded from its top down */
    LLVMBuildStore(b, jx__cg_pop(cg, bs.sty, bs.ty, bs.stack, bs.top), bs.acc);
    jx__cg_wloop f;
    jx__cg_wloop_begin(cg, &f, jx__cg_nonempty_cond, bs.top);
    LLVMValueRef below = jx__cg_pop(cg, bs.sty, bs.ty, bs.stack, bs.top);
    LLVMBuildStore(b, jx__cg_red_fold(cg, e->prim, t, below, LLVMBuildLoad2(b, bs.ty, bs.acc, "")), bs.acc);
    jx__cg_wloop_end(cg, &f);
    return LLVMBuildLoad2(b, bs.ty, bs.acc, "");
}

/* The sequential fold of reduction (or argmax/argmin) e at I: loops over the reduced
 * dims (ascending, the last innermost) around one accumulator. */
static LLVMValueRef emit_sequential(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I, const jx_aval *xa,
                                    const bool *red) {
    jx_dtype t = xa->dtype, ot = cg->f->vars[e->out[0]].dtype;
    bool arg = e->prim == JX_PRIM_ARGMAX || e->prim == JX_PRIM_ARGMIN;
    LLVMTypeRef ty = jx__cg_type(cg, t);
    LLVMValueRef acc = jx__cg_alloca(cg, ty), best_i = NULL;
    LLVMBuildStore(cg->b, arg ? LLVMConstNull(ty) : jx__cg_red_identity(cg, e->prim, t), acc);
    if (arg) {
        best_i = jx__cg_alloca(cg, cg->i64);
        LLVMBuildStore(cg->b, jx__cg_i64(cg, 0), best_i);
    }
    jx__cg_loop loops[JX_MAX_RANK];
    LLVMValueRef ctr[JX_MAX_RANK] = {0}, lctr[JX_MAX_RANK] = {0}, dims[JX_MAX_RANK] = {0};
    int nl = 0;
    for (int d = 0; d < xa->rank; d++)
        if (red[d]) {
            ctr[d] = jx__cg_loop_begin(cg, &loops[nl], jx__cg_i64(cg, 0), jx__cg_i64(cg, xa->shape[d]));
            lctr[nl++] = ctr[d];
        }
    for (int d = 0, k = 0; d < xa->rank; d++) dims[d] = red[d] ? ctr[d] : I->dim[k++];
    int memo_mark = cg->nmemo;
    LLVMValueRef v = jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, xa, dims, NULL));
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
        LLVMBuildStore(cg->b, jx__cg_red_fold(cg, e->prim, t, a, v), acc);
    }
    cg->nmemo = memo_mark; /* values of the loop body do not dominate what follows */
    for (int l = nl - 1; l >= 0; l--) jx__cg_loop_end(cg, &loops[l], lctr[l]);
    if (arg) return LLVMBuildTrunc(cg->b, LLVMBuildLoad2(cg->b, cg->i64, best_i, ""), jx__cg_type(cg, ot), "");
    return LLVMBuildLoad2(cg->b, ty, acc, "");
}

/* reduce_* and argmax/argmin at output index I: a column reduction at the written element
 * is loaded from its tile's accumulators; a long floating sum or product is blocked
 * (emit_blocked); a floating max or min of 32 values or more is checked (emit_checked);
 * the rest is the sequential fold, with long extremes' blocks side by side. */
LLVMValueRef jx__cg_eval_reduce(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I) {
    jx_aval xa = jx__atom_aval(cg->f, &e->in[0]);
    jx_dtype t = xa.dtype, ot = cg->f->vars[e->out[0]].dtype;
    bool red[JX_MAX_RANK];
    jx__cg_red_dims(e, red);
    /* at the written element: the root index, or its last dim alone (jx__cg_row_of) */
    const jx__cg_idx *R = cg->root;
    bool at_root = I == R || (R && I->rank == 1 && R->rank >= 2 && I->dim[0] == R->dim[R->rank - 1]);
    for (int d = 0; at_root && I != R && d < R->rank - 1; d++) at_root = R->shape[d] == 1;
    for (int c = 0; c < cg->ncol && at_root; c++)
        if (&cg->f->eqns[cg->col_eqn[c]] == e)
            return jx__cg_col_load(cg, c, t, LLVMBuildSub(cg->b, I->dim[I->rank - 1], cg->col_j0, ""));
    if (t == JX_BOOL && (e->prim == JX_PRIM_REDUCE_SUM || e->prim == JX_PRIM_REDUCE_PROD))
        return jx__cg_unsupported(cg, e, ot, "bool sums and products");
    if (jx__cg_red_blocked(e, &xa, red)) return emit_blocked(cg, e, I, &xa, red);
    int64_t n = jx__cg_red_count(&xa, red);
    bool extreme = (e->prim == JX_PRIM_REDUCE_MAX || e->prim == JX_PRIM_REDUCE_MIN) && t != JX_BOOL;
    exact_fn exact = extreme && n >= RED_LANES * JX__RED_BLOCK ? emit_extreme : emit_sequential;
    if (extreme && (t == JX_F32 || t == JX_F64) && n >= 2 * FAST_LANES) return emit_checked(cg, e, I, &xa, red, exact);
    return exact(cg, e, I, &xa, red);
}
