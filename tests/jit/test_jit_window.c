/* test_jit_window.c: the CPU backend's pooling path (jx__cpu_window, src/backends/cpu/
 * window.c) against the interpreter, bit for bit: reduce_window max/min/sum and
 * select_and_scatter_add called directly with no pool and pools of 2 and 4 threads, and
 * max pooling with its jvp (select_and_gather_add) and vjp compiled by jx_jit with 1 and
 * 2 threads. Shapes: NHWC and NCHW windows, 1-D, rank 1, a window of ones, odd sizes, SAME and VALID padding,
 * strides unlike the window, overlapping windows, windows wholly in padding, more than one
 * block of channels, inputs full of ties (and NaN, -inf, -0). The plans must hold WINDOW
 * steps, and what the path does not take (integers, windows over three dims) must run
 * as OPAQUE steps. Every case also goes through the lowering for backends without
 * pooling loops (src/jit/lower_window.c, the CUDA backend's): slices and elementwise
 * ops whose interpreter and CPU-kernel results are the window ops' bytes. */
#include <math.h>

#include "../../src/backends/cpu/cpu.h"
#include "../../src/jit/plan.h"
#include "jit_util.h"

static uint64_t rng_state = 0x2545f4914f6cdd1dull;

/* Uniform in [-1, 1). */
static double rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(rng_state >> 11) / (double)(1ull << 53) * 2.0 - 1.0;
}

typedef struct win_case {
    jx_ints window, strides, lo, hi;
    bool specials; /* a NaN and -infs among the ties */
} win_case;

/* An array of aval a: values from {-2, -1, 0, 1} (ties in every window) when ties, else
 * uniform; with specials, a NaN at element 5 and -inf at every 7th. */
static jx_array *input(const jx_aval *a, bool ties, bool specials) {
    int64_t n = jx_aval_size(a);
    double *v = malloc(sizeof *v * (size_t)(n ? n : 1));
    for (int64_t i = 0; i < n; i++) {
        v[i] = ties ? floor(rnd() * 2.0) : rnd();
        if (specials && i % 7 == 3) v[i] = -INFINITY;
        if (specials && i == 5) v[i] = NAN;
        if (specials && i % 11 == 4) v[i] = -0.0;
    }
    jx_array *x = jt_array(a->dtype, (jx_ints){a->shape, a->rank}, v);
    free(v);
    return x;
}

/* The windowed aval of x under c. */
static jx_aval windowed(const jx_aval *x, const win_case *c) {
    jx_aval w = *x;
    for (int d = 0; d < x->rank; d++)
        w.shape[d] = (x->shape[d] + c->lo.v[d] + c->hi.v[d] - c->window.v[d]) / c->strides.v[d] + 1;
    return w;
}

/* (x, source) -> max, min and sum windows of x, and the scatter of source. */
static void window_ops(jx_val *out, const jx_val *in, void *user) {
    const win_case *c = user;
    jx_window_kind kinds[3] = {JX_WINDOW_MAX, JX_WINDOW_MIN, JX_WINDOW_SUM};
    for (int k = 0; k < 3; k++) out[k] = jx_reduce_window(in[0], kinds[k], c->window, c->strides, c->lo, c->hi);
    out[3] = jx_select_and_scatter_add(in[1], in[0], c->window, c->strides, c->lo, c->hi);
}

/* x -> the max pool of x (for jvp and vjp). */
static void max_pool(jx_val *out, const jx_val *in, void *user) {
    const win_case *c = user;
    out[0] = jx_reduce_window(in[0], JX_WINDOW_MAX, c->window, c->strides, c->lo, c->hi);
}

static bool is_window_prim(int p) {
    return p == JX_PRIM_REDUCE_WINDOW_MAX || p == JX_PRIM_REDUCE_WINDOW_MIN || p == JX_PRIM_REDUCE_WINDOW_SUM ||
           p == JX_PRIM_SELECT_AND_SCATTER_ADD || p == JX_PRIM_SELECT_AND_GATHER_ADD;
}

/* Each equation of f (whose operands are f's inputs, in[]) through the impl rule and
 * jx__cpu_window with no pool and pools of 2 and 4: the same bytes. Returns how many. */
