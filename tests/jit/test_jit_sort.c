/* test_jit_sort.c: sort and top_k lowered to comparisons, sums and a gather
 * (src/jit/lower_sort.c), as the jit prepares them for the CUDA backend, here for a copy
 * of the CPU's backend table with owner folds: the lowered function, run by the
 * interpreter and compiled for the CPU, gives the sort's bytes. Cases: f32 with NaNs,
 * infinities and -0.0/+0.0 ties (a payload shows the order ties keep), every axis of a
 * 3-D value, two keys (i32, f32) with f64 and bool payloads, argsort, bool keys, top_k of
 * f32 with NaNs and ties, i32 and u8; no kernel stores the n x n comparisons. The CPU's
 * own table, and a sort past the work bound, keep the sort. */
#include <math.h>

#include "../../src/backends/cpu/cpu.h"
#include "../../src/jit/plan.h"
#include "harness.h"
#include "jit_util.h"

typedef struct sort_case {
    int axis, nops, nkeys, k; /* k > 0: top_k; nops < 0: argsort */
} sort_case;

static void body(jx_val *out, const jx_val *in, void *u) {
    const sort_case *c = u;
    if (c->k > 0) jx_top_k(in[0], c->k, &out[0], &out[1]);
    else if (c->nops < 0) out[0] = jx_argsort(in[0], c->axis);
    else jx_sort_multi(c->nops, in, c->axis, c->nkeys, out);
}

static int sorts_in(const jx_fn *f) {
    int n = 0;
    for (int k = 0; k < f->neqn; k++) n += f->eqns[k].prim == JX_PRIM_SORT || f->eqns[k].prim == JX_PRIM_TOP_K;
    return n;
}

/* Few distinct values, so that ties are many; NaNs, infinities and signed zeros in
 * floats. */
static jx_array *keys(jx_dtype t, jx_ints shape, int seed) {
    jx_array *a = jx_array_zeros(t, shape);
    static const double special[6] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, NAN};
    for (int64_t i = 0; i < jx_array_size(a); i++) {
        int64_t h = (i * 7919 + seed * 104729) % 13;
        double v = h < 6 && (t == JX_F32 || t == JX_F64) ? special[h] : (double)(h - 8) / 4;
        switch (t) {
        case JX_F32: ((float *)jx_array_data_mut(a))[i] = (float)v; break;
        case JX_F64: ((double *)jx_array_data_mut(a))[i] = v; break;
        case JX_I32: ((int32_t *)jx_array_data_mut(a))[i] = (int32_t)(h - 6); break;
        default: ((uint8_t *)jx_array_data_mut(a))[i] = (uint8_t)(t == JX_BOOL ? h % 2 : h * 19); break;
        }
    }
    return a;
}

/* c on in[] (all of shape shape): lowered (no sort left), its interpreter and CPU jit
 * bytes equal the sort's. */
static void check(const char *what, sort_case c, int nin, jx_array *const *in) {
    jx_aval av[4];
    for (int i = 0; i < nin; i++) av[i] = jx_array_aval(in[i]);
    int nout = c.k > 0 ? 2 : c.nops < 0 ? 1 : c.nops;
    jx_fn *f = jx_trace(what, body, &c, nin, av, nout);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx__backend be = jx__cpu_backend; /* as the CUDA backend's table */
    be.owner_folds = true;
    jx_fn *kept = jx__jit_prepare(jx__noloc, f, &jx__cpu_backend), *g = jx__jit_prepare(jx__noloc, f, &be);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kept);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(sorts_in(kept), 1);
    CU_ASSERT_EQUAL(sorts_in(g), 0);
    /* the n x n comparisons are summed inside their kernels, never stored */
    jx__fusion *fu = jx__fuse(g, true, &be);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fu);
    for (int k = 0; k < fu->ngroups; k++)
        for (int o = 0; o < fu->groups[k].nout; o++) CU_ASSERT(g->vars[fu->groups[k].out[o]].rank <= av[0].rank);
    jx__fusion_free(fu);
    jx_array *want[4] = {0}, *ev[4] = {0}, *got[4] = {0};
    jx_jit_opts o = {.nthreads = 2, .cache_dir = ""};
    jx_exec *x = jx_jit(g, JX_DEVICE_CPU, &o);
    CU_ASSERT_FATAL(jx_eval(f, nin, in, nout, want) == JX_OK && jx_eval(g, nin, in, nout, ev) == JX_OK);
    CU_ASSERT_FATAL(x && jx_exec_run(x, nin, in, nout, got) == JX_OK);
    for (int i = 0; i < nout; i++) {
        bool same = ju_same_bits(ev[i], want[i]) && ju_same_bits(got[i], want[i]);
        if (!same) fprintf(stderr, "\n  %s: output %d of the lowering differs from the sort's\n", what, i);
        CU_ASSERT(same);
        jx_array_release(want[i]), jx_array_release(ev[i]), jx_array_release(got[i]);
    }
    jx_exec_release(x);
    jx_fn_release(g), jx_fn_release(kept), jx_fn_release(f);
}

