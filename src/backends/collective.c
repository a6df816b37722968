/* collective.c: the collectives of pmap on CPU devices, through shared memory. Each
 * device's thread puts its operand in the communicator's slot, waits for all (a
 * barrier), computes its own result from every slot, and waits again before the slots
 * may be reused. Every device reduces the slots itself in device order,
 * ((x0 + x1) + x2) + ..., so psum's result is bit-identical on every device and from
 * run to run (the documented order, docs/pmap.md). Across processes (dist.c) each
 * process's device 0 then combines its process's result with the others' through MPI,
 * and the process's other devices copy it (with one device per process, a CUDA operand
 * goes through NCCL). ppermute and all_to_all across processes move bytes only: device
 * 0 sends and receives for its process (point to point for ppermute, one MPI_Alltoall of
 * the chunks for all_to_all), so their results are the in-process ones bit for bit. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collective.h"

struct jx__comm {
    int n;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int arrived;
    uint64_t gen;
    int failed; /* the failed device + 1, or 0 */
    const jx_array **slot;
    const jx_array *result; /* across processes: device 0's combined result */
    jx_array **res;         /* across processes: devices 1.. hold their results here for device 0 to fill */
    char *recv;             /* across processes, all_to_all: the chunks device 0 received */
};

static _Thread_local const jx__axis_bind *top;
static _Thread_local bool aborted; /* this thread's last error is "another device failed" */

const jx__axis_bind *jx__axis_top(void) { return top; }
const jx__axis_bind *jx__axis_push(const jx__axis_bind *b) {
    const jx__axis_bind *prev = top;
    top = b;
    return prev;
}
void jx__axis_restore(const jx__axis_bind *prev) { top = prev; }
bool jx__comm_is_abort_error(void) { return aborted; }

const jx__axis_bind *jx__axis_lookup(const char *name) {
    for (const jx__axis_bind *b = top; b && name; b = b->outer)
        if (strcmp(b->name, name) == 0) return b;
    return NULL;
}

jx__comm *jx__comm_new(int n) {
    jx__comm *c = calloc(1, sizeof *c);
    const jx_array **slot = calloc((size_t)n + 1, sizeof *slot);
    jx_array **res = calloc((size_t)n + 1, sizeof *res);
    if (!c || !slot || !res) {
        free(c);
        free(slot);
        free(res);
        jx__fail(JX_ERR_NOMEM, jx__noloc, "pmap", "out of memory");
        return NULL;
    }
    c->n = n;
    c->slot = slot;
    c->res = res;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    return c;
}

void jx__comm_free(jx__comm *c) {
    if (!c) return;
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->cv);
    free(c->slot);
    for (int i = 0; i < c->n; i++) jx_array_release(c->res[i]);
    free(c->res);
    free(c->recv);
    free(c);
}

void jx__comm_abort(jx__comm *c, int device) {
    pthread_mutex_lock(&c->mu);
    if (!c->failed) c->failed = device + 1;
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
}

/* JX_COLLECTIVE_TIMEOUT in seconds (default 300). */
static double timeout_s(void) {
    const char *e = getenv("JX_COLLECTIVE_TIMEOUT");
    double t = e && *e ? atof(e) : 300;
    return t > 0 ? t : 300;
}

