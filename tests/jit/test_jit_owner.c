/* test_jit_owner.c: scatter_add and the cumulative ops inside loop kernels (fuse.c's
 * owner_folds, codegen_owner.c), as the CUDA backend compiles them, here compiled for the
 * CPU with a copy of its backend table that asks for them. scatter_add: an embedding's
 * gradient (indices wrapped, some dropped), a take along the last axis' (a batch dim), a
 * middle axis with dims on both sides and a 2-D index, f32, f64, i32 and u8 (wrapping),
 * -0.0 kept where nothing lands, the gradient of a lookup from jx_grad. cumsum, cumprod,
 * cummax and cummin: forwards and reversed along the first, a middle and the last axis,
 * NaNs among the extremes, i32 and u8 sums wrapping, bool max and min, the gradient of a
 * cumsum. Each runs on 1, 2 and 3 threads against the interpreter bit for bit, its op
 * found in a LOOP group with a kernel, and the elementwise op after it in that kernel.
 * The CPU's own table keeps them interpreted steps. */
#include <math.h>

#include "../../src/backends/cpu/cpu.h"
#include "../../src/jit/plan.h"
#include "harness.h"
#include "jit_util.h"

typedef struct sc_case {
    int axis, nbatch;
} sc_case;

/* (x, indices, updates) -> 2 * scatter_add(x, indices, updates): the multiply joins the
 * scatter's kernel */
static void scatter2(jx_val *out, const jx_val *in, void *u) {
    const sc_case *c = u;
    jx_val s = jx_scatter_add(in[0], in[1], in[2], c->axis, c->nbatch);
    out[0] = jx_mul(s, jx_scalar_like(s, 2));
}

/* (table, ids) -> sum(sin(table[ids])): its vjp scatters the cotangent into the table */
static void lookup_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sum(jx_sin(jx_gather(in[0], in[1], 0, 0)), JX_NOINTS);
}

static jx_array *ints(jx_dtype t, jx_ints shape, int lo, int hi) {
    jx_array *a = jx_array_zeros(t, shape);
    for (int64_t i = 0; i < jx_array_size(a); i++) {
        int64_t v = lo + (i * 7919 + 13) % (hi - lo);
        switch (t) {
        case JX_I32: ((int32_t *)jx_array_data_mut(a))[i] = (int32_t)v; break;
        case JX_U8: ((uint8_t *)jx_array_data_mut(a))[i] = (uint8_t)(v * 37); break;
        default: ((int64_t *)jx_array_data_mut(a))[i] = v; break;
        }
    }
    return a;
}

/* Values whose sums round differently in another order; every 5th x element -0.0. */
static jx_array *values(jx_dtype t, jx_ints shape, int seed) {
    if (t != JX_F32 && t != JX_F64) return ints(t, shape, -1000, 1000 + seed);
    jx_array *a = jx_array_zeros(t, shape);
    for (int64_t i = 0; i < jx_array_size(a); i++) {
        double v = seed == 0 && i % 5 == 0 ? -0.0 : ((double)((i * 37 + seed) % 101) - 50) / 7.0 * (1 + 1e-3 * (double)i);
        if (t == JX_F64) ((double *)jx_array_data_mut(a))[i] = v * 1e-7 + v;
        else ((float *)jx_array_data_mut(a))[i] = (float)v;
    }
    return a;
}

static bool is_owner_fold(int p) {
    return p == JX_PRIM_SCATTER_ADD || p == JX_PRIM_CUMSUM || p == JX_PRIM_CUMPROD || p == JX_PRIM_CUMMAX ||
           p == JX_PRIM_CUMMIN;
}

