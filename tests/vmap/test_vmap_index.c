/* test_vmap_index.c: vmap of gather, scatter_add, sort, top_k and threefry2x32 against a
 * loop of calls on slices, with x, indices, updates, keys and counters each mapped at
 * the front, the end, in the middle or not at all (out-of-range indices included, which
 * gather clamps and scatter_add drops; sort keys with ties, which must stay stable); and
 * the IR: mapped indices alone never copy x. */
#include <stdlib.h>

#include "ir.h"
#include "vmap/vmap_check.h"

#define NM JX_NOT_MAPPED
#define B 3 /* the mapped size of every case */

/* ------------------------------------------------------------------ helpers */

/* One input of a case; its values are drawn from [lo, hi) (whole numbers for integer
 * dtypes). */
typedef jt_vinput inp;

static uint64_t rng = 777;

static double next_unit(void) {
    rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng >> 11) / (double)(1ULL << 53);
}

static void fill(const inp *in, int64_t n, double *v) {
    for (int64_t i = 0; i < n; i++) {
        v[i] = in->lo + next_unit() * (in->hi - in->lo);
        if (!jx_dtype_is_float(in->av.dtype)) v[i] = floor(v[i]);
    }
}

/* Checks the vmap of f (in_axes from in[]) against the loop, exactly. */
static int check_fn(const char *what, const jx_fn *f, int nin, const inp *in) {
    return jt_check_vmap_inputs(what, f, nin, in, B, fill, 1e-12);
}

/* Traces body on the avals of in[] and checks its vmap; the vmapped function goes to *g
 * when g is not NULL (release it). */
static int check(const char *what, jx_body body, void *user, int nin, const inp *in, int nout,
                 jx_fn **g) {
    return jt_check_vmap_avals(what, body, user, nin, in, nout, B, fill, 1e-12, g);
}

/* Equations of primitive p at f's top level. */
static int count_prim(const jx_fn *f, jx_prim p) {
    int n = 0;
    for (int i = 0; f && i < f->neqn; i++) n += f->eqns[i].prim == (int)p;
    return n;
}

/* "what in_axes (a,b,...)" into buf. */
static const char *name_of(char *buf, size_t n, const char *what, int nin, const int64_t *axes) {
    int k = snprintf(buf, n, "%s in_axes (", what);
    for (int i = 0; i < nin && k > 0 && (size_t)k < n; i++)
        k += axes[i] == NM
                 ? snprintf(buf + k, n - (size_t)k, "%sNM", i ? "," : "")
                 : snprintf(buf + k, n - (size_t)k, "%s%lld", i ? "," : "", (long long)axes[i]);
    if (k > 0 && (size_t)k < n) snprintf(buf + k, n - (size_t)k, ")");
    return buf;
}

/* ------------------------------------------------------------------ gather */

typedef struct idx_case {
    int axis, nbatch;
} idx_case;

static void gather_body(jx_val *out, const jx_val *in, void *u) {
    const idx_case *c = u;
    out[0] = jx_gather(in[0], in[1], c->axis, c->nbatch);
}

/* x, indices: every pair of axes in axes[] (indices range over [-2, n+2): clamped). */
static void check_gather(const char *what, const idx_case *c, jx_aval x, jx_aval idx, int n,
                         const int64_t (*axes)[2]) {
    double len = (double)x.shape[c->axis];
    for (int i = 0; i < n; i++) {
        char name[128];
        inp in[2] = {{x, axes[i][0], -2, 2}, {idx, axes[i][1], -2, len + 2}};
        CU_ASSERT(check(name_of(name, sizeof name, what, 2, axes[i]), gather_body, (void *)c, 2, in, 1,
                        NULL));
    }
}

