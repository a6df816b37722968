/* test_jaxref_collective.c: collectives under vmap with a named axis against JAX's
 * jax.vmap(..., axis_name="i") (tests/jaxref/jaxref_collective.py, driver
 * jaxref_check.h): psum, pmean, pmax, pmin, all_gather and ppermute (a ring), mapped
 * at axis 0 or 1, in f32 and f64, values and first and second derivatives. Two
 * deliberate differences, asserted as jx defines them (docs/derivatives.md): pmax and
 * pmin are differentiable in jx (JAX: "Differentiation rule for 'pmax' not
 * implemented"), compared with JAX's max over all_gather, ties splitting the gradient
 * evenly; a partial ppermute (a slice that nobody sends to gets zeros, lax.ppermute's
 * rule under pmap) works under jx's vmap, where JAX's vmap asserts "Permutation doesn't
 * match the axis size", compared with the same permutation written with .at[].set. */
#include "jaxref_check.h"

enum { TOL };
static const double tols[][2] = {{2e-6, 1e-13}};
#define S JR_SMOOTH

static const jr_case cases[] = {
    {"psum", 1, 2, S, 0, TOL, 0, {"4x3"}},
    {"psum_ax1", 1, 2, S, 0, TOL, JR_NOJIT, {"3x4"}},
    {"pmean", 1, 2, S, 0, TOL, 0, {"4x3"}},
    {"pmax", 1, 2, S, 0, TOL, 0, {"4x3"}},
    {"pmax", 1, 2, JR_TIES, 0, TOL, 0, {"4x3"}},
    {"pmin_ax1", 1, 2, JR_TIES, 0, TOL, JR_NOJIT, {"3x4"}},
    {"all_gather", 1, 2, S, 0, TOL, 0, {"4x3"}},
    {"ppermute_ring", 1, 2, S, 0, TOL, 0, {"4x3"}},
    {"ppermute_partial", 1, 2, S, 0, TOL, JR_NOJIT, {"4x3"}},
};
enum { NCASES = sizeof cases / sizeof *cases };

/* the body mapped over the slices, as jaxref_collective.py's BODIES */
static void body(jx_val *out, const jx_val *in, void *u) {
    const char *n = u;
    jx_val x = in[0];
#define IS(s) (strcmp(n, s) == 0)
    if (IS("psum") || IS("psum_ax1")) out[0] = jx_mul(x, jx_psum(x, "i"));
    else if (IS("pmean")) out[0] = jx_square(jx_sub(x, jx_pmean(jx_sin(x), "i")));
    else if (IS("pmax")) out[0] = jx_mul(jx_pmax(x, "i"), jx_sin(x));
    else if (IS("pmin_ax1")) out[0] = jx_mul(jx_pmin(jx_mul(x, x), "i"), x);
    else if (IS("all_gather")) out[0] = jx_mul(jx_all_gather(jx_sin(x), "i", 4), x);
    else if (IS("ppermute_ring")) out[0] = jx_mul(jx_ppermute(x, "i", JX_INTS(0, 1, 1, 2, 2, 3, 3, 0)), jx_cos(x));
    else out[0] = jx_mul(jx_ppermute(x, "i", JX_INTS(0, 2, 1, 0)), jx_cos(x)); /* ppermute_partial */
#undef IS
}

static jx_val apply(const char *n, const jx_val *x) {
    int axis = strstr(n, "_ax1") ? 1 : 0;
    jx_aval slice = {.dtype = jx_dtype_of(x[0]), .rank = 1, .shape = {3}};
    jx_fn *f = jx_trace(n, body, (void *)n, 1, &slice, 1);
    jx_fn *g = f ? jx_vmap_named(f, JX_INTS(axis), JX_INTS(axis), 4, "i") : NULL;
    jx_val y = x[0]; /* where tracing failed: x, whose values then fail the case by name */
    if (g) jx_call(g, 1, x, 1, &y);
    else fprintf(stderr, "\n  %s: %s", n, jx_errmsg());
    jx_fn_release(g);
    jx_fn_release(f);
    return y;
}

static void test_collective(void) {
    jr_run(&(jr_suite){"jaxref/jaxref_collective.py", cases, NCASES, apply, tols});
}

int main(void) { return jr_main("psum, pmean, pmax, pmin, all_gather and ppermute under vmap against JAX", test_collective); }
