/* test_cuda_array.c: device arrays without a GPU. A fake backend (host memory standing
 * for the device, counting its reads and frees) holds arrays made with
 * jx__array_on_device: the host copy is read back once, on the first read, by every
 * host reader (jx_array_get, jx_array_data, jx_array_copy_to, jx_eval, a CPU
 * executable); writing (jx_array_data_mut) drops the device copy; release frees it
 * once; a failed read-back is an error, never a crash. jx_array_to moves arrays back to
 * the host and, with no GPU here, fails naming the array and the missing driver or
 * device (the GPU side is in test_cuda_run). */
#include <stdlib.h>
#include <string.h>

#include "../../src/jit/jit.h"
#include "harness.h"

static int reads, frees;
static bool fail_reads;

static void fake_free(void *p) {
    frees++;
    free(p);
}
static jx_status fake_copy_out(void *host, const void *src, size_t bytes) {
    if (fail_reads) return jx__fail(JX_ERR_RUNTIME, jx__noloc, "fake", "cuMemcpyDtoH: CUDA_ERROR_ILLEGAL_ADDRESS");
    reads++;
    memcpy(host, src, bytes);
    return JX_OK;
}
static const jx__backend fake = {.name = "fake", .free = fake_free, .copy_out = fake_copy_out};

/* A device array of f32[n] holding 0.5 * i. */
static jx_array *dev_ramp(int64_t n) {
    float *d = malloc(sizeof *d * (size_t)n);
    for (int64_t i = 0; i < n; i++) d[i] = 0.5f * (float)i;
    jx_aval av = JX_AVAL(JX_F32, n);
    jx_array *a = jx__array_on_device(&av, d, &fake, JX_DEVICE_CUDA);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    return a;
}

static void double_it(jx_val *out, const jx_val *in, void *u) { out[0] = jx_add(in[0], in[0]); }
static void const_of(jx_val *out, const jx_val *in, void *u) { out[0] = jx_const(u); }

static void test_read_once(void) {
    reads = frees = 0;
    jx_array *a = dev_ramp(5);
    CU_ASSERT_EQUAL(jx_array_device(a), JX_DEVICE_CUDA);
    CU_ASSERT_PTR_NULL(a->data); /* nothing read back yet */
    CU_ASSERT_EQUAL(jx_array_get(a, 3), 1.5);
    CU_ASSERT_EQUAL(reads, 1);
    float got[5];
    CU_ASSERT_EQUAL(jx_array_copy_to(a, got, sizeof got), JX_OK);
    CU_ASSERT_EQUAL(got[4], 2.0f);
    CU_ASSERT_EQUAL(((const float *)jx_array_data(a))[2], 1.0f);
    CU_ASSERT_EQUAL(reads, 1); /* the host copy is kept */
    CU_ASSERT_EQUAL(jx_array_device(a), JX_DEVICE_CUDA);
    jx_array_release(a);
    CU_ASSERT_EQUAL(frees, 1);
}

