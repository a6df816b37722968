/* mpi_permute.c: ppermute and all_to_all across processes, run by CTest under
 * `mpirun -np 2 --oversubscribe --allow-run-as-root` (tests/CMakeLists.txt), with 1 and 2
 * CPU devices per process. Every rank knows the global inputs (all devices' slices), so
 * it computes their vmap_named meaning over the global device count itself and checks
 * that its own devices' rows of the pmap across processes are exactly those rows: a
 * ring shift, a partial permutation (a device no pair sends to gets zeros, a device that
 * sends to itself, pairs within and across processes), all_to_all over several
 * split/concat axes, and the gradients (pmap of grad, grad of pmap), whose transposes
 * are ppermute with the pairs reversed and all_to_all with the axes swapped. */
#define _POSIX_C_SOURCE 200809L
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

static int N; /* devices, globally */

/* The ring i -> i + 1 and a partial permutation: with 4 devices 0 -> 3 and 3 -> 1 cross
 * processes, 2 -> 2 stays, device 0 receives nothing; with 2, only 1 -> 0. */
static jx_val ring(jx_val x) {
    int64_t p[2 * 4];
    for (int i = 0; i < N; i++) p[2 * i] = i, p[2 * i + 1] = (i + 1) % N;
    return jx_ppermute(x, "i", (jx_ints){p, 2 * N});
}
static jx_val partial(jx_val x) { return jx_ppermute(x, "i", N == 4 ? JX_INTS(0, 3, 3, 1, 2, 2) : JX_INTS(1, 0)); }

/* in = (x[3], z[2N,2], w[2,2N], v[N,2,N]) */
static void b_moves(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = ring(in[0]);
    o[1] = partial(in[0]);
    o[2] = jx_all_to_all(in[1], "i", N, 0, 1); /* [2N,2] -> [2,2N] */
    o[3] = jx_all_to_all(in[2], "i", N, 1, 1); /* split and concat the same axis */
    o[4] = jx_all_to_all(in[3], "i", N, 2, 0); /* [N,2,N] -> [N*N,2,1] */
}

/* A scalar loss through both: in = (x[3], z[2N,2], W[2,2N] unmapped). */
static void b_loss(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val a = jx_sum(jx_mul(jx_sin(partial(in[0])), in[0]), JX_NOINTS);
    jx_val b = jx_sum(jx_mul(jx_cos(ring(in[0])), in[0]), JX_NOINTS);
    jx_val c = jx_sum(jx_mul(jx_square(jx_all_to_all(in[1], "i", N, 0, 1)), in[2]), JX_NOINTS);
    o[0] = jx_add(jx_add(a, b), c);
}

/* The sum over the devices of b_loss, through the pmapped (or vmapped) loss u. */
static void b_total(jx_val *o, const jx_val *in, void *u) {
    jx_val y;
    jx_call((const jx_fn *)u, 3, in, 1, &y);
    o[0] = jx_sum(y, JX_NOINTS);
}

/* Global input k (all devices' slices): deterministic, the same on every rank. */
static jx_array *input(int k, jx_ints shape) {
    int64_t size = 1;
    for (int d = 0; d < shape.n; d++) size *= shape.v[d];
    double *v = malloc(sizeof *v * (size_t)size);
    for (int64_t j = 0; j < size; j++) v[j] = (double)((j * 37 + k * 11) % 23) / 7.0 - 1.5;
    jx_array *a = jx_array_new(JX_F64, shape, v);
    free(v);
    return a;
}

/* Rows rank*local .. of a global array mapped at axis 0 (unmapped inputs pass whole). */
static jx_array *my_rows(const jx_array *g, bool mapped, int local) {
    if (!mapped) return jx_array_retain((jx_array *)g);
    jx_aval a = jx_array_aval(g);
    int64_t row = jx_array_size(g) / a.shape[0];
    a.shape[0] = local;
    const double *v = (const double *)jx_array_data(g) + jx_process_index() * local * row;
    return jx_array_new(JX_F64, (jx_ints){a.shape, a.rank}, v);
}

/* Asserts that p (pmap across processes, on this rank's rows) gives this rank's rows of
 * v (its meaning, on the global inputs), exactly when tol is 0. */
