/* test_pmap_compose.c: pmap composed with the other transformations, each against the
 * same composition with vmap_named (what pmap means): grad of a pmapped function (with
 * an input every device sees whole), pmap of a grad, vmap of a pmap, pmap of a vmap
 * (with collectives over both names), pmap of a pmap (the inner one finds the devices'
 * threads busy and starts its own), and jit of a body that calls a pmapped function.
 * Every collective appears in the differentiated body. */
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"

#define L 4 /* each device's vector length */

static int ndev;

/* Asserts f and g (same signature) agree on in within tol. */
static void check_same(const char *what, const jx_fn *f, const jx_fn *g, int nin, jx_array *const *in, double tol) {
    if (!f || !g) fprintf(stderr, "\n  %s: no function: %s\n", what, jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    int m = jx_fn_num_outputs(f);
    jx_array *a[8] = {NULL}, *b[8] = {NULL};
    jx_status s1 = jt_eval(f, nin, in, m, a), s2 = jt_eval(g, nin, in, m, b);
    if (s1 != JX_OK || s2 != JX_OK) fprintf(stderr, "\n  %s: eval failed: %s\n", what, jx_errmsg());
    CU_ASSERT(s1 == JX_OK && s2 == JX_OK);
    for (int j = 0; j < m && s1 == JX_OK && s2 == JX_OK; j++) {
        jx_aval aa = jx_array_aval(a[j]), ab = jx_array_aval(b[j]);
        CU_ASSERT(jx_aval_equal(&aa, &ab));
        double err = jt_max_err(a[j], jx_array_data(b[j]), jx_array_size(b[j]));
        if (!(err <= tol)) fprintf(stderr, "\n  %s, %d devices: output %d differs by %g\n", what, ndev, j, err);
        CU_ASSERT(err <= tol);
    }
    for (int j = 0; j < m; j++) {
        jx_array_release(a[j]);
        jx_array_release(b[j]);
    }
}

/* A per-device loss using every collective: x is this device's [L], w is shared. */
static void b_loss(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val x = in[0], w = in[1];
    int64_t ring[8];
    for (int i = 0; i < ndev; i++) ring[2 * i] = i, ring[2 * i + 1] = (i + 1) % ndev;
    jx_val t = jx_mul(jx_sin(jx_mul(x, w)), jx_pmean(x, "i"));
    t = jx_add(t, jx_mul(jx_pmax(jx_mul(x, w), "i"), x));
    t = jx_add(t, jx_mul(jx_pmin(jx_exp(x), "i"), w));
    t = jx_add(t, jx_mul(jx_ppermute(jx_tanh(x), "i", (jx_ints){ring, 2 * ndev}), x));
    jx_val g = jx_all_gather(jx_mul(x, x), "i", ndev); /* [N, L] */
    jx_val rows = jx_add_s(jx_convert(jx_iota(JX_I32, JX_INTS(ndev, 1), 0), JX_F64), 1); /* chunk j scaled by j+1 */
    jx_val a2a = jx_all_to_all(jx_mul(jx_reshape(jx_mul(x, w), JX_INTS(1, L)), rows), "i", ndev, 0, 0); /* [N, L] */
    jx_val extra = jx_mul(jx_sum(jx_mul(g, a2a), JX_NOINTS), jx_convert(jx_add_s(jx_axis_index("i"), 1), JX_F64));
    o[0] = jx_add(jx_sum(jx_mul(t, w), JX_NOINTS), extra);
}

/* total(x, w) = sum over devices of the loss, through pmap (user != NULL) or vmap_named. */
static void b_total(jx_val *o, const jx_val *in, void *u) {
    const jx_fn *mapped = u;
    jx_val per;
    jx_call(mapped, 2, in, 1, &per);
    o[0] = jx_sum(per, JX_NOINTS);
}

static jx_fn *loss_fn(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, L), JX_AVAL(JX_F64, L)};
    jx_fn *f = jx_trace("loss", b_loss, NULL, 2, av, 1);
    if (!f) fprintf(stderr, "\n  loss: %s\n", jx_errmsg());
    return f;
}

