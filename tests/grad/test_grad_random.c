/* test_grad_random.c: derivatives of random compositions: a seeded generator builds
 * expression DAGs of smooth ops, reductions, movement, contractions and selects over
 * f64[3,4] inputs; jvp is checked against finite differences, vjp against jvp, and for
 * some seeds the gradient's own jvp (a hessian-vector product) against differences. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gradcheck.h"

enum { MAXV = 24 };

typedef struct gen {
    uint64_t seed;  /* the DAG's seed; the body re-derives everything from it */
    int nin, nops;  /* inputs and ops, fixed by the seed */
    int scalar_out; /* sum of squares of the last value, else the value itself */
    char ops[512];  /* the op names drawn, for reports */
} gen;

static uint64_t next(uint64_t *s) { /* splitmix64 */
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static int pick(uint64_t *s, int n) { return (int)(next(s) % (uint64_t)n); }

/* An operand: the newest value half the time (so chains get deep), else any. */
static jx_val operand(uint64_t *s, const jx_val *v, int nv) { return pick(s, 2) ? v[nv - 1] : v[pick(s, nv)]; }

static jx_val lit(double c) { return jx_scalar(JX_F64, c); }

/* A reduction over axis a of x, broadcast back to [3,4], scaled to keep values small. */
static jx_val reduce_back(jx_val x, int a, int is_max) {
    jx_val r = is_max ? jx_reduce_max(x, JX_INTS(a)) : jx_mul(jx_reduce_sum(x, JX_INTS(a)), lit(0.3));
    return jx_broadcast_in_dim(r, JX_INTS(3, 4), JX_INTS(1 - a));
}

/* One random op on the values so far; appends its name to g->ops. */
static jx_val random_op(gen *g, uint64_t *s, const jx_val *v, int nv) {
    static const char *names[] = {"sin", "cos", "tanh", "exp_tanh", "logistic", "sqrt1p_sq", "log1p_sq",
                                  "add", "sub", "mul", "div", "reduce_sum", "reduce_max", "transpose2",
                                  "reshape2", "slice_pad", "rev", "dot_general", "matmul", "select_gt"};
    int k = pick(s, (int)(sizeof names / sizeof names[0]));
    size_t len = strlen(g->ops);
    snprintf(g->ops + len, sizeof g->ops - len, "%s%s", len ? " " : "", names[k]);
    jx_val x = operand(s, v, nv), y = operand(s, v, nv), z = operand(s, v, nv);
    switch (k) {
    case 0: return jx_sin(x);
    case 1: return jx_cos(x);
    case 2: return jx_tanh(x);
    case 3: return jx_exp(jx_tanh(x));
    case 4: return jx_logistic(x);
    case 5: return jx_sqrt(jx_add(lit(1), jx_mul(x, x)));
    case 6: return jx_log1p(jx_mul(x, x));
    case 7: return jx_add(x, y);
    case 8: return jx_sub(x, y);
    case 9: return jx_mul(x, y);
    case 10: return jx_div(x, jx_add(lit(2), jx_mul(y, y)));
    case 11: return reduce_back(x, pick(s, 2), 0);
    case 12: return reduce_back(x, pick(s, 2), 1);
    case 13: return jx_transpose(jx_sin(jx_transpose(x, JX_INTS(1, 0))), JX_INTS(1, 0));
    case 14: return jx_reshape(jx_tanh(jx_reshape(x, pick(s, 2) ? JX_INTS(4, 3) : JX_INTS(12))), JX_INTS(3, 4));
    case 15: /* keep rows 0..1 and cols 1..3, put them back with zeros around */
        return jx_pad(jx_slice(x, JX_INTS(0, 1), JX_INTS(2, 4), JX_NOINTS), lit(0), JX_INTS(0, 1), JX_INTS(1, 0),
                      JX_INTS(0, 0));
    case 16: return jx_rev(x, pick(s, 2) ? JX_INTS(0) : JX_INTS(0, 1));
    case 17: { /* (x . y^T) . z: [3,4] [4,3] -> [3,3], then [3,3] [3,4] -> [3,4] */
        jx_val xy = jx_dot_general(x, y, JX_INTS(1), JX_INTS(1), JX_NOINTS, JX_NOINTS);
        return jx_mul(jx_dot_general(xy, z, JX_INTS(1), JX_INTS(0), JX_NOINTS, JX_NOINTS), lit(0.1));
    }
    case 18: /* x^T-side product: (x^T . y) is [4,4], then z . that is [3,4] */
        return jx_mul(jx_matmul(z, jx_matmul(jx_transpose(x, JX_INTS(1, 0)), y)), lit(0.1));
    default: return jx_select(jx_gt(x, y), x, y);
    }
}

static void random_body(jx_val *out, const jx_val *in, void *u) {
    gen *g = u;
    uint64_t s = g->seed * 1000003u + 17;
    jx_val v[MAXV];
    int nv = 0;
    for (int i = 0; i < g->nin; i++) v[nv++] = in[i];
    g->ops[0] = 0;
    for (int k = 0; k < g->nops && nv < MAXV; k++) {
        v[nv] = random_op(g, &s, v, nv);
        nv++;
    }
    jx_val last = v[nv - 1];
    out[0] = g->scalar_out ? jx_reduce_sum(jx_mul(last, last), JX_NOINTS) : last;
}

static gen make_gen(uint64_t seed, int force_scalar) {
    uint64_t s = seed ^ 0x5eedull;
    gen g = {seed, 2 + pick(&s, 2), 8 + pick(&s, 8), force_scalar || pick(&s, 2), {0}};
    return g;
}

/* Traces the seed's DAG and makes its inputs in [-1, 1); NULL when tracing fails. */
static jx_fn *build(gen *g, jx_array **x) {
    jx_aval av[3];
    for (int i = 0; i < g->nin; i++) av[i] = JX_AVAL(JX_F64, 3, 4);
    jx_fn *f = jx_trace("random", random_body, g, g->nin, av, 1);
    if (!f) {
        fprintf(stderr, "\n  seed %llu: trace failed: %s\n", (unsigned long long)g->seed, jx_errmsg());
        return NULL;
    }
    uint64_t s = g->seed + 101;
    for (int i = 0; i < g->nin; i++) x[i] = jt_random(JX_INTS(3, 4), -1, 1, &s);
    return f;
}

static void release_all(jx_fn *f, int n, jx_array **x) {
    for (int i = 0; i < n; i++) jx_array_release(x[i]);
    jx_fn_release(f);
}

enum { NSEEDS = 40, NHESS = 10 };

static void test_first_order(void) {
    int bad = 0;
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        gen g = make_gen(seed, 0);
        jx_array *x[3] = {NULL, NULL, NULL};
        jx_fn *f = build(&g, x);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (!f) continue;
        double ej = jt_jvp_error(f, x, 1e-6, seed + 7), ev = jt_vjp_error(f, x, seed + 11);
        CU_ASSERT(ej <= 1e-6);
        CU_ASSERT(ev <= 1e-10);
        if (!(ej <= 1e-6 && ev <= 1e-10)) {
            bad++;
            fprintf(stderr, "\n  seed %llu (%d inputs, %s out): jvp error %g, vjp error %g\n    ops: %s\n",
                    (unsigned long long)seed, g.nin, g.scalar_out ? "scalar" : "array", ej, ev, g.ops);
        }
        release_all(f, g.nin, x);
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* jvp of grad (forward over reverse) against central differences of grad, and the
 * gradient's vjp (reverse over reverse) against its jvp. */
static void test_second_order(void) {
    for (uint64_t seed = 1; seed <= NHESS; seed++) {
        gen g = make_gen(seed + 1000, 1);
        jx_array *x[3] = {NULL, NULL, NULL};
        jx_fn *f = build(&g, x);
        CU_ASSERT_PTR_NOT_NULL(f);
        if (!f) continue;
        jx_fn *gf = jx_grad(f, g.nin == 3 ? JX_INTS(0, 1, 2) : JX_INTS(0, 1));
        CU_ASSERT_PTR_NOT_NULL(gf);
        double eh = gf ? jt_jvp_error(gf, x, 1e-6, seed + 3) : INFINITY;
        double ev = gf ? jt_vjp_error(gf, x, seed + 5) : INFINITY;
        CU_ASSERT(eh <= 1e-6);
        CU_ASSERT(ev <= 1e-10);
        if (!(eh <= 1e-6 && ev <= 1e-10))
            fprintf(stderr, "\n  seed %llu (%d inputs): hvp error %g, grad vjp error %g (%s)\n    ops: %s\n",
                    (unsigned long long)g.seed, g.nin, eh, ev, gf ? "" : jx_errmsg(), g.ops);
        jx_fn_release(gf);
        release_all(f, g.nin, x);
    }
}

/* The generator is deterministic and actually varied: two traces of one seed agree,
 * and the seeds together draw every op. */
static void test_generator(void) {
    gen a = make_gen(3, 0), b = make_gen(3, 0);
    jx_array *xa[3] = {NULL}, *xb[3] = {NULL};
    jx_fn *fa = build(&a, xa), *fb = build(&b, xb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fa);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fb);
    CU_ASSERT_STRING_EQUAL(a.ops, b.ops);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(fa), jx_fn_num_eqns(fb));
    release_all(fa, a.nin, xa);
    release_all(fb, b.nin, xb);
    static const char *want[] = {"sin", "exp_tanh", "sqrt1p_sq", "div", "reduce_max", "slice_pad",
                                 "dot_general", "matmul", "select_gt", "reshape2"};
    int seen[sizeof want / sizeof want[0]] = {0};
    for (uint64_t seed = 1; seed <= NSEEDS; seed++) {
        gen g = make_gen(seed, 0);
        jx_array *x[3] = {NULL};
        jx_fn *f = build(&g, x);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) seen[k] |= strstr(g.ops, want[k]) != NULL;
        release_all(f, g.nin, x);
    }
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) CU_ASSERT(seen[k]);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"the generator is deterministic and varied", test_generator},
        {"jvp and vjp of 40 random DAGs", test_first_order},
        {"hessian-vector products of 10 random DAGs", test_second_order},
        CU_TEST_INFO_NULL,
    };
    return jt_run("grad random compositions", tests);
}
