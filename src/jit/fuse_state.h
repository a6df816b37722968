/* fuse_state.h: the state fuse.c assigns equations to groups in, shared with
 * fuse_rows.c (private to src/jit). */
#ifndef JX_FUSE_STATE_H
#define JX_FUSE_STATE_H

#include "jit.h"

typedef struct fstate {
    const jx_fn *f;
    int32_t *producer;  /* var -> eqn producing it, -1 for inputs */
    int32_t *gid;       /* eqn -> group, -1 while unassigned */
    int32_t *ustart;    /* var -> first entry in users (CSR, nvars + 1 entries) */
    int32_t *users;     /* eqns reading each var */
    bool *fn_out;       /* var is an output of f */
    bool *cheap;        /* var is movement/iota of values from outside its group */
    bool *loopg;        /* group id -> a LOOP group */
    int32_t *order;     /* groups in their final order */
    int32_t ngroups, norder;
    /* the open LOOP group */
    int32_t open;       /* group id or -1 */
    jx_aval space;
    bool owner_folds; /* the backend's: scatter_add, cumulative ops in loop kernels */
} fstate;

/* Moving equations between groups (fuse.c): the number of equations in group id; the
 * one equation reading v, or -1 (none, several, or v is an output of f); group id's
 * place in the order, or -1; and equation t moved into the group of equation k (t's
 * group leaves the order when that empties it). */
int32_t jx__fs_group_size(const fstate *s, int32_t id);
int32_t jx__fs_only_reader(const fstate *s, int32_t v);
int32_t jx__fs_position(const fstate *s, int32_t id);
void jx__fs_move_into(fstate *s, int32_t t, int32_t k);

/* Gives DOT groups the bias add after their dot or the sum of an operand over its
 * contracting dim, where the backend's GEMM computes it (ok: its dot_epilogue_ok;
 * fuse_epilogue.c). */
void jx__fuse_epilogues(fstate *s, bool (*ok)(const jx_fn *f, const jx__eqn *e, int kind));

/* Merges LOOP groups whose results another LOOP group reads row by row into it
 * (fuse_rows.c), for backends whose kernels compute a row's values once per row and
 * buffer rows of up to row_bytes. */
void jx__fuse_rows(fstate *s, int64_t row_bytes);

#endif
