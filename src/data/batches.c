/* batches.c: the batch iterator of jx/batches.h on the prefetch ring (ring.c): batches
 * are the ring's items, each one part, gathered into new arrays on one background thread
 * (or in jx_batches_next without prefetch). The order comes from jx's PRNG, evaluated on
 * the host with the interpreter once per epoch. */
#define _POSIX_C_SOURCE 200809L
#include <jx/batches.h>
#include <jx/random.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "ring.h"

typedef struct field {
    jx_batch_field f;
    int64_t row_shape[JX_MAX_RANK];
    int rank;         /* of row_shape */
    int64_t row_size; /* elements per source row */
} field;

struct jx_batches {
    field *fields;
    int nfields;
    jx_batches_opts o;
    int64_t nrows, n, nbatch; /* source rows, rows per epoch (all shards), batches */
    int64_t *rows;            /* the rows used, before shuffling */
    uint32_t *order;          /* this epoch's order */
    int started, have_order;
    int nslots;
    jx_array **slots; /* nslots x nfields arrays, handed to the caller by next */
    jx__ring *ring;
};

/* Rows [*first, *first + *n) of the epoch's order that batch b of this shard covers. */
static void shard_rows(const jx_batches *it, int64_t b, int64_t *first, int64_t *n) {
    int64_t r = it->n - b * it->o.batch < it->o.batch ? it->n - b * it->o.batch : it->o.batch;
    int64_t m = r / it->o.shards;
    *first = b * it->o.batch + it->o.shard * m, *n = m;
}

static const char *kind_name(jx_batch_kind k) {
    static const char *const names[] = {"copy", "u8_f32", "u8_unit", "i32", "onehot"};
    return k <= JX_BATCH_ONEHOT ? names[k] : "?";
}

/* The dtype a field's batches have. */
static jx_dtype out_dtype(const field *f) {
    switch (f->f.kind) {
    case JX_BATCH_COPY: return jx_array_dtype(f->f.data);
    case JX_BATCH_I32: return JX_I32;
    default: return JX_F32;
    }
}

/* An integer element i of a as int64. */
static int64_t int_at(const jx_array *a, int64_t i) {
    const void *d = jx_array_data(a);
    switch (jx_array_dtype(a)) {
    case JX_U8: return ((const uint8_t *)d)[i];
    case JX_I32: return ((const int32_t *)d)[i];
    case JX_U32: return ((const uint32_t *)d)[i];
    default: return ((const int64_t *)d)[i];
    }
}

/* Gathers rows order[first..first+n) of field k into a new array at *out. */
static jx_status gather(const jx_batches *it, int k, int64_t first, int64_t n, jx_array **out) {
    const field *f = &it->fields[k];
    int64_t shape[JX_MAX_RANK + 1] = {n};
    memcpy(shape + 1, f->row_shape, (size_t)f->rank * sizeof *shape);
    jx_array *a = jx_array_zeros(out_dtype(f), (jx_ints){shape, f->rank + 1});
    if (!a) return jx_errcode();
    const uint8_t *src = jx_array_data(f->f.data);
    int64_t rs = f->row_size;
    for (int64_t i = 0; i < n; i++) {
        int64_t row = it->order[first + i];
        switch (f->f.kind) {
        case JX_BATCH_COPY: {
            size_t es = jx_dtype_size(jx_array_dtype(f->f.data));
            memcpy((uint8_t *)jx_array_data_mut(a) + (size_t)(i * rs) * es, src + (size_t)(row * rs) * es, (size_t)rs * es);
            break;
        }
        case JX_BATCH_U8_F32:
        case JX_BATCH_U8_UNIT: {
            float *d = (float *)jx_array_data_mut(a) + i * rs, div = f->f.kind == JX_BATCH_U8_UNIT ? 255.0f : 1.0f;
            for (int64_t p = 0; p < rs; p++) d[p] = (float)src[row * rs + p] / div;
            break;
        }
        case JX_BATCH_I32:
        case JX_BATCH_ONEHOT:
            for (int64_t p = 0; p < rs; p++) {
                int64_t v = int_at(f->f.data, row * rs + p);
                if (f->f.kind == JX_BATCH_I32 && v == (int32_t)v) {
                    ((int32_t *)jx_array_data_mut(a))[i * rs + p] = (int32_t)v;
                } else if (f->f.kind == JX_BATCH_ONEHOT && v >= 0 && v < f->f.classes) {
                    ((float *)jx_array_data_mut(a))[i * f->f.classes + v] = 1.0f;
                } else {
                    jx_array_release(a);
                    if (f->f.kind == JX_BATCH_I32)
                        return jx__data_fail(JX_ERR_ARG, "batches_next: field %d: row %lld holds %lld, outside i32", k,
                                             (long long)row, (long long)v);
                    return jx__data_fail(JX_ERR_ARG, "batches_next: field %d: row %lld holds class %lld, outside 0..%d",
                                         k, (long long)row, (long long)v, f->f.classes - 1);
                }
            }
            break;
        }
    }
    *out = a;
    return JX_OK;
}

