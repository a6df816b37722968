/* test_batches.c: the batch iterator (jx/batches.h): the epoch order bit for bit against
 * jax.random.permutation (vectors made with JAX 0.10.2, default config:
 *   jax.random.permutation(jax.random.fold_in(jax.random.PRNGKey(7), e), 10)),
 * reshuffling per epoch, a resumed epoch handing out the same batches, subsets, shards,
 * each field kind's values, the same bytes with and without prefetch, and bad input. */
#define _POSIX_C_SOURCE 200809L
#include <jx/batches.h>
#include <stdio.h>
#include <string.h>

#include "harness.h"

enum { N = 10 };

/* images u8 (10,2,2): row r holds 4r..4r+3; labels u8 (10): r % 3; feats f32 (10,3): r + c/10 */
static jx_array *images, *labels, *feats;

static void make_data(void) {
    uint8_t im[N * 4], lab[N];
    float ft[N * 3];
    for (int r = 0; r < N; r++) {
        for (int p = 0; p < 4; p++) im[r * 4 + p] = (uint8_t)(4 * r + p);
        lab[r] = (uint8_t)(r % 3);
        for (int c = 0; c < 3; c++) ft[r * 3 + c] = (float)r + (float)c / 10;
    }
    images = jx_array_new(JX_U8, JX_INTS(N, 2, 2), im);
    labels = jx_array_new(JX_U8, JX_INTS(N), lab);
    feats = jx_array_new(JX_F32, JX_INTS(N, 3), ft);
}

static jx_batches *labels_only(int64_t batch, int shuffle, int prefetch) {
    jx_batch_field f = {labels, JX_BATCH_I32, JX_NOINTS, 0};
    jx_batches_opts o = {.batch = batch, .shuffle = shuffle, .seed = 7, .prefetch = prefetch};
    jx_batches *it = NULL;
    CU_ASSERT_EQUAL(jx_batches_new(&f, 1, N, &o, &it), JX_OK);
    return it;
}

static int same_order(const jx_batches *it, const uint32_t *want) {
    int64_t n;
    const uint32_t *o = jx_batches_order(it, &n);
    return o && n == N && memcmp(o, want, sizeof(uint32_t) * N) == 0;
}

