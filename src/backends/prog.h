/* prog.h: the program an executor runs, as data: the fusion groups of a function and one
 * step per group (a kernel, a library call, the interpreter, or nested programs for
 * cond/while/scan), with its buffer plan. The jit builds it (src/jit/fuse.c, plan.c);
 * the CPU executor (src/jit/exec.c) and the CUDA backend's (src/backends/cuda/exec.c)
 * run it. Defined here, below both, so that a backend needs nothing of the jit's. */
#ifndef JX_BACKENDS_PROG_H
#define JX_BACKENDS_PROG_H

#include "backend.h"

/* A function's top-level equations split into groups, in program order (a group only
 * reads variables of f's inputs or of earlier groups): fuse.c. */
typedef struct jx__fusion {
    int32_t ngroups;
    jx__group *groups;
} jx__fusion;

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
    bool bwd_data; /* src[1] is the w of a kernel rev(transpose(w)) in the group
                    * (jx__conv_bwd_chain): the conv is the adjoint of w's forward conv */
} jx__conv_view;

/* How a DOT group with an epilogue (fuse_epilogue.c) meets its arrays: the dot, the
 * epilogue's kind, its vector (BIAS: the bias read; BGRAD: the sum written) and the
 * matrix the call writes (BIAS: the add's result; BGRAD: the dot's). */
typedef struct jx__dot_epi {
    const jx__eqn *dot;
    jx__epi_kind kind;
    int32_t vec, out;
} jx__dot_epi;

typedef struct jx__prog jx__prog;

/* One fusion group, ready to run. */
typedef struct jx__step {
    jx__gkind kind;       /* what the executor does; a LOOP or DOT/CONV group the backend
                           * cannot take runs as OPAQUE (its equations through the interpreter) */
    const jx__group *g;   /* in the program's fusion */
    jx__kernel *kernel;   /* LOOP: owned by the executable's module (the backend's type) */
    int64_t grain;        /* LOOP: least iterations per thread-pool chunk */
    int32_t *inplace;     /* per g->out: index into g->in whose storage it may take, or -1 */
    int32_t nfree;
    int32_t *free;        /* variables whose last reader is this step (released after it) */
    int32_t nsubs;
    jx__prog **subs;      /* CONTROL: cond's branches; while's cond, body; scan's body */
    const char *note;     /* why a group fell back to OPAQUE (static text), or NULL */
    jx__conv_view *view;  /* CONV with transposes in its group: how the conv reads and
                           * writes through them (fuse.c), found once here; else NULL */
    jx__dot_epi *epi;     /* DOT with an epilogue in its group (fuse_epilogue.c); else NULL */
} jx__step;

struct jx__prog {
    jx_fn *f; /* retained */
    const jx__backend *be; /* whose kernels the steps hold */
    jx__fusion *fu;
    int32_t nsteps;
    jx__step *steps;
    int32_t *last;  /* per variable: the last step reading it; nsteps for outputs; -1 none */
    int32_t *slot;  /* per variable: its buffer slot, or -1 (never stored: group-internal) */
    int32_t nslots;
    size_t *slot_bytes;
    bool *donate;   /* per input: its storage may be reused (opts.donate at the top level) */
    struct jx__prof *prof; /* JX_DUMP=profile: the top level's step times (profile.c), or NULL */
    void *be_state; /* a backend's own, kept from run to run (be->prog_state_free), or NULL */
    bool tf32;      /* f32 GEMMs may round their operands to TF32 (jx_jit_opts.matmul_precision) */
};

#endif /* JX_BACKENDS_PROG_H */