static void test_gather(void) {
    static const int64_t axes[][2] = {{0, 0}, {0, NM}, {NM, 0}, {1, NM}, {NM, -1}, {-1, 1}, {2, NM}};
    idx_case rows = {0, 0};
    check_gather("take rows", &rows, JX_AVAL(JX_F64, 5, 3), JX_AVAL(JX_I32, 4), 6, axes);
    idx_case cols = {1, 0};
    check_gather("take columns, 2-D indices", &cols, JX_AVAL(JX_F64, 3, 5), JX_AVAL(JX_I32, 2, 2), 7,
                 axes);
    idx_case scalar = {0, 0};
    check_gather("scalar index", &scalar, JX_AVAL(JX_F64, 4), JX_AVAL(JX_I64, 0), 3, axes);
}

/* With a shared batch dim the indices' mapped axis may sit among the shared dims (it is
 * moved after them) or after them (it stays). */
static void test_gather_nbatch(void) {
    static const int64_t axes[][2] = {{0, 0}, {1, NM}, {NM, 1}, {NM, 0}, {NM, 2},
                                      {2, 0}, {3, 2},  {0, NM}, {-1, -1}};
    idx_case c = {1, 1};
    check_gather("gather nbatch 1", &c, JX_AVAL(JX_F64, 2, 5, 3), JX_AVAL(JX_I32, 2, 4), 9, axes);
    idx_case c2 = {2, 1};
    check_gather("gather axis 2 nbatch 1", &c2, JX_AVAL(JX_F32, 2, 3, 4), JX_AVAL(JX_I32, 2, 2, 2), 9,
                 axes);
}

/* Mapped indices on their own do not broadcast x: one gather (and the wrap of its indices). */
static void test_gather_ir(void) {
    idx_case c = {0, 0};
    inp in[2] = {{JX_AVAL(JX_F32, 5, 3), NM, -2, 2}, {JX_AVAL(JX_I32, 4), 0, 0, 5}};
    jx_fn *g = NULL;
    CU_ASSERT(check("gather indices mapped", gather_body, &c, 2, in, 1, &g));
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(jx_fn_num_eqns(g), 4); /* the gather and the wrap of its indices */
    CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_GATHER), 1);
    jx_fn_release(g);
    /* x mapped first: a gather, then at most one move to out_axes 0 */
    inp inx[2] = {{JX_AVAL(JX_F32, 2, 5, 3), 0, -2, 2}, {JX_AVAL(JX_I32, 2, 4), NM, 0, 5}};
    idx_case b = {1, 1};
    CU_ASSERT(check("gather x mapped", gather_body, &b, 2, inx, 1, &g));
    CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_GATHER), 1);
    CU_ASSERT_EQUAL(count_prim(g, JX_PRIM_BROADCAST_IN_DIM), 0);
    jx_fn_release(g);
}

/* ------------------------------------------------------------------ scatter_add */

static void scatter_body(jx_val *out, const jx_val *in, void *u) {
    const idx_case *c = u;
    out[0] = jx_scatter_add(in[0], in[1], in[2], c->axis, c->nbatch);
}

static void check_scatter(const char *what, const idx_case *c, jx_aval x, jx_aval idx, jx_aval upd,
                          int n, const int64_t (*axes)[3]) {
    double len = (double)x.shape[c->axis];
    for (int i = 0; i < n; i++) {
        char name[128];
        inp in[3] = {{x, axes[i][0], -2, 2}, {idx, axes[i][1], -1, len + 1}, {upd, axes[i][2], -2, 2}};
        CU_ASSERT(check(name_of(name, sizeof name, what, 3, axes[i]), scatter_body, (void *)c, 3, in, 1,
                        NULL));
    }
}

static const int64_t scatter_axes[][3] = {{0, NM, NM}, {NM, NM, 0}, {NM, 0, NM},
                                          {0, 0, 0},   {1, NM, 2},  {NM, 1, -1},
                                          {-1, NM, 1}, {2, 0, NM},  {NM, -1, NM}};