static int one_part(void *ctx, size_t b, int slot) {
    (void)ctx, (void)b, (void)slot;
    return 1;
}

/* The ring's part: batch b's arrays into slot s (none of them on failure). */
static jx_status fill(void *ctx, size_t b, int part, int s) {
    (void)part;
    jx_batches *it = ctx;
    jx_array **out = it->slots + (size_t)s * (size_t)it->nfields;
    int64_t first, n;
    shard_rows(it, (int64_t)b, &first, &n);
    for (int k = 0; k < it->nfields; k++) {
        jx_status st = gather(it, k, first, n, &out[k]);
        if (st != JX_OK) {
            for (int j = 0; j < k; j++) jx_array_release(out[j]), out[j] = NULL;
            return st;
        }
    }
    return JX_OK;
}

/* Checks field k and fills in its row shape. */
static jx_status check_field(field *f, int k, int64_t nrows) {
    const jx_array *a = f->f.data;
    if (!a) return jx__data_fail(JX_ERR_ARG, "batches_new: field %d: no data", k);
    char s[96];
    jx_aval av = jx_array_aval(a);
    jx_aval_str(&av, s, sizeof s);
    if (av.rank < 1 || av.shape[0] != nrows)
        return jx__data_fail(JX_ERR_SHAPE, "batches_new: field %d: %s does not have %lld rows", k, s, (long long)nrows);
    f->row_size = 1;
    for (int i = 1; i < av.rank; i++) f->row_size *= av.shape[i];
    jx_dtype t = av.dtype;
    int ok = f->f.kind == JX_BATCH_COPY ||
             ((f->f.kind == JX_BATCH_U8_F32 || f->f.kind == JX_BATCH_U8_UNIT) && t == JX_U8) ||
             ((f->f.kind == JX_BATCH_I32 || f->f.kind == JX_BATCH_ONEHOT) && jx_dtype_is_int(t));
    if (f->f.kind > JX_BATCH_ONEHOT || !ok)
        return jx__data_fail(JX_ERR_DTYPE, "batches_new: field %d: kind %s does not take %s", k, kind_name(f->f.kind), s);
    if (f->f.kind == JX_BATCH_ONEHOT && (f->f.classes < 1 || f->row_size != 1))
        return jx__data_fail(JX_ERR_ARG, "batches_new: field %d: onehot wants one class per row and classes >= 1, "
                                         "not %s with classes %d", k, s, f->f.classes);
    int64_t want = f->f.kind == JX_BATCH_ONEHOT ? f->f.classes : f->row_size, size = 1;
    if (f->f.row_shape.n == 0) {
        f->rank = f->f.kind == JX_BATCH_ONEHOT ? 1 : av.rank - 1;
        if (f->f.kind == JX_BATCH_ONEHOT) f->row_shape[0] = f->f.classes;
        else memcpy(f->row_shape, av.shape + 1, (size_t)f->rank * sizeof *f->row_shape);
    } else {
        if (f->f.row_shape.n < 0 || f->f.row_shape.n >= JX_MAX_RANK || !f->f.row_shape.v)
            return jx__data_fail(JX_ERR_SHAPE, "batches_new: field %d: a row_shape of rank %d", k, f->f.row_shape.n);
        f->rank = f->f.row_shape.n;
        for (int i = 0; i < f->rank; i++) size *= f->row_shape[i] = f->f.row_shape.v[i];
        if (size != want)
            return jx__data_fail(JX_ERR_SHAPE, "batches_new: field %d: a row_shape of %lld elements for rows of %lld (%s)",
                                 k, (long long)size, (long long)want, s);
    }
    f->f.row_shape = JX_NOINTS; /* the caller's list is not kept */
    return JX_OK;
}