static int check_direct(const char *what, const jx_fn *f, jx_array *const *in) {
    jx__impl_rules_init();
    jx__pool *pools[3] = {NULL, jx__pool_get(2), jx__pool_get(4)};
    int n = 0;
    for (int k = 0; k < f->neqn; k++) {
        const jx__eqn *e = &f->eqns[k];
        if (!is_window_prim(e->prim)) continue;
        CU_ASSERT_FATAL(jx__cpu_window_ok(f, e));
        jx_array *ops[2];
        jx_aval av[2];
        const void *data[2];
        for (int i = 0; i < e->nin; i++) {
            int j = 0;
            while (f->in[j] != e->in[i].var) j++;
            ops[i] = in[j];
            av[i] = jx_array_aval(in[j]);
            data[i] = jx_array_data(in[j]);
        }
        jx_aval oav = f->vars[e->out[0]];
        jx_array *ref = NULL;
        CU_ASSERT_FATAL(jx__impl_rules[e->prim](e, ops, &oav, &ref) == JX_OK);
        for (int p = 0; p < 3; p++) {
            jx_array *got = jx_array_full(oav.dtype, (jx_ints){oav.shape, oav.rank}, NAN); /* overwritten */
            CU_ASSERT_FATAL(jx__cpu_window(pools[p], e, av, data, &oav, jx_array_data_mut(got)) == JX_OK);
            bool same = ju_same_bits(got, ref);
            if (!same)
                fprintf(stderr, "\n  %s: %s with %d threads differs from the interpreter\n", what,
                        jx__prims[e->prim].name, jx__pool_size(pools[p]));
            CU_ASSERT(same);
            n += same;
            jx_array_release(got);
        }
        jx_array_release(ref);
    }
    return n;
}

/* Compiles f with 1 and 2 threads: every step of a window primitive is a WINDOW step and
 * every output has the interpreter's bytes. Returns the number of WINDOW steps. */
