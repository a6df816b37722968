/* test_cuda_epilogue.c: GEMM epilogues on cuBLASLt (src/jit/fuse_epilogue.c,
 * src/backends/cuda/dot_lt.c) over the fake driver and its fake cuBLASLt
 * (fake_cublaslt.c), which computes what its descriptors describe. A dense layer's bias
 * add (x . w + b, the bias on either side, f32 and f64, operands stored transposed) runs
 * as one cublasLtMatmul with the BIAS epilogue and no kernel; the sum of a dot's operand
 * over its contracting dim (the bias gradient of dw = x^T . dy) comes out of the dot's
 * own call (BGRADA for operand 1, BGRADB for operand 0), both results matching the
 * interpreter; a program of such steps is captured as a graph and replayed; an MLP's
 * training step puts every bias add and every bias gradient in its dots' calls; and where
 * cuBLASLt has no algorithm, fusion leaves the epilogue a kernel of its own. */
#define _POSIX_C_SOURCE 200809L

#include "../../src/backends/cuda/cuda.h"
#include "../../src/jit/plan.h"
#include "fake_load.h"
#include "harness.h"
#include "rel_err.h"

static jxfake_stats *fk;

static jx_array *filled(jx_dtype t, const jx_aval *av, int seed) {
    jx_array *a = jx_array_zeros(t, (jx_ints){av->shape, av->rank});
    for (int64_t i = 0; i < jx_array_size(a); i++) {
        double v = (double)(((i * 7 + seed * 5) % 13) - 6) / 8 + 0x1p-12 * (double)(i % 5);
        if (t == JX_F64) ((double *)jx_array_data_mut(a))[i] = v;
        else ((float *)jx_array_data_mut(a))[i] = (float)v;
    }
    return a;
}

/* The program's one step: a DOT with epilogue `kind` and n equations in its group. */
static void expect_one_dot(const jx_fn *f, jx__epi_kind kind, int neqn) {
    jx__prog *p = jx__prog_build(f, true, &jx__cuda_backend, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nsteps, 1);
    CU_ASSERT(p->steps[0].kind == JX__G_DOT && p->steps[0].g->neqn == neqn);
    CU_ASSERT(p->steps[0].epi && p->steps[0].epi->kind == kind);
    jx__prog_free(p);
}

/* Runs f on device copies of its inputs (seeded fills) against the interpreter: each
 * output's relative error at most tol, one cublasLtMatmul with epilogue lt_epi, no
 * cuBLAS GEMM and no kernel. */
static void run_against_interp(jx_fn *f, int nout, double tol, int lt_epi) {
    jx_exec *x = jx_jit(f, JX_DEVICE_CUDA, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *host[4], *dev[4], *got[2] = {NULL}, *want[2] = {NULL};
    for (int i = 0; i < f->nin; i++) {
        host[i] = filled(f->vars[f->in[i]].dtype, &f->vars[f->in[i]], i + 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(dev[i] = jx_array_to(host[i], JX_DEVICE_CUDA));
    }
    long lt = fk->lt_matmuls + fk->lt_matmuls_replayed, gemms = fk->gemms + fk->gemms_replayed;
    long launches = fk->launches + fk->launches_replayed;
    jx_status st = jx_exec_run(x, f->nin, dev, nout, got);
    if (st != JX_OK) fprintf(stderr, "\n  %s: %s\n", f->name, jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, JX_OK);
    CU_ASSERT_EQUAL(fk->lt_matmuls + fk->lt_matmuls_replayed - lt, 1);
    CU_ASSERT_EQUAL(fk->last_lt_epilogue, lt_epi);
    CU_ASSERT_EQUAL(fk->gemms + fk->gemms_replayed - gemms, 0);
    CU_ASSERT_EQUAL(fk->launches + fk->launches_replayed - launches, 0);
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, f->nin, host, nout, want), JX_OK);
    for (int o = 0; o < nout; o++) {
        double e = rel_err(got[o], want[o]);
        if (!(e <= tol)) fprintf(stderr, "\n  %s output %d: relative error %g\n", f->name, o, e);
        CU_ASSERT(e <= tol);
        jx_array_release(got[o]), jx_array_release(want[o]);
    }
    for (int i = 0; i < f->nin; i++) jx_array_release(host[i]), jx_array_release(dev[i]);
    jx_exec_release(x);
}

/* ------------------------------------------------------------------ bias */

typedef struct dense {
    bool bias_first; /* b + x . w */
    bool xt, wt;     /* x stored (k, m); w stored (n, k) */
} dense;

static void dense_body(jx_val *out, const jx_val *in, void *u) {
    const dense *d = u;
    jx_val y = jx_dot_general(in[0], in[1], JX_INTS(d->xt ? 0 : 1), JX_INTS(d->wt ? 1 : 0), JX_NOINTS, JX_NOINTS);
    out[0] = d->bias_first ? jx_add(in[2], y) : jx_add(y, in[2]);
}

