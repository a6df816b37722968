/* test_vmap_movement.c: batch rules of the data-movement primitives checked against a
 * loop of calls (jt_check_vmap) with the mapped axis first, last, in the middle and
 * absent for some operands; batched start indices (clamped out-of-range ones too) and
 * batched padding values; and the IR the rules emit (no transposes where the mapped
 * axis can stay in place, gathers rather than loops for batched starts). */
#include <stdbool.h>
#include <stdlib.h>

#include "gradcheck.h"
#include "op_bodies.h"
#include "vmap_check.h"

#define NM JX_NOT_MAPPED
#define B 3 /* the mapped size */

/* Op parameters for the bodies (op_bodies.h). */
typedef jt_move P;

/* An input of the function: its unbatched aval and the range of its values (integers
 * in [lo, hi] for integer dtypes, lo < 0.5 <= hi meaning true for bool). */
typedef struct In {
    jx_aval av;
    double lo, hi;
} In;
#define F64(...) ((In){JX_AVAL(JX_F64, __VA_ARGS__), -2, 2})
#define F64S ((In){JX_SCALAR(JX_F64), -2, 2})
#define START(lo, hi) ((In){JX_SCALAR(JX_I32), (lo), (hi)})

/* The batched input: in's shape with B inserted at axis (none for NM). */
static jx_array *batched_input(const In *in, int64_t axis, uint64_t *seed) {
    int64_t shape[JX_MAX_RANK + 1];
    int r = in->av.rank;
    int ax = axis == NM ? -1 : (int)(axis < 0 ? axis + r + 1 : axis);
    for (int i = 0, k = 0; i < r + (ax >= 0); i++) shape[i] = i == ax ? B : in->av.shape[k++];
    jx_ints s = {shape, r + (ax >= 0)};
    bool integral = in->av.dtype != JX_F64 && in->av.dtype != JX_F32;
    jx_array *f = jt_random(s, in->lo, in->hi + (integral ? 1 : 0), seed);
    if (!f || !integral) return f;
    double *d = jx_array_data_mut(f);
    for (int64_t i = 0; i < jx_array_size(f); i++) d[i] = floor(d[i]);
    jx_array *y = jx_array_astype(f, in->av.dtype);
    jx_array_release(f);
    return y;
}

/* Traces body on the unbatched inputs and checks vmap against the loop of calls for
 * each in_axes in axes[0..ncombo). Returns 1 when every combination matches. */
static int check(const char *name, jx_body body, P p, int nin, const In *ins, int ncombo,
                 const jx_ints *axes) {
    jx_aval av[8];
    for (int i = 0; i < nin; i++) av[i] = ins[i].av;
    jx_fn *f = jx_trace(name, body, &p, nin, av, 1);
    if (!f) {
        fprintf(stderr, "\n  %s: trace failed: %s\n", name, jx_errmsg());
        return 0;
    }
    int ok = 1;
    uint64_t seed = 12345;
    for (int c = 0; c < ncombo; c++) {
        jx_array *in[8] = {0};
        for (int i = 0; i < nin; i++) in[i] = batched_input(&ins[i], axes[c].v[i], &seed);
        char what[128];
        snprintf(what, sizeof what, "%s, in_axes %d", name, c);
        ok &= jt_check_vmap(what, f, axes[c], nin, in, 1e-12);
        for (int i = 0; i < nin; i++) jx_array_release(in[i]);
    }
    jx_fn_release(f);
    return ok;
}
#define AXES(...) (sizeof((jx_ints[]){__VA_ARGS__}) / sizeof(jx_ints)), ((jx_ints[]){__VA_ARGS__})
#define I JX_INTS
#define CHECK(name, body, p, ins, ...) \
    CU_ASSERT(check(name, body, p, (int)(sizeof(ins) / sizeof(In)), ins, AXES(__VA_ARGS__)))

