/* test_jit_fuse.c: fusion groups (jx__fuse): how many groups of which kinds typical
 * functions split into, what each group reads and writes, the program order of groups,
 * one group per equation without fusion, and the JX_DUMP=fusion text. */
#define _POSIX_C_SOURCE 200809L /* open_memstream */
#include <stdio.h>
#include <stdlib.h>

#include <jx/random.h>

#include "../../src/jit/jit.h"
#include "harness.h"
#include "jit_util.h"

static jx__fusion *fuse_body(jx_body body, int nin, const jx_aval *av, int nout, bool fuse, jx_fn **fout) {
    jx_fn *f = jx_trace("f", body, NULL, nin, av, nout);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    jx__fusion *fu = jx__fuse(f, fuse, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fu);
    *fout = f;
    return fu;
}

static int count_kind(const jx__fusion *fu, jx__gkind k) {
    int n = 0;
    for (int g = 0; g < fu->ngroups; g++) n += fu->groups[g].kind == k;
    return n;
}

/* Every group reads only f's inputs and earlier groups' outputs; every equation is in
 * exactly one group; every f output comes out of a group. */
static void check_order(const jx_fn *f, const jx__fusion *fu) {
    bool *avail = calloc((size_t)f->nvars, sizeof(bool));
    int *seen = calloc((size_t)f->neqn + 1, sizeof(int));
    for (int i = 0; i < f->nin; i++) avail[f->in[i]] = true;
    for (int g = 0; g < fu->ngroups; g++) {
        const jx__group *gr = &fu->groups[g];
        for (int i = 0; i < gr->nin; i++) CU_ASSERT(avail[gr->in[i]]);
        for (int i = 0; i < gr->neqn; i++) seen[gr->eqns[i]]++;
        for (int o = 0; o < gr->nout; o++) avail[gr->out[o]] = true;
    }
    for (int k = 0; k < f->neqn; k++) CU_ASSERT_EQUAL(seen[k], 1);
    for (int i = 0; i < f->nout; i++) CU_ASSERT(f->out[i].var < 0 || avail[f->out[i].var]);
    free(avail);
    free(seen);
}

static void test_chain(void) {
    jx_fn *f;
    jx_aval av[2] = {JX_AVAL(JX_F32, 1024), JX_AVAL(JX_F32, 1024)};
    jx__fusion *fu = fuse_body(ju_chain8, 2, av, 1, true, &f);
    CU_ASSERT_EQUAL(fu->ngroups, 1);
    CU_ASSERT_EQUAL(fu->groups[0].kind, JX__G_LOOP);
    CU_ASSERT_EQUAL(fu->groups[0].neqn, 8);
    CU_ASSERT_EQUAL(fu->groups[0].nin, 2);
    CU_ASSERT_EQUAL(fu->groups[0].nout, 1);
    CU_ASSERT_EQUAL(fu->groups[0].out[0], f->out[0].var);
    check_order(f, fu);
    jx__fusion_free(fu);
    /* without fusion: one group per equation, still LOOP kind */
    fu = jx__fuse(f, false, NULL);
    CU_ASSERT_EQUAL(fu->ngroups, 8);
    CU_ASSERT_EQUAL(count_kind(fu, JX__G_LOOP), 8);
    for (int g = 0; g < 8; g++) CU_ASSERT_EQUAL(fu->groups[g].nout, 1);
    check_order(f, fu);
    jx__fusion_free(fu);
    jx_fn_release(f);
}

/* an MLP layer: bias reshaped and broadcast before the matmul, relu after */
static void b_mlp(jx_val *o, const jx_val *in, void *u) {
    jx_val b = jx_broadcast_in_dim(jx_reshape(in[2], JX_INTS(1, 16)), JX_INTS(8, 16), JX_INTS(0, 1));
    jx_val d = jx_matmul(in[0], in[1]);
    o[0] = jx_relu(jx_add(d, b));
}

