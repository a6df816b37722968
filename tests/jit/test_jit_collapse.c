/* test_jit_collapse.c: loop groups seen with adjacent dims merged
 * (src/backends/cpu/codegen_collapse.c). Batch norm's column sums over NHWC become sums
 * over one axis of a 2-D array, a per-channel broadcast a broadcast of the last dim, size-1
 * dims merge with their neighbours where the result allows; a broadcast along a middle
 * dim, a transpose or an iota leaves the group as it is. Every function here gives the
 * interpreter's bits when compiled, at sizes where the kernels are optimised and where
 * they are not. */
#include <stdio.h>
#include <stdlib.h>

#include "../../src/backends/cpu/codegen_collapse.h"
#include "../../src/jit/jit.h"
#include "jit_util.h"

static void colsum(jx_val *out, const jx_val *in, void *u) { /* sum over N, H, W of NHWC */
    (void)u;
    out[0] = jx_reduce_sum(jx_mul(in[0], in[0]), JX_INTS(0, 1, 2));
}

static void bias(jx_val *out, const jx_val *in, void *u) { /* x + b per channel */
    (void)u;
    jx_aval a = jx_aval_of(in[0]);
    out[0] = jx_add(in[0], jx_broadcast_in_dim(in[1], JX_INTS(a.shape[0], a.shape[1], a.shape[2], a.shape[3]), JX_INTS(3)));
}

static void stats(jx_val *out, const jx_val *in, void *u) { /* f32[1,1,1,C] statistics, as batch norm keeps them */
    (void)u;
    jx_aval a = jx_aval_of(in[0]);
    jx_val m = jx_reshape(jx_reduce_max(in[0], JX_INTS(0, 1, 2)), JX_INTS(1, 1, 1, a.shape[3]));
    out[0] = jx_sub(in[0], jx_broadcast_in_dim(m, JX_INTS(a.shape[0], a.shape[1], a.shape[2], a.shape[3]),
                                               JX_INTS(0, 1, 2, 3)));
}

static void middle(jx_val *out, const jx_val *in, void *u) { /* rows of H, W summed per (N, C) */
    (void)u;
    out[0] = jx_reduce_sum(jx_exp(in[0]), JX_INTS(1, 2));
}

static void across(jx_val *out, const jx_val *in, void *u) { /* y[n, w] broadcast along h */
    (void)u;
    jx_aval a = jx_aval_of(in[0]);
    out[0] = jx_mul(in[0], jx_broadcast_in_dim(in[1], JX_INTS(a.shape[0], a.shape[1], a.shape[2]), JX_INTS(0, 2)));
}

static void transposed(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(jx_transpose(in[0], JX_INTS(1, 0, 2)), jx_scalar_like(in[0], 1));
}

/* The first loop group of f's fusion with the CPU backend's choices. */
static jx__group *first_loop(jx__fusion *fu) {
    for (int g = 0; g < fu->ngroups; g++)
        if (fu->groups[g].kind == JX__G_LOOP) return &fu->groups[g];
    return NULL;
}

static bool has_shape(const jx_aval *a, jx_ints want) {
    if (a->rank != want.n) return false;
    for (int d = 0; d < a->rank; d++)
        if (a->shape[d] != want.v[d]) return false;
    return true;
}

/* Collapses the first loop group of f: returns whether it did; *v keeps the view. */
static bool view_of(const jx_fn *f, jx__fusion **fu, jx__group **g, jx__cg_view *v) {
    *fu = jx__fuse(f, true, &jx__cpu_backend);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*fu);
    *g = first_loop(*fu);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*g);
    return jx__cg_collapse(f, *g, v);
}

/* Compiles f (cache cleared) and asserts every output has the interpreter's bits. */
static void same_bits(const jx_fn *f, int nin, jx_array *const *in) {
    jx_jit_cache_clear();
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *got = NULL, *want = NULL;
    CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, nin, in, 1, &got), JX_OK);
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, nin, in, 1, &want), JX_OK);
    if (!ju_same_bits(got, want)) fprintf(stderr, "\n  %s: the jit's bits differ from the interpreter's\n", f->name);
    CU_ASSERT(ju_same_bits(got, want));
    jx_array_release(got);
    jx_array_release(want);
    jx_exec_release(x);
}

