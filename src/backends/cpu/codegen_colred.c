/* codegen_colred.c: column reductions in a loop kernel. A reduction whose operand's last
 * axis is kept (a column sum: the bias gradient's f32[128,512] -> f32[512]) would read
 * its operand with a stride there. When such a reduction has the space's shape and is
 * read at the written element, the walk (codegen_loop.c) goes by tiles of at most
 * JX__CG_COL_TILE elements of an output row, and before evaluating a tile accumulates the
 * reduction for the whole tile into a stack array: loops over the reduced dims
 * (ascending) around an innermost loop along the tile, so the operand is read
 * contiguously and the loop vectorises. Each output element still folds its values in
 * the interpreter's order (sequentially, or blocked for long floating sums: per block of
 * 128 rows a sequential fold into every column's accumulator, then the binary-counter
 * merges on a tile-wide stack): bit-identical to it. */
#include <stdlib.h>
#include <string.h>

#include "../../trace/reduce_util.h"
#include "codegen.h"
/* The most stack a blocked column reduction's partial sums take (16 levels of f32 tiles:
 * 2^15 blocks, 4M values per column). */
enum { COL_STACK = 16 * JX__CG_COL_TILE * 4 };

/* Pointer to column reduction c's accumulator at tile position at. */
static LLVMValueRef col_ptr(jx__cg *cg, int c, jx_dtype t, LLVMValueRef at) {
    LLVMValueRef idx[2] = {jx__cg_i64(cg, 0), at};
    return LLVMBuildInBoundsGEP2(cg->b, LLVMArrayType(jx__cg_type(cg, t), JX__CG_COL_TILE), cg->col_acc[c], idx, 2, "");
}

LLVMValueRef jx__cg_col_load(jx__cg *cg, int c, jx_dtype t, LLVMValueRef at) {
    return LLVMBuildLoad2(cg->b, jx__cg_type(cg, t), col_ptr(cg, c, t, at), "");
}

/* Whether a is space's last dim alone, space being (1, ..., 1, C) and a (C): a
 * reduction's result reshaped as batch norm's statistics are, read at the written
 * element through the reshape. */
bool jx__cg_row_of(const jx_aval *space, const jx_aval *a) {
    if (a->rank != 1 || space->rank < 2 || a->shape[0] != space->shape[space->rank - 1]) return false;
    for (int d = 0; d < space->rank - 1; d++)
        if (space->shape[d] != 1) return false;
    return true;
}

/* Whether eqn k is a reduction that can be accumulated by columns in space: sum, prod,
 * max or min, of the space's shape (or its jx__cg_row_of), keeping its operand's last axis. */
static bool col_reduction(const jx__cg *cg, int32_t k, const jx_aval *space) {
    const jx__eqn *e = &cg->f->eqns[k];
    int p = e->prim;
    if (p != JX_PRIM_REDUCE_SUM && p != JX_PRIM_REDUCE_PROD && p != JX_PRIM_REDUCE_MAX && p != JX_PRIM_REDUCE_MIN)
        return false;
    jx_aval xa = jx__atom_aval(cg->f, &e->in[0]);
    if (xa.dtype == JX_F16 || xa.dtype == JX_BF16) return false;
    if (xa.dtype == JX_BOOL && (p == JX_PRIM_REDUCE_SUM || p == JX_PRIM_REDUCE_PROD)) return false;
    bool red[JX_MAX_RANK];
    jx__cg_red_dims(e, red);
    if (jx__cg_red_blocked(e, &xa, red)) { /* its tile-wide stack (emit_col_blocked) stays within COL_STACK */
        int64_t nblocks = (jx__cg_red_count(&xa, red) + JX__RED_BLOCK - 1) / JX__RED_BLOCK, depth = 1;
        while (depth < 63 && (INT64_C(1) << depth) <= nblocks) depth++;
        if (depth * JX__CG_COL_TILE * (int64_t)jx_dtype_size(xa.dtype) > COL_STACK) return false;
    }
    const jx_aval *out = &cg->f->vars[e->out[0]];
    return space->rank >= 1 && xa.rank > out->rank && !red[xa.rank - 1] &&
           (jx__cg_same_shape(out, space) || jx__cg_row_of(space, out));
}