/* Waits until all n devices arrive; fails when one has failed or after the timeout. */
static jx_status barrier(jx__comm *c, const jx__eqn *e, const char *name) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double t = timeout_s();
    until.tv_sec += (time_t)t;
    until.tv_nsec += (long)((t - (double)(time_t)t) * 1e9);
    if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
    pthread_mutex_lock(&c->mu);
    uint64_t gen = c->gen;
    bool timed_out = false;
    if (!c->failed && ++c->arrived == c->n) {
        c->arrived = 0;
        c->gen++;
        pthread_cond_broadcast(&c->cv);
    }
    while (!c->failed && c->gen == gen && !timed_out)
        timed_out = pthread_cond_timedwait(&c->cv, &c->mu, &until) == ETIMEDOUT;
    int failed = c->failed;
    if (timed_out && c->gen == gen && !failed) {
        c->failed = c->n + 1; /* everyone else stops too */
        pthread_cond_broadcast(&c->cv);
    }
    pthread_mutex_unlock(&c->mu);
    const char *what = jx__prims[e->prim].name;
    if (failed) {
        aborted = true;
        if (failed > c->n)
            return jx__fail(JX_ERR_RUNTIME, e->loc, what, "stopped: a collective over axis '%s' timed out", name);
        return jx__fail(JX_ERR_RUNTIME, e->loc, what, "stopped: device %d of axis '%s' failed", failed - 1, name);
    }
    if (timed_out)
        return jx__fail(JX_ERR_RUNTIME, e->loc, what,
                        "timed out after %g s waiting for the other devices of axis '%s' "
                        "(JX_COLLECTIVE_TIMEOUT)", t, name);
    return JX_OK;
}

/* ------------------------------------------------------------------ the operations */

#define FOR_DTYPES(X) X(JX_F32, float) X(JX_F64, double) X(JX_I32, int32_t) X(JX_U32, uint32_t) \
    X(JX_I64, int64_t) X(JX_U8, uint8_t) X(JX_BOOL, uint8_t)

/* NaN wins, as in reduce_max / reduce_min. */
#define MAXOF(a, b) ((a) != (a) || (a) > (b) ? (a) : (b))
#define MINOF(a, b) ((a) != (a) || (a) < (b) ? (a) : (b))

/* out = slot[0] op slot[1] op ... in device order. */
static void reduce(int prim, int n, const jx_array **slot, jx_array *out) {
    int64_t m = jx_aval_size(&out->aval);
    if (out->nbytes) memcpy(out->data, slot[0]->data, out->nbytes);
    for (int k = 1; k < n; k++) {
        switch (out->aval.dtype) {
#define X(D, T)                                                                          \
    case D: {                                                                            \
        T *o = out->data;                                                                \
        const T *s = slot[k]->data;                                                      \
        if (prim == JX_PRIM_PSUM)                                                        \
            for (int64_t j = 0; j < m; j++) o[j] = (T)(o[j] + s[j]);                     \
        else if (prim == JX_PRIM_PMAX)                                                   \
            for (int64_t j = 0; j < m; j++) o[j] = MAXOF(o[j], s[j]);                    \
        else                                                                             \
            for (int64_t j = 0; j < m; j++) o[j] = MINOF(o[j], s[j]);                    \
        break;                                                                           \
    }
            FOR_DTYPES(X)
#undef X
        default: break; /* the shape rule admits only the dtypes above */
        }
    }
}

/* all_to_all (tiled): out is n pieces along concat axis m, piece s taken from src[s] (of
 * aval sa) starting at k_off along split axis k: src[s] is device s's whole operand with
 * k_off = this device's index times the chunk, or the chunk itself with k_off = 0. */
static void all_to_all(const void *const *src, const jx_aval *sa, int64_t k_off, int n, int k, int m,
                       jx_array *out) {
    const jx_aval *oa = &out->aval;
    size_t es = jx_dtype_size(oa->dtype);
    int r = oa->rank;
    int64_t piece = oa->shape[m] / n, total = jx_aval_size(oa);
    int64_t idx[JX_MAX_RANK] = {0};
    for (int64_t j = 0; j < total; j++) {
        int64_t s = idx[m] / piece, off = 0; /* the sending device, this element's place in its operand */
        for (int d = 0; d < r; d++) {
            int64_t v = d == m ? idx[d] % piece : idx[d];
            if (d == k) v += k_off;
            off = off * sa->shape[d] + v;
        }
        memcpy((char *)out->data + (size_t)j * es, (const char *)src[s] + (size_t)off * es, es);
        for (int d = r - 1; d >= 0 && ++idx[d] == oa->shape[d]; d--) idx[d] = 0;
    }
}

