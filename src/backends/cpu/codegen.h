/* codegen.h: what the CPU code generator's files share: the kernel object, the state of
 * one kernel under construction, index values, and the per-primitive scalar emitters.
 *   codegen.c       module, content key, disk cache, adding code to the JIT, public API
 *   codegen_emit.c  IR to object code: pass pipelines, code generation, dumps, threads
 *   codegen_host.c  once per process: host CPU, target machines, the ORC LLJITs
 *   codegen_build.c IR pieces: types, constants, calls, stack slots, loops, indices
 *   codegen_loop.c  the kernel function: the loop nest, evaluation, loads/stores
 *   codegen_reduce.c reductions at an output index, in the interpreter's order
 *   codegen_colred.c column reductions, accumulated by tiles of an output row
 *   codegen_rows.c  a row's values (reductions) computed once per row, row buffers
 *   codegen_ops.c   scalar code of each elementwise primitive and of conversions
 *
 * Values live in registers in their storage type: f32 float, f64 double, i32/u32 i32,
 * i64 i64, u8/bool i8 (bool is 0 or 1), f16/bf16 i16 (bits; only moved, selected and
 * converted). */
#ifndef JX_CPU_CODEGEN_H
#define JX_CPU_CODEGEN_H

#include <llvm-c/Core.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/TargetMachine.h>

#include "../debug.h"
#include "cpu.h"
#include "codegen_collapse.h"

struct jx__kernel {
    char name[64];                              /* jx_<module content key>_<index> */
    int64_t size;                               /* the flat iteration count */
    void (*fn)(void *const *bufs, int64_t begin, int64_t end);
    int nin, nout;
    bool *identity_in;                          /* per input: read only at the written element */
    uint8_t *esize;                             /* element bytes of each input then output */
    bool no_col_tiles;                          /* set by a GPU target before emitting: no
                                                 * column-reduction stack tiles, no row
                                                 * values or buffers */
    int twin;                                   /* CPU: 1 + the index of an earlier kernel of
                                                 * the module with the same code, which this
                                                 * one runs; 0: its own code */
    char *text;                                 /* CPU: its IR (named jx_twin) until compiled,
                                                 * where a kernel's fingerprint matched */
    uint64_t fingerprint;                       /* CPU: of its code (codegen.c, find_twin) */
    size_t ninstr;                              /* CPU: its instructions, unoptimised */
    bool unoptimised;                           /* CPU: small, compiled optnone (codegen.c) */
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
} jx__cg_memo;

/* At most this many column reductions per kernel (codegen_loop.c; each takes up to
 * 32 KiB of stack); more take the element-by-element path. */
enum { JX__CG_MAXCOL = 4 };
/* At most this many row values and row buffers per kernel (codegen_rows.c), and the
 * longest row a buffer holds, in bytes; more take the element-by-element path. */
enum { JX__CG_MAXROWV = 32, JX__CG_MAXRBUF = 4, JX__CG_RBUF_BYTES = JX__CPU_ROW_BYTES, JX__CG_MAXGIDX = 8 };

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
    const jx__cg_idx *root; /* the written element's index (NULL until the inner loop) */
    /* Column reductions: reductions of the space's shape read at the written element
     * whose operand's last axis is kept. Each is accumulated for a tile of an output row
     * into its stack array col_acc (row by row of the operand, the innermost loop along
     * the tile) before the tile's elements are evaluated; col_j0 is the tile's first
     * index along the last dim. */
    int ncol;
    int32_t col_eqn[JX__CG_MAXCOL];
    LLVMValueRef col_acc[JX__CG_MAXCOL];
    LLVMValueRef col_j0;
    /* Row values (codegen_rows.c): values of the row shape computed at the start of a row
     * at the index row_dims (the row's outer dims), and row buffers: a value of the
     * space's shape written for the whole row into a stack array. */
    bool no_rows; /* a GPU target: none */
    int row_rank, nrowv, nrbuf;
    LLVMValueRef row_dims[JX_MAX_RANK];
    struct { int32_t var; LLVMValueRef val; } rowv[JX__CG_MAXROWV];
    struct { int32_t var; LLVMValueRef buf; bool ready; } rbuf[JX__CG_MAXRBUF];
    /* gathers whose index depends on the row's outer dims only: the index, computed at
     * the start of the row (codegen_loop.c), so that the row's reads are contiguous */
    struct { const jx__eqn *e; LLVMValueRef at; } gidx[JX__CG_MAXGIDX];
    int ngidx;
    jx__cg_memo *memo;
    int nmemo, capmemo;
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

