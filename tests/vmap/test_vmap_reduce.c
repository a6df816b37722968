/* test_vmap_reduce.c: batch rules of the reductions, argmax/argmin and the cumulative
 * ops checked against a loop of calls (jt_check_vmap) with the mapped axis before,
 * between and after the reduced axes; that no transpose is emitted for them; and vmap
 * of vmap. */
#include <stdbool.h>
#include <stdlib.h>

#include "gradcheck.h"
#include "vmap_check.h"

#define B 3 /* the mapped size */
#define I JX_INTS

typedef struct P {
    jx_ints axes;
    int axis, reverse;
    jx_dtype t; /* argmax/argmin index dtype */
} P;

/* One op on in[0] with the parameters in u. */
#define BODY(name, expr)                                     \
    static void name(jx_val *o, const jx_val *in, void *u) { \
        const P *p = u;                                      \
        o[0] = expr;                                         \
    }
BODY(b_sum, jx_reduce_sum(in[0], p->axes))
BODY(b_max, jx_reduce_max(in[0], p->axes))
BODY(b_min, jx_reduce_min(in[0], p->axes))
BODY(b_prod, jx_reduce_prod(in[0], p->axes))
BODY(b_argmax, jx_argmax(in[0], p->axis, p->t))
BODY(b_argmin, jx_argmin(in[0], p->axis, p->t))
BODY(b_cumsum, jx_cumsum(in[0], p->axis, p->reverse))
BODY(b_cumprod, jx_cumprod(in[0], p->axis, p->reverse))
BODY(b_cummax, jx_cummax(in[0], p->axis, p->reverse))
BODY(b_cummin, jx_cummin(in[0], p->axis, p->reverse))

/* A batched input of dtype t: shape with B inserted at axis; values in [-2, 2), or
 * small integers in [0, 2] for integer dtypes (so argmax sees ties). */
static jx_array *batched(jx_dtype t, jx_ints shape, int axis, uint64_t *seed) {
    int64_t s[JX_MAX_RANK + 1];
    if (axis < 0) axis += shape.n + 1;
    for (int i = 0, k = 0; i <= shape.n; i++) s[i] = i == axis ? B : shape.v[k++];
    bool integral = t != JX_F64;
    jx_array *f = jt_random((jx_ints){s, shape.n + 1}, integral ? 0 : -2, integral ? 3 : 2, seed);
    if (!f || !integral) return f;
    double *d = jx_array_data_mut(f);
    for (int64_t i = 0; i < jx_array_size(f); i++) d[i] = floor(d[i]);
    jx_array *y = jx_array_astype(f, t);
    jx_array_release(f);
    return y;
}

/* Checks vmap(body) on an input of dtype t and (unbatched) shape, mapped at each of
 * the axes in in_axes (every position of a rank-3 input, and -1). */
static int check(const char *name, jx_body body, P p, jx_dtype t, jx_ints shape) {
    jx_aval av = jx_aval_make(t, shape);
    jx_fn *f = jx_trace(name, body, &p, 1, &av, 1);
    if (!f) {
        fprintf(stderr, "\n  %s: trace failed: %s\n", name, jx_errmsg());
        return 0;
    }
    int ok = 1;
    uint64_t seed = 99;
    for (int a = -1; a <= shape.n; a++) {
        jx_array *x = batched(t, shape, a, &seed);
        char what[128];
        snprintf(what, sizeof what, "%s, mapped at %d", name, a);
        ok &= jt_check_vmap(what, f, I(a), 1, &x, 1e-12);
        jx_array_release(x);
    }
    jx_fn_release(f);
    return ok;
}
#define CHECK(name, body, p, t, ...) CU_ASSERT(check(name, body, p, t, I(__VA_ARGS__)))

static void test_reduce(void) {
    static const struct {
        const char *name;
        jx_body body;
    } ops[] = {{"reduce_sum", b_sum}, {"reduce_max", b_max}, {"reduce_min", b_min},
               {"reduce_prod", b_prod}};
    const jx_ints axes[] = {I(0), I(1), I(2), I(0, 2), I(0, 1, 2), JX_NOINTS}; /* last: all */
    for (int k = 0; k < 4; k++)
        for (int a = 0; a < 6; a++) {
            char name[64];
            snprintf(name, sizeof name, "%s axes #%d", ops[k].name, a);
            CHECK(name, ops[k].body, ((P){.axes = axes[a]}), JX_F64, 2, 3, 4);
        }
    CHECK("reduce_max i32", b_max, ((P){.axes = I(1)}), JX_I32, 2, 3, 4);
    CHECK("reduce_sum i64", b_sum, ((P){.axes = I(0)}), JX_I64, 4, 2);
}