static void test_grad_of_pmap(void) {
    for (ndev = 1; ndev <= 4; ndev++) {
        CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(ndev), JX_OK);
        jx_fn *f = loss_fn();
        jx_fn *p = jx_pmap(f, JX_INTS(0, JX_NOT_MAPPED), JX_NOINTS, "i");
        jx_fn *v = jx_vmap_named(f, JX_INTS(0, JX_NOT_MAPPED), JX_NOINTS, ndev, "i");
        jx_aval av[2] = {JX_AVAL(JX_F64, ndev, L), JX_AVAL(JX_F64, L)};
        jx_fn *tp = jx_trace("total_p", b_total, p, 2, av, 1), *tv = jx_trace("total_v", b_total, v, 2, av, 1);
        jx_fn *gp = jx_value_and_grad(tp, JX_INTS(0, 1)), *gv = jx_value_and_grad(tv, JX_INTS(0, 1));
        uint64_t seed = 21 + (uint64_t)ndev;
        jx_array *in[2] = {jt_random(JX_INTS(ndev, L), -1, 1, &seed), jt_random(JX_INTS(L), -1, 1, &seed)};
        check_same("value_and_grad of pmap", gp, gv, 2, in, 1e-12);
        /* and the pmap's own jvp against finite differences */
        CU_ASSERT(jt_jvp_error(tp, in, 1e-6, 5) < 1e-6);
        CU_ASSERT(jt_vjp_error(tp, in, 5) < 1e-10);
        jx_array_release(in[0]);
        jx_array_release(in[1]);
        jx_fn *fns[] = {f, p, v, tp, tv, gp, gv};
        for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) jx_fn_release(fns[k]);
    }
}

static void test_pmap_of_grad(void) {
    ndev = 3;
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(ndev), JX_OK);
    jx_fn *f = loss_fn();
    jx_fn *g = jx_grad(f, JX_INTS(0, 1));
    jx_fn *p = jx_pmap(g, JX_INTS(0, JX_NOT_MAPPED), JX_NOINTS, "i");
    jx_fn *v = jx_vmap_named(g, JX_INTS(0, JX_NOT_MAPPED), JX_NOINTS, ndev, "i");
    uint64_t seed = 8;
    jx_array *in[2] = {jt_random(JX_INTS(ndev, L), -1, 1, &seed), jt_random(JX_INTS(L), -1, 1, &seed)};
    check_same("pmap of grad", p, v, 2, in, 1e-12);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(f);
    jx_fn_release(g);
    jx_fn_release(p);
    jx_fn_release(v);
}

/* vmap of a pmap: the vmapped axis is 1 of x and 0 of w. */
static void test_vmap_of_pmap(void) {
    ndev = 2;
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(ndev), JX_OK);
    jx_fn *f = loss_fn();
    jx_fn *p = jx_pmap(f, JX_INTS(0, JX_NOT_MAPPED), JX_NOINTS, "i");
    jx_fn *v = jx_vmap_named(f, JX_INTS(0, JX_NOT_MAPPED), JX_NOINTS, ndev, "i");
    jx_fn *vp = jx_vmap(p, JX_INTS(1, 0), JX_INTS(1), 3), *vv = jx_vmap(v, JX_INTS(1, 0), JX_INTS(1), 3);
    uint64_t seed = 9;
    jx_array *in[2] = {jt_random(JX_INTS(ndev, 3, L), -1, 1, &seed), jt_random(JX_INTS(3, L), -1, 1, &seed)};
    check_same("vmap of pmap", vp, vv, 2, in, 1e-12);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn *fns[] = {f, p, v, vp, vv};
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) jx_fn_release(fns[k]);
}

static void b_two_names(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val s = jx_psum(in[0], "j");                         /* over the inner vmap */
    o[0] = jx_add(jx_mul(s, jx_pmax(in[0], "i")), in[0]); /* and over the pmap */
    o[1] = jx_psum(jx_sum(in[0], JX_NOINTS), "i");
}

/* pmap of a named vmap, collectives over both names. */
static void test_pmap_of_vmap(void) {
    ndev = 3;
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(ndev), JX_OK);
    jx_aval av = JX_AVAL(JX_F64, L);
    jx_fn *f = jx_trace("two_names", b_two_names, NULL, 1, &av, 2);
    jx_fn *inner = jx_vmap_named(f, JX_INTS(0), JX_INTS(0, 0), 2, "j");
    jx_fn *p = jx_pmap(inner, JX_INTS(1), JX_INTS(1, 0), "i");
    jx_fn *v = jx_vmap_named(inner, JX_INTS(1), JX_INTS(1, 0), ndev, "i");
    uint64_t seed = 10;
    jx_array *x = jt_random(JX_INTS(2, ndev, L), -2, 2, &seed);
    check_same("pmap of vmap", p, v, 1, &x, 1e-12);
    jx_array_release(x);
    jx_fn *fns[] = {f, inner, p, v};
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) jx_fn_release(fns[k]);
}

static void b_inner(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_add(jx_mul(jx_psum(in[0], "j"), in[0]), jx_pmax(in[0], "j"));
}

/* The outer body: the inner pmapped (or vmapped) function u on x (2, L), then a
 * collective over the outer name on its result. */
static void b_outer(jx_val *o, const jx_val *in, void *u) {
    jx_val y;
    jx_call((const jx_fn *)u, 1, in, 1, &y);
    o[0] = jx_add(jx_psum(y, "i"), y);
}

static int inside_line;