static jx_status check_opts(const jx_batches_opts *o, int nfields, int64_t nrows) {
    long long n = (long long)nrows;
    if (nfields < 1) return jx__data_fail(JX_ERR_ARG, "batches_new: %d fields; at least one is needed", nfields);
    if (nrows < 1 || nrows > UINT32_MAX)
        return jx__data_fail(JX_ERR_ARG, "batches_new: nrows %lld is not in 1..2^32-1", n);
    if (o->batch < 1) return jx__data_fail(JX_ERR_ARG, "batches_new: opts.batch %lld is not >= 1", (long long)o->batch);
    if (o->prefetch < 0 || o->prefetch > 64)
        return jx__data_fail(JX_ERR_ARG, "batches_new: opts.prefetch %d is not in 0..64", o->prefetch);
    int shards = o->shards ? o->shards : 1;
    if (shards < 0 || o->shard < 0 || o->shard >= shards)
        return jx__data_fail(JX_ERR_ARG, "batches_new: opts.shard %d is not in 0..opts.shards-1 (opts.shards %d)",
                             o->shard, o->shards);
    if (o->nsubset < 0 || (!o->subset && o->nsubset > nrows))
        return jx__data_fail(JX_ERR_ARG, "batches_new: opts.nsubset %lld is not in 0..nrows (%lld)",
                             (long long)o->nsubset, n);
    for (int64_t i = 0; o->subset && i < o->nsubset; i++)
        if (o->subset[i] < 0 || o->subset[i] >= nrows)
            return jx__data_fail(JX_ERR_ARG, "batches_new: opts.subset[%lld] = %lld is not in 0..%lld", (long long)i,
                                 (long long)o->subset[i], n - 1);
    return JX_OK;
}

jx_status jx_batches_new(const jx_batch_field *fields, int nfields, int64_t nrows, const jx_batches_opts *opts,
                         jx_batches **out) {
    *out = NULL;
    jx_status st = check_opts(opts, nfields, nrows);
    if (st != JX_OK) return st;
    jx_batches *it = calloc(1, sizeof *it);
    if (!it) return jx__data_nomem("batches_new");
    it->o = *opts, it->nfields = nfields, it->nrows = nrows;
    if (!it->o.shards) it->o.shards = 1;
    it->n = it->o.nsubset ? it->o.nsubset : nrows;
    it->o.subset = NULL;
    it->nbatch = (it->n + it->o.batch - 1) / it->o.batch;
    int64_t f0, m;
    shard_rows(it, it->nbatch - 1, &f0, &m);
    if (m == 0) it->nbatch--; /* the last batch has fewer rows than shards */
    it->nslots = it->o.prefetch + 1;
    it->fields = calloc((size_t)nfields, sizeof *it->fields);
    it->rows = malloc((size_t)it->n * sizeof *it->rows);
    it->order = malloc((size_t)it->n * sizeof *it->order);
    it->slots = calloc((size_t)it->nslots * (size_t)nfields, sizeof *it->slots);
    if (!it->fields || !it->rows || !it->order || !it->slots) return jx_batches_free(it), jx__data_nomem("batches_new");
    for (int64_t i = 0; i < it->n; i++) it->rows[i] = opts->subset ? opts->subset[i] : i;
    for (int k = 0; k < nfields; k++) {
        it->fields[k].f = fields[k];
        if ((st = check_field(&it->fields[k], k, nrows)) != JX_OK) return jx_batches_free(it), st;
    }
    it->ring = jx__ring_new("batches_next", it->nslots, it->o.prefetch ? 1 : 0, (jx__ring_ops){one_part, fill}, it);
    if (!it->ring) return jx_batches_free(it), jx_errcode();
    *out = it;
    return JX_OK;
}