static void test_host_readers(void) {
    reads = frees = 0;
    jx_aval av[1] = {JX_AVAL(JX_F32, 4)};
    jx_fn *f = jx_trace("double_it", double_it, NULL, 1, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    for (int dev = 0; dev < 2; dev++) { /* jx_eval, then a CPU executable */
        jx_array *a = dev_ramp(4), *y = NULL;
        jx_exec *x = dev ? jx_jit(f, JX_DEVICE_CPU, NULL) : NULL;
        jx_status st = dev ? jx_exec_run(x, 1, &a, 1, &y) : jx_eval(f, 1, &a, 1, &y);
        CU_ASSERT_EQUAL_FATAL(st, JX_OK);
        CU_ASSERT_EQUAL(jx_array_device(y), JX_DEVICE_CPU);
        CU_ASSERT_EQUAL(jx_array_get(y, 3), 3.0);
        CU_ASSERT_EQUAL(reads, dev + 1);
        jx_array_release(y);
        jx_array_release(a);
        jx_exec_release(x);
    }
    CU_ASSERT_EQUAL(frees, 2);
    /* a constant made from a device array */
    jx_array *a = dev_ramp(4);
    jx_fn *g = jx_trace("const_of_device", const_of, a, 0, NULL, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *y = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_eval(g, 0, NULL, 1, &y), JX_OK);
    CU_ASSERT_EQUAL(jx_array_get(y, 1), 0.5);
    jx_array_release(y);
    jx_fn_release(g);
    jx_array_release(a);
    jx_fn_release(f);
}

static void test_to_host_and_write(void) {
    reads = frees = 0;
    jx_array *a = dev_ramp(3);
    jx_array *h = jx_array_to(a, JX_DEVICE_CPU);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_PTR_NOT_EQUAL(h, a);
    CU_ASSERT_EQUAL(jx_array_device(h), JX_DEVICE_CPU);
    CU_ASSERT_EQUAL(jx_array_get(h, 2), 1.0);
    jx_array *same = jx_array_to(h, JX_DEVICE_INTERP); /* already on the host */
    CU_ASSERT_PTR_EQUAL(same, h);
    jx_array_release(same);
    /* writing keeps only the host copy */
    float *w = jx_array_data_mut(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    w[0] = 7;
    CU_ASSERT_EQUAL(frees, 1);
    CU_ASSERT_EQUAL(jx_array_device(a), JX_DEVICE_CPU);
    CU_ASSERT_EQUAL(jx_array_get(a, 0), 7.0);
    CU_ASSERT_EQUAL(jx_array_get(h, 0), 0.0); /* h was a copy */
    jx_array_release(a);
    jx_array_release(h);
    CU_ASSERT_EQUAL(frees, 1);
}

static void test_read_failure(void) {
    reads = frees = 0;
    jx_array *a = dev_ramp(2);
    fail_reads = true;
    CU_ASSERT_PTR_NULL(jx_array_data(a));
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_RUNTIME);
    JT_ASSERT_ERR("cuMemcpyDtoH: CUDA_ERROR_ILLEGAL_ADDRESS");
    CU_ASSERT_TRUE(jx_array_get(a, 0) != jx_array_get(a, 0)); /* NaN */
    float got[2];
    CU_ASSERT_EQUAL(jx_array_copy_to(a, got, sizeof got), JX_ERR_RUNTIME);
    CU_ASSERT_PTR_NULL(jx_array_to(a, JX_DEVICE_CPU));
    JT_ASSERT_ERR("jx_array_to: f32[2] to the host: ");
    fail_reads = false;
    jx_clear_error();
    CU_ASSERT_EQUAL(jx_array_get(a, 1), 0.5); /* a later read succeeds */
    jx_array_release(a);
    CU_ASSERT_EQUAL(frees, 1);
}

static void test_to_cuda_errors(void) {
    CU_ASSERT_PTR_NULL(jx_array_to(NULL, JX_DEVICE_CUDA));
    JT_ASSERT_ERR("jx_array_to: array is NULL");
    jx_array *h = jx_array_zeros(JX_F32, JX_INTS(3));
    CU_ASSERT_PTR_NULL(jx_array_to(h, (jx_device)9));
    JT_ASSERT_ERR("jx_array_to: no device 9");
    jx_array *d = jx_array_to(h, JX_DEVICE_CUDA);
    if (d) { /* a GPU after all: the round trip */
        CU_ASSERT_EQUAL(jx_array_device(d), JX_DEVICE_CUDA);
        CU_ASSERT_EQUAL(jx_array_get(d, 2), 0.0);
        jx_array_release(d);
    } else {
        CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_UNSUPPORTED);
        bool clear = jt_err_has("jx_array_to: f32[3] to cuda: cuda: no CUDA driver") ||
                     jt_err_has("jx_array_to: f32[3] to cuda: cuda: no CUDA device");
        if (!clear) fprintf(stderr, "\n  %s\n", jx_errmsg());
        CU_ASSERT_TRUE(clear);
    }
    jx_clear_error();
    jx_array_release(h);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"a device array is read back once, on the first host read", test_read_once},
        {"jx_eval, a CPU executable and jx_const read device arrays", test_host_readers},
        {"jx_array_to the host; writing drops the device copy", test_to_host_and_write},
        {"a failed read-back is an error", test_read_failure},
        {"jx_array_to cuda: errors", test_to_cuda_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("cuda_array", tests);
}
