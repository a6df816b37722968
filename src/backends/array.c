/* array.c: arrays (jx_array): creation, lifetime, queries, element access; the host
 * copy of a device array, made when the host first reads it. */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"

/* The size of the storage block of an array of `bytes` bytes: whole 64-byte lines, at
 * least one (the block jx__host_alloc is given and jx__host_free is told). */
static size_t storage_bytes(size_t bytes) { return bytes ? (bytes + 63) & ~(size_t)63 : 64; }

/* Gives a's device storage back to its backend (a is then a host array, or storage-less
 * while being freed). */
static void array_dev_free(jx_array *a) {
    if (a->dev) a->be->free(a->dev);
    a->dev = NULL;
    a->be = NULL;
    a->device = JX_DEVICE_CPU;
}

jx_array *jx__array_on_device(const jx_aval *a, void *dev, const jx__backend *be, jx_device device) {
    jx_array *x = calloc(1, sizeof *x);
    if (!x) return jx__fail(JX_ERR_NOMEM, jx__noloc, "jx_array", "out of memory for %s", jx__avs(a)), NULL;
    atomic_init(&x->refs, 1);
    x->aval = *a;
    x->nbytes = (size_t)jx_aval_size(a) * jx_dtype_size(a->dtype);
    x->dev = dev;
    x->be = be;
    x->device = device;
    return x;
}

/* One lock for every first read-back: rare (once per device array read on the host). */
static pthread_mutex_t host_mu = PTHREAD_MUTEX_INITIALIZER;

void *jx__array_host(jx_array *a) {
    void *d = __atomic_load_n(&a->data, __ATOMIC_ACQUIRE);
    if (d) return d;
    pthread_mutex_lock(&host_mu);
    if (!(d = a->data)) {
        size_t alloc = storage_bytes(a->nbytes);
        d = a->dev ? jx__host_alloc(alloc) : NULL;
        if (!a->dev) jx__fail(JX_ERR_INTERNAL, jx__noloc, "jx_array", "%s has no storage", jx__avs(&a->aval));
        else if (!d) jx__fail(JX_ERR_NOMEM, jx__noloc, "jx_array", "out of memory for %s", jx__avs(&a->aval));
        else if (a->be->copy_out(d, a->dev, a->nbytes) != JX_OK) jx__host_free(d, alloc), d = NULL;
        else __atomic_store_n(&a->data, d, __ATOMIC_RELEASE);
    }
    pthread_mutex_unlock(&host_mu);
    return d;
}

static jx_array *array_alloc(const jx_aval *a, bool zero) {
    if (a->rank < 0 || a->rank > JX_MAX_RANK || (unsigned)a->dtype >= JX_DTYPE_COUNT) {
        jx__fail(JX_ERR_ARG, jx__noloc, "jx_array", "invalid dtype or shape %s", jx__avs(a));
        return NULL;
    }
    int64_t n = 1;
    for (int i = 0; i < a->rank; i++) {
        if (a->shape[i] < 0 || (a->shape[i] && n > INT64_MAX / 16 / a->shape[i])) {
            jx__fail(JX_ERR_ARG, jx__noloc, "jx_array", "shape %s is too large or negative", jx__avs(a));
            return NULL;
        }
        n *= a->shape[i];
    }
    jx_array *x = calloc(1, sizeof *x);
    size_t bytes = (size_t)n * jx_dtype_size(a->dtype);
    size_t alloc = storage_bytes(bytes);
    void *d = jx__host_alloc(alloc);
    if (!x || !d) {
        free(x);
        jx__host_free(d, alloc);
        jx__fail(JX_ERR_NOMEM, jx__noloc, "jx_array", "out of memory for %s", jx__avs(a));
        return NULL;
    }
    if (zero) memset(d, 0, alloc);
    atomic_init(&x->refs, 1);
    x->aval = *a;
    x->nbytes = bytes;
    x->data = d;
    return x;
}