/* A stack slot of type ty in the entry block (promoted to a register by
 * the optimiser). */
LLVMValueRef jx__cg_alloca(jx__cg *cg, LLVMTypeRef ty);
/* Whether cg emits for the CUDA backend (an nvptx module) rather than the host. */
bool jx__cg_for_gpu(const jx__cg *cg);
/* A new block appended to the kernel function. */
LLVMBasicBlockRef jx__cg_block(jx__cg *cg, const char *name);

/* A counted loop [from, to) over an i64 counter: jx__cg_loop_begin returns the counter
 * in the body, where the builder is left; jx__cg_loop_end closes it (c: that counter)
 * and leaves the builder after the loop. */
typedef struct jx__cg_loop {
    LLVMValueRef ctr;
    LLVMBasicBlockRef cond, exit;
    LLVMValueRef latch; /* the branch back to cond (set by jx__cg_loop_end) */
} jx__cg_loop;
LLVMValueRef jx__cg_loop_begin(jx__cg *cg, jx__cg_loop *l, LLVMValueRef from, LLVMValueRef to);
void jx__cg_loop_end(jx__cg *cg, jx__cg_loop *l, LLVMValueRef c);
/* Declares loop l, just closed by jx__cg_loop_end, free of dependences between its
 * iterations through the kernel's buffers (each iteration writes its own output elements
 * and reads inputs that no iteration writes, or only the element it writes when in
 * place: plan.c), so that the loop vectoriser needs no run-time alias checks, which it
 * gives up on with many buffers. Its loads and stores through buffers carry
 * llvm.mem.parallel_loop_access; those through stack slots do not, so a loop keeping one
 * after promotion stays unannotated (the vectoriser then proves what it can itself). */
void jx__cg_loop_parallel(jx__cg *cg, jx__cg_loop *l);

/* An index into a value of aval av: from dims (the offset computed) or, when dims is
 * NULL, from the row-major offset lin (the dims computed). Owned by cg; NULL when out of
 * memory. */
const jx__cg_idx *jx__cg_make_idx(jx__cg *cg, const jx_aval *av, const LLVMValueRef *dims, LLVMValueRef lin);
/* The operand index of a reshape (squeeze, expand_dims) of `in` read at I: dims map one
 * to one when both shapes have the same dims apart from 1s, else through the offset. */
const jx__cg_idx *jx__cg_reshape_idx(jx__cg *cg, const jx_aval *in, const jx__cg_idx *I);

/* Scalar code of an elementwise equation e (unary, binary, compare, select, convert,
 * integer_pow, stop_gradient) on operand values in[] of dtypes dt[]; result of e's
 * output dtype. codegen_ops.c. */
LLVMValueRef jx__cg_elementwise(jx__cg *cg, const jx__eqn *e, const jx_dtype *dt, LLVMValueRef *in);
/* Converts value a from dtype from to dtype to like the interpreter (codegen_ops.c). */
LLVMValueRef jx__cg_convert(jx__cg *cg, LLVMValueRef a, jx_dtype from, jx_dtype to);
/* threefry2x32 of u32 values w = (k0, k1, x0, x1), 20 rounds as the interpreter's
 * (impl_index.c, jax.random's): its first word, or with `second` its second. */
LLVMValueRef jx__cg_threefry(jx__cg *cg, const LLVMValueRef *w, bool second);

/* ------------------------------------------------------------------ inside a kernel (codegen_loop.c, codegen_reduce.c, codegen_colred.c) */

/* Atom a read for the output element at I (rank-0 operands broadcast). */
LLVMValueRef jx__cg_eval_atom(jx__cg *cg, const jx__atom *a, const jx__cg_idx *I);
bool jx__cg_same_shape(const jx_aval *a, const jx_aval *b);
/* Reduction e (reduce_*, argmax, argmin) at output index I. */
LLVMValueRef jx__cg_eval_reduce(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I);
/* scatter_add or a cumulative op e at output index I: the values landing on it folded in
 * the interpreter's order (codegen_owner.c). */
LLVMValueRef jx__cg_eval_owner(jx__cg *cg, const jx__eqn *e, const jx__cg_idx *I);
/* The pieces of a fold: prim's identity over t; acc with v folded in (sum, product, max,
 * min: the interpreter's rule, NaN wins); which operand dims e reduces; how many values
 * each output folds; whether that is a floating sum or product longer than a block. */
