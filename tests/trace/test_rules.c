/* test_rules.c: rule coverage: walks the primitive enum and fails for any primitive
 * without a shape rule or an interpreter rule, naming it. */
#include "harness.h"
#include "ir.h"

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
        {"primitive and attribute names are unique", test_prim_names_unique},
        CU_TEST_INFO_NULL,
    };
    return jt_run("rule coverage", tests);
}