/* Copies chunk g of n along axis k of x (aval xa) into dst: the block all_to_all sends
 * device g, nbytes(x) / n bytes. */
static void chunk_copy(const jx_aval *xa, const char *x, int k, int n, int64_t g, char *dst) {
    int64_t outer = 1, inner = (int64_t)jx_dtype_size(xa->dtype), rows = xa->shape[k], c = rows / n;
    for (int d = 0; d < k; d++) outer *= xa->shape[d];
    for (int d = k + 1; d < xa->rank; d++) inner *= xa->shape[d];
    for (int64_t o = 0; o < outer && c * inner > 0; o++)
        memcpy(dst + (size_t)(o * c * inner), x + (size_t)((o * rows + g * c) * inner), (size_t)(c * inner));
}

/* This device's result from every device's operand (all are in the slots). */
static jx_status compute(const jx__eqn *e, const jx__axis_bind *b, const jx_array **slot, jx_array *out) {
    int n = b->local_size, first = b->index - b->local_index; /* this process's first device */
    switch (e->prim) {
    case JX_PRIM_PSUM:
    case JX_PRIM_PMAX:
    case JX_PRIM_PMIN: reduce(e->prim, n, slot, out); return JX_OK;
    case JX_PRIM_ALL_GATHER:
        for (int k = 0; k < n; k++)
            if (slot[k]->nbytes)
                memcpy((char *)out->data + (size_t)(first + k) * slot[k]->nbytes, slot[k]->data, slot[k]->nbytes);
        return JX_OK;
    case JX_PRIM_PPERMUTE: {
        jx_ints p = jx__attr_ints(e->nattr, e->attrs, JX_A_PAIRS);
        for (int q = 0; q + 1 < p.n; q += 2)
            if (p.v[q + 1] == b->index && out->nbytes) memcpy(out->data, slot[p.v[q]]->data, out->nbytes);
        return JX_OK; /* a device no pair sends to keeps the zeros it was allocated with */
    }
    case JX_PRIM_ALL_TO_ALL: {
        int k = (int)jx__attr_int(e->nattr, e->attrs, JX_A_SPLIT_AXIS, 0);
        const void **src = malloc(sizeof *src * (size_t)n);
        if (!src) return jx__fail(JX_ERR_NOMEM, e->loc, "all_to_all", "out of memory");
        for (int s = 0; s < n; s++) src[s] = slot[s]->data;
        all_to_all(src, &slot[0]->aval, b->index * (slot[0]->aval.shape[k] / n), n, k,
                   (int)jx__attr_int(e->nattr, e->attrs, JX_A_CONCAT_AXIS, 0), out);
        free(src);
        return JX_OK;
    }
    default: return jx__fail(JX_ERR_INTERNAL, e->loc, jx__prims[e->prim].name, "not a collective");
    }
}

/* Checks what only the bound axis size tells: all_gather's recorded size, all_to_all's
 * split, ppermute's device numbers. */
static jx_status check_size(const jx__eqn *e, const jx__axis_bind *b, const jx_array *x) {
    const char *what = jx__prims[e->prim].name;
    if (e->prim == JX_PRIM_ALL_GATHER || e->prim == JX_PRIM_ALL_TO_ALL) {
        int64_t want = jx__attr_int(e->nattr, e->attrs, JX_A_AXIS_SIZE, -1);
        if (want != b->size)
            return jx__fail(JX_ERR_SHAPE, e->loc, what, "axis_size is %lld but the pmap of axis '%s' has size %d",
                            (long long)want, b->name, b->size);
    }
    if (e->prim == JX_PRIM_PPERMUTE) {
        jx_ints p = jx__attr_ints(e->nattr, e->attrs, JX_A_PAIRS);
        for (int q = 0; q < p.n; q++)
            if (p.v[q] >= b->size)
                return jx__fail(JX_ERR_ARG, e->loc, what, "pair (%lld,%lld) names a device outside axis '%s' of size %d",
                                (long long)p.v[q - q % 2], (long long)p.v[q - q % 2 + 1], b->name, b->size);
    }
    (void)x;
    return JX_OK;
}

