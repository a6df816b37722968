/* cpu.h: the CPU backend's own interface (src/backends/cpu): its thread pool, its
 * kernels (one LLVM module per executable) and its library calls (BLAS, oneDNN, pooling
 * loops). The jit's CPU executor calls these directly (src/jit/exec.c). */
#ifndef JX_BACKENDS_CPU_H
#define JX_BACKENDS_CPU_H

#include "../backend.h"

/* ------------------------------------------------------------------ thread pool (pool.c) */

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

/* ------------------------------------------------------------------ CPU kernels (codegen*.c)
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

/* ------------------------------------------------------------------ CPU libraries (blas.c, conv.c, window.c) */

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
/* Whether jx__cpu_conv_views takes e with strided operands without copying them (oneDNN;
 * any operand and the result alike: which is not looked at). */
bool jx__cpu_conv_views_ok(const jx_fn *f, const jx__eqn *e, int which);
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

#endif /* JX_BACKENDS_CPU_H */
