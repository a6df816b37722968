/* test_pass_dot.c: the transpose folding pass (pass_dot.c): transpose(dot_general(a, b))
 * becomes dot_general(b, a) with swapped attributes for plain, multi-dim and batched
 * contractions and for the matmul gradient of an MLP layer; transpose(transpose(x))
 * becomes one transpose or none; values are unchanged; nothing fires when the dot has
 * another use or the perm does not swap the free groups, and then the IR is the same. */
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "ir.h"
#include "pass_util.h"

/* ------------------------------------------------------------------ helpers */

static int count_prim(const jx_fn *f, jx_prim p) {
    int n = 0;
    for (int k = 0; k < f->neqn; k++) n += f->eqns[k].prim == (int)p;
    return n;
}

/* The equation defining variable v, or NULL. */
static const jx__eqn *def_of(const jx_fn *f, int v) {
    for (int k = 0; k < f->neqn; k++)
        for (int i = 0; i < f->eqns[k].nout; i++)
            if (f->eqns[k].out[i] == v) return &f->eqns[k];
    return NULL;
}

/* Whether attribute key of e holds exactly the n values want. */
static bool ints_are(const jx__eqn *e, jx__akey key, int n, const int64_t *want) {
    jx_ints v = jx__attr_ints(e->nattr, e->attrs, key);
    if (v.n != n) return false;
    for (int i = 0; i < n; i++)
        if (v.v[i] != want[i]) return false;
    return true;
}
#define INTS_ARE(e, key, ...) ints_are((e), (key), (int)JX_INTS(__VA_ARGS__).n, JX_INTS(__VA_ARGS__).v)

/* Inputs of small multiples of 1/4, so every sum is exact whatever its order and the
 * two functions must agree bit for bit. */
static void assert_same_values(const jx_fn *f, const jx_fn *g) {
    int nin = jx_fn_num_inputs(f), nout = jx_fn_num_outputs(f);
    CU_ASSERT_FATAL(nin <= 4 && nout <= 4);
    CU_ASSERT_EQUAL_FATAL(jx_fn_num_outputs(g), nout);
    jx_array *in[4] = {0}, *a[4] = {0}, *b[4] = {0};
    for (int i = 0; i < nin; i++) {
        jx_aval av = jx_fn_input_aval(f, i);
        in[i] = jx_array_new(av.dtype, (jx_ints){av.shape, av.rank}, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(in[i]);
        float *d = jx_array_data_mut(in[i]);
        for (int64_t j = 0; j < jx_array_size(in[i]); j++) d[j] = (float)((j * 7 + i * 3) % 11 - 5) / 4.0f;
    }
    CU_ASSERT_EQUAL_FATAL(jt_eval(f, nin, in, nout, a), JX_OK);
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, nin, in, nout, b), JX_OK);
    for (int i = 0; i < nout; i++) {
        jx_aval fa = jx_fn_output_aval(f, i), ga = jx_fn_output_aval(g, i);
        CU_ASSERT(jx_aval_equal(&fa, &ga));
        CU_ASSERT_EQUAL(jx_array_nbytes(a[i]), jx_array_nbytes(b[i]));
        if (jx_array_nbytes(a[i]) == jx_array_nbytes(b[i]))
            CU_ASSERT(memcmp(jx_array_data(a[i]), jx_array_data(b[i]), jx_array_nbytes(a[i])) == 0);
    }
    for (int i = 0; i < 4; i++) {
        jx_array_release(in[i]);
        jx_array_release(a[i]);
        jx_array_release(b[i]);
    }
}

/* Runs the pass and jx_fn_simplify on f, checks both typecheck and keep the values,
 * and returns the pass's result. */
static jx_fn *fold(const jx_fn *f) {
    jx_fn *g = jx__fn_fold_dot_transpose(f);
    if (!g) fprintf(stderr, "\n  pass failed: %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL(g);
    jx_fn *s = jx_fn_simplify(f);
    CU_ASSERT_PTR_NOT_NULL(s);
    if (!g || !s) {
        jx_fn_release(s);
        jx_fn_release(g);
        return NULL;
    }
    CU_ASSERT_EQUAL(jx_fn_typecheck(g), JX_OK);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(s), jx_fn_num_eqns(g)); /* simplify includes the pass */
    CU_ASSERT_EQUAL(count_prim(s, JX_PRIM_TRANSPOSE), count_prim(g, JX_PRIM_TRANSPOSE));
    assert_same_values(f, g);
    assert_same_values(f, s);
    jx_fn_release(s);
    return g;
}

