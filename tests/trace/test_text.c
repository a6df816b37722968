/* test_text.c: the IR text form: golden files parse and print back byte for byte,
 * traced functions round-trip, malformed texts give exact errors with line and column,
 * and reals (NaN payloads, infinities, -0.0) survive bit for bit. */
#include <stdint.h>
#include <stdlib.h>

#include "harness.h"
#include "ir.h"
#include "lex.h"

/* ------------------------------------------------------------------ helpers */

static char *slurp(const char *path) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, fp) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s) s[n] = 0;
    fclose(fp);
    return s;
}

/* A golden file, from $JX_SOURCE_DIR/tests/golden or golden/ (CTest runs in tests/). */
static char *golden(const char *name) {
    char path[1024];
    const char *root = getenv("JX_SOURCE_DIR");
    if (root) {
        snprintf(path, sizeof path, "%s/tests/golden/%s", root, name);
        char *s = slurp(path);
        if (s) return s;
    }
    snprintf(path, sizeof path, "golden/%s", name);
    return slurp(path);
}

/* print(parse(print(f))) == print(f); returns the parsed function (or NULL). */
static jx_fn *round_trip(const jx_fn *f) {
    char *s = jx_fn_to_string(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    jx_fn *g = jx_fn_parse(s);
    if (!g) fprintf(stderr, "\n  parse failed: %s\n%s", jx_errmsg(), s);
    CU_ASSERT_PTR_NOT_NULL(g);
    if (g) {
        char *s2 = jx_fn_to_string(g);
        CU_ASSERT_PTR_NOT_NULL(s2);
        if (s2 && strcmp(s, s2) != 0) fprintf(stderr, "\n  round trip differs:\n%s---\n%s", s, s2);
        CU_ASSERT(s2 && strcmp(s, s2) == 0);
        free(s2);
    }
    free(s);
    return g;
}

static uint32_t f32_bits_of(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    return u;
}
static uint64_t f64_bits_of(double x) {
    uint64_t u;
    memcpy(&u, &x, 8);
    return u;
}

/* ------------------------------------------------------------------ golden files */

static void check_golden(const char *name, int neqn_total) {
    char *text = golden(name);
    if (!text) fprintf(stderr, "\n  cannot read golden/%s\n", name);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    jx_fn *f = jx_fn_parse(text);
    if (!f) fprintf(stderr, "\n  %s: %s\n", name, jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL(f);
    if (f) {
        char *s = jx_fn_to_string(f);
        CU_ASSERT_PTR_NOT_NULL(s);
        if (s && strcmp(s, text) != 0) fprintf(stderr, "\n  %s prints differently:\n%s", name, s);
        CU_ASSERT(s && strcmp(s, text) == 0);
        CU_ASSERT_EQUAL(jx_fn_num_eqns_total(f), neqn_total);
        free(s);
        jx_fn_release(f);
    }
    free(text);
}

static void test_golden_mlp(void) { check_golden("mlp.jxir", 20); }
static void test_golden_literals(void) { check_golden("literals.jxir", 24); }
static void test_golden_constants(void) { check_golden("constants.jxir", 11); }
static void test_golden_multi(void) { check_golden("multi.jxir", 3); }
static void test_golden_minimal(void) { check_golden("minimal.jxir", 0); }
static void test_golden_empty(void) { check_golden("empty.jxir", 0); }
/* top 4; call 1; cond 1+1+0; while 1+2; scan body 3 + inner cond 0+1 */
static void test_golden_control(void) { check_golden("control.jxir", 14); }

static void test_golden_structure(void) {
    char *text = golden("multi.jxir");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    jx_fn *f = jx_fn_parse(text);
    free(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_inputs(f), 2);
    CU_ASSERT_EQUAL(jx_fn_num_outputs(f), 4);
    jx_aval want = JX_AVAL(JX_I32, 4, 3), got = jx_fn_output_aval(f, 1);
    CU_ASSERT(jx_aval_equal(&got, &want));
    CU_ASSERT_EQUAL(f->eqns[0].loc.line, 12);
    CU_ASSERT_STRING_EQUAL(f->eqns[0].loc.file, "topk.c");
    CU_ASSERT_PTR_NULL(f->eqns[2].loc.file);
    CU_ASSERT_EQUAL(f->eqns[1].nout, 2);
    CU_ASSERT_EQUAL(jx__attr_int(f->eqns[2].nattr, f->eqns[2].attrs, JX_A_DTYPE, -1), JX_I32);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ traced functions */

static void mlp(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val h = jx_relu(jx_add(jx_matmul(in[0], in[1]), in[2]));
    out[0] = jx_log_softmax(h, 1);
    jx_top_k(h, 2, &out[1], &out[2]);
    out[3] = jx_mean(jx_exp(h), JX_NOINTS);
}

static void test_roundtrip_mlp(void) {
    jx_aval av[3] = {JX_AVAL(JX_F32, 4, 6), JX_AVAL(JX_F32, 6, 5), JX_AVAL(JX_F32, 5)};
    jx_fn *f = jx_trace("mlp", mlp, NULL, 3, av, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = round_trip(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), jx_fn_num_eqns(f));
    /* the parsed function computes the same bits */
    jx_array *x = jx_array_arange(JX_F32, -12, 12, 1), *w = jx_array_arange(JX_F32, 0, 3, 0.1);
    jx_array *xs = jx_array_new(JX_F32, JX_INTS(4, 6), jx_array_data(x));
    jx_array *ws = jx_array_new(JX_F32, JX_INTS(6, 5), jx_array_data(w));
    jx_array *b = jx_array_full(JX_F32, JX_INTS(5), 0.25);
    jx_array *in[3] = {xs, ws, b}, *o1[4] = {0}, *o2[4] = {0};
    CU_ASSERT_EQUAL(jt_eval(f, 3, in, 4, o1), JX_OK);
    CU_ASSERT_EQUAL(jt_eval(g, 3, in, 4, o2), JX_OK);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT(o1[i] && o2[i] && jx_array_nbytes(o1[i]) == jx_array_nbytes(o2[i]) &&
                  memcmp(jx_array_data(o1[i]), jx_array_data(o2[i]), jx_array_nbytes(o1[i])) == 0);
        jx_array_release(o1[i]);
        jx_array_release(o2[i]);
    }
    jx_array_release(x);
    jx_array_release(w);
    jx_array_release(xs);
    jx_array_release(ws);
    jx_array_release(b);
    jx_fn_release(g);
    jx_fn_release(f);
}

static void neg_body(jx_val *o, const jx_val *in, void *u) { (void)u; o[0] = jx_neg(in[0]); }
static void exp_body(jx_val *o, const jx_val *in, void *u) { (void)u; o[0] = jx_exp(in[0]); }
static void id_body(jx_val *o, const jx_val *in, void *u) { (void)u; o[0] = in[0]; }
static void lt_body(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_lt(in[0], jx_scalar(JX_I32, 5));
}
static void step_body(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_add(in[0], jx_scalar(JX_I32, 1));
    o[1] = jx_mul(in[1], jx_scalar(JX_F32, 1.5));
}
static void scan_body(jx_val *o, const jx_val *in, void *u) {
    jx_body bs[2] = {neg_body, exp_body};
    jx_val sel = jx_gt(jx_sum(in[1], JX_NOINTS), jx_scalar(JX_F32, 0));
    jx_val c;
    jx_switch(sel, 2, bs, u, 1, &in[1], 1, &c);
    o[0] = jx_add(in[0], c);
    o[1] = jx_sum(c, JX_NOINTS);
}
static void control(jx_val *out, const jx_val *in, void *user) {
    jx_fn *sq = user;
    jx_call(sq, 1, in, 1, &out[0]);
    jx_body bs[3] = {neg_body, exp_body, id_body};
    jx_switch(in[1], 3, bs, NULL, 1, &in[0], 1, &out[1]);
    jx_val init[2] = {in[1], in[2]}, r[2];
    jx_while(lt_body, step_body, NULL, 2, init, r);
    out[2] = r[1];
    jx_val s[2];
    jx_scan(scan_body, NULL, 4, 1, 1, &in[0], 1, &in[3], 1, s);
    out[3] = s[0];
    out[4] = s[1];
}

static void square(jx_val *o, const jx_val *in, void *u) { (void)u; o[0] = jx_mul(in[0], in[0]); }

static void test_roundtrip_control(void) {
    jx_aval a3 = JX_AVAL(JX_F32, 3);
    jx_fn *sq = jx_trace("sq", square, NULL, 1, &a3, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(sq);
    jx_aval av[4] = {JX_AVAL(JX_F32, 3), JX_SCALAR(JX_I32), JX_SCALAR(JX_F32), JX_AVAL(JX_F32, 4, 3)};
    jx_fn *f = jx_trace("control", control, sq, 4, av, 5);
    if (!f) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = round_trip(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns_total(g), jx_fn_num_eqns_total(f));
    CU_ASSERT(jx_fn_num_eqns_total(f) > jx_fn_num_eqns(f));
    jx_fn_release(g);
    jx_fn_release(f);
    jx_fn_release(sq);
}

static void constants(jx_val *out, const jx_val *in, void *user) {
    (void)in;
    jx_array *const *arrs = user;
    for (int i = 0; i < 4; i++) out[i] = jx_const(arrs[i]);
    out[4] = jx_add(jx_scalar(JX_F32, -0.0), jx_scalar(JX_F32, NAN));
    out[5] = jx_scalar(JX_F64, -INFINITY);
    out[6] = jx_scalar(JX_I64, 0);
}

static void test_roundtrip_bits(void) {
    float fv[5] = {-0.0f, INFINITY, -INFINITY, 1e-45f, 0.1f};
    uint32_t nanbits[2] = {0x7f800001u, 0xffc12345u}; /* a signalling NaN, a negative payload */
    float fnan[2];
    memcpy(fnan, nanbits, sizeof fnan);
    double dv[3] = {-0.0, 5e-324, 0.1};
    uint16_t hv[3] = {0x7e01, 0x8000, 0x0001}; /* f16: NaN payload, -0, smallest subnormal */
    jx_array *arrs[4] = {jx_array_new(JX_F32, JX_INTS(5), fv), jx_array_new(JX_F32, JX_INTS(2), fnan),
                         jx_array_new(JX_F64, JX_INTS(3), dv), jx_array_new(JX_F16, JX_INTS(3), hv)};
    jx_fn *f = jx_trace("consts", constants, arrs, 0, NULL, 7);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = round_trip(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    for (int i = 0; i < 4; i++) {
        const jx__attr *a = jx__attr_get(g->eqns[i].nattr, g->eqns[i].attrs, JX_A_VALUE);
        CU_ASSERT_FATAL(a && a->kind == JX_AK_ARRAY);
        CU_ASSERT_EQUAL(jx_array_nbytes(a->u.arr), jx_array_nbytes(arrs[i]));
        CU_ASSERT(memcmp(jx_array_data(a->u.arr), jx_array_data(arrs[i]), jx_array_nbytes(arrs[i])) == 0);
    }
    char *s = jx_fn_to_string(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "f32[5]{-0,inf,-inf,1e-45,0.1}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "f32[2]{nan(0x7f800001),nan(0xffc12345)}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "f64[3]{-0,5e-324,0.1}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "f16[3]{nan(0x7e01),-0,6e-08}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "add -0.0:f32 nan:f32"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "in (a, b, c, d, e, -inf:f64, 0:i64) }"));
    free(s);
    /* the literal -0.0 keeps its sign */
    CU_ASSERT(signbit(g->eqns[4].in[0].lit.f));
    CU_ASSERT(isnan(g->eqns[4].in[1].lit.f));
    for (int i = 0; i < 4; i++) jx_array_release(arrs[i]);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* More variables than two letters name: names go a..z, ba.., and skip the keyword 'in'. */
static void chain(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val x = in[0];
    for (int i = 0; i < 700; i++) x = jx_neg(x);
    out[0] = x;
}

static void test_names(void) {
    jx_aval a = JX_SCALAR(JX_F32);
    jx_fn *f = jx_trace("chain", chain, NULL, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char *s = jx_fn_to_string(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n      ba:f32[] = neg z  # "));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n      io:f32[] = neg im  # "));
    CU_ASSERT_PTR_NULL(strstr(s, " in:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\n      baa:f32[] = neg zz  # "));
    free(s);
    jx_fn_release(round_trip(f));
    jx_fn_release(f);
}

static void test_print_api(void) {
    char *text = golden("multi.jxir");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    jx_fn *f = jx_fn_parse(text);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    FILE *tmp = tmpfile();
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    CU_ASSERT_EQUAL(jx_fn_print(tmp, f), JX_OK);
    rewind(tmp);
    char buf[2048] = {0};
    size_t n = fread(buf, 1, sizeof buf - 1, tmp);
    fclose(tmp);
    CU_ASSERT_EQUAL(n, strlen(text));
    CU_ASSERT_STRING_EQUAL(buf, text);
    CU_ASSERT_EQUAL(jx_fn_print(NULL, f), JX_ERR_ARG);
    CU_ASSERT_PTR_NULL(jx_fn_to_string(NULL));
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_ARG);
    CU_ASSERT_PTR_NULL(jx_fn_parse(NULL));
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_ARG);
    free(text);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ reals */

static void check_real(jx_dtype t, uint64_t bits) {
    char s[64];
    uint64_t back = ~bits;
    jx__real_format(t, bits, true, s, sizeof s);
    int ok = jx__real_parse(t, s, strlen(s), &back) && back == bits;
    if (!ok) fprintf(stderr, "\n  %s bits 0x%llx print as '%s'\n", jx_dtype_name(t), (unsigned long long)bits, s);
    CU_ASSERT(ok);
}

static void test_real_bits_exhaustive(void) {
    for (uint32_t b = 0; b < 65536; b++) {
        check_real(JX_F16, b);
        check_real(JX_BF16, b);
    }
    uint64_t r = 0x9e3779b97f4a7c15ull; /* xorshift: reproducible patterns of every kind */
    for (int i = 0; i < 20000; i++) {
        r ^= r << 13, r ^= r >> 7, r ^= r << 17;
        check_real(JX_F32, r & 0xffffffffu);
        check_real(JX_F64, r);
    }
}

static void expect_fmt(jx_dtype t, uint64_t bits, bool mark, const char *want) {
    char s[64];
    jx__real_format(t, bits, mark, s, sizeof s);
    if (strcmp(s, want) != 0) fprintf(stderr, "\n  got '%s', wanted '%s'\n", s, want);
    CU_ASSERT_STRING_EQUAL(s, want);
}

static void test_real_shortest(void) {
    expect_fmt(JX_F32, f32_bits_of(0.1f), true, "0.1");
    expect_fmt(JX_F64, f64_bits_of(0.1), true, "0.1");
    expect_fmt(JX_F32, f32_bits_of(100.0f), true, "100.0");
    expect_fmt(JX_F32, f32_bits_of(100.0f), false, "100");
    expect_fmt(JX_F32, f32_bits_of(1e20f), true, "1e+20");
    expect_fmt(JX_F32, f32_bits_of(16777216.0f), true, "16777216.0");
    expect_fmt(JX_F32, f32_bits_of(-0.0f), true, "-0.0");
    expect_fmt(JX_F32, f32_bits_of(0.001f), true, "0.001");
    expect_fmt(JX_F32, f32_bits_of(1.5e-5f), true, "1.5e-05");
    expect_fmt(JX_F32, 0x7fc00000u, true, "nan");
    expect_fmt(JX_F32, 0xffc00000u, true, "-nan");
    expect_fmt(JX_F64, f64_bits_of(-INFINITY), true, "-inf");
    expect_fmt(JX_F64, f64_bits_of(1.0 / 3.0), true, "0.3333333333333333");
    expect_fmt(JX_BF16, jx_f32_to_bf16(3.140625f), true, "3.14");
    expect_fmt(JX_F16, 0x7bff, true, "65504.0");
}

/* ------------------------------------------------------------------ errors */

typedef struct bad_text {
    const char *text;
    jx_status code;
    const char *msg; /* the whole message, or (prefix) its start */
    int prefix;
} bad_text;

static const bad_text bad_texts[] = {
    {"{ lambda a:f32[3] .\n  let b:f32[3] = addd a a\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 18: unknown primitive 'addd'", 0},
    {"{ lambda a:f32[3] .\n  let b:f32[3] = add a q\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 24: undefined variable 'q'", 0},
    {"{ lambda a:f32[3] .\n  let b:f32[3] = neg a\n      b:f32[3] = neg a\n  in (b) }", JX_ERR_PARSE,
     "line 3, column 7: variable 'b' defined twice", 0},
    {"{ lambda a:f32[] a:f32[] .\n  in (a) }", JX_ERR_PARSE, "line 1, column 18: variable 'a' defined twice", 0},
    {"{ lambda a:f32[3] .\n  let b:f32[3] neg a\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 16: expected '=' after the outputs", 0},
    {"{ lambda a:f32[3] .\n  let b:f32[2] = neg a\n  in (b) }", JX_ERR_TYPECHECK,
     "line 2, column 7: neg gives f32[3], declared f32[2]", 0},
    {"{ lambda a:f32[3] .\n  let b:f32[3] c:i32[3] = neg a\n  in (b) }", JX_ERR_TYPECHECK,
     "line 2, column 27: neg gives 1 outputs, declared 2", 0},
    {"{ lambda a:f32[4,10] .\n  let b:f32[4,3] = top_k[k=3] a\n  in (b) }", JX_ERR_TYPECHECK,
     "line 2, column 20: top_k gives 2 outputs, declared 1", 0},
    {"{ lambda a:f32[3] b:f32[2] .\n  let c:f32[3] = add a b\n  in (c) }", JX_ERR_SHAPE,
     "line 2, column 18: add: ", 1},
    {"{ lambda a:f32[3] b:f32[2] .\n  let c:f32[3] = add a b  # model.c:9\n  in (c) }", JX_ERR_SHAPE,
     "line 2, column 18: model.c:9: add: ", 1},
    {"{ lambda a:f32[3] .\n  let b:f32[3] = neg[axis=1 axis=2] a\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 29: attribute 'axis' given twice", 0},
    {"{ lambda a:f32[3] .\n  let b:f32[3] = neg[colour=1] a\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 22: unknown attribute 'colour'", 0},
    {"{ lambda a:f33[3] .\n  in (a) }", JX_ERR_PARSE, "line 1, column 12: expected a dtype (f32, i32, bool, ...)", 0},
    {"{ lambda a:f32[1,1,1,1,1,1,1,1,1] .\n  in (a) }", JX_ERR_PARSE, "line 1, column 32: more than 8 dimensions", 0},
    {"{ lambda a:f32[-1] .\n  in (a) }", JX_ERR_PARSE, "line 1, column 16: negative dimension -1", 0},
    {"{ lambda a:f32[1000000000,1000000000] .\n  in (a) }", JX_ERR_PARSE,
     "line 1, column 27: shape too large (more than 2^48 elements)", 0},
    {"{ lambda a:f32[] .", JX_ERR_PARSE, "line 1, column 19: expected an equation or 'in'", 0},
    {"{ lambda a:f32[] .\n  in (a) } x", JX_ERR_PARSE,
     "line 2, column 12: expected the end of the text after the function", 0},
    {"{ lambda a:f32[] .\n  in (a }", JX_ERR_PARSE, "line 2, column 9: expected ',' or ')' after an output", 0},
    {"{ lambda a:f32[] .\n  in (a, @) }", JX_ERR_PARSE, "line 2, column 10: expected a variable or a literal", 0},
    {"{ lambda in:f32[] .\n  in (in) }", JX_ERR_PARSE,
     "line 1, column 10: 'in' is a reserved word, not a variable name", 0},
    {"{ lambda a:u8[] .\n  let b:u8[] = add a 256:u8\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 22: 256 is out of range for u8", 0},
    {"{ lambda a:u32[] .\n  let b:u32[] = add a -1:u32\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 23: -1 is out of range for u32", 0},
    {"{ lambda a:i64[] .\n  let b:i64[] = add a 9223372036854775808:i64\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 23: 9223372036854775808 is out of range for i64", 0},
    {"{ lambda a:i32[] .\n  let b:i32[] = add a 1.5:i32\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 23: expected an integer for i32", 0},
    {"{ lambda a:bool[] .\n  let b:bool[] = and a 1:bool\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 24: expected true or false for a bool literal", 0},
    {"{ lambda a:f32[] .\n  let b:f32[] = add a nan(0x1):f32\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 23: bad f32 literal 'nan(0x1)'", 0},
    {"{ lambda a:f32[] .\n  let b:f32[] = add a 1.5\n  in (b) }", JX_ERR_PARSE,
     "line 3, column 3: expected ':' and a dtype after the literal", 0},
    {"{ lambda .\n  let a:f32[2] = constant[value=f32[2]{1}]\n  in (a) }", JX_ERR_PARSE,
     "line 2, column 41: f32[2] needs 2 elements, got 1", 0},
    {"{ lambda .\n  let a:f32[2] = constant[value=f32[2]{1,2,3}]\n  in (a) }", JX_ERR_PARSE,
     "line 2, column 43: expected '}' after the 2 elements of f32[2]", 0},
    {"{ lambda .\n  let a:f32[1000000] = constant[value=f32[1000000]{1}]\n  in (a) }", JX_ERR_PARSE,
     "line 2, column 51: f32[1000000] needs 1000000 elements; the text is shorter", 0},
    {"{ lambda .\n  let a:i32[2] = constant[value=i32[2]{1,x}]\n  in (a) }", JX_ERR_PARSE,
     "line 2, column 42: expected an integer for i32", 0},
    {"{ lambda a:f32[4,10] .\n  let b:f32[4,3] c:i32[4,3] = top_k[k=99999999999999999999] a\n  in (b) }",
     JX_ERR_PARSE, "line 2, column 39: integer 99999999999999999999 out of range", 0},
    {"{ lambda a:f32[] .\n  let b:f32[] = neg a $\n  in (b) }", JX_ERR_PARSE,
     "line 2, column 23: expected an equation or 'in'", 0},
    {"{ lambda a:f32[] .\n  let b:f32[] = neg a\n  in (b) ", JX_ERR_PARSE,
     "line 3, column 10: expected '}' to close the function", 0},
    {"{ a:f32[] . in (a) }", JX_ERR_PARSE, "line 1, column 3: expected 'lambda' after '{'", 0},
    {"lambda a:f32[] . in (a) }", JX_ERR_PARSE, "line 1, column 1: expected '{' to open a function", 0},
    {"", JX_ERR_PARSE, "line 1, column 1: expected '{' to open a function", 0},
    {"{ lambda a:f32[3] .\n  let b:f32[3] = call[fn={ lambda a:f32[3] .\n    let b:f32[3] = neg q\n"
     "    in (b) }] a\n  in (b) }",
     JX_ERR_PARSE, "line 3, column 24: undefined variable 'q'", 0},
    {"{ lambda a:f32[3] .\n  let b:f32[3] = call[fn={ lambda a:f32[3] .\n    in (a) } fn={ lambda .\n"
     "    in () }] a\n  in (b) }",
     JX_ERR_PARSE, "line 3, column 14: attribute 'fn' given twice", 0},
    /* the nested function parses, the call does not bind: every trace is aborted */
    {"{ lambda a:f32[3] .\n  let b:f32[3] = call[fn={ lambda a:f32[2] .\n    in (a) }] a\n  in (b) }",
     JX_ERR_SHAPE, "line 2, column 18: call: ", 1},
    {"{ lambda a:f32[3] .\n  let b:f32[3] = cond[branches=({ lambda a:f32[3] .\n    in (a) }, { lambda a:f32[3] .\n"
     "    in (a) ] a\n  in (b) }",
     JX_ERR_PARSE, "line 4, column 12: expected '}' to close the function", 0},
};

static void test_errors(void) {
    for (size_t i = 0; i < sizeof bad_texts / sizeof *bad_texts; i++) {
        const bad_text *b = &bad_texts[i];
        jx_clear_error();
        jx_fn *f = jx_fn_parse(b->text);
        CU_ASSERT_PTR_NULL(f);
        jx_fn_release(f);
        const char *m = jx_errmsg();
        int ok = jx_errcode() == b->code &&
                 (b->prefix ? strncmp(m, b->msg, strlen(b->msg)) == 0 : strcmp(m, b->msg) == 0);
        if (!ok)
            fprintf(stderr, "\n  case %zu: got %s '%s', wanted %s '%s'\n", i, jx_status_name(jx_errcode()), m,
                    jx_status_name(b->code), b->msg);
        CU_ASSERT(ok);
    }
}

static void test_error_depth(void) {
    /* 65 nested calls: one past the limit */
    size_t cap = 65 * 80 + 64;
    char *s = malloc(cap), *p = s;
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    for (int i = 0; i < 65; i++) p += sprintf(p, "{ lambda a:f32[] .\n let b:f32[] = call[fn=");
    sprintf(p, "}");
    CU_ASSERT_PTR_NULL(jx_fn_parse(s));
    CU_ASSERT_EQUAL(jx_errcode(), JX_ERR_PARSE);
    JT_ASSERT_ERR("functions nested more than 64 deep");
    JT_ASSERT_ERR("line 65, column 24: ");
    free(s);
    /* 64 deep is fine */
    size_t n = 64;
    cap = n * 120 + 64;
    s = malloc(cap);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    p = s;
    for (size_t i = 0; i + 1 < n; i++) p += sprintf(p, "{ lambda a:f32[] .\n let b:f32[] = call[fn=");
    p += sprintf(p, "{ lambda a:f32[] . in (a) }");
    for (size_t i = 0; i + 1 < n; i++) p += sprintf(p, "] a\n in (b) }");
    jx_fn *f;
    f = jx_fn_parse(s);
    if (!f) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns_total(f), 63);
    jx_fn_release(round_trip(f));
    jx_fn_release(f);
    free(s);
}

/* Whitespace and comments are free; a comment on the next line is not a place. */
static void test_layout_free(void) {
    const char *text = "# a header comment\n{lambda a:f32[3] b:f32[3].let c:f32[3]=add a b # x.c:7\n"
                       "d:f32[3]=iota[dtype=f32 shape=(3) axis=0]\n# not a place: 12\ne:f32[3]=mul c d in(e,c)}\n";
    jx_fn *f = jx_fn_parse(text);
    if (!f) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char *s = jx_fn_to_string(f);
    CU_ASSERT_STRING_EQUAL(s, "{ lambda a:f32[3] b:f32[3] .\n"
                              "  let c:f32[3] = add a b  # x.c:7\n"
                              "      d:f32[3] = iota[dtype=f32 shape=(3) axis=0]\n"
                              "      e:f32[3] = mul c d\n"
                              "  in (e, c) }\n");
    free(s);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"golden mlp", test_golden_mlp},
        {"golden literals", test_golden_literals},
        {"golden constants", test_golden_constants},
        {"golden multiple outputs", test_golden_multi},
        {"golden minimal", test_golden_minimal},
        {"golden empty", test_golden_empty},
        {"golden control flow", test_golden_control},
        {"golden structure", test_golden_structure},
        {"round trip mlp, same results", test_roundtrip_mlp},
        {"round trip control flow", test_roundtrip_control},
        {"round trip NaN/inf/-0 bits", test_roundtrip_bits},
        {"variable names", test_names},
        {"print api", test_print_api},
        {"reals exhaustive", test_real_bits_exhaustive},
        {"reals shortest", test_real_shortest},
        {"parse errors", test_errors},
        {"nesting depth", test_error_depth},
        {"layout is free", test_layout_free},
        CU_TEST_INFO_NULL,
    };
    return jt_run("text", tests);
}