/* Each body applies one op and then sin (op_bodies.h); here the starts are inputs. */
JT_MOVE_BODY(b_dslice, jx_dynamic_slice(in[0], in + 1, p->a))
JT_MOVE_BODY(b_dus, jx_dynamic_update_slice(in[0], in[1], in + 2))

/* ------------------------------------------------------------------ renumbering rules */

static void test_broadcast_in_dim(void) {
    In v3[] = {F64(3)}, v31[] = {F64(3, 1)}, s[] = {F64S}, v13[] = {F64(1, 3)};
    CHECK("bcast row", jt_b_bcast, ((P){.a = I(2, 3), .b = I(1)}), v3, I(0), I(-1));
    CHECK("bcast size-1 dims", jt_b_bcast, ((P){.a = I(2, 3, 4), .b = I(1, 2)}), v31, I(0), I(1),
          I(2));
    CHECK("bcast scalar", jt_b_bcast, ((P){.a = I(2, 3), .b = JX_NOINTS}), s, I(0));
    CHECK("bcast keep size-1", jt_b_bcast, ((P){.a = I(1, 4, 3), .b = I(0, 2)}), v13, I(0), I(1),
          I(-1));
}

static void test_reshape_transpose(void) {
    In v234[] = {F64(2, 3, 4)}, v2131[] = {F64(2, 1, 3, 1)}, v23[] = {F64(2, 3)}, s[] = {F64S};
    CHECK("reshape", jt_b_reshape, ((P){.a = I(6, 4)}), v234, I(0), I(1), I(-1));
    CHECK("reshape to rank 0", jt_b_reshape, ((P){.a = JX_NOINTS}), ((In[]){F64(1, 1)}), I(0), I(2));
    CHECK("transpose", jt_b_transpose, ((P){.a = I(2, 0, 1)}), v234, I(0), I(1), I(2), I(3));
    CHECK("squeeze", jt_b_squeeze, ((P){.a = I(1, 3)}), v2131, I(0), I(1), I(2), I(-1));
    CHECK("expand_dims", jt_b_expand, ((P){.a = I(0, 3)}), v23, I(0), I(1), I(2));
    CHECK("expand_dims middle", jt_b_expand, ((P){.a = I(1)}), v23, I(0), I(1), I(2));
    CHECK("expand_dims last", jt_b_expand, ((P){.a = I(2)}), v23, I(0), I(1), I(-1));
    CHECK("expand_dims rank 0", jt_b_expand, ((P){.a = I(0, 1)}), s, I(0));
    CHECK("rev", jt_b_rev, ((P){.a = I(0, 2)}), v234, I(0), I(1), I(2), I(3));
    CHECK("rev one axis", jt_b_rev, ((P){.a = I(1)}), v23, I(0), I(1), I(2));
}

static void test_slice(void) {
    In v56[] = {F64(5, 6)};
    P strided = {.a = I(1, 0), .b = I(4, 6), .c = I(2, 3)};
    P empty = {.a = I(2, 2), .b = I(2, 5), .c = I(1, 1)};
    CHECK("slice strided", jt_b_slice, strided, v56, I(0), I(1), I(2));
    CHECK("slice empty", jt_b_slice, empty, v56, I(0), I(-1));
}

static void test_pad(void) {
    In xv[] = {F64(3, 4), F64S};
    P p = {.a = I(1, -1), .b = I(0, 2), .c = I(1, 0)};
    CHECK("pad", jt_b_pad, p, xv, I(0, NM), I(1, NM), I(-1, NM), I(NM, 0), I(0, 0), I(2, 0), I(1, -1));
    P q = {.a = I(2, 0), .b = I(-1, 1), .c = I(0, 2)};
    CHECK("pad crop", jt_b_pad, q, xv, I(0, NM), I(NM, 0), I(1, 0));
    CHECK("pad literal", jt_b_pad_lit, p, ((In[]){F64(3, 4)}), I(0), I(1), I(2));
}

