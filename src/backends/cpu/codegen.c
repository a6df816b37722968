/* codegen.c: the CPU code generator's module: one LLVM module per executable collecting
 * the kernels of its LOOP groups (codegen_loop.c), optimised for the host CPU (its name
 * and features, so loops vectorise with AVX2/FMA where present) and compiled in-process
 * with ORC LLJIT. Kernels call helpers (libm, f16 converters) through absolute symbols
 * defined in the JIT (jx__cg_symbols); anything else resolves in the process.
 *
 * What does not depend on the module is made once per process (codegen_host.c): the
 * host CPU's name and features, a target machine for the optimiser, and one LLJIT per
 * code generation level. Each module adds its code to the JIT under its own resource
 * tracker with names unique in the process (jx_k<module>_<kernel>), and removing the
 * tracker when the module is freed frees that code. Optimisation and code generation
 * share target machines, which are not thread-safe, so they run under the host lock;
 * building the IR (each module has its own context) does not.
 *
 * Optimisation uses LLVM's new pass manager through LLVMRunPasses with the target
 * machine's cost model. Level 2 (the default) runs a short pipeline made for these
 * kernels instead of default<O2>: promote the allocas, simplify, hoist the index
 * arithmetic out of the loops, rotate them, vectorise and interleave the inner loop,
 * clean up. It compiles 2-3x faster (default<O2> spends most of its time in the
 * inliner's walk, and its unrolling makes the code generator's input twice as big) and
 * the kernels run as fast (bench/jit_elementwise, bench/jit_compile). Level 1 is the
 * same without vectorising; level 3 is default<O3> with loop vectorisation, SLP,
 * interleaving and unrolling switched on. No fast-math flags: results are the
 * interpreter's, and the same whatever the vector width or the split of the range. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

#include "codegen.h"

struct jx__cpu_module {
    int opt_level;
    unsigned long long id; /* unique in the process: names its kernels */
    LLVMOrcThreadSafeContextRef tsc;
    LLVMContextRef ctx;
    LLVMModuleRef mod;    /* until compiled: then the JIT owns it */
    LLVMOrcResourceTrackerRef rt; /* its code in the JIT, once added */
    jx__kernel **kernels;
    int nkernels, capkernels;
    bool compiled;
};

static atomic_llong kernels_compiled;

jx__cpu_module *jx__cpu_module_new(int opt_level) {
    const jx__cg_host *h = jx__cg_host_get();
    if (!h) return NULL;
    jx__cpu_module *m = calloc(1, sizeof *m);
    if (!m) {
        jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
        return NULL;
    }
    m->opt_level = opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level;
    m->id = jx__cg_host_next_id();
    m->tsc = LLVMOrcCreateNewThreadSafeContext();
    m->ctx = LLVMOrcThreadSafeContextGetContext(m->tsc);
    m->mod = LLVMModuleCreateWithNameInContext("jx_kernels", m->ctx);
    LLVMSetTarget(m->mod, h->triple);
    LLVMSetDataLayout(m->mod, h->datalayout);
    return m;
}

jx__kernel *jx__cpu_kernel_add(jx__cpu_module *m, const jx_fn *f, const jx__group *g) {
    if (m->compiled) {
        jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "kernel added to a module already compiled");
        return NULL;
    }
    jx__kernel *k = calloc(1, sizeof *k);
    jx__kernel **ks = m->nkernels < m->capkernels
                          ? m->kernels
                          : realloc(m->kernels, sizeof *ks * (size_t)(m->capkernels = 2 * m->capkernels + 8));
    if (ks) m->kernels = ks;
    if (k) k->identity_in = calloc((size_t)g->nin + 1, sizeof(bool));
    if (k) k->esize = calloc((size_t)(g->nin + g->nout) + 1, 1);
    if (!k || !ks || !k->identity_in || !k->esize) {
        if (k) free(k->identity_in), free(k->esize);
        free(k);
        jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
        return NULL;
    }
    snprintf(k->name, sizeof k->name, "jx_k%llu_%d", m->id, m->nkernels);
    k->nin = g->nin;
    k->nout = g->nout;
    for (int s = 0; s < g->nin + g->nout; s++)
        k->esize[s] = (uint8_t)jx_dtype_size(f->vars[s < g->nin ? g->in[s] : g->out[s - g->nin]].dtype);
    if (jx__cg_emit_kernel(m->ctx, m->mod, f, g, k) != JX_OK) {
        free(k->esize);
        free(k->identity_in);
        free(k);
        return NULL;
    }
    LLVMValueRef fn = LLVMGetNamedFunction(m->mod, k->name);
    const jx__cg_host *h = jx__cg_host_get();
    LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", h->cpu);
    LLVMAddTargetDependentFunctionAttr(fn, "target-features", h->features);
    LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex,
                            LLVMCreateEnumAttribute(m->ctx, LLVMGetEnumAttributeKindForName("nounwind", 8), 0));
    m->kernels[m->nkernels++] = k;
    return k;
}

