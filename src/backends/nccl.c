/* nccl.c: see nccl.h. jx declares the six NCCL entry points it calls (NCCL 2.x's ABI:
 * ncclResult_t is an int enum, ncclUniqueId 128 bytes passed by value, the communicator
 * and the stream opaque pointers), so this file needs neither NCCL's nor CUDA's headers.
 * It has not run on a GPU yet (docs/pmap.md); without libnccl.so.2 every call reports
 * that NCCL is missing. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_table.h"
#include "nccl.h"

typedef struct {
    unsigned char internal[JX__NCCL_ID_BYTES];
} nccl_id;
typedef void *nccl_comm;
enum { NCCL_OK = 0 };
enum { NCCL_UINT8 = 1, NCCL_INT32 = 2, NCCL_UINT32 = 3, NCCL_INT64 = 4, NCCL_FLOAT16 = 6, NCCL_FLOAT32 = 7,
       NCCL_FLOAT64 = 8, NCCL_BFLOAT16 = 9 };
enum { NCCL_SUM = 0, NCCL_MAX = 2, NCCL_MIN = 3 };

static struct {
    int (*GetUniqueId)(nccl_id *);
    int (*CommInitRank)(nccl_comm *, int, nccl_id, int);
    int (*AllReduce)(const void *, void *, size_t, int, int, nccl_comm, void *);
    int (*GroupStart)(void);
    int (*GroupEnd)(void);
    int (*CommDestroy)(nccl_comm);
    const char *(*GetErrorString)(int);
} api;
static char load_error[512];
static pthread_once_t once = PTHREAD_ONCE_INIT;

struct jx__nccl {
    nccl_comm comm;
};

static void load(void) {
    void *h = dlopen("libnccl.so.2", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(load_error, sizeof load_error, "no NCCL: libnccl.so.2 not found (%s)", dlerror());
        return;
    }
    const jx__dl_fn fns[] = {
        {(void **)&api.GetUniqueId, "ncclGetUniqueId"}, {(void **)&api.CommInitRank, "ncclCommInitRank"},
        {(void **)&api.AllReduce, "ncclAllReduce"},     {(void **)&api.GroupStart, "ncclGroupStart"},
        {(void **)&api.GroupEnd, "ncclGroupEnd"},       {(void **)&api.CommDestroy, "ncclCommDestroy"},
        {(void **)&api.GetErrorString, "ncclGetErrorString"},
    };
    const char *missing = jx__dl_resolve(h, fns, sizeof fns / sizeof fns[0]);
    if (missing) {
        snprintf(load_error, sizeof load_error, "libnccl.so.2 lacks %s", missing);
        memset(&api, 0, sizeof api);
        dlclose(h);
    }
}

bool jx__nccl_load(char *why, size_t n) {
    pthread_once(&once, load);
    if (!api.AllReduce && why && n) snprintf(why, n, "%s", load_error);
    return api.AllReduce != NULL;
}

/* NCCL's result r as a jx error of operation what. */
static jx_status fail(int r, const char *what) {
    return jx__fail(JX_ERR_RUNTIME, jx__noloc, "nccl", "%s: %s", what, api.GetErrorString ? api.GetErrorString(r) : "?");
}

static jx_status missing(void) {
    char why[512];
    jx__nccl_load(why, sizeof why);
    return jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "nccl", "%s", why);
}

jx_status jx__nccl_unique_id(unsigned char id[JX__NCCL_ID_BYTES]) {
    if (!jx__nccl_load(NULL, 0)) return missing();
    nccl_id u;
    int r = api.GetUniqueId(&u);
    if (r != NCCL_OK) return fail(r, "ncclGetUniqueId");
    memcpy(id, u.internal, sizeof u.internal);
    return JX_OK;
}

jx_status jx__nccl_comm_init(int nranks, int rank, const unsigned char id[JX__NCCL_ID_BYTES], jx__nccl **out) {
    *out = NULL;
    if (!jx__nccl_load(NULL, 0)) return missing();
    jx__nccl *c = calloc(1, sizeof *c);
    if (!c) return jx__fail(JX_ERR_NOMEM, jx__noloc, "nccl", "out of memory");
    nccl_id u;
    memcpy(u.internal, id, sizeof u.internal);
    int r = api.CommInitRank(&c->comm, nranks, u, rank);
    if (r != NCCL_OK) {
        free(c);
        return fail(r, "ncclCommInitRank");
    }
    *out = c;
    return JX_OK;
}

void jx__nccl_comm_free(jx__nccl *c) {
    if (!c) return;
    api.CommDestroy(c->comm);
    free(c);
}

static int nccl_dtype(jx_dtype t) {
    switch (t) {
    case JX_F32: return NCCL_FLOAT32;
    case JX_F64: return NCCL_FLOAT64;
    case JX_F16: return NCCL_FLOAT16;
    case JX_BF16: return NCCL_BFLOAT16;
    case JX_I32: return NCCL_INT32;
    case JX_U32: return NCCL_UINT32;
    case JX_I64: return NCCL_INT64;
    case JX_U8: return NCCL_UINT8;
    default: return -1; /* bool: a sum would not stay 0/1 */
    }
}

jx_status jx__nccl_allreduce(jx__nccl *c, const void *send, void *recv, size_t count, jx_dtype dtype, int prim) {
    int t = nccl_dtype(dtype), op = prim == JX_PRIM_PSUM ? NCCL_SUM : prim == JX_PRIM_PMAX ? NCCL_MAX : NCCL_MIN;
    if (t < 0) return jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "nccl", "no NCCL all-reduce of %s", jx_dtype_name(dtype));
    int r = api.GroupStart();
    if (r == NCCL_OK) r = api.AllReduce(send, recv, count, t, op, c->comm, NULL);
    int r2 = api.GroupEnd();
    return r != NCCL_OK ? fail(r, "ncclAllReduce") : r2 != NCCL_OK ? fail(r2, "ncclGroupEnd") : JX_OK;
}