LLVMValueRef jx__cg_red_identity(jx__cg *cg, int prim, jx_dtype t);
LLVMValueRef jx__cg_red_fold(jx__cg *cg, int prim, jx_dtype t, LLVMValueRef acc, LLVMValueRef v);
void jx__cg_red_dims(const jx__eqn *e, bool red[JX_MAX_RANK]);
int64_t jx__cg_red_count(const jx_aval *xa, const bool *red);
bool jx__cg_red_blocked(const jx__eqn *e, const jx_aval *xa, const bool *red);
/* A while loop: cond() emitted at the head decides whether the body runs again; the
 * conditions of the blocked fold's merges (the counter in slot is even) and of its final
 * fold (the stack top in slot > 0); and stack[top - 1] after top is decremented. */
typedef struct jx__cg_wloop {
    LLVMBasicBlockRef head, body, exit;
} jx__cg_wloop;
void jx__cg_wloop_begin(jx__cg *cg, jx__cg_wloop *w, LLVMValueRef (*cond)(jx__cg *, void *), void *arg);
void jx__cg_wloop_end(jx__cg *cg, jx__cg_wloop *w);
LLVMValueRef jx__cg_even_cond(jx__cg *cg, void *slot);
LLVMValueRef jx__cg_nonempty_cond(jx__cg *cg, void *slot);
LLVMValueRef jx__cg_pop(jx__cg *cg, LLVMTypeRef sty, LLVMTypeRef ty, LLVMValueRef stack, LLVMValueRef top);
/* Column reductions: elements of an output row per tile (rows up to 4096 are read as one
 * stream, the best of 512-4096 for f32[4096,4096]; at most 32 KiB of stack per column
 * reduction); finding them in cg's group for the space (their accumulators allocated);
 * accumulating reduction c over the tile of cnt elements from j0 of the row at outer[];
 * and reading its accumulator at tile position at. Whether a is space's last dim alone
 * (space (1, ..., 1, C), a (C): batch norm's statistics reshaped). */
enum { JX__CG_COL_TILE = 4096 };
void jx__cg_find_col_reductions(jx__cg *cg, const jx_aval *space);
void jx__cg_emit_col_reduction(jx__cg *cg, int c, const LLVMValueRef *outer, LLVMValueRef j0, LLVMValueRef cnt);
LLVMValueRef jx__cg_col_load(jx__cg *cg, int c, jx_dtype t, LLVMValueRef at);
bool jx__cg_row_of(const jx_aval *space, const jx_aval *a);

/* Row values: computes the group's reductions and elementwise values of the row shape
 * of space (rank >= 2) at the row whose outer dims are dims, buffering the last-axis
 * operands of the reductions; and the value of v at I when it is one of them (NULL
 * otherwise). Whether p addresses a row buffer; whether v's row is in one. */
void jx__cg_emit_row_values(jx__cg *cg, const jx_aval *space, const LLVMValueRef *dims);
LLVMValueRef jx__cg_row_value(jx__cg *cg, int32_t v, const jx__cg_idx *I);
bool jx__cg_is_row_buffer(const jx__cg *cg, LLVMValueRef p);
bool jx__cg_row_buffered(const jx__cg *cg, int32_t v);

/* Emits the kernel function `name` for group g of f into cg->mod (codegen_loop.c). On
 * success fills k (size, identity_in); JX_ERR_UNSUPPORTED with jx__fail set naming the
 * primitive and the user's line otherwise. */
jx_status jx__cg_emit_kernel(LLVMContextRef ctx, LLVMModuleRef mod, const jx_fn *f, const jx__group *g,
                             jx__kernel *k);

/* The helper symbols kernels may call, for the JIT to define: name -> address
 * (codegen_ops.c). Symbol i < jx__cg_symbol_count(): libm's and the library's helpers,
 * the f32 functions of vmath.h at the implementation chosen there, then those functions'
 * vector variants "jx_cg_<f>f_v8" (and "_v16" on AVX-512F) when there are any. */
typedef struct jx__cg_symbol {
    const char *name;
    void *addr;
} jx__cg_symbol;
int jx__cg_symbol_count(void);
jx__cg_symbol jx__cg_symbol_at(int i);

/* ------------------------------------------------------------------ the host (codegen_host.c) */

/* Made once per process: the host CPU's name and features (LLVM strings), the default
 * target triple and its data layout, and a target machine (code generation level 2)
 * for the optimiser and assembly dumps. */
typedef struct jx__cg_host {
    char *cpu, *features, *triple, *datalayout;
    LLVMTargetMachineRef tm;
} jx__cg_host;