static void test_mlp(void) {
    jx_fn *f;
    jx_aval av[3] = {JX_AVAL(JX_F32, 8, 32), JX_AVAL(JX_F32, 32, 16), JX_AVAL(JX_F32, 16)};
    jx__fusion *fu = fuse_body(b_mlp, 3, av, 1, true, &f);
    CU_ASSERT_EQUAL(fu->ngroups, 2);
    CU_ASSERT_EQUAL(count_kind(fu, JX__G_DOT), 1);
    CU_ASSERT_EQUAL(count_kind(fu, JX__G_LOOP), 1);
    CU_ASSERT_EQUAL(fu->groups[0].kind, JX__G_DOT); /* the loop group waits for the dot */
    CU_ASSERT_EQUAL(fu->groups[1].nin, 2);         /* the dot's result and the bias */
    check_order(f, fu);
    jx__fusion_free(fu);
    jx_fn_release(f);
}

static void b_softmax(jx_val *o, const jx_val *in, void *u) { o[0] = jx_softmax(in[0], 1); }

static void test_softmax(void) {
    jx_fn *f;
    jx_aval av[1] = {JX_AVAL(JX_F32, 64, 100)};
    jx__fusion *fu = fuse_body(b_softmax, 1, av, 1, true, &f);
    CU_ASSERT(fu->ngroups >= 2 && fu->ngroups <= 4);
    CU_ASSERT_EQUAL(count_kind(fu, JX__G_LOOP), fu->ngroups);
    CU_ASSERT(fu->ngroups < jx_fn_num_eqns(f));
    check_order(f, fu);
    jx__fusion_free(fu);
    jx_fn_release(f);
}

/* a reduction takes its producers in: sum((x*x + x), axis 1) * 2 is one group */
static void b_reduce_chain(jx_val *o, const jx_val *in, void *u) {
    jx_val s = jx_reduce_sum(jx_add(jx_mul(in[0], in[0]), in[0]), JX_INTS(1));
    o[0] = jx_mul(s, jx_scalar_like(s, 2));
}
/* ...but not when the producer is also needed elsewhere */
static void b_reduce_shared(jx_val *o, const jx_val *in, void *u) {
    jx_val e = jx_exp(in[0]);
    o[0] = jx_reduce_sum(e, JX_INTS(1));
    o[1] = e;
}

static void test_reductions(void) {
    jx_fn *f;
    jx_aval av[1] = {JX_AVAL(JX_F64, 6, 10)};
    jx__fusion *fu = fuse_body(b_reduce_chain, 1, av, 1, true, &f);
    CU_ASSERT_EQUAL(fu->ngroups, 1);
    CU_ASSERT_EQUAL(fu->groups[0].neqn, 4);
    CU_ASSERT_EQUAL(fu->groups[0].nout, 1);
    jx__fusion_free(fu);
    jx_fn_release(f);
    fu = fuse_body(b_reduce_shared, 1, av, 2, true, &f);
    CU_ASSERT_EQUAL(fu->ngroups, 2);
    CU_ASSERT_EQUAL(fu->groups[0].nout, 1); /* e, read again by the sum's group */
    check_order(f, fu);
    jx__fusion_free(fu);
    jx_fn_release(f);
}

/* control flow and opaque ops are groups of their own; a loop group that one of them
 * reads is closed before it */
static void b_mixed(jx_val *o, const jx_val *in, void *u) {
    jx_val a = jx_exp(in[0]);
    jx_val s = jx_sort(a, 0);
    o[0] = jx_add(s, a);
    o[1] = jx_cumsum(in[0], 0, 0);
}

static void test_opaque_order(void) {
    jx_fn *f;
    jx_aval av[1] = {JX_AVAL(JX_F32, 12)};
    jx__fusion *fu = fuse_body(b_mixed, 1, av, 2, true, &f);
    CU_ASSERT_EQUAL(count_kind(fu, JX__G_OPAQUE), 2);
    CU_ASSERT_EQUAL(count_kind(fu, JX__G_LOOP), 2);
    CU_ASSERT_EQUAL(fu->groups[0].kind, JX__G_LOOP); /* exp, before the sort reading it */
    check_order(f, fu);
    jx__fusion_free(fu);
    jx_fn_release(f);
}