/* The pass leaves f as it is: same equations, same text. */
static void assert_unchanged(const jx_fn *f) {
    jx_fn *g = fold(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), jx_fn_num_eqns(f));
    CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_TRANSPOSE), count_prim(f, JX_PRIM_TRANSPOSE));
    char *a = jx_fn_to_string(f), *b = jx_fn_to_string(g);
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_PTR_NOT_NULL(b);
    if (a && b) CU_ASSERT_STRING_EQUAL(a, b);
    free(a);
    free(b);
    jx_fn_release(g);
}

/* The dot/transpose shapes a test traces: operands, dims, and the perm. */
typedef struct dot_case {
    jx_aval a, b;
    int64_t lc[2], rc[2], lb[2], rb[2], perm[JX_MAX_RANK];
    int nc, nb, rank;
    int extra_use; /* also return the dot's output */
} dot_case;

static void dot_then_transpose(jx_val *out, const jx_val *in, void *user) {
    const dot_case *c = user;
    jx_val d = jx_dot_general(in[0], in[1], (jx_ints){c->lc, c->nc}, (jx_ints){c->rc, c->nc},
                              (jx_ints){c->lb, c->nb}, (jx_ints){c->rb, c->nb});
    out[0] = jx_transpose(d, (jx_ints){c->perm, c->rank});
    if (c->extra_use) out[1] = d;
}

static jx_fn *trace_case(const dot_case *c) {
    jx_aval av[2] = {c->a, c->b};
    jx_fn *f = jx_trace("dot_t", dot_then_transpose, (void *)c, 2, av, c->extra_use ? 2 : 1);
    if (!f) fprintf(stderr, "\n  trace failed: %s\n", jx_errmsg());
    return f;
}

/* Traces c, folds it, and checks one dot_general(b, a) is left with the given swapped
 * attributes; the attribute lists are (lc, rc, lb, rb) of the new equation. */
static void check_folds(const dot_case *c, jx_ints lc, jx_ints rc, jx_ints lb, jx_ints rb) {
    jx_fn *f = trace_case(c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), 2);
    jx_fn *g = fold(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 1);
    CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_TRANSPOSE), 0);
    const jx__eqn *e = &g->eqns[0];
    CU_ASSERT_EQUAL_FATAL(e->prim, JX_PRIM_DOT_GENERAL);
    CU_ASSERT_EQUAL(e->in[0].var, g->in[1]); /* the operands swapped */
    CU_ASSERT_EQUAL(e->in[1].var, g->in[0]);
    CU_ASSERT(ints_are(e, JX_A_LHS_CONTRACT, lc.n, lc.v));
    CU_ASSERT(ints_are(e, JX_A_RHS_CONTRACT, rc.n, rc.v));
    CU_ASSERT(ints_are(e, JX_A_LHS_BATCH, lb.n, lb.v));
    CU_ASSERT(ints_are(e, JX_A_RHS_BATCH, rb.n, rb.v));
    jx_aval fo = jx_fn_output_aval(f, 0), go = jx_fn_output_aval(g, 0);
    CU_ASSERT(jx_aval_equal(&fo, &go));
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ folds */

static void test_plain_matmul(void) {
    /* (3,4) . (4,5) -> (3,5), transposed to (5,3) = (4,5)^T . (3,4)^T */
    dot_case c = {.a = JX_AVAL(JX_F32, 3, 4), .b = JX_AVAL(JX_F32, 4, 5), .lc = {1}, .rc = {0}, .nc = 1,
                  .perm = {1, 0}, .rank = 2};
    check_folds(&c, JX_INTS(0), JX_INTS(1), JX_NOINTS, JX_NOINTS);
}