static void b_outer_inside(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    inside_line = __LINE__, o[0] = jx_psum(in[0], "i"); /* the outer name inside the inner pmap */
}

/* pmap of a pmap, both over 2 devices: each outer device's inner pmap runs while the
 * outer one holds the devices' parked threads, so it starts threads of its own. */
static void test_pmap_of_pmap(void) {
    ndev = 2;
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(ndev), JX_OK);
    jx_aval av = JX_AVAL(JX_F64, L), av2 = JX_AVAL(JX_F64, 2, L);
    jx_fn *f = jx_trace("inner", b_inner, NULL, 1, &av, 1);
    jx_fn *ip = jx_pmap(f, JX_INTS(0), JX_INTS(0), "j"), *iv = jx_vmap_named(f, JX_INTS(0), JX_INTS(0), 2, "j");
    jx_fn *op = jx_trace("outer", b_outer, ip, 1, &av2, 1), *ov = jx_trace("outer", b_outer, iv, 1, &av2, 1);
    jx_fn *p = jx_pmap(op, JX_INTS(1), JX_INTS(1), "i");
    jx_fn *v = jx_vmap_named(ov, JX_INTS(1), JX_INTS(1), ndev, "i");
    uint64_t seed = 12;
    jx_array *x = jt_random(JX_INTS(2, ndev, L), -2, 2, &seed);
    check_same("pmap of pmap", p, v, 1, &x, 1e-12);
    /* a collective over the outer name inside the inner pmap: an error at its line */
    jx_fn *g = jx_trace("inside", b_outer_inside, NULL, 1, &av, 1), *gi = jx_pmap(g, JX_INTS(0), JX_INTS(0), "j");
    jx_fn *go = jx_pmap(gi, JX_INTS(1), JX_INTS(1), "i");
    jx_array *y = NULL;
    CU_ASSERT_EQUAL(jx_eval(go, 1, &x, 1, &y), JX_ERR_UNSUPPORTED);
    char want[128];
    snprintf(want, sizeof want, "test_pmap_compose.c:%d: psum: axis 'i' belongs to a pmap outside the pmap of axis 'j'",
             inside_line);
    CU_ASSERT_PTR_NOT_NULL(strstr(jx_errmsg(), want));
    jx_array_release(y);
    jx_array_release(x);
    jx_fn *fns[] = {f, ip, iv, op, ov, p, v, g, gi, go};
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) jx_fn_release(fns[k]);
}

/* jit of a body calling a pmapped function (and its grad), against the interpreter. */
static void test_jit_of_pmap(void) {
    ndev = 2;
    CU_ASSERT_EQUAL_FATAL(jx_set_cpu_device_count(ndev), JX_OK);
    jx_fn *f = loss_fn();
    jx_fn *p = jx_pmap(f, JX_INTS(0, JX_NOT_MAPPED), JX_NOINTS, "i");
    jx_aval av[2] = {JX_AVAL(JX_F64, ndev, L), JX_AVAL(JX_F64, L)};
    jx_fn *t = jx_trace("total", b_total, p, 2, av, 1);
    jx_fn *g = jx_value_and_grad(t, JX_INTS(0, 1));
    jx_exec *x = jx_jit(g, JX_DEVICE_CPU, NULL);
    if (!x) fprintf(stderr, "\n  jit failed: %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    uint64_t seed = 12;
    jx_array *in[2] = {jt_random(JX_INTS(ndev, L), -1, 1, &seed), jt_random(JX_INTS(L), -1, 1, &seed)};
    jx_array *a[3] = {NULL}, *b[3] = {NULL};
    CU_ASSERT_EQUAL(jx_exec_run(x, 2, in, 3, a), JX_OK);
    CU_ASSERT_EQUAL(jx_eval(g, 2, in, 3, b), JX_OK);
    for (int j = 0; j < 3 && a[j] && b[j]; j++) {
        double err = jt_max_err(a[j], jx_array_data(b[j]), jx_array_size(b[j]));
        CU_ASSERT(err <= 1e-12);
        jx_array_release(a[j]);
        jx_array_release(b[j]);
    }
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_exec_release(x);
    jx_fn *fns[] = {f, p, t, g};
    for (size_t k = 0; k < sizeof fns / sizeof fns[0]; k++) jx_fn_release(fns[k]);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"grad of pmap equals grad of vmap_named, 1 to 4 devices", test_grad_of_pmap},
        {"pmap of grad", test_pmap_of_grad},
        {"pmap of pmap", test_pmap_of_pmap},
        {"vmap of pmap", test_vmap_of_pmap},
        {"pmap of vmap, collectives over both names", test_pmap_of_vmap},
        {"jit of a body calling a pmapped function", test_jit_of_pmap},
        CU_TEST_INFO_NULL,
    };
    return jt_run("pmap composition", tests);
}