/* Finds the column reductions: those reached from the outputs through elementwise
 * equations only (so read at the written element). */
void jx__cg_find_col_reductions(jx__cg *cg, const jx_aval *space) {
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
        if (e->prim == JX_PRIM_RESHAPE && e->in[0].var >= 0 && jx__cg_row_of(space, &f->vars[e->in[0].var])) {
            int32_t u = e->in[0].var;
            if (!seen[u]) seen[u] = true, stack[n++] = u;
            continue;
        }
        if (c != JX__UNARY && c != JX__BINARY && c != JX__COMPARE && e->prim != JX_PRIM_SELECT) continue;
        for (int i = 0; i < e->nin; i++) {
            int32_t u = e->in[i].var;
            if (u >= 0 && !seen[u] && jx__cg_same_shape(&f->vars[u], space)) seen[u] = true, stack[n++] = u;
        }
    }
    free(seen);
    free(stack);
    for (int c = 0; c < cg->ncol; c++) {
        jx_dtype t = jx__atom_aval(f, &f->eqns[cg->col_eqn[c]].in[0]).dtype;
        cg->col_acc[c] = jx__cg_alloca(cg, LLVMArrayType(jx__cg_type(cg, t), JX__CG_COL_TILE));
    }
}

/* The operand of column reduction e at reduced dims dims[] (the others from outer[]) and
 * tile position at, folded into the accumulator at p. */
static void col_fold_at(jx__cg *cg, const jx__eqn *e, const jx_aval *xa, LLVMValueRef *dims, LLVMValueRef j0,
                        LLVMValueRef at, LLVMValueRef p) {
    dims[xa->rank - 1] = LLVMBuildAdd(cg->b, j0, at, "");
    int memo_mark = cg->nmemo;
    LLVMValueRef v = jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, xa, dims, NULL));
    LLVMBuildStore(cg->b, jx__cg_red_fold(cg, e->prim, xa->dtype, LLVMBuildLoad2(cg->b, jx__cg_type(cg, xa->dtype), p, ""), v),
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
                         LLVMValueRef top, LLVMValueRef cnt, bool fold) { /* cnt: the constant width */
    LLVMValueRef tp = LLVMBuildSub(cg->b, LLVMBuildLoad2(cg->b, cg->i64, top, ""), jx__cg_i64(cg, 1), "");
    LLVMBuildStore(cg->b, tp, top);
    jx__cg_loop l;
    LLVMValueRef at = jx__cg_loop_begin(cg, &l, jx__cg_i64(cg, 0), cnt);
    LLVMTypeRef ty = jx__cg_type(cg, t);
    LLVMValueRef left = LLVMBuildLoad2(cg->b, ty, stack_ptr(cg, sty, stack, tp, at), "");
    LLVMValueRef p = col_ptr(cg, c, t, at);
    LLVMBuildStore(cg->b, fold ? jx__cg_red_fold(cg, e->prim, t, left, LLVMBuildLoad2(cg->b, ty, p, "")) : left, p);
    jx__cg_loop_end(cg, &l, at);
}

/* A column reduction of n > JX__RED_BLOCK values per element (a floating sum or product:
 * batch norm's statistics over N*H*W rows) in emit_blocked's order, for the whole tile at
 * once: per block the sequential fold along the flat reduced index, each value folded
 * into every tile position's accumulator (contiguous reads), then the binary-counter
 * merges on a tile-wide stack as deep as the block count has bits. */