static int check_jit(const char *what, const jx_fn *f, int nin, jx_array *const *in) {
    jx__prog *p = jx__prog_build(f, true, &jx__cpu_backend, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    int windows = 0;
    for (int k = 0; k < p->nsteps; k++) {
        const jx__step *s = &p->steps[k];
        bool pooling = s->g->neqn == 1 && is_window_prim(p->f->eqns[s->g->eqns[0]].prim);
        if (pooling) CU_ASSERT_EQUAL(s->kind, JX__G_WINDOW);
        windows += s->kind == JX__G_WINDOW;
    }
    jx__prog_free(p);
    int nout = jx_fn_num_outputs(f);
    jx_array *want[8] = {0}, *got[8] = {0};
    CU_ASSERT_FATAL(nout <= 8 && jx_eval(f, nin, in, nout, want) == JX_OK);
    for (int t = 1; t <= 2; t++) {
        jx_jit_opts o = {.nthreads = t, .cache_dir = ""};
        jx_exec *x = jx_jit(f, JX_DEVICE_CPU, &o);
        CU_ASSERT_FATAL(x && jx_exec_run(x, nin, in, nout, got) == JX_OK);
        for (int i = 0; i < nout; i++) {
            bool same = ju_same_bits(got[i], want[i]);
            if (!same) fprintf(stderr, "\n  %s: output %d with %d threads differs from the interpreter\n", what, i, t);
            CU_ASSERT(same);
            jx_array_release(got[i]);
        }
        jx_exec_release(x);
    }
    for (int i = 0; i < nout; i++) jx_array_release(want[i]);
    return windows;
}

/* The lowering of f's window ops (lower_window.c), run by the interpreter and compiled
 * for the CPU: f's bytes through the interpreter. Returns the window ops it left. */
static int check_lowered(const char *what, const jx_fn *f, int nin, jx_array *const *in) {
    jx__backend no_pooling = jx__cpu_backend; /* as the CUDA backend: no window_ok */
    no_pooling.window_ok = NULL;
    jx_fn *g = jx__jit_prepare(jx__noloc, f, &no_pooling);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    int left = 0, nout = jx_fn_num_outputs(f);
    for (int k = 0; k < g->neqn; k++) left += is_window_prim(g->eqns[k].prim);
    jx_array *want[8] = {0}, *ev[8] = {0}, *got[8] = {0};
    jx_jit_opts o = {.nthreads = 1, .cache_dir = ""};
    jx_exec *x = jx_jit(g, JX_DEVICE_CPU, &o);
    CU_ASSERT_FATAL(nout <= 8 && jx_eval(f, nin, in, nout, want) == JX_OK && jx_eval(g, nin, in, nout, ev) == JX_OK);
    CU_ASSERT_FATAL(x && jx_exec_run(x, nin, in, nout, got) == JX_OK);
    for (int i = 0; i < nout; i++) {
        bool same = ju_same_bits(ev[i], want[i]) && ju_same_bits(got[i], want[i]);
        if (!same) fprintf(stderr, "\n  %s: output %d of the lowering differs from the window op's\n", what, i);
        CU_ASSERT(same);
        jx_array_release(want[i]), jx_array_release(ev[i]), jx_array_release(got[i]);
    }
    jx_exec_release(x);
    jx_fn_release(g);
    return left;
}

/* All the checks of one case on x of type t and shape shape. */
static void check_case(jx_dtype t, jx_ints shape, win_case c) {
    jx_aval xa = jx_aval_make(t, shape), wa = windowed(&xa, &c);
    char what[160];
    snprintf(what, sizeof what, "%s window %lld..%lld", jx__avs(&xa), (long long)c.window.v[0],
             (long long)c.window.v[shape.n - 1]);
    jx_aval a[2] = {xa, wa};
    jx_array *in[2] = {input(&xa, true, c.specials), input(&wa, false, c.specials)};
    jx_fn *ops = jx_trace("window_ops", window_ops, &c, 2, a, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ops);
    CU_ASSERT_EQUAL(check_direct(what, ops, in), 4 * 3);
    CU_ASSERT_EQUAL(check_jit(what, ops, 2, in), 4);
    CU_ASSERT_EQUAL(check_lowered(what, ops, 2, in), 0); /* overlapping windows' scatters too */
    jx_array *uniform[2] = {input(&xa, false, false), in[1]}; /* sums whose rounding shows */
    CU_ASSERT_EQUAL(check_lowered(what, ops, 2, uniform), 0);
    jx_array_release(uniform[0]);
    /* jvp: (x, tx) -> (pool, select_and_gather_add); vjp: (x, ybar) -> (pool, scatter) */
    jx_fn *pool = jx_trace("max_pool", max_pool, &c, 1, a, 1);
    jx_fn *jvp = pool ? jx_jvp(pool) : NULL, *vjp = pool ? jx_vjp(pool) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(jvp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(vjp);
    jx_array *tx = input(&xa, false, false);
    CU_ASSERT(check_jit(what, jvp, 2, (jx_array *[]){in[0], tx}) >= 2);
    CU_ASSERT(check_jit(what, vjp, 2, in) >= 2);
    CU_ASSERT_EQUAL(check_lowered(what, jvp, 2, (jx_array *[]){in[0], tx}), 0);
    CU_ASSERT_EQUAL(check_lowered(what, vjp, 2, in), 0);
    jx_array_release(tx);
    jx_fn_release(jvp);
    jx_fn_release(vjp);
    jx_fn_release(pool);
    jx_fn_release(ops);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
}

#define WIN(w, s, l, h) ((win_case){w, s, l, h, false})

static void test_nhwc(void) {
    for (int t = 0; t < 2; t++) {
        jx_dtype dt = t ? JX_F64 : JX_F32;
        /* the CNN's 2x2 stride 2 VALID, odd sizes (the last row and column dropped) */
        check_case(dt, JX_INTS(2, 5, 7, 3),
                   WIN(JX_INTS(1, 2, 2, 1), JX_INTS(1, 2, 2, 1), JX_INTS(0, 0, 0, 0), JX_INTS(0, 0, 0, 0)));
        /* 3x3 stride 1 SAME: overlapping windows, padding on every side */
        check_case(dt, JX_INTS(2, 6, 5, 4),
                   WIN(JX_INTS(1, 3, 3, 1), JX_INTS(1, 1, 1, 1), JX_INTS(0, 1, 1, 0), JX_INTS(0, 1, 1, 0)));
        /* 3x2 windows with strides 2x3, uneven padding */
        check_case(dt, JX_INTS(1, 7, 8, 5),
                   WIN(JX_INTS(1, 3, 2, 1), JX_INTS(1, 2, 3, 1), JX_INTS(0, 1, 0, 0), JX_INTS(0, 1, 2, 0)));
    }
}

static void test_layouts(void) {
    /* NCHW: the window on the last two dims, one channel per row of the loops */
    check_case(JX_F32, JX_INTS(2, 3, 7, 6),
               WIN(JX_INTS(1, 1, 2, 3), JX_INTS(1, 1, 2, 1), JX_INTS(0, 0, 0, 1), JX_INTS(0, 0, 1, 1)));
    /* 1-D (N, L, C) with windows wholly in padding at both ends */
    check_case(JX_F64, JX_INTS(2, 9, 3), WIN(JX_INTS(1, 2, 1), JX_INTS(1, 2, 1), JX_INTS(0, 3, 0), JX_INTS(0, 3, 0)));
    /* rank 1, and a window of ones (a copy: nothing moves) */
    check_case(JX_F32, JX_INTS(9), WIN(JX_INTS(3), JX_INTS(2), JX_INTS(1), JX_INTS(1)));
    check_case(JX_F64, JX_INTS(3, 5), WIN(JX_INTS(1, 1), JX_INTS(1, 1), JX_INTS(0, 0), JX_INTS(0, 0)));
    /* more channels than one block of the accumulators (256) */
    check_case(JX_F32, JX_INTS(3, 4, 4, 300),
               WIN(JX_INTS(1, 2, 2, 1), JX_INTS(1, 2, 2, 1), JX_INTS(0, 0, 0, 0), JX_INTS(0, 0, 0, 0)));
}

static void test_specials(void) {
    /* a NaN and -infs among ties: the first NaN wins, -inf windows select their first tap */
    for (int t = 0; t < 2; t++)
        check_case(t ? JX_F64 : JX_F32, JX_INTS(2, 6, 6, 2),
                   (win_case){JX_INTS(1, 3, 3, 1), JX_INTS(1, 2, 2, 1), JX_INTS(0, 1, 1, 0), JX_INTS(0, 1, 1, 0), true});
    /* windows apart (the lowered scatter's case), padding on one side, a stride past the window */
    check_case(JX_F32, JX_INTS(2, 7, 6, 2),
               (win_case){JX_INTS(1, 2, 2, 1), JX_INTS(1, 2, 3, 1), JX_INTS(0, 1, 0, 0), JX_INTS(0, 0, 1, 0), true});
}

static void rw_max(jx_val *out, const jx_val *in, void *user) {
    const win_case *c = user;
    out[0] = jx_reduce_window(in[0], JX_WINDOW_MAX, c->window, c->strides, c->lo, c->hi);
}

/* The one step of rw_max on a, its kind and note. */
static void plan_of(jx_aval a, win_case c, jx__gkind *kind, const char **note) {
    jx_fn *f = jx_trace("rw_max", rw_max, &c, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx__prog *p = jx__prog_build(f, true, &jx__cpu_backend, NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL_FATAL(p->nsteps, 1);
    *kind = p->steps[0].kind;
    *note = p->steps[0].note;
    jx__prog_free(p);
    jx_fn_release(f);
}

static void test_fallbacks(void) {
    jx__gkind kind;
    const char *note;
    win_case c2 = WIN(JX_INTS(1, 2, 2, 1), JX_INTS(1, 2, 2, 1), JX_INTS(0, 0, 0, 0), JX_INTS(0, 0, 0, 0));
    plan_of(JX_AVAL(JX_F32, 2, 4, 4, 3), c2, &kind, &note);
    CU_ASSERT_EQUAL(kind, JX__G_WINDOW);
    /* integers stay with the interpreter */
    plan_of(JX_AVAL(JX_I32, 2, 4, 4, 3), c2, &kind, &note);
    CU_ASSERT_EQUAL(kind, JX__G_OPAQUE);
    CU_ASSERT_STRING_EQUAL(note ? note : "", "no pooling path");
    /* a window moving over three dims, or over two that are not adjacent */
    win_case c3 = WIN(JX_INTS(1, 2, 2, 2), JX_INTS(1, 1, 1, 1), JX_INTS(0, 0, 0, 0), JX_INTS(0, 0, 0, 0));
    plan_of(JX_AVAL(JX_F32, 2, 4, 4, 3), c3, &kind, &note);
    CU_ASSERT_EQUAL(kind, JX__G_OPAQUE);
    win_case gap = WIN(JX_INTS(2, 1, 2, 1), JX_INTS(1, 1, 1, 1), JX_INTS(0, 0, 0, 0), JX_INTS(0, 0, 0, 0));
    plan_of(JX_AVAL(JX_F32, 2, 4, 4, 3), gap, &kind, &note);
    CU_ASSERT_EQUAL(kind, JX__G_OPAQUE);
    /* and the interpreter's result still comes back: an int max pool through the jit */
    jx_aval ia = JX_AVAL(JX_I32, 1, 4, 4, 1);
    jx_fn *f = jx_trace("rw_max", rw_max, &c2, 1, &ia, 1);
    jx_array *x = input(&ia, false, false), *y = NULL;
    jx_exec *e = f ? jx_jit(f, JX_DEVICE_CPU, NULL) : NULL;
    CU_ASSERT_FATAL(e && jx_exec_run(e, 1, &x, 1, &y) == JX_OK);
    CU_ASSERT_EQUAL(jx_array_size(y), 4);
    CU_ASSERT_EQUAL(check_lowered("i32 max pool", f, 1, &x), 0); /* lowered, integers and all */
    jx_array_release(y);
    jx_array_release(x);
    jx_exec_release(e);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"window: NHWC pooling, f32 and f64", test_nhwc},
        {"window: NCHW, 1-D and many channels", test_layouts},
        {"window: NaN, -inf and ties", test_specials},
        {"window: what stays with the interpreter", test_fallbacks},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_window", tests);
}
