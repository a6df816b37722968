/* test_jit_api.c: the public jit API: results equal the interpreter's, the compile cache
 * (hits, misses, keys), argument donation, wrong inputs, determinism across runs and
 * thread counts, the interpreter device, and inlining of calls and custom rules. */
#define _POSIX_C_SOURCE 200809L
#include "jit_util.h"

/* out[0] = tanh(x @ w + b), out[1] = sum(out[0] * out[0])    x (4,3), w (3,5), b (5) */
static void layer(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val h = jx_tanh(jx_add(jx_matmul(in[0], in[1]), in[2]));
    out[0] = h;
    out[1] = jx_sum(jx_mul(h, h), JX_NOINTS);
}

static jx_fn *trace_layer(int64_t batch) {
    jx_aval av[3] = {JX_AVAL(JX_F32, batch, 3), JX_AVAL(JX_F32, 3, 5), JX_AVAL(JX_F32, 5)};
    return jx_trace("layer", layer, NULL, 3, av, 2);
}

static void layer_inputs(int64_t batch, jx_array **in) {
    in[0] = ju_ramp(JX_INTS(batch, 3), 0.1, -0.5);
    in[1] = ju_ramp(JX_INTS(3, 5), -0.05, 0.3);
    in[2] = ju_ramp(JX_INTS(5), 0.2, -0.1);
}

static void release_n(int n, jx_array **a) {
    for (int i = 0; i < n; i++) jx_array_release(a[i]);
}

static void test_matches_eval(void) {
    jx_fn *f = trace_layer(4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_array *in[3];
    layer_inputs(4, in);
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 3, in), 2);
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_INTERP, NULL, 3, in), 2);
    release_n(3, in);
    jx_fn_release(f);
}

static void test_cache_hit_miss(void) {
    jx_jit_cache_clear();
    jx_fn *f = trace_layer(4), *f2 = trace_layer(4); /* equal text, another object */
    jx_jit_stats s0 = jx_jit_stats_get();
    jx_exec *a = jx_jit(f, JX_DEVICE_CPU, NULL);
    jx_jit_stats s1 = jx_jit_stats_get();
    jx_exec *b = jx_jit(f, JX_DEVICE_CPU, NULL);
    jx_exec *c = jx_jit(f2, JX_DEVICE_CPU, NULL);
    jx_jit_stats s2 = jx_jit_stats_get();
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_EQUAL(s1.misses - s0.misses, 1);
    CU_ASSERT_EQUAL(s1.hits - s0.hits, 0);
    CU_ASSERT_EQUAL(s2.misses - s1.misses, 0);
    CU_ASSERT_EQUAL(s2.hits - s1.hits, 2);
    CU_ASSERT_PTR_EQUAL(a, b);
    CU_ASSERT_PTR_EQUAL(a, c);
    CU_ASSERT(s1.compile_ms >= s0.compile_ms);
    jx_exec_release(a);
    jx_exec_release(b);
    jx_exec_release(c);
    jx_fn_release(f);
    jx_fn_release(f2);
}

static void test_cache_keys(void) {
    jx_fn *f = trace_layer(4), *g = trace_layer(6);
    jx_exec *base = jx_jit(f, JX_DEVICE_CPU, NULL);
    jx_jit_stats s0 = jx_jit_stats_get();
    jx_exec *shape = jx_jit(g, JX_DEVICE_CPU, NULL); /* other input avals */
    jx_jit_opts two = JX_JIT_DEFAULTS, o3 = JX_JIT_DEFAULTS, don = JX_JIT_DEFAULTS;
    two.nthreads = 3; /* the default is 2: main sets JX_NUM_THREADS */
    o3.opt_level = 3;
    don.donate = JX_INTS(0);
    jx_exec *threads = jx_jit(f, JX_DEVICE_CPU, &two);
    jx_exec *opt = jx_jit(f, JX_DEVICE_CPU, &o3);
    jx_exec *donate = jx_jit(f, JX_DEVICE_CPU, &don);
    jx_exec *interp = jx_jit(f, JX_DEVICE_INTERP, NULL);
    jx_jit_stats s1 = jx_jit_stats_get();
    CU_ASSERT_EQUAL(s1.misses - s0.misses, 5);
    CU_ASSERT_EQUAL(s1.hits - s0.hits, 0);
    jx_exec *again = jx_jit(f, JX_DEVICE_CPU, &two);
    CU_ASSERT_PTR_EQUAL(again, threads);
    CU_ASSERT_EQUAL(jx_jit_stats_get().hits - s1.hits, 1);
    /* a cleared cache compiles again; executables still held keep working */
    jx_jit_cache_clear();
    jx_exec *fresh = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_EQUAL(jx_jit_stats_get().misses - s1.misses, 1);
    CU_ASSERT_PTR_NOT_EQUAL(fresh, base);
    jx_array *in[3], *out[2] = {NULL, NULL};
    layer_inputs(4, in);
    CU_ASSERT_EQUAL(jx_exec_run(base, 3, in, 2, out), JX_OK);
    release_n(2, out);
    release_n(3, in);
    jx_exec *all[] = {base, shape, threads, opt, donate, interp, again, fresh};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++) jx_exec_release(all[i]);
    jx_fn_release(f);
    jx_fn_release(g);
}

