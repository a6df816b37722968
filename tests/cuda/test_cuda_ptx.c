/* test_cuda_ptx.c: the CUDA backend's kernels without a GPU. Representative functions
 * (elementwise chains, broadcasts, transposes, gather, scatter_add and cumulative ops,
 * sort and top_k (lowered), row/column/full reductions, argmax,
 * softmax, every unary math primitive in f32 and f64, f16/bf16 conversions) are traced,
 * fused, and every LOOP group goes into one NVPTX module; its PTX must name every
 * kernel, target sm_80 / PTX 7.5, hold no float atomics (reductions are deterministic),
 * and assemble with the toolkit's ptxas for sm_90 (the H200). A module's PTX goes
 * through the on-disk cache when given a directory. The suite is skipped (77) where
 * ptxas is not installed. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jx/random.h>

#include "../../src/backends/cuda/cuda.h"
#include "../../src/jit/plan.h"
#include "harness.h"

/* Assembles ptx with ptxas for sm_90; true when it succeeds (its messages printed). */
static bool ptxas_ok(const char *ptx) {
    char path[] = "/tmp/jx_cuda_ptx_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return false;
    size_t n = strlen(ptx);
    bool wrote = write(fd, ptx, n) == (ssize_t)n;
    close(fd);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "%s -arch=sm_90 %s -o /dev/null", JX_PTXAS, path);
    int rc = wrote ? system(cmd) : -1;
    unlink(path);
    return rc == 0;
}

/* The most local memory a thread of the next check_body's kernels may have (0: no check). */
static long max_local;
/* Whether check_body prepares the function for this backend first, as the jit does
 * (pooling and sorts lowered), and then asserts that no group is left for the host. */
static bool lower_windows;

/* The largest per-thread local array (__local_depot) the PTX declares, in bytes. */
static long largest_local(const char *ptx) {
    long most = 0;
    for (const char *q = ptx; (q = strstr(q, "__local_depot")); q++) {
        const char *b = strchr(q, '[');
        long n = b && b - q < 24 ? strtol(b + 1, NULL, 10) : 0;
        if (n > most) most = n;
    }
    return most;
}

/* Traces body, compiles every LOOP group into one module, checks the PTX; returns the
 * number of kernels. */
