/* debug.h: the compiler's environment switches and dump streams (debug.c), read by the
 * jit and the backends alike. */
#ifndef JX_BACKENDS_DEBUG_H
#define JX_BACKENDS_DEBUG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* ------------------------------------------------------------------ debugging (debug.c)
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

/* JX_JIT_FUSE (default on). */
bool jx__jit_fuse_enabled(void);
/* The default directory of the on-disk kernel cache (JX_JIT_CACHE_DIR, else
 * $XDG_CACHE_HOME/jx, else $HOME/.cache/jx); NULL for none. */
const char *jx__jit_cache_dir(void);

#endif /* JX_BACKENDS_DEBUG_H */