/* out[0] = p - 0.1 * g: an SGD step, donating p */
static void sgd(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_sub(in[0], jx_mul(in[1], jx_scalar(JX_F32, 0.1)));
}

static void test_donation(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 64, 32), JX_AVAL(JX_F32, 64, 32)};
    jx_fn *f = jx_trace("sgd", sgd, NULL, 2, av, 1);
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.donate = JX_INTS(0);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    jx_array *p = ju_ramp(JX_INTS(64, 32), 0.01, 1), *g = ju_ramp(JX_INTS(64, 32), 0.5, 0);
    jx_array *want = NULL, *in[2] = {p, g};
    CU_ASSERT_EQUAL(jx_eval(f, 2, in, 1, &want), JX_OK);
    for (int step = 0; step < 3; step++) {
        jx_array *out = NULL;
        const void *pd = jx_array_data(p);
        CU_ASSERT_EQUAL(jx_exec_run(x, 2, in, 1, &out), JX_OK);
        CU_ASSERT_PTR_EQUAL(jx_array_data(out), pd); /* updated in the caller's storage */
        if (step == 0) CU_ASSERT(ju_close(__LINE__, out, want));
        /* the training loop: the output is the next step's parameter */
        jx_array_release(p);
        in[0] = p = out;
    }
    release_n(2, in);
    jx_array_release(want);
    jx_exec_release(x);
    jx_fn_release(f);
}

static void test_no_donation_when_shared(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 8, 4), JX_AVAL(JX_F32, 8, 4)};
    jx_fn *f = jx_trace("sgd", sgd, NULL, 2, av, 1);
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.donate = JX_INTS(0);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
    jx_array *p = ju_ramp(JX_INTS(8, 4), 1, 0), *g = ju_ramp(JX_INTS(8, 4), 1, 0);
    jx_array *keep = jx_array_retain(p), *before = jx_array_astype(p, JX_F32);
    jx_array *in[2] = {p, g}, *out = NULL;
    CU_ASSERT_EQUAL(jx_exec_run(x, 2, in, 1, &out), JX_OK);
    CU_ASSERT_PTR_NOT_EQUAL(jx_array_data(out), jx_array_data(p));
    CU_ASSERT(ju_same_bits(keep, before)); /* the shared array is untouched */
    jx_array_release(out);
    /* the same array passed twice is not donated either */
    jx_array_release(keep);
    in[1] = p;
    CU_ASSERT_EQUAL(jx_exec_run(x, 2, in, 1, &out), JX_OK);
    CU_ASSERT_PTR_NOT_EQUAL(jx_array_data(out), jx_array_data(p));
    CU_ASSERT(ju_same_bits(p, before));
    CU_ASSERT_DOUBLE_EQUAL(jx_array_get(out, 5), 5 - 0.5, 1e-6);
    jx_array_release(out);
    release_n(3, (jx_array *[]){p, g, before});
    jx_exec_release(x);
    jx_fn_release(f);
}