int64_t jx_batches_count(const jx_batches *it) { return it->nbatch; }

int64_t jx_batches_samples(const jx_batches *it) {
    int64_t total = 0, first, n;
    for (int64_t b = 0; b < it->nbatch; b++) shard_rows(it, b, &first, &n), total += n;
    return total;
}

typedef struct perm_args {
    uint32_t epoch;
    int64_t n;
} perm_args;

static void perm_body(jx_val *out, const jx_val *in, void *user) {
    const perm_args *a = user;
    out[0] = jx_random_permutation(jx_random_fold_in(in[0], jx_scalar(JX_U32, a->epoch)), a->n);
}

/* The permutation of epoch `epoch` into perm (n entries). */
static jx_status permutation(const jx_batches *it, uint32_t epoch, int32_t *perm) {
    uint32_t k[2] = {(uint32_t)(it->o.seed >> 32), (uint32_t)it->o.seed};
    perm_args a = {epoch, it->n};
    jx_aval av = JX_AVAL(JX_U32, 2);
    jx_fn *f = jx_trace("batches_epoch", perm_body, &a, 1, &av, 1);
    jx_array *key = jx_array_new(JX_U32, JX_INTS(2), k), *p = NULL;
    jx_status st = f && key ? jx_eval(f, 1, &key, 1, &p) : jx_errcode();
    if (st == JX_OK) memcpy(perm, jx_array_data(p), (size_t)it->n * sizeof *perm);
    jx_array_release(p), jx_array_release(key), jx_fn_release(f);
    return st;
}

/* Releases the arrays no caller took. Only while the ring is paused. */
static void drop_slots(jx_batches *it) {
    for (size_t i = 0; i < (size_t)it->nslots * (size_t)it->nfields; i++) jx_array_release(it->slots[i]), it->slots[i] = NULL;
}

jx_status jx_batches_epoch(jx_batches *it, uint32_t epoch, int64_t first_batch) {
    if (first_batch < 0 || first_batch > it->nbatch)
        return jx__data_fail(JX_ERR_ARG, "batches_epoch: first_batch %lld is not in 0..%lld (the epoch's batches)",
                             (long long)first_batch, (long long)it->nbatch);
    jx__ring_pause(it->ring); /* no worker reads the order while it changes */
    drop_slots(it);
    it->started = 0;
    if (it->o.shuffle) {
        int32_t *perm = malloc((size_t)it->n * sizeof *perm);
        jx_status st = perm ? permutation(it, epoch, perm) : jx__data_nomem("batches_epoch");
        for (int64_t i = 0; st == JX_OK && i < it->n; i++) it->order[i] = (uint32_t)it->rows[perm[i]];
        free(perm);
        if (st != JX_OK) return st;
    } else {
        for (int64_t i = 0; i < it->n; i++) it->order[i] = (uint32_t)it->rows[i];
    }
    it->started = it->have_order = 1;
    jx__ring_start(it->ring, (size_t)first_batch, (size_t)(it->nbatch - first_batch));
    return JX_OK;
}

jx_status jx_batches_next(jx_batches *it, jx_array **out) {
    for (int k = 0; k < it->nfields; k++) out[k] = NULL;
    if (!it->started) return jx__data_fail(JX_ERR_ARG, "batches_next: call jx_batches_epoch first");
    size_t b;
    int s, r = jx__ring_next(it->ring, &b, &s);
    if (r <= 0) return r ? jx_errcode() : JX_OK;
    jx_array **got = it->slots + (size_t)s * (size_t)it->nfields;
    for (int k = 0; k < it->nfields; k++) out[k] = got[k], got[k] = NULL;
    return JX_OK;
}

const uint32_t *jx_batches_order(const jx_batches *it, int64_t *n) {
    *n = it->have_order ? it->n : 0;
    return it->have_order ? it->order : NULL;
}

void jx_batches_free(jx_batches *it) {
    if (!it) return;
    jx__ring_free(it->ring);
    if (it->slots) drop_slots(it);
    free(it->fields), free(it->rows), free(it->order), free(it->slots), free(it);
}
