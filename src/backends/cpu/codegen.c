/* codegen.c: LLVM code generation for LOOP groups (STUB: to be written). */
#include "../../jit/jit.h"

jx__cpu_module *jx__cpu_module_new(int opt_level) {
    (void)opt_level;
    jx__fail(JX_ERR_UNSUPPORTED, jx__noloc, "jit", "code generation is not written yet");
    return NULL;
}
jx__kernel *jx__cpu_kernel_add(jx__cpu_module *m, const jx_fn *f, const jx__group *g) {
    (void)m, (void)f, (void)g;
    return NULL;
}
jx_status jx__cpu_module_compile(jx__cpu_module *m) {
    (void)m;
    return JX_ERR_UNSUPPORTED;
}
void jx__cpu_module_free(jx__cpu_module *m) { (void)m; }
int64_t jx__kernel_size(const jx__kernel *k) { (void)k; return 0; }
void jx__kernel_run(const jx__kernel *k, void *const *bufs, int64_t b, int64_t e) { (void)k, (void)bufs, (void)b, (void)e; }
bool jx__kernel_inplace_ok(const jx__kernel *k, int i, int o) { (void)k, (void)i, (void)o; return false; }
int64_t jx__cpu_kernels_compiled(void) { return 0; }
