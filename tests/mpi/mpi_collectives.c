/* mpi_collectives.c: the multi-process suite, run by CTest under
 * `mpirun -np 2 --oversubscribe --allow-run-as-root` (tests/CMakeLists.txt): pmap's
 * collectives across 2 processes with 1 and 2 devices each (psum, pmax, pmean,
 * all_gather, axis_index against values computed here from every rank's inputs), and a
 * data-parallel training step (each rank its shard of the batch, gradients averaged
 * with pmean) equal to the single-process step on the whole batch. With the argument
 * "timeout", rank 1 never reaches the collective: rank 0's watchdog must end the job
 * with the timeout message naming the collective's line (CTest matches it) instead of
 * hanging. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define L 3
#define D 4 /* features of the regression */
#define B 8 /* global batch */

static void b_coll(jx_val *o, const jx_val *in, void *u) {
    int n = *(int *)u;
    o[0] = jx_psum(in[0], "i");
    o[1] = jx_pmax(in[0], "i");
    o[2] = jx_pmean(in[0], "i");
    o[3] = jx_all_gather(in[0], "i", n);
    o[4] = jx_convert(jx_axis_index("i"), JX_F64);
}

/* Device g's input (global numbering): x[j] = (g + 1) * (j + 1) + g * g. */
static double xval(int g, int j) { return (g + 1.0) * (j + 1.0) + g * g; }

static void check_collectives(int local) {
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(local), JX_OK);
    int rank = jx_process_index(), P = jx_process_count(), n = local * P;
    CU_ASSERT_EQUAL(jx_device_count(), n);
    jx_aval av = JX_AVAL(JX_F64, L);
    jx_fn *f = jx_trace("coll", b_coll, &n, 1, &av, 5);
    jx_fn *p = jx_pmap(f, JX_NOINTS, JX_NOINTS, "i");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    double x[4 * L];
    for (int d = 0; d < local; d++)
        for (int j = 0; j < L; j++) x[d * L + j] = xval(rank * local + d, j);
    jx_array *in = jx_array_new(JX_F64, JX_INTS(local, L), x), *y[5] = {NULL};
    jx_status st = jx_eval(p, 1, &in, 5, y);
    if (st != JX_OK) fprintf(stderr, "\n  rank %d: %s\n", rank, jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, JX_OK);
    double sum[L], mx[L], gat[4 * L * 2], idx[4];
    for (int j = 0; j < L; j++) {
        sum[j] = 0, mx[j] = -1e300;
        for (int g = 0; g < n; g++) sum[j] += xval(g, j), mx[j] = xval(g, j) > mx[j] ? xval(g, j) : mx[j];
    }
    double w0[4 * L], w1[4 * L], w2[4 * L];
    for (int d = 0; d < local; d++) {
        memcpy(w0 + d * L, sum, sizeof sum);
        memcpy(w1 + d * L, mx, sizeof mx);
        for (int j = 0; j < L; j++) w2[d * L + j] = sum[j] / n;
        for (int g = 0; g < n; g++)
            for (int j = 0; j < L; j++) gat[(d * n + g) * L + j] = xval(g, j);
        idx[d] = rank * local + d;
    }
    jt_check_array(__LINE__, y[0], JX_F64, JX_INTS(local, L), w0, 0);
    jt_check_array(__LINE__, y[1], JX_F64, JX_INTS(local, L), w1, 0);
    jt_check_array(__LINE__, y[2], JX_F64, JX_INTS(local, L), w2, 1e-15);
    jt_check_array(__LINE__, y[3], JX_F64, JX_INTS(local, n, L), gat, 0);
    jt_check_array(__LINE__, y[4], JX_F64, JX_INTS(local), idx, 0);
    jx_array_release(in);
    jx_fn_release(p);
    jx_fn_release(f);
}

static void test_one_device_each(void) { check_collectives(1); }
static void test_two_devices_each(void) { check_collectives(2); }

/* ------------------------------------------------------------------ a training step */

/* mean squared error of X @ w against t: in = (w[D], X[b,D], t[b]). */
static void b_loss(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val r = jx_sub(jx_matmul(in[1], in[0]), in[2]);
    o[0] = jx_mean(jx_mul(r, r), JX_NOINTS);
}

/* One SGD step: w - 0.1 * grad, the gradient averaged over the devices when axis != NULL. */
static void b_step(jx_val *o, const jx_val *in, void *u) {
    const jx_fn *g = ((const jx_fn **)u)[0];
    const char *axis = ((const char **)u)[1];
    jx_val grad;
    jx_call(g, 3, in, 1, &grad);
    if (axis) grad = jx_pmean(grad, axis);
    o[0] = jx_sub(in[0], jx_mul_s(grad, 0.1));
}

