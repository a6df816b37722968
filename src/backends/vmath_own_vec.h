/* vmath_own_vec.h: what vmath_own.inc needs for a vector of floats, in GCC's and clang's
 * vector extensions (a comparison gives 0 or -1 per lane; a cast between vectors of one
 * size reinterprets the bits). The includer defines V, VI, VU and FMA. */
#ifndef JX_BACKENDS_VMATH_OWN_VEC_H
#define JX_BACKENDS_VMATH_OWN_VEC_H

#define ATTR /* the file is built for the target */
#define SPLAT(c) ((V){0} + (c))
#define SPLATI(c) ((VI){0} + (int32_t)(c))
#define SPLATU(c) ((VU){0} + (uint32_t)(c))
#define ASI(x) ((VI)(x))
#define ASF(x) ((V)(x))
#define LT(a, b) ((VI)((a) < (b)))
#define GT(a, b) ((VI)((a) > (b)))
#define EQ(a, b) ((VI)((a) == (b)))
#define EQI(a, b) ((VI)((a) == (b)))
#define CVT(i) __builtin_convertvector(i, V)
#define SEL(m, a, b) ASF(((m) & ASI(a)) | (~(m) & ASI(b)))

#endif