static int check_body(const char *name, jx_body body, void *user, int nin, const jx_aval *av, int nout) {
    jx_fn *f = jx_trace(name, body, user, nin, av, nout);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    if (lower_windows) {
        jx_fn *g = jx__jit_prepare(jx__noloc, f, &jx__cuda_backend);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        jx_fn_release(f);
        f = g;
    }
    jx__fusion *fu = jx__fuse(f, true, &jx__cuda_backend);
    jx__cuda_module *m = jx__cuda_module_new(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fu);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int nk = 0;
    for (int g = 0; g < fu->ngroups; g++) {
        if (lower_windows) CU_ASSERT_EQUAL(fu->groups[g].kind, JX__G_LOOP);
        if (fu->groups[g].kind != JX__G_LOOP) continue;
        jx__kernel *k = jx__cuda_kernel_add(m, f, &fu->groups[g]);
        if (!k) fprintf(stderr, "\n  %s: group %d: %s\n", name, g, jx_errmsg());
        CU_ASSERT_PTR_NOT_NULL(k);
        nk += k != NULL;
    }
    double ms = 0;
    const char *ptx = jx__cuda_module_ptx(m, &ms);
    if (!ptx) fprintf(stderr, "\n  %s: %s\n", name, jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(ptx);
    printf(" [%s: %d kernels, PTX in %.1f ms]", name, nk, ms);
    CU_ASSERT_PTR_NOT_NULL(strstr(ptx, ".target sm_80"));
    CU_ASSERT_PTR_NOT_NULL(strstr(ptx, ".version 7.5"));
    int entries = 0;
    for (const char *p = ptx; (p = strstr(p, ".entry")); p++) entries++;
    CU_ASSERT_EQUAL(entries, nk);
    /* no atomics at all (so no float atom.add / red.add): reductions are deterministic */
    CU_ASSERT_PTR_NULL(strstr(ptx, "atom."));
    CU_ASSERT_PTR_NULL(strstr(ptx, "red."));
    if (max_local) CU_ASSERT(largest_local(ptx) <= max_local);
    CU_ASSERT_TRUE(ptxas_ok(ptx));
    jx__cuda_module_free(m);
    jx__fusion_free(fu);
    jx_fn_release(f);
    return nk;
}

/* ------------------------------------------------------------------ bodies */

static void chain(jx_val *out, const jx_val *in, void *u) {
    jx_val y = jx_add(jx_mul(in[0], in[1]), in[1]);
    y = jx_max(jx_sub(y, in[0]), jx_div(in[1], jx_add(in[0], jx_scalar_like(in[0], 3))));
    out[0] = jx_select(jx_gt(y, in[0]), y, jx_neg(in[1]));
}
static void bcast_transpose(jx_val *out, const jx_val *in, void *u) {
    jx_val b = jx_broadcast_in_dim(in[1], JX_INTS(8, 33), JX_INTS(1));
    out[0] = jx_add(jx_transpose(in[0], JX_INTS(1, 0)), b);
}
/* An embedding lookup, scaled: gather in a loop kernel. */
static void lookup(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_mul(jx_gather(in[0], in[1], 0, 0), jx_scalar_like(in[0], 2));
}
/* A sort along the first axis with a payload, and a top_k, lowered (lower_sort.c). */
static void sorts(jx_val *out, const jx_val *in, void *u) {
    jx_val two[2] = {in[0], jx_exp(in[0])};
    jx_sort_multi(2, two, 0, 1, out);
    jx_top_k(in[0], 3, &out[2], &out[3]);
}
/* A cumsum forwards and a cummax reversed, in loop kernels (owner folds). */
static void cumulative(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_add(jx_cumsum(in[0], 1, 0), jx_cummax(in[0], 0, 1));
}
/* An embedding's gradient: scatter_add in a loop kernel (no atomics), scaled. */
static void scatter_rows(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_mul(jx_scatter_add(in[0], in[1], in[2], 0, 0), jx_scalar_like(in[0], 2));
}
static void reductions(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_reduce_sum(in[0], JX_INTS(1));           /* rows */
    out[1] = jx_reduce_max(jx_exp(in[0]), JX_INTS(0));   /* columns */
    out[2] = jx_reduce_sum(jx_mul(in[0], in[0]), JX_INTS(0, 1)); /* full */
    out[3] = jx_argmax(in[0], 1, JX_I32);
}
static void softmax(jx_val *out, const jx_val *in, void *u) { out[0] = jx_softmax(in[0], -1); }
static void unary_all(jx_val *out, const jx_val *in, void *u) {
    jx_val x = in[0], a = jx_abs(x);
    jx_val y = jx_add(jx_exp(x), jx_log(jx_add(a, jx_scalar_like(x, 1))));
    y = jx_add(y, jx_add(jx_log1p(a), jx_expm1(x)));
    y = jx_add(y, jx_add(jx_tanh(x), jx_logistic(x)));
    y = jx_add(y, jx_add(jx_sin(x), jx_cos(x)));
    y = jx_add(y, jx_add(jx_sqrt(a), jx_rsqrt(jx_add(a, jx_scalar_like(x, 1)))));
    y = jx_add(y, jx_add(jx_sign(x), jx_add(jx_floor(x), jx_add(jx_ceil(x), jx_round(x)))));
    y = jx_add(y, jx_add(jx_pow(a, x), jx_atan2(x, a)));
    y = jx_add(y, jx_add(jx_integer_pow(x, 3), jx_rem(x, jx_add(a, jx_scalar_like(x, 1)))));
    out[0] = y;
}
/* The special functions and inverse trigonometry added for JAX parity, all in libdevice. */
static void unary_special(jx_val *out, const jx_val *in, void *u) {
    jx_val x = in[0], c = jx_mul(jx_tanh(x), jx_scalar_like(x, 0.5)); /* in (-1, 1) */
    jx_val y = jx_add(jx_erf(x), jx_erfc(x));
    y = jx_add(y, jx_add(jx_lgamma(x), jx_tan(x)));
    y = jx_add(y, jx_add(jx_asin(c), jx_acos(c)));
    y = jx_add(y, jx_add(jx_atan(x), jx_sinh(x)));
    y = jx_add(y, jx_add(jx_cosh(x), jx_asinh(x)));
    y = jx_add(y, jx_add(jx_acosh(jx_add(jx_abs(x), jx_scalar_like(x, 1))), jx_atanh(c)));
    out[0] = jx_select(jx_is_finite(y), y, x);
}
static void digamma_body(jx_val *out, const jx_val *in, void *u) { out[0] = jx_exp(jx_digamma(in[0])); }
/* jax.random.uniform: threefry over counters, then bits to floats (device PRNG). */
static void uniform(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_random_uniform(in[0], JX_F32, JX_INTS(64, 100), 0, 1);
}
/* A skip connection's concatenate and a flipped conv kernel (rev), in loop kernels. */
static void concat_rev(jx_val *out, const jx_val *in, void *u) {
    jx_val parts[2] = {jx_exp(in[0]), in[0]};
    out[0] = jx_rev(jx_concatenate(2, parts, 1), JX_INTS(0, 1));
}
/* Max pooling, 2x2 stride 2 and 3x3 SAME (padded), and the gradient of the first; the
 * gradient of a 3x3 stride 2 padded pool (overlapping windows: a ResNet stem's). */
static void pool_sq(jx_val *out, const jx_val *in, void *u) {
    const int64_t *w = u; /* window, then stride, then padding, per spatial dim */
    jx_val p = jx_reduce_window(in[0], JX_WINDOW_MAX, JX_INTS(1, w[0], w[0], 1), JX_INTS(1, w[1], w[1], 1),
                                JX_INTS(0, w[2], w[2], 0), JX_INTS(0, w[2], w[2], 0));
    out[0] = jx_sum(jx_mul(p, p), JX_NOINTS);
}
static void pool_grad(const jx_val *x, jx_val *out, const int64_t *w) {
    jx_aval a = jx_aval_of(x[0]);
    jx_fn *f = jx_trace("pool_sq", pool_sq, (void *)w, 1, &a, 1), *g = f ? jx_grad(f, JX_NOINTS) : NULL;
    jx_call(g, 1, x, 1, out);
    jx_fn_release(g), jx_fn_release(f);
}
static void pooling(jx_val *out, const jx_val *in, void *u) {
    static const int64_t square[3] = {2, 2, 0}, overlapping[3] = {3, 2, 1};
    pool_grad(in, &out[0], square);
    out[1] = jx_reduce_window(in[0], JX_WINDOW_MAX, JX_INTS(1, 3, 3, 1), JX_INTS(1, 1, 1, 1), JX_INTS(0, 1, 1, 0),
                              JX_INTS(0, 1, 1, 0));
    out[2] = jx_reduce_window(in[0], JX_WINDOW_SUM, JX_INTS(1, 2, 2, 1), JX_INTS(1, 2, 2, 1), JX_NOINTS, JX_NOINTS);
    pool_grad(in, &out[3], overlapping);
}
static void half_types(jx_val *out, const jx_val *in, void *u) {
    jx_val h = jx_convert(in[0], JX_F16), b = jx_convert(in[0], JX_BF16);
    out[0] = jx_add(jx_convert(h, JX_F32), jx_convert(b, JX_F32));
    out[1] = jx_convert(jx_exp(in[0]), JX_BF16);
}

/* ------------------------------------------------------------------ tests */

static void test_elementwise(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 1000), JX_AVAL(JX_F32, 1000)};
    CU_ASSERT_EQUAL(check_body("chain", chain, NULL, 2, av, 1), 1);
}
static void test_movement(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 33, 8), JX_AVAL(JX_F32, 33)};
    CU_ASSERT_EQUAL(check_body("bcast_transpose", bcast_transpose, NULL, 2, av, 1), 1);
    jx_aval g[2] = {JX_AVAL(JX_F32, 50, 16), JX_AVAL(JX_I32, 4, 7)};
    /* jx_gather's wrap of negative indices recomputed where the lookup reads it: one kernel */
    CU_ASSERT_EQUAL(check_body("lookup", lookup, NULL, 2, g, 1), 1);
    /* its transpose: the wrap, the scatter and the scale in one kernel; none left for the
     * host */
    jx_aval sc[3] = {JX_AVAL(JX_F32, 50, 16), JX_AVAL(JX_I32, 4, 7), JX_AVAL(JX_F32, 4, 7, 16)};
    lower_windows = true;
    CU_ASSERT_EQUAL(check_body("scatter_add", scatter_rows, NULL, 3, sc, 1), 1);
    jx_aval cu[1] = {JX_AVAL(JX_F32, 12, 40)};
    CU_ASSERT(check_body("cumulative", cumulative, NULL, 1, cu, 1) >= 1);
    lower_windows = false;
}
static void test_reductions(void) {
    jx_aval av[1] = {JX_AVAL(JX_F32, 64, 100)};
    CU_ASSERT_TRUE(check_body("reductions", reductions, NULL, 1, av, 4) >= 2);
    jx_aval d[1] = {JX_AVAL(JX_F64, 7, 5)};
    CU_ASSERT_TRUE(check_body("reductions64", reductions, NULL, 1, d, 4) >= 2);
    jx_aval s[1] = {JX_AVAL(JX_F32, 16, 10)};
    CU_ASSERT_TRUE(check_body("softmax", softmax, NULL, 1, s, 1) >= 1);
    /* rows of 2500: blocks side by side, max and min checked in any order; no 4 KB staging
     * buffer per thread (the host's way to read a block group) */
    jx_aval l[1] = {JX_AVAL(JX_F32, 4, 2500)};
    max_local = 1024;
    CU_ASSERT_TRUE(check_body("long_rows", reductions, NULL, 1, l, 4) >= 2);
    max_local = 0;
}
static void test_math(void) {
    jx_aval f[1] = {JX_AVAL(JX_F32, 257)}, d[1] = {JX_AVAL(JX_F64, 257)};
    CU_ASSERT_EQUAL(check_body("unary_f32", unary_all, NULL, 1, f, 1), 1);
    CU_ASSERT_EQUAL(check_body("unary_f64", unary_all, NULL, 1, d, 1), 1);
    CU_ASSERT_EQUAL(check_body("half", half_types, NULL, 1, f, 2), 1);
    CU_ASSERT_EQUAL(check_body("special_f32", unary_special, NULL, 1, f, 1), 1);
    CU_ASSERT_EQUAL(check_body("special_f64", unary_special, NULL, 1, d, 1), 1);
}