static void test_concatenate(void) {
    In xs[] = {F64(2, 3), F64(2, 1), F64(2, 2)};
    CHECK("concat axis 1", jt_b_concat, ((P){.n = 3, .axis = 1}), xs, I(0, NM, NM), I(NM, 1, NM),
          I(0, 1, 2), I(-1, -1, -1), I(NM, NM, 0), I(2, 0, NM));
    In ys[] = {F64(1, 3), F64(2, 3)};
    CHECK("concat axis 0", jt_b_concat, ((P){.n = 2, .axis = 0}), ys, I(0, 0), I(1, NM), I(NM, 2),
          I(1, 0));
}

/* ------------------------------------------------------------------ dynamic slicing */

static void test_dynamic_slice(void) {
    /* starts in [-2, 6]: some clamp at both ends */
    In xs[] = {F64(5, 6), START(-2, 6), START(-2, 6)};
    P p = {.a = I(2, 3)};
    CHECK("dynamic_slice", b_dslice, p, xs, I(0, NM, NM), I(1, NM, NM), I(2, NM, NM),
          I(NM, 0, NM), I(NM, NM, 0), I(NM, 0, 0), I(0, 0, NM), I(1, NM, 0), I(-1, 0, 0));
    P whole = {.a = I(5, 3)}; /* dim 0 kept whole: its batched start does nothing */
    CHECK("dynamic_slice whole dim", b_dslice, whole, xs, I(NM, 0, NM), I(1, 0, NM), I(NM, 0, 0));
    In x3[] = {F64(4, 3, 5), START(0, 3), START(-1, 2), START(0, 4)};
    CHECK("dynamic_slice rank 3", b_dslice, ((P){.a = I(2, 1, 3)}), x3, I(1, NM, 0, NM),
          I(NM, 0, NM, 0), I(3, 0, 0, 0), I(NM, NM, NM, 0));
}

static void test_dynamic_update_slice(void) {
    In xs[] = {F64(5, 6), F64(2, 3), START(-2, 6), START(-2, 6)};
    CHECK("dynamic_update_slice", b_dus, (P){0}, xs, I(0, 0, NM, NM), I(NM, 0, NM, NM),
          I(0, NM, NM, NM), I(1, -1, NM, NM), I(NM, NM, 0, NM), I(NM, NM, 0, 0), I(0, 1, 0, 0),
          I(NM, 0, NM, 0), I(-1, -1, 0, NM), I(2, NM, NM, 0));
    In full[] = {F64(5, 6), F64(5, 3), START(-2, 6), START(-2, 6)}; /* dim 0 overwritten whole */
    CHECK("dynamic_update_slice whole dim", b_dus, (P){0}, full, I(NM, NM, 0, 0), I(0, 0, 0, NM),
          I(NM, 1, NM, 0));
    In same[] = {F64(2, 3), F64(2, 3), START(-1, 2), START(-1, 2)}; /* the update is all of x */
    CHECK("dynamic_update_slice whole", b_dus, (P){0}, same, I(0, NM, 0, 0), I(NM, NM, 0, 0));
}

/* ------------------------------------------------------------------ the IR emitted */

/* Counts the equations of g whose primitive prints as `prim`. */
static int count_prim(const jx_fn *g, const char *prim) {
    char *s = jx_fn_to_string(g), pat[64];
    int n = 0;
    snprintf(pat, sizeof pat, "= %s", prim);
    for (const char *q = s; q && (q = strstr(q, pat)); q += strlen(pat))
        n += q[strlen(pat)] == '[' || q[strlen(pat)] == ' ';
    free(s);
    return n;
}

/* vmap(f) of a one-input body with the given in/out axes. */
static jx_fn *vmapped(jx_body body, P p, jx_aval av, int64_t in_axis, int64_t out_axis) {
    jx_fn *f = jx_trace("f", body, &p, 1, &av, 1);
    jx_fn *g = f ? jx_vmap(f, I(in_axis), I(out_axis), B) : NULL;
    jx_fn_release(f);
    return g;
}