jx_array *jx__array_view(jx_array *base, const jx_aval *a, size_t offset) {
    jx_array *x = calloc(1, sizeof *x);
    if (!x) return jx__fail(JX_ERR_NOMEM, jx__noloc, "jx_array", "out of memory for %s", jx__avs(a)), NULL;
    atomic_init(&x->refs, 1);
    x->aval = *a;
    x->nbytes = (size_t)jx_aval_size(a) * jx_dtype_size(a->dtype);
    x->data = (char *)base->data + offset;
    x->base = jx_array_retain(base);
    return x;
}

jx_array *jx__array_alloc(const jx_aval *a) { return array_alloc(a, true); }
jx_array *jx__array_alloc_uninit(const jx_aval *a) { return array_alloc(a, false); }

jx_array *jx_array_new(jx_dtype dtype, jx_ints shape, const void *data) {
    jx_aval a = jx_aval_make(dtype, shape);
    if (a.rank < 0) {
        jx__fail(JX_ERR_ARG, jx__noloc, "jx_array_new", "invalid shape %s (rank at most %d, dims >= 0)",
                 jx__ints_str(shape), JX_MAX_RANK);
        return NULL;
    }
    jx_array *x = jx__array_alloc(&a);
    if (x && data && x->nbytes) memcpy(x->data, data, x->nbytes);
    return x;
}

/* Stores v into element i of x, converting like a C cast (saturating for ints). */
static void store(jx_array *x, int64_t i, double v) {
    void *d = x->data;
    switch (x->aval.dtype) {
    case JX_BOOL: ((uint8_t *)d)[i] = v != 0; break;
    case JX_U8: ((uint8_t *)d)[i] = isnan(v) ? 0 : v <= 0 ? 0 : v >= 255 ? 255 : (uint8_t)v; break;
    case JX_I32:
        ((int32_t *)d)[i] = isnan(v) ? 0 : v <= -2147483648.0 ? INT32_MIN : v >= 2147483647.0 ? INT32_MAX : (int32_t)v;
        break;
    case JX_U32: ((uint32_t *)d)[i] = isnan(v) ? 0 : v <= 0 ? 0 : v >= 4294967295.0 ? UINT32_MAX : (uint32_t)v; break;
    case JX_I64:
        ((int64_t *)d)[i] = isnan(v) ? 0 : v <= -9223372036854775808.0 ? INT64_MIN : v >= 9223372036854775807.0 ? INT64_MAX : (int64_t)v;
        break;
    case JX_F16: ((uint16_t *)d)[i] = jx_f32_to_f16((float)v); break;
    case JX_BF16: ((uint16_t *)d)[i] = jx_f32_to_bf16((float)v); break;
    case JX_F32: ((float *)d)[i] = (float)v; break;
    case JX_F64: ((double *)d)[i] = v; break;
    default: break;
    }
}

double jx_array_get(const jx_array *x, int64_t i) {
    if (!x || i < 0 || i >= jx_aval_size(&x->aval)) return NAN;
    const void *d = jx__array_host((jx_array *)x);
    if (!d) return NAN;
    switch (x->aval.dtype) {
    case JX_BOOL:
    case JX_U8: return ((const uint8_t *)d)[i];
    case JX_I32: return ((const int32_t *)d)[i];
    case JX_U32: return ((const uint32_t *)d)[i];
    case JX_I64: return (double)((const int64_t *)d)[i];
    case JX_F16: return jx_f16_to_f32(((const uint16_t *)d)[i]);
    case JX_BF16: return jx_bf16_to_f32(((const uint16_t *)d)[i]);
    case JX_F32: return ((const float *)d)[i];
    case JX_F64: return ((const double *)d)[i];
    default: return NAN;
    }
}

jx_array *jx_array_full(jx_dtype dtype, jx_ints shape, double value) {
    jx_array *x = jx_array_new(dtype, shape, NULL);
    if (!x) return NULL;
    int64_t n = jx_aval_size(&x->aval);
    for (int64_t i = 0; i < n; i++) store(x, i, value);
    return x;
}