static void test_several_free_dims(void) {
    /* (2,3,4) . (4,5) -> (2,3,5); perm (2,0,1) moves the rhs free group first */
    dot_case c = {.a = JX_AVAL(JX_F32, 2, 3, 4), .b = JX_AVAL(JX_F32, 4, 5), .lc = {2}, .rc = {0}, .nc = 1,
                  .perm = {2, 0, 1}, .rank = 3};
    check_folds(&c, JX_INTS(0), JX_INTS(2), JX_NOINTS, JX_NOINTS);
}

static void test_batched_matmul(void) {
    /* (2,3,4) . (2,4,5) batch 0 -> (2,3,5), perm (0,2,1) */
    dot_case c = {.a = JX_AVAL(JX_F32, 2, 3, 4), .b = JX_AVAL(JX_F32, 2, 4, 5), .lc = {2}, .rc = {1}, .nc = 1,
                  .lb = {0}, .rb = {0}, .nb = 1, .perm = {0, 2, 1}, .rank = 3};
    check_folds(&c, JX_INTS(1), JX_INTS(2), JX_INTS(0), JX_INTS(0));
}

static void test_batched_at_other_dims(void) {
    /* (3,2,4) batch 1 . (2,4,5) batch 0 -> (2,3,5): the batch lists swap too */
    dot_case c = {.a = JX_AVAL(JX_F32, 3, 2, 4), .b = JX_AVAL(JX_F32, 2, 4, 5), .lc = {2}, .rc = {1}, .nc = 1,
                  .lb = {1}, .rb = {0}, .nb = 1, .perm = {0, 2, 1}, .rank = 3};
    check_folds(&c, JX_INTS(1), JX_INTS(2), JX_INTS(0), JX_INTS(1));
}

/* sum(relu(x @ w)) */
static void mlp_layer(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    out[0] = jx_reduce_sum(jx_relu(jx_matmul(in[0], in[1])), JX_NOINTS);
}

static void test_mlp_layer_grad(void) {
    enum { B = 4, I = 3, H = 5 };
    jx_aval av[2] = {JX_AVAL(JX_F32, B, I), JX_AVAL(JX_F32, I, H)};
    jx_fn *f = jx_trace("layer", mlp_layer, NULL, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_INTS(0, 1));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_TRANSPOSE), 0);
    CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_DOT_GENERAL), 3); /* forward, dx, dw */
    /* dw = dot_general(x, ct) contracting the batch dim of both, (I,H) straight away */
    CU_ASSERT_FATAL(g->out[1].var >= 0);
    const jx__eqn *dw = def_of(g, g->out[1].var);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dw);
    CU_ASSERT_EQUAL(dw->prim, JX_PRIM_DOT_GENERAL);
    CU_ASSERT_EQUAL(dw->in[0].var, g->in[0]);
    CU_ASSERT(INTS_ARE(dw, JX_A_LHS_CONTRACT, 0));
    CU_ASSERT(INTS_ARE(dw, JX_A_RHS_CONTRACT, 0));
    /* the values: m = (x @ w > 0); dx = m @ w^T, dw = x^T @ m */
    double x[B * I], w[I * H], m[B * H], dx[B * I] = {0}, dwv[I * H] = {0};
    for (int i = 0; i < B * I; i++) x[i] = ((i * 5) % 7 - 3) / 2.0;
    for (int i = 0; i < I * H; i++) w[i] = ((i * 3) % 5 - 2) / 4.0 + 0.125;
    for (int b = 0; b < B; b++)
        for (int h = 0; h < H; h++) {
            double s = 0;
            for (int i = 0; i < I; i++) s += x[b * I + i] * w[i * H + h];
            m[b * H + h] = s > 0;
        }
    for (int b = 0; b < B; b++)
        for (int i = 0; i < I; i++)
            for (int h = 0; h < H; h++) {
                dx[b * I + i] += m[b * H + h] * w[i * H + h];
                dwv[i * H + h] += x[b * I + i] * m[b * H + h];
            }
    jx_array *in[2] = {jt_array(JX_F32, JX_INTS(B, I), x), jt_array(JX_F32, JX_INTS(I, H), w)}, *out[2] = {0};
    CU_ASSERT_EQUAL_FATAL(jt_eval(g, 2, in, 2, out), JX_OK);
    JT_ASSERT_ARRAY(out[0], dx, B * I, 1e-6);
    JT_ASSERT_ARRAY(out[1], dwv, I * H, 1e-6);
    for (int i = 0; i < 2; i++) {
        jx_array_release(in[i]);
        jx_array_release(out[i]);
    }
    jx_fn_release(g);
    jx_fn_release(f);
}

