/* blas.c: dot_general through OpenBLAS (STUB: to be written). */
#include "../../jit/jit.h"

bool jx__cpu_dot_ok(const jx_fn *f, const jx__eqn *e) { (void)f, (void)e; return false; }
jx_status jx__cpu_dot(jx__pool *p, const jx__eqn *e, const jx_aval *av, const void *const *in,
                      const jx_aval *oav, void *out) {
    (void)p, (void)e, (void)av, (void)in, (void)oav, (void)out;
    return JX_ERR_UNSUPPORTED;
}
