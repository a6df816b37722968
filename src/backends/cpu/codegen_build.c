/* codegen_build.c: small pieces of LLVM IR the CPU kernels are built from (codegen.h):
 * register types and constants, calls to helpers and intrinsics, entry-block stack
 * slots, blocks, counted loops, and indices into a value's shape (made from dims or
 * from the row-major offset; reshapes mapped dim by dim where they can be). */
#include <stdlib.h>
#include <string.h>

#include <llvm-c/DebugInfo.h> /* LLVMTemporaryMDNode */

#include "codegen.h"

/* ------------------------------------------------------------------ basics */

LLVMTypeRef jx__cg_type(jx__cg *cg, jx_dtype t) {
    switch (t) {
    case JX_F32: return cg->f32;
    case JX_F64: return cg->f64;
    case JX_I32:
    case JX_U32: return cg->i32;
    case JX_I64: return cg->i64;
    case JX_F16:
    case JX_BF16: return cg->i16;
    default: return cg->i8; /* u8, bool */
    }
}

LLVMValueRef jx__cg_i64(jx__cg *cg, int64_t v) { return LLVMConstInt(cg->i64, (unsigned long long)v, 1); }

LLVMValueRef jx__cg_literal(jx__cg *cg, const jx__atom *a) {
    LLVMTypeRef ty = jx__cg_type(cg, a->dtype);
    switch (a->dtype) {
    case JX_F32:
    case JX_F64: return LLVMConstReal(ty, jx__lit_f64(a));
    case JX_F16: return LLVMConstInt(ty, jx_f32_to_f16((float)jx__lit_f64(a)), 0);
    case JX_BF16: return LLVMConstInt(ty, jx_f32_to_bf16((float)jx__lit_f64(a)), 0);
    default: return LLVMConstInt(ty, (unsigned long long)jx__lit_i64(a), 1);
    }
}

LLVMValueRef jx__cg_unsupported(jx__cg *cg, const jx__eqn *e, jx_dtype t, const char *why) {
    if (!cg->fail_why) {
        cg->fail_eqn = e;
        cg->fail_why = why;
    }
    return LLVMGetUndef(jx__cg_type(cg, t));
}

LLVMValueRef jx__cg_call(jx__cg *cg, const char *name, LLVMTypeRef ret, int n, LLVMTypeRef *params,
                         LLVMValueRef *args) {
    LLVMTypeRef ft = LLVMFunctionType(ret, params, (unsigned)n, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, name);
    if (!fn) {
        fn = LLVMAddFunction(cg->mod, name, ft);
        static const char *const attrs[] = {"readnone", "nounwind", "willreturn"};
        for (int i = 0; i < 3; i++) {
            unsigned kind = LLVMGetEnumAttributeKindForName(attrs[i], strlen(attrs[i]));
            LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(cg->ctx, kind, 0));
        }
        unsigned zext = LLVMGetEnumAttributeKindForName("zeroext", 7);
        for (int i = 0; i < n; i++) /* f16 bits go as uint16_t */
            if (params[i] == cg->i16) LLVMAddAttributeAtIndex(fn, (unsigned)i + 1, LLVMCreateEnumAttribute(cg->ctx, zext, 0));
        if (ret == cg->i16) LLVMAddAttributeAtIndex(fn, LLVMAttributeReturnIndex, LLVMCreateEnumAttribute(cg->ctx, zext, 0));
    }
    return LLVMBuildCall2(cg->b, ft, fn, args, (unsigned)n, "");
}

LLVMValueRef jx__cg_fintrinsic(jx__cg *cg, const char *base, LLVMValueRef a) {
    LLVMTypeRef ty = LLVMTypeOf(a);
    char name[40];
    snprintf(name, sizeof name, "%s.%s", base, ty == cg->f32 ? "f32" : "f64");
    LLVMTypeRef ft = LLVMFunctionType(ty, &ty, 1, 0);
    LLVMValueRef fn = LLVMGetNamedFunction(cg->mod, name);
    if (!fn) fn = LLVMAddFunction(cg->mod, name, ft);
    return LLVMBuildCall2(cg->b, ft, fn, &a, 1, "");
}