static void test_no_transpose_where_axis_stays(void) {
    /* mapped axis 1 stays at 1: one transpose (f's), no move */
    jx_fn *g = vmapped(jt_b_transpose, (P){.a = I(1, 0)}, JX_AVAL(JX_F64, 2, 3), 1, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(count_prim(g, "transpose"), 1);
    jx_fn_release(g);
    g = vmapped(jt_b_slice, (P){.a = I(1), .b = I(3), .c = I(1)}, JX_AVAL(JX_F64, 4), 1, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(count_prim(g, "transpose"), 0);
    jx_fn_release(g);
    g = vmapped(jt_b_bcast, (P){.a = I(2, 3, 4), .b = I(0, 2)}, JX_AVAL(JX_F64, 2, 4), 1, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(count_prim(g, "transpose"), 0);
    jx_fn_release(g);
    g = vmapped(jt_b_expand, (P){.a = I(0, 2)}, JX_AVAL(JX_F64, 2, 4), 1, 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(count_prim(g, "transpose"), 0);
    jx_fn_release(g);
}

static void test_batched_starts_gather(void) {
    jx_aval av[3] = {JX_AVAL(JX_F64, 5, 6), JX_SCALAR(JX_I32), JX_SCALAR(JX_I32)};
    P p = {.a = I(2, 3)};
    jx_fn *f = jx_trace("f", b_dslice, &p, 3, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx_fn *g = jx_vmap(f, I(0, 0, 0), JX_NOINTS, B);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(count_prim(g, "gather"), 2);
    CU_ASSERT_EQUAL(count_prim(g, "while"), 0);
    jx_aval o = jx_fn_output_aval(g, 0);
    CU_ASSERT(o.rank == 3 && o.shape[1] == 2 && o.shape[2] == 3);
    jx_fn_release(g);
    /* unbatched starts: one dynamic_slice, no gather */
    g = jx_vmap(f, I(0, NM, NM), JX_NOINTS, 4);
    CU_ASSERT_PTR_NOT_NULL_FATAL(g);
    CU_ASSERT_EQUAL(count_prim(g, "gather"), 0);
    CU_ASSERT_EQUAL(count_prim(g, "dynamic_slice"), 1);
    jx_fn_release(g);
    jx_fn_release(f);
}

/* vmap of vmap: the inner rule's renumbered attributes are renumbered again. */
static void test_nested(void) {
    jx_aval av = JX_AVAL(JX_F64, 2, 3, 4);
    P p = {.a = I(2, 0, 1)};
    jx_fn *f = jx_trace("f", jt_b_transpose, &p, 1, &av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    uint64_t seed = 7;
    jx_array *x = jt_random(I(2, 5, 3, 3, 4), -1, 1, &seed); /* inner axis 1, outer axis 2 */
    CU_ASSERT(jt_check_vmap_nested("nested transpose", f, I(1), I(-1), 5, I(2), JX_NOINTS, 3, 1,
                                   &x, 1e-12));
    jx_array_release(x);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"broadcast_in_dim", test_broadcast_in_dim},
        {"reshape, transpose, squeeze, expand_dims, rev", test_reshape_transpose},
        {"slice", test_slice},
        {"pad: batched operand and/or padding value", test_pad},
        {"concatenate with unbatched operands", test_concatenate},
        {"dynamic_slice with batched operand and/or starts", test_dynamic_slice},
        {"dynamic_update_slice with batched operand, update, starts", test_dynamic_update_slice},
        {"the mapped axis stays in place", test_no_transpose_where_axis_stays},
        {"batched starts become gathers", test_batched_starts_gather},
        {"vmap of vmap", test_nested},
        CU_TEST_INFO_NULL,
    };
    return jt_run("vmap movement", tests);
}
