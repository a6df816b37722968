/* nccl.h: NCCL (NVIDIA's collectives) for CUDA device buffers, loaded with dlopen on first
 * use and never linked (nccl.c), so every build compiles it and a machine without NCCL
 * or a GPU runs as before. Private to src/. */
#ifndef JX_BACKENDS_NCCL_H
#define JX_BACKENDS_NCCL_H

#include "../trace/ir.h"

enum { JX__NCCL_ID_BYTES = 128 }; /* NCCL_UNIQUE_ID_BYTES */

typedef struct jx__nccl jx__nccl; /* a communicator */

/* Loads libnccl.so.2 (once); false with the reason in why (n bytes) where it cannot. */
bool jx__nccl_load(char *why, size_t n);
/* A new unique id (on one rank; the others receive it, e.g. by MPI_Bcast). */
jx_status jx__nccl_unique_id(unsigned char id[JX__NCCL_ID_BYTES]);
/* This process's communicator, rank of nranks, from the id every rank holds. */
jx_status jx__nccl_comm_init(int nranks, int rank, const unsigned char id[JX__NCCL_ID_BYTES], jx__nccl **out);
void jx__nccl_comm_free(jx__nccl *c);
/* recv = send combined over the communicator's ranks (prim: JX_PRIM_PSUM, PMAX or PMIN),
 * count elements of dtype, both device pointers, on the CUDA null stream (the caller
 * synchronises). An error naming the dtype or NCCL's message. */
jx_status jx__nccl_allreduce(jx__nccl *c, const void *send, void *recv, size_t count, jx_dtype dtype, int prim);

#endif