static void emit_col_blocked(jx__cg *cg, int c, const jx__eqn *e, const jx_aval *xa, const bool *red,
                             LLVMValueRef *dims, LLVMValueRef j0, LLVMValueRef cnt, LLVMValueRef wide) {
    LLVMBuilderRef b = cg->b;
    jx_dtype t = xa->dtype;
    LLVMTypeRef ty = jx__cg_type(cg, t);
    int64_t n = jx__cg_red_count(xa, red), nblocks = (n + JX__RED_BLOCK - 1) / JX__RED_BLOCK;
    int depth = 1;
    while (depth < 63 && (INT64_C(1) << depth) <= nblocks) depth++;
    LLVMTypeRef sty = LLVMArrayType(LLVMArrayType(ty, JX__CG_COL_TILE), (unsigned)depth);
    LLVMValueRef stack = jx__cg_alloca(cg, sty), top = jx__cg_alloca(cg, cg->i64), bc = jx__cg_alloca(cg, cg->i64);
    LLVMBuildStore(b, jx__cg_i64(cg, 0), top);
    jx__cg_loop blk, init, in, tile, push;
    LLVMValueRef s = jx__cg_loop_begin(cg, &blk, jx__cg_i64(cg, 0), jx__cg_i64(cg, nblocks));
    LLVMValueRef at = jx__cg_loop_begin(cg, &init, jx__cg_i64(cg, 0), wide);
    LLVMBuildStore(b, jx__cg_red_identity(cg, e->prim, t), col_ptr(cg, c, t, at));
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
    jx__cg_wloop m;
    jx__cg_wloop_begin(cg, &m, jx__cg_even_cond, bc);
    col_pop_fold(cg, e, c, t, sty, stack, top, wide, true);
    LLVMBuildStore(b, LLVMBuildLShr(b, LLVMBuildLoad2(b, cg->i64, bc, ""), jx__cg_i64(cg, 1), ""), bc);
    jx__cg_wloop_end(cg, &m);
    LLVMValueRef tp = LLVMBuildLoad2(b, cg->i64, top, "");
    at = jx__cg_loop_begin(cg, &push, jx__cg_i64(cg, 0), wide);
    LLVMBuildStore(b, LLVMBuildLoad2(b, ty, col_ptr(cg, c, t, at), ""), stack_ptr(cg, sty, stack, tp, at));
    jx__cg_loop_end(cg, &push, at);
    LLVMBuildStore(b, LLVMBuildAdd(b, tp, jx__cg_i64(cg, 1), ""), top);
    jx__cg_loop_end(cg, &blk, s);
    /* the stack folded from its top down */
    col_pop_fold(cg, e, c, t, sty, stack, top, wide, false);
    jx__cg_wloop f;
    jx__cg_wloop_begin(cg, &f, jx__cg_nonempty_cond, top);
    col_pop_fold(cg, e, c, t, sty, stack, top, wide, true);
    jx__cg_wloop_end(cg, &f);
}

/* Accumulates column reduction c for the tile [j0, j0 + cnt) of the output row whose
 * other dims are outer[]: identities, then for each reduced index (ascending) a loop
 * along the tile folding the operand's element in (blocked: emit_col_blocked). */
void jx__cg_emit_col_reduction(jx__cg *cg, int c, const LLVMValueRef *outer, LLVMValueRef j0, LLVMValueRef cnt) {
    const jx__eqn *e = &cg->f->eqns[cg->col_eqn[c]];
    jx_aval xa = jx__atom_aval(cg->f, &e->in[0]);
    jx_dtype t = xa.dtype;
    bool red[JX_MAX_RANK];
    jx__cg_red_dims(e, red);
    /* Loops that touch only the stack run over the widest tile a row has, a constant:
     * columns past cnt hold identities and are never read, and the vectoriser makes a
     * body with neither a run-time trip count nor its checks (less code to compile). */
    int64_t row = xa.shape[xa.rank - 1];
    LLVMValueRef wide = jx__cg_i64(cg, row < JX__CG_COL_TILE ? row : JX__CG_COL_TILE);
    if (jx__cg_red_blocked(e, &xa, red)) {
        LLVMValueRef dims[JX_MAX_RANK] = {0};
        for (int d = 0, k = 0; d < xa.rank - 1; d++)
            if (!red[d]) dims[d] = outer[k++];
        emit_col_blocked(cg, c, e, &xa, red, dims, j0, cnt, wide);
        return;
    }
    jx__cg_loop init, tile, loops[JX_MAX_RANK];
    LLVMValueRef at = jx__cg_loop_begin(cg, &init, jx__cg_i64(cg, 0), wide);
    LLVMBuildStore(cg->b, jx__cg_red_identity(cg, e->prim, t), col_ptr(cg, c, t, at));
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