/* The host, made on the first call; NULL with jx__fail set if LLVM cannot target it. */
const jx__cg_host *jx__cg_host_get(void);
/* A number never returned before in the process (names a module's kernels). */
unsigned long long jx__cg_host_next_id(void);
/* The lock that serialises use of the target machines: hold it around the optimiser,
 * assembly dumps and jx__cg_host_jit up to the last lookup of the module's kernels. */
void jx__cg_host_lock(void);
void jx__cg_host_unlock(void);
/* Under the lock: the process's JIT for code generation level opt_level (0-3), made on
 * first use, and a new resource tracker in its main JITDylib to add one module's code
 * under. Release the tracker with jx__cg_host_release. */
jx_status jx__cg_host_jit(int opt_level, LLVMOrcLLJITRef *jit, LLVMOrcResourceTrackerRef *rt);
/* Under the lock: frees the code added under rt and the tracker. */
void jx__cg_host_release(LLVMOrcResourceTrackerRef rt);
/* Compile slots: threads that optimise and emit parts of one module at once. */
enum { JX__CG_SLOTS = 8 };
/* Objects of one module, at most: per slot its optimised kernels', and the unoptimised ones'
 * (codegen_emit.c). */
enum { JX__CG_OBJECTS = 2 * JX__CG_SLOTS };
/* Under the lock: the target machines of compile slot `slot` (0 .. JX__CG_SLOTS - 1),
 * made on first use and used by one thread at a time: *opt for the optimiser's cost
 * model (slot 0's is the host's tm) and *emit, like the JIT's of level opt_level (0-3),
 * to emit object files that the JIT then links. */
jx_status jx__cg_host_slot(int slot, int opt_level, LLVMTargetMachineRef *opt, LLVMTargetMachineRef *emit);
/* The LLVM options jx sets once per process (LLVMParseCommandLineOptions; they hold for
 * any other user of LLVM in the process too). LoopVectorize's defaults turn each loop
 * into a 4-way interleaved vector body, a narrower vector epilogue and a scalar
 * remainder; with one vector body and the scalar remainder the code generator's input
 * is 40% smaller and the kernels run as fast. The code generator then skips the pre-RA
 * machine scheduler and selects instructions with FastISel where it can (what it cannot
 * select, vector code mostly, still goes through SelectionDAG): 10-15% less compile
 * time, kernels as fast, the same bits (docs/jit.md, "Compile time"). Part of the disk
 * cache's header, so objects made under other options are not reused. */
#define JX__CG_LLVM_OPTIONS                                                                                        \
    "-enable-epilogue-vectorization=false -force-vector-interleave=1 -enable-misched=false -fast-isel"
/* ------------------------------------------------------------------ objects (codegen_emit.c) */

/* A module's content key: the 128-bit hash of header (what else decides its code:
 * versions, target, options) and of mod's bitcode, which equal modules share (printing
 * the IR instead took three times as long: mnist_cnn's step, 6 ms against 2). A caller
 * may hash more into key. The bitcode goes to *bitcode (the caller's to dispose of)
 * unless that is NULL. */
jx_status jx__cg_module_key(LLVMModuleRef mod, const char *header, uint64_t key[2], LLVMMemoryBufferRef *bitcode);
/* The pass pipeline of optimisation level opt_level (0-3), for LLVMRunPasses. */
const char *jx__cg_pipeline(int opt_level);
/* Under the host lock: verifies mod, optimises it at opt_level and emits object code for
 * the JIT, split into up to nthreads parts compiled on as many threads: names[0..n) are
 * the module's function definitions (its kernels) and weights their instruction counts
 * (unoptimised IR). The parts read `bitcode`, mod's (jx__cg_module_key's), in which
 * kernel i is named bcnames[i]. objs[0 .. *nobjs)
 * receive the objects (at most JX__CG_OBJECTS; release them, or hand them to the JIT).
 * mod is changed: dispose of it afterwards. */
jx_status jx__cg_build_objects(LLVMModuleRef mod, LLVMMemoryBufferRef bitcode, int opt_level, int nthreads,
                               const char *const *names, const char *const *bcnames, const size_t *weights, int n,
                               LLVMMemoryBufferRef *objs, int *nobjs);
/* Turns an LLVM error into jx's error "<what>: <message>" (consumes it). */
jx_status jx__cg_llvm_fail(LLVMErrorRef err, const char *what);

#endif /* JX_CPU_CODEGEN_H */