static void test_print(void) {
    jx_fn *f;
    jx_aval av[3] = {JX_AVAL(JX_F32, 8, 32), JX_AVAL(JX_F32, 32, 16), JX_AVAL(JX_F32, 16)};
    jx__fusion *fu = fuse_body(b_mlp, 3, av, 1, true, &f);
    char *buf = NULL;
    size_t n = 0;
    FILE *out = open_memstream(&buf, &n);
    jx__fusion_print(out, f, fu);
    fclose(out);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "2 groups"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "group 0 dot [dot_general]"));
    /* relu is x <= 0 ? 0 : x (derivative 0 at 0, as jax.nn.relu) */
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "group 1 loop [reshape broadcast_in_dim add le select]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "out (f32[8,16])"));
    free(buf);
    jx__fusion_free(fu);
    jx_fn_release(f);
}

/* An LSTM cell's gates: five slices of one f32[B, 5H] read inside the kernel. */
enum { SB = 6, SH = 37 };
static void gates(jx_val *out, const jx_val *in, void *u) {
    (void)u;
    jx_val p[5];
    for (int k = 0; k < 5; k++) p[k] = jx_slice(in[0], JX_INTS(0, k * SH), JX_INTS(SB, (k + 1) * SH), JX_INTS(1, 1));
    jx_val c = jx_add(jx_mul(jx_logistic(p[1]), p[4]), jx_mul(jx_logistic(p[0]), jx_tanh(p[2])));
    out[0] = jx_mul(jx_logistic(p[3]), jx_tanh(c));
    /* a strided, offset slice of a computed value: each element still computed once */
    out[1] = jx_slice(jx_exp(in[0]), JX_INTS(1, 2), JX_INTS(SB, 5 * SH), JX_INTS(2, 3));
}

static void test_slices(void) {
    jx_fn *f;
    jx_aval av = JX_AVAL(JX_F32, SB, 5 * SH);
    jx__fusion *fu = fuse_body(gates, 1, &av, 2, true, &f);
    CU_ASSERT_EQUAL(fu->ngroups, 2);
    CU_ASSERT_EQUAL(count_kind(fu, JX__G_LOOP), 2);
    CU_ASSERT_EQUAL(count_kind(fu, JX__G_OPAQUE), 0);
    CU_ASSERT_EQUAL(fu->groups[0].nin, 1); /* the gates' kernel reads the input itself */
    check_order(f, fu);
    jx_array *x = ju_ramp(JX_INTS(SB, 5 * SH), 0.01, -1.5);
    CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, NULL, 1, &x), 2);
    jx_array_release(x);
    jx__fusion_free(fu);
    jx_fn_release(f);
}

/* jax.random.uniform from a key given as input, and threefry with a key per element. */
static void b_random(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    o[0] = jx_mul(jx_random_uniform(in[0], JX_F32, JX_INTS(1000, 37), 0, 1), jx_scalar(JX_F32, 2));
    jx_val y1;
    jx_threefry2x32(in[1], in[2], in[2], in[1], &o[1], &y1);
    o[2] = jx_xor(y1, in[1]);
}

/* threefry2x32 is computed inside loop kernels (no interpreted step): the uniform draw's
 * hash, bit manipulation and scaling are one kernel, and a threefry of per-element keys
 * with its two words read by different consumers is one too; the bits are the
 * interpreter's on 1, 2 and 3 threads (chunk boundaries at other elements). */
static void test_threefry(void) {
    jx_fn *f;
    jx_aval av[3] = {JX_AVAL(JX_U32, 2), JX_AVAL(JX_U32, 4099), JX_AVAL(JX_U32, 4099)};
    jx__fusion *fu = fuse_body(b_random, 3, av, 3, true, &f);
    CU_ASSERT_EQUAL(count_kind(fu, JX__G_OPAQUE), 0);
    int with_threefry = 0;
    for (int g = 0; g < fu->ngroups; g++)
        for (int i = 0; i < fu->groups[g].neqn; i++)
            if (f->eqns[fu->groups[g].eqns[i]].prim == JX_PRIM_THREEFRY2X32) {
                CU_ASSERT_EQUAL(fu->groups[g].kind, JX__G_LOOP);
                with_threefry++;
            }
    CU_ASSERT(with_threefry >= 2);
    check_order(f, fu);
    jx_array *in[3] = {jx_random_key_new(42), NULL, NULL};
    uint32_t a[4099], b[4099];
    for (int i = 0; i < 4099; i++) a[i] = (uint32_t)i * 2654435761u, b[i] = (uint32_t)(i ^ 0x5bd1e995);
    in[1] = jx_array_new(JX_U32, JX_INTS(4099), a);
    in[2] = jx_array_new(JX_U32, JX_INTS(4099), b);
    for (int t = 1; t <= 3; t++) {
        jx_jit_opts o = JX_JIT_DEFAULTS;
        o.nthreads = t;
        CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, &o, 3, in), 3);
    }
    for (int i = 0; i < 3; i++) jx_array_release(in[i]);
    jx__fusion_free(fu);
    jx_fn_release(f);
}

