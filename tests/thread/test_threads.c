/* test_threads.c: the concurrency include/jx.h promises, with real threads: tracing and
 * transforming in several threads at once, one executable run from several threads, and
 * jx_jit of equal and different functions racing on the compile cache, a pmap run from
 * several threads at once (one gets the devices' parked threads, the others start their
 * own). Every thread's
 * results are checked against one computed alone first. CI runs this suite built with
 * ThreadSanitizer (tools/test.sh), which fails on any data race. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <pthread.h>
#include <stdlib.h>

#include "harness.h"

enum { NT = 4, REPS = 6 };

/* loss(w, x) = sum(tanh(x @ w) * scale), scale a user constant (a different function per
 * scale, so the threads can compile different executables too) */
static void loss(jx_val *out, const jx_val *in, void *user) {
    double scale = *(const double *)user;
    jx_val y = jx_tanh(jx_matmul(in[1], in[0]));
    out[0] = jx_sum(jx_mul(y, jx_scalar(JX_F32, scale)), JX_NOINTS);
}

static jx_fn *grad_of(double *scale) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 8, 4), JX_AVAL(JX_F32, 16, 8)};
    jx_fn *f = jx_trace("loss", loss, scale, 2, av, 1);
    jx_fn *g = f ? jx_value_and_grad(f, JX_INTS(0)) : NULL;
    jx_fn_release(f);
    return g;
}

static jx_array *inputs[2];

/* The first output's value and the sum of the gradient, from one run; NAN on failure. */
static void run_exec(jx_exec *x, double *val, double *gsum) {
    jx_array *out[2] = {NULL, NULL};
    *val = *gsum = NAN;
    if (jx_exec_run(x, 2, inputs, 2, out) == JX_OK) {
        *val = jx_array_get(out[0], 0);
        double s = 0;
        for (int64_t i = 0; i < jx_array_size(out[1]); i++) s += jx_array_get(out[1], i);
        *gsum = s;
    }
    jx_array_release(out[0]);
    jx_array_release(out[1]);
}

typedef struct job {
    double scale;
    jx_exec *shared;  /* for the shared-executable case */
    double val, gsum; /* what the thread got */
    int failures;     /* runs that disagreed with the first */
    char text[64];    /* the start of the printed IR */
} job;

/* Traces, differentiates, prints and evaluates with the interpreter, REPS times. */
static void *trace_worker(void *arg) {
    job *j = arg;
    for (int r = 0; r < REPS; r++) {
        jx_fn *g = grad_of(&j->scale);
        jx_array *out[2] = {NULL, NULL};
        if (!g || jx_eval(g, 2, inputs, 2, out) != JX_OK) {
            j->failures++;
        } else {
            double v = jx_array_get(out[0], 0);
            if (r == 0) j->val = v;
            else if (v != j->val) j->failures++;
            char *s = jx_fn_to_string(g);
            if (s) snprintf(j->text, sizeof j->text, "%s", s);
            free(s);
        }
        jx_array_release(out[0]);
        jx_array_release(out[1]);
        jx_fn_release(g);
    }
    return NULL;
}

/* Runs the shared executable REPS times. */
static void *run_worker(void *arg) {
    job *j = arg;
    for (int r = 0; r < REPS; r++) {
        double v, s;
        run_exec(j->shared, &v, &s);
        if (r == 0) j->val = v, j->gsum = s;
        else if (v != j->val || s != j->gsum) j->failures++;
    }
    return NULL;
}

/* Compiles its function (through the cache) and runs it. */
static void *jit_worker(void *arg) {
    job *j = arg;
    for (int r = 0; r < REPS; r++) {
        jx_fn *g = grad_of(&j->scale);
        jx_jit_opts o = JX_JIT_DEFAULTS;
        o.nthreads = 2;
        jx_exec *x = g ? jx_jit(g, JX_DEVICE_CPU, &o) : NULL;
        double v = NAN, s = NAN;
        if (x) run_exec(x, &v, &s);
        if (r == 0) j->val = v, j->gsum = s;
        else if (v != j->val || s != j->gsum) j->failures++;
        jx_exec_release(x);
        jx_fn_release(g);
    }
    return NULL;
}

static void start_all(void *(*fn)(void *), job *jobs) {
    pthread_t t[NT];
    for (int i = 0; i < NT; i++) CU_ASSERT_EQUAL_FATAL(pthread_create(&t[i], NULL, fn, &jobs[i]), 0);
    for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
}

