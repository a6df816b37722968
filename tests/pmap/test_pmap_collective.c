/* test_pmap_collective.c: pmap over N CPU devices (N = 1, 2, 3, 4) against its meaning,
 * vmap_named with the same axis name: every collective (psum, pmax, pmin, pmean,
 * all_gather, axis_index, ppermute, all_to_all), mapped and unmapped inputs and
 * outputs, in_axes/out_axes other than 0; the device order of psum (bit-identical on
 * every device); and the errors at the user's line (a mapped size that is not the
 * device count, an unbound axis name, a device that fails while others wait). */
#include <stdlib.h>

#include "gradcheck.h"

#define L 3 /* each device's vector length */

static int ndev; /* the device count the bodies are traced for */

/* Runs g on in (borrowed); out receives nout arrays. */
static jx_status run(const jx_fn *g, int nin, jx_array *const *in, int nout, jx_array **out) {
    if (!g) fprintf(stderr, "\n  no function: %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL(g);
    if (!g) return JX_ERR_ARG;
    jx_status st = jt_eval(g, nin, in, nout, out);
    if (st != JX_OK) fprintf(stderr, "\n  eval failed: %s\n", jx_errmsg());
    CU_ASSERT_EQUAL(st, JX_OK);
    return st;
}

/* Asserts pmap(f) and vmap_named(f) agree on in (all f64) within tol, output by output. */
static void check_pmap_vmap(const char *what, const jx_fn *f, jx_ints in_axes, jx_ints out_axes, int nin,
                            jx_array *const *in, double tol) {
    jx_fn *p = jx_pmap(f, in_axes, out_axes, "i");
    jx_fn *v = jx_vmap_named(f, in_axes, out_axes, ndev, "i");
    int m = jx_fn_num_outputs(f);
    jx_array *yp[8] = {NULL}, *yv[8] = {NULL};
    if (run(p, nin, in, m, yp) == JX_OK && run(v, nin, in, m, yv) == JX_OK)
        for (int j = 0; j < m; j++) {
            jx_aval ap = jx_array_aval(yp[j]), av = jx_array_aval(yv[j]);
            CU_ASSERT(jx_aval_equal(&ap, &av));
            jx_array *w = jx_array_astype(yv[j], JX_F64), *g = jx_array_astype(yp[j], JX_F64);
            double err = jt_max_err(g, jx_array_data(w), jx_array_size(w));
            if (!(err <= tol)) fprintf(stderr, "\n  %s, %d devices: output %d differs by %g\n", what, ndev, j, err);
            CU_ASSERT(err <= tol);
            jx_array_release(w);
            jx_array_release(g);
        }
    for (int j = 0; j < m; j++) {
        jx_array_release(yp[j]);
        jx_array_release(yv[j]);
    }
    jx_fn_release(p);
    jx_fn_release(v);
}

/* ------------------------------------------------------------------ every collective */

static void b_all(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0], z = in[1];
    o[0] = jx_psum(x, "i");
    o[1] = jx_pmax(x, "i");
    o[2] = jx_pmin(x, "i");
    o[3] = jx_pmean(x, "i");
    o[4] = jx_all_gather(x, "i", ndev);
    o[5] = jx_add(x, jx_convert(jx_axis_index("i"), JX_F64));
    int64_t ring[2 * 4];
    for (int i = 0; i < ndev; i++) ring[2 * i] = i, ring[2 * i + 1] = (i + 1) % ndev;
    o[6] = jx_ppermute(x, "i", (jx_ints){ring, 2 * ndev});
    o[7] = jx_all_to_all(z, "i", ndev, 0, 1); /* z: [2N, 2] -> [2, 2N] */
}

static void b_shift(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    /* device 0 sends nowhere and device 1 receives nothing: zeros there */
    o[0] = jx_ppermute(in[0], "i", ndev > 2 ? JX_INTS(1, 0, 2, 2) : JX_INTS(0, 0));
    o[1] = jx_all_to_all(in[1], "i", ndev, 1, 1); /* split and concat the same axis */
}