/* JX_DUMP=llvm / asm of the optimised module. */
static void dump(jx__cpu_module *m) {
    unsigned flags = jx__dump_flags();
    if (flags & JX__DUMP_LLVM) {
        char *s = LLVMPrintModuleToString(m->mod);
        FILE *out = jx__dump_open("kernels", "llvm");
        fputs(s, out);
        jx__dump_close(out);
        LLVMDisposeMessage(s);
    }
    if (flags & JX__DUMP_ASM) {
        LLVMModuleRef copy = LLVMCloneModule(m->mod); /* code generation changes the IR it runs on */
        LLVMMemoryBufferRef buf = NULL;
        char *err = NULL;
        if (!LLVMTargetMachineEmitToMemoryBuffer(jx__cg_host_get()->tm, copy, LLVMAssemblyFile, &err, &buf)) {
            FILE *out = jx__dump_open("kernels", "asm");
            fwrite(LLVMGetBufferStart(buf), 1, LLVMGetBufferSize(buf), out);
            jx__dump_close(out);
            LLVMDisposeMemoryBuffer(buf);
        }
        LLVMDisposeMessage(err);
        LLVMDisposeModule(copy);
    }
}

static jx_status optimise(jx__cpu_module *m) {
    char *msg = NULL;
    if (LLVMVerifyModule(m->mod, LLVMReturnStatusAction, &msg)) {
        jx_status st = jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "generated code is invalid: %s", msg);
        LLVMDisposeMessage(msg);
        return st;
    }
    LLVMDisposeMessage(msg);
    static const char *const pipelines[4] = {
        "default<O0>",
        "function(sroa,early-cse,simplifycfg,instcombine,loop-mssa(licm),simplifycfg)",
        ("function(sroa,early-cse,simplifycfg,instcombine,loop-mssa(licm,loop-rotate),simplifycfg,loop(indvars),"
         "instcombine,loop-vectorize,instcombine,simplifycfg,loop-mssa(licm))"),
        "default<O3>",
    };
    const char *pipeline = pipelines[m->opt_level];
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, m->opt_level >= 2);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, m->opt_level >= 2);
    LLVMPassBuilderOptionsSetLoopInterleaving(opts, m->opt_level >= 2);
    LLVMPassBuilderOptionsSetLoopUnrolling(opts, m->opt_level >= 2);
    LLVMErrorRef err = LLVMRunPasses(m->mod, pipeline, jx__cg_host_get()->tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    return err ? jx__cg_llvm_fail(err, "optimising kernels") : JX_OK;
}

/* Adds the optimised module to the JIT under a tracker of its own and resolves every
 * kernel (which generates their code). Under the host lock. */
static jx_status add_to_jit(jx__cpu_module *m) {
    LLVMOrcLLJITRef jit = NULL;
    jx_status st = jx__cg_host_jit(m->opt_level, &jit, &m->rt);
    if (st != JX_OK) return st;
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m->mod, m->tsc);
    m->mod = NULL;
    LLVMErrorRef err = LLVMOrcLLJITAddLLVMIRModuleWithRT(jit, m->rt, tsm);
    if (err) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        return jx__cg_llvm_fail(err, "adding the kernels to the JIT");
    }
    m->compiled = true;
    for (int i = 0; i < m->nkernels; i++) {
        LLVMOrcExecutorAddress addr = 0;
        err = LLVMOrcLLJITLookup(jit, &addr, m->kernels[i]->name);
        if (err) return jx__cg_llvm_fail(err, "compiling the kernels");
        m->kernels[i]->fn = (void (*)(void *const *, int64_t, int64_t))(uintptr_t)addr;
    }
    return JX_OK;
}

jx_status jx__cpu_module_compile(jx__cpu_module *m) {
    if (m->compiled) return JX_OK;
    jx__cg_host_lock();
    jx_status st = optimise(m);
    if (st == JX_OK) {
        dump(m);
        st = add_to_jit(m);
    }
    jx__cg_host_unlock();
    if (st == JX_OK) atomic_fetch_add(&kernels_compiled, m->nkernels);
    return st;
}

void jx__cpu_module_free(jx__cpu_module *m) {
    if (!m) return;
    if (m->rt) jx__cg_host_release(m->rt);
    if (m->mod) LLVMDisposeModule(m->mod);
    if (m->tsc) LLVMOrcDisposeThreadSafeContext(m->tsc);
    for (int i = 0; i < m->nkernels; i++) {
        free(m->kernels[i]->identity_in);
        free(m->kernels[i]->esize);
        free(m->kernels[i]);
    }
    free(m->kernels);
    free(m);
}

int64_t jx__kernel_size(const jx__kernel *k) { return k->size; }

void jx__kernel_run(const jx__kernel *k, void *const *bufs, int64_t begin, int64_t end) {
    if (k->fn && begin < end) k->fn(bufs, begin, end);
}

bool jx__kernel_inplace_ok(const jx__kernel *k, int i, int o) {
    return i >= 0 && i < k->nin && o >= 0 && o < k->nout && k->identity_in[i] && k->esize[i] == k->esize[k->nin + o];
}

int64_t jx__cpu_kernels_compiled(void) { return (int64_t)atomic_load(&kernels_compiled); }
