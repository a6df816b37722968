/* jit.h: internals of the compiler: fusion groups, the executable's program of steps,
 * and the interfaces between the backend-independent part (src/jit) and the CPU backend
 * (src/backends/cpu). A CUDA backend reuses the fusion groups and the buffer plan and
 * brings its own kernel compiler and library calls. */
#ifndef JX_JIT_H
#define JX_JIT_H

#include <stdio.h>

#include "../trace/ir.h"

/* ------------------------------------------------------------------ fusion (fuse.c)
 * Backend independent. Splits a function's top-level equations into groups, in program
 * order (a group only reads variables of f's inputs or of earlier groups). */

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

typedef struct jx__fusion {
    int32_t ngroups;
    jx__group *groups;
} jx__fusion;

/* Groups f (calls already inlined). fuse = false puts every equation in a group of its
 * own (JX_JIT_FUSE=0, for debugging). The backend be (may be NULL: neither) decides two
 * merges: its conv_views_ok lets a CONV group take in the transposes of its operands and
 * result, its row_groups lets loop groups merge row by row. NULL on OOM. */
jx__fusion *jx__fuse(const jx_fn *f, bool fuse, const struct jx__backend *be);
/* The conv equation of CONV group g (NULL if none). */
const jx__eqn *jx__group_conv(const jx_fn *f, const jx__group *g);
/* How a CONV group's conv meets the group's arrays: each operand is read from src[j]
 * (the conv's own operand, or the operand of the transpose that produces it), the
 * result written to variable out (the conv's, or its transpose's), through element
 * strides st[0..2] of x, w and y in their own dims; strided when a transpose is in. */
typedef struct jx__conv_view {
    const jx__eqn *conv;
    const jx__atom *src[2];
    int32_t out;
    int64_t st[3][4];
    bool strided;
} jx__conv_view;
/* Fills *cv for CONV group g of rank-4 operands; false otherwise. */
bool jx__conv_view_of(const jx_fn *f, const jx__group *g, jx__conv_view *cv);
void jx__fusion_free(jx__fusion *fu);
/* The element count of the largest value g's equations read or write (1 at least): the
 * work of a loop kernel (plan.c splits by it; the CPU backend compiles kernels where it
 * is small without optimisation). */
int64_t jx__group_largest(const jx_fn *f, const jx__group *g);
/* The groups as text (JX_DUMP=fusion): one line per group with its kind, equations
 * (primitive names) and argument avals. */
void jx__fusion_print(FILE *out, const jx_fn *f, const jx__fusion *fu);

/* ------------------------------------------------------------------ the backend boundary
 * What the program builder, the compile path and the executors ask of a backend: compile
 * the LOOP groups into kernels (one module per executable), say which library calls it
 * takes, and move memory. The CPU backend (src/backends/cpu/backend.c) and the CUDA
 * backend (src/backends/cuda/) each give one table; a kernel (jx__kernel) is the
 * backend's own type, only ever handled through its table. */

typedef struct jx__kernel jx__kernel; /* owned by its module */

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
    jx_status (*sync)(void);
    /* whether the backend's conv of e reads and writes its operands through strides, so
     * fusion may hand it the transposes around it (NULL: never) */
    bool (*conv_views_ok)(const jx_fn *f, const jx__eqn *e);
    /* the longest row (bytes) that the backend's loop kernels buffer while computing a
     * row's reductions once per row, so that fusion may merge such rows' reductions with
     * the elements that read them (fuse_rows.c); 0: none */
    int64_t row_groups;
} jx__backend;

/* The CPU backend's table (src/backends/cpu/backend.c), and the CUDA backend's
 * (src/backends/cuda/backend.c; only in builds with JX_CUDA). */
extern const jx__backend jx__cpu_backend;
extern const jx__backend jx__cuda_backend;

/* ------------------------------------------------------------------ thread pool (src/backends/cpu/pool.c) */

typedef struct jx__pool jx__pool;
/* A process-wide pool of n workers (the caller's thread counts as one); created on
 * first use, shared by executables asking for the same n. */
jx__pool *jx__pool_get(int n);
int jx__pool_size(const jx__pool *p);
/* Runs fn(ctx, begin, end) over [0, n) split into at most pool-size contiguous chunks
 * of at least `grain` iterations; returns when all are done. The split depends only on
 * n, grain and the pool size, and each index is computed by one call, so results do not
 * depend on scheduling. */
