/* child_util.h: for suites of environment switches (test_jit_env.c,
 * test_jit_subnormals.c), which rerun their own program as a child with a variable set,
 * since a switch is read once per process. Include after defining _POSIX_C_SOURCE. */
#ifndef JX_TEST_CHILD_UTIL_H
#define JX_TEST_CHILD_UTIL_H

#include <stdio.h>
#include <unistd.h>

#include "harness.h"

/* ju_self: this program's path, read once (main calls it first; an empty string when
 * /proc cannot say). ju_run_child: runs
 * `env -u <unset...> <env> <self> child` and returns its stdout and stderr together
 * (a static buffer), asserting it exited 0. */
static inline const char *ju_self(void) {
    static char self[4096];
    if (!self[0]) {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        self[n > 0 ? n : 0] = 0;
    }
    return self;
}
static inline const char *ju_run_child(const char *unset, const char *env) {
    static char out[4096];
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "env %s %s '%s' child 2>&1", unset, env, ju_self());
    FILE *p = popen(cmd, "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = 0;
    CU_ASSERT_EQUAL(pclose(p), 0);
    return out;
}

#endif
