/* convnet.h: the convolution layers of the vision tutorials (09, 10, 18) kept in a
 * parameter tree under a name: "NAME.w" a (k,k,c,o) HWIO kernel, He-scaled, drawn from
 * common/tut.h's generator as conv_np.py's he_conv draws it, and "NAME.b" (o) zeros.
 *
 *     jx_tree *p = jx_tree_dict();
 *     tut_conv_init(p, "enc0", seed, 3, 1, 8);                     // host arrays
 *     ... inside a traced body:  jx_val h = jx_relu(tut_conv(p, "enc0", x));
 */
#ifndef JX_TUT_CONVNET_H
#define JX_TUT_CONVNET_H

#include <jx.h>
#include <jx/tree.h>
#include <stdint.h>

/* Sets NAME.w, tut_normal(seed) * sqrt(2 / (k k c)) shaped (k,k,c,o), and NAME.b zeros. */
void tut_conv_init(jx_tree *p, const char *name, uint64_t seed, int64_t k, int64_t c, int64_t o);

/* The SAME, stride 1 convolution NAME of x (N,H,W,c) -> (N,H,W,o), plus its bias. */
jx_val tut_conv(const jx_tree *p, const char *name, jx_val x);

#endif
