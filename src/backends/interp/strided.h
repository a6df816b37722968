/* strided.h: dtype-blind byte movers for the interpreter: an n-dimensional strided
 * copy (the one kernel behind broadcast, transpose, slice, pad, concatenate, rev,
 * dynamic slices) and an element fill. They work on element size, never on dtype.
 *
 * Offsets and strides count elements, not bytes. A stride may be 0 (every index
 * reads the same element: broadcasting) or negative (walking backwards: rev). */
#ifndef JX_INTERP_STRIDED_H
#define JX_INTERP_STRIDED_H

#include <stddef.h>
#include <stdint.h>

/* Row-major strides of shape[0..rank) into strides[0..rank); the last is 1. */
void jx__row_strides(int rank, const int64_t *shape, int64_t *strides);

/* For every index i of the box shape[0..rank):
 *     dst[dst_off + sum_k i_k * dst_st[k]] = src[src_off + sum_k i_k * src_st[k]]
 * with elements of esize bytes. Every element addressed must lie inside its buffer,
 * and the destination must not overlap the source. Rank 0 copies one element; a
 * size-0 dim copies nothing. Size-1 dims are dropped and neighbouring dims that are
 * contiguous in both buffers are merged, so a contiguous innermost run (strides 1 in
 * both) is copied with one memcpy. */
void jx__strided_copy(int rank, const int64_t *shape, size_t esize, void *dst, int64_t dst_off,
                      const int64_t *dst_st, const void *src, int64_t src_off,
                      const int64_t *src_st);

/* Sets the n elements of esize bytes at dst to the element at elem. */
void jx__fill_elems(void *dst, int64_t n, size_t esize, const void *elem);

#endif /* JX_INTERP_STRIDED_H */