static void test_wrong_inputs(void) {
    jx_fn *f = trace_layer(4);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    jx_array *in[3], *out[2] = {NULL, NULL};
    layer_inputs(4, in);
    jx_array *bad = jx_array_zeros(JX_F32, JX_INTS(5, 3));
    jx_array *args[3] = {in[0], bad, in[2]};
    CU_ASSERT_EQUAL(jx_exec_run(x, 3, args, 2, out), JX_ERR_SHAPE);
    JT_ASSERT_ERR("jit: layer: input 1 is f32[5,3] but the function takes f32[3,5]");
    CU_ASSERT_PTR_NULL(out[0]);
    jx_array *i32 = jx_array_zeros(JX_I32, JX_INTS(4, 3));
    args[0] = i32, args[1] = in[1];
    CU_ASSERT_EQUAL(jx_exec_run(x, 3, args, 2, out), JX_ERR_SHAPE);
    JT_ASSERT_ERR("input 0 is i32[4,3] but the function takes f32[4,3]");
    CU_ASSERT_EQUAL(jx_exec_run(x, 2, in, 2, out), JX_ERR_ARG);
    JT_ASSERT_ERR("jit: layer: takes 3 inputs, got 2");
    CU_ASSERT_EQUAL(jx_exec_run(x, 3, in, 1, out), JX_ERR_ARG);
    JT_ASSERT_ERR("gives 2 outputs");
    args[0] = NULL;
    CU_ASSERT_EQUAL(jx_exec_run(x, 3, args, 2, out), JX_ERR_ARG);
    JT_ASSERT_ERR("input 0 is NULL");
    CU_ASSERT_EQUAL(jx_exec_run(NULL, 3, in, 2, out), JX_ERR_ARG);
    /* bad options and arguments at compile time name the caller's line */
    jx_jit_opts o = JX_JIT_DEFAULTS;
    o.donate = JX_INTS(3);
    int line = __LINE__ + 1;
    CU_ASSERT_PTR_NULL(jx_jit(f, JX_DEVICE_CPU, &o));
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    JT_ASSERT_ERR("donated input 3 out of range");
    o = JX_JIT_DEFAULTS;
    o.opt_level = 7;
    CU_ASSERT_PTR_NULL(jx_jit(f, JX_DEVICE_CPU, &o));
    JT_ASSERT_ERR("opt_level is 7");
    CU_ASSERT_PTR_NULL(jx_jit(NULL, JX_DEVICE_CPU, NULL));
    CU_ASSERT_PTR_NULL(jx_jit(f, JX_DEVICE_COUNT, NULL));
    JT_ASSERT_ERR("unknown device");
    /* the executable still runs after all that */
    CU_ASSERT_EQUAL(jx_exec_run(x, 3, in, 2, out), JX_OK);
    release_n(2, out);
    release_n(3, in);
    jx_array_release(bad);
    jx_array_release(i32);
    jx_exec_release(x);
    jx_fn_release(f);
}

/* A function with reductions, a matmul and elementwise work: sensitive to summation
 * order, so a split that depended on scheduling would show. */
static void mixed(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val h = jx_exp(jx_mul(jx_matmul(in[0], in[1]), jx_scalar(JX_F32, 0.01)));
    out[0] = jx_softmax(h, 1);
    out[1] = jx_sum(jx_sin(in[0]), JX_INTS(0));
}

static void test_deterministic(void) {
    jx_aval av[2] = {JX_AVAL(JX_F32, 300, 70), JX_AVAL(JX_F32, 70, 90)};
    jx_fn *f = jx_trace("mixed", mixed, NULL, 2, av, 2);
    jx_array *in[2] = {ju_ramp(JX_INTS(300, 70), 0.37, -3000), ju_ramp(JX_INTS(70, 90), 0.013, -40)};
    jx_array *ref[2] = {NULL, NULL};
    int threads[] = {1, 2, 4};
    for (int t = 0; t < 3; t++) {
        jx_jit_opts o = JX_JIT_DEFAULTS;
        o.nthreads = threads[t];
        jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        for (int run = 0; run < 3; run++) {
            jx_array *out[2] = {NULL, NULL};
            CU_ASSERT_EQUAL_FATAL(jx_exec_run(x, 2, in, 2, out), JX_OK);
            if (!ref[0]) {
                ref[0] = out[0], ref[1] = out[1];
                continue;
            }
            CU_ASSERT(ju_same_bits(out[0], ref[0]));
            CU_ASSERT(ju_same_bits(out[1], ref[1]));
            release_n(2, out);
        }
        jx_exec_release(x);
    }
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 2, in), 2);
    release_n(2, ref);
    release_n(2, in);
    jx_fn_release(f);
}

/* out = (x, 2.5, x * 2, x * 2): an input, a literal and one variable twice as outputs */
static void passthrough(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = in[0];
    out[1] = jx_scalar(JX_F32, 2.5);
    out[2] = out[3] = jx_mul(in[0], jx_scalar(JX_F32, 2));
}

static void test_odd_outputs(void) {
    jx_aval a = JX_AVAL(JX_F32, 3);
    jx_fn *f = jx_trace("pass", passthrough, NULL, 1, &a, 4);
    jx_array *x = ju_ramp(JX_INTS(3), 1, 1), *out[4] = {NULL};
    jx_exec *e = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_EQUAL_FATAL(jx_exec_run(e, 1, &x, 4, out), JX_OK);
    CU_ASSERT(ju_same_bits(out[0], x));
    CU_ASSERT_EQUAL(jx_array_rank(out[1]), 0);
    CU_ASSERT_DOUBLE_EQUAL(jx_array_get(out[1], 0), 2.5, 0);
    CU_ASSERT_DOUBLE_EQUAL(jx_array_get(out[2], 2), 6, 0);
    CU_ASSERT(ju_same_bits(out[2], out[3]));
    release_n(4, out);
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 1, &x), 4);
    jx_array_release(x);
    jx_exec_release(e);
    jx_fn_release(f);
}

