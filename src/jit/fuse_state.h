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

/* Merges LOOP groups whose results another LOOP group reads row by row into it
 * (fuse_rows.c), for backends whose kernels compute a row's values once per row and
 * buffer rows of up to row_bytes. */
void jx__fuse_rows(fstate *s, int64_t row_bytes);

#endif