static void test_collectives_equal_vmap(void) {
    for (ndev = 1; ndev <= 4; ndev++) {
        CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(ndev), JX_OK);
        jx_aval av[2] = {JX_AVAL(JX_F64, L), JX_AVAL(JX_F64, 2 * ndev, 2)};
        jx_fn *f = jx_trace("all", b_all, NULL, 2, av, 8);
        jx_aval av2[2] = {JX_AVAL(JX_F64, L), JX_AVAL(JX_F64, 2, 2 * ndev)};
        jx_fn *g = jx_trace("shift", b_shift, NULL, 2, av2, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        uint64_t seed = 7 + (uint64_t)ndev;
        jx_array *x = jt_random(JX_INTS(ndev, L), -3, 3, &seed);
        jx_array *z = jt_random(JX_INTS(ndev, 2 * ndev, 2), -3, 3, &seed);
        jx_array *in[2] = {x, z};
        check_pmap_vmap("every collective", f, JX_NOINTS, JX_NOINTS, 2, in, 1e-15);
        jx_array *xt = jt_random(JX_INTS(L, ndev), -3, 3, &seed); /* mapped at axis 1 */
        jx_array *z2 = jt_random(JX_INTS(2, ndev, 2 * ndev), -3, 3, &seed);
        jx_array *in2[2] = {xt, z2};
        check_pmap_vmap("ppermute with gaps, all_to_all on one axis, in_axes 1, out_axes 1", g, JX_INTS(1, 1),
                        JX_INTS(1, -1), 2, in2, 0);
        jx_array_release(x);
        jx_array_release(z);
        jx_array_release(xt);
        jx_array_release(z2);
        jx_fn_release(f);
        jx_fn_release(g);
    }
}

static void b_unmapped(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_add(jx_psum(in[0], "i"), in[1]); /* the same on every device */
    o[1] = jx_mul(in[0], in[1]);
}

/* An unmapped input every device sees whole, an unmapped output taken from device 0. */
static void test_unmapped_in_out(void) {
    ndev = 3;
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(ndev), JX_OK);
    jx_aval av[2] = {JX_AVAL(JX_F64, L), JX_AVAL(JX_F64, L)};
    jx_fn *f = jx_trace("unmapped", b_unmapped, NULL, 2, av, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    uint64_t seed = 3;
    jx_array *x = jt_random(JX_INTS(ndev, L), -3, 3, &seed), *w = jt_random(JX_INTS(L), -3, 3, &seed);
    jx_array *in[2] = {x, w};
    check_pmap_vmap("unmapped input and output", f, JX_INTS(0, JX_NOT_MAPPED), JX_INTS(JX_NOT_MAPPED, 0), 2, in, 1e-15);
    jx_array_release(x);
    jx_array_release(w);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ reduction order */

static void b_psum_f32(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_psum(in[0], "i");
}

/* psum adds in device order, ((x0 + x1) + x2) + x3, in f32: with values whose sum
 * depends on the order the result shows it, and every device has the same bits. */
static void test_psum_order(void) {
    ndev = 4;
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(ndev), JX_OK);
    jx_aval av = JX_AVAL(JX_F32, 1);
    jx_fn *f = jx_trace("psum", b_psum_f32, NULL, 1, &av, 1);
    jx_fn *p = jx_pmap(f, JX_NOINTS, JX_NOINTS, "i");
    float v[4] = {1e8f, 1.0f, -1e8f, 1.0f}; /* in order: (1e8 + 1) - 1e8 + 1 = 1 (the 1 is lost) */
    jx_array *x = jx_array_new(JX_F32, JX_INTS(4, 1), v), *y = NULL;
    if (run(p, 1, &x, 1, &y) == JX_OK) {
        const float *d = jx_array_data(y);
        float want = ((v[0] + v[1]) + v[2]) + v[3];
        for (int i = 0; i < 4; i++) CU_ASSERT_EQUAL(d[i], want);
        CU_ASSERT_EQUAL(want, 1.0f);
    }
    jx_array_release(x);
    jx_array_release(y);
    jx_fn_release(p);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ errors */

static void b_other_name(jx_val *o, const jx_val *in, void *u) {
    *(int *)u = __LINE__ + 1;
    o[0] = jx_psum(in[0], "j");
}

/* A collective over a name no pmap binds fails at its line, and the other devices stop. */
static void test_unbound_name(void) {
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(2), JX_OK);
    int line = 0;
    jx_aval av = JX_AVAL(JX_F64, L);
    jx_fn *f = jx_trace("other", b_other_name, &line, 1, &av, 1);
    jx_fn *p = jx_pmap(f, JX_NOINTS, JX_NOINTS, "i");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    jx_array *x = jx_array_zeros(JX_F64, JX_INTS(2, L)), *y = NULL;
    CU_ASSERT_EQUAL(jx_eval(p, 1, &x, 1, &y), JX_ERR_ARG);
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    JT_ASSERT_ERR("psum: axis name 'j' is not bound by any vmap or pmap");
    CU_ASSERT_PTR_NULL(y);
    jx_array_release(x);
    jx_fn_release(p);
    jx_fn_release(f);
}