static void test_arg(void) {
    for (int axis = 0; axis < 3; axis++) {
        CHECK("argmax f64", b_argmax, ((P){.axis = axis, .t = JX_I32}), JX_F64, 2, 3, 4);
        CHECK("argmin f64", b_argmin, ((P){.axis = axis, .t = JX_I64}), JX_F64, 2, 3, 4);
        CHECK("argmax ties", b_argmax, ((P){.axis = axis, .t = JX_I64}), JX_I32, 2, 3, 4);
        CHECK("argmin ties", b_argmin, ((P){.axis = axis, .t = JX_I32}), JX_I32, 2, 3, 4);
    }
    CHECK("argmax rank 1", b_argmax, ((P){.axis = 0, .t = JX_I32}), JX_F64, 5);
}

static void test_cumulative(void) {
    jx_body ops[] = {b_cumsum, b_cumprod, b_cummax, b_cummin};
    const char *names[] = {"cumsum", "cumprod", "cummax", "cummin"};
    for (int k = 0; k < 4; k++)
        for (int axis = 0; axis < 3; axis++)
            for (int rev = 0; rev < 2; rev++) {
                char name[64];
                snprintf(name, sizeof name, "%s axis %d reverse %d", names[k], axis, rev);
                CHECK(name, ops[k], ((P){.axis = axis, .reverse = rev}), JX_F64, 2, 3, 4);
            }
    CHECK("cummax i32", b_cummax, ((P){.axis = 1, .reverse = 1}), JX_I32, 2, 5);
}

/* The mapped axis stays where it is: the batched function is the one primitive. */
static void test_single_equation(void) {
    struct {
        jx_body body;
        P p;
        int64_t in, out;
    } cases[] = {
        {b_sum, {.axes = I(0)}, 1, 0},          /* reduced axis below the mapped one */
        {b_sum, {.axes = I(1, 2)}, 1, 1},       /* reduced axes above it */
        {b_argmax, {.axis = 2, .t = JX_I32}, 2, 2},
        {b_argmin, {.axis = 0, .t = JX_I32}, 3, 2},
        {b_cumsum, {.axis = 1, .reverse = 1}, 1, 1},
        {b_cummin, {.axis = 2}, 3, 3},
    };
    jx_aval av = JX_AVAL(JX_F64, 2, 3, 4);
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        jx_fn *f = jx_trace("f", cases[k].body, &cases[k].p, 1, &av, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        jx_fn *g = jx_vmap(f, I(cases[k].in), I(cases[k].out), B);
        CU_ASSERT_PTR_NOT_NULL_FATAL(g);
        if (jx_fn_num_eqns(g) != 1) {
            fprintf(stderr, "\n  case %zu: %d equations\n", k, jx_fn_num_eqns(g));
            jx_fn_print(stderr, g);
        }
        CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 1);
        jx_fn_release(g);
        jx_fn_release(f);
    }
}

/* vmap of vmap: per-example sums over two mapped axes. */
static void test_nested(void) {
    jx_aval av = JX_AVAL(JX_F64, 3, 4);
    P p = {.axes = I(1)}, q = {.axis = 0, .reverse = 1};
    jx_body bodies[2] = {b_sum, b_cumprod};
    void *ps[2] = {&p, &q};
    for (int k = 0; k < 2; k++) {
        jx_fn *f = jx_trace("f", bodies[k], ps[k], 1, &av, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        uint64_t seed = 5;
        jx_array *x = jt_random(I(3, 2, 4, 5), -1, 1, &seed); /* outer axis 1, inner last */
        CU_ASSERT(jt_check_vmap_nested("nested", f, I(-1), I(0), 5, I(1), I(0), 2, 1, &x, 1e-12));
        jx_array_release(x);
        jx_fn_release(f);
    }
}

int main(void) {
    CU_TestInfo tests[] = {
        {"reduce_sum/max/min/prod", test_reduce},
        {"argmax/argmin (ties pick the first)", test_arg},
        {"cumsum/cumprod/cummax/cummin, both directions", test_cumulative},
        {"no transpose: one equation", test_single_equation},
        {"vmap of vmap", test_nested},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmap reduce", tests);
}
