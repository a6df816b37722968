/* ref.h: the layout of the reference vectors in layers_ref.h, written by gen_ref.py
 * with JAX and Flax: for each case, its inputs, its outputs, a cotangent per output, and
 * the gradient of L = sum_k sum(out_k * ct_k) with respect to each float input. */
#ifndef JX_TEST_NN_REF_H
#define JX_TEST_NN_REF_H

#include <stdint.h>

typedef struct jt_ref_arr {
    const char *name;
    char kind; /* 'f' float (f64 in the file), 'i' i32, 'u' u32, 'b' bool */
    int rank;
    int64_t shape[6];
    const double *data; /* NULL for a size-0 array */
} jt_ref_arr;

#define JT_REF_MAX 10

typedef struct jt_ref_case {
    const char *name;
    int nin, nout;
    jt_ref_arr in[JT_REF_MAX];
    jt_ref_arr out[JT_REF_MAX];
    jt_ref_arr ct[JT_REF_MAX];
    jt_ref_arr grad[JT_REF_MAX]; /* per input; rank -1 for integer inputs */
} jt_ref_case;

#endif
