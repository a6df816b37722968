/* codegen.h: what the CPU code generator's files share: the kernel object, the state of
 * one kernel under construction, index values, and the per-primitive scalar emitters.
 *   codegen.c       module, target machine, ORC LLJIT, optimisation, dumps, public API
 *   codegen_loop.c  the kernel function: the loop nest, indices, loads/stores, reductions
 *   codegen_ops.c   scalar code of each elementwise primitive and of conversions
 *
 * Values live in registers in their storage type: f32 float, f64 double, i32/u32 i32,
 * i64 i64, u8/bool i8 (bool is 0 or 1), f16/bf16 i16 (bits; only moved, selected and
 * converted). */
#ifndef JX_CPU_CODEGEN_H
#define JX_CPU_CODEGEN_H

#include <llvm-c/Core.h>

#include "../../jit/jit.h"

struct jx__kernel {
    char name[24];
    int64_t size;                               /* the flat iteration count */
    void (*fn)(void *const *bufs, int64_t begin, int64_t end);
    int nin, nout;
    bool *identity_in;                          /* per input: read only at the written element */
    uint8_t *esize;                             /* element bytes of each input then output */
};

/* An index into a value of shape `shape`: every dim and the row-major offset, as i64
 * values computed where the index was made (so they dominate every later use). */
typedef struct jx__cg_idx {
    int rank;
    int64_t shape[JX_MAX_RANK];
    LLVMValueRef dim[JX_MAX_RANK];
    LLVMValueRef lin;
} jx__cg_idx;

typedef struct jx__cg_memo {
    int32_t var;
    const jx__cg_idx *idx;
    LLVMValueRef val;
    int scope;
} jx__cg_memo;

/* One kernel being generated. */
typedef struct jx__cg {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMValueRef fn;
    LLVMBasicBlockRef entry; /* allocas go here */
    LLVMTypeRef i1, i8, i16, i32, i64, f32, f64;
    const jx_fn *f;
    const jx__group *g;
    int32_t *producer;   /* var -> eqn of the group producing it, or -1 */
    int32_t *slot;       /* var -> its position in bufs (group inputs), or -1 */
    LLVMValueRef *bufs;  /* typed data pointer of each input then output */
    bool *identity_in;   /* per input: every load so far was at the written element */
    LLVMValueRef root_lin; /* the written element's offset */
    jx__cg_memo *memo;
    int nmemo, capmemo, scope;
    jx__cg_idx **idxs;   /* every index made, freed with the state */
    int nidx, capidx;
    const jx__eqn *fail_eqn; /* the first equation the generator could not do */
    const char *fail_why;
} jx__cg;

/* The register type of a dtype. */
LLVMTypeRef jx__cg_type(jx__cg *cg, jx_dtype t);
/* An i64 constant. */
LLVMValueRef jx__cg_i64(jx__cg *cg, int64_t v);
/* A literal atom as a constant of its dtype. */
LLVMValueRef jx__cg_literal(jx__cg *cg, const jx__atom *a);
/* Records that eqn e cannot be generated (the first reason wins); returns an undef of
 * dtype t so generation can go on to the end. */
LLVMValueRef jx__cg_unsupported(jx__cg *cg, const jx__eqn *e, jx_dtype t, const char *why);

/* A declared external helper (bound at compile time to the C function of that name in
 * codegen.c's symbol table): `name` returns ret and takes n params. Marked readnone. */
LLVMValueRef jx__cg_call(jx__cg *cg, const char *name, LLVMTypeRef ret, int n, LLVMTypeRef *params,
                         LLVMValueRef *args);
/* An LLVM intrinsic on floats (llvm.sqrt.f32 ...) applied to a. */
LLVMValueRef jx__cg_fintrinsic(jx__cg *cg, const char *base, LLVMValueRef a);

/* Scalar code of an elementwise equation e (unary, binary, compare, select, convert,
 * integer_pow, stop_gradient) on operand values in[] of dtypes dt[]; result of e's
 * output dtype. codegen_ops.c. */
LLVMValueRef jx__cg_elementwise(jx__cg *cg, const jx__eqn *e, const jx_dtype *dt, LLVMValueRef *in);
/* Converts value a from dtype from to dtype to like the interpreter (codegen_ops.c). */
LLVMValueRef jx__cg_convert(jx__cg *cg, LLVMValueRef a, jx_dtype from, jx_dtype to);

/* Emits the kernel function `name` for group g of f into cg->mod (codegen_loop.c). On
 * success fills k (size, identity_in); JX_ERR_UNSUPPORTED with jx__fail set naming the
 * primitive and the user's line otherwise. */
jx_status jx__cg_emit_kernel(LLVMContextRef ctx, LLVMModuleRef mod, const jx_fn *f, const jx__group *g,
                             jx__kernel *k);

/* The helper symbols kernels may call, for the JIT to define: name -> address. */
typedef struct jx__cg_symbol {
    const char *name;
    void *addr;
} jx__cg_symbol;
extern const jx__cg_symbol jx__cg_symbols[];
extern const int jx__cg_nsymbols;

#endif /* JX_CPU_CODEGEN_H */