static void bias_case(dense d, jx_dtype t, int64_t m, int64_t k, int64_t n) {
    jx_aval av[3] = {d.xt ? JX_AVAL(t, k, m) : JX_AVAL(t, m, k), d.wt ? JX_AVAL(t, n, k) : JX_AVAL(t, k, n),
                     JX_AVAL(t, n)};
    jx_fn *f = jx_trace("dense", dense_body, &d, 3, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    expect_one_dot(f, JX__EPI_BIAS, 3);
    run_against_interp(f, 1, t == JX_F64 ? 1e-14 : 1e-6, 4 /* CUBLASLT_EPILOGUE_BIAS */);
    jx_fn_release(f);
}

static void test_bias(void) {
    bias_case((dense){false, false, false}, JX_F32, 5, 7, 3);
    bias_case((dense){true, false, false}, JX_F32, 4, 6, 9);
    bias_case((dense){false, true, true}, JX_F32, 6, 3, 5);
    bias_case((dense){false, false, true}, JX_F64, 3, 8, 4);
}

/* ------------------------------------------------------------------ bias gradient */

typedef struct wgrad {
    bool dy_first; /* dy^T . x (the sum of operand 0) rather than x^T . dy (operand 1) */
} wgrad;

/* dw and db of a dense layer: x (B, i), dy (B, o) -> x^T . dy (i, o), sum(dy, 0) (o). */
static void wgrad_body(jx_val *out, const jx_val *in, void *u) {
    const wgrad *w = u;
    out[0] = w->dy_first ? jx_dot_general(in[1], in[0], JX_INTS(0), JX_INTS(0), JX_NOINTS, JX_NOINTS)
                         : jx_dot_general(in[0], in[1], JX_INTS(0), JX_INTS(0), JX_NOINTS, JX_NOINTS);
    out[1] = jx_reduce_sum(in[1], JX_INTS(0));
}

static void test_bgrad(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 8, 5), JX_AVAL(JX_F32, 8, 3)};
    for (int side = 0; side < 2; side++) {
        wgrad w = {side == 1};
        jx_fn *f = jx_trace("wgrad", wgrad_body, &w, 2, av, 2);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        expect_one_dot(f, side ? JX__EPI_BGRAD0 : JX__EPI_BGRAD1, 2);
        run_against_interp(f, 2, 1e-6, side ? 512 /* BGRADB */ : 256 /* BGRADA */);
        jx_fn_release(f);
    }
}

/* ------------------------------------------------------------------ graphs */

/* Two dense layers, no activation: two epilogue steps and nothing else. */
static void two_layers(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(jx_matmul(jx_add(jx_matmul(in[0], in[1]), in[2]), in[3]), in[4]);
}

static void test_graph(void) {
    jx_aval av[5] = {JX_AVAL(JX_F32, 4, 6), JX_AVAL(JX_F32, 6, 5), JX_AVAL(JX_F32, 5), JX_AVAL(JX_F32, 5, 2),
                     JX_AVAL(JX_F32, 2)};
    jx_fn *f = jx_trace("two_layers", two_layers, NULL, 5, av, 1);
    jx_exec *x = f ? jx_jit(f, JX_DEVICE_CUDA, NULL) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *host[5], *dev[5], *want = NULL;
    for (int i = 0; i < 5; i++) {
        host[i] = filled(JX_F32, &av[i], i);
        CU_ASSERT_PTR_NOT_NULL_FATAL(dev[i] = jx_array_to(host[i], JX_DEVICE_CUDA));
    }
    CU_ASSERT_EQUAL_FATAL(jx_eval(f, 5, host, 1, &want), JX_OK);
    long cap = fk->captures_ended, direct = fk->lt_matmuls, replayed = fk->lt_matmuls_replayed;
    for (int run = 0; run < 3; run++) {
        jx_array *got = NULL;
        CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 5, dev, 1, &got), JX_OK);
        CU_ASSERT(rel_err(got, want) <= 1e-6);
        jx_array_release(got);
    }
    CU_ASSERT_EQUAL(fk->captures_ended - cap, 1);
    CU_ASSERT_EQUAL(fk->lt_matmuls - direct, 0);
    CU_ASSERT_EQUAL(fk->lt_matmuls_replayed - replayed, 6);
    CU_ASSERT_EQUAL(fk->capture_violations, 0);
    jx_array_release(want);
    for (int i = 0; i < 5; i++) jx_array_release(host[i]), jx_array_release(dev[i]);
    jx_exec_release(x);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ an MLP's training step */