LLVMValueRef jx__cg_alloca(jx__cg *cg, LLVMTypeRef ty) {
    LLVMBuilderRef ab = LLVMCreateBuilderInContext(cg->ctx);
    LLVMValueRef first = LLVMGetFirstInstruction(cg->entry);
    if (first)
        LLVMPositionBuilderBefore(ab, first);
    else
        LLVMPositionBuilderAtEnd(ab, cg->entry);
    LLVMValueRef a = LLVMBuildAlloca(ab, ty, "");
    LLVMDisposeBuilder(ab);
    return a;
}

LLVMBasicBlockRef jx__cg_block(jx__cg *cg, const char *name) {
    return LLVMAppendBasicBlockInContext(cg->ctx, cg->fn, name);
}

/* ------------------------------------------------------------------ indices */

static void row_strides(int rank, const int64_t *shape, int64_t *st) {
    int64_t acc = 1;
    for (int d = rank - 1; d >= 0; d--) st[d] = acc, acc *= shape[d];
}

/* An index into shape: from dims (lin computed) or, when dims is NULL, from lin. */
const jx__cg_idx *jx__cg_make_idx(jx__cg *cg, const jx_aval *av, const LLVMValueRef *dims, LLVMValueRef lin) {
    jx__cg_idx *x = calloc(1, sizeof *x);
    if (x && cg->nidx == cg->capidx) { /* on failure the old list stays, freed with cg */
        int cap = 2 * cg->capidx + 16;
        jx__cg_idx **grown = realloc(cg->idxs, sizeof *grown * (size_t)cap);
        if (grown) cg->idxs = grown, cg->capidx = cap;
    }
    if (!x || cg->nidx == cg->capidx) {
        free(x);
        jx__cg_unsupported(cg, NULL, JX_F32, "out of memory"); /* the kernel fails, never skips */
        return NULL;
    }
    cg->idxs[cg->nidx++] = x;
    x->rank = av->rank;
    memcpy(x->shape, av->shape, sizeof x->shape);
    int64_t st[JX_MAX_RANK];
    row_strides(av->rank, av->shape, st);
    if (dims) {
        lin = jx__cg_i64(cg, 0);
        for (int d = 0; d < av->rank; d++) {
            x->dim[d] = dims[d];
            if (av->shape[d] != 1) lin = LLVMBuildAdd(cg->b, lin, LLVMBuildMul(cg->b, dims[d], jx__cg_i64(cg, st[d]), ""), "");
        }
    } else {
        for (int d = 0; d < av->rank; d++) {
            LLVMValueRef q = st[d] == 1 ? lin : LLVMBuildUDiv(cg->b, lin, jx__cg_i64(cg, st[d]), "");
            x->dim[d] = d == 0 ? q : LLVMBuildURem(cg->b, q, jx__cg_i64(cg, av->shape[d]), "");
        }
    }
    x->lin = av->rank == 0 ? jx__cg_i64(cg, 0) : lin;
    return x;
}

/* The operand index of a reshape (squeeze, expand_dims): dims map one to one when both
 * shapes have the same dims apart from 1s, else through the row-major offset. */
const jx__cg_idx *jx__cg_reshape_idx(jx__cg *cg, const jx_aval *in, const jx__cg_idx *I) {
    jx_aval out = {in->dtype, I->rank, {0}};
    memcpy(out.shape, I->shape, sizeof(int64_t) * (size_t)I->rank);
    int da[JX_MAX_RANK], db[JX_MAX_RANK], n = jx__cg_reshape_pairs(in, &out, da, db);
    if (n < 0) return jx__cg_make_idx(cg, in, NULL, I->lin);
    LLVMValueRef dims[JX_MAX_RANK];
    for (int d = 0; d < in->rank; d++) dims[d] = jx__cg_i64(cg, 0); /* the 1s */
    for (int i = 0; i < n; i++) dims[da[i]] = I->dim[db[i]];
    return jx__cg_make_idx(cg, in, dims, NULL);
}

