/* test_checkpoint.c: safetensors checkpoints: round trip with metadata, a resumed
 * training run equal bit for bit to an uninterrupted one, and the errors for truncated,
 * corrupt and mismatched files (naming file and tensor) with nothing overwritten. */
#define _POSIX_C_SOURCE 200809L /* mkdtemp */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "jx/checkpoint.h"
#include "jx/nn.h"

static char dir[64];

static const char *file(const char *name) {
    static char buf[4][160];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static jx_tree *params(double scale) {
    jx_tree *p = jx_tree_dict();
    double w[6], b[3] = {scale, -scale, 0.5};
    for (int i = 0; i < 6; i++) w[i] = scale * (i - 2.5);
    jx_tree_set_array(p, "dense.w", jt_array(JX_F32, JX_INTS(2, 3), w));
    jx_tree_set_array(p, "dense.b", jt_array(JX_F32, JX_INTS(3), b));
    jx_tree *l = jx_tree_list();
    jx_tree_append(l, jx_tree_array(jx_array_full(JX_F64, JX_INTS(2), scale)));
    jx_tree_set(p, "extra", l);
    jx_tree_set_array(p, "steps", jx_array_scalar(JX_I64, 12345678901LL));
    jx_tree_set_array(p, "mask", jx_array_ones(JX_BOOL, JX_INTS(4)));
    return p;
}

/* Equal structure and equal bytes in every leaf. */
static int same_bits(const jx_tree *a, const jx_tree *b) {
    if (jx_tree_check_same(a, "a", b, "b", 1) != JX_OK) return 0;
    int n = jx_tree_num_leaves(a);
    for (int i = 0; i < n; i++) {
        jx_array *x = jx_tree_leaf_array(jx_tree_leaf(a, i)), *y = jx_tree_leaf_array(jx_tree_leaf(b, i));
        if (!x || !y || memcmp(jx_array_data(x), jx_array_data(y), jx_array_nbytes(x)) != 0) return 0;
    }
    return 1;
}

static void test_roundtrip(void) {
    jx_tree *p = params(1.5), *o = jx_tree_dict();
    jx_tree_set_array(o, "count", jx_array_scalar(JX_I32, 7));
    const char *names[2] = {"params", "opt"};
    const jx_tree *trees[2] = {p, o};
    jx_ckpt_meta m = {42, 3, {0, 42}}, got;
    CU_ASSERT_FATAL(jx_checkpoint_save(file("a.safetensors"), 2, names, trees, &m) == JX_OK);
    jx_tree *out[2];
    CU_ASSERT_FATAL(jx_checkpoint_load(file("a.safetensors"), 2, names, trees, out, &got) == JX_OK);
    CU_ASSERT(same_bits(p, out[0]));
    CU_ASSERT(same_bits(o, out[1]));
    jx_tree_free(out[1]);
    CU_ASSERT_EQUAL(got.step, 42);
    CU_ASSERT_EQUAL(got.epoch, 3);
    CU_ASSERT_EQUAL(got.key[1], 42);
    /* read everything back as one tree, nested by the names */
    jx_tree *all = jx_checkpoint_read(file("a.safetensors"), NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(all);
    CU_ASSERT_EQUAL(jx_tree_num_leaves(all), 6);
    CU_ASSERT_EQUAL(jx_array_get(jx_tree_get_array(all, "params.steps"), 0), 12345678901.0);
    CU_ASSERT_EQUAL(jx_array_get(jx_tree_get_array(all, "params.extra.0"), 1), 1.5);
    /* only a part of a checkpoint: extra tensors are ignored */
    const char *one[1] = {"opt"};
    const jx_tree *ot[1] = {o};
    CU_ASSERT(jx_checkpoint_load(file("a.safetensors"), 1, one, ot, out + 1, NULL) == JX_OK);
    jx_tree_free(out[1]);
    jx_tree_free(all), jx_tree_free(out[0]);
    /* a file written by Python's safetensors (the fuzz corpus' seed) */
    jx_ckpt_meta pm;
    all = jx_checkpoint_read("fuzz/corpus/fuzz_safetensors/small.safetensors", &pm);
    CU_ASSERT_PTR_NOT_NULL_FATAL(all);
    CU_ASSERT_EQUAL(jx_array_get(jx_tree_get_array(all, "params.w"), 5), 5.0);
    CU_ASSERT_EQUAL(jx_array_get(jx_tree_get_array(all, "count"), 0), 3.0);
    CU_ASSERT_EQUAL(pm.step, 3);
    CU_ASSERT_EQUAL(pm.key[1], 42);
    jx_tree_free(all);
    jx_tree_free(p), jx_tree_free(o);
}

static long fsize(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void write_prefix(const char *from, const char *to, long n, long flip) {
    FILE *f = fopen(from, "rb"), *g = fopen(to, "wb");
    for (long i = 0; i < n; i++) {
        int c = fgetc(f);
        if (i == flip) c ^= 0x5a;
        fputc(c, g);
    }
    fclose(f), fclose(g);
}

static void test_errors(void) {
    jx_tree *p = params(1.0);
    const char *names[1] = {"params"};
    const jx_tree *trees[1] = {p};
    char good[160];
    snprintf(good, sizeof good, "%s", file("good.safetensors"));
    CU_ASSERT_FATAL(jx_checkpoint_save(good, 1, names, trees, NULL) == JX_OK);
    long n = fsize(good);
    jx_tree *out[1] = {NULL};
    /* truncated in the data and in the header */
    write_prefix(good, file("t1.safetensors"), n - 3, -1);
    CU_ASSERT(jx_checkpoint_load(file("t1.safetensors"), 1, names, trees, out, NULL) == JX_ERR_IO);
    JT_ASSERT_ERR("t1.safetensors: truncated: tensor 'params.mask' ends past the end of the file");
    CU_ASSERT_PTR_NULL(out[0]);
    write_prefix(good, file("t2.safetensors"), 20, -1);
    CU_ASSERT(jx_checkpoint_load(file("t2.safetensors"), 1, names, trees, out, NULL) == JX_ERR_IO);
    JT_ASSERT_ERR("t2.safetensors: truncated: a header of");
    write_prefix(good, file("t3.safetensors"), 5, -1);
    CU_ASSERT(jx_checkpoint_load(file("t3.safetensors"), 1, names, trees, out, NULL) == JX_ERR_IO);
    JT_ASSERT_ERR("shorter than the 8-byte header length");
    /* corrupt: a byte of the JSON changed, the length made huge */
    write_prefix(good, file("c1.safetensors"), n, 8);
    CU_ASSERT(jx_checkpoint_load(file("c1.safetensors"), 1, names, trees, out, NULL) == JX_ERR_IO);
    JT_ASSERT_ERR("c1.safetensors: corrupt header: the header is not a JSON object");
    write_prefix(good, file("c2.safetensors"), n, 6);
    CU_ASSERT(jx_checkpoint_load(file("c2.safetensors"), 1, names, trees, out, NULL) == JX_ERR_IO);
    JT_ASSERT_ERR("c2.safetensors: corrupt: a header of");
    /* mismatches: wrong shape, wrong dtype, missing tensor */
    jx_tree *q = params(1.0);
    jx_tree_set_array(q, "dense.w", jx_array_zeros(JX_F32, JX_INTS(3, 3)));
    const jx_tree *qt[1] = {q};
    CU_ASSERT(jx_checkpoint_load(good, 1, names, qt, out, NULL) == JX_ERR_SHAPE);
    JT_ASSERT_ERR("good.safetensors: tensor 'params.dense.w': f32[2,3] in the file, f32[3,3] expected");
    jx_tree_set_array(q, "dense.w", jx_array_zeros(JX_F64, JX_INTS(2, 3)));
    CU_ASSERT(jx_checkpoint_load(good, 1, names, qt, out, NULL) == JX_ERR_SHAPE);
    JT_ASSERT_ERR("tensor 'params.dense.w': f32[2,3] in the file, f64[2,3] expected");
    jx_tree_set_array(q, "dense.v", jx_array_zeros(JX_F32, JX_INTS(1)));
    jx_tree_set_array(q, "dense.w", jx_array_zeros(JX_F32, JX_INTS(2, 3)));
    CU_ASSERT(jx_checkpoint_load(good, 1, names, qt, out, NULL) == JX_ERR_ARG);
    JT_ASSERT_ERR("good.safetensors: tensor 'params.dense.v' is missing");
    CU_ASSERT(jx_checkpoint_load(file("none.safetensors"), 1, names, qt, out, NULL) == JX_ERR_IO);
    JT_ASSERT_ERR("none.safetensors: cannot open: No such file or directory");
    /* a failing save leaves the old file as it was */
    jx_tree *bad = jx_tree_dict();
    jx_tree_set_array(bad, "x", jx_array_zeros(JX_F32, JX_INTS(1)));
    jx_tree_set(bad, "y", jx_tree_aval(JX_AVAL(JX_F32, 2)));
    const jx_tree *bt[1] = {bad};
    CU_ASSERT(jx_checkpoint_save(good, 1, names, bt, NULL) == JX_ERR_ARG);
    JT_ASSERT_ERR("tensor 'params.y' is not a host array");
    CU_ASSERT_EQUAL(fsize(good), n);
    CU_ASSERT(jx_checkpoint_load(good, 1, names, trees, out, NULL) == JX_OK);
    jx_tree_free(out[0]);
    CU_ASSERT(jx_checkpoint_save("/nonexistent-dir/x.safetensors", 1, names, trees, NULL) == JX_ERR_IO);
    JT_ASSERT_ERR("/nonexistent-dir/x.safetensors: cannot create a temporary file beside it");
    jx_tree_free(bad), jx_tree_free(q), jx_tree_free(p);
}

/* ------------------------------------------------------------------ resume bit for bit */

/* loss = sum((p.w * x - 1)^2) with x drawn from the key folded with the step; dropout-
 * like use of the PRNG inside the step, so the key matters. */
static void loss_fn(jx_tree **out, jx_tree *const *in, void *user) {
    (void)user;
    jx_val w = jx_tree_get_val(in[0], "w"), key = jx_tree_get_val(in[1], "key");
    jx_val x = jx_random_normal(key, JX_F32, JX_INTS(4));
    jx_val r = jx_sub(jx_mul(w, x), jx_scalar(JX_F32, 1));
    out[0] = jx_tree_val(jx_sum(jx_mul(r, r), JX_NOINTS));
}

static void step_fn(jx_tree **out, jx_tree *const *in, void *user) {
    const jx_optim *o = user;
    jx_tree *l[1], *g;
    jx_tree *args[2] = {in[0], in[2]};
    if (jx_tree_value_and_grad(loss_fn, NULL, 2, args, 0, 1, l, &g) != JX_OK) return;
    jx_optim_update(o, g, in[1], in[0], &out[0], &out[1]);
    jx_tree_free(g), jx_tree_free(l[0]);
}

static jx_tree *batch_for(const jx_array *key, int step) {
    jx_tree *b = jx_tree_dict();
    jx_tree_set_array(b, "key", jx_random_fold_in_new(key, (uint32_t)step));
    return b;
}

/* Runs steps [from, to) of training, updating *p and *s. */
static void run(jx_tree_fn *f, jx_exec *x, const jx_array *key, int from, int to, jx_tree **p, jx_tree **s) {
    for (int i = from; i < to; i++) {
        jx_tree *b = batch_for(key, i);
        jx_tree *in[3] = {*p, *s, b}, *out[2];
        CU_ASSERT_FATAL(jx_tree_fn_run(f, x, 3, in, 2, out) == JX_OK);
        jx_tree_free(*p), jx_tree_free(*s), jx_tree_free(b);
        *p = out[0], *s = out[1];
    }
}

static void test_resume(void) {
    jx_optim o = jx_optim_adam(jx_schedule_warmup_cosine_decay(0, 0.1, 2, 8, 0.01), 0.9, 0.999, 1e-8);
    jx_array *key = jx_random_key_new(7);
    jx_tree *p = jx_tree_dict();
    jx_tree_set_array(p, "w", jx_init_new(&jx_init_lecun_normal, key, JX_F32, JX_INTS(1, 4)));
    jx_tree *s = jx_optim_init(&o, p), *b = batch_for(key, 0);
    jx_tree *in[3] = {p, s, b};
    jx_tree_fn *f = jx_tree_trace("step", step_fn, &o, 3, in, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_exec *x = jx_jit(jx_tree_fn_fn(f), JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_tree *p1 = jx_tree_copy(p), *s1 = jx_tree_copy(s), *p2 = jx_tree_copy(p), *s2 = jx_tree_copy(s);
    run(f, x, key, 0, 8, &p1, &s1); /* uninterrupted */
    run(f, x, key, 0, 3, &p2, &s2); /* interrupted after 3 steps, saved, restored */
    const char *names[2] = {"params", "opt"};
    const jx_tree *t[2] = {p2, s2};
    const uint32_t *kd = jx_array_data(key);
    jx_ckpt_meta m = {3, 0, {kd[0], kd[1]}}, got;
    CU_ASSERT_FATAL(jx_checkpoint_save(file("run.safetensors"), 2, names, t, &m) == JX_OK);
    jx_tree_free(p2), jx_tree_free(s2);
    const jx_tree *like[2] = {p, s};
    jx_tree *r[2];
    CU_ASSERT_FATAL(jx_checkpoint_load(file("run.safetensors"), 2, names, like, r, &got) == JX_OK);
    uint32_t k2[2] = {got.key[0], got.key[1]};
    jx_array *key2 = jx_array_new(JX_U32, JX_INTS(2), k2);
    run(f, x, key2, (int)got.step, 8, &r[0], &r[1]);
    CU_ASSERT(same_bits(p1, r[0]));
    CU_ASSERT(same_bits(s1, r[1]));
    CU_ASSERT(!same_bits(p, r[0])); /* it did train */
    jx_tree_free(r[0]), jx_tree_free(r[1]), jx_tree_free(p1), jx_tree_free(s1);
    jx_array_release(key), jx_array_release(key2);
    jx_exec_release(x), jx_tree_fn_free(f);
    jx_tree_free(p), jx_tree_free(s), jx_tree_free(b);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/jx_ckpt_XXXXXX");
    if (!mkdtemp(dir)) return 1;
    CU_TestInfo tests[] = {{"round trip", test_roundtrip},
                           {"truncated, corrupt, mismatched", test_errors},
                           {"resume bit for bit", test_resume},
                           CU_TEST_INFO_NULL};
    int rc = jt_run("nn/checkpoint", tests);
    const char *files[] = {"a", "good", "t1", "t2", "t3", "c1", "c2", "run"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char f[160];
        snprintf(f, sizeof f, "%s/%s.safetensors", dir, files[i]);
        unlink(f);
    }
    rmdir(dir);
    return rc;
}
