/* codegen.c: the CPU code generator's module: one LLVM module per executable collecting
 * the kernels of its LOOP groups (codegen_loop.c), optimised for the host CPU (its name
 * and features, so loops vectorise with AVX2/FMA where present) and compiled in-process
 * with ORC LLJIT. Kernels call helpers (libm, f16 converters) through absolute symbols
 * defined in the JIT (jx__cg_symbols); anything else resolves in the process.
 *
 * Optimisation uses LLVM's new pass manager through LLVMRunPasses ("default<On>") with
 * loop vectorisation and SLP switched on explicitly and the target machine's cost model,
 * which is what the legacy PassManagerBuilder would give, with the vectorisers'
 * switches exposed in the C API. No fast-math flags: results are the interpreter's, and
 * the same whatever the vector width or the split of the range. */
#include <pthread.h>
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
    LLVMOrcThreadSafeContextRef tsc;
    LLVMContextRef ctx;
    LLVMModuleRef mod;    /* until compiled: then the JIT owns it */
    LLVMTargetMachineRef tm;
    char *cpu, *features;
    LLVMOrcLLJITRef jit;
    jx__kernel **kernels;
    int nkernels, capkernels;
    bool compiled;
};

static atomic_llong kernels_compiled;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool init_ok;

static void llvm_init(void) {
    init_ok = !LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter();
}

/* Turns an LLVM error into jx's error (consumes it). */
static jx_status llvm_fail(LLVMErrorRef err, const char *what) {
    char *msg = LLVMGetErrorMessage(err);
    jx_status st = jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "%s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return st;
}

static LLVMTargetMachineRef host_machine(const jx__cpu_module *m) {
    char *triple = LLVMGetDefaultTargetTriple(), *err = NULL;
    LLVMTargetRef target;
    LLVMTargetMachineRef tm = NULL;
    static const LLVMCodeGenOptLevel levels[4] = {LLVMCodeGenLevelNone, LLVMCodeGenLevelLess,
                                                  LLVMCodeGenLevelDefault, LLVMCodeGenLevelAggressive};
    if (!LLVMGetTargetFromTriple(triple, &target, &err))
        tm = LLVMCreateTargetMachine(target, triple, m->cpu, m->features, levels[m->opt_level], LLVMRelocDefault,
                                     LLVMCodeModelJITDefault);
    else
        jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "no LLVM target for %s: %s", triple, err);
    LLVMDisposeMessage(err);
    LLVMDisposeMessage(triple);
    return tm;
}

jx__cpu_module *jx__cpu_module_new(int opt_level) {
    pthread_once(&init_once, llvm_init);
    if (!init_ok) {
        jx__fail(JX_ERR_INTERNAL, jx__noloc, "jit", "LLVM's native target is not available");
        return NULL;
    }
    jx__cpu_module *m = calloc(1, sizeof *m);
    if (!m) {
        jx__fail(JX_ERR_NOMEM, jx__noloc, "jit", "out of memory");
        return NULL;
    }
    m->opt_level = opt_level < 0 ? 0 : opt_level > 3 ? 3 : opt_level;
    m->cpu = LLVMGetHostCPUName();
    m->features = LLVMGetHostCPUFeatures();
    m->tm = host_machine(m);
    if (!m->tm) {
        jx__cpu_module_free(m);
        return NULL;
    }
    m->tsc = LLVMOrcCreateNewThreadSafeContext();
    m->ctx = LLVMOrcThreadSafeContextGetContext(m->tsc);
    m->mod = LLVMModuleCreateWithNameInContext("jx_kernels", m->ctx);
    char *triple = LLVMGetTargetMachineTriple(m->tm);
    LLVMSetTarget(m->mod, triple);
    LLVMDisposeMessage(triple);
    LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(m->tm);
    LLVMSetModuleDataLayout(m->mod, dl);
    LLVMDisposeTargetData(dl);
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
    snprintf(k->name, sizeof k->name, "jx_k%d", m->nkernels);
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
    LLVMAddTargetDependentFunctionAttr(fn, "target-cpu", m->cpu);
    LLVMAddTargetDependentFunctionAttr(fn, "target-features", m->features);
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
        if (!LLVMTargetMachineEmitToMemoryBuffer(m->tm, copy, LLVMAssemblyFile, &err, &buf)) {
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
    char pipeline[32];
    snprintf(pipeline, sizeof pipeline, "default<O%d>", m->opt_level);
    LLVMPassBuilderOptionsRef opts = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(opts, m->opt_level >= 2);
    LLVMPassBuilderOptionsSetSLPVectorization(opts, m->opt_level >= 2);
    LLVMPassBuilderOptionsSetLoopInterleaving(opts, m->opt_level >= 2);
    LLVMPassBuilderOptionsSetLoopUnrolling(opts, m->opt_level >= 2);
    LLVMErrorRef err = LLVMRunPasses(m->mod, pipeline, m->tm, opts);
    LLVMDisposePassBuilderOptions(opts);
    return err ? llvm_fail(err, "optimising kernels") : JX_OK;
}

/* The helpers kernels call, defined as absolute addresses in the main JITDylib, plus
 * the process's own symbols for whatever LLVM lowers into a library call. */
static LLVMErrorRef define_symbols(jx__cpu_module *m, LLVMOrcJITDylibRef jd) {
    LLVMOrcDefinitionGeneratorRef gen = NULL;
    LLVMErrorRef err =
        LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(m->jit), NULL, NULL);
    if (err) return err;
    LLVMOrcJITDylibAddGenerator(jd, gen);
    LLVMJITCSymbolMapPair *pairs = calloc((size_t)jx__cg_nsymbols, sizeof *pairs);
    if (!pairs) return LLVMCreateStringError("out of memory");
    for (int i = 0; i < jx__cg_nsymbols; i++) {
        pairs[i].Name = LLVMOrcLLJITMangleAndIntern(m->jit, jx__cg_symbols[i].name);
        pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)jx__cg_symbols[i].addr;
        pairs[i].Sym.Flags.GenericFlags = LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable;
    }
    err = LLVMOrcJITDylibDefine(jd, LLVMOrcAbsoluteSymbols(pairs, (size_t)jx__cg_nsymbols));
    free(pairs);
    return err;
}

