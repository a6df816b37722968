/* test_jaxref_control.c: control flow against JAX (tests/jaxref/jaxref_control.py,
 * driver jaxref_check.h): cond on a traced predicate (either branch taken), switch with
 * a traced index in and out of range (clamped as lax.switch clamps it), while_loop
 * (values: JAX cannot differentiate it in reverse mode, nor can jx), fori_loop (a scan
 * underneath, so to the second derivative), scan forward and reversed (final carry and
 * stacked outputs), in f32 and f64. */
#include "jaxref_check.h"

enum { TOL };
static const double tols[][2] = {{2e-6, 1e-13}};
#define S JR_SMOOTH

static const jr_case cases[] = {
    {"cond_true", 2, 2, S, 0, TOL, 0, {"3x2", "3x2"}},
    {"cond_false", 2, 2, S, 0, TOL, JR_NOJIT, {"3x2", "3x2"}},
    {"switch_low", 2, 2, S, 2, TOL, 0, {"4", "11"}},
    {"switch_mid", 2, 2, S, 2, TOL, JR_NOJIT, {"4", "11"}},
    {"switch_high", 2, 2, S, 2, TOL, JR_NOJIT, {"4", "11"}},
    {"while", 1, 0, S, 0, TOL, 0, {"2x3"}},
    {"fori", 2, 2, S, 0, TOL, 0, {"3", "3"}},
    {"scan_carry", 2, 2, S, 0, TOL, 0, {"4x3", "3"}},
    {"scan_ys_rev", 2, 2, S, 0, TOL, 0, {"4x3", "3"}},
};
enum { NCASES = sizeof cases / sizeof *cases };

static void sin_mul(jx_val *out, const jx_val *in, void *u) { (void)u, out[0] = jx_mul(jx_sin(in[0]), in[1]); }
static void mul_sq(jx_val *out, const jx_val *in, void *u) { (void)u, out[0] = jx_mul(in[0], jx_mul(in[1], in[1])); }
static void br_sin(jx_val *out, const jx_val *in, void *u) { (void)u, out[0] = jx_sin(in[0]); }
static void br_sq(jx_val *out, const jx_val *in, void *u) { (void)u, out[0] = jx_mul(in[0], in[0]); }
static void br_exp(jx_val *out, const jx_val *in, void *u) { (void)u, out[0] = jx_exp(jx_mul_s(in[0], 0.5)); }
/* while sum(c * c) < 50: c = 1.5 c + 0.1 */
static void w_cond(jx_val *out, const jx_val *in, void *u) {
    (void)u, out[0] = jx_lt(jx_reduce_sum(jx_mul(in[0], in[0]), JX_NOINTS), jx_scalar_like(in[0], 50));
}
static void w_body(jx_val *out, const jx_val *in, void *u) { (void)u, out[0] = jx_add_s(jx_mul_s(in[0], 1.5), 0.1); }
/* (i, c, x) -> sin(c) x + c i / 4 */
static void f_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val i = jx_convert(in[0], jx_dtype_of(in[1]));
    out[0] = jx_add(jx_mul(jx_sin(in[1]), in[2]), jx_mul(in[1], jx_mul_s(i, 0.25)));
    out[1] = in[2];
}
/* (c, x_t) -> (c x_t + tanh(c), 2 c) */
static void s_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    out[0] = jx_add(jx_mul(in[0], in[1]), jx_tanh(in[0]));
    out[1] = jx_mul_s(in[0], 2);
}

static jx_val apply(const char *n, const jx_val *x) {
#define IS(s) (strcmp(n, s) == 0)
    jx_val out[2];
    if (IS("cond_true") || IS("cond_false")) {
        jx_val a = IS("cond_true") ? x[0] : jx_neg(x[0]); /* sum(x) > 0 for this x */
        jx_cond(jx_gt(jx_reduce_sum(a, JX_NOINTS), jx_scalar_like(a, 0)), sin_mul, mul_sq, NULL, 2,
                (jx_val[]){a, x[1]}, 1, out);
        return out[0];
    }
    if (IS("switch_low") || IS("switch_mid") || IS("switch_high")) {
        int64_t k = IS("switch_low") ? 8 : IS("switch_mid") ? 1 : 9; /* s[k]: -1, 0, 7 */
        jx_val i = jx_convert(jx_reshape(jx_slice(x[1], JX_INTS(k), JX_INTS(k + 1), JX_NOINTS), JX_NOINTS), JX_I32);
        jx_switch(i, 3, (jx_body[]){br_sin, br_sq, br_exp}, NULL, 1, x, 1, out);
        return jx_mul(out[0], jx_reduce_sum(x[1], JX_NOINTS));
    }
    if (IS("while")) return jx_while(w_cond, w_body, NULL, 1, x, out), out[0];
    if (IS("fori")) return jx_fori_loop(0, 4, f_body, NULL, 2, (jx_val[]){x[1], x[0]}, out), out[0];
    jx_scan(s_body, NULL, 4, IS("scan_ys_rev"), 1, &x[1], 1, x, 1, out);
    return IS("scan_carry") ? out[0] : out[1];
#undef IS
}

static void test_control(void) { jr_run(&(jr_suite){"jaxref/jaxref_control.py", cases, NCASES, apply, tols}); }

int main(void) { return jr_main("cond, switch, while, fori_loop and scan against JAX", test_control); }
