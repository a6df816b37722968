/* test_pmap_devices.c: the device list: the count from JX_CPU_DEVICES (the suite sets it
 * before the first query) and from jx_set_cpu_device_count, each device's description,
 * and the errors (an id out of range, a bad count) at the caller's line. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>

#include "harness.h"

static void test_env_count(void) {
    /* main set JX_CPU_DEVICES=3 before anything read it */
    CU_ASSERT_EQUAL(jx_local_device_count(), 3);
    CU_ASSERT_EQUAL(jx_device_count(), 3);
    CU_ASSERT_EQUAL(jx_process_count(), 1);
    CU_ASSERT_EQUAL(jx_process_index(), 0);
    jx_device_info d[8];
    CU_ASSERT_EQUAL(jx_devices(NULL, 0), 3);
    CU_ASSERT_EQUAL(jx_devices(d, 8), 3);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(d[i].id, i);
        CU_ASSERT_EQUAL(d[i].local_index, i);
        CU_ASSERT_EQUAL(d[i].process_index, 0);
        CU_ASSERT_EQUAL(d[i].kind, JX_DEVICE_CPU);
    }
    CU_ASSERT_STRING_EQUAL(jx_device_kind_name(d[0].kind), "cpu");
}

static void test_set_count(void) {
    CU_ASSERT_EQUAL(jx_set_cpu_device_count(4), JX_OK);
    CU_ASSERT_EQUAL(jx_device_count(), 4);
    jx_device_info d;
    CU_ASSERT_EQUAL(jx_device_get(3, &d), JX_OK);
    CU_ASSERT_EQUAL(d.id, 3);
    CU_ASSERT_EQUAL(d.local_index, 3);
    int line = __LINE__ + 1;
    CU_ASSERT_EQUAL(jx_set_cpu_device_count(0), JX_ERR_ARG);
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    JT_ASSERT_ERR("set_cpu_device_count: 0 devices: the count must be in [1, 1024]");
    CU_ASSERT_EQUAL(jx_device_count(), 4); /* unchanged by the failed call */
    line = __LINE__ + 1;
    CU_ASSERT_EQUAL(jx_device_get(4, &d), JX_ERR_ARG);
    JT_ASSERT_ERR(jt_place(__FILE__, line));
    JT_ASSERT_ERR("device_get: device 4 does not exist (there are 4)");
    CU_ASSERT_EQUAL(jx_device_get(-1, &d), JX_ERR_ARG);
}

int main(void) {
    setenv("JX_CPU_DEVICES", "3", 1);
    CU_TestInfo tests[] = {
        {"JX_CPU_DEVICES sets the CPU device count", test_env_count},
        {"jx_set_cpu_device_count and jx_device_get", test_set_count},
        CU_TEST_INFO_NULL,
    };
    return jt_run("pmap devices", tests);
}