static void b_call(jx_val *o, const jx_val *in, void *u) {
    const jx_fn *f = ((const jx_fn **)u)[0];
    int *line = ((int **)u)[1];
    *line = __LINE__ + 1;
    jx_pmap_call(f, JX_NOINTS, JX_NOINTS, "i", 1, in, 1, o);
}

/* The mapped axis must have the device count's size: the error names the caller's line. */
static void test_wrong_size(void) {
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(2), JX_OK);
    jx_aval av = JX_AVAL(JX_F64, L);
    jx_fn *f = jx_trace("psum", b_psum_f32, NULL, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    int line = 0;
    void *u[2] = {f, &line};
    jx_aval big = JX_AVAL(JX_F64, 3, L);
    jx_fn *g = jx_trace("caller", b_call, u, 1, &big, 1);
    CU_ASSERT_PTR_NULL(g);
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    JT_ASSERT_ERR("pmap: input 0 (f64[3,3]) has size 3 at mapped axis 0 but there are 2 devices");
    /* the right size traces, and evaluates to the psum */
    jx_aval ok = JX_AVAL(JX_F64, 2, L);
    g = jx_trace("caller", b_call, u, 1, &ok, 1);
    CU_ASSERT_PTR_NOT_NULL(g);
    double v[6] = {1, 2, 3, 10, 20, 30};
    jx_array *x = jx_array_new(JX_F64, JX_INTS(2, L), v), *y = NULL;
    if (g && run(g, 1, &x, 1, &y) == JX_OK) {
        double want[6] = {11, 22, 33, 11, 22, 33};
        jt_check_array(__LINE__, y, JX_F64, JX_INTS(2, L), want, 0);
    }
    jx_array_release(x);
    jx_fn_release(g);
    /* the axis name and the axes are checked at jx_pmap's line */
    line = __LINE__ + 1;
    CU_ASSERT_PTR_NULL(jx_pmap(f, JX_INTS(2), JX_NOINTS, "i"));
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    JT_ASSERT_ERR("pmap: in_axes[0] = 2 is out of range for input 0 of rank 2");
    CU_ASSERT_PTR_NULL(jx_pmap(f, JX_NOINTS, JX_NOINTS, ""));
    JT_ASSERT_ERR("pmap: axis name is empty");
    jx_fn_release(f);
}

static void b_gather_wrong(jx_val *o, const jx_val *in, void *u) {
    *(int *)u = __LINE__ + 1;
    o[0] = jx_sum(jx_all_gather(in[0], "i", 5), JX_NOINTS);
}

/* all_gather's recorded size must be the device count: one device's error at its line,
 * the others stopped instead of waiting forever. */
static void test_gather_size(void) {
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(3), JX_OK);
    int line = 0;
    jx_aval av = JX_AVAL(JX_F64, L);
    jx_fn *f = jx_trace("gather", b_gather_wrong, &line, 1, &av, 1);
    jx_fn *p = jx_pmap(f, JX_NOINTS, JX_INTS(JX_NOT_MAPPED), "i");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    jx_array *x = jx_array_zeros(JX_F64, JX_INTS(3, L)), *y = NULL;
    CU_ASSERT_EQUAL(jx_eval(p, 1, &x, 1, &y), JX_ERR_SHAPE);
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    JT_ASSERT_ERR("all_gather: axis_size is 5 but the pmap of axis 'i' has size 3");
    jx_array_release(x);
    jx_fn_release(p);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"every collective under pmap equals vmap_named, 1 to 4 devices", test_collectives_equal_vmap},
        {"unmapped inputs and outputs", test_unmapped_in_out},
        {"psum adds in device order, the same bits on every device", test_psum_order},
        {"an unbound axis name fails at the user's line", test_unbound_name},
        {"a mapped size other than the device count fails at the user's line", test_wrong_size},
        {"a failing device stops the others", test_gather_size},
        CU_TEST_INFO_NULL,
    };
    return jt_run("pmap collectives", tests);
}