/* The general rule: a group using a helper libdevice does not define (digamma, in f32
 * and f64) is declined, naming libdevice's function (the plan then runs it on the host),
 * and the module stays usable: a group added after it compiles and assembles alone. */
static void test_concat_rev(void) {
    jx_aval av[1] = {JX_AVAL(JX_F32, 6, 9, 4)};
    CU_ASSERT_EQUAL(check_body("concat_rev", concat_rev, NULL, 1, av, 1), 1);
}
static void test_pooling(void) {
    jx_aval av[1] = {JX_AVAL(JX_F32, 2, 7, 6, 3)};
    lower_windows = true;
    /* a padded pool's taps share one kernel (they were a kernel each: 26 kernels here) */
    int n = check_body("pooling", pooling, NULL, 1, av, 4);
    CU_ASSERT(n >= 4 && n <= 10);
    lower_windows = false;
}
static void test_sorts(void) {
    jx_aval av[1] = {JX_AVAL(JX_F32, 9, 40)};
    lower_windows = true; /* prepared for the backend: no group left for the host */
    CU_ASSERT(check_body("sorts", sorts, NULL, 1, av, 4) >= 4);
    lower_windows = false;
}
static void test_threefry(void) {
    jx_aval key[1] = {JX_AVAL(JX_U32, 2)};
    CU_ASSERT(check_body("uniform", uniform, NULL, 1, key, 1) >= 1); /* unsimplified: several */
}
static void test_declined(void) {
    const jx_dtype dts[2] = {JX_F32, JX_F64};
    const char *want[2] = {"cuda: libdevice has no __nv_digammaf: the group runs on the host",
                           "cuda: libdevice has no __nv_digamma: the group runs on the host"};
    for (int t = 0; t < 2; t++) {
        jx_aval f[2] = {JX_AVAL(dts[t], 16), JX_AVAL(dts[t], 16)};
        jx_fn *fn = jx_trace("digamma", digamma_body, NULL, 1, f, 1);
        jx_fn *ok = jx_trace("chain", chain, NULL, 2, f, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fn);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ok);
        jx__fusion *fu = jx__fuse(fn, true, NULL), *fo = jx__fuse(ok, true, NULL);
        jx__cuda_module *m = jx__cuda_module_new(2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fu);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fo);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        CU_ASSERT_EQUAL(fu->ngroups, 1);
        CU_ASSERT_PTR_NULL(jx__cuda_kernel_add(m, fn, &fu->groups[0]));
        CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_UNSUPPORTED);
        CU_ASSERT_STRING_EQUAL(jx_errmsg(), want[t]);
        jx_clear_error();
        CU_ASSERT_PTR_NOT_NULL(jx__cuda_kernel_add(m, ok, &fo->groups[0]));
        const char *ptx = jx__cuda_module_ptx(m, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ptx);
        CU_ASSERT_PTR_NULL(strstr(ptx, "digamma"));
        int entries = 0;
        for (const char *p = ptx; (p = strstr(p, ".entry")); p++) entries++;
        CU_ASSERT_EQUAL(entries, 1);
        CU_ASSERT_TRUE(ptxas_ok(ptx));
        jx__cuda_module_free(m);
        jx__fusion_free(fu);
        jx__fusion_free(fo);
        jx_fn_release(fn);
        jx_fn_release(ok);
    }
}