jx_array *jx_array_zeros(jx_dtype dtype, jx_ints shape) { return jx_array_new(dtype, shape, NULL); }
jx_array *jx_array_ones(jx_dtype dtype, jx_ints shape) { return jx_array_full(dtype, shape, 1.0); }
jx_array *jx_array_scalar(jx_dtype dtype, double value) { return jx_array_full(dtype, JX_NOINTS, value); }

jx_array *jx_array_arange(jx_dtype dtype, double start, double stop, double step) {
    if (step == 0 || isnan(start) || isnan(stop) || isnan(step)) {
        jx__fail(JX_ERR_ARG, jx__noloc, "jx_array_arange", "step must be non-zero and values finite");
        return NULL;
    }
    double cnt = ceil((stop - start) / step);
    int64_t n = cnt > 0 ? (int64_t)cnt : 0;
    jx_array *x = jx_array_new(dtype, JX_INTS(n), NULL);
    if (!x) return NULL;
    for (int64_t i = 0; i < n; i++) store(x, i, start + (double)i * step);
    return x;
}

jx_array *jx_array_astype(const jx_array *a, jx_dtype dtype) {
    if (!a) {
        jx__fail(JX_ERR_ARG, jx__noloc, "jx_array_astype", "array is NULL");
        return NULL;
    }
    jx_aval av = a->aval;
    av.dtype = dtype;
    jx_array *x = jx__array_host((jx_array *)a) ? jx__array_alloc(&av) : NULL;
    if (!x) return NULL;
    int64_t n = jx_aval_size(&av);
    if (a->aval.dtype == JX_I64 && dtype == JX_I64) {
        memcpy(x->data, a->data, a->nbytes);
        return x;
    }
    for (int64_t i = 0; i < n; i++) store(x, i, jx_array_get(a, i));
    return x;
}

jx_array *jx_array_retain(jx_array *a) {
    if (a) atomic_fetch_add(&a->refs, 1);
    return a;
}

void jx_array_release(jx_array *a) {
    if (!a || atomic_fetch_sub(&a->refs, 1) != 1) return;
    if (a->base) {
        jx_array_release(a->base);
        free(a);
        return;
    }
    if (a->data) jx__host_free(a->data, storage_bytes(a->nbytes));
    array_dev_free(a);
    free(a);
}

static jx_aval bad_aval(void) {
    jx_aval a;
    memset(&a, 0, sizeof a);
    a.rank = -1;
    a.dtype = JX_DTYPE_COUNT;
    return a;
}
jx_aval jx_array_aval(const jx_array *a) { return a ? a->aval : bad_aval(); }
jx_dtype jx_array_dtype(const jx_array *a) { return a ? a->aval.dtype : JX_DTYPE_COUNT; }
int jx_array_rank(const jx_array *a) { return a ? a->aval.rank : -1; }
const int64_t *jx_array_shape(const jx_array *a) { return a ? a->aval.shape : NULL; }
int64_t jx_array_size(const jx_array *a) { return a ? jx_aval_size(&a->aval) : 0; }
size_t jx_array_nbytes(const jx_array *a) { return a ? a->nbytes : 0; }
/* a device array's data is read back here once (logically const: the values do not change) */
const void *jx_array_data(const jx_array *a) { return a ? jx__array_host((jx_array *)a) : NULL; }
/* writing makes the host copy the only one: the device's is dropped */
void *jx_array_data_mut(jx_array *a) {
    void *d = a ? jx__array_host(a) : NULL;
    if (d) array_dev_free(a);
    return d;
}

jx_status jx_array_copy_to(const jx_array *a, void *dst, size_t nbytes) {
    if (!a || (!dst && nbytes))
        return jx__fail(JX_ERR_ARG, jx__noloc, "jx_array_copy_to", "array or destination is NULL");
    if (nbytes != a->nbytes)
        return jx__fail(JX_ERR_ARG, jx__noloc, "jx_array_copy_to", "%s holds %zu bytes, destination has %zu",
                        jx__avs(&a->aval), a->nbytes, nbytes);
    const void *d = nbytes ? jx__array_host((jx_array *)a) : NULL;
    if (nbytes && !d) return jx_errcode();
    if (nbytes) memcpy(dst, d, nbytes);
    return JX_OK;
}