static void test_training_step(void) {
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(1), JX_OK);
    int rank = jx_process_index(), P = jx_process_count(), b = B / P;
    double w[D], X[B * D], t[B];
    for (int k = 0; k < D; k++) w[k] = 0.1 * k - 0.2;
    for (int i = 0; i < B * D; i++) X[i] = ((i * 7) % 11) / 5.0 - 1;
    for (int i = 0; i < B; i++) t[i] = (i % 3) - 1.0;
    /* the single-process step on the whole batch */
    jx_aval full[3] = {JX_AVAL(JX_F64, D), JX_AVAL(JX_F64, B, D), JX_AVAL(JX_F64, B)};
    jx_fn *loss = jx_trace("loss", b_loss, NULL, 3, full, 1), *g = jx_grad(loss, JX_INTS(0));
    const void *u1[2] = {g, NULL};
    jx_fn *step = jx_trace("step", b_step, u1, 3, full, 1);
    jx_array *in[3] = {jx_array_new(JX_F64, JX_INTS(D), w), jx_array_new(JX_F64, JX_INTS(B, D), X),
                       jx_array_new(JX_F64, JX_INTS(B), t)};
    jx_array *want = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_eval(step, 3, in, 1, &want), JX_OK);
    /* the data-parallel step: this rank's shard, one device, pmean over the processes */
    jx_aval shard[3] = {JX_AVAL(JX_F64, D), JX_AVAL(JX_F64, b, D), JX_AVAL(JX_F64, b)};
    jx_fn *loss_s = jx_trace("loss", b_loss, NULL, 3, shard, 1), *g_s = jx_grad(loss_s, JX_INTS(0));
    const void *u2[2] = {g_s, "batch"};
    jx_fn *step_s = jx_trace("step", b_step, u2, 3, shard, 1);
    jx_fn *p = jx_pmap(step_s, JX_INTS(JX_NOT_MAPPED, 0, 0), JX_INTS(JX_NOT_MAPPED), "batch");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    jx_array *sin[3] = {jx_array_retain(in[0]), jx_array_new(JX_F64, JX_INTS(1, b, D), X + rank * b * D),
                        jx_array_new(JX_F64, JX_INTS(1, b), t + rank * b)};
    jx_array *got = NULL;
    jx_status st = jx_eval(p, 3, sin, 1, &got);
    if (st != JX_OK) fprintf(stderr, "\n  rank %d: %s\n", rank, jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, JX_OK);
    JT_ASSERT_ARRAY(got, jx_array_data(want), D, 1e-14);
    for (int i = 0; i < 3; i++) jx_array_release(in[i]), jx_array_release(sin[i]);
    jx_array_release(want);
    jx_array_release(got);
    jx_fn *fns[] = {loss, g, step, loss_s, g_s, step_s, p};
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) jx_fn_release(fns[k]);
}

/* ------------------------------------------------------------------ a rank that fails */

static int timeout_case(void) {
    jx_set_cpu_device_count(1);
    int n = 2;
    jx_aval av = JX_AVAL(JX_F64, L);
    jx_fn *f = jx_trace("coll", b_coll, &n, 1, &av, 5), *p = jx_pmap(f, JX_NOINTS, JX_NOINTS, "i");
    if (jx_process_index() == 1) { /* fails before its collective: never reaches it */
        fprintf(stderr, "rank 1: failing on purpose\n");
        sleep(30);
        return 1;
    }
    jx_array *in = jx_array_zeros(JX_F64, JX_INTS(1, L)), *y[5] = {NULL};
    jx_status st = jx_eval(p, 1, &in, 5, y);
    printf("rank 0: %s\n", st == JX_OK ? "no error" : jx_errmsg()); /* not reached: the watchdog ends the job */
    return 1;
}

int main(int argc, char **argv) {
    if (jx_distributed_init() != JX_OK) {
        fprintf(stderr, "%s\n", jx_errmsg());
        return 1;
    }
    if (jx_process_count() != 2) {
        printf("mpi_collectives: needs mpirun -np 2 (got %d process)\n", jx_process_count());
        return 77;
    }
    if (argc > 1 && strcmp(argv[1], "timeout") == 0) {
        setenv("JX_COLLECTIVE_TIMEOUT", "2", 1);
        return timeout_case();
    }
    CU_TestInfo tests[] = {
        {"collectives across 2 processes, 1 device each", test_one_device_each},
        {"collectives across 2 processes, 2 devices each", test_two_devices_each},
        {"a data-parallel step equals the single-process step", test_training_step},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("mpi collectives", tests);
    jx_distributed_shutdown();
    return rc;
}