/* One module of f's LOOP groups, its PTX cached in dir (NULL: none); its text in *ptx
 * (malloc'd, NULL on failure). */
static void ptx_of(const jx_fn *f, const jx__fusion *fu, const char *dir, char **ptx) {
    jx__cuda_module *m = jx__cuda_module_new(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(jx__cuda_module_set_cache_dir(m, dir), JX_OK);
    for (int g = 0; g < fu->ngroups; g++)
        if (fu->groups[g].kind == JX__G_LOOP) CU_ASSERT_PTR_NOT_NULL(jx__cuda_kernel_add(m, f, &fu->groups[g]));
    const char *text = jx__cuda_module_ptx(m, NULL);
    *ptx = text ? strdup(text) : NULL;
    jx__cuda_module_free(m);
}

/* The one cache file in dir (its path in path), or false. */
static bool cache_file(const char *dir, char *path, size_t len) {
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strstr(e->d_name, ".jxo")) n++, snprintf(path, len, "%s/%s", dir, e->d_name);
    if (d) closedir(d);
    return n == 1;
}

/* The PTX of a module through a cache directory: the first module writes the file, a
 * second module of the same kernels takes its PTX from it (a hit, no generation) with
 * the same text, a damaged file is never used (the module generates its PTX again and
 * rewrites the file), and without a directory nothing is read or written. */