/* ------------------------------------------------------------------ loops */

LLVMValueRef jx__cg_loop_begin(jx__cg *cg, jx__cg_loop *l, LLVMValueRef from, LLVMValueRef to) {
    l->ctr = jx__cg_alloca(cg, cg->i64);
    LLVMBuildStore(cg->b, from, l->ctr);
    l->cond = jx__cg_block(cg, "cond");
    LLVMBasicBlockRef body = jx__cg_block(cg, "body");
    l->exit = jx__cg_block(cg, "exit");
    LLVMBuildBr(cg->b, l->cond);
    LLVMPositionBuilderAtEnd(cg->b, l->cond);
    LLVMValueRef c = LLVMBuildLoad2(cg->b, cg->i64, l->ctr, "");
    LLVMBuildCondBr(cg->b, LLVMBuildICmp(cg->b, LLVMIntSLT, c, to, ""), body, l->exit);
    LLVMPositionBuilderAtEnd(cg->b, body);
    return c;
}

void jx__cg_loop_end(jx__cg *cg, jx__cg_loop *l, LLVMValueRef c) {
    LLVMBuildStore(cg->b, LLVMBuildAdd(cg->b, c, jx__cg_i64(cg, 1), ""), l->ctr);
    l->latch = LLVMBuildBr(cg->b, l->cond);
    LLVMPositionBuilderAtEnd(cg->b, l->exit);
}

/* Whether pointer p addresses a stack slot (an alloca, or an element of one). */
static bool on_stack(LLVMValueRef p) {
    while (LLVMIsAGetElementPtrInst(p) || LLVMIsABitCastInst(p)) p = LLVMGetOperand(p, 0);
    return LLVMIsAAllocaInst(p) != NULL;
}

void jx__cg_loop_parallel(jx__cg *cg, jx__cg_loop *l) {
    /* the loop's identity: a node that refers to itself (so unique; the form LLVM's
     * loop metadata takes), made through a temporary node as the C API allows */
    LLVMMetadataRef tmp = LLVMTemporaryMDNode(cg->ctx, NULL, 0);
    LLVMMetadataRef id = LLVMMDNodeInContext2(cg->ctx, &tmp, 1);
    LLVMMetadataReplaceAllUsesWith(tmp, id);
    LLVMValueRef idv = LLVMMetadataAsValue(cg->ctx, id);
    unsigned access = LLVMGetMDKindIDInContext(cg->ctx, "llvm.mem.parallel_loop_access", 29);
    /* the loop's blocks: cond, its body, and every block made while the body was
     * built (appended after exit, which is still empty here) */
    for (LLVMBasicBlockRef bb = LLVMGetNextBasicBlock(l->cond); bb; bb = LLVMGetNextBasicBlock(bb)) {
        if (bb == l->exit) continue;
        for (LLVMValueRef i = LLVMGetFirstInstruction(bb); i; i = LLVMGetNextInstruction(i)) {
            LLVMValueRef ptr = LLVMIsALoadInst(i) ? LLVMGetOperand(i, 0) : LLVMIsAStoreInst(i) ? LLVMGetOperand(i, 1) : NULL;
            if (ptr && (!on_stack(ptr) || jx__cg_is_row_buffer(cg, ptr))) LLVMSetMetadata(i, access, idv);
        }
    }
    LLVMSetMetadata(l->latch, LLVMGetMDKindIDInContext(cg->ctx, "llvm.loop", 9), idv);
}

bool jx__cg_for_gpu(const jx__cg *cg) { return strncmp(LLVMGetTarget(cg->mod), "nvptx", 5) == 0; }
