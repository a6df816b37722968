/* test_vmap_linalg.c: vmap of dot_general, conv_general_dilated and the windowed
 * reductions against a loop of calls on slices, for operands mapped at the front, at the
 * end, in the middle or not at all; and the IR vmap makes: one contraction or
 * convolution however the axes are mapped, never a loop, and no copy of an unmapped
 * operand. */
#include <stdlib.h>

#include "ir.h"
#include "op_bodies.h"
#include "vmap/vmap_check.h"

#define NM JX_NOT_MAPPED
#define B 3 /* the mapped size of every case */

/* ------------------------------------------------------------------ helpers */

/* One input of a case (lo and hi unused: values come from next_val). */
typedef jt_vinput inp;

static uint64_t rng = 12345;

/* Pseudo-random values in [-2, 2), different for every input made. */
static double next_val(void) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) / (double)(1ULL << 53) * 4.0 - 2.0;
}

/* Random values, small integers for integer dtypes. */
static void fill(const inp *in, int64_t n, double *v) {
    for (int64_t i = 0; i < n; i++)
        v[i] = jx_dtype_is_float(in->av.dtype) ? next_val() : floor(next_val() * 2);
}

/* Checks the vmap of f (in_axes from in[]) against the loop within tol. */
static int check_fn(const char *what, const jx_fn *f, int nin, const inp *in, double tol) {
    return jt_check_vmap_inputs(what, f, nin, in, B, fill, tol);
}

/* Traces body on the avals of in[] and checks its vmap; the vmapped function goes to *g
 * when g is not NULL (release it). */
static int check(const char *what, jx_body body, void *user, int nin, const inp *in, int nout,
                 double tol, jx_fn **g) {
    return jt_check_vmap_avals(what, body, user, nin, in, nout, B, fill, tol, g);
}

/* Equations of primitive p in f, nested functions included. */
static int count_prim(const jx_fn *f, jx_prim p) {
    int n = 0;
    for (int i = 0; f && i < f->neqn; i++) {
        const jx__eqn *e = &f->eqns[i];
        n += e->prim == (int)p;
        for (int a = 0; a < e->nattr; a++)
            if (e->attrs[a].kind == JX_AK_FNS)
                for (int k = 0; k < e->attrs[a].n; k++) n += count_prim(e->attrs[a].u.fns[k], p);
    }
    return n;
}

static bool has_loop(const jx_fn *f) {
    return count_prim(f, JX_PRIM_SCAN) + count_prim(f, JX_PRIM_WHILE) + count_prim(f, JX_PRIM_CALL) > 0;
}

/* ------------------------------------------------------------------ dot_general */

typedef struct dot_case {
    jx_ints lc, rc, lb, rb;
} dot_case;

static void dot_body(jx_val *out, const jx_val *in, void *u) {
    const dot_case *c = u;
    out[0] = jx_dot_general(in[0], in[1], c->lc, c->rc, c->lb, c->rb);
}

/* Every way of mapping a pair of operands (mapped axes given per case). */
static void check_dot(const char *what, const dot_case *c, jx_aval l, jx_aval r, int n,
                      const int64_t (*axes)[2]) {
    for (int i = 0; i < n; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s in_axes (%lld,%lld)", what, (long long)axes[i][0],
                 (long long)axes[i][1]);
        inp in[2] = {{.av = l, .axis = axes[i][0]}, {.av = r, .axis = axes[i][1]}};
        jx_fn *g = NULL;
        CU_ASSERT(check(name, dot_body, (void *)c, 2, in, 1, 1e-12, &g));
        CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_DOT_GENERAL), 1);
        CU_ASSERT(!has_loop(g));
        jx_fn_release(g);
    }
}

static const int64_t pairs[][2] = {{0, 0}, {0, NM},  {NM, 0}, {-1, NM}, {NM, -1},
                                   {1, 2}, {-1, -1}, {NM, 1}, {2, 0}};