/* ppermute and all_to_all across processes, for device b->local_index of its process,
 * between the barrier at which every local operand is in its slot (and, for ppermute,
 * every local result, zeros, in c->res) and the caller's final one, which makes what
 * device 0 wrote into the others' results visible to them. Device 0 sends and receives
 * for the whole process; the local devices copy what comes from their own process. */
static jx_status exchange(const jx__eqn *e, const jx__axis_bind *b, jx_array *y) {
    jx__comm *c = b->comm;
    int L = b->local_size, me = b->local_index, first = b->index - me, n = b->size;
    if (e->prim == JX_PRIM_PPERMUTE) {
        jx_ints p = jx__attr_ints(e->nattr, e->attrs, JX_A_PAIRS);
        for (int q = 0; q + 1 < p.n; q += 2)
            if (p.v[q + 1] == b->index && p.v[q] >= first && p.v[q] < first + L && y->nbytes)
                memcpy(y->data, c->slot[p.v[q] - first]->data, y->nbytes);
        if (me != 0) return JX_OK;
        c->res[0] = y; /* only device 0 uses its entry, and holds no reference there */
        jx_status st = jx__dist_ppermute(e, b->name, first, L, c->slot, c->res);
        c->res[0] = NULL;
        return st;
    }
    int k = (int)jx__attr_int(e->nattr, e->attrs, JX_A_SPLIT_AXIS, 0);
    jx_aval ca = c->slot[me]->aval; /* the chunk each device sends each device */
    ca.shape[k] /= n;
    size_t cb = c->slot[me]->nbytes / (size_t)n;
    const void **src = malloc(sizeof *src * (size_t)n); /* before the barrier: nothing fails after it */
    if (!src) return jx__fail(JX_ERR_NOMEM, e->loc, "all_to_all", "out of memory");
    jx_status st = JX_OK;
    if (me == 0) { /* the chunks ordered by receiving process, then its device, then the sending device */
        char *send = malloc(cb * (size_t)n * (size_t)L + 1), *recv = malloc(cb * (size_t)n * (size_t)L + 1);
        for (int g = 0; g < n && send && recv; g++)
            for (int i = 0; i < L; i++)
                chunk_copy(&c->slot[i]->aval, c->slot[i]->data, k, n, g,
                           send + ((size_t)g * (size_t)L + (size_t)i) * cb);
        st = !send || !recv ? jx__fail(JX_ERR_NOMEM, e->loc, "all_to_all", "out of memory")
                            : jx__dist_all_to_all(e, b->name, send, recv, cb * (size_t)L * (size_t)L);
        free(send);
        free(c->recv); /* the previous all_to_all's: every device has left it */
        c->recv = recv;
    }
    if (st == JX_OK) st = barrier(c, e, b->name); /* c->recv holds every process's chunks */
    if (st != JX_OK) {
        free(src);
        return st;
    }
    /* device s = P * L + i sent its chunk for this device in process P's block, at (me, i) */
    for (int s = 0; s < n; s++)
        src[s] = c->recv + (((size_t)(s / L) * (size_t)L + (size_t)me) * (size_t)L + (size_t)(s % L)) * cb;
    all_to_all(src, &ca, 0, n, k, (int)jx__attr_int(e->nattr, e->attrs, JX_A_CONCAT_AXIS, 0), y);
    free(src);
    return JX_OK;
}