static void test_scatter_add(void) {
    idx_case rows = {0, 0};
    check_scatter("scatter rows", &rows, JX_AVAL(JX_F64, 5, 3), JX_AVAL(JX_I32, 4),
                  JX_AVAL(JX_F64, 4, 3), 9, scatter_axes);
    idx_case nb = {1, 1};
    check_scatter("scatter nbatch 1", &nb, JX_AVAL(JX_F64, 2, 5, 3), JX_AVAL(JX_I32, 2, 4),
                  JX_AVAL(JX_F64, 2, 4, 3), 9, scatter_axes);
    check_scatter("scatter i32", &rows, JX_AVAL(JX_I32, 5, 3), JX_AVAL(JX_I64, 4),
                  JX_AVAL(JX_I32, 4, 3), 5, scatter_axes);
}

/* ------------------------------------------------------------------ sort, top_k */

typedef struct sort_case {
    int n, axis, num_keys;
} sort_case;

static void sort_body(jx_val *out, const jx_val *in, void *u) {
    const sort_case *c = u;
    jx_sort_multi(c->n, in, c->axis, c->num_keys, out);
}

static void test_sort(void) {
    static const int64_t one[][1] = {{0}, {1}, {2}, {-1}};
    sort_case s1 = {1, 1, 1}, s0 = {1, 0, 1};
    for (int i = 0; i < 4; i++) {
        char name[96];
        inp in = {JX_AVAL(JX_F64, 3, 5), one[i][0], -2, 2};
        CU_ASSERT(check(name_of(name, sizeof name, "sort axis 1", 1, one[i]), sort_body, &s1, 1, &in, 1,
                        NULL));
        CU_ASSERT(check(name_of(name, sizeof name, "sort axis 0", 1, one[i]), sort_body, &s0, 1, &in, 1,
                        NULL));
    }
    /* integer keys with ties carry a second operand: stable, whoever is mapped */
    static const int64_t two[][2] = {{0, NM}, {NM, 1}, {1, 2}, {NM, 0}, {-1, -1}};
    sort_case kv = {2, 1, 1}, k2 = {2, 0, 2};
    for (int i = 0; i < 5; i++) {
        char name[96];
        inp in[2] = {{JX_AVAL(JX_I32, 2, 6), two[i][0], 0, 3},
                     {JX_AVAL(JX_F32, 2, 6), two[i][1], -2, 2}};
        CU_ASSERT(check(name_of(name, sizeof name, "sort key-value", 2, two[i]), sort_body, &kv, 2, in,
                        2, NULL));
        CU_ASSERT(check(name_of(name, sizeof name, "sort two keys", 2, two[i]), sort_body, &k2, 2, in,
                        2, NULL));
    }
}

static void top_k_body(jx_val *out, const jx_val *in, void *u) {
    jx_top_k(in[0], *(const int *)u, &out[0], &out[1]);
}

static void test_top_k(void) {
    static const int64_t axes[][1] = {{0}, {1}, {2}, {-1}}, vaxes[][1] = {{0}, {1}, {-1}, {-2}};
    static const int k = 2;
    for (int i = 0; i < 4; i++) {
        char name[96];
        inp in = {JX_AVAL(JX_F64, 3, 6), axes[i][0], -2, 2};
        CU_ASSERT(check(name_of(name, sizeof name, "top_k", 1, axes[i]), top_k_body, (void *)&k, 1, &in,
                        2, NULL));
        inp v = {JX_AVAL(JX_I32, 5), vaxes[i][0], 0, 4}; /* with ties */
        CU_ASSERT(check(name_of(name, sizeof name, "top_k i32 vector", 1, vaxes[i]), top_k_body,
                        (void *)&k, 1, &v, 2, NULL));
    }
}

/* ------------------------------------------------------------------ threefry2x32 */

static void threefry_body(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_threefry2x32(in[0], in[1], in[2], in[3], &out[0], &out[1]);
}