static void test_dot_matmul(void) {
    dot_case c = {JX_INTS(1), JX_INTS(0), JX_NOINTS, JX_NOINTS};
    check_dot("matmul", &c, JX_AVAL(JX_F64, 2, 4), JX_AVAL(JX_F64, 4, 5), 9, pairs);
    dot_case v = {JX_INTS(0), JX_INTS(0), JX_NOINTS, JX_NOINTS};
    check_dot("inner product", &v, JX_AVAL(JX_F64, 4), JX_AVAL(JX_F64, 4), 3, pairs);
    dot_case o = {JX_NOINTS, JX_NOINTS, JX_NOINTS, JX_NOINTS};
    check_dot("outer product", &o, JX_AVAL(JX_F64, 2), JX_AVAL(JX_F64, 3), 5, pairs);
    check_dot("matmul i32", &c, JX_AVAL(JX_I32, 2, 4), JX_AVAL(JX_I32, 4, 5), 4, pairs);
}

static void test_dot_batch_dims(void) {
    /* (2,3,4) . (4,2,5): batch (0)/(1), contract (2)/(0) -> (2,3,5) */
    dot_case c = {JX_INTS(2), JX_INTS(0), JX_INTS(0), JX_INTS(1)};
    check_dot("batched matmul", &c, JX_AVAL(JX_F64, 2, 3, 4), JX_AVAL(JX_F64, 4, 2, 5), 9, pairs);
    /* two contracting dims in swapped order, free dims on both sides */
    dot_case m = {JX_INTS(0, 2), JX_INTS(2, 0), JX_NOINTS, JX_NOINTS};
    static const int64_t more[][2] = {{1, NM}, {NM, 3}, {3, 1}, {2, 2}};
    check_dot("two contractions", &m, JX_AVAL(JX_F64, 3, 2, 4), JX_AVAL(JX_F64, 4, 5, 3), 4, more);
}

/* The mapped axis becomes a dot_general dim: no broadcast of the unmapped operand, and
 * when the mapped lhs axis leads, no transpose either (the output comes out mapped at 0). */
static void test_dot_ir(void) {
    dot_case c = {JX_INTS(1), JX_INTS(0), JX_NOINTS, JX_NOINTS};
    inp in[2] = {{.av = JX_AVAL(JX_F32, 2, 4), .axis = 0}, {.av = JX_AVAL(JX_F32, 4, 5), .axis = NM}};
    jx_fn *g = NULL;
    CU_ASSERT(check("matmul lhs mapped", dot_body, &c, 2, in, 1, 1e-5, &g));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 1);
    CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_BROADCAST_IN_DIM), 0);
    jx_fn_release(g);
    /* both mapped: a batch pair, still a single equation */
    inp both[2] = {{.av = JX_AVAL(JX_F32, 2, 4), .axis = 0}, {.av = JX_AVAL(JX_F32, 4, 5), .axis = 0}};
    CU_ASSERT(check("matmul both mapped", dot_body, &c, 2, both, 1, 1e-5, &g));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 1);
    jx_fn_release(g);
    /* rhs mapped at 0 lands after lhs's free dim: one transpose to out_axes 0, no copy */
    inp rhs[2] = {{.av = JX_AVAL(JX_F32, 2, 4), .axis = NM}, {.av = JX_AVAL(JX_F32, 4, 5), .axis = 0}};
    CU_ASSERT(check("matmul rhs mapped", dot_body, &c, 2, rhs, 1, 1e-5, &g));
    CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_DOT_GENERAL), 1);
    CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_BROADCAST_IN_DIM), 0);
    CU_ASSERT(count_prim(g, JX_PRIM_TRANSPOSE) <= 1);
    jx_fn_release(g);
}

/* ------------------------------------------------------------------ convolution */

static void conv_body(jx_val *out, const jx_val *in, void *u) {
    out[0] = jx_conv(in[0], in[1], (const jx_conv_opts *)u);
}

