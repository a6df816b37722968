/* test_jaxref_index.c: indexing against JAX (tests/jaxref/jaxref_index.py, driver
 * jaxref_check.h): gather (take along an axis, with shared batch dims), scatter_add,
 * dynamic_slice and dynamic_update_slice with traced and literal starts, select/where
 * and one_hot, with negative and out-of-range indices (JR_IDX: -1, 7, -7, 9, ...), in
 * f32 and f64, values exact and derivatives to the second order. Indices travel as a
 * float input converted to i32 inside F on both sides (their derivatives are zero).
 * Semantics compared (include/jx.h): jnp's x[i] and x.at[i].add(u), a negative index
 * wrapped once, then gather clamps and scatter drops; lax.dynamic_slice's wrap-then-
 * clamp starts. One deliberate difference, asserted: the gradient of a gather at an
 * index still out of range after the wrap goes to the clamped element, the element the
 * forward pass read (jnp.take(mode="clip") on the wrapped index); JAX's x[i] drops it
 * (docs/derivatives.md). */
#include "jaxref_check.h"

enum { EXACT, SUM };
static const double tols[][2] = {{0, 0}, {1e-6, 1e-15}};
#define S JR_SMOOTH

static const jr_case cases[] = {
    {"take", 2, 0, S, 2, EXACT, 0, {"5x3", "11"}},
    {"take_clip_grad", 2, 2, S, 2, EXACT, 0, {"5x3", "11"}},
    {"take_ax1", 2, 0, S, 2, EXACT, JR_NOJIT, {"3x5", "2x4"}},
    {"take_ax1_clip_grad", 2, 2, S, 2, EXACT, JR_NOJIT, {"3x5", "2x4"}},
    {"take_batched", 2, 2, S, 2, EXACT, 0, {"2x5", "2x3"}},
    {"take", 2, 0, JR_ANY, 2, EXACT, JR_NOJIT, {"5x3", "11"}},
    {"scatter_add", 3, 2, S, 2, SUM, 0, {"5x2", "11", "11x2"}},
    {"dslice_a", 2, 2, S, 2, EXACT, 0, {"5x4", "11"}},
    {"dslice_b", 2, 2, S, 2, EXACT, JR_NOJIT, {"5x4", "11"}},
    {"dslice_literal", 1, 2, S, 0, EXACT, 0, {"5x4"}},
    {"dupdate_a", 3, 2, S, 4, EXACT, 0, {"5x4", "2x3", "11"}},
    {"dupdate_b", 3, 2, S, 4, EXACT, JR_NOJIT, {"5x4", "2x3", "11"}},
    {"where", 2, 2, JR_TIES, 0, EXACT, 0, {"3x4", "3x4"}},
    {"where_max", 2, 0, JR_ANY, 0, EXACT, JR_NOJIT, {"3x4", "3x4"}},
    {"one_hot", 1, 0, JR_IDX, 0, EXACT, 0, {"11"}},
};
enum { NCASES = sizeof cases / sizeof *cases };

static jx_val i32(jx_val x) { return jx_convert(x, JX_I32); }

/* element k of the rank-1 s, as an i32 scalar */
static jx_val at(jx_val s, int64_t k) {
    return i32(jx_reshape(jx_slice(s, JX_INTS(k), JX_INTS(k + 1), JX_NOINTS), JX_NOINTS));
}

static jx_val apply(const char *n, const jx_val *x) {
#define IS(s) (strcmp(n, s) == 0)
    if (IS("take") || IS("take_clip_grad")) return jx_gather(x[0], i32(x[1]), 0, 0);
    if (IS("take_ax1") || IS("take_ax1_clip_grad")) return jx_gather(x[0], i32(x[1]), 1, 0);
    if (IS("take_batched")) return jx_gather(x[0], i32(x[1]), 1, 1);
    if (IS("scatter_add")) return jx_scatter_add(x[0], i32(x[1]), x[2], 0, 0);
    if (IS("dslice_a")) return jx_dynamic_slice(x[0], (jx_val[]){at(x[1], 8), at(x[1], 2)}, JX_INTS(3, 2));
    if (IS("dslice_b")) return jx_dynamic_slice(x[0], (jx_val[]){at(x[1], 9), at(x[1], 10)}, JX_INTS(3, 2));
    if (IS("dslice_literal"))
        return jx_dynamic_slice(x[0], (jx_val[]){jx_scalar(JX_I32, -1), jx_scalar(JX_I32, -7)}, JX_INTS(3, 2));
    if (IS("dupdate_a")) return jx_dynamic_update_slice(x[0], x[1], (jx_val[]){at(x[2], 8), at(x[2], 2)});
    if (IS("dupdate_b")) return jx_dynamic_update_slice(x[0], x[1], (jx_val[]){at(x[2], 9), at(x[2], 10)});
    if (IS("where")) return jx_select(jx_gt(x[0], jx_scalar_like(x[0], 0)), jx_mul(x[0], x[1]), x[1]);
    if (IS("where_max")) return jx_select(jx_gt(x[0], x[1]), x[0], x[1]);
    return jx_one_hot(i32(x[0]), 5, jx_dtype_of(x[0])); /* one_hot */
#undef IS
}

static void test_index(void) { jr_run(&(jr_suite){"jaxref/jaxref_index.py", cases, NCASES, apply, tols}); }

int main(void) { return jr_main("gather, scatter, dynamic slices, where and one_hot against JAX", test_index); }