jx_status jx__collective_run(const jx__eqn *e, const jx_array *x, const jx_aval *oav, jx_array **out) {
    const char *name = jx__attr_str(e->nattr, e->attrs, JX_A_AXIS_NAME);
    const jx__axis_bind *b = jx__axis_lookup(name);
    *out = NULL;
    if (!b)
        return jx__fail(JX_ERR_ARG, e->loc, jx__prims[e->prim].name, "axis name '%s' is not bound by any vmap or pmap",
                        name ? name : "?");
    aborted = false;
    if (b != top) /* its devices' communicator counts one thread per device, not the inner pmap's */
        return jx__fail(JX_ERR_UNSUPPORTED, e->loc, jx__prims[e->prim].name,
                        "axis '%s' belongs to a pmap outside the pmap of axis '%s': a collective over an outer pmap's "
                        "axis inside an inner pmap is not supported (call it outside the inner pmap)",
                        name, top->name);
    jx_status st = check_size(e, b, x);
    if (st != JX_OK) {
        jx__comm_abort(b->comm, b->local_index);
        return st;
    }
    if (e->prim == JX_PRIM_AXIS_INDEX) { /* no communication */
        if (!(*out = jx__array_alloc(oav))) return jx_errcode();
        *(int32_t *)(*out)->data = b->index;
        return JX_OK;
    }
    jx__comm *c = b->comm;
    if ((e->prim == JX_PRIM_PPERMUTE || e->prim == JX_PRIM_ALL_TO_ALL) && b->local_size != b->size) {
        /* ppermute's result starts as zeros (a device no pair sends to keeps them) */
        jx_array *y = e->prim == JX_PRIM_PPERMUTE ? jx__array_alloc(oav) : jx__array_alloc_uninit(oav);
        if (!y) {
            jx__comm_abort(c, b->local_index);
            return jx_errcode();
        }
        c->slot[b->local_index] = x;
        /* held until the pmap ends: device 0 may still be receiving into it if this device stops */
        if (b->local_index != 0 && e->prim == JX_PRIM_PPERMUTE) {
            jx_array_release(c->res[b->local_index]);
            c->res[b->local_index] = jx_array_retain(y);
        }
        if ((st = barrier(c, e, b->name)) == JX_OK && (st = exchange(e, b, y)) != JX_OK)
            jx__comm_abort(c, b->local_index);
        else if (st == JX_OK)
            st = barrier(c, e, b->name);
        if (st != JX_OK) {
            jx_array_release(y);
            return st;
        }
        *out = y;
        return JX_OK;
    }
    c->slot[b->local_index] = x; /* only this device writes its slot, between barriers */
    if ((st = barrier(c, e, b->name)) != JX_OK) return st;
    bool reduce_op = e->prim == JX_PRIM_PSUM || e->prim == JX_PRIM_PMAX || e->prim == JX_PRIM_PMIN;
    bool direct = reduce_op && b->local_size == 1 && b->size > 1; /* MPI reduces x straight into y */
    if (direct && x->dev) { /* a CUDA buffer: NCCL, device to device (one device: no barrier to wait at) */
        if ((st = jx__dist_combine_device(e, b->name, x, oav, out)) != JX_OK) jx__comm_abort(c, b->local_index);
        return st;
    }
    /* every element is written below but where no pair sends to a device (ppermute) */
    jx_array *y = e->prim == JX_PRIM_PPERMUTE ? jx__array_alloc(oav) : jx__array_alloc_uninit(oav);
    st = !y ? jx_errcode() : direct ? JX_OK : compute(e, b, c->slot, y);
    if (st == JX_OK && b->local_size != b->size) { /* other processes: device 0 speaks for this one */
        if (b->local_index == 0 && (st = jx__dist_combine(e, b->name, direct ? x->data : NULL, y)) == JX_OK)
            c->result = y;
        if (st != JX_OK) jx__comm_abort(c, b->local_index);
        else if ((st = barrier(c, e, b->name)) == JX_OK && b->local_index != 0 && y->nbytes)
            memcpy(y->data, c->result->data, y->nbytes);
    }
    if (st != JX_OK) jx__comm_abort(c, b->local_index); /* the others stop; this error stays */
    else st = barrier(c, e, b->name);                   /* nobody reads the slots after this */
    if (st != JX_OK) {
        jx_array_release(y);
        return st;
    }
    *out = y;
    return JX_OK;
}
