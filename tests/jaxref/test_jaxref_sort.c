/* test_jaxref_sort.c: sorting and scans against JAX (tests/jaxref/jaxref_sort.py,
 * driver jaxref_check.h): sort along either axis (ties, signed zeros, +-inf, NaN last),
 * argsort (stable), sort of two operands by the first, top_k values and indices along
 * the last and another axis (ties: the lower index first), and the cumulative ops in
 * reverse and with ties and zeros, in f32 and f64; values and indices exact, derivatives
 * to the second order (sums accumulate within 1e-6 / 1e-15). */
#include "jaxref_check.h"

enum { EXACT, SUM };
static const double tols[][2] = {{0, 0}, {1e-6, 1e-15}};
#define T JR_TIES

static const jr_case cases[] = {
    {"sort_ax1", 1, 2, T, 0, EXACT, 0, {"3x5"}},
    {"sort_ax0", 1, 2, T, 0, EXACT, JR_NOJIT, {"4x3"}},
    {"sort_ax1", 1, 0, JR_ANY, 0, EXACT, 0, {"2x7"}},
    {"argsort_ax1", 1, 0, T, 0, EXACT, 0, {"3x5"}},
    {"argsort_ax0", 1, 0, JR_ANY, 0, EXACT, JR_NOJIT, {"7x2"}},
    {"sort_by_key", 2, 2, T, 0, EXACT, 0, {"2x6", "2x6"}},
    {"top_k_values", 1, 2, T, 0, EXACT, 0, {"3x5"}},
    {"top_k_indices", 1, 0, T, 0, EXACT, 0, {"3x5"}},
    {"top_k_ax0_values", 1, 2, T, 0, EXACT, JR_NOJIT, {"5x3"}},
    {"top_k_ax0_indices", 1, 0, T, 0, EXACT, JR_NOJIT, {"5x3"}},
    {"cumsum_rev1", 1, 2, JR_SMOOTH, 0, SUM, 0, {"3x4"}},
    {"cumprod_rev0", 1, 2, JR_ZEROS, 0, SUM, 0, {"4x3"}},
    {"cummax_rev1", 1, 2, T, 0, EXACT, 0, {"3x5"}},
    {"cummin_rev1", 1, 2, T, 0, EXACT, JR_NOJIT, {"3x5"}},
    {"cummax_inf", 1, 0, JR_ANY, 0, EXACT, JR_NOJIT, {"2x7"}},
};
enum { NCASES = sizeof cases / sizeof *cases };

static jx_val apply(const char *n, const jx_val *x) {
#define IS(s) (strcmp(n, s) == 0)
    jx_val v, i, out[2];
    if (IS("sort_ax1")) return jx_sort(x[0], 1);
    if (IS("sort_ax0")) return jx_sort(x[0], 0);
    if (IS("argsort_ax1")) return jx_argsort(x[0], 1);
    if (IS("argsort_ax0")) return jx_argsort(x[0], 0);
    if (IS("sort_by_key")) return jx_sort_multi(2, x, 1, 1, out), out[1];
    if (IS("top_k_values") || IS("top_k_indices")) return jx_top_k(x[0], 3, &v, &i), IS("top_k_values") ? v : i;
    if (IS("top_k_ax0_values") || IS("top_k_ax0_indices"))
        return jx_top_k_axis(x[0], 2, 0, &v, &i), IS("top_k_ax0_values") ? v : i;
    if (IS("cumsum_rev1")) return jx_cumsum(x[0], 1, 1);
    if (IS("cumprod_rev0")) return jx_cumprod(x[0], 0, 1);
    if (IS("cummax_rev1")) return jx_cummax(x[0], 1, 1);
    if (IS("cummin_rev1")) return jx_cummin(x[0], 1, 1);
    return jx_cummax(x[0], 1, 0); /* cummax_inf */
#undef IS
}

static void test_sort(void) { jr_run(&(jr_suite){"jaxref/jaxref_sort.py", cases, NCASES, apply, tols}); }

int main(void) { return jr_main("sort, argsort, top_k and cumulative ops against JAX", test_sort); }
