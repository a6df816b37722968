/* test_einsum.c: jx_einsum against the definition written as a loop here (every
 * assignment of the labels, products summed into the output): two and three operands,
 * batch dims, outer products, full reductions, labels summed in one operand, implicit
 * outputs, "..." and diagonals (a label repeated in one operand); its derivatives against finite differences (f64), vmap against a
 * loop, the IR it makes (dot_general, no loops) and its errors quoting the subscripts. */
#include <stdlib.h>

#include "gradcheck.h"
#include "ir.h"
#include "vmap/vmap_check.h"

typedef struct ecase {
    const char *sub; /* explicit output, letters only: the loop reference reads it */
    int n;
    int rank[3];
    int64_t shape[3][5];
} ecase;

static const ecase cases[] = {
    {"ij,jk->ik", 2, {2, 2}, {{2, 3}, {3, 4}}},
    {"bij,bjk->bik", 2, {3, 3}, {{2, 3, 4}, {2, 4, 5}}},
    {"ij->ji", 1, {2}, {{3, 4}}},
    {"ij->", 1, {2}, {{3, 4}}},
    {"ij,ij->", 2, {2, 2}, {{3, 4}, {3, 4}}},
    {"i,j->ij", 2, {1, 1}, {{3}, {4}}},
    {"i,i->i", 2, {1, 1}, {{5}, {5}}},
    {"ijk,ikl,lm->jm", 3, {3, 3, 2}, {{2, 3, 4}, {2, 4, 3}, {3, 2}}},
    {"abc,cd,bd->a", 3, {3, 2, 2}, {{2, 3, 4}, {4, 5}, {3, 5}}},
    {"ij,jk,ki->", 3, {2, 2, 2}, {{2, 3}, {3, 4}, {4, 2}}},
    {"bhqd,bhkd->bhqk", 2, {4, 4}, {{2, 3, 4, 5}, {2, 3, 6, 5}}},
    {"ijx,jk->ki", 2, {3, 2}, {{2, 3, 4}, {3, 5}}},
    {"ab,c->cba", 2, {2, 1}, {{2, 3}, {4}}},
    {"bij,jk->bik", 2, {3, 2}, {{2, 3, 4}, {4, 5}}},
    {"ii->i", 1, {2}, {{4, 4}}},
    {"ii->", 1, {2}, {{4, 4}}},
    {"bii,bij->bj", 2, {3, 3}, {{2, 3, 3}, {2, 3, 4}}},
    {"iji->j", 1, {3}, {{3, 2, 3}}},
};
#define NCASES ((int)(sizeof cases / sizeof cases[0]))

static jx_array *operand(const ecase *c, int k, jx_dtype t) {
    int64_t n = 1;
    for (int d = 0; d < c->rank[k]; d++) n *= c->shape[k][d];
    double *v = malloc((size_t)n * sizeof *v);
    for (int64_t i = 0; i < n; i++) v[i] = sin(0.7 * (double)i + 1.3 * k + 0.1);
    jx_array *a = jt_array(t, (jx_ints){c->shape[k], c->rank[k]}, v);
    free(v);
    return a;
}

/* The definition: out[o] = sum over all labels not in o of prod_k x_k[...]. */
static double *reference(const ecase *c, jx_array *const *x, int64_t *out_n) {
    int64_t size[128] = {0};
    const char *term[3], *arrow = strstr(c->sub, "->");
    term[0] = c->sub;
    for (int k = 1; k < c->n; k++) term[k] = strchr(term[k - 1], ',') + 1;
    char labels[64];
    int nl = 0;
    for (int k = 0; k < c->n; k++)
        for (int d = 0; d < c->rank[k]; d++) {
            char l = term[k][d];
            if (!size[(int)l]) labels[nl++] = l;
            size[(int)l] = c->shape[k][d];
        }
    const char *outs = arrow + 2;
    int orank = (int)strlen(outs);
    int64_t on = 1, total = 1;
    for (int d = 0; d < orank; d++) on *= size[(int)outs[d]];
    for (int i = 0; i < nl; i++) total *= size[(int)labels[i]];
    double *y = calloc((size_t)on, sizeof *y);
    int64_t val[128];
    for (int64_t a = 0; a < total; a++) {
        int64_t r = a;
        for (int i = nl - 1; i >= 0; i--) {
            val[(int)labels[i]] = r % size[(int)labels[i]];
            r /= size[(int)labels[i]];
        }
        double p = 1;
        for (int k = 0; k < c->n; k++) {
            int64_t idx = 0;
            for (int d = 0; d < c->rank[k]; d++) idx = idx * c->shape[k][d] + val[(int)term[k][d]];
            p *= jx_array_get(x[k], idx);
        }
        int64_t o = 0;
        for (int d = 0; d < orank; d++) o = o * size[(int)outs[d]] + val[(int)outs[d]];
        y[o] += p;
    }
    *out_n = on;
    return y;
}

typedef struct call {
    const char *sub;
    int n;
} call;

static void es_body(jx_val *out, const jx_val *in, void *u) {
    const call *c = u;
    out[0] = jx_einsum(c->sub, c->n, in);
}

