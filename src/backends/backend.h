/* backend.h: the boundary between the compiler (src/jit: fusion, the program, the
 * executors) and the backends (src/backends/cpu, src/backends/cuda): the fusion groups a
 * backend compiles, and the table each backend fills. The jit includes this; a backend
 * includes nothing of the jit. */
#ifndef JX_BACKENDS_BACKEND_H
#define JX_BACKENDS_BACKEND_H

#include "../trace/ir.h"

/* ------------------------------------------------------------------ fusion groups
 * Made by the jit's fusion (src/jit/fuse.c): a function's top-level equations split into
 * groups in program order (a group only reads variables of f's inputs or of earlier
 * groups). */

typedef enum jx__gkind {
    JX__G_LOOP,    /* a fused loop nest: elementwise, movement and reductions; code generated */
    JX__G_DOT,     /* one dot_general: a BLAS call */
    JX__G_CONV,    /* one conv_general_dilated: GEMM-based or direct */
    JX__G_WINDOW,  /* one reduce_window_* or select_and_{scatter,gather}_add: pooling loops */
    JX__G_CONTROL, /* one cond, while or scan (or call left over): nested fns become sub-programs */
    JX__G_OPAQUE   /* one other equation, run by its interpreter impl rule on the buffers */
} jx__gkind;

typedef struct jx__group {
    jx__gkind kind;
    int32_t neqn;
    int32_t *eqns; /* indices into f->eqns, in program order */
    int32_t nin;
    int32_t *in;   /* variables read from outside the group: the kernel's input arguments */
    int32_t nout;
    int32_t *out;  /* variables produced here that later groups or f's outputs read */
} jx__group;

/* The most operands a concatenate computed inside a loop kernel may have: the kernel
 * reads every operand at each element and selects one (codegen_loop.c). */
enum { JX__CONCAT_LOOP_MAX = 4 };
/* The element count of the largest value g's equations read or write (1 at least): the
 * work of a loop kernel (the jit's plan splits by it; the CPU backend compiles kernels where it
 * is small without optimisation). */
int64_t jx__group_largest(const jx_fn *f, const jx__group *g);

/* What a DOT group may compute besides its GEMM y (m,n) = a (m,k) . b (k,n) (fuse.c asks
 * the backend's dot_epilogue_ok): */
typedef enum jx__epi_kind {
    JX__EPI_BIAS = 1,  /* y + broadcast_in_dim(bias (n), dims (1)): the group's result */
    JX__EPI_BGRAD0 = 2, /* also reduce_sum of operand 0 over its contracting dim (m values) */
    JX__EPI_BGRAD1 = 3  /* also reduce_sum of operand 1 over its contracting dim (n values) */
} jx__epi_kind;

/* The transpose t of a conv's kernel rev(transpose(w, (1, 0, 2, ...)), spatial dims) (the
 * form grad gives an input gradient's kernel; *rev set to the rev), where c is a 2-D conv
 * (rank-4 operands) of one feature group, and the rev and the transpose have no
 * other reader (nor are f's outputs); NULL otherwise (group.c). */
const jx__eqn *jx__conv_bwd_chain(const jx_fn *f, const jx__eqn *c, const jx__eqn **rev);
/* The transpose that is the one reader of conv c's result (f's outputs counted), or NULL. */
const jx__eqn *jx__conv_result_transpose(const jx_fn *f, const jx__eqn *c);

/* ------------------------------------------------------------------ the backend boundary
 * What the program builder, the compile path and the executors ask of a backend: compile
 * the LOOP groups into kernels (one module per executable), say which library calls it
 * takes, and move memory. The CPU backend (src/backends/cpu/backend.c) and the CUDA
 * backend (src/backends/cuda/) each give one table; a kernel (jx__kernel) is the
 * backend's own type, only ever handled through its table. */

typedef struct jx__kernel jx__kernel; /* owned by its module */

struct jx__prog; /* the program the jit builds (prog.h) */