/* One conv in the IR for each mapping of (lhs, rhs). */
static void check_conv(const char *what, jx_aval l, jx_aval r, const jx_conv_opts *o) {
    static const int64_t axes[][2] = {{0, NM}, {2, NM}, {-1, NM}, {NM, 0}, {NM, -1},
                                      {NM, 1}, {0, 0},  {1, 3},   {-1, 2}};
    for (int i = 0; i < 9; i++) {
        char name[128];
        snprintf(name, sizeof name, "%s in_axes (%lld,%lld)", what, (long long)axes[i][0],
                 (long long)axes[i][1]);
        inp in[2] = {{.av = l, .axis = axes[i][0]}, {.av = r, .axis = axes[i][1]}};
        jx_fn *g = NULL;
        CU_ASSERT(check(name, conv_body, (void *)o, 2, in, 1, 1e-12, &g));
        CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_CONV), 1);
        CU_ASSERT(!has_loop(g));
        jx_fn_release(g);
    }
}

static void test_conv_groups1(void) {
    jx_conv_opts plain = {{0}, {0}, {0}, {0}, {0}, 0};
    check_conv("conv1d", JX_AVAL(JX_F64, 2, 3, 7), JX_AVAL(JX_F64, 4, 3, 3), &plain);
    jx_conv_opts o = {JX_INTS(2, 1), JX_INTS(1, 0), JX_INTS(0, 1), JX_INTS(1, 2), JX_INTS(1, 2), 1};
    check_conv("conv2d strided dilated", JX_AVAL(JX_F64, 2, 2, 5, 6), JX_AVAL(JX_F64, 3, 2, 3, 2), &o);
}

static void test_conv_groups2(void) {
    jx_conv_opts g2 = {JX_INTS(2), JX_INTS(1), JX_INTS(1), JX_NOINTS, JX_INTS(2), 2};
    check_conv("conv1d groups 2", JX_AVAL(JX_F64, 2, 4, 7), JX_AVAL(JX_F64, 6, 2, 2), &g2);
    jx_conv_opts dw = {JX_INTS(1, 2), JX_INTS(1, 1), JX_INTS(1, 0), JX_NOINTS, JX_NOINTS, 3};
    check_conv("conv2d depthwise", JX_AVAL(JX_F64, 2, 3, 5, 4), JX_AVAL(JX_F64, 6, 1, 3, 3), &dw);
}

static void test_conv_3d(void) {
    jx_conv_opts g = {JX_NOINTS, JX_INTS(1, 0, 0), JX_INTS(0, 0, 1), JX_NOINTS, JX_NOINTS, 2};
    check_conv("conv3d groups 2", JX_AVAL(JX_F64, 1, 2, 3, 3, 2), JX_AVAL(JX_F64, 4, 1, 2, 1, 2), &g);
}

/* No slices at all: both operands mapped would ask for 0 feature groups; the result is
 * simply empty, of the right shape. */