static void check_rows(const char *what, const jx_fn *p, const jx_fn *v, int nin, jx_array *const *g,
                       const bool *mapped, int nout, const bool *out_mapped, int local, double tol) {
    jx_array *mine[4] = {NULL}, *yp[5] = {NULL}, *yv[5] = {NULL};
    for (int k = 0; k < nin; k++) mine[k] = my_rows(g[k], mapped[k], local);
    jx_status sp = jx_eval(p, nin, mine, nout, yp);
    if (sp != JX_OK) fprintf(stderr, "\n  %s, rank %d: %s\n", what, jx_process_index(), jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(sp, JX_OK);
    CU_ASSERT_EQUAL_FATAL(jx_eval(v, nin, g, nout, yv), JX_OK);
    for (int j = 0; j < nout; j++) {
        jx_array *want = my_rows(yv[j], out_mapped[j], local);
        jx_aval ap = jx_array_aval(yp[j]), aw = jx_array_aval(want);
        CU_ASSERT(jx_aval_equal(&ap, &aw));
        double err = jt_max_err(yp[j], jx_array_data(want), jx_array_size(want));
        if (!(err <= tol)) fprintf(stderr, "\n  %s, rank %d, %d devices: output %d differs by %g\n", what,
                                   jx_process_index(), N, j, err);
        CU_ASSERT(err <= tol);
        jx_array_release(want);
    }
    for (int k = 0; k < 4; k++) jx_array_release(mine[k]);
    for (int j = 0; j < 5; j++) jx_array_release(yp[j]), jx_array_release(yv[j]);
}

static void check_moves(int local) {
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(local), JX_OK);
    N = local * jx_process_count();
    jx_aval av[4] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 2 * N, 2), JX_AVAL(JX_F64, 2, 2 * N),
                     JX_AVAL(JX_F64, N, 2, N)};
    jx_fn *f = jx_trace("moves", b_moves, NULL, 4, av, 5);
    jx_fn *p = jx_pmap(f, JX_NOINTS, JX_NOINTS, "i"), *v = jx_vmap_named(f, JX_NOINTS, JX_NOINTS, N, "i");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    jx_array *g[4] = {input(0, JX_INTS(N, 3)), input(1, JX_INTS(N, 2 * N, 2)), input(2, JX_INTS(N, 2, 2 * N)),
                      input(3, JX_INTS(N, N, 2, N))};
    bool mapped[4] = {true, true, true, true}, out_mapped[5] = {true, true, true, true, true};
    check_rows("ppermute and all_to_all", p, v, 4, g, mapped, 5, out_mapped, local, 0);
    for (int k = 0; k < 4; k++) jx_array_release(g[k]);
    jx_fn_release(p), jx_fn_release(v), jx_fn_release(f);
}

static void check_grads(int local) {
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(local), JX_OK);
    N = local * jx_process_count();
    jx_aval av[3] = {JX_AVAL(JX_F64, 3), JX_AVAL(JX_F64, 2 * N, 2), JX_AVAL(JX_F64, 2, 2 * N)};
    jx_fn *f = jx_trace("loss", b_loss, NULL, 3, av, 1), *gf = jx_grad(f, JX_INTS(0, 1));
    jx_ints axes = JX_INTS(0, 0, JX_NOT_MAPPED);
    jx_array *g[3] = {input(0, JX_INTS(N, 3)), input(1, JX_INTS(N, 2 * N, 2)), input(2, JX_INTS(2, 2 * N))};
    bool mapped[3] = {true, true, false}, two[2] = {true, true};
    /* pmap of grad: each device's gradient of its own loss, the cotangents sent back */
    jx_fn *p = jx_pmap(gf, axes, JX_INTS(0, 0), "i"), *v = jx_vmap_named(gf, axes, JX_INTS(0, 0), N, "i");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    check_rows("pmap of grad", p, v, 3, g, mapped, 2, two, local, 1e-14);
    /* grad of pmap: of the sum of this process's devices' losses, whose cotangents reach
     * the other process's inputs through the transposed collectives; as in JAX, W's
     * gradient would sum this process's devices only, unlike vmap's, so it is not taken */
    jx_fn *lp = jx_pmap(f, axes, JX_INTS(0), "i"), *lv = jx_vmap_named(f, axes, JX_INTS(0), N, "i");
    jx_aval tl[3] = {JX_AVAL(JX_F64, local, 3), JX_AVAL(JX_F64, local, 2 * N, 2), JX_AVAL(JX_F64, 2, 2 * N)};
    jx_aval tg[3] = {JX_AVAL(JX_F64, N, 3), JX_AVAL(JX_F64, N, 2 * N, 2), JX_AVAL(JX_F64, 2, 2 * N)};
    jx_fn *tp = jx_trace("total", b_total, lp, 3, tl, 1), *tv = jx_trace("total", b_total, lv, 3, tg, 1);
    jx_fn *gp = jx_grad(tp, JX_INTS(0, 1)), *gv = jx_grad(tv, JX_INTS(0, 1));
    CU_ASSERT_PTR_NOT_NULL_FATAL(gp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gv);
    check_rows("grad of pmap", gp, gv, 3, g, mapped, 2, two, local, 1e-14);
    for (int k = 0; k < 3; k++) jx_array_release(g[k]);
    jx_fn *fns[] = {f, gf, p, v, lp, lv, tp, tv, gp, gv};
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) jx_fn_release(fns[k]);
}

static void test_moves_one_device_each(void) { check_moves(1); }
static void test_moves_two_devices_each(void) { check_moves(2); }
static void test_grads_one_device_each(void) { check_grads(1); }
static void test_grads_two_devices_each(void) { check_grads(2); }

int main(void) {
    if (jx_distributed_init() != JX_OK) {
        fprintf(stderr, "%s\n", jx_errmsg());
        return 1;
    }
    if (jx_process_count() != 2) {
        printf("mpi_permute: needs mpirun -np 2 (got %d process)\n", jx_process_count());
        return 77;
    }
    CU_TestInfo tests[] = {
        {"ppermute and all_to_all across 2 processes, 1 device each", test_moves_one_device_each},
        {"ppermute and all_to_all across 2 processes, 2 devices each", test_moves_two_devices_each},
        {"their gradients across 2 processes, 1 device each", test_grads_one_device_each},
        {"their gradients across 2 processes, 2 devices each", test_grads_two_devices_each},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("mpi ppermute and all_to_all", tests);
    jx_distributed_shutdown();
    return rc;
}
