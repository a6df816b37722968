/* codegen_owner.c: scatter_add and the cumulative ops (cumsum, cumprod, cummax, cummin)
 * inside loop kernels, for backends that ask for them (jx__backend.owner_folds: the CUDA
 * backend, which has no kernels of its own for them). Each result element is computed by
 * its owner, folding the values that land on it in the interpreter's order, so the bits
 * are the interpreter's, with no atomics and whatever the split of the elements among
 * threads:
 *  - scatter_add: the element at (b, p, a, s) is x there plus, in ascending order of i,
 *    each update (b, p, i, s) whose index indices[b, i] is a (impl_index.c adds the
 *    updates one by one into a copy of x). An index outside the axis matches no element,
 *    so it is dropped as the interpreter drops it;
 *  - cumulative ops: the element at position j of the axis folds x from the axis' start
 *    (its end when reversed) to j, starting from the first value (impl_reduce.c's walk).
 * The work is elements times values folded per element, which fuse.c bounds. */
#include "codegen.h"

static LLVMValueRef eval_scatter_add(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I) {
    const jx_fn *f = cg->f;
    jx_aval xa = jx__atom_aval(f, &e->in[0]), ia = jx__atom_aval(f, &e->in[1]), ua = jx__atom_aval(f, &e->in[2]);
    int axis = (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0);
    int nb = (int)jx__attr_int(e->nattr, e->attrs, JX_A_NBATCH, 0), ni = ia.rank - nb;
    LLVMTypeRef ty = jx__cg_type(cg, xa.dtype);
    LLVMValueRef acc = jx__cg_alloca(cg, ty);
    LLVMBuildStore(cg->b, jx__cg_eval_atom(cg, &e->in[0], I), acc);
    if (jx_aval_size(&ua) == 0) return LLVMBuildLoad2(cg->b, ty, acc, ""); /* no update */
    jx__cg_loop loops[JX_MAX_RANK];
    LLVMValueRef ctr[JX_MAX_RANK] = {0}, idims[JX_MAX_RANK] = {0}, udims[JX_MAX_RANK] = {0};
    for (int d = 0; d < ni; d++)
        ctr[d] = jx__cg_loop_begin(cg, &loops[d], jx__cg_i64(cg, 0), jx__cg_i64(cg, ia.shape[nb + d]));
    int memo_mark = cg->nmemo;
    for (int d = 0; d < nb; d++) idims[d] = I->dim[d];
    for (int d = 0; d < ni; d++) idims[nb + d] = ctr[d];
    LLVMValueRef at = jx__cg_eval_atom(cg, &e->in[1], jx__cg_make_idx(cg, &ia, idims, NULL));
    LLVMValueRef hit = LLVMBuildICmp(cg->b, LLVMIntEQ, jx__cg_convert(cg, at, ia.dtype, JX_I64), I->dim[axis], "");
    /* the update is read only where it lands: a branch, not a select, so that a GPU
     * thread (whose warp mostly shares its row, so its branch) reads no update of
     * another row */
    LLVMBasicBlockRef add = jx__cg_block(cg, "scatter_add"), next = jx__cg_block(cg, "scatter_next");
    LLVMBuildCondBr(cg->b, hit, add, next);
    LLVMPositionBuilderAtEnd(cg->b, add);
    for (int d = 0; d < axis; d++) udims[d] = I->dim[d];
    for (int d = 0; d < ni; d++) udims[axis + d] = ctr[d];
    for (int d = axis + 1; d < xa.rank; d++) udims[d - 1 + ni] = I->dim[d];
    LLVMValueRef u = jx__cg_eval_atom(cg, &e->in[2], jx__cg_make_idx(cg, &ua, udims, NULL));
    LLVMValueRef a = LLVMBuildLoad2(cg->b, ty, acc, "");
    bool fl = xa.dtype == JX_F32 || xa.dtype == JX_F64;
    LLVMBuildStore(cg->b, fl ? LLVMBuildFAdd(cg->b, a, u, "") : LLVMBuildAdd(cg->b, a, u, ""), acc); /* ints wrap */
    LLVMBuildBr(cg->b, next);
    LLVMPositionBuilderAtEnd(cg->b, next);
    cg->nmemo = memo_mark; /* values of the loop body do not dominate what follows */
    for (int d = ni - 1; d >= 0; d--) jx__cg_loop_end(cg, &loops[d], ctr[d]);
    return LLVMBuildLoad2(cg->b, ty, acc, "");
}

/* The reduction whose step cumulative prim p repeats. */
static int cum_step(int p) {
    switch (p) {
    case JX_PRIM_CUMSUM: return JX_PRIM_REDUCE_SUM;
    case JX_PRIM_CUMPROD: return JX_PRIM_REDUCE_PROD;
    case JX_PRIM_CUMMAX: return JX_PRIM_REDUCE_MAX;
    default: return JX_PRIM_REDUCE_MIN;
    }
}

static LLVMValueRef eval_cumulative(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I) {
    jx_aval xa = jx__atom_aval(cg->f, &e->in[0]);
    int axis = (int)jx__attr_int(e->nattr, e->attrs, JX_A_AXIS, 0), step = cum_step(e->prim);
    bool rev = jx__attr_int(e->nattr, e->attrs, JX_A_REVERSE, 0) != 0;
    if (xa.dtype == JX_BOOL && (step == JX_PRIM_REDUCE_SUM || step == JX_PRIM_REDUCE_PROD))
        return jx__cg_unsupported(cg, e, xa.dtype, "bool cumulative sums and products");
    int64_t n = xa.shape[axis];
    LLVMTypeRef ty = jx__cg_type(cg, xa.dtype);
    LLVMValueRef dims[JX_MAX_RANK], j = I->dim[axis];
    for (int d = 0; d < xa.rank; d++) dims[d] = I->dim[d];
    dims[axis] = jx__cg_i64(cg, rev ? n - 1 : 0);
    LLVMValueRef acc = jx__cg_alloca(cg, ty);
    LLVMBuildStore(cg->b, jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &xa, dims, NULL)), acc);
    /* the t-th value after the first, t = 1 .. (j forwards, n - 1 - j reversed) */
    LLVMValueRef steps = rev ? LLVMBuildSub(cg->b, jx__cg_i64(cg, n - 1), j, "") : j;
    jx__cg_loop l;
    LLVMValueRef t = jx__cg_loop_begin(cg, &l, jx__cg_i64(cg, 1), LLVMBuildAdd(cg->b, steps, jx__cg_i64(cg, 1), ""));
    int memo_mark = cg->nmemo;
    dims[axis] = rev ? LLVMBuildSub(cg->b, jx__cg_i64(cg, n - 1), t, "") : t;
    LLVMValueRef v = jx__cg_eval_atom(cg, &e->in[0], jx__cg_make_idx(cg, &xa, dims, NULL));
    LLVMValueRef a = LLVMBuildLoad2(cg->b, ty, acc, "");
    LLVMBuildStore(cg->b, jx__cg_red_fold(cg, step, xa.dtype, a, v), acc);
    cg->nmemo = memo_mark; /* values of the loop body do not dominate what follows */
    jx__cg_loop_end(cg, &l, t);
    return LLVMBuildLoad2(cg->b, ty, acc, "");
}

LLVMValueRef jx__cg_eval_owner(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I) {
    return e->prim == JX_PRIM_SCATTER_ADD ? eval_scatter_add(cg, e, I) : eval_cumulative(cg, e, I);
}