static jx_status make_jit(jx__cpu_module *m) {
    LLVMTargetMachineRef tm = host_machine(m); /* the JIT takes this one */
    if (!tm) return jx_errcode();
    LLVMOrcLLJITBuilderRef builder = LLVMOrcCreateLLJITBuilder();
    LLVMOrcLLJITBuilderSetJITTargetMachineBuilder(builder, LLVMOrcJITTargetMachineBuilderCreateFromTargetMachine(tm));
    LLVMErrorRef err = LLVMOrcCreateLLJIT(&m->jit, builder); /* consumes the builder */
    if (err) {
        m->jit = NULL;
        return llvm_fail(err, "creating the JIT");
    }
    err = define_symbols(m, LLVMOrcLLJITGetMainJITDylib(m->jit));
    return err ? llvm_fail(err, "defining the kernels' helpers") : JX_OK;
}

jx_status jx__cpu_module_compile(jx__cpu_module *m) {
    if (m->compiled) return JX_OK;
    jx_status st = optimise(m);
    if (st != JX_OK) return st;
    dump(m);
    if ((st = make_jit(m)) != JX_OK) return st;
    LLVMOrcThreadSafeModuleRef tsm = LLVMOrcCreateNewThreadSafeModule(m->mod, m->tsc);
    m->mod = NULL;
    LLVMErrorRef err = LLVMOrcLLJITAddLLVMIRModule(m->jit, LLVMOrcLLJITGetMainJITDylib(m->jit), tsm);
    if (err) {
        LLVMOrcDisposeThreadSafeModule(tsm);
        return llvm_fail(err, "adding the kernels to the JIT");
    }
    m->compiled = true;
    for (int i = 0; i < m->nkernels; i++) {
        LLVMOrcExecutorAddress addr = 0;
        err = LLVMOrcLLJITLookup(m->jit, &addr, m->kernels[i]->name);
        if (err) return llvm_fail(err, "compiling the kernels");
        m->kernels[i]->fn = (void (*)(void *const *, int64_t, int64_t))(uintptr_t)addr;
    }
    atomic_fetch_add(&kernels_compiled, m->nkernels);
    return JX_OK;
}

void jx__cpu_module_free(jx__cpu_module *m) {
    if (!m) return;
    if (m->jit) {
        LLVMErrorRef err = LLVMOrcDisposeLLJIT(m->jit);
        if (err) LLVMConsumeError(err);
    }
    if (m->mod) LLVMDisposeModule(m->mod);
    if (m->tsc) LLVMOrcDisposeThreadSafeContext(m->tsc);
    if (m->tm) LLVMDisposeTargetMachine(m->tm);
    LLVMDisposeMessage(m->cpu);
    LLVMDisposeMessage(m->features);
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