/* loss = sum((relu(x w1 + b1) w2 + b2 - t)^2) */
static void mlp_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val h = jx_relu(jx_add(jx_matmul(in[4], in[0]), in[1]));
    jx_val d = jx_sub(jx_add(jx_matmul(h, in[2]), in[3]), in[5]);
    out[0] = jx_sum(jx_mul(d, d), JX_NOINTS);
}

/* Counts the program's DOT steps with epilogue `kind`, and its LOOP steps that are a lone
 * reduce_sum of a 2-D value over dim 0 (a bias gradient left to a kernel). */
static void count_steps(const jx__prog *p, int *bias, int *bgrad, int *lone_sums) {
    *bias = *bgrad = *lone_sums = 0;
    for (int k = 0; k < p->nsteps; k++) {
        const jx__step *s = &p->steps[k];
        if (s->kind == JX__G_DOT && s->epi) *(s->epi->kind == JX__EPI_BIAS ? bias : bgrad) += 1;
        const jx__eqn *e = &p->f->eqns[s->g->eqns[0]];
        jx_ints axes = jx__attr_ints(e->nattr, e->attrs, JX_A_AXES);
        if (s->g->kind == JX__G_LOOP && s->g->neqn == 1 && e->prim == JX_PRIM_REDUCE_SUM &&
            jx__atom_aval(p->f, &e->in[0]).rank == 2 && axes.n == 1 && axes.v[0] == 0)
            *lone_sums += 1;
    }
}

static void test_mlp_step(void) {
    jx_aval av[6] = {JX_AVAL(JX_F32, 12, 16), JX_AVAL(JX_F32, 16), JX_AVAL(JX_F32, 16, 4),
                     JX_AVAL(JX_F32, 4),      JX_AVAL(JX_F32, 32, 12), JX_AVAL(JX_F32, 32, 4)};
    jx_fn *f = jx_trace("mlp_loss", mlp_loss, NULL, 6, av, 1);
    jx_fn *g = f ? jx_value_and_grad(f, JX_INTS(0, 1, 2, 3)) : NULL;
    jx_fn *h = g ? jx__jit_prepare(jx__noloc, g, &jx__cuda_backend) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    int bias, bgrad, lone;
    jx__prog *p = jx__prog_build(h, true, &jx__cuda_backend, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    count_steps(p, &bias, &bgrad, &lone);
    CU_ASSERT_EQUAL(bias, 2);  /* both layers' forward bias adds */
    CU_ASSERT_EQUAL(bgrad, 2); /* db1 and db2 beside dw1 and dw2 */
    CU_ASSERT_EQUAL(lone, 0);
    jx__prog *q = jx__prog_build(h, true, &jx__cpu_backend, NULL, NULL); /* the CPU has no epilogues */
    CU_ASSERT_PTR_NOT_NULL_FATAL(q);
    count_steps(q, &bias, &bgrad, &lone);
    CU_ASSERT_EQUAL(bias + bgrad, 0);
    CU_ASSERT_EQUAL(lone, 2);
    CU_ASSERT_EQUAL(q->nsteps - p->nsteps, 2); /* the two bias-gradient kernels */
    jx__prog_free(p), jx__prog_free(q);
    jx_fn_release(h), jx_fn_release(g), jx_fn_release(f);
}

/* ------------------------------------------------------------------ no algorithm */

static void test_refused(void) {
    fk->lt_refuse = 1; /* a shape no other test plans: plans are kept for the process */
    jx_aval av[3] = {JX_AVAL(JX_F32, 11, 13), JX_AVAL(JX_F32, 13, 17), JX_AVAL(JX_F32, 17)};
    dense d = {false, false, false};
    jx_fn *f = jx_trace("dense", dense_body, &d, 3, av, 1);
    jx__prog *p = f ? jx__prog_build(f, true, &jx__cuda_backend, NULL, NULL) : NULL;
    fk->lt_refuse = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(p->nsteps, 2); /* the GEMM on cuBLAS, the bias add a kernel */
    CU_ASSERT(p->steps[0].kind == JX__G_DOT && !p->steps[0].epi && p->steps[0].g->neqn == 1);
    CU_ASSERT(p->steps[1].g->kind == JX__G_LOOP);
    jx__prog_free(p);
    jx_fn_release(f);
}

int main(void) {
    void *h;
    if (!(fk = jxfake_load("test_cuda_epilogue", &h))) return 1;
    CU_TestInfo tests[] = {
        {"x . w + b as one cublasLtMatmul with the BIAS epilogue", test_bias},
        {"a dot's operand summed in its call (BGRADA, BGRADB)", test_bgrad},
        {"epilogue steps captured as a graph and replayed", test_graph},
        {"an MLP's training step: every bias add and bias gradient in a GEMM", test_mlp_step},
        {"no cuBLASLt algorithm: the epilogue stays a kernel", test_refused},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("cuda GEMM epilogues (fake cuBLASLt)", tests);
    jx_jit_cache_clear();
    dlclose(h);
    return rc;
}