static void test_order_jax(void) {
    static const uint32_t e1[N] = {6, 8, 0, 4, 1, 2, 9, 5, 7, 3}, e2[N] = {8, 4, 3, 2, 1, 5, 7, 6, 9, 0};
    jx_batches *it = labels_only(4, 1, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(it);
    int64_t n;
    CU_ASSERT_PTR_NULL(jx_batches_order(it, &n)); /* before the first epoch */
    CU_ASSERT_EQUAL(jx_batches_epoch(it, 1, 0), JX_OK);
    CU_ASSERT(same_order(it, e1));
    CU_ASSERT_EQUAL(jx_batches_epoch(it, 2, 0), JX_OK); /* a new order each epoch */
    CU_ASSERT(same_order(it, e2));
    CU_ASSERT_EQUAL(jx_batches_epoch(it, 1, 0), JX_OK); /* and the same again for the same epoch */
    CU_ASSERT(same_order(it, e1));
    /* batches follow the order: labels of rows 6,8,0,4 then 1,2,9,5 then 7,3 */
    jx_array *b;
    int64_t sizes[3] = {4, 4, 2}, pos = 0;
    for (int k = 0; k < 3; k++) {
        CU_ASSERT_EQUAL_FATAL(jx_batches_next(it, &b), JX_OK);
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_EQUAL(jx_array_shape(b)[0], sizes[k]);
        for (int64_t i = 0; i < sizes[k]; i++) CU_ASSERT_EQUAL(((const int32_t *)jx_array_data(b))[i], e1[pos++] % 3);
        jx_array_release(b);
    }
    CU_ASSERT_EQUAL(jx_batches_next(it, &b), JX_OK);
    CU_ASSERT_PTR_NULL(b); /* the end of the epoch */
    CU_ASSERT_EQUAL(jx_batches_count(it), 3);
    CU_ASSERT_EQUAL(jx_batches_samples(it), N);
    jx_batches_free(it);
    /* without shuffle: 0..n-1 */
    it = labels_only(4, 0, 0);
    static const uint32_t id[N] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    CU_ASSERT_EQUAL(jx_batches_epoch(it, 5, 0), JX_OK);
    CU_ASSERT(same_order(it, id));
    jx_batches_free(it);
}

static void test_kinds(void) {
    jx_batch_field f[5] = {
        {images, JX_BATCH_U8_F32, JX_NOINTS, 0},
        {images, JX_BATCH_U8_UNIT, JX_INTS(4, 1), 0},
        {labels, JX_BATCH_I32, JX_NOINTS, 0},
        {labels, JX_BATCH_ONEHOT, JX_NOINTS, 3},
        {feats, JX_BATCH_COPY, JX_NOINTS, 0},
    };
    jx_batches_opts o = {.batch = 3, .prefetch = 1};
    jx_batches *it;
    CU_ASSERT_EQUAL_FATAL(jx_batches_new(f, 5, N, &o, &it), JX_OK);
    CU_ASSERT_EQUAL(jx_batches_epoch(it, 0, 1), JX_OK); /* rows 3, 4, 5 */
    jx_array *b[5];
    CU_ASSERT_EQUAL_FATAL(jx_batches_next(it, b), JX_OK);
    int64_t want_shape[5][3] = {{3, 2, 2}, {3, 4, 1}, {3}, {3, 3}, {3, 3}};
    int want_rank[5] = {3, 3, 1, 2, 2};
    jx_dtype want_dtype[5] = {JX_F32, JX_F32, JX_I32, JX_F32, JX_F32};
    for (int k = 0; k < 5; k++) {
        CU_ASSERT_PTR_NOT_NULL_FATAL(b[k]);
        CU_ASSERT_EQUAL(jx_array_dtype(b[k]), want_dtype[k]);
        CU_ASSERT_EQUAL_FATAL(jx_array_rank(b[k]), want_rank[k]);
        CU_ASSERT(memcmp(jx_array_shape(b[k]), want_shape[k], sizeof(int64_t) * (size_t)want_rank[k]) == 0);
    }
    for (int i = 0; i < 3; i++) {
        int r = 3 + i;
        for (int p = 0; p < 4; p++) {
            CU_ASSERT_EQUAL(jx_array_get(b[0], i * 4 + p), 4 * r + p);
            CU_ASSERT_EQUAL(((const float *)jx_array_data(b[1]))[i * 4 + p], (float)(4 * r + p) / 255.0f);
        }
        CU_ASSERT_EQUAL(jx_array_get(b[2], i), r % 3);
        for (int c = 0; c < 3; c++) {
            CU_ASSERT_EQUAL(jx_array_get(b[3], i * 3 + c), c == r % 3 ? 1 : 0);
            CU_ASSERT_EQUAL(((const float *)jx_array_data(b[4]))[i * 3 + c], (float)r + (float)c / 10);
        }
    }
    for (int k = 0; k < 5; k++) jx_array_release(b[k]);
    jx_batches_free(it); /* with a prefetched batch left in the ring */
}

/* Every batch of epoch e from first_batch on, labels concatenated into out; the count. */
static int epoch_labels(jx_batches *it, uint32_t e, int64_t first_batch, int32_t *out) {
    int n = 0;
    jx_array *b;
    CU_ASSERT_EQUAL(jx_batches_epoch(it, e, first_batch), JX_OK);
    while (jx_batches_next(it, &b) == JX_OK && b) {
        memcpy(out + n, jx_array_data(b), jx_array_nbytes(b));
        n += (int)jx_array_size(b);
        jx_array_release(b);
    }
    return n;
}

static void test_resume_and_prefetch(void) {
    int32_t full[N], resumed[N], sync[N];
    jx_batches *a = labels_only(3, 1, 3), *b = labels_only(3, 1, 3), *c = labels_only(3, 1, 0);
    CU_ASSERT_FATAL(a && b && c);
    jx_array *x;
    CU_ASSERT_EQUAL(jx_batches_epoch(b, 9, 0), JX_OK); /* an epoch left half-way, its batches dropped */
    CU_ASSERT_EQUAL(jx_batches_next(b, &x), JX_OK);
    jx_array_release(x);
    CU_ASSERT_EQUAL(epoch_labels(a, 3, 0, full), N);
    CU_ASSERT_EQUAL(epoch_labels(b, 3, 2, resumed), N - 6); /* batches 2 and 3 of 4 */
    CU_ASSERT(memcmp(full + 6, resumed, sizeof(int32_t) * (N - 6)) == 0);
    CU_ASSERT_EQUAL(epoch_labels(c, 3, 0, sync), N); /* prefetch or not: the same batches */
    CU_ASSERT(memcmp(full, sync, sizeof full) == 0);
    CU_ASSERT_EQUAL(epoch_labels(c, 3, 4, sync), 0); /* starting at the end: nothing */
    jx_batches_free(a), jx_batches_free(b), jx_batches_free(c);
}

static void test_subset(void) {
    jx_batch_field f = {labels, JX_BATCH_COPY, JX_NOINTS, 0};
    static const int64_t rows[3] = {9, 3, 5};
    jx_batches_opts o = {.batch = 2, .shuffle = 1, .seed = 1, .subset = rows, .nsubset = 3, .prefetch = 1};
    jx_batches *it;
    CU_ASSERT_EQUAL_FATAL(jx_batches_new(&f, 1, N, &o, &it), JX_OK);
    CU_ASSERT_EQUAL(jx_batches_count(it), 2);
    CU_ASSERT_EQUAL(jx_batches_samples(it), 3);
    CU_ASSERT_EQUAL(jx_batches_epoch(it, 1, 0), JX_OK);
    int64_t n;
    const uint32_t *ord = jx_batches_order(it, &n);
    CU_ASSERT_EQUAL_FATAL(n, 3);
    int seen = 0;
    for (int i = 0; i < 3; i++) seen |= (ord[i] == 9) << 0 | (ord[i] == 3) << 1 | (ord[i] == 5) << 2;
    CU_ASSERT_EQUAL(seen, 7); /* a permutation of the subset */
    jx_batches_free(it);
    o = (jx_batches_opts){.batch = 4, .nsubset = 5}; /* a --limit: the first five rows */
    CU_ASSERT_EQUAL_FATAL(jx_batches_new(&f, 1, N, &o, &it), JX_OK);
    int32_t got[N];
    jx_batch_field g = {labels, JX_BATCH_I32, JX_NOINTS, 0};
    jx_batches_free(it);
    CU_ASSERT_EQUAL_FATAL(jx_batches_new(&g, 1, N, &o, &it), JX_OK);
    CU_ASSERT_EQUAL(epoch_labels(it, 1, 0, got), 5);
    for (int i = 0; i < 5; i++) CU_ASSERT_EQUAL(got[i], i % 3);
    jx_batches_free(it);
}

static void test_shards(void) {
    jx_batch_field f = {feats, JX_BATCH_COPY, JX_NOINTS, 0};
    jx_batches *whole, *sh[2];
    jx_batches_opts o = {.batch = 4, .shuffle = 1, .seed = 3, .prefetch = 2};
    CU_ASSERT_EQUAL_FATAL(jx_batches_new(&f, 1, N, &o, &whole), JX_OK);
    for (int s = 0; s < 2; s++) {
        o.shards = 2, o.shard = s;
        CU_ASSERT_EQUAL_FATAL(jx_batches_new(&f, 1, N, &o, &sh[s]), JX_OK);
        CU_ASSERT_EQUAL(jx_batches_count(sh[s]), 3);
        CU_ASSERT_EQUAL(jx_batches_samples(sh[s]), 5); /* 2 + 2 + 1 */
        CU_ASSERT_EQUAL(jx_batches_epoch(sh[s], 2, 0), JX_OK);
    }
    CU_ASSERT_EQUAL(jx_batches_epoch(whole, 2, 0), JX_OK);
    /* each global batch is shard 0's rows then shard 1's */
    jx_array *w, *p[2];
    for (int b = 0; b < 3; b++) {
        CU_ASSERT_EQUAL_FATAL(jx_batches_next(whole, &w), JX_OK);
        CU_ASSERT_EQUAL_FATAL(jx_batches_next(sh[0], &p[0]), JX_OK);
        CU_ASSERT_EQUAL_FATAL(jx_batches_next(sh[1], &p[1]), JX_OK);
        CU_ASSERT_FATAL(w && p[0] && p[1]);
        int64_t m = jx_array_shape(w)[0] / 2;
        CU_ASSERT_EQUAL(jx_array_shape(p[0])[0], m);
        CU_ASSERT_EQUAL(jx_array_shape(p[1])[0], m);
        const char *wd = jx_array_data(w);
        CU_ASSERT(memcmp(wd, jx_array_data(p[0]), (size_t)m * 12) == 0);
        CU_ASSERT(memcmp(wd + m * 12, jx_array_data(p[1]), (size_t)m * 12) == 0);
        jx_array_release(w), jx_array_release(p[0]), jx_array_release(p[1]);
    }
    jx_batches_free(whole), jx_batches_free(sh[0]), jx_batches_free(sh[1]);
    /* 9 rows in batches of 4 over 2 shards: the last batch of 1 row is dropped */
    o = (jx_batches_opts){.batch = 4, .nsubset = 9, .shards = 2, .shard = 1};
    CU_ASSERT_EQUAL_FATAL(jx_batches_new(&f, 1, N, &o, &whole), JX_OK);
    CU_ASSERT_EQUAL(jx_batches_count(whole), 2);
    CU_ASSERT_EQUAL(jx_batches_samples(whole), 4);
    jx_batches_free(whole);
}

/* jx_batches_new must fail with code and message. */
static void new_fails(const jx_batch_field *f, int nf, int64_t nrows, jx_batches_opts o, jx_status code,
                      const char *msg) {
    jx_batches *it = (jx_batches *)&it;
    CU_ASSERT_EQUAL(jx_batches_new(f, nf, nrows, &o, &it), code);
    CU_ASSERT_PTR_NULL(it);
    if (strcmp(jx_errmsg(), msg) != 0) printf("\n  got:  %s\n  want: %s\n", jx_errmsg(), msg);
    CU_ASSERT_STRING_EQUAL(jx_errmsg(), msg);
}

static void test_errors(void) {
    jx_batch_field lab = {labels, JX_BATCH_I32, JX_NOINTS, 0};
    jx_batches_opts o = {.batch = 4};
    new_fails(&lab, 1, 11, o, JX_ERR_SHAPE, "batches_new: field 0: u8[10] does not have 11 rows");
    new_fails(&lab, 0, N, o, JX_ERR_ARG, "batches_new: 0 fields; at least one is needed");
    new_fails(&lab, 1, N, (jx_batches_opts){.batch = 0}, JX_ERR_ARG, "batches_new: opts.batch 0 is not >= 1");
    new_fails(&lab, 1, N, (jx_batches_opts){.batch = 4, .prefetch = 65}, JX_ERR_ARG,
              "batches_new: opts.prefetch 65 is not in 0..64");
    new_fails(&lab, 1, N, (jx_batches_opts){.batch = 4, .shards = 2, .shard = 2}, JX_ERR_ARG,
              "batches_new: opts.shard 2 is not in 0..opts.shards-1 (opts.shards 2)");
    new_fails(&lab, 1, N, (jx_batches_opts){.batch = 4, .nsubset = 11}, JX_ERR_ARG,
              "batches_new: opts.nsubset 11 is not in 0..nrows (10)");
    static const int64_t rows[2] = {1, 10};
    new_fails(&lab, 1, N, (jx_batches_opts){.batch = 4, .subset = rows, .nsubset = 2}, JX_ERR_ARG,
              "batches_new: opts.subset[1] = 10 is not in 0..9");
    jx_batch_field unit = {feats, JX_BATCH_U8_UNIT, JX_NOINTS, 0};
    new_fails(&unit, 1, N, o, JX_ERR_DTYPE, "batches_new: field 0: kind u8_unit does not take f32[10,3]");
    jx_batch_field two[2] = {lab, {images, JX_BATCH_U8_F32, JX_INTS(5), 0}};
    new_fails(two, 2, N, o, JX_ERR_SHAPE,
              "batches_new: field 1: a row_shape of 5 elements for rows of 4 (u8[10,2,2])");
    jx_batch_field hot = {images, JX_BATCH_ONEHOT, JX_NOINTS, 3};
    new_fails(&hot, 1, N, o, JX_ERR_ARG,
              "batches_new: field 0: onehot wants one class per row and classes >= 1, not u8[10,2,2] with classes 3");
    jx_batch_field none = {NULL, JX_BATCH_COPY, JX_NOINTS, 0};
    new_fails(&none, 1, N, o, JX_ERR_ARG, "batches_new: field 0: no data");

    /* errors while iterating: before an epoch, a first_batch out of range, a class out of
     * range (reported at its batch, on the background thread, and the next batch goes on) */
    jx_batch_field f = {labels, JX_BATCH_ONEHOT, JX_NOINTS, 2};
    jx_batches *it;
    o = (jx_batches_opts){.batch = 2, .prefetch = 2};
    CU_ASSERT_EQUAL_FATAL(jx_batches_new(&f, 1, N, &o, &it), JX_OK);
    jx_array *b = (jx_array *)&b;
    CU_ASSERT_EQUAL(jx_batches_next(it, &b), JX_ERR_ARG);
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_STRING_EQUAL(jx_errmsg(), "batches_next: call jx_batches_epoch first");
    CU_ASSERT_EQUAL(jx_batches_epoch(it, 1, 6), JX_ERR_ARG);
    CU_ASSERT_STRING_EQUAL(jx_errmsg(), "batches_epoch: first_batch 6 is not in 0..5 (the epoch's batches)");
    CU_ASSERT_EQUAL(jx_batches_epoch(it, 1, 0), JX_OK);
    CU_ASSERT_EQUAL(jx_batches_next(it, &b), JX_OK); /* rows 0, 1 hold 0 and 1; row 2 holds 2 */
    jx_array_release(b);
    CU_ASSERT_EQUAL(jx_batches_next(it, &b), JX_ERR_ARG);
    CU_ASSERT_STRING_EQUAL(jx_errmsg(), "batches_next: field 0: row 2 holds class 2, outside 0..1");
    CU_ASSERT_PTR_NULL(b);
    CU_ASSERT_EQUAL(jx_batches_next(it, &b), JX_ERR_ARG); /* rows 4 and 5 hold 1 and 2 */
    CU_ASSERT_STRING_EQUAL(jx_errmsg(), "batches_next: field 0: row 5 holds class 2, outside 0..1");
    CU_ASSERT_EQUAL(jx_batches_next(it, &b), JX_OK); /* rows 6 and 7 hold 0 and 1 */
    CU_ASSERT_PTR_NOT_NULL(b);
    jx_array_release(b);
    jx_batches_free(it);
}

int main(void) {
    make_data();
    CU_TestInfo tests[] = {{"order as jax.random.permutation, per epoch", test_order_jax},
                           {"field kinds", test_kinds},
                           {"resume mid-epoch, with and without prefetch", test_resume_and_prefetch},
                           {"subsets", test_subset},
                           {"shards", test_shards},
                           {"bad input", test_errors},
                           CU_TEST_INFO_NULL};
    int rc = jt_run("batches", tests);
    jx_array_release(images), jx_array_release(labels), jx_array_release(feats);
    return rc;
}