/* Runs subscripts `sub` (any form) on the operands of case c, checks against the loop. */
static void check(const ecase *c, const char *sub, jx_dtype t) {
    jx_array *x[3], *y = NULL;
    jx_aval av[3];
    for (int k = 0; k < c->n; k++) x[k] = operand(c, k, t), av[k] = jx_array_aval(x[k]);
    call cl = {sub, c->n};
    jx_status st = jt_trace_eval(es_body, &cl, c->n, av, x, 1, &y);
    if (st != JX_OK) fprintf(stderr, "\n  %s: %s", sub, jx_errmsg());
    CU_ASSERT_EQUAL_FATAL(st, JX_OK);
    int64_t n;
    double *want = reference(c, x, &n);
    CU_ASSERT_EQUAL(jx_aval_size(&y->aval), n);
    double err = jt_max_err(y, want, n), tol = t == JX_F32 ? 1e-5 : 1e-13;
    if (!(err <= tol)) fprintf(stderr, "\n  %s (%s): error %g", sub, c->sub, err);
    CU_ASSERT(err <= tol);
    free(want);
    jx_array_release(y);
    jt_release_arrays(c->n, x);
}

static void test_vs_loop(void) {
    for (int i = 0; i < NCASES; i++) {
        check(&cases[i], cases[i].sub, JX_F64);
        check(&cases[i], cases[i].sub, JX_F32);
    }
}

/* Implicit outputs and "..." give what their explicit spelling gives. */
static void test_implicit_and_ellipsis(void) {
    check(&cases[0], "ij,jk", JX_F64);                 /* -> ik */
    check(&cases[0], " i j , j k -> i k ", JX_F64);     /* spaces */
    check(&cases[1], "...ij,...jk->...ik", JX_F64);    /* -> bik */
    check(&cases[13], "...ij,jk", JX_F64);             /* -> ...ik: "..." is b in one operand only */
    check(&cases[15], "ii", JX_F64);                   /* numpy: a repeated label is summed: the trace */
}

static void test_grads(void) {
    int pick[5] = {1, 7, 8, 10, 16};
    for (int i = 0; i < 5; i++) {
        const ecase *c = &cases[pick[i]];
        jx_aval av[3];
        for (int k = 0; k < c->n; k++) av[k] = jx_aval_make(JX_F64, (jx_ints){c->shape[k], c->rank[k]});
        call cl = {c->sub, c->n};
        CU_ASSERT(jt_check_grads(c->sub, es_body, &cl, c->n, av, -1, 1, 1e-6));
    }
}

static void vfill(const jt_vinput *in, int64_t n, double *v) {
    for (int64_t i = 0; i < n; i++) v[i] = sin(1.1 * (double)i + in->lo);
}

static void test_vmap_and_ir(void) {
    const ecase *c = &cases[10]; /* attention scores */
    jt_vinput in[2] = {{jx_aval_make(JX_F64, (jx_ints){c->shape[0], 4}), 2, 0, 0},
                       {jx_aval_make(JX_F64, (jx_ints){c->shape[1], 4}), JX_NOT_MAPPED, 1, 0}};
    call cl = {c->sub, 2};
    jx_fn *g = NULL;
    CU_ASSERT(jt_check_vmap_avals("einsum attention", es_body, &cl, 2, in, 1, 3, vfill, 1e-13, &g));
    jx_aval av[2] = {in[0].av, in[1].av};
    jx_fn *f = jt_trace_or_say("attn", es_body, &cl, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(jt_count_in_ir(f, "= dot_general["), 1);
    CU_ASSERT_EQUAL(jt_count_in_ir(f, "= transpose["), 0); /* (b,h,q,k) is dot_general's own order */
    jx_fn_release(f);
    jx_fn_release(g);
}

static int err_line;
static void err_body(jx_val *out, const jx_val *in, void *u) {
    const call *c = u;
    err_line = __LINE__ + 1;
    out[0] = jx_einsum(c->sub, c->n, in);
}

static void test_errors(void) {
    static const struct {
        const char *sub;
        int n;
        const char *msg;
    } e[] = {
        {"ij,kk->ij", 2, "einsum: 'ij,kk->ij': label 'k' has size 4 in operand 1 (f32[3,4]) and 3 before"},
        {"ij,jk->il", 2, "einsum: 'ij,jk->il': output label 'l' is in no operand"},
        {"ij,kj->ik", 2, "einsum: 'ij,kj->ik': label 'j' has size 4 in operand 1 (f32[3,4]) and 3 before"},
        {"ijk,jk->ik", 2, "einsum: 'ijk,jk->ik': operand 0 (f32[3,3], term 'ijk') has subscripts that do not match the operand's rank"},
        {"ij->", 2, "einsum: 'ij->' names 1 operands, got 2"},
        {"i1,jk->ik", 2, "operand 0 (f32[3,3], term 'i1') has a character that is not a letter"},
        {"ij,jk->ii", 2, "einsum: 'ij,jk->ii': label 'i' repeats in the output"},
        {"...,jk->jk", 2, "einsum: '...,jk->jk': operands have '...' dims but the output has no '...'"},
        {"i.j,jk->ik", 2, "has a '.' that is not one '...'"},
    };
    jx_aval av[2] = {JX_AVAL(JX_F32, 3, 3), JX_AVAL(JX_F32, 3, 4)};
    for (size_t k = 0; k < sizeof e / sizeof *e; k++) {
        call cl = {e[k].sub, e[k].n};
        jt_assert_trace_fails(err_body, &cl, 2, av, e[k].msg, __FILE__, &err_line);
    }
}

int main(void) {
    CU_TestInfo tests[] = {
        {"einsum vs the loop definition", test_vs_loop},
        {"implicit output and ...", test_implicit_and_ellipsis},
        {"jvp/vjp vs finite differences", test_grads},
        {"vmap vs a loop, IR", test_vmap_and_ir},
        {"errors", test_errors},
        CU_TEST_INFO_NULL,
    };
    return jt_run("einsum", tests);
}