static void test_ptx_disk_cache(void) {
    char dir[] = "/tmp/jx_ptxcache_XXXXXX", path[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(dir));
    jx_aval av = JX_AVAL(JX_F32, 257);
    jx_fn *f = jx_trace("unary_f32", unary_all, NULL, 1, &av, 1);
    jx__fusion *fu = f ? jx__fuse(f, true, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(fu);
    int64_t h0, s0, h, s;
    char *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    jx__cuda_ptxcache_stats(&h0, &s0);
    ptx_of(f, fu, dir, &a);
    jx__cuda_ptxcache_stats(&h, &s);
    CU_ASSERT(a && h == h0 && s == s0 + 1 && cache_file(dir, path, sizeof path));
    ptx_of(f, fu, dir, &b);
    jx__cuda_ptxcache_stats(&h, &s);
    CU_ASSERT(b && h == h0 + 1 && s == s0 + 1 && a && strcmp(a, b) == 0);
    /* flip a byte in the middle of the stored PTX */
    FILE *fp = fopen(path, "r+b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, size / 2, SEEK_SET);
    int ch = fgetc(fp);
    fseek(fp, size / 2, SEEK_SET);
    fputc(ch ^ 0x20, fp);
    fclose(fp);
    ptx_of(f, fu, dir, &c);
    jx__cuda_ptxcache_stats(&h, &s);
    CU_ASSERT(c && h == h0 + 1 && s == s0 + 2 && a && strcmp(a, c) == 0); /* regenerated, rewritten */
    ptx_of(f, fu, NULL, &d);
    jx__cuda_ptxcache_stats(&h, &s);
    CU_ASSERT(d && h == h0 + 1 && s == s0 + 2 && a && strcmp(a, d) == 0);
    free(a), free(b), free(c), free(d);
    if (cache_file(dir, path, sizeof path)) unlink(path);
    rmdir(dir);
    jx__fusion_free(fu);
    jx_fn_release(f);
}

int main(void) {
    if (!JX_PTXAS[0] || access(JX_PTXAS, X_OK) != 0) {
        printf("cuda_ptx: skipped: ptxas not found\n");
        return 77;
    }
    CU_TestInfo tests[] = {
        {"elementwise chain", test_elementwise},
        {"broadcast, transpose, gather, scatter_add, cumulative ops", test_movement},
        {"row, column, full reductions, argmax, softmax", test_reductions},
        {"every unary math op, f16/bf16", test_math},
        {"jax.random.uniform: threefry in the kernel", test_threefry},
        {"concatenate and rev in one kernel", test_concat_rev},
        {"pooling and its gradient lowered to loop kernels", test_pooling},
        {"sort and top_k lowered to loop kernels", test_sorts},
        {"a group libdevice cannot compute is declined", test_declined},
        {"PTX through the disk cache: stored, loaded, a damaged file regenerated", test_ptx_disk_cache},
        CU_TEST_INFO_NULL,
    };
    return jt_run("cuda_ptx", tests);
}