static jx_fn *trace(const char *name, jx_body body, int nin, const jx_aval *av) {
    jx_fn *f = jx_trace(name, body, NULL, nin, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    return f;
}

/* Runs f on ramps of its input shapes and compares with the interpreter. */
static void check_bits(const jx_fn *f) {
    jx_array *in[2] = {0};
    for (int i = 0; i < f->nin; i++) {
        const jx_aval *a = &f->vars[f->in[i]];
        in[i] = ju_ramp((jx_ints){a->shape, a->rank}, 0.013 * (i + 1), -3.0);
    }
    same_bits(f, f->nin, in);
    for (int i = 0; i < f->nin; i++) jx_array_release(in[i]);
}

/* The end of a case: the view and fusion freed, f's bits checked, f released. */
static void finish(jx__cg_view *v, jx__fusion *fu, jx_fn *f) {
    if (v) jx__cg_view_free(v);
    jx__fusion_free(fu);
    check_bits(f);
    jx_fn_release(f);
}

static void test_colsum(void) {
    for (int big = 0; big < 2; big++) {
        jx_aval av = big ? JX_AVAL(JX_F32, 16, 10, 12, 8) : JX_AVAL(JX_F32, 2, 3, 5, 4);
        jx_fn *f = trace("colsum", colsum, 1, &av);
        jx__fusion *fu;
        jx__group *g;
        jx__cg_view v;
        CU_ASSERT_FATAL(view_of(f, &fu, &g, &v));
        int64_t n = av.shape[0] * av.shape[1] * av.shape[2];
        CU_ASSERT(has_shape(&v.f.vars[f->in[0]], JX_INTS(n, av.shape[3])));
        CU_ASSERT(has_shape(&v.f.vars[g->out[0]], JX_INTS(av.shape[3])));
        const jx__eqn *e = NULL;
        for (int32_t i = 0; i < g->neqn; i++)
            if (v.f.eqns[g->eqns[i]].prim == JX_PRIM_REDUCE_SUM) e = &v.f.eqns[g->eqns[i]];
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        jx_ints axes = jx__attr_ints(e->nattr, e->attrs, JX_A_AXES);
        CU_ASSERT(axes.n == 1 && axes.v[0] == 0);
        /* the original is untouched */
        CU_ASSERT(has_shape(&f->vars[f->in[0]], JX_INTS(av.shape[0], av.shape[1], av.shape[2], av.shape[3])));
        CU_ASSERT_EQUAL(jx__attr_ints(f->eqns[g->eqns[g->neqn - 1]].nattr, f->eqns[g->eqns[g->neqn - 1]].attrs,
                                      JX_A_AXES).n, 3);
        finish(&v, fu, f);
    }
}

static void test_bias(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 16, 10, 12, 8), JX_AVAL(JX_F32, 8)};
    jx_fn *f = trace("bias", bias, 2, av);
    jx__fusion *fu;
    jx__group *g;
    jx__cg_view v;
    CU_ASSERT_FATAL(view_of(f, &fu, &g, &v));
    CU_ASSERT(has_shape(&v.f.vars[g->out[0]], JX_INTS(1920, 8)));
    CU_ASSERT(has_shape(&v.f.vars[f->in[1]], JX_INTS(8)));
    for (int32_t i = 0; i < g->neqn; i++) {
        const jx__eqn *e = &v.f.eqns[g->eqns[i]];
        if (e->prim != JX_PRIM_BROADCAST_IN_DIM) continue;
        jx_ints dims = jx__attr_ints(e->nattr, e->attrs, JX_A_DIMS), shape = jx__attr_ints(e->nattr, e->attrs, JX_A_SHAPE);
        CU_ASSERT(dims.n == 1 && dims.v[0] == 1);
        CU_ASSERT(shape.n == 2 && shape.v[0] == 1920 && shape.v[1] == 8);
    }
    finish(&v, fu, f);
}

static void test_stats(void) {
    jx_aval av = JX_AVAL(JX_F32, 16, 10, 12, 8);
    jx_fn *f = trace("stats", stats, 1, &av);
    jx__fusion *fu = jx__fuse(f, true, &jx__cpu_backend);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fu);
    int seen = 0;
    for (int k = 0; k < fu->ngroups; k++) { /* every loop group: the [1,1,1,8] ones are [1,8] */
        jx__group *g = &fu->groups[k];
        jx__cg_view v;
        if (g->kind != JX__G_LOOP || !jx__cg_collapse(f, g, &v)) continue;
        seen++;
        for (int32_t i = 0; i < g->neqn; i++) {
            const jx__eqn *e = &v.f.eqns[g->eqns[i]];
            for (int j = 0; j < e->nout; j++) {
                const jx_aval *a = &v.f.vars[e->out[j]];
                CU_ASSERT(has_shape(a, JX_INTS(1920, 8)) || has_shape(a, JX_INTS(1, 8)) || has_shape(a, JX_INTS(8)));
            }
        }
        jx__cg_view_free(&v);
    }
    CU_ASSERT(seen >= 1);
    finish(NULL, fu, f);
}

static void test_middle(void) {
    jx_aval av = JX_AVAL(JX_F32, 6, 10, 12, 8);
    jx_fn *f = trace("middle", middle, 1, &av);
    jx__fusion *fu;
    jx__group *g;
    jx__cg_view v;
    CU_ASSERT_FATAL(view_of(f, &fu, &g, &v));
    CU_ASSERT(has_shape(&v.f.vars[f->in[0]], JX_INTS(6, 120, 8)));
    CU_ASSERT(has_shape(&v.f.vars[g->out[0]], JX_INTS(6, 8)));
    finish(&v, fu, f);
}

/* Nothing merges: y[n, w] broadcast along h ties n and w apart; a transpose is left alone. */
static void test_left_alone(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 8, 30, 40), JX_AVAL(JX_F32, 8, 40)};
    jx_fn *fs[2] = {trace("across", across, 2, av), trace("transposed", transposed, 1, av)};
    for (int i = 0; i < 2; i++) {
        jx__fusion *fu;
        jx__group *g;
        jx__cg_view v;
        CU_ASSERT(!view_of(fs[i], &fu, &g, &v));
        CU_ASSERT_PTR_NULL(v.vars);
        finish(NULL, fu, fs[i]);
    }
}

int main(void) {
    CU_TestInfo tests[] = {
        {"a column sum over N, H, W sums one axis of a 2-D array, the interpreter's bits", test_colsum},
        {"a per-channel bias: a broadcast of the last dim", test_bias},
        {"statistics kept as [1,1,1,C] are [1,C]", test_stats},
        {"a sum over H, W of NHWC: the two merge, N and C stay", test_middle},
        {"a broadcast along a middle dim, a transpose: nothing merges", test_left_alone},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_collapse", tests);
}