static void test_threefry(void) {
    const double top = 4294967296.0;
    jx_aval key = JX_SCALAR(JX_U32), ctr = JX_AVAL(JX_U32, 2, 3);
    /* scalar keys: a key per slice, counters per slice, either alone, both */
    static const int64_t sk[][4] = {
        {0, NM, NM, NM}, {NM, NM, 0, 0}, {NM, NM, NM, 1}, {0, 0, 2, NM}, {NM, 0, -1, 0}};
    for (int i = 0; i < 5; i++) {
        char name[128];
        inp in[4] = {{key, sk[i][0], 0, top},
                     {key, sk[i][1], 0, top},
                     {ctr, sk[i][2], 0, top},
                     {ctr, sk[i][3], 0, top}};
        CU_ASSERT(check(name_of(name, sizeof name, "threefry scalar keys", 4, sk[i]), threefry_body,
                        NULL, 4, in, 2, NULL));
        /* scalar counters too: every operand a scalar per slice or shared */
        jx_aval one = JX_SCALAR(JX_U32);
        int64_t sc[4] = {sk[i][0], sk[i][1], sk[i][2] == NM ? NM : 0, sk[i][3] == NM ? NM : 0};
        inp ins[4] = {
            {one, sc[0], 0, top}, {one, sc[1], 0, top}, {one, sc[2], 0, top}, {one, sc[3], 0, top}};
        CU_ASSERT(check(name_of(name, sizeof name, "threefry scalar counters", 4, sc), threefry_body,
                        NULL, 4, ins, 2, NULL));
    }
    /* keys of the counters' shape */
    static const int64_t fk[][4] = {{1, NM, NM, NM}, {NM, 2, 0, NM}, {0, 0, 0, 0}, {-1, NM, 1, NM}};
    for (int i = 0; i < 4; i++) {
        char name[128];
        inp in[4] = {{ctr, fk[i][0], 0, top},
                     {key, fk[i][1], 0, top},
                     {ctr, fk[i][2], 0, top},
                     {ctr, fk[i][3], 0, top}};
        if (fk[i][1] != NM && fk[i][1] != 0)
            in[1].av = ctr; /* k1 mapped at 2: of the counters' shape */
        CU_ASSERT(check(name_of(name, sizeof name, "threefry full keys", 4, fk[i]), threefry_body, NULL,
                        4, in, 2, NULL));
    }
}

/* ------------------------------------------------------------------ grad */

/* loss(E, idx, s) = sum(sort(gather(E, idx) * s)^2 weighted by position): its gradient
 * in E (scatter_add of the cotangent at the indices; sort's tangent is a gather with
 * shared batch dims) per example, the table E shared or not. */
static void embed_loss(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val rows = jx_mul(jx_gather(in[0], in[1], 0, 0), in[2]); /* (4,3) */
    jx_val sorted = jx_sort(rows, 1);
    jx_val w = jx_convert(jx_iota(JX_I32, JX_INTS(4, 3), 1), JX_F64);
    out[0] = jx_reduce_sum(jx_mul(jx_mul(sorted, sorted), w), JX_NOINTS);
}

static void test_per_example_grad(void) {
    jx_aval av[3] = {JX_AVAL(JX_F64, 5, 3), JX_AVAL(JX_I32, 4), JX_AVAL(JX_F64, 4, 3)};
    jx_fn *f = jx_trace("embed_loss", embed_loss, NULL, 3, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_grad(f, JX_INTS(0, 2));
    if (!g) fprintf(stderr, "\n  %s\n", jx_errmsg());
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    static const int64_t axes[][3] = {{NM, 0, 0}, {0, 0, NM}, {NM, 0, NM}, {1, NM, -1}};
    for (int i = 0; i < 4; i++) {
        char name[128];
        inp in[3] = {
            {av[0], axes[i][0], -2, 2}, {av[1], axes[i][1], -1, 6}, {av[2], axes[i][2], -2, 2}};
        CU_ASSERT(
            check_fn(name_of(name, sizeof name, "per-example embedding grad", 3, axes[i]), g, 3, in));
    }
    jx_fn_release(g);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"gather: rows, columns, scalar index", test_gather},
        {"gather: shared batch dims", test_gather_nbatch},
        {"gather: mapped indices copy nothing", test_gather_ir},
        {"scatter_add", test_scatter_add},
        {"sort: one operand, key-value, two keys", test_sort},
        {"top_k", test_top_k},
        {"threefry2x32", test_threefry},
        {"per-example gradients through gather and sort", test_per_example_grad},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmap_index", tests);
}