/* f's owner folds in LOOP steps when be builds its program. */
static int folds_in_loops(const jx_fn *f, const jx__backend *be) {
    jx__prog *p = jx__prog_build(f, true, be, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int n = 0;
    for (int k = 0; k < p->nsteps; k++)
        for (int i = 0; i < p->steps[k].g->neqn; i++)
            n += p->steps[k].kind == JX__G_LOOP && is_owner_fold(f->eqns[p->steps[k].g->eqns[i]].prim);
    jx__prog_free(p);
    return n;
}

/* The most equations a kernel holding an owner fold had in the last check. */
static int fold_group_eqns;

/* f compiled with owner folds on 1-3 threads against the interpreter; returns the owner
 * folds that ran in kernels. */
static int check(const char *what, const jx_fn *f, int nin, jx_array *const *in) {
    jx__backend be = jx__cpu_backend; /* as the CUDA backend's table */
    be.owner_folds = true;
    CU_ASSERT_EQUAL(folds_in_loops(f, &jx__cpu_backend), 0); /* the CPU's: interpreted */
    jx_fn *g = jx__jit_prepare(jx__noloc, f, &be);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    void *mod = be.module_new(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mod);
    CU_ASSERT_EQUAL_FATAL(be.module_set_cache_dir(mod, ""), JX_OK);
    jx__prog *p = jx__prog_build(g, true, &be, mod, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL_FATAL(be.module_compile(mod), JX_OK);
    int in_kernels = 0;
    fold_group_eqns = 0;
    for (int k = 0; k < p->nsteps; k++)
        for (int i = 0; i < p->steps[k].g->neqn; i++)
            if (p->steps[k].kernel && is_owner_fold(g->eqns[p->steps[k].g->eqns[i]].prim)) {
                in_kernels++;
                if (p->steps[k].g->neqn > fold_group_eqns) fold_group_eqns = p->steps[k].g->neqn;
            }
    jx_array *want = NULL, *got = NULL;
    CU_ASSERT_FATAL(jx_fn_num_outputs(f) == 1 && jx_eval(f, nin, in, 1, &want) == JX_OK);
    for (int t = 1; t <= 3; t++) {
        jx__rt rt = {be.runner_get(t), false};
        jx__frame *fr = rt.runner ? jx__frame_new(&rt, p) : NULL;
        CU_ASSERT_FATAL(fr && jx__frame_run(fr, in, NULL, &got) == JX_OK);
        bool same = ju_same_bits(got, want);
        if (!same) fprintf(stderr, "\n  %s with %d threads differs from the interpreter\n", what, t);
        CU_ASSERT(same);
        jx_array_release(got);
        jx__frame_free(fr);
    }
    jx_array_release(want);
    jx__prog_free(p);
    be.module_free(mod);
    jx_fn_release(g);
    return in_kernels;
}

/* scatter2 over x (dtype t, shape xs) with indices (shape is, values in [lo, hi)). */
static void check_case(const char *what, jx_dtype t, jx_ints xs, jx_ints is, int lo, int hi, sc_case c) {
    jx_aval xa = jx_aval_make(t, xs), ia = jx_aval_make(JX_I32, is), ua = xa;
    ua.rank = 0; /* updates: x.shape[:axis] + indices.shape[nbatch:] + x.shape[axis+1:] */
    for (int d = 0; d < c.axis; d++) ua.shape[ua.rank++] = xs.v[d];
    for (int d = c.nbatch; d < is.n; d++) ua.shape[ua.rank++] = is.v[d];
    for (int d = c.axis + 1; d < xs.n; d++) ua.shape[ua.rank++] = xs.v[d];
    jx_aval av[3] = {xa, ia, ua};
    jx_fn *f = jx_trace(what, scatter2, &c, 3, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[3] = {values(t, xs, 0), ints(JX_I32, is, lo, hi), values(t, (jx_ints){ua.shape, ua.rank}, 3)};
    CU_ASSERT_EQUAL(check(what, f, 3, in), 1);
    CU_ASSERT(fold_group_eqns >= 2); /* the multiply joined the scatter's kernel */
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    jx_fn_release(f);
}

static void test_scatters(void) {
    for (int t = 0; t < 4; t++) {
        jx_dtype dt = (jx_dtype[]){JX_F32, JX_F64, JX_I32, JX_U8}[t];
        /* an embedding's gradient: 37 rows, ids wrapped (negative) and some dropped */
        check_case("embedding", dt, JX_INTS(37, 24), JX_INTS(5, 11), -40, 45, (sc_case){0, 0});
        /* take along the last axis: batch dim 1, a row of 9 per index row */
        check_case("take_last", dt, JX_INTS(9, 30), JX_INTS(9, 6), -2, 32, (sc_case){1, 1});
        /* a middle axis, dims before and after it, a 2-D index per batch */
        check_case("middle", dt, JX_INTS(3, 5, 4, 2), JX_INTS(3, 3, 4), -1, 5, (sc_case){2, 1});
    }
    /* one scalar index per batch (no index dim): one update per row */
    check_case("scalar index", JX_F32, JX_INTS(6, 8), JX_INTS(6), 0, 8, (sc_case){1, 1});
}

static void test_lookup_grad(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 19, 16), JX_AVAL(JX_I32, 4, 9)};
    jx_fn *f = jx_trace("lookup_loss", lookup_loss, NULL, 2, av, 1);
    jx_fn *g = f ? jx_grad(f, JX_INTS(0)) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *in[2] = {values(JX_F32, JX_INTS(19, 16), 1), ints(JX_I32, JX_INTS(4, 9), -19, 19)};
    CU_ASSERT_EQUAL(check("lookup gradient", g, 2, in), 1);
    jx_array_release(in[0]), jx_array_release(in[1]);
    jx_fn_release(g), jx_fn_release(f);
}

typedef struct cum_case {
    int op, axis, reverse;
} cum_case;

/* x -> y + y for y = cumsum/cumprod/cummax/cummin(x): the add joins the fold's kernel */
static void cumulative(jx_val *out, const jx_val *in, void *u) {
    const cum_case *c = u;
    jx_val y = c->op == 0   ? jx_cumsum(in[0], c->axis, c->reverse)
               : c->op == 1 ? jx_cumprod(in[0], c->axis, c->reverse)
               : c->op == 2 ? jx_cummax(in[0], c->axis, c->reverse)
                            : jx_cummin(in[0], c->axis, c->reverse);
    out[0] = c->op >= 2 && jx_dtype_of(y) == JX_BOOL ? jx_not(y) : jx_add(y, y);
}

/* Every op forwards and reversed along each axis of x; 2 * 4 * rank kernels. */
static void check_cumulative(const char *what, jx_array *x, bool extremes_only) {
    jx_aval av = jx_array_aval(x);
    for (int op = extremes_only ? 2 : 0; op < 4; op++)
        for (int axis = 0; axis < av.rank; axis++)
            for (int rev = 0; rev < 2; rev++) {
                cum_case c = {op, axis, rev};
                char name[96];
                snprintf(name, sizeof name, "%s op %d axis %d%s", what, op, axis, rev ? " reversed" : "");
                jx_fn *f = jx_trace(name, cumulative, &c, 1, &av, 1);
                CU_ASSERT_PTR_NOT_NULL_FATAL(f);
                CU_ASSERT_EQUAL(check(name, f, 1, &x), 1);
                CU_ASSERT(fold_group_eqns >= 2);
                jx_fn_release(f);
            }
}

static void test_cumulative(void) {
    /* f32 near 1 (products stay finite), a NaN among the extremes, -0.0s */
    jx_array *x = values(JX_F32, JX_INTS(3, 17, 5), 2);
    float *v = jx_array_data_mut(x);
    for (int64_t i = 0; i < jx_array_size(x); i++) v[i] = 1.0f + v[i] / 64.0f;
    v[40] = NAN, v[3] = -0.0f, v[7] = -0.0f;
    check_cumulative("f32", x, false);
    jx_array_release(x);
    jx_array *d = values(JX_F64, JX_INTS(33, 4), 1);
    check_cumulative("f64", d, false);
    jx_array_release(d);
    jx_array *i = values(JX_I32, JX_INTS(6, 9), 5), *b = ints(JX_U8, JX_INTS(4, 21), 0, 255);
    check_cumulative("i32", i, false); /* products overflow and wrap */
    check_cumulative("u8", b, false);
    jx_array_release(i), jx_array_release(b);
    jx_array *t = jx_array_zeros(JX_BOOL, JX_INTS(5, 7));
    for (int k = 0; k < 35; k++) ((uint8_t *)jx_array_data_mut(t))[k] = (uint8_t)(k % 3 == 1);
    check_cumulative("bool", t, true);
    jx_array_release(t);
}

/* x -> sum(cumsum(x) * w): its gradient is a reversed cumsum of w */
static void cumsum_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_sum(jx_mul(jx_cumsum(in[0], 1, 0), jx_sin(in[0])), JX_NOINTS);
}

static void test_cumsum_grad(void) {
    jx_aval av = JX_AVAL(JX_F32, 4, 50);
    jx_fn *f = jx_trace("cumsum_loss", cumsum_loss, NULL, 1, &av, 1), *g = f ? jx_grad(f, JX_INTS(0)) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *x = values(JX_F32, JX_INTS(4, 50), 4);
    CU_ASSERT_EQUAL(check("cumsum gradient", g, 1, &x), 2); /* the forward's and the gradient's */
    jx_array_release(x);
    jx_fn_release(g), jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"scatter_add in loop kernels: axes, batch dims, dtypes, dropped indices", test_scatters},
        {"a lookup's gradient scattered in a kernel", test_lookup_grad},
        {"cumulative ops in loop kernels: axes, reversed, dtypes, NaNs", test_cumulative},
        {"a cumsum's gradient in kernels", test_cumsum_grad},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit owner folds: scatter_add and cumulative kernels", tests);
}
