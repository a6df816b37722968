/* test_rules.c: rule coverage: walks the primitive enum and fails for any primitive
 * without a shape rule or an interpreter rule, naming it. */
#include "harness.h"
#include "ir.h"
#include "../grad/grad.h"
#include "../vmap/vmap.h"

static void test_every_prim_has_rules(void) {
    jx__shape_rules_init();
    jx__impl_rules_init();
    int missing = 0;
    for (int p = 0; p < JX_PRIM_COUNT; p++) {
        if (!jx__shape_rules[p]) {
            fprintf(stderr, "\n  %s has no shape rule", jx__prims[p].name);
            missing++;
        }
        if (!jx__impl_rules[p]) {
            fprintf(stderr, "\n  %s has no interpreter rule", jx__prims[p].name);
            missing++;
        }
    }
    CU_ASSERT_EQUAL(missing, 0);
}

/* Every primitive has a jvp rule except these: they take and give only integers or
 * bools, or take no operands, so no tangent ever reaches them. */
static int needs_no_jvp(int p) {
    static const int none[] = {JX_PRIM_NOT, JX_PRIM_AND, JX_PRIM_OR, JX_PRIM_XOR, JX_PRIM_SHIFT_LEFT,
                               JX_PRIM_SHIFT_RIGHT_LOGICAL, JX_PRIM_SHIFT_RIGHT_ARITHMETIC, JX_PRIM_IOTA,
                               JX_PRIM_CONSTANT, JX_PRIM_THREEFRY2X32, JX_PRIM_AXIS_INDEX};
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++)
        if (none[i] == p) return 1;
    return 0;
}

static void test_every_prim_has_grad_rules(void) {
    jx__grad_rules_init();
    int wrong = 0;
    for (int p = 0; p < JX_PRIM_COUNT; p++)
        if ((jx__jvp_rules[p] == NULL) != (needs_no_jvp(p) != 0)) {
            fprintf(stderr, "\n  %s: %s", jx__prims[p].name, jx__jvp_rules[p] ? "has an unexpected jvp rule" : "has no jvp rule");
            wrong++;
        }
    CU_ASSERT_EQUAL(wrong, 0);
    /* the linear primitives reverse mode relies on */
    static const int linear[] = {JX_PRIM_ADD, JX_PRIM_SUB, JX_PRIM_NEG, JX_PRIM_MUL, JX_PRIM_DIV, JX_PRIM_CONVERT,
                                 JX_PRIM_SELECT, JX_PRIM_BROADCAST_IN_DIM, JX_PRIM_RESHAPE, JX_PRIM_TRANSPOSE,
                                 JX_PRIM_SQUEEZE, JX_PRIM_EXPAND_DIMS, JX_PRIM_SLICE, JX_PRIM_DYNAMIC_SLICE,
                                 JX_PRIM_DYNAMIC_UPDATE_SLICE, JX_PRIM_PAD, JX_PRIM_CONCATENATE, JX_PRIM_REV,
                                 JX_PRIM_REDUCE_SUM, JX_PRIM_CUMSUM, JX_PRIM_DOT_GENERAL, JX_PRIM_CONV,
                                 JX_PRIM_REDUCE_WINDOW_SUM, JX_PRIM_SELECT_AND_SCATTER_ADD,
                                 JX_PRIM_SELECT_AND_GATHER_ADD, JX_PRIM_GATHER, JX_PRIM_SCATTER_ADD, JX_PRIM_COND,
                                 JX_PRIM_SCAN, JX_PRIM_CUSTOM_VJP_TAN, JX_PRIM_CHECKPOINT_TAN, JX_PRIM_PSUM,
                                 JX_PRIM_ALL_GATHER, JX_PRIM_TRIANGULAR_SOLVE};
    for (size_t i = 0; i < sizeof linear / sizeof linear[0]; i++) {
        if (!jx__transpose_rules[linear[i]]) fprintf(stderr, "\n  %s has no transpose rule", jx__prims[linear[i]].name);
        CU_ASSERT_PTR_NOT_NULL(jx__transpose_rules[linear[i]]);
    }
}

/* Every primitive has a batch rule except iota and constant: they take no operands, so
 * vmap binds them unchanged (axis_index takes none either, but its rule gives the lane). */
static void test_every_prim_has_batch_rule(void) {
    jx__vmap_rules_init();
    int wrong = 0;
    for (int p = 0; p < JX_PRIM_COUNT; p++) {
        int none = p == JX_PRIM_IOTA || p == JX_PRIM_CONSTANT;
        if ((jx__batch_rules[p] == NULL) != none) {
            fprintf(stderr, "\n  %s: %s", jx__prims[p].name,
                    jx__batch_rules[p] ? "has an unexpected batch rule" : "has no batch rule");
            wrong++;
        }
    }
    CU_ASSERT_EQUAL(wrong, 0);
}

static void test_prim_names_unique(void) {
    for (int p = 0; p < JX_PRIM_COUNT; p++) {
        const char *n = jx__prims[p].name;
        CU_ASSERT_EQUAL(jx__prim_lookup(n, strlen(n)), p);
    }
    for (int k = 0; k < JX_A_COUNT; k++) {
        const char *n = jx__attr_names[k];
        CU_ASSERT_EQUAL(jx__attr_lookup(n, strlen(n)), k);
    }
    CU_ASSERT_EQUAL(jx__prim_lookup("no_such_prim", 12), -1);
}

int main(void) {
    CU_TestInfo tests[] = {
        {"every primitive has a shape and an impl rule", test_every_prim_has_rules},
        {"every differentiable primitive has a jvp rule, every linear one a transpose",
         test_every_prim_has_grad_rules},
        {"every primitive with operands has a batch rule", test_every_prim_has_batch_rule},
        {"primitive and attribute names are unique", test_prim_names_unique},
        CU_TEST_INFO_NULL,
    };
    return jt_run("rule coverage", tests);
}
