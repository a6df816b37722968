/* test_jit_gather.c: gather inside loop kernels (fuse.c, codegen_loop.c): an embedding
 * lookup (its index read once per row of the result, codegen_loop.c's emit_gather_rows),
 * a take along the last axis (index read per element), an index computed by a chain
 * (a kernel of its own), clamping of out-of-range indices, and a scaled lookup fused
 * into one kernel with jx_gather's wrap of negative indices (recomputed where read);
 * each compiled with 1, 2 and 3 threads and compared with the interpreter bit for bit, its
 * gather found in a LOOP group and the LOOP groups counted. */
#include "../../src/jit/jit.h"
#include "harness.h"
#include "jit_util.h"

enum { V = 37, D = 24 };

/* table (V, D), ids (B, L) i32 -> 2 * table[(ids + 3) % V]: an index computed in the kernel */
static void embed(jx_val *out, const jx_val *in, void *u) {
    jx_val ids = jx_rem(jx_add(in[1], jx_scalar_like(in[1], 3)), jx_scalar_like(in[1], V));
    out[0] = jx_mul(jx_gather(in[0], ids, 0, 0), jx_scalar_like(in[0], 2));
}
/* x (B, V), ids (B, K) -> x[b, ids[b, k]] (nbatch 1): the index dim is the row's own */
static void take_last(jx_val *out, const jx_val *in, void *u) { out[0] = jx_gather(in[0], in[1], 1, 1); }
/* table (V, D), ids (B, L) used as they come: some out of range, clamped */
static void plain(jx_val *out, const jx_val *in, void *u) { out[0] = jx_exp(jx_gather(in[0], in[1], 0, 0)); }

static jx_array *ids(jx_ints shape, int lo, int hi) {
    jx_array *a = jx_array_zeros(JX_I32, shape);
    int32_t *v = jx_array_data_mut(a);
    for (int64_t i = 0; i < jx_array_size(a); i++) v[i] = lo + (int32_t)((i * 7919 + 13) % (hi - lo));
    return a;
}

static jx_array *floats(jx_ints shape) {
    jx_array *a = jx_array_zeros(JX_F32, shape);
    float *v = jx_array_data_mut(a);
    for (int64_t i = 0; i < jx_array_size(a); i++) v[i] = (float)((i * 37) % 101) / 17.0f - 2.5f;
    return a;
}

/* f on in[0..2) with 1..3 threads: the interpreter's bytes, and a LOOP group holding the
 * gather; `groups` LOOP groups in all. */
static void check(const char *name, jx_body body, jx_array *x, jx_array *idx, int groups) {
    jx_aval av[2] = {jx_array_aval(x), jx_array_aval(idx)};
    jx_fn *f = jx_trace(name, body, NULL, 2, av, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx__fusion *fu = jx__fuse(f, true, NULL);
    int in_loop = 0;
    for (int g = 0; g < fu->ngroups; g++)
        for (int k = 0; k < fu->groups[g].neqn; k++)
            in_loop += fu->groups[g].kind == JX__G_LOOP && f->eqns[fu->groups[g].eqns[k]].prim == JX_PRIM_GATHER;
    CU_ASSERT_EQUAL(in_loop, 1);
    int loops = 0;
    for (int g = 0; g < fu->ngroups; g++) loops += fu->groups[g].kind == JX__G_LOOP;
    CU_ASSERT_EQUAL(loops, groups);
    jx__fusion_free(fu);
    jx_array *in[2] = {x, idx}, *want = NULL;
    CU_ASSERT_FATAL(jx_eval(f, 2, in, 1, &want) == JX_OK);
    for (int t = 1; t <= 3; t++) {
        jx_jit_opts o = {.nthreads = t, .cache_dir = ""};
        jx_exec *e = jx_jit(f, JX_DEVICE_CPU, &o);
        jx_array *got = NULL;
        CU_ASSERT_FATAL(e && jx_exec_run(e, 2, in, 1, &got) == JX_OK);
        bool same = ju_same_bits(got, want);
        if (!same) fprintf(stderr, "\n  %s with %d threads differs from the interpreter\n", name, t);
        CU_ASSERT(same);
        jx_array_release(got);
        jx_exec_release(e);
    }
    jx_array_release(want);
    jx_fn_release(f);
}

static void test_gathers(void) {
    jx_array *table = floats(JX_INTS(V, D)), *x = floats(JX_INTS(9, V));
    jx_array *in_range = ids(JX_INTS(5, 11), 0, V), *wild = ids(JX_INTS(5, 11), -9, V + 9), *cols = ids(JX_INTS(9, 6), -2, V + 2);
    check("embed", embed, table, in_range, 2); /* the index's rem and wrap: a kernel of their own */
    check("plain", plain, table, wild, 1);     /* the wrap recomputed where the lookup reads it */
    check("take_last", take_last, x, cols, 1);
    jx_array_release(table), jx_array_release(x), jx_array_release(in_range), jx_array_release(wild);
    jx_array_release(cols);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"gather in loop kernels: rows, elements, computed and clamped indices", test_gathers},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit_gather", tests);
}