/* The value and gradient sum for a scale, computed on this thread alone. */
static void alone(double scale, double *val, double *gsum) {
    jx_fn *g = grad_of(&scale);
    jx_exec *x = g ? jx_jit(g, JX_DEVICE_CPU, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    run_exec(x, val, gsum);
    jx_exec_release(x);
    jx_fn_release(g);
}

static void test_tracing(void) {
    job jobs[NT] = {{0}};
    for (int i = 0; i < NT; i++) jobs[i].scale = 1 + i;
    start_all(trace_worker, jobs);
    for (int i = 0; i < NT; i++) {
        double v, s;
        alone(jobs[i].scale, &v, &s);
        CU_ASSERT_EQUAL(jobs[i].failures, 0);
        CU_ASSERT_DOUBLE_EQUAL(jobs[i].val, v, 1e-4 * (1 + fabs(v)));
        CU_ASSERT_STRING_EQUAL(jobs[i].text, jobs[0].text); /* same names, same shapes */
    }
}

static void test_shared_exec(void) {
    double scale = 2, v, s;
    alone(scale, &v, &s);
    jx_fn *g = grad_of(&scale);
    jx_exec *x = jx_jit(g, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    job jobs[NT] = {{0}};
    for (int i = 0; i < NT; i++) jobs[i].shared = x;
    start_all(run_worker, jobs);
    for (int i = 0; i < NT; i++) {
        CU_ASSERT_EQUAL(jobs[i].failures, 0);
        CU_ASSERT_EQUAL(jobs[i].val, v); /* bit-identical: same executable, same split */
        CU_ASSERT_EQUAL(jobs[i].gsum, s);
    }
    jx_exec_release(x);
    jx_fn_release(g);
}

static void test_jit_cache(void) {
    jx_jit_cache_clear();
    job jobs[NT] = {{0}};
    for (int i = 0; i < NT; i++) jobs[i].scale = 1 + i % 2; /* two threads per function */
    jx_jit_stats before = jx_jit_stats_get();
    start_all(jit_worker, jobs);
    jx_jit_stats after = jx_jit_stats_get();
    for (int i = 0; i < NT; i++) {
        double v, s;
        alone(jobs[i].scale, &v, &s);
        CU_ASSERT_EQUAL(jobs[i].failures, 0);
        CU_ASSERT_DOUBLE_EQUAL(jobs[i].val, v, 1e-4 * (1 + fabs(v)));
    }
    /* every jx_jit call counted once; at least the two functions compiled */
    CU_ASSERT_EQUAL((after.hits + after.misses) - (before.hits + before.misses), NT * REPS);
    CU_ASSERT(after.misses - before.misses >= 2);
}

/* A jitted pmap over 2 CPU devices with a psum: x (2, 16, 8) -> psum(tanh(x @ w)) per device. */
static void pmap_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_psum(jx_tanh(jx_matmul(in[1], in[0])), "d");
}

static jx_exec *pmap_exec;
static jx_array *pmap_in[2];

/* Runs the shared pmap REPS times; the sum of the outputs in val. */
static void *pmap_worker(void *arg) {
    job *j = arg;
    for (int r = 0; r < REPS * 4; r++) {
        jx_array *out = NULL;
        double v = NAN;
        if (jx_exec_run(pmap_exec, 2, pmap_in, 1, &out) == JX_OK) {
            v = 0;
            for (int64_t i = 0; i < jx_array_size(out); i++) v += jx_array_get(out, i);
        }
        jx_array_release(out);
        if (r == 0) j->val = v;
        else if (!(v == j->val)) j->failures++;
    }
    return NULL;
}

static void test_pmap_threads(void) {
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(2), JX_OK);
    jx_aval av[2] = {JX_AVAL(JX_F32, 8, 4), JX_AVAL(JX_F32, 16, 8)};
    jx_fn *f = jx_trace("body", pmap_body, NULL, 2, av, 1);
    jx_fn *p = f ? jx_pmap(f, JX_INTS(JX_NOT_MAPPED, 0), JX_NOINTS, "d") : NULL;
    pmap_exec = p ? jx_jit(p, JX_DEVICE_CPU, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(pmap_exec);
    float x[2 * 128];
    for (int i = 0; i < 2 * 128; i++) x[i] = (float)((i * 3 % 17) - 8) / 8;
    pmap_in[0] = jx_array_retain(inputs[0]);
    pmap_in[1] = jx_array_new(JX_F32, JX_INTS(2, 16, 8), x);
    job first = {0};
    pmap_worker(&first); /* alone */
    CU_ASSERT(first.val == first.val && first.failures == 0);
    job jobs[NT] = {{0}};
    start_all(pmap_worker, jobs);
    for (int i = 0; i < NT; i++) {
        CU_ASSERT_EQUAL(jobs[i].failures, 0);
        CU_ASSERT_EQUAL(jobs[i].val, first.val); /* the same bits however the threads met */
    }
    jx_array_release(pmap_in[0]);
    jx_array_release(pmap_in[1]);
    jx_exec_release(pmap_exec);
    jx_fn_release(p);
    jx_fn_release(f);
}

int main(void) {
    float w[32], x[128];
    for (int i = 0; i < 32; i++) w[i] = (float)((i * 7 % 13) - 6) / 10;
    for (int i = 0; i < 128; i++) x[i] = (float)((i * 5 % 11) - 5) / 5;
    inputs[0] = jx_array_new(JX_F32, JX_INTS(8, 4), w);
    inputs[1] = jx_array_new(JX_F32, JX_INTS(16, 8), x);
    CU_TestInfo tests[] = {
        {"tracing and grad in several threads at once", test_tracing},
        {"one executable run from several threads", test_shared_exec},
        {"jx_jit racing on the compile cache", test_jit_cache},
        {"a pmap run from several threads at once", test_pmap_threads},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("threads", tests);
    jx_array_release(inputs[0]);
    jx_array_release(inputs[1]);
    jx_jit_cache_clear();
    return rc;
}