static void test_conv_empty_axis(void) {
    jx_conv_opts g2 = {JX_INTS(2), JX_INTS(1), JX_INTS(1), JX_NOINTS, JX_NOINTS, 2};
    jx_aval av[2] = {JX_AVAL(JX_F32, 2, 4, 7), JX_AVAL(JX_F32, 6, 2, 2)};
    jx_fn *f = jx_trace("conv", conv_body, &g2, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_vmap(f, JX_INTS(0, 0), JX_NOINTS, 0);
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    jx_array *in[2] = {jx_array_zeros(JX_F32, JX_INTS(0, 2, 4, 7)),
                       jx_array_zeros(JX_F32, JX_INTS(0, 6, 2, 2))};
    jx_array *y = NULL;
    CU_ASSERT_EQUAL(jx_eval(g, 2, in, 1, &y), JX_OK);
    jt_check_array(__LINE__, y, JX_F32, JX_INTS(0, 2, 6, 4), NULL, 0);
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ windows */

static void sas_body(jx_val *out, const jx_val *in, void *u) {
    const jt_window *w = u;
    out[0] = jx_select_and_scatter_add(in[0], in[1], w->window, w->strides, w->lo, w->hi);
}

/* select_and_gather_add has no public op: bound as the max pool's jvp binds it. */
static void sag_body(jx_val *out, const jx_val *in, void *u) {
    const jt_window *w = u;
    jx__attr at[4] = {jx__a_ints(JX_A_WINDOW, w->window), jx__a_ints(JX_A_STRIDES, w->strides),
                      jx__a_ints(JX_A_LO, w->lo), jx__a_ints(JX_A_HI, w->hi)};
    out[0] = jx__bind1(JX_HERE, JX_PRIM_SELECT_AND_GATHER_ADD, 2, in, 4, at);
}

static const jt_window pool = {JX_WINDOW_SUM, JX_INTS(2, 3), JX_INTS(1, 2), JX_INTS(1, 0),
                              JX_INTS(0, 1)};

static void test_reduce_window(void) {
    static const jx_window_kind kinds[3] = {JX_WINDOW_SUM, JX_WINDOW_MAX, JX_WINDOW_MIN};
    static const int64_t axes[4] = {0, 1, -1, 2};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 4; i++) {
            jt_window w = pool;
            w.kind = kinds[k];
            char name[96];
            snprintf(name, sizeof name, "reduce_window kind %d in_axes (%lld)", k, (long long)axes[i]);
            inp in = {.av = JX_AVAL(JX_F64, 4, 6), .axis = axes[i]};
            jx_fn *g = NULL;
            CU_ASSERT(check(name, jt_b_pool, &w, 1, &in, 1, 1e-12, &g));
            CU_ASSERT(!has_loop(g));
            jx_fn_release(g);
        }
    /* integer max pooling */
    jt_window w = pool;
    w.kind = JX_WINDOW_MAX;
    inp in = {.av = JX_AVAL(JX_I32, 4, 6), .axis = 1};
    CU_ASSERT(check("reduce_window_max i32", jt_b_pool, &w, 1, &in, 1, 0, NULL));
}

/* (source or tangent, operand): each mapped or not. */
static void test_select_and_add(void) {
    static const int64_t axes[][2] = {{0, 0}, {NM, 1}, {1, NM}, {2, 0}, {-1, -1}, {0, NM}};
    jx_aval op = JX_AVAL(JX_F64, 4, 6), src = JX_AVAL(JX_F64, 4, 3); /* pool's windowed shape */
    for (int i = 0; i < 6; i++) {
        char name[96];
        snprintf(name, sizeof name, "select_and_scatter_add in_axes (%lld,%lld)", (long long)axes[i][0],
                 (long long)axes[i][1]);
        inp in[2] = {{.av = src, .axis = axes[i][0]}, {.av = op, .axis = axes[i][1]}};
        CU_ASSERT(check(name, sas_body, (void *)&pool, 2, in, 1, 1e-12, NULL));
        snprintf(name, sizeof name, "select_and_gather_add in_axes (%lld,%lld)", (long long)axes[i][0],
                 (long long)axes[i][1]);
        inp ing[2] = {{.av = op, .axis = axes[i][0]}, {.av = op, .axis = axes[i][1]}};
        CU_ASSERT(check(name, sag_body, (void *)&pool, 2, ing, 1, 1e-12, NULL));
    }
}

/* ------------------------------------------------------------------ nesting, grad */

/* vmap of vmap: the inner vmap already folded its axis (into the batch, the output
 * channels or the feature groups); the outer one folds its own on top. */
static void test_nested(void) {
    static const int64_t inner[][2] = {{0, 0}, {0, NM}, {NM, 0}};
    static const int64_t outer[][2] = {{0, 0}, {1, NM}, {NM, -1}};
    jx_conv_opts g2 = {JX_INTS(2), JX_INTS(1), JX_INTS(0), JX_NOINTS, JX_NOINTS, 2};
    dot_case mm = {JX_INTS(1), JX_INTS(0), JX_NOINTS, JX_NOINTS};
    for (int f = 0; f < 2; f++) {
        jx_aval av[2] = {JX_AVAL(JX_F64, 2, 4, 6), JX_AVAL(JX_F64, 4, 2, 3)};
        if (f) {
            av[0] = JX_AVAL(JX_F64, 2, 4);
            av[1] = JX_AVAL(JX_F64, 4, 5);
        }
        jx_fn *fn =
            jx_trace("nested", f ? dot_body : conv_body, f ? (void *)&mm : (void *)&g2, 2, av, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(fn);
        for (int i = 0; i < 3; i++) {
            jx_fn *vf = jx_vmap(fn, (jx_ints){inner[i], 2}, JX_NOINTS, 2);
            CU_ASSERT_PTR_NOT_NULL_FATAL(vf);
            for (int o = 0; o < 3; o++) {
                inp in[2] = {{.av = jx_fn_input_aval(vf, 0), .axis = outer[o][0]},
                             {.av = jx_fn_input_aval(vf, 1), .axis = outer[o][1]}};
                char name[96];
                snprintf(name, sizeof name, "%s nested: inner %d outer %d", f ? "matmul" : "conv", i,
                         o);
                CU_ASSERT(check_fn(name, vf, 2, in, 1e-12));
            }
            jx_fn_release(vf);
        }
        jx_fn_release(fn);
    }
}

/* loss(w, x) = sum(maxpool(conv(x, w))^2): its gradient in w (conv transposes, the max
 * pool's select_and_scatter_add) batched per example, w shared. */
static void cnn_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_conv_opts o = {JX_NOINTS, JX_INTS(1, 1), JX_INTS(1, 1), JX_NOINTS, JX_NOINTS, 2};
    jx_val y = jx_conv(in[1], in[0], &o);
    y = jx_reduce_window(y, JX_WINDOW_MAX, JX_INTS(1, 1, 2, 2), JX_INTS(1, 1, 2, 2), JX_NOINTS,
                         JX_NOINTS);
    out[0] = jx_reduce_sum(jx_mul(y, y), JX_NOINTS);
}

static void test_per_example_grad(void) {
    jx_aval av[2] = {JX_AVAL(JX_F64, 4, 1, 3, 3), JX_AVAL(JX_F64, 1, 2, 4, 4)};
    jx_fn *f = jx_trace("cnn_loss", cnn_loss, NULL, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_INTS(0, 1));
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    static const int64_t axes[][2] = {{NM, 0}, {0, 0}, {-1, NM}};
    for (int i = 0; i < 3; i++) {
        inp in[2] = {{.av = av[0], .axis = axes[i][0]}, {.av = av[1], .axis = axes[i][1]}};
        char name[96];
        snprintf(name, sizeof name, "per-example cnn grad in_axes (%lld,%lld)", (long long)axes[i][0],
                 (long long)axes[i][1]);
        CU_ASSERT(check_fn(name, g, 2, in, 1e-10));
    }
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"dot_general: matmul, inner, outer, i32", test_dot_matmul},
        {"dot_general: batch dims, two contractions", test_dot_batch_dims},
        {"dot_general: one equation, no copies", test_dot_ir},
        {"conv: one group, 1-D and 2-D", test_conv_groups1},
        {"conv: two and three groups", test_conv_groups2},
        {"conv: 3-D with groups", test_conv_3d},
        {"conv: an empty mapped axis", test_conv_empty_axis},
        {"reduce_window sum, max, min", test_reduce_window},
        {"select_and_scatter_add, select_and_gather_add", test_select_and_add},
        {"vmap of vmap: conv and matmul", test_nested},
        {"per-example gradients of a small CNN", test_per_example_grad},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmap_linalg", tests);
}