/* The dot inside a called function is folded there. */
static void call_inner(jx_val *out, const jx_val *in, void *user) {
    jx_val y[1];
    jx_call((const jx_fn *)user, 2, in, 1, y);
    out[0] = jx_neg(y[0]);
}

static void test_nested_body(void) {
    dot_case c = {.a = JX_AVAL(JX_F32, 3, 4), .b = JX_AVAL(JX_F32, 4, 5), .lc = {1}, .rc = {0}, .nc = 1,
                  .perm = {1, 0}, .rank = 2};
    jx_fn *inner = trace_case(&c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(inner);
    jx_aval av[2] = {c.a, c.b};
    jx_fn *f = jx_trace("outer", call_inner, inner, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns_total(f), 4);
    jx_fn *g = fold(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns_total(g), 3);
    const jx__attr *fn = jx__attr_get(g->eqns[0].nattr, g->eqns[0].attrs, JX_A_FN);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fn);
    CU_ASSERT_EQUAL(count_prim(fn->u.fns[0], JX_PRIM_TRANSPOSE), 0);
    CU_ASSERT_EQUAL(count_prim(fn->u.fns[0], JX_PRIM_DOT_GENERAL), 1);
    jx_fn_release(g);
    jx_fn_release(f);
    jx_fn_release(inner);
}

/* ------------------------------------------------------------------ transpose chains */

typedef struct chain_case {
    int64_t perms[3][3];
    int n;
} chain_case;

static void transpose_chain(jx_val *out, const jx_val *in, void *user) {
    const chain_case *c = user;
    jx_val x = in[0];
    for (int i = 0; i < c->n; i++) x = jx_transpose(x, (jx_ints){c->perms[i], 3});
    out[0] = x;
}