typedef struct jx__backend {
    const char *name;
    /* a module collecting the kernels of one executable; NULL with jx__fail set */
    void *(*module_new)(int opt_level);
    /* the kernel of LOOP group g of f, or NULL with jx__fail set (the group then runs
     * through the interpreter) */
    jx__kernel *(*kernel_add)(void *mod, const jx_fn *f, const jx__group *g);
    jx_status (*module_compile)(void *mod);
    void (*module_free)(void *mod);
    int64_t (*kernel_size)(const jx__kernel *k);            /* parallel iterations */
    bool (*kernel_inplace_ok)(const jx__kernel *k, int i, int o);
    /* library calls the backend takes (dot_general, conv_general_dilated, pooling) */
    bool (*dot_ok)(const jx_fn *f, const jx__eqn *e);
    bool (*conv_ok)(const jx_fn *f, const jx__eqn *e);
    bool (*window_ok)(const jx_fn *f, const jx__eqn *e);
    /* memory of the backend's device: alloc returns NULL with jx__fail set */
    void *(*alloc)(size_t bytes);
    void (*free)(void *p);
    jx_status (*copy_in)(void *dst, const void *host, size_t bytes);
    jx_status (*copy_out)(void *host, const void *src, size_t bytes);
    /* a new buffer holding a copy of host, which may still be in flight (ordered before
     * the device's later work and reads): jx_array_to's upload (NULL: alloc + copy_in) */
    void *(*upload)(const void *host, size_t bytes);
    jx_status (*sync)(void);
    /* whether the backend's conv of e reads operand `which` (0: lhs, 1: rhs) or writes its
     * result (2) through strides, so that fusion may hand it the transpose there; 3: the
     * rhs, when the result's transpose is in the group too (cuDNN's backward filter reads
     * its dy through strides where its forward reads no filter so) (NULL: never) */
    bool (*conv_views_ok)(const jx_fn *f, const jx__eqn *e, int which);
    /* whether the backend computes conv e, an input gradient grad emitted (its kernel
     * rev(transpose(w)): jx__conv_bwd_chain), as the adjoint of w's forward conv (cuDNN's
     * backward data, which reads w itself and skips lhs dilation's zeros), so that fusion
     * may give it the rev and the transpose (NULL: never) */
    bool (*conv_bwd_data_ok)(const jx_fn *f, const jx__eqn *e);
    /* whether the backend's GEMM of dot_general e (2-D operands, no batch dims) computes
     * epilogue `kind` (jx__epi_kind) in the same library call, so that fusion may give the
     * DOT group the bias add after it or the sum of one of its operands (NULL: never) */
    bool (*dot_epilogue_ok)(const jx_fn *f, const jx__eqn *e, int kind);
    /* the longest row (bytes) that the backend's loop kernels buffer while computing a
     * row's reductions once per row, so that fusion may merge such rows' reductions with
     * the elements that read them (fuse_rows.c); 0: none */
    int64_t row_groups;
    /* whether scatter_add and the cumulative ops run in loop kernels, each result element
     * folding the values that land on it in the interpreter's order (deterministic, no
     * atomics: codegen_owner.c), rather than as the interpreter's steps, which visit each
     * value once and are cheaper on a CPU */
    bool owner_folds;
    /* whether a conv the backend declines (conv_ok) should be tried again with its lhs
     * dilation and padding made an explicit pad before it (the jit's pipeline,
     * src/jit/lower_conv.c): the CUDA backend's cuDNN forward takes neither */
    bool conv_explicit_pads;
    /* the on-disk cache of a module's compiled kernels (objcache.c): its directory (NULL
     * or "": none), and the modules loaded from / written to such caches so far */
    jx_status (*module_set_cache_dir)(void *mod, const char *dir);
    void (*cache_stats)(int64_t *hits, int64_t *stores);
    /* the threads a module's compile may use (NULL: the backend compiles on the caller's) */
    void (*module_set_threads)(void *mod, int nthreads);
    /* running a program (the CPU's; NULL where the backend runs programs its own way,
     * src/backends/cuda/exec.c): the runner for nthreads threads (the CPU's thread
     * pool, shared and kept for the process), NULL with jx__fail set; a kernel over its
     * parallel iterations, grain at a time; the library call of a DOT, CONV or WINDOW
     * step, equation e on operands in[] of avals av[] into out (aval oav), a CONV's
     * operands and result read and written through strides[3] when not NULL */
    void *(*runner_get)(int nthreads);
    void (*kernel_run)(void *runner, const jx__kernel *k, void *const *bufs, int64_t grain);
    jx_status (*lib_run)(void *runner, jx__gkind kind, const jx__eqn *e, const jx_aval *av, const void *const *in,
                         const int64_t (*strides)[4], const jx_aval *oav, void *out);
    /* the kernels compiled in the process so far, and how many of them unoptimised */
    void (*kernel_stats)(int64_t *compiled, int64_t *unoptimised);
    /* the threads a compile and a run use by default (JX_NUM_THREADS, else the cores) */
    int (*default_threads)(void);
    /* a backend that runs programs itself (runner_get NULL): runs program p, built by the
     * jit for it, on host or device inputs, out[] receiving new references
     * (src/backends/cuda/exec.c); what it keeps from run to run (CUDA: the program's
     * graph) it hangs on p->be_state, and prog_state_free frees that with the program */
    jx_status (*prog_run)(struct jx__prog *p, jx_array *const *in, jx_array **out);
    void (*prog_state_free)(void *state);
    /* its device allocator's statistics (NULL: it has none) */
    jx_status (*mem_stats)(jx_device_mem_stats *s);
} jx__backend;

/* The CPU backend's table (src/backends/cpu/backend.c), and the CUDA backend's
 * (src/backends/cuda/backend.c; only in builds with JX_CUDA). */
extern const jx__backend jx__cpu_backend;
extern const jx__backend jx__cuda_backend;

#endif /* JX_BACKENDS_BACKEND_H */
