/* codegen_rows.c: a row's values, computed once per row (src/jit/fuse_rows.c makes the
 * groups that have them: softmax, layer norm and their gradients).
 *
 * In a kernel whose space S has rank r >= 2, each reduction and elementwise value of the
 * group with S's row shape S[0..r-2] is computed at the start of each row (each stretch
 * of a row that a call walks), at the index of the row's outer dims, before the row's
 * elements. The walk from an element reaches such a value through broadcasts and
 * reshapes that pass the outer dims on unchanged (the same LLVM values), and
 * jx__cg_row_value hands it the value computed for the row instead of folding the
 * reduction again.
 *
 * A reduction of the last axis whose operand has the shape S and is computed in the
 * kernel (a softmax's exp(x - max)) first writes the operand's whole row into a stack
 * buffer, in a loop of its own that the vectoriser takes (vector exp and all), then
 * folds the buffer; the row's elements read the buffer too, so each exp is computed
 * once and the input row is read from memory once. The fold's order, and so its bits,
 * are the interpreter's as everywhere else (codegen_reduce.c). */
#include <string.h>

#include "codegen.h"

static bool is_elementwise(int prim) {
    int c = jx__prims[prim].cls;
    return c == JX__UNARY || c == JX__BINARY || c == JX__COMPARE || prim == JX_PRIM_SELECT;
}

static int find_buffer(const jx__cg *cg, int32_t v) {
    for (int i = 0; i < cg->nrbuf; i++)
        if (cg->rbuf[i].var == v) return i;
    return -1;
}

static LLVMValueRef buffer_at(jx__cg *cg, int i, LLVMValueRef k, int64_t len) {
    LLVMTypeRef ty = jx__cg_type(cg, cg->f->vars[cg->rbuf[i].var].dtype);
    LLVMValueRef idx[2] = {jx__cg_i64(cg, 0), k};
    return LLVMBuildInBoundsGEP2(cg->b, LLVMArrayType(ty, (unsigned)len), cg->rbuf[i].buf, idx, 2, "");
}

/* Writes the row of reduction e's operand to a buffer when e folds the last axis of an
 * operand of the space's shape that the kernel computes. */
static void buffer_operand(jx__cg *cg, const jx__eqn *e, const jx_aval *space) {
    int32_t x = e->in[0].var;
    int r = space->rank;
    int64_t len = space->shape[r - 1];
    if (x < 0 || cg->producer[x] < 0 || find_buffer(cg, x) >= 0 || cg->nrbuf == JX__CG_MAXRBUF) return;
    const jx_aval *xa = &cg->f->vars[x];
    if (!jx__cg_same_shape(xa, space) || len * (int64_t)jx_dtype_size(xa->dtype) > JX__CG_RBUF_BYTES) return;
    bool red[JX_MAX_RANK];
    jx__cg_red_dims(e, red);
    for (int d = 0; d < r; d++)
        if (red[d] != (d == r - 1)) return;
    int i = cg->nrbuf++;
    cg->rbuf[i].var = x;
    cg->rbuf[i].ready = false;
    cg->rbuf[i].buf = jx__cg_alloca(cg, LLVMArrayType(jx__cg_type(cg, xa->dtype), (unsigned)len));
    LLVMValueRef dims[JX_MAX_RANK];
    memcpy(dims, cg->row_dims, sizeof dims);
    jx__cg_loop l;
    dims[r - 1] = jx__cg_loop_begin(cg, &l, jx__cg_i64(cg, 0), jx__cg_i64(cg, len));
    int memo_mark = cg->nmemo;
    LLVMValueRef v = jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, space, dims, NULL));
    LLVMBuildStore(cg->b, v, buffer_at(cg, i, dims[r - 1], len));
    cg->nmemo = memo_mark; /* values of the loop body do not dominate what follows */
    jx__cg_loop_end(cg, &l, dims[r - 1]);
    jx__cg_loop_parallel(cg, &l);
    cg->rbuf[i].ready = true;
}

void jx__cg_emit_row_values(jx__cg *cg, const jx_aval *space, const LLVMValueRef *dims) {
    const jx_fn *f = cg->f;
    jx_aval row = *space;
    row.rank = space->rank - 1;
    cg->row_rank = row.rank;
    memcpy(cg->row_dims, dims, sizeof(LLVMValueRef) * (size_t)row.rank);
    for (int32_t i = 0; i < cg->g->neqn && cg->nrowv < JX__CG_MAXROWV; i++) {
        const jx__eqn *e = &f->eqns[cg->g->eqns[i]];
        bool red = jx__prims[e->prim].cls == JX__REDUCE;
        if ((!red && !is_elementwise(e->prim)) || e->nout != 1 || !jx__cg_same_shape(&f->vars[e->out[0]], &row))
            continue;
        if (red) buffer_operand(cg, e, space);
        const jx__cg_idx *I = jx__cg_make_idx(cg, &row, cg->row_dims, NULL);
        LLVMValueRef v = jx__cg_eval_atom(cg, &(jx__atom){.var = e->out[0]}, I);
        cg->rowv[cg->nrowv].var = e->out[0];
        cg->rowv[cg->nrowv++].val = v;
    }
}

LLVMValueRef jx__cg_row_value(jx__cg *cg, int32_t v, const jx__cg_idx *I) {
    if ((!cg->nrowv && !cg->nrbuf) || I->rank < cg->row_rank || I->rank > cg->row_rank + 1) return NULL;
    for (int d = 0; d < cg->row_rank; d++)
        if (I->dim[d] != cg->row_dims[d]) return NULL;
    if (I->rank == cg->row_rank) {
        for (int i = 0; i < cg->nrowv; i++)
            if (cg->rowv[i].var == v) return cg->rowv[i].val;
        return NULL;
    }
    int i = find_buffer(cg, v);
    if (i < 0 || !cg->rbuf[i].ready) return NULL;
    LLVMTypeRef ty = jx__cg_type(cg, cg->f->vars[v].dtype);
    return LLVMBuildLoad2(cg->b, ty, buffer_at(cg, i, I->dim[I->rank - 1], I->shape[I->rank - 1]), "");
}

bool jx__cg_is_row_buffer(const jx__cg *cg, LLVMValueRef p) {
    while (LLVMIsAGetElementPtrInst(p) || LLVMIsABitCastInst(p)) p = LLVMGetOperand(p, 0);
    for (int i = 0; i < cg->nrbuf; i++)
        if (cg->rbuf[i].buf == p) return true;
    return false;
}

bool jx__cg_row_buffered(const jx__cg *cg, int32_t v) {
    int i = v >= 0 ? find_buffer(cg, v) : -1;
    return i >= 0 && cg->rbuf[i].ready;
}