/* calls, custom_vjp_call and checkpoint are inlined: the compiled function has none */
static void inner(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_mul(jx_sin(in[0]), in[0]);
}

typedef struct fns {
    jx_fn *f, *fwd, *bwd;
} fns;

static void outer(jx_val *out, const jx_val *in, void *user) {
    const fns *u = user;
    jx_val a, b, c;
    jx_call(u->f, 1, in, 1, &a);
    jx_checkpoint(u->f, 1, &a, 1, &b);
    jx_custom_vjp_call(u->f, u->fwd, u->bwd, 1, &b, 1, &c);
    out[0] = jx_add(c, jx_scalar(JX_F32, 1));
}

static void fwd_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_mul(jx_sin(in[0]), in[0]);
    out[1] = in[0];
}

static void bwd_body(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_mul(in[1], jx_add(jx_cos(in[0]), jx_scalar(JX_F32, 1)));
}

static void test_inlining(void) {
    jx_aval a = JX_AVAL(JX_F32, 4), ab[2] = {JX_AVAL(JX_F32, 4), JX_AVAL(JX_F32, 4)};
    fns u = {jx_trace("inner", inner, NULL, 1, &a, 1), jx_trace("fwd", fwd_body, NULL, 1, &a, 2),
             jx_trace("bwd", bwd_body, NULL, 2, ab, 1)};
    jx_fn *f = jx_trace("outer", outer, &u, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT(jt_count_in_ir(f, "checkpoint[") + jt_count_in_ir(f, "custom_vjp_call[") + jt_count_in_ir(f, "call[") >= 2);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    const jx_fn *g = jx_exec_fn(x);
    CU_ASSERT_EQUAL(jt_count_in_ir(g, "call[") + jt_count_in_ir(g, "checkpoint["), 0);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), jx_fn_num_eqns_total(g));
    jx_array *in = ju_ramp(JX_INTS(4), 0.7, -1);
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 1, &in), 1);
    /* its jvp (through the checkpoint and the custom vjp) jits too */
    jx_fn *jf = jx_jvp(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(jf);
    jx_array *args[2] = {in, ju_ramp(JX_INTS(4), 0.1, 0.2)};
    CU_ASSERT_EQUAL(ju_check(jf, JX_DEVICE_CPU, NULL, 2, args), 2);
    release_n(2, args);
    jx_fn_release(jf);
    jx_exec_release(x);
    jx_fn_release(f);
    jx_fn_release(u.f);
    jx_fn_release(u.fwd);
    jx_fn_release(u.bwd);
}

/* jx_exec_fn composes: a traced body calls the compiled function */
static void use_exec(jx_val *out, const jx_val *in, void *user) {
    jx_val y[2];
    jx_call(jx_exec_fn((const jx_exec *)user), 3, in, 2, y);
    out[0] = jx_mul(y[1], jx_scalar(JX_F32, 3));
}

static void test_exec_fn_composes(void) {
    jx_fn *f = trace_layer(4);
    jx_exec *x = jx_jit(f, JX_DEVICE_CPU, NULL);
    jx_aval av[3] = {JX_AVAL(JX_F32, 4, 3), JX_AVAL(JX_F32, 3, 5), JX_AVAL(JX_F32, 5)};
    jx_fn *g = jx_trace("use", use_exec, x, 3, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *in[3];
    layer_inputs(4, in);
    CU_ASSERT_EQUAL(ju_check(g, JX_DEVICE_CPU, NULL, 3, in), 1);
    release_n(3, in);
    jx_fn_release(g);
    jx_exec_release(x);
    jx_fn_release(f);
}

int main(void) {
    setenv("JX_NUM_THREADS", "2", 1); /* the default thread count the cache test relies on */
    CU_TestInfo tests[] = {
        {"jit results equal jx_eval (CPU and interpreter devices)", test_matches_eval},
        {"cache: one miss, then hits for equal functions", test_cache_hit_miss},
        {"cache: shapes, options and devices are part of the key", test_cache_keys},
        {"donation: a step updates its parameter in place", test_donation},
        {"donation: not when the caller shares the array", test_no_donation_when_shared},
        {"wrong inputs and options fail with clear errors", test_wrong_inputs},
        {"bit-identical across runs and thread counts", test_deterministic},
        {"inputs, literals and repeated variables as outputs", test_odd_outputs},
        {"calls, checkpoint and custom_vjp are inlined", test_inlining},
        {"jx_exec_fn is callable from a traced body", test_exec_fn_composes},
        CU_TEST_INFO_NULL,
    };
    int rc = jt_run("jit_api", tests);
    jx_jit_cache_clear();
    return rc;
}
