/* conv_key.h: a conv as cuDNN sees it, and jx's conv equations mapped onto it
 * (conv_key.c); conv.c plans and runs such keys. Private to src/backends/cuda. */
#ifndef JX_CUDA_CONV_KEY_H
#define JX_CUDA_CONV_KEY_H

#include "../prog.h"

/* A conv as cuDNN sees it: nd dims (4 or 5) of x, w and y, nd - 2 spatial parameters. */
typedef struct jx__dnn_key {
    int dtype, tf32, nd, groups;
    int x[5], w[5], y[5];
    int pad[3], stride[3], dil[3];
    int xs[5], ys[5]; /* element strides of x and y (an NHWC view: fuse.c's transposes) */
    int mode;         /* JX__DNN_FWD; BWD_DATA: jx's conv computes x (its result) from y (its lhs)
                       * and w (behind its kernel's rev and transpose); BWD_FILTER: w (its
                       * result, transposed) from x (its lhs, transposed) and y (its rhs) */
} jx__dnn_key;
enum { JX__DNN_FWD, JX__DNN_BWD_DATA, JX__DNN_BWD_FILTER };

/* Packed (row-major) strides of nd dims. */
void jx__dnn_packed_strides(int nd, const int *dims, int *st);
/* e (a conv of f) as cuDNN's forward conv; st: strides of a view (jx__conv_view: x, w, y
 * in the conv's own dims), or NULL for packed operands; false when it does not fit. */
bool jx__dnn_key_fwd(const jx_fn *f, const jx__eqn *e, bool tf32, const int64_t (*st)[4], jx__dnn_key *k);
/* e, an input gradient in grad's form (jx__conv_bwd_chain) whose kernel comes from
 * variable w (OIHW), as cuDNN's backward data. */
bool jx__dnn_key_bwd_data(const jx_fn *f, const jx__eqn *e, int32_t w, bool tf32, const int64_t (*st)[4],
                          jx__dnn_key *k);
/* e, its result transposed (1,0,2,3) (grad's kernel gradient), as cuDNN's backward
 * filter; st NULL: whether it could be. */
bool jx__dnn_key_bwd_filter(const jx_fn *f, const jx__eqn *e, bool tf32, const int64_t (*st)[4], jx__dnn_key *k);

#endif
