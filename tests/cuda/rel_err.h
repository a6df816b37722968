/* rel_err.h: how the CUDA suites compare a device result with the interpreter's. */
#ifndef JX_TEST_REL_ERR_H
#define JX_TEST_REL_ERR_H

#include <math.h>

#include "harness.h"

/* max |got - want| / max(1, |want|) over the arrays' elements (a NaN counts as infinite) */
static inline double rel_err(jx_array *got, jx_array *want) {
    double worst = 0;
    CU_ASSERT_EQUAL_FATAL(jx_array_size(got), jx_array_size(want));
    for (int64_t i = 0; i < jx_array_size(want); i++) {
        double g = jx_array_get(got, i), w = jx_array_get(want, i);
        double d = fabs(g - w) / (fabs(w) > 1 ? fabs(w) : 1);
        if (!(d <= worst)) worst = isnan(d) ? INFINITY : d;
    }
    return worst;
}

#endif