static void test_sorts(void) {
    jx_array *x = keys(JX_F32, JX_INTS(4, 23), 1), *pay = keys(JX_I32, JX_INTS(4, 23), 2);
    for (int64_t i = 0; i < 92; i++) ((int32_t *)jx_array_data_mut(pay))[i] = (int32_t)i; /* shows ties' order */
    check("f32 with a payload", (sort_case){1, 2, 1, 0}, 2, (jx_array *[]){x, pay});
    check("argsort f32", (sort_case){1, -1, 1, 0}, 1, &x);
    jx_array_release(x), jx_array_release(pay);
    jx_array *c = keys(JX_F64, JX_INTS(5, 6, 7), 3);
    for (int axis = 0; axis < 3; axis++) check("f64 3-D", (sort_case){axis, 1, 1, 0}, 1, &c);
    jx_array_release(c);
    jx_array *k1 = keys(JX_I32, JX_INTS(3, 30), 4), *k2 = keys(JX_F32, JX_INTS(3, 30), 5);
    jx_array *p1 = keys(JX_F64, JX_INTS(3, 30), 6), *p2 = keys(JX_BOOL, JX_INTS(3, 30), 7);
    check("two keys, two payloads", (sort_case){1, 4, 2, 0}, 4, (jx_array *[]){k1, k2, p1, p2});
    check("bool keys", (sort_case){0, 2, 1, 0}, 2, (jx_array *[]){p2, k1});
    jx_array_release(k1), jx_array_release(k2), jx_array_release(p1), jx_array_release(p2);
}

static void test_top_k(void) {
    jx_array *f = keys(JX_F32, JX_INTS(6, 17), 8), *i = keys(JX_I32, JX_INTS(2, 3, 11), 9), *b = keys(JX_U8, JX_INTS(40), 10);
    check("top_k f32", (sort_case){0, 1, 1, 5}, 1, &f);
    check("top_k f32 all", (sort_case){0, 1, 1, 17}, 1, &f);
    check("top_k i32", (sort_case){0, 1, 1, 4}, 1, &i);
    check("top_k u8", (sort_case){0, 1, 1, 1}, 1, &b);
    jx_array_release(f), jx_array_release(i), jx_array_release(b);
}

/* lanes x n x n past 2^32: the sort stays, a host step on the GPU */
static void test_bound(void) {
    jx__backend be = jx__cpu_backend;
    be.owner_folds = true;
    sort_case c = {0, 1, 1, 0};
    jx_aval small = JX_AVAL(JX_F32, 65536), large = JX_AVAL(JX_F32, 65537);
    for (int k = 0; k < 2; k++) {
        jx_fn *f = jx_trace("long sort", body, &c, 1, k ? &large : &small, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(jx__sort_lowerable(&be, f, &f->eqns[0]), k == 0);
        CU_ASSERT_FALSE(jx__sort_lowerable(&jx__cpu_backend, f, &f->eqns[0]));
        jx_fn_release(f);
    }
}

int main(void) {
    CU_TestInfo tests[] = {
        {"sort lowered: NaNs, ties, axes, keys, payloads", test_sorts},
        {"top_k lowered: NaNs, ties, dtypes", test_top_k},
        {"the work bound", test_bound},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit sort lowered to comparisons and a gather", tests);
}