/* The chain's equation count after the pass, and the perm left when there is one. */
static int fold_chain(const chain_case *c, int64_t *perm) {
    jx_aval a = JX_AVAL(JX_F32, 2, 3, 4);
    jx_fn *f = jx_trace("chain", transpose_chain, (void *)c, 1, &a, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(f), c->n);
    jx_fn *g = fold(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    int n = jx_fn_num_eqns(g);
    if (n == 1) {
        jx_ints p = jx__attr_ints(g->eqns[0].nattr, g->eqns[0].attrs, JX_A_PERM);
        CU_ASSERT_EQUAL(p.n, 3);
        for (int i = 0; i < 3 && i < p.n; i++) perm[i] = p.v[i];
        CU_ASSERT_EQUAL(g->eqns[0].in[0].var, g->in[0]);
    }
    if (n == 0) CU_ASSERT_EQUAL(g->out[0].var, g->in[0]);
    jx_fn_release(g);
    jx_fn_release(f);
    return n;
}

static void test_transpose_chains(void) {
    int64_t perm[3] = {-1, -1, -1};
    /* y[i] = x[p1[p2[i]]]: (1,2,0) twice is (2,0,1) */
    chain_case two = {{{1, 2, 0}, {1, 2, 0}}, 2};
    CU_ASSERT_EQUAL(fold_chain(&two, perm), 1);
    CU_ASSERT(perm[0] == 2 && perm[1] == 0 && perm[2] == 1);
    /* (1,2,0) three times is the identity */
    chain_case three = {{{1, 2, 0}, {1, 2, 0}, {1, 2, 0}}, 3};
    CU_ASSERT_EQUAL(fold_chain(&three, perm), 0);
    /* a perm and its inverse */
    chain_case inv = {{{2, 0, 1}, {1, 2, 0}}, 2};
    CU_ASSERT_EQUAL(fold_chain(&inv, perm), 0);
    /* (1,0,2) then (0,2,1): y = x[p1[p2]] = (1,2,0) */
    chain_case mixed = {{{1, 0, 2}, {0, 2, 1}}, 2};
    CU_ASSERT_EQUAL(fold_chain(&mixed, perm), 1);
    CU_ASSERT(perm[0] == 1 && perm[1] == 2 && perm[2] == 0);
}

/* The inner transpose has another use: it stays, the outer one reads x directly. */
static void shared_inner(jx_val *out, const jx_val *in, void *user) {
    (void)user;
    jx_val t = jx_transpose(in[0], JX_INTS(1, 0));
    out[0] = jx_exp(jx_transpose(t, JX_INTS(1, 0)));
    out[1] = t;
}

static void test_shared_inner_transpose(void) {
    jx_aval a = JX_AVAL(JX_F32, 2, 3);
    jx_fn *f = jx_trace("shared", shared_inner, NULL, 1, &a, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = fold(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 2); /* t and exp(x) */
    CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_TRANSPOSE), 1);
    const jx__eqn *e = def_of(g, g->out[0].var);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    CU_ASSERT_EQUAL(e->prim, JX_PRIM_EXP);
    CU_ASSERT_EQUAL(e->in[0].var, g->in[0]);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* ------------------------------------------------------------------ no fold */

static void test_dot_with_another_use(void) {
    dot_case c = {.a = JX_AVAL(JX_F32, 3, 4), .b = JX_AVAL(JX_F32, 4, 5), .lc = {1}, .rc = {0}, .nc = 1,
                  .perm = {1, 0}, .rank = 2, .extra_use = 1};
    jx_fn *f = trace_case(&c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    assert_unchanged(f);
    jx_fn_release(f);
}

static void test_perm_not_a_swap(void) {
    /* (2,3,4) . (4,5) -> (2,3,5): (2,1,0) also reverses the lhs free group */
    dot_case rev = {.a = JX_AVAL(JX_F32, 2, 3, 4), .b = JX_AVAL(JX_F32, 4, 5), .lc = {2}, .rc = {0}, .nc = 1,
                    .perm = {2, 1, 0}, .rank = 3};
    /* (1,0,2) swaps inside the lhs free group */
    dot_case part = rev;
    memcpy(part.perm, (int64_t[]){1, 0, 2}, sizeof(int64_t[3]));
    /* batched (2,3,4) . (2,4,5) -> (2,3,5): (2,1,0) moves the batch dim */
    dot_case batch = {.a = JX_AVAL(JX_F32, 2, 3, 4), .b = JX_AVAL(JX_F32, 2, 4, 5), .lc = {2}, .rc = {1},
                      .nc = 1, .lb = {0}, .rb = {0}, .nb = 1, .perm = {2, 1, 0}, .rank = 3};
    /* batched, (1,0,2): batch dim moved, free dims kept */
    dot_case batch2 = batch;
    memcpy(batch2.perm, (int64_t[]){1, 0, 2}, sizeof(int64_t[3]));
    const dot_case *cases[] = {&rev, &part, &batch, &batch2};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        jx_fn *f = trace_case(cases[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(f);
        CU_ASSERT_EQUAL(count_prim(f, JX_PRIM_TRANSPOSE), 1);
        assert_unchanged(f);
        jx_fn_release(f);
    }
}

static void test_null(void) {
    jx_clear_error();
    CU_ASSERT_PTR_NULL(jx__fn_fold_dot_transpose(NULL));
    JT_ASSERT_ERR("function is NULL");
    jx_clear_error();
}

int main(void) {
    CU_TestInfo tests[] = {
        {"plain matmul", test_plain_matmul},
        {"several free dims", test_several_free_dims},
        {"batched matmul", test_batched_matmul},
        {"batch dims at other positions", test_batched_at_other_dims},
        {"matmul gradient of an MLP layer", test_mlp_layer_grad},
        {"nested bodies", test_nested_body},
        {"transpose chains", test_transpose_chains},
        {"a shared inner transpose stays", test_shared_inner_transpose},
        {"no fold: the dot has another use", test_dot_with_another_use},
        {"no fold: the perm does not swap the groups", test_perm_not_a_swap},
        {"NULL function", test_null},
        CU_TEST_INFO_NULL,
    };
    return jt_run("pass_dot", tests);
}