void jx__pool_for(jx__pool *p, int64_t n, int64_t grain, void (*fn)(void *ctx, int64_t begin, int64_t end),
                  void *ctx);
/* The uses a pool serves: pools of one use and size are shared; kernels never run on
 * the devices' pools, so a device's kernels find their own pool free. */
enum { JX__POOL_KERNELS, JX__POOL_DEVICES };
/* The process-wide pool of n (2..1024) workers parked between pmap calls, one per CPU
 * device (device 0 is the caller's thread); NULL when n is out of range or the threads
 * cannot be started. Its threads are joined at exit, with the kernels' pools. */
jx__pool *jx__pool_devices(int n);
/* Runs fn(ctx, c, c + 1) for every c in [0, pool size), each on its own thread at once
 * (c = 0 on the caller's), and returns true when all are done; returns false at once,
 * running nothing, when p is NULL or busy with another caller's job (a nested or
 * concurrent pmap), because jobs that wait for each other must not run one by one. */
bool jx__pool_try_each(jx__pool *p, void (*fn)(void *ctx, int64_t begin, int64_t end), void *ctx);
/* Threads to use when the options say 0: JX_NUM_THREADS, else the online cores. */
int jx__default_threads(void);
/* The online cores, counted once per process. */
int jx__online_cores(void);

/* ------------------------------------------------------------------ CPU kernels (src/backends/cpu/codegen*.c)
 * One LLVM module per executable collects the kernels of all its LOOP groups (nested
 * functions' too), is optimised for the host CPU and compiled in-process with ORC
 * LLJIT at once. */

typedef struct jx__cpu_module jx__cpu_module;

/* opt_level 0-3. NULL with jx__fail set on failure. */
jx__cpu_module *jx__cpu_module_new(int opt_level);
/* Adds the code of a LOOP group g of f; returns its kernel, callable once the module is
 * compiled. NULL with jx__fail set (naming the primitive and the user's line) if the
 * group holds something the code generator cannot do. */
jx__kernel *jx__cpu_kernel_add(jx__cpu_module *m, const jx_fn *f, const jx__group *g);
/* Optimises and compiles every kernel added. Dumps LLVM IR (JX_DUMP=llvm) and assembly
 * (JX_DUMP=asm) to stderr or into JX_DUMP_DIR. */
jx_status jx__cpu_module_compile(jx__cpu_module *m);
void jx__cpu_module_free(jx__cpu_module *m);
/* The kernel's parallel iteration count: jx__kernel_run(k, bufs, b, e) on chunks
 * [b, e) of [0, n) together compute every output. */
int64_t jx__kernel_size(const jx__kernel *k);
/* bufs: the data pointers of the group's inputs (g->in order) then outputs (g->out). */
void jx__kernel_run(const jx__kernel *k, void *const *bufs, int64_t begin, int64_t end);
/* Whether an output of the kernel may share the storage of an input (in-place): true
 * when output `o` reads input `i` only at the same element it writes. */
bool jx__kernel_inplace_ok(const jx__kernel *k, int i, int o);
/* Number of kernels compiled so far in the process (the statistics): kernels whose code
 * came from the disk cache or from an equal module already loaded are not counted. */
int64_t jx__cpu_kernels_compiled(void);
/* Of those, the small ones compiled unoptimised (JX_JIT_SMALL_KERNEL). */
int64_t jx__cpu_kernels_unoptimised(void);
/* Modules compiled in parts on several threads, and those parts (codegen_emit.c). */
void jx__cpu_split_stats(int64_t *modules, int64_t *parts);
/* The directory of the on-disk cache of compiled objects for m (src/backends/cpu/
 * objcache.c); NULL or "" for none (the default of a new module). */
jx_status jx__cpu_module_set_cache_dir(jx__cpu_module *m, const char *dir);
/* The threads m's compile may use (at most the online cores; 1 until set). */
void jx__cpu_module_set_threads(jx__cpu_module *m, int nthreads);
/* Modules loaded from the disk cache, and objects written to it, so far. */
void jx__cpu_objcache_stats(int64_t *hits, int64_t *stores);

/* ------------------------------------------------------------------ CPU libraries (src/backends/cpu/blas.c, conv.c, window.c) */