/* A U-Net skip connection's concatenate along the channels (a middle axis here) of a
 * computed value and an input, a reversal of a computed value (the backward conv's
 * flipped kernel), and a concatenate of five operands. */
static void b_concat_rev(jx_val *o, const jx_val *in, void *u) {
    (void)u;
    jx_val up = jx_tanh(jx_add(in[0], jx_scalar_like(in[0], 0.5)));
    jx_val parts[2] = {up, in[1]};
    o[0] = jx_mul(jx_concatenate(2, parts, 1), jx_scalar_like(in[0], 3));
    o[1] = jx_rev(jx_exp(in[1]), JX_INTS(0, 2));
    jx_val five[5] = {in[0], up, in[0], up, in[0]};
    o[2] = jx_concatenate(5, five, 2);
    /* an empty operand between two others: nothing of it is read */
    jx_val empty = jx_slice(in[1], JX_INTS(0, 0, 0), JX_INTS(3, 0, 7), JX_INTS(1, 1, 1));
    jx_val three[3] = {in[1], empty, jx_neg(in[1])};
    o[3] = jx_concatenate(3, three, 1);
}

/* rev and concatenate (up to JX__CONCAT_LOOP_MAX operands) are computed inside loop
 * kernels with their producers and consumers; a concatenate of more operands stays an
 * interpreted step; the bits are the interpreter's on 1-3 threads. */
static void test_concat_rev(void) {
    jx_fn *f;
    jx_aval av[2] = {JX_AVAL(JX_F32, 3, 5, 7), JX_AVAL(JX_F32, 3, 4, 7)};
    jx__fusion *fu = fuse_body(b_concat_rev, 2, av, 4, true, &f);
    int opaque_concat = 0, loop_concat = 0, loop_rev = 0;
    for (int g = 0; g < fu->ngroups; g++)
        for (int i = 0; i < fu->groups[g].neqn; i++) {
            const jx__eqn *e = &f->eqns[fu->groups[g].eqns[i]];
            bool loop = fu->groups[g].kind == JX__G_LOOP;
            if (e->prim == JX_PRIM_CONCATENATE) *(loop ? &loop_concat : &opaque_concat) += 1;
            if (e->prim == JX_PRIM_REV) loop_rev += loop;
        }
    CU_ASSERT_EQUAL(loop_concat, 2);
    CU_ASSERT_EQUAL(opaque_concat, 1); /* five operands */
    CU_ASSERT_EQUAL(loop_rev, 1);
    CU_ASSERT_EQUAL(count_kind(fu, JX__G_OPAQUE), 1);
    check_order(f, fu);
    jx_array *in[2] = {ju_ramp(JX_INTS(3, 5, 7), 0.01, -1.0), ju_ramp(JX_INTS(3, 4, 7), -0.02, 0.7)};
    for (int t = 1; t <= 3; t++) {
        jx_jit_opts o = JX_JIT_DEFAULTS;
        o.nthreads = t;
        CU_ASSERT_EQUAL(ju_check(f, JX_DEVICE_CPU, &o, 2, in), 4);
    }
    jx_array_release(in[0]);
    jx_array_release(in[1]);
    jx__fusion_free(fu);
    jx_fn_release(f);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"chain of 8 elementwise ops is one group", test_chain},
        {"MLP layer is a dot and one loop", test_mlp},
        {"softmax is a few loop groups", test_softmax},
        {"reductions fuse with their producers", test_reductions},
        {"opaque equations and program order", test_opaque_order},
        {"slices join loop groups", test_slices},
        {"threefry runs in loop kernels, with the interpreter's bits", test_threefry},
        {"rev and concatenate run in loop kernels, with the interpreter's bits", test_concat_rev},
        {"JX_DUMP=fusion text", test_print},
        CU_TEST_INFO_NULL,
    };
    return jt_run("jit fusion", tests);
}