/* Whether jx__cpu_dot / jx__cpu_conv handle this equation of f (float dtypes). */
bool jx__cpu_dot_ok(const jx_fn *f, const jx__eqn *e);
bool jx__cpu_conv_ok(const jx_fn *f, const jx__eqn *e);
/* dot_general through OpenBLAS sgemm/dgemm (batched over the batch dimensions). in[0],
 * in[1]: operand data of avals av[0], av[1]; out: result data of aval *oav. */
jx_status jx__cpu_dot(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                      const jx_aval *oav, void *out);
/* conv_general_dilated (any strides, padding, dilations, feature groups) on oneDNN's
 * primitives where they take it, else on GEMMs. */
jx_status jx__cpu_conv(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                       const jx_aval *oav, void *out);
/* The same with x, w and y read and written through element strides st[0..2] (each in
 * its operand's own dims; a permutation of a dense layout: the transposes a CONV step
 * absorbed, fuse.c), or NULL for row-major. */
jx_status jx__cpu_conv_views(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                             const int64_t (*st)[4], const jx_aval *oav, void *out);
/* Whether jx__cpu_conv_views takes e with strided operands without copying them (oneDNN). */
bool jx__cpu_conv_views_ok(const jx_fn *f, const jx__eqn *e);
/* The longest row the CPU's loop kernels buffer (codegen_rows.c; the backend table's
 * row_groups): 8192 f32, half of a Zen core's L1 data cache and then some. */
enum { JX__CPU_ROW_BYTES = 32768 };

/* Whether jx__cpu_window handles this equation of f: reduce_window_{max,min,sum},
 * select_and_scatter_add or select_and_gather_add on f32/f64 whose window moves over at
 * most two adjacent dims (NHWC and NCHW pooling, 1-D pooling). */
bool jx__cpu_window_ok(const jx_fn *f, const jx__eqn *e);
/* That equation with loops over contiguous channels on the pool, bit for bit the
 * interpreter's result for any thread count. in: operand data of avals av (e->nin of
 * them, in the equation's order); out: result data of aval *oav. */
jx_status jx__cpu_window(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                         const jx_aval *oav, void *out);

/* ------------------------------------------------------------------ debugging (src/jit/debug.c)
 * Environment switches, read once:
 *   JX_DUMP=ir,passes,fusion,llvm,asm,plan (comma separated; "all")
 *   JX_DUMP_DIR=dir   write the dumps to files there instead of stderr
 *   JX_DEBUG_NANS=1   check every step's float outputs; name the first NaN's primitive and line
 *   JX_JIT_FUSE=0     no fusion: one group per equation
 *   JX_JIT_DNNL=0     convolutions stay on im2col + GEMM instead of oneDNN (to compare)
 *   JX_JIT_SMALL_KERNEL=n  at the default optimisation level, CPU kernels whose every value
 *                     has at most n elements are compiled unoptimised (default 4096; 0: none)
 *   JX_NUM_THREADS=n  default worker count
 * A value that means nothing (JX_NUM_THREADS=abc, an unknown JX_DUMP key, JX_DEBUG_NANS=maybe)
 * gets one "jx: warning: ..." line on stderr and the default, never silence. */
enum {
    JX__DUMP_IR = 1 << 0,     /* the function given to jit and the one compiled */
    JX__DUMP_PASSES = 1 << 1, /* the IR after each pass */
    JX__DUMP_FUSION = 1 << 2,
    JX__DUMP_LLVM = 1 << 3,
    JX__DUMP_ASM = 1 << 4,
    JX__DUMP_PLAN = 1 << 5,   /* steps and buffer assignment */
    JX__DUMP_PROFILE = 1 << 6 /* each step's time over an executable's runs (profile.c) */
};
unsigned jx__dump_flags(void);
bool jx__debug_nans(void);
bool jx__jit_dnnl_enabled(void);
enum { JX__SMALL_KERNEL_DEFAULT = 4096 };
int64_t jx__jit_small_kernel(void);
/* A stream for dump `what` of executable `name` (stderr, or a file in JX_DUMP_DIR);
 * close it with jx__dump_close. */
FILE *jx__dump_open(const char *name, const char *what);
void jx__dump_close(FILE *f);

#endif /* JX_JIT_H */
